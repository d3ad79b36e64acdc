//! epoll: a file that holds a list of descriptors to watch, so that one
//! epoll_wait asks them all without passing the list each time. Each
//! watched file is asked again at every wait (level-triggered by default);
//! an EPOLLET item reports once per wake-up of its file's wait queues
//! (edge-triggered); EPOLLONESHOT stops reporting an item until
//! EPOLL_CTL_MOD re-arms it.
//!
//! Linux: fs/eventpoll.c
//! Differs: no per-file wake-up callbacks fill a ready list; each wait
//! polls every item through the poll machinery of select.rs, and an
//! EPOLLET item is on the "ready list" while its file's wait queues have
//! been woken since its last report (their wake-up counts). The wake-ups
//! carry no event key, so a wake-up for writers (a pipe read) re-arms an
//! EPOLLET reader too: it may report more often than Linux's, never less.
//! Not modelled: EPOLLWAKEUP, the limits on wake-up paths through other
//! files (reverse_path_check()), busy polling.

use super::fdtable::get_unused_fd_flags;
use super::file::{File, FileOperations, POLLIN, POLLOUT};
use super::open::{O_CLOEXEC, O_RDWR};
use super::read_write::fdget;
use super::select::{PollTable, poll_loop};
use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use crate::mm::uaccess::{copy_to_user, get_user};
use crate::syscall::SysResult;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

const EPOLL_CTL_ADD: i32 = 1;
const EPOLL_CTL_DEL: i32 = 2;
const EPOLL_CTL_MOD: i32 = 3;
const EPOLLERR: u32 = 0x008;
const EPOLLHUP: u32 = 0x010;
/// Wake only one of several epolls waiting on one file (Linux: EPOLLEXCLUSIVE).
const EPOLLEXCLUSIVE: u32 = 1 << 28;
/// Keep the system awake while the event is handled (Linux: EPOLLWAKEUP).
const EPOLLWAKEUP: u32 = 1 << 29;
/// Report once, then stay quiet until EPOLL_CTL_MOD (Linux: EPOLLONESHOT).
const EPOLLONESHOT: u32 = 1 << 30;
/// Edge-triggered: report once per new readiness event (Linux: EPOLLET).
const EPOLLET: u32 = 1 << 31;
/// The bits that are not events (Linux: EP_PRIVATE_BITS).
const EP_PRIVATE_BITS: u32 = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE;
/// The events EPOLLEXCLUSIVE may come with (Linux: EPOLLEXCLUSIVE_OK_BITS:
/// EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLWAKEUP, EPOLLET, EPOLLEXCLUSIVE).
const EPOLLEXCLUSIVE_OK_BITS: u32 =
    POLLIN as u32 | POLLOUT as u32 | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;
/// Bytes in one x86_64 `struct epoll_event` (packed: u32 events, u64 data).
const EPOLL_EVENT_SIZE: usize = 12;
/// Most events one wait may return (Linux: EP_MAX_EVENTS, INT_MAX / 12).
const EP_MAX_EVENTS: i32 = i32::MAX / EPOLL_EVENT_SIZE as i32;

/// One watched descriptor (Linux: `struct epitem`), named by the pair of
/// its number and its open file, as in Linux.
struct Epitem {
    fd: i32,
    /// Weak, so that closing the last descriptor of the file releases it
    /// and the item goes (Linux: eventpoll_release() from __fput()).
    file: Weak<File>,
    /// The events asked for, with EPOLLERR and EPOLLHUP always added.
    events: u32,
    /// Handed back untouched with each event (Linux: epoll_data).
    data: u64,
    /// For EPOLLET: the wake-up count of the file's queues when it was
    /// last looked at; None until then (Linux: on the ready list, or not,
    /// `rdllink`).
    seen: Option<u64>,
}

/// The wake-ups of the wait queues `file` sleeps its pollers on, summed.
fn wake_count(file: &File) -> u64 {
    let mut sum = 0u64;
    file.f_op
        .poll_wait(&mut |wq| sum = sum.wrapping_add(wq.wakeups()));
    sum
}

