#!/usr/bin/env python3
"""Rewrites README.md's benchmark tables from the output of `make bench`,
so they are regenerated, not retyped:

    make bench 2>&1 | tee bench.out; scripts/bench-table.py bench.out

The "this kernel (TCG)" column takes the runs on 1 CPU in real time; the
instruction-count table takes the `--icount` runs (1 instruction = 1 ns,
the same on any host). `--icount-only` leaves the TCG column alone, for a
run on a machine too busy for its timings to mean anything. Rows whose
benchmark is missing from the output keep their old value; the host
column is left alone (run tests/user/demo/bench.c on the host for it).
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


def sections(text):
    """The results of each boot of `make bench`, with the runner's options:
    [(options, results)], one per `Running ...` line."""
    parts = re.split(r"^\s*Running `(.*)`$", text, flags=re.M)
    return [(parts[i], parse(parts[i + 1])) for i in range(1, len(parts) - 1, 2)]


def merged(runs, icount):
    """The results of the 1-CPU runs, with or without --icount."""
    out = {}
    for options, results in runs:
        if "--smp" not in options and ("--icount" in options) == icount:
            out.update(results)
    return out


# The instruction-count table's rows and their benchmarks.
ICOUNT_ROWS = {
    "kthread create+exit+reap": "kthread_create_exit_reap",
    "context switch": "context_switch",
    "getppid": "getppid",
    "fork+exit+wait4": "fork+exit+wait4",
    "vfork+exit+wait4": "vfork+exit+wait4",
    "pthread_create+join": "pthread_create+join",
}


def icount_cell(row, r):
    """The new cell of the instruction-count table, or None."""
    name = ICOUNT_ROWS.get(row)
    if name not in r:
        return None
    ns = r[name][1] if r[name][0] == "cycles" else r[name][1] * 1000
    return f"{ns:,.0f}"


def rewrite(lines, header, cell_of, results):
    """Rewrites the middle column of the table under `header`."""
    start = lines.index(header)
    for i in range(start + 2, len(lines)):
        cols = lines[i].split(" | ")
        if not lines[i].startswith("| ") or len(cols) != 3:
            break
        new = cell_of(cols[0][2:], results)
        if new is not None:
            cols[1] = new
            lines[i] = " | ".join(cols)


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
    icount_only = "--icount-only" in sys.argv[1:]
    output = [a for a in sys.argv[1:] if a != "--icount-only"][0]
    runs = sections(open(output, encoding="utf-8").read())
    lines = open(README, encoding="utf-8").read().split("\n")
    if not icount_only:
        rewrite(lines, "| operation | this kernel (TCG) | host Linux (native) |",
                cell, merged(runs, icount=False))
    rewrite(lines, "| operation | instructions (`--icount`, 1 CPU) | limit (issue 15) |",
            icount_cell, merged(runs, icount=True))
    open(README, "w", encoding="utf-8").write("\n".join(lines))


if __name__ == "__main__":
    main()
