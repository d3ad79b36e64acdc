//! Copying to and from user memory. Every kernel access to a user address
//! goes through here.
//!
//! The copy is `rep movsq` for the bulk and `rep movsb` for the tail
//! (Linux's copy_user_generic_string before FSRM). If it faults, the
//! page-fault handler first tries to resolve the fault like any user fault
//! (demand paging, copy-on-write). If that fails, `fixup_exception` moves the saved RIP to
//! the end of the copy, which then returns the bytes not copied: read()
//! and write() return what was copied before the fault, other callers
//! turn any shortfall into EFAULT. A bad pointer from user space therefore
//! costs an errno, never a kernel panic. With SMAP on, the copy is the only
//! code that may touch user memory: anywhere else the access faults.
//!
//! Linux: arch/x86/lib/copy_user_64.S, arch/x86/mm/extable.c, include/linux/uaccess.h

use super::mm_types::TASK_SIZE;
use crate::arch::entry::calling::PtRegs;
use crate::errno::Errno;

// With SMAP on, the copy opens user memory with `stac` and closes it with
// `clac` on both ways out: the normal end and the fixup after a fault, which
// resumes with the flags of the faulting instruction, AC still set (Linux:
// user_access_begin() / user_access_end(), ASM_STAC / ASM_CLAC).
//
// The bulk goes eight bytes at a time (`rep movsq`), the tail of under
// eight bytes one at a time (`rep movsb`). A fault in the bulk retries the
// rest a byte at a time, so that the copy stops at the exact byte that
// cannot be reached; a fault there ends the copy with RCX = bytes left.
core::arch::global_asm!(
    ".global __copy_user",
    "__copy_user:",
    "    mov rcx, rdx",
    "    shr rcx, 6",
    "    and edx, 63",
    "    cmp byte ptr [rip + {smap}], 0",
    "    je 1f",
    "    stac",
    "1:",
    "    test rcx, rcx",
    "    jz 3f",
    ".global __copy_user_bulk",
    "__copy_user_bulk:",
    "    mov r8, [rsi]",
    "    mov r9, [rsi + 8]",
    "    mov r10, [rsi + 16]",
    "    mov r11, [rsi + 24]",
    "    mov [rdi], r8",
    "    mov [rdi + 8], r9",
    "    mov [rdi + 16], r10",
    "    mov [rdi + 24], r11",
    "    mov r8, [rsi + 32]",
    "    mov r9, [rsi + 40]",
    "    mov r10, [rsi + 48]",
    "    mov r11, [rsi + 56]",
    "    mov [rdi + 32], r8",
    "    mov [rdi + 40], r9",
    "    mov [rdi + 48], r10",
    "    mov [rdi + 56], r11",
    "    add rsi, 64",
    "    add rdi, 64",
    "    dec rcx",
    "    jnz __copy_user_bulk",
    ".global __copy_user_bulk_end",
    "__copy_user_bulk_end:",
    "3:",
    "    mov ecx, edx",
    ".global __copy_user_tail_insn",
    "__copy_user_tail_insn:",
    "    rep movsb",
    ".global __copy_user_fixup",
    "__copy_user_fixup:",
    "    cmp byte ptr [rip + {smap}], 0",
    "    je 2f",
    "    clac",
    "2:",
    "    mov rax, rcx",
    "    ret",
    ".global __copy_user_bulk_fixup",
    "__copy_user_bulk_fixup:",
    "    shl rcx, 6",
    "    add rcx, rdx",
    "    jmp __copy_user_tail_insn",
    smap = sym crate::arch::kernel::cpu::common::SMAP_ENABLED,
);

// The futex word's compare-and-exchange: one `lock cmpxchg` on the user
// word, bracketed by stac/clac like the copy. It returns the value found
// (zero-extended) or, if the access faults for good, bit 32 set.
core::arch::global_asm!(
    ".global __futex_cmpxchg",
    "__futex_cmpxchg:",
    "    mov eax, esi",
    "    cmp byte ptr [rip + {smap}], 0",
    "    je 1f",
    "    stac",
    "1:",
    ".global __futex_cmpxchg_insn",
    "__futex_cmpxchg_insn:",
    "    lock cmpxchg dword ptr [rdi], edx",
    "    jmp 3f",
    ".global __futex_cmpxchg_fixup",
    "__futex_cmpxchg_fixup:",
    "    movabs rax, 0x100000000",
    "3:",
    "    cmp byte ptr [rip + {smap}], 0",
    "    je 2f",
    "    clac",
    "2:",
    "    ret",
    smap = sym crate::arch::kernel::cpu::common::SMAP_ENABLED,
);

