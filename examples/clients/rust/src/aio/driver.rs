//! The task that owns the async client's connection. Callers hand it
//! [`Submission`]s (encoded frames plus a reply channel); it appends them to
//! one write buffer, so calls issued together share a write (auto-
//! pipelining), and matches replies to a FIFO of [`Slot`]s in order.
//!
//! Invariants:
//! - One slot per submission, in write order; a slot leaves the FIFO only
//!   when all its replies are in, or the connection fails. A caller that
//!   gave up (its future dropped) keeps its slot: its replies are read and
//!   discarded, so they can never reach another caller.
//! - While any slot waits, a read timeout runs from the last byte received;
//!   when it passes, the connection is closed (half-open or stopped peer).
//! - A failure (EOF, I/O error, invalid frame, closing status, timeout)
//!   fails every waiting slot with "outcome unknown" and drops the link. The
//!   next submission reconnects, unless a backoff window from failed connects
//!   is open, in which case it fails at once with the last connect error
//!   (fail fast: no unbounded offline queue).

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::io::Interest;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep_until};

use super::Shared;
use super::stream::AsyncStream;
use crate::config::Config;
use crate::error::{Error, RequestSizes, Result, TimeoutKind};
use crate::reply::{FromReply, Value};
use crate::session::{Handshake, Session};
use crate::wire::{Opcode, ReplyBuffer};

/// Most slots in flight on the connection; past it, submissions wait in the
/// channel (whose bound then pushes back on callers). Enough to keep a
/// loopback link busy, small enough that a stall strands little.
const MAX_PENDING_SLOTS: usize = 4096;

/// Reads per wake-up before the driver turns to submissions and yields: a
/// reply stream that never runs dry must not starve callers or the runtime.
const READS_PER_TURN: usize = 16;

/// One caller's request(s), encoded.
#[derive(Debug)]
pub(crate) struct Submission {
    pub(crate) frames: Vec<u8>,
    pub(crate) calls: Vec<(Opcode, RequestSizes)>,
    pub(crate) reply_to: oneshot::Sender<Vec<Result<Value>>>,
}

/// A submission on the wire, collecting its replies.
#[derive(Debug)]
struct Slot {
    calls: Vec<(Opcode, RequestSizes)>,
    results: Vec<Result<Value>>,
    reply_to: oneshot::Sender<Vec<Result<Value>>>,
}

impl Slot {
    fn finish(self) {
        // A dropped receiver is a caller that gave up: discard its replies.
        let _ = self.reply_to.send(self.results);
    }

    fn fail(mut self, error: &Error) {
        while self.results.len() < self.calls.len() {
            self.results.push(Err(error.clone()));
        }
        self.finish();
    }
}

/// A live connection and its queues.
#[derive(Debug)]
struct Link {
    stream: AsyncStream,
    input: ReplyBuffer,
    output: Vec<u8>,
    written: usize,
    pending: VecDeque<Slot>,
    /// The last time a byte arrived, or the FIFO went from empty to busy.
    progress_at: Instant,
    /// A write failed: nothing more can be sent on this link.
    write_closed: bool,
}

/// What woke the driver.
enum Event {
    Submitted(Option<Submission>),
    Ready(io::Result<tokio::io::Ready>),
    TimedOut,
}

pub(crate) struct Driver {
    config: Config,
    shared: Arc<Shared>,
    requests: mpsc::Receiver<Submission>,
    link: Option<Link>,
    failures: u32,
    retry_at: Option<Instant>,
    last_error: Option<Error>,
}

impl Driver {
    /// Connects once, for [`Client::connect`](super::Client::connect) to
    /// report the first connection's errors directly.
    pub(crate) async fn start(
        config: Config,
        shared: Arc<Shared>,
        requests: mpsc::Receiver<Submission>,
    ) -> Result<Driver> {
        let mut driver = Driver {
            config,
            shared,
            requests,
            link: None,
            failures: 0,
            retry_at: None,
            last_error: None,
        };
        driver.link = Some(driver.connect().await?);
        Ok(driver)
    }

