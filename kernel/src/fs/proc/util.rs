//! Helpers shared by the /proc files.
//!
//! Linux: fs/proc/util.c

/// A decimal name without sign or leading zeros, as a pid or fd.
///
/// Linux: name_to_int() in fs/proc/util.c
pub fn name_to_int(name: &[u8]) -> Option<i32> {
    if name.is_empty() || (name.len() > 1 && name[0] == b'0') {
        return None;
    }
    core::str::from_utf8(name)
        .ok()
        .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse().ok())
}

#[cfg(feature = "ktest")]
mod tests {
    use super::*;
    use crate::{kassert, kassert_eq, ktest};

    ktest! {
        fn proc_names_are_decimal_without_sign_or_leading_zero() {
            kassert_eq!(name_to_int(b"0"), Some(0));
            kassert_eq!(name_to_int(b"4242"), Some(4242));
            kassert!(name_to_int(b"042").is_none());
            kassert!(name_to_int(b"+1").is_none());
            kassert!(name_to_int(b"-1").is_none());
            kassert!(name_to_int(b"self").is_none());
            kassert!(name_to_int(b"").is_none());
            kassert!(name_to_int(b"99999999999").is_none());
        }
    }
}
