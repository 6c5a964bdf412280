//! The recency order: an intrusive doubly-linked list of record locations.
//!
//! `head` is the most recently used entry, `tail` the least (the next
//! eviction victim). The links live in the records' headers (`prev` points
//! towards the head, `next` towards the tail), so linking, unlinking and
//! moving an entry to the front are O(1), allocate nothing, and touch only
//! the entry and its two neighbours. Either both ends are NIL (empty list)
//! or neither is.

use super::arena::Arena;
use super::record::{Loc, NIL};

/// Ends and length of the list; the links are in the records.
#[derive(Debug)]
pub(super) struct Lru {
    head: Loc,
    tail: Loc,
    len: usize,
}

impl Default for Lru {
    fn default() -> Lru {
        Lru {
            head: NIL,
            tail: NIL,
            len: 0,
        }
    }
}

impl Lru {
    /// Number of linked entries.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The least recently used entry.
    pub(super) fn tail(&self) -> Option<Loc> {
        (self.tail != NIL).then_some(self.tail)
    }

    /// Links an unlinked entry as the most recently used.
    #[inline(always)]
    pub(super) fn push_front(&mut self, arena: &mut Arena, loc: Loc) {
        debug_assert!(self.head != loc, "record {loc:#x} linked twice");
        let old_head = self.head;
        arena.record_mut(loc).set_links(NIL, old_head);
        if old_head == NIL {
            self.tail = loc;
        } else {
            arena.record_mut(old_head).set_prev(loc);
        }
        self.head = loc;
        self.len += 1;
    }

    /// Unlinks a linked entry.
    #[inline(always)]
    pub(super) fn unlink(&mut self, arena: &mut Arena, loc: Loc) {
        let (prev, next) = arena.record(loc).links();
        self.join(arena, prev, next);
        self.len -= 1;
        debug_assert_eq!(self.head == NIL, self.tail == NIL, "list ends disagree");
    }

    /// Makes a linked entry the most recently used: unlink and push_front
    /// fused, so the entry's own header is read and written once.
    #[inline(always)]
    pub(super) fn touch(&mut self, arena: &mut Arena, loc: Loc) {
        let old_head = self.head;
        if old_head == loc {
            return;
        }
        // Not the head, so `prev` is an entry and `old_head` is not NIL.
        let (prev, next) = arena.record_mut(loc).replace_links(NIL, old_head);
        self.join(arena, prev, next);
        arena.record_mut(old_head).set_prev(loc);
        self.head = loc;
    }

    /// Points the neighbours of an entry that moved from `old` to `new`
    /// (whose record already holds the old links) at its new location.
    pub(super) fn relocate(&mut self, arena: &mut Arena, old: Loc, new: Loc) {
        let (prev, next) = arena.record(new).links();
        debug_assert!(prev != old && next != old, "self-link at {old:#x}");
        self.join(arena, prev, new);
        self.join(arena, new, next);
    }

    /// Links `prev` and `next` to each other, either being an end.
    #[inline(always)]
    fn join(&mut self, arena: &mut Arena, prev: Loc, next: Loc) {
        match prev {
            NIL => self.head = next,
            prev => arena.record_mut(prev).set_next(next),
        }
        match next {
            NIL => self.tail = prev,
            next => arena.record_mut(next).set_prev(prev),
        }
    }

    /// Walks the list from head to tail, checking links both ways and that
    /// it is acyclic (at most `max_len` entries); returns the locations in
    /// recency order (most recent first).
    pub(super) fn check_invariants(&self, arena: &Arena, max_len: usize) -> Vec<Loc> {
        assert_eq!(
            self.head == NIL,
            self.tail == NIL,
            "one list end is NIL, the other not"
        );
        let mut order = Vec::with_capacity(self.len);
        let mut prev = NIL;
        let mut cursor = self.head;
        while cursor != NIL {
            assert!(order.len() < max_len, "cycle in the LRU list");
            assert!(arena.is_live(cursor), "LRU list reaches a free record");
            let (back, next) = arena.record(cursor).links();
            assert_eq!(back, prev, "broken prev link at {cursor:#x}");
            assert_ne!(next, cursor, "self-link at {cursor:#x}");
            order.push(cursor);
            prev = cursor;
            cursor = next;
        }
        assert_eq!(prev, self.tail, "tail is not the last record");
        assert_eq!(order.len(), self.len, "LRU length");
        order
    }
}
