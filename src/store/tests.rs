//! Unit tests of the store's rules: sizes, charges, exact LRU order, the cap,
//! replacement, TTL edge cases, lazy and proactive expiry, lag stats.

use super::arena::Arena;
use super::expiry::Pair;
use super::record::{DEADLINE_BYTES, HEADER_BYTES};
use super::*;
use std::num::NonZeroU64;

/// A store whose cap fits exactly `entries` entries of `key_len`+`value_len`.
fn store_for(entries: u64, key_len: usize, value_len: usize) -> Store {
    Store::new(entries * entry_charge(key_len, value_len))
}

/// Key `i` as 4 bytes, so every test key has the same charge.
fn key(i: u32) -> [u8; 4] {
    i.to_be_bytes()
}

/// A TTL of `ms` (nonzero) milliseconds.
fn ttl(ms: u64) -> Option<NonZeroU64> {
    Some(NonZeroU64::new(ms).expect("a test TTL is nonzero"))
}

/// True if `key` is live, without touching its recency.
fn present(store: &mut Store, key: &[u8], now_ms: u64) -> bool {
    store.ttl(key, now_ms) != Ttl::Missing
}

#[test]
fn sizes_and_charge_are_pinned() {
    assert_eq!(size_of::<Loc>(), 4);
    assert_eq!(size_of::<Pair>(), 16);
    assert_eq!((HEADER_BYTES, DEADLINE_BYTES), (16, 12));
    assert_eq!(ENTRY_OVERHEAD_BYTES, 57);
    assert_eq!(ENTRY_OVERHEAD_BYTES, 16 + 13 + 12 + 16);
    assert_eq!(entry_charge(16, 100), 173);
    assert_eq!(entry_charge(0, 0), ENTRY_OVERHEAD_BYTES);
    assert_eq!(entry_charge(usize::MAX, usize::MAX), u64::MAX);
    let mut store = Store::new(1_000);
    store.set(&[7; 16], &[1; 100], None, 0).unwrap();
    assert_eq!(store.used_bytes(), 173);
}

#[test]
fn evicts_exactly_the_least_recently_used_keys() {
    let mut store = store_for(10, 4, 10);
    for i in 0..10 {
        store.set(&key(i), &[0; 10], None, 0).unwrap();
    }
    // Touch 0, 3 and 5: the recency order, oldest first, becomes
    // 1 2 4 6 7 8 9 0 3 5.
    for i in [0, 3, 5] {
        assert!(store.get(&key(i), 0).is_some());
    }
    for i in 10..14 {
        store.set(&key(i), &[0; 10], None, 0).unwrap();
        store.check_invariants();
    }
    let evicted: Vec<u32> = (0..14)
        .filter(|&i| !present(&mut store, &key(i), 0))
        .collect();
    assert_eq!(evicted, [1, 2, 4, 6]);
    let stats = store.stats();
    assert_eq!(stats.evictions, 4);
    assert_eq!(stats.evicted_bytes, 4 * entry_charge(4, 10));
    assert_eq!(stats.items, 10);
    assert_eq!(stats.used_bytes, stats.cap_bytes);
}

#[test]
fn replace_with_larger_evicts_only_what_is_needed() {
    let mut store = store_for(10, 4, 10);
    for i in 0..10 {
        store.set(&key(i), &[0; 10], None, 0).unwrap();
    }
    // Key 0 is the LRU tail; its new value needs the room of two more
    // entries, which must come from keys 1 and 2, never from key 0 itself.
    let bigger = vec![9; 10 + 2 * entry_charge(4, 10) as usize];
    store.set(&key(0), &bigger, None, 0).unwrap();
    store.check_invariants();
    assert_eq!(store.get(&key(0), 0), Some(&bigger[..]));
    let evicted: Vec<u32> = (0..10)
        .filter(|&i| !present(&mut store, &key(i), 0))
        .collect();
    assert_eq!(evicted, [1, 2]);
    assert_eq!(store.stats().evictions, 2);
    assert_eq!(store.used_bytes(), store.cap_bytes());
}

