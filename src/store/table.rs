//! A fixed-size hash table of record locations, in chunks of 12 slots.
//!
//! The index's lookups decide a get's latency, so the layout is chosen for
//! the memory accesses a lookup makes. Every chunk has 16 bytes of
//! metadata in one array and its 12 locations in another:
//!
//! ```text
//! metas: [tags: 12 x u8 | overflow: u32]  [..]  [..]   16 bytes per chunk
//! locs:  [loc: 12 x u32]                  [..]  [..]   48 bytes per chunk
//!
//! tag:      0 = empty slot, else 0x80 | 7 bits of the key's hash
//! overflow: entries that probed past this chunk
//! ```
//!
//! Both addresses follow from the hash alone, so a lookup loads the
//! metadata and prefetches the locations at once: a hit waits for one
//! memory access, then the record's. (A table that finds the slot first and
//! only then its location, as hashbrown does, waits for three.) A miss
//! needs only the metadata, a quarter of the table (2 MiB at a million
//! entries), which stays cached far better than the whole.
//!
//! An entry's home chunk is picked by the low bits of its key's hash, its
//! tag by the top 7. Insertion takes the first free slot from the home
//! chunk on, adding one to the `overflow` of every full chunk it passes;
//! a lookup scans the tags of one chunk at a time (all twelve at once) and
//! moves to the next chunk only while `overflow` says some entry went
//! further. Removal subtracts what the insertion added, so the counts stay
//! exact and a miss usually reads one chunk's metadata.
//!
//! Most lookups are settled by the home chunk alone ([`Table::home`]): its
//! first slot with the tag holds the entry sought, or no slot has the tag
//! and no entry went further. That case is straight-line code, about a
//! quarter fewer instructions per get than the general probe
//! ([`Table::probe`]), which the rest take: a tag shared with another
//! entry of the chunk (reckoned, not counted: with 7 to 8 entries per
//! chunk and 128 tags, about 6% of misses and 3% of hits) or a chunk that
//! overflowed.
//!
//! The table never holds more than [`MAX_ENTRIES_PER_CHUNK`] entries per
//! chunk on average, so every probe finds a free slot; the index replaces
//! a full table with a bigger one (see `index.rs`).

use super::record::Loc;

/// Slots per chunk: 12 tags and a 4-byte count fill 16 bytes, one SSE2
/// register.
pub(super) const SLOTS: usize = 12;
/// Most entries per chunk on average (83% of the slots): past this, probe
/// sequences grow quickly; below it, the table wastes memory.
pub(super) const MAX_ENTRIES_PER_CHUNK: usize = 10;
/// Tag of an empty slot.
const EMPTY: u8 = 0;
/// One bit per slot, as in a [`Meta::matching`] mask.
const SLOT_BITS: u16 = (1 << SLOTS) - 1;

/// The metadata of one chunk.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(16))]
struct Meta {
    tags: [u8; SLOTS],
    /// Entries whose probe passed this chunk because it was full.
    overflow: u32,
}

const _: () = assert!(size_of::<Meta>() == 16);

/// The locations of one chunk's slots (meaningful where the tag is set).
type Locs = [Loc; SLOTS];

impl Meta {
    const EMPTY: Meta = Meta {
        tags: [EMPTY; SLOTS],
        overflow: 0,
    };

    /// Bit `slot` is set for every slot that holds an entry.
    fn occupied(&self) -> u16 {
        !self.matching(EMPTY) & SLOT_BITS
    }

    /// Bit `slot` is set for every slot whose tag is `tag`.
    #[inline(always)]
    fn matching(&self, tag: u8) -> u16 {
        #[cfg(target_arch = "x86_64")]
        return self.matching_sse2(tag);
        #[cfg(not(target_arch = "x86_64"))]
        return self.matching_swar(tag);
    }

    /// [`Meta::matching`] in a few SSE2 instructions.
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn matching_sse2(&self, tag: u8) -> u16 {
        use std::arch::x86_64::{
            _mm_cmpeq_epi8, _mm_cvtsi32_si128, _mm_movemask_epi8, _mm_set_epi64x, _mm_shuffle_epi32,
        };
        let [low, high] = self.tag_words();
        // The tag in all four bytes of a word, that word in all four lanes:
        // three instructions, where `_mm_set1_epi8` takes five.
        let tag_x4 = (u32::from(tag) * 0x0101_0101) as i32;
        // SAFETY: SSE2 is part of the x86-64 baseline, so every x86-64 CPU
        // runs these; they take and return values only, no pointers.
        let bits = unsafe {
            let tags = _mm_set_epi64x(high as i64, low as i64);
            let needle = _mm_shuffle_epi32::<0>(_mm_cvtsi32_si128(tag_x4));
            _mm_movemask_epi8(_mm_cmpeq_epi8(tags, needle))
        };
        bits as u16 & SLOT_BITS
    }

