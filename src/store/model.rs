//! A naive reference model of the store, for property tests and the fuzzer.
//!
//! Obviously-correct data structures only: a `HashMap` of entries, a
//! `VecDeque` of keys in recency order (front = most recent), a byte counter
//! and the caller's fake clock. It mirrors the store's documented rules:
//! lazy expiry on lookup; when making room, due entries are reclaimed first
//! (earliest deadline first), then the least recently used is evicted; a
//! replaced key is never evicted for its own new value; a deadline is due
//! once the clock reaches it (at once only at the clock's end, `u64::MAX`).
//!
//! Equal deadlines expire in the order they were set, as in the store: each
//! deadline setting takes the next number of a wrapping `u32` sequence, so
//! bounded `tick`s can be compared exactly.
//!
//! It also holds the lockstep runner ([`run`]) that drives the store and the
//! model with the same operations and compares them after each one.
//!
//! Compiled only for the library's tests and for fuzzing (`--cfg fuzzing`,
//! which cargo-fuzz sets), where the `store_ops` target uses [`Op`] and
//! [`run`] as they are; it uses only the store's public API.

use std::collections::{HashMap, VecDeque};
use std::num::NonZeroU64;

use super::{SetError, Store, StoreStats, Ttl, entry_charge};

/// One model entry.
#[derive(Debug)]
struct ModelEntry {
    value: Vec<u8>,
    /// `(deadline_ms, seq)` of the entry's deadline setting.
    deadline: Option<(u64, u32)>,
}

/// The reference store.
#[derive(Debug, Default)]
pub struct Model {
    cap_bytes: u64,
    used_bytes: u64,
    entries: HashMap<Vec<u8>, ModelEntry>,
    order: VecDeque<Vec<u8>>,
    next_seq: u32,
    stats: StoreStats,
}

impl Model {
    /// An empty model with the given cap.
    pub fn new(cap_bytes: u64) -> Model {
        Model {
            cap_bytes,
            ..Model::default()
        }
    }

    /// Live and not-yet-reclaimed entries.
    pub fn item_count(&self) -> usize {
        self.entries.len()
    }

    /// Sum of the entries' charges.
    pub fn used_bytes(&self) -> u64 {
        self.used_bytes
    }

    /// Counters, with the gauges filled in.
    pub fn stats(&self) -> StoreStats {
        StoreStats {
            items: self.entries.len() as u64,
            used_bytes: self.used_bytes,
            cap_bytes: self.cap_bytes,
            ..self.stats
        }
    }

    /// The earliest deadline of any stored entry.
    pub fn earliest_deadline_ms(&self) -> Option<u64> {
        self.entries
            .values()
            .filter_map(|entry| entry.deadline)
            .map(|(deadline_ms, _)| deadline_ms)
            .min()
    }

    /// Mirrors `Store::get`.
    pub fn get(&mut self, key: &[u8], now_ms: u64) -> Option<Vec<u8>> {
        if !self.lookup(key, now_ms) {
            self.stats.misses += 1;
            return None;
        }
        self.stats.hits += 1;
        self.detach(key);
        self.order.push_front(key.to_vec());
        Some(self.entries[key].value.clone())
    }

    /// Mirrors `Store::set`.
    pub fn set(
        &mut self,
        key: &[u8],
        value: &[u8],
        ttl_ms: Option<NonZeroU64>,
        now_ms: u64,
    ) -> Result<(), SetError> {
        let charge_bytes = entry_charge(key.len(), value.len());
        if charge_bytes > self.cap_bytes {
            return Err(SetError::TooLarge {
                charge_bytes,
                cap_bytes: self.cap_bytes,
            });
        }
        let deadline = ttl_ms.map(|ttl_ms| self.new_deadline(now_ms.saturating_add(ttl_ms.get())));
        if self.lookup(key, now_ms) {
            self.detach(key);
            self.used_bytes -= self.charge(key);
        }
        self.make_room(charge_bytes, now_ms);
        let entry = ModelEntry {
            value: value.to_vec(),
            deadline,
        };
        self.entries.insert(key.to_vec(), entry);
        self.order.push_front(key.to_vec());
        self.used_bytes += charge_bytes;
        Ok(())
    }

    /// Mirrors `Store::delete`.
    pub fn delete(&mut self, key: &[u8], now_ms: u64) -> bool {
        let found = self.lookup(key, now_ms);
        if found {
            self.remove(key);
        }
        found
    }

