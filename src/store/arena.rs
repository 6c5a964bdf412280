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
//! [`SMALL_MAX_BYTES`] go to *size classes*: 192 chunk sizes (4-byte steps up
//! to 256 bytes, then 32 steps per doubling up to 4 KiB, so rounding wastes at
//! most 3 bytes below 256 bytes and under 1/32 above). Each class carves its
//! chunks from pages of about [`PAGE_TARGET_BYTES`] that it allocates itself;
//! a page holds a power-of-two number of chunks so a record's location is one
//! `u32`: `page_no << shift | chunk_index`. Larger records (or keys longer than
//! `u16::MAX`) get their own heap allocation, addressed by an index into a
//! side table.
//!
//! Pages are released as soon as they hold no record, except that a class
//! keeps one empty page while it has no other page with free chunks (so a class
//! oscillating around a page boundary does not allocate and free a page per
//! operation). Memory held but unused is therefore bounded by: per class, the
//! free chunks of partially used pages plus at most one empty page.
//!
//! Untouched page memory is never written: chunks are handed out by a bump
//! index first, then from a per-page free list threaded through the freed
//! chunks themselves, so a fresh page costs resident memory only as it fills.

/// Largest record (deadline + key + value) kept in a size class; bigger ones
/// get their own allocation, whose allocator rounding is then under 1%.
pub(super) const SMALL_MAX_BYTES: usize = 4096;
/// Approximate page size: big enough that page bookkeeping is negligible,
/// small enough that the per-class partially-filled page stays cheap.
pub(super) const PAGE_TARGET_BYTES: usize = 256 * 1024;
/// Bytes of the optional deadline in front of the key.
pub(super) const DEADLINE_BYTES: usize = 8;
/// Smallest chunk: a free chunk stores the next free chunk's index (a `u32`).
const MIN_CHUNK_BYTES: usize = 4;
/// Classes with 4-byte steps, covering 1..=256 bytes.
const FINE_CLASSES: usize = 64;
/// Classes per doubling above 256 bytes.
const CLASSES_PER_DOUBLING: usize = 32;
/// Number of size classes: 64 fine ones plus four doublings (to 4096).
pub(super) const CLASS_COUNT: usize = FINE_CLASSES + 4 * CLASSES_PER_DOUBLING;
/// `Record::class` value of a record with its own heap allocation.
const LARGE_CLASS: u8 = u8::MAX;
/// End of an intrusive list of pages or chunks.
const NIL: u32 = u32::MAX;
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

/// The size class for a record of `size` bytes (`size <= SMALL_MAX_BYTES`).
pub(super) fn class_of(size: usize) -> usize {
    debug_assert!(size <= SMALL_MAX_BYTES);
    if size <= FINE_CLASSES * 4 {
        return size.max(1).div_ceil(4) - 1;
    }
    // Doubling `d` (1..=4) covers (128 << d, 256 << d] in steps of 4 << d.
    let doubling = (usize::BITS - (size - 1).leading_zeros()) as usize - 8;
    let lower = 128 << doubling;
    let step = 4 << doubling;
    FINE_CLASSES + CLASSES_PER_DOUBLING * (doubling - 1) + (size - lower - 1) / step
}

