#!/usr/bin/env bash
# Prints the README's generated concept map: every Linux function named in a
# `/// Linux:` doc line of the kernel, with the file that mirrors it.
# Regenerate with `scripts/concept-map.sh` and paste it between the markers
# in README.md; `make test` fails if a function is missing there.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "| Linux | here |"
echo "| --- | --- |"
grep -rn --include='*.rs' '/// Linux: ' kernel/src | while IFS=: read -r file _ rest; do
    for name in $(grep -o '[A-Za-z_][A-Za-z0-9_]*()' <<<"$rest" || true); do
        echo "$name ${file#kernel/src/}"
    done
done | sort -u -k1,1 | awk '{ printf "| `%s` | `%s` |\n", $1, $2 }'
