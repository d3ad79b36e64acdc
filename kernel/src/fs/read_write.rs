//! read, write and friends: move bytes between user memory and an open file.
//!
//! Linux: fs/read_write.c

use super::file::File;
use super::pipe::{O_NONBLOCK, PIPE_BUF};
use crate::errno::Errno;
use crate::mm::filemap::AddressSpace;
use crate::mm::uaccess::{_copy_from_user, _copy_to_user, get_user};
use crate::syscall::SysResult;
use crate::task::current;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// Largest single transfer (Linux: MAX_RW_COUNT, INT_MAX rounded to pages).
const MAX_RW_COUNT: u64 = 0x7fff_f000;
/// Chunk size for moving bytes through the kernel.
const CHUNK: usize = 4096;
/// Largest piece do_write() hands a file at once: see write_chunk().
const WRITE_CHUNK_MAX: usize = 3 * PIPE_BUF;

/// The open file behind `fd` of the current task.
///
/// # Errors
/// `EBADF`.
pub fn fdget(fd: i32) -> Result<Arc<File>, Errno> {
    current().files.lock().clone().ok_or(Errno::EBADF)?.fget(fd)
}

/// Checks that the pages of [addr, addr + len) can be written, by writing
/// back one byte of each; returns the bytes from the first page that
/// cannot be written to the end (0: all can). The read that follows then
/// cannot fault halfway.
///
/// Linux: fault_in_writeable() in mm/gup.c
fn fault_in_writeable(addr: u64, len: usize) -> usize {
    let Some(end) = addr.checked_add(len as u64) else {
        return len;
    };
    let mut page = addr;
    while page < end {
        let writable = crate::mm::uaccess::get_user::<u8>(page)
            .and_then(|byte| crate::mm::uaccess::put_user(page, byte));
        if writable.is_err() {
            return (end - page) as usize;
        }
        page = (page & !4095) + 4096;
    }
    0
}

/// A transfer that stopped at a bad user address: the bytes already moved,
/// or EFAULT if there were none (Linux's rule for short copies).
fn short_or_efault(done: usize) -> SysResult {
    match done {
        0 => Err(Errno::EFAULT),
        _ => Ok(done as u64),
    }
}

/// Whether the current task has been sent SIGKILL: loops over user-sized
/// work stop early, and the task dies on its way back to user space.
///
/// Linux: fatal_signal_pending(current) in include/linux/sched/signal.h
pub fn fatal_signal_pending_current() -> bool {
    crate::signal::fatal_signal_pending(&current())
}

/// What a copy loop returns when it stops early: the bytes it moved, or
/// `EINTR` when it moved none.
fn partial(done: usize) -> SysResult {
    match done {
        0 => Err(Errno::EINTR),
        n => Ok(n as u64),
    }
}

/// A kernel buffer of `len` bytes for moving data through, allocated
/// without aborting.
fn bounce_buffer(len: usize) -> Result<Vec<u8>, Errno> {
    let mut buf = Vec::new();
    buf.try_reserve_exact(len).map_err(|_| Errno::ENOMEM)?;
    buf.resize(len, 0);
    Ok(buf)
}

/// How much of the `rest` bytes of a write to pass to the file next. A
/// write of at most PIPE_BUF bytes goes in one piece, and every piece of a
/// longer write is longer than PIPE_BUF, so that a pipe can tell the writes
/// it must keep whole (Linux passes the whole write in one iov_iter).
fn write_chunk(rest: usize) -> usize {
    if rest <= WRITE_CHUNK_MAX {
        rest
    } else {
        2 * PIPE_BUF
    }
}

