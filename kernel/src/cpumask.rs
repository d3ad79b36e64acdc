//! Sets of CPUs: the CPUs that exist (possible), the CPUs that run tasks
//! (online), and, later, the CPUs each task may run on.
//!
//! Linux: include/linux/cpumask.h, set_cpu_online() in kernel/cpu.c

use crate::arch::gdt::NR_CPUS;
use alloc::string::String;
use core::fmt::Write;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

const _: () = assert!(NR_CPUS <= 64, "a CpuMask is one 64-bit word");

/// A set of CPU numbers below `NR_CPUS` (Linux: `struct cpumask`).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct CpuMask(u64);

impl CpuMask {
    /// No CPU.
    pub const fn empty() -> Self {
        CpuMask(0)
    }

    /// Just `cpu` (Linux: cpumask_of()).
    pub const fn of(cpu: usize) -> Self {
        assert!(cpu < NR_CPUS);
        CpuMask(1 << cpu)
    }

    /// Every CPU number below `NR_CPUS` (Linux: cpu_possible_mask at most).
    pub const fn all() -> Self {
        CpuMask(u64::MAX >> (64 - NR_CPUS))
    }

    /// The mask whose bit `n` is bit `n` of `bits`, dropping CPUs at or past
    /// `NR_CPUS` (a user's affinity mask may name CPUs we cannot have).
    pub const fn from_bits_truncate(bits: u64) -> Self {
        CpuMask(bits & Self::all().0)
    }

    /// The bits, CPU `n` as bit `n`.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// Whether `cpu` is in the set (Linux: cpumask_test_cpu()).
    pub const fn test(self, cpu: usize) -> bool {
        cpu < NR_CPUS && self.0 & (1 << cpu) != 0
    }

    /// Adds `cpu` (Linux: cpumask_set_cpu()).
    pub fn set(&mut self, cpu: usize) {
        *self = self.or(Self::of(cpu));
    }

    /// Removes `cpu` (Linux: cpumask_clear_cpu()).
    pub fn clear(&mut self, cpu: usize) {
        self.0 &= !Self::of(cpu).0;
    }

    /// The CPUs in both sets (Linux: cpumask_and()).
    pub const fn and(self, other: Self) -> Self {
        CpuMask(self.0 & other.0)
    }

    /// The CPUs in either set (Linux: cpumask_or()).
    pub const fn or(self, other: Self) -> Self {
        CpuMask(self.0 | other.0)
    }

    /// Whether the set is empty (Linux: cpumask_empty()).
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// How many CPUs are in the set (Linux: cpumask_weight()).
    pub const fn weight(self) -> u32 {
        self.0.count_ones()
    }

    /// The lowest CPU in the set (Linux: cpumask_first()).
    pub const fn first(self) -> Option<usize> {
        if self.0 == 0 {
            None
        } else {
            Some(self.0.trailing_zeros() as usize)
        }
    }

    /// The CPUs in the set, lowest first (Linux: for_each_cpu()).
    pub fn iter(self) -> impl Iterator<Item = usize> {
        (0..NR_CPUS).filter(move |&cpu| self.test(cpu))
    }
}

/// CPUs found in the firmware's tables (Linux: `__cpu_possible_mask`).
/// Written only while booting, before any other CPU runs.
static CPU_POSSIBLE: AtomicU64 = AtomicU64::new(1);
/// CPUs that have come up and schedule tasks (Linux: `__cpu_online_mask`).
/// Each CPU sets its own bit once it can take tasks.
static CPU_ONLINE: AtomicU64 = AtomicU64::new(1);
/// How many bits of `CPU_ONLINE` are set, kept beside it so that counting
/// costs a load (Linux: `__num_online_cpus`); updated after the mask.
static NUM_ONLINE_CPUS: AtomicU32 = AtomicU32::new(1);

/// The CPUs that exist (Linux: cpu_possible_mask).
pub fn cpu_possible_mask() -> CpuMask {
    CpuMask(CPU_POSSIBLE.load(Ordering::Acquire))
}

/// The CPUs running the scheduler (Linux: cpu_online_mask).
pub fn cpu_online_mask() -> CpuMask {
    CpuMask(CPU_ONLINE.load(Ordering::Acquire))
}