/// Whether an item would be reported for a file that says `revents` and
/// whose queues' wake-up count is `now`: ready for an event asked for and,
/// for EPOLLET, woken since last looked at (Linux: ep_item_poll() on an
/// item of the ready list).
fn ep_item_ready(events: u32, seen: Option<u64>, revents: u32, now: u64) -> bool {
    revents & events & !EP_PRIVATE_BITS != 0 && (events & EPOLLET == 0 || seen != Some(now))
}

/// An item as a pass looks at it, out of the lock: (fd, file, events, seen).
type LiveItem = (i32, Arc<File>, u32, Option<u64>);

/// An epoll instance (Linux: `struct eventpoll`).
pub struct EventPoll {
    /// The watched descriptors (Linux: the rbtree ep->rbr).
    items: SpinLock<Vec<Epitem>>,
    /// The epolls watching this one, once per item (Linux: ep->refs);
    /// changed under EPNESTED_MUTEX.
    refs: SpinLock<Vec<Weak<File>>>,
}

impl FileOperations for EventPoll {
    /// Linux: the name do_epoll_create() in fs/eventpoll.c gives its file
    fn anon_inode_name(&self) -> Option<&'static str> {
        Some("[eventpoll]")
    }

    /// Readable while a watched file has an event asked for.
    ///
    /// Linux: ep_eventpoll_poll() in fs/eventpoll.c
    /// Without memory for the list, readable: the caller does not sleep,
    /// and its epoll_wait on this file reports the ENOMEM.
    fn poll(&self) -> u16 {
        let Ok(items) = self.live_items() else {
            return POLLIN;
        };
        let ready = items.into_iter().any(|(_, file, events, seen)| {
            let now = wake_count(&file);
            ep_item_ready(events, seen, u32::from(file.f_op.poll()), now)
        });
        if ready { POLLIN } else { 0 }
    }

    fn poll_wait(&self, queue: &mut dyn FnMut(&crate::sched::wait::WaitQueueHead)) {
        for (_, file, _, _) in self.live_items().unwrap_or_default() {
            file.f_op.poll_wait(queue);
        }
    }

    fn eventpoll(&self) -> Option<&EventPoll> {
        Some(self)
    }
}

impl EventPoll {
    /// The items whose file is still open, as (fd, file, events, seen), taken
    /// out of the lock so that each file can be asked without holding it;
    /// items whose file is gone are dropped on the way.
    ///
    /// # Errors
    /// `ENOMEM` when the copy cannot be allocated (the list is as long as
    /// the caller made it).
    fn live_items(&self) -> Result<Vec<LiveItem>, Errno> {
        let mut items = self.items.lock();
        items.retain(|item| item.file.strong_count() > 0);
        let mut live = Vec::new();
        live.try_reserve_exact(items.len())
            .map_err(|_| Errno::ENOMEM)?;
        live.extend(
            items
                .iter()
                .filter_map(|item| Some((item.fd, item.file.upgrade()?, item.events, item.seen))),
        );
        Ok(live)
    }

    /// One pass of epoll_wait: asks each item's file, copies out at most
    /// `maxevents` events, and returns how many.
    ///
    /// Linux: ep_send_events() in fs/eventpoll.c
    fn ep_send_events(&self, table: &mut PollTable, events: u64, maxevents: usize) -> SysResult {
        let mut done = 0;
        for (fd, file, _, _) in self.live_items()? {
            if done == maxevents {
                break;
            }
            // Counted before the poll, so a wake-up during it is not lost.
            let now = wake_count(&file);
            let revents = u32::from(table.poll_wait(file.clone())?);
            let Some((ready, data)) = self.take_event(fd, &file, revents, now) else {
                continue;
            };
            let mut out = [0u8; EPOLL_EVENT_SIZE];
            out[..4].copy_from_slice(&ready.to_ne_bytes());
            out[4..].copy_from_slice(&data.to_ne_bytes());
            copy_to_user(events + (done * EPOLL_EVENT_SIZE) as u64, &out)?;
            done += 1;
        }
        Ok(done as u64)
    }

