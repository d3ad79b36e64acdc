//! What a user sees of the CPUs: the checks of `smp::` scenarios on
//! /proc/cpuinfo, /proc/stat, `nproc`, `top`, Ctrl-T and the timeline's
//! per-CPU tracks.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::{Failure, Outcome};

/// The shell script of `smp::cpuinfo_stat_nproc_top_and_ctrl_t_show_every_cpu`:
/// `nproc` busy loops, /proc/stat read 2 s apart, `top`, and Ctrl-T
/// (typed when `ctrl-t now` shows) while the loops run.
pub const CPUS_SCRIPT: &str = concat!(
    "#!/bin/sh\n",
    "B=/bin/busybox\n",
    "n=$($B nproc)\n",
    "echo \"nproc: $n\"\n",
    "echo \"cpuinfo: $($B grep -c '^processor' /proc/cpuinfo) processors\"\n",
    "$B grep '^processor' /proc/cpuinfo\n",
    "i=0; while [ $i -lt $n ]; do $B sh -c 'while :; do :; done' & i=$((i+1)); done\n",
    "$B sleep 1\n",
    "$B grep '^cpu' /proc/stat | $B sed 's/^/stat-a: /'\n",
    "$B sleep 2\n",
    "$B grep '^cpu' /proc/stat | $B sed 's/^/stat-b: /'\n",
    "$B top -b -n 2 -d 1 | $B grep '^CPU:'\n",
    "echo 'ctrl-t now'\n",
    "$B sleep 1\n",
    "exec $B poweroff -f\n",
);

/// The user ticks and all ticks (every field summed) of each `cpu…` line
/// with this prefix.
fn stat_lines(run: &Outcome, prefix: &str) -> BTreeMap<String, [u64; 2]> {
    run.lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let name = w.next()?.to_string();
            let ticks: Vec<u64> = w.map(str::parse).collect::<Result<_, _>>().ok()?;
            Some((name, [*ticks.first()?, ticks.iter().sum()]))
        })
        .collect()
}

/// The CPU column of the Ctrl-T listing for the busy loops (`sh` tasks
/// running), as a set.
fn ctrl_t_cpus(run: &Outcome) -> Vec<usize> {
    let mut cpus: Vec<usize> = run
        .lines()
        .skip_while(|l| !l.starts_with("  PID  PPID S CPU"))
        .take_while(|l| !l.is_empty() && !l.starts_with("swapper/0("))
        .filter_map(|l| match l.split_whitespace().collect::<Vec<_>>()[..] {
            [_, _, "R", cpu, _, "busybox" | "sh"] => cpu.parse().ok(),
            _ => None,
        })
        .collect();
    cpus.sort_unstable();
    cpus.dedup();
    cpus
}

