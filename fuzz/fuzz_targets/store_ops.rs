//! Fuzz target: arbitrary operation streams against a store with a tiny cap
//! (under 6 KiB), with `check_invariants()` after every operation and every
//! reply, byte count and counter compared with the naive reference model
//! (`src/store/model.rs`, compiled in via `#[path]`).
//!
//! Run: `cargo +nightly fuzz run store_ops -- -max_total_time=30`.

#![no_main]

use arbitrary::Arbitrary;
use blink_store::store::{SetError, Store, StoreStats, Ttl, entry_charge};
use libfuzzer_sys::fuzz_target;

#[path = "../../src/store/model.rs"]
mod model;

use model::Model;

/// Largest cap tried: a few KiB, so eviction and expiry happen constantly.
const CAP_BYTES_MAX: u64 = 6_000;
/// Largest value tried: above the 4 KiB size-class limit, so large records
/// are exercised too.
const VALUE_BYTES_MAX: usize = 5_000;
/// Distinct keys: few, so operations collide on the same keys.
const KEYS: u8 = 16;

#[derive(Arbitrary, Debug)]
struct Input {
    cap_bytes: u16,
    /// Start the clock near u64::MAX to exercise deadline saturation.
    start_near_max: bool,
    ops: Vec<Op>,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum TtlChoice {
    None,
    Zero,
    Small(u8),
    Max,
    Raw(u64),
}

impl TtlChoice {
    fn ttl_ms(self) -> Option<u64> {
        match self {
            TtlChoice::None => None,
            TtlChoice::Zero => Some(0),
            TtlChoice::Small(ms) => Some(u64::from(ms)),
            TtlChoice::Max => Some(u64::MAX),
            TtlChoice::Raw(ms) => Some(ms),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Op {
    Set {
        key: u8,
        value_len: u16,
        fill: u8,
        ttl: TtlChoice,
    },
    Get {
        key: u8,
    },
    Delete {
        key: u8,
    },
    Expire {
        key: u8,
        ttl: TtlChoice,
    },
    Ttl {
        key: u8,
    },
    Tick {
        max_expired: u8,
    },
    Advance {
        ms: u16,
    },
}

/// Key `index` (mod KEYS): 0 is the empty key, others repeat their index.
fn key_bytes(index: u8) -> Vec<u8> {
    let index = index % KEYS;
    if index == 0 {
        Vec::new()
    } else {
        vec![index; 1 + usize::from(index % 5)]
    }
}

fn step(store: &mut Store, model: &mut Model, op: &Op, now_ms: &mut u64) {
    match *op {
        Op::Set {
            key,
            value_len,
            fill,
            ttl,
        } => {
            let key = key_bytes(key);
            let value = vec![fill; usize::from(value_len) % (VALUE_BYTES_MAX + 1)];
            let (got, want) = (
                store.set(&key, &value, ttl.ttl_ms(), *now_ms),
                model.set(&key, &value, ttl.ttl_ms(), *now_ms),
            );
            assert_eq!(got, want, "set");
            if let Err(SetError::TooLarge { charge_bytes, .. }) = got {
                assert_eq!(charge_bytes, entry_charge(key.len(), value.len()));
            }
        }
        Op::Get { key } => {
            let key = key_bytes(key);
            let got = store.get(&key, *now_ms).map(<[u8]>::to_vec);
            assert_eq!(got, model.get(&key, *now_ms), "get");
        }
        Op::Delete { key } => {
            let key = key_bytes(key);
            assert_eq!(
                store.delete(&key, *now_ms),
                model.delete(&key, *now_ms),
                "delete"
            );
        }
        Op::Expire { key, ttl } => {
            let key = key_bytes(key);
            let got = store.expire(&key, ttl.ttl_ms(), *now_ms);
            assert_eq!(got, model.expire(&key, ttl.ttl_ms(), *now_ms), "expire");
        }
        Op::Ttl { key } => {
            let key = key_bytes(key);
            let got: Ttl = store.ttl(&key, *now_ms);
            assert_eq!(got, model.ttl(&key, *now_ms), "ttl");
        }
        Op::Tick { max_expired } => {
            let max_expired = usize::from(max_expired);
            assert_eq!(
                store.tick(*now_ms, max_expired),
                model.tick(*now_ms, max_expired),
                "tick"
            );
        }
        Op::Advance { ms } => *now_ms = now_ms.saturating_add(u64::from(ms)),
    }
}

fuzz_target!(|input: Input| {
    let cap_bytes = u64::from(input.cap_bytes) % (CAP_BYTES_MAX + 1);
    let mut store = Store::new(cap_bytes);
    let mut model = Model::new(cap_bytes);
    let mut now_ms = if input.start_near_max {
        u64::MAX - 70_000
    } else {
        0
    };
    for op in &input.ops {
        step(&mut store, &mut model, op, &mut now_ms);
        store.check_invariants();
        let stats: StoreStats = store.stats();
        assert_eq!(stats, model.stats(), "stats after {op:?}");
        assert_eq!(
            (store.len(), store.used_bytes()),
            (model.len(), model.used_bytes())
        );
        assert!(store.used_bytes() <= store.cap_bytes());
        if let Some(earliest_ms) = model.earliest_deadline_ms() {
            assert!(
                store
                    .next_expiry_ms()
                    .is_some_and(|next_ms| next_ms <= earliest_ms)
            );
        }
    }
});