    /// The events of item (`fd`, `file`) to report given what its file says
    /// now and its queues' wake-up count `now`, and its data; an EPOLLET
    /// item is then off the ready list until the next wake-up, an
    /// EPOLLONESHOT one that reports is disarmed.
    fn take_event(&self, fd: i32, file: &Arc<File>, revents: u32, now: u64) -> Option<(u32, u64)> {
        let mut items = self.items.lock();
        let item = items
            .iter_mut()
            .find(|i| i.fd == fd && core::ptr::eq(i.file.as_ptr(), Arc::as_ptr(file)))?;
        let report = ep_item_ready(item.events, item.seen, revents, now);
        item.seen = Some(now);
        if !report {
            return None;
        }
        let ready = revents & item.events & !EP_PRIVATE_BITS;
        if item.events & EPOLLONESHOT != 0 {
            item.events &= EP_PRIVATE_BITS;
        }
        Some((ready, item.data))
    }
}

/// epoll_create1(2): a new epoll instance, its descriptor close-on-exec
/// under EPOLL_CLOEXEC.
///
/// Linux: do_epoll_create() in fs/eventpoll.c
///
/// # Errors
/// `EINVAL` for a flag other than EPOLL_CLOEXEC; `EMFILE`, `ENFILE`, `ENOMEM`.
pub fn sys_epoll_create1(flags: u32) -> SysResult {
    if flags & !O_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    let fd = get_unused_fd_flags(flags & O_CLOEXEC != 0)?;
    let ep = Arc::try_new(EventPoll {
        items: SpinLock::new(Vec::new()),
        refs: SpinLock::new(Vec::new()),
    })
    .map_err(|_| Errno::ENOMEM)?;
    let file = File::new(ep, O_RDWR)?;
    let nr = fd.fd();
    fd.fd_install(file);
    Ok(nr as u64)
}

/// epoll_create(2): `size` is only checked, as Linux has ignored it since 2.6.8.
///
/// Linux: SYSCALL_DEFINE1(epoll_create) in fs/eventpoll.c
pub fn sys_epoll_create(size: i32) -> SysResult {
    if size <= 0 {
        return Err(Errno::EINVAL);
    }
    sys_epoll_create1(0)
}

/// Adds, changes or removes the watch of `fd` in the epoll instance `epfd`.
///
/// Linux: do_epoll_ctl() in fs/eventpoll.c
/// Differs: which files cannot be polled is decided by kind: regular
/// files and directories (Linux: those without f_op->poll).
///
/// # Errors
/// `EFAULT` for a bad event; `EBADF` for a closed `epfd` or `fd`; `EPERM`
/// for a file that cannot be polled; `EINVAL` for `epfd` not an epoll, `fd`
/// the same file, an unknown op or a misused EPOLLEXCLUSIVE; `ELOOP` for
/// an epoll whose watch would close a loop or nest too deep; `EEXIST` when
/// adding a watched fd, `ENOENT` when changing or removing one not watched.
pub fn sys_epoll_ctl(epfd: i32, op: i32, fd: i32, event: u64) -> SysResult {
    let (events, data) = match op {
        EPOLL_CTL_DEL => (0, 0),
        _ => {
            let raw: [u8; EPOLL_EVENT_SIZE] = get_user(event)?;
            let events = u32::from_ne_bytes(raw[..4].try_into().unwrap_or_default());
            (
                events,
                u64::from_ne_bytes(raw[4..].try_into().unwrap_or_default()),
            )
        }
    };
    let f = fdget(epfd)?;
    let tf = fdget(fd)?;
    if tf
        .f_path
        .as_ref()
        .is_some_and(|p| p.inode.is_reg() || p.inode.is_dir())
    {
        return Err(Errno::EPERM);
    }
    if events & EPOLLEXCLUSIVE != 0
        && (op == EPOLL_CTL_MOD
            || (op == EPOLL_CTL_ADD
                && (tf.f_op.eventpoll().is_some() || events & !EPOLLEXCLUSIVE_OK_BITS != 0)))
    {
        return Err(Errno::EINVAL);
    }
    let ep = f
        .f_op
        .eventpoll()
        .filter(|_| !Arc::ptr_eq(&f, &tf))
        .ok_or(Errno::EINVAL)?;
    ep_ctl_nested(&f, op, &tf, || {
        ep.ep_ctl(op, fd, &tf, events | EPOLLERR | EPOLLHUP, data)
    })
}

/// Most epolls a chain of watches may nest below the top one (Linux:
/// EP_MAX_NESTS).
const EP_MAX_NESTS: usize = 4;

