#!/usr/bin/env bash
# The boot-time benchmark of `make bench`: the time from starting the runner
# to the first line /init prints (the tour's "tour: this is /init"), the
# median of BOOTS boots, through BIOS and through UEFI. It includes what the
# runner does first (packing the initramfs, finding the cached disk image);
# the first boot of a new kernel or initramfs also writes the image.
# Usage: scripts/boot-time.sh [INITRAMFS [BOOTS [RUNNER FLAGS...]]]
# (BOOT_RUNNER=path times another build of the runner.)
set -euo pipefail
cd "$(dirname "$0")/.."
initrd=${1:-target/initramfs}
boots=${2:-5}
shift $(($# < 2 ? $# : 2))
runner=${BOOT_RUNNER:-target/release/boot}
marker="tour: this is /init"

# Boots once and prints the milliseconds until $marker; the runner and its
# QEMU get a session of their own, so that one kill ends both.
one_boot() {
    local start line
    start=$EPOCHREALTIME
    coproc BOOT { exec setsid "$runner" "$@" --initrd "$initrd" --timeout 120 2>&1; }
    local pid=$BOOT_PID
    while IFS= read -r line <&"${BOOT[0]}"; do
        if [[ $line == *"$marker"* ]]; then
            local ms=$(((${EPOCHREALTIME/./} - ${start/./}) / 1000))
            kill -- -"$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
            echo "$ms"
            return 0
        fi
    done
    wait "$pid" 2>/dev/null || true
    echo "boot-time: the boot ended before /init printed \"$marker\"" >&2
    return 1
}

# What the BIOS loader copies a byte at a time: the kernel ELF without its
# symbols and debug info (boot/src/image.rs strips it the same way). The
# runner's kernel is the newest build without the in-kernel tests (the
# suite's has them: an entry per test in the linkme_KTESTS section) and
# without the micro-benchmarks (make bench's, with their run_benchmarks).
kernel=
for elf in $(ls -t target/x86_64-unknown-none/release/build/kernel/*/artifact/bin/kernel); do
    if ! readelf -SW "$elf" | grep -Eq 'linkme_KTESTS +PROGBITS +[0-9a-f]+ [0-9a-f]+ 0*[1-9a-f]' &&
        ! readelf -sW "$elf" | grep -q run_benchmarks; then
        kernel=$elf
        break
    fi
done
stripped=$(mktemp)
objcopy=$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n "s/^host: //p")/bin/llvm-objcopy
"$objcopy" --strip-all "$kernel" "$stripped"
echo "bench kernel_image: $(stat -c %s "$stripped") bytes loaded by the bootloader"
rm -f "$stripped"

for firmware in bios uefi; do
    times=()
    for _ in $(seq "$boots"); do
        times+=("$(one_boot "--$firmware" "$@")")
    done
    sorted=$(printf '%s\n' "${times[@]}" | sort -n | tr '\n' ' ')
    median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((boots + 1) / 2))p")
    echo "bench boot_to_init_$firmware: $median ms (median of $boots boots: ${sorted% })"
done
