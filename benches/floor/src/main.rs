//! `blink-floor`: the floor Blink-Store's CPU per request is measured
//! against. One mio loop, the server's own listeners, socket type and
//! request decoder, and a canned reply per request: no store, no session,
//! no budgets, no timers. What Blink-Store spends beyond this server is the
//! cost of being a cache; what this server spends is the kernel's TCP path,
//! the event loop and the decoding that any server pays.
//!
//! Each readable (or writable) event runs one turn for its connection,
//! shaped like Blink-Store's: read, answer every complete frame, read again
//! until a read comes up short (the socket is drained) or would block, then
//! write until done or it would block. WRITABLE interest is registered only
//! while output is pending. The loop lends every connection the same two
//! buffers for its turn, as Blink-Store does ([`Lent`]); the input grows
//! (doubling) only when one partial frame fills it; frames are decoded with
//! the default limits.
//!
//! A protocol is a [`Codec`]: `blink` and `resp`. [`ByFirstByte`] picks one
//! for each turn from the first unanswered byte, with Blink-Store's rule
//! (SPEC §3.1: printable ASCII is RESP); a turn's input always starts at a
//! request boundary, so for a client that keeps to one protocol (every
//! benchmark) that is the protocol its connection's first byte chose.
//!
//! ```text
//! blink-floor --tcp 127.0.0.1:26466 --unix-socket /tmp/floor.sock --value-size 100
//! ```

mod blink;
mod resp;

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use blink_store::protocol::{Detected, detect};
use blink_store::server::listener::{self, Listener};
use blink_store::server::stream::Stream;
use blink_store::server::unix_socket;
use clap::Parser;
use mio::{Events, Interest, Poll, Token};
use slab::Slab;

/// Bytes of each lent buffer (Blink-Store's `LENT_BUFFER_BYTES`).
const LENT_BUFFER_BYTES: usize = 64 * 1024;
/// Largest input buffer: one frame of the decoder's default limit, plus
/// the header, fits.
const INPUT_MAX_BYTES: usize = 2 << 20;
/// Events drained per poll call (Blink-Store's figure).
const EVENTS_CAPACITY: usize = 1_024;
/// Listener `i` uses `Token(LISTENER_TOKEN_BASE - i)`, outside the slab's keys.
const LISTENER_TOKEN_BASE: usize = usize::MAX - 1;
/// Mode of the Unix socket file.
const UNIX_SOCKET_MODE: u32 = 0o600;

/// Flags.
#[derive(Parser, Debug)]
#[command(name = "blink-floor", version, about)]
struct Cli {
    /// TCP address to listen on.
    #[arg(long, default_value = "127.0.0.1:26466")]
    tcp: SocketAddr,
    /// Also listen on this Unix socket.
    #[arg(long)]
    unix_socket: Option<PathBuf>,
    /// Bytes of the value in every GET reply.
    #[arg(long, default_value_t = 100)]
    value_size: usize,
}

/// A protocol's answering half: decode the complete frames at the front of
/// `input`, append one reply per frame to `out`.
trait Codec {
    /// Answers what `input` holds; never consumes a partial frame.
    fn answer(&self, input: &[u8], out: &mut Vec<u8>) -> Answered;
}

/// What [`Codec::answer`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Answered {
    /// Bytes of whole frames consumed.
    consumed_bytes: usize,
    /// A frame broke the framing: close once the replies are written.
    close: bool,
}

/// Both codecs, chosen by the first byte of what a turn answers.
struct ByFirstByte {
    blink: blink::Blink,
    resp: resp::Resp,
}

