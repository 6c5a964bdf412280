//! The byte layout of one stored entry (a *record*) and typed views of it.
//!
//! Every entry is one run of bytes, in a size-class chunk or its own
//! allocation (see `arena.rs`). It carries everything the store needs to
//! find, order and expire it, so reaching an entry from the index is one
//! memory access, and the key, the links and the deadline share its first
//! cache line:
//!
//! ```text
//! offset  bytes  field
//!      0      4  prev       LRU link towards the head (a Loc, or NIL)
//!      4      4  next       LRU link towards the tail (a Loc, or NIL)
//!      8      4  value_len
//!     12      2  key_len
//!     14      1  flags      LIVE | HAS_DEADLINE
//!     15      1  (padding, always 0)
//!     16    key  key
//!           12  deadline_ms: u64, seq: u32    only with HAS_DEADLINE
//!               value
//! ```
//!
//! The key sits at a fixed offset, so comparing it needs no flag; the
//! deadline follows it, in the first cache line too for keys of up to
//! 36 bytes.
//!
//! All integers are little-endian and read through byte arrays, so records
//! need no alignment. A freed chunk has `flags == 0` (the page allocator
//! then reuses its first 4 bytes as a free-list link), which is how a stale
//! location is told from a live record.
//!
//! The accessors are `#[inline(always)]`: each is a load or two, and a get
//! calls several; left to the inliner, they stayed calls inside the
//! server's large request handler (502 -> 473 instructions per request at
//! pipeline 16, under callgrind).

use std::ops::Range;

/// Bytes of the fixed header in front of every record.
pub(super) const HEADER_BYTES: usize = 16;
/// Bytes of the optional deadline block: `deadline_ms` and `seq`.
pub(super) const DEADLINE_BYTES: usize = 12;
/// Longest key a record can hold (its length is a `u16`).
pub const MAX_KEY_BYTES: usize = u16::MAX as usize;
/// Longest value a record can hold (its length is a `u32`).
pub const MAX_VALUE_BYTES: usize = u32::MAX as usize;

/// Flag: the record belongs to a stored entry.
const LIVE: u8 = 1;
/// Flag: the deadline block follows the key.
const HAS_DEADLINE: u8 = 2;
/// Header field offsets, as in the table above.
const PREV_AT: usize = 0;
const NEXT_AT: usize = 4;
const VALUE_LEN_AT: usize = 8;
const KEY_LEN_AT: usize = 12;
const FLAGS_AT: usize = 14;
const PADDING_AT: usize = 15;

/// A record's location: a chunk in a page or a large allocation (see
/// `arena.rs`). Also the entry's identity in the index, the LRU list and
/// the expiry heap.
pub(super) type Loc = u32;
/// "No record": the end of the LRU list.
pub(super) const NIL: Loc = u32::MAX;

/// When an entry expires, and which deadline-setting operation set it.
///
/// `seq` numbers deadline settings store-wide (wrapping), so equal
/// deadlines expire in the order they were set, and a heap pair left over
/// from an earlier setting never matches the current one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct Deadline {
    /// Monotonic milliseconds at which the entry is expired.
    pub(super) at_ms: u64,
    /// The setting's sequence number.
    pub(super) seq: u32,
}

/// Bytes of a record with these lengths.
pub(super) fn record_bytes(key_len: usize, value_len: usize, has_deadline: bool) -> usize {
    let deadline_bytes = if has_deadline { DEADLINE_BYTES } else { 0 };
    HEADER_BYTES + deadline_bytes + key_len + value_len
}

