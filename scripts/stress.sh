#!/usr/bin/env bash
# The SMP race tests (tests/user/race_*.c, each) for longer than `make test`
# gives them: each program runs SECS seconds (make test: RACE_SECONDS in
# tests/user/race.h, 3) with its rounds scaled to match, in one boot per
# CPU count:
#
#     scripts/stress.sh [SECS [SEED [CPUS...]]]   (make stress SECS=... SEED=... CPUS="...")
#
# SECS defaults to 60, SEED to the time, CPUS to "1 2 4". A boot fails the
# run when a check fails, the kernel panics or reports failure, or the boot
# outlives its limit (a hang); the message names the seed and how to rerun.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-60}
seed=${2:-$(date +%s)}
shift $(($# < 2 ? $# : 2))
cpus=${*:-1 2 4}
# Every race test: tests/user/race_*.c.
races=()
for source in tests/user/race_*.c; do
    races+=("$(basename "$source" .c)")
done

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir "$root/bin"
for program in init vfork_helper "${races[@]}"; do
    musl-gcc -static -O2 -Wall -Werror -pthread -o "$root/bin/$program" "tests/user/$program.c"
done
cargo build -q -p boot --release
programs=$(printf "%s:$seed:$secs " "${races[@]}")
# Each program's seconds, twice over for a slow boot, plus a minute.
limit=$((${#races[@]} * secs * 2 + 60))
echo "stress: ${races[*]}, $secs s each, seed $seed, on $cpus CPUs"

failed=0
for n in $cpus; do
    log=$root/console-$n.log
    status=0
    target/release/boot --smp "$n" --initrd "$root" --append "init=/bin/init $programs" \
        --timeout "$limit" >"$log" 2>&1 || status=$?
    grep -a "rounds in" "$log" | tr -d '\r' | sed "s/^/stress: smp $n: /"
    if ((status != 0)) || grep -aq "^test .* FAILED" "$log" ||
        ! grep -aq "user: ${#races[@]} passed, 0 failed" "$log"; then
        grep -a -A1 "^test .* FAILED" "$log" || tail -n 30 "$log"
        echo "stress: smp $n: FAILED (runner status $status); rerun: make stress SECS=$secs SEED=$seed CPUS=$n"
        failed=1
    else
        echo "stress: smp $n: every race check passed"
    fi
done
exit $failed
