//! One client connection: its socket, output and input buffers, and the
//! FIFO of requests awaiting replies.
//!
//! Replies come back in request order on every protocol spoken here, so a
//! `VecDeque` of [`Pending`] pairs each reply with its request's operation
//! and start time. Buffers are reused for the whole run:
//!
//! ```text
//! out:   [ sent ........ | unsent ........ ]      flush() writes unsent
//!                        ^ out_sent
//! input: [ consumed | unparsed ...... | free ]    fill() reads into free
//!                   ^ in_start        ^ in_end
//! ```
//!
//! Reads and writes follow mio's edge-triggered contract: keep going until
//! `WouldBlock`, or until a read returns less than the space offered (on
//! Linux a short read means the socket was drained; new data raises a new
//! edge), retrying `Interrupted`.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

pub use blink_store::server::stream::Stream;

use crate::adapter::{Adapter, Outcome, Parsed, ProtocolError};
use crate::cli::Target;
use crate::workload::Op;

/// Initial receive buffer: holds a batch of 16 replies of 4 KiB; grows to
/// fit one whole large reply when needed.
const INPUT_INITIAL_BYTES: usize = 64 * 1024;

/// Connects (blocking, bounded by `timeout`) and switches to non-blocking
/// mode for the event loop. The stream type is the server's own, so both
/// sides share one TCP-or-Unix wrapper.
pub fn connect(target: &Target, timeout: Duration) -> io::Result<Stream> {
    match target {
        Target::Tcp(addr) => {
            let stream = std::net::TcpStream::connect_timeout(addr, timeout)?;
            stream.set_nodelay(true)?;
            stream.set_nonblocking(true)?;
            Ok(Stream::Tcp(mio::net::TcpStream::from_std(stream)))
        }
        Target::Unix(path) => {
            let stream = std::os::unix::net::UnixStream::connect(path)?;
            stream.set_nonblocking(true)?;
            Ok(Stream::Unix(mio::net::UnixStream::from_std(stream)))
        }
    }
}

/// A request on the wire, waiting for its reply.
#[derive(Clone, Copy, Debug)]
pub struct Pending {
    /// What was asked.
    pub op: Op,
    /// When latency starts: the actual send (closed loop) or the intended
    /// send time (open loop).
    pub start: Instant,
}

/// Why a connection stopped being usable.
#[derive(Debug)]
pub enum ConnError {
    /// The socket failed.
    Io(io::Error),
    /// The server closed the connection.
    Closed,
    /// The server sent bytes that are no valid reply, or a reply nobody asked for.
    Protocol(ProtocolError),
}

impl std::fmt::Display for ConnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnError::Io(e) => write!(f, "i/o error: {e}"),
            ConnError::Closed => f.write_str("closed by the server"),
            ConnError::Protocol(e) => write!(f, "protocol error: {e}"),
        }
    }
}

/// One client connection.
#[derive(Debug)]
pub struct Conn {
    stream: Stream,
    out: Vec<u8>,
    out_sent: usize,
    input: Vec<u8>,
    in_start: usize,
    in_end: usize,
    pending: VecDeque<Pending>,
}

impl Conn {
    /// Wraps a connected stream.
    pub fn new(stream: Stream, pipeline: usize) -> Conn {
        Conn {
            stream,
            out: Vec::new(),
            out_sent: 0,
            input: vec![0; INPUT_INITIAL_BYTES],
            in_start: 0,
            in_end: 0,
            pending: VecDeque::with_capacity(pipeline),
        }
    }

    /// The socket, for (de)registration.
    pub fn stream_mut(&mut self) -> &mut Stream {
        &mut self.stream
    }

    /// Requests sent (or queued) and not answered yet.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// Queues one request: `encode` appends its bytes to the output buffer.
    pub fn queue(&mut self, op: Op, start: Instant, encode: impl FnOnce(&mut Vec<u8>)) {
        encode(&mut self.out);
        self.pending.push_back(Pending { op, start });
    }

    /// Writes queued output until done or the socket is full.
    pub fn flush(&mut self) -> Result<(), ConnError> {
        while self.out_sent < self.out.len() {
            match self.stream.write(&self.out[self.out_sent..]) {
                Ok(0) => return Err(ConnError::Closed),
                Ok(n) => self.out_sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ConnError::Io(e)),
            }
        }
        self.out.clear();
        self.out_sent = 0;
        Ok(())
    }

    /// Reads what the socket holds, then hands every complete reply to
    /// `on_reply` in order with the request it answers.
    pub fn receive<A: Adapter>(
        &mut self,
        adapter: A,
        mut on_reply: impl FnMut(Pending, Outcome),
    ) -> Result<(), ConnError> {
        loop {
            let drained = self.fill()?;
            self.parse(adapter, &mut on_reply)?;
            if drained {
                return Ok(());
            }
        }
    }

    /// One read into the free space; `Ok(true)` once the socket is drained.
    fn fill(&mut self) -> Result<bool, ConnError> {
        self.make_room();
        let free = self.input.len() - self.in_end;
        loop {
            match self.stream.read(&mut self.input[self.in_end..]) {
                Ok(0) => return Err(ConnError::Closed),
                Ok(n) => {
                    self.in_end += n;
                    return Ok(n < free);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ConnError::Io(e)),
            }
        }
    }

    /// Moves unparsed bytes to the front, or doubles the buffer when a
    /// single incomplete reply already fills it.
    fn make_room(&mut self) {
        if self.in_start == self.in_end {
            self.in_start = 0;
            self.in_end = 0;
        } else if self.in_end == self.input.len() {
            if self.in_start > 0 {
                self.input.copy_within(self.in_start..self.in_end, 0);
                self.in_end -= self.in_start;
                self.in_start = 0;
            } else {
                self.input.resize(self.input.len() * 2, 0);
            }
        }
    }

    fn parse<A: Adapter>(
        &mut self,
        adapter: A,
        on_reply: &mut impl FnMut(Pending, Outcome),
    ) -> Result<(), ConnError> {
        loop {
            let buf = &self.input[self.in_start..self.in_end];
            match adapter.parse_reply(buf).map_err(ConnError::Protocol)? {
                Parsed::NeedMore => return Ok(()),
                Parsed::Reply { outcome, len_bytes } => {
                    let pending =
                        self.pending
                            .pop_front()
                            .ok_or(ConnError::Protocol(ProtocolError(
                                "reply without a request",
                            )))?;
                    self.in_start += len_bytes;
                    on_reply(pending, outcome);
                }
            }
        }
    }
}
