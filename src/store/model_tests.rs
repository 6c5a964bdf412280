//! Property tests: random operation sequences against the naive [`Model`],
//! comparing every reply, the byte count and all counters, with
//! `check_invariants()` after every operation.
//!
//! Two families: small key spaces (20 keys) under a tiny cap, for eviction
//! and expiry pressure; and key spaces of hundreds of keys, which push the
//! index through several growths (its first table takes 20 entries, each
//! next one twice as many) while entries keep moving between tables, then
//! hold it at its peak size under deletes and evictions.
//!
//! [`Model`]: super::model::Model

use std::num::NonZeroU64;

use proptest::prelude::*;

use super::Store;
use super::arena::Arena;
use super::model::{Op, run};

/// Keys of the pressure tests: as many as the index's first table takes,
/// so collisions are constant.
const FEW_KEYS: u16 = 20;
/// Keys of the growth tests: enough distinct live keys for the index to
/// grow 20 -> 40 -> 80 -> 160 -> 320 (and often 640).
const MANY_KEYS: u16 = 480;
/// The index capacity a growth run must reach: four growths from the
/// first table's 20 entries.
const GROWN_CAPACITY: usize = 320;

/// Nonzero TTLs, with the saturating extremes, or `None` ("no TTL") with
/// weight `persistent` against 6 for the rest.
fn ttl_strategy(persistent: u32) -> impl Strategy<Value = Option<NonZeroU64>> {
    prop_oneof![
        persistent => Just(None),
        4 => (1u64..40).prop_map(NonZeroU64::new),
        1 => Just(NonZeroU64::new(u64::MAX)),
        1 => (0u64..3).prop_map(|below| NonZeroU64::new(u64::MAX - below)),
    ]
}

fn value_len_strategy() -> impl Strategy<Value = usize> {
    prop_oneof![
        8 => 0usize..200,
        1 => 4_080usize..4_120, // around the size-class / large-record border
        1 => 5_000usize..9_000,
    ]
}

fn tick_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![Just(usize::MAX), 0usize..3].prop_map(|max_expired| Op::Tick { max_expired })
}

fn advance_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![4 => 0u64..15, 1 => Just(1_000u64)].prop_map(|ms| Op::Advance { ms })
}

/// The shape of an op sequence: its key space and the weights of the ops
/// that decide how many entries stay live.
#[derive(Clone, Copy)]
struct Mix {
    keys: u16,
    set: u32,
    get: u32,
    delete: u32,
    /// Weight of "no TTL" in every TTL chosen (see [`ttl_strategy`]).
    persistent: u32,
}

/// Pressure: few keys, TTLs on two sets in three.
const PRESSURE: Mix = Mix {
    keys: FEW_KEYS,
    set: 6,
    get: 5,
    delete: 1,
    persistent: 3,
};
/// Growth: many keys, mostly sets without a TTL, so entries accumulate.
const GROWTH: Mix = Mix {
    keys: MANY_KEYS,
    set: 16,
    get: 3,
    delete: 1,
    persistent: 24,
};
/// Churn: as many deletes as sets.
const CHURN: Mix = Mix {
    keys: MANY_KEYS,
    set: 4,
    get: 3,
    delete: 4,
    persistent: 24,
};

/// Every kind of op, shaped by `mix`, with values from `value_len`.
fn op_strategy(
    mix: Mix,
    value_len: impl Strategy<Value = usize> + 'static,
) -> impl Strategy<Value = Op> {
    let key = 0..mix.keys;
    prop_oneof![
        mix.set => (key.clone(), value_len, ttl_strategy(mix.persistent))
            .prop_map(|(key, value_len, ttl_ms)| Op::Set { key, value_len, ttl_ms }),
        mix.get => key.clone().prop_map(|key| Op::Get { key }),
        mix.delete => key.clone().prop_map(|key| Op::Delete { key }),
        2 => (key.clone(), ttl_strategy(mix.persistent))
            .prop_map(|(key, ttl_ms)| Op::Expire { key, ttl_ms }),
        1 => key.prop_map(|key| Op::Ttl { key }),
        1 => tick_strategy(),
        3 => advance_strategy(),
    ]
}

fn pressure_ops() -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(op_strategy(PRESSURE, value_len_strategy()), 1..160)
}

/// Ops that fill the index: mostly sets of small values over many keys.
fn growth_ops(ops: std::ops::Range<usize>) -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(op_strategy(GROWTH, 0usize..48), ops)
}

/// Ops that hold the index at its peak: as many deletes as sets.
fn churn_ops(ops: std::ops::Range<usize>) -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(op_strategy(CHURN, 0usize..48), ops)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3_000, ..ProptestConfig::default() })]

    /// Small caps: constant eviction and expiry pressure.
    #[test]
    fn matches_model_under_pressure(
        cap_bytes in prop_oneof![Just(0u64), 50u64..400, 400u64..3_000, 3_000u64..20_000],
        start_ms in prop_oneof![Just(0u64), Just(u64::MAX - 2_000)],
        ops in pressure_ops(),
    ) {
        run(Store::new(cap_bytes), start_ms, &ops);
    }

    /// Pages limited to one: records of every other size class, and
    /// any once the page is full, live in the large table instead.
    #[test]
    fn matches_model_when_pages_run_out(
        cap_bytes in 3_000u64..40_000,
        ops in pressure_ops(),
    ) {
        run(Store::with_limits(cap_bytes, super::MAX_ENTRIES, Arena::new(1).expect("address space")), 0, &ops);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100, ..ProptestConfig::default() })]

    /// A roomy cap: long histories with few evictions, many replaces.
    #[test]
    fn matches_model_with_room(
        ops in proptest::collection::vec(op_strategy(PRESSURE, value_len_strategy()), 200..600),
    ) {
        run(Store::new(1 << 20), 0, &ops);
    }
}

proptest! {
    // Each case runs about a thousand ops over hundreds of entries, with
    // a full invariant walk after each (about 0.4 s a case in a debug
    // build), and every case grows the index four times or more: 16 cases
    // keep each test under 10 s.
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// A roomy cap: the index grows several times, with gets, deletes,
    /// re-timings and ticks landing while entries move between tables.
    #[test]
    fn matches_model_while_the_index_grows(ops in growth_ops(700..1_000)) {
        let store = run(Store::new(1 << 20), 0, &ops);
        prop_assert!(store.index.capacity() >= GROWN_CAPACITY, "{}", store.index.capacity());
    }

    /// A cap of about 180 small entries: the index grows to its peak, then
    /// deletes and evictions keep it there (it never shrinks) while
    /// entries come and go.
    #[test]
    fn matches_model_at_the_index_peak_under_churn(
        ops in (growth_ops(600..800), churn_ops(400..600))
            .prop_map(|(grow, churn)| [grow, churn].concat()),
    ) {
        let store = run(Store::new(16_000), 0, &ops);
        prop_assert!(store.index.capacity() >= GROWN_CAPACITY, "{}", store.index.capacity());
        prop_assert!(store.stats().evictions > 0, "the churn reached the cap");
    }
}
