#!/usr/bin/env bash
# Fails when dist/ is not what `npm run build` makes of the committed sources.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bash scripts/build.sh "$tmp" >/dev/null
if ! diff -r "$tmp" dist >/dev/null; then
  echo "dist/ is stale: run 'npm run build' and commit dist/." >&2
  diff -r -q "$tmp" dist >&2 || true
  diff -r "$tmp" dist 2>&1 | head -40 >&2 || true
  exit 1
fi
echo "dist/ is fresh."