#[test]
fn replace_of_the_only_entry_up_to_the_whole_cap() {
    let mut store = Store::new(entry_charge(1, 1_000));
    store.set(b"k", b"small", None, 0).unwrap();
    store.set(b"k", &[5; 1_000], None, 0).unwrap();
    store.check_invariants();
    assert_eq!(store.get(b"k", 0), Some(&[5; 1_000][..]));
    assert_eq!(store.stats().evictions, 0);
    assert_eq!(store.used_bytes(), store.cap_bytes());
}

#[test]
fn an_item_that_can_never_fit_is_refused_before_anything_is_evicted() {
    let mut store = store_for(3, 4, 10);
    for i in 0..3 {
        store.set(&key(i), &[i as u8; 10], None, 0).unwrap();
    }
    let value = vec![0; 3 * entry_charge(4, 10) as usize];
    let refused = store.set(&key(0), &value, None, 0);
    let charge_bytes = entry_charge(4, value.len());
    assert_eq!(
        refused,
        Err(SetError::TooLarge {
            charge_bytes,
            cap_bytes: store.cap_bytes()
        })
    );
    assert!(matches!(
        store.set(&key(9), &value, ttl(5), 0),
        Err(SetError::TooLarge { .. })
    ));
    store.check_invariants();
    assert_eq!(store.stats().evictions, 0);
    for i in 0..3 {
        assert_eq!(
            store.get(&key(i), 0),
            Some(&[i as u8; 10][..]),
            "old value kept"
        );
    }
    assert!(refused.unwrap_err().to_string().contains("memory cap"));
}

#[test]
fn a_zero_cap_refuses_everything() {
    let mut store = Store::new(0);
    assert!(store.set(b"", b"", None, 0).is_err());
    assert!(store.is_empty());
    store.check_invariants();
}

#[test]
fn a_ttl_at_the_end_of_the_clock_is_due_at_once() {
    let mut store = Store::new(10_000);
    store.set(b"k", b"old", None, u64::MAX).unwrap();
    store.set(b"k", b"new", ttl(5), u64::MAX).unwrap();
    store.check_invariants();
    assert_eq!(store.next_expiry_ms(), Some(u64::MAX));
    assert_eq!(store.get(b"k", u64::MAX), None, "saturated deadline is now");
    assert_eq!(store.stats().expirations, 1);
    assert_eq!(store.stats().expiry_lag_max_ms, 0);
    assert_eq!(store.used_bytes(), 0);
    store.check_invariants();
}

#[test]
fn huge_ttls_saturate() {
    let mut store = Store::new(10_000);
    store.set(b"forever", b"v", ttl(u64::MAX), 10).unwrap();
    assert_eq!(
        store.ttl(b"forever", 10),
        Ttl::Remaining {
            remaining_ms: u64::MAX - 10
        }
    );
    store.set(b"late", b"v", ttl(100), u64::MAX - 5).unwrap();
    assert_eq!(
        store.ttl(b"late", u64::MAX - 5),
        Ttl::Remaining { remaining_ms: 5 }
    );
    assert_eq!(
        store.get(b"late", u64::MAX),
        None,
        "deadline saturated at u64::MAX"
    );
    assert!(store.expire(b"forever", ttl(u64::MAX), u64::MAX - 1));
    assert_eq!(
        store.ttl(b"forever", u64::MAX - 1),
        Ttl::Remaining { remaining_ms: 1 }
    );
    store.check_invariants();
}

#[test]
fn expire_sets_and_clears() {
    let mut store = Store::new(10_000);
    assert!(!store.expire(b"missing", ttl(5), 0));
    store.set(b"k", b"value", None, 0).unwrap();
    assert_eq!(store.ttl(b"k", 0), Ttl::Persistent);
    assert!(store.expire(b"k", ttl(100), 0));
    assert_eq!(store.ttl(b"k", 40), Ttl::Remaining { remaining_ms: 60 });
    assert!(store.expire(b"k", None, 40));
    assert_eq!(store.ttl(b"k", 1_000), Ttl::Persistent);
    assert_eq!(store.get(b"k", 1_000), Some(&b"value"[..]));
    assert!(store.expire(b"k", ttl(1), 1_000));
    assert_eq!(store.ttl(b"k", 1_001), Ttl::Missing);
    assert_eq!(store.stats().expirations, 1);
    assert!(!store.delete(b"k", 1_001));
    store.check_invariants();
}

