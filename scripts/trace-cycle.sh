#!/usr/bin/env bash
# Every instruction of one cycle of a benchmark, by function and by part.
# Boots a kernel under --icount with QEMU's one-instruction blocks
# (-singlestep), halted for gdb; gdb lets SYMBOL be hit SKIP times, turns
# QEMU's exec log on (`monitor log exec,nochain`: one line per instruction
# run) and off again at the next hit. The instructions in between are one
# cycle, each given its function and source file by addr2line: by symbol,
# by innermost inlined function, and split into the fair class
# (sched/fair.rs, eevdf.rs, timeline.rs, hrtick.rs) and everything else.
# A cycle may take a timer interrupt: run again with another SKIP to
# compare. About 1,000 instructions a second (gdb's stepi does 10).
# Usage: flock /tmp/qemu.lock scripts/trace-cycle.sh SYMBOL_REGEX SKIP [APPEND [INITRD]]
#   kthread lifetime:  scripts/trace-cycle.sh 'kernel_wait4$' 20
#   context switch:    scripts/trace-cycle.sh '4core11sched_yield$' 200
#   vfork+exit+wait4:  scripts/trace-cycle.sh 'sys_vfork$' 60 'init=/bin/bench vfork' target/initramfs
# (default APPEND: bench; the kernel is the newest built with
# `cargo build -p boot --release --features bench`.)
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n '2,17p' "$0" >&2; exit 2; }
pattern=$1 skip=$2 append=${3:-bench} initrd=${4:-}
work=$(mktemp -d)
runner=
trap 'if [ -n "$runner" ]; then kill "$runner" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
kernel=
for k in $(ls -t target/x86_64-unknown-none/release/build/kernel/*/artifact/bin/kernel); do
    nm "$k" > "$work/symbols"
    if grep -q 'bench14context_switch' "$work/symbols"; then kernel=$PWD/$k; break; fi
done
[ -n "$kernel" ] || { echo "no kernel built with --features bench" >&2; exit 1; }
symbol=$(awk -v re="$pattern" '$0 ~ re { print "0x" $1; exit }' "$work/symbols")
[ -n "$symbol" ] || { echo "$kernel: no symbol matches $pattern" >&2; exit 1; }

# The runner starts QEMU by name: this one adds one-instruction blocks
# and the log file.
mkdir "$work/bin"
cat > "$work/bin/qemu-system-x86_64" <<WRAP
#!/bin/sh
exec $(command -v qemu-system-x86_64) -singlestep -D "$work/exec.log" "\$@"
WRAP
chmod +x "$work/bin/qemu-system-x86_64"

cat > "$work/cycle.py" <<PY
import gdb
gdb.execute("set pagination off")
gdb.execute("target remote localhost:1234")
gdb.execute("hbreak *$symbol")
for _ in range($skip):
    gdb.execute("continue")
gdb.execute("monitor log exec,nochain")
gdb.execute("continue")
gdb.execute("monitor log none")
gdb.execute("kill")
PY

PATH=$work/bin:$PATH target/release/boot --kernel "$kernel" --append "$append" \
    ${initrd:+--initrd "$initrd"} --icount --gdb --timeout 600 > "$work/console" 2>&1 &
runner=$!
sleep 2
gdb -batch -nx -x "$work/cycle.py" "$kernel" > "$work/gdb.log" 2>&1 ||
    { tail "$work/gdb.log" >&2; exit 1; }

python3 - "$kernel" "$work/exec.log" <<'PY'
import collections, re, subprocess, sys
kernel, log = sys.argv[1], sys.argv[2]
pcs = [int(m.group(1), 16) for m in
       (re.search(r"/([0-9a-f]{16})/", l) for l in open(log) if l.startswith("Trace")) if m]
out = subprocess.run(["addr2line", "-e", kernel, "-f", "-i", "-C", "-a"]
                     + ["0x%x" % p for p in sorted(set(pcs))],
                     capture_output=True, text=True, check=True).stdout.splitlines()
frames, pc = {}, None  # per address, innermost first: (function, file)
for i, line in enumerate(out):
    if line.startswith("0x"):
        pc = int(line, 16)
        frames[pc] = []
    elif not line.startswith("/") and not line.startswith("??:"):
        frames[pc].append((line, out[i + 1].split(":")[0]))
fair = ("sched/fair.rs", "sched/eevdf.rs", "sched/timeline.rs", "sched/hrtick.rs")
def part(pc):
    files = [f for _, f in frames[pc] if "/kernel/src/" in f]
    return "fair class" if files and files[0].endswith(fair) else "everything else"
print(f"{len(pcs)} instructions in one cycle")
for title, key in (("by symbol", lambda p: frames[p][-1][0] if frames[p] else "?"),
                   ("by innermost inlined function", lambda p: frames[p][0][0] if frames[p] else "?"),
                   ("by part", part)):
    print(f"-- {title}")
    for name, n in collections.Counter(key(p) for p in pcs).most_common(25):
        print(f"{n:6d}  {name[:110]}")
PY
