//! The key index: key -> record location, without storing keys a second
//! time.
//!
//! A `hashbrown::HashTable<u32>` holds only locations (4 bytes plus one
//! control byte per bucket); probing compares the candidate's key bytes in
//! its record. The hasher is foldhash with a per-process random seed, so
//! clients cannot choose keys that all land in one bucket.
//!
//! # Growing without a stall
//!
//! Rehashing reads every entry's key from its record, a cache miss each: a
//! table of a million entries would take a few hundred milliseconds to grow
//! in place, with every client waiting. So the index never lets the table
//! grow itself. When the table is full, it becomes the *old* table and a
//! new one takes its place, with room for twice the old one's entries and
//! for every insert until the move ends. Every insert moves the entries of
//! [`MIGRATE_BUCKETS_PER_INSERT`] old buckets across (each removed from the
//! old table and inserted into the new), and every `Store::tick` those of
//! [`MIGRATE_BUCKETS_PER_TICK`], so the move also ends when inserts stop.
//! A table that filled up by growing holds 7 entries per 8 buckets, so a
//! move costs each insert about 28 key reads and ends after 1/28 of the old
//! table's entries in inserts. Until then lookups, removals and relocations
//! try the new table, then the old.

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use std::hash::BuildHasher;

use super::record::Loc;

/// Old-table buckets moved to the new table by every insert while the
/// index grows (about 28 entries at hashbrown's 7/8 load).
const MIGRATE_BUCKETS_PER_INSERT: usize = 32;
/// Old-table buckets moved by every `Store::tick` while the index grows.
pub(super) const MIGRATE_BUCKETS_PER_TICK: usize = 256;

/// Locations of the live entries, found by key hash.
#[derive(Debug, Default)]
pub(super) struct Index {
    table: HashTable<Loc>,
    /// The table being emptied into `table`, while the index grows.
    old: Option<OldTable>,
    hasher: RandomState,
}

/// A full table whose entries are moving to a bigger one.
#[derive(Debug)]
struct OldTable {
    table: HashTable<Loc>,
    /// Buckets below this index have been moved.
    next_bucket: usize,
}

impl Index {
    /// Hash of a key; compute once per operation and pass it around.
    #[inline]
    pub(super) fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Number of indexed locations.
    pub(super) fn len(&self) -> usize {
        self.table.len() + self.old.as_ref().map_or(0, |old| old.table.len())
    }

    /// True while entries are moving from a full table to a bigger one.
    #[cfg(test)]
    pub(super) fn is_growing(&self) -> bool {
        self.old.is_some()
    }

