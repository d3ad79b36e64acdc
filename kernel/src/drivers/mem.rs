//! /dev/null: reads return end of file, writes vanish.
//!
//! Linux: drivers/char/mem.c (null_fops)

use crate::errno::Errno;
use crate::fs::file::{FileOperations, Kstat, S_IFCHR};

/// The null device.
pub struct Null;

impl FileOperations for Null {
    fn read(&self, _buf: &mut [u8], _pos: u64) -> Result<usize, Errno> {
        Ok(0)
    }
    fn write(&self, buf: &[u8], _pos: u64) -> Result<usize, Errno> {
        Ok(buf.len())
    }
    fn stat(&self) -> Kstat {
        Kstat {
            mode: S_IFCHR | 0o666,
            rdev: (1 << 8) | 3,
            nlink: 1,
            ..Kstat::default()
        }
    }
}
