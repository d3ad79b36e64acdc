//! Loading an ELF64 executable (ET_EXEC, or PIE ET_DYN) into a
//! new address space: one private file mapping of the page cache per
//! PT_LOAD segment, mapped lazily by page faults (text and read-only data
//! are the page-cache pages themselves, shared by every process running
//! the program; written data pages are copied on first write), with the
//! .bss zero-filled past the file bytes; then the initial stack.
//!
//! Every field comes from a file anyone can write, so every sum of them is
//! checked. As in Linux, what is wrong in the ELF header gives ENOEXEC
//! while the caller still runs; what is wrong in a segment is found after
//! the point of no return and ends the process with SIGSEGV.
//!
//! Linux: fs/binfmt_elf.c (load_elf_binary, elf_map, create_elf_tables)
//! The dynamic linker a PT_INTERP names is loaded by binfmt_elf_interp.rs.
//! Not modelled: core dumps.

use super::exec::LinuxBinprm;
use crate::errno::Errno;
use crate::mm::PAGE_SIZE;
use crate::mm::filemap::AddressSpace;
use crate::mm::mm_types::{
    AT_VECTOR_SIZE, MmArgs, MmStruct, STACK_TOP, TASK_SIZE, VmBacking, VmFile,
};
use crate::mm::mmap::{
    MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_PRIVATE, PROT_EXEC, PROT_READ, PROT_WRITE, do_mmap,
};
use crate::mm::uaccess::{copy_to_user, put_user};
use alloc::sync::Arc;
use alloc::vec::Vec;
use elf::abi::{
    EI_ABIVERSION, EI_NIDENT, EI_OSABI, EM_X86_64, ET_DYN, ET_EXEC, PF_R, PF_W, PF_X, PT_INTERP,
    PT_LOAD,
};
use elf::endian::LittleEndian;
use elf::file::{Class, FileHeader};
use elf::segment::{ProgramHeader, SegmentTable};

/// Where a static-PIE executable is placed (Linux: ELF_ET_DYN_BASE, about
/// two thirds of the way up the user address space, without randomisation).
pub const ELF_ET_DYN_BASE: u64 = 0x5555_5555_4000;

/// Size of an ELF64 header and of one program header.
pub(super) const EHDR_SIZE: usize = 64;
pub(super) const PHDR_SIZE: usize = 56;
/// Most bytes of program headers Linux reads.
const PHDRS_MAX: usize = 65536;
/// Longest PT_INTERP path, NUL included (Linux: PATH_MAX).
const PATH_MAX: u64 = 4096;
/// Largest file offset a mapping may reach (Linux: MAX_LFS_FILESIZE).
const MAX_LFS_FILESIZE: u64 = i64::MAX as u64;

/// What the loader learned, for the initial stack and registers.
pub struct ElfInfo {
    /// The program's entry point, relocated (AT_ENTRY).
    pub entry: u64,
    /// Where the thread starts: the dynamic linker's entry point, or the
    /// program's when it has none.
    pub start: u64,
    /// The dynamic linker's load address (AT_BASE), 0 without one.
    pub base: u64,
    /// Address of the program headers in memory (AT_PHDR).
    pub phdr: u64,
    /// Number of program headers (AT_PHNUM).
    pub phnum: u64,
}

/// An ELF file whose headers passed the checks made before the point of
/// no return.
pub struct Elf {
    /// The ELF header.
    pub ehdr: FileHeader<LittleEndian>,
    /// The program headers' bytes, read from the file.
    phdr_bytes: Vec<u8>,
    /// The dynamic linker PT_INTERP names, up to its first NUL.
    pub interp: Option<Vec<u8>>,
}

impl Elf {
    /// The program headers.
    pub fn phdrs(&self) -> SegmentTable<'_, LittleEndian> {
        SegmentTable::new(LittleEndian, Class::ELF64, &self.phdr_bytes)
    }
}

