//! Small system calls about the process and the machine: ids, uname,
//! limits, prctl, reboot, arch_prctl, getrandom.
//!
//! Linux: kernel/sys.c, kernel/reboot.c, arch/x86/kernel/process_64.c
//! (arch_prctl), drivers/char/random.c (getrandom)

use crate::capability::{CAP_SYS_RESOURCE, capable};
use crate::cred::current_cred;
use crate::errno::Errno;
use crate::mm::uaccess::{copy_to_user, get_user, put_user};
use crate::pid::{find_task_by_vpid, pgrp_nr_ns, task_active_pid_ns, task_pid_vnr, task_tgid_vnr};
use crate::resource::{NR_OPEN, RLIM_NLIMITS, RLIMIT_NOFILE, Rlimit};
use crate::syscall::SysResult;
use crate::task::{PF_FORKNOEXEC, TaskStruct, current};
use crate::tasklist::TASKLIST_LOCK;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;

mod prctl;
pub use prctl::sys_prctl;

/// Linux: SYSCALL_DEFINE0(getpid): the thread group id.
pub fn sys_getpid() -> SysResult {
    Ok(task_tgid_vnr(&current()) as u64)
}

/// Linux: SYSCALL_DEFINE0(gettid).
pub fn sys_gettid() -> SysResult {
    Ok(task_pid_vnr(&current()) as u64)
}

/// Linux: SYSCALL_DEFINE0(getuid) in kernel/sys.c
pub fn sys_getuid() -> SysResult {
    Ok(current_cred().uid.into())
}

/// Linux: SYSCALL_DEFINE0(geteuid) in kernel/sys.c
pub fn sys_geteuid() -> SysResult {
    Ok(current_cred().euid.into())
}

/// Linux: SYSCALL_DEFINE0(getgid) in kernel/sys.c
pub fn sys_getgid() -> SysResult {
    Ok(current_cred().gid.into())
}

/// Linux: SYSCALL_DEFINE0(getegid) in kernel/sys.c
pub fn sys_getegid() -> SysResult {
    Ok(current_cred().egid.into())
}

/// Linux: SYSCALL_DEFINE0(getppid): the real parent's tgid, 0 when it is
/// outside the caller's pid namespace (the namespace's init).
/// Differs: reads the parent under the tasklist lock (Linux: RCU); the
/// caller is borrowed, not counted (a task outlives its own system call).
pub fn sys_getppid() -> SysResult {
    let parent = crate::arch::percpu::with_current(|me| {
        let tasklist = TASKLIST_LOCK.lock();
        me?.family.get(&tasklist).real_parent.upgrade()
    });
    Ok(parent.map_or(0, |p| task_tgid_vnr(&p)) as u64)
}

/// Moves process `pid` (0: the caller) into process group `pgid` (0: a
/// group of its own). Only the caller or a child of its that has not
/// exec'd may be moved, never a session leader, and only into a group that
/// exists in the caller's session.
///
/// Linux: SYSCALL_DEFINE2(setpgid) in kernel/sys.c
pub fn sys_setpgid(pid: i32, pgid: i32) -> SysResult {
    let me = current();
    let pid = if pid == 0 { task_tgid_vnr(&me) } else { pid };
    let pgid = if pgid == 0 { pid } else { pgid };
    if pgid < 0 {
        return Err(Errno::EINVAL);
    }
    // From here on, root-namespace numbers, as the signal struct keeps.
    let pid = find_task_by_vpid(pid).map_or(-1, |t| t.pid());
    let pgid = crate::pid::find_vpgrp(pgid).unwrap_or(-1);
    let mut tasklist = TASKLIST_LOCK.lock();
    let p = tasklist
        .tasks
        .iter()
        .find(|t| t.pid() == pid)
        .cloned()
        .ok_or(Errno::ESRCH)?;
    if p.pid() != p.tgid() {
        return Err(Errno::EINVAL);
    }
    let session = |t: &TaskStruct| t.signal().session.load(Ordering::Relaxed);
    let my_session = session(&me);
    let parent = p.family.get(&tasklist).real_parent.upgrade();
    if parent.is_some_and(|rp| rp.tgid() == me.tgid()) {
        if session(&p) != my_session {
            return Err(Errno::EPERM);
        }
        if p.flags() & PF_FORKNOEXEC == 0 {
            return Err(Errno::EACCES);
        }
    } else if p.tgid() != me.tgid() {
        return Err(Errno::ESRCH);
    }
    if session(&p) == p.tgid() && session(&p) != 0 {
        return Err(Errno::EPERM);
    }
    let group_in_session = |g: &&Arc<TaskStruct>| {
        g.signal().pgrp.load(Ordering::Relaxed) == pgid && session(g) == my_session
    };
    if pgid != pid && !tasklist.tasks.iter().any(|g| group_in_session(&g)) {
        return Err(Errno::EPERM);
    }
    let old = p.signal().pgrp.swap(pgid, Ordering::Relaxed);
    let unused = crate::pid_group::put_group_pid(old, &mut tasklist);
    drop(tasklist);
    if let Some(pid) = unused {
        crate::pid::free_pid(&pid);
    }
    Ok(0)
}

