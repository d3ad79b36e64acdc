#!/usr/bin/env bash
# Boots the kernel with the system-call fuzzer (tests/user/sys_fuzz.c) as
# often as it takes to run N batches of SEED, CHUNK batches per boot; each
# boot then runs as many cases of the malformed-ELF generator
# (tests/user/elf_fuzz.c) with a seed of its own, printed with the result:
#
#     scripts/fuzz.sh [SEED [N [FIRST [v]]]]   (make fuzz SEED=... N=... FIRST=... V=v)
#
# CPUS (the environment; make fuzz CPUS=2) boots on that many CPUs, 1 by
# default. SEED defaults to the time, N to 1000, FIRST (the first batch) to 0; `v`
# prints each call on the console before it is made, to replay a batch that
# failed: make fuzz SEED=S FIRST=K N=1 V=v. A boot fails the run when the kernel
# panics or reports failure, a check fails (a leaked page, a process SIGKILL
# cannot end), or the console is silent for STALL seconds (a hang); the
# message names the seed and the batch, and how to replay it alone.
set -euo pipefail
cd "$(dirname "$0")/.."

seed=${1:-$(date +%s)}
n=${2:-1000}
start=${3:-0}
verbose=${4:+:$4}
chunk=${CHUNK:-500}
stall=${STALL:-60}

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir "$root/bin"
for program in init sys_fuzz elf_fuzz; do
    musl-gcc -static -O2 -Wall -Werror -pthread -o "$root/bin/$program" "tests/user/$program.c"
done
cargo build -q -p boot --release
echo "fuzz: seed $seed, batches $start to $((start + n - 1)), $chunk per boot, ${CPUS:-1} CPUs"

# Boots once with `init=/bin/init $1`; fails with a reason unless init
# reported every program passed and the kernel powered off.
boot_once() {
    local log=$root/console.log size=-1 quiet=0 want
    want=$(wc -w <<<"$1")
    setsid target/release/boot --smp "${CPUS:-1}" --initrd "$root" --append "init=/bin/init $1" >"$log" 2>&1 &
    local runner=$!
    while kill -0 "$runner" 2>/dev/null; do
        sleep 1
        if [[ $(stat -c %s "$log") == "$size" ]]; then
            quiet=$((quiet + 1))
        else
            size=$(stat -c %s "$log") quiet=0
        fi
        if ((quiet >= stall)); then
            kill -- "-$runner" 2>/dev/null || true
            wait "$runner" || true
            reason="the console was silent for $stall s (a hang)"
            return 1
        fi
    done
    local status=0
    wait "$runner" || status=$?
    if grep -aq "Kernel panic\|^EXCEPTION" "$log"; then
        reason=$(grep -a -m1 "Kernel panic\|^EXCEPTION" "$log")
    elif grep -aq "^test .* FAILED" "$log"; then
        reason=$(grep -a -A1 "^test .* FAILED" "$log" | tr -s ' \n' ' ')
    elif ((status != 0)) || ! grep -aq "user: $want passed, 0 failed" "$log"; then
        reason="the boot ended badly: $(tail -n 3 "$log" | tr -s ' \n' ' ')"
    else
        return 0
    fi
    return 1
}

first=$start
while ((first < start + n)); do
    count=$((start + n - first < chunk ? start + n - first : chunk))
    # The ELF cases of this boot: a seed of their own, none when replaying.
    elf_seed=$((seed * 1000 + first / chunk))
    programs="sys_fuzz:$seed:$count:$first$verbose"
    [[ -n $verbose ]] || programs+=" elf_fuzz:$elf_seed:$count"
    if ! boot_once "$programs"; then
        # The console ends lines with CR LF; the number is the last word.
        last=$(grep -a "^sys_fuzz: seed $seed batch\|^elf_fuzz: seed $elf_seed case" "$root/console.log" | tr -d '\r' | tail -n 1)
        tail -n 30 "$root/console.log"
        echo "fuzz: FAILED at ${last}: $reason"
        case $last in
        elf_fuzz*) echo "fuzz: replay it: boot with init=/bin/init elf_fuzz:$elf_seed:$((${last##* } + 1)) (cases 0 to ${last##* })" ;;
        *) echo "fuzz: replay it alone, each call printed: make fuzz SEED=$seed FIRST=${last##* } N=1 V=v CPUS=${CPUS:-1}" ;;
        esac
        exit 1
    fi
    grep -a "^sys_fuzz: seed $seed:\|^elf_fuzz: seed $elf_seed," "$root/console.log" || true
    first=$((first + count))
done
echo "fuzz: seed $seed: $n batches and as many ELF cases, no panic, hang or leak"
