//! Attaching gdb to the kernel: where its symbols are, and the command line
//! that loads them with the task-listing helper `scripts/gdb/lifecycle.py`.

use std::path::{Path, PathBuf};

/// The gdb port the runner's `--gdb` uses.
pub const DEFAULT_PORT: u16 = 1234;

/// The gdb helper script (Linux: scripts/gdb/vmlinux-gdb.py).
pub fn helper_script() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent();
    workspace
        .map_or_else(PathBuf::new, Path::to_path_buf)
        .join("scripts/gdb/lifecycle.py")
}

/// The gdb command that loads the kernel's symbols. The kernel is a static
/// executable linked at the address it runs at (kernel/build.rs), so its
/// symbols need no offset.
pub fn symbols_command(elf: &Path) -> String {
    format!("add-symbol-file {}", elf.display())
}

/// gdb's arguments that load the symbols, connect to the stub on `port` and
/// define `lx-ps`.
pub fn gdb_args(elf: &Path, port: u16) -> Vec<String> {
    vec![
        "-ex".into(),
        symbols_command(elf),
        "-ex".into(),
        format!("target remote localhost:{port}"),
        "-x".into(),
        helper_script().display().to_string(),
    ]
}
