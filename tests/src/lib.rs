//! The host test suite's machinery: boot the kernel in QEMU, judge each run by
//! its exit status and serial lines, print one line per test.
//!
//! A [`Scenario`] is a name and a function `fn(&Ctx) -> Result<(), Failure>`;
//! `tests/tests/suite.rs` lists them in a table. Inside, [`Ctx::boot`] boots
//! the kernel as a [`Boot`] describes and returns the [`Outcome`]. Boots are
//! memoized by their `Boot` value (an initrd by its path): scenarios that ask
//! for the same boot share one QEMU run, so a scenario may compare its boot
//! with another's for free. Scenarios run [`jobs()`] at a time (the number of
//! CPUs unless `LIFECYCLE_JOBS` says otherwise), and the report prints in
//! table order, ending with the count:
//!
//! ```text
//! test lkdtm::panic_fails_the_run_with_the_panic_line ... ok
//! ...
//! 12 passed, 0 failed
//! ```

pub mod docs;
pub mod gdb;
pub mod ktest;
pub mod lockdep;
pub mod smp;
pub mod timing;
pub mod user;

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

pub use boot::{Exit, Firmware, Outcome, Typing};

/// Per-boot limit unless a scenario sets its own.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Whether the suite's multi-CPU runs are on by default: scenarios boot
/// with [`SCENARIO_CPUS`] CPUs, the protection rerun of the user tier and
/// a second run of the kernel tests with 4, the race tests again on 2
/// (the user tier and the first kernel-test run always boot with 1).
/// `LIFECYCLE_SMP=0` or `=1` (`make test SMP=0`) overrides it for one run.
pub const SMP_RUNS: bool = true;

/// The CPUs a scenario boots with unless it asks for a number.
pub const SCENARIO_CPUS: u32 = 2;

/// Whether the multi-CPU runs are on: `LIFECYCLE_SMP`, else [`SMP_RUNS`].
pub fn smp_runs() -> bool {
    match std::env::var("LIFECYCLE_SMP").as_deref() {
        Ok("0") => false,
        Ok("1") => true,
        _ => SMP_RUNS,
    }
}

/// `n` CPUs while the multi-CPU runs are on ([`smp_runs`]), else 1.
pub fn cpus(n: u32) -> u32 {
    if smp_runs() { n } else { 1 }
}

/// Serial lines shown under a failed test.
const TAIL_LINES: usize = 40;

/// How many QEMUs may run at once: `LIFECYCLE_JOBS` (`make test JOBS=n`
/// sets it), or else the number of CPUs this process may use.
pub fn jobs() -> usize {
    let cpus = || thread::available_parallelism().map_or(1, |n| n.get());
    match std::env::var("LIFECYCLE_JOBS") {
        Ok(value) => match value.trim().parse::<usize>() {
            Ok(n @ 1..) => n,
            _ => {
                eprintln!(
                    "LIFECYCLE_JOBS={value:?} is not a positive number; using {}",
                    cpus()
                );
                cpus()
            }
        },
        Err(_) => cpus(),
    }
}

/// One boot of the kernel: what the image holds and how QEMU runs it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Boot {
    /// BIOS or UEFI.
    pub firmware: Firmware,
    /// The kernel command line.
    pub cmdline: String,
    /// The initramfs: a directory or a cpio archive.
    pub initrd: Option<PathBuf>,
    /// QEMU is killed after this long.
    pub timeout: Duration,
    /// Keystrokes on the serial console, each step after its marker.
    pub input: Vec<Typing>,
    /// Start halted, with a gdb stub on this port.
    pub gdb_port: Option<u16>,
    /// QEMU's CPU model; `None` for its default.
    pub cpu: Option<String>,
    /// The number of CPUs (QEMU's `-smp N`).
    pub smp: u32,
}

