//! Connection buffers and the server-wide budget that bounds them.
//!
//! Buffers grow only with bytes that have arrived, never with a length a
//! client declared. The input buffer grows only when it is full of one
//! partial frame, and then only by what the kernel says has arrived
//! ([`Stream::arrived_bytes`](super::stream::Stream::arrived_bytes), at least
//! [`READ_MIN_BYTES`]), up to `4 + max_frame_bytes`: its capacity stays
//! within one read of the bytes it holds. Output is bounded before each
//! request runs (see `Connection`), so the budget holds for both directions.
//!
//! What the budget counts: the capacity of the input buffer and the unsent
//! bytes of the output that each connection keeps between turns, plus the
//! growth of either during a turn. The loop's two lent buffers
//! ([`LENT_BUFFER_BYTES`] each, shared by every connection in turn) are the
//! loop's own fixed cost and are not charged.

/// Size of a buffer the loop lends to connections; one read fills at most this.
pub const LENT_BUFFER_BYTES: usize = 64 * 1024;
/// Free space below which the input buffer is compacted or grown before a read.
pub const READ_MIN_BYTES: usize = 4 * 1024;

/// What [`InputBuf::make_room`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Room {
    /// There is free space to read into.
    Ready,
    /// The buffer is full of one partial frame and nothing more has arrived:
    /// nothing to read until the next readiness event.
    NothingArrived,
    /// Growing for what arrived would exceed the budget.
    Refused,
}

/// The server-wide budget for connection buffer memory.
#[derive(Debug)]
pub struct BufferBudget {
    used_bytes: usize,
    limit_bytes: usize,
}

impl BufferBudget {
    /// A budget of `limit_bytes`.
    pub fn new(limit_bytes: usize) -> BufferBudget {
        BufferBudget {
            used_bytes: 0,
            limit_bytes,
        }
    }

    /// Bytes currently charged.
    pub fn used_bytes(&self) -> usize {
        self.used_bytes
    }

    /// Bytes that may still be charged.
    #[inline]
    pub fn room_bytes(&self) -> usize {
        self.limit_bytes.saturating_sub(self.used_bytes)
    }

    /// Whether `extra_bytes` more would stay within the limit.
    #[inline]
    pub fn fits(&self, extra_bytes: usize) -> bool {
        extra_bytes <= self.room_bytes()
    }

    /// Moves one connection's charge from `*charged_bytes` to `held_bytes`.
    #[inline]
    pub fn settle(&mut self, charged_bytes: &mut usize, held_bytes: usize) {
        debug_assert!(
            *charged_bytes <= self.used_bytes,
            "budget released more than charged"
        );
        self.used_bytes = self
            .used_bytes
            .saturating_sub(*charged_bytes)
            .saturating_add(held_bytes);
        *charged_bytes = held_bytes;
    }
}

/// A read buffer kept initialised to its full length, so reads need no zeroing.
///
/// ```text
/// bytes: [ consumed | unprocessed | free ]
///         0        start         end     bytes.len()
/// ```
#[derive(Debug, Default)]
pub struct InputBuf {
    bytes: Vec<u8>,
    start: usize,
    end: usize,
}

impl InputBuf {
    /// A buffer of `capacity_bytes` zeroed bytes.
    pub fn with_capacity(capacity_bytes: usize) -> InputBuf {
        InputBuf {
            bytes: vec![0; capacity_bytes],
            start: 0,
            end: 0,
        }
    }

    fn from_slice(data: &[u8]) -> InputBuf {
        InputBuf {
            bytes: data.to_vec(),
            start: 0,
            end: data.len(),
        }
    }

    /// Received bytes not yet decoded.
    #[inline]
    pub fn unprocessed(&self) -> &[u8] {
        &self.bytes[self.start..self.end]
    }

