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
//! A CPU may take a lock only if it holds no lock that comes after it in
//! this list (outermost first). Locks not listed are leaves: nothing is
//! taken while they are held, except the allocator and the console.
//!
//! | lock | what it guards | Linux |
//! | --- | --- | --- |
//! | `RENAME_LOCK` (fs/rename.rs) | one rename at a time | `s_vfs_rename_mutex` |
//! | directory entries (`InodeKind::Dir`), parent before child (child: `lock_nested`) | a directory's names | `i_rwsem`, `I_MUTEX_PARENT`/`I_MUTEX_CHILD` |
//! | `TASKLIST_LOCK` (tasklist.rs) | the task list, every `family` (parent, children, leader), `exit_state`, pgrp/session | `tasklist_lock` |
//! | a task's `thread_pid`, then `PidNamespace::idr` / `child_reaper` | pid numbers | `pidmap_lock` |
//! | `SighandStruct::action`, then `SigPending` lists, `SignalStruct`'s `posix_timers`, `real_timer` | handlers, pending signals | `sighand->siglock` |
//! | wait queue heads (`WaitQueueHead`), `Completion` | sleepers | `wq_head->lock` |
//! | run queues (`PerCpu::rq`); two at once: the lower CPU's first, the other `lock_nested` (double_rq_lock) | runnable tasks, `curr` | `rq->__lock` |
//! | a task's `mm` (the pointer), then `MmStruct::mmap`, then `arg_lock`, `exe_file` | the address space | `task_lock`, `mmap_lock` |
//! | an old mm's `mmap`, then the new one's (`lock_nested`, dup_mm) | fork's copy | `SINGLE_DEPTH_NESTING` |
//! | `AddressSpace::i_mmap`, then `pages`; `ShmObject::pages` | the page cache | `i_mmap_rwsem`, `i_pages` |
//! | a task's `files` (the pointer), then `FilesStruct::fdt`; `File::f_pos` | open files | `task_lock`, `file_lock`, `f_pos_lock` |
//! | `hrtimer_cpu_base` (per CPU) | pending timers | `hrtimer_cpu_base.lock` |
//! | `FREE_AREA`, `CACHED_STACKS`, `SLOTS`, the kernel heap | memory | `zone->lock` |
//! | `LOG_BUF`, then `COM1_PORT` (printk) | the log and the console | `logbuf_lock`, console lock |
//!
//! Any lock may be held while memory is allocated (the heap's lock comes
//! after every other) and while the console prints; so neither the
//! allocator nor printk may take another lock, and a lock taken by the tick
//! (run queue, hrtimer base, the current task's timers) must never be held
//! where the tick could call back into its holder.
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
mod tests;

pub use lockdep_report::{expect_report, last_problem_site, nr_problems};