    /// [`Meta::matching`] in plain integer arithmetic, eight tags per word.
    #[cfg_attr(target_arch = "x86_64", allow(dead_code))]
    fn matching_swar(&self, tag: u8) -> u16 {
        const LOW_7: u64 = u64::from_le_bytes([0x7f; 8]);
        let per_byte = |word: u64| {
            // A zero byte of `x` is a match; the exact test (no borrows
            // between bytes) sets its high bit, then the multiply gathers
            // the eight high bits into the top byte.
            let x = word ^ u64::from_le_bytes([tag; 8]);
            let high_bits = !(((x & LOW_7) + LOW_7) | x | LOW_7);
            ((high_bits >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u16
        };
        let [low, high] = self.tag_words();
        (per_byte(low) | per_byte(high) << 8) & SLOT_BITS
    }

    /// All 16 bytes as two little-endian words: the 12 tags, then the
    /// overflow count, whose bytes the matchers mask off (one 16-byte
    /// load, where zeroing them would take three instructions).
    #[inline(always)]
    fn tag_words(&self) -> [u64; 2] {
        let [low @ .., i, j, k, l] = self.tags;
        let [m, n, o, p] = self.overflow.to_le_bytes();
        [
            u64::from_le_bytes(low),
            u64::from_le_bytes([i, j, k, l, m, n, o, p]),
        ]
    }
}

/// Starts loading `value`'s cache line without waiting for it.
#[inline(always)]
pub(super) fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint that never faults and changes nothing;
    // the pointer comes from a reference anyway.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(value).cast());
    }
    // Elsewhere the hardware's own prefetchers have to do.
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// Slot numbers of the set bits of a [`Meta::matching`] mask, lowest
/// first.
fn slots(mut mask: u16) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        let slot = (mask != 0).then(|| mask.trailing_zeros() as usize)?;
        mask &= mask - 1;
        Some(slot)
    })
}

/// The tag of an entry with this hash: never [`EMPTY`].
#[inline(always)]
fn tag_of(hash: u64) -> u8 {
    0x80 | (hash >> 57) as u8
}

/// What a hash's home chunk alone tells (see [`Table::home`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Home {
    /// No entry has the hash.
    Absent,
    /// The home chunk's first location with the hash's tag: the entry
    /// sought, unless its key differs (then a full probe decides).
    First(Loc),
    /// No location with the tag here, but entries probed past this chunk:
    /// a full probe decides.
    Unsure,
}

/// A lookup in progress: the locations in slots with the hash's tag,
/// chunk by chunk from the home chunk, until a chunk that no entry probed
/// past.
pub(super) struct Probe<'t> {
    metas: &'t [Meta],
    locs: &'t [Locs],
    tag: u8,
    chunk_no: usize,
    /// Chunks passed before `chunk_no`.
    distance: usize,
    /// Matching slots of chunk `chunk_no` not yet yielded.
    matches: u16,
    /// Whether an entry probed past chunk `chunk_no` (its overflow count,
    /// read with its tags, so ending a probe reads nothing more).
    passed_on: bool,
    /// The slot last yielded.
    slot: usize,
}

impl Probe<'_> {
    /// The next candidate location, or `None` when the probe is over.
    #[inline(always)]
    pub(super) fn next(&mut self) -> Option<Loc> {
        loop {
            if self.matches != 0 {
                self.slot = self.matches.trailing_zeros() as usize;
                self.matches &= self.matches - 1;
                return Some(self.locs[self.chunk_no][self.slot]);
            }
            if !self.passed_on || self.distance + 1 == self.metas.len() {
                return None;
            }
            self.chunk_no = (self.chunk_no + 1) & (self.metas.len() - 1);
            self.distance += 1;
            let meta = &self.metas[self.chunk_no];
            self.matches = meta.matching(self.tag);
            self.passed_on = meta.overflow != 0;
        }
    }
}

/// Where a probe found an entry.
struct Position {
    chunk_no: usize,
    slot: usize,
    /// Chunks passed before `chunk_no`.
    distance: usize,
}

/// A table of at most `capacity()` locations, found by their keys' hashes.
#[derive(Debug, Default)]
pub(super) struct Table {
    /// Per chunk, its metadata; a power-of-two number of chunks, or none.
    metas: Vec<Meta>,
    /// Per chunk, its locations.
    locs: Vec<Locs>,
    len: usize,
}

