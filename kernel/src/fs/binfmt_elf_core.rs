//! The ELF core file: an ET_CORE header, a PT_NOTE segment with the
//! threads' registers and the process's description, and a PT_LOAD
//! segment per mapping holding the memory worth keeping, as gdb reads it.
//!
//! ```text
//!  Elf64_Ehdr | Phdr PT_NOTE | Phdr PT_LOAD x N | notes | pad to page | memory...
//!  notes: NT_PRSTATUS NT_PRPSINFO NT_SIGINFO NT_AUXV NT_FILE NT_PRFPREG (crashing thread)
//!         NT_PRSTATUS NT_PRFPREG                                     (each other thread)
//! ```
//!
//! Linux: elf_core_dump() and its helpers in fs/binfmt_elf.c
//! Not modelled: NT_X86_XSTATE (only the FXSAVE area, NT_PRFPREG),
//! section headers for more than 65535 segments (PN_XNUM).

use super::binfmt_elf::{EHDR_SIZE, PHDR_SIZE};
use super::coredump::CoredumpParams;
use crate::mm::PAGE_SIZE;
use crate::mm::mm_types::{MmStruct, VmBacking, VmFlags};
use crate::task::TaskStruct;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use elf::abi::{
    EM_X86_64, ET_CORE, NT_AUXV, NT_FILE, NT_PRFPREG, NT_PRPSINFO, NT_PRSTATUS, NT_SIGINFO, PF_R,
    PF_W, PF_X, PT_LOAD, PT_NOTE,
};

/// The largest NT_FILE note written (Linux: MAX_FILE_NOTE_SIZE).
const MAX_FILE_NOTE_SIZE: usize = 4 << 20;

/// A mapping as the dump saw it (Linux: struct core_vma_metadata).
struct CoreVma {
    start: u64,
    end: u64,
    flags: VmFlags,
    /// Bytes of it to write from the start (Linux: dump_size).
    dump_size: u64,
}

/// One note: its type and contents; the name is always "CORE".
struct MemElfnote {
    n_type: u32,
    data: Vec<u8>,
}

/// Writes the core file of the process `cprm` describes: headers, notes,
/// then memory. Returns whether the core counts as dumped: once the notes
/// are gathered it does, even if a write then stops short (RLIMIT_CORE,
/// ENOSPC, SIGKILL), as in Linux, whose status then still has 0x80.
///
/// Linux: elf_core_dump() in fs/binfmt_elf.c
pub fn elf_core_dump(cprm: &mut CoredumpParams) -> bool {
    let Some(vmas) = dump_vma_snapshot(cprm.mm) else {
        return false;
    };
    let Ok(e_phnum) = u16::try_from(vmas.len() + 1) else {
        return false;
    };
    let Some(notes) = fill_note_info(cprm) else {
        return false;
    };
    write_core(cprm, &vmas, &notes, e_phnum);
    true
}

/// The writing half of elf_core_dump(): the ELF header, the program
/// headers, the notes, then each mapping's memory from the next page on.
/// Returns false where a write failed.
///
/// Linux: the dump_emit() steps of elf_core_dump() in fs/binfmt_elf.c
fn write_core(
    cprm: &mut CoredumpParams,
    vmas: &[CoreVma],
    notes: &[MemElfnote],
    e_phnum: u16,
) -> bool {
    let segs = usize::from(e_phnum);
    let notes_size: u64 = notes.iter().map(notesize).sum();
    let note_offset = (EHDR_SIZE + segs * PHDR_SIZE) as u64;
    let dataoff = (note_offset + notes_size).next_multiple_of(PAGE_SIZE as u64);
    let mut header = Vec::new();
    if header.try_reserve(EHDR_SIZE + segs * PHDR_SIZE).is_err() {
        return false;
    }
    fill_elf_header(&mut header, e_phnum);
    fill_elf_note_phdr(&mut header, notes_size, note_offset);
    let mut data_at = dataoff;
    for vma in vmas {
        phdr_load(&mut header, vma, data_at);
        data_at += vma.dump_size;
    }
    if !cprm.dump_emit(&header) || !write_note_info(cprm, notes) {
        return false;
    }
    cprm.dump_skip_to(dataoff);
    vmas.iter()
        .all(|vma| cprm.dump_user_range(vma.start, vma.dump_size))
}

/// Copies what the dump needs of every mapping, so that the mm's lock is
/// not held while writing; then decides how much of each to write.
///
/// Linux: dump_vma_snapshot() in fs/coredump.c
fn dump_vma_snapshot(mm: &MmStruct) -> Option<Vec<CoreVma>> {
    let mut vmas = Vec::new();
    {
        let mmap = mm.mmap.lock();
        vmas.try_reserve_exact(mmap.vmas.len()).ok()?;
        for vma in &mmap.vmas {
            vmas.push(CoreVma {
                start: vma.vm_start,
                end: vma.vm_end,
                flags: vma.vm_flags,
                dump_size: vma_dump_size(vma),
            });
        }
    }
    for vma in vmas.iter_mut().filter(|v| v.dump_size == u64::MAX) {
        vma.dump_size = match is_elf_header(mm, vma.start) {
            true => PAGE_SIZE as u64,
            false => 0,
        };
    }
    Some(vmas)
}

