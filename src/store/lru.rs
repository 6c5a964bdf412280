//! The recency order: an intrusive doubly-linked list of slot ids.
//!
//! `head` is the most recently used entry, `tail` the least (the next
//! eviction victim). Links live in the slots (`prev` points towards the
//! head, `next` towards the tail), so linking, unlinking and moving an entry
//! to the front are O(1) and allocate nothing. Either both ends are NIL (empty
//! list) or neither is.

use super::slab::{Id, NIL, Slot};

/// Ends and length of the list; the links are in the slots.
#[derive(Debug)]
pub(super) struct Lru {
    head: Id,
    tail: Id,
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
    pub(super) fn tail(&self) -> Option<Id> {
        (self.tail != NIL).then_some(self.tail)
    }

    /// Links an unlinked entry as the most recently used.
    pub(super) fn push_front(&mut self, slots: &mut [Slot], id: Id) {
        debug_assert!(self.head != id, "slot {id} linked twice");
        let old_head = self.head;
        let slot = &mut slots[id as usize];
        slot.prev = NIL;
        slot.next = old_head;
        if old_head == NIL {
            self.tail = id;
        } else {
            slots[old_head as usize].prev = id;
        }
        self.head = id;
        self.len += 1;
    }

    /// Unlinks a linked entry.
    pub(super) fn unlink(&mut self, slots: &mut [Slot], id: Id) {
        let Slot { prev, next, .. } = slots[id as usize];
        if prev == NIL {
            debug_assert_eq!(self.head, id, "unlink of an unlinked slot");
            self.head = next;
        } else {
            slots[prev as usize].next = next;
        }
        if next == NIL {
            debug_assert_eq!(self.tail, id, "unlink of an unlinked slot");
            self.tail = prev;
        } else {
            slots[next as usize].prev = prev;
        }
        self.len -= 1;
        debug_assert_eq!(self.head == NIL, self.tail == NIL, "list ends disagree");
    }

    /// Makes a linked entry the most recently used.
    pub(super) fn touch(&mut self, slots: &mut [Slot], id: Id) {
        if self.head != id {
            self.unlink(slots, id);
            self.push_front(slots, id);
        }
    }

    /// Walks the list from head to tail, checking links both ways and that
    /// it is acyclic; returns the ids in recency order (most recent first).
    pub(super) fn check_invariants(&self, slots: &[Slot]) -> Vec<Id> {
        assert_eq!(
            self.head == NIL,
            self.tail == NIL,
            "one list end is NIL, the other not"
        );
        let mut order = Vec::with_capacity(self.len);
        let mut prev = NIL;
        let mut cursor = self.head;
        while cursor != NIL {
            assert!(order.len() < slots.len(), "cycle in the LRU list");
            let slot = &slots[cursor as usize];
            assert_eq!(slot.prev, prev, "broken prev link at slot {cursor}");
            assert_ne!(slot.next, cursor, "self-link at slot {cursor}");
            order.push(cursor);
            prev = cursor;
            cursor = slot.next;
        }
        assert_eq!(prev, self.tail, "tail is not the last slot");
        assert_eq!(order.len(), self.len, "LRU length");
        order
    }
}
