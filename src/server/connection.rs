//! One client connection and its own turn: read into the input buffer,
//! answer the complete frames, write the replies, and say what the loop
//! should do next.
//!
//! A turn ([`Connection::take_turn`]) flushes pending output, then alternates
//! answering every complete frame ([`Session::answer`]) with reading more,
//! until a read comes up short or would block (the socket is drained), the
//! per-turn request or byte budget is spent (the loop queues it for another
//! turn, so a flooding client cannot starve the others), or its output
//! cannot take the next reply (it waits for WRITABLE). Replies are encoded
//! straight into the output buffer and written before the turn ends, so a
//! pipelined burst costs one read and one write.
//!
//! Lifecycle (`Phase`): `Serving` reads and answers; `NoMoreInput` (the
//! peer shut its sending side, or the server is draining) answers what
//! arrived and closes once it is written; `Closing` (after a fatal frame, a
//! failed AUTH or a closing status) writes everything already answered, then
//! the final error, then closes. Output is bounded in every phase by the
//! output cap, the buffer budget and the output timeout.
//!
//! Timers are plain timestamps the loop's housekeeping checks
//! ([`Connection::overdue`]):
//! - `frame_started_ms`: first byte of the oldest incomplete frame; a frame
//!   must complete within the frame timeout however slowly bytes trickle in;
//! - `output_progress_ms`: last time pending output moved; a client that
//!   stops reading is closed after the output timeout;
//! - `last_active_ms`: last byte in either direction, for the idle timeout.

use std::io::{self, Read, Write};

use mio::{Interest, Registry, Token};

use super::buffers::{InputBuf, LENT_BUFFER_BYTES, OutputBuf, Room};
use super::stream::Stream;
use crate::command::Context;
use crate::protocol::{HEADER_BYTES, Status};
use crate::session::{AnswerBudget, AnswerEnd, Session};
use crate::stats::CloseReason;

/// Bytes read from one connection per turn before others get a turn.
const READ_BYTES_PER_TURN: usize = 1 << 20;

/// What a turn may do, the same for every connection.
#[derive(Clone, Copy, Debug)]
pub struct TurnPolicy {
    /// Requests answered per turn.
    pub requests_per_turn: usize,
    /// Unsent reply bytes a connection may hold.
    pub max_output_bytes: usize,
    /// The server is draining: answer what arrived, read no more.
    pub draining: bool,
}

/// The deadlines [`Connection::overdue`] checks.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// A started frame must complete within this.
    pub frame_ms: u64,
    /// Pending output must make progress within this.
    pub output_ms: u64,
    /// No byte in either direction for this long closes; `None` = never.
    pub idle_ms: Option<u64>,
}

/// The loop's warm buffers, lent to each connection for its turn.
#[derive(Debug)]
pub struct LentBuffers {
    input: InputBuf,
    output: OutputBuf,
}

impl Default for LentBuffers {
    fn default() -> Self {
        LentBuffers {
            input: InputBuf::with_capacity(LENT_BUFFER_BYTES),
            output: OutputBuf::with_capacity(LENT_BUFFER_BYTES),
        }
    }
}

/// How a connection's turn ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TurnEnd {
    /// Nothing more to do until the next readiness event.
    Wait,
    /// Work is left (budget spent); give it another turn soon.
    Again,
    /// Close the connection.
    Close(CloseReason),
}

/// Where a connection is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Reading and answering.
    Serving,
    /// No more reads (peer EOF or drain): answer what arrived, then close.
    NoMoreInput,
    /// The final reply is queued: write everything, then close for `reason`.
    Closing(CloseReason),
}

/// What one read attempt produced.
#[derive(Debug, PartialEq, Eq)]
enum ReadOutcome {
    /// Bytes arrived; `drained` when the read came up short of the free
    /// space, so the socket had nothing more and new bytes raise a new event.
    Data { bytes: usize, drained: bool },
    /// Nothing more to read now.
    WouldBlock,
    /// The peer closed its sending side.
    Eof,
    /// The buffer budget refused the growth this read needed.
    BudgetExhausted,
}