/// How much of a mapping the default coredump_filter (0x33) keeps:
/// anonymous memory, private or shared, whole; a private file mapping
/// written to (its data) whole; a shared file mapping nothing; of
/// read-only program text only the first page if it holds an ELF
/// header (`u64::MAX` here: the caller looks at the page).
///
/// Linux: vma_dump_size() in fs/binfmt_elf.c (MMF_DUMP_ANON_PRIVATE,
/// MMF_DUMP_ANON_SHARED, MMF_DUMP_ELF_HEADERS)
/// Differs: Linux keeps a private mapping whole once it has an anon_vma
/// (a page was ever copied); here once it is anonymous or writable.
fn vma_dump_size(vma: &crate::mm::mm_types::VmAreaStruct) -> u64 {
    let whole = vma.vm_end - vma.vm_start;
    let shared = vma.vm_flags.contains(VmFlags::VM_SHARED);
    match &vma.backing {
        VmBacking::Anon | VmBacking::Shared(_) => whole,
        VmBacking::File(f) if f.shm.is_some() => whole,
        VmBacking::File(_) if shared => 0,
        VmBacking::File(_) if vma.vm_flags.contains(VmFlags::VM_WRITE) => whole,
        VmBacking::File(f) if f.pgoff == 0 && vma.vm_flags.contains(VmFlags::VM_READ) => u64::MAX,
        VmBacking::File(_) => 0,
    }
}

/// Whether the page at `addr` starts with the ELF magic.
fn is_elf_header(mm: &MmStruct, addr: u64) -> bool {
    let mut magic = [0u8; 4];
    crate::mm::memory::access_remote_vm(mm, addr, &mut magic) == 4 && magic == *b"\x7fELF"
}

/// The ELF header of a core file.
///
/// Linux: fill_elf_header() in fs/binfmt_elf.c
fn fill_elf_header(out: &mut Vec<u8>, segs: u16) {
    // ELFCLASS64, ELFDATA2LSB, EV_CURRENT, ELFOSABI_NONE.
    out.extend_from_slice(b"\x7fELF\x02\x01\x01\x00");
    out.extend_from_slice(&[0; 8]);
    put16(out, ET_CORE);
    put16(out, EM_X86_64);
    put32(out, 1); // e_version
    put64(out, 0); // e_entry
    put64(out, EHDR_SIZE as u64); // e_phoff
    put64(out, 0); // e_shoff
    put32(out, 0); // e_flags
    put16(out, EHDR_SIZE as u16);
    put16(out, PHDR_SIZE as u16);
    put16(out, segs);
    put16(out, 0); // e_shentsize
    put16(out, 0); // e_shnum
    put16(out, 0); // e_shstrndx
}

/// The PT_NOTE program header.
///
/// Linux: fill_elf_note_phdr() in fs/binfmt_elf.c
fn fill_elf_note_phdr(out: &mut Vec<u8>, sz: u64, offset: u64) {
    put_phdr(out, PT_NOTE, 0, offset, 0, sz, sz, 4);
}

/// A mapping's PT_LOAD program header, its data at `offset`.
///
/// Linux: the PT_LOAD loop of elf_core_dump() in fs/binfmt_elf.c
fn phdr_load(out: &mut Vec<u8>, vma: &CoreVma, offset: u64) {
    let mut flags = 0;
    for (vm, pf) in [
        (VmFlags::VM_READ, PF_R),
        (VmFlags::VM_WRITE, PF_W),
        (VmFlags::VM_EXEC, PF_X),
    ] {
        if vma.flags.contains(vm) {
            flags |= pf;
        }
    }
    let memsz = vma.end - vma.start;
    put_phdr(
        out,
        PT_LOAD,
        flags,
        offset,
        vma.start,
        vma.dump_size,
        memsz,
        PAGE_SIZE as u64,
    );
}

#[allow(clippy::too_many_arguments)]
fn put_phdr(
    out: &mut Vec<u8>,
    ty: u32,
    flags: u32,
    off: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
    align: u64,
) {
    put32(out, ty);
    put32(out, flags);
    for word in [off, vaddr, 0, filesz, memsz, align] {
        put64(out, word);
    }
}

