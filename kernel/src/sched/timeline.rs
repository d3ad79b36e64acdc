//! The fair class's timeline: the tasks waiting on one CPU, in a balanced
//! binary search tree ordered by virtual deadline, so that pick_eevdf()
//! finds the eligible task with the earliest deadline in O(log n).
//!
//! The augmentation. Ordered by deadline alone, the tree could find the
//! earliest deadline at once (the leftmost node), but the earliest
//! *eligible* one (vruntime <= V, see eevdf.rs) could be anywhere. So each
//! node also keeps `min_vruntime`, the smallest vruntime in its subtree
//! (itself and everything below it). A subtree holds an eligible task
//! exactly when its `min_vruntime` is eligible, so the pick walks down
//! from the root: into the left subtree if that holds an eligible task
//! (earlier deadlines), else this node if it is eligible, else right. One
//! path from the root: O(log n). The extra field costs little because a
//! node's value depends only on its own vruntime and its two children's
//! values: every insertion, removal and rotation recomputes it bottom-up
//! on the nodes whose children changed (`update`), O(1) each, and those
//! are the O(log n) nodes on one path.
//!
//! Nodes: preallocated, none allocated under the run queue lock. Every
//! task gets a slot number when it is forked (`alloc_timeline_slot`,
//! from sched_fork(), which can fail with ENOMEM), and every CPU's
//! timeline then has a node for every slot; the node of a task is the one
//! with its slot number, on the timeline of the CPU it waits on. The slot
//! goes back to the free list when the task is freed.
//!
//! Linux: the augmented rbtree `cfs_rq->tasks_timeline` in
//! kernel/sched/fair.c (__enqueue_entity(), min_vruntime_cb,
//! __pick_eevdf()) and include/linux/rbtree_augmented.h
//! Both updates are iterative, as Linux's: walk down to the place, link or
//! unlink there, then one pass back up the parent links that rebalances
//! and recomputes the augmentation (`retrace`); no recursion, no
//! allocation, on the scheduler's hottest path.
//!
//! Differs: an AVL tree (subtree heights instead of red/black colours,
//! fewer rebalancing cases to read) in an array of nodes indexed by slot,
//! not nodes embedded in each sched_entity (which safe Rust cannot link);
//! compares vruntimes and deadlines as plain u64s (they start at 2^40 and
//! cannot wrap in practice; Linux compares by signed difference).

use crate::arch::percpu::cpu_rq;
use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use crate::task::TaskStruct;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};

/// No node (an empty subtree, or a task without a slot); no slot is this
/// high, so looking it up finds nothing.
const NIL: u32 = u32::MAX;

/// The deepest AVL tree of 2^32 nodes has fewer levels than this (an AVL
/// tree of height h holds at least Fib(h + 2) - 1 nodes).
const MAX_DEPTH: usize = 48;

/// One task's place in the tree.
struct Node {
    /// The subtree of earlier deadlines.
    left: u32,
    /// The subtree of later deadlines.
    right: u32,
    /// The node above, NIL for the root: insertion and removal walk back
    /// up without recursion (Linux: the rb_node's parent pointer).
    parent: u32,
    /// Levels in this subtree (1 for a leaf), what keeps it balanced.
    height: u8,
    /// The key: the task's virtual deadline, then its slot.
    deadline: u64,
    /// The task's vruntime, fixed while it waits.
    vruntime: u64,
    /// The augmentation: the smallest vruntime in this subtree (Linux:
    /// se->min_vruntime).
    min_vruntime: u64,
    /// The waiting task; None for a node not in the tree.
    task: Option<Arc<TaskStruct>>,
}

impl Node {
    /// A node not in the tree.
    const fn empty() -> Self {
        Node {
            left: NIL,
            right: NIL,
            parent: NIL,
            height: 0,
            deadline: 0,
            vruntime: 0,
            min_vruntime: 0,
            task: None,
        }
    }
}

/// The waiting tasks of one CfsRq by virtual deadline (Linux:
/// cfs_rq->tasks_timeline). Lock: the run queue's.
pub struct Timeline {
    /// One node per slot; `Node::task` says whether it is in the tree.
    nodes: Vec<Node>,
    /// The root node, or NIL.
    root: u32,
    /// Tasks in the tree.
    len: usize,
}

