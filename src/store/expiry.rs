//! Deadline order: a min-heap of `(deadline_ms, id)` pairs.
//!
//! Every entry with a TTL pushes one pair when its deadline is set. Pairs
//! are never removed when an entry is deleted, replaced or re-timed; instead
//! a popped pair is *validated* against the slot: it is current only if the
//! slot is live, has a deadline, and that deadline equals the pair's. A
//! reused id with the very same deadline validates too, which is correct:
//! that entry is due at that instant as well.
//!
//! Stale pairs are bounded: whenever the heap holds more than
//! `2 × (entries with a deadline) + COMPACT_SLACK` pairs, it is rebuilt from
//! its current pairs only (sorted and deduplicated). After a rebuild the heap
//! holds exactly one pair per entry with a deadline, so the O(n log n)
//! rebuild happens at most once per n pushes or removals: amortized
//! O(log n) per operation, and the heap never exceeds the bound above.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::slab::Id;

/// Stale pairs tolerated beyond twice the live count, so a tiny store does
/// not rebuild its heap on every operation.
pub(super) const COMPACT_SLACK: usize = 64;

/// Pending deadlines, earliest first.
#[derive(Debug, Default)]
pub(super) struct Expiry {
    heap: BinaryHeap<Reverse<(u64, Id)>>,
}

impl Expiry {
    /// Records that entry `id` is due at `deadline_ms`.
    pub(super) fn push(&mut self, deadline_ms: u64, id: Id) {
        self.heap.push(Reverse((deadline_ms, id)));
    }

    /// The earliest pair if it is due at `now_ms` (deadline <= now).
    pub(super) fn peek_due(&self, now_ms: u64) -> Option<(u64, Id)> {
        let &Reverse((deadline_ms, id)) = self.heap.peek()?;
        (deadline_ms <= now_ms).then_some((deadline_ms, id))
    }

    /// Drops the earliest pair.
    pub(super) fn pop(&mut self) {
        self.heap.pop();
    }

    /// The earliest deadline, possibly of a stale pair (so conservative).
    pub(super) fn next_deadline_ms(&self) -> Option<u64> {
        self.heap
            .peek()
            .map(|&Reverse((deadline_ms, _))| deadline_ms)
    }

    /// Number of pairs, current and stale.
    pub(super) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Largest heap tolerated for `deadlined` entries with a deadline.
    pub(super) fn bound(deadlined: usize) -> usize {
        deadlined.saturating_mul(2).saturating_add(COMPACT_SLACK)
    }

    /// Rebuilds the heap if it exceeds [`Expiry::bound`], keeping only the
    /// pairs for which `is_current(deadline_ms, id)` holds.
    pub(super) fn compact_if_needed(
        &mut self,
        deadlined: usize,
        is_current: impl Fn(u64, Id) -> bool,
    ) {
        if self.heap.len() <= Expiry::bound(deadlined) {
            return;
        }
        let mut pairs = std::mem::take(&mut self.heap).into_vec();
        pairs.retain(|&Reverse((deadline_ms, id))| is_current(deadline_ms, id));
        pairs.sort_unstable();
        pairs.dedup();
        // Give back memory after a mass removal, keeping room to grow.
        pairs.shrink_to(Expiry::bound(pairs.len()));
        self.heap = BinaryHeap::from(pairs);
    }

    /// Every pair, for invariant checks.
    pub(super) fn pairs(&self) -> impl Iterator<Item = (u64, Id)> + '_ {
        self.heap.iter().map(|&Reverse(pair)| pair)
    }
}