/// Checks the ELF header as Linux does (magic, type, machine: not the
/// class, endianness or version bytes) and finds the program headers and
/// the PT_INTERP path.
///
/// Linux: load_elf_binary() (its first checks) / load_elf_phdrs() in fs/binfmt_elf.c
///
/// # Errors
/// `ENOEXEC` when the file is not an executable we can run, `EIO` when a
/// PT_INTERP path lies past the end of the file, `EINVAL` when it lies past
/// the largest file offset.
pub fn parse(file: &AddressSpace) -> Result<Elf, Errno> {
    let header = kernel_read(file, 0, EHDR_SIZE as u64)?.ok_or(Errno::ENOEXEC)?;
    if !header.starts_with(b"\x7fELF") {
        return Err(Errno::ENOEXEC);
    }
    let ident = (
        LittleEndian,
        Class::ELF64,
        header[EI_OSABI],
        header[EI_ABIVERSION],
    );
    let ehdr = FileHeader::parse_tail(ident, &header[EI_NIDENT..]).map_err(|_| Errno::ENOEXEC)?;
    if !(ehdr.e_type == ET_EXEC || ehdr.e_type == ET_DYN) || ehdr.e_machine != EM_X86_64 {
        return Err(Errno::ENOEXEC);
    }
    // Linux reads at most 64 KiB of program headers.
    let size = PHDR_SIZE * usize::from(ehdr.e_phnum);
    if usize::from(ehdr.e_phentsize) != PHDR_SIZE || size == 0 || size > PHDRS_MAX {
        return Err(Errno::ENOEXEC);
    }
    let phdr_bytes = kernel_read(file, ehdr.e_phoff, size as u64)?.ok_or(Errno::ENOEXEC)?;
    let phdrs = SegmentTable::new(LittleEndian, Class::ELF64, &phdr_bytes);
    let mut interp = None;
    if let Some(ph) = phdrs.iter().find(|ph| ph.p_type == PT_INTERP) {
        if !(2..=PATH_MAX).contains(&ph.p_filesz) {
            return Err(Errno::ENOEXEC);
        }
        // Linux: rw_verify_area() refuses a negative file position.
        if ph
            .p_offset
            .checked_add(ph.p_filesz)
            .is_none_or(|end| end > MAX_LFS_FILESIZE)
        {
            return Err(Errno::EINVAL);
        }
        let mut path = kernel_read(file, ph.p_offset, ph.p_filesz)?.ok_or(Errno::EIO)?;
        if path.pop() != Some(0) {
            return Err(Errno::ENOEXEC);
        }
        // Linux opens it as a C string: up to its first NUL.
        if let Some(nul) = path.iter().position(|&b| b == 0) {
            path.truncate(nul);
        }
        interp = Some(path);
    }
    Ok(Elf {
        ehdr,
        phdr_bytes,
        interp,
    })
}

/// `len` bytes (at most 64 KiB: headers, a path) of the file from `off`,
/// read through the page cache; `None` if the file ends before.
///
/// Linux: kernel_read() in fs/read_write.c
///
/// # Errors
/// `ENOMEM`.
pub fn kernel_read(file: &AddressSpace, off: u64, len: u64) -> Result<Option<Vec<u8>>, Errno> {
    let len = usize::try_from(len).map_err(|_| Errno::ENOMEM)?;
    if off
        .checked_add(len as u64)
        .is_none_or(|end| end > file.i_size())
    {
        return Ok(None);
    }
    let mut buf = Vec::new();
    buf.try_reserve_exact(len).map_err(|_| Errno::ENOMEM)?;
    buf.resize(len, 0);
    let n = file.filemap_read(&mut buf, off)?;
    Ok((n == len).then_some(buf))
}

fn page_offset(addr: u64) -> u64 {
    addr % PAGE_SIZE as u64
}

