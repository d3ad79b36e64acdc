//! User programs for the initramfs: static musl C programs from `tests/user/`
//! (and the dynamically linked ones of `tests/user/dynamic/`).
//!
//! Each program prints `test <program>::<check> ... ok|FAILED` lines (see
//! `tests/user/check.h`) and exits 0 when every check passed.
//! [`record_user_tests`] runs a list of them on the host Linux, where the
//! expectations come from, and then in the kernel under `tests/user/init.c`
//! as pid 1. For a single program of your own:
//!
//! ```no_run
//! let initrd = tests::user::initramfs(&["forktest"])?; // tests/user/forktest.c → bin/forktest
//! let boot = tests::Boot::bios("init=/bin/forktest").initrd(initrd.path());
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use tempfile::TempDir;

use crate::{Boot, Ctx, Exit, Failure, Outcome, expect_exit, ktest};

/// Where the C sources live.
pub const USER_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/user");

/// The compiler; Debian's `musl-tools` package.
const MUSL_GCC: &str = "musl-gcc";

/// Compiles `tests/user/<name>.c` for each name into `bin/<name>` of a fresh
/// directory, ready to pass as an initrd. The directory is deleted when the
/// returned `TempDir` drops, so keep it alive until the boot is over.
///
/// # Errors
/// musl-gcc is missing or a program does not compile (the compiler's
/// messages go to stderr).
pub fn initramfs(programs: &[&str]) -> io::Result<TempDir> {
    let root = tempfile::Builder::new().prefix("initramfs-").tempdir()?;
    let bin = root.path().join("bin");
    fs::create_dir(&bin)?;
    for name in programs {
        compile(
            &Path::new(USER_DIR).join(format!("{name}.c")),
            &bin.join(name),
        )?;
    }
    Ok(root)
}

/// Builds everything in `tests/user/` into `bin/` of a fresh directory: each
/// `name.c` as `bin/name` (helpers and `init` included), and other files
/// (test data such as `not_elf.txt`) copied as they are; headers are skipped.
///
/// # Errors
/// As for [`initramfs`], or a data file could not be copied.
pub fn initramfs_all() -> io::Result<TempDir> {
    let root = tempfile::Builder::new().prefix("initramfs-").tempdir()?;
    let bin = root.path().join("bin");
    fs::create_dir(&bin)?;
    build_rust_user(&bin)?;
    build_dynamic(root.path())?;
    for entry in fs::read_dir(USER_DIR)? {
        let path = entry?.path();
        let (Some(stem), Some(name)) = (path.file_stem(), path.file_name()) else {
            continue;
        };
        match path.extension().and_then(|e| e.to_str()) {
            _ if !path.is_file() => {}
            Some("c") => compile(&path, &bin.join(stem))?,
            Some("h") => {}
            _ => {
                fs::copy(&path, bin.join(name))?;
            }
        }
    }
    Ok(root)
}

/// The dynamically linked programs: `tests/user/dynamic/dynlink.c` built
/// as `bin/dynlink_musl` by musl-gcc and as `bin/dynlink_glibc` by gcc,
/// with the build machine's dynamic linkers and glibc's libc copied to the
/// paths their PT_INTERP and DT_NEEDED name, and its `/usr/bin/false`.
///
/// # Errors
/// A compiler or a library is missing.
pub fn build_dynamic(root: &Path) -> io::Result<()> {
    let source = Path::new(USER_DIR).join("dynamic").join("dynlink.c");
    let bin = root.join("bin");
    for (cc, name) in [(MUSL_GCC, "dynlink_musl"), ("gcc", "dynlink_glibc")] {
        let status = Command::new(cc)
            .args(["-D_GNU_SOURCE", "-O2", "-Wall", "-Werror", "-o"])
            .arg(bin.join(name))
            .arg(&source)
            .status()?;
        if !status.success() {
            return Err(io::Error::other(format!(
                "{cc} failed on {}",
                source.display()
            )));
        }
    }
    for lib in [
        "/lib/ld-musl-x86_64.so.1",
        "/lib64/ld-linux-x86-64.so.2",
        "/lib/x86_64-linux-gnu/libc.so.6",
        "/usr/bin/false",
    ] {
        let to = root.join(&lib[1..]);
        fs::create_dir_all(to.parent().unwrap_or(root))?;
        fs::copy(lib, to)?;
    }
    Ok(())
}

/// Builds the no_std Rust user programs of `tests/user/rust/` (their own
/// crate, target x86_64-unknown-none, raw system calls) into `bin`.
///
/// # Errors
/// cargo failed (its messages go to stderr).
pub fn build_rust_user(bin: &Path) -> io::Result<()> {
    let dir = Path::new(USER_DIR).join("rust");
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/user-rust");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(&dir) // so that its .cargo/config.toml (static linking) applies
        .status()?;
    if !status.success() {
        return Err(io::Error::other("building tests/user/rust failed"));
    }
    fs::copy(
        target.join("x86_64-unknown-none/release/rust_fork"),
        bin.join("rust_fork"),
    )?;
    Ok(())
}

/// Adds the static busybox as `bin/busybox` with `bin/sh` linked to it, for
/// scenarios that want a shell.
///
/// # Errors
/// busybox-static is not installed, or the copy failed.
pub fn add_busybox(root: &Path) -> io::Result<PathBuf> {
    let busybox = root.join("bin/busybox");
    fs::create_dir_all(root.join("bin"))?;
    fs::copy("/bin/busybox", &busybox)?;
    std::os::unix::fs::symlink("busybox", root.join("bin/sh"))?;
    Ok(busybox)
}

