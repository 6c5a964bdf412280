//! Size classes: which chunk size holds a record of a given size.
//!
//! 352 chunk sizes cover records up to [`SMALL_MAX_BYTES`] (256 KiB): 8-byte
//! steps up to 512 bytes, then 32 steps per doubling, so rounding wastes at
//! most 7 bytes below 512 bytes and under 1/32 above. A page holds at least
//! one chunk of every class; where the last chunk leaves a tail, the tail
//! is never written and costs no memory. Every chunk size is a
//! multiple of [`CHUNK_ALIGN_BYTES`], which lets a chunk's offset in its page
//! be stored in 8-byte units (see `pages.rs`).

/// Largest record kept in a size class: one page. Bigger ones get their own
/// allocation, whose allocator rounding is then under 1%. Records this big
/// stay in pages because memory they free there goes back to the system at
/// once, where the allocator would keep it for its own reuse.
pub(super) const SMALL_MAX_BYTES: usize = 256 << 10;
/// Every chunk size, and so every chunk offset, is a multiple of this.
pub(super) const CHUNK_ALIGN_BYTES: usize = 8;
/// Classes with 8-byte steps, covering 1..=512 bytes.
const FINE_CLASSES: usize = 64;
/// Classes per doubling above 512 bytes.
const CLASSES_PER_DOUBLING: usize = 32;
/// Number of size classes: 64 fine ones plus nine doublings (to 256 KiB).
pub(super) const CLASS_COUNT: usize = FINE_CLASSES + 9 * CLASSES_PER_DOUBLING;

/// The size class for a record of `size` bytes (`size <= SMALL_MAX_BYTES`).
pub(super) fn class_of(size: usize) -> usize {
    debug_assert!(size <= SMALL_MAX_BYTES);
    if size <= FINE_CLASSES * CHUNK_ALIGN_BYTES {
        return size.max(1).div_ceil(CHUNK_ALIGN_BYTES) - 1;
    }
    // Doubling `d` (1..=9) covers (256 << d, 512 << d] in steps of 8 << d.
    let doubling = (usize::BITS - (size - 1).leading_zeros()) as usize - 9;
    let lower = 256 << doubling;
    let step = 8 << doubling;
    FINE_CLASSES + CLASSES_PER_DOUBLING * (doubling - 1) + (size - lower - 1) / step
}

/// Chunk bytes of a size class: the largest record size it holds.
pub(super) fn chunk_bytes_of(class: usize) -> usize {
    if class < FINE_CLASSES {
        return (class + 1) * CHUNK_ALIGN_BYTES;
    }
    let doubling = (class - FINE_CLASSES) / CLASSES_PER_DOUBLING + 1;
    let step_index = (class - FINE_CLASSES) % CLASSES_PER_DOUBLING;
    (256 << doubling) + (step_index + 1) * (8 << doubling)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_minimal_and_cover_every_small_size() {
        for size in 0..=SMALL_MAX_BYTES {
            let class = class_of(size);
            assert!(class < CLASS_COUNT);
            let chunk_bytes = chunk_bytes_of(class);
            assert!(chunk_bytes >= size, "size {size}");
            assert_eq!(chunk_bytes % CHUNK_ALIGN_BYTES, 0);
            if class > 0 {
                assert!(
                    chunk_bytes_of(class - 1) < size,
                    "size {size} not in its tightest class"
                );
            }
        }
        assert_eq!(chunk_bytes_of(CLASS_COUNT - 1), SMALL_MAX_BYTES);
        assert_eq!(chunk_bytes_of(class_of(132)), 136);
        assert_eq!(chunk_bytes_of(class_of(513)), 528);
    }
}