    /// Runs until every client handle is dropped.
    pub(crate) async fn run(mut self) {
        loop {
            let Some(link) = self.link.as_mut() else {
                let Some(submission) = self.requests.recv().await else {
                    return;
                };
                self.reconnect_for(submission).await;
                continue;
            };
            let mut interest = Interest::READABLE;
            if link.written < link.output.len() {
                interest |= Interest::WRITABLE;
            }
            let deadline = link.progress_at + self.config.read_timeout;
            // Bytes that arrived (a close above all) are handled before new
            // submissions, so none is written to a connection known dead.
            let event = tokio::select! {
                biased;
                ready = link.stream.ready(interest) => Event::Ready(ready),
                submission = self.requests.recv(), if link.pending.len() < MAX_PENDING_SLOTS => {
                    Event::Submitted(submission)
                }
                () = sleep_until(deadline), if !link.pending.is_empty() => Event::TimedOut,
            };
            let outcome = match event {
                Event::Submitted(None) => return,
                Event::Submitted(Some(submission)) => {
                    link.push(submission);
                    link.take_queued(&mut self.requests);
                    link.write()
                }
                // After the replies, whatever callers queued meanwhile joins
                // the next write: a busy socket never starves submissions.
                Event::Ready(Ok(ready)) => {
                    let read = if ready.is_readable() {
                        link.read(&self.shared)
                    } else {
                        Ok(())
                    };
                    read.and_then(|()| {
                        link.take_queued(&mut self.requests);
                        link.write()
                    })
                }
                Event::Ready(Err(e)) => Err(Error::from_io(e)),
                Event::TimedOut => Err(Error::Timeout(TimeoutKind::Read)),
            };
            // A link that can no longer send is done once nothing waits on it.
            let spent = link.write_closed && link.pending.is_empty();
            let finished = if spent {
                outcome.and(Err(Error::ConnectionClosed))
            } else {
                outcome
            };
            if let Err(error) = finished {
                self.drop_link(&error);
            }
        }
    }

    /// Connects for `submission`, or fails it at once inside a backoff window.
    async fn reconnect_for(&mut self, submission: Submission) {
        if self.retry_at.is_some_and(|at| at > Instant::now()) {
            let error = self.last_error.clone().unwrap_or(Error::ConnectionClosed);
            return fail_submission(submission, &error);
        }
        match self.connect().await {
            Ok(mut link) => {
                link.push(submission);
                self.link = match link.write() {
                    Ok(()) => Some(link),
                    Err(error) => {
                        link.fail_all(&error);
                        None
                    }
                };
            }
            Err(error) => fail_submission(submission, &error),
        }
    }

    /// Opens a link and runs the handshake, recording the outcome in the
    /// backoff state and the shared session.
    async fn connect(&mut self) -> Result<Link> {
        self.shared
            .metrics
            .connect_attempts
            .fetch_add(1, Ordering::Relaxed);
        let timeout = self.config.connect_timeout;
        let attempt = tokio::time::timeout(timeout, open(&self.config)).await;
        let result = attempt.unwrap_or(Err(Error::Timeout(TimeoutKind::Connect)));
        match result {
            Ok((link, session)) => {
                *self.shared.lock_session() = session;
                self.failures = 0;
                self.retry_at = None;
                self.last_error = None;
                Ok(link)
            }
            Err(error) => {
                self.shared
                    .metrics
                    .connect_failures
                    .fetch_add(1, Ordering::Relaxed);
                self.failures = self.failures.saturating_add(1);
                self.retry_at = Some(Instant::now() + self.config.backoff.delay(self.failures));
                self.last_error = Some(error.clone());
                Err(error)
            }
        }
    }

    fn drop_link(&mut self, error: &Error) {
        if let Some(link) = self.link.take() {
            link.fail_all(error);
        }
    }
}

fn fail_submission(submission: Submission, error: &Error) {
    let slot = Slot {
        calls: submission.calls,
        results: Vec::new(),
        reply_to: submission.reply_to,
    };
    slot.fail(error);
}

