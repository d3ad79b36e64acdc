//! Reading the kernel's own test report from a boot with `ktest` on the command line.
//!
//! The kernel prints `test <module>::<name> ... ok` or `... FAILED` (then
//! detail lines) for each test, and closes with `ktest: N passed, M failed`.
//! A `test` line that ends some other way (an exception message, or nothing,
//! because the kernel died) is that test failing.

use std::sync::Arc;

use crate::{Ctx, Exit, Failure, Outcome};

/// One kernel test as the serial output reported it.
#[derive(Debug)]
pub struct KernelTest {
    /// `<module>::<name>`.
    pub name: String,
    /// Whether the line ended in `ok`.
    pub passed: bool,
    /// What followed a failure, up to the next test or the summary.
    pub detail: Vec<String>,
}

/// Everything one `ktest` boot reported.
#[derive(Debug, Default)]
pub struct Report {
    /// In the order they ran.
    pub tests: Vec<KernelTest>,
    /// `(passed, failed)` from the closing `ktest:` line; `None` if the kernel never got there.
    pub summary: Option<(usize, usize)>,
}

/// Parses the test lines and the summary out of a boot's serial output.
pub fn parse(outcome: &Outcome) -> Report {
    parse_lines(outcome.lines())
}

/// Parses `test` lines and a `ktest:` summary; user programs print the same
/// `test` lines, so this reads their output too.
pub fn parse_lines<'a>(lines: impl Iterator<Item = &'a str>) -> Report {
    let mut report = Report::default();
    for line in lines {
        if let Some(counts) = line.strip_prefix("ktest: ") {
            report.summary = parse_summary(counts);
        } else if let Some((name, result)) = line
            .strip_prefix("test ")
            .and_then(|l| l.split_once(" ..."))
        {
            let result = result.trim();
            let detail = match result {
                "ok" | "FAILED" | "" => Vec::new(),
                other => vec![other.to_string()],
            };
            report.tests.push(KernelTest {
                name: name.into(),
                passed: result == "ok",
                detail,
            });
        } else if let Some(test) = report
            .tests
            .last_mut()
            .filter(|t| !t.passed && report.summary.is_none())
        {
            test.detail.push(line.to_string());
        }
    }
    report
}

fn parse_summary(counts: &str) -> Option<(usize, usize)> {
    let (passed, failed) = counts.split_once(" passed, ")?;
    Some((
        passed.parse().ok()?,
        failed.strip_suffix(" failed")?.parse().ok()?,
    ))
}

/// Records each kernel test in `outcome` as a test of its own (`kernel::<name>`),
/// and checks that the run as a whole finished: it reached its summary, the
/// summary agrees with the lines, at least one test ran, and the exit status
/// says success exactly when nothing failed.
///
/// # Errors
/// The run did not finish that way.
pub fn record_kernel_tests(ctx: &Ctx, outcome: &Arc<Outcome>) -> Result<(), Failure> {
    record_kernel_tests_as(ctx, "kernel", outcome)
}

/// [`record_kernel_tests`] naming each test `<prefix>::<name>` (the same
/// tests from a boot with more CPUs, say).
///
/// # Errors
/// As for [`record_kernel_tests`].
pub fn record_kernel_tests_as(
    ctx: &Ctx,
    prefix: &str,
    outcome: &Arc<Outcome>,
) -> Result<(), Failure> {
    let report = parse(outcome);
    for test in &report.tests {
        let result = match test.passed {
            true => Ok(()),
            false => Err(Failure::new(test.detail.join("\n"))),
        };
        ctx.record(format!("{prefix}::{}", test.name), result);
    }
    let passed = report.tests.iter().filter(|t| t.passed).count();
    let failed = report.tests.len() - passed;
    let Some(summary) = report.summary else {
        return Err(Failure::of(
            outcome,
            "the kernel died mid-run: no `ktest: N passed, M failed` line",
        ));
    };
    if summary != (passed, failed) {
        let (n, m) = summary;
        let why = format!(
            "the summary says {n} passed, {m} failed; the test lines say {passed} and {failed}"
        );
        return Err(Failure::of(outcome, why));
    }
    if passed + failed == 0 {
        return Err(Failure::of(outcome, "the kernel ran no test"));
    }
    let expected = if failed == 0 {
        Exit::Success
    } else {
        Exit::Failure
    };
    crate::expect_exit(outcome, expected)
}
