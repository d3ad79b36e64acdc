//! The kernel log's record store: a fixed ring of bytes that holds records
//! one after another, each a small header and its text. A new record that
//! finds no room pushes out the oldest ones; every record has a sequence
//! number, so a reader that fell behind can tell what it lost.
//!
//! The bytes live in a static of their own, as Linux's `__log_buf`: it
//! starts zeroed, so it goes in .bss and costs the boot nothing, where
//! inside the log's lock (whose class key is a pointer) its 128 KiB would
//! be .data that the BIOS loader copies a byte at a time (about 90 ms).
//! They are atomics only so that a static can be written without `unsafe`;
//! the caller's lock orders every access, and a relaxed byte store is a
//! plain store.
//!
//! Linux: kernel/printk/printk_ringbuffer.c
//! Differs: one byte ring under the caller's lock instead of Linux's
//! lockless descriptor and data rings.

use core::sync::atomic::{AtomicU8, Ordering};

/// The ring's size is 2^CONFIG_LOG_BUF_SHIFT bytes (Linux's default shift
/// is 17: 128 KiB).
pub const CONFIG_LOG_BUF_SHIFT: u32 = 17;
/// Bytes in the ring (Linux: log_buf_len).
pub const LOG_BUF_LEN: usize = 1 << CONFIG_LOG_BUF_SHIFT;
/// Longest text of one record; longer messages are cut (Linux: LOG_LINE_MAX).
pub const LOG_LINE_MAX: usize = 1024 - 32;

/// seq is implied by position; ts_nsec (8 bytes), text length (2), level
/// (1), facility (1).
const HEADER: usize = 12;

/// What is known of a record besides its text (Linux: struct printk_info).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrintkInfo {
    /// Its sequence number, counting from 0 at boot.
    pub seq: u64,
    /// Nanoseconds since boot when it was logged.
    pub ts_nsec: u64,
    /// Its level, 0 (KERN_EMERG) to 7 (KERN_DEBUG).
    pub level: u8,
    /// Its syslog facility: 0 for the kernel, 1 (LOG_USER) for /dev/kmsg writes.
    pub facility: u8,
}

/// The bytes of a ring of `N` bytes, zeroed (Linux: `__log_buf`, sized
/// by `_DEFINE_PRINTKRB`).
pub type RingBytes<const N: usize> = [AtomicU8; N];

/// An all-zero [`RingBytes`], for a static or a test's local ring.
pub const fn ring_bytes<const N: usize>() -> RingBytes<N> {
    [const { AtomicU8::new(0) }; N]
}

/// The ring of `N` bytes (Linux: struct printk_ringbuffer); the log's is
/// LOG_BUF_LEN.
pub struct PrintkRingbuffer<'a, const N: usize> {
    data: &'a RingBytes<N>,
    /// Offset of the oldest record.
    head: usize,
    /// Offset where the next record goes.
    tail: usize,
    used: usize,
    first_seq: u64,
    next_seq: u64,
}

impl<'a, const N: usize> PrintkRingbuffer<'a, N> {
    /// An empty ring over `data`.
    pub const fn new(data: &'a RingBytes<N>) -> Self {
        PrintkRingbuffer {
            data,
            head: 0,
            tail: 0,
            used: 0,
            first_seq: 0,
            next_seq: 0,
        }
    }

    /// The oldest record still held (Linux: prb_first_valid_seq()).
    pub fn first_seq(&self) -> u64 {
        self.first_seq
    }

    /// The number the next record will get (Linux: prb_next_seq()).
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Appends a record, cut to LOG_LINE_MAX, dropping the oldest records
    /// for room.
    ///
    /// Linux: prb_reserve() and prb_commit() in kernel/printk/printk_ringbuffer.c
    pub fn push(&mut self, ts_nsec: u64, level: u8, facility: u8, text: &[u8]) {
        let text = &text[..text.len().min(LOG_LINE_MAX).min(N - HEADER)];
        let need = HEADER + text.len();
        while N - self.used < need {
            self.drop_oldest();
        }
        let mut header = [0u8; HEADER];
        header[..8].copy_from_slice(&ts_nsec.to_le_bytes());
        header[8..10].copy_from_slice(&(text.len() as u16).to_le_bytes());
        header[10] = level;
        header[11] = facility;
        let at = self.tail;
        self.write_at(at, &header);
        self.write_at(at + HEADER, text);
        self.tail = (at + need) % N;
        self.used += need;
        self.next_seq += 1;
    }

    fn drop_oldest(&mut self) {
        let (_, len) = self.header_at(self.head);
        self.head = (self.head + HEADER + len) % N;
        self.used -= HEADER + len;
        self.first_seq += 1;
    }

    fn write_at(&mut self, at: usize, bytes: &[u8]) {
        for (i, b) in bytes.iter().enumerate() {
            self.data[(at + i) % N].store(*b, Ordering::Relaxed);
        }
    }

    fn header_at(&self, at: usize) -> ([u8; HEADER], usize) {
        let mut header = [0u8; HEADER];
        for (i, b) in header.iter_mut().enumerate() {
            *b = self.data[(at + i) % N].load(Ordering::Relaxed);
        }
        let len = u16::from_le_bytes([header[8], header[9]]) as usize;
        (header, len)
    }

    /// Calls `f` with each record from `seq` on (from the oldest if `seq`
    /// was overwritten) and its text, until `f` returns false.
    ///
    /// Linux: prb_for_each_record() in kernel/printk/printk_ringbuffer.h
    pub fn for_each_from(&self, seq: u64, mut f: impl FnMut(&PrintkInfo, &[u8]) -> bool) {
        let mut at = self.head;
        let mut text = [0u8; LOG_LINE_MAX];
        for s in self.first_seq..self.next_seq {
            let (header, len) = self.header_at(at);
            if s >= seq {
                let info = PrintkInfo {
                    seq: s,
                    ts_nsec: u64::from_le_bytes(header[..8].try_into().unwrap_or_default()),
                    level: header[10],
                    facility: header[11],
                };
                for (i, b) in text[..len].iter_mut().enumerate() {
                    *b = self.data[(at + HEADER + i) % N].load(Ordering::Relaxed);
                }
                if !f(&info, &text[..len]) {
                    return;
                }
            }
            at = (at + HEADER + len) % N;
        }
    }
}

#[cfg(feature = "ktest")]
mod tests {
    use super::*;
    use crate::{kassert, kassert_eq, ktest};

    ktest! {
        fn the_log_ring_drops_its_oldest_records_for_room_and_keeps_their_numbers() {
            const N: usize = 4096;
            let bytes = ring_bytes::<N>();
            let mut rb = PrintkRingbuffer::new(&bytes);
            let line = [b'x'; 100];
            let fits = N / (HEADER + line.len());
            for _ in 0..fits * 3 {
                rb.push(7, 6, 0, &line);
            }
            kassert_eq!(rb.next_seq(), (fits * 3) as u64);
            kassert!(rb.first_seq() >= (fits * 2) as u64, "kept too many");
            let mut seen = 0;
            let mut expected = rb.first_seq();
            rb.for_each_from(0, |info, text| {
                seen += usize::from(info.seq == expected && text == line && info.ts_nsec == 7);
                expected += 1;
                true
            });
            kassert_eq!(seen as u64, rb.next_seq() - rb.first_seq());
        }
    }
}