unsafe extern "C" {
    /// Copies `len` bytes; returns how many were NOT copied.
    fn __copy_user(dst: *mut u8, src: *const u8, len: usize) -> usize;
    fn __copy_user_bulk();
    fn __copy_user_bulk_end();
    fn __copy_user_tail_insn();
    fn __copy_user_fixup();
    fn __copy_user_bulk_fixup();
    /// Swaps `*uaddr` from `old` to `new`; returns the value found, or bit
    /// 32 set if the word cannot be written.
    fn __futex_cmpxchg(uaddr: *mut u32, old: u32, new: u32) -> u64;
    fn __futex_cmpxchg_insn();
    fn __futex_cmpxchg_fixup();
}

/// If the fault at `regs.rip` happened inside a user copy, resumes at the
/// copy's exit so that it reports the bytes left (Linux's exception table).
///
/// Linux: fixup_exception() in arch/x86/mm/extable.c
pub fn fixup_exception(regs: &mut PtRegs) -> bool {
    let bulk = __copy_user_bulk as *const () as u64..__copy_user_bulk_end as *const () as u64;
    if bulk.contains(&regs.rip) {
        regs.rip = __copy_user_bulk_fixup as *const () as u64;
        return true;
    }
    if regs.rip == __copy_user_tail_insn as *const () as u64 {
        regs.rip = __copy_user_fixup as *const () as u64;
        return true;
    }
    if regs.rip == __futex_cmpxchg_insn as *const () as u64 {
        regs.rip = __futex_cmpxchg_fixup as *const () as u64;
        return true;
    }
    false
}

/// Checks that [addr, addr + len) lies in user space (Linux: access_ok()).
pub fn access_ok(addr: u64, len: usize) -> bool {
    addr.checked_add(len as u64)
        .is_some_and(|end| end <= TASK_SIZE)
}

/// Copies from user memory at `src` into `dst` as far as it can; returns
/// the bytes NOT copied (all of them if the range is not user space).
///
/// Linux: _copy_from_user() in lib/usercopy.c
pub fn _copy_from_user(dst: &mut [u8], src: u64) -> usize {
    if !access_ok(src, dst.len()) {
        return dst.len();
    }
    // SAFETY: `dst` is a valid kernel buffer; `src` is a user address range
    // checked above, and faults on it are fixed up instead of crashing.
    unsafe { __copy_user(dst.as_mut_ptr(), src as *const u8, dst.len()) }
}

/// Copies `src` into user memory at `dst` as far as it can; returns the
/// bytes NOT copied (all of them if the range is not user space).
///
/// Linux: _copy_to_user() in lib/usercopy.c
pub fn _copy_to_user(dst: u64, src: &[u8]) -> usize {
    if !access_ok(dst, src.len()) {
        return src.len();
    }
    // SAFETY: `src` is a valid kernel buffer; `dst` is a checked user range,
    // and faults on it are fixed up instead of crashing.
    unsafe { __copy_user(dst as *mut u8, src.as_ptr(), src.len()) }
}

/// Zeroes `len` bytes (at most a page) of user memory at `dst` as far as it
/// can; returns the bytes NOT zeroed.
///
/// Linux: clear_user() in arch/x86/lib/usercopy_64.c
pub fn clear_user(dst: u64, len: usize) -> usize {
    match super::EMPTY_ZERO_PAGE.get(..len) {
        Some(zeroes) => _copy_to_user(dst, zeroes),
        None => len,
    }
}

