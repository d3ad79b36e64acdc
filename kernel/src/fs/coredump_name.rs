//! The core's name: `/proc/sys/kernel/core_pattern` with its %-specifiers
//! expanded, either a file name or, after a leading `|`, the argument list
//! of a program to pipe the core to (coredump_pipe.rs).
//!
//! Linux: format_corename() and its cn_* helpers in fs/coredump.c

use crate::errno::Errno;
use crate::sysctl::CtlTable;
use crate::task::TaskStruct;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt::Write;
use core::sync::atomic::{AtomicI32, Ordering};

/// The size of kernel.core_pattern with its NUL: a longer write is cut at
/// 127 bytes (Linux: CORENAME_MAX_SIZE in include/linux/binfmts.h).
pub const CORENAME_MAX_SIZE: usize = 128;

/// kernel.core_pattern: the name of the core file, with %-specifiers
/// (Linux: core_pattern in fs/coredump.c, default "core").
pub static CORE_PATTERN: crate::utsname::UtsName<CORENAME_MAX_SIZE> =
    crate::utsname::UtsName::new("core");

/// The descriptor a `%F` pidfd has in the helper, which starts with no
/// other files than its pipe (Linux: COREDUMP_PIDFD_NUMBER).
pub const COREDUMP_PIDFD_NUMBER: i32 = 3;

/// kernel.core_uses_pid: 1 appends `.PID` to a file pattern without `%p`.
static CORE_USES_PID: AtomicI32 = AtomicI32::new(0);

/// `/proc/sys/kernel/core_uses_pid`.
///
/// Linux: the kernel.core_uses_pid sysctl in fs/coredump.c
pub static CORE_USES_PID_SYSCTL: CtlTable = CtlTable {
    procname: "core_uses_pid",
    data: &CORE_USES_PID,
    min: 0,
    max: 1,
    on_write: || Ok(()),
};

/// An expanded core_pattern.
pub enum CoreName {
    /// A file, relative to the dumping task's working directory.
    File(Vec<u8>),
    /// `|program args...`: the helper's argv, `argv[0]` its path, and
    /// with `%F` the process the helper gets a pidfd of.
    Pipe {
        /// The helper's arguments.
        argv: Vec<String>,
        /// The dumping process's thread-group leader, for `%F`.
        pid: Option<Arc<TaskStruct>>,
    },
}

/// What the dump knows before it names the core (Linux: the fields of
/// `struct coredump_params` that format_corename() reads and sets).
pub struct CorenameParams {
    /// The signal that dumps.
    pub signr: i32,
    /// The CPU the dumper ran on when the dump began (Linux: cprm->cpu).
    pub cpu: usize,
    /// Set by `%F` in a piped pattern (Linux: cprm->pid).
    pub pid: Option<Arc<TaskStruct>>,
}

/// Expands core_pattern for the dump of `t` by `cprm.signr`: `%p`/`%P` the
/// process id in the task's / the initial pid namespace, `%i`/`%I` the
/// thread id, `%u`/`%g` uid and gid, `%d` the dump mode, `%s` the signal,
/// `%t` seconds since the epoch, `%h` the host name, `%e` the command
/// name, `%E` the executable's path and `%f` its file name (`/` becoming
/// `!` in these three), `%c` the RLIMIT_CORE soft limit, `%C` the CPU the
/// dump began on, `%F` (piped only) 3, the helper's descriptor of a pidfd
/// of the dumping process, `%%` a percent sign; any other `%x` is
/// dropped. A piped pattern is split into
/// arguments at white space before expansion, so an expansion never
/// splits one. With core_uses_pid, a file pattern without `%p` gets
/// `.PID` appended.
///
/// Linux: format_corename() in fs/coredump.c
///
/// # Errors
/// `EINVAL` for an empty pattern, `ENOMEM` for `|` alone.
pub fn format_corename(t: &TaskStruct, cprm: &mut CorenameParams) -> Result<CoreName, Errno> {
    let pattern = CORE_PATTERN.as_string();
    let (ispipe, pat) = match pattern.strip_prefix('|') {
        Some("") => return Err(Errno::ENOMEM),
        Some(rest) => (true, rest),
        None if pattern.is_empty() => return Err(Errno::EINVAL),
        None => (false, pattern.as_str()),
    };
    let mut argv = Vec::new();
    let mut cn = String::new();
    let (mut was_space, mut used) = (false, 0);
    let mut pid_in_pattern = false;
    let mut chars = pat.chars();
    while let Some(c) = chars.next() {
        // Split before expanding: %e and %E may hold spaces.
        if ispipe && c.is_ascii_whitespace() {
            was_space |= used + cn.len() != 0;
            continue;
        } else if ispipe && was_space {
            was_space = false;
            used += cn.len();
            argv.push(core::mem::take(&mut cn));
        }
        if c != '%' {
            cn.push(c);
            continue;
        }
        let spec = chars.next();
        match spec {
            Some('p') => pid_in_pattern = true,
            None => break,
            _ => {}
        }
        cn_expand(&mut cn, t, cprm, ispipe, spec);
    }
    if ispipe {
        argv.push(cn);
        let pid = cprm.pid.take();
        return Ok(CoreName::Pipe { argv, pid });
    }
    if !pid_in_pattern && CORE_USES_PID.load(Ordering::Relaxed) != 0 {
        let _ = write!(cn, ".{}", crate::pid::task_tgid_vnr(t));
    }
    Ok(CoreName::File(cn.into_bytes()))
}