#[test]
fn expiry_is_lazy_on_access_and_measures_lag() {
    let mut store = Store::new(10_000);
    store.set(b"a", b"1", ttl(10), 0).unwrap();
    store.set(b"b", b"2", ttl(10), 0).unwrap();
    assert_eq!(store.get(b"a", 9), Some(&b"1"[..]));
    assert_eq!(store.get(b"a", 10), None, "expired at the deadline");
    assert_eq!(store.len(), 1);
    assert!(
        !store.delete(b"b", 17),
        "an expired key is not deleted, it expired"
    );
    let stats = store.stats();
    assert_eq!((stats.expirations, stats.hits, stats.misses), (2, 1, 1));
    assert_eq!(
        (stats.expiry_lag_max_ms, stats.expiry_lag_recent_ms),
        (7, 7)
    );
    store.set(b"c", b"3", ttl(1), 20).unwrap();
    assert_eq!(store.tick(23, 10), 1);
    assert_eq!(
        (
            store.stats().expiry_lag_max_ms,
            store.stats().expiry_lag_recent_ms
        ),
        (7, 2)
    );
    assert!(store.is_empty());
    store.check_invariants();
}

#[test]
fn tick_is_bounded_and_goes_in_deadline_order() {
    let mut store = Store::new(100_000);
    for i in 0..10 {
        store.set(&key(i), b"v", ttl(u64::from(10 - i)), 0).unwrap();
    }
    store.set(b"persistent", b"v", None, 0).unwrap();
    assert_eq!(store.next_expiry_ms(), Some(1));
    assert_eq!(store.tick(5, 100), 5, "deadlines 1..=5 are due");
    assert_eq!(store.tick(10, 2), 2);
    // The two earliest remaining deadlines (6 and 7: keys 4 and 3) went first.
    assert!(!present(&mut store, &key(4), 5) && !present(&mut store, &key(3), 5));
    assert!(present(&mut store, &key(2), 5));
    assert_eq!(store.next_expiry_ms(), Some(8));
    assert_eq!(store.tick(10, usize::MAX), 3);
    assert_eq!(store.tick(10, usize::MAX), 0);
    assert_eq!(store.next_expiry_ms(), None);
    assert_eq!(store.len(), 1);
    assert_eq!(store.stats().expirations, 10);
    store.check_invariants();
}

#[test]
fn expired_entries_are_reclaimed_before_live_ones_are_evicted() {
    let mut store = store_for(3, 4, 10);
    store.set(&key(0), &[0; 10], None, 0).unwrap();
    store.set(&key(1), &[0; 10], ttl(10), 0).unwrap();
    store.set(&key(2), &[0; 10], None, 0).unwrap();
    // Key 0 is the LRU tail, but key 1 has expired: it makes the room.
    store.set(&key(3), &[0; 10], None, 20).unwrap();
    store.check_invariants();
    let stats = store.stats();
    assert_eq!(
        (
            stats.evictions,
            stats.expirations,
            stats.expiry_lag_recent_ms
        ),
        (0, 1, 10)
    );
    assert!(present(&mut store, &key(0), 20));
    assert!(!present(&mut store, &key(1), 20));
}

#[test]
fn the_expiry_heap_stays_bounded_under_re_timing() {
    let mut store = Store::new(100_000);
    store.set(b"k", b"v", ttl(1_000), 0).unwrap();
    for ttl_ms in 0..10_000 {
        assert!(store.expire(b"k", ttl(1_000 + ttl_ms % 7), 0));
        assert!(store.expiry.len() <= expiry::Expiry::bound(1));
    }
    store.check_invariants();
    store.set(b"k", b"w", None, 0).unwrap();
    store.check_invariants();
    assert_eq!(store.ttl(b"k", 5_000), Ttl::Persistent);
}