impl Timeline {
    /// An empty timeline with no nodes yet.
    pub const fn new() -> Self {
        Timeline {
            nodes: Vec::new(),
            root: NIL,
            len: 0,
        }
    }

    /// Tasks waiting.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no task waits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn node(&self, n: u32) -> &Node {
        &self.nodes[n as usize]
    }

    fn node_mut(&mut self, n: u32) -> &mut Node {
        &mut self.nodes[n as usize]
    }

    fn height(&self, n: u32) -> u8 {
        self.nodes.get(n as usize).map_or(0, |node| node.height)
    }

    fn min_vruntime(&self, n: u32) -> u64 {
        self.nodes
            .get(n as usize)
            .map_or(u64::MAX, |node| node.min_vruntime)
    }

    /// The key `n` is ordered by.
    fn key(&self, n: u32) -> (u64, u32) {
        (self.node(n).deadline, n)
    }

    /// Points `n`'s parent at `parent` (nothing for NIL).
    fn set_parent(&mut self, n: u32, parent: u32) {
        if let Some(node) = self.nodes.get_mut(n as usize) {
            node.parent = parent;
        }
    }

    /// Puts `new` where `old` hangs below `parent` (the root if NIL).
    ///
    /// Linux: __rb_change_child() in include/linux/rbtree_augmented.h
    fn change_child(&mut self, old: u32, new: u32, parent: u32) {
        if parent == NIL {
            self.root = new;
        } else if self.node(parent).left == old {
            self.node_mut(parent).left = new;
        } else {
            self.node_mut(parent).right = new;
        }
        self.set_parent(new, parent);
    }

    /// Recomputes the height and the augmentation of `n` from its
    /// children, which must be right already.
    ///
    /// Linux: min_vruntime_update() in kernel/sched/fair.c
    fn update(&mut self, n: u32) {
        let node = self.node(n);
        let (l, r, vruntime) = (node.left, node.right, node.vruntime);
        let height = 1 + self.height(l).max(self.height(r));
        let min = vruntime.min(self.min_vruntime(l)).min(self.min_vruntime(r));
        let node = self.node_mut(n);
        node.height = height;
        node.min_vruntime = min;
    }

    /// Lifts the right child of `n` into its place; returns it.
    #[inline(never)]
    fn rotate_left(&mut self, n: u32) -> u32 {
        let r = self.node(n).right;
        let rl = self.node(r).left;
        self.node_mut(n).right = rl;
        self.set_parent(rl, n);
        self.change_child(n, r, self.node(n).parent);
        self.node_mut(r).left = n;
        self.node_mut(n).parent = r;
        self.update(n);
        self.update(r);
        r
    }

    /// Lifts the left child of `n` into its place; returns it.
    #[inline(never)]
    fn rotate_right(&mut self, n: u32) -> u32 {
        let l = self.node(n).left;
        let lr = self.node(l).right;
        self.node_mut(n).left = lr;
        self.set_parent(lr, n);
        self.change_child(n, l, self.node(n).parent);
        self.node_mut(l).right = n;
        self.node_mut(n).parent = l;
        self.update(n);
        self.update(l);
        l
    }

    /// Restores the AVL rule at `n` (its two subtrees' heights differ by
    /// at most one) after one of them changed by one level; returns the
    /// node now in `n`'s place. Inlined in the retrace loop, with the
    /// rotations, rarer, out of line.
    #[inline(always)]
    fn rebalance(&mut self, n: u32) -> u32 {
        // update(n), with the children's heights kept for the test below.
        let node = self.node(n);
        let (l, r, vruntime) = (node.left, node.right, node.vruntime);
        let (hl, hr) = (self.height(l), self.height(r));
        let min = vruntime.min(self.min_vruntime(l)).min(self.min_vruntime(r));
        let node = self.node_mut(n);
        node.height = 1 + hl.max(hr);
        node.min_vruntime = min;
        if hl > hr + 1 {
            if self.height(self.node(l).left) < self.height(self.node(l).right) {
                self.rotate_left(l);
            }
            return self.rotate_right(n);
        }
        if hr > hl + 1 {
            if self.height(self.node(r).right) < self.height(self.node(r).left) {
                self.rotate_right(r);
            }
            return self.rotate_left(n);
        }
        n
    }

    /// Rebalances and recomputes the nodes from `n` up, after a node below
    /// `n` was linked or unlinked: one pass up the path, no recursion. The
    /// pass stops at the first node that keeps its place, its height and
    /// its `min_vruntime`: nothing above it depends on anything else
    /// below. It goes on above `through` (NIL: none), the node that a
    /// removal moved into the removed one's place: its old values say
    /// nothing of what its new parent saw there.
    ///
    /// Linux: the fix-up loops of rb_insert_augmented() and
    /// rb_erase_augmented(), and the augment callbacks' propagate, which
    /// stops where the value it computes is the one stored
    #[inline(always)]
    fn retrace(&mut self, mut n: u32, mut through: u32) {
        while n != NIL {
            let before = (self.node(n).height, self.node(n).min_vruntime);
            let top = self.rebalance(n);
            let after = (self.node(n).height, self.node(n).min_vruntime);
            let unchanged = top == n && after == before;
            if unchanged && through == NIL {
                return;
            }
            if n == through {
                through = NIL;
            }
            n = self.node(top).parent;
        }
    }

    /// Queues `p` in its `slot`'s node with its deadline and vruntime.
    /// The slot's node exists (alloc_timeline_slot) and is not in the tree.
    ///
    /// Linux: rb_add_augmented_cached() in include/linux/rbtree_augmented.h
    pub fn insert(&mut self, slot: u32, p: Arc<TaskStruct>, deadline: u64, vruntime: u64) {
        assert!(
            (slot as usize) < self.nodes.len(),
            "a fair task has a timeline slot"
        );
        assert!(
            self.node(slot).task.is_none(),
            "a task queued twice on one timeline"
        );
        let key = (deadline, slot);
        let (mut parent, mut n, mut left) = (NIL, self.root, false);
        while n != NIL {
            parent = n;
            left = key < self.key(n);
            n = if left {
                self.node(n).left
            } else {
                self.node(n).right
            };
        }
        *self.node_mut(slot) = Node {
            parent,
            height: 1,
            deadline,
            vruntime,
            min_vruntime: vruntime,
            task: Some(p),
            ..Node::empty()
        };
        if parent == NIL {
            self.root = slot;
        } else if left {
            self.node_mut(parent).left = slot;
        } else {
            self.node_mut(parent).right = slot;
        }
        self.retrace(parent, NIL);
        self.len += 1;
    }

    /// Takes the task of `slot` out of the tree, if it is `p`.
    ///
    /// Linux: rb_erase_augmented_cached() in include/linux/rbtree_augmented.h
    pub fn remove(&mut self, slot: u32, p: &TaskStruct) -> Option<Arc<TaskStruct>> {
        let node = self.nodes.get(slot as usize)?;
        if !node.task.as_ref().is_some_and(|t| core::ptr::eq(&**t, p)) {
            return None;
        }
        let (l, r, parent) = (node.left, node.right, node.parent);
        let (fix_from, through) = if l == NIL || r == NIL {
            let child = if l == NIL { r } else { l };
            self.change_child(slot, child, parent);
            (parent, NIL)
        } else {
            // Two children: the next node in order takes the slot's place.
            let mut next = r;
            while self.node(next).left != NIL {
                next = self.node(next).left;
            }
            let fix_from = if next == r {
                next
            } else {
                let (next_parent, next_right) = (self.node(next).parent, self.node(next).right);
                self.node_mut(next_parent).left = next_right;
                self.set_parent(next_right, next_parent);
                self.node_mut(next).right = r;
                self.node_mut(r).parent = next;
                next_parent
            };
            self.node_mut(next).left = l;
            self.node_mut(l).parent = next;
            self.change_child(slot, next, parent);
            (fix_from, next)
        };
        self.retrace(fix_from, through);
        self.len -= 1;
        // The other fields are rewritten by the next insert().
        self.node_mut(slot).task.take()
    }

    /// The waiting task with the earliest deadline among those whose
    /// vruntime is `eligible`, in one walk from the root.
    ///
    /// Linux: __pick_eevdf() in kernel/sched/fair.c
    pub fn pick(&self, eligible: impl Fn(u64) -> bool) -> Option<&Arc<TaskStruct>> {
        let mut n = self.root;
        while n != NIL {
            let node = self.node(n);
            if node.left != NIL && eligible(self.min_vruntime(node.left)) {
                n = node.left;
            } else if eligible(node.vruntime) {
                return node.task.as_ref();
            } else {
                n = node.right;
            }
        }
        None
    }

    /// The waiting task with the earliest deadline (Linux:
    /// __pick_first_entity()).
    pub fn first(&self) -> Option<&Arc<TaskStruct>> {
        let mut n = self.root;
        while n != NIL && self.node(n).left != NIL {
            n = self.node(n).left;
        }
        (n != NIL).then(|| self.node(n).task.as_ref())?
    }

    /// The waiting tasks, latest deadline first.
    pub fn iter_rev(&self) -> RevIter<'_> {
        let mut it = RevIter {
            timeline: self,
            stack: [NIL; MAX_DEPTH],
            depth: 0,
        };
        it.push_right_spine(self.root);
        it
    }

    /// Makes room for slots below `slots`: the allocation is here, where
    /// failing is possible, and never in insert().
    pub(super) fn try_grow(&mut self, slots: usize) -> Result<(), Errno> {
        let more = slots.saturating_sub(self.nodes.len());
        self.nodes.try_reserve(more).map_err(|_| Errno::ENOMEM)?;
        self.nodes
            .resize_with(slots.max(self.nodes.len()), Node::empty);
        Ok(())
    }
}

