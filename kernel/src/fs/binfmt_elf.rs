//! Loading a static ELF64 executable (ET_EXEC, or static-PIE ET_DYN) into a
//! new address space: one file-backed mapping per PT_LOAD segment, filled
//! lazily by page faults, with the .bss zero-filled past the file bytes.
//!
//! Linux: fs/binfmt_elf.c (load_elf_binary)
//! Not modelled: dynamic linking (PT_INTERP), core dumps.

use crate::errno::Errno;
use crate::mm::PAGE_SIZE;
use crate::mm::mm_types::{MmStruct, MmapState, VmAreaStruct, VmBacking, VmFile, VmFlags};
use elf::ElfBytes;
use elf::abi::{EM_X86_64, ET_DYN, ET_EXEC, PF_R, PF_W, PF_X, PT_INTERP, PT_LOAD, PT_PHDR};
use elf::endian::LittleEndian;
use elf::segment::ProgramHeader;

/// Where a static-PIE executable is placed (Linux: ELF_ET_DYN_BASE, about
/// two thirds of the way up the user address space, without randomisation).
pub const ELF_ET_DYN_BASE: u64 = 0x5555_5555_4000;

/// What the loader learned, for the initial stack and registers.
pub struct ElfInfo {
    /// Entry point, relocated.
    pub entry: u64,
    /// Address of the program headers in memory (AT_PHDR).
    pub phdr: u64,
    /// Number of program headers (AT_PHNUM).
    pub phnum: u64,
    /// End of the highest segment: where the heap starts.
    pub brk: u64,
}

const PAGE_MASK: u64 = !(PAGE_SIZE as u64 - 1);

/// Checks the ELF header: 64-bit, little-endian, x86-64, executable.
///
/// # Errors
/// `ENOEXEC` when the file is not an executable we can run.
pub fn parse(data: &'static [u8]) -> Result<ElfBytes<'static, LittleEndian>, Errno> {
    let elf = ElfBytes::<LittleEndian>::minimal_parse(data).map_err(|_| Errno::ENOEXEC)?;
    let hdr = &elf.ehdr;
    if hdr.e_machine != EM_X86_64 || !(hdr.e_type == ET_EXEC || hdr.e_type == ET_DYN) {
        return Err(Errno::ENOEXEC);
    }
    let segments = elf.segments().ok_or(Errno::ENOEXEC)?;
    if segments.iter().any(|ph| ph.p_type == PT_INTERP) {
        return Err(Errno::ENOEXEC);
    }
    if !segments.iter().any(|ph| ph.p_type == PT_LOAD) {
        return Err(Errno::ENOEXEC);
    }
    Ok(elf)
}

/// Maps one PT_LOAD segment at `vaddr` as a file-backed VMA; returns its end.
///
/// Linux: elf_map() / elf_load() in fs/binfmt_elf.c
fn elf_map(
    st: &mut MmapState,
    data: &'static [u8],
    ph: &ProgramHeader,
    vaddr: u64,
) -> Result<u64, Errno> {
    if ph.p_filesz > ph.p_memsz
        || ph
            .p_offset
            .checked_add(ph.p_filesz)
            .is_none_or(|e| e > data.len() as u64)
    {
        return Err(Errno::ENOEXEC);
    }
    let start = vaddr & PAGE_MASK;
    let end = (vaddr + ph.p_memsz + PAGE_SIZE as u64 - 1) & PAGE_MASK;
    if end > crate::mm::mm_types::TASK_SIZE
        || st.vmas.iter().any(|v| v.vm_start < end && start < v.vm_end)
    {
        return Err(Errno::ENOEXEC);
    }
    let mut flags = VmFlags::empty();
    for (pf, vm) in [
        (PF_R, VmFlags::VM_READ),
        (PF_W, VmFlags::VM_WRITE),
        (PF_X, VmFlags::VM_EXEC),
    ] {
        if ph.p_flags & pf != 0 {
            flags |= vm;
        }
    }
    let file = VmFile {
        data,
        pgoff: ph.p_offset - (vaddr - start),
        len: ph.p_filesz + (vaddr - start),
    };
    st.insert_vma(VmAreaStruct {
        vm_start: start,
        vm_end: end,
        vm_flags: flags,
        backing: VmBacking::File(file),
    })?;
    Ok(end)
}

/// Maps every PT_LOAD segment of `elf` into `mm`.
///
/// Linux: load_elf_binary() / elf_load() in fs/binfmt_elf.c
///
/// # Errors
/// `ENOEXEC` for malformed segments, `ENOMEM` when the mm cannot grow.
pub fn load_elf_binary(
    elf: &ElfBytes<'static, LittleEndian>,
    data: &'static [u8],
    mm: &MmStruct,
) -> Result<ElfInfo, Errno> {
    let load_bias = if elf.ehdr.e_type == ET_DYN {
        ELF_ET_DYN_BASE
    } else {
        0
    };
    let segments = elf.segments().ok_or(Errno::ENOEXEC)?;
    let mut st = mm.mmap.lock();
    let mut brk = 0;
    let mut phdr = None;
    for ph in segments.iter() {
        if ph.p_type == PT_PHDR {
            phdr = Some(load_bias + ph.p_vaddr);
        }
        if ph.p_type != PT_LOAD || ph.p_memsz == 0 {
            continue;
        }
        let vaddr = load_bias.checked_add(ph.p_vaddr).ok_or(Errno::ENOEXEC)?;
        if phdr.is_none() && ph.p_offset == 0 {
            phdr = Some(vaddr + elf.ehdr.e_phoff);
        }
        let end = elf_map(&mut st, data, &ph, vaddr)?;
        brk = brk.max(end);
    }
    Ok(ElfInfo {
        entry: load_bias + elf.ehdr.e_entry,
        phdr: phdr.unwrap_or(0),
        phnum: u64::from(elf.ehdr.e_phnum),
        brk,
    })
}
