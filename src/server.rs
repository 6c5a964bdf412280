//! The event loop: one thread owns the poller, the listeners, every
//! connection, the store and the clock.
//!
//! Each turn: poll (timeout = the nearest of the next housekeeping sweep, the
//! store's next expiry, an accept retry, the drain deadline; zero while some
//! connection has leftover work), read the clock once, handle every event,
//! give queued connections another turn, run a bounded expiry sweep, and every
//! 100 ms sweep connection timers.
//!
//! A connection's turn: flush pending output; then alternately execute every
//! complete frame in its input ([`crate::batch`]) and read more, until a read
//! comes up short or would block (the socket is drained), the per-turn
//! request or byte budget is spent (it is queued for another
//! turn, so a flooding client cannot starve the others), or its pending
//! output reaches `max_output_bytes` (it waits for WRITABLE). Replies are
//! encoded straight into its output buffer and written before the turn ends,
//! so a pipelined burst costs one read and one write.
//!
//! An error closes that connection only. Tokens: the slab key for
//! connections; listeners and signals use reserved tokens at the top of the
//! range, which the connection cap keeps clear of.

use std::io;
use std::time::Duration;

use mio::{Events, Interest, Poll, Token};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook_mio::v1_0::Signals;
use slab::Slab;

use crate::batch::{self, BatchBudget, BatchEnd};
use crate::clock::Clock;
use crate::command::{self, Context, Gauges};
use crate::config::Config;
use crate::connection::{BufferBudget, Connection, InputBuf, LENT_BUFFER_BYTES, ReadOutcome};
use crate::listener::{self, Listener};
use crate::logging::DroppedLines;
use crate::protocol::{self, Limits, Status};
use crate::stats::{CloseReason, ServerCounters, SharedSnapshot};
use crate::store::Store;

const SIGNAL_TOKEN: Token = Token(usize::MAX - 1);
/// Listener `i` uses `Token(LISTENER_TOKEN_BASE - i)`.
const LISTENER_TOKEN_BASE: usize = usize::MAX - 2;
/// Connection timers are checked this often.
const HOUSEKEEPING_INTERVAL_MS: u64 = 100;
/// The STATS snapshot for other threads is refreshed this often.
const PUBLISH_INTERVAL_MS: u64 = 1_000;
/// Expired entries reclaimed per turn at most, so a mass expiry cannot stall clients.
const EXPIRY_PER_TURN: usize = 1_024;
/// Connections accepted per listener per turn before other work runs.
const ACCEPTS_PER_TURN: usize = 256;
/// Pause before retrying accept after the process ran out of descriptors.
const ACCEPT_BACKOFF_MS: u64 = 100;
/// Bytes read from one connection per turn before others get a turn.
const READ_BYTES_PER_TURN: usize = 1 << 20;
/// Events drained per poll call.
const EVENTS_CAPACITY: usize = 1_024;

/// How the loop ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// A signal, then every connection drained (or the drain deadline passed).
    Clean,
    /// A second signal during the drain.
    Forced,
}

/// The server: everything the loop owns.
pub struct Server {
    poll: Poll,
    listeners: Vec<Listener>,
    signals: Signals,
    conns: Slab<Connection>,
    store: Store,
    config: Config,
    pre_auth_limits: Limits,
    counters: ServerCounters,
    clock: Clock,
    budget: BufferBudget,
    lent_input: InputBuf,
    lent_output: Vec<u8>,
    queued: Vec<usize>,
    doomed: Vec<(usize, CloseReason)>,
    accept_retry_ms: Option<u64>,
    /// Set while accepting fails for lack of descriptors or memory.
    accept_starved: bool,
    next_housekeeping_ms: u64,
    next_publish_ms: u64,
    drain_deadline_ms: Option<u64>,
    snapshot: SharedSnapshot,
    dropped_lines: DroppedLines,
}

