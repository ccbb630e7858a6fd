#!/usr/bin/env bash
# The layout keeps vendors behind vendor_ops: no file under src/ outside
# src/vendors/ (one file per vendor, the registry) and src/sandbox/ (the
# stand-in vendor APIs) names a vendor, in code, comments or help texts.
# A command that lists vendors prints vendor_registry at run time; config.c
# knows them only through cfg_vendor_schemas. Needs no database or binary
# (it is under integration/ because CMake runs shell tests from there only).
# Also: the modules (folders of src/) include each other one way only.
set -euo pipefail
SRC_DIR="${SS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
cd "$SRC_DIR"

# Whole words or parts of identifiers, any case (Emmersion, TRUENORTH,
# cepa_level, etest_ct, testello_token, ...). This list is the only place
# outside src/vendors/ and src/sandbox/ allowed to spell them.
VENDORS='emmersion|truenorth|cepa|etest|testello'

[ -d src ] || { echo "FAIL: no src/ under $SRC_DIR" >&2; exit 1; }
matches=$(grep -rnIiE "$VENDORS" src |
  grep -vE '^src/(vendors|sandbox)/' || true)
if [ -n "$matches" ]; then
  echo "FAIL: vendor names outside src/vendors/ and src/sandbox/:" >&2
  printf '%s\n' "$matches" >&2
  echo "files: $(printf '%s\n' "$matches" | cut -d: -f1 | sort -u | tr '\n' ' ')" >&2
  echo "hint: move vendor-specific code behind vendor_ops (src/vendors/vendor.h); print" \
    "vendor lists from vendor_registry; key tables by data (scales.yaml), not by name" >&2
  exit 1
fi
echo "ok: no vendor names outside src/vendors/ and src/sandbox/"

# Modules (the folders of src/) include each other one way only: the edges
# "a includes b" sorted topologically, so a circle fails tsort.
edges=$(for f in $(find src -name '*.[ch]'); do
  from=$(dirname "${f#src/}")
  grep -o '#include "[^"]*"' "$f" | sed 's/#include "//; s/"$//' | while read -r inc; do
    to=$(dirname "$(realpath -m --relative-to=src "$(dirname "$f")/$inc")")
    if [ "$from" != "$to" ] && [ "$from" != . ]; then echo "$from $to"; fi
  done
done | sort -u)
[ -n "$edges" ] || { echo "FAIL: found no include edges" >&2; exit 1; }
if ! loop=$(printf '%s\n' "$edges" | tsort 2>&1 >/dev/null); then
  echo "FAIL: modules include each other in a circle:" >&2
  printf '%s\n' "$loop" >&2
  exit 1
fi
echo "ok: module includes form no circle ($(printf '%s\n' "$edges" | wc -l) edges)"
