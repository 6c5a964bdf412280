//! [`Pool`]: a bounded, thread-safe pool of blocking connections.
//!
//! - **Bounded acquire**: [`Pool::get`] waits at most the acquire timeout
//!   for a connection, then fails with [`Error::PoolTimeout`]; never forever.
//! - **RAII return**: the [`PooledConnection`] guard returns its connection
//!   on drop; a broken one is discarded instead, and its slot freed, as is
//!   one whose protocol version the borrower changed with
//!   [`Connection::hello`] (the next borrower expects what the pool
//!   negotiated).
//! - **Validation before reuse**: an idle connection past its max idle time
//!   or max lifetime (jittered, so a pool's connections do not all expire
//!   together) is closed; otherwise a non-blocking peek rules out EOF and
//!   unsolicited closing replies, and after a long idle a PING confirms it.
//! - **Backoff**: every failed connect (refused, ERR_TOO_MANY_CONNECTIONS,
//!   ERR_BUSY, ERR_SHUTTING_DOWN, ERR_AUTH_FAILED...) pushes the next
//!   attempt out exponentially with jitter. A caller whose acquire deadline
//!   falls inside that window fails at once with the last connect error,
//!   so an outage never turns into a reconnect storm and a wrong token
//!   never into a loop: at most one attempt per call, fewer under backoff.
//! - **Metrics**: [`Pool::metrics`].
//!
//! Lock discipline: the state mutex is never held across I/O (connect,
//! PING, peek and close all happen outside it).

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::backoff::random_below;
use crate::config::Config;
use crate::connection::Connection;
use crate::error::{Error, Result};

/// Pool sizes and the checks of idle connections, each named for what it
/// protects against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// Most connections open at once (idle plus lent out). Default 16.
    pub max_size: usize,
    /// Longest [`Pool::get`] waits for a connection. Default 1 s.
    pub acquire_timeout: Duration,
    /// An idle connection older than this is closed rather than reused.
    /// Keep it below the server's `--idle-timeout-ms`. Default 60 s.
    pub max_idle_time: Duration,
    /// A connection is replaced after about this long (minus up to 10 %
    /// jitter), whatever its use. Default 30 min.
    pub max_lifetime: Duration,
    /// A connection idle longer than this is PINGed before reuse (the peek
    /// alone cannot see a half-open peer). Default 10 s.
    pub ping_after_idle: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max_size: 16,
            acquire_timeout: Duration::from_secs(1),
            max_idle_time: Duration::from_secs(60),
            max_lifetime: Duration::from_secs(30 * 60),
            ping_after_idle: Duration::from_secs(10),
        }
    }
}

/// A snapshot of a pool's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolMetrics {
    /// Connections established (HELLO done).
    pub connections_created: u64,
    /// Connect attempts that failed.
    pub connect_failures: u64,
    /// Connections closed for any reason (expired, failed check, broken,
    /// returned at another protocol version).
    pub connections_closed: u64,
    /// Of those, connections found broken (returned broken, or failed the
    /// liveness check).
    pub connections_broken: u64,
    /// Successful acquires.
    pub acquires: u64,
    /// Acquires that had to wait for a connection to be returned.
    pub acquire_waits: u64,
    /// Acquires that gave up at the acquire timeout.
    pub acquire_timeouts: u64,
    /// Connections open now (idle, lent out or connecting).
    pub open: usize,
    /// Idle connections now.
    pub idle: usize,
}

/// A bounded pool of [`Connection`]s, `Send + Sync` and cheap to clone (the
/// clones share one pool).
///
/// ```no_run
/// use blink_client::{Config, Pool, PoolConfig};
///
/// let pool = Pool::new(Config::tcp("127.0.0.1:25465"), PoolConfig::default());
/// std::thread::scope(|s| {
///     for worker in 0..4 {
///         let pool = &pool;
///         s.spawn(move || -> blink_client::Result<()> {
///             let mut conn = pool.get()?; // returned to the pool on drop
///             conn.set(format!("worker:{worker}"), "busy", None)?;
///             Ok(())
///         });
///     }
/// });
/// ```
#[derive(Debug, Clone)]
pub struct Pool {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    config: Config,
    settings: PoolConfig,
    state: Mutex<State>,
    /// Signalled when a connection is returned or a slot frees.
    available: Condvar,
    counters: Counters,
}

#[derive(Debug, Default)]
struct State {
    /// Most recently returned last: reused first, so the rest age out.
    idle: Vec<Idle>,
    /// Idle, lent out, or being connected; never above `max_size`.
    open: usize,
    /// Consecutive failed connects, and when the next may start.
    failures: u32,
    retry_at: Option<Instant>,
    last_error: Option<Error>,
}

#[derive(Debug)]
struct Idle {
    conn: Connection,
    retire_at: Instant,
}