    /// Marks `n` decoded bytes as done.
    #[inline]
    pub fn consume(&mut self, n: usize) {
        assert!(
            n <= self.end - self.start,
            "consumed more than was buffered"
        );
        self.start += n;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Whether every received byte has been decoded.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Memory held, in bytes.
    #[inline]
    pub fn capacity_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// The free tail a read fills.
    #[inline]
    pub fn free_mut(&mut self) -> &mut [u8] {
        &mut self.bytes[self.end..]
    }

    /// Records `n` bytes just read into [`InputBuf::free_mut`].
    #[inline]
    pub fn filled(&mut self, n: usize) {
        assert!(n <= self.bytes.len() - self.end, "filled past the buffer");
        self.end += n;
    }

    /// Makes room for a read: compacts, then grows by what has arrived
    /// (`arrived_bytes`, asked only when growth is needed), up to
    /// `max_bytes`, if the growth fits the budget.
    pub fn make_room(
        &mut self,
        max_bytes: usize,
        arrived_bytes: impl FnOnce() -> usize,
        budget: &BufferBudget,
    ) -> Room {
        if self.bytes.len() - self.end >= READ_MIN_BYTES {
            return Room::Ready;
        }
        if self.start > 0 {
            self.bytes.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.bytes.len() - self.end >= READ_MIN_BYTES {
                return Room::Ready;
            }
        }
        let limit_bytes = max_bytes.max(READ_MIN_BYTES);
        if self.bytes.len() >= limit_bytes || self.bytes.is_empty() {
            // Full of one partial frame no larger than the limit, or a fresh
            // connection's first read: read into what there is.
            return self.grow_to(READ_MIN_BYTES.max(self.bytes.len()), budget);
        }
        let arrived_bytes = arrived_bytes();
        if arrived_bytes == 0 && self.end == self.bytes.len() {
            return Room::NothingArrived;
        }
        // At least READ_MIN_BYTES at a time, so a frame trickling in byte by
        // byte is not reallocated per byte; exactly what arrived if that is
        // all the budget allows.
        let wanted_bytes = (self.end + arrived_bytes.max(READ_MIN_BYTES)).min(limit_bytes);
        let exact_bytes = (self.end + arrived_bytes).min(limit_bytes);
        match self.grow_to(wanted_bytes, budget) {
            Room::Refused if exact_bytes < wanted_bytes => self.grow_to(exact_bytes, budget),
            room => room,
        }
    }

    /// Grows to `bytes` (never shrinks) if the growth fits the budget.
    fn grow_to(&mut self, bytes: usize, budget: &BufferBudget) -> Room {
        let growth_bytes = bytes.saturating_sub(self.bytes.len());
        if !budget.fits(growth_bytes) {
            return Room::Refused;
        }
        self.bytes.resize(self.bytes.len() + growth_bytes, 0);
        if self.end < self.bytes.len() {
            Room::Ready
        } else {
            Room::NothingArrived
        }
    }

    /// Gives the warm `lent` buffer to `self` if `self` holds none.
    #[inline]
    pub fn borrow_from(&mut self, lent: &mut InputBuf) {
        if self.capacity_bytes() == 0 {
            std::mem::swap(self, lent);
        }
    }

    /// Hands a lent buffer back, keeping only the leftover bytes (a partial
    /// frame); frees a buffer of its own once it is empty.
    #[inline]
    pub fn give_back(&mut self, lent: &mut InputBuf) {
        if lent.capacity_bytes() == 0 {
            let leftover = InputBuf::from_slice(self.unprocessed());
            *lent = std::mem::replace(self, leftover);
            lent.start = 0;
            lent.end = 0;
            // A large frame may have grown the lent buffer; keep the loop's share small.
            lent.bytes.truncate(LENT_BUFFER_BYTES);
            lent.bytes.shrink_to_fit();
        } else if self.is_empty() {
            *self = InputBuf::default();
        }
    }
}

/// Encoded replies waiting to be written.
///
/// ```text
/// bytes: [ written | pending ]
///         0       sent      bytes.len()
/// ```
#[derive(Debug, Default)]
pub struct OutputBuf {
    /// The encoded replies; the session appends to it.
    pub bytes: Vec<u8>,
    sent: usize,
}

impl OutputBuf {
    /// An empty buffer with room for `capacity_bytes`.
    pub fn with_capacity(capacity_bytes: usize) -> OutputBuf {
        OutputBuf {
            bytes: Vec::with_capacity(capacity_bytes),
            sent: 0,
        }
    }

    /// Reply bytes encoded but not yet written.
    #[inline]
    pub fn pending_bytes(&self) -> usize {
        self.bytes.len() - self.sent
    }

    /// The bytes the next write sends.
    #[inline]
    pub fn pending(&self) -> &[u8] {
        &self.bytes[self.sent..]
    }

    /// Records `n` bytes written; forgets everything once all is written.
    #[inline]
    pub fn sent(&mut self, n: usize) {
        assert!(n <= self.pending_bytes(), "sent more than was pending");
        self.sent += n;
        if self.sent == self.bytes.len() {
            self.bytes.clear();
            self.sent = 0;
        }
    }

    /// Memory the budget charges for it: the unsent bytes (what it keeps
    /// between turns is exactly those).
    #[inline]
    pub fn held_bytes(&self) -> usize {
        self.pending_bytes()
    }

    /// Gives the warm `lent` buffer to `self` if `self` holds none.
    #[inline]
    pub fn borrow_from(&mut self, lent: &mut OutputBuf) {
        if self.bytes.capacity() == 0 {
            std::mem::swap(self, lent);
        }
    }

