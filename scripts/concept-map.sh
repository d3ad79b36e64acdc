#!/usr/bin/env bash
# Prints the README's generated concept map: every Linux function named in a
# `/// Linux:` doc line of the kernel, with the file that mirrors it: one
# whose doc line starts with the name (`/// Linux: name() in ...`) before
# one that only mentions it.
# `scripts/concept-map.sh --update` rewrites it between the markers in
# README.md; `make test` fails if a function is missing there.
set -euo pipefail
cd "$(dirname "$0")/.."

concept_map() {
    echo "| Linux | here |"
    echo "| --- | --- |"
    grep -rn --include='*.rs' '/// Linux: ' kernel/src | while IFS=: read -r file _ rest; do
        first=$(grep -o 'Linux: [A-Za-z_][A-Za-z0-9_]*()' <<<"$rest" | sed 's/^Linux: //' || true)
        for name in $(grep -o '[A-Za-z_][A-Za-z0-9_]*()' <<<"$rest" || true); do
            echo "$name $([[ $name == "$first" ]] && echo 0 || echo 1) ${file#kernel/src/}"
        done
    done | sort -k1,1 -k2,2n -k3,3 | awk '$1 != last { last = $1; printf "| `%s` | `%s` |\n", $1, $3 }'
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