/// Copies `len` bytes of `page` from `offset` into user memory at `dst` as
/// far as it can, without a kernel buffer between; returns the bytes NOT
/// copied.
///
/// Linux: copy_page_to_iter() in lib/iov_iter.c
pub fn copy_page_to_user(
    page: &super::page_alloc::Page,
    offset: usize,
    dst: u64,
    len: usize,
) -> usize {
    if offset + len > super::PAGE_SIZE || !access_ok(dst, len) {
        return len;
    }
    let src = super::phys_to_virt(page.frame().start_address()).as_ptr::<u8>();
    // SAFETY: the frame stays allocated while we hold `page`, is mapped at
    // PAGE_OFFSET, and [offset, offset + len) is inside it; `dst` is a
    // checked user range whose faults are fixed up. A concurrent write to
    // the page through a user mapping only changes which bytes are copied,
    // as for read_bytes().
    unsafe { __copy_user(dst as *mut u8, src.add(offset), len) }
}

/// Copies from user memory at `src` into `dst`, all or nothing.
///
/// Linux: copy_from_user() in include/linux/uaccess.h
/// Differs: returns EFAULT where Linux returns the bytes not copied;
/// callers that use a short copy call `_copy_from_user`.
///
/// # Errors
/// `EFAULT` if any byte is not readable user memory.
pub fn copy_from_user(dst: &mut [u8], src: u64) -> Result<(), Errno> {
    match _copy_from_user(dst, src) {
        0 => Ok(()),
        _ => Err(Errno::EFAULT),
    }
}

/// Whether the `len` user bytes at `addr` are all zero, read a piece at a
/// time.
///
/// Linux: check_zeroed_user() in lib/usercopy.c
///
/// # Errors
/// `EFAULT`: the bytes.
pub fn check_zeroed_user(addr: u64, len: u64) -> Result<bool, Errno> {
    let mut buf = [0u8; 64];
    let mut done = 0u64;
    while done < len {
        let n = (len - done).min(buf.len() as u64) as usize;
        copy_from_user(&mut buf[..n], addr.checked_add(done).ok_or(Errno::EFAULT)?)?;
        if buf[..n].iter().any(|&b| b != 0) {
            return Ok(false);
        }
        done += n as u64;
    }
    Ok(true)
}

/// Reads an extensible structure that user space gave as `usize` bytes at
/// `src` into `dst` (the kernel's version of it): the bytes both know; a
/// smaller one leaves the rest of `dst` as it was (zero), a larger one must
/// be zero past `dst`.
///
/// Linux: copy_struct_from_user() in include/linux/uaccess.h
///
/// # Errors
/// `E2BIG`: nonzero bytes past `dst`. `EFAULT`: the bytes.
pub fn copy_struct_from_user(dst: &mut [u8], src: u64, usize: u64) -> Result<(), Errno> {
    let ksize = dst.len() as u64;
    let known = usize.min(ksize) as usize;
    copy_from_user(&mut dst[..known], src)?;
    if usize > ksize {
        let rest = src.checked_add(ksize).ok_or(Errno::EFAULT)?;
        if !check_zeroed_user(rest, usize - ksize)? {
            return Err(Errno::E2BIG);
        }
    }
    Ok(())
}

/// Copies `src` into user memory at `dst`, all or nothing.
///
/// Linux: copy_to_user() in include/linux/uaccess.h
/// Differs: returns EFAULT where Linux returns the bytes not copied;
/// callers that use a short copy call `_copy_to_user`.
///
/// # Errors
/// `EFAULT` if any byte is not writable user memory.
pub fn copy_to_user(dst: u64, src: &[u8]) -> Result<(), Errno> {
    match _copy_to_user(dst, src) {
        0 => Ok(()),
        _ => Err(Errno::EFAULT),
    }
}

/// Plain values that may be copied to or from user memory byte for byte.
///
/// # Safety
/// Every bit pattern must be a valid value and the type must have no padding.
pub unsafe trait Pod: Copy + Default {}
// SAFETY: integers have no padding and accept every bit pattern.
unsafe impl Pod for u8 {}
// SAFETY: as above.
unsafe impl Pod for u16 {}
// SAFETY: as above.
unsafe impl Pod for u32 {}
// SAFETY: as above.
unsafe impl Pod for i32 {}
// SAFETY: as above.
unsafe impl Pod for u64 {}
// SAFETY: as above.
unsafe impl Pod for i64 {}
// SAFETY: arrays of Pod values have no padding between elements.
unsafe impl<T: Pod, const N: usize> Pod for [T; N] where [T; N]: Default {}