impl Table {
    /// A table with room for at least `entries`.
    pub(super) fn with_capacity(entries: usize) -> Table {
        let chunk_count = entries.div_ceil(MAX_ENTRIES_PER_CHUNK).next_power_of_two();
        let metas = vec![Meta::EMPTY; chunk_count];
        let locs = vec![[0; SLOTS]; chunk_count];
        Table {
            metas,
            locs,
            len: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Most entries the table takes.
    pub(super) fn capacity(&self) -> usize {
        self.metas.len() * MAX_ENTRIES_PER_CHUNK
    }

    pub(super) fn chunk_count(&self) -> usize {
        self.metas.len()
    }

    /// `hash`'s home chunk (`None` in a table of no chunks), its
    /// locations already loading.
    #[inline(always)]
    fn home_chunk(&self, hash: u64) -> Option<(usize, &Meta, &Locs)> {
        let chunk_no = hash as usize & self.metas.len().wrapping_sub(1);
        let locs = self.locs.get(chunk_no)?;
        prefetch(locs);
        Some((chunk_no, self.metas.get(chunk_no)?, locs))
    }

    /// Starts loading `hash`'s home chunk, tags and locations, without
    /// waiting: the first step of a batch of lookups (`prefetch.rs`).
    #[inline(always)]
    pub(super) fn prefetch_home(&self, hash: u64) {
        let chunk_no = hash as usize & self.metas.len().wrapping_sub(1);
        if let (Some(meta), Some(locs)) = (self.metas.get(chunk_no), self.locs.get(chunk_no)) {
            prefetch(meta);
            prefetch(locs);
        }
    }

    /// What `hash`'s home chunk alone tells: the first location with the
    /// hash's tag, or that no entry has the hash, or neither.
    #[inline(always)]
    pub(super) fn home(&self, hash: u64) -> Home {
        let Some((_, meta, locs)) = self.home_chunk(hash) else {
            return Home::Absent;
        };
        match meta.matching(tag_of(hash)) {
            0 if meta.overflow == 0 => Home::Absent,
            0 => Home::Unsure,
            matches => Home::First(locs[matches.trailing_zeros() as usize]),
        }
    }

    /// Starts a lookup of all of `hash`'s candidates.
    pub(super) fn probe(&self, hash: u64) -> Probe<'_> {
        let tag = tag_of(hash);
        let home = self.home_chunk(hash);
        let chunk_no = home.map_or(0, |(chunk_no, _, _)| chunk_no);
        let meta = home.map(|(_, meta, _)| meta);
        Probe {
            metas: &self.metas,
            locs: &self.locs,
            tag,
            chunk_no,
            distance: 0,
            matches: meta.map_or(0, |meta| meta.matching(tag)),
            passed_on: meta.is_some_and(|meta| meta.overflow != 0),
            slot: 0,
        }
    }

    /// Where the entry `loc` with this hash is.
    fn position(&self, hash: u64, loc: Loc) -> Option<Position> {
        let mut probe = self.probe(hash);
        while let Some(candidate) = probe.next() {
            if candidate == loc {
                return Some(Position {
                    chunk_no: probe.chunk_no,
                    slot: probe.slot,
                    distance: probe.distance,
                });
            }
        }
        None
    }

    /// Adds `loc` under `hash`; the table must be below its capacity.
    pub(super) fn insert(&mut self, hash: u64, loc: Loc) {
        assert!(self.len < self.capacity(), "insert into a full table");
        let mask = self.metas.len() - 1;
        let mut chunk_no = hash as usize & mask;
        loop {
            let meta = &mut self.metas[chunk_no];
            if let Some(slot) = slots(meta.matching(EMPTY)).next() {
                meta.tags[slot] = tag_of(hash);
                self.locs[chunk_no][slot] = loc;
                self.len += 1;
                return;
            }
            meta.overflow += 1;
            chunk_no = (chunk_no + 1) & mask;
        }
    }

    /// Removes `loc`, found under `hash`; returns false if absent.
    pub(super) fn remove(&mut self, hash: u64, loc: Loc) -> bool {
        let Some(at) = self.position(hash, loc) else {
            return false;
        };
        self.metas[at.chunk_no].tags[at.slot] = EMPTY;
        self.len -= 1;
        let mask = self.metas.len() - 1;
        for step in 0..at.distance {
            self.metas[(hash as usize + step) & mask].overflow -= 1;
        }
        true
    }

    /// Replaces `old`, found under `hash`, with `new`; false if absent.
    pub(super) fn replace(&mut self, hash: u64, old: Loc, new: Loc) -> bool {
        let Some(at) = self.position(hash, old) else {
            return false;
        };
        self.locs[at.chunk_no][at.slot] = new;
        true
    }

    /// Empties chunk `chunk_no`, handing each of its locations to `take`.
    /// Overflow counts stay as they are: they may now count entries that
    /// left, which costs lookups a chunk more, never a missed entry.
    pub(super) fn drain_chunk(&mut self, chunk_no: usize, mut take: impl FnMut(Loc)) {
        let meta = &mut self.metas[chunk_no];
        for slot in slots(meta.occupied()) {
            take(self.locs[chunk_no][slot]);
            meta.tags[slot] = EMPTY;
            self.len -= 1;
        }
    }

    /// The locations that may have `chunk_no` as their home: its own, then
    /// those of each following chunk for as long as entries probed past
    /// the one before (its overflow count). A superset: the caller checks
    /// each location's hash.
    pub(super) fn chain(&self, chunk_no: usize) -> impl Iterator<Item = Loc> + '_ {
        let mask = self.metas.len().wrapping_sub(1);
        let mut distance = 0;
        let mut more = !self.metas.is_empty();
        std::iter::from_fn(move || {
            if !more || distance == self.metas.len() {
                return None;
            }
            let at = (chunk_no + distance) & mask;
            let meta = &self.metas[at];
            more = meta.overflow != 0;
            distance += 1;
            Some(slots(meta.occupied()).map(move |slot| self.locs[at][slot]))
        })
        .flatten()
    }