/// The notes, in Linux's order: for the crashing thread NT_PRSTATUS,
/// NT_PRPSINFO, NT_SIGINFO, NT_AUXV, NT_FILE (left out if too big), then
/// NT_PRFPREG; for each other thread NT_PRSTATUS and NT_PRFPREG. `None`
/// when memory ran out.
///
/// Linux: fill_note_info() / fill_thread_core_info() in fs/binfmt_elf.c
fn fill_note_info(cprm: &CoredumpParams) -> Option<Vec<MemElfnote>> {
    let me = crate::task::current();
    let signr = cprm.siginfo.signo;
    me.thread.fpu.save();
    let mut notes = Vec::new();
    notes.try_reserve(6 + 2 * cprm.threads.len()).ok()?;
    notes.push(note(NT_PRSTATUS, fill_prstatus(&me, cprm.regs, signr)?));
    notes.push(note(NT_PRPSINFO, fill_psinfo(&me, cprm.mm)?));
    notes.push(note(NT_SIGINFO, fill_siginfo_note(cprm.siginfo)?));
    notes.push(note(NT_AUXV, fill_auxv_note(cprm.mm)?));
    if let Some(files) = fill_files_note(cprm.mm) {
        notes.push(note(NT_FILE, files));
    }
    notes.push(note(NT_PRFPREG, to_vec(&me.thread.fpu.snapshot().0)?));
    for t in cprm.threads {
        notes.push(note(NT_PRSTATUS, fill_prstatus(&t.task, &t.regs, signr)?));
        notes.push(note(NT_PRFPREG, to_vec(&t.task.thread.fpu.snapshot().0)?));
    }
    Some(notes)
}

fn note(n_type: u64, data: Vec<u8>) -> MemElfnote {
    // Elf64_Nhdr's n_type is 32 bits; the elf crate spells NT_* as u64.
    MemElfnote {
        n_type: n_type as u32,
        data,
    }
}

/// `struct elf_prstatus` (336 bytes): the signal, the pending and blocked
/// sets, the ids, the CPU times and the general registers of thread `p`.
///
/// Linux: fill_prstatus() in fs/binfmt_elf.c (and the regset's
/// genregs_get() for pr_reg)
fn fill_prstatus(
    p: &TaskStruct,
    regs: &crate::arch::entry::calling::PtRegs,
    signr: i32,
) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    out.try_reserve_exact(336).ok()?;
    put32(&mut out, signr as u32); // pr_info.si_signo
    put32(&mut out, 0); // si_code
    put32(&mut out, 0); // si_errno
    put16(&mut out, signr as u16); // pr_cursig
    put16(&mut out, 0);
    put64(&mut out, p.pending.signal());
    put64(&mut out, p.blocked.load(Ordering::Relaxed));
    let (pid, ppid, pgrp, sid) = ids(p);
    for id in [pid[0], ppid[0], pgrp, sid] {
        put32(&mut out, id as u32);
    }
    let (utime, stime) = crate::sched::cputime::task_cputime_adjusted(p);
    let children = *p.signal().children.lock();
    for ns in [utime, stime, children.utime, children.stime] {
        put64(&mut out, ns / 1_000_000_000);
        put64(&mut out, ns % 1_000_000_000 / 1000);
    }
    for word in crate::ptrace::genregs_get(p, regs) {
        put64(&mut out, word);
    }
    put32(&mut out, 1); // pr_fpvalid: NT_PRFPREG follows
    put32(&mut out, 0);
    Some(out)
}

/// The ids of `p` and of its parent (thread id, process id), its process
/// group and session, as the dumping task's namespace numbers them.
fn ids(p: &TaskStruct) -> ([i32; 2], [i32; 2], i32, i32) {
    use crate::pid::{pgrp_nr_ns, task_active_pid_ns, task_pid_vnr, task_tgid_vnr};
    let ns = task_active_pid_ns(&crate::task::current());
    let parent = {
        let tasklist = crate::tasklist::TASKLIST_LOCK.lock();
        p.family.get(&tasklist).real_parent.upgrade()
    };
    let sig = p.signal();
    (
        [task_pid_vnr(p), task_tgid_vnr(p)],
        parent.map_or([0, 0], |r| [task_pid_vnr(&r), task_tgid_vnr(&r)]),
        pgrp_nr_ns(sig.pgrp.load(Ordering::Relaxed), &ns),
        pgrp_nr_ns(sig.session.load(Ordering::Relaxed), &ns),
    )
}

