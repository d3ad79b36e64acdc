#!/usr/bin/env bash
# Where the instructions of a context switch go. Boots a bench kernel under
# --icount, halted for gdb; lets the context_switch benchmark start, then
# single-steps one round trip (sched_yield in one thread to sched_yield in
# the other and back: two switches) and prints the instructions per switch
# by function, once by symbol and once by the innermost inlined function
# (addr2line -i). The total is the benchmark's number (bench.rs).
# Usage: flock /tmp/qemu.lock scripts/switch-profile.sh [KERNEL_ELF [MAX_STEPS]]
# (default: the newest kernel built with `cargo build -p boot --release
# --features bench`; gdb steps about ten instructions a second.)
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
runner=
trap 'if [ -n "$runner" ]; then kill "$runner" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
kernel=${1:-}
if [ -z "$kernel" ]; then
    for k in $(ls -t target/x86_64-unknown-none/release/build/kernel/*/artifact/bin/kernel); do
        nm "$k" > "$work/symbols"
        if grep -q 'bench14context_switch' "$work/symbols"; then kernel=$k; break; fi
    done
fi
max_steps=${2:-4000}
[ -n "$kernel" ] || { echo "no kernel built with --features bench" >&2; exit 1; }
nm "$kernel" > "$work/symbols"
symbol() { awk -v re="$1" '$0 ~ re { print "0x" $1; exit }' "$work/symbols"; }
partner=$(symbol ' t _RNCNvNtC[A-Za-z0-9_]+_6kernel5bench14context_switch0B')
yield=$(symbol ' T _RNvNtNtC[A-Za-z0-9_]+_6kernel5sched4core11sched_yield$')
[ -n "$partner" ] && [ -n "$yield" ] || { echo "$kernel: no bench symbols" >&2; exit 1; }

cat > "$work/step.py" <<EOF
import gdb
gdb.execute("set pagination off")
gdb.execute("target remote localhost:1234")
gdb.execute("hbreak *$partner")
gdb.execute("continue")
gdb.execute("delete")
gdb.execute("hbreak *$yield")
for _ in range(10):  # past the partner's start and the first switches
    gdb.execute("continue")
gdb.execute("delete")
pcs, entries = [], 0
for _ in range($max_steps):
    pc = int(gdb.parse_and_eval("\$pc")) & (2**64 - 1)
    if pc == $yield:
        entries += 1
        if entries == 3:
            break
    pcs.append(pc)
    gdb.execute("stepi", to_string=True)
with open("$work/pcs", "w") as f:
    f.write("".join("%x\n" % pc for pc in pcs))
gdb.execute("kill")
EOF

target/release/boot --kernel "$kernel" --append bench --icount --gdb --timeout 1200 \
    > "$work/console" 2>&1 &
runner=$!
sleep 2
gdb -batch -nx -x "$work/step.py" "$kernel" > "$work/gdb.log" 2>&1 ||
    { tail "$work/gdb.log" >&2; exit 1; }

python3 - "$kernel" "$work/pcs" <<'EOF'
import collections, subprocess, sys
kernel, pcs = sys.argv[1], [l.strip() for l in open(sys.argv[2])]
out = subprocess.run(["addr2line", "-e", kernel, "-f", "-i", "-C", "-a"]
                     + ["0x" + p for p in sorted(set(pcs))],
                     capture_output=True, text=True, check=True).stdout.splitlines()
lines, pc = {}, None  # per address: function, location, function, ...
for line in out:
    if line.startswith("0x"):
        pc = int(line, 16)
        lines[pc] = []
    else:
        lines[pc].append(line)
funcs = {pc: f[0::2] for pc, f in lines.items()}  # innermost first
by_symbol = collections.Counter(funcs[int(p, 16)][-1] for p in pcs)
by_inline = collections.Counter(funcs[int(p, 16)][0] for p in pcs)
print(f"{len(pcs)} instructions in two switches: {len(pcs) / 2:.0f} per switch")
for title, counts in (("by symbol", by_symbol), ("by innermost inlined function", by_inline)):
    print(f"-- per switch, {title}")
    for name, n in counts.most_common(25):
        print(f"{n / 2:6.1f}  {name[:110]}")
EOF
