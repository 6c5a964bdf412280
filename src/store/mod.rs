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
//!  Index (hashbrown HashTable<u32>)      Slab: Vec<Slot>, 20 bytes each
//!  ┌────┬────┬────┬────┐               ┌──────┬──────┬──────────────────────────┐
//!  │ id │    │ id │ id │ ───────────▶  │ prev │ next │ record: loc size klen .. │ ─┐
//!  └────┴────┴────┴────┘               └──────┴──────┴──────────────────────────┘  │
//!   ids only: keys are compared         prev/next: the LRU list (head = most      │
//!   in the arena                        recent, tail = next victim)               │
//!                                                                                 ▼
//!  Expiry: min-heap of (deadline_ms, id)     Arena: size-class pages / large boxes
//!  validated against the slot's deadline     [deadline?][key][value], one run each
//! ```
//!
//! One module per job: `arena` (record bytes and their layout),
//! `size_class` (pages of equal chunks), `slab` (slots and ids), `lru`
//! (recency list), `index` (key -> id), `expiry` (deadline heap), `stats`
//! (counters), `invariants` (the full consistency walk). `model` is the naive
//! reference store the property tests and the fuzzer compare against.
//!
//! # What the cap counts
//!
//! Each entry is charged [`entry_charge`]`(key_len, value_len)` =
//! `key_len + value_len + ENTRY_OVERHEAD_BYTES`, and `used_bytes` is exactly
//! the sum of the live entries' charges. Inserting adds the charge, removing
//! subtracts the same number, and `used_bytes <= cap_bytes` holds after every
//! operation. [`ENTRY_OVERHEAD_BYTES`] (56) is the fixed per-entry metadata:
//!
//! | bytes | what |
//! |---|---|
//! | 20 | the slot: two `u32` LRU links and the 12-byte record handle |
//! | 12 | the index's share: a 4-byte id plus 1 control byte per bucket, at the lowest load factor hashbrown keeps after growing (7/16) |
//! | 8 | the deadline stored in front of the key (charged to every entry, so adding or removing a TTL never changes a charge) |
//! | 16 | the entry's `(deadline, id)` pair in the expiry heap (again charged to every entry) |
//!
//! The cap does **not** count: size-class rounding (at most 3 bytes for
//! records up to 256 bytes, under 1/32 of the record above that, the
//! allocator's rounding for records above 4 KiB); free chunks in partly used
//! pages and at most one empty page per size class; slots freed and not yet
//! reused (the slot table keeps its peak length, at most `cap_bytes / 56`
//! slots); stale expiry-heap pairs (at most one per entry with a TTL plus
//! 64); the index's empty buckets beyond the share above (it keeps its peak
//! bucket count, and briefly holds two tables while growing); and fixed
//! per-store structures (size-class and page tables, a few KiB). Entries without a TTL actually use about 31 bytes
//! of metadata, so the charge is conservative for them.
//!
//! # TTLs
//!
//! A TTL of `ttl_ms` sets the deadline `now_ms.saturating_add(ttl_ms)`:
//! huge TTLs **saturate** at `u64::MAX` (in practice "never") and nothing
//! overflows. An entry is expired once `now_ms >= deadline`. Expired entries
//! are reclaimed lazily when an operation looks their key up, proactively by
//! [`Store::tick`] in deadline order, and first of all when room is needed:
//! due entries are reclaimed before any live entry is evicted. A TTL of 0
//! (to `set` or `expire`) makes the entry expire at once: it is removed and
//! counted as an expiration with lag 0.
//!
//! # Cost of each operation
//!
//! n = live entries. `get`, `delete`, `ttl`: O(1) expected (one hash, one
//! probe sequence). `set`: O(1) expected plus O(1) per entry it evicts or
//! reclaims; with a TTL, O(log n) for the heap push. `expire`: O(log n) when
//! setting a deadline, O(1) otherwise, plus a copy of the record when a TTL
//! is added to or removed from an entry. `tick`: O(k log n) for k reclaimed
//! entries plus the stale heap pairs it discards (each discarded once). The
//! expiry heap's rebuild is amortized O(log n) per operation. `stats`, `len`,
//! `next_expiry_ms`: O(1). `check_invariants`: O(n log n).
//!
//! # Example
//!
//! ```
//! use blink_store::store::{Store, Ttl, entry_charge};
//!
//! let mut store = Store::new(1 << 20);
//! store.set(b"greeting", b"hello", Some(1_000), 0).unwrap();
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
mod size_class;
mod slab;
mod stats;

