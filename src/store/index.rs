//! The key index: key -> record location, without storing keys a second
//! time.
//!
//! A [`Table`] (`table.rs`) holds only locations (about 6.4 to 12.8 bytes
//! per entry, its 64-byte chunks 83% to 42% full); probing compares the
//! candidate's key bytes in its record. The hasher is foldhash with a
//! per-process random seed, so clients cannot choose keys that all land in
//! one chunk.
//!
//! # Growing without a stall
//!
//! Rehashing reads every entry's key from its record, a cache miss each: a
//! table of a million entries would take a few hundred milliseconds to grow
//! in place, with every client waiting. So a table never grows. When it is
//! full, it becomes the *old* table and a new one takes its place, with room
//! for twice the old one's entries and for every insert until the move
//! ends. Every insert moves the entries of [`MIGRATE_CHUNKS_PER_INSERT`] old
//! chunks across (each removed from the old table and inserted into the
//! new), and every `Store::tick` those of [`MIGRATE_CHUNKS_PER_TICK`], so the
//! move also ends when inserts stop. A full table holds 10 entries per
//! chunk, so a move costs each insert about 30 key reads and ends after a
//! thirtieth of the old table's entries in inserts. Until then lookups,
//! removals and relocations try the new table, then the old.

use foldhash::fast::RandomState;
use std::hash::BuildHasher;

use super::record::Loc;
use super::table::{Home, Probe, Table};

/// Old-table chunks moved to the new table by every insert while the
/// index grows (about 30 entries).
const MIGRATE_CHUNKS_PER_INSERT: usize = 3;
/// Old-table chunks moved by every `Store::tick` while the index grows.
pub(super) const MIGRATE_CHUNKS_PER_TICK: usize = 24;

/// Locations of the live entries, found by key hash.
#[derive(Debug, Default)]
pub(super) struct Index {
    table: Table,
    /// The table being emptied into `table`, while the index grows.
    old: Option<OldTable>,
    hasher: RandomState,
}

/// A full table whose entries are moving to a bigger one.
#[derive(Debug)]
struct OldTable {
    table: Table,
    /// Chunks below this number have been moved.
    next_chunk: usize,
}

impl Index {
    /// Hash of a key; compute once per operation and pass it around.
    #[inline(always)]
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

    /// Most entries the current table takes: it doubles with every
    /// growth and never shrinks.
    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.table.capacity()
    }

    /// What the current table's home chunk alone tells about `hash` (see
    /// [`Table::home`]); while the index grows, an absent hash may still
    /// be in the old table, so it is [`Home::Unsure`]. Most lookups end
    /// here, in straight-line code; the rest take [`Index::candidates`].
    #[inline(always)]
    pub(super) fn home(&self, hash: u64) -> Home {
        match self.table.home(hash) {
            Home::Absent if self.old.is_some() => Home::Unsure,
            home => home,
        }
    }

    /// Starts loading the current table's home chunk for `hash` (the old
    /// table's, while the index grows, is left to the lookup).
    #[inline(always)]
    pub(super) fn prefetch_home(&self, hash: u64) {
        self.table.prefetch_home(hash);
    }

    /// The locations whose keys may equal a key with this hash: the
    /// current table's, then the old one's. The caller compares each
    /// candidate's key (see [`keys_equal`]).
    pub(super) fn candidates(&self, hash: u64) -> Candidates<'_> {
        Candidates {
            probe: self.table.probe(hash),
            old: self.old.as_ref().map(|old| &old.table),
            hash,
        }
    }

    /// Adds a location whose key is not indexed yet; `key_of` reads the
    /// keys of the entries it moves while the index grows.
    pub(super) fn insert<'a>(&mut self, hash: u64, loc: Loc, key_of: impl Fn(Loc) -> &'a [u8]) {
        if self.old.is_none() && self.table.len() == self.table.capacity() {
            self.start_growing();
        }
        self.migrate(MIGRATE_CHUNKS_PER_INSERT, &key_of);
        self.table.insert(hash, loc);
    }

    /// Removes a location, found by its key's hash; returns false if absent.
    pub(super) fn remove(&mut self, hash: u64, loc: Loc) -> bool {
        self.tables_mut().any(|table| table.remove(hash, loc))
    }

    /// Replaces `old`, found by its key's hash, with `new`: the entry moved.
    pub(super) fn relocate(&mut self, hash: u64, old: Loc, new: Loc) {
        let moved = self.tables_mut().any(|table| table.replace(hash, old, new));
        assert!(moved, "a moved entry is not indexed");
    }

    /// The current table, then the old one while the index grows.
    fn tables_mut(&mut self) -> impl Iterator<Item = &mut Table> {
        let old = self.old.as_mut().map(|old| &mut old.table);
        std::iter::once(&mut self.table).chain(old)
    }

    /// Every indexed location, in no particular order.
    pub(super) fn locs(&self) -> impl Iterator<Item = Loc> + '_ {
        let old = self.old.iter().flat_map(|old| old.table.locs());
        self.table.locs().chain(old)
    }

    /// Checks both tables against the keys' hashes (see
    /// [`Table::check_invariants`]).
    pub(super) fn check_invariants<'a>(&self, key_of: impl Fn(Loc) -> &'a [u8]) {
        let hash_of = |loc| self.hash(key_of(loc));
        self.table.check_invariants(hash_of, false);
        if let Some(old) = &self.old {
            old.table.check_invariants(hash_of, true);
        }
    }

    /// One step of a scan: the locations of the entries whose hash lies in
    /// the current table's home-chunk range holding `cursor`, at or after
    /// `cursor` (see [`scan_order`]), handed to `visit`; returns the cursor
    /// of the next step, 0 when the scan is complete.
    ///
    /// Cursors order hashes by their bit-reversal, so a home chunk is one
    /// contiguous cursor range in every table size and growing (which
    /// splits each chunk's range in two) never moves an entry across a
    /// cursor. An entry present for a whole scan is visited exactly once.
    pub(super) fn scan_step<'a>(
        &self,
        cursor: u64,
        key_of: impl Fn(Loc) -> &'a [u8],
        mut visit: impl FnMut(Loc),
    ) -> u64 {
        let chunk_count = self.table.chunk_count().max(1) as u64;
        // Cursors per home chunk of the current table (2^64 / chunk_count).
        let span = 1u128 << (64 - chunk_count.trailing_zeros());
        let end = (u128::from(cursor) / span + 1) * span;
        let in_range = |loc| {
            let order = u128::from(scan_order(self.hash(key_of(loc))));
            (u128::from(cursor)..end).contains(&order)
        };
        let tables = std::iter::once(&self.table).chain(self.old.as_ref().map(|old| &old.table));
        for table in tables {
            if table.chunk_count() == 0 {
                continue;
            }
            let home = cursor.reverse_bits() as usize & (table.chunk_count() - 1);
            table
                .chain(home)
                .filter(|&loc| in_range(loc))
                .for_each(&mut visit);
        }
        u64::try_from(end).unwrap_or(0)
    }

    /// Makes the full table the old one, behind a table with room for
    /// twice its entries and for every insert until the move ends.
    fn start_growing(&mut self) {
        let len = self.table.len().max(8);
        let inserts_while_moving = self.table.chunk_count().div_ceil(MIGRATE_CHUNKS_PER_INSERT);
        let capacity = (2 * len).max(len + inserts_while_moving + 1);
        let full = std::mem::replace(&mut self.table, Table::with_capacity(capacity));
        self.old = Some(OldTable {
            table: full,
            next_chunk: 0,
        });
    }

    /// Moves the entries of the next `chunks` old chunks to the new table
    /// (reading their keys through `key_of`); drops the old table once every
    /// chunk has been moved. Nothing to do unless the index is growing.
    pub(super) fn migrate<'a>(&mut self, chunks: usize, key_of: &impl Fn(Loc) -> &'a [u8]) {
        let Some(old) = self.old.as_mut() else {
            return;
        };
        let end = (old.next_chunk + chunks).min(old.table.chunk_count());
        for chunk_no in old.next_chunk..end {
            old.table.drain_chunk(chunk_no, |loc| {
                self.table.insert(self.hasher.hash_one(key_of(loc)), loc);
            });
        }
        old.next_chunk = end;
        if end == old.table.chunk_count() {
            debug_assert!(old.table.is_empty(), "entries left behind in the old table");
            self.old = None;
        }
    }
}

