//! Unpacking the initramfs: a cpio archive in the "newc" format, handed
//! over by the runner through fw_cfg (`mm::reserve_initrd` places it),
//! becomes the root file system.
//!
//! Linux: init/initramfs.c (unpack_to_rootfs), the format in
//! Documentation/driver-api/early-userspace/buffer-format.rst

use super::ramfs::{Inode, InodeKind, root};
use crate::errno::Errno;
use crate::mm::filemap::AddressSpace;
use alloc::sync::Arc;

const HEADER_LEN: usize = 110;

fn hex_field(header: &[u8], index: usize) -> Result<u64, Errno> {
    let field = header
        .get(6 + index * 8..14 + index * 8)
        .ok_or(Errno::EINVAL)?;
    let text = core::str::from_utf8(field).map_err(|_| Errno::EINVAL)?;
    u64::from_str_radix(text, 16).map_err(|_| Errno::EINVAL)
}

fn align4(n: usize) -> usize {
    n.next_multiple_of(4)
}

/// Walks from the root to the parent directory of `path`, creating missing
/// directories; returns it and the last component. Names are bytes.
fn parent_of(path: &[u8]) -> Result<(Arc<Inode>, &[u8]), Errno> {
    let path = path.strip_prefix(b"./").unwrap_or(path);
    let start = path.iter().position(|&b| b != b'/').unwrap_or(path.len());
    let path = &path[start..];
    let (dirs, name) = match path.iter().rposition(|&b| b == b'/') {
        Some(slash) => (&path[..slash], &path[slash + 1..]),
        None => (&b""[..], path),
    };
    let mut dir = root();
    for part in dirs
        .split(|&b| b == b'/')
        .filter(|p| !p.is_empty() && *p != b".")
    {
        dir = match dir.lookup(part) {
            Ok(next) => next,
            Err(_) => {
                let next = Inode::new_dir(0o755);
                dir.link(part, next.clone())?;
                next
            }
        };
    }
    Ok((dir, name))
}

/// Unpacks every entry of the archive into the root file system; returns
/// the number of entries.
///
/// Linux: unpack_to_rootfs() in init/initramfs.c
///
/// # Errors
/// `EINVAL` for a malformed archive.
pub fn unpack_to_rootfs(archive: &'static [u8]) -> Result<usize, Errno> {
    let mut at = 0;
    let mut count = 0;
    while at + HEADER_LEN <= archive.len() {
        let header = &archive[at..at + HEADER_LEN];
        if &header[..6] != b"070701" && &header[..6] != b"070702" {
            return Err(Errno::EINVAL);
        }
        let mode = hex_field(header, 1)? as u32;
        let filesize = hex_field(header, 6)? as usize;
        let namesize = hex_field(header, 11)? as usize;
        let name_start = at + HEADER_LEN;
        let name = archive
            .get(name_start..name_start + namesize.saturating_sub(1))
            .ok_or(Errno::EINVAL)?;
        let data_start = align4(name_start + namesize);
        let data = archive
            .get(data_start..data_start + filesize)
            .ok_or(Errno::EINVAL)?;
        at = align4(data_start + filesize);
        if name == b"TRAILER!!!" {
            break;
        }
        if name.is_empty() || name == b"." {
            continue;
        }
        let kind = match mode & super::file::S_IFMT {
            super::file::S_IFDIR => InodeKind::Dir(Default::default()),
            super::file::S_IFLNK => InodeKind::Symlink(data.to_vec()),
            super::file::S_IFREG => InodeKind::File(
                Arc::try_new(AddressSpace::initramfs(data)).map_err(|_| Errno::ENOMEM)?,
            ),
            _ => continue,
        };
        let (parent, base) = parent_of(name)?;
        if matches!(kind, InodeKind::Dir(_)) && parent.lookup(base).is_ok_and(|i| i.is_dir()) {
            continue;
        }
        parent.link(base, Inode::new(kind, mode))?;
        count += 1;
    }
    Ok(count)
}
