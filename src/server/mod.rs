//! The event loop: one thread owns the poller, the listeners, every
//! connection and the shared [`Context`] (store, counters, buffer budget).
//!
//! Each iteration: poll (timeout = the nearest of the next housekeeping
//! sweep, the store's next expiry, an accept retry, the drain deadline; zero
//! while some connection has leftover work), read the clock once, dispatch
//! every event, give queued connections another turn, run a bounded expiry
//! sweep, and every 100 ms check connection timers and publish STATS.
//!
//! The loop never reads or writes a client socket itself: each connection
//! takes its own turn ([`connection::Connection::take_turn`]) and says
//! whether to wait, come back soon, or close. An error closes that
//! connection only. Tokens: the slab key for connections; listeners and
//! signals use reserved tokens at the top of the range, which the
//! connection cap keeps clear of.
//!
//! - [`listener`]: TCP and Unix listeners, socket-file safety.
//! - [`connection`]: one client's turn, phases and timers.
//! - [`buffers`]: input and output buffers, and the budget that bounds them.
//! - [`stream`]: a socket of either family.
//! - [`shutdown`]: signals (Unix) or console control events (Windows).
//! - `unix_socket` (Unix only): the Unix listener and its socket file.

pub mod buffers;
pub mod connection;
pub mod listener;
pub mod shutdown;
pub mod stream;
#[cfg(unix)]
pub mod unix_socket;

use std::io;
use std::sync::Arc;
use std::time::Duration;

use mio::{Events, Interest, Poll, Token};
use slab::Slab;

use crate::clock::Clock;
use crate::command::Context;
use crate::config::Config;
use crate::logging::LogCounters;
use crate::stats::{CloseReason, SharedSnapshot};
use connection::{Connection, LentBuffers, Timeouts, TurnEnd, TurnPolicy};
use listener::Listener;
use shutdown::ShutdownRequests;
use stream::Stream;

const SHUTDOWN_TOKEN: Token = Token(usize::MAX - 1);
/// Listener `i` uses `Token(LISTENER_TOKEN_BASE - i)`.
const LISTENER_TOKEN_BASE: usize = usize::MAX - 2;
/// Connection timers are checked this often.
const HOUSEKEEPING_INTERVAL_MS: u64 = 100;
/// The STATS snapshot for other threads is refreshed this often.
const PUBLISH_INTERVAL_MS: u64 = 1_000;
/// Expired entries reclaimed per iteration at most, so a mass expiry cannot stall clients.
const EXPIRY_PER_TURN: usize = 1_024;
/// Connections accepted per listener per iteration before other work runs.
const ACCEPTS_PER_TURN: usize = 256;
/// Pause before retrying accept after the process ran out of descriptors.
const ACCEPT_BACKOFF_MS: u64 = 100;
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
    shutdown: ShutdownRequests,
    conns: Slab<Connection>,
    ctx: Context,
    lent: LentBuffers,
    policy: TurnPolicy,
    timeouts: Timeouts,
    max_connections: usize,
    drain_timeout_ms: u64,
    clock: Clock,
    queued: Vec<usize>,
    doomed: Vec<(usize, CloseReason)>,
    accept_retry_ms: Option<u64>,
    /// Set while accepting fails for lack of descriptors or memory.
    accept_starved: bool,
    next_housekeeping_ms: u64,
    next_publish_ms: u64,
    drain_deadline_ms: Option<u64>,
    snapshot: SharedSnapshot,
}

