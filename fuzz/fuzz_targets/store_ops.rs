//! Fuzz target: arbitrary operation streams against a store, run in
//! lockstep with the naive reference model by the same runner the property
//! tests use (`blink_store::store::model`, compiled into the library under
//! `--cfg fuzzing`): every reply, byte count and counter compared, with
//! `check_invariants()` after every operation.
//!
//! The cap is at most 64 KiB and values are mostly short, so a stream
//! reaches anything from constant eviction (a cap of a few entries) to
//! several hundred live entries over [`KEYS`] keys: the index grows
//! 20 -> 40 -> ... -> 640 entries and then holds its peak under deletes and
//! evictions, with entries moving between its tables meanwhile. Besides
//! single ops, a few input bytes can stand for a run of up to 255 sets or
//! deletes of consecutive keys: libFuzzer starts with inputs of a few dozen
//! bytes, which would otherwise never hold enough sets to grow the index.
//!
//! Run: `cargo +nightly fuzz run store_ops -- -max_total_time=30`.

#![no_main]

use std::num::NonZeroU64;

use arbitrary::{Result, Unstructured};
use blink_store::store::Store;
use blink_store::store::model::{self, Op};
use libfuzzer_sys::fuzz_target;

/// Distinct keys: more than the index's fourth table (320 entries) takes,
/// so the index can grow five times.
const KEYS: u16 = 1_024;
/// Largest value tried: above the 4 KiB size-class limit, so large records
/// are exercised too.
const VALUE_BYTES_MAX: usize = 5_000;
/// Largest short value: most values are short, so hundreds fit the cap.
const SHORT_VALUE_BYTES_MAX: usize = 32;

/// A TTL: none, short, huge (saturating), or any nonzero value.
fn ttl_ms(u: &mut Unstructured<'_>) -> Result<Option<NonZeroU64>> {
    Ok(match u.int_in_range(0..=3u8)? {
        0 => None,
        1 => NonZeroU64::new(u64::from(u.int_in_range(1..=u8::MAX)?)),
        2 => NonZeroU64::new(u64::MAX),
        _ => NonZeroU64::new(u.arbitrary()?),
    })
}

/// A value length: short seven times in eight.
fn value_len(u: &mut Unstructured<'_>) -> Result<usize> {
    let max = if u.ratio(7u8, 8u8)? {
        SHORT_VALUE_BYTES_MAX
    } else {
        VALUE_BYTES_MAX
    };
    u.int_in_range(0..=max)
}

/// Key number `first + offset`, within the key space.
fn key_after(first: u16, offset: u16) -> u16 {
    ((u32::from(first) + u32::from(offset)) % u32::from(KEYS)) as u16
}

/// Appends the ops the next input bytes stand for: one op, or a run of
/// sets or deletes of consecutive keys.
fn push_ops(u: &mut Unstructured<'_>, ops: &mut Vec<Op>) -> Result<()> {
    let first = u.int_in_range(0..=KEYS - 1)?;
    let keys = (0..u16::from(u.arbitrary::<u8>()?)).map(|offset| key_after(first, offset));
    match u.int_in_range(0..=7u8)? {
        0 => {
            let (value_len, ttl_ms) = (value_len(u)?, ttl_ms(u)?);
            ops.extend(keys.map(|key| Op::Set {
                key,
                value_len,
                ttl_ms,
            }));
        }
        1 => ops.extend(keys.map(|key| Op::Delete { key })),
        _ => ops.push(op(u)?),
    }
    Ok(())
}

/// One operation; sets are the most frequent, so entries accumulate.
fn op(u: &mut Unstructured<'_>) -> Result<Op> {
    let key = |u: &mut Unstructured<'_>| u.int_in_range(0..=KEYS - 1);
    Ok(match u.int_in_range(0..=15u8)? {
        0..=6 => Op::Set {
            key: key(u)?,
            value_len: value_len(u)?,
            ttl_ms: ttl_ms(u)?,
        },
        7..=9 => Op::Get { key: key(u)? },
        10 => Op::Delete { key: key(u)? },
        11 => Op::Expire {
            key: key(u)?,
            ttl_ms: ttl_ms(u)?,
        },
        12 => Op::Ttl { key: key(u)? },
        13 => Op::Tick {
            max_expired: usize::from(u.arbitrary::<u8>()?),
        },
        _ => Op::Advance {
            ms: u64::from(u.arbitrary::<u16>()?),
        },
    })
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(cap_bytes) = u.arbitrary::<u16>() else {
        return;
    };
    // Start the clock near u64::MAX to exercise deadline saturation.
    let start_ms = match u.arbitrary::<bool>() {
        Ok(true) => u64::MAX - 70_000,
        _ => 0,
    };
    let mut ops = Vec::new();
    while !u.is_empty() && push_ops(&mut u, &mut ops).is_ok() {}
    model::run(Store::new(u64::from(cap_bytes)), start_ms, &ops);
});
