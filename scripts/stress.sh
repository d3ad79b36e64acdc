#!/usr/bin/env bash
# The SMP race tests (tests/user/race_*.c) for longer than `make test` gives
# them: each program runs SECS seconds (make test: RACE_SECONDS in
# tests/user/race.h, 3) with its rounds scaled to match, in a boot of its
# own per CPU count, with the lock-order checker on (`lockdep`, as in the
# suite):
#
#     scripts/stress.sh [SECS [SEED [CPUS...]]]
#     make stress SECS=... SEED=... CPUS="..." PROGS="..." LOCK=...
#
# SECS defaults to 60, SEED to the time, CPUS to "1 2 4", PROGS (the
# environment) to every race program. PRESSURE=1 runs each program under
# tests/user/mem_pressure.c: memory runs out again and again meanwhile (a
# hog the OOM killer ends, restarted until the program is done). LOCK, if
# set, is a file each boot holds with flock(1) while QEMU runs, for a
# machine that others share.
# Each boot prints one line per check (its rounds) and one verdict. A boot
# fails the run when a check fails, the kernel panics, prints a BUG or a
# lock-order report, or the boot outlives SECS twice over plus a minute (a
# hang); the verdict names the seed, how to rerun, and the saved console
# log (target/stress/).
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-60}
seed=${2:-$(date +%s)}
shift $(($# < 2 ? $# : 2))
cpus=${*:-1 2 4}
# Every race test: tests/user/race_*.c, unless PROGS names some.
races=()
for source in tests/user/race_*.c; do
    races+=("$(basename "$source" .c)")
done
read -ra races <<<"${PROGS:-${races[*]}}"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir "$root/bin"
for program in init vfork_helper mem_pressure "${races[@]}"; do
    musl-gcc -static -O2 -Wall -Werror -pthread -o "$root/bin/$program" "tests/user/$program.c"
done
cargo build -q -p boot --release --features lockdep
mkdir -p target/stress
# The program's seconds twice over for a slow host, plus a minute.
limit=$((secs * 2 + 60))
echo "stress: ${races[*]}, $secs s each, seed $seed, lockdep on${PRESSURE:+, memory pressure}, on $cpus CPUs"

# Boots `$2` alone on `$1` CPUs; prints its checks' rounds and a verdict,
# and fails if the boot did.
boot_once() {
    local n=$1 race=$2 log=$root/console.log status=0 reason=
    local run=(target/release/boot --smp "$n" --initrd "$root" --timeout "$limit"
        --append "lockdep init=/bin/init ${PRESSURE:+mem_pressure:}$race:$seed:$secs")
    ${LOCK:+flock "$LOCK"} "${run[@]}" >"$log" 2>&1 || status=$?
    grep -a " rounds .*in [0-9]* ms\|the hog was killed\|lockdep: [0-9]* lock classes" "$log" |
        sed 's/^\[ *[0-9.]*\] //' | tr -d '\r' | sed "s/^/stress: smp $n: /"
    if grep -aq "Kernel panic\|^EXCEPTION" "$log"; then
        reason=$(grep -a -m1 "Kernel panic\|^EXCEPTION" "$log")
    elif grep -aq "BUG" "$log"; then
        reason=$(grep -a -m1 "BUG" "$log")
    elif grep -aq "WARNING: possible\|WARNING: inconsistent lock state" "$log"; then
        reason="lockdep: $(grep -a -m1 "WARNING: " "$log")"
    elif grep -aq "^test .* FAILED" "$log"; then
        reason=$(grep -a -m1 -A1 "^test .* FAILED" "$log" | tr -s ' \r\n' ' ')
    elif ! grep -aq "user: 1 passed, 0 failed" "$log"; then
        reason="no pass from init (runner status $status; over $limit s is a hang)"
    elif ((status != 0)); then
        reason="runner status $status"
    fi
    if [[ -z $reason ]]; then
        echo "stress: smp $n: $race: passed"
        return 0
    fi
    local saved=target/stress/$race-smp$n-$seed.log
    tr -d '\r' <"$log" >"$saved"
    rm -rf target/stress/initramfs
    cp -r "$root" target/stress/initramfs
    echo "stress: smp $n: $race: FAILED: $reason"
    echo "stress: smp $n: $race: console in $saved;" \
        "rerun: PROGS=$race ${PRESSURE:+PRESSURE=1 }make stress SECS=$secs SEED=$seed CPUS=$n;" \
        "under gdb: ${run[*]:0:3} --initrd target/stress/initramfs --gdb --append '${run[-1]}'"
    return 1
}

# Every program on every CPU count; the verdict of the whole run.
main() {
    local failed=0
    for n in $cpus; do
        for race in "${races[@]}"; do
            boot_once "$n" "$race" || failed=1
        done
    done
    echo "stress: $( ((failed)) && echo FAILED || echo "every race check passed")"
    return $failed
}

# On one line: bash has read it all before the long run starts, so an edit
# of this file meanwhile does not change what the run does next.
main; exit
