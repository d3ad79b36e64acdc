//! The CMOS real-time clock (MC146818), read once at boot to start the
//! realtime clock at the date it keeps.
//!
//! Linux: arch/x86/kernel/rtc.c (mach_get_cmos_time) and
//! drivers/rtc/rtc-mc146818-lib.c (mc146818_get_time)
//! Differs: read only, at boot; settimeofday() does not write it back.

use x86_64::instructions::port::Port;

/// The CMOS index port; bit 7 of the index would mask NMIs, left clear.
const RTC_PORT_INDEX: u16 = 0x70;
/// The CMOS data port.
const RTC_PORT_DATA: u16 = 0x71;
const RTC_SECONDS: u8 = 0;
const RTC_MINUTES: u8 = 2;
const RTC_HOURS: u8 = 4;
const RTC_DAY_OF_MONTH: u8 = 7;
const RTC_MONTH: u8 = 8;
const RTC_YEAR: u8 = 9;
/// Register A; its bit 7 is set while the chip updates the time (RTC_UIP).
const RTC_REG_A: u8 = 10;
const RTC_UIP: u8 = 0x80;
/// Register B; its bit 2 means binary, not BCD (RTC_DM_BINARY), its bit 1
/// a 24-hour clock (RTC_24H).
const RTC_REG_B: u8 = 11;
const RTC_DM_BINARY: u8 = 0x04;
const RTC_24H: u8 = 0x02;

/// One CMOS register (Linux: CMOS_READ()).
fn cmos_read(reg: u8) -> u8 {
    let mut index = Port::<u8>::new(RTC_PORT_INDEX);
    let mut data = Port::<u8>::new(RTC_PORT_DATA);
    // SAFETY: ports 0x70/0x71 are the CMOS index and data ports of every PC;
    // selecting a clock register and reading it has no other effect.
    unsafe {
        index.write(reg);
        data.read()
    }
}

/// The RTC's date and time, read when no update is in progress and read
/// twice until both reads agree, so no field is torn by an update.
fn read_fields() -> [u8; 6] {
    let regs = [
        RTC_SECONDS,
        RTC_MINUTES,
        RTC_HOURS,
        RTC_DAY_OF_MONTH,
        RTC_MONTH,
        RTC_YEAR,
    ];
    let read = || {
        while cmos_read(RTC_REG_A) & RTC_UIP != 0 {
            core::hint::spin_loop();
        }
        regs.map(cmos_read)
    };
    loop {
        let first = read();
        if read() == first {
            return first;
        }
    }
}

fn bcd2bin(v: u8) -> u8 {
    (v & 0x0f) + (v >> 4) * 10
}

/// Days from 1970-01-01 to the civil date y-m-d (proleptic Gregorian).
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Seconds since the epoch by the CMOS clock, which keeps UTC on QEMU.
///
/// Linux: mach_get_cmos_time() in arch/x86/kernel/rtc.c, through
/// mc146818_get_time() and mktime64()
pub fn mach_get_cmos_time() -> u64 {
    let [sec, min, hour, mday, mon, year] = read_fields();
    let reg_b = cmos_read(RTC_REG_B);
    let bin = |v: u8| {
        if reg_b & RTC_DM_BINARY != 0 {
            v
        } else {
            bcd2bin(v)
        }
    };
    let pm = reg_b & RTC_24H == 0 && hour & 0x80 != 0;
    let mut hour = u64::from(bin(hour & 0x7f));
    if reg_b & RTC_24H == 0 {
        hour = hour % 12 + if pm { 12 } else { 0 };
    }
    // Linux: a two-digit year below 70 is in the 2000s (mc146818_get_time).
    let year = u64::from(bin(year));
    let year = year + if year < 70 { 2000 } else { 1900 };
    let days = days_from_civil(
        year,
        u64::from(bin(mon)).max(1),
        u64::from(bin(mday)).max(1),
    );
    days * 86_400 + hour * 3600 + u64::from(bin(min)) * 60 + u64::from(bin(sec))
}
