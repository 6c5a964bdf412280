//! Entry bytes: where each entry's deadline, key and value live.
//!
//! Every entry is one *record*, a single run of bytes:
//!
//! ```text
//! [ deadline: u64 LE ]  only when the entry has a TTL (flag HAS_DEADLINE)
//! [ key bytes       ]
//! [ value bytes     ]
//! ```
//!
//! The lengths live in the [`Record`] handle (kept in the entry's slot), so a
//! record carries no header of its own. Records of at most
//! [`SMALL_MAX_BYTES`] go to a size class (see `size_class.rs`: chunks carved
//! from pages the class allocates itself, addressed by a `u32`). Larger
//! records, or keys longer than `u16::MAX`, get their own heap allocation,
//! addressed by an index into a side table; the allocator's rounding is then
//! under 1% of the record.

use super::size_class::{CLASS_COUNT, SizeClass, class_of};

/// Largest record (deadline + key + value) kept in a size class; bigger ones
/// get their own allocation, whose allocator rounding is then under 1%.
pub(super) const SMALL_MAX_BYTES: usize = 4096;
/// Bytes of the optional deadline in front of the key.
pub(super) const DEADLINE_BYTES: usize = 8;
/// `Record::class` value of a record with its own heap allocation.
const LARGE_CLASS: u8 = u8::MAX;
/// Flag: the record starts with a deadline.
const HAS_DEADLINE: u8 = 1;

/// Handle to one stored record: its location and lengths (12 bytes, copied
/// into the entry's slot).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Record {
    /// `page_no << shift | chunk_index` for a size class; the side-table
    /// index for a large record.
    loc: u32,
    /// Record bytes (deadline + key + value); 0 for large records.
    size: u32,
    /// Key bytes; 0 for large records (their length lives with the bytes).
    key_len: u16,
    /// Size class, or [`LARGE_CLASS`].
    class: u8,
    /// [`HAS_DEADLINE`] or 0.
    flags: u8,
}

impl Record {
    /// True when the record starts with a deadline.
    pub(super) fn has_deadline(self) -> bool {
        self.flags & HAS_DEADLINE != 0
    }

    fn header_bytes(self) -> usize {
        if self.has_deadline() {
            DEADLINE_BYTES
        } else {
            0
        }
    }

    fn is_large(self) -> bool {
        self.class == LARGE_CLASS
    }
}

/// All record storage: the size classes and the large-record side table.
#[derive(Debug)]
pub(super) struct Arena {
    classes: Vec<SizeClass>,
    large: Vec<Option<Large>>,
    large_free: Vec<u32>,
}

/// A record with its own allocation.
#[derive(Debug)]
struct Large {
    bytes: Box<[u8]>,
    key_len: usize,
}

impl Arena {
    /// An empty arena; allocates nothing until the first record.
    pub(super) fn new() -> Arena {
        Arena {
            classes: (0..CLASS_COUNT).map(SizeClass::new).collect(),
            large: Vec::new(),
            large_free: Vec::new(),
        }
    }

    /// Stores a new record and returns its handle.
    pub(super) fn store(&mut self, deadline: Option<u64>, key: &[u8], value: &[u8]) -> Record {
        let flags = if deadline.is_some() { HAS_DEADLINE } else { 0 };
        let header = if deadline.is_some() {
            DEADLINE_BYTES
        } else {
            0
        };
        let size = header + key.len() + value.len();
        if size > SMALL_MAX_BYTES || key.len() > usize::from(u16::MAX) {
            return self.store_large(deadline, key, value, flags);
        }
        let class = class_of(size);
        let sizes = &mut self.classes[class];
        let loc = sizes.alloc();
        fill(sizes.chunk_mut(loc, size), deadline, key, value);
        Record {
            loc,
            // Both fit: size <= SMALL_MAX_BYTES, class < CLASS_COUNT <= 255.
            size: size as u32,
            key_len: key.len() as u16,
            class: class as u8,
            flags,
        }
    }

