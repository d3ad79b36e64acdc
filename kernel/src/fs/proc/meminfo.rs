//! /proc/meminfo: the memory of the whole system, in Linux's field set
//! and order.
//!
//! Linux: fs/proc/meminfo.c
//! Differs: counters this kernel does not keep (the LRU lists, slab,
//! per-kind page counts, huge pages) read 0; there is no swap.

use crate::mm::page_alloc::{nr_free_pages, totalram_pages};
use crate::mm::vmalloc::{MAX_STACKS, THREAD_SIZE, nr_kernel_stack_kb};
use alloc::string::String;
use core::fmt::Write;

/// One `Name:  value kB` line: the name padded to 16 columns, the value
/// to 8 (Linux: show_val_kb()).
fn show_val_kb(s: &mut String, name: &str, kb: usize) {
    let _ = writeln!(s, "{:<16}{kb:8} kB", alloc::format!("{name}:"));
}

/// Linux: meminfo_proc_show() in fs/proc/meminfo.c
pub fn meminfo_proc_show() -> String {
    let total = totalram_pages() * 4;
    let free = nr_free_pages() * 4;
    // Stacks and their guard gaps, the whole of our vmalloc area.
    let vmalloc_total = MAX_STACKS * 2 * THREAD_SIZE / 1024;
    let mut s = String::new();
    for (name, kb) in [
        ("MemTotal", total),
        ("MemFree", free),
        ("MemAvailable", free),
        ("Buffers", 0),
        ("Cached", crate::mm::filemap::nr_file_pages() * 4),
        ("SwapCached", 0),
        ("Active", 0),
        ("Inactive", 0),
        ("Active(anon)", 0),
        ("Inactive(anon)", 0),
        ("Active(file)", 0),
        ("Inactive(file)", 0),
        ("Unevictable", 0),
        ("Mlocked", 0),
        ("SwapTotal", 0),
        ("SwapFree", 0),
        ("Zswap", 0),
        ("Zswapped", 0),
        ("Dirty", 0),
        ("Writeback", 0),
        ("AnonPages", 0),
        ("Mapped", 0),
        ("Shmem", 0),
        ("KReclaimable", 0),
        ("Slab", 0),
        ("SReclaimable", 0),
        ("SUnreclaim", 0),
        ("KernelStack", nr_kernel_stack_kb()),
        ("PageTables", 0),
        ("SecPageTables", 0),
        ("NFS_Unstable", 0),
        ("Bounce", 0),
        ("WritebackTmp", 0),
        ("CommitLimit", total / 2),
        ("Committed_AS", total - free),
        ("VmallocTotal", vmalloc_total),
        ("VmallocUsed", nr_kernel_stack_kb()),
        ("VmallocChunk", 0),
        ("Percpu", 0),
        ("AnonHugePages", 0),
        ("ShmemHugePages", 0),
        ("ShmemPmdMapped", 0),
        ("FileHugePages", 0),
        ("FilePmdMapped", 0),
    ] {
        show_val_kb(&mut s, name, kb);
    }
    for name in ["Total", "Free", "Rsvd", "Surp"] {
        let _ = writeln!(s, "{:<16}{:8}", alloc::format!("HugePages_{name}:"), 0);
    }
    show_val_kb(&mut s, "Hugepagesize", 2048);
    show_val_kb(&mut s, "Hugetlb", 0);
    show_val_kb(&mut s, "DirectMap4k", total);
    s
}
