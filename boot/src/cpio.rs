//! A writer for the `newc` cpio format, the one Linux unpacks as an initramfs.
//!
//! Linux: usr/gen_init_cpio.c (writer), init/initramfs.c (reader)
//!
//! Each entry is a 110-byte ASCII header (`070701`, then thirteen 8-digit hex
//! fields), the NUL-terminated path, padding to 4 bytes, the data, and padding
//! to 4 bytes again. A `TRAILER!!!` entry ends the archive. Paths are relative
//! to the packed directory (`bin/init`), parents come before their children,
//! and siblings are sorted by name.
//!
//! Mode and size come from the host file; owner, mtime and inode numbers do
//! not (root:root, 0, a counter), so packing the same tree twice gives the same
//! bytes and the disk-image cache in `image.rs` can hit.
//! Not modelled: hard links (each path gets its own inode), device nodes and
//! FIFOs (rejected with `InvalidInput`).

use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Packs the tree under `root` (not `root` itself) into a `newc` archive.
///
/// # Errors
/// Any I/O error while reading the tree, and `InvalidInput` for a file that is
/// not a directory, regular file or symlink, or larger than 4 GiB.
pub fn pack_dir(root: &Path) -> io::Result<Vec<u8>> {
    let mut archive = Archive::default();
    archive.add_tree(root, b"")?;
    archive.entry(0, b"TRAILER!!!", 0, 1, &[])?;
    Ok(archive.out)
}

#[derive(Default)]
struct Archive {
    out: Vec<u8>,
    last_ino: u32,
}

impl Archive {
    fn add_tree(&mut self, dir: &Path, prefix: &[u8]) -> io::Result<()> {
        let mut children = fs::read_dir(dir)?.collect::<io::Result<Vec<_>>>()?;
        children.sort_by_key(fs::DirEntry::file_name);
        for child in children {
            let path = child.path();
            let name = [prefix, child.file_name().as_bytes()].concat();
            let meta = fs::symlink_metadata(&path)?;
            let kind = meta.file_type();
            self.last_ino += 1;
            if kind.is_dir() {
                self.entry(self.last_ino, &name, meta.mode(), 2, &[])?;
                self.add_tree(&path, &[&name[..], b"/"].concat())?;
            } else if kind.is_file() {
                self.entry(self.last_ino, &name, meta.mode(), 1, &fs::read(&path)?)?;
            } else if kind.is_symlink() {
                let target = fs::read_link(&path)?;
                let target = target.as_os_str().as_bytes();
                self.entry(self.last_ino, &name, meta.mode(), 1, target)?;
            } else {
                let why = format!("{}: not a directory, file or symlink", path.display());
                return Err(io::Error::new(io::ErrorKind::InvalidInput, why));
            }
        }
        Ok(())
    }

    fn entry(
        &mut self,
        ino: u32,
        name: &[u8],
        mode: u32,
        nlink: u32,
        data: &[u8],
    ) -> io::Result<()> {
        let too_big = |_| io::Error::new(io::ErrorKind::InvalidInput, "cpio entry over 4 GiB");
        let size = u32::try_from(data.len()).map_err(too_big)?;
        let name_size = u32::try_from(name.len() + 1).map_err(too_big)?;
        // ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
        let fields = [ino, mode, 0, 0, nlink, 0, size, 0, 0, 0, 0, name_size, 0];
        self.out.extend_from_slice(b"070701");
        for field in fields {
            self.out
                .extend_from_slice(format!("{field:08X}").as_bytes());
        }
        self.out.extend_from_slice(name);
        self.out.push(0);
        self.pad();
        self.out.extend_from_slice(data);
        self.pad();
        Ok(())
    }

    fn pad(&mut self) {
        self.out.resize(self.out.len().next_multiple_of(4), 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_entry_has_newc_header_name_data_and_padding() {
        let root = tempfile::tempdir().unwrap();
        fs::write(root.path().join("init"), b"hello").unwrap();
        let mode = fs::metadata(root.path().join("init")).unwrap().mode();

        let archive = pack_dir(root.path()).unwrap();

        let header = format!(
            "070701{:08X}{mode:08X}{:08X}{:08X}{:08X}{:08X}{:08X}",
            1, 0, 0, 1, 0, 5
        );
        assert!(archive.starts_with(header.as_bytes()));
        // 110-byte header + "init\0" = 115, padded to 116; 5 data bytes padded to 8.
        assert_eq!(&archive[110..116], b"init\0\0");
        assert_eq!(&archive[116..124], b"hello\0\0\0");
        assert_eq!(&archive[124 + 110..124 + 121], b"TRAILER!!!\0");
        assert_eq!(archive.len() % 4, 0);
    }
}