/// One client's stream, buffers, session and timers.
pub struct Connection {
    stream: Stream,
    input: InputBuf,
    output: OutputBuf,
    session: Session,
    phase: Phase,
    /// Whether the loop has it queued for another turn.
    queued: bool,
    /// Whether the poller reported the peer's close or an error.
    hangup_seen: bool,
    /// The interest currently registered with the poller.
    interest: Interest,
    frame_started_ms: Option<u64>,
    output_progress_ms: u64,
    last_active_ms: u64,
    /// Budget charged for the input buffer and for unsent output.
    charged_input_bytes: usize,
    charged_output_bytes: usize,
}

impl Connection {
    /// A connection accepted at `now_ms`; `authenticated` when no token is set.
    pub fn new(stream: Stream, authenticated: bool, now_ms: u64) -> Connection {
        Connection {
            stream,
            input: InputBuf::default(),
            output: OutputBuf::default(),
            session: Session::new(authenticated),
            phase: Phase::Serving,
            queued: false,
            hangup_seen: false,
            interest: Interest::READABLE,
            frame_started_ms: None,
            output_progress_ms: now_ms,
            last_active_ms: now_ms,
            charged_input_bytes: 0,
            charged_output_bytes: 0,
        }
    }

    /// Registers the socket under `token`, readable only.
    pub fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        registry.register(&mut self.stream, token, self.interest)
    }

    /// Deregisters the socket (dropping the connection then closes it).
    pub fn deregister(&mut self, registry: &Registry) {
        let _ = registry.deregister(&mut self.stream);
    }

    /// Makes the registered interest follow the state: WRITABLE only while
    /// output is pending.
    pub fn update_interest(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        let wanted = if self.output.pending_bytes() > 0 {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        if wanted != self.interest {
            registry.reregister(&mut self.stream, token, wanted)?;
            self.interest = wanted;
        }
        Ok(())
    }

    /// Marks it queued for another turn; false if it already was.
    pub fn enqueue(&mut self) -> bool {
        !std::mem::replace(&mut self.queued, true)
    }

    /// Notes that the poller saw the peer close or reset, so the next turn
    /// reads until EOF or the error instead of trusting a short read.
    pub fn note_hangup(&mut self) {
        self.hangup_seen = true;
    }

    /// Runs one turn with the loop's lent buffers, then settles what the
    /// connection keeps against the buffer budget.
    pub fn take_turn(
        &mut self,
        ctx: &mut Context,
        lent: &mut LentBuffers,
        policy: &TurnPolicy,
        now_ms: u64,
        key: usize,
    ) -> TurnEnd {
        self.queued = false;
        self.input.borrow_from(&mut lent.input);
        self.output.borrow_from(&mut lent.output);
        let mut end = self.turn(ctx, policy, now_ms, key);
        self.input.give_back(&mut lent.input);
        self.output.give_back(&mut lent.output);
        if !matches!(end, TurnEnd::Close(_)) && !self.keeps_within_budget(ctx) {
            // A partial frame read into the lent buffer is more than the budget can keep.
            self.send_final(CloseReason::BufferBudget, ctx, now_ms);
            end = TurnEnd::Close(CloseReason::BufferBudget);
        }
        self.settle(ctx);
        end
    }

    /// Whether what the connection keeps after its turn fits the budget.
    fn keeps_within_budget(&self, ctx: &Context) -> bool {
        let held_bytes = self.input.capacity_bytes() + self.output.held_bytes();
        let charged_bytes = self.charged_input_bytes + self.charged_output_bytes;
        held_bytes <= charged_bytes + ctx.budget.room_bytes()
    }

    /// Releases everything this connection charged to the budget.
    pub fn release(&mut self, ctx: &mut Context) {
        ctx.budget.settle(&mut self.charged_input_bytes, 0);
        ctx.budget.settle(&mut self.charged_output_bytes, 0);
    }

    /// Which deadline, if any, this connection has passed.
    pub fn overdue(&self, timeouts: &Timeouts, now_ms: u64) -> Option<CloseReason> {
        let since = |at_ms: u64| now_ms.saturating_sub(at_ms);
        if self.output.pending_bytes() > 0 && since(self.output_progress_ms) >= timeouts.output_ms {
            return Some(CloseReason::SlowReader);
        }
        if matches!(self.phase, Phase::Closing(_)) {
            // Only its output is left: the output timeout bounds it.
            return None;
        }
        if self
            .frame_started_ms
            .is_some_and(|started_ms| since(started_ms) >= timeouts.frame_ms)
        {
            return Some(CloseReason::FrameTimeout);
        }
        let idle = timeouts
            .idle_ms
            .is_some_and(|idle_ms| since(self.last_active_ms) >= idle_ms);
        idle.then_some(CloseReason::Idle)
    }

    /// Sends the closing status for `reason` (best effort: what the socket
    /// takes now) unless the connection is already closing.
    pub fn send_final(&mut self, reason: CloseReason, ctx: &mut Context, now_ms: u64) {
        if matches!(self.phase, Phase::Closing(_)) {
            return;
        }
        let (status, message) = match reason {
            CloseReason::FrameTimeout => (Status::Timeout, "frame not completed in time"),
            CloseReason::Idle => (Status::Timeout, "idle too long"),
            CloseReason::SlowReader => (Status::Busy, "replies not read in time"),
            CloseReason::BufferBudget => (Status::Busy, "server buffer budget exhausted"),
            CloseReason::TooManyConnections => (Status::TooManyConnections, "too many connections"),
            CloseReason::Shutdown => (Status::ShuttingDown, "server shutting down"),
            // The peer is gone, or was told already (a fatal frame's own error).
            CloseReason::Peer | CloseReason::Protocol | CloseReason::IoError => return,
        };
        self.session
            .closing_error(ctx, status, message, &mut self.output.bytes);
        self.phase = Phase::Closing(reason);
        let _ = self.flush(ctx, now_ms);
    }

    fn turn(&mut self, ctx: &mut Context, policy: &TurnPolicy, now_ms: u64, key: usize) -> TurnEnd {
        if let Err(end) = self.flush(ctx, now_ms) {
            return end;
        }
        if let Phase::Closing(reason) = self.phase {
            return self.close_when_written(reason);
        }
        let mut served = 0;
        let mut read_bytes = 0;
        let mut socket_drained = false;
        loop {
            let answered = if self.input.is_empty() {
                AnswerEnd::NeedMore
            } else {
                self.answer(ctx, policy, &mut served, now_ms, key)
            };
            match answered {
                AnswerEnd::NeedMore => {}
                AnswerEnd::RequestsSpent => {
                    return self.flush_then(ctx, policy, now_ms, TurnEnd::Again);
                }
                AnswerEnd::OutputFull if self.output.pending_bytes() == 0 => {
                    // Nothing of its own to write, yet no room: the budget is spent.
                    return self.fail(ctx, CloseReason::BufferBudget, now_ms);
                }
                AnswerEnd::OutputFull => match self.flush(ctx, now_ms) {
                    Err(end) => return end,
                    // The peer is not reading yet: go on reading its requests
                    // (up to the input limit) while the replies wait, so a
                    // client that writes a whole pipeline before it reads
                    // (redis-py, Jedis) does not block on its own write.
                    Ok(()) if self.output.pending_bytes() > 0 => {}
                    Ok(()) => continue,
                },
                AnswerEnd::Close => {
                    self.phase = Phase::Closing(CloseReason::Protocol);
                    self.frame_started_ms = None;
                    return self.flush_then(ctx, policy, now_ms, TurnEnd::Wait);
                }
            }
            if socket_drained && policy.draining {
                // A draining server answers what already arrived, then reads no more.
                self.phase = Phase::NoMoreInput;
            }
            if self.phase != Phase::Serving || socket_drained {
                break;
            }
            if read_bytes >= READ_BYTES_PER_TURN {
                return self.flush_then(ctx, policy, now_ms, TurnEnd::Again);
            }
            match self.read(ctx, now_ms) {
                Ok(ReadOutcome::Data { bytes, drained }) => {
                    read_bytes += bytes;
                    // After a hangup a short read can hide the EOF or error
                    // behind it, and no further event will come: read on.
                    socket_drained = drained && !self.hangup_seen;
                }
                Ok(ReadOutcome::WouldBlock) => socket_drained = true,
                Ok(ReadOutcome::Eof) => self.phase = Phase::NoMoreInput,
                Ok(ReadOutcome::BudgetExhausted) => {
                    return self.fail(ctx, CloseReason::BufferBudget, now_ms);
                }
                Err(e) => {
                    tracing::debug!(conn = key, error = %e, "read failed");
                    return TurnEnd::Close(CloseReason::IoError);
                }
            }
        }
        self.flush_then(ctx, policy, now_ms, TurnEnd::Wait)
    }

    /// Answers the complete frames in the input within the turn's budgets.
    fn answer(
        &mut self,
        ctx: &mut Context,
        policy: &TurnPolicy,
        served: &mut usize,
        now_ms: u64,
        key: usize,
    ) -> AnswerEnd {
        let was_pending = self.output.pending_bytes() > 0;
        let budget = AnswerBudget {
            max_requests: policy.requests_per_turn.saturating_sub(*served),
            max_output_len: self.output.bytes.len() - self.output.pending_bytes()
                + self.output_allowance_bytes(ctx, policy),
        };
        let answered = self.session.answer(
            self.input.unprocessed(),
            ctx,
            budget,
            &mut self.output.bytes,
            now_ms,
            key,
        );
        self.input.consume(answered.consumed_bytes);
        *served += answered.replies;
        let pending_bytes = self.output.pending_bytes();
        ctx.budget
            .settle(&mut self.charged_output_bytes, pending_bytes);
        if !was_pending && pending_bytes > 0 {
            self.output_progress_ms = now_ms;
        }
        self.frame_started_ms = if self.input.is_empty() {
            None
        } else if answered.replies > 0 || self.frame_started_ms.is_none() {
            Some(now_ms)
        } else {
            self.frame_started_ms
        };
        answered.end
    }

    /// Unsent bytes this connection may hold: its output cap, or less when
    /// the buffer budget has less room.
    fn output_allowance_bytes(&self, ctx: &Context, policy: &TurnPolicy) -> usize {
        let budget_bytes = ctx.budget.room_bytes() + self.charged_output_bytes;
        policy.max_output_bytes.min(budget_bytes)
    }

    /// Reads once into the input buffer, growing it within the frame limit.
    fn read(&mut self, ctx: &mut Context, now_ms: u64) -> io::Result<ReadOutcome> {
        let max_frame_bytes = self.session.limits(&ctx.limits).max_frame_bytes as usize;
        let capacity_before = self.input.capacity_bytes();
        let stream = &self.stream;
        let max_bytes = HEADER_BYTES + max_frame_bytes;
        match self
            .input
            .make_room(max_bytes, || stream.arrived_bytes(), &ctx.budget)
        {
            Room::Ready => {}
            // A peer that hung up mid-frame sends nothing more: its EOF is all that is left.
            Room::NothingArrived if self.hangup_seen => return Ok(ReadOutcome::Eof),
            Room::NothingArrived => return Ok(ReadOutcome::WouldBlock),
            Room::Refused => return Ok(ReadOutcome::BudgetExhausted),
        }
        let grown_bytes = self.input.capacity_bytes() - capacity_before;
        let charged_bytes = self.charged_input_bytes + grown_bytes;
        ctx.budget
            .settle(&mut self.charged_input_bytes, charged_bytes);
        loop {
            let free = self.input.free_mut();
            let free_bytes = free.len();
            return match self.stream.read(free) {
                Ok(0) => Ok(ReadOutcome::Eof),
                Ok(n) => {
                    self.input.filled(n);
                    ctx.counters.bytes_in += n as u64;
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

    /// Writes pending output until done or the socket would block. The one
    /// place bytes leave the server, so the one place `bytes_out` counts.
    fn flush(&mut self, ctx: &mut Context, now_ms: u64) -> Result<(), TurnEnd> {
        let mut written = 0;
        while self.output.pending_bytes() > 0 {
            match self.stream.write(self.output.pending()) {
                Ok(0) => return Err(TurnEnd::Close(CloseReason::IoError)),
                Ok(n) => {
                    self.output.sent(n);
                    written += n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::debug!(error = %e, "write failed");
                    return Err(TurnEnd::Close(close_reason_for(&e)));
                }
            }
        }
        if written > 0 {
            ctx.counters.bytes_out += written as u64;
            self.output_progress_ms = now_ms;
            self.last_active_ms = now_ms;
        }
        Ok(())
    }

    /// Flushes, then ends the turn: closes a connection with nothing left
    /// to do, otherwise `end`.
    fn flush_then(
        &mut self,
        ctx: &mut Context,
        policy: &TurnPolicy,
        now_ms: u64,
        end: TurnEnd,
    ) -> TurnEnd {
        if let Err(end) = self.flush(ctx, now_ms) {
            return end;
        }
        match (self.phase, end) {
            (Phase::Closing(reason), _) => self.close_when_written(reason),
            (_, TurnEnd::Again) => TurnEnd::Again,
            (Phase::NoMoreInput, _) => self.finish_input(ctx, policy, now_ms),
            (Phase::Serving, _) => end,
        }
    }

    /// No more input and every complete frame answered: close once the
    /// replies are written. A draining server first tells a client whose
    /// frame was still arriving why.
    fn finish_input(&mut self, ctx: &mut Context, policy: &TurnPolicy, now_ms: u64) -> TurnEnd {
        if self.output.pending_bytes() > 0 {
            return TurnEnd::Wait;
        }
        if !policy.draining {
            return TurnEnd::Close(CloseReason::Peer);
        }
        if self.input.is_empty() {
            return TurnEnd::Close(CloseReason::Shutdown);
        }
        self.fail(ctx, CloseReason::Shutdown, now_ms)
    }

    /// Queues the closing status for `reason` behind every reply already
    /// answered, and closes once all of it is written.
    fn fail(&mut self, ctx: &mut Context, reason: CloseReason, now_ms: u64) -> TurnEnd {
        self.send_final(reason, ctx, now_ms);
        self.close_when_written(reason)
    }

    fn close_when_written(&self, reason: CloseReason) -> TurnEnd {
        if self.output.pending_bytes() == 0 {
            TurnEnd::Close(reason)
        } else {
            TurnEnd::Wait
        }
    }

    /// Charges the budget for what the connection keeps after its turn.
    fn settle(&mut self, ctx: &mut Context) {
        ctx.budget
            .settle(&mut self.charged_input_bytes, self.input.capacity_bytes());
        ctx.budget
            .settle(&mut self.charged_output_bytes, self.output.held_bytes());
    }
}

fn close_reason_for(error: &io::Error) -> CloseReason {
    match error.kind() {
        io::ErrorKind::BrokenPipe
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted => CloseReason::Peer,
        _ => CloseReason::IoError,
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream as StdUnixStream;

    use super::*;
    use crate::protocol::{Limits, Request, encode_request};

    const POLICY: TurnPolicy = TurnPolicy {
        requests_per_turn: 256,
        max_output_bytes: 4 << 20,
        draining: false,
    };
    /// A budget far above anything these tests hold.
    const AMPLE_BYTES: usize = 1 << 30;

    struct Harness {
        conn: Connection,
        peer: StdUnixStream,
        ctx: Context,
        lent: LentBuffers,
    }

    impl Harness {
        fn new(budget_bytes: usize) -> Harness {
            let (peer, ours) = StdUnixStream::pair().unwrap();
            ours.set_nonblocking(true).unwrap();
            let stream = Stream::Unix(mio::net::UnixStream::from_std(ours));
            let mut ctx = Context::for_tests(1 << 20, Limits::DEFAULT, None);
            ctx.budget = super::super::buffers::BufferBudget::new(budget_bytes);
            Harness {
                conn: Connection::new(stream, true, 0),
                peer,
                ctx,
                lent: LentBuffers::default(),
            }
        }

        fn send(&mut self, requests: &[Request<'_>]) {
            let mut bytes = Vec::new();
            for request in requests {
                encode_request(request, &mut bytes);
            }
            self.peer.write_all(&bytes).unwrap();
        }

        fn turn(&mut self, policy: &TurnPolicy) -> TurnEnd {
            self.conn
                .take_turn(&mut self.ctx, &mut self.lent, policy, 0, 0)
        }

        /// Every byte the connection has written so far.
        fn received(&mut self) -> Vec<u8> {
            self.peer.set_nonblocking(true).unwrap();
            let mut received = Vec::new();
            let _ = self.peer.read_to_end(&mut received);
            received
        }
    }

    #[test]
    fn a_hangup_after_requests_answers_them_then_closes() {
        let mut h = Harness::new(AMPLE_BYTES);
        h.send(&[Request::Ping, Request::Get { key: b"k" }]);
        h.peer.shutdown(std::net::Shutdown::Write).unwrap();
        h.conn.note_hangup();
        assert_eq!(h.turn(&POLICY), TurnEnd::Close(CloseReason::Peer));
        assert_eq!(h.received(), [0, 0, 0, 1, 0, 0, 0, 0, 1, 1]);
        assert_eq!(h.ctx.budget.used_bytes(), 0, "nothing kept");
    }

    #[test]
    fn a_client_that_does_not_read_waits_for_writable_within_its_cap() {
        let mut h = Harness::new(AMPLE_BYTES);
        let value = vec![7u8; 60_000];
        h.send(&[Request::Set {
            key: b"v",
            value: &value,
            ttl_ms: 0,
        }]);
        let gets = vec![Request::Get { key: b"v" }; 400];
        h.send(&gets);
        let policy = TurnPolicy {
            max_output_bytes: 2 << 20,
            ..POLICY
        };
        assert_eq!(h.turn(&policy), TurnEnd::Wait);
        let held = h.conn.output.pending_bytes();
        assert!(held > 0, "replies wait for the reader");
        assert!(held <= policy.max_output_bytes, "{held} within the cap");
        assert_eq!(
            h.ctx.budget.used_bytes(),
            held + h.conn.input.capacity_bytes()
        );
        assert!(
            !h.conn.input.is_empty(),
            "the rest of the pipeline waits unread"
        );
    }

    #[test]
    fn a_drain_answers_what_arrived_and_turns_away_a_partial_frame() {
        let mut h = Harness::new(AMPLE_BYTES);
        h.send(&[Request::Ping]);
        h.peer.write_all(&[0, 0, 0, 9, 0x10]).unwrap();
        let draining = TurnPolicy {
            draining: true,
            ..POLICY
        };
        assert_eq!(h.turn(&draining), TurnEnd::Close(CloseReason::Shutdown));
        let received = h.received();
        assert_eq!(&received[..5], [0, 0, 0, 1, 0]);
        assert_eq!(received[9], Status::ShuttingDown as u8);
    }

    #[test]
    fn a_frame_the_budget_cannot_hold_is_refused_with_busy() {
        let mut h = Harness::new(8 * 1024);
        let mut partial = 100_000u32.to_be_bytes().to_vec();
        partial.extend_from_slice(&[0x11; 80_000]);
        // A Unix socket pair buffers this much without a reader.
        h.peer.write_all(&partial).unwrap();
        let mut ends = vec![h.turn(&POLICY)];
        while ends.last() == Some(&TurnEnd::Wait) && ends.len() < 1_000 {
            ends.push(h.turn(&POLICY));
        }
        assert_eq!(
            ends.last(),
            Some(&TurnEnd::Close(CloseReason::BufferBudget))
        );
        let mut reply = [0u8; 5];
        h.peer.read_exact(&mut reply).unwrap();
        assert_eq!(reply[4], Status::Busy as u8);
        h.conn.release(&mut h.ctx);
        assert_eq!(h.ctx.budget.used_bytes(), 0);
    }

    #[test]
    fn a_fatal_frame_keeps_the_connection_until_its_backlog_is_written() {
        let mut h = Harness::new(AMPLE_BYTES);
        let value = vec![7u8; 60_000];
        h.send(&[Request::Set {
            key: b"v",
            value: &value,
            ttl_ms: 0,
        }]);
        h.send(&vec![Request::Get { key: b"v" }; 100]);
        h.peer.write_all(&[0, 0, 0, 0]).unwrap();
        let mut ends = vec![h.turn(&POLICY)];
        let mut received = Vec::new();
        while ends.last() == Some(&TurnEnd::Wait) && ends.len() < 1_000 {
            received.extend(h.received());
            ends.push(h.turn(&POLICY));
        }
        received.extend(h.received());
        assert_eq!(ends.last(), Some(&TurnEnd::Close(CloseReason::Protocol)));
        let replies_bytes = 5 + 100 * (5 + value.len());
        assert!(
            received.len() > replies_bytes + 5,
            "the error follows the backlog"
        );
        assert_eq!(received[replies_bytes + 4], Status::Malformed as u8);
        for reply in 0..100 {
            let at = 5 + reply * (5 + value.len());
            assert_eq!(received[at + 4], Status::Ok as u8, "reply {reply}");
        }
    }
}