impl Default for Timeline {
    fn default() -> Self {
        Self::new()
    }
}

/// In-order walk from the right, with the path kept on a fixed stack.
pub struct RevIter<'a> {
    timeline: &'a Timeline,
    stack: [u32; MAX_DEPTH],
    depth: usize,
}

impl RevIter<'_> {
    fn push_right_spine(&mut self, mut n: u32) {
        while n != NIL {
            self.stack[self.depth] = n;
            self.depth += 1;
            n = self.timeline.node(n).right;
        }
    }
}

impl<'a> Iterator for RevIter<'a> {
    type Item = &'a Arc<TaskStruct>;

    fn next(&mut self) -> Option<Self::Item> {
        self.depth = self.depth.checked_sub(1)?;
        let n = self.stack[self.depth];
        let timeline: &'a Timeline = self.timeline;
        self.push_right_spine(timeline.node(n).left);
        timeline.node(n).task.as_ref()
    }
}

/// The slot allocator: slots below `next` exist; `free` lists the unused
/// ones and has room for all of them, so that freeing never allocates.
struct Slots {
    next: u32,
    free: Vec<u32>,
}

/// Lock: a leaf, taken with no other lock inside it (a task may be freed
/// under a run queue lock).
static SLOTS: SpinLock<Slots> = SpinLock::new(Slots {
    next: 0,
    free: Vec::new(),
});

