//! Cache-aside over the origin: the key scheme, the cached encoding,
//! single-flight and invalidation.
//!
//! Key scheme, shared by every app in `examples/`: `item:v1:{id}`. The `v1`
//! names the encoding; a change to it takes a new prefix, so old and new
//! versions can share a Blink-Store during a rollout. The value is the item's
//! JSON document, `{"id": ..., "value": ..., "updated_at_ms": ...}`, as UTF-8.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::sync::OnceCell;

use crate::cache::{BlinkCache, Miss};
use crate::origin::{Item, Origin, OriginError};

/// The prefix of every item's cache key.
pub const KEY_PREFIX: &str = "item:v1:";

type Loaded = Result<Option<Item>, OriginError>;

/// One origin read in progress, shared by every caller that missed on its key.
#[derive(Default)]
struct Flight {
    result: OnceCell<Loaded>,
    // Orders the flight's cache fill against a write's invalidation: a write sets
    // the flag under this lock, so a fill either finished before it (and the
    // write's delete removes it) or sees the flag and caches nothing.
    invalidated: tokio::sync::Mutex<bool>,
}

/// Concurrent loads of one key share one origin read.
#[derive(Default)]
struct SingleFlight {
    flights: Mutex<HashMap<String, Arc<Flight>>>,
    coalesced: AtomicU64,
}

impl SingleFlight {
    fn flights(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Flight>>> {
        self.flights
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `load` once for the concurrent callers of `key`. `OnceCell` runs one
    /// initialiser at a time: if the caller running it goes away (its client hung
    /// up), a waiting caller takes over instead of every waiter failing.
    async fn run(&self, key: &str, load: impl AsyncFnOnce(Arc<Flight>) -> Loaded) -> Loaded {
        let flight = {
            let mut flights = self.flights();
            match flights.get(key) {
                Some(flight) => {
                    self.coalesced.fetch_add(1, Ordering::Relaxed);
                    Arc::clone(flight)
                }
                None => Arc::clone(flights.entry(key.to_owned()).or_default()),
            }
        };
        let result = flight
            .result
            .get_or_init(async || load(Arc::clone(&flight)).await)
            .await
            .clone();
        let mut flights = self.flights();
        if flights.get(key).is_some_and(|f| Arc::ptr_eq(f, &flight)) {
            flights.remove(key);
        }
        result
    }

    /// Detaches the flight for `key`: callers from now on start a load that sees the write.
    async fn invalidate(&self, key: &str) {
        let flight = self.flights().remove(key);
        if let Some(flight) = flight {
            *flight.invalidated.lock().await = true;
        }
    }
}

/// Reads through the cache, writes to the origin then invalidate.
pub struct ItemService {
    /// The origin, also pinged by `/healthz`.
    pub origin: Origin,
    cache: Option<BlinkCache>, // None when CACHE_ENABLED=0: every read goes to the origin
    ttl: Duration,
    jitter: Duration,
    flights: SingleFlight,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl ItemService {
    /// The service over `origin`, with `cache` unless caching is disabled.
    pub fn new(
        origin: Origin,
        cache: Option<BlinkCache>,
        ttl: Duration,
        jitter_percent: u32,
    ) -> ItemService {
        let jitter = ttl * jitter_percent / 100;
        ItemService {
            origin,
            cache,
            ttl,
            jitter,
            flights: SingleFlight::default(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// TTL plus up to the jitter, so keys cached together do not all expire together.
    fn ttl_with_jitter(&self) -> Duration {
        self.ttl + Duration::from_millis(fastrand::u64(0..=self.jitter.as_millis() as u64))
    }

    /// The item: from the cache, else from the origin through one flight per key.
    pub async fn get(&self, id: &str) -> Loaded {
        let key = format!("{KEY_PREFIX}{id}");
        if let Some(cache) = &self.cache {
            // A value that does not decode (another app's bug, a schema change) is a miss.
            if let Ok(Some(raw)) = cache.get(&key).await
                && let Ok(item) = serde_json::from_slice::<Item>(&raw)
            {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return Ok(Some(item));
            }
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        self.flights
            .run(&key, async |flight| self.load(id, &key, &flight).await)
            .await
    }

    async fn load(&self, id: &str, key: &str, flight: &Flight) -> Loaded {
        let item = self.origin.get(id).await?;
        // Missing items are not cached: a 404 costs an origin read, which single-flight bounds
        // to one per key at a time. Caching them would need a tombstone every app understands.
        if let (Some(item), Some(cache)) = (&item, &self.cache) {
            let invalidated = flight.invalidated.lock().await;
            if !*invalidated {
                let encoded = serde_json::to_vec(item).expect("an Item always serialises");
                // A failed fill is counted by the cache; the read is served all the same.
                let _ = cache.set(key, &encoded, self.ttl_with_jitter()).await;
            }
        }
        Ok(item)
    }

    /// Stores the item in the origin, then invalidates its cache entry.
    pub async fn put(&self, id: &str, value: serde_json::Value) -> Result<Item, OriginError> {
        let item = self.origin.put(id, value).await?;
        self.invalidate(id).await;
        Ok(item)
    }

    /// Deletes the item from the origin, then invalidates its cache entry; whether it existed.
    pub async fn delete(&self, id: &str) -> Result<bool, OriginError> {
        let existed = self.origin.delete(id).await?;
        self.invalidate(id).await;
        Ok(existed)
    }

    /// Deletes rather than writes the new value: a delete is idempotent, so two racing
    /// writers cannot leave the older value cached, and the next read fills the entry.
    /// The flight is detached first, so a read that began before the write caches nothing.
    async fn invalidate(&self, id: &str) {
        let key = format!("{KEY_PREFIX}{id}");
        self.flights.invalidate(&key).await;
        if let Some(cache) = &self.cache
            && let Err(Miss::Failed | Miss::Skipped) = cache.del(&key).await
        {
            tracing::warn!(
                key,
                "invalidation not applied; the entry expires with its TTL"
            );
        }
    }

    /// The counters and breaker state, as every app reports them.
    pub fn stats(&self) -> serde_json::Value {
        let cache = self.cache.as_ref();
        let count = |c: &AtomicU64| c.load(Ordering::Relaxed);
        json!({
            "cache_enabled": cache.is_some(),
            "hits": count(&self.hits),
            "misses": count(&self.misses),
            "coalesced": count(&self.flights.coalesced),
            "origin_reads": count(&self.origin.reads),
            "origin_writes": count(&self.origin.writes),
            "cache_errors": cache.map_or(0, |c| count(&c.errors)),
            "cache_skipped": cache.map_or(0, |c| count(&c.skipped)),
            "breaker": cache.map_or("disabled", |c| c.breaker.state().as_str()),
        })
    }
}
