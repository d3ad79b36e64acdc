//! Pending signals as Linux keeps them: a set of signal numbers, and a
//! list of queued siginfos in the order they were sent. A standard signal
//! (below SIGRTMIN) is queued at most once; each real-time signal is queued
//! every time it is sent, with its own siginfo. Each entry is charged to
//! the receiving user's RLIMIT_SIGPENDING count until it is taken.
//!
//! Linux: struct sigpending / struct sigqueue in include/linux/signal_types.h;
//! __sigqueue_alloc(), collect_signal(), next_signal(), flush_sigqueue() in
//! kernel/signal.c

use super::*;
use crate::resource::RLIMIT_SIGPENDING;
use crate::user::{UserStruct, task_user};
use alloc::boxed::Box;
use alloc::sync::Arc;

/// The first real-time signal (Linux: SIGRTMIN, the kernel's 32).
pub const SIGRTMIN: i32 = 32;
/// Bad system call.
pub const SIGSYS: i32 = 31;

/// Signals a task causes itself; taken before any other pending one.
///
/// Linux: SYNCHRONOUS_MASK in kernel/signal.c
const SYNCHRONOUS_MASK: u64 = (1 << (SIGSEGV - 1))
    | (1 << (SIGBUS - 1))
    | (1 << (SIGILL - 1))
    | (1 << (SIGTRAP - 1))
    | (1 << (SIGFPE - 1))
    | (1 << (SIGSYS - 1));

/// One queued signal (Linux: `struct sigqueue`). Owning one holds one unit
/// of its user's RLIMIT_SIGPENDING count, given back when it is dropped.
pub struct Sigqueue {
    /// What the receiver learns.
    pub info: KernelSiginfo,
    /// The POSIX timer that owns this entry and takes it back once it is
    /// dequeued (Linux: SIGQUEUE_PREALLOC).
    pub(crate) timer: Option<alloc::sync::Weak<crate::time::posix_timers::KItimer>>,
    user: Arc<UserStruct>,
    next: Option<Box<Sigqueue>>,
}

