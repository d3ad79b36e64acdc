#!/usr/bin/env bash
# Prints the README's generated concept map: every Linux function named in a
# `/// Linux:` doc line of the kernel, with the file that mirrors it.
# `scripts/concept-map.sh --update` rewrites it between the markers in
# README.md; `make test` fails if a function is missing there.
set -euo pipefail
cd "$(dirname "$0")/.."

concept_map() {
    echo "| Linux | here |"
    echo "| --- | --- |"
    grep -rn --include='*.rs' '/// Linux: ' kernel/src | while IFS=: read -r file _ rest; do
        for name in $(grep -o '[A-Za-z_][A-Za-z0-9_]*()' <<<"$rest" || true); do
            echo "$name ${file#kernel/src/}"
        done
    done | sort -u -k1,1 | awk '{ printf "| `%s` | `%s` |\n", $1, $2 }'
}

if [[ ${1:-} == --update ]]; then
    map=$(concept_map)
    awk -v map="$map" '
        /<!-- concept-map -->/ { print; print map; skip = 1; next }
        /<!-- \/concept-map -->/ { skip = 0 }
        !skip { print }
    ' README.md > README.md.new
    mv README.md.new README.md
else
    concept_map
fi