/// Where a hash falls in a scan: its bits reversed, so that the low bits
/// which choose a home chunk come first.
pub(super) fn scan_order(hash: u64) -> u64 {
    hash.reverse_bits()
}

/// A lookup's candidate locations (see [`Index::candidates`]).
pub(super) struct Candidates<'i> {
    probe: Probe<'i>,
    /// The old table, while it is still to be probed.
    old: Option<&'i Table>,
    hash: u64,
}

impl Iterator for Candidates<'_> {
    type Item = Loc;

    fn next(&mut self) -> Option<Loc> {
        loop {
            if let Some(loc) = self.probe.next() {
                return Some(loc);
            }
            self.probe = self.old.take()?.probe(self.hash);
        }
    }
}

/// `a == b`, with short keys compared in two overlapping 8-byte words
/// instead of a call to `memcmp`.
#[inline(always)]
pub(super) fn keys_equal(a: &[u8], b: &[u8]) -> bool {
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
    use super::super::table::SLOTS;
    use super::{Index, Loc, keys_equal};

    /// The location `index` finds for `key`.
    fn find<'a>(index: &Index, key: &[u8], key_of: impl Fn(Loc) -> &'a [u8]) -> Option<Loc> {
        let mut candidates = index.candidates(index.hash(key));
        candidates.find(|&loc| keys_equal(key_of(loc), key))
    }

    #[test]
    fn growing_moves_entries_a_few_at_a_time_and_finds_them_throughout() {
        // Under Miri, 400 keys: still five growths, in seconds, not hours.
        let key_count: u64 = if cfg!(miri) { 400 } else { 5_000 };
        let keys: Vec<[u8; 8]> = (0..key_count).map(u64::to_le_bytes).collect();
        let key_of = |loc: Loc| &keys[loc as usize][..];
        let mut index = Index::default();
        let mut moves_seen = 0;
        for (loc, key) in keys.iter().enumerate() {
            let before = index.table.len();
            index.insert(index.hash(key), loc as Loc, key_of);
            if index.is_growing() {
                moves_seen += 1;
                // One insert moves at most a few chunks' entries.
                assert!(index.table.len() <= before + 1 + super::MIGRATE_CHUNKS_PER_INSERT * SLOTS);
            }
            if loc % 97 == 0 {
                for (loc, key) in keys[..=loc].iter().enumerate() {
                    assert_eq!(find(&index, key, key_of), Some(loc as Loc));
                }
            }
        }
        assert!(moves_seen > key_count / 50, "the index grew incrementally");
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
                assert_eq!(find(&index, key, key_of), None);
            } else {
                index.relocate(hash, loc as Loc, (loc + 2_000) as Loc);
                assert_eq!(find(&index, key, key_of), Some((loc + 2_000) as Loc));
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
