//! The memory character devices: /dev/null (reads return end of file,
//! writes vanish), /dev/zero (reads return zeroes, mmap gives anonymous
//! memory), /dev/full (reads return zeroes, writes fail with ENOSPC) and
//! /dev/random and /dev/urandom (reads return random bytes).
//!
//! Linux: drivers/char/mem.c (null_fops, zero_fops, full_fops),
//! drivers/char/random.c (random_fops, urandom_fops)

use crate::errno::Errno;
use crate::fs::file::{FileOperations, Kstat, S_IFCHR};

/// The null device (1, 3).
pub struct Null;
/// The zero device (1, 5).
pub struct Zero;
/// The full device (1, 7).
pub struct Full;
/// The random device (1, 8).
pub struct Random;
/// The urandom device (1, 9).
pub struct Urandom;

fn chr_stat(minor: u64) -> Kstat {
    Kstat {
        mode: S_IFCHR | 0o666,
        rdev: (1 << 8) | minor,
        nlink: 1,
        ..Kstat::default()
    }
}

impl FileOperations for Null {
    fn read(&self, _buf: &mut [u8], _pos: u64, _f_flags: u32) -> Result<usize, Errno> {
        Ok(0)
    }
    fn write(&self, buf: &[u8], _pos: u64, _f_flags: u32) -> Result<usize, Errno> {
        Ok(buf.len())
    }
    fn stat(&self) -> Kstat {
        chr_stat(3)
    }
}

impl FileOperations for Zero {
    /// Linux: read_iter_zero() in drivers/char/mem.c
    fn read(&self, buf: &mut [u8], _pos: u64, _f_flags: u32) -> Result<usize, Errno> {
        buf.fill(0);
        Ok(buf.len())
    }
    fn write(&self, buf: &[u8], _pos: u64, _f_flags: u32) -> Result<usize, Errno> {
        Ok(buf.len())
    }
    fn stat(&self) -> Kstat {
        chr_stat(5)
    }
    /// Linux: mmap_zero() in drivers/char/mem.c
    fn mmap(&self) -> Result<crate::fs::file::MmapTarget, Errno> {
        Ok(crate::fs::file::MmapTarget::Anonymous)
    }
}

impl FileOperations for Full {
    /// Linux: read_iter_zero() in drivers/char/mem.c
    fn read(&self, buf: &mut [u8], _pos: u64, _f_flags: u32) -> Result<usize, Errno> {
        buf.fill(0);
        Ok(buf.len())
    }
    /// Linux: write_full() in drivers/char/mem.c
    fn write(&self, _buf: &[u8], _pos: u64, _f_flags: u32) -> Result<usize, Errno> {
        Err(Errno::ENOSPC)
    }
    fn stat(&self) -> Kstat {
        chr_stat(7)
    }
}

impl FileOperations for Urandom {
    /// Linux: urandom_read_iter() in drivers/char/random.c
    fn read(&self, buf: &mut [u8], _pos: u64, _f_flags: u32) -> Result<usize, Errno> {
        crate::random::get_random_bytes(buf);
        Ok(buf.len())
    }
    /// Differs: written bytes are not mixed into the pool.
    fn write(&self, buf: &[u8], _pos: u64, _f_flags: u32) -> Result<usize, Errno> {
        Ok(buf.len())
    }
    fn stat(&self) -> Kstat {
        chr_stat(9)
    }
}

impl FileOperations for Random {
    /// Linux: random_read_iter() in drivers/char/random.c, which since
    /// Linux 5.18 blocks only until the pool is first seeded; ours is
    /// seeded at boot, so it reads as urandom does.
    fn read(&self, buf: &mut [u8], pos: u64, f_flags: u32) -> Result<usize, Errno> {
        Urandom.read(buf, pos, f_flags)
    }
    /// Differs: written bytes are not mixed into the pool.
    fn write(&self, buf: &[u8], _pos: u64, _f_flags: u32) -> Result<usize, Errno> {
        Ok(buf.len())
    }
    fn stat(&self) -> Kstat {
        chr_stat(8)
    }
}
