//! A user program in Rust without the standard library: it forks, and the
//! parent checks through wait4 what the child reports. It prints test lines
//! in the same form as the C programs and exits 0 when all checks pass.
#![no_std]
#![no_main]

mod sys;

use core::fmt::{self, Write};

struct Stdout;

impl Write for Stdout {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        sys::write(1, s.as_bytes())
            .map(|_| ())
            .map_err(|_| fmt::Error)
    }
}

fn check(name: &str, ok: bool, failures: &mut i32) {
    let verdict = if ok { "ok" } else { "FAILED" };
    let _ = writeln!(Stdout, "test rust_fork::{name} ... {verdict}");
    if !ok {
        *failures += 1;
    }
}

fn main() -> i32 {
    let mut failures = 0;
    let me = sys::getpid();
    match sys::fork() {
        Ok(0) => {
            // The child reports its parent in its exit code.
            sys::exit(if sys::getppid() == me { 42 } else { 1 })
        }
        Ok(child) => {
            check(
                "fork_returns_the_childs_pid_in_the_parent",
                child > 0 && child != me,
                &mut failures,
            );
            let waited = sys::wait4(child);
            check(
                "wait4_returns_the_child",
                waited.map(|w| w.0) == Ok(child),
                &mut failures,
            );
            let status = waited.map_or(-1, |w| w.1);
            check(
                "the_child_saw_us_as_its_parent_and_exited_42",
                status == 42 << 8,
                &mut failures,
            );
            check(
                "a_second_wait4_fails_with_echild",
                sys::wait4(child) == Err(sys::Errno(10)),
                &mut failures,
            );
        }
        Err(_) => check("fork_succeeds", false, &mut failures),
    }
    failures
}

#[unsafe(no_mangle)]
extern "C" fn _start() -> ! {
    sys::exit(main())
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    sys::exit(101)
}
