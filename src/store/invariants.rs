//! [`Store::check_invariants`]: the full consistency walk that tests and the
//! fuzzer run after every operation.

use std::collections::HashSet;

use super::expiry::Expiry;
use super::{Store, is_current};

impl Store {
    /// Walks every structure and panics with a message at the first
    /// inconsistency. O(n log n); for tests and fuzzing.
    ///
    /// Checks: the slot free list is acyclic and holds exactly the free
    /// slots; the LRU list is acyclic, doubly linked, and holds exactly the
    /// live slots; the index holds exactly the live ids and finds each by
    /// its key; the charges add up to `used_bytes`, which is within the cap;
    /// the arena's pages, chunk free lists and large table match the live
    /// records; every entry with a deadline has its pair in the expiry heap,
    /// and the heap is within its bound.
    pub fn check_invariants(&self) {
        self.slab.check_invariants();
        let order = self.lru.check_invariants(self.slab.slots());
        assert_eq!(
            order.len(),
            self.slab.len(),
            "LRU list length != live slots"
        );
        assert_eq!(
            self.index.len(),
            order.len(),
            "index length != LRU list length"
        );
        let mut used_bytes = 0;
        let mut records = Vec::with_capacity(order.len());
        let mut deadlines = Vec::new();
        for &id in &order {
            assert!(self.slab.is_live(id), "LRU list reaches free slot {id}");
            let record = self.slab.record(id);
            used_bytes += self.charge_of(record);
            let key = self.arena.key(record);
            let found = self.index.find(self.index.hash(key), key, |id| {
                self.arena.key(self.slab.record(id))
            });
            assert_eq!(found, Some(id), "index does not find entry {id} by its key");
            if let Some(deadline_ms) = self.arena.deadline(record) {
                deadlines.push((deadline_ms, id));
            }
            records.push(record);
        }
        for id in self.index.ids() {
            assert!(self.slab.is_live(id), "index holds free slot {id}");
        }
        assert_eq!(
            used_bytes, self.used_bytes,
            "charges do not add up to used_bytes"
        );
        assert!(self.used_bytes <= self.cap_bytes, "used_bytes over the cap");
        self.arena.check_invariants(&records);
        self.check_expiry(&deadlines);
    }

    fn check_expiry(&self, deadlines: &[(u64, u32)]) {
        assert_eq!(
            deadlines.len(),
            self.deadlined,
            "count of entries with a deadline"
        );
        assert!(
            self.expiry.len() <= Expiry::bound(self.deadlined),
            "expiry heap over its bound"
        );
        let pairs: HashSet<(u64, u32)> = self.expiry.pairs().collect();
        for pair in deadlines {
            assert!(
                pairs.contains(pair),
                "entry {} has no heap pair for its deadline",
                pair.1
            );
        }
        let current = pairs
            .iter()
            .filter(|&&(deadline_ms, id)| is_current(&self.slab, &self.arena, deadline_ms, id))
            .count();
        assert_eq!(
            current,
            deadlines.len(),
            "heap pairs that validate != entries with a deadline"
        );
        if let Some(next_ms) = self.expiry.next_deadline_ms() {
            assert!(
                deadlines
                    .iter()
                    .all(|&(deadline_ms, _)| deadline_ms >= next_ms),
                "next_expiry_ms too late"
            );
        }
    }
}
