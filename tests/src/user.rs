//! User programs for the initramfs: static musl C programs from `tests/user/`.
//!
//! ```no_run
//! let initrd = tests::user::initramfs(&["forktest"])?; // tests/user/forktest.c → bin/forktest
//! let boot = tests::Boot::bios("init=/bin/forktest").initrd(initrd.path());
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

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

fn compile(source: &Path, out: &Path) -> io::Result<()> {
    let status = Command::new(MUSL_GCC)
        .args(["-static", "-O2", "-Wall", "-Werror", "-o"])
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