/// How many CPUs are online (Linux: num_online_cpus()).
pub fn num_online_cpus() -> u32 {
    NUM_ONLINE_CPUS.load(Ordering::Acquire)
}

/// Whether `cpu` is online (Linux: cpu_online()).
pub fn cpu_online(cpu: usize) -> bool {
    cpu_online_mask().test(cpu)
}

/// Records that `cpu` exists (Linux: set_cpu_possible()).
pub fn set_cpu_possible(cpu: usize) {
    CPU_POSSIBLE.fetch_or(CpuMask::of(cpu).0, Ordering::AcqRel);
}

/// Marks `cpu` online or offline, counting it when its bit changes
/// (Linux: set_cpu_online()).
pub fn set_cpu_online(cpu: usize, online: bool) {
    let bit = CpuMask::of(cpu).0;
    if online {
        if CPU_ONLINE.fetch_or(bit, Ordering::AcqRel) & bit == 0 {
            NUM_ONLINE_CPUS.fetch_add(1, Ordering::AcqRel);
        }
    } else if CPU_ONLINE.fetch_and(!bit, Ordering::AcqRel) & bit != 0 {
        NUM_ONLINE_CPUS.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One more than the highest possible CPU number: how many bits a CPU
/// mask has when printed or copied to user space (Linux: nr_cpu_ids).
pub fn nr_cpu_ids() -> usize {
    64 - cpu_possible_mask().bits().leading_zeros() as usize
}

/// The low `nbits` bits of `bits` in hex as `%*pb` prints a bitmap: groups
/// of 32 bits, highest first, separated by commas; the first group as many
/// digits wide as its bits need, the others 8.
///
/// Linux: bitmap_string() in lib/vsprintf.c
pub fn bitmap_string(bits: u64, nbits: usize) -> String {
    let mut s = String::new();
    let mut chunksz = match nbits % 32 {
        0 => 32,
        n => n,
    };
    for i in (0..nbits.div_ceil(32)).rev().map(|chunk| chunk * 32) {
        let val = (bits >> i) & ((1u64 << chunksz) - 1);
        if !s.is_empty() {
            s.push(',');
        }
        let _ = write!(s, "{val:0width$x}", width = chunksz.div_ceil(4));
        chunksz = 32;
    }
    s
}

/// The set bits among the low `nbits` of `bits` as `%*pbl` prints them:
/// runs as `first-last`, single bits alone, separated by commas ("0,2-3").
///
/// Linux: bitmap_list_string() in lib/vsprintf.c
pub fn bitmap_list_string(bits: u64, nbits: usize) -> String {
    let set = |bit: usize| bit < nbits.min(64) && bits >> bit & 1 != 0;
    let mut s = String::new();
    let mut bit = 0;
    while bit < nbits.min(64) {
        if !set(bit) {
            bit += 1;
            continue;
        }
        let first = bit;
        while set(bit + 1) {
            bit += 1;
        }
        let sep = if s.is_empty() { "" } else { "," };
        let _ = match first == bit {
            true => write!(s, "{sep}{first}"),
            false => write!(s, "{sep}{first}-{bit}"),
        };
        bit += 1;
    }
    s
}

#[cfg(feature = "ktest")]
mod tests {
    use super::*;
    use crate::{kassert_eq, ktest};

    ktest! {
        fn a_bitmap_prints_in_hex_groups_of_32_bits_as_linux_does() {
            kassert_eq!(bitmap_string(0b11, 2).as_str(), "3");
            kassert_eq!(bitmap_string(0b10, 4).as_str(), "2");
            kassert_eq!(bitmap_string(1, 8).as_str(), "01");
            kassert_eq!(bitmap_string(1 << 32 | 1, 40).as_str(), "01,00000001");
            kassert_eq!(bitmap_string(0, 0).as_str(), "");
        }
    }

    ktest! {
        fn a_bitmap_list_shows_runs_as_ranges() {
            kassert_eq!(bitmap_list_string(0b11, 2).as_str(), "0-1");
            kassert_eq!(bitmap_list_string(0b10, 2).as_str(), "1");
            kassert_eq!(bitmap_list_string(0b1101, 4).as_str(), "0,2-3");
            kassert_eq!(bitmap_list_string(1 << 63, 64).as_str(), "63");
            kassert_eq!(bitmap_list_string(0, 4).as_str(), "");
        }
    }
}
