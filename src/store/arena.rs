//! Record storage: where every entry's bytes live, addressed by a [`Loc`].
//!
//! ```text
//! Loc:  0 | page_no (16) | offset / 8 (15)   a chunk in a page (pages.rs)
//!       1 | large_no (31)                    a record with its own allocation
//! ```
//!
//! Records of at most `SMALL_MAX_BYTES` go to a size-class chunk. Larger
//! ones, and any record once the pages are all taken (16 GiB at most), get
//! their own heap allocation in the large table, where the allocator's
//! rounding is under 1% for records above 256 KiB. Either way the record's
//! layout is the one in `record.rs`, so every reader sees the same bytes.
//!
//! The large table has room for [`MAX_LARGE`] records; the store keeps
//! fewer entries than that, so storing a record never fails.

use std::ops::Range;

use super::pages::{MAX_PAGES, PAGE_BYTES, Pages};
use super::record::{self, Deadline, Loc, NIL, Record, RecordMut, record_bytes};
use super::size_class::{CLASS_COUNT, SMALL_MAX_BYTES, chunk_bytes_of, class_of};
use super::table::prefetch;

/// Bytes per cache line, the unit a prefetch loads.
const CACHE_LINE_BYTES: usize = 64;

/// Top bit of a location: set for large records.
const LARGE_BIT: u32 = 1 << 31;
/// Most large records at once: every large location stays below NIL.
pub(super) const MAX_LARGE: usize = (NIL & !LARGE_BIT) as usize;

/// All record storage: the pages and the large-record table.
#[derive(Debug)]
pub(super) struct Arena {
    pages: Pages,
    /// Large number -> record; an empty slice marks a free number.
    large: Vec<Box<[u8]>>,
    /// Free large numbers, reused before the table grows.
    large_free: Vec<u32>,
}

impl Arena {
    /// An empty arena with at most `max_pages` pages; allocates nothing
    /// until the first record. Fails if the pages' address space cannot be
    /// reserved.
    pub(super) fn new(max_pages: usize) -> std::io::Result<Arena> {
        Ok(Arena {
            pages: Pages::new(max_pages)?,
            large: Vec::new(),
            large_free: Vec::new(),
        })
    }

    /// An empty arena for a store capped at `cap_bytes`: its pages can hold
    /// twice the cap, plus two pages per size class (a partly used one and
    /// a kept empty one), up to [`MAX_PAGES`]. Only heavy fragmentation
    /// fills that; records beyond it get their own allocations.
    pub(super) fn for_cap(cap_bytes: u64) -> std::io::Result<Arena> {
        let cap_pages = usize::try_from(cap_bytes.div_ceil(PAGE_BYTES as u64)).unwrap_or(MAX_PAGES);
        Arena::new(
            cap_pages
                .saturating_mul(2)
                .saturating_add(2 * CLASS_COUNT)
                .min(MAX_PAGES),
        )
    }