    /// Mirrors `Store::expire`.
    pub fn expire(&mut self, key: &[u8], ttl_ms: Option<NonZeroU64>, now_ms: u64) -> bool {
        if !self.lookup(key, now_ms) {
            return false;
        }
        let deadline = ttl_ms.map(|ttl_ms| self.new_deadline(now_ms.saturating_add(ttl_ms.get())));
        if let Some(entry) = self.entries.get_mut(key) {
            entry.deadline = deadline;
        }
        true
    }

    /// Mirrors `Store::ttl`.
    pub fn ttl(&mut self, key: &[u8], now_ms: u64) -> Ttl {
        if !self.lookup(key, now_ms) {
            return Ttl::Missing;
        }
        match self.entries[key].deadline {
            None => Ttl::Persistent,
            Some((deadline_ms, _)) => Ttl::Remaining {
                remaining_ms: deadline_ms - now_ms,
            },
        }
    }

    /// Mirrors `Store::tick`.
    pub fn tick(&mut self, now_ms: u64, max_expired: usize) -> usize {
        let mut reclaimed = 0;
        while reclaimed < max_expired {
            let Some(key) = self.earliest_due(now_ms) else {
                break;
            };
            self.reclaim_expired(&key, now_ms);
            reclaimed += 1;
        }
        reclaimed
    }

    /// True if `key` is live; an expired entry is reclaimed.
    fn lookup(&mut self, key: &[u8], now_ms: u64) -> bool {
        let Some(entry) = self.entries.get(key) else {
            return false;
        };
        if entry
            .deadline
            .is_some_and(|(deadline_ms, _)| deadline_ms <= now_ms)
        {
            self.reclaim_expired(key, now_ms);
            return false;
        }
        true
    }

    /// The next deadline setting's `(deadline_ms, seq)`.
    fn new_deadline(&mut self, deadline_ms: u64) -> (u64, u32) {
        let seq = self.next_seq;
        self.next_seq = seq.wrapping_add(1);
        (deadline_ms, seq)
    }

    /// The due entry with the smallest (deadline, seq).
    fn earliest_due(&self, now_ms: u64) -> Option<Vec<u8>> {
        self.entries
            .iter()
            .filter_map(|(key, entry)| Some((entry.deadline?, key)))
            .filter(|&((deadline_ms, _), _)| deadline_ms <= now_ms)
            .min()
            .map(|(_, key)| key.clone())
    }

    fn make_room(&mut self, charge_bytes: u64, now_ms: u64) {
        while self.used_bytes + charge_bytes > self.cap_bytes {
            if let Some(key) = self.earliest_due(now_ms) {
                self.reclaim_expired(&key, now_ms);
            } else {
                let key = self.order.back().expect("room must be possible").clone();
                let charge = self.charge(&key);
                self.remove(&key);
                self.stats.evictions += 1;
                self.stats.evicted_bytes += charge;
            }
        }
    }

    fn reclaim_expired(&mut self, key: &[u8], now_ms: u64) {
        let (deadline_ms, _) = self.entries[key]
            .deadline
            .expect("only entries with a deadline expire");
        self.remove(key);
        self.record_expiration(now_ms.saturating_sub(deadline_ms));
    }

    fn record_expiration(&mut self, lag_ms: u64) {
        self.stats.expirations += 1;
        self.stats.expiry_lag_recent_ms = lag_ms;
        self.stats.expiry_lag_max_ms = self.stats.expiry_lag_max_ms.max(lag_ms);
    }

    fn charge(&self, key: &[u8]) -> u64 {
        entry_charge(key.len(), self.entries[key].value.len())
    }

    /// Removes `key` from the recency order (if there).
    fn detach(&mut self, key: &[u8]) {
        if let Some(position) = self.order.iter().position(|k| k == key) {
            self.order.remove(position);
        }
    }

    fn remove(&mut self, key: &[u8]) {
        self.used_bytes -= self.charge(key);
        self.detach(key);
        self.entries.remove(key).expect("removing a stored key");
    }
}

