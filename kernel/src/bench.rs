//! Micro-benchmarks, run with the `bench` command-line word: cycles per
//! kernel-thread lifetime (create, exit, reap), per context switch, per
//! pick_next_task with 1 to 1000 runnable tasks and per timer arm+cancel,
//! and the wake-up latency of a task among busy ones.
//! They report numbers; they pass or fail nothing.
//!
//! They are in the image only with the `bench` feature (`make bench` turns
//! it on), as the in-kernel tests are with `ktest`: the BIOS loader copies
//! the kernel a byte at a time. Without them `bench` says so and fails.
//!
//! Linux: tools/perf/bench/sched-pipe.c plays the context-switch part.

use crate::arch::rdtsc;
use crate::arch::time::tsc_khz;
use crate::exit::kernel_wait4;
use crate::fork::{CloneFlags, kernel_thread};
use crate::sched::core::{nr_context_switches, sched_yield};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, Ordering};

fn report(name: &str, cycles: u64, ops: u64) {
    let per_op = cycles / ops.max(1);
    let ns = per_op * 1_000_000 / tsc_khz().max(1);
    crate::kprintln!("bench {name}: {per_op} cycles/op ({ns} ns/op, {ops} ops)");
}

/// Creates, runs to exit and reaps `n` kernel threads, one at a time.
fn kthread_lifetime(n: u64) {
    let start = rdtsc();
    for _ in 0..n {
        let pid = kernel_thread(
            Arc::new(|| 0),
            "bench",
            CloneFlags::CLONE_FS | CloneFlags::CLONE_FILES,
            crate::signal::SIGCHLD,
        )
        .expect("bench thread");
        kernel_wait4(pid, 0).expect("reap bench thread");
    }
    report("kthread_create_exit_reap", rdtsc() - start, n);
}

/// Two threads yield to each other; every yield is one context switch.
/// Both are bound to CPU 0: on several CPUs the partner would otherwise
/// run on another one, and a yield would find nobody to switch to.
fn context_switch(n: u64) {
    use crate::cpumask::CpuMask;
    use crate::sched::migrate::set_cpus_allowed_ptr;
    let me = crate::task::current();
    let _ = set_cpus_allowed_ptr(&me, CpuMask::of(0));
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let partner = kernel_thread(
        Arc::new(move || {
            while !flag.load(Ordering::Relaxed) {
                sched_yield();
            }
            0
        }),
        "bench-yield",
        CloneFlags::CLONE_FS,
        crate::signal::SIGCHLD,
    )
    .expect("bench partner");
    sched_yield();
    let switches = nr_context_switches();
    let start = rdtsc();
    for _ in 0..n {
        sched_yield();
    }
    let cycles = rdtsc() - start;
    let switched = nr_context_switches() - switches;
    stop.store(true, Ordering::Relaxed);
    kernel_wait4(partner, 0).expect("reap partner");
    let _ = set_cpus_allowed_ptr(&me, CpuMask::all());
    report("context_switch", cycles, switched);
}

/// Arms a timer a second ahead and cancels it, `n` times, with `queued`
/// other timers pending on the base (a busy system's sleepers).
fn hrtimer_arm_cancel(n: u64, queued: u64) {
    use crate::time::hrtimer::{HrtimerRestart, hrtimer_cancel, hrtimer_init, hrtimer_start};
    let far = crate::arch::time::ktime_get_ns() + 3_600_000_000_000;
    let others: alloc::vec::Vec<_> = (0..queued)
        .map(|i| {
            let t = hrtimer_init(alloc::boxed::Box::new(|_| HrtimerRestart::NoRestart));
            hrtimer_start(&t, far + i);
            t
        })
        .collect();
    let timer = hrtimer_init(alloc::boxed::Box::new(|_| HrtimerRestart::NoRestart));
    let start = rdtsc();
    for _ in 0..n {
        hrtimer_start(&timer, crate::arch::time::ktime_get_ns() + 1_000_000_000);
        hrtimer_cancel(&timer);
    }
    let cycles = rdtsc() - start;
    others.iter().for_each(|t| {
        hrtimer_cancel(t);
    });
    report(
        &alloc::format!("hrtimer_start+cancel ({queued} queued)"),
        cycles,
        n,
    );
}

