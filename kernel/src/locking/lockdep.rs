//! The lock-order checker: proves, while the tests run, that no two locks are
//! ever taken in both orders, before the one interleaving that deadlocks.
//!
//! **Classes.** Locks that play the same role share a class, and the order
//! is checked between classes, not lock instances: every task's `mm` lock is
//! one class, so "task A's mm lock, then the tasklist lock" on one CPU and
//! "the tasklist lock, then task B's mm lock" on another is an inversion
//! even though no single pair of locks was ever taken both ways. A lock's
//! class is the place in the source where it was constructed:
//! [`SpinLock::new`](crate::arch::sync::SpinLock::new) is a `const fn` with
//! `#[track_caller]`, so a static lock's class is its own definition, and a
//! lock embedded in a structure gets the line of the constructor that built
//! it (`TaskStruct::new`'s `mm: SpinLock::new(None)`), which is Linux's rule
//! for `spin_lock_init()`. The type of the data is part of the class too:
//! `#[derive(Default)]` gives every field one location (the derive's), and
//! the types still tell `SignalStruct`'s `rlim` from its `posix_timers`
//! (two fields of one type in one derived struct would share a class; give
//! such a struct a hand-written constructor). When code must hold two locks of one class at
//! once (two run queues, an old and a new mm), the second is taken with
//! `lock_nested(n)`: `(site, n)` is a class of its own, and the code that
//! takes both promises a fixed order between them (double_rq_lock takes the
//! lower CPU's first).
//!
//! **What it records.** Each CPU keeps the stack of locks it holds (spin
//! locks disable interrupts, so a holder never leaves its CPU). Taking a new
//! lock adds the dependency "held class -> new class" for each held lock,
//! with both acquisition sites (`lock()` is `#[track_caller]` too). A new
//! dependency is checked once: if the new class already leads back to the
//! held one, the graph has a cycle and the checker prints the chain as
//! Linux does ("WARNING: possible circular locking dependency detected").
//! Taking a lock whose class this CPU already holds is "possible recursive
//! locking" (for the same lock, a certain self-deadlock: the report comes
//! before the spin). A hardware interrupt arriving while a lock is held
//! means that lock was held with interrupts on, and an interrupt handler
//! taking it would deadlock: "inconsistent lock state" (Linux's
//! irq-safe/irq-unsafe check; every lock here disables interrupts, so this
//! is the one way to get there). Each problem is printed once; the checker
//! stays on so that one report does not hide the next.
//!
//! **Cost.** Built without the `lockdep` feature (`make run`, `make
//! bench`), the checker costs nothing: `debug_locks()` is a constant false
//! and a lock or unlock checks nothing, as in a Linux built without
//! CONFIG_PROVE_LOCKING. Built with it (the suite's ktest build, `make
//! stress`) but not asked for on the command line, each lock and unlock
//! pays one load of a flag that never changes, and a predicted branch. On,
//! a dependency already seen costs a bit test; only a new one takes the
//! graph lock and searches the graph.
//!
//! **Its own state** is fixed-size and never allocates (an allocation would
//! take the heap's lock from inside the checker): at most
//! [`MAX_LOCKDEP_KEYS`] classes, [`MAX_LOCKDEP_DEPS`] dependencies and
//! [`MAX_LOCK_DEPTH`] locks held per CPU. When one fills up, the checker
//! says so once ("BUG: MAX_LOCKDEP_KEYS too low!") and turns itself off, as
//! Linux does. The graph sits behind a raw spin lock that the checker does
//! not check; each CPU's held stack behind another that only that CPU takes,
//! with `try_lock`, so that a lock taken while the checker itself runs (the
//! console's, while a report prints) is simply not tracked.
//!
//! Linux: kernel/locking/lockdep.c
//! Differs: held locks are per CPU, not per task (a spin lock is never held
//! across a switch here); classes are construction sites, not static keys.
//! Not modelled: read/write locks, sleeping locks (kflushd's hand-rolled
//! mutex is not tracked), softirq contexts, the lock-chain cache.

use super::lockdep_report::{self, Chain, Problem};
use crate::arch::gdt::NR_CPUS;
use core::panic::Location;
use core::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};

/// The most lock classes (Linux: MAX_LOCKDEP_KEYS).
pub const MAX_LOCKDEP_KEYS: usize = 512;
/// The most dependencies between classes (Linux: MAX_LOCKDEP_ENTRIES).
pub const MAX_LOCKDEP_DEPS: usize = 4096;
/// The most locks one CPU holds at once (Linux: MAX_LOCK_DEPTH).
pub const MAX_LOCK_DEPTH: usize = 32;