    fn store_large(
        &mut self,
        deadline: Option<u64>,
        key: &[u8],
        value: &[u8],
        flags: u8,
    ) -> Record {
        let header = if deadline.is_some() {
            DEADLINE_BYTES
        } else {
            0
        };
        let mut bytes = Vec::with_capacity(header + key.len() + value.len());
        if let Some(deadline) = deadline {
            bytes.extend_from_slice(&deadline.to_le_bytes());
        }
        bytes.extend_from_slice(key);
        bytes.extend_from_slice(value);
        let large = Large {
            bytes: bytes.into_boxed_slice(),
            key_len: key.len(),
        };
        let loc = match self.large_free.pop() {
            Some(loc) => {
                self.large[loc as usize] = Some(large);
                loc
            }
            None => {
                self.large.push(Some(large));
                u32::try_from(self.large.len() - 1).expect("large records exceed u32 ids")
            }
        };
        Record {
            loc,
            size: 0,
            key_len: 0,
            class: LARGE_CLASS,
            flags,
        }
    }

    /// Frees a record's bytes; the handle must not be used again.
    pub(super) fn release(&mut self, record: Record) {
        if record.is_large() {
            let slot = &mut self.large[record.loc as usize];
            assert!(slot.take().is_some(), "release of a free large record");
            self.large_free.push(record.loc);
        } else {
            self.classes[usize::from(record.class)].free(record.loc);
        }
    }

    /// Stores `key` and `value` with `deadline` in place of `old`, reusing
    /// its chunk when the new record has the same size class.
    pub(super) fn rewrite(
        &mut self,
        old: Record,
        deadline: Option<u64>,
        key: &[u8],
        value: &[u8],
    ) -> Record {
        let header = if deadline.is_some() {
            DEADLINE_BYTES
        } else {
            0
        };
        let size = header + key.len() + value.len();
        let same_class =
            !old.is_large() && size <= SMALL_MAX_BYTES && class_of(size) == usize::from(old.class);
        if !same_class {
            let new = self.store(deadline, key, value);
            self.release(old);
            return new;
        }
        let sizes = &mut self.classes[usize::from(old.class)];
        fill(sizes.chunk_mut(old.loc, size), deadline, key, value);
        Record {
            size: size as u32,
            flags: if deadline.is_some() { HAS_DEADLINE } else { 0 },
            ..old
        }
    }

    /// Gives `old` a deadline, a new deadline, or none, keeping key and value.
    pub(super) fn retag(&mut self, old: Record, deadline: Option<u64>) -> Record {
        match deadline {
            Some(deadline) if old.has_deadline() => {
                self.data_mut(old)[..DEADLINE_BYTES].copy_from_slice(&deadline.to_le_bytes());
                old
            }
            None if !old.has_deadline() => old,
            // The record changes size: copy key and value out (rare: a TTL
            // added to or removed from an existing entry).
            _ => {
                let key_len = self.key(old).len();
                let key_value = self.data(old).0[old.header_bytes()..].to_vec();
                let (key, value) = key_value.split_at(key_len);
                self.rewrite(old, deadline, key, value)
            }
        }
    }

    /// Key and value lengths of a record.
    pub(super) fn lengths(&self, record: Record) -> (usize, usize) {
        let (data, key_len) = self.data(record);
        (key_len, data.len() - record.header_bytes() - key_len)
    }

    /// The record's key.
    pub(super) fn key(&self, record: Record) -> &[u8] {
        let (data, key_len) = self.data(record);
        let start = record.header_bytes();
        &data[start..start + key_len]
    }

    /// The record's value.
    pub(super) fn value(&self, record: Record) -> &[u8] {
        let (data, key_len) = self.data(record);
        &data[record.header_bytes() + key_len..]
    }

    /// The record's deadline, if it has one.
    pub(super) fn deadline(&self, record: Record) -> Option<u64> {
        if !record.has_deadline() {
            return None;
        }
        let (data, _) = self.data(record);
        let bytes: [u8; DEADLINE_BYTES] = data[..DEADLINE_BYTES].try_into().ok()?;
        Some(u64::from_le_bytes(bytes))
    }

    /// The record's bytes and its key length.
    fn data(&self, record: Record) -> (&[u8], usize) {
        if record.is_large() {
            let large = self.large[record.loc as usize]
                .as_ref()
                .expect("live large record");
            (&large.bytes, large.key_len)
        } else {
            let sizes = &self.classes[usize::from(record.class)];
            (
                sizes.chunk(record.loc, record.size as usize),
                usize::from(record.key_len),
            )
        }
    }

