//! The machine's names that uname(2) reports. The host and domain names
//! belong to the caller's UTS namespace: sethostname(2)/setdomainname(2)
//! and /proc/sys/kernel/hostname and domainname read and set its names,
//! and clone or unshare with CLONE_NEWUTS gives a task a copy to change
//! on its own.
//!
//! Linux: include/linux/utsname.h, init/version.c (init_uts_ns),
//! kernel/utsname.c (copy_utsname, utsns_install), kernel/sys.c
//! (sethostname, setdomainname), kernel/utsname_sysctl.c
//! Differs: each name has its own lock (Linux: one uts_sem), so a copy
//! made while both change may pair an old host name with a new domain name.

use crate::arch::sync::SpinLock;
use crate::capability::{CAP_SYS_ADMIN, capable};
use crate::errno::Errno;
use crate::fork::CloneFlags;
use crate::fs::nsfs::{NsArc, NsCommon, NsRef, PROC_UTS_INIT_INO, ProcNsOperations};
use crate::mm::uaccess::copy_from_user;
use crate::nsproxy::{NsSet, current_nsproxy, task_nsproxy};
use crate::syscall::SysResult;
use crate::task::TaskStruct;
use alloc::string::String;
use alloc::sync::Arc;

/// Longest name, without its NUL (Linux: __NEW_UTS_LEN).
pub const __NEW_UTS_LEN: usize = 64;
/// uname's sysname and /proc/sys/kernel/ostype (Linux: UTS_SYSNAME).
pub const UTS_SYSNAME: &str = "Linux";
/// uname's release and /proc/sys/kernel/osrelease (Linux: UTS_RELEASE).
pub const UTS_RELEASE: &str = "6.1.0-lifecycle";
/// uname's version (Linux: UTS_VERSION).
pub const UTS_VERSION: &str = "#1 SMP lifecycle teaching kernel";
/// uname's machine (Linux: UTS_MACHINE).
pub const UTS_MACHINE: &str = "x86_64";

/// A settable name of up to `N - 1` bytes, NUL-padded (Linux: a
/// `char[__NEW_UTS_LEN + 1]` field of `struct new_utsname`, under uts_sem;
/// here under its own lock). Other string sysctls use it with their own
/// size, as kernel.core_pattern does with CORENAME_MAX_SIZE.
pub struct UtsName<const N: usize = { __NEW_UTS_LEN + 1 }>(SpinLock<[u8; N]>);

const fn uts_field<const N: usize>(name: &str) -> [u8; N] {
    let mut field = [0; N];
    let mut i = 0;
    while i < name.len() {
        field[i] = name.as_bytes()[i];
        i += 1;
    }
    field
}

/// A UTS namespace: the names its tasks see (Linux: `struct
/// uts_namespace`, the settable fields of its `struct new_utsname`).
pub struct UtsNamespace {
    /// The host name (Linux: name.nodename).
    pub nodename: UtsName,
    /// The NIS domain name (Linux: name.domainname).
    pub domainname: UtsName,
    /// Its nsfs inode number.
    pub ns: NsCommon,
}

static INIT_UTS_NS: spin::Once<Arc<UtsNamespace>> = spin::Once::new();

/// The initial UTS namespace (Linux: `init_uts_ns` in init/version.c).
pub fn init_uts_ns() -> &'static Arc<UtsNamespace> {
    INIT_UTS_NS.call_once(|| {
        Arc::new(UtsNamespace {
            nodename: UtsName::new("lifecycle"),
            domainname: UtsName::new("(none)"),
            ns: NsCommon::init(PROC_UTS_INIT_INO),
        })
    })
}

/// The caller's UTS namespace (Linux: utsname(), which gives its name).
pub fn utsname() -> Arc<UtsNamespace> {
    current_nsproxy().uts_ns.clone()
}

/// A new UTS namespace holding a copy of `old_ns`'s names.
///
/// Linux: clone_uts_ns() in kernel/utsname.c
///
/// # Errors
/// `ENOMEM`.
fn clone_uts_ns(old_ns: &UtsNamespace) -> Result<Arc<UtsNamespace>, Errno> {
    let ns = UtsNamespace {
        nodename: UtsName::from_field(old_ns.nodename.get()),
        domainname: UtsName::from_field(old_ns.domainname.get()),
        ns: NsCommon::new()?,
    };
    Arc::try_new(ns).map_err(|_| Errno::ENOMEM)
}