/// Every CPU's timeline has the nodes of the slots below this.
static GROWN: AtomicU32 = AtomicU32::new(0);

/// A task's slot, its node number on every CPU's timeline; freed with the
/// task. Lock: set once by sched_fork() before the task is seen.
pub struct TimelineSlot(AtomicU32);

impl TimelineSlot {
    /// The slot number (NIL if the task has none: pid 0's idle tasks).
    pub fn get(&self) -> u32 {
        self.0.load(Ordering::Relaxed)
    }
}

impl Default for TimelineSlot {
    fn default() -> Self {
        TimelineSlot(AtomicU32::new(NIL))
    }
}

impl Drop for TimelineSlot {
    fn drop(&mut self) {
        let slot = self.get();
        if slot != NIL {
            SLOTS.lock().free.push(slot);
        }
    }
}

/// Gives a new task its slot and makes sure every CPU's timeline has a
/// node for it.
///
/// # Errors
/// `ENOMEM` when the slot list or a timeline cannot grow; the slot is
/// then freed with the task.
pub fn alloc_timeline_slot(slot: &TimelineSlot) -> Result<(), Errno> {
    let n = {
        let mut slots = SLOTS.lock();
        match slots.free.pop() {
            Some(n) => n,
            None => {
                let total = slots.next as usize + 1;
                let more = total.saturating_sub(slots.free.len());
                slots.free.try_reserve(more).map_err(|_| Errno::ENOMEM)?;
                slots.next += 1;
                slots.next - 1
            }
        }
    };
    slot.0.store(n, Ordering::Relaxed);
    if n >= GROWN.load(Ordering::Acquire) {
        // Grown a quarter ahead, so that most forks find the room made.
        let want = n as usize + 1 + n as usize / 4;
        for cpu in 0..crate::arch::gdt::NR_CPUS {
            cpu_rq(cpu).lock().cfs.timeline.try_grow(want)?;
        }
        GROWN.fetch_max(want as u32, Ordering::AcqRel);
    }
    Ok(())
}

