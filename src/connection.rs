//! One client connection: its stream, its buffers and its timers.
//!
//! Buffers grow with bytes actually received, never with a length a client
//! declared: the input buffer doubles only when it is full of one partial
//! frame, up to `4 + max_frame_bytes`, and every growth is charged against the
//! server-wide [`BufferBudget`] first. An idle connection holds no buffer at
//! all: the event loop lends it a warm shared buffer for the turn and keeps
//! only leftover bytes (a partial frame, unsent replies) with the connection.
//!
//! Timers are plain timestamps checked by the loop's housekeeping sweep:
//! - `frame_started_ms`: first byte of the oldest incomplete frame; a frame
//!   must complete within the frame timeout however slowly bytes trickle in;
//! - `output_progress_ms`: last time pending output moved; a client that
//!   stops reading is closed after the output timeout;
//! - `last_active_ms`: last byte in either direction, for the idle timeout.

use std::io::{self, Read, Write};

use mio::net::{TcpStream, UnixStream};
use mio::{Interest, Registry, Token};

use crate::protocol::HEADER_BYTES;

/// Size of a buffer the loop lends to connections; one read fills at most this.
pub const LENT_BUFFER_BYTES: usize = 64 * 1024;
/// Free space below which the input buffer is compacted or grown before a read.
const READ_MIN_BYTES: usize = 4 * 1024;

/// A client stream of either family.
#[derive(Debug)]
pub enum Stream {
    /// A TCP client.
    Tcp(TcpStream),
    /// A Unix-domain client.
    Unix(UnixStream),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl mio::event::Source for Stream {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.register(registry, token, interests),
            Stream::Unix(s) => s.register(registry, token, interests),
        }
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.reregister(registry, token, interests),
            Stream::Unix(s) => s.reregister(registry, token, interests),
        }
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.deregister(registry),
            Stream::Unix(s) => s.deregister(registry),
        }
    }
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

    /// Whether `extra_bytes` more would stay within the limit.
    fn fits(&self, extra_bytes: usize) -> bool {
        self.used_bytes
            .checked_add(extra_bytes)
            .is_some_and(|total| total <= self.limit_bytes)
    }

    /// Moves one connection's charge from `*charged_bytes` to `held_bytes`.
    fn settle(&mut self, charged_bytes: &mut usize, held_bytes: usize) {
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
    pub fn unprocessed(&self) -> &[u8] {
        &self.bytes[self.start..self.end]
    }

    /// Marks `n` decoded bytes as done.
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
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Memory held, in bytes.
    pub fn capacity_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// Makes room for a read: compacts, then doubles up to `max_bytes` if the
    /// growth fits the budget (charged when the turn settles). Returns false
    /// if the budget refused.
    fn make_room(&mut self, max_bytes: usize, budget: &mut BufferBudget) -> bool {
        if self.bytes.len() - self.end >= READ_MIN_BYTES {
            return true;
        }
        if self.start > 0 {
            self.bytes.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.bytes.len() - self.end >= READ_MIN_BYTES {
                return true;
            }
        }
        let grown_bytes =
            (self.bytes.len() * 2).clamp(READ_MIN_BYTES, max_bytes.max(READ_MIN_BYTES));
        if grown_bytes <= self.bytes.len() {
            // Full of one partial frame no larger than the limit: still room to read.
            return self.end < self.bytes.len();
        }
        if !budget.fits(grown_bytes - self.bytes.len()) {
            return false;
        }
        self.bytes.resize(grown_bytes, 0);
        true
    }
}

/// What one read attempt produced.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadOutcome {
    /// Bytes arrived. `drained` is true when the read came up short of the
    /// free space, so the socket had nothing more: reading again would only
    /// return WouldBlock, and new bytes raise a fresh readiness event.
    Data {
        /// Bytes read.
        bytes: usize,
        /// Whether the socket's receive queue is now empty.
        drained: bool,
    },
    /// Nothing more to read now.
    WouldBlock,
    /// The peer closed its sending side.
    Eof,
    /// The buffer budget refused the growth this read needed.
    BudgetExhausted,
}