/// Writes a complete, unlinked, live record into `dst` (exactly
/// [`record_bytes`] long or longer).
pub(super) fn write(dst: &mut [u8], deadline: Option<Deadline>, key: &[u8], value: &[u8]) {
    debug_assert!(key.len() <= MAX_KEY_BYTES && value.len() <= MAX_VALUE_BYTES);
    let (header, rest) = dst.split_at_mut(HEADER_BYTES);
    RecordMut::new(header).set_links(NIL, NIL);
    header[VALUE_LEN_AT..VALUE_LEN_AT + 4].copy_from_slice(&(value.len() as u32).to_le_bytes());
    header[KEY_LEN_AT..KEY_LEN_AT + 2].copy_from_slice(&(key.len() as u16).to_le_bytes());
    header[FLAGS_AT] = LIVE | if deadline.is_some() { HAS_DEADLINE } else { 0 };
    header[PADDING_AT] = 0;
    let (key_dst, rest) = rest.split_at_mut(key.len());
    key_dst.copy_from_slice(key);
    let value_dst = match deadline {
        Some(deadline) => {
            let (block, rest) = rest.split_at_mut(DEADLINE_BYTES);
            write_deadline(block, deadline);
            rest
        }
        None => rest,
    };
    value_dst[..value.len()].copy_from_slice(value);
}

fn write_deadline(block: &mut [u8], deadline: Deadline) {
    block[0..8].copy_from_slice(&deadline.at_ms.to_le_bytes());
    block[8..12].copy_from_slice(&deadline.seq.to_le_bytes());
}

/// Marks a chunk as holding no record.
pub(super) fn clear(dst: &mut [u8]) {
    dst[FLAGS_AT] = 0;
}

/// A read-only view of one record; `bytes` may run past its end.
#[derive(Clone, Copy)]
pub(super) struct Record<'a> {
    bytes: &'a [u8],
}

impl<'a> Record<'a> {
    #[inline(always)]
    pub(super) fn new(bytes: &'a [u8]) -> Record<'a> {
        Record { bytes }
    }

    #[inline(always)]
    fn header(self) -> &'a [u8; HEADER_BYTES] {
        self.bytes
            .first_chunk()
            .expect("a record is at least its header")
    }

    /// True when a stored entry owns this record.
    #[inline(always)]
    pub(super) fn is_live(self) -> bool {
        self.header()[FLAGS_AT] & LIVE != 0
    }

    #[inline(always)]
    pub(super) fn has_deadline(self) -> bool {
        self.header()[FLAGS_AT] & HAS_DEADLINE != 0
    }

    /// `(prev, next)` LRU links.
    #[inline(always)]
    pub(super) fn links(self) -> (Loc, Loc) {
        let header = self.header();
        (u32_at(header, PREV_AT), u32_at(header, NEXT_AT))
    }

    #[inline(always)]
    pub(super) fn key_len(self) -> usize {
        let header = self.header();
        usize::from(u16::from_le_bytes([
            header[KEY_LEN_AT],
            header[KEY_LEN_AT + 1],
        ]))
    }

    #[inline(always)]
    pub(super) fn value_len(self) -> usize {
        u32_at(self.header(), VALUE_LEN_AT) as usize
    }

    /// Where the value starts: past the key and the deadline block.
    #[inline(always)]
    fn value_start(self) -> usize {
        let deadline_bytes = if self.has_deadline() {
            DEADLINE_BYTES
        } else {
            0
        };
        HEADER_BYTES + self.key_len() + deadline_bytes
    }

    /// Bytes the record occupies.
    pub(super) fn len(self) -> usize {
        self.value_start() + self.value_len()
    }

    #[inline(always)]
    pub(super) fn key(self) -> &'a [u8] {
        &self.bytes[HEADER_BYTES..HEADER_BYTES + self.key_len()]
    }

    #[inline(always)]
    pub(super) fn value(self) -> &'a [u8] {
        &self.bytes[self.value_span()]
    }

    /// Where the value lies in the record's bytes.
    #[inline(always)]
    pub(super) fn value_span(self) -> Range<usize> {
        let start = self.value_start();
        start..start + self.value_len()
    }

    #[inline(always)]
    pub(super) fn deadline(self) -> Option<Deadline> {
        if !self.has_deadline() {
            return None;
        }
        let block: &[u8; DEADLINE_BYTES] = self.bytes[HEADER_BYTES + self.key_len()..]
            .first_chunk()
            .expect("a deadline block follows the key");
        Some(Deadline {
            at_ms: u64::from_le_bytes(*block.first_chunk().expect("8 bytes")),
            seq: u32_at(block, 8),
        })
    }
}

