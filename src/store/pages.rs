//! Pages: the chunk allocator for records of up to `SMALL_MAX_BYTES`.
//!
//! Memory comes in pages of [`PAGE_BYTES`], each carved into equal chunks of
//! one size class. The pages of every class lie side by side in one
//! reserved range of address space (`region.rs`), page `n` at `n *
//! PAGE_BYTES`, so a chunk's location is its offset in the range divided by
//! 8, a single `u32` that needs no lookup to turn into an address:
//!
//! ```text
//! small Loc:  0 | page_no (16 bits) | offset in the page / 8 (15 bits)
//!
//! page 0 (class 16, 136 B): [chunk 0][chunk 1]...[chunk 1926]
//! page 1 (class 3, 32 B):   [chunk 0][chunk 1]...              live, free-listed,
//! page 2 (released)                                            or never used
//! ```
//!
//! Untouched page memory is never written, so it costs no resident memory:
//! chunks are handed out by a bump index first, then from a per-page free
//! list threaded through the freed chunks themselves (their first 4 bytes
//! hold the next free chunk's index), so a fresh page becomes resident only
//! as it fills. Pages of a class with a free chunk form a doubly-linked
//! "partial" list; allocation takes from its head.
//!
//! A page's memory goes back to the system as soon as it holds no record,
//! and so does the memory inside every freed chunk of 16 KiB or more. An
//! empty page is released, its number reused by any class, except that a
//! class keeps one empty page while it has no other page with free chunks
//! (so a class oscillating around a page boundary does not take and
//! release a page number per operation). Memory held but unused is
//! therefore bounded by the free chunks under 16 KiB of partly used pages.
//! The range holds at most [`MAX_PAGES`] pages (16 GiB); when it is full,
//! [`Pages::alloc`] says no and the arena gives the record its own
//! allocation.

use super::region::Region;
use super::size_class::{CHUNK_ALIGN_BYTES, CLASS_COUNT, SMALL_MAX_BYTES, chunk_bytes_of};

/// Most bytes of one page: big enough that page bookkeeping is negligible,
/// small enough that a class's partially filled page stays cheap.
pub(super) const PAGE_BYTES: usize = 256 * 1024;
const _: () = assert!(
    SMALL_MAX_BYTES <= PAGE_BYTES,
    "a page holds a chunk of every class"
);
/// Bits of a location that hold the chunk's offset in 8-byte units.
const OFFSET_BITS: u32 = (PAGE_BYTES / CHUNK_ALIGN_BYTES).ilog2();
const OFFSET_MASK: u32 = (1 << OFFSET_BITS) - 1;
/// Most pages at once: page numbers take the 16 bits above the offset, so
/// every small location is below `1 << 31`.
pub(super) const MAX_PAGES: usize = 1 << (31 - OFFSET_BITS);
/// Address space reserved for pages: all [`MAX_PAGES`] of them, plus one,
/// so the header of a record at any small location lies in the range
/// whatever the location, and the compiler drops its bounds checks.
const REGION_BYTES: usize = (MAX_PAGES + 1) * PAGE_BYTES;
/// Freed chunks at least this big give the memory inside them back to the
/// system at once; smaller ones keep it until their page empties. Below
/// this, a chunk spans too few whole system pages for the system call to
/// pay; above it, a size class's partly used pages would otherwise keep up
/// to a page's worth of freed records resident each.
const DISCARD_FREED_CHUNK_BYTES: usize = 16 << 10;
/// End of an intrusive list of pages or chunks.
const END: u32 = u32::MAX;

/// Every page, and the per-class lists of pages with room.
#[derive(Debug)]
pub(super) struct Pages {
    /// The memory of every page, page `n` at `n * PAGE_BYTES`.
    region: Region<REGION_BYTES>,
    /// Page number -> its chunks' state (stale for released pages).
    pages: Vec<Page>,
    /// Released page numbers, reused before the table grows.
    spare_page_nos: Vec<u32>,
    /// Per class, the first page with a free chunk, or END.
    partial_heads: Vec<u32>,
    /// Most pages allowed at once ([`MAX_PAGES`] or fewer).
    max_pages: usize,
}

/// The state of one page's chunks. The page's tail beyond its last whole
/// chunk is never written, so it costs no resident memory.
#[derive(Debug)]
struct Page {
    /// The size class of every chunk in the page.
    class: u16,
    /// The page's memory went back to the system; its number is spare.
    released: bool,
    /// Chunks holding a record.
    live: u32,
    /// Chunks `[0, bump)` have been handed out at least once.
    bump: u32,
    /// First chunk of the free list (freed chunks below `bump`), or END.
    free_head: u32,
    /// Partial-page list links (page numbers), meaningful while not full.
    prev: u32,
    next: u32,
}

