//! [`Store::check_invariants`]: the full consistency walk that tests and the
//! fuzzer run after every operation.

use std::collections::HashSet;

use super::expiry::Expiry;
use super::index::keys_equal;
use super::record::{Deadline, Loc};
use super::{Store, is_current};

impl Store {
    /// Walks every structure and panics with a message at the first
    /// inconsistency. O(n log n); for tests and fuzzing.
    ///
    /// Checks: the LRU list is acyclic, doubly linked, and reaches only live
    /// records; the index holds exactly the listed entries and finds each by
    /// its key; the charges add up to `used_bytes`, which is within the cap;
    /// the entry count is within its limit; the arena's pages, chunk free
    /// lists and large table match the live records exactly; every entry
    /// with a deadline has its pair in the expiry heap, and the heap is
    /// within its bound.
    pub fn check_invariants(&self) {
        let order = self.lru.check_invariants(&self.arena, self.max_entries);
        assert_eq!(
            self.index.len(),
            order.len(),
            "index length != LRU list length"
        );
        let mut used_bytes = 0;
        let mut deadlines = Vec::new();
        for &loc in &order {
            let record = self.arena.record(loc);
            used_bytes += self.charge_at(loc);
            let key = record.key();
            let found = (self.index.candidates(self.index.hash(key)))
                .find(|&candidate| keys_equal(self.arena.record(candidate).key(), key));
            assert_eq!(found, Some(loc), "index does not find {loc:#x} by its key");
            if let Some(deadline) = record.deadline() {
                deadlines.push((deadline, loc));
            }
        }
        self.index
            .check_invariants(|loc| self.arena.record(loc).key());
        let listed: HashSet<Loc> = order.iter().copied().collect();
        for loc in self.index.locs() {
            assert!(listed.contains(&loc), "index holds unlisted {loc:#x}");
        }
        assert_eq!(
            used_bytes, self.used_bytes,
            "charges do not add up to used_bytes"
        );
        assert!(self.used_bytes <= self.cap_bytes, "used_bytes over the cap");
        assert!(order.len() <= self.max_entries, "over the entry limit");
        self.arena.check_invariants(&order);
        self.check_expiry(&deadlines);
    }

    fn check_expiry(&self, deadlines: &[(Deadline, Loc)]) {
        assert_eq!(
            deadlines.len(),
            self.deadlined,
            "count of entries with a deadline"
        );
        assert!(
            self.expiry.len() <= Expiry::bound(self.deadlined),
            "expiry heap over its bound"
        );
        let pairs: HashSet<(Deadline, Loc)> = self.expiry.pairs().collect();
        for pair in deadlines {
            assert!(
                pairs.contains(pair),
                "entry {:#x} has no heap pair for its deadline",
                pair.1
            );
        }
        let current = pairs
            .iter()
            .filter(|&&(deadline, loc)| is_current(&self.arena, deadline, loc))
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
                    .all(|&(deadline, _)| deadline.at_ms >= next_ms),
                "next_expiry_ms too late"
            );
        }
    }
}
