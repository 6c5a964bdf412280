//! Property tests: random operation sequences against the naive [`Model`],
//! comparing every reply, the byte count and all counters, with
//! `check_invariants()` after every operation.

use proptest::prelude::*;

use super::Store;
use super::arena::Arena;
use super::model::{Op, run};

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

proptest! {
    #![proptest_config(ProptestConfig { cases: 3_000, ..ProptestConfig::default() })]

    /// Small caps: constant eviction and expiry pressure.
    #[test]
    fn matches_model_under_pressure(
        cap_bytes in prop_oneof![Just(0u64), 50u64..400, 400u64..3_000, 3_000u64..20_000],
        start_ms in prop_oneof![Just(0u64), Just(u64::MAX - 2_000)],
        ops in proptest::collection::vec(op_strategy(), 1..160),
    ) {
        run(Store::new(cap_bytes), start_ms, &ops);
    }

    /// Pages limited to one: records of every other size class, and
    /// any once the page is full, live in the large table instead.
    #[test]
    fn matches_model_when_pages_run_out(
        cap_bytes in 3_000u64..40_000,
        ops in proptest::collection::vec(op_strategy(), 1..160),
    ) {
        run(Store::with_limits(cap_bytes, super::MAX_ENTRIES, Arena::new(1).expect("address space")), 0, &ops);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100, ..ProptestConfig::default() })]

    /// A roomy cap: long histories with few evictions, many replaces.
    #[test]
    fn matches_model_with_room(ops in proptest::collection::vec(op_strategy(), 200..600)) {
        run(Store::new(1 << 20), 0, &ops);
    }
}