impl Server {
    /// Binds the configured listeners and prepares the loop.
    pub fn bind(
        config: Config,
        snapshot: SharedSnapshot,
        dropped_lines: DroppedLines,
    ) -> io::Result<Server> {
        let poll = Poll::new()?;
        let mut listeners = Vec::new();
        if let Some(addr) = config.tcp_addr {
            listeners.push(listener::bind_tcp(addr)?);
        }
        if let Some(path) = &config.unix_socket {
            listeners.push(listener::bind_unix(path, config.unix_socket_mode)?);
        }
        for (index, listener) in listeners.iter_mut().enumerate() {
            poll.registry().register(
                listener.source(),
                listener_token(index),
                Interest::READABLE,
            )?;
        }
        let mut signals = Signals::new([SIGTERM, SIGINT])?;
        poll.registry()
            .register(&mut signals, SIGNAL_TOKEN, Interest::READABLE)?;
        Ok(Server {
            poll,
            listeners,
            signals,
            conns: Slab::with_capacity(config.max_connections.min(1024)),
            store: Store::try_new(config.memory_limit_bytes)?,
            pre_auth_limits: config.limits.pre_auth(),
            budget: BufferBudget::new(config.buffer_budget_bytes),
            config,
            counters: ServerCounters::default(),
            clock: Clock::start(),
            lent_input: InputBuf::with_capacity(LENT_BUFFER_BYTES),
            lent_output: Vec::with_capacity(LENT_BUFFER_BYTES),
            queued: Vec::new(),
            doomed: Vec::new(),
            accept_retry_ms: None,
            accept_starved: false,
            next_housekeeping_ms: 0,
            next_publish_ms: 0,
            drain_deadline_ms: None,
            snapshot,
            dropped_lines,
        })
    }

    /// `ready` followed by each listener, e.g. `ready tcp 127.0.0.1:25465, unix /run/b.sock`;
    /// the real port appears when the configured one was 0.
    pub fn ready_line(&self) -> String {
        let listeners: Vec<String> = self.listeners.iter().map(Listener::describe).collect();
        format!("ready {}", listeners.join(", "))
    }

    /// Runs until a signal and a drain, or a second signal.
    pub fn run(mut self) -> io::Result<Exit> {
        for listener in &self.listeners {
            tracing::info!(listener = %listener.describe(), "listening");
        }
        let mut events = Events::with_capacity(EVENTS_CAPACITY);
        loop {
            let timeout = self.poll_timeout(self.clock.now_ms());
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            let now_ms = self.clock.now_ms();
            for event in events.iter() {
                match event.token() {
                    SIGNAL_TOKEN => {
                        if self.on_signals(now_ms) == Some(Exit::Forced) {
                            self.close_listeners();
                            return Ok(Exit::Forced);
                        }
                    }
                    Token(key)
                        if key > LISTENER_TOKEN_BASE - self.listeners.len()
                            && key <= LISTENER_TOKEN_BASE =>
                    {
                        self.accept(LISTENER_TOKEN_BASE - key, now_ms);
                    }
                    Token(key) => {
                        if event.is_read_closed() || event.is_error() {
                            self.note_hangup(key);
                        }
                        self.serve(key, now_ms);
                    }
                }
            }
            self.serve_queued(now_ms);
            if self.accept_retry_ms.is_some_and(|at_ms| now_ms >= at_ms) {
                self.accept_retry_ms = None;
                for index in 0..self.listeners.len() {
                    self.accept(index, now_ms);
                }
            }
            self.store.tick(now_ms, EXPIRY_PER_TURN);
            if now_ms >= self.next_housekeeping_ms {
                self.housekeeping(now_ms);
            }
            if let Some(deadline_ms) = self.drain_deadline_ms {
                if self.conns.is_empty() || now_ms >= deadline_ms {
                    self.close_all_shutting_down(now_ms);
                    return Ok(Exit::Clean);
                }
            }
        }
    }