/// Chunk bytes of a size class: the largest record size it holds.
pub(super) fn chunk_bytes_of(class: usize) -> usize {
    if class < FINE_CLASSES {
        return ((class + 1) * 4).max(MIN_CHUNK_BYTES);
    }
    let doubling = (class - FINE_CLASSES) / CLASSES_PER_DOUBLING + 1;
    let step_index = (class - FINE_CLASSES) % CLASSES_PER_DOUBLING;
    (128 << doubling) + (step_index + 1) * (4 << doubling)
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
            if !(sizes.pages.is_empty() && locs.is_empty()) {
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

/// One size class: pages of equal chunks.
#[derive(Debug)]
struct SizeClass {
    chunk_bytes: usize,
    /// log2 of chunks per page.
    shift: u32,
    /// Page number -> page; `None` for released pages (numbers are reused).
    pages: Vec<Option<Page>>,
    /// Released page numbers, reused before the table grows.
    spare_page_nos: Vec<u32>,
    /// Doubly-linked list of the pages with at least one free chunk.
    partial_head: u32,
}

/// One page of a size class.
#[derive(Debug)]
struct Page {
    bytes: Box<[u8]>,
    /// Chunks holding a record.
    live: u32,
    /// Chunks `[0, bump)` have been handed out at least once.
    bump: u32,
    /// First chunk of the free list (freed chunks below `bump`), or NIL.
    free_head: u32,
    /// Partial-page list links (page numbers), meaningful while not full.
    prev: u32,
    next: u32,
}

impl SizeClass {
    fn new(class: usize) -> SizeClass {
        let chunk_bytes = chunk_bytes_of(class);
        SizeClass {
            chunk_bytes,
            shift: (PAGE_TARGET_BYTES / chunk_bytes).ilog2(),
            pages: Vec::new(),
            spare_page_nos: Vec::new(),
            partial_head: NIL,
        }
    }

    fn chunks_per_page(&self) -> u32 {
        1 << self.shift
    }

    fn split(&self, loc: u32) -> (usize, usize) {
        (
            (loc >> self.shift) as usize,
            (loc & (self.chunks_per_page() - 1)) as usize,
        )
    }

    fn page(&self, page_no: usize) -> &Page {
        self.pages[page_no]
            .as_ref()
            .expect("location in a released page")
    }

    fn page_mut(&mut self, page_no: usize) -> &mut Page {
        self.pages[page_no]
            .as_mut()
            .expect("location in a released page")
    }

    fn chunk(&self, loc: u32, len: usize) -> &[u8] {
        let (page_no, index) = self.split(loc);
        let start = index * self.chunk_bytes;
        &self.page(page_no).bytes[start..start + len]
    }

    fn chunk_mut(&mut self, loc: u32, len: usize) -> &mut [u8] {
        let (page_no, index) = self.split(loc);
        let start = index * self.chunk_bytes;
        &mut self.page_mut(page_no).bytes[start..start + len]
    }

    /// Hands out a free chunk, adding a page if none has room.
    fn alloc(&mut self) -> u32 {
        if self.partial_head == NIL {
            self.add_page();
        }
        let page_no = self.partial_head;
        let chunk_bytes = self.chunk_bytes;
        let capacity = self.chunks_per_page();
        let page = self.page_mut(page_no as usize);
        let index = if page.free_head != NIL {
            let index = page.free_head;
            let at = index as usize * chunk_bytes;
            page.free_head =
                u32::from_le_bytes(page.bytes[at..at + 4].try_into().expect("4 bytes"));
            index
        } else {
            page.bump += 1;
            page.bump - 1
        };
        page.live += 1;
        if page.live == capacity {
            self.unlink_partial(page_no);
        }
        page_no << self.shift | index
    }

    /// Returns a chunk to its page; releases the page if it became empty
    /// and another page of this class has room.
    fn free(&mut self, loc: u32) {
        let (page_no, index) = self.split(loc);
        let chunk_bytes = self.chunk_bytes;
        let capacity = self.chunks_per_page();
        let page = self.page_mut(page_no);
        assert!(
            page.live > 0 && (index as u32) < page.bump,
            "free of a chunk never handed out"
        );
        let at = index * chunk_bytes;
        page.bytes[at..at + 4].copy_from_slice(&page.free_head.to_le_bytes());
        page.free_head = index as u32;
        page.live -= 1;
        let (live, next) = (page.live, page.next);
        let page_no = page_no as u32;
        if live + 1 == capacity {
            self.link_partial(page_no);
        } else if live == 0 && (self.partial_head != page_no || next != NIL) {
            self.unlink_partial(page_no);
            self.pages[page_no as usize] = None;
            self.spare_page_nos.push(page_no);
        }
    }

    fn add_page(&mut self) {
        let page = Page {
            bytes: vec![0; self.chunk_bytes << self.shift].into_boxed_slice(),
            live: 0,
            bump: 0,
            free_head: NIL,
            prev: NIL,
            next: NIL,
        };
        let page_no = match self.spare_page_nos.pop() {
            Some(page_no) => {
                self.pages[page_no as usize] = Some(page);
                page_no
            }
            None => {
                self.pages.push(Some(page));
                self.pages.len() as u32 - 1
            }
        };
        // Every chunk location must fit a u32.
        assert!(
            u64::from(page_no) < 1u64 << (32 - self.shift),
            "size class out of page numbers"
        );
        self.link_partial(page_no);
    }

    fn link_partial(&mut self, page_no: u32) {
        let head = self.partial_head;
        if head != NIL {
            self.page_mut(head as usize).prev = page_no;
        }
        let page = self.page_mut(page_no as usize);
        page.prev = NIL;
        page.next = head;
        self.partial_head = page_no;
    }

    fn unlink_partial(&mut self, page_no: u32) {
        let page = self.page(page_no as usize);
        let (prev, next) = (page.prev, page.next);
        if prev == NIL {
            self.partial_head = next;
        } else {
            self.page_mut(prev as usize).next = next;
        }
        if next != NIL {
            self.page_mut(next as usize).prev = prev;
        }
    }

    /// Checks this class against the locations of its live records.
    fn check_invariants(&self, mut locs: Vec<u32>) {
        let mut live_per_page = vec![0u32; self.pages.len()];
        locs.sort_unstable();
        assert!(
            locs.windows(2).all(|pair| pair[0] != pair[1]),
            "two records share a chunk"
        );
        for &loc in &locs {
            let (page_no, index) = self.split(loc);
            assert!(
                (index as u32) < self.page(page_no).bump,
                "record in a never-used chunk"
            );
            live_per_page[page_no] += 1;
        }
        let mut partial = Vec::new();
        let mut cursor = self.partial_head;
        while cursor != NIL {
            assert!(
                partial.len() < self.pages.len(),
                "cycle in the partial-page list"
            );
            partial.push(cursor);
            cursor = self.page(cursor as usize).next;
        }
        let mut empty_pages = 0;
        for (page_no, page) in self.pages.iter().enumerate() {
            let Some(page) = page else { continue };
            assert_eq!(page.live, live_per_page[page_no], "page live count");
            let free = self.free_chunks(page, &locs, page_no);
            assert_eq!(free + page.live, page.bump, "free list length");
            let is_partial = partial.contains(&(page_no as u32));
            assert_eq!(
                is_partial,
                page.live < self.chunks_per_page(),
                "partial-page list membership"
            );
            empty_pages += usize::from(page.live == 0);
        }
        assert!(empty_pages <= 1, "more than one empty page kept");
        let released = self.pages.iter().filter(|page| page.is_none()).count();
        assert_eq!(released, self.spare_page_nos.len(), "released page numbers");
    }

    /// Walks a page's free list, checking it is acyclic and disjoint from
    /// the live records; returns its length.
    fn free_chunks(&self, page: &Page, sorted_locs: &[u32], page_no: usize) -> u32 {
        let mut count = 0;
        let mut index = page.free_head;
        while index != NIL {
            assert!(count < page.bump, "cycle in a chunk free list");
            assert!(index < page.bump, "free list names a never-used chunk");
            let loc = (page_no as u32) << self.shift | index;
            assert!(
                sorted_locs.binary_search(&loc).is_err(),
                "free chunk holds a live record"
            );
            let at = index as usize * self.chunk_bytes;
            index = u32::from_le_bytes(page.bytes[at..at + 4].try_into().expect("4 bytes"));
            count += 1;
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_minimal_and_cover_every_small_size() {
        for size in 0..=SMALL_MAX_BYTES {
            let class = class_of(size);
            assert!(class < CLASS_COUNT);
            assert!(chunk_bytes_of(class) >= size, "size {size}");
            if class > 0 {
                assert!(
                    chunk_bytes_of(class - 1) < size,
                    "size {size} not in its tightest class"
                );
            }
        }
        assert_eq!(chunk_bytes_of(CLASS_COUNT - 1), SMALL_MAX_BYTES);
        assert_eq!(chunk_bytes_of(class_of(116)), 116);
    }

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

    #[test]
    fn empty_pages_are_released_but_one_is_kept() {
        let mut arena = Arena::new();
        let per_page = 1usize << SizeClass::new(class_of(100)).shift;
        let records: Vec<Record> = (0..3 * per_page)
            .map(|_| arena.store(None, b"", &[1; 100]))
            .collect();
        let sizes = &arena.classes[class_of(100)];
        assert_eq!(sizes.pages.iter().flatten().count(), 3);
        for &record in &records {
            arena.release(record);
        }
        arena.check_invariants(&[]);
        assert_eq!(
            arena.classes[class_of(100)].pages.iter().flatten().count(),
            1
        );
    }
}