/// Reads one value from user memory (Linux: get_user()).
///
/// # Errors
/// `EFAULT` for a bad address.
pub fn get_user<T: Pod>(addr: u64) -> Result<T, Errno> {
    let mut value = T::default();
    // SAFETY: `value` is a live T, viewed as its own bytes; T is Pod, so any
    // bytes written make a valid T.
    let bytes =
        unsafe { core::slice::from_raw_parts_mut((&raw mut value).cast::<u8>(), size_of::<T>()) };
    copy_from_user(bytes, addr)?;
    Ok(value)
}

/// Writes one value to user memory (Linux: put_user()).
///
/// # Errors
/// `EFAULT` for a bad address.
pub fn put_user<T: Pod>(addr: u64, value: T) -> Result<(), Errno> {
    // SAFETY: `value` is a live T with no padding (Pod), read as bytes.
    let bytes =
        unsafe { core::slice::from_raw_parts((&raw const value).cast::<u8>(), size_of::<T>()) };
    copy_to_user(addr, bytes)
}

/// Writes a plain struct to user memory.
///
/// # Errors
/// `EFAULT` for a bad address.
pub fn copy_struct_to_user<T: Pod>(addr: u64, value: &T) -> Result<(), Errno> {
    put_user(addr, *value)
}

/// Atomically replaces the user word at `uaddr` with `new` if it holds
/// `old`; returns the value it held (equal to `old` on success).
///
/// Linux: futex_atomic_cmpxchg_inatomic() in arch/x86/include/asm/futex.h
/// Differs: a fault the page-fault handler can resolve (demand paging,
/// copy-on-write) is resolved inside, where Linux returns EFAULT with
/// page faults disabled and the caller faults the page in and retries.
///
/// # Errors
/// `EFAULT` if `uaddr` is not an aligned, writable user word.
pub fn futex_atomic_cmpxchg_inatomic(uaddr: u64, old: u32, new: u32) -> Result<u32, Errno> {
    if !uaddr.is_multiple_of(4) || !access_ok(uaddr, 4) {
        return Err(Errno::EFAULT);
    }
    // SAFETY: `uaddr` is an aligned user address checked above; the access
    // is fixed up instead of crashing if the word is not writable.
    let found = unsafe { __futex_cmpxchg(uaddr as *mut u32, old, new) };
    u32::try_from(found).map_err(|_| Errno::EFAULT)
}

/// The operations FUTEX_WAKE_OP may apply to its second word
/// (Linux: FUTEX_OP_SET, _ADD, _OR, _ANDN, _XOR).
#[derive(Clone, Copy, Debug)]
pub enum FutexOp {
    /// `*uaddr = oparg`
    Set,
    /// `*uaddr += oparg`
    Add,
    /// `*uaddr |= oparg`
    Or,
    /// `*uaddr &= !oparg`
    AndN,
    /// `*uaddr ^= oparg`
    Xor,
}

/// Applies `op` with `oparg` to the user word at `uaddr` atomically;
/// returns the old value.
///
/// Linux: arch_futex_atomic_op_inuser() in arch/x86/include/asm/futex.h
/// Differs: every op is a cmpxchg loop; Linux uses xchg and lock xadd for
/// SET and ADD.
///
/// # Errors
/// `EFAULT` if `uaddr` is not an aligned, writable user word.
pub fn arch_futex_atomic_op_inuser(op: FutexOp, oparg: u32, uaddr: u64) -> Result<u32, Errno> {
    let mut old: u32 = get_user(uaddr)?;
    loop {
        let new = match op {
            FutexOp::Set => oparg,
            FutexOp::Add => old.wrapping_add(oparg),
            FutexOp::Or => old | oparg,
            FutexOp::AndN => old & !oparg,
            FutexOp::Xor => old ^ oparg,
        };
        let found = futex_atomic_cmpxchg_inatomic(uaddr, old, new)?;
        if found == old {
            return Ok(old);
        }
        old = found;
    }
}
