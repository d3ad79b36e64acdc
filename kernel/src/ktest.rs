//! In-kernel tests: a registry built by the linker, run inside one boot.
//!
//! Each `ktest!` puts an entry in the `KTESTS` linker section (the idea of
//! Linux's KUnit suites, via the linkme crate). Booting with `ktest` runs all
//! of them, `ktest=<prefix>` those whose name starts with the prefix. Each
//! prints `test <module>::<name> ... ok|FAILED` and the run ends with
//! `ktest: N passed, M failed`.
//!
//! The tests are in the image only with the `ktest` feature (the suite's
//! build turns it on, `cargo build -p boot --release --features ktest` too):
//! the BIOS loader copies the kernel a byte at a time, and the tests are a
//! quarter of it. Without them `ktest` says so and fails.
//!
//! Linux: lib/kunit/ (CONFIG_KUNIT)

use alloc::string::String;
use core::sync::atomic::{AtomicPtr, Ordering};
use linkme::distributed_slice;

/// One registered test.
pub struct KTest {
    /// `module_path!()` of the test.
    pub module: &'static str,
    /// The test function's name: a sentence about the behaviour.
    pub name: &'static str,
    /// The test; `Err` carries the failed assertion.
    pub run: fn() -> Result<(), String>,
}

/// Every test in the kernel image.
#[distributed_slice]
pub static KTESTS: [KTest];

/// Declares an in-kernel test: `ktest! { fn name_as_a_sentence() { ... } }`.
/// The body uses `kassert!`/`kassert_eq!` and returns nothing.
#[macro_export]
macro_rules! ktest {
    ($(#[$meta:meta])* fn $name:ident() $body:block) => {
        $(#[$meta])*
        fn $name() -> Result<(), alloc::string::String> {
            $body
            #[allow(unreachable_code)]
            Ok(())
        }
        // linkme registers the entry with `#[link_section]`, which Rust counts
        // as unsafe; the slice it builds is sound by linkme's design.
        #[allow(unsafe_code)]
        const _: () = {
            #[linkme::distributed_slice($crate::ktest::KTESTS)]
            static TEST: $crate::ktest::KTest =
                $crate::ktest::KTest { module: module_path!(), name: stringify!($name), run: $name };
        };
    };
}

/// Fails the test (returning from it) unless `cond` holds.
#[macro_export]
macro_rules! kassert {
    ($cond:expr $(, $($msg:tt)*)?) => {
        if !$cond {
            return Err(alloc::format!(
                "{}:{}: assertion failed: {}{}",
                file!(), line!(), stringify!($cond),
                { let _m = alloc::string::String::new(); $( let _m = alloc::format!(": {}", format_args!($($msg)*)); )? _m }
            ));
        }
    };
}

/// Fails the test unless `left == right`, showing both values.
#[macro_export]
macro_rules! kassert_eq {
    ($left:expr, $right:expr $(, $($msg:tt)*)?) => {
        match (&$left, &$right) {
            (l, r) => {
                if *l != *r {
                    return Err(alloc::format!(
                        "{}:{}: {} == {} failed: left {:?}, right {:?}{}",
                        file!(), line!(), stringify!($left), stringify!($right), l, r,
                        { let _m = alloc::string::String::new(); $( let _m = alloc::format!(": {}", format_args!($($msg)*)); )? _m }
                    ));
                }
            }
        }
    };
}

static RUNNING: AtomicPtr<KTest> = AtomicPtr::new(core::ptr::null_mut());

/// The name of the test running now, for the panic handler.
pub fn running_test() -> Option<String> {
    let ptr = RUNNING.load(Ordering::Relaxed);
    KTESTS
        .iter()
        .find(|t| core::ptr::eq(*t, ptr))
        .map(full_name)
}

fn full_name(test: &KTest) -> String {
    let module = test.module.strip_prefix("kernel::").unwrap_or(test.module);
    let module = module.strip_suffix("::tests").unwrap_or(module);
    alloc::format!("{module}::{}", test.name)
}

/// Runs every test whose full name starts with `filter`; returns the number
/// of failures.
pub fn run_tests(filter: &str) -> i32 {
    if cfg!(not(feature = "ktest")) {
        crate::kprintln!(
            "ktest: this kernel has no in-kernel tests (build it with the ktest feature: cargo build -p boot --release --features ktest)"
        );
        return 1;
    }
    let (mut passed, mut failed) = (0, 0);
    let mut tests: alloc::vec::Vec<(String, &KTest)> =
        KTESTS.iter().map(|t| (full_name(t), t)).collect();
    tests.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, test) in tests {
        if !name.starts_with(filter) {
            continue;
        }
        RUNNING.store(core::ptr::from_ref(test).cast_mut(), Ordering::Relaxed);
        match (test.run)() {
            Ok(()) => {
                passed += 1;
                crate::kprintln!("test {name} ... ok");
            }
            Err(why) => {
                failed += 1;
                crate::kprintln!("test {name} ... FAILED\n    {why}");
            }
        }
        RUNNING.store(core::ptr::null_mut(), Ordering::Relaxed);
    }
    crate::kprintln!("ktest: {passed} passed, {failed} failed");
    failed
}

#[cfg(feature = "ktest")]
/// Counters that must return to their starting values when a test has
/// cleaned up after itself: free pages, heap bytes, pids and tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resources {
    /// Pages on the free list, plus those that became the kernel's own page
    /// tables: a stack mapped at a vmalloc slot never used before takes
    /// one, and keeps it (at --smp 4 in CI, children in flight on stalled
    /// CPUs reached such a slot during the 10,000 kthread cycles).
    pub free_pages: usize,
    /// Heap bytes in use.
    pub heap_used: usize,
    /// Pids allocated.
    pub pids: usize,
    /// Tasks alive.
    pub tasks: usize,
    /// Tasks counted against the current real user's RLIMIT_NPROC.
    pub nproc: u64,
}

