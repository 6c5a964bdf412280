//! The key index: key -> record location, without storing keys a second
//! time.
//!
//! A `hashbrown::HashTable<u32>` holds only locations (4 bytes plus one
//! control byte per bucket); probing compares the candidate's key bytes in
//! its record, and growing rehashes each location by reading its key there. The hasher
//! is foldhash with a per-process random seed, so clients cannot choose keys
//! that all land in one bucket.

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use std::hash::BuildHasher;

use super::record::Loc;

/// Locations of the live entries, found by key hash.
#[derive(Debug, Default)]
pub(super) struct Index {
    table: HashTable<Loc>,
    hasher: RandomState,
}

impl Index {
    /// Hash of a key; compute once per operation and pass it around.
    #[inline]
    pub(super) fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Number of indexed locations.
    pub(super) fn len(&self) -> usize {
        self.table.len()
    }

    /// Finds the location whose key (read through `key_of`) equals `key`.
    #[inline]
    pub(super) fn find<'a>(
        &self,
        hash: u64,
        key: &[u8],
        mut key_of: impl FnMut(Loc) -> &'a [u8],
    ) -> Option<Loc> {
        self.table
            .find(hash, |&loc| keys_equal(key_of(loc), key))
            .copied()
    }

    /// Adds a location whose key is not indexed yet; `key_of` serves rehashing.
    pub(super) fn insert<'a>(&mut self, hash: u64, loc: Loc, key_of: impl Fn(Loc) -> &'a [u8]) {
        let hasher = &self.hasher;
        self.table
            .insert_unique(hash, loc, |&loc| hasher.hash_one(key_of(loc)));
    }

    /// Removes a location, found by its key's hash; returns false if absent.
    pub(super) fn remove(&mut self, hash: u64, loc: Loc) -> bool {
        match self.table.find_entry(hash, |&candidate| candidate == loc) {
            Ok(entry) => {
                entry.remove();
                true
            }
            Err(_) => false,
        }
    }

    /// Replaces `old`, found by its key's hash, with `new`: the entry moved.
    pub(super) fn relocate(&mut self, hash: u64, old: Loc, new: Loc) {
        let slot = self
            .table
            .find_mut(hash, |&candidate| candidate == old)
            .expect("a moved entry is indexed");
        *slot = new;
    }

    /// Every indexed location, in no particular order.
    pub(super) fn locs(&self) -> impl Iterator<Item = Loc> + '_ {
        self.table.iter().copied()
    }
}

/// `a == b`, with short keys compared in two overlapping 8-byte words
/// instead of a call to `memcmp`.
#[inline(always)]
fn keys_equal(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    match (a.first_chunk::<8>(), b.first_chunk::<8>()) {
        (Some(a_head), Some(b_head)) if a.len() <= 16 => {
            let (a_tail, b_tail) = (a.last_chunk::<8>(), b.last_chunk::<8>());
            a_head == b_head && a_tail == b_tail
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::keys_equal;

    #[test]
    fn keys_equal_agrees_with_slice_equality() {
        let keys: Vec<Vec<u8>> = (0..=40)
            .flat_map(|len| {
                let base: Vec<u8> = (0..len as u8).collect();
                let mut first = base.clone();
                let mut last = base.clone();
                if let Some(byte) = first.first_mut() {
                    *byte ^= 1;
                }
                if let Some(byte) = last.last_mut() {
                    *byte ^= 1;
                }
                [base, first, last]
            })
            .collect();
        for a in &keys {
            for b in &keys {
                assert_eq!(keys_equal(a, b), a == b, "{a:?} vs {b:?}");
            }
        }
    }
}
