//! The lifecycle timeline: tracepoints named as Linux's sched events,
//! recorded with timestamps into a buffer and printed as `trace:` lines at
//! power-off, when the kernel was booted with `trace`. The runner's
//! `--trace FILE` turns them into a Chrome trace for ui.perfetto.dev.
//!
//! Linux: include/trace/events/sched.h, kernel/trace/ (the ring buffer)
//! Differs: a bounded vector instead of the per-CPU ring buffer, and the
//! events are printed, not read through tracefs; sched_switch also carries
//! the fair tasks' vruntimes (Linux: sched_stat_runtime until 6.7).

use crate::arch::sync::SpinLock;
use crate::pid::PidNr;
use alloc::vec::Vec;
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, Ordering};

/// Events kept; later ones are dropped and counted.
const TRACE_CAPACITY: usize = 32768;

/// A lifecycle event (Linux: the sched_* tracepoints; the fields are named
/// as the tracepoints' fields).
#[derive(Clone, Copy, Debug)]
#[allow(missing_docs)]
pub enum TraceEvent {
    /// `parent` created `child`, named `child_comm` (sched_process_fork).
    Fork {
        parent: PidNr,
        child: PidNr,
        child_comm: crate::task::Comm,
    },
    /// `pid` replaced its program (sched_process_exec).
    Exec { pid: PidNr },
    /// A new task became runnable (sched_wakeup_new).
    WakeupNew { pid: PidNr },
    /// The CPU went from `prev` to `next` (sched_switch), with the
    /// vruntime of each that is a fair task, in ns from where its queue's
    /// virtual clock started (Linux put it in sched_stat_runtime, to 6.7).
    Switch {
        prev: PidNr,
        next: PidNr,
        prev_vruntime: Option<i64>,
        next_vruntime: Option<i64>,
    },
    /// `pid` exited with wait status `code` (sched_process_exit).
    Exit { pid: PidNr, code: i32 },
    /// `parent` collected `pid` with wait4 (sched_process_wait).
    Wait { parent: PidNr, pid: PidNr },
    /// `pid` was released (sched_process_free).
    Free { pid: PidNr },
    /// `pid` was adopted by `reaper` (ours: Linux has no tracepoint here).
    Reparent { pid: PidNr, reaper: PidNr },
}

struct Record {
    ns: u64,
    event: TraceEvent,
    comm: crate::task::Comm,
    /// The CPU the event happened on (Linux's `[001]` column).
    cpu: u32,
}

static ENABLED: AtomicBool = AtomicBool::new(false);
static BUFFER: SpinLock<Vec<Record>> = SpinLock::new(Vec::new());

/// Starts recording if the command line asks for it (`trace`).
pub fn trace_init() {
    if crate::params::param("trace").is_some()
        && BUFFER.lock().try_reserve_exact(TRACE_CAPACITY).is_ok()
    {
        ENABLED.store(true, Ordering::Release);
    }
}

/// Whether events are being recorded: one load and a predicted branch
/// at each tracepoint when they are not.
///
/// Linux: trace_sched_*_enabled() (a static key)
/// Differs: a flag read at every tracepoint, not code patched at boot.
#[inline(always)]
pub fn trace_enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Records `event` for the running task (Linux: trace_sched_*()).
#[inline(always)]
pub fn trace(event: TraceEvent) {
    if trace_enabled() {
        trace_record(event);
    }
}

/// The recording half of trace(), out of the callers' fast paths.
#[cold]
#[inline(never)]
fn trace_record(event: TraceEvent) {
    if !ENABLED.load(Ordering::Acquire) {
        return;
    }
    let comm = crate::arch::percpu::with_current(|t| t.map(|t| t.comm_lossy()).unwrap_or_default());
    let ns = crate::arch::time::ktime_get_ns();
    let mut buffer = BUFFER.lock();
    // BUFFER's lock keeps interrupts off: no migration changes the CPU now.
    let cpu = crate::arch::percpu::smp_processor_id() as u32;
    if buffer.len() < buffer.capacity() {
        buffer.push(Record {
            ns,
            event,
            comm,
            cpu,
        });
    }
}

/// Prints every recorded event as a `trace:` line: time in µs, the Linux
/// event name, then key=value fields, the current task's name and the CPU.
pub fn trace_dump() {
    if !ENABLED.swap(false, Ordering::AcqRel) {
        return;
    }
    let records = core::mem::take(&mut *BUFFER.lock());
    for r in &records {
        let mut line = alloc::string::String::new();
        let _ = write!(line, "trace: {} ", r.ns / 1000);
        let _ = match r.event {
            TraceEvent::Fork {
                parent,
                child,
                child_comm,
            } => write!(
                line,
                "sched_process_fork parent={parent} child={child} child_comm={}",
                child_comm.as_str().replace(' ', "_")
            ),
            TraceEvent::Exec { pid } => write!(line, "sched_process_exec pid={pid}"),
            TraceEvent::WakeupNew { pid } => write!(line, "sched_wakeup_new pid={pid}"),
            TraceEvent::Switch {
                prev,
                next,
                prev_vruntime,
                next_vruntime,
            } => {
                let _ = write!(line, "sched_switch prev={prev} next={next}");
                if let Some(v) = prev_vruntime {
                    let _ = write!(line, " prev_vruntime={v}");
                }
                if let Some(v) = next_vruntime {
                    let _ = write!(line, " next_vruntime={v}");
                }
                Ok(())
            }
            TraceEvent::Exit { pid, code } => {
                write!(line, "sched_process_exit pid={pid} code={code}")
            }
            TraceEvent::Wait { parent, pid } => {
                write!(line, "sched_process_wait parent={parent} pid={pid}")
            }
            TraceEvent::Free { pid } => write!(line, "sched_process_free pid={pid}"),
            TraceEvent::Reparent { pid, reaper } => {
                write!(line, "reparent pid={pid} reaper={reaper}")
            }
        };
        let _ = write!(
            line,
            " comm={} cpu={}",
            r.comm.as_str().replace(' ', "_"),
            r.cpu
        );
        crate::kprintln!("{line}");
    }
}