fn do_read(file: &File, buf: u64, count: u64, pos: Option<u64>) -> SysResult {
    let count = count.min(MAX_RW_COUNT) as usize;
    if !crate::mm::uaccess::access_ok(buf, count) {
        return Err(Errno::EFAULT);
    }
    let mut pos = pos.unwrap_or_else(|| *file.f_pos.lock());
    if let Some(mapping) = file.f_op.f_mapping() {
        return filemap_read(mapping, buf, count, pos);
    }
    let f_flags = *file.f_flags.lock();
    let mut chunk = bounce_buffer(count.min(CHUNK))?;
    let mut done = 0;
    while done < count {
        if fatal_signal_pending_current() {
            return partial(done);
        }
        let want = (count - done).min(CHUNK);
        // Fault the destination in first, so that a bad buffer fails before
        // anything is consumed from a pipe or a terminal (which Linux
        // copies whole or not at all), and a file read into a buffer whose
        // tail is bad gets the bytes that fit before it.
        let unwritable = fault_in_writeable(buf + done as u64, want);
        let want = want - unwritable;
        if want == 0 || (unwritable != 0 && !file.f_op.seekable()) {
            return short_or_efault(done);
        }
        // A stream gives what it has without waiting again once some
        // bytes have arrived, as pipe_read() does.
        let flags = match done > 0 && !file.f_op.seekable() {
            true => f_flags | O_NONBLOCK,
            false => f_flags,
        };
        let n = match file.f_op.read(&mut chunk[..want], pos, flags) {
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        let copied = n - _copy_to_user(buf + done as u64, &chunk[..n]);
        done += copied;
        pos += copied as u64;
        if copied < n {
            return short_or_efault(done);
        }
        if n < want || unwritable != 0 {
            break;
        }
    }
    Ok(done as u64)
}

/// read() of a regular file: straight from its page cache to the user's
/// buffer, page by page. A bad address part way gives the bytes before it;
/// one at the start gives EFAULT.
///
/// Linux: generic_file_read_iter() -> filemap_read() in mm/filemap.c
fn filemap_read(mapping: &AddressSpace, buf: u64, count: usize, pos: u64) -> SysResult {
    match mapping.filemap_read_user(buf, count, pos)? {
        (done, true) => short_or_efault(done),
        (done, false) => Ok(done as u64),
    }
}

fn do_write(file: &File, buf: u64, count: u64, pos: u64) -> SysResult {
    let count = count.min(MAX_RW_COUNT) as usize;
    if !crate::mm::uaccess::access_ok(buf, count) {
        return Err(Errno::EFAULT);
    }
    let f_flags = *file.f_flags.lock();
    let mut chunk = bounce_buffer(count.min(WRITE_CHUNK_MAX))?;
    let mut done = 0;
    while done < count {
        if fatal_signal_pending_current() {
            return partial(done);
        }
        let want = write_chunk(count - done);
        let got = want - _copy_from_user(&mut chunk[..want], buf + done as u64);
        if got == 0 {
            return short_or_efault(done);
        }
        match file.f_op.write(&chunk[..got], pos + done as u64, f_flags) {
            Ok(n) => done += n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
        if got < want {
            break;
        }
    }
    Ok(done as u64)
}

/// Linux: ksys_read() in fs/read_write.c
pub fn sys_read(fd: i32, buf: u64, count: u64) -> SysResult {
    let file = fdget(fd)?;
    if !file.readable() {
        return Err(Errno::EBADF);
    }
    let n = do_read(&file, buf, count, None)?;
    if file.f_op.seekable() {
        *file.f_pos.lock() += n;
    }
    Ok(n)
}

/// `EBADF` for a file opened without write access. Differs: only files that
/// seek are refused here; a pipe's read end refuses in pipe_write(), and
/// the console takes writes whatever its mode.
fn check_write_access(file: &File) -> Result<(), Errno> {
    match file.writable() || !file.f_op.seekable() {
        true => Ok(()),
        false => Err(Errno::EBADF),
    }
}

/// Linux: ksys_write() in fs/read_write.c
pub fn sys_write(fd: i32, buf: u64, count: u64) -> SysResult {
    let file = fdget(fd)?;
    check_write_access(&file)?;
    let append = *file.f_flags.lock() & super::open::O_APPEND != 0;
    let pos = if append {
        file.f_op.stat().size
    } else {
        *file.f_pos.lock()
    };
    let n = do_write(&file, buf, count, pos)?;
    if append {
        *file.f_pos.lock() = pos;
    }
    if file.f_op.seekable() {
        *file.f_pos.lock() += n;
    }
    Ok(n)
}

/// Copies up to `count` bytes from `in_fd` to `out_fd` through a kernel
/// buffer, without passing them through user memory. Reads at `*offset`
/// and stores the new offset there if `offset` is given, otherwise at the
/// input file's position, which it advances.
///
/// Linux: do_sendfile() in fs/read_write.c. Differs: a plain read/write
/// loop instead of splice through a pipe.
pub fn sys_sendfile(out_fd: i32, in_fd: i32, offset: u64, count: u64) -> SysResult {
    let input = fdget(in_fd)?;
    let output = fdget(out_fd)?;
    if !input.readable() {
        return Err(Errno::EBADF);
    }
    check_write_access(&output)?;
    if !input.f_op.seekable() || *output.f_flags.lock() & super::open::O_APPEND != 0 {
        return Err(Errno::EINVAL);
    }
    let start = match offset {
        0 => *input.f_pos.lock(),
        _ => u64::try_from(get_user::<i64>(offset)?).map_err(|_| Errno::EINVAL)?,
    };
    let done = splice_direct(&input, start, &output, count.min(MAX_RW_COUNT))?;
    match offset {
        0 => *input.f_pos.lock() = start + done,
        _ => crate::mm::uaccess::put_user(offset, start + done)?,
    }
    Ok(done)
}

/// The copy loop of sendfile: stops at the end of the input, or when the
/// output takes less than it was given.
///
/// Linux: do_splice_direct() in fs/splice.c
fn splice_direct(input: &File, mut pos: u64, output: &File, count: u64) -> SysResult {
    // One at a time: input and output may be the same file, and so the same lock.
    let in_flags = *input.f_flags.lock();
    let out_flags = *output.f_flags.lock();
    let mut chunk = bounce_buffer((count as usize).min(CHUNK))?;
    let mut done = 0;
    while done < count {
        if fatal_signal_pending_current() {
            return partial(done as usize);
        }
        let want = ((count - done) as usize).min(CHUNK);
        let read = match input.f_op.read(&mut chunk[..want], pos, in_flags) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        let out_pos = *output.f_pos.lock();
        let written = match output.f_op.write(&chunk[..read], out_pos, out_flags) {
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        if output.f_op.seekable() {
            *output.f_pos.lock() += written as u64;
        }
        done += written as u64;
        pos += written as u64;
        if written < read {
            break;
        }
    }
    Ok(done)
}

/// Linux: ksys_pread64() in fs/read_write.c
pub fn sys_pread64(fd: i32, buf: u64, count: u64, pos: u64) -> SysResult {
    if pos > i64::MAX as u64 {
        return Err(Errno::EINVAL);
    }
    let file = fdget(fd)?;
    if !file.f_op.seekable() {
        return Err(Errno::ESPIPE);
    }
    do_read(&file, buf, count, Some(pos))
}

/// Writes at `pos` without moving the file position; O_APPEND still
/// appends, as Linux's pwrite does.
///
/// Linux: ksys_pwrite64() in fs/read_write.c
pub fn sys_pwrite64(fd: i32, buf: u64, count: u64, pos: u64) -> SysResult {
    if pos > i64::MAX as u64 {
        return Err(Errno::EINVAL);
    }
    let file = fdget(fd)?;
    check_write_access(&file)?;
    if !file.f_op.seekable() {
        return Err(Errno::ESPIPE);
    }
    let pos = match *file.f_flags.lock() & super::open::O_APPEND != 0 {
        true => file.f_op.stat().size,
        false => pos,
    };
    do_write(&file, buf, count, pos)
}

/// Most vectors in one readv or writev (Linux: UIO_MAXIOV).
const UIO_MAXIOV: u64 = 1024;

/// Copies in the user's `struct iovec` array as it is: (base, len) pairs.
///
/// Linux: iovec_from_user() in lib/iov_iter.c
///
/// # Errors
/// `EINVAL` for more than UIO_MAXIOV vectors; `EFAULT` for a bad array;
/// `ENOMEM`.
pub(crate) fn iovec_from_user(vec: u64, vlen: u64) -> Result<alloc::vec::Vec<(u64, u64)>, Errno> {
    if vlen > UIO_MAXIOV {
        return Err(Errno::EINVAL);
    }
    let mut iov = alloc::vec::Vec::new();
    iov.try_reserve_exact(vlen as usize)
        .map_err(|_| Errno::ENOMEM)?;
    for i in 0..vlen {
        let at = vec.checked_add(16 * i).ok_or(Errno::EFAULT)?;
        let [base, len]: [u64; 2] = get_user(at)?;
        iov.push((base, len));
    }
    Ok(iov)
}

/// Copies in the user's `struct iovec` array (iovec_from_user) and checks
/// the lengths: none above SSIZE_MAX, the total cut to MAX_RW_COUNT, as
/// Linux does.
///
/// Linux: import_iovec() in lib/iov_iter.c
///
/// # Errors
/// As iovec_from_user; `EINVAL` for a length above SSIZE_MAX.
fn import_iovec(vec: u64, vlen: u64) -> Result<alloc::vec::Vec<(u64, u64)>, Errno> {
    let mut iov = iovec_from_user(vec, vlen)?;
    let mut total: u64 = 0;
    for (_, len) in &mut iov {
        if *len > i64::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        *len = (*len).min(MAX_RW_COUNT - total);
        total += *len;
    }
    Ok(iov)
}

/// One read or write per vector, stopping at the first short one; an error
/// after some bytes moved returns the bytes instead. `rw` is given a
/// vector and the bytes moved before it.
fn do_loop_readv_writev(
    iov: &[(u64, u64)],
    mut rw: impl FnMut(u64, u64, u64) -> SysResult,
) -> SysResult {
    let mut total = 0;
    for &(base, len) in iov {
        if fatal_signal_pending_current() {
            return partial(total as usize);
        }
        let n = match rw(base, len, total) {
            Ok(n) => n,
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        };
        total += n;
        if n < len {
            break;
        }
    }
    Ok(total)
}

/// Linux: do_readv() in fs/read_write.c
/// Differs: from a pipe, a bad buffer after good ones ends the call with
/// the bytes read so far; Linux fails with EFAULT when the pipe held more
/// than the good buffers take.
pub fn sys_readv(fd: i32, vec: u64, vlen: u64) -> SysResult {
    let iov = import_iovec(vec, vlen)?;
    do_loop_readv_writev(&iov, |base, len, _| sys_read(fd, base, len))
}

/// Linux: do_writev() in fs/read_write.c
pub fn sys_writev(fd: i32, vec: u64, vlen: u64) -> SysResult {
    let iov = import_iovec(vec, vlen)?;
    do_loop_readv_writev(&iov, |base, len, _| sys_write(fd, base, len))
}

/// readv at `pos`, leaving the file position alone. On x86_64 `pos_l`
/// holds the whole offset; `pos_h` is for 32-bit callers and unused.
///
/// Linux: do_preadv() in fs/read_write.c
///
/// # Errors
/// `EINVAL` for a negative offset or as readv; `ESPIPE` on a pipe; as pread64.
pub fn sys_preadv(fd: i32, vec: u64, vlen: u64, pos_l: u64, _pos_h: u64) -> SysResult {
    if pos_l > i64::MAX as u64 {
        return Err(Errno::EINVAL);
    }
    let iov = import_iovec(vec, vlen)?;
    do_loop_readv_writev(&iov, |base, len, done| {
        sys_pread64(fd, base, len, pos_l + done)
    })
}

/// writev at `pos` (at the end under O_APPEND, as pwrite64).
///
/// Linux: do_pwritev() in fs/read_write.c
///
/// # Errors
/// As [`sys_preadv`], with pwrite64's.
pub fn sys_pwritev(fd: i32, vec: u64, vlen: u64, pos_l: u64, _pos_h: u64) -> SysResult {
    if pos_l > i64::MAX as u64 {
        return Err(Errno::EINVAL);
    }
    let iov = import_iovec(vec, vlen)?;
    do_loop_readv_writev(&iov, |base, len, done| {
        sys_pwrite64(fd, base, len, pos_l + done)
    })
}

/// Flushes a file to its storage: everything here lives in memory, so
/// there is nothing to write, only the descriptor to check.
///
/// Linux: do_fsync() in fs/sync.c (SYSCALL_DEFINE1(fsync), fdatasync)
///
/// # Errors
/// `EBADF` for a closed descriptor; `EINVAL` for a pipe, a FIFO or a
/// terminal, which cannot be synced.
pub fn sys_fsync(fd: i32) -> SysResult {
    let file = fdget(fd)?;
    match file.f_op.seekable() {
        true => Ok(0),
        false => Err(Errno::EINVAL),
    }
}

const SEEK_SET: u32 = 0;
const SEEK_CUR: u32 = 1;
const SEEK_END: u32 = 2;
/// The next byte of data at or after the offset (Linux: SEEK_DATA).
const SEEK_DATA: u32 = 3;
/// The next hole at or after the offset; the end of the file is one (Linux: SEEK_HOLE).
const SEEK_HOLE: u32 = 4;
/// The last `whence` lseek knows (Linux: SEEK_MAX).
const SEEK_MAX: u32 = SEEK_HOLE;

/// Moves the file position. SEEK_DATA and SEEK_HOLE inside the file answer
/// the offset itself and the end of the file.
///
/// Linux: ksys_lseek() in fs/read_write.c, generic_file_llseek_size()
/// Differs: every byte up to the size counts as data; tmpfs on Linux
/// (shmem_file_llseek()) reports the pages never written as holes.
///
/// # Errors
/// `EINVAL` for an unknown `whence`, on any file; `ESPIPE` on a pipe;
/// `EINVAL` for a negative result; `ENXIO` for SEEK_DATA or SEEK_HOLE at
/// or past the end.
pub fn sys_lseek(fd: i32, offset: i64, whence: u32) -> SysResult {
    let file = fdget(fd)?;
    if whence > SEEK_MAX {
        return Err(Errno::EINVAL);
    }
    if file.f_op.noop_llseek() {
        // Linux: noop_llseek() in fs/read_write.c
        return Ok(*file.f_pos.lock());
    }
    if !file.f_op.seekable() {
        return Err(Errno::ESPIPE);
    }
    let mut pos = file.f_pos.lock();
    let size = file.f_op.stat().size as i64;
    let base = match whence {
        SEEK_SET => 0,
        SEEK_CUR => *pos as i64,
        SEEK_END => size,
        SEEK_DATA | SEEK_HOLE if offset < 0 || offset >= size => return Err(Errno::ENXIO),
        SEEK_DATA => 0,
        SEEK_HOLE => size - offset,
        _ => return Err(Errno::EINVAL),
    };
    let new = base
        .checked_add(offset)
        .filter(|&p| p >= 0)
        .ok_or(Errno::EINVAL)?;
    *pos = new as u64;
    Ok(new as u64)
}
