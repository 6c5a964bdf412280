//! Deadline order: a min-heap of `(deadline, location)` pairs.
//!
//! Every deadline setting (a `set` with a TTL, an `expire`) pushes one pair.
//! Pairs are never removed when an entry is deleted, replaced, moved or
//! re-timed; instead a popped pair is *validated* against the record: it is
//! current only if a live record sits at that location and carries that
//! exact [`Deadline`], sequence number included. Every setting takes a new
//! sequence number, so a pair left over from an earlier setting, or from an
//! entry whose location was since reused, never validates (until the `u32`
//! sequence wraps, and then only for an entry due at that same instant,
//! which is correct to expire). Equal deadlines pop in the order they were
//! set.
//!
//! Stale pairs are bounded: whenever the heap holds more than
//! `2 × (entries with a deadline) + COMPACT_SLACK` pairs, it is rebuilt from
//! its current pairs only. After a rebuild the heap holds exactly one pair
//! per entry with a deadline, so the O(n log n) rebuild happens at most once
//! per n pushes or removals: amortized O(log n) per operation, and the heap
//! never exceeds the bound above.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::record::{Deadline, Loc};

/// Stale pairs tolerated beyond twice the live count, so a tiny store does
/// not rebuild its heap on every operation.
pub(super) const COMPACT_SLACK: usize = 64;

/// Pending deadlines, earliest first.
#[derive(Debug, Default)]
pub(super) struct Expiry {
    heap: BinaryHeap<Reverse<Pair>>,
}

/// One heap entry, 16 bytes, ordered by deadline, then sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Pair {
    at_ms: u64,
    seq: u32,
    loc: Loc,
}

impl Pair {
    fn new(deadline: Deadline, loc: Loc) -> Pair {
        Pair {
            at_ms: deadline.at_ms,
            seq: deadline.seq,
            loc,
        }
    }

    fn parts(self) -> (Deadline, Loc) {
        let deadline = Deadline {
            at_ms: self.at_ms,
            seq: self.seq,
        };
        (deadline, self.loc)
    }
}

impl Expiry {
    /// Records that the entry at `loc` is due at `deadline`.
    pub(super) fn push(&mut self, deadline: Deadline, loc: Loc) {
        self.heap.push(Reverse(Pair::new(deadline, loc)));
    }

    /// The earliest pair if it is due at `now_ms` (deadline <= now).
    pub(super) fn peek_due(&self, now_ms: u64) -> Option<(Deadline, Loc)> {
        let &Reverse(pair) = self.heap.peek()?;
        (pair.at_ms <= now_ms).then_some(pair.parts())
    }

    /// Drops the earliest pair.
    pub(super) fn pop(&mut self) {
        self.heap.pop();
    }

    /// The earliest deadline, possibly of a stale pair (so conservative).
    pub(super) fn next_deadline_ms(&self) -> Option<u64> {
        self.heap.peek().map(|&Reverse(pair)| pair.at_ms)
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
    /// pairs for which `is_current(deadline, loc)` holds.
    pub(super) fn compact_if_needed(
        &mut self,
        deadlined: usize,
        is_current: impl Fn(Deadline, Loc) -> bool,
    ) {
        if self.heap.len() <= Expiry::bound(deadlined) {
            return;
        }
        let mut pairs = std::mem::take(&mut self.heap).into_vec();
        pairs.retain(|&Reverse(pair)| {
            let (deadline, loc) = pair.parts();
            is_current(deadline, loc)
        });
        // Give back memory after a mass removal, keeping room to grow.
        pairs.shrink_to(Expiry::bound(pairs.len()));
        self.heap = BinaryHeap::from(pairs);
    }

    /// Every pair, for invariant checks.
    pub(super) fn pairs(&self) -> impl Iterator<Item = (Deadline, Loc)> + '_ {
        self.heap.iter().map(|&Reverse(pair)| pair.parts())
    }
}
