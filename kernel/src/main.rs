//! Boot entry: the bootloader jumps here.
#![no_std]
#![no_main]

use bootloader_api::{BootInfo, entry_point};

entry_point!(main, config = &kernel::BOOTLOADER_CONFIG);

fn main(boot_info: &'static mut BootInfo) -> ! {
    kernel::init::main::start_kernel(boot_info)
}