impl Drop for Sigqueue {
    fn drop(&mut self) {
        self.user.sigpending.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Allocates a queue entry for a signal to `t`, charged to `t`'s user.
/// None when the user is at RLIMIT_SIGPENDING (unless `override_rlimit`)
/// or memory is short: the caller decides what is lost.
///
/// Linux: __sigqueue_alloc() / sigqueue_alloc() in kernel/signal.c
pub fn __sigqueue_alloc(t: &TaskStruct, override_rlimit: bool) -> Option<Box<Sigqueue>> {
    let user = task_user(t);
    let count = user.sigpending.fetch_add(1, Ordering::Relaxed) + 1;
    let limit = t.signal().rlim.lock().cur(RLIMIT_SIGPENDING);
    if !override_rlimit && count > limit {
        user.sigpending.fetch_sub(1, Ordering::Relaxed);
        return None;
    }
    // From here the count is owned by the entry, or given back with it.
    let entry = Sigqueue {
        info: KernelSiginfo::default(),
        timer: None,
        user,
        next: None,
    };
    Box::try_new(entry).ok()
}

/// Queued entries in sending order, a singly linked list so that queueing
/// an entry never allocates (Linux: the `list_head` of `struct sigpending`).
#[derive(Default)]
pub struct SigqueueList {
    head: Option<Box<Sigqueue>>,
}

impl SigqueueList {
    /// Appends `q` at the tail (Linux: list_add_tail()).
    fn push_back(&mut self, q: Box<Sigqueue>) {
        let mut slot = &mut self.head;
        while let Some(node) = slot {
            slot = &mut node.next;
        }
        *slot = Some(q);
    }

    /// Unlinks the entries `pick` selects, keeping the order of both lists.
    fn extract(&mut self, mut pick: impl FnMut(&Sigqueue) -> bool) -> SigqueueList {
        let mut taken = SigqueueList::default();
        let mut rest = self.head.take();
        let mut kept_tail = &mut self.head;
        let mut taken_tail = &mut taken.head;
        while let Some(mut node) = rest {
            rest = node.next.take();
            if pick(&node) {
                taken_tail = &mut taken_tail.insert(node).next;
            } else {
                kept_tail = &mut kept_tail.insert(node).next;
            }
        }
        taken
    }

    /// Whether an entry for `sig` is queued.
    fn contains(&self, sig: i32) -> bool {
        let mut node = self.head.as_deref();
        while let Some(q) = node {
            if q.info.signo == sig {
                return true;
            }
            node = q.next.as_deref();
        }
        false
    }

    /// Takes the first entry off the list.
    fn pop_front(&mut self) -> Option<Box<Sigqueue>> {
        let mut q = self.head.take()?;
        self.head = q.next.take();
        Some(q)
    }
}

impl Drop for SigqueueList {
    /// Frees entries one at a time: a long queue must not recurse.
    fn drop(&mut self) {
        while let Some(q) = self.pop_front() {
            __sigqueue_free(q);
        }
    }
}

/// Gives an entry up: a timer's goes back to its timer, any other is freed.
///
/// Linux: __sigqueue_free() in kernel/signal.c
fn __sigqueue_free(q: Box<Sigqueue>) {
    if q.timer.is_some() {
        crate::time::posix_timers::posixtimer_sigqueue_put(q);
    }
}

/// Signals pending for a thread or a whole process (Linux: `struct
/// sigpending`). Lock: `list`'s; `signal` is written only under it and read
/// without it by signal_pending() (Linux: both under sighand->siglock).
#[derive(Default)]
pub struct SigPending {
    /// The set of pending signal numbers, bit `sig - 1`.
    pub(super) signal: AtomicU64,
    list: SpinLock<SigqueueList>,
}

impl SigPending {
    /// Drops every pending signal, as copy_process does for a child.
    pub fn clear(&self) {
        flush_sigqueue(self);
    }

    /// Whether `sig` is pending.
    pub fn contains(&self, sig: i32) -> bool {
        self.signal.load(Ordering::Relaxed) & sigmask(sig) != 0
    }

    /// The set of pending signals (Linux: pending->signal).
    pub fn signal(&self) -> u64 {
        self.signal.load(Ordering::Relaxed)
    }

    /// Adds `sig` with `q` (None: the number alone, its siginfo lost), and
    /// returns false without queueing anything for a standard signal that is
    /// already pending.
    ///
    /// Linux: legacy_queue() and the list_add_tail()/sigaddset() of
    /// __send_signal_locked() in kernel/signal.c
    pub(super) fn queue(&self, sig: i32, q: Option<Box<Sigqueue>>) -> bool {
        let mut list = self.list.lock();
        if sig < SIGRTMIN && self.contains(sig) {
            return false;
        }
        if let Some(q) = q {
            list.push_back(q);
        }
        self.signal.fetch_or(sigmask(sig), Ordering::Relaxed);
        true
    }

    /// Adds a timer's preallocated entry, whether or not `sig` is pending
    /// already: a timer's signal is never coalesced with another sender's.
    ///
    /// Linux: the list_add_tail()/sigaddset() of posixtimer_send_sigqueue()
    pub(super) fn queue_prealloc(&self, sig: i32, q: Box<Sigqueue>) {
        let mut list = self.list.lock();
        list.push_back(q);
        self.signal.fetch_or(sigmask(sig), Ordering::Relaxed);
    }
}

/// The pending signal to take next among those not in `mask`: a
/// synchronous one (a fault) first, then the lowest number.
///
/// Linux: next_signal() in kernel/signal.c
fn next_signal(pending: u64, mask: u64) -> Option<i32> {
    let mut x = pending & !mask;
    if x & SYNCHRONOUS_MASK != 0 {
        x &= SYNCHRONOUS_MASK;
    }
    (x != 0).then(|| x.trailing_zeros() as i32 + 1)
}

/// Takes the first queued instance of `sig`; the number stays pending while
/// another instance is queued. An instance sent without a queue entry reads
/// as SI_USER with the sender unknown.
///
/// Linux: collect_signal() in kernel/signal.c
fn collect_signal(
    sig: i32,
    pending: &SigPending,
    list: &mut SigqueueList,
) -> (KernelSiginfo, Option<Box<Sigqueue>>) {
    let mut found = false;
    let mut first = list.extract(|q| {
        let take = !found && q.info.signo == sig;
        found |= take;
        take
    });
    if !list.contains(sig) {
        pending.signal.fetch_and(!sigmask(sig), Ordering::Relaxed);
    }
    match first.pop_front() {
        Some(q) => (q.info, Some(q)),
        None => (
            KernelSiginfo {
                signo: sig,
                code: SI_USER,
                ..Default::default()
            },
            None,
        ),
    }
}

/// Takes the next signal not in `mask` off `pending`: its number, its
/// siginfo and its queue entry (a timer's entry goes back to the timer).
///
/// Linux: __dequeue_signal() in kernel/signal.c
pub(super) fn __dequeue_signal(
    pending: &SigPending,
    mask: u64,
) -> Option<(i32, KernelSiginfo, Option<Box<Sigqueue>>)> {
    let mut list = pending.list.lock();
    let sig = next_signal(pending.signal(), mask)?;
    let (info, q) = collect_signal(sig, pending, &mut list);
    Some((sig, info, q))
}

/// Drops every pending signal and its entries.
///
/// Linux: flush_sigqueue() in kernel/signal.c
pub fn flush_sigqueue(pending: &SigPending) {
    flush_sigqueue_mask(pending, u64::MAX);
}

/// Drops the pending signals in `mask` and all their queued instances,
/// as when they become ignored.
///
/// Linux: flush_sigqueue_mask() in kernel/signal.c
pub fn flush_sigqueue_mask(pending: &SigPending, mask: u64) {
    let dropped = {
        let mut list = pending.list.lock();
        pending.signal.fetch_and(!mask, Ordering::Relaxed);
        list.extract(|q| mask & sigmask(q.info.signo) != 0)
    };
    // Entries are freed with the lock dropped: a timer's goes back to it.
    drop(dropped);
}

/// The signals pending for `t`, sent to the thread or to its process.
///
/// Linux: the sigorsets() of do_sigpending() in kernel/signal.c
pub fn task_pending_signals(t: &TaskStruct) -> u64 {
    t.pending.signal() | t.signal().shared_pending.signal()
}

#[cfg(feature = "ktest")]
mod tests {
    use super::*;
    use crate::user::root_user;
    use crate::{kassert, kassert_eq, ktest};

    /// An entry for `sig` with `value`, charged to the running task's user.
    fn entry(sig: i32, value: u64) -> Option<Box<Sigqueue>> {
        let mut q = __sigqueue_alloc(&crate::task::current(), true)?;
        q.info = KernelSiginfo {
            signo: sig,
            code: SI_QUEUE,
            value,
            ..Default::default()
        };
        Some(q)
    }

    fn take(p: &SigPending) -> Option<(i32, u64)> {
        __dequeue_signal(p, 0).map(|(sig, info, _)| (sig, info.value))
    }

    ktest! {
        fn a_standard_signal_is_queued_once_and_a_real_time_one_every_time() {
            let p = SigPending::default();
            kassert!(p.queue(SIGUSR1, entry(SIGUSR1, 1)));
            kassert!(!p.queue(SIGUSR1, entry(SIGUSR1, 2)), "legacy_queue drops the second");
            for v in 10..13 {
                kassert!(p.queue(SIGRTMIN, entry(SIGRTMIN, v)));
            }
            kassert_eq!(take(&p), Some((SIGUSR1, 1)));
            kassert_eq!(take(&p), Some((SIGRTMIN, 10)));
            kassert!(p.contains(SIGRTMIN), "the bit stays while instances are queued");
            kassert_eq!(take(&p), Some((SIGRTMIN, 11)));
            kassert_eq!(take(&p), Some((SIGRTMIN, 12)));
            kassert!(!p.contains(SIGRTMIN));
            kassert_eq!(take(&p), None);
        }
    }

    ktest! {
        fn a_fault_signal_is_taken_before_a_lower_numbered_one() {
            let p = SigPending::default();
            p.queue(SIGHUP, entry(SIGHUP, 0));
            p.queue(SIGSEGV, entry(SIGSEGV, 0));
            kassert_eq!(take(&p).map(|t| t.0), Some(SIGSEGV));
            kassert_eq!(take(&p).map(|t| t.0), Some(SIGHUP));
        }
    }

    ktest! {
        fn a_signal_without_an_entry_reads_as_si_user_from_nobody() {
            let p = SigPending::default();
            let me = crate::task::current();
            me.fail_nth.arm(1);
            let q = __sigqueue_alloc(&me, true);
            me.fail_nth.arm(0);
            kassert!(q.is_none(), "the injected allocation failure is reported, not a panic");
            p.queue(SIGTERM, q);
            let (sig, info, _) = __dequeue_signal(&p, 0).unwrap_or_default();
            kassert_eq!((sig, info.code, info.pid, info.value), (SIGTERM, SI_USER, 0, 0));
        }
    }

    ktest! {
        fn entries_hold_the_user_s_sigpending_count_until_taken_or_flushed() {
            let before = root_user().sigpending.load(Ordering::Relaxed);
            let p = SigPending::default();
            for v in 0..4 {
                p.queue(SIGRTMIN + 1, entry(SIGRTMIN + 1, v));
            }
            kassert_eq!(root_user().sigpending.load(Ordering::Relaxed), before + 4);
            take(&p);
            kassert_eq!(root_user().sigpending.load(Ordering::Relaxed), before + 3);
            flush_sigqueue_mask(&p, sigmask(SIGRTMIN + 1));
            kassert!(!p.contains(SIGRTMIN + 1));
            kassert_eq!(root_user().sigpending.load(Ordering::Relaxed), before);
        }
    }
}