/// Maps one PT_LOAD segment at `vaddr` (already biased): the file bytes
/// from p_offset, the rest of their last page zeroed, then anonymous pages
/// up to p_memsz, as `/proc/<pid>/maps` shows them on Linux.
///
/// Linux: elf_map() / elf_load() in fs/binfmt_elf.c
///
/// # Errors
/// `EINVAL` for a segment that cannot be mapped: page offsets of address
/// and file offset that differ (Linux: the unaligned mmap offset), more
/// file than memory, a range that wraps or leaves user space, or
/// file offsets past MAX_LFS_FILESIZE (Linux: EOVERFLOW); `EFAULT` for a .bss
/// whose partial page is past the end of the file; `EEXIST` for a first
/// segment over the stack; `ENOMEM`, also for a .bss larger than RAM.
fn elf_map(
    mm: &MmStruct,
    file: &Arc<AddressSpace>,
    ph: &ProgramHeader,
    vaddr: u64,
    first: bool,
) -> Result<(), Errno> {
    if ph.p_filesz > ph.p_memsz || vaddr >= TASK_SIZE || ph.p_memsz > TASK_SIZE - vaddr {
        return Err(Errno::EINVAL);
    }
    if ph.p_memsz == 0 {
        return Ok(());
    }
    let start = vaddr - page_offset(vaddr);
    let len = ph.p_memsz + page_offset(vaddr);
    // Linux maps the .bss past the last file page as brk memory, which
    // __vm_enough_memory() refuses when it is more than all of RAM.
    let file_end = match ph.p_filesz {
        0 => 0,
        n => (n + page_offset(vaddr)).next_multiple_of(PAGE_SIZE as u64),
    };
    let bss_pages = (len.next_multiple_of(PAGE_SIZE as u64) - file_end) / PAGE_SIZE as u64;
    if bss_pages > crate::mm::page_alloc::totalram_pages() as u64 {
        return Err(Errno::ENOMEM);
    }
    let mut prot = 0;
    for (pf, bit) in [(PF_R, PROT_READ), (PF_W, PROT_WRITE), (PF_X, PROT_EXEC)] {
        if ph.p_flags & pf != 0 {
            prot |= bit;
        }
    }
    // The first segment may not land on anything; later ones replace
    // whatever earlier segments mapped there.
    let mut fixed = if first {
        MAP_FIXED_NOREPLACE
    } else {
        MAP_FIXED
    };
    if file_end > 0 {
        let backing = VmBacking::File(file_backing(file, ph, vaddr)?);
        do_mmap(
            mm,
            start,
            file_end,
            prot,
            MAP_PRIVATE | fixed,
            backing,
            true,
        )?;
        fixed = MAP_FIXED;
    }
    // The pages past the file's are brk-like memory: anonymous, and
    // writable whatever the segment says (Linux: vm_brk_flags()).
    if bss_pages > 0 {
        let bss_prot = PROT_READ | PROT_WRITE | (prot & PROT_EXEC);
        let bss_len = bss_pages * PAGE_SIZE as u64;
        do_mmap(
            mm,
            start + file_end,
            bss_len,
            bss_prot,
            MAP_PRIVATE | fixed,
            VmBacking::Anon,
            true,
        )?;
    }
    Ok(())
}

/// The file part of a segment with p_filesz bytes, checked as Linux's
/// mmap checks a file mapping.
fn file_backing(file: &Arc<AddressSpace>, ph: &ProgramHeader, vaddr: u64) -> Result<VmFile, Errno> {
    if page_offset(ph.p_offset) != page_offset(vaddr) {
        return Err(Errno::EINVAL);
    }
    let pgoff = ph.p_offset - page_offset(vaddr);
    let mut len = ph.p_filesz + page_offset(vaddr);
    // Linux: file_mmap_ok() refuses a file range past MAX_LFS_FILESIZE.
    if pgoff
        .checked_add(len.next_multiple_of(PAGE_SIZE as u64))
        .is_none_or(|end| end > MAX_LFS_FILESIZE)
    {
        return Err(Errno::EINVAL);
    }
    // Linux zeroes the rest of the last file page of a .bss (padzero());
    // for a writable segment that page must be in the file.
    let zero_start = ph.p_offset + ph.p_filesz;
    if ph.p_flags & PF_W != 0
        && ph.p_memsz > ph.p_filesz
        && page_offset(zero_start) != 0
        && zero_start - page_offset(zero_start) >= file.i_size()
    {
        return Err(Errno::EFAULT);
    }
    // padzero() cannot write to a read-only segment: its last file page
    // keeps the file's bytes past p_filesz.
    if ph.p_flags & PF_W == 0 {
        len = len.next_multiple_of(PAGE_SIZE as u64);
    }
    Ok(VmFile {
        mapping: file.clone(),
        pgoff,
        len,
        shm: None,
        path: None,
    })
}