/// The task `pid` names, or the caller for 0 (Linux: the `pid ?
/// find_task_by_vpid(pid) : current` idiom of kernel/sys.c).
fn task_or_current(pid: i32) -> Result<Arc<TaskStruct>, Errno> {
    if pid == 0 {
        Ok(current())
    } else {
        find_task_by_vpid(pid).ok_or(Errno::ESRCH)
    }
}

/// Linux: SYSCALL_DEFINE1(getpgid) in kernel/sys.c
pub fn sys_getpgid(pid: i32) -> SysResult {
    let task = task_or_current(pid)?;
    let pgrp = task.signal().pgrp.load(Ordering::Relaxed);
    Ok(pgrp_nr_ns(pgrp, &task_active_pid_ns(&current())) as u64)
}

/// Starts a new session and process group led by the caller.
///
/// Linux: ksys_setsid() in kernel/sys.c
pub fn sys_setsid() -> SysResult {
    let me = current();
    let sig = me.signal();
    // Under the tasklist lock, as setpgid: its session check must not see half a setsid.
    let mut tasklist = crate::tasklist::TASKLIST_LOCK.lock();
    // A process group with the new session's id may not exist, even one
    // the caller has left: it would end up in two sessions.
    let sid = me.tgid();
    if tasklist
        .tasks
        .iter()
        .any(|t| t.signal().pgrp.load(Ordering::Relaxed) == sid)
    {
        return Err(Errno::EPERM);
    }
    let old_pgrp = sig.pgrp.swap(sid, Ordering::Relaxed);
    let old_session = sig.session.swap(sid, Ordering::Relaxed);
    let unused = [
        crate::pid_group::put_group_pid(old_pgrp, &mut tasklist),
        crate::pid_group::put_group_pid(old_session, &mut tasklist),
    ];
    drop(tasklist);
    for pid in unused.iter().flatten() {
        crate::pid::free_pid(pid);
    }
    Ok(task_tgid_vnr(&me) as u64)
}

/// Linux: SYSCALL_DEFINE1(getsid) in kernel/sys.c
pub fn sys_getsid(pid: i32) -> SysResult {
    let task = task_or_current(pid)?;
    let session = task.signal().session.load(Ordering::Relaxed);
    Ok(pgrp_nr_ns(session, &task_active_pid_ns(&current())) as u64)
}

/// Linux: SYSCALL_DEFINE1(umask) in kernel/sys.c
pub fn sys_umask(mask: u32) -> SysResult {
    let fs = current().fs.lock().clone().ok_or(Errno::EINVAL)?;
    Ok(u64::from(fs.umask.swap(mask & 0o777, Ordering::Relaxed)))
}

/// Uptime, load averages, memory in bytes (`mem_unit` 1, as Linux
/// reports on 64-bit) and the number of tasks, in `struct sysinfo` (14
/// longs on x86_64; `procs` and `mem_unit` are the low bits of theirs).
/// What `uptime` and `free` print.
///
/// Linux: do_sysinfo() in kernel/sys.c
pub fn sys_sysinfo(info: u64) -> SysResult {
    let [l1, l5, l15] =
        crate::sched::loadavg::get_avenrun(0, SI_LOAD_SHIFT - crate::sched::loadavg::FSHIFT);
    let procs = TASKLIST_LOCK.lock().nr_threads as u64;
    let page = crate::mm::PAGE_SIZE as u64;
    let totalram = crate::mm::page_alloc::totalram_pages() as u64 * page;
    let freeram = crate::mm::page_alloc::nr_free_pages() as u64 * page;
    let uptime = crate::arch::time::ktime_get_ns().div_ceil(1_000_000_000);
    let fields: [u64; 14] = [
        uptime, l1, l5, l15, totalram, freeram, 0, 0, 0, 0, procs, 0, 0, 1,
    ];
    put_user(info, fields)?;
    Ok(0)
}

/// Loads in `struct sysinfo` are fixed point with 16 fractional bits.
const SI_LOAD_SHIFT: u32 = 16;