impl Page {
    fn chunk_bytes(&self) -> usize {
        chunk_bytes_of(usize::from(self.class))
    }

    fn capacity(&self) -> u32 {
        (PAGE_BYTES / self.chunk_bytes()) as u32
    }

    /// Byte offset of chunk `index`.
    fn offset_of(&self, index: u32) -> usize {
        index as usize * self.chunk_bytes()
    }
}

impl Pages {
    /// No pages yet, at most `max_pages` at once; reserves the address
    /// space of every page a location can name.
    pub(super) fn new(max_pages: usize) -> std::io::Result<Pages> {
        assert!(max_pages <= MAX_PAGES, "page numbers must fit 16 bits");
        Ok(Pages {
            region: Region::reserve()?,
            pages: Vec::new(),
            spare_page_nos: Vec::new(),
            partial_heads: vec![END; CLASS_COUNT],
            max_pages,
        })
    }

    /// The bytes from the chunk at `loc` (a small location, below
    /// `1 << 31`) to the end of the range.
    #[inline(always)]
    pub(super) fn bytes(&self, loc: u32) -> &[u8] {
        &self.region.bytes()[loc as usize * CHUNK_ALIGN_BYTES..]
    }

    /// The bytes from the chunk at `loc` to the end of the range, mutably.
    #[inline(always)]
    pub(super) fn bytes_mut(&mut self, loc: u32) -> &mut [u8] {
        &mut self.region.bytes_mut()[loc as usize * CHUNK_ALIGN_BYTES..]
    }

    /// The next free chunk after free chunk `index` of page `page_no`.
    fn free_link(&self, page_no: u32, index: u32) -> u32 {
        let at = self.pages[page_no as usize].offset_of(index);
        let loc = page_no << OFFSET_BITS | (at / CHUNK_ALIGN_BYTES) as u32;
        u32::from_le_bytes(*self.bytes(loc).first_chunk().expect("4 bytes"))
    }

    fn is_released(&self, page_no: usize) -> bool {
        self.pages[page_no].released
    }

    /// The size class of the chunk at `loc`.
    pub(super) fn class_at(&self, loc: u32) -> usize {
        usize::from(self.pages[(loc >> OFFSET_BITS) as usize].class)
    }

    /// True when `loc` (possibly stale) names a chunk that was handed out
    /// in a page that still exists, so its bytes can be read as a record
    /// header; whether a record lives there is that header's to say.
    pub(super) fn holds_chunk(&self, loc: u32) -> bool {
        let page_no = (loc >> OFFSET_BITS) as usize;
        let Some(page) = self.pages.get(page_no) else {
            return false;
        };
        let offset = (loc & OFFSET_MASK) as usize * CHUNK_ALIGN_BYTES;
        !self.is_released(page_no)
            && offset % page.chunk_bytes() == 0
            && offset / page.chunk_bytes() < page.bump as usize
    }

    /// Hands out a chunk of `class`, adding a page if none has room; `None`
    /// when that would exceed the page limit.
    pub(super) fn alloc(&mut self, class: usize) -> Option<u32> {
        if self.partial_heads[class] == END {
            self.add_page(class)?;
        }
        let page_no = self.partial_heads[class];
        let free_head = self.pages[page_no as usize].free_head;
        let next_free = (free_head != END).then(|| self.free_link(page_no, free_head));
        let page = &mut self.pages[page_no as usize];
        let index = if let Some(next_free) = next_free {
            page.free_head = next_free;
            free_head
        } else {
            page.bump += 1;
            page.bump - 1
        };
        page.live += 1;
        let offset = page.offset_of(index);
        if page.live == page.capacity() {
            self.unlink_partial(page_no);
        }
        Some(page_no << OFFSET_BITS | (offset / CHUNK_ALIGN_BYTES) as u32)
    }

