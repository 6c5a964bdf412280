//! Memory benchmark: process RSS per entry at 1,000,000 entries with 16-byte
//! keys and 100-byte values (target: RSS per entry minus key and value
//! <= 32 bytes; Redis 7.0 ~83, memcached 1.6 ~89 on this shape).
//!
//! Run: `cargo bench --bench store_memory` (Blink's store), or
//! `cargo bench --bench store_memory -- lru` for the `lru` crate holding
//! `Box<[u8]>` keys and values, for comparison. One cache per process, so
//! the RSS delta belongs to it alone.

mod common;

use std::hint::black_box;
use std::num::NonZeroUsize;

use blink_store::store::{Store, entry_charge};
use common::{ENTRIES, KEY_BYTES, VALUE_BYTES, key};

/// VmRSS of this process, in bytes, from /proc/self/status.
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let line = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .expect("VmRSS line");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("VmRSS value");
    kib * 1024
}

/// Transparent huge pages backing this process, in KiB.
fn huge_kib() -> u64 {
    let rollup = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap_or_default();
    let line = rollup
        .lines()
        .find(|line| line.starts_with("AnonHugePages:"));
    line.and_then(|line| line.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

fn load_blink() -> usize {
    let mut store = Store::new(ENTRIES * entry_charge(KEY_BYTES, VALUE_BYTES));
    for i in 0..ENTRIES {
        store
            .set(&key(i), &value(i), None, 0)
            .expect("fits the cap");
    }
    assert_eq!(store.len() as u64, ENTRIES);
    let len = store.len();
    // Keep the store alive until RSS is read.
    std::mem::forget(black_box(store));
    len
}

fn load_lru() -> usize {
    let hasher = foldhash::fast::RandomState::default();
    let mut cache: lru::LruCache<Box<[u8]>, Box<[u8]>, _> = lru::LruCache::with_hasher(
        NonZeroUsize::new(ENTRIES as usize).expect("non-zero"),
        hasher,
    );
    for i in 0..ENTRIES {
        cache.put(Box::from(&key(i)[..]), Box::from(&value(i)[..]));
    }
    let len = cache.len();
    std::mem::forget(black_box(cache));
    len
}

fn main() {
    let use_lru = std::env::args().skip(1).any(|arg| arg == "lru");
    let before = rss_bytes();
    let entries = if use_lru { load_lru() } else { load_blink() };
    let after = rss_bytes();
    let per_entry = (after - before) as f64 / entries as f64;
    let payload = (KEY_BYTES + VALUE_BYTES) as f64;
    println!(
        "cache:                  {}",
        if use_lru {
            "lru crate (Box<[u8]> keys and values)"
        } else {
            "blink_store::store::Store"
        }
    );
    println!("entries:                {entries}");
    println!("key + value bytes:      {KEY_BYTES} + {VALUE_BYTES}");
    println!(
        "RSS before / after:     {} / {} KiB",
        before / 1024,
        after / 1024
    );
    println!("RSS per entry:          {per_entry:.1} bytes");
    println!("AnonHugePages:          {} KiB", huge_kib());
    println!(
        "overhead per entry:     {:.1} bytes (RSS per entry - key - value; target <= 32)",
        per_entry - payload
    );
}

/// Value for key number `i`.
fn value(i: u64) -> [u8; VALUE_BYTES] {
    [i as u8; VALUE_BYTES]
}
