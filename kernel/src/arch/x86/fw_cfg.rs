//! QEMU's firmware configuration device, used to carry the kernel command
//! line and the initramfs: the runner passes
//! `-fw_cfg name=opt/lifecycle/cmdline,file=...` and `name=opt/lifecycle/initrd`.
//!
//! Linux reads its command line from the boot protocol; our bootloader has
//! none, so this plays the part of `boot_params.hdr.cmd_line_ptr`. The
//! initramfs comes this way rather than as the bootloader's ramdisk because
//! the bootloader's BIOS stage copies a ramdisk a byte at a time (seconds for
//! a few MiB under emulation), while the device's DMA interface copies it in
//! one request, as QEMU's own Linux loader does.
//! Protocol: QEMU docs/specs/fw_cfg.rst (selector 0x510, data 0x511, DMA 0x514).

use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{Ordering, compiler_fence};
use x86_64::PhysAddr;
use x86_64::instructions::port::Port;

const FW_CFG_PORT_SEL: u16 = 0x510;
const FW_CFG_PORT_DATA: u16 = 0x511;
const FW_CFG_PORT_DMA: u16 = 0x514;
const FW_CFG_SIGNATURE: u16 = 0x0000;
const FW_CFG_ID: u16 = 0x0001;
const FW_CFG_FILE_DIR: u16 = 0x0019;
const FW_CFG_VERSION_DMA: u32 = 1 << 1;
const FW_CFG_DMA_CTL_ERROR: u32 = 0x01;
const FW_CFG_DMA_CTL_READ: u32 = 0x02;
const FW_CFG_DMA_CTL_SELECT: u32 = 0x08;
/// Bytes of a DMA request (`FWCfgDmaAccess`: control, length, address).
pub const FW_CFG_DMA_ACCESS_SIZE: usize = 16;

/// A file in the device's directory.
#[derive(Clone, Copy, Debug)]
pub struct FwCfgFile {
    /// Its selector.
    key: u16,
    /// Its length in bytes.
    pub size: u32,
}

fn select(key: u16) {
    let mut sel = Port::<u16>::new(FW_CFG_PORT_SEL);
    // SAFETY: writing a selector to the fw_cfg port only chooses which item
    // the data port reads next.
    unsafe { sel.write(key) };
}

fn read_bytes(buf: &mut [u8]) {
    let mut data = Port::<u8>::new(FW_CFG_PORT_DATA);
    for byte in buf {
        // SAFETY: reading the fw_cfg data port returns the next byte of the
        // selected item (or 0 past its end); it has no other effect.
        *byte = unsafe { data.read() };
    }
}

fn read_be<const N: usize>() -> [u8; N] {
    let mut buf = [0; N];
    read_bytes(&mut buf);
    buf
}

/// Finds the fw_cfg file called `name`, if QEMU was given one.
pub fn find_file(name: &str) -> Option<FwCfgFile> {
    select(FW_CFG_SIGNATURE);
    if &read_be::<4>() != b"QEMU" {
        return None;
    }
    select(FW_CFG_FILE_DIR);
    let count = u32::from_be_bytes(read_be());
    for _ in 0..count {
        let size = u32::from_be_bytes(read_be());
        let key = u16::from_be_bytes(read_be());
        let _reserved: [u8; 2] = read_be();
        let raw_name: [u8; 56] = read_be();
        let len = raw_name.iter().position(|&b| b == 0).unwrap_or(56);
        if &raw_name[..len] == name.as_bytes() {
            return Some(FwCfgFile { key, size });
        }
    }
    None
}

/// Reads the fw_cfg file called `name`, if QEMU was given one.
pub fn read_file(name: &str) -> Option<Vec<u8>> {
    let file = find_file(name)?;
    let mut contents = alloc::vec![0; file.size as usize];
    select(file.key);
    read_bytes(&mut contents);
    Some(contents)
}

/// Reads `file` into the start of `buf`, by DMA if the device offers it,
/// else a byte at a time. The DMA request goes in the
/// [`FW_CFG_DMA_ACCESS_SIZE`] bytes after the file's contents. Returns false
/// if `buf` is too small or the device reports an error.
///
/// # Safety
/// `phys` is the physical address of `buf[0]`, and `buf` is physically
/// contiguous (the device writes to physical memory, past any check here).
pub unsafe fn read_file_into(file: &FwCfgFile, buf: &mut [u8], phys: PhysAddr) -> bool {
    let size = file.size as usize;
    if buf.len() < size + FW_CFG_DMA_ACCESS_SIZE {
        return false;
    }
    select(FW_CFG_ID);
    if u32::from_le_bytes(read_be()) & FW_CFG_VERSION_DMA == 0 {
        select(file.key);
        read_bytes(&mut buf[..size]);
        return true;
    }
    let control = (u32::from(file.key) << 16) | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ;
    let access = &mut buf[size..size + FW_CFG_DMA_ACCESS_SIZE];
    access[..4].copy_from_slice(&control.to_be_bytes());
    access[4..8].copy_from_slice(&file.size.to_be_bytes());
    access[8..].copy_from_slice(&phys.as_u64().to_be_bytes());
    let request = phys.as_u64() + size as u64;
    compiler_fence(Ordering::SeqCst);
    // SAFETY: the request asks the device to write `file.size` bytes at
    // `phys`, which the caller guarantees is `buf`, which we borrow
    // mutably; writing the request's address (big-endian, high half first)
    // starts it, and QEMU completes it before the write returns.
    unsafe {
        Port::<u32>::new(FW_CFG_PORT_DMA).write(((request >> 32) as u32).to_be());
        Port::<u32>::new(FW_CFG_PORT_DMA + 4).write((request as u32).to_be());
    }
    loop {
        compiler_fence(Ordering::SeqCst);
        // SAFETY: `access` is a live borrow of 4 readable bytes; the volatile
        // read sees what the device wrote back.
        let now = unsafe { core::ptr::read_volatile(access.as_ptr().cast::<[u8; 4]>()) };
        match u32::from_be_bytes(now) {
            0 => return true,
            now if now & FW_CFG_DMA_CTL_ERROR != 0 => return false,
            _ => core::hint::spin_loop(),
        }
    }
}

/// The kernel command line handed over by the runner, or "" without one.
pub fn cmdline() -> String {
    read_file("opt/lifecycle/cmdline")
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().into())
        .unwrap_or_default()
}
