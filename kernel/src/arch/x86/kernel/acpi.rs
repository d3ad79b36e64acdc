//! Finding the CPUs: the firmware's ACPI MADT lists one local APIC per
//! processor (and where the local APICs' registers are); the FADT says
//! where the PM timer is. The `acpi` crate parses the tables; this file
//! only lets it read physical memory.
//!
//! Linux: arch/x86/kernel/acpi/boot.c
//! Differs: Linux parses the MADT itself (acpi_table_parse_madt);
//! no MP-table fallback (a machine without a MADT runs on one CPU).

use crate::arch::apic::{self, APIC_DEFAULT_PHYS_BASE};
use crate::arch::gdt::NR_CPUS;
use crate::cpumask::set_cpu_possible;
use acpi::address::AddressSpace;
use acpi::platform::{PlatformInfo, ProcessorState};
use acpi::{AcpiHandler, AcpiTables, InterruptModel, PhysicalMapping};
use alloc::alloc::Global;
use core::ptr::NonNull;
use x86_64::PhysAddr;

/// Reads ACPI tables through the direct map of physical memory.
#[derive(Clone, Copy)]
struct DirectMap;

impl AcpiHandler for DirectMap {
    unsafe fn map_physical_region<T>(&self, phys: usize, size: usize) -> PhysicalMapping<Self, T> {
        let virt = crate::mm::phys_to_virt(PhysAddr::new(phys as u64));
        let ptr = NonNull::new(virt.as_mut_ptr::<T>()).expect("the direct map is not at 0");
        // SAFETY: all physical memory (and the low 4 GiB in any case) is
        // mapped at PAGE_OFFSET for as long as the kernel runs, so the
        // region stays readable; the caller promises a `T` is there.
        unsafe { PhysicalMapping::new(phys, ptr, size, size, *self) }
    }

    fn unmap_physical_region<T>(_region: &PhysicalMapping<Self, T>) {}
}

/// Reads the FADT (the PM timer's port) and the MADT: records where the
/// local APICs are, gives each enabled local APIC a CPU number (the boot
/// CPU is 0) and marks it possible. Without ACPI tables the machine is
/// taken to have only the boot CPU.
///
/// Linux: acpi_boot_init() -> acpi_parse_fadt(), acpi_process_madt() ->
/// acpi_parse_lapic() -> generic_processor_info() (topology_register_apic)
/// in arch/x86/kernel/acpi/boot.c
pub fn acpi_boot_init(rsdp_addr: Option<u64>) {
    let Some(madt) = rsdp_addr.and_then(acpi_table_parse) else {
        log::warn!("ACPI: no MADT, one CPU");
        apic::init_apic_mappings(APIC_DEFAULT_PHYS_BASE);
        apic::set_cpu_apicid(0, apic::read_apic_id());
        return;
    };
    apic::init_apic_mappings(madt.lapic_addr);
    let boot_apicid = apic::read_apic_id();
    apic::set_cpu_apicid(0, boot_apicid);
    let mut cpu = 1;
    for &id in madt.apicids.iter().filter(|&&id| id != boot_apicid) {
        if cpu == NR_CPUS {
            log::warn!(
                "APIC: NR_CPUS/possible_cpus limit of {NR_CPUS} reached, processor {id} ignored"
            );
            continue;
        }
        apic::set_cpu_apicid(cpu, id);
        set_cpu_possible(cpu);
        cpu += 1;
    }
    log::info!("ACPI: Using ACPI (MADT) for SMP configuration information");
    log::info!("smpboot: Allowing {cpu} CPUs, 0 hotplug CPUs");
}

/// What the MADT says about the local APICs.
struct Madt {
    lapic_addr: u64,
    /// The ids of the enabled local APICs, the boot CPU's among them.
    apicids: alloc::vec::Vec<u32>,
}

/// Finds the tables from the RSDP the bootloader found, parses the FADT
/// and returns what the MADT says.
///
/// Linux: acpi_table_init() in drivers/acpi/tables.c, then
/// acpi_table_parse() of each table
fn acpi_table_parse(rsdp_addr: u64) -> Option<Madt> {
    // SAFETY: the bootloader found the RSDP at this physical address, and
    // the handler maps it and every table it points to.
    let tables = unsafe { AcpiTables::from_rsdp(DirectMap, rsdp_addr as usize) }.ok()?;
    let info = tables.platform_info().ok()?;
    acpi_parse_fadt(&info);
    acpi_parse_madt(&info)
}

/// Records the PM timer's I/O port, when the FADT gives one.
///
/// Linux: acpi_parse_fadt() in arch/x86/kernel/acpi/boot.c
fn acpi_parse_fadt(info: &PlatformInfo<'_, Global>) {
    let Some(timer) = &info.pm_timer else { return };
    if timer.base.address_space != AddressSpace::SystemIo {
        return;
    }
    if let Ok(port) = u16::try_from(timer.base.address) {
        crate::arch::acpi_pm::set_pmtmr_ioport(port);
    }
}

/// The local APIC address and enabled processors of the MADT.
///
/// Linux: acpi_parse_madt() / acpi_parse_lapic() in arch/x86/kernel/acpi/boot.c
fn acpi_parse_madt(info: &PlatformInfo<'_, Global>) -> Option<Madt> {
    let InterruptModel::Apic(apic) = &info.interrupt_model else {
        return None;
    };
    let processors = info.processor_info.as_ref()?;
    let apicids = core::iter::once(&processors.boot_processor)
        .chain(processors.application_processors.iter())
        .filter(|p| p.state != ProcessorState::Disabled)
        .map(|p| p.local_apic_id)
        .collect();
    Some(Madt {
        lapic_addr: apic.local_apic_address,
        apicids,
    })
}
