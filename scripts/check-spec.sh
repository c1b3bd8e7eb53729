#!/usr/bin/env bash
# Checks that spec/ is the project's reference spec, where the reference stands beside the clone
# (the project's own CI machines); a lone clone, as GitHub's checkout is, has only its own copy.
set -euo pipefail
cd "$(dirname "$0")/.."
reference=../shared/reference/octoplant-export-api.subset.json
if [ ! -f "$reference" ]; then
  echo "no reference spec beside the clone: spec/ checked by the tests alone"
  exit 0
fi
if ! cmp -s "$reference" spec/octoplant-export-api.subset.json; then
  echo "spec/octoplant-export-api.subset.json differs from $reference: copy it, then run npm run gen:schema" >&2
  exit 1
fi
echo "spec/ is the reference spec."