/// A mutable view of one record, for its links and deadline.
pub(super) struct RecordMut<'a> {
    bytes: &'a mut [u8],
}

impl<'a> RecordMut<'a> {
    #[inline(always)]
    pub(super) fn new(bytes: &'a mut [u8]) -> RecordMut<'a> {
        RecordMut { bytes }
    }

    /// Sets both LRU links at once.
    #[inline(always)]
    pub(super) fn set_links(&mut self, prev: Loc, next: Loc) {
        self.replace_links(prev, next);
    }

    /// Sets both LRU links, returning the old ones.
    #[inline(always)]
    pub(super) fn replace_links(&mut self, prev: Loc, next: Loc) -> (Loc, Loc) {
        let links: &mut [u8; 8] = self.bytes.first_chunk_mut().expect("a record header");
        let old = (u32_at(links, PREV_AT), u32_at(links, NEXT_AT));
        links[PREV_AT..PREV_AT + 4].copy_from_slice(&prev.to_le_bytes());
        links[NEXT_AT..NEXT_AT + 4].copy_from_slice(&next.to_le_bytes());
        old
    }

    #[inline(always)]
    pub(super) fn set_prev(&mut self, prev: Loc) {
        self.bytes[PREV_AT..PREV_AT + 4].copy_from_slice(&prev.to_le_bytes());
    }

    #[inline(always)]
    pub(super) fn set_next(&mut self, next: Loc) {
        self.bytes[NEXT_AT..NEXT_AT + 4].copy_from_slice(&next.to_le_bytes());
    }

    /// Overwrites the deadline of a record that has one.
    pub(super) fn set_deadline(&mut self, deadline: Deadline) {
        let record = Record::new(self.bytes);
        debug_assert!(record.has_deadline());
        let at = HEADER_BYTES + record.key_len();
        write_deadline(&mut self.bytes[at..], deadline);
    }
}

#[inline(always)]
fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_record_reads_back() {
        let deadline = Deadline { at_ms: 9, seq: 3 };
        for deadline in [None, Some(deadline)] {
            let len = record_bytes(3, 5, deadline.is_some());
            let mut bytes = vec![0xAA; len + 7];
            write(&mut bytes, deadline, b"key", b"value");
            let record = Record::new(&bytes);
            assert!(record.is_live());
            assert_eq!(record.len(), len);
            assert_eq!(record.links(), (NIL, NIL));
            assert_eq!((record.key(), record.value()), (&b"key"[..], &b"value"[..]));
            assert_eq!(record.deadline(), deadline);
            let mut record = RecordMut::new(&mut bytes);
            record.set_prev(1);
            record.set_next(2);
            assert_eq!(record.replace_links(3, 4), (1, 2));
            assert_eq!(Record::new(&bytes).links(), (3, 4));
            clear(&mut bytes);
            assert!(!Record::new(&bytes).is_live());
        }
    }

    #[test]
    fn the_layout_is_pinned() {
        assert_eq!(record_bytes(16, 100, false), 132);
        assert_eq!(record_bytes(16, 100, true), 144);
        let mut bytes = vec![0; record_bytes(1, 1, true)];
        write(&mut bytes, Some(Deadline { at_ms: 1, seq: 2 }), b"k", b"v");
        assert_eq!(
            bytes,
            [
                255, 255, 255, 255, 255, 255, 255, 255, 1, 0, 0, 0, 1, 0, 3, 0,    // header
                b'k', // key
                1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, // deadline block
                b'v'
            ]
        );
    }
}