impl Boot {
    /// A BIOS boot with this command line, the default timeout and
    /// [`SCENARIO_CPUS`] CPUs (1 when the multi-CPU runs are off).
    pub fn bios(cmdline: &str) -> Self {
        Boot {
            firmware: Firmware::Bios,
            cmdline: cmdline.into(),
            initrd: None,
            timeout: DEFAULT_TIMEOUT,
            input: Vec::new(),
            gdb_port: None,
            cpu: None,
            smp: cpus(SCENARIO_CPUS),
        }
    }

    /// A UEFI boot with this command line and the default timeout.
    pub fn uefi(cmdline: &str) -> Self {
        Boot {
            firmware: Firmware::Uefi,
            ..Boot::bios(cmdline)
        }
    }

    /// The same boot with a ramdisk.
    pub fn initrd(self, initrd: impl Into<PathBuf>) -> Self {
        Boot {
            initrd: Some(initrd.into()),
            ..self
        }
    }

    /// The same boot, typing `keys` on the console once `marker` shows up.
    pub fn type_after(self, marker: &str, keys: &[u8]) -> Self {
        self.type_after_polling(b"", marker, keys)
    }

    /// The same boot, typing `poll` every [`boot::POLL_EVERY`] until
    /// `marker` shows up, then `keys`. With Ctrl-T as `poll`, the marker
    /// can be a state the kernel's listing shows, such as which process
    /// group is in the foreground, where the programs print nothing.
    pub fn type_after_polling(mut self, poll: &[u8], marker: &str, keys: &[u8]) -> Self {
        self.input.push(Typing {
            marker: marker.into(),
            poll: poll.into(),
            keys: keys.into(),
        });
        self
    }

    /// The same boot, halted until gdb connects to `port` and continues.
    pub fn halted_for_gdb(self, port: u16) -> Self {
        Boot {
            gdb_port: Some(port),
            ..self
        }
    }

    /// The same boot on another CPU model (QEMU's `-cpu MODEL`).
    pub fn cpu(self, model: &str) -> Self {
        Boot {
            cpu: Some(model.into()),
            ..self
        }
    }

    /// The same boot with `n` CPUs (QEMU's `-smp N`).
    pub fn smp(self, n: u32) -> Self {
        Boot { smp: n, ..self }
    }

    /// The same boot with another timeout.
    pub fn timeout(self, secs: u64) -> Self {
        Boot {
            timeout: Duration::from_secs(secs),
            ..self
        }
    }

    fn run(&self) -> Result<Outcome, String> {
        let image = boot::build_image(&boot::ImageSpec {
            ramdisk: self.initrd.clone(),
            ..boot::ImageSpec::new(self.firmware)
        })
        .map_err(|e| format!("making the disk image: {e}"))?;
        let mut run = boot::RunSpec::new(image, self.firmware);
        run.cmdline = format!("{} {}", lockdep::LOCKDEP, self.cmdline);
        run.timeout = Some(self.timeout);
        run.input.clone_from(&self.input);
        run.gdb_port = self.gdb_port;
        run.cpu.clone_from(&self.cpu);
        run.smp = self.smp;
        boot::run_qemu(&run).map_err(|e| format!("running QEMU: {e}"))
    }
}

/// Why a test failed: a message, and the boot it judged, if any.
#[derive(Debug)]
pub struct Failure {
    message: String,
    outcome: Option<Arc<Outcome>>,
}

impl Failure {
    /// A failure not tied to a boot.
    pub fn new(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            outcome: None,
        }
    }

    /// A failure judged from `outcome`; the report shows its exit and serial tail.
    pub fn of(outcome: &Arc<Outcome>, message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            outcome: Some(Arc::clone(outcome)),
        }
    }

    /// The message's first line.
    fn headline(&self) -> &str {
        self.message.lines().next().unwrap_or("")
    }

    fn describe(&self) -> String {
        let mut text = String::new();
        for line in self.message.lines() {
            let _ = writeln!(text, "    {line}");
        }
        if let Some(outcome) = &self.outcome {
            let lines: Vec<&str> = outcome.lines().collect();
            let shown = &lines[lines.len().saturating_sub(TAIL_LINES)..];
            let secs = outcome.elapsed.as_secs_f64();
            let _ = writeln!(text, "    exit: {}; ran {secs:.1} s", outcome.exit);
            let _ = writeln!(
                text,
                "    serial (last {} of {} lines):",
                shown.len(),
                lines.len()
            );
            for line in shown {
                let _ = writeln!(text, "    | {line}");
            }
        }
        text
    }
}