#[cfg(feature = "ktest")]
impl Resources {
    /// Reads the counters now.
    pub fn snapshot() -> Resources {
        Resources {
            free_pages: crate::mm::page_alloc::nr_free_pages()
                + crate::mm::pgtable::nr_kernel_pgtable_pages(),
            heap_used: crate::mm::heap::heap_used(),
            pids: crate::pid::nr_pids(),
            tasks: crate::tasklist::TASKLIST_LOCK.lock().nr_threads,
            nproc: crate::user::task_user(&crate::task::current())
                .processes
                .load(core::sync::atomic::Ordering::Relaxed),
        }
    }

    /// Reads the counters once they held still for two ticks: what other
    /// CPUs were finishing (switching away from a dead task, letting go of
    /// a lazily held mm) is done first. After a second, the last reading.
    pub fn settled() -> Resources {
        let mut last = Resources::snapshot();
        for _ in 0..125 {
            let since = crate::arch::time::jiffies();
            wait_until(2, || crate::arch::time::jiffies() >= since + 2);
            let now = Resources::snapshot();
            if now == last {
                return now;
            }
            last = now;
        }
        last
    }
}

#[cfg(feature = "ktest")]
/// Yields until `cond` holds; false if it still does not after `ticks`
/// timer ticks.
pub fn wait_until(ticks: u64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = crate::arch::time::jiffies() + ticks;
    while !cond() {
        if crate::arch::time::jiffies() > deadline {
            return false;
        }
        crate::sched::core::sched_yield();
    }
    true
}

#[cfg(feature = "ktest")]
/// Ends the current kernel thread's use of the address space a test gave
/// it, as exit_mm() does (mmput): as its last user, this CPU loads the
/// kernel's page table and CPUs that still hold the mm lazily (where the
/// thread ran before it migrated) let go, so that the memory is freed now.
/// Else a CPU halted in idle could keep it until it next runs something,
/// and a later test would count that as freed by its own work.
pub fn drop_test_mm() {
    if let Some(mm) = crate::task::current().mm.take() {
        crate::fork::mmput(mm);
    }
}