/// The subclass of the second lock of a class held at once (Linux's name).
pub const SINGLE_DEPTH_NESTING: u8 = 1;

static DEBUG_LOCKS: AtomicBool = AtomicBool::new(false);

/// Identifies a lock's class: where it was constructed, and the class
/// number once the checker has seen it (0 before).
///
/// Linux: struct lock_class_key in include/linux/lockdep_types.h
pub struct LockClassKey {
    site: &'static Location<'static>,
    class: AtomicU16,
}

impl LockClassKey {
    /// The key of a lock constructed at the caller's location.
    #[track_caller]
    pub const fn new() -> Self {
        LockClassKey {
            site: Location::caller(),
            class: AtomicU16::new(0),
        }
    }
}

impl Default for LockClassKey {
    #[track_caller]
    fn default() -> Self {
        LockClassKey::new()
    }
}

/// A class as the graph stores it.
#[derive(Clone, Copy)]
pub(super) struct LockClass {
    pub site: &'static Location<'static>,
    pub subclass: u8,
    pub name: &'static str,
}

/// One edge of the graph: `next` was taken while `prev` was held (Linux:
/// struct lock_list), with the two acquisition sites of the first time.
#[derive(Clone, Copy)]
pub(super) struct LockDep {
    pub prev: u16,
    pub next: u16,
    pub prev_ip: &'static Location<'static>,
    pub next_ip: &'static Location<'static>,
}

/// A lock this CPU holds (Linux: struct held_lock).
#[derive(Clone, Copy)]
struct HeldLock {
    class: u16,
    addr: usize,
    acquire_ip: &'static Location<'static>,
}

pub(super) struct HeldLocks {
    depth: usize,
    stack: [Option<HeldLock>; MAX_LOCK_DEPTH],
}

pub(super) struct Graph {
    pub classes: [Option<LockClass>; MAX_LOCKDEP_KEYS],
    /// Classes registered: numbers 1 to `nr_classes` (0 is no class). It
    /// starts at 0 so that the whole graph is zero and sits in `.bss`, not
    /// in the image the bootloader loads.
    pub nr_classes: usize,
    pub deps: [Option<LockDep>; MAX_LOCKDEP_DEPS],
    pub nr_deps: usize,
    /// Breadth-first search scratch: the class each one was reached from.
    parent: [u16; MAX_LOCKDEP_KEYS],
    pub queue: [u16; MAX_LOCKDEP_KEYS],
}

const WORDS: usize = MAX_LOCKDEP_KEYS / 64;

pub(super) static GRAPH: spin::Mutex<Graph> = spin::Mutex::new(Graph {
    classes: [None; MAX_LOCKDEP_KEYS],
    nr_classes: 0,
    deps: [None; MAX_LOCKDEP_DEPS],
    nr_deps: 0,
    parent: [0; MAX_LOCKDEP_KEYS],
    queue: [0; MAX_LOCKDEP_KEYS],
});

/// Bit `next` of row `prev`: the dependency prev -> next is in the graph.
/// Read without the graph lock, so that a known dependency costs one load.
static DEP_BITS: [AtomicU64; MAX_LOCKDEP_KEYS * WORDS] =
    [const { AtomicU64::new(0) }; MAX_LOCKDEP_KEYS * WORDS];

static HELD: [spin::Mutex<HeldLocks>; NR_CPUS] = [const {
    spin::Mutex::new(HeldLocks {
        depth: 0,
        stack: [None; MAX_LOCK_DEPTH],
    })
}; NR_CPUS];

/// Turns the checker on if the command line says `lockdep`; called once,
/// right after the command line is read (locks taken before are not tracked).
///
/// Linux: lockdep_init() in kernel/locking/lockdep.c (CONFIG_PROVE_LOCKING)
/// Differs: a kernel built with the checker (the `lockdep` feature) still
/// needs the boot parameter, so that `make stress` and the suite can boot
/// one build with it on and off; Linux's is on from boot.
pub fn lockdep_init() {
    if crate::params::param("lockdep").is_some() {
        if !cfg!(feature = "lockdep") {
            log::warn!("lockdep: not built into this kernel (build it with --features lockdep)");
            return;
        }
        DEBUG_LOCKS.store(true, Ordering::Release);
        log::info!(
            "lockdep: lock-order checker on: {MAX_LOCKDEP_KEYS} classes, {MAX_LOCKDEP_DEPS} dependencies, {MAX_LOCK_DEPTH} held locks per CPU at most"
        );
    }
}

/// Whether the checker is on (Linux: debug_locks). Always false in a
/// kernel built without it: every lock and unlock then compiles to no
/// check at all.
#[inline(always)]
pub fn debug_locks() -> bool {
    cfg!(feature = "lockdep") && DEBUG_LOCKS.load(Ordering::Relaxed)
}

