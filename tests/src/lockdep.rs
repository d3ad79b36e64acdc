//! The lock-order checker in every test boot: the kernel gets `lockdep` on
//! its command line, and a boot whose log holds a report that no test
//! provoked on purpose fails (see kernel/src/locking/).

use std::sync::Arc;

use crate::{Failure, Outcome};

/// Added to every test boot's command line: the lock-order checker is on
/// for the whole suite (`make run` leaves it off).
pub const LOCKDEP: &str = "lockdep";

/// The first lines of the lock-order checker's reports.
const LOCKDEP_REPORTS: [&str; 3] = [
    "WARNING: possible circular locking dependency detected",
    "WARNING: possible recursive locking detected",
    "WARNING: inconsistent lock state",
];

/// Fails unless every lock-order report in `outcome` was provoked on purpose
/// by a test (the kernel prints `lockdep: expected by a test` before those).
///
/// # Errors
/// A report no test asked for: a real locking bug.
pub fn expect_no_lockdep_report(outcome: &Arc<Outcome>) -> Result<(), Failure> {
    let lines: Vec<&str> = outcome.lines().collect();
    let is_report = |line: &str| LOCKDEP_REPORTS.iter().any(|n| line.contains(n));
    let reports = lines.iter().filter(|l| is_report(l)).count();
    let expected = lines
        .iter()
        .filter(|line| line.contains("lockdep: expected by a test"))
        .count();
    if reports <= expected {
        return Ok(());
    }
    let mut why = format!("lockdep: {reports} lock-order reports, {expected} of them expected:");
    for (i, _) in lines.iter().enumerate().filter(|(_, l)| is_report(l)) {
        let expected_here = i > 1 && lines[i - 2].contains("lockdep: expected by a test");
        if !expected_here {
            lines[i..lines.len().min(i + 24)]
                .iter()
                .take_while(|l| !l.contains("*** DEADLOCK ***"))
                .for_each(|l| {
                    why.push('\n');
                    why.push_str(l);
                });
        }
    }
    Err(Failure::of(outcome, why))
}
