//! The slot table: one 20-byte [`Slot`] per entry, addressed by a `u32` id.
//!
//! A slot holds the entry's LRU links and its [`Record`] handle. Freed slots
//! form a LIFO free list threaded through `next`, and are marked by
//! `prev == FREE`, so "live" and "free" can be told apart without a flag
//! byte. Ids are reused; no id outlives the operation that looked it up
//! except inside the expiry heap, whose entries are validated against the
//! slot's stored deadline (see `expiry.rs`).

use super::arena::Record;

/// Index of a slot in the table.
pub(super) type Id = u32;
/// "No slot": the end of the LRU list or of the free list.
pub(super) const NIL: Id = u32::MAX;
/// `prev` of a free slot; never a valid id.
const FREE: Id = u32::MAX - 1;
/// Most slots the table can hold: every id stays below [`FREE`].
pub(super) const MAX_SLOTS: usize = FREE as usize;

/// One entry's metadata.
#[derive(Clone, Copy, Debug)]
pub(super) struct Slot {
    /// Next more recently used entry, or NIL (live); FREE (free).
    pub(super) prev: Id,
    /// Next less recently used entry, or NIL (live); next free slot (free).
    pub(super) next: Id,
    /// Where the entry's bytes live.
    pub(super) record: Record,
}

/// The slot table and its free list.
#[derive(Debug, Default)]
pub(super) struct Slab {
    slots: Vec<Slot>,
    free_head: Option<Id>,
    free_len: usize,
}

impl Slab {
    /// Number of live slots.
    pub(super) fn len(&self) -> usize {
        self.slots.len() - self.free_len
    }

    /// True when no slot can be added ([`MAX_SLOTS`] live).
    pub(super) fn is_full(&self) -> bool {
        self.free_head.is_none() && self.slots.len() >= MAX_SLOTS
    }

    /// Takes a free slot (the most recently freed first) for `record`; the
    /// slot starts unlinked.
    pub(super) fn insert(&mut self, record: Record) -> Id {
        let slot = Slot {
            prev: NIL,
            next: NIL,
            record,
        };
        match self.free_head {
            Some(id) => {
                let next = self.slots[id as usize].next;
                self.free_head = (next != NIL).then_some(next);
                self.free_len -= 1;
                self.slots[id as usize] = slot;
                id
            }
            None => {
                assert!(self.slots.len() < MAX_SLOTS, "slot table full");
                self.slots.push(slot);
                (self.slots.len() - 1) as Id
            }
        }
    }

    /// Frees a live, unlinked slot and returns its record.
    pub(super) fn remove(&mut self, id: Id) -> Record {
        let next = self.free_head.unwrap_or(NIL);
        let slot = &mut self.slots[id as usize];
        debug_assert!(slot.prev != FREE, "double free of slot {id}");
        slot.prev = FREE;
        slot.next = next;
        self.free_head = Some(id);
        self.free_len += 1;
        slot.record
    }

    /// True when `id` names a live slot.
    pub(super) fn is_live(&self, id: Id) -> bool {
        self.slots
            .get(id as usize)
            .is_some_and(|slot| slot.prev != FREE)
    }

    /// The record of a live slot.
    pub(super) fn record(&self, id: Id) -> Record {
        self.slots[id as usize].record
    }

    /// Replaces the record of a live slot.
    pub(super) fn set_record(&mut self, id: Id, record: Record) {
        self.slots[id as usize].record = record;
    }

    /// All slots, live and free, for the LRU list and invariant walks.
    pub(super) fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// All slots, mutably, for the LRU list.
    pub(super) fn slots_mut(&mut self) -> &mut [Slot] {
        &mut self.slots
    }

    /// Checks the free list: acyclic, only free slots, the counted length.
    pub(super) fn check_invariants(&self) {
        let mut count = 0;
        let mut cursor = self.free_head.unwrap_or(NIL);
        while cursor != NIL {
            assert!(count < self.slots.len(), "cycle in the slot free list");
            let slot = &self.slots[cursor as usize];
            assert_eq!(slot.prev, FREE, "free list reaches a live slot");
            cursor = slot.next;
            count += 1;
        }
        assert_eq!(count, self.free_len, "slot free list length");
        let marked_free = self.slots.iter().filter(|slot| slot.prev == FREE).count();
        assert_eq!(
            marked_free, self.free_len,
            "free slots not on the free list"
        );
    }
}
