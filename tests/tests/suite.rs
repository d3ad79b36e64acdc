//! The whole suite: `cargo test -p tests --release` (or `make test`).
//! Pass words to run only the scenarios whose names contain one:
//! `cargo test -p tests --release -- lkdtm::`.
//!
//! To add a scenario, add a row to `SCENARIOS`: a name that states the
//! behaviour, and a function that boots with `ctx.boot(&Boot::bios("..."))`
//! and checks the outcome with `expect_exit` / `expect_line`.

use std::fs;
use std::process::{Command, ExitCode};

use tests::{Boot, Ctx, Exit, Failure, Scenario, expect_exit, expect_line, ktest};

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "boot::bios_boot_runs_every_kernel_test_to_the_summary",
        run: bios_runs_kernel_tests,
    },
    Scenario {
        name: "boot::uefi_boot_prints_the_same_banner_as_bios",
        run: uefi_banner_matches_bios,
    },
    Scenario {
        name: "initrd::kernel_boots_with_a_packed_directory_as_ramdisk",
        run: boots_with_initrd,
    },
    Scenario {
        name: "lkdtm::null_dereference_is_reported_as_a_page_fault_and_fails",
        run: |ctx| {
            crash(
                ctx,
                "ACCESS_NULL",
                &[
                    "EXCEPTION: PAGE FAULT (vector 14)",
                    "CR2=0x0000000000000000",
                ],
            )
        },
    },
    Scenario {
        name: "lkdtm::stack_exhaustion_is_reported_as_a_double_fault_and_fails",
        run: |ctx| {
            crash(
                ctx,
                "EXHAUST_STACK",
                &[
                    "EXCEPTION: DOUBLE FAULT (vector 8)",
                    "kernel stack overflow",
                ],
            )
        },
    },
    Scenario {
        name: "lkdtm::panic_fails_the_run_with_the_panic_line",
        run: |ctx| crash(ctx, "PANIC", &["Kernel panic - not syncing:"]),
    },
    Scenario {
        name: "runner::hung_kernel_times_out_and_fails",
        run: hung_kernel_times_out,
    },
    Scenario {
        name: "initrd::gnu_cpio_unpacks_the_packed_directory_unchanged",
        run: cpio_tool_unpacks_initrd,
    },
];

fn main() -> ExitCode {
    tests::main(SCENARIOS)
}

const BANNER: &str = "Booting lifecycle";

fn bios_runs_kernel_tests(ctx: &Ctx) -> Result<(), Failure> {
    let run = ctx.boot(&Boot::bios("ktest"))?;
    ktest::record_kernel_tests(ctx, &run)
}

fn uefi_banner_matches_bios(ctx: &Ctx) -> Result<(), Failure> {
    let uefi = ctx.boot(&Boot::uefi("ktest=init::"))?;
    let bios = ctx.boot(&Boot::bios("ktest"))?;
    expect_exit(&uefi, Exit::Success)?;
    let banner = |run: &tests::Outcome| {
        run.lines()
            .find(|l| l.starts_with(BANNER))
            .map(str::to_owned)
    };
    match (banner(&uefi), banner(&bios)) {
        (Some(u), Some(b)) if u == b => Ok(()),
        (u, b) => Err(Failure::of(
            &uefi,
            format!("banner under UEFI: {u:?}\nbanner under BIOS: {b:?}"),
        )),
    }
}

fn boots_with_initrd(ctx: &Ctx) -> Result<(), Failure> {
    let root = sample_tree()?;
    let run = ctx.boot(&Boot::bios("ktest=init::").initrd(root.path()))?;
    expect_line(&run, BANNER)?;
    expect_exit(&run, Exit::Success)
}

/// Boots with `lkdtm=<trigger>` and expects the run to fail with each of `lines`.
fn crash(ctx: &Ctx, trigger: &str, lines: &[&str]) -> Result<(), Failure> {
    let run = ctx.boot(&Boot::bios(&format!("lkdtm={trigger}")))?;
    for line in lines {
        expect_line(&run, line)?;
    }
    expect_exit(&run, Exit::Failure)
}

/// Runs the real runner binary, so its exit status and message are checked too.
fn hung_kernel_times_out(_: &Ctx) -> Result<(), Failure> {
    let runner = env!("CARGO_BIN_FILE_BOOT");
    let out = Command::new(runner)
        .args(["--append", "lkdtm=SOFTLOCKUP", "--timeout", "8"])
        .output()
        .map_err(|e| Failure::new(format!("{runner}: {e}")))?;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    let shown = format!("runner {}\nstderr: {stderr}\nstdout: {stdout}", out.status);
    if out.status.success() || !stderr.contains("timeout after 8 s") || !stdout.contains(BANNER) {
        return Err(Failure::new(format!(
            "expected a booted kernel, `timeout after 8 s` and failure\n{shown}"
        )));
    }
    Ok(())
}

/// Our cpio writer against an independent reader: GNU cpio unpacks the
/// archive into the same tree.
fn cpio_tool_unpacks_initrd(_: &Ctx) -> Result<(), Failure> {
    let root = sample_tree()?;
    let archive =
        boot::cpio::pack_dir(root.path()).map_err(|e| Failure::new(format!("packing: {e}")))?;
    let unpacked = tempfile::tempdir().map_err(|e| Failure::new(e.to_string()))?;
    let mut cpio = Command::new("cpio")
        .args(["-i", "--make-directories", "--quiet"])
        .current_dir(unpacked.path())
        .stdin(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| Failure::new(format!("cpio: {e} (apt-get install -y cpio)")))?;
    std::io::Write::write_all(&mut cpio.stdin.take().unwrap(), &archive)
        .map_err(|e| Failure::new(e.to_string()))?;
    let status = cpio.wait().map_err(|e| Failure::new(e.to_string()))?;
    let listing = |dir| {
        Command::new("ls")
            .args(["-lR", "--time-style=+"])
            .current_dir(dir)
            .output()
    };
    let (want, got) = (listing(root.path()), listing(unpacked.path()));
    match (status.success(), want, got) {
        (true, Ok(want), Ok(got)) if want.stdout == got.stdout => Ok(()),
        (ok, want, got) => Err(Failure::new(format!(
            "cpio succeeded: {ok}\npacked tree:\n{}\nunpacked tree:\n{}",
            want.map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default(),
            got.map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default(),
        ))),
    }
}

/// A small tree with each kind of entry the packer supports.
fn sample_tree() -> Result<tempfile::TempDir, Failure> {
    let make = || -> std::io::Result<tempfile::TempDir> {
        let root = tempfile::tempdir()?;
        fs::create_dir_all(root.path().join("etc/empty"))?;
        fs::write(root.path().join("etc/motd"), "hello from the initrd\n")?;
        fs::create_dir(root.path().join("bin"))?;
        fs::copy("/bin/true", root.path().join("bin/true"))?;
        std::os::unix::fs::symlink("true", root.path().join("bin/false-friend"))?;
        Ok(root)
    };
    make().map_err(|e| Failure::new(format!("making a sample tree: {e}")))
}
