//! The cache engine: a single-owner LRU store with exact byte accounting, a
//! hard memory cap and millisecond TTLs.
//!
//! The store knows nothing of sockets or wire formats. One thread owns it
//! (`&mut self`, no locks) and passes its clock in: every call takes
//! `now_ms`, monotonic milliseconds, so tests drive a manual clock.
//!
//! # Layout
//!
//! ```text
//!  Index: chunks of 12 slots             Arena: pages in one reserved range / large boxes
//!  ┌──────────┬─────┬─────┬───┐          ┌──────────────────────────────────────────┐
//!  │ 12 tags  │ loc │ loc │ … │ ───────▶ │ prev next vlen klen flags │ deadline? │ key │ value
//!  └──────────┴─────┴─────┴───┘          └──────────────────────────────────────────┘
//!   tags, then locations (one load each)  one record per entry: the LRU links (head =
//!   keys are compared in the records      most recent, tail = next victim), the lengths
//!                                         and the deadline live in front of the key
//!  Expiry: min-heap of (deadline, seq, loc), validated against the record
//! ```
//!
//! An entry is identified by its record's location (`Loc`, a `u32`: for
//! most records, the offset in the pages' range divided by 8), so a lookup
//! is two dependent memory accesses: the index chunk, then the record,
//! which holds everything a `get` needs: the key to compare, the deadline,
//! the links to move it to the front, and the value.
//!
//! One module per job: `record` (the byte layout of an entry), `size_class`
//! (chunk sizes), `region` (the reserved range the pages live in), `pages`
//! (chunks in pages), `arena` (locations: pages or large allocations), `lru`
//! (recency list), `table` (a hash table of locations), `index` (key ->
//! location, growing one table into the next), `prefetch` (hints that
//! start a batch's lookups loading), `expiry` (deadline heap),
//! `stats` (counters), `invariants` (the full consistency walk). `model` is
//! the naive reference store the property tests and the fuzzer compare
//! against.
//!
//! # What the cap counts
//!
//! Each entry is charged [`entry_charge`]`(key_len, value_len)` =
//! `key_len + value_len + ENTRY_OVERHEAD_BYTES`, and `used_bytes` is exactly
//! the sum of the live entries' charges. Inserting adds the charge, removing
//! subtracts the same number, and `used_bytes <= cap_bytes` holds after every
//! operation. [`ENTRY_OVERHEAD_BYTES`] (57) is the fixed per-entry metadata:
//!
//! | bytes | what |
//! |---|---|
//! | 16 | the record header: two `u32` LRU links, the value and key lengths, flags |
//! | 13 | the index's share: a 64-byte chunk holds 5 to 10 entries once the index has grown (it doubles when full), so at most 12.8 bytes each |
//! | 12 | the deadline block (deadline and sequence number) after the key: charged to every entry, so adding or removing a TTL never changes a charge |
//! | 16 | the entry's pair in the expiry heap (again charged to every entry) |
//!
//! The cap does **not** count: size-class rounding (at most 7 bytes for
//! records up to 512 bytes, under 1/32 of the record above that, the
//! allocator's rounding for records above 256 KiB); free chunks under 16 KiB
//! in partly used pages (an empty page's memory goes back to the system at
//! once, and so does a bigger free chunk's); stale expiry-heap pairs (at
//! most one per entry with a TTL plus 64); the index's empty slots
//! beyond the share above (it keeps its peak chunk count, and holds two
//! tables while it grows, which it does a few entries per insert and tick);
//! and fixed per-store structures (page metadata, 24 bytes per 256 KiB
//! page, and the per-class lists). Entries
//! without a TTL actually use about 30 bytes of metadata, so the charge is
//! conservative for them.
//!
//! # Limits
//!
//! Keys are at most [`MAX_KEY_BYTES`] and values at most [`MAX_VALUE_BYTES`]
//! (the widths of their lengths in the record header); longer ones are
//! refused. A store holds at most [`MAX_ENTRIES`] entries, evicting the
//! least recently used beyond that. Records up to 256 KiB live in pages,
//! up to 16 GiB of them (and at most twice the cap plus two pages per size
//! class); bigger ones, and any beyond that, get their own allocations,
//! which cost the allocator's per-allocation overhead.
//!
//! # TTLs
//!
//! A TTL is an `Option<NonZeroU64>` of milliseconds: `None` means "no
//! deadline", and a TTL of zero cannot be written, so the store's API says
//! what the wire means (where TTL 0 is "none": the caller maps it with
//! `NonZeroU64::new`) and no call can store an item only to expire it.
//!
//! A TTL of `ttl_ms` sets the deadline `now_ms.saturating_add(ttl_ms)`:
//! huge TTLs **saturate** at `u64::MAX` (in practice "never") and nothing
//! overflows. An entry is expired once `now_ms >= deadline`, so at the
//! clock's very end (`now_ms == u64::MAX`) a new deadline is due at once.
//! Expired entries are reclaimed lazily when an operation looks their key
//! up, proactively by [`Store::tick`] in deadline order (equal deadlines in
//! the order they were set), and first of all when room is needed: due
//! entries are reclaimed before any live entry is evicted.
//!
//! # Cost of each operation
//!
//! n = live entries. `get`, `delete`, `ttl`: O(1) expected (one hash, one
//! probe sequence, one record; two probes while the index grows). `set`:
//! O(1) expected plus O(1) per entry it evicts or reclaims, plus, while the
//! index grows, moving the entries of 3 of its chunks (the index never
//! rehashes everything at once); with a TTL, O(log n) for the heap push.
//! `expire`: O(log n) when setting a deadline, O(1) otherwise, plus a copy
//! of the record when a TTL is added to or removed from an entry. `tick`:
//! O(k log n) for k reclaimed entries plus the stale heap pairs it discards
//! (each discarded once), plus 24 index chunks while the index grows. The
//! expiry heap's rebuild is amortized O(log n) per operation. `stats`, `len`, `next_expiry_ms`: O(1).
//! `check_invariants`: O(n log n).
//!
//! # Example
//!
//! ```
//! use std::num::NonZeroU64;
//!
//! use blink_store::store::{Store, Ttl, entry_charge};
//!
//! let mut store = Store::new(1 << 20);
//! store.set(b"greeting", b"hello", NonZeroU64::new(1_000), 0).unwrap();
//! assert_eq!(store.get(b"greeting", 10), Some(&b"hello"[..]));
//! assert_eq!(store.ttl(b"greeting", 10), Ttl::Remaining { remaining_ms: 990 });
//! assert_eq!(store.used_bytes(), entry_charge(8, 5));
//! assert_eq!(store.get(b"greeting", 1_000), None); // expired
//! store.check_invariants();
//! ```