/// The caller's process's CPU times and its reaped children's, in USER_HZ
/// ticks; returns ticks since boot.
///
/// Linux: do_sys_times() / SYSCALL_DEFINE1(times) in kernel/sys.c
pub fn sys_times(tbuf: u64) -> SysResult {
    use crate::sched::cputime::nsec_to_clock_t;
    let me = current();
    if tbuf != 0 {
        let own = crate::rusage::thread_group_rusage(&me);
        let children = *me.signal().children.lock();
        let tms = [own.utime, own.stime, children.utime, children.stime].map(nsec_to_clock_t);
        put_user(tbuf, tms)?;
    }
    // Linux's jiffies follow the clocksource, catching up on ticks that came
    // late; ours count tick interrupts, which an emulator drops under host
    // load, so the TSC's monotonic clock stands in for them.
    Ok(nsec_to_clock_t(crate::arch::time::ktime_get_ns()))
}

/// Linux: SYSCALL_DEFINE1(newuname) in kernel/sys.c
pub fn sys_newuname(name: u64) -> SysResult {
    use crate::utsname::{UTS_MACHINE, UTS_RELEASE, UTS_SYSNAME, UTS_VERSION, utsname};
    let mut buf = [0u8; 65 * 6];
    for (i, field) in [UTS_SYSNAME, "", UTS_RELEASE, UTS_VERSION, UTS_MACHINE]
        .iter()
        .enumerate()
    {
        buf[i * 65..i * 65 + field.len()].copy_from_slice(field.as_bytes());
    }
    let uts_ns = utsname();
    buf[65..130].copy_from_slice(&uts_ns.nodename.get());
    buf[5 * 65..].copy_from_slice(&uts_ns.domainname.get());
    copy_to_user(name, &buf)?;
    Ok(0)
}

/// Reads and optionally sets one of `tsk`'s limits, returning the old one.
/// Raising a hard limit needs CAP_SYS_RESOURCE.
///
/// Linux: do_prlimit() in kernel/sys.c
///
/// # Errors
/// `EINVAL` for an unknown resource or a soft limit above the hard one;
/// `EPERM` for RLIMIT_NOFILE past nr_open, or a hard limit raised without
/// CAP_SYS_RESOURCE.
fn do_prlimit(tsk: &TaskStruct, resource: u32, new: Option<Rlimit>) -> Result<Rlimit, Errno> {
    let resource = resource as usize;
    if resource >= RLIM_NLIMITS {
        return Err(Errno::EINVAL);
    }
    if let Some(r) = new {
        if r.rlim_cur > r.rlim_max {
            return Err(Errno::EINVAL);
        }
        if resource == RLIMIT_NOFILE && r.rlim_max > NR_OPEN {
            return Err(Errno::EPERM);
        }
    }
    let mut rlim = tsk.signal().rlim.lock();
    let old = rlim.0[resource];
    if let Some(r) = new {
        if r.rlim_max > old.rlim_max && !capable(CAP_SYS_RESOURCE) {
            return Err(Errno::EPERM);
        }
        rlim.0[resource] = r;
    }
    Ok(old)
}

