//! Attaching gdb to the kernel: where its symbols are, and the command line
//! that loads them with the task-listing helper `scripts/gdb/lifecycle.py`.

use std::path::{Path, PathBuf};

/// The gdb port the runner's `--gdb` uses.
pub const DEFAULT_PORT: u16 = 1234;

/// Where the bootloader places the kernel. The kernel is position independent
/// and asks for the start of the bootloader's dynamic range
/// (`dynamic_range_start` in kernel/src/init/main.rs); without ASLR it gets
/// exactly that, so gdb can load the symbols before the kernel runs.
pub const KERNEL_OFFSET: u64 = 0xffff_8000_0000_0000;

/// The gdb helper script (Linux: scripts/gdb/vmlinux-gdb.py).
pub fn helper_script() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent();
    workspace
        .map_or_else(PathBuf::new, Path::to_path_buf)
        .join("scripts/gdb/lifecycle.py")
}

/// The gdb command that loads the kernel's symbols at [`KERNEL_OFFSET`].
pub fn symbols_command(elf: &Path) -> String {
    format!("add-symbol-file {} -o {KERNEL_OFFSET:#x}", elf.display())
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