#[cfg(test)]
mod model;
#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod tests;

use arena::{Arena, Record};
use expiry::Expiry;
use index::Index;
use lru::Lru;
use slab::{Id, Slab};
use stats::Counters;
pub use stats::StoreStats;

/// Fixed bytes charged per entry on top of its key and value: the slot (20),
/// the index's worst-case share (12), the deadline (8) and the expiry-heap
/// pair (16). See the module docs for what is and is not counted.
pub const ENTRY_OVERHEAD_BYTES: u64 = 56;

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

/// Why [`Store::set`] refused an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetError {
    /// The item's charge alone exceeds the cap, so it can never fit. Nothing
    /// was evicted and any old value under the key is untouched.
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

/// The cache: entries, recency order, index, deadlines and counters.
#[derive(Debug)]
pub struct Store {
    cap_bytes: u64,
    /// Sum of the live entries' charges.
    used_bytes: u64,
    /// Live entries that have a deadline.
    deadlined: usize,
    arena: Arena,
    slab: Slab,
    lru: Lru,
    index: Index,
    expiry: Expiry,
    counters: Counters,
}

impl Store {
    /// An empty store holding at most `cap_bytes` of charges. Allocates
    /// nothing up front.
    pub fn new(cap_bytes: u64) -> Store {
        Store {
            cap_bytes,
            used_bytes: 0,
            deadlined: 0,
            arena: Arena::new(),
            slab: Slab::default(),
            lru: Lru::default(),
            index: Index::default(),
            expiry: Expiry::default(),
            counters: Counters::default(),
        }
    }

    /// The value under `key`, making it the most recently used entry.
    /// Counts a hit or a miss; an expired entry is reclaimed and misses.
    pub fn get(&mut self, key: &[u8], now_ms: u64) -> Option<&[u8]> {
        let hash = self.index.hash(key);
        let Some(id) = self.lookup(hash, key, now_ms) else {
            self.counters.misses += 1;
            return None;
        };
        self.counters.hits += 1;
        self.lru.touch(self.slab.slots_mut(), id);
        Some(self.arena.value(self.slab.record(id)))
    }

    /// Inserts or replaces `key`, with a TTL or none (`None` also clears an
    /// old TTL), and makes it the most recently used entry.
    ///
    /// Makes room first by reclaiming expired entries, then by evicting the
    /// least recently used ones, only as many as needed. The old value of a
    /// replaced key is never evicted to make room for its new value, and is
    /// swapped for the new one in a single step.
    ///
    /// # Errors
    /// [`SetError::TooLarge`] if the item's charge exceeds the cap; checked
    /// before anything else, so nothing is evicted or changed.
    pub fn set(
        &mut self,
        key: &[u8],
        value: &[u8],
        ttl_ms: Option<u64>,
        now_ms: u64,
    ) -> Result<(), SetError> {
        let charge_bytes = entry_charge(key.len(), value.len());
        if charge_bytes > self.cap_bytes {
            return Err(SetError::TooLarge {
                charge_bytes,
                cap_bytes: self.cap_bytes,
            });
        }
        let deadline_ms = ttl_ms.map(|ttl_ms| now_ms.saturating_add(ttl_ms));
        let hash = self.index.hash(key);
        let existing = self.lookup(hash, key, now_ms);
        if deadline_ms.is_some_and(|deadline_ms| deadline_ms <= now_ms) {
            // Stored and expired in the same instant: nothing is kept.
            if let Some(id) = existing {
                self.remove(id, hash);
            }
            self.counters.record_expiration(0);
        } else if let Some(id) = existing {
            self.replace(id, key, value, deadline_ms, now_ms);
        } else {
            self.insert(hash, key, value, deadline_ms, now_ms);
        }
        debug_assert!(self.used_bytes <= self.cap_bytes, "over the cap after set");
        Ok(())
    }

