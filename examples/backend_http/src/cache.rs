//! Blink-Store behind a circuit breaker: the cache may fail, the request may not.
//!
//! Every call is bounded by `CACHE_TIMEOUT_MS` (connecting included) and turns
//! any failure into a counted, logged [`Miss`], so the caller falls back to the
//! origin. After `BREAKER_FAILURES` consecutive failures the breaker opens and
//! calls are skipped without touching the network; after `BREAKER_COOLDOWN_MS`
//! one call goes through as a probe, which closes the breaker or re-opens it.
//! The first connection is made by such a call; after that, the client
//! reconnects by itself (with backoff) and the breaker keeps every request
//! from paying a timeout meanwhile.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use blink_client::Error;
use blink_client::aio::Client;

/// The breaker's state, as `/stats` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go to the cache.
    Closed,
    /// Calls are skipped until the cooldown has passed.
    Open,
    /// One probe is in flight; the other calls are skipped.
    HalfOpen,
}

impl BreakerState {
    /// The name used in `/stats` by every app.
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }
}

struct BreakerInner {
    state: BreakerState,
    failures: u32,
    opened_at: Instant,
}

/// A consecutive-failure circuit breaker with one probe at a time when half open.
pub struct Breaker {
    failures_to_open: u32,
    cooldown: Duration,
    inner: Mutex<BreakerInner>,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(failures_to_open: u32, cooldown: Duration) -> Breaker {
        let inner = BreakerInner {
            state: BreakerState::Closed,
            failures: 0,
            opened_at: Instant::now(),
        };
        Breaker {
            failures_to_open,
            cooldown,
            inner: Mutex::new(inner),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BreakerInner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The current state.
    pub fn state(&self) -> BreakerState {
        self.lock().state
    }

    /// May a call go to the cache now? An expired open breaker turns half open for this one call.
    fn allow(&self) -> bool {
        let mut inner = self.lock();
        match inner.state {
            BreakerState::Closed => true,
            BreakerState::Open if inner.opened_at.elapsed() >= self.cooldown => {
                inner.state = BreakerState::HalfOpen;
                true
            }
            _ => false, // open, or a probe is in flight
        }
    }

    fn record(&self, ok: bool) {
        let mut inner = self.lock();
        if ok {
            if inner.state != BreakerState::Closed {
                tracing::info!(breaker = "closed", "cache breaker closed");
            }
            inner.state = BreakerState::Closed;
            inner.failures = 0;
            return;
        }
        inner.failures += 1;
        if inner.state == BreakerState::HalfOpen || inner.failures >= self.failures_to_open {
            if inner.state != BreakerState::Open {
                tracing::warn!(
                    breaker = "open",
                    failures = inner.failures,
                    "cache breaker open"
                );
            }
            inner.state = BreakerState::Open;
            inner.opened_at = Instant::now();
        }
    }
}

/// Why a cache call has no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    /// The breaker is open: the cache was not asked.
    Skipped,
    /// The call failed or timed out (counted in `errors`).
    Failed,
}

/// get/set/del on one multiplexed [`Client`], each bounded and breaker-guarded.
pub struct BlinkCache {
    config: blink_client::Config,
    timeout: Duration,
    /// The breaker, read by `/stats`.
    pub breaker: Breaker,
    // None until the first successful connect; the lock makes one connect at a time.
    client: tokio::sync::Mutex<Option<Client>>,
    /// Failed calls.
    pub errors: AtomicU64,
    /// Calls skipped by the open breaker.
    pub skipped: AtomicU64,
}

impl BlinkCache {
    /// A cache that connects on its first call.
    pub fn new(config: blink_client::Config, timeout: Duration, breaker: Breaker) -> BlinkCache {
        BlinkCache {
            config,
            timeout,
            breaker,
            client: tokio::sync::Mutex::new(None),
            errors: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
        }
    }

    /// GET: the value, `Ok(None)` for a miss in Blink-Store.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Miss> {
        self.call("get", async |client| client.get(key).await).await
    }

    /// SET with a TTL.
    pub async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), Miss> {
        self.call("set", async |client| {
            client.set(key, value, Some(ttl)).await
        })
        .await
    }

    /// DEL; whether a live entry was removed.
    pub async fn del(&self, key: &str) -> Result<bool, Miss> {
        self.call("del", async |client| client.del(key).await).await
    }

    async fn call<T>(
        &self,
        op: &'static str,
        call: impl AsyncFnOnce(Client) -> Result<T, Error>,
    ) -> Result<T, Miss> {
        if !self.breaker.allow() {
            self.skipped.fetch_add(1, Ordering::Relaxed);
            return Err(Miss::Skipped);
        }
        // Dropping the call at the deadline is safe: the client keeps its reply slot.
        let outcome =
            tokio::time::timeout(self.timeout, async { call(self.client().await?).await }).await;
        let (error, caller_error) = match outcome {
            Ok(Ok(value)) => {
                self.breaker.record(true);
                return Ok(value);
            }
            // A refused key or value is this request's problem on a healthy connection:
            // it must not open the breaker for everyone else.
            Ok(Err(error)) => {
                let caller_error = matches!(
                    error,
                    Error::KeyTooLarge { .. } | Error::ValueTooLarge { .. } | Error::ItemTooLarge
                );
                (error.to_string(), caller_error)
            }
            Err(_elapsed) => (
                format!("no answer within {} ms", self.timeout.as_millis()),
                false,
            ),
        };
        self.errors.fetch_add(1, Ordering::Relaxed);
        self.breaker.record(caller_error);
        tracing::warn!(op, error, "cache call failed");
        Err(Miss::Failed)
    }

    async fn client(&self) -> Result<Client, Error> {
        let mut slot = self.client.lock().await;
        if let Some(client) = slot.as_ref() {
            return Ok(client.clone());
        }
        let client = Client::connect(self.config.clone()).await?;
        tracing::info!("cache connected");
        Ok(slot.insert(client).clone())
    }
}