/// Appends the expansion of `%spec` to `cn`.
///
/// Linux: the switch of format_corename() in fs/coredump.c
fn cn_expand(
    cn: &mut String,
    t: &TaskStruct,
    cprm: &mut CorenameParams,
    ispipe: bool,
    spec: Option<char>,
) {
    let cred = crate::cred::current_cred();
    let signr = cprm.signr;
    let _ = match spec {
        Some('%') => write!(cn, "%"),
        Some('p') => write!(cn, "{}", crate::pid::task_tgid_vnr(t)),
        Some('P') => write!(cn, "{}", t.tgid()),
        Some('i') => write!(cn, "{}", crate::pid::task_pid_vnr(t)),
        Some('I') => write!(cn, "{}", t.pid()),
        Some('u') => write!(cn, "{}", cred.uid),
        Some('g') => write!(cn, "{}", cred.gid),
        Some('d') => write!(cn, "{}", dump_mode(t)),
        Some('s') => write!(cn, "{signr}"),
        Some('t') => write!(
            cn,
            "{}",
            crate::timekeeping::ktime_get_real_ns() / 1_000_000_000
        ),
        Some('h') => write!(cn, "{}", crate::utsname::utsname().nodename.as_string()),
        Some('e') => cn_esc_printf(cn, t.comm().as_str()),
        Some('E') => cn_print_exe_file(cn, t, false),
        Some('f') => cn_print_exe_file(cn, t, true),
        Some('c') => write!(
            cn,
            "{}",
            crate::resource::rlimit(crate::resource::RLIMIT_CORE)
        ),
        Some('C') => write!(cn, "{}", cprm.cpu),
        Some('F') if ispipe => {
            cprm.pid = Some(thread_group_leader(t));
            write!(cn, "{COREDUMP_PIDFD_NUMBER}")
        }
        _ => Ok(()),
    };
}

/// The leader of the dumping thread's group, which `%F`'s pidfd names:
/// it cannot be reaped before the dumping thread has exited.
///
/// Linux: task_tgid(current), in the `%F` case of format_corename()
fn thread_group_leader(t: &TaskStruct) -> Arc<TaskStruct> {
    let tasklist = crate::tasklist::TASKLIST_LOCK.lock();
    let leader = t.family.get(&tasklist).group_leader.upgrade();
    drop(tasklist);
    leader.unwrap_or_else(crate::task::current)
}

/// The dumping mm's dumpability (Linux: get_dumpable(), for `%d`).
fn dump_mode(t: &TaskStruct) -> u32 {
    t.mm.lock().as_ref().map_or(0, |mm| mm.get_dumpable())
}

/// Appends `s` as one safe name component: each `/` becomes `!`, a lone
/// `.` or `..` starts with `!` instead, and an empty one is `!`.
///
/// Linux: cn_esc_printf() in fs/coredump.c
fn cn_esc_printf(cn: &mut String, s: &str) -> core::fmt::Result {
    match s {
        "" => cn.push('!'),
        "." => cn.push('!'),
        ".." => cn.push_str("!."),
        _ => cn.extend(s.chars().map(|c| if c == '/' { '!' } else { c })),
    }
    Ok(())
}

/// Appends the path of the executable (or, with `name_only`, its last
/// component), escaped; `COMM (path unknown)` when there is none.
///
/// Linux: cn_print_exe_file() in fs/coredump.c
fn cn_print_exe_file(cn: &mut String, t: &TaskStruct, name_only: bool) -> core::fmt::Result {
    let exe =
        t.mm.lock()
            .as_ref()
            .and_then(|mm| mm.exe_file.lock().as_ref().map(|f| f.f_path().name.clone()));
    let Some(path) = exe else {
        let unknown = alloc::format!("{} (path unknown)", t.comm().as_str());
        return cn_esc_printf(cn, &unknown);
    };
    let path = String::from_utf8_lossy(&path);
    let name = match name_only {
        true => path.rsplit('/').next().unwrap_or(""),
        false => &path,
    };
    cn_esc_printf(cn, name)
}