    /// Hands a lent buffer back, keeping only unsent bytes; frees a buffer of
    /// its own once everything is written.
    #[inline]
    pub fn give_back(&mut self, lent: &mut OutputBuf) {
        if lent.bytes.capacity() == 0 {
            let leftover = OutputBuf {
                bytes: self.pending().to_vec(),
                sent: 0,
            };
            *lent = std::mem::replace(self, leftover);
            lent.bytes.clear();
            lent.sent = 0;
            lent.bytes.shrink_to(LENT_BUFFER_BYTES);
        } else if self.pending_bytes() == 0 {
            *self = OutputBuf::default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTHING_ARRIVED: fn() -> usize = || 0;

    #[test]
    fn input_grows_by_what_arrived_only_when_full_and_within_the_limit() {
        let budget = BufferBudget::new(1 << 20);
        let mut input = InputBuf::default();
        assert_eq!(
            input.make_room(100_000, NOTHING_ARRIVED, &budget),
            Room::Ready
        );
        assert_eq!(input.capacity_bytes(), READ_MIN_BYTES);
        input.end = input.bytes.len();
        assert_eq!(input.make_room(100_000, || 30_000, &budget), Room::Ready);
        assert_eq!(input.capacity_bytes(), READ_MIN_BYTES + 30_000);
        input.end = input.bytes.len();
        assert_eq!(
            input.make_room(100_000, NOTHING_ARRIVED, &budget),
            Room::NothingArrived,
            "full, and nothing waiting: no growth"
        );
        assert_eq!(input.capacity_bytes(), READ_MIN_BYTES + 30_000);
        assert_eq!(input.make_room(50_000, || 1 << 30, &budget), Room::Ready);
        assert_eq!(input.capacity_bytes(), 50_000, "clamped to the frame limit");
    }

    #[test]
    fn compaction_reuses_consumed_space_before_growing() {
        let budget = BufferBudget::new(1 << 20);
        let mut input = InputBuf::with_capacity(READ_MIN_BYTES * 2);
        input.end = input.bytes.len();
        input.bytes[READ_MIN_BYTES * 2 - 1] = 7;
        input.consume(READ_MIN_BYTES * 2 - 1);
        let room = input.make_room(1 << 20, || unreachable!("no growth"), &budget);
        assert_eq!(room, Room::Ready);
        assert_eq!(input.capacity_bytes(), READ_MIN_BYTES * 2);
        assert_eq!(input.unprocessed(), &[7]);
    }

    #[test]
    fn growth_falls_back_to_exactly_what_arrived_then_refuses() {
        let mut budget = BufferBudget::new(2 * READ_MIN_BYTES + 2_000);
        let mut charged_bytes = 0;
        budget.settle(&mut charged_bytes, READ_MIN_BYTES);
        let mut input = InputBuf::with_capacity(READ_MIN_BYTES);
        input.end = input.bytes.len();
        assert_eq!(input.make_room(1 << 20, || 100, &budget), Room::Ready);
        assert_eq!(
            input.capacity_bytes(),
            2 * READ_MIN_BYTES,
            "a little arrived: one step of READ_MIN_BYTES"
        );
        budget.settle(&mut charged_bytes, input.capacity_bytes());
        input.end = input.bytes.len();
        assert_eq!(input.make_room(1 << 20, || 1 << 20, &budget), Room::Refused);
        assert_eq!(input.make_room(1 << 20, || 1_000, &budget), Room::Ready);
        assert_eq!(
            input.capacity_bytes(),
            2 * READ_MIN_BYTES + 1_000,
            "a step does not fit, exactly what arrived does"
        );
        budget.settle(&mut charged_bytes, input.capacity_bytes());
        assert_eq!(budget.used_bytes(), 2 * READ_MIN_BYTES + 1_000);
        budget.settle(&mut charged_bytes, 0);
        assert_eq!(budget.used_bytes(), 0);
    }

    #[test]
    fn lent_buffers_keep_only_leftovers() {
        let mut lent = InputBuf::with_capacity(LENT_BUFFER_BYTES);
        let mut own = InputBuf::default();
        own.borrow_from(&mut lent);
        own.free_mut()[..3].copy_from_slice(b"abc");
        own.filled(3);
        own.consume(1);
        own.give_back(&mut lent);
        assert_eq!(own.unprocessed(), b"bc", "a partial frame stays");
        assert_eq!(own.capacity_bytes(), 2);
        assert_eq!(lent.capacity_bytes(), LENT_BUFFER_BYTES);
        own.borrow_from(&mut lent);
        assert_eq!(own.capacity_bytes(), 2, "it keeps its own buffer");
        own.consume(2);
        own.give_back(&mut lent);
        assert_eq!(own.capacity_bytes(), 0, "served: the buffer is freed");

        let mut lent_out = OutputBuf::with_capacity(LENT_BUFFER_BYTES);
        let mut out = OutputBuf::default();
        out.borrow_from(&mut lent_out);
        out.bytes.extend_from_slice(b"xyz");
        out.sent(1);
        out.give_back(&mut lent_out);
        assert_eq!(out.pending(), b"yz");
        assert_eq!(out.held_bytes(), 2);
        assert!(lent_out.bytes.capacity() >= LENT_BUFFER_BYTES);
        out.sent(2);
        assert_eq!(out.held_bytes(), 0);
    }

    #[test]
    fn consume_resets_offsets_when_drained() {
        let mut input = InputBuf::from_slice(b"abcdef");
        input.consume(2);
        assert_eq!(input.unprocessed(), b"cdef");
        input.consume(4);
        assert!(input.is_empty());
        assert_eq!((input.start, input.end), (0, 0));
    }
}
