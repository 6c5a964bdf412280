//! Prefetch hints for a batch of lookups, so their cache misses overlap.
//!
//! A lookup is two dependent memory accesses (the key's home chunk in the
//! index, then the record it names), and a batch of pipelined requests run
//! one after another waits for each pair in turn. A caller holding several
//! keys at once can start them all first:
//!
//! ```text
//! hash every key → prefetch_index(each) → prefetch_record(each) → run them in order
//!                  (home chunks load)      (reads each chunk,
//!                                           starts its record)
//! ```
//!
//! By the time `prefetch_record` reads the first key's chunk, it has been
//! loading while the other keys were hashed and hinted, and so on down the
//! batch. The hints change nothing and decide nothing: `prefetch_record`
//! reads the index only to compute an address, and the operations that
//! follow do their own full lookup, so a hint made stale by an earlier
//! request of the batch (a SET that moved the record, a DEL) costs a wasted
//! line, never a wrong answer.
//!
//! ```
//! use blink_store::store::Store;
//!
//! let mut store = Store::new(1 << 20);
//! store.set(b"a", b"1", None, 0).unwrap();
//! let keys: [&[u8]; 2] = [b"a", b"b"];
//! let hashes = keys.map(|key| store.key_hash(key));
//! hashes.iter().for_each(|&hash| store.prefetch_index(hash));
//! hashes.iter().for_each(|&hash| store.prefetch_record(hash));
//! assert_eq!(store.get(b"a", 0), Some(&b"1"[..]));
//! assert_eq!(store.get(b"b", 0), None);
//! ```

use super::Store;
use super::table::Home;

/// A key's hash under this store's hasher, for the prefetch hints (the
/// default is a placeholder for arrays of them, any key's or none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyHash(u64);

impl Store {
    /// The hash the hints take (the one a lookup of `key` computes).
    #[inline(always)]
    pub fn key_hash(&self, key: &[u8]) -> KeyHash {
        KeyHash(self.index.hash(key))
    }

    /// Starts loading the index chunk a lookup of this hash reads first,
    /// without waiting for it.
    #[inline(always)]
    pub fn prefetch_index(&self, hash: KeyHash) {
        self.index.prefetch_home(hash.0);
    }

    /// Starts loading the record the hash's home chunk names first, if any,
    /// without waiting for it. Reads that chunk, so call it after
    /// [`Store::prefetch_index`] of the same hash with other work between.
    #[inline(always)]
    pub fn prefetch_record(&self, hash: KeyHash) {
        if let Home::First(loc) = self.index.home(hash.0) {
            self.arena.prefetch(loc);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU64;

    use super::*;

    #[test]
    fn hints_on_live_missing_expired_and_removed_keys_change_nothing() {
        let mut store = Store::new(1 << 20);
        store.set(b"live", b"v", None, 0).unwrap();
        store.set(b"expired", b"v", NonZeroU64::new(5), 0).unwrap();
        store.set(b"removed", b"v", None, 0).unwrap();
        let keys: [&[u8]; 4] = [b"live", b"expired", b"removed", b"missing"];
        let hashes = keys.map(|key| store.key_hash(key));
        assert!(store.delete(b"removed", 0));
        let before = (store.stats(), store.used_bytes(), store.len());
        for &hash in &hashes {
            store.prefetch_index(hash);
            store.prefetch_record(hash);
        }
        assert_eq!((store.stats(), store.used_bytes(), store.len()), before);
        store.check_invariants();
        assert_eq!(store.get(b"live", 10), Some(&b"v"[..]));
        assert_eq!(store.get(b"expired", 10), None);
        assert_eq!(store.get(b"removed", 10), None);
        assert_eq!(store.get(b"missing", 10), None);
    }

    #[test]
    fn the_hash_is_the_lookups_own() {
        let store = Store::new(1 << 20);
        assert_eq!(store.key_hash(b"k"), KeyHash(store.index.hash(b"k")));
        assert_ne!(store.key_hash(b"k"), store.key_hash(b"j"));
    }
}