    fn poll_timeout(&self, now_ms: u64) -> Duration {
        if !self.queued.is_empty() {
            return Duration::ZERO;
        }
        let wake_ms = [
            Some(self.next_housekeeping_ms),
            self.store.next_expiry_ms(),
            self.accept_retry_ms,
            self.drain_deadline_ms,
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(now_ms);
        Duration::from_millis(wake_ms.saturating_sub(now_ms))
    }

    /// Accepts until the listener would block, the per-turn cap, or fd exhaustion.
    fn accept(&mut self, index: usize, now_ms: u64) {
        for _ in 0..ACCEPTS_PER_TURN {
            let Some(listener) = self.listeners.get(index) else {
                return;
            };
            match listener.accept() {
                Ok(stream) => {
                    if std::mem::take(&mut self.accept_starved) {
                        tracing::info!("accepting connections again");
                    }
                    self.admit(stream, now_ms);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    self.counters.accept_errors += 1;
                    if is_resource_exhaustion(&e) {
                        // Edge-triggered readiness will not fire again for
                        // the waiting backlog; retry on a timer instead of spinning.
                        // One warning per starved stretch, not one per retry.
                        if !std::mem::replace(&mut self.accept_starved, true) {
                            tracing::warn!(error = %e, "accept failed: out of resources; retrying every 100 ms");
                        }
                        self.accept_retry_ms = Some(now_ms + ACCEPT_BACKOFF_MS);
                        return;
                    }
                    tracing::debug!(error = %e, "accept failed for one connection");
                }
            }
        }
        self.accept_retry_ms = Some(now_ms);
    }

    fn admit(&mut self, mut stream: crate::connection::Stream, now_ms: u64) {
        if self.conns.len() >= self.config.max_connections {
            self.counters.connections_rejected += 1;
            self.counters.count_error(Status::TooManyConnections);
            let mut reply = Vec::with_capacity(64);
            protocol::encode_reply(
                Status::TooManyConnections,
                b"too many connections",
                &mut reply,
            );
            // Best effort: a fresh socket's send buffer always has room for it.
            let _ = io::Write::write(&mut stream, &reply);
            return;
        }
        let entry = self.conns.vacant_entry();
        let token = Token(entry.key());
        if let Err(e) = self
            .poll
            .registry()
            .register(&mut stream, token, Interest::READABLE)
        {
            tracing::warn!(error = %e, "cannot register a new connection");
            return;
        }
        let authenticated = self.config.auth_token.is_none();
        entry.insert(Connection::new(stream, authenticated, now_ms));
        self.counters.connections_total += 1;
        tracing::debug!(conn = token.0, "accepted");
    }

    /// Marks a connection whose peer closed or reset, so its next turn reads
    /// until EOF or the error instead of trusting a short read.
    fn note_hangup(&mut self, key: usize) {
        if let Some(conn) = self.conns.get_mut(key) {
            conn.hangup_seen = true;
        }
    }

    fn serve_queued(&mut self, now_ms: u64) {
        let mut queued = std::mem::take(&mut self.queued);
        for key in queued.drain(..) {
            self.serve(key, now_ms);
        }
        if self.queued.is_empty() {
            // Keep the allocation for the next turn.
            self.queued = queued;
        }
    }

    /// Gives one connection a turn and acts on how it ended.
    fn serve(&mut self, key: usize, now_ms: u64) {
        let gauges = self.gauges(now_ms);
        let Server {
            conns,
            store,
            counters,
            config,
            pre_auth_limits,
            budget,
            lent_input,
            lent_output,
            drain_deadline_ms,
            ..
        } = self;
        let Some(conn) = conns.get_mut(key) else {
            return;
        };
        conn.queued = false;
        conn.borrow_buffers(lent_input, lent_output);
        let mut turn = Turn {
            ctx: Context {
                store,
                counters,
                limits: &config.limits,
                auth_token: config.auth_token.as_ref(),
                gauges,
                now_ms,
            },
            pre_auth_limits,
            budget,
            config,
            draining: drain_deadline_ms.is_some(),
            key,
        };
        let end = turn.run(conn);
        conn.return_buffers(lent_input, lent_output, budget);
        match end {
            TurnEnd::Close(reason) => self.close(key, reason),
            TurnEnd::Again => {
                if !conn.queued {
                    conn.queued = true;
                    self.queued.push(key);
                }
                self.update_interest(key);
            }
            TurnEnd::Wait => self.update_interest(key),
        }
    }

    fn update_interest(&mut self, key: usize) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        let wanted = conn.wanted_interest();
        if wanted == conn.interest {
            return;
        }
        match self
            .poll
            .registry()
            .reregister(&mut conn.stream, Token(key), wanted)
        {
            Ok(()) => conn.interest = wanted,
            Err(e) => {
                tracing::debug!(conn = key, error = %e, "reregister failed");
                self.close(key, CloseReason::IoError);
            }
        }
    }

    fn close(&mut self, key: usize, reason: CloseReason) {
        if !self.conns.contains(key) {
            return;
        }
        let mut conn = self.conns.remove(key);
        conn.release_budget(&mut self.budget);
        // Dropping the stream closes it; deregistering first keeps the poller tidy.
        let _ = self.poll.registry().deregister(&mut conn.stream);
        self.counters.count_close(reason);
        tracing::debug!(conn = key, ?reason, "closed");
    }

    /// Sends a final error reply (best effort) and closes.
    fn close_with(
        &mut self,
        key: usize,
        status: Status,
        message: &str,
        reason: CloseReason,
        now_ms: u64,
    ) {
        if let Some(conn) = self.conns.get_mut(key) {
            self.counters.count_error(status);
            protocol::encode_reply(status, message.as_bytes(), &mut conn.output);
            let _ = conn.flush(now_ms);
        }
        self.close(key, reason);
    }

