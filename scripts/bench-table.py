#!/usr/bin/env python3
"""Rewrites the "this kernel (TCG)" column of README.md's benchmark table
from the output of `make bench`, so the table is regenerated, not retyped:

    make bench 2>&1 | tee bench.out; scripts/bench-table.py bench.out

Rows whose benchmark is missing from the output keep their old value; the
host column is left alone (run tests/user/demo/bench.c on the host for it).
"""
import re
import sys

README = "README.md"


def us(value):
    """Microseconds as the table writes them: ms from 1000 up."""
    if value >= 1000:
        return f"{value / 1000:.1f} ms"
    if value >= 10:
        return f"{value:.0f} µs"
    return f"{value:.2f} µs" if value < 1 else f"{value:.1f} µs"


def cycles(ns, cyc):
    """A kernel micro-benchmark: its time and cycles, rounded."""
    rounded = int(round(cyc, -2 if cyc >= 1000 else -1))
    return f"~{us(ns / 1000)} ({rounded:,} cycles)"


def parse(text):
    """The results by benchmark name: ("us", value) or ("cycles", ns, cycles)."""
    out = {}
    for m in re.finditer(r"^bench (.+?): (\d+) cycles/op \((\d+) ns/op", text, re.M):
        out[m.group(1)] = ("cycles", float(m.group(3)), float(m.group(2)))
    for m in re.finditer(r"^bench (.+?)\s+([\d.]+) us/op", text, re.M):
        out[m.group(1).strip()] = ("us", float(m.group(2)))
    m = re.search(r"^bench idle_sleepers: .* by ([+-][\d.]+) %", text, re.M)
    if m:
        out["idle_sleepers"] = ("pct", float(m.group(1)))
    return out


def cell(row, r):
    """The new cell for table row `row`, or None to keep the old one."""
    simple = {
        "getppid": "getppid",
        "fork+exit+wait4": "fork+exit+wait4",
        "fork+exit+wait4, 64 MiB touched": "fork+exit+wait4, 64 MiB touched",
        "copy-on-write fault, per page": "copy-on-write fault (per page)",
        "fork+execve+wait4": "fork+execve+wait4",
        "vfork+exit+wait4": "vfork+exit+wait4",
        "posix_spawn+wait4": "posix_spawn (vfork+execve)+wait4",
        "pthread_create+join": "pthread_create+join",
        "page-cache read of 1 MiB": "page-cache read of 1 MiB",
        "MAP_SHARED write fault, per page": "MAP_SHARED write fault (per page)",
    }
    if row in simple and simple[row] in r:
        return us(r[simple[row]][1])
    if row == "kthread create+exit+reap" and "kthread_create_exit_reap" in r:
        return cycles(*r["kthread_create_exit_reap"][1:])
    if row == "context switch" and "context_switch" in r:
        return cycles(*r["context_switch"][1:])
    idle, busy = "hrtimer_start+cancel (0 queued)", "hrtimer_start+cancel (500 queued)"
    if row == "hrtimer_start+cancel" and idle in r and busy in r:
        ns, cyc = r[idle][1:]
        more = int(round(r[busy][2], -2))
        return f"{cycles(ns, cyc)[:-1]}; {more:,} with 500 timers queued)"
    if row == "getppid with 500 idle sleepers vs none" and "idle_sleepers" in r:
        return f"{r['idle_sleepers'][1]:+.1f} %"
    return None


def main():
    results = parse(open(sys.argv[1], encoding="utf-8").read())
    lines = open(README, encoding="utf-8").read().split("\n")
    start = lines.index("| operation | this kernel (TCG) | host Linux (native) |")
    for i in range(start + 2, len(lines)):
        cols = lines[i].split(" | ")
        if not lines[i].startswith("| ") or len(cols) != 3:
            break
        new = cell(cols[0][2:], results)
        if new is not None:
            cols[1] = new
            lines[i] = " | ".join(cols)
    open(README, "w", encoding="utf-8").write("\n".join(lines))


if __name__ == "__main__":
    main()
