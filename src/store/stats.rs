//! Counters and the [`StoreStats`] snapshot.

/// A point-in-time copy of the store's counters.
///
/// `hits` and `misses` count [`Store::get`](super::Store::get) calls only.
/// `expirations` counts entries reclaimed because their deadline passed,
/// whether found lazily on access, by [`Store::tick`](super::Store::tick),
/// while making room, or set with a TTL of 0. Expiry lag is how late an
/// expired entry was reclaimed: `now_ms - deadline_ms` at reclamation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Live entries.
    pub items: u64,
    /// Sum of the entries' charges (see [`entry_charge`](super::entry_charge)).
    pub used_bytes: u64,
    /// The memory cap: `used_bytes <= cap_bytes` always.
    pub cap_bytes: u64,
    /// `get` calls that found a live entry.
    pub hits: u64,
    /// `get` calls that found nothing (or only an expired entry).
    pub misses: u64,
    /// Live entries removed to make room.
    pub evictions: u64,
    /// Sum of the charges of evicted entries.
    pub evicted_bytes: u64,
    /// Entries reclaimed because their deadline passed.
    pub expirations: u64,
    /// Largest expiry lag seen, in milliseconds.
    pub expiry_lag_max_ms: u64,
    /// Expiry lag of the most recent expiration, in milliseconds.
    pub expiry_lag_recent_ms: u64,
}

/// The counters the store bumps as it works.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Counters {
    pub(super) hits: u64,
    pub(super) misses: u64,
    pub(super) evictions: u64,
    pub(super) evicted_bytes: u64,
    pub(super) expirations: u64,
    pub(super) expiry_lag_max_ms: u64,
    pub(super) expiry_lag_recent_ms: u64,
}

impl Counters {
    /// Counts one expiration reclaimed `lag_ms` after its deadline.
    pub(super) fn record_expiration(&mut self, lag_ms: u64) {
        self.expirations += 1;
        self.expiry_lag_recent_ms = lag_ms;
        self.expiry_lag_max_ms = self.expiry_lag_max_ms.max(lag_ms);
    }

    /// Counts one eviction of an entry charged `charge_bytes`.
    pub(super) fn record_eviction(&mut self, charge_bytes: u64) {
        self.evictions += 1;
        self.evicted_bytes += charge_bytes;
    }

    /// The snapshot, with the store's gauges filled in.
    pub(super) fn snapshot(&self, items: u64, used_bytes: u64, cap_bytes: u64) -> StoreStats {
        StoreStats {
            items,
            used_bytes,
            cap_bytes,
            hits: self.hits,
            misses: self.misses,
            evictions: self.evictions,
            evicted_bytes: self.evicted_bytes,
            expirations: self.expirations,
            expiry_lag_max_ms: self.expiry_lag_max_ms,
            expiry_lag_recent_ms: self.expiry_lag_recent_ms,
        }
    }
}
