#!/usr/bin/env bash
# Builds the bundles into the folder given (default dist/): the Action (index.js), its post step
# (post/index.js) and the octoplant-export command (cli/index.js). --no-cache: ncc's cache in ~/.cache/ncc outlives clones
# and once made licenses.txt differ.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-dist}
# Anew: ncc names lazily loaded chunks by their content, and an old chunk left behind is stale.
rm -rf "$out"
ncc build src/index.ts -o "$out" --license licenses.txt --no-cache >/dev/null
# The post step only cancels one order: minified, it is mostly the toolkit it needs (@actions/core and
# @actions/http-client, whose undici is half of it).
ncc build src/post.ts -o "$out/post" --minify --license licenses.txt --no-cache >/dev/null
ncc build src/cli/index.ts -o "$out/cli" --license licenses.txt --no-cache >/dev/null
chmod +x "$out/cli/index.js"
echo "built $out/index.js, $out/post/index.js and $out/cli/index.js"