/// Maps every PT_LOAD segment of `elf` at `load_bias`; returns the end of
/// the highest segment and where the program headers landed (0 if in none).
///
/// Linux: the PT_LOAD loop of load_elf_binary() / load_elf_interp()
///
/// # Errors
/// As elf_map.
pub fn map_segments(
    elf: &Elf,
    file: &Arc<AddressSpace>,
    mm: &MmStruct,
    load_bias: u64,
) -> Result<(u64, u64), Errno> {
    let mut end = 0;
    let mut phdr = 0;
    let mut first = true;
    for ph in elf.phdrs().iter().filter(|ph| ph.p_type == PT_LOAD) {
        let vaddr = ph.p_vaddr.checked_add(load_bias).ok_or(Errno::EINVAL)?;
        elf_map(mm, file, &ph, vaddr, first)?;
        first = false;
        end = end.max(vaddr + ph.p_memsz);
        // The segment holding the program headers tells where they are.
        if let Some(off) = elf.ehdr.e_phoff.checked_sub(ph.p_offset)
            && off < ph.p_filesz
        {
            phdr = vaddr.wrapping_add(off);
        }
    }
    Ok((end, phdr))
}

/// Maps every PT_LOAD segment of `elf` into `mm`, then the dynamic linker
/// `interp` names, if any; sets the heap after the program's highest
/// segment and checks the entry points. Runs after the point of no return.
///
/// Linux: load_elf_binary() in fs/binfmt_elf.c
///
/// # Errors
/// `EINVAL` for a segment or entry point outside user space, as elf_map.
pub fn load_elf_binary(
    elf: &Elf,
    file: &Arc<AddressSpace>,
    interp: Option<(&Elf, &Arc<AddressSpace>)>,
    mm: &MmStruct,
) -> Result<ElfInfo, Errno> {
    // Differs: Linux lets mmap place a static PIE with small alignment.
    let load_bias = if elf.ehdr.e_type == ET_DYN {
        ELF_ET_DYN_BASE
    } else {
        0
    };
    let (brk, phdr) = map_segments(elf, file, mm, load_bias)?;
    let entry = elf.ehdr.e_entry.wrapping_add(load_bias);
    if entry >= TASK_SIZE {
        return Err(Errno::EINVAL);
    }
    let (base, start) = match interp {
        None => (0, entry),
        Some((interp, interp_file)) => {
            let base = super::binfmt_elf_interp::load_elf_interp(interp, interp_file, mm)?;
            let start = interp.ehdr.e_entry.wrapping_add(base);
            if start >= TASK_SIZE {
                return Err(Errno::EINVAL);
            }
            (base, start)
        }
    };
    let brk = brk.next_multiple_of(PAGE_SIZE as u64);
    let mut st = mm.mmap.lock();
    st.start_brk = brk;
    st.brk = brk;
    Ok(ElfInfo {
        entry,
        phdr,
        phnum: u64::from(elf.ehdr.e_phnum),
        base,
        start,
    })
}

/// Auxiliary vector keys (Linux: include/uapi/linux/auxvec.h).
mod at {
    pub const AT_NULL: u64 = 0;
    pub const AT_PHDR: u64 = 3;
    pub const AT_PHENT: u64 = 4;
    pub const AT_PHNUM: u64 = 5;
    pub const AT_PAGESZ: u64 = 6;
    pub const AT_BASE: u64 = 7;
    pub const AT_FLAGS: u64 = 8;
    pub const AT_ENTRY: u64 = 9;
    pub const AT_UID: u64 = 11;
    pub const AT_EUID: u64 = 12;
    pub const AT_GID: u64 = 13;
    pub const AT_EGID: u64 = 14;
    pub const AT_PLATFORM: u64 = 15;
    pub const AT_HWCAP: u64 = 16;
    pub const AT_CLKTCK: u64 = 17;
    pub const AT_SECURE: u64 = 23;
    pub const AT_RANDOM: u64 = 25;
    pub const AT_HWCAP2: u64 = 26;
    pub const AT_EXECFN: u64 = 31;
    pub const AT_MINSIGSTKSZ: u64 = 51;
}

/// Pushes bytes below `sp`; returns their address.
fn push_bytes(sp: &mut u64, bytes: &[u8]) -> Result<u64, Errno> {
    *sp = sp.checked_sub(bytes.len() as u64).ok_or(Errno::EFAULT)?;
    copy_to_user(*sp, bytes)?;
    Ok(*sp)
}

