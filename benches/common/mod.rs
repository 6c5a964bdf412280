//! Shared inputs of the store benchmarks: the item shape and a fixed-seed
//! generator, so every run and both caches see the very same keys.

/// Entries loaded by every benchmark.
pub const ENTRIES: u64 = 1_000_000;
/// Key bytes of every item (the target shape).
pub const KEY_BYTES: usize = 16;
/// Value bytes of every item (the target shape).
pub const VALUE_BYTES: usize = 100;

/// splitmix64: a tiny, well-mixed, seedable generator.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Key number `i`: unique for every `i`, random-looking bytes.
pub fn key(i: u64) -> [u8; KEY_BYTES] {
    let mut state = i;
    let mut bytes = [0; KEY_BYTES];
    bytes[..8].copy_from_slice(&i.to_le_bytes());
    bytes[8..].copy_from_slice(&splitmix64(&mut state).to_le_bytes());
    bytes
}