    /// Removes `key`; true if a live entry was removed.
    pub fn delete(&mut self, key: &[u8], now_ms: u64) -> bool {
        let hash = self.index.hash(key);
        let Some(id) = self.lookup(hash, key, now_ms) else {
            return false;
        };
        self.remove(id, hash);
        true
    }

    /// Sets (`Some`) or clears (`None`) the TTL of a live key without
    /// touching its value or recency; `Some(0)` expires it now. False if
    /// the key is missing.
    pub fn expire(&mut self, key: &[u8], ttl_ms: Option<u64>, now_ms: u64) -> bool {
        let hash = self.index.hash(key);
        let Some(id) = self.lookup(hash, key, now_ms) else {
            return false;
        };
        let deadline_ms = ttl_ms.map(|ttl_ms| now_ms.saturating_add(ttl_ms));
        match deadline_ms {
            Some(deadline_ms) if deadline_ms <= now_ms => {
                self.remove(id, hash);
                self.counters.record_expiration(0);
            }
            _ => {
                let old = self.slab.record(id);
                let record = self.arena.retag(old, deadline_ms);
                self.slab.set_record(id, record);
                self.note_deadline(id, old.has_deadline(), deadline_ms);
            }
        }
        true
    }

    /// The remaining TTL of `key`, without touching its recency.
    pub fn ttl(&mut self, key: &[u8], now_ms: u64) -> Ttl {
        let hash = self.index.hash(key);
        let Some(id) = self.lookup(hash, key, now_ms) else {
            return Ttl::Missing;
        };
        match self.arena.deadline(self.slab.record(id)) {
            None => Ttl::Persistent,
            Some(deadline_ms) => Ttl::Remaining {
                remaining_ms: deadline_ms - now_ms,
            },
        }
    }