/// Wakes a kernel thread that sleeps on another CPU and waits for it to
/// wake us back, `n` times: each round trip is two cross-CPU wake-ups,
/// each a try_to_wake_up that queues the task on a halted CPU and sends it
/// a reschedule IPI. Needs two CPUs.
fn remote_wakeup(n: u64) {
    use crate::cpumask::CpuMask;
    use crate::sched::migrate::set_cpus_allowed_ptr;
    use crate::sched::wait::WaitQueueHead;
    use core::sync::atomic::AtomicU64;
    if crate::cpumask::num_online_cpus() < 2 {
        crate::kprintln!("bench remote_wakeup: skipped, one CPU");
        return;
    }
    let me = crate::task::current();
    let _ = set_cpus_allowed_ptr(&me, CpuMask::of(0));
    let ping = Arc::new((WaitQueueHead::new(), AtomicU64::new(0)));
    let pong = Arc::new((WaitQueueHead::new(), AtomicU64::new(0)));
    let (pi, po) = (ping.clone(), pong.clone());
    let partner = kernel_thread(
        Arc::new(move || {
            for i in 1..=n {
                pi.0.wait_event(|| pi.1.load(Ordering::Acquire) >= i);
                po.1.store(i, Ordering::Release);
                po.0.wake_up();
            }
            0
        }),
        "bench-pong",
        CloneFlags::CLONE_FS,
        crate::signal::SIGCHLD,
    )
    .expect("bench partner");
    if let Some(p) = crate::pid::find_task_by_vpid(partner) {
        let _ = set_cpus_allowed_ptr(&p, CpuMask::of(1));
    }
    let ipis = || {
        crate::arch::percpu::irq_stat(1)
            .irq_resched_count
            .load(Ordering::Relaxed)
    };
    let (ipis_before, start) = (ipis(), rdtsc());
    for i in 1..=n {
        ping.1.store(i, Ordering::Release);
        ping.0.wake_up();
        pong.0.wait_event(|| pong.1.load(Ordering::Acquire) >= i);
    }
    let cycles = rdtsc() - start;
    let sent = ipis() - ipis_before;
    kernel_wait4(partner, 0).expect("reap partner");
    let _ = set_cpus_allowed_ptr(&me, CpuMask::all());
    report(
        "remote_wakeup (reschedule IPI to a halted CPU)",
        cycles,
        2 * n,
    );
    crate::kprintln!(
        "bench remote_wakeup: {sent} reschedule IPIs taken by CPU 1 in {n} round trips"
    );
}

/// pick_next_task() with `n` runnable fair tasks (sched/bench.rs): the
/// EEVDF pick is a walk down a tree, so the cost grows with log n. The
/// best of five runs: the least disturbed by the host (under QEMU).
fn pick_next_task(n: usize, rounds: u64) {
    let best = (0..5)
        .map(|_| crate::sched::bench::pick_next_task_cycles(n, rounds))
        .try_fold(u64::MAX, |best, c| c.map(|c| best.min(c)));
    match best {
        Ok(cycles) => report(
            &alloc::format!("pick_next_task ({n} runnable fair tasks)"),
            cycles,
            rounds,
        ),
        Err(e) => crate::kprintln!("bench pick_next_task ({n}): {e:?}"),
    }
}

/// A thread that sleeps 1 ms and runs 0.1 ms, `n` times, among 4 busy
/// threads on CPU 0 (user::sched_fair's wakeup_latency in the kernel):
/// the time past the 1 ms asked, its 95th percentile and mean. Under
/// `--icount` the numbers repeat exactly.
fn wakeup_latency(n: usize) {
    use crate::arch::time::ktime_get_ns;
    use crate::cpumask::CpuMask;
    use crate::sched::migrate::set_cpus_allowed_ptr;
    const MS: u64 = 1_000_000;
    let me = crate::task::current();
    let _ = set_cpus_allowed_ptr(&me, CpuMask::of(0));
    let stop = Arc::new(AtomicBool::new(false));
    let busy: alloc::vec::Vec<_> = (0..4)
        .map(|_| {
            let flag = stop.clone();
            let busy = move || {
                let _ = set_cpus_allowed_ptr(&crate::task::current(), CpuMask::of(0));
                while !flag.load(Ordering::Relaxed) {
                    core::hint::spin_loop();
                }
                0
            };
            kernel_thread(
                Arc::new(busy),
                "bench-busy",
                CloneFlags::CLONE_FS,
                crate::signal::SIGCHLD,
            )
            .expect("bench busy thread")
        })
        .collect();
    crate::time::msleep(20);
    let mut late = alloc::vec::Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = ktime_get_ns();
        let _ = crate::time::hrtimer::do_nanosleep(t0 + MS, crate::task::TASK_UNINTERRUPTIBLE);
        late.push(ktime_get_ns().saturating_sub(t0 + MS));
        let run = ktime_get_ns();
        while ktime_get_ns() - run < MS / 10 {
            core::hint::spin_loop();
        }
    }
    stop.store(true, Ordering::Relaxed);
    for pid in busy {
        kernel_wait4(pid, 0).expect("reap busy thread");
    }
    let _ = set_cpus_allowed_ptr(&me, CpuMask::all());
    late.sort_unstable();
    let mean = late.iter().sum::<u64>() / late.len().max(1) as u64;
    let p95 = late
        .get((late.len() * 95 / 100).saturating_sub(1))
        .copied()
        .unwrap_or(0);
    crate::kprintln!(
        "bench wakeup_latency (sleep 1 ms, run 0.1 ms, 4 busy threads): 95th percentile {} us late, mean {} us ({n} wake-ups)",
        p95 / 1000,
        mean / 1000
    );
}

/// Runs every benchmark.
pub fn run_benchmarks() -> i32 {
    kthread_lifetime(2000);
    context_switch(20_000);
    for n in [1, 10, 100, 1000] {
        pick_next_task(n, 20_000);
    }
    remote_wakeup(5_000);
    hrtimer_arm_cancel(100_000, 0);
    hrtimer_arm_cancel(100_000, 500);
    wakeup_latency(100);
    0
}
