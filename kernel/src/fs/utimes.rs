//! Setting a file's access and modification times: utimensat, futimesat,
//! utimes and utime. Each change also sets the change time to now.
//!
//! Linux: fs/utimes.c (vfs_utimes, do_utimes, do_utimes_path, do_utimes_fd)

use super::attr::{Iattr, Timespec64, current_time, fd_inode, notify_change};
use super::namei::user_path_at;
use super::open::AT_FDCWD;
use super::ramfs::Inode;
use super::stat::{AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW};
use crate::errno::Errno;
use crate::mm::uaccess::get_user;
use crate::syscall::SysResult;

/// "Set this time to now" in a tv_nsec (Linux: UTIME_NOW).
pub const UTIME_NOW: i64 = (1 << 30) - 1;
/// "Leave this time alone" in a tv_nsec (Linux: UTIME_OMIT).
pub const UTIME_OMIT: i64 = (1 << 30) - 2;

/// Linux: nsec_valid() in fs/utimes.c
fn nsec_valid(nsec: i64) -> bool {
    nsec == UTIME_OMIT || nsec == UTIME_NOW || (0..1_000_000_000).contains(&nsec)
}

/// Sets atime and mtime from `times` (None: both now), and ctime to now.
/// Setting both to now needs write permission or ownership; any time
/// given explicitly needs ownership (or CAP_FOWNER).
///
/// Linux: vfs_utimes() in fs/utimes.c
///
/// # Errors
/// `EINVAL` for a tv_nsec out of range; `EACCES`, `EPERM` as notify_change.
fn vfs_utimes(inode: &Inode, times: Option<[Timespec64; 2]>) -> SysResult {
    if times.is_some_and(|t| !nsec_valid(t[0].tv_nsec) || !nsec_valid(t[1].tv_nsec)) {
        return Err(Errno::EINVAL);
    }
    let now = current_time();
    let pick = |t: Option<Timespec64>| match t {
        None => Some(now),
        Some(t) if t.tv_nsec == UTIME_NOW => Some(now),
        Some(t) if t.tv_nsec == UTIME_OMIT => None,
        Some(t) => Some(t),
    };
    let explicit = |t: &Timespec64| t.tv_nsec != UTIME_NOW && t.tv_nsec != UTIME_OMIT;
    let ia = Iattr {
        atime: pick(times.map(|t| t[0])),
        mtime: pick(times.map(|t| t[1])),
        times_set: times.is_some_and(|t| t.iter().any(explicit)),
        touch: times.is_none_or(|t| t.iter().all(|t| t.tv_nsec == UTIME_NOW)),
        ..Iattr::default()
    };
    notify_change(inode, ia).map(|()| 0)
}

/// A NULL name with a descriptor sets the descriptor's times (what
/// futimens() is in the C library).
///
/// Linux: do_utimes() in fs/utimes.c
///
/// # Errors
/// `EINVAL` for flags with a NULL name or unknown flags; `EFAULT` for a
/// NULL name with AT_FDCWD; as user_path_at and vfs_utimes.
fn do_utimes(dfd: i32, filename: u64, times: Option<[Timespec64; 2]>, flags: u32) -> SysResult {
    if filename == 0 && dfd != AT_FDCWD {
        if flags != 0 {
            return Err(Errno::EINVAL);
        }
        return vfs_utimes(&*fd_inode(dfd)?, times);
    }
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    vfs_utimes(&*user_path_at(dfd, filename, flags)?, times)
}

/// Linux: SYSCALL_DEFINE4(utimensat) in fs/utimes.c
///
/// # Errors
/// `EFAULT` for an unreadable `utimes`; as do_utimes. Both times
/// UTIME_OMIT succeed without looking the path up.
pub fn sys_utimensat(dfd: i32, filename: u64, utimes: u64, flags: u32) -> SysResult {
    let times = match utimes {
        0 => None,
        addr => {
            let [s0, n0, s1, n1] = get_user::<[i64; 4]>(addr)?;
            if n0 == UTIME_OMIT && n1 == UTIME_OMIT {
                return Ok(0);
            }
            Some([ts(s0, n0), ts(s1, n1)])
        }
    };
    do_utimes(dfd, filename, times, flags)
}

fn ts(tv_sec: i64, tv_nsec: i64) -> Timespec64 {
    Timespec64 { tv_sec, tv_nsec }
}

/// futimesat and utimes: times as two `struct timeval`s.
///
/// Linux: do_futimesat() in fs/utimes.c
///
/// # Errors
/// `EINVAL` for a tv_usec outside 0..1000000; `EFAULT`; as do_utimes.
pub fn sys_futimesat(dfd: i32, filename: u64, utimes: u64) -> SysResult {
    let times = match utimes {
        0 => None,
        addr => {
            let [s0, u0, s1, u1] = get_user::<[i64; 4]>(addr)?;
            if !(0..1_000_000).contains(&u0) || !(0..1_000_000).contains(&u1) {
                return Err(Errno::EINVAL);
            }
            Some([ts(s0, u0 * 1000), ts(s1, u1 * 1000)])
        }
    };
    do_utimes(dfd, filename, times, 0)
}

/// utime: whole seconds in a `struct utimbuf` (actime, modtime).
///
/// Linux: SYSCALL_DEFINE2(utime) in fs/utimes.c
///
/// # Errors
/// `EFAULT`; as do_utimes.
pub fn sys_utime(filename: u64, times: u64) -> SysResult {
    let times = match times {
        0 => None,
        addr => {
            let [actime, modtime] = get_user::<[i64; 2]>(addr)?;
            Some([ts(actime, 0), ts(modtime, 0)])
        }
    };
    do_utimes(AT_FDCWD, filename, times, 0)
}