/// Held while an epoll is added to or removed from an epoll, so that two
/// adds cannot close a loop between them (Linux: epnested_mutex). Lock
/// order: this, then one EventPoll's items or refs at a time.
static EPNESTED_MUTEX: SpinLock<()> = SpinLock::new(());

/// Runs `ctl` on epoll `f`'s item for `tf`; when `tf` is an epoll too,
/// an add must first pass ep_loop_check, and adds and removes keep its
/// refs, so that asking an epoll whether it is ready always ends.
///
/// Linux: the full_check part of do_epoll_ctl() in fs/eventpoll.c
///
/// # Errors
/// `ELOOP` for an add that would close a loop or nest too deep; `ENOMEM`;
/// as `ctl`.
fn ep_ctl_nested(
    f: &Arc<File>,
    op: i32,
    tf: &Arc<File>,
    ctl: impl FnOnce() -> SysResult,
) -> SysResult {
    let Some(to) = tf.f_op.eventpoll() else {
        return ctl();
    };
    let _nested = EPNESTED_MUTEX.lock();
    if op == EPOLL_CTL_ADD {
        ep_loop_check(f, tf)?;
        to.refs.lock().try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    }
    let ret = ctl()?;
    let mut refs = to.refs.lock();
    match op {
        EPOLL_CTL_ADD => refs.push(Arc::downgrade(f)),
        EPOLL_CTL_DEL => {
            if let Some(i) = refs
                .iter()
                .position(|r| core::ptr::eq(r.as_ptr(), Arc::as_ptr(f)))
            {
                refs.swap_remove(i);
            }
        }
        _ => {}
    }
    Ok(ret)
}

/// Whether watching epoll `to` from epoll `ep` closes no loop and leaves
/// no chain of more than EP_MAX_NESTS epolls below the top one.
///
/// Linux: ep_loop_check() in fs/eventpoll.c
///
/// # Errors
/// `ELOOP` when it would; `ENOMEM`.
fn ep_loop_check(ep: &Arc<File>, to: &Arc<File>) -> Result<(), Errno> {
    let depth = ep_levels(to, EventPoll::watched_epolls, Some(ep))?;
    let upwards_depth = ep_levels(ep, EventPoll::watching_epolls, None)?;
    match depth + 1 + upwards_depth > EP_MAX_NESTS {
        true => Err(Errno::ELOOP),
        false => Ok(()),
    }
}

/// How many levels of epolls `next` leads through from `from`, counted up
/// to one past EP_MAX_NESTS; each level holds each epoll once, so a file
/// watched twice is walked once.
///
/// Linux: ep_loop_check_proc() and ep_get_upwards_depth_proc() in
/// fs/eventpoll.c
/// Differs: level by level instead of depth first with loop_check_gen marks.
///
/// # Errors
/// `ELOOP` when `inserting_into` is among them; `ENOMEM`.
fn ep_levels(
    from: &Arc<File>,
    next: fn(&EventPoll, &mut Vec<Arc<File>>) -> Result<(), Errno>,
    inserting_into: Option<&Arc<File>>,
) -> Result<usize, Errno> {
    let mut level = Vec::new();
    level.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    level.push(from.clone());
    for depth in 0..=EP_MAX_NESTS {
        let mut below = Vec::new();
        for ep in level.iter().filter_map(|f| f.f_op.eventpoll()) {
            next(ep, &mut below)?;
        }
        below.sort_unstable_by_key(|f| Arc::as_ptr(f).addr());
        below.dedup_by(|a, b| Arc::ptr_eq(a, b));
        if below.is_empty() {
            return Ok(depth);
        }
        if inserting_into.is_some_and(|ep| below.iter().any(|f| Arc::ptr_eq(f, ep))) {
            return Err(Errno::ELOOP);
        }
        level = below;
    }
    Ok(EP_MAX_NESTS + 1)
}

impl EventPoll {
    /// Appends to `out` the epolls this one watches.
    ///
    /// # Errors
    /// `ENOMEM`.
    fn watched_epolls(&self, out: &mut Vec<Arc<File>>) -> Result<(), Errno> {
        for (_, file, _, _) in self.live_items()? {
            if file.f_op.eventpoll().is_some() {
                out.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                out.push(file);
            }
        }
        Ok(())
    }

