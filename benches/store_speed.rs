//! Speed benchmark: Blink's store against the `lru` crate doing the same
//! work on 1,000,000 entries (16-byte keys, 100-byte values).
//!
//! Run: `cargo bench --bench store_speed`.
//!
//! Both caches are loaded with the same keys and capped at exactly
//! 1,000,000 entries' worth of [`entry_charge`] bytes; for `lru` (unbounded,
//! `Box<[u8]>` keys and values, the same foldhash hasher) the benchmark does
//! the byte accounting itself and pops the LRU entry while over the cap, so
//! both evict by bytes. Blink's store also keeps TTL bookkeeping and its
//! counters on every call. Each phase runs 1,000,000 operations per
//! repetition over precomputed, fixed-seed inputs; the table shows the
//! median and best of the repetitions.
//!
//! Two get-hit phases measure different things. `get-hit` looks up
//! independent random keys, so the CPU overlaps the cache misses of several
//! gets at once, and the cache with fewer instructions per get overlaps
//! more of them: it measures throughput. `get-hit-chain` takes each key
//! from the value the previous get returned (every loaded value holds the
//! number of the next key, in one random cycle through all keys), so no two
//! gets overlap: it measures one get's latency, the cost a caller pays when
//! it needs the answer before its next request.

mod common;

use std::hint::black_box;
use std::time::Instant;

use blink_store::store::{Store, entry_charge};
use common::{ENTRIES, KEY_BYTES, VALUE_BYTES, key, splitmix64};

/// Timed repetitions of every phase.
const REPETITIONS: usize = 5;
/// Keys of fresh (never loaded) items start here.
const FRESH_BASE: u64 = 1 << 40;

type Key = [u8; KEY_BYTES];

/// The inputs of every phase, generated once from fixed seeds.
struct Inputs {
    /// Loaded keys in a random order (for hits and replaces).
    hits: Vec<Key>,
    /// Never-loaded keys, one batch per repetition (misses and inserts).
    fresh: Vec<Vec<Key>>,
    /// Loaded value of key `i`: the number of the next key in the chain.
    chain_values: Vec<[u8; VALUE_BYTES]>,
    value: [u8; VALUE_BYTES],
}

impl Inputs {
    fn new() -> Inputs {
        let mut seed = 0x5EED;
        let hits = (0..ENTRIES)
            .map(|_| key(splitmix64(&mut seed) % ENTRIES))
            .collect();
        let fresh = (0..REPETITIONS as u64)
            .map(|rep| {
                (0..ENTRIES)
                    .map(|i| key(FRESH_BASE + rep * ENTRIES + i))
                    .collect()
            })
            .collect();
        Inputs {
            hits,
            fresh,
            chain_values: chain_values(&mut seed),
            value: [7; VALUE_BYTES],
        }
    }
}

/// Values whose first 8 bytes name the next key of one random cycle
/// through all `ENTRIES` keys.
fn chain_values(seed: &mut u64) -> Vec<[u8; VALUE_BYTES]> {
    let mut order: Vec<u64> = (0..ENTRIES).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, (splitmix64(seed) % (i as u64 + 1)) as usize);
    }
    let mut values = vec![[0; VALUE_BYTES]; order.len()];
    for (position, &number) in order.iter().enumerate() {
        let next = order[(position + 1) % order.len()];
        values[number as usize][..8].copy_from_slice(&next.to_le_bytes());
    }
    values
}

/// The key number a chain value names.
fn next_in_chain(value: &[u8]) -> u64 {
    u64::from_le_bytes(*value.first_chunk().expect("a chain value"))
}

/// What both caches must do.
trait Cache {
    fn get(&mut self, key: &[u8]) -> bool;
    /// The key number the value under `key` names (see [`chain_values`]).
    fn get_next(&mut self, key: &[u8]) -> u64;
    fn set(&mut self, key: &[u8], value: &[u8]);
}

impl Cache for Store {
    fn get(&mut self, key: &[u8]) -> bool {
        black_box(Store::get(self, key, 0)).is_some()
    }

    fn get_next(&mut self, key: &[u8]) -> u64 {
        next_in_chain(Store::get(self, key, 0).expect("a loaded key"))
    }

    fn set(&mut self, key: &[u8], value: &[u8]) {
        Store::set(self, key, value, None, 0).expect("fits the cap");
    }
}

/// The `lru` crate plus the byte accounting the store does internally.
struct LruBytes {
    cache: lru::LruCache<Box<[u8]>, Box<[u8]>, foldhash::fast::RandomState>,
    used_bytes: u64,
    cap_bytes: u64,
}

impl Cache for LruBytes {
    fn get(&mut self, key: &[u8]) -> bool {
        black_box(self.cache.get(key)).is_some()
    }

    fn get_next(&mut self, key: &[u8]) -> u64 {
        next_in_chain(self.cache.get(key).expect("a loaded key"))
    }

