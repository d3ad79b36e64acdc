//! A small /proc: files whose text is generated when they are opened, in
//! Linux's formats.
//!
//! Linux: fs/proc/meminfo.c, fs/proc/uptime.c, fs/proc/loadavg.c

use super::file::{FileOperations, Kstat, S_IFREG};
use super::ramfs::{Inode, InodeKind, root};
use crate::errno::Errno;
use alloc::string::String;
use core::fmt::Write;

/// The text of a /proc file, fixed at open so that reads are consistent.
pub struct ProcFile {
    text: String,
    ino: u64,
}

impl ProcFile {
    /// Generates the contents of `inode`.
    pub fn open(inode: &Inode, generate: fn() -> String) -> ProcFile {
        ProcFile { text: generate(), ino: inode.ino }
    }
}

impl FileOperations for ProcFile {
    fn read(&self, buf: &mut [u8], pos: u64) -> Result<usize, Errno> {
        let bytes = self.text.as_bytes();
        let start = (pos as usize).min(bytes.len());
        let n = buf.len().min(bytes.len() - start);
        buf[..n].copy_from_slice(&bytes[start..start + n]);
        Ok(n)
    }

    fn stat(&self) -> Kstat {
        Kstat { ino: self.ino, mode: S_IFREG | 0o444, nlink: 1, ..Kstat::default() }
    }
}

/// Linux: meminfo_proc_show() in fs/proc/meminfo.c
fn meminfo() -> String {
    let total = crate::mm::page_alloc::totalram_pages() * 4;
    let free = crate::mm::page_alloc::nr_free_pages() * 4;
    let mut s = String::new();
    let _ = writeln!(s, "MemTotal:       {total:8} kB");
    let _ = writeln!(s, "MemFree:        {free:8} kB");
    let _ = writeln!(s, "MemAvailable:   {free:8} kB");
    s
}

/// Linux: uptime_proc_show() in fs/proc/uptime.c
fn uptime() -> String {
    let ns = crate::arch::time::ktime_get_ns();
    alloc::format!("{}.{:02} 0.00\n", ns / 1_000_000_000, ns % 1_000_000_000 / 10_000_000)
}

/// Creates /proc and its files.
///
/// Linux: proc_root_init() in fs/proc/root.c
pub fn proc_root_init() {
    let proc = Inode::new_dir(0o555);
    for (name, generate) in [("meminfo", meminfo as fn() -> String), ("uptime", uptime)] {
        let _ = proc.link(name, Inode::new(InodeKind::Proc(generate), 0o444));
    }
    let _ = root().link("proc", proc);
}