    /// Appends to `out` the epolls that watch this one.
    ///
    /// # Errors
    /// `ENOMEM`.
    fn watching_epolls(&self, out: &mut Vec<Arc<File>>) -> Result<(), Errno> {
        let mut refs = self.refs.lock();
        refs.retain(|r| r.strong_count() > 0);
        out.try_reserve(refs.len()).map_err(|_| Errno::ENOMEM)?;
        out.extend(refs.iter().filter_map(Weak::upgrade));
        Ok(())
    }
}

/// Waits up to `timeout` ms (negative: forever) for events of the
/// instance `epfd`; returns how many it wrote to `events`. A signal ends
/// the wait with EINTR, whatever SA_RESTART says, as on Linux.
///
/// Linux: do_epoll_wait() / ep_poll() in fs/eventpoll.c
///
/// # Errors
/// `EINVAL` for `maxevents` not in 1..=EP_MAX_EVENTS or `epfd` not an
/// epoll; `EBADF`; `EFAULT`; `EINTR`.
pub fn sys_epoll_wait(epfd: i32, events: u64, maxevents: i32, timeout: i32) -> SysResult {
    if maxevents <= 0 || maxevents > EP_MAX_EVENTS {
        return Err(Errno::EINVAL);
    }
    let f = fdget(epfd)?;
    let ep = f.f_op.eventpoll().ok_or(Errno::EINVAL)?;
    let deadline = u64::try_from(timeout)
        .ok()
        .map(|ms| crate::arch::time::ktime_get_ns().saturating_add(ms.saturating_mul(1_000_000)));
    match poll_loop(deadline, |table| {
        ep.ep_send_events(table, events, maxevents as usize)
    }) {
        Err(Errno::ERESTARTNOHAND) => Err(Errno::EINTR),
        result => result,
    }
}

/// epoll_wait with `sigmask` in force while it waits, as ppoll.
///
/// Linux: SYSCALL_DEFINE6(epoll_pwait) in fs/eventpoll.c
///
/// # Errors
/// As [`sys_epoll_wait`]; `EINVAL` for a `sigsetsize` other than 8.
pub fn sys_epoll_pwait(
    epfd: i32,
    events: u64,
    maxevents: i32,
    timeout: i32,
    sigmask: u64,
    sigsetsize: u64,
) -> SysResult {
    super::select::set_user_sigmask(sigmask, sigsetsize)?;
    let ret = sys_epoll_wait(epfd, events, maxevents, timeout);
    super::select::restore_saved_sigmask_unless(ret == Err(Errno::EINTR));
    ret
}

impl EventPoll {
    /// The insert, modify or remove step of epoll_ctl on item (`fd`, `tf`).
    ///
    /// Linux: ep_insert(), ep_modify(), ep_remove() in fs/eventpoll.c
    fn ep_ctl(&self, op: i32, fd: i32, tf: &Arc<File>, events: u32, data: u64) -> SysResult {
        let mut items = self.items.lock();
        items.retain(|item| item.file.strong_count() > 0);
        let at = items
            .iter()
            .position(|i| i.fd == fd && core::ptr::eq(i.file.as_ptr(), Arc::as_ptr(tf)));
        match (op, at) {
            (EPOLL_CTL_ADD, Some(_)) => Err(Errno::EEXIST),
            (EPOLL_CTL_ADD, None) => {
                items.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                let file = Arc::downgrade(tf);
                items.push(Epitem {
                    fd,
                    file,
                    events,
                    data,
                    seen: None,
                });
                Ok(0)
            }
            (EPOLL_CTL_DEL | EPOLL_CTL_MOD, None) => Err(Errno::ENOENT),
            (EPOLL_CTL_DEL, Some(i)) => {
                items.remove(i);
                Ok(0)
            }
            (EPOLL_CTL_MOD, Some(i)) if items[i].events & EPOLLEXCLUSIVE == 0 => {
                items[i] = Epitem {
                    fd,
                    file: Arc::downgrade(tf),
                    events,
                    data,
                    seen: None,
                };
                Ok(0)
            }
            _ => Err(Errno::EINVAL),
        }
    }
}
