#!/usr/bin/env bash
# Builds the initramfs that `make run` boots: the guided tour as /init, the
# demo programs, and Debian's static busybox with a link for every applet.
# Usage: scripts/initramfs.sh OUTDIR
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: scripts/initramfs.sh OUTDIR}
rm -rf "$out"
mkdir -p "$out/bin" "$out/etc"
for src in tests/user/demo/*.c tests/user/pstree.c; do
    name=$(basename "$src" .c)
    musl-gcc -static -O2 -Wall -o "$out/bin/$name" "$src" -lpthread
done
mv "$out/bin/tour" "$out/init"
cp /bin/busybox "$out/bin/busybox"
for applet in $("$out/bin/busybox" --list); do
    [[ -e "$out/bin/$applet" ]] || ln -s busybox "$out/bin/$applet"
done
echo "root:x:0:0:root:/:/bin/sh" > "$out/etc/passwd"