    /// Returns the chunk at `loc` to its page; releases the page if it
    /// became empty and another page of its class has room.
    pub(super) fn free(&mut self, loc: u32) {
        let page_no = loc >> OFFSET_BITS;
        let offset = (loc & OFFSET_MASK) as usize * CHUNK_ALIGN_BYTES;
        let page = &mut self.pages[page_no as usize];
        let index = (offset / page.chunk_bytes()) as u32;
        assert!(
            page.live > 0 && index < page.bump,
            "free of a chunk never handed out"
        );
        let free_head = std::mem::replace(&mut page.free_head, index);
        page.live -= 1;
        let (live, capacity, chunk_bytes) = (page.live, page.capacity(), page.chunk_bytes());
        self.bytes_mut(loc)[..4].copy_from_slice(&free_head.to_le_bytes());
        if live + 1 == capacity {
            self.link_partial(page_no);
        }
        if live == 0 {
            self.empty(page_no);
        } else if chunk_bytes >= DISCARD_FREED_CHUNK_BYTES {
            // All but the free-list link in the first 4 bytes.
            let start = loc as usize * CHUNK_ALIGN_BYTES + 4;
            self.region.discard(start, chunk_bytes - 4);
        }
    }

    /// Gives an empty page's memory back to the system, and releases the
    /// page unless it is its class's only page with room.
    fn empty(&mut self, page_no: u32) {
        self.region
            .discard(page_no as usize * PAGE_BYTES, PAGE_BYTES);
        let page = &mut self.pages[page_no as usize];
        // The free list lived in the discarded bytes: start afresh.
        page.bump = 0;
        page.free_head = END;
        let class = usize::from(page.class);
        if self.partial_heads[class] != page_no || page.next != END {
            self.unlink_partial(page_no);
            self.pages[page_no as usize].released = true;
            self.spare_page_nos.push(page_no);
        }
    }

    fn add_page(&mut self, class: usize) -> Option<()> {
        let page_no = match self.spare_page_nos.pop() {
            Some(page_no) => page_no,
            None if self.pages.len() < self.max_pages => {
                self.pages.push(Page {
                    class: 0,
                    released: false,
                    live: 0,
                    bump: 0,
                    free_head: END,
                    prev: END,
                    next: END,
                });
                (self.pages.len() - 1) as u32
            }
            None => return None,
        };
        let page = &mut self.pages[page_no as usize];
        page.class = class as u16;
        page.released = false;
        page.live = 0;
        page.bump = 0;
        page.free_head = END;
        self.link_partial(page_no);
        Some(())
    }

    fn link_partial(&mut self, page_no: u32) {
        let class = usize::from(self.pages[page_no as usize].class);
        let head = self.partial_heads[class];
        if head != END {
            self.pages[head as usize].prev = page_no;
        }
        let page = &mut self.pages[page_no as usize];
        page.prev = END;
        page.next = head;
        self.partial_heads[class] = page_no;
    }

    fn unlink_partial(&mut self, page_no: u32) {
        let page = &self.pages[page_no as usize];
        let (prev, next, class) = (page.prev, page.next, usize::from(page.class));
        if prev == END {
            self.partial_heads[class] = next;
        } else {
            self.pages[prev as usize].next = next;
        }
        if next != END {
            self.pages[next as usize].prev = prev;
        }
    }

    /// Pages currently allocated.
    #[cfg(test)]
    pub(super) fn live_pages(&self) -> usize {
        self.pages.iter().filter(|page| !page.released).count()
    }

    /// Checks every page against the complete list of live small-record
    /// locations: live counts, chunk free lists, partial-page lists, at
    /// most one empty page per class, the spare page numbers.
    pub(super) fn check_invariants(&self, live: &[u32]) {
        let mut live_per_page = vec![0u32; self.pages.len()];
        let mut sorted = live.to_vec();
        sorted.sort_unstable();
        assert!(
            sorted.windows(2).all(|pair| pair[0] != pair[1]),
            "two records share a chunk"
        );
        for &loc in &sorted {
            assert!(self.holds_chunk(loc), "record in a chunk never handed out");
            live_per_page[(loc >> OFFSET_BITS) as usize] += 1;
        }
        let partial = self.partial_pages();
        let mut empty_per_class = vec![0; CLASS_COUNT];
        for (page_no, page) in self.pages.iter().enumerate() {
            if self.is_released(page_no) {
                assert!(
                    self.spare_page_nos.contains(&(page_no as u32)),
                    "released page {page_no} not spare"
                );
                continue;
            }
            assert_eq!(page.live, live_per_page[page_no], "page live count");
            let free = self.free_chunks(&sorted, page_no as u32);
            assert_eq!(free + page.live, page.bump, "free list length");
            assert_eq!(
                partial.contains(&(page_no as u32)),
                page.live < page.capacity(),
                "partial-page list membership"
            );
            empty_per_class[usize::from(page.class)] += usize::from(page.live == 0);
        }
        assert!(
            empty_per_class.iter().all(|&empty| empty <= 1),
            "more than one empty page kept in a class"
        );
        let released = self.pages.iter().filter(|page| page.released).count();
        assert_eq!(released, self.spare_page_nos.len(), "spare page numbers");
    }