    /// Closes whatever the drain deadline left, telling each client why.
    fn close_all_shutting_down(&mut self, now_ms: u64) {
        let keys: Vec<usize> = self.conns.iter().map(|(key, _)| key).collect();
        for key in keys {
            let reason = CloseReason::Shutdown;
            self.close_with(
                key,
                Status::ShuttingDown,
                "server shutting down",
                reason,
                now_ms,
            );
        }
    }

    fn gauges(&self, now_ms: u64) -> Gauges {
        Gauges {
            uptime_ms: now_ms,
            connections_current: self.conns.len() as u64,
            buffer_bytes: self.budget.used_bytes() as u64,
            log_lines_dropped: self.dropped_lines.get(),
        }
    }

    /// Closes connections past a deadline and publishes stats.
    fn housekeeping(&mut self, now_ms: u64) {
        self.next_housekeeping_ms = now_ms + HOUSEKEEPING_INTERVAL_MS;
        let config = &self.config;
        self.doomed.extend(
            self.conns.iter().filter_map(|(key, conn)| {
                overdue(conn, config, now_ms).map(|reason| (key, reason))
            }),
        );
        let mut doomed = std::mem::take(&mut self.doomed);
        for (key, reason) in doomed.drain(..) {
            let message = match reason {
                CloseReason::FrameTimeout => "frame not completed in time",
                CloseReason::SlowReader => "replies not read in time",
                _ => "idle too long",
            };
            self.close_with(key, Status::Timeout, message, reason, now_ms);
        }
        self.doomed = doomed;
        if now_ms >= self.next_publish_ms {
            self.next_publish_ms = now_ms + PUBLISH_INTERVAL_MS;
            let snapshot = command::snapshot(self.gauges(now_ms), &self.counters, &self.store);
            self.snapshot.store(std::sync::Arc::new(snapshot));
        }
    }

    /// Handles pending signals; returns `Forced` on a second one.
    fn on_signals(&mut self, now_ms: u64) -> Option<Exit> {
        let received = self.signals.pending().count();
        if received == 0 {
            return None;
        }
        if self.drain_deadline_ms.is_some() || received > 1 {
            tracing::warn!("second signal: exiting at once");
            return Some(Exit::Forced);
        }
        tracing::info!(connections = self.conns.len(), "signal received: draining");
        self.close_listeners();
        self.drain_deadline_ms = Some(now_ms + self.config.drain_timeout_ms);
        // Every connection gets a final read of what already arrived.
        for (key, conn) in self.conns.iter_mut() {
            if !conn.queued {
                conn.queued = true;
                self.queued.push(key);
            }
        }
        None
    }

    /// Stops accepting and removes the Unix socket file.
    fn close_listeners(&mut self) {
        for mut listener in self.listeners.drain(..) {
            let _ = self.poll.registry().deregister(listener.source());
            if let Listener::Unix(unix) = &listener {
                unix.remove_file();
            }
        }
    }
}

fn listener_token(index: usize) -> Token {
    Token(LISTENER_TOKEN_BASE - index)
}

/// Out of descriptors or kernel memory: retrying at once would spin.
fn is_resource_exhaustion(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Which deadline, if any, this connection has passed.
fn overdue(conn: &Connection, config: &Config, now_ms: u64) -> Option<CloseReason> {
    if conn
        .frame_started_ms
        .is_some_and(|started_ms| now_ms.saturating_sub(started_ms) >= config.frame_timeout_ms)
    {
        return Some(CloseReason::FrameTimeout);
    }
    if conn.pending_output_bytes() > 0
        && now_ms.saturating_sub(conn.output_progress_ms) >= config.output_timeout_ms
    {
        return Some(CloseReason::SlowReader);
    }
    let idle = config
        .idle_timeout_ms
        .is_some_and(|idle_ms| now_ms.saturating_sub(conn.last_active_ms) >= idle_ms);
    idle.then_some(CloseReason::Idle)
}

/// How a connection's turn ended.
enum TurnEnd {
    /// Nothing more to do until the next readiness event.
    Wait,
    /// Work is left (budget spent); give it another turn soon.
    Again,
    /// Close the connection.
    Close(CloseReason),
}

/// Everything one connection's turn borrows from the server.
struct Turn<'a> {
    ctx: Context<'a>,
    pre_auth_limits: &'a Limits,
    budget: &'a mut BufferBudget,
    config: &'a Config,
    draining: bool,
    key: usize,
}

