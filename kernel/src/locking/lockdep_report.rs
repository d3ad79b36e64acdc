//! The checker's reports: what it prints when it finds a problem, and the
//! record of what it found, which the tests read back.
//!
//! Each problem is printed once, in the shape of Linux's reports, so that
//! a reader who has seen one of Linux's recognises it. A test that provokes
//! a report on purpose wraps the provocation in [`expect_report`]; the
//! report is then preceded by the line `lockdep: expected by a test`, and
//! the host test suite fails any boot whose log holds a report that is not.
//!
//! Linux: print_circular_bug(), print_deadlock_bug(), print_usage_bug() in
//! kernel/locking/lockdep.c

use super::lockdep::{
    GRAPH, Graph, LockClass, LockDep, MAX_LOCKDEP_KEYS, debug_locks, this_cpu_held,
};
use core::panic::Location;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// The longest chain a report shows.
const CHAIN_MAX: usize = 8;

/// A cycle: the existing dependencies from the new lock's class back to the
/// held one, then the new dependency that closes it.
#[derive(Clone, Copy)]
pub(super) struct Chain {
    links: [Option<(LockDep, LockClass, LockClass)>; CHAIN_MAX],
    len: usize,
    new: (LockDep, LockClass, LockClass),
}

impl Chain {
    /// The chain `new.next -> path[0] -> ... -> path[len-1] (= new.prev)`.
    pub fn new(graph: &Graph, new: LockDep, len: usize) -> Chain {
        let class = |c: u16| graph.classes[c as usize].expect("a registered class");
        let link = |d: LockDep| (d, class(d.prev), class(d.next));
        let mut chain = Chain {
            links: [None; CHAIN_MAX],
            len: 0,
            new: link(new),
        };
        let mut from = new.next;
        for &to in &graph.queue[..len] {
            let dep = graph
                .deps
                .iter()
                .flatten()
                .find(|d| d.prev == from && d.next == to);
            if let (Some(&dep), true) = (dep, chain.len < CHAIN_MAX) {
                chain.links[chain.len] = Some(link(dep));
                chain.len += 1;
            }
            from = to;
        }
        chain
    }
}

/// What the checker found.
pub(super) enum Problem<'a> {
    /// A new dependency closes a cycle (by reference: the checker does
    /// not allocate, and the chain is large).
    Circular(&'a Chain),
    /// A class taken while this CPU holds it.
    Recursive {
        id: u16,
        class: LockClass,
        same_lock: bool,
        prev_ip: &'static Location<'static>,
        next_ip: &'static Location<'static>,
    },
    /// A lock held when a hardware interrupt came in.
    IrqOn {
        id: u16,
        class: LockClass,
        ip: &'static Location<'static>,
    },
}

static EXPECTED: AtomicUsize = AtomicUsize::new(0);
static NR_CIRCULAR: AtomicUsize = AtomicUsize::new(0);
static NR_RECURSIVE: AtomicUsize = AtomicUsize::new(0);
static NR_IRQ_ON: AtomicUsize = AtomicUsize::new(0);
/// Per class: its recursion (bit) or irq-on (second half) was reported.
static REPORTED: [AtomicU64; 2 * MAX_LOCKDEP_KEYS / 64] =
    [const { AtomicU64::new(0) }; 2 * MAX_LOCKDEP_KEYS / 64];
/// Sites of the last problem of each kind (acquisition of the new lock).
static LAST_SITE: spin::Mutex<[Option<&'static Location<'static>>; 3]> =
    spin::Mutex::new([None; 3]);

/// Counts of problems found: (circular, recursive, held with irqs on).
pub fn nr_problems() -> (usize, usize, usize) {
    (
        NR_CIRCULAR.load(Ordering::Relaxed),
        NR_RECURSIVE.load(Ordering::Relaxed),
        NR_IRQ_ON.load(Ordering::Relaxed),
    )
}

/// The acquisition site of the last circular (0), recursive (1) or
/// irq-on (2) problem reported.
pub fn last_problem_site(kind: usize) -> Option<&'static Location<'static>> {
    LAST_SITE.lock()[kind]
}

/// Runs `f`, which provokes a report on purpose; its reports are marked as
/// expected so that the test suite does not count them as bugs.
pub fn expect_report<R>(f: impl FnOnce() -> R) -> R {
    EXPECTED.fetch_add(1, Ordering::SeqCst);
    let r = f();
    EXPECTED.fetch_sub(1, Ordering::SeqCst);
    r
}

fn first_time(class: u16, half: usize) -> bool {
    let bit = half * MAX_LOCKDEP_KEYS + class as usize;
    let mask = 1 << (bit % 64);
    REPORTED[bit / 64].fetch_or(mask, Ordering::Relaxed) & mask == 0
}

/// Prints `problem` (unless already reported) and records it.
pub(super) fn report(problem: Problem<'_>) {
    let (kind, site) = match &problem {
        Problem::Circular(chain) => (0, chain.new.0.next_ip),
        Problem::Recursive { id, next_ip, .. } => {
            if !first_time(*id, 0) {
                return;
            }
            (1, *next_ip)
        }
        Problem::IrqOn { id, ip, .. } => {
            if !first_time(*id, 1) {
                return;
            }
            (2, *ip)
        }
    };
    [&NR_CIRCULAR, &NR_RECURSIVE, &NR_IRQ_ON][kind].fetch_add(1, Ordering::Relaxed);
    LAST_SITE.lock()[kind] = Some(site);
    if EXPECTED.load(Ordering::SeqCst) != 0 {
        log::warn!("lockdep: expected by a test");
    }
    match problem {
        Problem::Circular(chain) => print_circular_bug(chain),
        Problem::Recursive {
            class,
            same_lock,
            prev_ip,
            next_ip,
            ..
        } => print_deadlock_bug(&class, same_lock, prev_ip, next_ip),
        Problem::IrqOn { class, ip, .. } => print_usage_bug(&class, ip),
    }
}