/// Connects and runs the HELLO (+ AUTH) handshake on a fresh link.
async fn open(config: &Config) -> Result<(Link, Session)> {
    let stream = AsyncStream::connect(&config.address, config.connect_timeout).await?;
    let handshake = Handshake::new(config.auth_token.as_deref());
    // A server that refuses the connection (ERR_TOO_MANY_CONNECTIONS) may
    // have closed before the write: its reply, still readable, says why.
    let written = stream.write_all(&handshake.frames).await;
    let mut input = ReplyBuffer::new();
    let mut session = Session::default();
    let mut index = 0;
    while index < handshake.replies {
        match input.next_reply()? {
            Some(reply) => {
                Handshake::read_reply(&mut session, index, reply)?;
                index += 1;
            }
            None => {
                if let Err(e) = stream.read_more(&mut input).await {
                    return Err(Error::from_io(written.err().unwrap_or(e)));
                }
            }
        }
    }
    written.map_err(Error::from_io)?;
    input.set_max_frame_bytes(session.max_reply_frame_bytes());
    let link = Link {
        stream,
        input,
        output: Vec::new(),
        written: 0,
        pending: VecDeque::new(),
        progress_at: Instant::now(),
        write_closed: false,
    };
    Ok((link, session))
}

impl Link {
    fn push(&mut self, submission: Submission) {
        if self.write_closed {
            return fail_submission(submission, &Error::ConnectionClosed);
        }
        if self.pending.is_empty() {
            self.progress_at = Instant::now();
        }
        self.output.extend_from_slice(&submission.frames);
        let results = Vec::with_capacity(submission.calls.len());
        self.pending.push_back(Slot {
            calls: submission.calls,
            results,
            reply_to: submission.reply_to,
        });
    }

    /// Moves every submission already queued into the link (auto-pipelining:
    /// they share the next write), up to the in-flight bound.
    fn take_queued(&mut self, requests: &mut mpsc::Receiver<Submission>) {
        while self.pending.len() < MAX_PENDING_SLOTS {
            let Ok(submission) = requests.try_recv() else {
                break;
            };
            self.push(submission);
        }
    }

    /// Writes until done or the socket is full. When the peer has closed,
    /// the output is dropped but the link stays up while replies may still
    /// arrive: a final reply explains the close, and EOF then ends the link.
    fn write(&mut self) -> Result<()> {
        while self.written < self.output.len() {
            match self.stream.try_write(&self.output[self.written..]) {
                Ok(n) if n > 0 => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Ok(_) | Err(_) => {
                    self.write_closed = true;
                    break;
                }
            }
        }
        self.output.clear();
        self.written = 0;
        Ok(())
    }

    /// Reads until the socket is drained or the turn's reads are used up,
    /// handing each reply to its slot.
    fn read(&mut self, shared: &Shared) -> Result<()> {
        for _ in 0..READS_PER_TURN {
            match self.stream.try_read(&mut self.input) {
                Ok(0) => return Err(Error::ConnectionClosed),
                Ok(_) => {
                    self.progress_at = Instant::now();
                    self.dispatch(shared)?;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::from_io(e)),
            }
        }
        Ok(())
    }

    /// Hands every complete reply to the front slot. A reply with no slot
    /// (an unsolicited closing status), or one that closes the connection,
    /// ends the link.
    fn dispatch(&mut self, shared: &Shared) -> Result<()> {
        while let Some(reply) = self.input.next_reply()? {
            let Some(slot) = self.pending.front_mut() else {
                return Err(Error::ConnectionClosed);
            };
            let (op, sizes) = slot.calls[slot.results.len()];
            let result = Value::from_reply(op, reply, &sizes).and_then(|value| {
                shared.lock_session().observe(op, reply)?;
                Ok(value)
            });
            let closes = matches!(&result, Err(e) if e.closes_connection());
            slot.results.push(result);
            if slot.results.len() == slot.calls.len() {
                if let Some(done) = self.pending.pop_front() {
                    done.finish();
                }
            }
            if closes {
                return Err(Error::ConnectionClosed);
            }
        }
        Ok(())
    }

    fn fail_all(self, error: &Error) {
        for slot in self.pending {
            slot.fail(error);
        }
    }
}