/// `old_ns` itself, or under CLONE_NEWUTS a copy of it.
///
/// Linux: copy_utsname() in kernel/utsname.c
///
/// # Errors
/// `ENOMEM`.
pub fn copy_utsname(
    flags: CloneFlags,
    old_ns: &Arc<UtsNamespace>,
) -> Result<Arc<UtsNamespace>, Errno> {
    if !flags.contains(CloneFlags::CLONE_NEWUTS) {
        return Ok(old_ns.clone());
    }
    clone_uts_ns(old_ns)
}

/// The `uts` entry of `/proc/<pid>/ns` (Linux: utsns_operations).
pub static UTSNS_OPERATIONS: ProcNsOperations = ProcNsOperations {
    name: "uts",
    real_ns_name: "uts",
    nstype: CloneFlags::CLONE_NEWUTS,
    get: utsns_get,
    install: utsns_install,
};

/// Linux: utsns_get() in kernel/utsname.c
fn utsns_get(task: &TaskStruct) -> Option<NsRef> {
    let uts_ns = task_nsproxy(task)?.uts_ns.clone();
    Some(NsRef::new(&UTSNS_OPERATIONS, &uts_ns.ns, uts_ns.clone()))
}

/// Linux: utsns_install() in kernel/utsname.c
fn utsns_install(nsset: &mut NsSet, ns: &NsArc) -> Result<(), Errno> {
    if !capable(CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    nsset.nsproxy.uts_ns = ns.clone().downcast().map_err(|_| Errno::EINVAL)?;
    Ok(())
}

impl<const N: usize> UtsName<N> {
    /// A name set to `name` (at most `N - 1` bytes).
    pub const fn new(name: &str) -> Self {
        UtsName(SpinLock::new(uts_field(name)))
    }

    /// A name holding `field` as it is.
    fn from_field(field: [u8; N]) -> Self {
        UtsName(SpinLock::new(field))
    }

    /// The name with its NUL padding, as uname copies it.
    pub fn get(&self) -> [u8; N] {
        *self.0.lock()
    }

    /// The name as text, up to its NUL.
    pub fn as_string(&self) -> String {
        let field = self.get();
        let len = field.iter().position(|&b| b == 0).unwrap_or(N);
        String::from_utf8_lossy(&field[..len]).into_owned()
    }

    /// Replaces the name; the caller has checked `name.len() < N`.
    fn set(&self, name: &[u8]) {
        let mut field = [0; N];
        field[..name.len()].copy_from_slice(name);
        *self.0.lock() = field;
    }

    /// A write to the name's /proc/sys file: the text up to a newline or
    /// NUL, silently cut at `N - 1` bytes; the whole write is taken.
    ///
    /// Linux: proc_do_uts_string() in kernel/utsname_sysctl.c (through
    /// proc_dostring())
    pub fn proc_write(&self, buf: &[u8]) -> Result<usize, Errno> {
        let end = buf
            .iter()
            .position(|&b| b == b'\n' || b == 0)
            .unwrap_or(buf.len());
        self.set(&buf[..end.min(N - 1)]);
        Ok(buf.len())
    }
}

impl UtsName {
    /// Sets the name from user memory.
    ///
    /// # Errors
    /// `EINVAL` for a negative length or one past 64; `EFAULT`.
    fn set_from_user(&self, name: u64, len: i32) -> SysResult {
        let len = usize::try_from(len)
            .ok()
            .filter(|&len| len <= __NEW_UTS_LEN)
            .ok_or(Errno::EINVAL)?;
        let mut tmp = [0; __NEW_UTS_LEN];
        copy_from_user(&mut tmp[..len], name)?;
        self.set(&tmp[..len]);
        Ok(0)
    }
}

/// Sets the host name of the caller's UTS namespace.
///
/// Linux: SYSCALL_DEFINE2(sethostname) in kernel/sys.c
///
/// # Errors
/// `EPERM` without CAP_SYS_ADMIN; as set_from_user.
pub fn sys_sethostname(name: u64, len: i32) -> SysResult {
    if !capable(CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    utsname().nodename.set_from_user(name, len)
}

/// Sets the domain name of the caller's UTS namespace.
///
/// Linux: SYSCALL_DEFINE2(setdomainname) in kernel/sys.c
///
/// # Errors
/// `EPERM` without CAP_SYS_ADMIN; as set_from_user.
pub fn sys_setdomainname(name: u64, len: i32) -> SysResult {
    if !capable(CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    utsname().domainname.set_from_user(name, len)
}
