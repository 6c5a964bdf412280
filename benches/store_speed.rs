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
//! repetition over precomputed, fixed-seed inputs. Both caches are loaded
//! side by side and run every repetition back to back, in alternating
//! order, because this machine's speed drifts by tens of percent within a
//! minute; the table shows each cache's median and best, and the median of
//! the per-repetition ratios.
//!
//! Three get-hit phases measure different things. `get-hit` looks up
//! independent random keys and never reads the values, so the CPU overlaps
//! the cache misses of several gets at once, and the cache with fewer
//! instructions per get overlaps more of them: it measures lookup
//! throughput. `get-hit-copy` is the same gets with each value copied into
//! a reused buffer, as the server copies it into its reply: that reads the
//! value's bytes, which Blink keeps next to the key and `lru` in a separate
//! allocation. `get-hit-chain` takes each key from the value the previous
//! get returned (every loaded value holds the number of the next key, in
//! one random cycle through all keys), so no two gets overlap: it measures
//! one get's latency, the cost a caller pays when it needs the answer
//! before its next request.

mod common;

use std::hint::black_box;
use std::time::Instant;

use blink_store::store::{Store, entry_charge};
use common::{ENTRIES, KEY_BYTES, VALUE_BYTES, key, splitmix64};

/// Timed repetitions of every phase.
const REPETITIONS: usize = 7;
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

/// What both caches must do. Every implementation is inlined into the
/// phase loops, so neither cache pays for a call the other does not.
trait Cache {
    fn get(&mut self, key: &[u8]) -> bool;
    /// Replaces `out`'s contents with the value under `key`, if any.
    fn get_copy(&mut self, key: &[u8], out: &mut Vec<u8>) -> bool;
    /// The key number the value under `key` names (see [`chain_values`]).
    fn get_next(&mut self, key: &[u8]) -> u64;
    fn set(&mut self, key: &[u8], value: &[u8]);
}

impl Cache for Store {
    #[inline(always)]
    fn get(&mut self, key: &[u8]) -> bool {
        black_box(Store::get(self, key, 0)).is_some()
    }

    #[inline(always)]
    fn get_copy(&mut self, key: &[u8], out: &mut Vec<u8>) -> bool {
        copy_into(Store::get(self, key, 0), out)
    }

    #[inline(always)]
    fn get_next(&mut self, key: &[u8]) -> u64 {
        next_in_chain(Store::get(self, key, 0).expect("a loaded key"))
    }

    #[inline(always)]
    fn set(&mut self, key: &[u8], value: &[u8]) {
        Store::set(self, key, value, None, 0).expect("fits the cap");
    }
}

/// Copies a found value into `out`, as the server copies it into a reply.
fn copy_into(value: Option<&[u8]>, out: &mut Vec<u8>) -> bool {
    out.clear();
    let Some(value) = value else { return false };
    out.extend_from_slice(value);
    black_box(&out);
    true
}

/// The `lru` crate plus the byte accounting the store does internally.
struct LruBytes {
    cache: lru::LruCache<Box<[u8]>, Box<[u8]>, foldhash::fast::RandomState>,
    used_bytes: u64,
    cap_bytes: u64,
}

impl Cache for LruBytes {
    #[inline(always)]
    fn get(&mut self, key: &[u8]) -> bool {
        black_box(self.cache.get(key)).is_some()
    }

    #[inline(always)]
    fn get_copy(&mut self, key: &[u8], out: &mut Vec<u8>) -> bool {
        copy_into(self.cache.get(key).map(|value| &value[..]), out)
    }

    #[inline(always)]
    fn get_next(&mut self, key: &[u8]) -> u64 {
        next_in_chain(self.cache.get(key).expect("a loaded key"))
    }

    #[inline(always)]
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

/// The phases, in the order they run; each performs `ENTRIES` operations.
#[derive(Clone, Copy)]
enum Phase {
    GetHit,
    GetHitCopy,
    GetHitChain,
    GetMiss,
    SetReplace,
    SetWithEviction,
}

impl Phase {
    const ALL: [Phase; 6] = [
        Phase::GetHit,
        Phase::GetHitCopy,
        Phase::GetHitChain,
        Phase::GetMiss,
        Phase::SetReplace,
        Phase::SetWithEviction,
    ];

    fn name(self) -> &'static str {
        match self {
            Phase::GetHit => "get-hit",
            Phase::GetHitCopy => "get-hit-copy",
            Phase::GetHitChain => "get-hit-chain",
            Phase::GetMiss => "get-miss",
            Phase::SetReplace => "set-replace",
            Phase::SetWithEviction => "set-with-eviction",
        }
    }

