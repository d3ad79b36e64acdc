//! `/proc/<pid>/maps` and the memory lines of `/proc/<pid>/status`: what
//! a process's address space holds, read from its VMAs and rss counters.
//!
//! Linux: fs/proc/task_mmu.c (show_map_vma(), task_mem())
//! Differs: every file shows device 00:01, the `st_dev` stat gives all
//! files; a shared anonymous mapping shows as `/dev/zero (deleted)` with
//! inode 0; a path is shown as its bytes, without Linux's escaping of
//! newlines.

use crate::errno::Errno;
use crate::mm::mm_types::{
    MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES, MmStruct, VmAreaStruct, VmBacking, VmFlags,
};
use crate::task::TaskStruct;
use alloc::string::String;
use core::fmt::Write;

/// Width of the line up to the path, which starts one space after it
/// (Linux: the seq_setwidth(m, 25 + sizeof(void *) * 6 - 1) of
/// show_vma_header_prefix()).
const MAPS_PATH_COLUMN: usize = 25 + 8 * 6 - 1;

/// The name shown after an area: its file's path, or what Linux calls an
/// anonymous area that has a role.
///
/// Linux: the name choice in show_map_vma() (vma_is_initial_heap(),
/// vma_is_initial_stack())
fn vma_name(vma: &VmAreaStruct, brk: (u64, u64), start_stack: u64) -> Option<&[u8]> {
    match &vma.backing {
        VmBacking::Shared(_) => Some(b"/dev/zero (deleted)"),
        VmBacking::File(file) => file.path.as_ref().map(|p| &p.name[..]),
        VmBacking::Anon if vma.vm_start <= brk.1 && vma.vm_end >= brk.0 => Some(b"[heap]"),
        VmBacking::Anon if vma.vm_start <= start_stack && vma.vm_end >= start_stack => {
            Some(b"[stack]")
        }
        VmBacking::Anon => None,
    }
}

/// One line of maps: `start-end perms offset major:minor inode`, padded to
/// a fixed column, then the name.
///
/// Linux: show_vma_header_prefix() and show_map_vma() in fs/proc/task_mmu.c
fn show_map_vma(s: &mut String, vma: &VmAreaStruct, name: Option<&[u8]>) {
    let flag = |f: VmFlags, c: char| if vma.vm_flags.contains(f) { c } else { '-' };
    let (pgoff, dev, ino) = match &vma.backing {
        VmBacking::File(file) => match &file.path {
            Some(path) => (file.pgoff, "00:01", path.inode.ino),
            None => (file.pgoff, "00:00", 0),
        },
        VmBacking::Shared(_) => (0, "00:01", 0),
        VmBacking::Anon => (0, "00:00", 0),
    };
    let start = s.len();
    let _ = write!(
        s,
        "{:08x}-{:08x} {}{}{}{} {pgoff:08x} {dev} {ino} ",
        vma.vm_start,
        vma.vm_end,
        flag(VmFlags::VM_READ, 'r'),
        flag(VmFlags::VM_WRITE, 'w'),
        flag(VmFlags::VM_EXEC, 'x'),
        if vma.vm_flags.contains(VmFlags::VM_SHARED) {
            's'
        } else {
            'p'
        },
    );
    if let Some(name) = name {
        let used = s.len() - start;
        let _ = write!(
            s,
            "{:pad$}{}",
            "",
            String::from_utf8_lossy(name),
            pad = MAPS_PATH_COLUMN.saturating_sub(used) + 1
        );
    }
    s.push('\n');
}

/// `/proc/<pid>/maps`: one line per area, lowest address first; empty for
/// a kernel thread.
///
/// Linux: proc_maps_open() (proc_mem_open()) and show_map() in fs/proc/task_mmu.c
///
/// # Errors
/// `EACCES` when the caller may not read the task (mm_access).
pub fn show_maps(task: &TaskStruct) -> Result<String, Errno> {
    let mut s = String::new();
    let mm = crate::fork::mm_access(task, crate::ptrace::PTRACE_MODE_READ_FSCREDS)?;
    let Some(mm) = mm else {
        return Ok(s);
    };
    let mmap = mm.mmap.lock();
    for vma in &mmap.vmas {
        let name = vma_name(vma, (mmap.start_brk, mmap.brk), mmap.start_stack);
        show_map_vma(&mut s, vma, name);
    }
    Ok(s)
}