/// May the caller read or set `task`'s limits? Its own always; another
/// process's when all three of its user ids are the caller's real uid and
/// all three group ids its real gid, or with CAP_SYS_RESOURCE.
///
/// Linux: check_prlimit_permission() in kernel/sys.c
///
/// # Errors
/// `EPERM`.
fn check_prlimit_permission(task: &TaskStruct) -> Result<(), Errno> {
    if core::ptr::eq(task, &*current()) {
        return Ok(());
    }
    let cred = crate::cred::current_cred();
    let tcred = crate::cred::task_cred(task);
    let id_match = [tcred.euid, tcred.suid, tcred.uid]
        .iter()
        .all(|&id| id == cred.uid)
        && [tcred.egid, tcred.sgid, tcred.gid]
            .iter()
            .all(|&id| id == cred.gid);
    if !id_match && !capable(CAP_SYS_RESOURCE) {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// Linux: SYSCALL_DEFINE2(getrlimit) in kernel/sys.c
pub fn sys_getrlimit(resource: u32, rlim: u64) -> SysResult {
    let old = do_prlimit(&current(), resource, None)?;
    put_user(rlim, [old.rlim_cur, old.rlim_max])?;
    Ok(0)
}

/// Linux: SYSCALL_DEFINE2(setrlimit) in kernel/sys.c
pub fn sys_setrlimit(resource: u32, rlim: u64) -> SysResult {
    let [cur, max]: [u64; 2] = get_user(rlim)?;
    do_prlimit(
        &current(),
        resource,
        Some(Rlimit {
            rlim_cur: cur,
            rlim_max: max,
        }),
    )?;
    Ok(0)
}

/// Reads and sets the limits of any process (0: the caller).
///
/// Linux: SYSCALL_DEFINE4(prlimit64) in kernel/sys.c
///
/// # Errors
/// `ESRCH`; `EPERM` as check_prlimit_permission; as do_prlimit.
pub fn sys_prlimit64(pid: i32, resource: u32, new: u64, old: u64) -> SysResult {
    let new = if new != 0 {
        let [cur, max]: [u64; 2] = get_user(new)?;
        Some(Rlimit {
            rlim_cur: cur,
            rlim_max: max,
        })
    } else {
        None
    };
    let tsk = task_or_current(pid)?;
    check_prlimit_permission(&tsk)?;
    let prev = do_prlimit(&tsk, resource, new)?;
    if old != 0 {
        put_user(old, [prev.rlim_cur, prev.rlim_max])?;
    }
    Ok(0)
}

const ARCH_SET_GS: i32 = 0x1001;
const ARCH_SET_FS: i32 = 0x1002;
const ARCH_GET_FS: i32 = 0x1003;
const ARCH_GET_GS: i32 = 0x1004;

/// Linux: do_arch_prctl_64() in arch/x86/kernel/process_64.c
pub fn sys_arch_prctl(option: i32, addr: u64) -> SysResult {
    let me = current();
    match option {
        ARCH_SET_GS => {
            if addr >= crate::mm::mm_types::TASK_SIZE {
                return Err(Errno::EPERM);
            }
            // Preemption off: a switch between the two stores would save
            // the old register over the new field (Linux does the same).
            crate::preempt::preempt_disable();
            me.thread.gsbase.store(addr, Ordering::Relaxed);
            // In the kernel, the user's GS base waits in KERNEL_GS_BASE for
            // the swapgs on the way out.
            x86_64::registers::model_specific::KernelGsBase::write(x86_64::VirtAddr::new_truncate(
                addr,
            ));
            crate::preempt::preempt_enable();
            Ok(0)
        }
        ARCH_GET_GS => {
            put_user(addr, me.thread.gsbase.load(Ordering::Relaxed))?;
            Ok(0)
        }
        ARCH_SET_FS => {
            if addr >= crate::mm::mm_types::TASK_SIZE {
                return Err(Errno::EPERM);
            }
            crate::preempt::preempt_disable();
            me.thread.fsbase.store(addr, Ordering::Relaxed);
            x86_64::registers::model_specific::FsBase::write(x86_64::VirtAddr::new_truncate(addr));
            crate::preempt::preempt_enable();
            Ok(0)
        }
        ARCH_GET_FS => {
            put_user(addr, me.thread.fsbase.load(Ordering::Relaxed))?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// Linux: SYSCALL_DEFINE1(set_tid_address) in kernel/fork.c
pub fn sys_set_tid_address(tidptr: u64) -> SysResult {
    let me = current();
    me.clear_child_tid.store(tidptr, Ordering::Relaxed);
    Ok(task_pid_vnr(&me) as u64)
}

/// Fills the buffer a chunk at a time; a pending signal stops it at a page
/// boundary with the bytes so far (EINTR if none), as Linux does.
///
/// Linux: SYSCALL_DEFINE3(getrandom) in drivers/char/random.c
pub fn sys_getrandom(buf: u64, count: u64) -> SysResult {
    const MAX_RW_COUNT: u64 = 0x7fff_f000;
    let count = count.min(MAX_RW_COUNT);
    let mut chunk = [0u8; 256];
    let mut done = 0;
    while done < count {
        if done % 4096 == 0 && crate::signal::signal_pending_current() {
            return if done == 0 {
                Err(Errno::EINTR)
            } else {
                Ok(done)
            };
        }
        let n = (count - done).min(256) as usize;
        crate::random::get_random_bytes(&mut chunk[..n]);
        let left = crate::mm::uaccess::_copy_to_user(
            buf.checked_add(done).ok_or(Errno::EFAULT)?,
            &chunk[..n],
        );
        done += (n - left) as u64;
        if left != 0 {
            return match done {
                0 => Err(Errno::EFAULT),
                _ => Ok(done),
            };
        }
    }
    Ok(done)
}

const LINUX_REBOOT_MAGIC1: u32 = 0xfee1_dead;
const LINUX_REBOOT_CMD_RESTART: u32 = 0x0123_4567;
const LINUX_REBOOT_CMD_POWER_OFF: u32 = 0x4321_fedc;
const LINUX_REBOOT_CMD_HALT: u32 = 0xcdef_0123;

/// Linux: SYSCALL_DEFINE4(reboot) in kernel/reboot.c
pub fn sys_reboot(magic1: u32, magic2: u32, cmd: u32) -> SysResult {
    if magic1 != LINUX_REBOOT_MAGIC1
        || ![0x2812_1969, 0x0512_1996, 0x1604_1998, 0x2011_2000].contains(&magic2)
    {
        return Err(Errno::EINVAL);
    }
    match cmd {
        LINUX_REBOOT_CMD_POWER_OFF | LINUX_REBOOT_CMD_HALT => crate::reboot::kernel_power_off(),
        LINUX_REBOOT_CMD_RESTART => crate::reboot::kernel_restart(),
        _ => Err(Errno::EINVAL),
    }
}
