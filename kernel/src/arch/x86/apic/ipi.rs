//! Sending an interrupt to another CPU through the interrupt command
//! register: a fixed vector (reschedule, call function), or the INIT and
//! STARTUP messages that start an application processor.
//!
//! Linux: arch/x86/kernel/apic/ipi.c, wakeup_secondary_cpu_via_init() in
//! arch/x86/kernel/smpboot.c

use super::apic_icr_write;

const APIC_DM_FIXED: u32 = 0x000;
const APIC_DM_INIT: u32 = 0x500;
const APIC_DM_STARTUP: u32 = 0x600;
const APIC_INT_ASSERT: u32 = 0x4000;
const APIC_INT_LEVELTRIG: u32 = 0x8000;

/// Sends `vector` to the CPU whose local APIC id is `apicid`.
///
/// Linux: __default_send_IPI_dest_field() in ipi.c (x2apic_send_IPI() in x2APIC mode)
pub fn send_ipi(apicid: u32, vector: u8) {
    apic_icr_write(APIC_DM_FIXED | u32::from(vector), apicid);
}

/// Sends INIT (level-triggered, asserted): the target resets and waits
/// for a STARTUP message.
///
/// Linux: the INIT step of wakeup_secondary_cpu_via_init() in smpboot.c
pub fn send_init(apicid: u32) {
    apic_icr_write(APIC_INT_LEVELTRIG | APIC_INT_ASSERT | APIC_DM_INIT, apicid);
}

/// Sends STARTUP: the target starts in real mode at `page_nr * 4096`.
///
/// Linux: the STARTUP step of wakeup_secondary_cpu_via_init() in smpboot.c
pub fn send_startup(apicid: u32, page_nr: u8) {
    apic_icr_write(APIC_DM_STARTUP | u32::from(page_nr), apicid);
}