    /// Reclaims up to `max_expired` expired entries, earliest deadline
    /// first; returns how many it reclaimed. Stale heap pairs met on the way
    /// are discarded and not counted (each is discarded only once).
    pub fn tick(&mut self, now_ms: u64, max_expired: usize) -> usize {
        let mut reclaimed = 0;
        while reclaimed < max_expired {
            let Some((id, deadline_ms)) = self.pop_due(now_ms) else {
                break;
            };
            self.reclaim_expired(id, deadline_ms, now_ms);
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

    /// The charge of a stored record.
    fn charge_of(&self, record: Record) -> u64 {
        let (key_len, value_len) = self.arena.lengths(record);
        entry_charge(key_len, value_len)
    }

    /// The key hash of a stored entry.
    fn hash_of(&self, id: Id) -> u64 {
        self.index.hash(self.arena.key(self.slab.record(id)))
    }

    /// The live entry under `key`: an expired one is reclaimed and hidden.
    fn lookup(&mut self, hash: u64, key: &[u8], now_ms: u64) -> Option<Id> {
        let (slab, arena) = (&self.slab, &self.arena);
        let id = self
            .index
            .find(hash, key, |id| arena.key(slab.record(id)))?;
        match self.arena.deadline(self.slab.record(id)) {
            Some(deadline_ms) if deadline_ms <= now_ms => {
                self.reclaim_expired(id, deadline_ms, now_ms);
                None
            }
            _ => Some(id),
        }
    }

    /// Adds a new entry, making room first.
    fn insert(
        &mut self,
        hash: u64,
        key: &[u8],
        value: &[u8],
        deadline_ms: Option<u64>,
        now_ms: u64,
    ) {
        let charge = entry_charge(key.len(), value.len());
        self.make_room(charge, true, now_ms);
        let record = self.arena.store(deadline_ms, key, value);
        let id = self.slab.insert(record);
        let (slab, arena) = (&self.slab, &self.arena);
        self.index.insert(hash, id, |id| arena.key(slab.record(id)));
        self.lru.push_front(self.slab.slots_mut(), id);
        self.used_bytes += charge;
        self.note_deadline(id, false, deadline_ms);
    }

    /// Replaces a live entry's value and deadline, making room first. The
    /// entry is unlinked from the LRU list meanwhile, so making room can
    /// never evict it: the old value stays until the new one is written.
    fn replace(&mut self, id: Id, key: &[u8], value: &[u8], deadline_ms: Option<u64>, now_ms: u64) {
        let old = self.slab.record(id);
        let old_deadline_ms = self.arena.deadline(old);
        self.lru.unlink(self.slab.slots_mut(), id);
        self.used_bytes -= self.charge_of(old);
        let charge = entry_charge(key.len(), value.len());
        self.make_room(charge, false, now_ms);
        let record = self.arena.rewrite(old, deadline_ms, key, value);
        self.slab.set_record(id, record);
        self.lru.push_front(self.slab.slots_mut(), id);
        self.used_bytes += charge;
        let unchanged = deadline_ms.is_some() && deadline_ms == old_deadline_ms;
        if !unchanged {
            self.note_deadline(id, old.has_deadline(), deadline_ms);
        }
    }

    /// Bookkeeping after entry `id` went from having a deadline (`had`) or
    /// not, to `deadline_ms`: the count, the heap pair, the heap bound.
    fn note_deadline(&mut self, id: Id, had: bool, deadline_ms: Option<u64>) {
        self.deadlined = self.deadlined - usize::from(had) + usize::from(deadline_ms.is_some());
        if let Some(deadline_ms) = deadline_ms {
            self.expiry.push(deadline_ms, id);
        }
        self.compact_expiry();
    }

    /// Reclaims expired entries, then evicts least recently used ones, until
    /// `charge` more bytes (and, if `needs_slot`, one more slot) fit.
    ///
    /// Terminates: every pass removes one entry or stops, and once the store
    /// is empty `charge <= cap_bytes` fits (checked by the caller).
    fn make_room(&mut self, charge: u64, needs_slot: bool, now_ms: u64) {
        while self.used_bytes.saturating_add(charge) > self.cap_bytes
            || (needs_slot && self.slab.is_full())
        {
            if let Some((id, deadline_ms)) = self.pop_due(now_ms) {
                self.reclaim_expired(id, deadline_ms, now_ms);
            } else if let Some(id) = self.lru.tail() {
                let charge = self.remove(id, self.hash_of(id));
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
    /// is that pair's) turns up; returns its id and deadline.
    fn pop_due(&mut self, now_ms: u64) -> Option<(Id, u64)> {
        while let Some((deadline_ms, id)) = self.expiry.peek_due(now_ms) {
            self.expiry.pop();
            if self.pair_is_current(deadline_ms, id) {
                return Some((id, deadline_ms));
            }
        }
        None
    }

    /// True when the heap pair `(deadline_ms, id)` describes a live entry.
    fn pair_is_current(&self, deadline_ms: u64, id: Id) -> bool {
        is_current(&self.slab, &self.arena, deadline_ms, id)
    }

    /// Rebuilds the expiry heap if stale pairs exceed its bound.
    fn compact_expiry(&mut self) {
        let (slab, arena) = (&self.slab, &self.arena);
        self.expiry
            .compact_if_needed(self.deadlined, |deadline_ms, id| {
                is_current(slab, arena, deadline_ms, id)
            });
    }

    /// Removes an expired entry and counts it with its lag.
    fn reclaim_expired(&mut self, id: Id, deadline_ms: u64, now_ms: u64) {
        self.remove(id, self.hash_of(id));
        self.counters
            .record_expiration(now_ms.saturating_sub(deadline_ms));
    }

    /// Unlinks entry `id` (key hash `hash`) from every structure and frees
    /// its bytes; returns its charge.
    fn remove(&mut self, id: Id, hash: u64) -> u64 {
        let record = self.slab.record(id);
        let charge = self.charge_of(record);
        let indexed = self.index.remove(hash, id);
        debug_assert!(indexed, "removed entry {id} was not indexed");
        self.lru.unlink(self.slab.slots_mut(), id);
        self.slab.remove(id);
        self.arena.release(record);
        self.used_bytes -= charge;
        if record.has_deadline() {
            self.deadlined -= 1;
            self.compact_expiry();
        }
        charge
    }
}

/// True when `(deadline_ms, id)` is the current deadline of live entry `id`.
fn is_current(slab: &Slab, arena: &Arena, deadline_ms: u64, id: Id) -> bool {
    slab.is_live(id) && arena.deadline(slab.record(id)) == Some(deadline_ms)
}