/// `struct elf_prpsinfo` (136 bytes): state, nice, flags, ids, the
/// command name and the start of the command line.
///
/// Linux: fill_psinfo() in fs/binfmt_elf.c
fn fill_psinfo(p: &TaskStruct, mm: &MmStruct) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    out.try_reserve_exact(136).ok()?;
    // The dumping task runs: state 0, "R".
    out.extend_from_slice(&[0, b'R', 0, crate::sched::nice::task_nice(p) as u8]);
    put32(&mut out, 0);
    put64(&mut out, u64::from(p.flags.load(Ordering::Relaxed)));
    let cred = crate::cred::current_cred();
    put32(&mut out, cred.uid);
    put32(&mut out, cred.gid);
    let (pid, ppid, pgrp, sid) = ids(p);
    for id in [pid[1], ppid[1], pgrp, sid] {
        put32(&mut out, id as u32);
    }
    let mut fname = [0u8; 16];
    let comm = p.comm();
    let name = comm.as_bytes();
    fname[..name.len().min(15)].copy_from_slice(&name[..name.len().min(15)]);
    out.extend_from_slice(&fname);
    let args = *mm.arg_lock.lock();
    let mut psargs = [0u8; 80];
    let len = (args.arg_end.saturating_sub(args.arg_start) as usize).min(79);
    let got = crate::mm::memory::access_remote_vm(mm, args.arg_start, &mut psargs[..len]);
    for b in &mut psargs[..got.saturating_sub(1)] {
        if *b == 0 {
            *b = b' ';
        }
    }
    out.extend_from_slice(&psargs);
    Some(out)
}

/// The 128-byte siginfo of the signal that caused the dump.
///
/// Linux: fill_siginfo_note() in fs/binfmt_elf.c
fn fill_siginfo_note(info: &crate::signal::KernelSiginfo) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    out.try_reserve_exact(128).ok()?;
    for word in info.to_user() {
        put64(&mut out, word);
    }
    Some(out)
}

/// The auxiliary vector exec gave the program, up to and with AT_NULL.
///
/// Linux: fill_auxv_note() in fs/binfmt_elf.c
fn fill_auxv_note(mm: &MmStruct) -> Option<Vec<u8>> {
    let auxv = mm.arg_lock.lock().saved_auxv;
    let mut out = Vec::new();
    out.try_reserve_exact(auxv.len() * 16).ok()?;
    for (key, value) in auxv {
        put64(&mut out, key);
        put64(&mut out, value);
        if key == 0 {
            break;
        }
    }
    Some(out)
}

/// The file mappings: their count, the page size, a (start, end, file
/// page offset) triple each, then their names, each ending in NUL.
/// `None` when it would pass MAX_FILE_NOTE_SIZE or memory ran out.
///
/// Linux: fill_files_note() in fs/binfmt_elf.c
fn fill_files_note(mm: &MmStruct) -> Option<Vec<u8>> {
    let mut files = Vec::new();
    {
        let mmap = mm.mmap.lock();
        for vma in &mmap.vmas {
            if let VmBacking::File(f) = &vma.backing {
                let name = f.path.as_ref().map(|p| p.name.clone()).unwrap_or_default();
                files.try_reserve(1).ok()?;
                files.push((vma.vm_start, vma.vm_end, f.pgoff / PAGE_SIZE as u64, name));
            }
        }
    }
    let size = 16 + files.iter().map(|f| 24 + f.3.len() + 1).sum::<usize>();
    if size > MAX_FILE_NOTE_SIZE {
        return None;
    }
    let mut out = Vec::new();
    out.try_reserve_exact(size).ok()?;
    put64(&mut out, files.len() as u64);
    put64(&mut out, PAGE_SIZE as u64);
    for (start, end, pgoff, _) in &files {
        for word in [*start, *end, *pgoff] {
            put64(&mut out, word);
        }
    }
    for (.., name) in &files {
        out.extend_from_slice(name);
        out.push(0);
    }
    Some(out)
}

/// Bytes a note takes in the file: header, name "CORE\0" and data, each
/// padded to 4 bytes.
///
/// Linux: notesize() in fs/binfmt_elf.c
fn notesize(n: &MemElfnote) -> u64 {
    (12 + 8 + n.data.len().next_multiple_of(4)) as u64
}

/// Writes every note.
///
/// Linux: write_note_info() / writenote() in fs/binfmt_elf.c
fn write_note_info(cprm: &mut CoredumpParams, notes: &[MemElfnote]) -> bool {
    notes.iter().all(|n| {
        let mut head = Vec::new();
        if head.try_reserve_exact(20).is_err() {
            return false;
        }
        put32(&mut head, 5); // namesz: "CORE\0"
        put32(&mut head, n.data.len() as u32);
        put32(&mut head, n.n_type);
        head.extend_from_slice(b"CORE\0\0\0\0");
        let pad = n.data.len().next_multiple_of(4) - n.data.len();
        cprm.dump_emit(&head) && cprm.dump_emit(&n.data) && cprm.dump_emit(&[0; 3][..pad])
    })
}

fn to_vec(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut v = Vec::new();
    v.try_reserve_exact(bytes.len()).ok()?;
    v.extend_from_slice(bytes);
    Some(v)
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}
