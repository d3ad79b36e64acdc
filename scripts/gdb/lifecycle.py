# gdb helpers for the lifecycle kernel, in the manner of Linux's
# scripts/gdb/linux/tasks.py. Load it in a gdb that has the kernel's symbols:
#
#   (gdb) source scripts/gdb/lifecycle.py
#   (gdb) lx-ps
#
# `make gdb` prints the full gdb command line, which loads this file.
#
# The kernel's structures are Rust types, so each value sits inside wrappers
# (SpinLock -> spin::Mutex -> UnsafeCell, AtomicU32 -> UnsafeCell, Arc ->
# NonNull -> ArcInner). `member` finds a named field through any of them.

import gdb

# Linux's state bits (include/linux/sched.h), as in kernel/src/task.rs.
TASK_INTERRUPTIBLE = 0x1
TASK_UNINTERRUPTIBLE = 0x2
TASK_STOPPED = 0x4
TASK_TRACED = 0x8
EXIT_DEAD = 0x10
EXIT_ZOMBIE = 0x20
TASK_PARKED = 0x40
TASK_DEAD = 0x80
TASK_NEW = 0x800


def member(value, name, depth=8):
    """The field `name` of `value` or of the structs nested in it, breadth first."""
    level = [value]
    for _ in range(depth):
        deeper = []
        for v in level:
            if v.type.strip_typedefs().code not in (gdb.TYPE_CODE_STRUCT, gdb.TYPE_CODE_UNION):
                continue
            for field in v.type.strip_typedefs().fields():
                if field.name == name:
                    return v[field]
                if field.name is not None:
                    deeper.append(v[field])
        level = deeper
    raise gdb.GdbError("no field %r in %s" % (name, value.type))


def number(value):
    """The integer inside an atomic or a newtype, however deeply wrapped."""
    while value.type.strip_typedefs().code == gdb.TYPE_CODE_STRUCT:
        value = value[value.type.strip_typedefs().fields()[0]]
    return int(value)


def arc_data(arc):
    """What an `Arc<T>` points at (Linux code would hold a plain pointer)."""
    return member(arc, "pointer").dereference()["data"]


def vec_items(vec):
    """The elements of a `Vec<T>`."""
    element = vec.type.strip_typedefs().template_argument(0)
    start = member(member(vec, "buf"), "pointer").cast(element.pointer())
    return [start[i] for i in range(number(member(vec, "len")))]


def tasks():
    """init_task, then every task on the task list (Linux: for_each_process)."""
    idle = arc_data(gdb.parse_and_eval("kernel::init::init_task::INIT_TASK"))
    tasklist = gdb.parse_and_eval("kernel::tasklist::TASKLIST_LOCK")
    return [idle] + [arc_data(arc) for arc in vec_items(member(tasklist, "tasks"))]


def state_char(task):
    """The letter `ps` shows (Linux: task_state_to_char())."""
    exit_state = number(task["exit_state"])
    state = number(task["state"])
    if exit_state & EXIT_ZOMBIE:
        return "Z"
    if exit_state & EXIT_DEAD or state & TASK_DEAD:
        return "X"
    if state & TASK_NEW:
        return "N"
    for bit, letter in ((TASK_INTERRUPTIBLE, "S"), (TASK_UNINTERRUPTIBLE, "D"),
                        (TASK_STOPPED, "T"), (TASK_TRACED, "t"), (TASK_PARKED, "P")):
        if state & bit:
            return letter
    return "R"


def comm(task):
    """The task's name: the bytes of `comm` up to the first NUL."""
    raw = member(member(task["comm"], "inner"), "value")["__0"]
    chars = [int(raw[i]) for i in range(16)]
    return bytes(chars[:chars.index(0) if 0 in chars else 16]).decode("ascii", "replace")


class LxPs(gdb.Command):
    """List every task: address, pid, tgid, state letter, the CPU it is on
    (or was on last: task_cpu()) and comm (Linux: lx-ps)."""

    def __init__(self):
        super().__init__("lx-ps", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        gdb.write("%18s %5s %5s %s %3s %s\n" % ("TASK", "PID", "TGID", "S", "CPU", "COMM"))
        for task in tasks():
            gdb.write("%#18x %5d %5d %s %3d %s\n" % (
                int(task.address), number(task["pid"]), number(task["tgid"]),
                state_char(task), number(task["cpu"]), comm(task)))


LxPs()