#[test]
fn keys_and_values_of_any_size_round_trip() {
    let mut store = Store::new(1 << 30);
    let long_key = vec![0xFF; MAX_KEY_BYTES];
    let values = [
        vec![],
        vec![0; 1],
        vec![1; 4_096 - 8],
        vec![2; 4_096],
        vec![3; 1 << 20],
    ];
    for (i, value) in values.iter().enumerate() {
        store.set(&long_key, value, ttl(50), 0).unwrap();
        store.set(&key(i as u32), value, None, 0).unwrap();
        store
            .set(
                b"",
                value,
                (i % 2 == 0).then_some(9).and_then(NonZeroU64::new),
                0,
            )
            .unwrap();
        store.check_invariants();
        assert_eq!(store.get(&long_key, 1), Some(&value[..]));
        assert_eq!(store.get(&key(i as u32), 1), Some(&value[..]));
        assert_eq!(store.get(b"", 1), Some(&value[..]));
    }
    for i in 0..values.len() as u32 {
        assert!(store.delete(&key(i), 1));
    }
    assert!(store.delete(&long_key, 1) && store.delete(b"", 1));
    assert!(store.is_empty());
    assert_eq!(store.used_bytes(), 0);
    store.check_invariants();
}

#[test]
fn churn_reuses_chunks_and_pages() {
    let mut store = store_for(1_000, 4, 100);
    for round in 0..5u32 {
        for i in 0..3_000 {
            store
                .set(
                    &key(i + round),
                    &[round as u8; 100],
                    (i % 3 == 0).then_some(1_000).and_then(NonZeroU64::new),
                    0,
                )
                .unwrap();
        }
        store.check_invariants();
    }
    assert_eq!(store.len(), 1_000);
    // 1,000 records of two sizes fit in one page per size.
    assert!(store.arena.live_pages() <= 2);
    for i in 0..3_005 {
        store.delete(&key(i), 0);
    }
    store.check_invariants();
    assert!(store.is_empty());
}

#[test]
fn a_huge_cap_never_overflows() {
    let mut store = Store::new(u64::MAX);
    for i in 0..100 {
        store
            .set(&key(i), &[0; 10], ttl(u64::MAX), u64::MAX - 1)
            .unwrap();
    }
    assert_eq!(store.tick(u64::MAX - 1, usize::MAX), 0);
    assert_eq!(
        store.tick(u64::MAX, usize::MAX),
        100,
        "saturated deadlines fall due at u64::MAX"
    );
    store.check_invariants();
    assert!(store.is_empty());
}

#[test]
fn over_long_keys_and_values_are_refused_before_anything_changes() {
    let mut store = Store::new(1 << 30);
    store.set(b"k", b"v", None, 0).unwrap();
    let long_key = vec![0; MAX_KEY_BYTES + 1];
    assert_eq!(
        store.set(&long_key, b"v", None, 0),
        Err(SetError::TooLong {
            key_bytes: MAX_KEY_BYTES + 1,
            value_bytes: 1
        })
    );
    assert!(
        SetError::TooLong {
            key_bytes: 1,
            value_bytes: MAX_VALUE_BYTES + 1
        }
        .to_string()
        .contains("4294967295")
    );
    assert_eq!(store.len(), 1);
    assert_eq!(store.get(b"k", 0), Some(&b"v"[..]));
    store.check_invariants();
}

#[test]
fn the_entry_limit_evicts_the_least_recently_used() {
    let mut store = Store::with_limits(1 << 20, 3, Arena::for_cap(1 << 20).expect("address space"));
    for i in 0..3 {
        store.set(&key(i), b"v", None, 0).unwrap();
    }
    assert!(store.get(&key(0), 0).is_some());
    store.set(&key(3), b"v", None, 0).unwrap();
    assert_eq!(store.len(), 3);
    assert!(!present(&mut store, &key(1), 0), "key 1 was least recent");
    assert_eq!(store.stats().evictions, 1);
    // Replacing at the limit needs no new entry, so evicts nothing.
    store.set(&key(3), &[0; 1000], None, 0).unwrap();
    assert_eq!(store.stats().evictions, 1);
    store.check_invariants();
}