/// Turns the checker off after it ran out of room, saying why once.
///
/// Linux: debug_locks_off() in lib/debug_locks.c
fn debug_locks_off(why: &str) {
    if DEBUG_LOCKS.swap(false, Ordering::AcqRel) {
        log::error!("BUG: {why} too low!");
        log::error!("turning off the locking correctness validator.");
    }
}

/// Records that this CPU takes (`trylock`: has taken) the lock at `addr`
/// whose key is `key`; checks the new dependencies first. Returns whether
/// the lock is tracked, which its release must pass back. Interrupts are off.
///
/// Linux: lock_acquire() in kernel/locking/lockdep.c
#[inline(always)]
#[must_use]
#[track_caller]
pub fn lock_acquire(
    key: &LockClassKey,
    subclass: u8,
    name: &'static str,
    addr: usize,
    trylock: bool,
) -> bool {
    if !debug_locks() {
        return false;
    }
    __lock_acquire(key, subclass, name, addr, trylock, Location::caller())
}

#[cold]
#[inline(never)]
fn __lock_acquire(
    key: &LockClassKey,
    subclass: u8,
    name: &'static str,
    addr: usize,
    trylock: bool,
    ip: &'static Location<'static>,
) -> bool {
    // Busy: this lock is taken from inside the checker on this CPU.
    let Some(mut held) = this_cpu_held() else {
        return false;
    };
    let Some(class) = register_lock_class(key, subclass, name) else {
        return false;
    };
    if held.depth == MAX_LOCK_DEPTH {
        debug_locks_off("MAX_LOCK_DEPTH");
        return false;
    }
    if !trylock {
        check_deadlock(&held, class, addr, ip);
        for prev in held.stack[..held.depth].iter().flatten() {
            check_prev_add(prev, class, ip);
        }
    }
    let depth = held.depth;
    held.stack[depth] = Some(HeldLock {
        class,
        addr,
        acquire_ip: ip,
    });
    held.depth += 1;
    true
}

/// Forgets the lock at `addr` on this CPU; `tracked` is what
/// [`lock_acquire`] returned. Locks may be released in any order.
///
/// Linux: lock_release() in kernel/locking/lockdep.c
#[inline(always)]
pub fn lock_release(addr: usize, tracked: bool) {
    if cfg!(feature = "lockdep") && tracked {
        __lock_release(addr);
    }
}

#[cold]
#[inline(never)]
fn __lock_release(addr: usize) {
    let Some(mut held) = this_cpu_held() else {
        return;
    };
    let depth = held.depth;
    let Some(i) = held.stack[..depth]
        .iter()
        .rposition(|h| h.is_some_and(|h| h.addr == addr))
    else {
        return;
    };
    held.stack.copy_within(i + 1..depth, i);
    held.stack[depth - 1] = None;
    held.depth -= 1;
}

/// This CPU's held-lock stack, unless the checker is already at work on
/// this CPU (a lock taken while it prints), or the CPU has no per-CPU area
/// yet (an application processor's first steps): then nothing is tracked.
pub(super) fn this_cpu_held() -> Option<spin::MutexGuard<'static, HeldLocks>> {
    if x86_64::registers::model_specific::GsBase::read().is_null() {
        return None;
    }
    HELD[crate::arch::percpu::smp_processor_id()].try_lock()
}

/// The class number of `(key, subclass)`, registering it on first use.
///
/// Linux: register_lock_class() in kernel/locking/lockdep.c
fn register_lock_class(key: &LockClassKey, subclass: u8, name: &'static str) -> Option<u16> {
    let cached = key.class.load(Ordering::Relaxed);
    if cached != 0 && subclass == 0 {
        return Some(cached);
    }
    let mut graph = GRAPH.lock();
    let n = graph.nr_classes + 1;
    let found = graph.classes[1..n]
        .iter()
        .position(|c| {
            c.is_some_and(|c| *c.site == *key.site && c.subclass == subclass && c.name == name)
        })
        .map(|i| i as u16 + 1);
    let class = match found {
        Some(class) => class,
        None if n == MAX_LOCKDEP_KEYS => {
            drop(graph);
            debug_locks_off("MAX_LOCKDEP_KEYS");
            return None;
        }
        None => {
            graph.classes[n] = Some(LockClass {
                site: key.site,
                subclass,
                name,
            });
            graph.nr_classes += 1;
            n as u16
        }
    };
    if subclass == 0 {
        key.class.store(class, Ordering::Relaxed);
    }
    Some(class)
}