fn push_str(sp: &mut u64, s: &[u8]) -> Result<u64, Errno> {
    push_bytes(sp, &[0])?;
    push_bytes(sp, s)
}

/// Writes the addresses of the strings laid out from `start` at `*at`,
/// then a NULL.
fn push_pointers(
    at: &mut u64,
    start: u64,
    strings: &super::exec_args::ArgStrings,
) -> Result<(), Errno> {
    let mut p = start;
    for s in strings.iter() {
        put_user(*at, p)?;
        *at += 8;
        p += s.len() as u64 + 1;
    }
    put_user(*at, 0u64)?;
    *at += 8;
    Ok(())
}

/// Lays out the new program's stack as Linux does: strings at the top, then
/// (16-byte aligned) argc, argv[], NULL, envp[], NULL, auxv pairs, AT_NULL.
/// execve already made sure that the strings and pointers fit.
///
/// Linux: create_elf_tables() in fs/binfmt_elf.c
///
/// # Errors
/// `EFAULT` if the stack cannot hold them.
pub fn create_elf_tables(bprm: &LinuxBinprm, info: &ElfInfo, mm: &MmStruct) -> Result<u64, Errno> {
    let mut sp = STACK_TOP;
    let execfn = push_str(&mut sp, &bprm.filename)?;
    let env_start = push_bytes(&mut sp, &bprm.envp.bytes)?;
    let arg_start = push_bytes(&mut sp, &bprm.argv.bytes)?;
    let platform = push_str(&mut sp, b"x86_64")?;
    let mut random = [0u8; 16];
    crate::random::get_random_bytes(&mut random);
    let random = push_bytes(&mut sp, &random)?;
    let auxv = auxv(info, random, platform, execfn, bprm.secureexec);
    *mm.arg_lock.lock() = MmArgs {
        arg_start,
        arg_end: arg_start + bprm.argv.bytes.len() as u64,
        env_start,
        env_end: env_start + bprm.envp.bytes.len() as u64,
        saved_auxv: auxv,
    };
    let words = (bprm.argv.count as u64) + (bprm.envp.count as u64) + 3 + 2 * auxv.len() as u64;
    sp = sp.checked_sub(8 * words).ok_or(Errno::EFAULT)? & !15;
    let mut at = sp;
    put_user(at, bprm.argv.count as u64)?;
    at += 8;
    push_pointers(&mut at, arg_start, &bprm.argv)?;
    push_pointers(&mut at, env_start, &bprm.envp)?;
    for (key, value) in auxv {
        put_user(at, key)?;
        put_user(at + 8, value)?;
        at += 16;
    }
    Ok(sp)
}

/// The auxiliary vector, in Linux's order: what the program learns about
/// itself and the machine (Linux: ARCH_DLINFO, then the NEW_AUX_ENT() list
/// in create_elf_tables()).
// Differs: no AT_SYSINFO_EHDR (there is no vDSO), no AT_RSEQ_* (no rseq).
fn auxv(
    info: &ElfInfo,
    random: u64,
    platform: u64,
    execfn: u64,
    secure: bool,
) -> [(u64, u64); AT_VECTOR_SIZE] {
    use at::*;
    // begin_new_exec committed the new program's credentials.
    let cred = crate::cred::current_cred();
    [
        (AT_MINSIGSTKSZ, crate::arch::signal::get_sigframe_size()),
        (AT_HWCAP, crate::arch::kernel::cpu::proc::elf_hwcap()),
        (AT_PAGESZ, PAGE_SIZE as u64),
        (AT_CLKTCK, 100),
        (AT_PHDR, info.phdr),
        (AT_PHENT, PHDR_SIZE as u64),
        (AT_PHNUM, info.phnum),
        (AT_BASE, info.base),
        (AT_FLAGS, 0),
        (AT_ENTRY, info.entry),
        (AT_UID, cred.uid.into()),
        (AT_EUID, cred.euid.into()),
        (AT_GID, cred.gid.into()),
        (AT_EGID, cred.egid.into()),
        (AT_SECURE, secure.into()),
        (AT_RANDOM, random),
        (AT_HWCAP2, 0),
        (AT_EXECFN, execfn),
        (AT_PLATFORM, platform),
        (AT_NULL, 0),
    ]
}