#[test]
fn a_full_page_table_falls_back_to_own_allocations() {
    let mut store = Store::with_limits(1 << 20, MAX_ENTRIES, Arena::new(1).expect("address space"));
    for i in 0..50u32 {
        let value = vec![i as u8; i as usize * 37];
        store
            .set(
                &key(i),
                &value,
                (i % 2 == 0).then_some(100).and_then(NonZeroU64::new),
                0,
            )
            .unwrap();
    }
    store.check_invariants();
    for i in 0..50u32 {
        let value = vec![i as u8; i as usize * 37];
        assert_eq!(store.get(&key(i), 0), Some(&value[..]));
        assert!(store.expire(
            &key(i),
            (i % 3 == 0).then_some(50).and_then(NonZeroU64::new),
            0
        ));
    }
    store.check_invariants();
    assert_eq!(store.tick(50, usize::MAX), 17, "keys 0, 3, ... 48 expire");
    store.check_invariants();
}

#[test]
fn equal_deadlines_expire_in_the_order_they_were_set() {
    let mut store = Store::new(1 << 20);
    for i in [5, 1, 4, 2, 3] {
        store.set(&key(i), b"v", ttl(100), 0).unwrap();
    }
    // Re-timing key 5 to the same deadline moves it to the back.
    assert!(store.expire(&key(5), ttl(100), 0));
    for expected in [1, 4, 2, 3, 5] {
        assert_eq!(store.tick(100, 1), 1);
        assert!(
            !present(&mut store, &key(expected), 99),
            "key {expected} next"
        );
    }
    store.check_invariants();
}

#[test]
fn adding_a_ttl_moves_the_record_but_keeps_its_recency() {
    let mut store = store_for(3, 4, 10);
    for i in 0..3 {
        store.set(&key(i), &[0; 10], None, 0).unwrap();
    }
    // A TTL lengthens keys 0 and 1's records: both move to other chunks.
    assert!(store.expire(&key(0), ttl(1_000), 0));
    assert!(store.expire(&key(1), ttl(1_000), 0));
    store.check_invariants();
    store.set(&key(3), &[0; 10], None, 0).unwrap();
    assert!(
        !present(&mut store, &key(0), 0),
        "key 0 is still least recent"
    );
    assert!(present(&mut store, &key(1), 0));
    assert!(store.expire(&key(1), None, 0));
    store.check_invariants();
    assert_eq!(store.ttl(&key(1), 0), Ttl::Persistent);
}

#[test]
fn ticks_finish_growing_the_index_when_inserts_stop() {
    let mut store = Store::new(1 << 30);
    let mut inserted = 0;
    // Past the small tables, whose every growth one tick could finish.
    while inserted < 20_000 || !store.index.is_growing() {
        store.set(&key(inserted), b"v", None, 0).unwrap();
        inserted += 1;
    }
    store.check_invariants();
    // Mid-growth, entries still in the old table are found through the
    // full probe (the new table's home chunk cannot rule them out).
    for i in 0..inserted {
        assert!(present(&mut store, &key(i), 0));
    }
    assert!(store.index.is_growing(), "gets do not move entries");
    let mut ticks = 0;
    while store.index.is_growing() {
        assert_eq!(store.tick(0, 16), 0, "nothing is due");
        ticks += 1;
        assert!(
            ticks < 1_000,
            "growing ends within a bounded number of ticks"
        );
    }
    assert!(ticks > 1, "a tick moves only part of the table");
    store.check_invariants();
    for i in 0..inserted {
        assert!(present(&mut store, &key(i), 0));
    }
}

/// Every key a scan from cursor 0 visits, with how often, running
/// `between` after each step.
fn scan_all(store: &mut Store, now_ms: u64, mut between: impl FnMut(&mut Store)) -> Vec<Vec<u8>> {
    let mut seen = Vec::new();
    let mut cursor = 0;
    for _ in 0..1_000_000 {
        cursor = store.scan_step(cursor, now_ms, |key| seen.push(key.to_vec()));
        between(store);
        if cursor == 0 {
            seen.sort();
            return seen;
        }
    }
    panic!("the scan did not end");
}