/// For `?` on the host-side steps of a scenario (temporary files, tools).
impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Failure::new(error.to_string())
    }
}

/// Fails unless the run ended with `expected`.
///
/// # Errors
/// The run ended another way.
pub fn expect_exit(outcome: &Arc<Outcome>, expected: Exit) -> Result<(), Failure> {
    match outcome.exit == expected {
        true => Ok(()),
        false => Err(Failure::of(
            outcome,
            format!("expected the run to end with: {expected}"),
        )),
    }
}

/// Fails unless some serial line contains `needle`.
///
/// # Errors
/// No line does.
pub fn expect_line(outcome: &Arc<Outcome>, needle: &str) -> Result<(), Failure> {
    match outcome.lines().any(|line| line.contains(needle)) {
        true => Ok(()),
        false => Err(Failure::of(
            outcome,
            format!("no serial line contains {needle:?}"),
        )),
    }
}

/// Every one of `needles` is in some serial line ([`expect_line`] for each).
///
/// # Errors
/// The first needle no line contains.
pub fn expect_lines(outcome: &Arc<Outcome>, needles: &[&str]) -> Result<(), Failure> {
    needles
        .iter()
        .try_for_each(|needle| expect_line(outcome, needle))
}

/// A named test and its result, as printed.
struct Verdict {
    name: String,
    result: Result<(), Failure>,
}

impl Verdict {
    fn print(&self) {
        match &self.result {
            Ok(()) => println!("test {} ... ok", self.name),
            Err(failure) => print!("test {} ... FAILED\n{}", self.name, failure.describe()),
        }
    }
}

/// What a scenario sees: the shared boots, the user programs built once
/// for the whole run with their host results, and a place for extra tests
/// it finds on the way (the kernel's own tests).
pub struct Ctx<'a> {
    boots: &'a Boots,
    user: &'a user::Shared,
    found: Mutex<Vec<Verdict>>,
}

impl Ctx<'_> {
    /// Boots the kernel as `boot` says, or waits for the scenario that already is.
    /// Every boot runs with the lock-order checker on; a report it did not
    /// expect fails the scenario.
    ///
    /// # Errors
    /// The image could not be made or QEMU could not be run, or the
    /// checker found a locking bug.
    pub fn boot(&self, boot: &Boot) -> Result<Arc<Outcome>, Failure> {
        let cell = Arc::clone(self.boots.lock().unwrap().entry(boot.clone()).or_default());
        let outcome = cell
            .get_or_init(|| boot.run().map(Arc::new))
            .clone()
            .map_err(Failure::new)?;
        lockdep::expect_no_lockdep_report(&outcome)?;
        Ok(outcome)
    }

    /// The user programs and their host runs, shared by the scenarios.
    pub fn user(&self) -> &user::Shared {
        self.user
    }

    /// Reports one more test, printed after the scenario's own line.
    pub fn record(&self, name: String, result: Result<(), Failure>) {
        self.found.lock().unwrap().push(Verdict { name, result });
    }
}

type Boots = Mutex<HashMap<Boot, Arc<OnceLock<Result<Arc<Outcome>, String>>>>>;

