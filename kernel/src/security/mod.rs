//! Security hooks: what the credential code asks before and after it
//! changes a task's identity. Only the default module, the POSIX
//! capability rules, is built in.
//!
//! Linux: security/ (security.c dispatches to the modules; commoncap.c is
//! the one every kernel has)
//! Not modelled: LSM stacking, SELinux, AppArmor, file capabilities.

pub mod commoncap;