#[test]
fn a_scan_visits_every_live_key_exactly_once() {
    let mut store = Store::new(1 << 30);
    assert_eq!(scan_all(&mut store, 0, |_| {}), Vec::<Vec<u8>>::new());
    for i in 0..3_000 {
        store
            .set(&key(i), b"v", ttl(if i % 10 == 0 { 5 } else { 1_000 }), 0)
            .unwrap();
    }
    let expected: Vec<Vec<u8>> = (0..3_000)
        .filter(|i| i % 10 != 0)
        .map(|i| key(i).to_vec())
        .collect();
    let mut sorted = expected.clone();
    sorted.sort();
    assert_eq!(
        scan_all(&mut store, 5, |_| {}),
        sorted,
        "expired keys are skipped"
    );
    assert_eq!(store.len(), 3_000, "a scan changes nothing");
}

#[test]
fn a_scan_across_index_growth_still_visits_each_old_key_once() {
    let mut store = Store::new(1 << 30);
    let old_keys: Vec<Vec<u8>> = (0..5_000).map(|i| key(i).to_vec()).collect();
    for k in &old_keys {
        store.set(k, b"v", None, 0).unwrap();
    }
    let mut next = 5_000;
    let mut grew = false;
    // Insert between steps, so the index grows (and moves entries) mid-scan.
    let seen = scan_all(&mut store, 0, |store| {
        for _ in 0..4 {
            store.set(&key(next), b"v", None, 0).unwrap();
            next += 1;
        }
        grew |= store.index.is_growing();
    });
    assert!(grew, "the index grew during the scan");
    let mut counts = std::collections::HashMap::new();
    for k in &seen {
        *counts.entry(k.clone()).or_insert(0) += 1;
    }
    for k in &old_keys {
        assert_eq!(counts.get(k), Some(&1), "key {k:?}");
    }
    assert!(counts.values().all(|&n| n == 1), "no key twice");
    store.check_invariants();
}

#[test]
fn clear_and_peek() {
    let mut store = Store::new(1 << 20);
    store.set(b"a", b"xyz", ttl(100), 10).unwrap();
    store.set(b"b", b"", None, 10).unwrap();
    let hits = store.stats().hits;
    let entry = store.peek(b"a", 20).unwrap();
    assert_eq!(entry.value, b"xyz");
    assert_eq!(entry.deadline_ms, Some(110));
    assert_eq!(entry.charge_bytes, entry_charge(1, 3));
    assert_eq!(store.peek(b"a", 110), None, "expired at its deadline");
    assert_eq!(store.stats().hits, hits, "peek counts no hits");
    store.clear();
    assert!(store.is_empty());
    assert_eq!(store.used_bytes(), 0);
    assert_eq!(store.peek(b"b", 20), None);
    store.check_invariants();
    store.set(b"c", b"v", None, 20).unwrap();
    assert_eq!(store.get(b"c", 20), Some(&b"v"[..]));
}

#[test]
fn every_change_to_an_entry_is_counted_and_reads_are_not() {
    let mut store = Store::new(entry_charge(1, 1) * 2);
    let mut last = store.changes();
    let mut changed = |store: &Store, what: &str| {
        assert!(store.changes() > last, "{what} must count");
        last = store.changes();
    };
    store.set(b"a", b"1", None, 0).unwrap();
    changed(&store, "insert");
    store.set(b"a", b"2", None, 0).unwrap();
    changed(&store, "replace");
    store.expire(b"a", ttl(10), 0);
    changed(&store, "expire");
    store.set(b"b", b"1", None, 0).unwrap();
    store.set(b"c", b"1", None, 0).unwrap();
    changed(&store, "insert with eviction");
    let before = store.changes();
    store.get(b"c", 0);
    store.peek(b"b", 0);
    store.ttl(b"b", 0);
    assert_eq!(store.changes(), before, "reads change nothing");
    store.delete(b"c", 0);
    assert!(store.changes() > before, "delete must count");
}