/// One client's stream, buffers and session state.
pub struct Connection {
    /// The socket.
    pub stream: Stream,
    /// Received, not yet decoded bytes.
    pub input: InputBuf,
    /// Encoded replies; bytes before `output_sent` are already written.
    pub output: Vec<u8>,
    output_sent: usize,
    /// Whether the client has passed AUTH (always true when no token is set).
    pub authenticated: bool,
    /// False once the peer sent EOF or the server began draining: no more reads.
    pub reading: bool,
    /// Whether the connection is queued for another turn.
    pub queued: bool,
    /// Whether the poller reported the peer's close or an error.
    pub hangup_seen: bool,
    /// The interest currently registered with the poller.
    pub interest: Interest,
    /// When the first byte of the oldest incomplete frame arrived.
    pub frame_started_ms: Option<u64>,
    /// When pending output last moved (or became pending).
    pub output_progress_ms: u64,
    /// Last byte in either direction.
    pub last_active_ms: u64,
    /// Memory charged to the budget for this connection's own buffers.
    charged_bytes: usize,
}

impl Connection {
    /// A connection that has just been accepted at `now_ms`.
    pub fn new(stream: Stream, authenticated: bool, now_ms: u64) -> Connection {
        Connection {
            stream,
            input: InputBuf::default(),
            output: Vec::new(),
            output_sent: 0,
            authenticated,
            reading: true,
            queued: false,
            hangup_seen: false,
            interest: Interest::READABLE,
            frame_started_ms: None,
            output_progress_ms: now_ms,
            last_active_ms: now_ms,
            charged_bytes: 0,
        }
    }

    /// Bytes at the front of `output` already written.
    pub fn output_sent(&self) -> usize {
        self.output_sent
    }

    /// Reply bytes encoded but not yet written.
    pub fn pending_output_bytes(&self) -> usize {
        self.output.len() - self.output_sent
    }

    /// Lends the loop's warm buffers to this connection if it holds none.
    pub fn borrow_buffers(&mut self, lent_input: &mut InputBuf, lent_output: &mut Vec<u8>) {
        if self.input.capacity_bytes() == 0 {
            std::mem::swap(&mut self.input, lent_input);
        }
        if self.output.capacity() == 0 {
            std::mem::swap(&mut self.output, lent_output);
        }
    }

    /// Returns lent buffers, keeping only leftover bytes (a partial frame,
    /// unsent replies), frees its own buffers once they are empty, and
    /// settles the budget for what the connection keeps.
    pub fn return_buffers(
        &mut self,
        lent_input: &mut InputBuf,
        lent_output: &mut Vec<u8>,
        budget: &mut BufferBudget,
    ) {
        if lent_input.capacity_bytes() == 0 {
            // The connection had no buffer of its own: keep only the leftover bytes.
            let leftover = InputBuf::from_slice(self.input.unprocessed());
            *lent_input = std::mem::replace(&mut self.input, leftover);
            lent_input.start = 0;
            lent_input.end = 0;
            // A large frame may have grown the lent buffer; keep the loop's share small.
            lent_input.bytes.truncate(LENT_BUFFER_BYTES);
            lent_input.bytes.shrink_to_fit();
        } else if self.input.is_empty() {
            // Its own buffer held a partial frame that has now been served.
            self.input = InputBuf::default();
        }
        if lent_output.capacity() == 0 {
            let leftover = self.output[self.output_sent..].to_vec();
            *lent_output = std::mem::replace(&mut self.output, leftover);
            lent_output.clear();
            lent_output.shrink_to(LENT_BUFFER_BYTES);
            self.output_sent = 0;
        } else if self.pending_output_bytes() == 0 {
            self.output = Vec::new();
            self.output_sent = 0;
        }
        let held_bytes = self.input.capacity_bytes() + self.output.capacity();
        budget.settle(&mut self.charged_bytes, held_bytes);
    }

    /// Releases everything this connection charged to the budget.
    pub fn release_budget(&mut self, budget: &mut BufferBudget) {
        budget.settle(&mut self.charged_bytes, 0);
    }

