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

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

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
    let mut sources = Vec::new();
    for entry in fs::read_dir(USER_DIR)? {
        let path = entry?.path();
        let Some(name) = path.file_name() else {
            continue;
        };
        match path.extension().and_then(|e| e.to_str()) {
            _ if !path.is_file() => {}
            Some("c") => sources.push(path),
            Some("h") => {}
            _ => {
                fs::copy(&path, bin.join(name))?;
            }
        }
    }
    compile_all(&sources, &bin).map(|()| root)
}

/// Compiles each of `sources` (`name.c`) to `bin/name`, [`crate::jobs`]
/// compilers at a time.
fn compile_all(sources: &[PathBuf], bin: &Path) -> io::Result<()> {
    let next = Mutex::new(sources.iter());
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..crate::jobs())
            .map(|_| {
                scope.spawn(|| -> io::Result<()> {
                    loop {
                        // The guard drops here, not at the end of the body.
                        let Some(source) = next.lock().unwrap().next() else {
                            break;
                        };
                        let stem = source.file_stem().unwrap_or_default();
                        compile(source, &bin.join(stem))?;
                    }
                    Ok(())
                })
            })
            .collect();
        workers.into_iter().try_for_each(|w| {
            w.join()
                .unwrap_or_else(|_| Err(io::Error::other("compiler thread panicked")))
        })
    })
}

/// What the scenarios share of the user tier: `tests/user/` built once
/// ([`initramfs_all`]) for every boot of `init`, and each program's run on
/// the host, by its `name:args` (the same program in several boots runs
/// once on the host; each boot still records its own test line for it).
#[derive(Default)]
pub struct Shared {
    root: OnceLock<Result<TempDir, String>>,
    host: Mutex<HashMap<String, Arc<HostRun>>>,
}

/// One program's host run, done once: the failure's message if it failed.
type HostRun = OnceLock<Result<(), String>>;

impl Shared {
    /// The directory holding everything in `tests/user/`, built on first use.
    ///
    /// # Errors
    /// As for [`initramfs_all`].
    pub fn root(&self) -> Result<&Path, Failure> {
        match self
            .root
            .get_or_init(|| initramfs_all().map_err(|e| e.to_string()))
        {
            Ok(root) => Ok(root.path()),
            Err(why) => Err(Failure::new(why.clone())),
        }
    }

    /// `program` (`name` or `name:arg:...`) run on the host, once per suite run.
    fn on_host(&self, root: &Path, program: &str) -> Result<(), Failure> {
        let cell = Arc::clone(self.host.lock().unwrap().entry(program.into()).or_default());
        let mut words = program.split(':');
        let name = words.next().unwrap_or(program);
        let args: Vec<&str> = words.collect();
        cell.get_or_init(|| on_host(&root.join("bin").join(name), &args).map_err(|f| f.message))
            .clone()
            .map_err(Failure::new)
    }
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
    let root = ctx.user().root()?;
    let names: Vec<&str> = programs
        .iter()
        .map(|p| p.split(':').next().unwrap_or(p))
        .collect();
    let cmdline = format!("init=/bin/init {}", programs.join(" "));
    // The host runs go on while the kernel boots.
    let run = std::thread::scope(|scope| {
        let host = scope.spawn(|| {
            programs
                .iter()
                .map(|program| ctx.user().on_host(root, program))
                .collect::<Vec<_>>()
        });
        let run = ctx.boot(&configure(Boot::bios(&cmdline).initrd(root)));
        let host = host.join().expect("the host runs end");
        for (name, result) in names.iter().zip(host) {
            ctx.record(format!("{prefix}::{name}::passes_on_host_linux"), result);
        }
        run
    })?;
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