/// A test: a name that says what should happen (`area::behaviour_as_a_sentence`),
/// and the function that arranges a boot (or more), acts and asserts.
pub type Scenario = (&'static str, fn(&Ctx) -> Result<(), Failure>);

thread_local! {
    /// The last panic on this thread, where and why, for its test's report.
    static PANIC: Cell<Option<String>> = const { Cell::new(None) };
}

/// Runs the scenarios whose names contain one of the command-line filters (all
/// if none), prints a line per test and the closing count, and returns failure
/// if any test failed.
pub fn main(scenarios: &[Scenario]) -> ExitCode {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let chosen: Vec<&Scenario> = scenarios
        .iter()
        .filter(|s| filters.is_empty() || filters.iter().any(|f| s.0.contains(f.as_str())))
        .collect();
    let (n, total) = (chosen.len(), scenarios.len());
    let jobs = jobs();
    println!("running {n} of {total} scenarios, {jobs} at a time");
    panic::set_hook(Box::new(|info| PANIC.set(Some(info.to_string()))));

    let started = Instant::now();
    let boots = Boots::default();
    let user = user::Shared::default();
    let took = Mutex::new(Vec::new());
    let next = Mutex::new(timing::longest_first(&chosen).into_iter());
    let (done, results) = mpsc::channel();
    let (mut passed, mut failures) = (0, Vec::new());
    thread::scope(|scope| {
        for _ in 0..jobs {
            let (next, done, took) = (&next, done.clone(), &took);
            let (boots, user) = (&boots, &user);
            scope.spawn(move || {
                // Not `while let ... = next.lock()...`: the guard would live
                // through the body, and the scenarios would run one at a time.
                loop {
                    let Some((index, scenario)) = next.lock().unwrap().next() else {
                        break;
                    };
                    let start = Instant::now();
                    let verdicts = run_one(scenario, boots, user);
                    took.lock().unwrap().push((scenario.0, start.elapsed()));
                    let _ = done.send((index, verdicts));
                }
            });
        }
        drop(done);
        (passed, failures) = print_in_table_order(results);
    });
    let took = took.into_inner().unwrap();
    timing::remember(&took);
    if timing::wanted() {
        report_times(started, jobs, &took, &boots);
    }
    // Repeated at the end, where a log cut to its last lines still shows them.
    if !failures.is_empty() {
        println!("\nfailures:");
        for failure in &failures {
            println!("    {failure}");
        }
    }
    println!("{passed} passed, {} failed", failures.len());
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Prints each scenario's verdicts in table order, holding those that
/// finish before their predecessors; returns how many passed and, for each
/// failure, its name and the first line of its message.
fn print_in_table_order(results: mpsc::Receiver<(usize, Vec<Verdict>)>) -> (usize, Vec<String>) {
    let (mut passed, mut failures) = (0, Vec::new());
    let mut pending = HashMap::new();
    let mut printed = 0;
    for (index, verdicts) in results {
        pending.insert(index, verdicts);
        while let Some(verdicts) = pending.remove(&printed) {
            for verdict in verdicts {
                verdict.print();
                match &verdict.result {
                    Ok(()) => passed += 1,
                    Err(failure) => {
                        failures.push(format!("{}: {}", verdict.name, failure.headline()))
                    }
                }
            }
            printed += 1;
        }
    }
    (passed, failures)
}

/// The `LIFECYCLE_TIMES=1` report ([`timing`]) of the boots that ran.
fn report_times(started: Instant, jobs: usize, took: &[(&str, Duration)], boots: &Boots) {
    let boots = boots.lock().unwrap();
    let ran: Vec<(Boot, &Outcome)> = boots
        .iter()
        .filter_map(|(boot, cell)| Some((boot.clone(), cell.get()?.as_ref().ok()?.as_ref())))
        .collect();
    timing::report(started.elapsed(), jobs, took, &ran);
}

fn run_one(&(name, check): &Scenario, boots: &Boots, user: &user::Shared) -> Vec<Verdict> {
    let ctx = Ctx {
        boots,
        user,
        found: Mutex::default(),
    };
    let result = panic::catch_unwind(AssertUnwindSafe(|| check(&ctx))).unwrap_or_else(|_| {
        let panic = PANIC.take().unwrap_or_else(|| "panicked".into());
        Err(Failure::new(panic))
    });
    let mut verdicts = vec![Verdict {
        name: name.into(),
        result,
    }];
    verdicts.append(&mut ctx.found.into_inner().unwrap());
    verdicts
}