    fn set(&mut self, key: &[u8], value: &[u8]) {
        self.used_bytes += entry_charge(key.len(), value.len());
        if let Some(old) = self.cache.put(Box::from(key), Box::from(value)) {
            self.used_bytes -= entry_charge(key.len(), old.len());
        }
        while self.used_bytes > self.cap_bytes {
            let (key, value) = self.cache.pop_lru().expect("over the cap means non-empty");
            self.used_bytes -= entry_charge(key.len(), value.len());
        }
    }
}

/// Median and best ns/op of one phase.
struct Timing {
    median_ns: f64,
    best_ns: f64,
}

/// Runs `phase(rep)` REPETITIONS times; each call performs `ENTRIES` ops.
fn time(mut phase: impl FnMut(usize)) -> Timing {
    let mut ns: Vec<f64> = (0..REPETITIONS)
        .map(|rep| {
            let start = Instant::now();
            phase(rep);
            start.elapsed().as_nanos() as f64 / ENTRIES as f64
        })
        .collect();
    ns.sort_by(f64::total_cmp);
    Timing {
        median_ns: ns[REPETITIONS / 2],
        best_ns: ns[0],
    }
}

/// The phases on one cache, in the order of [`PHASES`].
fn run(cache: &mut impl Cache, inputs: &Inputs) -> [Timing; 5] {
    for (i, value) in inputs.chain_values.iter().enumerate() {
        cache.set(&key(i as u64), value);
    }
    let get_hit = time(|_| {
        let found = inputs.hits.iter().filter(|key| cache.get(&key[..])).count();
        assert_eq!(found as u64, ENTRIES);
    });
    let get_hit_chain = time(|_| {
        let mut number = 0;
        for _ in 0..ENTRIES {
            number = cache.get_next(&key(number));
        }
        assert_eq!(number, 0, "a full cycle ends where it started");
    });
    let get_miss = time(|rep| {
        let found = inputs.fresh[rep]
            .iter()
            .filter(|key| cache.get(&key[..]))
            .count();
        assert_eq!(found, 0);
    });
    let set_replace = time(|_| {
        inputs
            .hits
            .iter()
            .for_each(|key| cache.set(key, &inputs.value))
    });
    let set_evict = time(|rep| {
        inputs.fresh[rep]
            .iter()
            .for_each(|key| cache.set(key, &inputs.value))
    });
    [get_hit, get_hit_chain, get_miss, set_replace, set_evict]
}

/// Phase names, in the order [`run`] returns them.
const PHASES: [&str; 5] = [
    "get-hit",
    "get-hit-chain",
    "get-miss",
    "set-replace",
    "set-with-eviction",
];

fn main() {
    // `-- blink` or `-- lru` runs one cache only (for profiling).
    let only: Option<String> = std::env::args()
        .skip(1)
        .find(|arg| arg == "blink" || arg == "lru");
    let wanted = |name: &str| only.as_deref().is_none_or(|only| only == name);
    let cap_bytes = ENTRIES * entry_charge(KEY_BYTES, VALUE_BYTES);
    let inputs = Inputs::new();
    let blink = wanted("blink").then(|| run(&mut Store::new(cap_bytes), &inputs));
    let lru = wanted("lru").then(|| {
        let hasher = foldhash::fast::RandomState::default();
        let mut lru = LruBytes {
            cache: lru::LruCache::unbounded_with_hasher(hasher),
            used_bytes: 0,
            cap_bytes,
        };
        run(&mut lru, &inputs)
    });
    println!(
        "{ENTRIES} entries, {KEY_BYTES}-byte keys, {VALUE_BYTES}-byte values; {REPETITIONS} repetitions of {ENTRIES} ops"
    );
    println!("ns/op: median (best); Mops/s from the median");
    println!(
        "| op                | blink ns/op     | blink Mops/s | lru ns/op       | lru Mops/s   | blink speedup |"
    );
    println!(
        "|-------------------|-----------------|--------------|-----------------|--------------|---------------|"
    );
    for (i, name) in PHASES.iter().enumerate() {
        let b = blink.as_ref().map(|timings| &timings[i]);
        let l = lru.as_ref().map(|timings| &timings[i]);
        let speedup = match (b, l) {
            (Some(b), Some(l)) => format!("{:.2}x", l.median_ns / b.median_ns),
            _ => "-".to_string(),
        };
        println!(
            "| {name:<17} | {} | {} | {speedup:>13} |",
            cells(b),
            cells(l)
        );
    }
}

/// "median (best) | Mops/s" cells of one timing, or dashes.
fn cells(timing: Option<&Timing>) -> String {
    match timing {
        Some(t) => format!(
            "{:>6.1} ({:>6.1}) | {:>12.2}",
            t.median_ns,
            t.best_ns,
            1e3 / t.median_ns
        ),
        None => format!("{:>15} | {:>12}", "-", "-"),
    }
}