    /// Reads once into the input buffer, growing it within `max_frame_bytes`.
    pub fn read_some(
        &mut self,
        max_frame_bytes: u32,
        budget: &mut BufferBudget,
        now_ms: u64,
    ) -> io::Result<ReadOutcome> {
        let max_bytes = HEADER_BYTES + max_frame_bytes as usize;
        if !self.input.make_room(max_bytes, budget) {
            return Ok(ReadOutcome::BudgetExhausted);
        }
        let InputBuf { bytes, end, .. } = &mut self.input;
        loop {
            let free = &mut bytes[*end..];
            let free_bytes = free.len();
            return match self.stream.read(free) {
                Ok(0) => Ok(ReadOutcome::Eof),
                Ok(n) => {
                    *end += n;
                    self.last_active_ms = now_ms;
                    Ok(ReadOutcome::Data {
                        bytes: n,
                        drained: n < free_bytes,
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(ReadOutcome::WouldBlock),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => Err(e),
            };
        }
    }

    /// Writes pending output until done or the socket would block; returns bytes written.
    pub fn flush(&mut self, now_ms: u64) -> io::Result<usize> {
        let mut written = 0;
        while self.output_sent < self.output.len() {
            match self.stream.write(&self.output[self.output_sent..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.output_sent += n;
                    written += n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        if written > 0 {
            self.output_progress_ms = now_ms;
            self.last_active_ms = now_ms;
        }
        if self.output_sent == self.output.len() {
            self.output.clear();
            self.output_sent = 0;
        }
        Ok(written)
    }

    /// Notes that output just became pending, so its progress clock starts now.
    pub fn note_output_queued(&mut self, was_pending: bool, now_ms: u64) {
        if !was_pending && self.pending_output_bytes() > 0 {
            self.output_progress_ms = now_ms;
        }
    }

    /// The interest the poller should have: writable only while output is pending.
    pub fn wanted_interest(&self) -> Interest {
        if self.pending_output_bytes() > 0 {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_grows_only_when_full_and_within_the_limit() {
        let mut budget = BufferBudget::new(1 << 20);
        let mut input = InputBuf::default();
        assert!(input.make_room(100_000, &mut budget));
        assert_eq!(input.capacity_bytes(), READ_MIN_BYTES);
        input.end = input.bytes.len();
        assert!(input.make_room(100_000, &mut budget));
        assert_eq!(input.capacity_bytes(), 2 * READ_MIN_BYTES);
        input.end = input.bytes.len();
        assert!(input.make_room(10_000, &mut budget));
        assert_eq!(input.capacity_bytes(), 10_000, "clamped to the frame limit");
    }

    #[test]
    fn compaction_reuses_consumed_space_before_growing() {
        let mut budget = BufferBudget::new(1 << 20);
        let mut input = InputBuf::with_capacity(READ_MIN_BYTES * 2);
        input.end = input.bytes.len();
        input.bytes[READ_MIN_BYTES * 2 - 1] = 7;
        input.consume(READ_MIN_BYTES * 2 - 1);
        assert!(input.make_room(1 << 20, &mut budget));
        assert_eq!(input.capacity_bytes(), READ_MIN_BYTES * 2);
        assert_eq!(input.unprocessed(), &[7]);
        assert_eq!(budget.used_bytes(), 0);
    }

    #[test]
    fn budget_refuses_growth_past_its_limit() {
        let mut budget = BufferBudget::new(READ_MIN_BYTES);
        let mut input = InputBuf::default();
        assert!(input.make_room(1 << 20, &mut budget));
        let mut charged_bytes = 0;
        budget.settle(&mut charged_bytes, input.capacity_bytes());
        assert_eq!(budget.used_bytes(), READ_MIN_BYTES);
        input.end = input.bytes.len();
        assert!(!input.make_room(1 << 20, &mut budget));
        assert_eq!(input.capacity_bytes(), READ_MIN_BYTES);
        budget.settle(&mut charged_bytes, 0);
        assert_eq!(budget.used_bytes(), 0);
    }

    #[test]
    fn buffers_are_kept_only_while_they_hold_leftovers() {
        let (client, server) = std::os::unix::net::UnixStream::pair().unwrap();
        drop(client);
        let mut conn = Connection::new(Stream::Unix(UnixStream::from_std(server)), true, 0);
        let mut budget = BufferBudget::new(1 << 20);
        let mut lent_input = InputBuf::with_capacity(LENT_BUFFER_BYTES);
        let mut lent_output = Vec::with_capacity(LENT_BUFFER_BYTES);

        conn.borrow_buffers(&mut lent_input, &mut lent_output);
        conn.input.bytes[..3].copy_from_slice(b"abc");
        conn.input.end = 3;
        conn.input.consume(1);
        conn.return_buffers(&mut lent_input, &mut lent_output, &mut budget);
        assert_eq!(conn.input.unprocessed(), b"bc", "a partial frame stays");
        assert_eq!(lent_input.capacity_bytes(), LENT_BUFFER_BYTES);
        assert_eq!(budget.used_bytes(), 2);

        conn.borrow_buffers(&mut lent_input, &mut lent_output);
        conn.input.consume(2);
        conn.return_buffers(&mut lent_input, &mut lent_output, &mut budget);
        assert_eq!(
            conn.input.capacity_bytes(),
            0,
            "served: the buffer is freed"
        );
        assert_eq!(budget.used_bytes(), 0);
        conn.release_budget(&mut budget);
        assert_eq!(budget.used_bytes(), 0);
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