impl Server {
    /// Binds the configured listeners and prepares the loop.
    pub fn bind(
        config: Config,
        snapshot: SharedSnapshot,
        log_counters: LogCounters,
    ) -> io::Result<Server> {
        let poll = Poll::new()?;
        let mut listeners = Vec::new();
        if let Some(addr) = config.tcp_addr {
            listeners.push(listener::bind_tcp(addr)?);
        }
        #[cfg(unix)]
        if let Some(path) = &config.unix_socket {
            listeners.push(unix_socket::bind(path, config.unix_socket_mode)?);
        }
        for (index, listener) in listeners.iter_mut().enumerate() {
            poll.registry().register(
                listener.source(),
                listener_token(index),
                Interest::READABLE,
            )?;
        }
        let mut ctx = Context::new(&config, log_counters)?;
        ctx.tcp_port = listeners.iter().find_map(Listener::tcp_port).unwrap_or(0);
        let shutdown = ShutdownRequests::register(poll.registry(), SHUTDOWN_TOKEN)?;
        Ok(Server {
            poll,
            listeners,
            shutdown,
            conns: Slab::with_capacity(config.max_connections.min(1024)),
            ctx,
            lent: LentBuffers::default(),
            policy: TurnPolicy {
                requests_per_turn: config.requests_per_turn,
                max_output_bytes: config.max_output_bytes,
                draining: false,
            },
            timeouts: Timeouts {
                frame_ms: config.frame_timeout_ms,
                output_ms: config.output_timeout_ms,
                idle_ms: config.idle_timeout_ms,
            },
            max_connections: config.max_connections,
            drain_timeout_ms: config.drain_timeout_ms,
            clock: Clock::start(),
            queued: Vec::new(),
            doomed: Vec::new(),
            accept_retry_ms: None,
            accept_starved: false,
            next_housekeeping_ms: 0,
            next_publish_ms: 0,
            drain_deadline_ms: None,
            snapshot,
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
                if self.dispatch(event, now_ms) == Some(Exit::Forced) {
                    self.close_listeners();
                    return Ok(Exit::Forced);
                }
            }
            if let Some(exit) = self.after_events(now_ms) {
                return Ok(exit);
            }
        }
    }

    /// Routes one readiness event to the signals, a listener or a connection.
    fn dispatch(&mut self, event: &mio::event::Event, now_ms: u64) -> Option<Exit> {
        let Token(key) = event.token();
        if event.token() == SHUTDOWN_TOKEN {
            return self.on_signals(now_ms);
        }
        if let Some(index) = self.listener_index(key) {
            self.accept(index, now_ms);
            return None;
        }
        if event.is_read_closed() || event.is_error() {
            if let Some(conn) = self.conns.get_mut(key) {
                conn.note_hangup();
            }
        }
        self.serve(key, now_ms);
        None
    }

    /// The work of an iteration after its events: queued turns, accept
    /// retries, expiry, timers, and the end of a drain.
    fn after_events(&mut self, now_ms: u64) -> Option<Exit> {
        self.serve_queued(now_ms);
        if self.accept_retry_ms.is_some_and(|at_ms| now_ms >= at_ms) {
            self.accept_retry_ms = None;
            for index in 0..self.listeners.len() {
                self.accept(index, now_ms);
            }
        }
        self.ctx.store.tick(now_ms, EXPIRY_PER_TURN);
        if now_ms >= self.next_housekeeping_ms {
            self.housekeeping(now_ms);
        }
        let deadline_ms = self.drain_deadline_ms?;
        if self.conns.is_empty() || now_ms >= deadline_ms {
            self.close_all(CloseReason::Shutdown, now_ms);
            return Some(Exit::Clean);
        }
        None
    }

    fn listener_index(&self, key: usize) -> Option<usize> {
        let index = LISTENER_TOKEN_BASE.checked_sub(key)?;
        (index < self.listeners.len()).then_some(index)
    }