mod arena;
mod expiry;
mod index;
mod invariants;
mod lru;
mod pages;
mod prefetch;
mod record;
mod region;
mod size_class;
mod stats;
mod table;

#[cfg(any(test, fuzzing))]
pub mod model;
#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod tests;

use std::num::NonZeroU64;
use std::ops::Range;

use arena::{Arena, MAX_LARGE};
use expiry::Expiry;
use index::{Index, MIGRATE_CHUNKS_PER_TICK, keys_equal};
use lru::Lru;
pub use prefetch::KeyHash;
use record::{Deadline, Loc};
pub use record::{MAX_KEY_BYTES, MAX_VALUE_BYTES};
use stats::Counters;
pub use stats::StoreStats;
use table::Home;

/// Fixed bytes charged per entry on top of its key and value: the record
/// header (16), the index's worst-case share (13), the deadline block (12)
/// and the expiry-heap pair (16). See the module docs for what is and is
/// not counted.
pub const ENTRY_OVERHEAD_BYTES: u64 = 57;

/// Most entries one store holds (about 2^31): fewer than the arena's large
/// table has room for, so storing a record never fails.
pub const MAX_ENTRIES: usize = MAX_LARGE - 1;

/// The charge of an entry: `key_len + value_len + ENTRY_OVERHEAD_BYTES`.
///
/// The one definition of an entry's size: insertion adds it to
/// `used_bytes`, removal subtracts it. Saturates instead of overflowing.
pub fn entry_charge(key_len: usize, value_len: usize) -> u64 {
    (key_len as u64)
        .saturating_add(value_len as u64)
        .saturating_add(ENTRY_OVERHEAD_BYTES)
}