/// Sizes of an address space by kind, in kB.
struct VmSizes {
    total: u64,
    data: u64,
    stack: u64,
    exec: u64,
}

fn vm_sizes(mm: &MmStruct) -> VmSizes {
    let mut sizes = VmSizes {
        total: 0,
        data: 0,
        stack: 0,
        exec: 0,
    };
    for vma in &mm.mmap.lock().vmas {
        let kb = (vma.vm_end - vma.vm_start) / 1024;
        let f = vma.vm_flags;
        sizes.total += kb;
        if f.contains(VmFlags::VM_GROWSDOWN) {
            sizes.stack += kb;
        } else if f.contains(VmFlags::VM_WRITE) && !f.contains(VmFlags::VM_SHARED) {
            sizes.data += kb;
        } else if f.contains(VmFlags::VM_EXEC) && !f.contains(VmFlags::VM_WRITE) {
            sizes.exec += kb;
        }
    }
    sizes
}

/// The page counts of `/proc/<pid>/statm`.
#[derive(Default)]
pub struct Statm {
    /// Pages mapped (Linux: total_vm).
    pub size: u64,
    /// Pages resident: anonymous, file and shmem.
    pub resident: u64,
    /// Resident pages of files and shmem.
    pub shared: u64,
    /// Pages of program text.
    pub text: u64,
    /// Pages of private writable areas and stack (Linux: data_vm + stack_vm).
    pub data: u64,
}

/// The sizes statm shows, in pages.
///
/// Linux: task_statm() in fs/proc/task_mmu.c
/// Differs: text counts every executable area (start_code and end_code
/// are not kept), what VmExe shows.
pub fn task_statm(mm: &MmStruct) -> Statm {
    let sizes = vm_sizes(mm);
    let pages = |kb: u64| kb / 4;
    let shared = (mm.get_mm_counter(MM_FILEPAGES) + mm.get_mm_counter(MM_SHMEMPAGES)) as u64;
    Statm {
        size: pages(sizes.total),
        resident: shared + mm.get_mm_counter(MM_ANONPAGES) as u64,
        shared,
        text: pages(sizes.exec),
        data: pages(sizes.data + sizes.stack),
    }
}

/// The Vm* and Rss* lines of status, each `Name:\t%8lu kB`.
///
/// Linux: task_mem() in fs/proc/task_mmu.c
/// Differs: VmPeak is the current size (the high-water mark of the
/// address space is not kept); VmExe counts every executable area, VmLib
/// is 0 (programs are static).
pub fn task_mem(s: &mut String, mm: &MmStruct) {
    let sizes = vm_sizes(mm);
    let kb = |pages: usize| pages as u64 * 4;
    let anon = kb(mm.get_mm_counter(MM_ANONPAGES));
    let file = kb(mm.get_mm_counter(MM_FILEPAGES));
    let shmem = kb(mm.get_mm_counter(MM_SHMEMPAGES));
    for (name, value) in [
        ("VmPeak", sizes.total),
        ("VmSize", sizes.total),
        ("VmLck", 0),
        ("VmPin", 0),
        ("VmHWM", kb(mm.get_mm_hiwater_rss())),
        ("VmRSS", anon + file + shmem),
        ("RssAnon", anon),
        ("RssFile", file),
        ("RssShmem", shmem),
        ("VmData", sizes.data),
        ("VmStk", sizes.stack),
        ("VmExe", sizes.exec),
        ("VmLib", 0),
        ("VmPTE", mm.mm_pgtables_bytes() as u64 / 1024),
        ("VmSwap", 0),
        ("HugetlbPages", 0),
    ] {
        let _ = writeln!(s, "{name}:\t{value:8} kB");
    }
}