    fn poll_timeout(&self, now_ms: u64) -> Duration {
        if !self.queued.is_empty() {
            return Duration::ZERO;
        }
        let wake_ms = [
            Some(self.next_housekeeping_ms),
            self.ctx.store.next_expiry_ms(),
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
                    self.ctx.counters.accept_errors += 1;
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

    fn admit(&mut self, stream: Stream, now_ms: u64) {
        let authenticated = self.ctx.auth_token.is_none();
        let mut conn = Connection::new(stream, authenticated, now_ms);
        if self.conns.len() >= self.max_connections {
            self.ctx.counters.connections_rejected += 1;
            // Best effort: a fresh socket's send buffer always has room for it.
            conn.send_final(CloseReason::TooManyConnections, &mut self.ctx, now_ms);
            return;
        }
        let entry = self.conns.vacant_entry();
        let token = Token(entry.key());
        if let Err(e) = conn.register(self.poll.registry(), token) {
            tracing::warn!(error = %e, "cannot register a new connection");
            return;
        }
        entry.insert(conn);
        self.ctx.connections_current = self.conns.len();
        self.ctx.counters.connections_total += 1;
        tracing::debug!(conn = token.0, "accepted");
    }

    fn serve_queued(&mut self, now_ms: u64) {
        let mut queued = std::mem::take(&mut self.queued);
        for key in queued.drain(..) {
            self.serve(key, now_ms);
        }
        if self.queued.is_empty() {
            // Keep the allocation for the next iteration.
            self.queued = queued;
        }
    }

    /// Gives one connection a turn and acts on how it ended.
    fn serve(&mut self, key: usize, now_ms: u64) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        let end = conn.take_turn(&mut self.ctx, &mut self.lent, &self.policy, now_ms, key);
        let end = match end {
            TurnEnd::Again if conn.enqueue() => {
                self.queued.push(key);
                end
            }
            _ => end,
        };
        if let TurnEnd::Close(reason) = end {
            self.close(key, reason);
        } else if let Err(e) = conn.update_interest(self.poll.registry(), Token(key)) {
            tracing::debug!(conn = key, error = %e, "reregister failed");
            self.close(key, CloseReason::IoError);
        }
    }

    fn close(&mut self, key: usize, reason: CloseReason) {
        let Some(mut conn) = self.conns.try_remove(key) else {
            return;
        };
        conn.release(&mut self.ctx);
        conn.deregister(self.poll.registry());
        self.ctx.connections_current = self.conns.len();
        self.ctx.counters.count_close(reason);
        tracing::debug!(conn = key, ?reason, "closed");
    }

    /// Closes every connection, telling each client why (best effort).
    fn close_all(&mut self, reason: CloseReason, now_ms: u64) {
        let keys: Vec<usize> = self.conns.iter().map(|(key, _)| key).collect();
        for key in keys {
            self.close_with_final(key, reason, now_ms);
        }
    }

    fn close_with_final(&mut self, key: usize, reason: CloseReason, now_ms: u64) {
        if let Some(conn) = self.conns.get_mut(key) {
            conn.send_final(reason, &mut self.ctx, now_ms);
        }
        self.close(key, reason);
    }

    /// Closes connections past a deadline and publishes stats.
    fn housekeeping(&mut self, now_ms: u64) {
        self.next_housekeeping_ms = now_ms + HOUSEKEEPING_INTERVAL_MS;
        let timeouts = self.timeouts;
        self.doomed.extend(
            self.conns
                .iter()
                .filter_map(|(key, conn)| conn.overdue(&timeouts, now_ms).map(|r| (key, r))),
        );
        let mut doomed = std::mem::take(&mut self.doomed);
        for (key, reason) in doomed.drain(..) {
            self.close_with_final(key, reason, now_ms);
        }
        self.doomed = doomed;
        if now_ms >= self.next_publish_ms {
            self.next_publish_ms = now_ms + PUBLISH_INTERVAL_MS;
            self.snapshot.store(Arc::new(self.ctx.snapshot(now_ms)));
        }
    }

    /// Handles pending signals; returns `Forced` on a second one.
    fn on_signals(&mut self, now_ms: u64) -> Option<Exit> {
        let received = self.shutdown.take_pending();
        if received == 0 {
            return None;
        }
        if self.drain_deadline_ms.is_some() || received > 1 {
            tracing::warn!("second signal: exiting at once");
            return Some(Exit::Forced);
        }
        tracing::info!(connections = self.conns.len(), "signal received: draining");
        self.close_listeners();
        self.drain_deadline_ms = Some(now_ms + self.drain_timeout_ms);
        self.policy.draining = true;
        // Every connection gets a final read of what already arrived.
        for (key, conn) in self.conns.iter_mut() {
            if conn.enqueue() {
                self.queued.push(key);
            }
        }
        None
    }

    /// Stops accepting and removes the Unix socket file.
    fn close_listeners(&mut self) {
        for mut listener in self.listeners.drain(..) {
            let _ = self.poll.registry().deregister(listener.source());
            listener.remove_socket_file();
        }
    }
}

fn listener_token(index: usize) -> Token {
    Token(LISTENER_TOKEN_BASE - index)
}

/// Out of descriptors or kernel memory: retrying at once would spin.
#[cfg(unix)]
fn is_resource_exhaustion(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Out of sockets or buffer space (Winsock's codes): retrying at once would spin.
#[cfg(windows)]
fn is_resource_exhaustion(error: &io::Error) -> bool {
    use windows_sys::Win32::Networking::WinSock::{WSAEMFILE, WSAENOBUFS};
    matches!(error.raw_os_error(), Some(WSAEMFILE | WSAENOBUFS))
}