#[cfg(feature = "ktest")]
impl Timeline {
    /// Whether `p` waits in this timeline, at its slot.
    pub(super) fn holds(&self, p: &TaskStruct) -> bool {
        self.nodes
            .get(p.se.timeline_slot.get() as usize)
            .and_then(|node| node.task.as_ref())
            .is_some_and(|t| core::ptr::eq(&**t, p))
    }
}

#[cfg(feature = "ktest")]
mod tests {
    use super::*;
    use crate::task::{Comm, TASK_NEW};
    use crate::{kassert, kassert_eq, ktest};
    use alloc::string::String;

    /// The pick by definition: the earliest deadline among the eligible.
    fn linear_pick(t: &Timeline, eligible: u64) -> Option<u32> {
        (0..t.nodes.len() as u32)
            .filter(|&n| t.node(n).task.is_some() && t.node(n).vruntime <= eligible)
            .min_by_key(|&n| t.key(n))
    }

    /// Checks the AVL rule and the augmentation of every node below `n`;
    /// returns the subtree's height.
    fn check(t: &Timeline, n: u32) -> Result<u8, String> {
        if n == NIL {
            return Ok(0);
        }
        let node = t.node(n);
        for child in [node.left, node.right] {
            if child != NIL {
                kassert_eq!(t.node(child).parent, n, "node {child}'s parent");
            }
        }
        let (hl, hr) = (check(t, node.left)?, check(t, node.right)?);
        kassert!(hl.abs_diff(hr) <= 1, "node {n} is out of balance");
        let min = node
            .vruntime
            .min(t.min_vruntime(node.left))
            .min(t.min_vruntime(node.right));
        kassert_eq!(node.min_vruntime, min, "node {n}'s min_vruntime");
        Ok(1 + hl.max(hr))
    }

    ktest! {
        fn the_timeline_picks_what_a_linear_scan_picks_and_stays_balanced() {
            const N: u32 = 300;
            let tasks: Vec<Arc<TaskStruct>> = (0..N)
                .map(|_| Arc::new(TaskStruct::new(Comm::new("ktest-tl"), TASK_NEW, 0, None)))
                .collect();
            let mut t = Timeline::new();
            t.try_grow(N as usize).map_err(|e| alloc::format!("{e:?}"))?;
            let mut x: u64 = 0x2545_f491_4f6c_dd1d;
            let mut rand = move || {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x
            };
            for round in 0..3000 {
                let slot = (rand() % u64::from(N)) as u32;
                let p = &tasks[slot as usize];
                if t.remove(slot, p).is_none() {
                    let v = 1000 + rand() % 500;
                    t.insert(slot, p.clone(), v + rand() % 300, v);
                }
                kassert!(t.root == NIL || t.node(t.root).parent == NIL, "the root has no parent");
                let height = check(&t, t.root)?;
                kassert!(t.len() < 2 || u32::from(height) <= 2 * (t.len().ilog2() + 1), "height {height}");
                let v = 1000 + rand() % 600;
                let want = linear_pick(&t, v).map(|n| core::ptr::from_ref(&*tasks[n as usize]));
                let got = t.pick(|x| x <= v).map(|p| core::ptr::from_ref(&**p));
                kassert_eq!(got, want, "round {round}, V {v}");
            }
            let rev: Vec<u64> = t.iter_rev().map(|p| {
                let n = tasks.iter().position(|q| Arc::ptr_eq(p, q)).unwrap_or(0);
                t.node(n as u32).deadline
            }).collect();
            kassert_eq!(rev.len(), t.len());
            kassert!(rev.windows(2).all(|w| w[0] >= w[1]), "iter_rev goes from the latest deadline");
        }
    }
}