/// Checks the run of [`CPUS_SCRIPT`] on `cpus` CPUs: every count says
/// `cpus`; each CPU's line in /proc/stat gained at least 75 % user time of
/// the ticks it counted in the 2 s its busy loop ran (a host that
/// deschedules the emulated CPU merges missed ticks, so there may be fewer
/// than 200, but at least 50), and the `cpu` line gained their sum; top's
/// `CPU:` line shows at least 90 % usr; Ctrl-T shows the loops running on
/// every CPU.
///
/// # Errors
/// Each way the run differs, in one message.
pub fn check_cpus_run(run: &Arc<Outcome>, cpus: u32) -> Result<(), Failure> {
    let mut problems = Vec::new();
    for (what, prefix) in [("nproc", "nproc: "), ("cpuinfo", "cpuinfo: ")] {
        let got = run.lines().find_map(|l| {
            l.strip_prefix(prefix)?
                .split_whitespace()
                .next()?
                .parse::<u32>()
                .ok()
        });
        if got != Some(cpus) {
            problems.push(format!("{what} says {got:?} CPUs, want {cpus}"));
        }
    }
    let (a, b) = (stat_lines(run, "stat-a: "), stat_lines(run, "stat-b: "));
    let names: Vec<String> = (0..cpus).map(|n| format!("cpu{n}")).collect();
    let per_cpu: Vec<&String> = b.keys().filter(|k| k.as_str() != "cpu").collect();
    if per_cpu != names.iter().collect::<Vec<_>>() {
        problems.push(format!("/proc/stat has lines {per_cpu:?}, want {names:?}"));
    }
    let gained = |name: &str, i: usize| b.get(name)?[i].checked_sub(a.get(name)?[i]);
    let mut sum = 0;
    for name in &names {
        let (user, all) = (gained(name, 0).unwrap_or(0), gained(name, 1).unwrap_or(0));
        sum += user;
        if all < 50 || user * 4 < all * 3 {
            problems.push(format!(
                "{name} gained {user} user ticks of {all} in 2 s, want >= 75 % of at least 50"
            ));
        }
    }
    let total = gained("cpu", 0).unwrap_or(0);
    if total.abs_diff(sum) > 2 * u64::from(cpus) {
        problems.push(format!(
            "the cpu line gained {total} user ticks, its CPUs {sum}"
        ));
    }
    let usr = run
        .lines()
        .filter(|l| l.starts_with("CPU:"))
        .last()
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)?
                .trim_end_matches('%')
                .parse::<u32>()
                .ok()
        });
    if usr.is_none_or(|u| u < 90) {
        problems.push(format!(
            "top's last CPU: line shows {usr:?}% usr, want >= 90"
        ));
    }
    let seen = ctrl_t_cpus(run);
    if seen != (0..cpus as usize).collect::<Vec<_>>() {
        problems.push(format!("Ctrl-T shows the busy loops on CPUs {seen:?}"));
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(Failure::of(run, problems.join("\n"))),
    }
}

/// The per-CPU tracks of a Chrome trace made by `boot::trace`: a `CPU n`
/// track for each CPU that switched tasks, all below `cpus`; on each, the
/// slices follow each other without overlap; and no task but the idle
/// tasks is on two CPUs' tracks at once.
///
/// # Errors
/// The problems found, in one message.
pub fn check_cpu_tracks(json: &serde_json::Value, cpus: u32) -> Result<(), String> {
    let events = json["traceEvents"].as_array().cloned().unwrap_or_default();
    let tracks: Vec<i64> = events
        .iter()
        .filter(|e| e["pid"] == 2 && e["name"] == "thread_name")
        .filter_map(|e| e["tid"].as_i64())
        .collect();
    let mut problems = Vec::new();
    if tracks.is_empty() || tracks.iter().any(|&t| t < 0 || t >= i64::from(cpus)) {
        problems.push(format!("CPU tracks {tracks:?} on {cpus} CPUs"));
    }
    // (start, end, pid) per CPU.
    let mut slices: BTreeMap<i64, Vec<(i64, i64, i64)>> = BTreeMap::new();
    for e in events.iter().filter(|e| e["pid"] == 2 && e["ph"] == "X") {
        let (ts, dur) = (
            e["ts"].as_i64().unwrap_or(0),
            e["dur"].as_i64().unwrap_or(0),
        );
        let pid = e["args"]["pid"].as_i64().unwrap_or(-1);
        let cpu = e["tid"].as_i64().unwrap_or(-1);
        slices.entry(cpu).or_default().push((ts, ts + dur, pid));
    }
    for (cpu, list) in &slices {
        if let Some(w) = list.windows(2).find(|w| w[1].0 < w[0].1) {
            problems.push(format!(
                "CPU {cpu}: slices {:?} and {:?} overlap",
                w[0], w[1]
            ));
        }
    }
    let all: Vec<(i64, (i64, i64, i64))> = slices
        .iter()
        .flat_map(|(&cpu, list)| list.iter().map(move |&s| (cpu, s)))
        .filter(|&(_, (_, _, pid))| pid > 0)
        .collect();
    for (i, &(cpu, (s, e, pid))) in all.iter().enumerate() {
        let twice = all[i + 1..]
            .iter()
            .find(|&&(c, (s2, e2, p))| p == pid && c != cpu && s2 < e && s < e2);
        if let Some((other, _)) = twice {
            problems.push(format!(
                "pid {pid} ran on CPUs {cpu} and {other} at once near {s} µs"
            ));
            break;
        }
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(problems.join("\n")),
    }
}
