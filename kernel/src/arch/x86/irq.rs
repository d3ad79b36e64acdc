//! Hardware interrupts: the legacy 8259 PIC pair, remapped to vectors
//! 32..48, now carries only the serial port (IRQ 4), which reaches the boot
//! CPU through its local APIC's LINT0 in virtual-wire mode; the tick comes
//! from each CPU's tick timer on its local APIC timer (time/tick_sched.rs).
//!
//! Linux: arch/x86/kernel/i8259.c, arch/x86/kernel/irq.c,
//! kernel/time/tick-common.c

use super::sync::SpinLock;
use alloc::string::String;
use core::fmt::Write;
use core::sync::atomic::{AtomicU64, Ordering};
use pic8259::ChainedPics;

/// First vector used by the PICs (Linux: FIRST_EXTERNAL_VECTOR).
pub const PIC_OFFSET: u8 = 32;
/// The serial port's line on the master PIC (COM1).
const SERIAL_IRQ: usize = 4;
const SERIAL_VECTOR: u8 = PIC_OFFSET + SERIAL_IRQ as u8;

/// The interrupt lines this kernel numbers: the 16 of the PIC pair
/// (Linux: NR_IRQS_LEGACY; Linux's nr_irqs also counts IO-APIC and MSI
/// lines, which this kernel does not use).
pub const NR_IRQS_LEGACY: usize = 16;

/// Interrupts taken on each line, all CPUs together (Linux: the per-CPU
/// `kstat_irqs` of each irq_desc, summed when read).
static KSTAT_IRQS: [AtomicU64; NR_IRQS_LEGACY] = [const { AtomicU64::new(0) }; NR_IRQS_LEGACY];

/// The CPU that advances jiffies and the load average; the others only run
/// their own part of the tick (Linux: tick_do_timer_cpu, the boot CPU).
pub const TICK_DO_TIMER_CPU: usize = 0;

static PICS: SpinLock<ChainedPics> =
    // SAFETY: the offsets 32 and 40 lie past the 32 CPU exception vectors.
    SpinLock::new(unsafe { ChainedPics::new(PIC_OFFSET, PIC_OFFSET + 8) });

/// One CPU's interrupt counts, by kind (Linux: irq_cpustat_t in
/// arch/x86/include/asm/hardirq.h). Only the owning CPU increments them.
pub struct IrqStat {
    /// Local APIC timer ticks (Linux: apic_timer_irqs, "LOC" in /proc/interrupts).
    pub apic_timer_irqs: AtomicU64,
    /// Reschedule IPIs taken (Linux: irq_resched_count, "RES").
    pub irq_resched_count: AtomicU64,
    /// Call-function IPIs taken (Linux: irq_call_count, "CAL").
    pub irq_call_count: AtomicU64,
    /// TLB flush requests taken from other CPUs, one per user-mm flush
    /// that reached this CPU by IPI (Linux: irq_tlb_count, "TLB").
    pub irq_tlb_count: AtomicU64,
}

impl IrqStat {
    /// All counts zero.
    pub const fn new() -> Self {
        IrqStat {
            apic_timer_irqs: AtomicU64::new(0),
            irq_resched_count: AtomicU64::new(0),
            irq_call_count: AtomicU64::new(0),
            irq_tlb_count: AtomicU64::new(0),
        }
    }
}

impl Default for IrqStat {
    fn default() -> Self {
        Self::new()
    }
}

/// Remaps the PICs and unmasks the serial port (and the cascade); IRQ 0,
/// the PIT, stays masked: the PIT only serves to calibrate.
///
/// Linux: init_IRQ() in arch/x86/kernel/irqinit.c
pub fn init_irq() {
    let mut pics = PICS.lock();
    // SAFETY: the PICs sit at their standard I/O ports and the IDT already
    // has gates for every unmasked line.
    unsafe {
        pics.initialize();
        // Bit set = masked. Unmask IRQ2 (cascade) and IRQ4 (COM1).
        pics.write_masks(!0b0001_0100, 0xff);
    }
}

fn end_of_interrupt(vector: u8) {
    // SAFETY: `vector` is the interrupt being handled right now.
    unsafe { PICS.lock().notify_end_of_interrupt(vector) };
}

