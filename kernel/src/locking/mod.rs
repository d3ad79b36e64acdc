//! Locking: which lock protects what, in which order locks nest, and the
//! checker that proves the order while the tests run.
//!
//! # One kind of lock
//!
//! Every lock in the kernel is a [`SpinLock`](crate::arch::sync::SpinLock)
//! (Linux's `spin_lock_irqsave`): it turns local interrupts off while held,
//! so no holder is ever preempted or interrupted, and no holder sleeps. Data
//! a lock guards sits inside it (`SpinLock<T>`): the type says which lock.
//! Data that lives in one object but is guarded by a lock elsewhere is a
//! [`LockedBy`](crate::arch::sync::LockedBy) naming that lock (a task's
//! `family` under the tasklist lock). Atomics and `Once` cells need no
//! lock; a field whose atomics follow a rule (written only under some lock,
//! or only by the task itself) says so in a `Lock:` line of its doc.
//! Differs: Linux also has sleeping locks (mutex, rwsem: `mmap_lock`,
//! `cred_guard_mutex`), RCU and seqlocks; here each is a spin lock or an
//! `Arc` replaced whole, and kflushd's one sleeping lock is hand-made.
//!
//! # The lock order
//!
//! A CPU may take a lock only while holding none that comes after it in
//! this list (outermost first; each arrow is an order the code uses, as
//! `lockdep=deps` printed it for the test suite). A lock not listed is a
//! leaf: nothing but the allocator and the console is taken under it.
//!
//! | lock | guards | then, inside it | Linux |
//! | --- | --- | --- | --- |
//! | `RENAME_LOCK` (fs/rename.rs) | one rename at a time | directory entries | `s_vfs_rename_mutex` |
//! | directory entries (`InodeKind::Dir`) | a directory's names | the child directory's entries (`lock_nested`: tree order), `i_attr` | `i_rwsem` (`I_MUTEX_PARENT`, `I_MUTEX_CHILD`) |
//! | `TASKLIST_LOCK` (tasklist.rs) | the task list, every task's `family`, `exit_state`, pgrp/session | a task's `thread_pid`, `comm`, `cred`, `mm`, `sighand`, `vfork_done`; `child_reaper`; signal queues; `SignalStruct::dead`/`children`; wait queues; run queues | `tasklist_lock` |
//! | a task's `sighand` (the pointer) | which table | `SighandStruct::action` | `task_lock` |
//! | `PidNamespace::idr` | pid numbers | `child_reaper`, then wait queues | `pidmap_lock` |
//! | a task's `files` (the pointer) | which table | `FilesStruct::fdt`, pipe state, `rlim`, wait queues | `task_lock`, `file_lock` |
//! | a task's `fs` (the pointer) | which `FsStruct` | `FsStruct::pwd` | `task_lock`, `fs->lock` |
//! | a task's `mm` (the pointer) | which mm | `MmStruct::mmap`; the CPU's `loaded_mm` (switch_mm) | `task_lock` |
//! | `MmStruct::mmap` | VMAs, brk, page tables | the child's `mmap` (dup_mm: `lock_nested`), `arg_lock`, `exe_file`, the page cache (`i_mmap`, `pages`), shared-anonymous pages, `FREE_AREA` | `mmap_lock` |
//! | `ShmIds` (ipc) | SysV segments | the page cache | `shm_ids.rwsem` |
//! | `vfork_done` / a `Completion` | a completion | its wait queue | `completion.wait.lock` |
//! | wait queue heads (`WaitQueueHead`) | sleepers | run queues (a wake-up) | `wq_head->lock` |
//! | `SignalStruct::dead` | exited threads' counts | run queues (run time of a thread) | `sig->stats_lock` |
//! | run queues (`PerCpu::rq`): two at once, the lower CPU's first and the other `lock_nested` (double_rq_lock) | runnable tasks, `curr` | the next task's `mm`, `loaded_mm`, the task's stack, its FPU area, the TSS | `rq->__lock` |
//! | leaves: `hrtimer_cpu_base`, `FREE_AREA`, the stack cache, `LOG_BUF`, `COM1_PORT`, the kernel heap | | | `hrtimer_cpu_base.lock`, `zone->lock`, printk |
//!
//! The allocator and the console may be used under any lock, so they take
//! no other lock themselves; a lock the tick takes (run queue, hrtimer
//! base) is never held with interrupts on, which the checker also checks.
//! Nothing here sleeps under a lock: every lock turns interrupts off.
//!
//! # The checker
//!
//! [`lockdep`] checks this order (and every order the code actually
//! uses) on every acquisition when the kernel is booted with `lockdep`, as
//! every test boot is; `lockdep=deps` prints the graph it saw at power-off.
//!
//! Linux: kernel/locking/, Documentation/locking/lockdep-design.rst

pub mod lockdep;
mod lockdep_report;
#[cfg(feature = "ktest")]
mod tests;

pub use lockdep_report::{expect_report, last_problem_site, nr_problems, print_lockdep_stats};