/// Builds all of `tests/user/`, runs each of `programs` on the host, then boots
/// with `init=/bin/init <programs>`. A program may carry arguments after
/// colons, as init takes them (`sys_fuzz:1:200` runs `sys_fuzz 1 200`).
/// Records `user::<program>::passes_on_host_linux` per program and
/// `user::<program>::<check>` per check line from the kernel run, plus
/// `user::<program>::exits_with_status_0` when a program failed in the kernel
/// without a failed check to show for it (a crash).
///
/// # Errors
/// A program did not build, or init did not reach its summary and power off.
pub fn record_user_tests(ctx: &Ctx, programs: &[&str]) -> Result<(), Failure> {
    record_user_tests_on(ctx, "user", programs, |boot| boot).map(drop)
}

/// [`record_user_tests`] with the boot adjusted by `configure` (a CPU model,
/// a longer timeout), naming the tests `<prefix>::<program>::...`; returns
/// the kernel run, for scenarios that also check the kernel's own lines.
///
/// # Errors
/// As for [`record_user_tests`].
pub fn record_user_tests_on(
    ctx: &Ctx,
    prefix: &str,
    programs: &[&str],
    configure: impl FnOnce(Boot) -> Boot,
) -> Result<Arc<Outcome>, Failure> {
    let root = initramfs_all()?;
    let names: Vec<&str> = programs
        .iter()
        .map(|p| p.split(':').next().unwrap_or(p))
        .collect();
    for (program, name) in programs.iter().zip(&names) {
        let args: Vec<&str> = program.split(':').skip(1).collect();
        let result = on_host(&root.path().join("bin").join(name), &args);
        ctx.record(format!("{prefix}::{name}::passes_on_host_linux"), result);
    }
    let cmdline = format!("init=/bin/init {}", programs.join(" "));
    let run = ctx.boot(&configure(Boot::bios(&cmdline).initrd(root.path())))?;
    record_kernel_run(ctx, &run, prefix, &names);
    let summary = run
        .lines()
        .filter_map(|l| l.strip_prefix("user: "))
        .find(|l| l.contains(" passed, "));
    if summary.is_none() {
        let why = "init did not reach its `user: N passed, M failed` line";
        return Err(Failure::of(&run, why));
    }
    expect_exit(&run, Exit::Success)?;
    Ok(run)
}

fn record_kernel_run(ctx: &Ctx, run: &Arc<Outcome>, prefix: &str, programs: &[&str]) {
    let report = ktest::parse(run);
    for test in &report.tests {
        let result = match test.passed {
            true => Ok(()),
            false => Err(Failure::new(test.detail.join("\n"))),
        };
        ctx.record(format!("{prefix}::{}", test.name), result);
    }
    // init reports each program as `user: <program> exited with <n>` (or killed by ...).
    for program in programs {
        let prefix = format!("{program} ");
        let Some(end) = run
            .lines()
            .filter_map(|l| l.strip_prefix("user: "))
            .find(|l| l.starts_with(&prefix))
        else {
            continue;
        };
        let failed_check = report
            .tests
            .iter()
            .any(|t| !t.passed && t.name.starts_with(&format!("{program}::")));
        if end != format!("{program} exited with 0") && !failed_check {
            ctx.record(
                format!("{prefix}::{program}::exits_with_status_0"),
                Err(Failure::new(end)),
            );
        }
    }
}

/// Runs one program on the host: it must exit 0 with no failed check.
fn on_host(program: &Path, args: &[&str]) -> Result<(), Failure> {
    let dir = tempfile::tempdir()?;
    let out = Command::new("timeout")
        .arg("60")
        .arg(program)
        .args(args)
        .current_dir(dir.path())
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut problems = String::new();
    for test in ktest::parse_lines(stdout.lines())
        .tests
        .iter()
        .filter(|t| !t.passed)
    {
        let _ = writeln!(
            problems,
            "test {} FAILED {}",
            test.name,
            test.detail.join(" ")
        );
    }
    if !out.status.success() {
        let _ = writeln!(problems, "{} ended with {}", program.display(), out.status);
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(Failure::new(
            problems + "Linux disagrees with the expectation: fix the program",
        )),
    }
}

/// Compiles the demo `tests/user/demo/<name>.c` (the tour, pstree, bench) to `out`.
///
/// # Errors
/// As for [`initramfs`].
pub fn compile_demo(name: &str, out: &Path) -> io::Result<()> {
    compile(
        &Path::new(USER_DIR).join("demo").join(format!("{name}.c")),
        out,
    )
}

fn compile(source: &Path, out: &Path) -> io::Result<()> {
    let status = Command::new(MUSL_GCC)
        .args(["-static", "-O2", "-Wall", "-Werror", "-pthread", "-o"])
        .arg(out)
        .arg(source)
        .status()
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("{MUSL_GCC}: {e} (apt-get install -y musl-tools)"),
            )
        })?;
    match status.success() {
        true => Ok(()),
        false => Err(io::Error::other(format!(
            "{MUSL_GCC} failed on {}",
            source.display()
        ))),
    }
}
