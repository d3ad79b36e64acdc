//! QEMU's firmware configuration device, used to carry the kernel command
//! line: the runner passes `-fw_cfg name=opt/lifecycle/cmdline,file=...`.
//!
//! Linux reads its command line from the boot protocol; our bootloader has
//! none, so this plays the part of `boot_params.hdr.cmd_line_ptr`.
//! Protocol: QEMU docs/specs/fw_cfg.rst (selector 0x510, data 0x511).

use alloc::string::String;
use alloc::vec::Vec;
use x86_64::instructions::port::Port;

const FW_CFG_PORT_SEL: u16 = 0x510;
const FW_CFG_PORT_DATA: u16 = 0x511;
const FW_CFG_SIGNATURE: u16 = 0x0000;
const FW_CFG_FILE_DIR: u16 = 0x0019;

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

/// Reads the fw_cfg file called `name`, if QEMU was given one.
pub fn read_file(name: &str) -> Option<Vec<u8>> {
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
            let mut contents = alloc::vec![0; size as usize];
            select(key);
            read_bytes(&mut contents);
            return Some(contents);
        }
    }
    None
}

/// The kernel command line handed over by the runner, or "" without one.
pub fn cmdline() -> String {
    read_file("opt/lifecycle/cmdline")
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().into())
        .unwrap_or_default()
}
