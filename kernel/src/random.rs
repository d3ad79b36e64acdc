//! Random bytes for AT_RANDOM and getrandom(2).
//!
//! Linux: drivers/char/random.c
//! Differs: a splitmix64 stream seeded from the TSC at first use; good
//! enough for stack canaries in a teaching kernel, not for cryptography.

use crate::arch::sync::SpinLock;

static STATE: SpinLock<u64> = SpinLock::new(0);

fn next(state: &mut u64) -> u64 {
    if *state == 0 {
        *state = crate::arch::rdtsc() | 1;
    }
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Fills `buf` with random bytes (Linux: get_random_bytes()).
pub fn get_random_bytes(buf: &mut [u8]) {
    let mut state = STATE.lock();
    for chunk in buf.chunks_mut(8) {
        let v = next(&mut state).to_le_bytes();
        chunk.copy_from_slice(&v[..chunk.len()]);
    }
}
