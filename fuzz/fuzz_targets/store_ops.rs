//! Fuzz target: arbitrary operation streams against a store with a tiny cap
//! (under 6 KiB), run in lockstep with the naive reference model by the
//! same runner the property tests use (`src/store/model.rs`, compiled in via
//! `#[path]`): every reply, byte count and counter compared, with
//! `check_invariants()` after every operation.
//!
//! Run: `cargo +nightly fuzz run store_ops -- -max_total_time=30`.

#![no_main]

use arbitrary::Arbitrary;
use blink_store::store::{SetError, Store, StoreStats, Ttl, entry_charge};
use libfuzzer_sys::fuzz_target;

#[path = "../../src/store/model.rs"]
mod model;

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

impl Op {
    /// The shared lockstep operation this input stands for.
    fn lockstep(&self) -> model::Op {
        match *self {
            Op::Set {
                key,
                value_len,
                ttl,
            } => model::Op::Set {
                key: key % KEYS,
                value_len: usize::from(value_len) % (VALUE_BYTES_MAX + 1),
                ttl_ms: ttl.ttl_ms(),
            },
            Op::Get { key } => model::Op::Get { key: key % KEYS },
            Op::Delete { key } => model::Op::Delete { key: key % KEYS },
            Op::Expire { key, ttl } => model::Op::Expire {
                key: key % KEYS,
                ttl_ms: ttl.ttl_ms(),
            },
            Op::Ttl { key } => model::Op::Ttl { key: key % KEYS },
            Op::Tick { max_expired } => model::Op::Tick {
                max_expired: usize::from(max_expired),
            },
            Op::Advance { ms } => model::Op::Advance { ms: u64::from(ms) },
        }
    }
}

fuzz_target!(|input: Input| {
    let cap_bytes = u64::from(input.cap_bytes) % (CAP_BYTES_MAX + 1);
    let start_ms = if input.start_near_max {
        u64::MAX - 70_000
    } else {
        0
    };
    let ops: Vec<model::Op> = input.ops.iter().map(Op::lockstep).collect();
    model::run(Store::new(cap_bytes), start_ms, &ops);
});
