//! placeholder
#![no_std]
#![allow(unsafe_code)]
pub mod init { pub mod main {
    use bootloader_api::BootInfo;
    pub fn start_kernel(_b: &'static mut BootInfo) -> ! {
        let mut p = x86_64::instructions::port::Port::<u8>::new(0x3f8);
        for b in b"Booting lifecycle\n" { unsafe { p.write(*b) } }
        let mut e = x86_64::instructions::port::Port::<u32>::new(0xf4);
        unsafe { e.write(0x10) };
        loop {}
    }
}}
pub static BOOTLOADER_CONFIG: bootloader_api::BootloaderConfig = {
    let mut c = bootloader_api::BootloaderConfig::new_default();
    c.mappings.physical_memory = Some(bootloader_api::config::Mapping::Dynamic);
    c
};
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! { loop {} }
