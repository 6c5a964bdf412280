//! Property tests: random operation sequences against the naive [`Model`],
//! comparing every reply, the byte count and all counters, with
//! `check_invariants()` after every operation.

use proptest::prelude::*;

use super::Store;
use super::model::Model;

/// One step of a generated sequence. Keys are small indices into a key
/// space with varied lengths (including the empty key).
#[derive(Clone, Debug)]
enum Op {
    Set {
        key: u8,
        value_len: usize,
        ttl_ms: Option<u64>,
    },
    Get {
        key: u8,
    },
    Delete {
        key: u8,
    },
    Expire {
        key: u8,
        ttl_ms: Option<u64>,
    },
    Ttl {
        key: u8,
    },
    Tick {
        max_expired: usize,
    },
    Advance {
        ms: u64,
    },
}

fn key_bytes(key: u8) -> Vec<u8> {
    // Key 0 is the empty key; others repeat their index 1..=5 times.
    if key == 0 {
        Vec::new()
    } else {
        vec![key; 1 + usize::from(key % 5)]
    }
}

fn ttl_strategy() -> impl Strategy<Value = Option<u64>> {
    prop_oneof![
        3 => Just(None),
        1 => Just(Some(0)),
        4 => (1u64..40).prop_map(Some),
        1 => Just(Some(u64::MAX)),
        1 => (0u64..3).prop_map(|below| Some(u64::MAX - below)),
    ]
}

fn value_len_strategy() -> impl Strategy<Value = usize> {
    prop_oneof![
        8 => 0usize..200,
        1 => 4_080usize..4_120, // around the size-class / large-record border
        1 => 5_000usize..9_000,
    ]
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let key = 0u8..20;
    prop_oneof![
        6 => (key.clone(), value_len_strategy(), ttl_strategy())
            .prop_map(|(key, value_len, ttl_ms)| Op::Set { key, value_len, ttl_ms }),
        5 => key.clone().prop_map(|key| Op::Get { key }),
        1 => key.clone().prop_map(|key| Op::Delete { key }),
        2 => (key.clone(), ttl_strategy()).prop_map(|(key, ttl_ms)| Op::Expire { key, ttl_ms }),
        1 => key.prop_map(|key| Op::Ttl { key }),
        1 => prop_oneof![Just(usize::MAX), 0usize..3].prop_map(|max_expired| Op::Tick { max_expired }),
        3 => prop_oneof![4 => 0u64..15, 1 => Just(1_000u64)].prop_map(|ms| Op::Advance { ms }),
    ]
}

/// Applies one op to both and compares the replies.
fn step(store: &mut Store, model: &mut Model, op: &Op, now_ms: &mut u64, seq: usize) {
    match *op {
        Op::Set {
            key,
            value_len,
            ttl_ms,
        } => {
            let key = key_bytes(key);
            let value: Vec<u8> = (0..value_len).map(|i| (i + seq) as u8).collect();
            let got = store.set(&key, &value, ttl_ms, *now_ms);
            assert_eq!(got, model.set(&key, &value, ttl_ms, *now_ms), "{op:?}");
        }
        Op::Get { key } => {
            let key = key_bytes(key);
            let got = store.get(&key, *now_ms).map(<[u8]>::to_vec);
            assert_eq!(got, model.get(&key, *now_ms), "{op:?}");
        }
        Op::Delete { key } => {
            let key = key_bytes(key);
            assert_eq!(
                store.delete(&key, *now_ms),
                model.delete(&key, *now_ms),
                "{op:?}"
            );
        }
        Op::Expire { key, ttl_ms } => {
            let key = key_bytes(key);
            let got = store.expire(&key, ttl_ms, *now_ms);
            assert_eq!(got, model.expire(&key, ttl_ms, *now_ms), "{op:?}");
        }
        Op::Ttl { key } => {
            let key = key_bytes(key);
            assert_eq!(store.ttl(&key, *now_ms), model.ttl(&key, *now_ms), "{op:?}");
        }
        Op::Tick { max_expired } => {
            let got = store.tick(*now_ms, max_expired);
            assert_eq!(got, model.tick(*now_ms, max_expired), "{op:?}");
        }
        Op::Advance { ms } => *now_ms = now_ms.saturating_add(ms),
    }
}

/// Runs a sequence, comparing state after every op.
fn run(cap_bytes: u64, start_ms: u64, ops: &[Op]) {
    let mut store = Store::new(cap_bytes);
    let mut model = Model::new(cap_bytes);
    let mut now_ms = start_ms;
    for (seq, op) in ops.iter().enumerate() {
        step(&mut store, &mut model, op, &mut now_ms, seq);
        store.check_invariants();
        assert_eq!(store.stats(), model.stats(), "after {op:?}");
        assert_eq!(store.len(), model.len());
        assert_eq!(store.used_bytes(), model.used_bytes());
        if let Some(earliest_ms) = model.earliest_deadline_ms() {
            let next_ms = store.next_expiry_ms().expect("a deadline is pending");
            assert!(
                next_ms <= earliest_ms,
                "next_expiry_ms later than a pending deadline"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3_000, ..ProptestConfig::default() })]

    /// Small caps: constant eviction and expiry pressure.
    #[test]
    fn matches_model_under_pressure(
        cap_bytes in prop_oneof![Just(0u64), 50u64..400, 400u64..3_000, 3_000u64..20_000],
        start_ms in prop_oneof![Just(0u64), Just(u64::MAX - 2_000)],
        ops in proptest::collection::vec(op_strategy(), 1..160),
    ) {
        run(cap_bytes, start_ms, &ops);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100, ..ProptestConfig::default() })]

    /// A roomy cap: long histories with few evictions, many replaces.
    #[test]
    fn matches_model_with_room(ops in proptest::collection::vec(op_strategy(), 200..600)) {
        run(1 << 20, 0, &ops);
    }
}
