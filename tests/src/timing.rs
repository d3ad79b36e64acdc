//! Where the suite's time goes: with `LIFECYCLE_TIMES=1` (`make test
//! TIMES=1`) the suite prints, after its test lines and before the count,
//! each scenario's wall time, each QEMU boot's (with its CPUs, when the
//! kernel's banner and `/init` arrived, and the command line), and for
//! each boot of `init` the time of each program it ran, slowest first:
//!
//! ```text
//! times: suite 412.3 s wall, 58 boots, 701.9 s of QEMU time, 2 at a time
//! times: scenario 180.2 s user::init_runs_every_program_to_its_summary
//! times: boot 179.8 s smp 1 bios (banner 0.9 s, init 1.2 s) init=/bin/init fork_basic cow …
//! times: program 10.4 s smp 1 race_wait
//! ```
//!
//! Each run also keeps its scenarios' times in `target/suite-times.txt`,
//! and the next run starts the scenarios that took longest first (the
//! ones it has no time for first of all, in table order), so that a long
//! boot does not begin when the others are done and run alone at the end.

use std::collections::HashMap;
use std::fs;
use std::time::Duration;

use crate::{Boot, Outcome, Scenario};

/// The scenarios' times from the last runs: `<seconds> <name>` lines.
const TIMES_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/suite-times.txt");

fn last_times() -> HashMap<String, f64> {
    fs::read_to_string(TIMES_FILE)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let (secs, name) = line.split_once(' ')?;
            Some((name.to_string(), secs.parse().ok()?))
        })
        .collect()
}

/// `chosen` with their table positions, in the order to start them: the
/// longest last time first, those without a time before all.
pub fn longest_first<'a>(chosen: &[&'a Scenario]) -> Vec<(usize, &'a Scenario)> {
    let last = last_times();
    let mut order: Vec<(usize, &Scenario)> = chosen.iter().copied().enumerate().collect();
    let secs = |s: &Scenario| last.get(s.0).copied().unwrap_or(f64::INFINITY);
    order.sort_by(|a, b| secs(b.1).total_cmp(&secs(a.1)));
    order
}

/// Adds this run's times to `target/suite-times.txt` (a scenario's new time replaces
/// its old one); a file that cannot be written only loses the ordering.
pub fn remember(took: &[(&str, Duration)]) {
    let mut times = last_times();
    for (name, took) in took {
        times.insert((*name).to_string(), took.as_secs_f64());
    }
    let mut lines: Vec<String> = times
        .iter()
        .map(|(name, secs)| format!("{secs:.1} {name}\n"))
        .collect();
    lines.sort();
    let _ = fs::write(TIMES_FILE, lines.concat());
}

/// Whether the report is wanted: `LIFECYCLE_TIMES=1`.
pub fn wanted() -> bool {
    std::env::var("LIFECYCLE_TIMES").as_deref() == Ok("1")
}

/// Programs listed per boot of `init`, slowest first.
const PROGRAMS_SHOWN: usize = 25;

/// Characters of a command line shown.
const CMDLINE_SHOWN: usize = 100;

/// Prints the report: `scenarios` as (name, wall time), `boots` as they ran.
pub fn report(
    wall: Duration,
    jobs: usize,
    scenarios: &[(&str, Duration)],
    boots: &[(Boot, &Outcome)],
) {
    let qemu: f64 = boots.iter().map(|(_, o)| o.elapsed.as_secs_f64()).sum();
    println!(
        "times: suite {:.1} s wall, {} boots, {qemu:.1} s of QEMU time, {jobs} at a time",
        wall.as_secs_f64(),
        boots.len()
    );
    let mut scenarios = scenarios.to_vec();
    scenarios.sort_by_key(|s| std::cmp::Reverse(s.1));
    for (name, took) in &scenarios {
        println!("times: scenario {:.1} s {name}", took.as_secs_f64());
    }
    let mut boots = boots.to_vec();
    boots.sort_by_key(|b| std::cmp::Reverse(b.1.elapsed));
    for (boot, outcome) in &boots {
        let at = |needle: &str| {
            outcome
                .lines()
                .position(|l| l.contains(needle))
                .and_then(|i| outcome.line_times.get(i))
                .map_or("-".into(), |t| format!("{:.1} s", t.as_secs_f64()))
        };
        let cmdline: String = boot.cmdline.chars().take(CMDLINE_SHOWN).collect();
        println!(
            "times: boot {:.1} s smp {} {:?}{} (banner {}, init {}) {cmdline}",
            outcome.elapsed.as_secs_f64(),
            boot.smp,
            boot.firmware,
            boot.cpu
                .as_deref()
                .map_or(String::new(), |c| format!(" cpu {c}")),
            at("Booting lifecycle"),
            at("as init process"),
        );
    }
    for (boot, outcome) in &boots {
        let mut programs = program_times(outcome);
        if boot.cmdline.starts_with("ktest") {
            programs.extend(kernel_test_times(outcome));
        }
        programs.sort_by_key(|p| std::cmp::Reverse(p.1));
        for (name, took) in programs.iter().take(PROGRAMS_SHOWN) {
            println!(
                "times: program {:.1} s smp {} {name}",
                took.as_secs_f64(),
                boot.smp
            );
        }
    }
}

/// Each kernel test of a `ktest` boot and how long it took: from the
/// previous test's result line, the first from the first `test` line
/// (the tests print their line when they end).
fn kernel_test_times(outcome: &Outcome) -> Vec<(String, Duration)> {
    let mut times = Vec::new();
    let mut since = None;
    for (line, at) in outcome.lines().zip(&outcome.line_times) {
        let Some((name, _)) = line
            .strip_prefix("test ")
            .and_then(|l| l.split_once(" ..."))
        else {
            continue;
        };
        if let Some(start) = since {
            times.push((format!("kernel::{name}"), at.saturating_sub(start)));
        }
        since = Some(*at);
    }
    times
}

/// Each program `init` ran and how long it took: from the previous
/// program's end (`user: <name> exited with ...`), the first from
/// `Run /bin/init as init process`.
fn program_times(outcome: &Outcome) -> Vec<(String, Duration)> {
    let mut times = Vec::new();
    let mut since = None;
    for (line, at) in outcome.lines().zip(&outcome.line_times) {
        if line.contains("as init process") {
            since = Some(*at);
        } else if let (Some(start), Some(rest)) = (since, line.strip_prefix("user: ")) {
            let ended = [" exited with ", " killed by ", " ended with "]
                .iter()
                .find_map(|end| rest.split_once(end));
            if let Some((name, _)) = ended {
                times.push((name.to_string(), at.saturating_sub(start)));
                since = Some(*at);
            }
        }
    }
    times
}