    /// Runs repetition `rep` of this phase on `cache`; returns ns/op.
    fn time(self, cache: &mut impl Cache, inputs: &Inputs, rep: usize) -> f64 {
        let start = Instant::now();
        match self {
            Phase::GetHit => {
                let found = inputs.hits.iter().filter(|key| cache.get(&key[..])).count();
                assert_eq!(found as u64, ENTRIES);
            }
            Phase::GetHitCopy => {
                let mut out = Vec::with_capacity(VALUE_BYTES);
                let found = inputs
                    .hits
                    .iter()
                    .filter(|key| cache.get_copy(&key[..], &mut out))
                    .count();
                assert_eq!(found as u64, ENTRIES);
            }
            Phase::GetHitChain => {
                let mut number = 0;
                for _ in 0..ENTRIES {
                    number = cache.get_next(&key(number));
                }
                assert_eq!(number, 0, "a full cycle ends where it started");
            }
            Phase::GetMiss => {
                let fresh = &inputs.fresh[rep];
                let found = fresh.iter().filter(|key| cache.get(&key[..])).count();
                assert_eq!(found, 0);
            }
            Phase::SetReplace => {
                for key in &inputs.hits {
                    cache.set(key, &inputs.value);
                }
            }
            Phase::SetWithEviction => {
                for key in &inputs.fresh[rep] {
                    cache.set(key, &inputs.value);
                }
            }
        }
        start.elapsed().as_nanos() as f64 / ENTRIES as f64
    }
}

/// Loads every chain value under its key.
fn load(cache: &mut impl Cache, inputs: &Inputs) {
    for (i, value) in inputs.chain_values.iter().enumerate() {
        cache.set(&key(i as u64), value);
    }
}

/// ns/op of every repetition of one phase, per cache (empty if not run).
#[derive(Default)]
struct Samples {
    blink_ns: Vec<f64>,
    lru_ns: Vec<f64>,
}

fn main() {
    // `-- blink` or `-- lru` runs one cache only (for profiling).
    let only: Option<String> = std::env::args()
        .skip(1)
        .find(|arg| arg == "blink" || arg == "lru");
    let wanted = |name: &str| only.as_deref().is_none_or(|only| only == name);
    let cap_bytes = ENTRIES * entry_charge(KEY_BYTES, VALUE_BYTES);
    let inputs = Inputs::new();
    let mut blink = wanted("blink").then(|| Store::new(cap_bytes));
    let mut lru = wanted("lru").then(|| LruBytes {
        cache: lru::LruCache::unbounded_with_hasher(foldhash::fast::RandomState::default()),
        used_bytes: 0,
        cap_bytes,
    });
    blink.iter_mut().for_each(|cache| load(cache, &inputs));
    lru.iter_mut().for_each(|cache| load(cache, &inputs));
    println!(
        "{ENTRIES} entries, {KEY_BYTES}-byte keys, {VALUE_BYTES}-byte values; {REPETITIONS} repetitions of {ENTRIES} ops"
    );
    println!("ns/op: median (best); speedup: median over repetitions of lru ns / blink ns");
    println!(
        "| op                | blink ns/op     | blink Mops/s | lru ns/op       | lru Mops/s   | blink speedup |"
    );
    println!(
        "|-------------------|-----------------|--------------|-----------------|--------------|---------------|"
    );
    for phase in Phase::ALL {
        let mut samples = Samples::default();
        for rep in 0..REPETITIONS {
            // Both caches run every repetition back to back, in alternating
            // order, so drift in the machine's speed hits both alike.
            for turn in [rep % 2, 1 - rep % 2] {
                match (turn, &mut blink, &mut lru) {
                    (0, Some(cache), _) => samples.blink_ns.push(phase.time(cache, &inputs, rep)),
                    (1, _, Some(cache)) => samples.lru_ns.push(phase.time(cache, &inputs, rep)),
                    _ => {}
                }
            }
        }
        println!("{}", row(phase.name(), &samples));
    }
}

/// One table row: both caches' cells and the speedup.
fn row(name: &str, samples: &Samples) -> String {
    let ratios: Vec<f64> = samples
        .lru_ns
        .iter()
        .zip(&samples.blink_ns)
        .map(|(lru_ns, blink_ns)| lru_ns / blink_ns)
        .collect();
    let speedup = if ratios.is_empty() {
        "-".to_string()
    } else {
        format!("{:.2}x", median(ratios))
    };
    format!(
        "| {name:<17} | {} | {} | {speedup:>13} |",
        cells(&samples.blink_ns),
        cells(&samples.lru_ns)
    )
}

/// "median (best) | Mops/s" cells of one cache's samples, or dashes.
fn cells(ns: &[f64]) -> String {
    match ns.iter().copied().reduce(f64::min) {
        Some(best_ns) => {
            let median_ns = median(ns.to_vec());
            format!(
                "{median_ns:>6.1} ({best_ns:>6.1}) | {:>12.2}",
                1e3 / median_ns
            )
        }
        None => format!("{:>15} | {:>12}", "-", "-"),
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