    /// Finds the location whose key (read through `key_of`) equals `key`.
    #[inline]
    pub(super) fn find<'a>(
        &self,
        hash: u64,
        key: &[u8],
        key_of: impl Fn(Loc) -> &'a [u8],
    ) -> Option<Loc> {
        // `iter_hash` yields the candidates whose tag matches, and the loop
        // compares keys inline: `find` would call a comparison closure
        // out of line for every candidate.
        let in_table = |table: &HashTable<Loc>| {
            table
                .iter_hash(hash)
                .copied()
                .find(|&loc| keys_equal(key_of(loc), key))
        };
        in_table(&self.table).or_else(|| in_table(&self.old.as_ref()?.table))
    }

    /// Adds a location whose key is not indexed yet; `key_of` reads the
    /// keys of the entries it moves while the index grows.
    pub(super) fn insert<'a>(&mut self, hash: u64, loc: Loc, key_of: impl Fn(Loc) -> &'a [u8]) {
        if self.old.is_none() && self.table.len() == self.table.capacity() {
            self.start_growing();
        }
        self.migrate(MIGRATE_BUCKETS_PER_INSERT, &key_of);
        debug_assert!(
            self.table.len() < self.table.capacity(),
            "the index would grow in place"
        );
        let hasher = &self.hasher;
        self.table
            .insert_unique(hash, loc, |&loc| hasher.hash_one(key_of(loc)));
    }

    /// Removes a location, found by its key's hash; returns false if absent.
    pub(super) fn remove(&mut self, hash: u64, loc: Loc) -> bool {
        for table in self.tables_mut() {
            if let Ok(entry) = table.find_entry(hash, |&candidate| candidate == loc) {
                entry.remove();
                return true;
            }
        }
        false
    }

    /// Replaces `old`, found by its key's hash, with `new`: the entry moved.
    pub(super) fn relocate(&mut self, hash: u64, old: Loc, new: Loc) {
        for table in self.tables_mut() {
            if let Some(slot) = table.find_mut(hash, |&candidate| candidate == old) {
                *slot = new;
                return;
            }
        }
        panic!("a moved entry is not indexed");
    }

    /// The current table, then the old one while the index grows.
    fn tables_mut(&mut self) -> impl Iterator<Item = &mut HashTable<Loc>> {
        let old = self.old.as_mut().map(|old| &mut old.table);
        std::iter::once(&mut self.table).chain(old)
    }

    /// Every indexed location, in no particular order.
    pub(super) fn locs(&self) -> impl Iterator<Item = Loc> + '_ {
        let old = self.old.iter().flat_map(|old| old.table.iter());
        self.table.iter().chain(old).copied()
    }

    /// Makes the full table the old one, behind an empty one with room for
    /// twice its entries and for every insert until the move ends (a table
    /// full of deleted buckets may hold few entries in many buckets).
    fn start_growing(&mut self) {
        let len = self.table.len().max(8);
        let inserts_while_moving = self
            .table
            .num_buckets()
            .div_ceil(MIGRATE_BUCKETS_PER_INSERT);
        let capacity = (2 * len).max(len + inserts_while_moving + 1);
        let full = std::mem::replace(&mut self.table, HashTable::with_capacity(capacity));
        self.old = Some(OldTable {
            table: full,
            next_bucket: 0,
        });
    }

    /// Moves the entries of the next `buckets` old buckets to the new table
    /// (reading their keys through `key_of`); drops the old table once every
    /// bucket has been moved. Nothing to do unless the index is growing.
    pub(super) fn migrate<'a>(&mut self, buckets: usize, key_of: &impl Fn(Loc) -> &'a [u8]) {
        let Some(old) = self.old.as_mut() else {
            return;
        };
        let end = (old.next_bucket + buckets).min(old.table.num_buckets());
        for bucket in old.next_bucket..end {
            if let Ok(entry) = old.table.get_bucket_entry(bucket) {
                let (loc, _) = entry.remove();
                let hasher = &self.hasher;
                let hash = hasher.hash_one(key_of(loc));
                self.table
                    .insert_unique(hash, loc, |&loc| hasher.hash_one(key_of(loc)));
            }
        }
        old.next_bucket = end;
        if end == old.table.num_buckets() {
            debug_assert!(old.table.is_empty(), "entries left behind in the old table");
            self.old = None;
        }
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
    use super::{Index, Loc, keys_equal};

    #[test]
    fn growing_moves_entries_a_few_at_a_time_and_finds_them_throughout() {
        let keys: Vec<[u8; 8]> = (0..5_000u64).map(u64::to_le_bytes).collect();
        let key_of = |loc: Loc| &keys[loc as usize][..];
        let mut index = Index::default();
        let mut moves_seen = 0;
        for (loc, key) in keys.iter().enumerate() {
            let before = index.table.len();
            index.insert(index.hash(key), loc as Loc, key_of);
            if index.is_growing() {
                moves_seen += 1;
                // One insert moves at most a few buckets' entries.
                assert!(index.table.len() <= before + 1 + super::MIGRATE_BUCKETS_PER_INSERT);
            }
            if loc % 97 == 0 {
                for (loc, key) in keys[..=loc].iter().enumerate() {
                    assert_eq!(index.find(index.hash(key), key, key_of), Some(loc as Loc));
                }
            }
        }
        assert!(moves_seen > 100, "the index grew incrementally");
        assert_eq!(index.len(), keys.len());
        assert_eq!(index.locs().count(), keys.len());
    }

    #[test]
    fn removing_and_relocating_reach_both_tables_while_growing() {
        let keys: Vec<[u8; 8]> = (0..2_000u64).map(u64::to_le_bytes).collect();
        let key_of = |loc: Loc| &keys[loc as usize % 2_000][..];
        let mut index = Index::default();
        let mut loc = 0;
        while !index.is_growing() || index.old.as_ref().is_some_and(|old| old.table.is_empty()) {
            index.insert(index.hash(&keys[loc]), loc as Loc, key_of);
            loc += 1;
        }
        // Every entry inserted so far, in the old table or already moved.
        for (loc, key) in keys[..loc].iter().enumerate() {
            let hash = index.hash(key);
            if loc % 2 == 0 {
                assert!(index.remove(hash, loc as Loc));
                assert_eq!(index.find(hash, key, key_of), None);
            } else {
                index.relocate(hash, loc as Loc, (loc + 2_000) as Loc);
                assert_eq!(index.find(hash, key, key_of), Some((loc + 2_000) as Loc));
            }
        }
        assert_eq!(index.len(), loc / 2);
    }

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