    fn data_mut(&mut self, record: Record) -> &mut [u8] {
        if record.is_large() {
            let large = self.large[record.loc as usize]
                .as_mut()
                .expect("live large record");
            &mut large.bytes
        } else {
            self.classes[usize::from(record.class)].chunk_mut(record.loc, record.size as usize)
        }
    }

    /// Checks the arena against the complete list of live records: page
    /// counts, free lists, the partial-page lists and the large table.
    /// Panics with a message on the first violation.
    pub(super) fn check_invariants(&self, live: &[Record]) {
        let mut per_class: Vec<Vec<u32>> = vec![Vec::new(); CLASS_COUNT];
        let mut large_live = 0;
        for record in live {
            if record.is_large() {
                assert!(
                    self.large[record.loc as usize].is_some(),
                    "record points at a free large slot"
                );
                large_live += 1;
            } else {
                let class = usize::from(record.class);
                assert_eq!(
                    class,
                    class_of(record.size as usize),
                    "record in the wrong size class"
                );
                per_class[class].push(record.loc);
            }
        }
        for (sizes, locs) in self.classes.iter().zip(per_class) {
            if !(sizes.is_unused() && locs.is_empty()) {
                sizes.check_invariants(locs);
            }
        }
        let large_slots = self.large.iter().filter(|large| large.is_some()).count();
        assert_eq!(large_slots, large_live, "large records leaked or lost");
        assert_eq!(
            self.large.len() - large_slots,
            self.large_free.len(),
            "large free list"
        );
        for &loc in &self.large_free {
            assert!(
                self.large[loc as usize].is_none(),
                "large free list names a live record"
            );
        }
    }
}

/// Writes one record's bytes into `dst` (exactly the record's size).
fn fill(dst: &mut [u8], deadline: Option<u64>, key: &[u8], value: &[u8]) {
    let mut rest = dst;
    if let Some(deadline) = deadline {
        let (head, tail) = rest.split_at_mut(DEADLINE_BYTES);
        head.copy_from_slice(&deadline.to_le_bytes());
        rest = tail;
    }
    let (key_dst, value_dst) = rest.split_at_mut(key.len());
    key_dst.copy_from_slice(key);
    value_dst.copy_from_slice(value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_in_both_layouts() {
        let mut arena = Arena::new();
        let big = vec![7u8; SMALL_MAX_BYTES + 1];
        let cases: [(Option<u64>, &[u8], &[u8]); 4] = [
            (None, b"", b""),
            (Some(u64::MAX), b"k", b"v"),
            (None, b"key", &big),
            (Some(5), &big, b"x"),
        ];
        let records: Vec<Record> = cases
            .iter()
            .map(|&(d, k, v)| arena.store(d, k, v))
            .collect();
        arena.check_invariants(&records);
        for (&(deadline, key, value), &record) in cases.iter().zip(&records) {
            assert_eq!(arena.deadline(record), deadline);
            assert_eq!(arena.key(record), key);
            assert_eq!(arena.value(record), value);
        }
        for record in records {
            arena.release(record);
        }
        arena.check_invariants(&[]);
    }

    #[test]
    fn retag_and_rewrite_keep_the_other_parts() {
        let mut arena = Arena::new();
        let record = arena.store(None, b"key", b"value");
        let record = arena.retag(record, Some(9));
        assert_eq!(
            (
                arena.deadline(record),
                arena.key(record),
                arena.value(record)
            ),
            (Some(9), &b"key"[..], &b"value"[..])
        );
        let record = arena.retag(record, Some(10));
        assert_eq!(arena.deadline(record), Some(10));
        let record = arena.rewrite(record, Some(10), b"key", b"VALUE");
        assert_eq!(arena.value(record), b"VALUE");
        let record = arena.retag(record, None);
        assert_eq!(
            (
                arena.deadline(record),
                arena.key(record),
                arena.value(record)
            ),
            (None, &b"key"[..], &b"VALUE"[..])
        );
        arena.check_invariants(&[record]);
    }
}