    /// Every location, in no particular order.
    pub(super) fn locs(&self) -> impl Iterator<Item = Loc> + '_ {
        self.metas
            .iter()
            .zip(&self.locs)
            .flat_map(|(meta, locs)| slots(meta.occupied()).map(|slot| locs[slot]))
    }

    /// Checks every entry's tag and reachability against `hash_of` and the
    /// length; overflow counts must equal the probes they record, or, when
    /// `drained` (chunks were emptied by `drain_chunk`), be at least that.
    pub(super) fn check_invariants(&self, hash_of: impl Fn(Loc) -> u64, drained: bool) {
        assert_eq!(
            self.metas.len(),
            self.locs.len(),
            "one set of locations per chunk"
        );
        let mask = self.metas.len().wrapping_sub(1);
        let mut passed = vec![0u32; self.metas.len()];
        let mut len = 0;
        for (chunk_no, (meta, locs)) in self.metas.iter().zip(&self.locs).enumerate() {
            for slot in slots(meta.occupied()) {
                let hash = hash_of(locs[slot]);
                assert_eq!(meta.tags[slot], tag_of(hash), "tag of slot {slot}");
                let mut at = hash as usize & mask;
                while at != chunk_no {
                    passed[at] += 1;
                    at = (at + 1) & mask;
                }
                len += 1;
            }
        }
        assert_eq!(len, self.len, "table length");
        for (meta, &passed) in self.metas.iter().zip(&passed) {
            match drained {
                false => assert_eq!(meta.overflow, passed, "overflow count"),
                true => assert!(meta.overflow >= passed, "overflow count too low"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hash whose home chunk and tag are chosen.
    fn hash(chunk_no: u64, tag: u8) -> u64 {
        u64::from(tag & 0x7f) << 57 | chunk_no
    }

    #[test]
    fn chunk_metadata_fills_one_register() {
        assert_eq!(size_of::<Meta>(), 16);
        assert_eq!(align_of::<Meta>(), 16);
        assert_eq!(size_of::<Locs>(), 48);
    }

    #[test]
    fn matching_finds_exactly_the_equal_tags() {
        let mut chunk = Meta::EMPTY;
        chunk.tags = [0x81, 0, 0x82, 0x81, 0, 0, 0, 0, 0, 0, 0xff, 0x81];
        chunk.overflow = u32::MAX;
        let found = |tag| slots(chunk.matching(tag)).collect::<Vec<_>>();
        assert_eq!(found(0x81), [0, 3, 11]);
        assert_eq!(found(0x82), [2]);
        assert_eq!(found(0xff), [10]);
        assert_eq!(found(EMPTY), [1, 4, 5, 6, 7, 8, 9]);
        assert!(found(0x83).is_empty());
    }

    #[test]
    fn the_portable_match_agrees_with_the_native_one() {
        let mut seed = 1_u64;
        // Fewer rounds under Miri, which runs each about 1000x slower.
        let rounds = if cfg!(miri) { 500 } else { 10_000 };
        for _ in 0..rounds {
            let mut chunk = Meta::EMPTY;
            for tag in &mut chunk.tags {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                // Few distinct values, so matches are common.
                *tag = [EMPTY, 0x80, 0x81, 0xfe, 0xff][(seed >> 60) as usize % 5];
            }
            for tag in [EMPTY, 0x80, 0x81, 0xfe, 0xff, 0x7f] {
                let expected = (0..SLOTS)
                    .filter(|&slot| chunk.tags[slot] == tag)
                    .fold(0, |mask, slot| mask | 1 << slot);
                assert_eq!(chunk.matching(tag), expected, "{:x?} {tag:x}", chunk.tags);
                assert_eq!(
                    chunk.matching_swar(tag),
                    expected,
                    "{:x?} {tag:x}",
                    chunk.tags
                );
            }
        }
    }

    #[test]
    fn full_chunks_overflow_into_the_next_and_removal_undoes_it() {
        let mut table = Table::with_capacity(4 * MAX_ENTRIES_PER_CHUNK);
        assert_eq!(table.chunk_count(), 4);
        let home = 3; // the last chunk: overflow wraps to chunk 0
        let entries: Vec<(u64, Loc)> = (0..SLOTS as u32 + 3)
            .map(|loc| (hash(home, loc as u8), loc))
            .collect();
        for &(hash, loc) in &entries {
            table.insert(hash, loc);
        }
        table.check_invariants(|loc| entries[loc as usize].0, false);
        assert_eq!(table.metas[3].overflow, 3);
        for &(hash, loc) in &entries {
            assert!(table.position(hash, loc).is_some());
        }
        // A miss stops at a chunk nobody passed.
        assert_eq!(table.probe(hash(1, 5)).next(), None);
        for &(hash, loc) in entries.iter().rev() {
            assert!(table.remove(hash, loc));
            assert!(!table.remove(hash, loc));
            table.check_invariants(|loc| entries[loc as usize].0, false);
        }
        assert!(table.is_empty());
        assert_eq!(table.metas[3].overflow, 0);
    }

    #[test]
    fn replace_and_drain_keep_the_other_entries_reachable() {
        let mut table = Table::with_capacity(2 * MAX_ENTRIES_PER_CHUNK);
        let hashes: Vec<u64> = (0..20).map(|loc| hash(0, loc as u8 % 3)).collect();
        for (loc, &hash) in hashes.iter().enumerate() {
            table.insert(hash, loc as Loc);
        }
        assert!(table.replace(hashes[13], 13, 113));
        assert!(!table.replace(hashes[13], 13, 113));
        let hash_of = |loc: Loc| hashes[loc as usize % 100];
        table.check_invariants(hash_of, false);
        let mut drained = Vec::new();
        table.drain_chunk(0, |loc| drained.push(loc));
        assert_eq!(drained.len(), SLOTS);
        table.check_invariants(hash_of, true);
        for loc in table.locs().collect::<Vec<_>>() {
            assert!(table.position(hash_of(loc), loc).is_some());
        }
        assert_eq!(table.len() + drained.len(), 20);
    }

    #[test]
    fn the_home_chunk_settles_what_it_can_and_says_when_it_cannot() {
        let mut table = Table::with_capacity(4 * MAX_ENTRIES_PER_CHUNK);
        // Chunk 1 fills up and passes two entries on to chunk 2.
        let entries: Vec<(u64, Loc)> = (0..SLOTS as u32 + 2)
            .map(|loc| (hash(1, loc as u8), loc))
            .collect();
        for &(hash, loc) in &entries {
            table.insert(hash, loc);
        }
        // The first slot with the tag: a candidate, for the caller to
        // compare keys with.
        assert_eq!(table.home(hash(1, 0)), Home::First(0));
        assert_eq!(table.home(hash(1, 11)), Home::First(11));
        // No tag match, but entries went past chunk 1: only a probe knows.
        let passed_on = hash(1, SLOTS as u8);
        assert_eq!(table.home(passed_on), Home::Unsure);
        assert_eq!(table.probe(passed_on).next(), Some(SLOTS as Loc));
        // No tag match and nobody went past: absent.
        assert_eq!(table.home(hash(3, 5)), Home::Absent);
        assert_eq!(Table::default().home(7), Home::Absent);
    }

    #[test]
    fn an_empty_table_finds_nothing() {
        let table = Table::default();
        assert_eq!(table.capacity(), 0);
        assert_eq!(table.probe(7).next(), None);
    }
}
