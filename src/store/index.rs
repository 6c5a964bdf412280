//! The key index: key -> slot id, without storing keys a second time.
//!
//! A `hashbrown::HashTable<u32>` holds only ids (4 bytes plus one control
//! byte per bucket); probing compares the candidate's key bytes in the
//! arena, and growing rehashes each id by reading its key there. The hasher
//! is foldhash with a per-process random seed, so clients cannot choose keys
//! that all land in one bucket.

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use std::hash::BuildHasher;

use super::slab::Id;

/// Ids of the live entries, found by key hash.
#[derive(Debug, Default)]
pub(super) struct Index {
    table: HashTable<Id>,
    hasher: RandomState,
}

impl Index {
    /// Hash of a key; compute once per operation and pass it around.
    pub(super) fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Number of indexed ids.
    pub(super) fn len(&self) -> usize {
        self.table.len()
    }

    /// Finds the id whose key (read through `key_of`) equals `key`.
    pub(super) fn find<'a>(
        &self,
        hash: u64,
        key: &[u8],
        mut key_of: impl FnMut(Id) -> &'a [u8],
    ) -> Option<Id> {
        self.table.find(hash, |&id| key_of(id) == key).copied()
    }

    /// Adds an id whose key is not indexed yet; `key_of` serves rehashing.
    pub(super) fn insert<'a>(&mut self, hash: u64, id: Id, key_of: impl Fn(Id) -> &'a [u8]) {
        let hasher = &self.hasher;
        self.table
            .insert_unique(hash, id, |&id| hasher.hash_one(key_of(id)));
    }

    /// Removes an id, found by its key's hash; returns false if absent.
    pub(super) fn remove(&mut self, hash: u64, id: Id) -> bool {
        match self.table.find_entry(hash, |&candidate| candidate == id) {
            Ok(entry) => {
                entry.remove();
                true
            }
            Err(_) => false,
        }
    }

    /// Every indexed id, in no particular order.
    pub(super) fn ids(&self) -> impl Iterator<Item = Id> + '_ {
        self.table.iter().copied()
    }
}
