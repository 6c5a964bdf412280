//! Size classes: chunks of one size carved from pages the class allocates.
//!
//! 192 chunk sizes cover records up to 4 KiB: 4-byte steps up to 256 bytes,
//! then 32 steps per doubling, so rounding wastes at most 3 bytes below 256
//! bytes and under 1/32 above. Each class carves its chunks from pages of
//! about [`PAGE_TARGET_BYTES`]; a page holds a power-of-two number of chunks,
//! so a chunk's location is one `u32`: `page_no << shift | chunk_index`.
//!
//! ```text
//! page 0: [chunk 0][chunk 1]...[chunk 2^shift - 1]   live, free-listed, or
//! page 1: [chunk 0][chunk 1]...                      never used (>= bump)
//! ```
//!
//! Untouched page memory is never written: chunks are handed out by a bump
//! index first, then from a per-page free list threaded through the freed
//! chunks themselves (their first 4 bytes), so a fresh page costs resident
//! memory only as it fills. Pages with a free chunk form a doubly-linked
//! "partial" list; allocation takes from its head.
//!
//! A page is released as soon as it holds no record, except that a class
//! keeps one empty page while it has no other page with free chunks (so a
//! class oscillating around a page boundary does not allocate and free a page
//! per operation). Memory held but unused is therefore bounded by: per class,
//! the free chunks of partially used pages plus at most one empty page.

/// Approximate page size: big enough that page bookkeeping is negligible,
/// small enough that the per-class partially-filled page stays cheap.
const PAGE_TARGET_BYTES: usize = 256 * 1024;
/// Smallest chunk: a free chunk stores the next free chunk's index (a `u32`).
const MIN_CHUNK_BYTES: usize = 4;
/// Classes with 4-byte steps, covering 1..=256 bytes.
const FINE_CLASSES: usize = 64;
/// Classes per doubling above 256 bytes.
const CLASSES_PER_DOUBLING: usize = 32;
/// Number of size classes: 64 fine ones plus four doublings (to 4096).
pub(super) const CLASS_COUNT: usize = FINE_CLASSES + 4 * CLASSES_PER_DOUBLING;
/// End of an intrusive list of pages or chunks.
const NIL: u32 = u32::MAX;

/// The size class for a record of `size` bytes (`size <= SMALL_MAX_BYTES`).
pub(super) fn class_of(size: usize) -> usize {
    debug_assert!(size <= chunk_bytes_of(CLASS_COUNT - 1));
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

/// One size class: pages of equal chunks.
#[derive(Debug)]
pub(super) struct SizeClass {
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
    pub(super) fn new(class: usize) -> SizeClass {
        let chunk_bytes = chunk_bytes_of(class);
        SizeClass {
            chunk_bytes,
            shift: (PAGE_TARGET_BYTES / chunk_bytes).ilog2(),
            pages: Vec::new(),
            spare_page_nos: Vec::new(),
            partial_head: NIL,
        }
    }

    /// True when the class has never allocated a page (or released them all).
    pub(super) fn is_unused(&self) -> bool {
        self.pages.is_empty()
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

    pub(super) fn chunk(&self, loc: u32, len: usize) -> &[u8] {
        let (page_no, index) = self.split(loc);
        let start = index * self.chunk_bytes;
        &self.page(page_no).bytes[start..start + len]
    }

    pub(super) fn chunk_mut(&mut self, loc: u32, len: usize) -> &mut [u8] {
        let (page_no, index) = self.split(loc);
        let start = index * self.chunk_bytes;
        &mut self.page_mut(page_no).bytes[start..start + len]
    }

    /// Hands out a free chunk, adding a page if none has room.
    pub(super) fn alloc(&mut self) -> u32 {
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
    pub(super) fn free(&mut self, loc: u32) {
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
    pub(super) fn check_invariants(&self, mut locs: Vec<u32>) {
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
        for size in 0..=4096 {
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
        assert_eq!(chunk_bytes_of(CLASS_COUNT - 1), 4096);
        assert_eq!(chunk_bytes_of(class_of(116)), 116);
    }

    #[test]
    fn empty_pages_are_released_but_one_is_kept() {
        let mut sizes = SizeClass::new(class_of(100));
        let locs: Vec<u32> = (0..3 * sizes.chunks_per_page())
            .map(|_| sizes.alloc())
            .collect();
        assert_eq!(sizes.pages.iter().flatten().count(), 3);
        sizes.check_invariants(locs.clone());
        for &loc in &locs {
            sizes.free(loc);
        }
        sizes.check_invariants(Vec::new());
        assert_eq!(sizes.pages.iter().flatten().count(), 1);
    }
}
