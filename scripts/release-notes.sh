#!/usr/bin/env bash
# Prints the CHANGELOG.md section of one version (without its heading): the release's notes.
# Usage: scripts/release-notes.sh 1.2.3. Fails when the section is missing or empty.
set -euo pipefail
version=${1:?usage: release-notes.sh VERSION}
cd "$(dirname "$0")/.."
notes=$(awk -v v="$version" '
  $0 ~ "^## \\[" v "\\]" { on = 1; next }
  on && /^## \[/ { exit }
  on && /^\[[^]]+\]: / { exit }
  on { print }
' CHANGELOG.md)
if [ -z "${notes//[[:space:]]/}" ]; then
  echo "CHANGELOG.md has no section for $version" >&2
  exit 1
fi
printf '%s\n' "$notes"