    /// The record at `loc`.
    #[inline(always)]
    pub(super) fn record(&self, loc: Loc) -> Record<'_> {
        Record::new(self.bytes(loc))
    }

    /// The part `span` of the record at `loc` (see [`Record::value_span`]).
    #[inline(always)]
    pub(super) fn part(&self, loc: Loc, span: Range<usize>) -> &[u8] {
        &self.bytes(loc)[span]
    }

    /// The bytes from the record at `loc` on (past its end, for a small one).
    #[inline(always)]
    fn bytes(&self, loc: Loc) -> &[u8] {
        if loc & LARGE_BIT == 0 {
            self.pages.bytes(loc)
        } else {
            &self.large[(loc & !LARGE_BIT) as usize]
        }
    }

    /// Starts loading the first two cache lines of the small record at
    /// `loc` (header, key, and most of a short value), without waiting.
    /// `loc` may be stale: a prefetch only computes an address in the
    /// pages' range, which never faults. Large records are left alone:
    /// they are rare, and their first lines are a small part of them.
    #[inline(always)]
    pub(super) fn prefetch(&self, loc: Loc) {
        if loc & LARGE_BIT == 0 {
            let bytes = self.pages.bytes(loc);
            for line in [bytes.first(), bytes.get(CACHE_LINE_BYTES)]
                .into_iter()
                .flatten()
            {
                prefetch(line);
            }
        }
    }

    /// The record at `loc`, mutably.
    #[inline(always)]
    pub(super) fn record_mut(&mut self, loc: Loc) -> RecordMut<'_> {
        RecordMut::new(if loc & LARGE_BIT == 0 {
            self.pages.bytes_mut(loc)
        } else {
            &mut self.large[(loc & !LARGE_BIT) as usize]
        })
    }

    /// True when `loc`, possibly stale, names a live record.
    pub(super) fn is_live(&self, loc: Loc) -> bool {
        let readable = if loc & LARGE_BIT == 0 {
            self.pages.holds_chunk(loc)
        } else {
            self.large
                .get((loc & !LARGE_BIT) as usize)
                .is_some_and(|bytes| !bytes.is_empty())
        };
        readable && self.record(loc).is_live()
    }

    /// Stores a new, unlinked record and returns its location.
    ///
    /// # Panics
    /// If the large table is full, which the store's entry limit rules out.
    pub(super) fn store(&mut self, deadline: Option<Deadline>, key: &[u8], value: &[u8]) -> Loc {
        let size = record_bytes(key.len(), value.len(), deadline.is_some());
        if size <= SMALL_MAX_BYTES {
            let class = class_of(size);
            if let Some(loc) = self.pages.alloc(class) {
                let chunk = &mut self.pages.bytes_mut(loc)[..chunk_bytes_of(class)];
                record::write(chunk, deadline, key, value);
                return loc;
            }
        }
        let mut bytes = vec![0; size].into_boxed_slice();
        record::write(&mut bytes, deadline, key, value);
        let large_no = match self.large_free.pop() {
            Some(large_no) => {
                self.large[large_no as usize] = bytes;
                large_no
            }
            None => {
                assert!(self.large.len() < MAX_LARGE, "large record table full");
                self.large.push(bytes);
                (self.large.len() - 1) as u32
            }
        };
        LARGE_BIT | large_no
    }

    /// Frees the record at `loc`; the location must not be used again.
    pub(super) fn release(&mut self, loc: Loc) {
        if loc & LARGE_BIT == 0 {
            record::clear(self.pages.bytes_mut(loc));
            self.pages.free(loc);
        } else {
            let large_no = loc & !LARGE_BIT;
            let bytes = std::mem::take(&mut self.large[large_no as usize]);
            assert!(!bytes.is_empty(), "release of a free large record");
            self.large_free.push(large_no);
        }
    }

    /// Stores `key` and `value` with `deadline` in place of the record at
    /// `old`, reusing its chunk when the new record has the same size
    /// class; returns the (possibly new) location of an unlinked record.
    /// The old record stays intact until the new one is written.
    pub(super) fn rewrite(
        &mut self,
        old: Loc,
        deadline: Option<Deadline>,
        key: &[u8],
        value: &[u8],
    ) -> Loc {
        let size = record_bytes(key.len(), value.len(), deadline.is_some());
        let same_class = old & LARGE_BIT == 0
            && size <= SMALL_MAX_BYTES
            && class_of(size) == self.pages.class_at(old);
        if same_class {
            record::write(&mut self.pages.bytes_mut(old)[..size], deadline, key, value);
            return old;
        }
        let new = self.store(deadline, key, value);
        self.release(old);
        new
    }

    /// Gives the record at `loc` a deadline, a new deadline, or none,
    /// keeping its key, value and links; returns its (possibly new)
    /// location. Neighbours that point at `loc` are the caller's to update.
    pub(super) fn retag(&mut self, loc: Loc, deadline: Option<Deadline>) -> Loc {
        let record = self.record(loc);
        match deadline {
            Some(deadline) if record.has_deadline() => {
                self.record_mut(loc).set_deadline(deadline);
                loc
            }
            None if !record.has_deadline() => loc,
            // The record changes size (rare: a TTL added to or removed
            // from an existing entry): copy it out and write it anew.
            _ => {
                let (prev, next) = record.links();
                let key = record.key().to_vec();
                let value = record.value().to_vec();
                let new = self.rewrite(loc, deadline, &key, &value);
                self.record_mut(new).set_links(prev, next);
                new
            }
        }
    }

    /// Pages currently allocated.
    #[cfg(test)]
    pub(super) fn live_pages(&self) -> usize {
        self.pages.live_pages()
    }

    /// Checks the arena against the complete list of live records: every
    /// one is live and the right size for its chunk; page counts, free
    /// lists and partial-page lists match; the large table holds exactly
    /// the live large records.
    pub(super) fn check_invariants(&self, live: &[Loc]) {
        let mut small = Vec::with_capacity(live.len());
        let mut large_live = 0;
        for &loc in live {
            assert!(self.is_live(loc), "entry at {loc:#x} is not a live record");
            let size = self.record(loc).len();
            if loc & LARGE_BIT == 0 {
                assert_eq!(
                    self.pages.class_at(loc),
                    class_of(size),
                    "record in the wrong size class"
                );
                small.push(loc);
            } else {
                assert_eq!(
                    self.large[(loc & !LARGE_BIT) as usize].len(),
                    size,
                    "large record size"
                );
                large_live += 1;
            }
        }
        self.pages.check_invariants(&small);
        let large_slots = self.large.iter().filter(|bytes| !bytes.is_empty()).count();
        assert_eq!(large_slots, large_live, "large records leaked or lost");
        assert_eq!(
            self.large.len() - large_slots,
            self.large_free.len(),
            "large free list"
        );
        for &large_no in &self.large_free {
            assert!(
                self.large[large_no as usize].is_empty(),
                "large free list names a live record"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contents(arena: &Arena, loc: Loc) -> (Option<Deadline>, Vec<u8>, Vec<u8>) {
        let record = arena.record(loc);
        (
            record.deadline(),
            record.key().to_vec(),
            record.value().to_vec(),
        )
    }

    #[test]
    fn records_round_trip_in_both_layouts() {
        let mut arena = Arena::for_cap(u64::MAX).expect("address space");
        let big = vec![7u8; SMALL_MAX_BYTES + 1];
        let deadline = Some(Deadline {
            at_ms: u64::MAX,
            seq: 1,
        });
        let cases: [(Option<Deadline>, &[u8], &[u8]); 4] = [
            (None, b"", b""),
            (deadline, b"k", b"v"),
            (None, b"key", &big),
            (deadline, &big[..1000], &big),
        ];
        let locs: Vec<Loc> = cases
            .iter()
            .map(|&(d, k, v)| arena.store(d, k, v))
            .collect();
        arena.check_invariants(&locs);
        assert_eq!(locs[2] & LARGE_BIT, LARGE_BIT, "over a page is large");
        for (&(deadline, key, value), &loc) in cases.iter().zip(&locs) {
            assert_eq!(
                contents(&arena, loc),
                (deadline, key.to_vec(), value.to_vec())
            );
        }
        for &loc in &locs {
            arena.release(loc);
            assert!(!arena.is_live(loc));
        }
        arena.check_invariants(&[]);
    }

    #[test]
    fn retag_and_rewrite_keep_the_other_parts() {
        let mut arena = Arena::for_cap(u64::MAX).expect("address space");
        let loc = arena.store(None, b"key", b"value");
        arena.record_mut(loc).set_links(5, 6);
        let nine = Deadline { at_ms: 9, seq: 1 };
        let loc = arena.retag(loc, Some(nine));
        assert_eq!(arena.record(loc).links(), (5, 6), "links survive a move");
        assert_eq!(
            contents(&arena, loc),
            (Some(nine), b"key".to_vec(), b"value".to_vec())
        );
        let ten = Deadline { at_ms: 10, seq: 2 };
        assert_eq!(arena.retag(loc, Some(ten)), loc, "same size: in place");
        assert_eq!(arena.record(loc).deadline(), Some(ten));
        let same = arena.rewrite(loc, Some(ten), b"key", b"VALUE");
        assert_eq!(same, loc, "same size class: in place");
        assert_eq!(arena.record(loc).value(), b"VALUE");
        let loc = arena.retag(loc, None);
        assert_eq!(
            contents(&arena, loc),
            (None, b"key".to_vec(), b"VALUE".to_vec())
        );
        arena.check_invariants(&[loc]);
    }

    #[test]
    fn a_full_page_table_sends_small_records_to_the_large_table() {
        let mut arena = Arena::new(1).expect("address space");
        let first = arena.store(None, b"a", b"1");
        let other_class = arena.store(None, b"b", &[0; 500]);
        assert_eq!(first & LARGE_BIT, 0);
        assert_eq!(other_class & LARGE_BIT, LARGE_BIT);
        assert_eq!(arena.record(other_class).value(), &[0; 500][..]);
        arena.check_invariants(&[first, other_class]);
    }
}