/// The remaining lifetime of a key, from [`Store::ttl`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ttl {
    /// No live entry under that key.
    Missing,
    /// The entry never expires.
    Persistent,
    /// The entry expires in `remaining_ms` (always at least 1).
    Remaining {
        /// Milliseconds until the deadline.
        remaining_ms: u64,
    },
}

/// A live entry as [`Store::peek`] shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The value.
    pub value: &'a [u8],
    /// The monotonic millisecond at which it expires, if it does.
    pub deadline_ms: Option<u64>,
    /// Its [`entry_charge`]: what it costs against the cap.
    pub charge_bytes: u64,
}

/// Why [`Store::set`] refused an item. Either way nothing was evicted and
/// any old value under the key is untouched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetError {
    /// The key is longer than [`MAX_KEY_BYTES`] or the value longer than
    /// [`MAX_VALUE_BYTES`].
    TooLong {
        /// The key's length.
        key_bytes: usize,
        /// The value's length.
        value_bytes: usize,
    },
    /// The item's charge alone exceeds the cap, so it can never fit.
    TooLarge {
        /// The item's [`entry_charge`].
        charge_bytes: u64,
        /// The store's cap.
        cap_bytes: u64,
    },
}

impl std::fmt::Display for SetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SetError::TooLong {
                key_bytes,
                value_bytes,
            } => write!(
                f,
                "a {key_bytes}-byte key and {value_bytes}-byte value exceed the store's \
                 limits of {MAX_KEY_BYTES} and {MAX_VALUE_BYTES} bytes"
            ),
            SetError::TooLarge {
                charge_bytes,
                cap_bytes,
            } => write!(
                f,
                "item needs {charge_bytes} bytes but the memory cap is {cap_bytes} bytes"
            ),
        }
    }
}

impl std::error::Error for SetError {}

/// The cache: records, recency order, index, deadlines and counters.
#[derive(Debug)]
pub struct Store {
    cap_bytes: u64,
    /// Sum of the live entries' charges.
    used_bytes: u64,
    /// Most entries held at once ([`MAX_ENTRIES`] outside tests).
    max_entries: usize,
    /// Live entries that have a deadline.
    deadlined: usize,
    /// Sequence number of the next deadline setting (wraps).
    next_seq: u32,
    /// Changes to any entry so far (see [`Store::changes`]).
    changes: u64,
    arena: Arena,
    lru: Lru,
    index: Index,
    expiry: Expiry,
    counters: Counters,
}

impl Store {
    /// An empty store holding at most `cap_bytes` of charges. Allocates
    /// no memory up front; reserves 16 GiB of address space for its pages.
    ///
    /// # Panics
    /// If that address space cannot be reserved; [`Store::try_new`] returns
    /// the error instead.
    pub fn new(cap_bytes: u64) -> Store {
        Store::try_new(cap_bytes).expect("address space for the store's pages")
    }

    /// [`Store::new`], failing cleanly where the system refuses the store's
    /// address space (an address-space limit such as `ulimit -v`).
    ///
    /// # Errors
    /// The system's error, naming the size asked for.
    ///
    /// # Example
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let store = blink_store::store::Store::try_new(64 << 20)?;
    /// assert_eq!((store.cap_bytes(), store.len()), (64 << 20, 0));
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_new(cap_bytes: u64) -> std::io::Result<Store> {
        let arena = Arena::for_cap(cap_bytes)?;
        Ok(Store::with_limits(cap_bytes, MAX_ENTRIES, arena))
    }