impl Codec for ByFirstByte {
    fn answer(&self, input: &[u8], out: &mut Vec<u8>) -> Answered {
        match detect(input) {
            Detected::NeedMore => Answered {
                consumed_bytes: 0,
                close: false,
            },
            Detected::Blink => self.blink.answer(input, out),
            Detected::Resp => self.resp.answer(input, out),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let codec = ByFirstByte {
        blink: blink::Blink::new(cli.value_size),
        resp: resp::Resp::new(cli.value_size),
    };
    match serve(&cli, codec) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("blink-floor: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Binds the listeners, prints the `ready` line and runs the loop forever.
fn serve(cli: &Cli, codec: impl Codec) -> io::Result<()> {
    let mut poll = Poll::new()?;
    let mut listeners = vec![listener::bind_tcp(cli.tcp)?];
    if let Some(path) = &cli.unix_socket {
        listeners.push(unix_socket::bind(path, UNIX_SOCKET_MODE)?);
    }
    for (index, listener) in listeners.iter_mut().enumerate() {
        let token = Token(LISTENER_TOKEN_BASE - index);
        poll.registry()
            .register(listener.source(), token, Interest::READABLE)?;
    }
    let described: Vec<String> = listeners.iter().map(Listener::describe).collect();
    println!("ready {}", described.join(", "));
    let mut conns: Slab<Conn> = Slab::new();
    let mut lent = Lent::new();
    let mut events = Events::with_capacity(EVENTS_CAPACITY);
    loop {
        if let Err(e) = poll.poll(&mut events, None) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for event in events.iter() {
            let Token(key) = event.token();
            match LISTENER_TOKEN_BASE.checked_sub(key) {
                Some(index) if index < listeners.len() => {
                    accept(&listeners[index], &poll, &mut conns);
                }
                _ => serve_conn(key, &codec, &poll, &mut conns, &mut lent),
            }
        }
    }
}

/// Accepts until the listener would block; a failed accept is skipped.
fn accept(listener: &Listener, poll: &Poll, conns: &mut Slab<Conn>) {
    loop {
        match listener.accept() {
            Ok(stream) => {
                let entry = conns.vacant_entry();
                let mut conn = Conn::new(stream);
                let token = Token(entry.key());
                if poll
                    .registry()
                    .register(&mut conn.stream, token, Interest::READABLE)
                    .is_ok()
                {
                    entry.insert(conn);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                eprintln!("blink-floor: accept failed: {e}");
                return;
            }
        }
    }
}

/// One turn of connection `key`; closes it when the turn says so.
fn serve_conn(
    key: usize,
    codec: &impl Codec,
    poll: &Poll,
    conns: &mut Slab<Conn>,
    lent: &mut Lent,
) {
    let Some(conn) = conns.get_mut(key) else {
        return;
    };
    let keep = conn.turn(codec, lent).is_ok_and(|open| open)
        && conn.update_interest(poll, Token(key)).is_ok();
    if !keep {
        let mut conn = conns.remove(key);
        let _ = poll.registry().deregister(&mut conn.stream);
    }
}

/// The loop's two buffers, lent to each connection for its turn, as
/// Blink-Store lends its own: a connection keeps only a partial frame and
/// unsent replies between turns, so 50 connections touch two warm buffers,
/// not a hundred cold ones.
///
/// ```text
/// input:  [ consumed | unprocessed | free ]     output: [ replies ]
///         0        start          end
/// ```
struct Lent {
    input: Vec<u8>,
    start: usize,
    end: usize,
    output: Vec<u8>,
}

impl Lent {
    fn new() -> Lent {
        Lent {
            input: vec![0; LENT_BUFFER_BYTES],
            start: 0,
            end: 0,
            output: Vec::with_capacity(LENT_BUFFER_BYTES),
        }
    }

    /// Free space to read into: compacts, then doubles up to the limit.
    fn make_room(&mut self) -> bool {
        if self.end < self.input.len() {
            return true;
        }
        if self.start > 0 {
            self.input.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, self.end - self.start);
            return true;
        }
        if self.input.len() >= INPUT_MAX_BYTES {
            return false;
        }
        self.input.resize(self.input.len() * 2, 0);
        true
    }
}

/// One client: its socket, and what it keeps between turns.
struct Conn {
    stream: Stream,
    /// A partial frame left at the end of the last turn.
    partial: Vec<u8>,
    /// Replies the socket did not take yet.
    unsent: Vec<u8>,
    /// WRITABLE is registered.
    writable: bool,
    /// A fatal frame was answered, or the peer closed: no more reads.
    closing: bool,
}

impl Conn {
    fn new(stream: Stream) -> Conn {
        Conn {
            stream,
            partial: Vec::new(),
            unsent: Vec::new(),
            writable: false,
            closing: false,
        }
    }

    /// Reads and answers until the socket is drained, then writes. `Ok(false)`
    /// when the connection is done (closing, and everything written).
    fn turn(&mut self, codec: &impl Codec, lent: &mut Lent) -> io::Result<bool> {
        let unsent = std::mem::take(&mut self.unsent);
        let written = write_all(&mut self.stream, &unsent)?;
        if written < unsent.len() {
            // The client is not reading: read nothing more until it does.
            self.unsent = unsent[written..].to_vec();
            return Ok(true);
        }
        if lent.input.len() < self.partial.len() {
            lent.input.resize(self.partial.len(), 0);
        }
        lent.input[..self.partial.len()].copy_from_slice(&self.partial);
        (lent.start, lent.end) = (0, self.partial.len());
        self.read_and_answer(codec, lent)?;
        self.partial.clear();
        self.partial
            .extend_from_slice(&lent.input[lent.start..lent.end]);
        let written = write_all(&mut self.stream, &lent.output)?;
        self.unsent.extend_from_slice(&lent.output[written..]);
        lent.output.clear();
        Ok(!(self.closing && self.unsent.is_empty()))
    }

    /// Alternates reads and answers until a read comes up short or would block.
    fn read_and_answer(&mut self, codec: &impl Codec, lent: &mut Lent) -> io::Result<()> {
        while !self.closing {
            if !lent.make_room() {
                // One frame larger than the floor takes: treat it as fatal.
                self.closing = true;
                break;
            }
            let free_bytes = lent.input.len() - lent.end;
            let read_bytes = match self.stream.read(&mut lent.input[lent.end..]) {
                Ok(0) => {
                    self.closing = true;
                    0
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            lent.end += read_bytes;
            let answered = codec.answer(&lent.input[lent.start..lent.end], &mut lent.output);
            lent.start += answered.consumed_bytes;
            self.closing |= answered.close;
            if read_bytes < free_bytes {
                break;
            }
        }
        Ok(())
    }

    /// WRITABLE only while output is pending.
    fn update_interest(&mut self, poll: &Poll, token: Token) -> io::Result<()> {
        let pending = !self.unsent.is_empty();
        if pending != self.writable {
            let interest = if pending {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            poll.registry()
                .reregister(&mut self.stream, token, interest)?;
            self.writable = pending;
        }
        Ok(())
    }
}

/// Writes `bytes` until done or the socket would block; returns the bytes written.
fn write_all(stream: &mut Stream, bytes: &[u8]) -> io::Result<usize> {
    let mut written = 0;
    while written < bytes.len() {
        match stream.write(&bytes[written..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(written)
}