/// One step of a lockstep run (generated by proptest or the fuzzer). Keys
/// are numbers in a key space (see [`key_bytes`]), so operations collide.
#[derive(Clone, Debug)]
pub enum Op {
    /// `set` of a value of `value_len` bytes.
    Set {
        /// The key's number.
        key: u16,
        /// The value's length.
        value_len: usize,
        /// The TTL, if any.
        ttl_ms: Option<NonZeroU64>,
    },
    /// `get`.
    Get {
        /// The key's number.
        key: u16,
    },
    /// `delete`.
    Delete {
        /// The key's number.
        key: u16,
    },
    /// `expire`.
    Expire {
        /// The key's number.
        key: u16,
        /// The new TTL, or none to clear it.
        ttl_ms: Option<NonZeroU64>,
    },
    /// `ttl`.
    Ttl {
        /// The key's number.
        key: u16,
    },
    /// `tick`.
    Tick {
        /// The most entries the tick may reclaim.
        max_expired: usize,
    },
    /// Moves the fake clock forward (saturating).
    Advance {
        /// Milliseconds to add.
        ms: u64,
    },
}

/// The bytes of key number `key`: 0 is the empty key; others are their
/// number's two bytes repeated 1 to 5 times, so lengths vary and every
/// number has its own key.
pub fn key_bytes(key: u16) -> Vec<u8> {
    if key == 0 {
        Vec::new()
    } else {
        key.to_le_bytes().repeat(1 + usize::from(key % 5))
    }
}

/// Applies one op to both and compares the replies.
fn step(store: &mut Store, model: &mut Model, op: &Op, now_ms: &mut u64, seq: usize) {
    match *op {
        Op::Set {
            key,
            value_len,
            ttl_ms,
        } => {
            let key = key_bytes(key);
            let value: Vec<u8> = (0..value_len).map(|i| (i + seq) as u8).collect();
            let got = store.set(&key, &value, ttl_ms, *now_ms);
            assert_eq!(got, model.set(&key, &value, ttl_ms, *now_ms), "{op:?}");
            if let Err(SetError::TooLarge { charge_bytes, .. }) = got {
                assert_eq!(charge_bytes, entry_charge(key.len(), value.len()));
            }
        }
        Op::Get { key } => {
            let key = key_bytes(key);
            let got = store.get(&key, *now_ms).map(<[u8]>::to_vec);
            assert_eq!(got, model.get(&key, *now_ms), "{op:?}");
        }
        Op::Delete { key } => {
            let key = key_bytes(key);
            assert_eq!(
                store.delete(&key, *now_ms),
                model.delete(&key, *now_ms),
                "{op:?}"
            );
        }
        Op::Expire { key, ttl_ms } => {
            let key = key_bytes(key);
            let got = store.expire(&key, ttl_ms, *now_ms);
            assert_eq!(got, model.expire(&key, ttl_ms, *now_ms), "{op:?}");
        }
        Op::Ttl { key } => {
            let key = key_bytes(key);
            assert_eq!(store.ttl(&key, *now_ms), model.ttl(&key, *now_ms), "{op:?}");
        }
        Op::Tick { max_expired } => {
            let got = store.tick(*now_ms, max_expired);
            assert_eq!(got, model.tick(*now_ms, max_expired), "{op:?}");
        }
        Op::Advance { ms } => *now_ms = now_ms.saturating_add(ms),
    }
}

/// Runs `ops` on `store` (empty) and a fresh model with its cap in lockstep
/// from `start_ms`, comparing every reply, the counters, the byte count and
/// the expiry schedule after every op, with `check_invariants()` each time;
/// returns the store, for checks of what the run reached.
///
/// # Panics
/// At the first difference between the store and the model, or the first
/// broken invariant.
pub fn run(mut store: Store, start_ms: u64, ops: &[Op]) -> Store {
    assert!(store.is_empty(), "lockstep starts from an empty store");
    let mut model = Model::new(store.cap_bytes());
    let mut now_ms = start_ms;
    for (seq, op) in ops.iter().enumerate() {
        step(&mut store, &mut model, op, &mut now_ms, seq);
        store.check_invariants();
        assert_eq!(store.stats(), model.stats(), "after {op:?}");
        assert_eq!(store.len(), model.item_count());
        assert_eq!(store.used_bytes(), model.used_bytes());
        assert!(store.used_bytes() <= store.cap_bytes());
        if let Some(earliest_ms) = model.earliest_deadline_ms() {
            let next_ms = store.next_expiry_ms().expect("a deadline is pending");
            assert!(
                next_ms <= earliest_ms,
                "next_expiry_ms later than a pending deadline"
            );
        }
    }
    store
}