/// The tick, from its timer (time/tick_sched.rs): the timekeeping CPU
/// advances jiffies by the `ticks` periods that passed; each CPU charges
/// the tick to its running task (in user mode if the timer interrupted
/// user mode), runs its scheduler tick, checks that task's CPU-time timers
/// once the scheduler has charged its run time, and runs queued irq work.
/// The preemption check follows in `dispatch`, after irq_exit().
///
/// Linux: tick_sched_do_timer() and tick_sched_handle() in
/// kernel/time/tick-sched.c, which calls update_process_times()
/// Differs: the klogd wake-up is one global flag here, not per CPU, so
/// only the timekeeping CPU runs it (the lazy irq work is per CPU, as in
/// Linux: each CPU runs what was queued on it).
pub fn tick_sched_handle(ticks: u64) {
    let do_timer = super::percpu::smp_processor_id() == TICK_DO_TIMER_CPU;
    if do_timer {
        super::time::tick(ticks);
    }
    let user_tick = super::percpu::this_cpu()
        .irq_user_mode
        .load(Ordering::Relaxed);
    crate::sched::cputime::account_process_tick(user_tick);
    crate::sched::core::scheduler_tick();
    super::percpu::with_current(|p| {
        if let Some(p) = p.filter(|p| !p.is_idle_task()) {
            crate::posix_cpu_timers::run_posix_cpu_timers(p);
        }
    });
    if do_timer {
        crate::printk::wake_up_klogd_tick();
    }
    crate::irq_work::irq_work_tick();
}

pub(super) fn serial_interrupt() {
    KSTAT_IRQS[SERIAL_IRQ].fetch_add(1, Ordering::Relaxed);
    while let Some(byte) = super::serial::try_receive() {
        crate::sysrq::handle_sysrq_input(byte);
    }
    end_of_interrupt(SERIAL_VECTOR);
}

/// How many ticks `cpu`'s local APIC timer has delivered.
pub fn apic_timer_irqs(cpu: usize) -> u64 {
    super::percpu::irq_stat(cpu)
        .apic_timer_irqs
        .load(Ordering::Relaxed)
}

/// How many interrupts line `irq` has delivered (0 for a line out of range).
///
/// Linux: kstat_irqs_usr() in kernel/irq/irqdesc.c
pub fn kstat_irqs_usr(irq: usize) -> u64 {
    KSTAT_IRQS
        .get(irq)
        .map_or(0, |count| count.load(Ordering::Relaxed))
}

/// The interrupts `cpu` took that belong to no line: its local timer ticks
/// and the IPIs it received (the LOC, RES, CAL and TLB rows).
///
/// Linux: arch_irq_stat_cpu() in arch/x86/kernel/irq.c
pub fn arch_irq_stat_cpu(cpu: usize) -> u64 {
    let st = super::percpu::irq_stat(cpu);
    [
        &st.apic_timer_irqs,
        &st.irq_resched_count,
        &st.irq_call_count,
        &st.irq_tlb_count,
    ]
    .iter()
    .map(|count| count.load(Ordering::Relaxed))
    .sum()
}

/// One /proc/interrupts row: its name, its counter, what it counts.
type IrqRow = (&'static str, fn(&IrqStat) -> &AtomicU64, &'static str);

/// /proc/interrupts: a column per online CPU, a row per kind of interrupt
/// counted: the local timer (LOC), reschedule IPIs (RES) and
/// call-function IPIs (CAL), in Linux's layout.
///
/// Linux: show_interrupts() in fs/proc/interrupts.c and kernel/irq/proc.c,
/// arch_show_interrupts() in arch/x86/kernel/irq.c
/// Differs: only these per-CPU rows; the serial port's IRQ is counted (in
/// /proc/stat's `intr` line) but has no row here.
pub fn show_interrupts() -> String {
    let cpus = crate::cpumask::cpu_online_mask();
    let mut s = alloc::format!("{:11}", "");
    for cpu in cpus.iter() {
        let _ = write!(s, "CPU{cpu:<8}");
    }
    s.truncate(s.trim_end().len());
    s.push('\n');
    let rows: [IrqRow; 4] = [
        ("LOC", |st| &st.apic_timer_irqs, "Local timer interrupts"),
        ("RES", |st| &st.irq_resched_count, "Rescheduling interrupts"),
        ("CAL", |st| &st.irq_call_count, "Function call interrupts"),
        ("TLB", |st| &st.irq_tlb_count, "TLB shootdowns"),
    ];
    for (name, counter, what) in rows {
        let _ = write!(s, "{name:>3}: ");
        for cpu in cpus.iter() {
            let count = counter(super::percpu::irq_stat(cpu)).load(Ordering::Relaxed);
            let _ = write!(s, "{count:>10} ");
        }
        let _ = writeln!(s, "  {what}");
    }
    s
}

#[cfg(feature = "ktest")]
mod tests {
    use super::*;
    use crate::{kassert, kassert_eq, ktest};

    ktest! {
        fn proc_interrupts_has_a_column_per_online_cpu_and_counts_this_cpu_s_ticks() {
            let text = show_interrupts();
            let mut lines = text.lines();
            let header = lines.next().unwrap_or("");
            let online = crate::cpumask::num_online_cpus() as usize;
            kassert_eq!(header.split_whitespace().count(), online, "header {header:?}");
            let loc = lines.next().unwrap_or("");
            kassert!(loc.starts_with("LOC: ") && loc.ends_with("  Local timer interrupts"), "{loc:?}");
            let first: u64 = loc[5..].split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0);
            kassert!(first > 0, "CPU0 counted no tick: {loc:?}");
        }
    }
}