    fn with_limits(cap_bytes: u64, max_entries: usize, arena: Arena) -> Store {
        assert!(
            (1..=MAX_ENTRIES).contains(&max_entries),
            "entry limit out of range"
        );
        Store {
            cap_bytes,
            used_bytes: 0,
            max_entries,
            deadlined: 0,
            next_seq: 0,
            changes: 0,
            arena,
            lru: Lru::default(),
            index: Index::default(),
            expiry: Expiry::default(),
            counters: Counters::default(),
        }
    }

    /// The value under `key`, making it the most recently used entry.
    /// Counts a hit or a miss; an expired entry is reclaimed and misses.
    #[inline(always)]
    pub fn get(&mut self, key: &[u8], now_ms: u64) -> Option<&[u8]> {
        let hash = self.index.hash(key);
        let Some((loc, value_span)) = self.lookup(hash, key, now_ms) else {
            self.counters.misses += 1;
            return None;
        };
        self.counters.hits += 1;
        self.lru.touch(&mut self.arena, loc);
        Some(self.arena.part(loc, value_span))
    }

    /// Inserts or replaces `key`, with a TTL or none (`None` also clears an
    /// old TTL), and makes it the most recently used entry. A TTL is never
    /// zero (see "TTLs" in the module docs), so a `set` always stores.
    ///
    /// Makes room first by reclaiming expired entries, then by evicting the
    /// least recently used ones, only as many as needed. The old value of a
    /// replaced key is never evicted to make room for its new value, and is
    /// swapped for the new one in a single step.
    ///
    /// # Errors
    /// [`SetError::TooLong`] if the key or value is over its limit, then
    /// [`SetError::TooLarge`] if the item's charge exceeds the cap; both
    /// checked before anything else, so nothing is evicted or changed.
    pub fn set(
        &mut self,
        key: &[u8],
        value: &[u8],
        ttl_ms: Option<NonZeroU64>,
        now_ms: u64,
    ) -> Result<(), SetError> {
        check_item(key, value, self.cap_bytes)?;
        let deadline = ttl_ms.map(|ttl_ms| self.new_deadline(deadline_ms(now_ms, ttl_ms)));
        let hash = self.index.hash(key);
        match self.lookup(hash, key, now_ms) {
            Some((loc, _)) => self.replace(loc, hash, key, value, deadline, now_ms),
            None => self.insert(hash, key, value, deadline, now_ms),
        }
        debug_assert!(self.used_bytes <= self.cap_bytes, "over the cap after set");
        Ok(())
    }

    /// Removes `key`; true if a live entry was removed.
    pub fn delete(&mut self, key: &[u8], now_ms: u64) -> bool {
        let hash = self.index.hash(key);
        let Some((loc, _)) = self.lookup(hash, key, now_ms) else {
            return false;
        };
        self.remove(loc, hash);
        true
    }

    /// Sets (`Some`) or clears (`None`) the TTL of a live key without
    /// touching its value or recency. False if the key is missing.
    pub fn expire(&mut self, key: &[u8], ttl_ms: Option<NonZeroU64>, now_ms: u64) -> bool {
        let hash = self.index.hash(key);
        let Some((loc, _)) = self.lookup(hash, key, now_ms) else {
            return false;
        };
        self.changes += 1;
        let had = self.arena.record(loc).has_deadline();
        let deadline = ttl_ms.map(|ttl_ms| self.new_deadline(deadline_ms(now_ms, ttl_ms)));
        let new = self.arena.retag(loc, deadline);
        if new != loc {
            self.lru.relocate(&mut self.arena, loc, new);
            self.index.relocate(hash, loc, new);
        }
        self.note_deadline(new, had, deadline);
        true
    }

    /// The remaining TTL of `key`, without touching its recency.
    pub fn ttl(&mut self, key: &[u8], now_ms: u64) -> Ttl {
        let hash = self.index.hash(key);
        let Some((loc, _)) = self.lookup(hash, key, now_ms) else {
            return Ttl::Missing;
        };
        match self.arena.record(loc).deadline() {
            None => Ttl::Persistent,
            Some(deadline) => Ttl::Remaining {
                remaining_ms: deadline.at_ms - now_ms,
            },
        }
    }