impl Turn<'_> {
    fn run(&mut self, conn: &mut Connection) -> TurnEnd {
        let now_ms = self.ctx.now_ms;
        if let Err(end) = self.flush(conn) {
            return end;
        }
        let mut served = 0;
        let mut read_bytes = 0;
        let mut socket_drained = false;
        loop {
            match self.execute_frames(conn, &mut served) {
                BatchEnd::NeedMore => {}
                BatchEnd::Backpressure => {
                    if let Err(end) = self.flush(conn) {
                        return end;
                    }
                    if conn.pending_output_bytes() >= self.config.max_output_bytes {
                        // The client is not reading: wait for WRITABLE.
                        break;
                    }
                    continue;
                }
                BatchEnd::BudgetSpent => {
                    return self.flush(conn).map_or_else(|end| end, |()| TurnEnd::Again);
                }
                BatchEnd::Close => {
                    let _ = conn.flush(now_ms);
                    return TurnEnd::Close(CloseReason::Protocol);
                }
            }
            if socket_drained {
                // A draining server answers what already arrived, then reads no more.
                conn.reading &= !self.draining;
            }
            if !conn.reading || socket_drained {
                break;
            }
            if read_bytes >= READ_BYTES_PER_TURN {
                return self.flush(conn).map_or_else(|end| end, |()| TurnEnd::Again);
            }
            let max_frame_bytes = self.limits(conn).max_frame_bytes;
            match conn.read_some(max_frame_bytes, self.budget, now_ms) {
                Ok(ReadOutcome::Data { bytes, drained }) => {
                    self.ctx.counters.bytes_in += bytes as u64;
                    read_bytes += bytes;
                    // After a hangup a short read can hide the EOF or error
                    // behind it, and no further event will come: read on.
                    socket_drained = drained && !conn.hangup_seen;
                }
                Ok(ReadOutcome::WouldBlock) => socket_drained = true,
                Ok(ReadOutcome::Eof) => {
                    conn.reading = false;
                    break;
                }
                Ok(ReadOutcome::BudgetExhausted) => {
                    self.error_reply(conn, Status::Busy, "server buffer budget exhausted");
                    let _ = conn.flush(now_ms);
                    return TurnEnd::Close(CloseReason::BufferBudget);
                }
                Err(e) => {
                    tracing::debug!(conn = self.key, error = %e, "read failed");
                    return TurnEnd::Close(CloseReason::IoError);
                }
            }
        }
        if let Err(end) = self.flush(conn) {
            return end;
        }
        if !conn.reading && conn.pending_output_bytes() == 0 {
            if !self.draining {
                return TurnEnd::Close(CloseReason::Peer);
            }
            if !conn.input.is_empty() {
                // A frame that had not fully arrived when the drain began.
                self.error_reply(conn, Status::ShuttingDown, "server shutting down");
                let _ = conn.flush(now_ms);
            }
            return TurnEnd::Close(CloseReason::Shutdown);
        }
        TurnEnd::Wait
    }

    fn limits(&self, conn: &Connection) -> &Limits {
        if conn.authenticated {
            self.ctx.limits
        } else {
            self.pre_auth_limits
        }
    }

    /// Executes complete frames until input runs out or a budget stops it.
    fn execute_frames(&mut self, conn: &mut Connection, served: &mut usize) -> BatchEnd {
        let now_ms = self.ctx.now_ms;
        let was_pending = conn.pending_output_bytes() > 0;
        let budget = BatchBudget {
            max_requests: self.config.requests_per_turn.saturating_sub(*served),
            max_output_len: conn.output_sent() + self.config.max_output_bytes,
        };
        let batch = batch::execute(
            conn.input.unprocessed(),
            &mut conn.authenticated,
            self.pre_auth_limits,
            &mut self.ctx,
            budget,
            &mut conn.output,
            self.key,
        );
        conn.input.consume(batch.consumed_bytes);
        *served += batch.replies;
        conn.note_output_queued(was_pending, now_ms);
        conn.frame_started_ms = if conn.input.is_empty() {
            None
        } else if batch.replies > 0 || conn.frame_started_ms.is_none() {
            Some(now_ms)
        } else {
            conn.frame_started_ms
        };
        batch.end
    }

    fn error_reply(&mut self, conn: &mut Connection, status: Status, message: &str) {
        command::error(&mut self.ctx, status, message, &mut conn.output);
    }

    fn flush(&mut self, conn: &mut Connection) -> Result<(), TurnEnd> {
        match conn.flush(self.ctx.now_ms) {
            Ok(written) => {
                self.ctx.counters.bytes_out += written as u64;
                Ok(())
            }
            Err(e) => {
                tracing::debug!(conn = self.key, error = %e, "write failed");
                let reason = if is_peer_gone(&e) {
                    CloseReason::Peer
                } else {
                    CloseReason::IoError
                };
                Err(TurnEnd::Close(reason))
            }
        }
    }
}

fn is_peer_gone(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
    )
}