struct Name<'a>(&'a LockClass);

impl core::fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let c = self.0;
        let name = c.name.strip_prefix("kernel::").unwrap_or(c.name);
        write!(f, "({name} at {}", c.site)?;
        if c.subclass != 0 {
            write!(f, "/{}", c.subclass)?;
        }
        write!(f, ")")
    }
}

fn header(title: &str) {
    log::info!("======================================================");
    log::warn!("{title}");
    let (comm, pid) = crate::arch::percpu::with_current(|c| {
        c.map_or((crate::task::Comm::new("?"), 0), |c| {
            (c.comm_lossy(), c.pid())
        })
    });
    log::info!(
        "{}/{pid} on CPU {}",
        comm.as_str(),
        crate::arch::percpu::smp_processor_id()
    );
    log::info!("------------------------------------------------------");
}

/// Linux: print_circular_bug() in kernel/locking/lockdep.c
fn print_circular_bug(chain: &Chain) {
    let (new, held, next) = chain.new;
    header("possible circular locking dependency detected");
    log::info!("is trying to acquire lock:");
    log::info!(" {}, at: {}", Name(&next), new.next_ip);
    log::info!("but already holds lock:");
    log::info!(" {}, at: {}", Name(&held), new.prev_ip);
    log::info!("which lock already depends on the new lock.");
    log::info!("the existing dependency chain (in reverse order) is:");
    for (i, link) in chain.links[..chain.len].iter().enumerate().rev() {
        let Some((dep, prev, next)) = link else {
            continue;
        };
        log::info!("-> #{} {}:", i + 1, Name(next));
        log::info!(
            "       taken at {} while holding {} (taken at {})",
            dep.next_ip,
            Name(prev),
            dep.prev_ip
        );
    }
    log::info!("-> #0 {}:", Name(&next));
    log::info!(
        "       taken at {} while holding {} (taken at {})",
        new.next_ip,
        Name(&held),
        new.prev_ip
    );
    log::info!(" Possible unsafe locking scenario:");
    log::info!("       CPU0                    CPU1");
    log::info!("  lock{};", Name(&held));
    log::info!("                               lock{};", Name(&next));
    log::info!("                               lock{};", Name(&held));
    log::info!("  lock{};", Name(&next));
    log::info!(" *** DEADLOCK ***");
}

/// Linux: print_deadlock_bug() in kernel/locking/lockdep.c
fn print_deadlock_bug(
    class: &LockClass,
    same_lock: bool,
    prev_ip: &'static Location<'static>,
    next_ip: &'static Location<'static>,
) {
    header("possible recursive locking detected");
    log::info!("is trying to acquire lock:");
    log::info!(" {}, at: {next_ip}", Name(class));
    log::info!("but already holds lock:");
    log::info!(" {}, at: {prev_ip}", Name(class));
    if same_lock {
        log::info!("the very same lock: this CPU now spins forever.");
    } else {
        log::info!("another lock of the same class: take it with lock_nested() in a fixed order.");
    }
    log::info!(" *** DEADLOCK ***");
}

/// Linux: print_usage_bug() in kernel/locking/lockdep.c ({HARDIRQ-ON-W})
fn print_usage_bug(class: &LockClass, ip: &'static Location<'static>) {
    header("inconsistent lock state");
    log::info!("a hardware interrupt arrived while this CPU held");
    log::info!(" {}, at: {ip}", Name(class));
    log::info!("so it was held with interrupts on; a handler taking it would spin forever.");
}

/// Prints what the checker saw, when it is on: at power-off, so that each
/// test boot's log ends with it.
///
/// Linux: /proc/lockdep_stats (lockdep_stats_show() in kernel/locking/lockdep_proc.c)
pub fn print_lockdep_stats() {
    if !debug_locks() {
        return;
    }
    let (classes, deps) = {
        let graph = GRAPH.lock();
        (graph.nr_classes, graph.nr_deps)
    };
    let (circular, recursive, irq_on) = nr_problems();
    log::info!(
        "lockdep: {classes} lock classes, {deps} dependencies; {circular} circular, {recursive} recursive, {irq_on} held with irqs on"
    );
    if crate::params::param("lockdep") == Some("deps") {
        print_lockdep_deps();
    }
}

/// With `lockdep=deps`: every dependency seen, one line each, for the
/// lock order written in [`crate::locking`] to be checked against.
///
/// Linux: /proc/lockdep (l_show() in kernel/locking/lockdep_proc.c)
fn print_lockdep_deps() {
    // Held so that the console's locks, taken while this prints, are not
    // tracked: tracking them could need the graph lock held here.
    let Some(_busy) = this_cpu_held() else {
        return;
    };
    let graph = GRAPH.lock();
    let name = |c: u16| {
        graph.classes[c as usize].map(|c| {
            (
                c.name.strip_prefix("kernel::").unwrap_or(c.name),
                c.site,
                c.subclass,
            )
        })
    };
    for dep in graph.deps.iter().flatten() {
        if let (Some(prev), Some(next)) = (name(dep.prev), name(dep.next)) {
            crate::kprintln!("lockdep dep: {prev:?} -> {next:?} at {}", dep.next_ip);
        }
    }
}