    /// The live entry under `key`, without touching its recency or the
    /// hit and miss counters (an expired one is reclaimed).
    pub fn peek(&mut self, key: &[u8], now_ms: u64) -> Option<Entry<'_>> {
        let hash = self.index.hash(key);
        let (loc, value_span) = self.lookup(hash, key, now_ms)?;
        let record = self.arena.record(loc);
        Some(Entry {
            value: self.arena.part(loc, value_span),
            deadline_ms: record.deadline().map(|deadline| deadline.at_ms),
            charge_bytes: entry_charge(record.key_len(), record.value_len()),
        })
    }

    /// Removes every entry (not counted as evictions). O(n).
    pub fn clear(&mut self) {
        while let Some(loc) = self.lru.tail() {
            self.remove(loc, self.hash_of(loc));
        }
        debug_assert_eq!(self.used_bytes, 0, "charges left after clear");
    }

    /// One bounded step of a scan over every key: hands `visit` the keys
    /// of live entries in one home chunk's range of hashes (a few entries,
    /// see the index's `scan_step`) and returns the cursor to pass next;
    /// 0 starts a scan and, returned, ends it. Every key present for the
    /// whole scan is visited exactly once, even while the index grows;
    /// keys added or removed meanwhile may or may not be. Changes nothing.
    pub fn scan_step(&self, cursor: u64, now_ms: u64, mut visit: impl FnMut(&[u8])) -> u64 {
        let arena = &self.arena;
        self.index.scan_step(
            cursor,
            |loc| arena.record(loc).key(),
            |loc| {
                let record = arena.record(loc);
                if record
                    .deadline()
                    .is_none_or(|deadline| deadline.at_ms > now_ms)
                {
                    visit(record.key());
                }
            },
        )
    }

    /// Reclaims up to `max_expired` expired entries, earliest deadline
    /// first; returns how many it reclaimed. Stale heap pairs met on the way
    /// are discarded and not counted (each is discarded only once). While
    /// the index grows, also moves a bounded number of its entries to the
    /// bigger table (see `index.rs`), so growing ends even without inserts.
    pub fn tick(&mut self, now_ms: u64, max_expired: usize) -> usize {
        let arena = &self.arena;
        self.index
            .migrate(MIGRATE_CHUNKS_PER_TICK, &|loc| arena.record(loc).key());
        let mut reclaimed = 0;
        while reclaimed < max_expired {
            let Some((loc, deadline)) = self.pop_due(now_ms) else {
                break;
            };
            self.reclaim_expired(loc, self.hash_of(loc), deadline, now_ms);
            reclaimed += 1;
        }
        reclaimed
    }

    /// The earliest pending deadline. It may belong to an entry that was
    /// since deleted or re-timed, so it is a lower bound: a caller sleeping
    /// until then may wake early, never late.
    pub fn next_expiry_ms(&self) -> Option<u64> {
        self.expiry.next_deadline_ms()
    }

    /// A snapshot of the counters and gauges.
    pub fn stats(&self) -> StoreStats {
        self.counters
            .snapshot(self.len() as u64, self.used_bytes, self.cap_bytes)
    }

    /// How many times any entry has been added, replaced, re-timed or
    /// removed (evictions and expirations included). Equal counts mean no
    /// entry changed in between: RESP's WATCH compares them.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// Number of stored entries that have a TTL.
    pub fn len_with_ttl(&self) -> usize {
        self.deadlined
    }

    /// Number of stored entries (expired ones not yet reclaimed included).
    pub fn len(&self) -> usize {
        self.lru.len()
    }

    /// True when no entry is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sum of the stored entries' charges.
    pub fn used_bytes(&self) -> u64 {
        self.used_bytes
    }

    /// The memory cap given to [`Store::new`].
    pub fn cap_bytes(&self) -> u64 {
        self.cap_bytes
    }

    /// The charge of the entry at `loc`.
    fn charge_at(&self, loc: Loc) -> u64 {
        let record = self.arena.record(loc);
        entry_charge(record.key_len(), record.value_len())
    }

    /// The key hash of the entry at `loc`.
    fn hash_of(&self, loc: Loc) -> u64 {
        self.index.hash(self.arena.record(loc).key())
    }

    /// A deadline at `at_ms` with the next sequence number.
    fn new_deadline(&mut self, at_ms: u64) -> Deadline {
        let seq = self.next_seq;
        self.next_seq = seq.wrapping_add(1);
        Deadline { at_ms, seq }
    }

    /// The live entry under `key` and where its value lies in its record
    /// (read along with the key, so a get reads the header once): an
    /// expired entry is reclaimed and hidden.
    #[inline(always)]
    fn lookup(&mut self, hash: u64, key: &[u8], now_ms: u64) -> Option<(Loc, Range<usize>)> {
        let first = match self.index.home(hash) {
            Home::Absent => return None,
            Home::First(loc) => Some((loc, self.arena.record(loc))),
            Home::Unsure => None,
        };
        let (loc, record) = match first {
            Some((loc, record)) if keys_equal(record.key(), key) => (loc, record),
            _ => {
                let loc = self.search(hash, key)?;
                (loc, self.arena.record(loc))
            }
        };
        let value_span = record.value_span();
        match record.deadline() {
            Some(deadline) if deadline.at_ms <= now_ms => {
                self.reclaim_expired(loc, hash, deadline, now_ms);
                None
            }
            _ => Some((loc, value_span)),
        }
    }

    /// The entry under `key`, by a full probe: for the few lookups its
    /// home chunk cannot settle.
    #[cold]
    #[inline(never)]
    fn search(&self, hash: u64, key: &[u8]) -> Option<Loc> {
        (self.index.candidates(hash)).find(|&loc| keys_equal(self.arena.record(loc).key(), key))
    }

    /// Adds a new entry, making room first.
    fn insert(
        &mut self,
        hash: u64,
        key: &[u8],
        value: &[u8],
        deadline: Option<Deadline>,
        now_ms: u64,
    ) {
        self.changes += 1;
        let charge = entry_charge(key.len(), value.len());
        self.make_room(charge, 1, now_ms);
        let loc = self.arena.store(deadline, key, value);
        let arena = &self.arena;
        self.index.insert(hash, loc, |loc| arena.record(loc).key());
        self.lru.push_front(&mut self.arena, loc);
        self.used_bytes += charge;
        self.note_deadline(loc, false, deadline);
    }

    /// Replaces a live entry's value and deadline, making room first. The
    /// entry is unlinked from the LRU list meanwhile, so making room can
    /// never evict it: the old value stays until the new one is written.
    fn replace(
        &mut self,
        loc: Loc,
        hash: u64,
        key: &[u8],
        value: &[u8],
        deadline: Option<Deadline>,
        now_ms: u64,
    ) {
        self.changes += 1;
        let had = self.arena.record(loc).has_deadline();
        self.used_bytes -= self.charge_at(loc);
        self.lru.unlink(&mut self.arena, loc);
        let charge = entry_charge(key.len(), value.len());
        self.make_room(charge, 0, now_ms);
        let new = self.arena.rewrite(loc, deadline, key, value);
        if new != loc {
            self.index.relocate(hash, loc, new);
        }
        self.lru.push_front(&mut self.arena, new);
        self.used_bytes += charge;
        self.note_deadline(new, had, deadline);
    }

    /// Bookkeeping after the entry at `loc` went from having a deadline
    /// (`had`) or not, to `deadline`: the count, the heap pair, the bound.
    fn note_deadline(&mut self, loc: Loc, had: bool, deadline: Option<Deadline>) {
        self.deadlined = self.deadlined - usize::from(had) + usize::from(deadline.is_some());
        if let Some(deadline) = deadline {
            self.expiry.push(deadline, loc);
        }
        self.compact_expiry();
    }

    /// Reclaims expired entries, then evicts least recently used ones, until
    /// `charge` more bytes and `new_entries` more entries fit.
    ///
    /// Terminates: every pass removes one entry or stops, and once the store
    /// is empty `charge <= cap_bytes` fits (checked by the caller) and
    /// `new_entries <= 1 <= max_entries`.
    fn make_room(&mut self, charge: u64, new_entries: usize, now_ms: u64) {
        while self.used_bytes.saturating_add(charge) > self.cap_bytes
            || self.len() + new_entries > self.max_entries
        {
            if let Some((loc, deadline)) = self.pop_due(now_ms) {
                self.reclaim_expired(loc, self.hash_of(loc), deadline, now_ms);
            } else if let Some(loc) = self.lru.tail() {
                let charge = self.remove(loc, self.hash_of(loc));
                self.counters.record_eviction(charge);
            } else {
                break;
            }
        }
        debug_assert!(
            self.used_bytes.saturating_add(charge) <= self.cap_bytes,
            "make_room left no room"
        );
    }

    /// Pops due heap pairs until a current one (a live entry whose deadline
    /// is that pair's) turns up; returns its location and deadline.
    fn pop_due(&mut self, now_ms: u64) -> Option<(Loc, Deadline)> {
        while let Some((deadline, loc)) = self.expiry.peek_due(now_ms) {
            self.expiry.pop();
            if is_current(&self.arena, deadline, loc) {
                return Some((loc, deadline));
            }
        }
        None
    }

    /// Rebuilds the expiry heap if stale pairs exceed its bound.
    fn compact_expiry(&mut self) {
        let arena = &self.arena;
        self.expiry
            .compact_if_needed(self.deadlined, |deadline, loc| {
                is_current(arena, deadline, loc)
            });
    }

    /// Removes an expired entry and counts it with its lag.
    fn reclaim_expired(&mut self, loc: Loc, hash: u64, deadline: Deadline, now_ms: u64) {
        self.remove(loc, hash);
        self.counters
            .record_expiration(now_ms.saturating_sub(deadline.at_ms));
    }

    /// Unlinks the entry at `loc` (key hash `hash`) from every structure and
    /// frees its bytes; returns its charge.
    fn remove(&mut self, loc: Loc, hash: u64) -> u64 {
        self.changes += 1;
        let charge = self.charge_at(loc);
        let had = self.arena.record(loc).has_deadline();
        let indexed = self.index.remove(hash, loc);
        debug_assert!(indexed, "removed entry {loc:#x} was not indexed");
        self.lru.unlink(&mut self.arena, loc);
        self.arena.release(loc);
        self.used_bytes -= charge;
        if had {
            self.deadlined -= 1;
            self.compact_expiry();
        }
        charge
    }
}

/// Refuses an item over the length limits or over the cap.
fn check_item(key: &[u8], value: &[u8], cap_bytes: u64) -> Result<(), SetError> {
    if key.len() > MAX_KEY_BYTES || value.len() > MAX_VALUE_BYTES {
        return Err(SetError::TooLong {
            key_bytes: key.len(),
            value_bytes: value.len(),
        });
    }
    let charge_bytes = entry_charge(key.len(), value.len());
    if charge_bytes > cap_bytes {
        return Err(SetError::TooLarge {
            charge_bytes,
            cap_bytes,
        });
    }
    Ok(())
}

/// The deadline `ttl_ms` after `now_ms`, saturating at `u64::MAX`. Later
/// than `now_ms` except at the clock's very end (`now_ms == u64::MAX`),
/// where it is due at once and reclaimed like any expired entry.
fn deadline_ms(now_ms: u64, ttl_ms: NonZeroU64) -> u64 {
    now_ms.saturating_add(ttl_ms.get())
}

/// True when `(deadline, loc)` is the current deadline of a live entry.
fn is_current(arena: &Arena, deadline: Deadline, loc: Loc) -> bool {
    arena.is_live(loc) && arena.record(loc).deadline() == Some(deadline)
}