fn dep_bit(prev: u16, next: u16) -> (usize, u64) {
    let (p, n) = (prev as usize, next as usize);
    (p * WORDS + n / 64, 1 << (n % 64))
}

fn has_dep(prev: u16, next: u16) -> bool {
    let (word, bit) = dep_bit(prev, next);
    DEP_BITS[word].load(Ordering::Acquire) & bit != 0
}

/// Taking a class this CPU already holds: report it (once per class).
///
/// Linux: check_deadlock() in kernel/locking/lockdep.c
fn check_deadlock(held: &HeldLocks, class: u16, addr: usize, ip: &'static Location<'static>) {
    let Some(prev) = held.stack[..held.depth]
        .iter()
        .flatten()
        .find(|h| h.class == class)
    else {
        return;
    };
    let graph = GRAPH.lock();
    let Some(lock) = graph.classes[class as usize] else {
        return;
    };
    drop(graph);
    lockdep_report::report(Problem::Recursive {
        id: class,
        class: lock,
        same_lock: prev.addr == addr,
        prev_ip: prev.acquire_ip,
        next_ip: ip,
    });
}

/// Adds the dependency `prev.class -> next` unless known; if `next` already
/// leads to `prev.class`, the new edge closes a cycle: report it.
///
/// Linux: check_prev_add() / check_noncircular() in kernel/locking/lockdep.c
fn check_prev_add(prev: &HeldLock, next: u16, ip: &'static Location<'static>) {
    if prev.class == next || has_dep(prev.class, next) {
        return;
    }
    let mut graph = GRAPH.lock();
    if has_dep(prev.class, next) {
        return;
    }
    let new = LockDep {
        prev: prev.class,
        next,
        prev_ip: prev.acquire_ip,
        next_ip: ip,
    };
    let cycle = find_path(&mut graph, next, prev.class).map(|path| Chain::new(&graph, new, path));
    if graph.nr_deps == MAX_LOCKDEP_DEPS {
        drop(graph);
        debug_locks_off("MAX_LOCKDEP_DEPS");
        return;
    }
    let n = graph.nr_deps;
    graph.deps[n] = Some(new);
    graph.nr_deps += 1;
    let (word, bit) = dep_bit(prev.class, next);
    DEP_BITS[word].fetch_or(bit, Ordering::Release);
    drop(graph);
    if let Some(chain) = cycle {
        lockdep_report::report(Problem::Circular(&chain));
    }
}

/// A path of classes from `from` to `to` along recorded dependencies, as
/// the classes after `from` in order, in `graph.queue[..len]`; `None` if
/// there is none.
///
/// Linux: __bfs() in kernel/locking/lockdep.c
fn find_path(graph: &mut Graph, from: u16, to: u16) -> Option<usize> {
    let mut seen = [0u64; WORDS];
    let (mut head, mut tail) = (0, 1);
    graph.queue[0] = from;
    seen[from as usize / 64] |= 1 << (from % 64);
    while head < tail {
        let c = graph.queue[head];
        head += 1;
        if c == to {
            return Some(path_to(graph, from, to));
        }
        for w in 0..WORDS {
            let mut bits = DEP_BITS[c as usize * WORDS + w].load(Ordering::Relaxed) & !seen[w];
            while bits != 0 {
                let next = (w * 64 + bits.trailing_zeros() as usize) as u16;
                bits &= bits - 1;
                seen[w] |= 1 << (next % 64);
                graph.parent[next as usize] = c;
                graph.queue[tail] = next;
                tail += 1;
            }
        }
    }
    None
}

/// Writes the path found by [`find_path`] into `graph.queue`, first step
/// first, and returns its length.
fn path_to(graph: &mut Graph, from: u16, to: u16) -> usize {
    let mut len = 0;
    let mut c = to;
    while c != from {
        len += 1;
        c = graph.parent[c as usize];
    }
    let mut c = to;
    for i in (0..len).rev() {
        graph.queue[i] = c;
        c = graph.parent[c as usize];
    }
    len
}

/// Whether a held lock sees this hardware interrupt arrive: it was then held
/// with interrupts on. Called from irq_enter().
///
/// Linux: the HARDIRQ-ON-W / IN-HARDIRQ-W checks of mark_lock_irq()
pub fn lockdep_hardirq_enter() {
    if !debug_locks() {
        return;
    }
    let Some(held) = this_cpu_held() else {
        return;
    };
    let Some(h) = held.stack[..held.depth].iter().flatten().next() else {
        return;
    };
    let class = GRAPH.lock().classes[h.class as usize];
    if let Some(class) = class {
        lockdep_report::report(Problem::IrqOn {
            id: h.class,
            class,
            ip: h.acquire_ip,
        });
    }
}