    /// Every page on some class's partial list, checking each list is
    /// acyclic, doubly linked and holds pages of its class only.
    fn partial_pages(&self) -> Vec<u32> {
        let mut partial = Vec::new();
        for (class, &head) in self.partial_heads.iter().enumerate() {
            let (mut prev, mut cursor) = (END, head);
            while cursor != END {
                assert!(partial.len() < self.pages.len(), "cycle in a partial list");
                let page = &self.pages[cursor as usize];
                assert_eq!(
                    usize::from(page.class),
                    class,
                    "page on another class's list"
                );
                assert_eq!(page.prev, prev, "broken partial-list link");
                assert!(
                    !self.is_released(cursor as usize),
                    "released page on a partial list"
                );
                partial.push(cursor);
                (prev, cursor) = (cursor, page.next);
            }
        }
        partial
    }

    /// Walks a page's free list, checking it is acyclic and disjoint from
    /// the live records; returns its length.
    fn free_chunks(&self, sorted_live: &[u32], page_no: u32) -> u32 {
        let page = &self.pages[page_no as usize];
        let mut count = 0;
        let mut index = page.free_head;
        while index != END {
            assert!(count < page.bump, "cycle in a chunk free list");
            assert!(index < page.bump, "free list names a never-used chunk");
            let loc = page_no << OFFSET_BITS | (page.offset_of(index) / CHUNK_ALIGN_BYTES) as u32;
            assert!(
                sorted_live.binary_search(&loc).is_err(),
                "free chunk holds a live record"
            );
            index = self.free_link(page_no, index);
            count += 1;
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::super::size_class::class_of;
    use super::*;

    #[test]
    fn empty_pages_are_released_but_one_is_kept() {
        let mut pages = Pages::new(MAX_PAGES).expect("address space");
        let class = class_of(132);
        let per_page = PAGE_BYTES / chunk_bytes_of(class);
        let locs: Vec<u32> = (0..3 * per_page)
            .map(|_| pages.alloc(class).expect("under the page limit"))
            .collect();
        assert_eq!(pages.pages.len(), 3);
        pages.check_invariants(&locs);
        for &loc in &locs {
            pages.free(loc);
        }
        pages.check_invariants(&[]);
        assert_eq!(pages.live_pages(), 1);
    }

    #[test]
    fn one_chunk_pages_are_emptied_and_released_like_any_other() {
        let mut pages = Pages::new(MAX_PAGES).expect("address space");
        let class = class_of(200 << 10);
        assert_eq!(PAGE_BYTES / chunk_bytes_of(class), 1);
        let first = pages.alloc(class).expect("a page");
        pages.bytes_mut(first)[..4].copy_from_slice(&[9; 4]);
        pages.free(first);
        // The class's only page with room is kept, its memory handed back.
        pages.check_invariants(&[]);
        assert_eq!(pages.live_pages(), 1);
        let again = pages.alloc(class).expect("the kept page");
        assert_eq!(again, first);
        let second = pages.alloc(class).expect("a second page");
        pages.check_invariants(&[again, second]);
        pages.free(again);
        pages.free(second);
        pages.check_invariants(&[]);
        assert_eq!(pages.live_pages(), 1, "one empty page kept, one released");
    }

    #[test]
    fn the_page_limit_is_a_refusal_and_released_numbers_are_reused() {
        let mut pages = Pages::new(2).expect("address space");
        let small = pages.alloc(class_of(16)).expect("first page");
        let large = pages.alloc(class_of(4096)).expect("second page");
        assert_eq!(
            pages.alloc(class_of(100)),
            None,
            "a third class needs a third page"
        );
        // The 16-byte class still has room in its page.
        let second_small = pages.alloc(class_of(16)).expect("room in the page");
        pages.check_invariants(&[small, second_small, large]);
        pages.free(large);
        // Its class had no other page with room, so the empty page is kept.
        assert_eq!(pages.alloc(class_of(100)), None);
        pages.check_invariants(&[small, second_small]);
    }

    #[test]
    fn locations_cover_the_largest_page_table() {
        let last_page = (MAX_PAGES - 1) as u32;
        let last_loc = last_page << OFFSET_BITS | OFFSET_MASK;
        assert!(last_loc < 1 << 31, "small locations leave the top bit free");
        assert_eq!(MAX_PAGES * PAGE_BYTES, 16 << 30);
    }
}