#[derive(Debug, Default)]
struct Counters {
    connections_created: AtomicU64,
    connect_failures: AtomicU64,
    connections_closed: AtomicU64,
    connections_broken: AtomicU64,
    acquires: AtomicU64,
    acquire_waits: AtomicU64,
    acquire_timeouts: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Pool {
    /// A pool for `config`'s server. No connection is opened until needed.
    pub fn new(config: Config, settings: PoolConfig) -> Pool {
        assert!(settings.max_size > 0, "a pool needs max_size >= 1");
        Pool {
            shared: Arc::new(Shared {
                config,
                settings,
                state: Mutex::new(State::default()),
                available: Condvar::new(),
                counters: Counters::default(),
            }),
        }
    }

    /// A connection: a validated idle one, or a new one while the pool has
    /// room, or the next one returned within the acquire timeout.
    ///
    /// Fails with [`Error::PoolTimeout`] when all are in use for the whole
    /// timeout, or with the connect error when a new connection fails (or
    /// the last one failed and the backoff outlasts the timeout).
    pub fn get(&self) -> Result<PooledConnection> {
        let started = Instant::now();
        let deadline = started + self.shared.settings.acquire_timeout;
        let mut waited = false;
        let mut state = self.shared.lock();
        loop {
            if let Some(idle) = state.idle.pop() {
                drop(state);
                if let Some(idle) = self.shared.validate(idle) {
                    return Ok(self.lend(idle.conn, idle.retire_at));
                }
                state = self.shared.release_slot();
                continue;
            }
            let now = Instant::now();
            if state.open < self.shared.settings.max_size {
                match state.retry_at {
                    Some(retry_at) if retry_at > now => {
                        if retry_at >= deadline {
                            return Err(state
                                .last_error
                                .clone()
                                .unwrap_or(Error::ConnectionClosed));
                        }
                        state = self.shared.wait(state, retry_at - now);
                        continue;
                    }
                    _ => {
                        state.open += 1;
                        drop(state);
                        return self.open_new();
                    }
                }
            }
            if now >= deadline {
                bump(&self.shared.counters.acquire_timeouts);
                let max_size = self.shared.settings.max_size;
                return Err(Error::PoolTimeout {
                    waited: started.elapsed(),
                    max_size,
                });
            }
            if !waited {
                waited = true;
                bump(&self.shared.counters.acquire_waits);
            }
            state = self.shared.wait(state, deadline - now);
        }
    }

    /// The pool's counters now.
    pub fn metrics(&self) -> PoolMetrics {
        let (open, idle) = {
            let state = self.shared.lock();
            (state.open, state.idle.len())
        };
        let c = &self.shared.counters;
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        PoolMetrics {
            connections_created: load(&c.connections_created),
            connect_failures: load(&c.connect_failures),
            connections_closed: load(&c.connections_closed),
            connections_broken: load(&c.connections_broken),
            acquires: load(&c.acquires),
            acquire_waits: load(&c.acquire_waits),
            acquire_timeouts: load(&c.acquire_timeouts),
            open,
            idle,
        }
    }

    /// Connects in the slot the caller reserved, and records the outcome in
    /// the backoff state.
    fn open_new(&self) -> Result<PooledConnection> {
        let shared = &self.shared;
        match Connection::connect(&shared.config) {
            Ok(conn) => {
                bump(&shared.counters.connections_created);
                let mut state = shared.lock();
                state.failures = 0;
                state.retry_at = None;
                state.last_error = None;
                drop(state);
                let lifetime = shared.settings.max_lifetime;
                let retire_at = conn.created_at() + lifetime - random_below(lifetime / 10);
                Ok(self.lend(conn, retire_at))
            }
            Err(error) => {
                bump(&shared.counters.connect_failures);
                let mut state = shared.release_slot();
                state.failures = state.failures.saturating_add(1);
                state.retry_at = Some(Instant::now() + shared.config.backoff.delay(state.failures));
                state.last_error = Some(error.clone());
                Err(error)
            }
        }
    }

    fn lend(&self, conn: Connection, retire_at: Instant) -> PooledConnection {
        bump(&self.shared.counters.acquires);
        PooledConnection {
            lent_at_version: conn.server_info().version,
            conn: Some(conn),
            retire_at,
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent at every unlock, so a panic elsewhere
        // while it was held leaves nothing to repair.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn wait<'a>(&self, state: MutexGuard<'a, State>, timeout: Duration) -> MutexGuard<'a, State> {
        match self.available.wait_timeout(state, timeout) {
            Ok((state, _)) => state,
            Err(poisoned) => poisoned.into_inner().0,
        }
    }

    /// Frees the slot of a connection that is gone, and wakes a waiter.
    fn release_slot(&self) -> MutexGuard<'_, State> {
        let mut state = self.lock();
        state.open -= 1;
        self.available.notify_one();
        state
    }

    /// The idle connection if it may be reused; else it is closed.
    fn validate(&self, mut idle: Idle) -> Option<Idle> {
        let now = Instant::now();
        let idle_for = now.saturating_duration_since(idle.conn.last_used_at());
        if now >= idle.retire_at || idle_for > self.settings.max_idle_time {
            bump(&self.counters.connections_closed);
            return None;
        }
        let alive = idle.conn.is_idle_and_open()
            && (idle_for <= self.settings.ping_after_idle || idle.conn.ping().is_ok());
        if !alive {
            idle.conn.close();
            bump(&self.counters.connections_broken);
            bump(&self.counters.connections_closed);
            return None;
        }
        Some(idle)
    }
}

/// A connection lent by a [`Pool`]; it derefs to [`Connection`] and goes
/// back to the pool when dropped, unless it broke or now speaks another
/// protocol version than when it was lent, in which case it is closed and
/// its slot freed for a new one.
#[derive(Debug)]
pub struct PooledConnection {
    conn: Option<Connection>,
    retire_at: Instant,
    lent_at_version: u8,
    shared: Arc<Shared>,
}

impl Deref for PooledConnection {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("present until drop")
    }
}

impl DerefMut for PooledConnection {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn.as_mut().expect("present until drop")
    }
}

impl Drop for PooledConnection {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        let broken = conn.is_broken();
        if broken || conn.server_info().version != self.lent_at_version {
            if broken {
                bump(&self.shared.counters.connections_broken);
            }
            bump(&self.shared.counters.connections_closed);
            drop(conn);
            drop(self.shared.release_slot());
            return;
        }
        let mut state = self.shared.lock();
        state.idle.push(Idle {
            conn,
            retire_at: self.retire_at,
        });
        self.shared.available.notify_one();
    }
}
