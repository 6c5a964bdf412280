//! The operations both protocols run beyond the store's own calls: add to
//! a counter and append in place (each keeping the key's TTL, through the
//! store's one exact-charge `set`), and one page of a key walk. No replies
//! here: the binary protocol (`command.rs`) and RESP (`command/resp/`) map
//! each result to their own.

use std::num::NonZeroU64;

use crate::protocol::resp::{I64_DECIMAL_MAX_BYTES, format_decimal, parse_integer};
use crate::store::{SetError, Store};

/// Scan steps one page takes per 8 keys asked for: a step is one home
/// chunk of the index, which holds 5 to 10 entries.
const KEYS_PER_SCAN_STEP: usize = 8;

/// Scan steps one page takes at most, whatever it finds (SPEC §5.2): the
/// bound on the work of one request.
pub const SCAN_MAX_STEPS: usize = 1024;

/// Why an operation stored nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpError {
    /// INCR: the value is not a decimal integer (SPEC §5.1).
    NotAnInteger,
    /// INCR: the result would leave the signed 64-bit range.
    Overflow,
    /// The new value would exceed the value limit.
    ValueTooLarge,
    /// The store refused the item: it can never fit the cap.
    ItemTooLarge,
}

impl From<SetError> for OpError {
    fn from(_: SetError) -> OpError {
        // Keys and values within the protocol limits are within the store's
        // own, so the only refusal left is a charge above the cap.
        OpError::ItemTooLarge
    }
}

/// The time `key` has left, to carry over when its value is rewritten;
/// `None` for a missing key or one without a TTL.
pub fn remaining_ttl(store: &mut Store, key: &[u8], now_ms: u64) -> Option<NonZeroU64> {
    store
        .peek(key, now_ms)
        .and_then(|entry| entry.deadline_ms)
        .and_then(|deadline_ms| NonZeroU64::new(deadline_ms.saturating_sub(now_ms)))
}

/// Adds `delta` to the decimal integer under `key` (a missing key counts
/// as 0 and is created without a TTL) and returns the new value, stored
/// in decimal with the key's TTL kept.
pub fn incr(
    store: &mut Store,
    key: &[u8],
    delta: i64,
    max_value_bytes: usize,
    now_ms: u64,
) -> Result<i64, OpError> {
    let current = match store.peek(key, now_ms) {
        Some(entry) if entry.value.len() > I64_DECIMAL_MAX_BYTES => None,
        Some(entry) => parse_integer(entry.value),
        None => Some(0),
    };
    let next = current
        .ok_or(OpError::NotAnInteger)?
        .checked_add(delta)
        .ok_or(OpError::Overflow)?;
    let mut digits = [0; I64_DECIMAL_MAX_BYTES];
    let digits = format_decimal(next, &mut digits);
    if digits.len() > max_value_bytes {
        return Err(OpError::ValueTooLarge);
    }
    let ttl = remaining_ttl(store, key, now_ms);
    store.set(key, digits, ttl, now_ms)?;
    Ok(next)
}

/// Appends `suffix` to the value under `key` (a missing key is created
/// without a TTL) and returns the new length; the TTL is kept. `scratch`
/// holds the new value while it is built (its allocation is reused).
pub fn append(
    store: &mut Store,
    scratch: &mut Vec<u8>,
    key: &[u8],
    suffix: &[u8],
    max_value_bytes: usize,
    now_ms: u64,
) -> Result<usize, OpError> {
    scratch.clear();
    if let Some(entry) = store.peek(key, now_ms) {
        if entry.value.len().saturating_add(suffix.len()) > max_value_bytes {
            return Err(OpError::ValueTooLarge);
        }
        scratch.extend_from_slice(entry.value);
    } else if suffix.len() > max_value_bytes {
        return Err(OpError::ValueTooLarge);
    }
    scratch.extend_from_slice(suffix);
    let ttl = remaining_ttl(store, key, now_ms);
    store.set(key, scratch, ttl, now_ms)?;
    Ok(scratch.len())
}

/// Where one page of a key walk ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScanPage {
    /// The cursor to continue from; 0 when the walk is complete.
    pub next_cursor: u64,
    /// Keys `emit` wrote.
    pub keys: usize,
}

/// One page of a key walk from `cursor`: up to `count.div_ceil(8)` scan
/// steps (at most [`SCAN_MAX_STEPS`]), stopping once `count` keys are
/// written. `emit` writes a key to `out` in its protocol's framing, or
/// skips it (a filter), and says whether it wrote it. A step whose keys
/// would take `out` past `max_len` bytes is taken back whole and the page
/// ends before it; `None` if that is the first step (nothing can fit).
pub fn scan_page(
    store: &Store,
    cursor: u64,
    count: usize,
    now_ms: u64,
    out: &mut Vec<u8>,
    max_len: usize,
    mut emit: impl FnMut(&[u8], &mut Vec<u8>) -> bool,
) -> Option<ScanPage> {
    let steps = count
        .max(1)
        .div_ceil(KEYS_PER_SCAN_STEP)
        .min(SCAN_MAX_STEPS);
    let mut page = ScanPage {
        next_cursor: cursor,
        keys: 0,
    };
    for step in 0..steps {
        let len_before = out.len();
        let mut keys = 0;
        let next = store.scan_step(page.next_cursor, now_ms, |key| {
            keys += usize::from(emit(key, out));
        });
        if out.len() > max_len {
            out.truncate(len_before);
            return (step > 0).then_some(page);
        }
        page = ScanPage {
            next_cursor: next,
            keys: page.keys + keys,
        };
        if next == 0 || page.keys >= count {
            break;
        }
    }
    Some(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW_MS: u64 = 1_000;
    const NO_LIMIT: usize = usize::MAX;

    #[test]
    fn incr_counts_from_zero_keeps_the_ttl_and_refuses_non_integers() {
        let mut store = Store::new(1 << 20);
        assert_eq!(incr(&mut store, b"n", 5, NO_LIMIT, NOW_MS), Ok(5));
        assert_eq!(incr(&mut store, b"n", -7, NO_LIMIT, NOW_MS), Ok(-2));
        assert_eq!(store.get(b"n", NOW_MS), Some(&b"-2"[..]));
        store.expire(b"n", NonZeroU64::new(500), NOW_MS);
        assert_eq!(incr(&mut store, b"n", 1, NO_LIMIT, NOW_MS + 100), Ok(-1));
        assert_eq!(
            remaining_ttl(&mut store, b"n", NOW_MS + 100),
            NonZeroU64::new(400)
        );
        store.set(b"s", b"012", None, NOW_MS).unwrap();
        assert_eq!(
            incr(&mut store, b"s", 1, NO_LIMIT, NOW_MS),
            Err(OpError::NotAnInteger)
        );
        store
            .set(b"m", i64::MAX.to_string().as_bytes(), None, NOW_MS)
            .unwrap();
        assert_eq!(
            incr(&mut store, b"m", 1, NO_LIMIT, NOW_MS),
            Err(OpError::Overflow)
        );
        assert_eq!(
            store.get(b"m", NOW_MS),
            Some(i64::MAX.to_string().as_bytes())
        );
        assert_eq!(
            incr(&mut store, b"x", 10, 1, NOW_MS),
            Err(OpError::ValueTooLarge)
        );
        assert_eq!(store.get(b"x", NOW_MS), None);
    }

    #[test]
    fn append_creates_extends_and_holds_to_the_value_limit() {
        let mut store = Store::new(1 << 20);
        let mut scratch = Vec::new();
        assert_eq!(
            append(&mut store, &mut scratch, b"k", b"ab", 4, NOW_MS),
            Ok(2)
        );
        store.expire(b"k", NonZeroU64::new(500), NOW_MS);
        assert_eq!(
            append(&mut store, &mut scratch, b"k", b"cd", 4, NOW_MS),
            Ok(4)
        );
        assert_eq!(store.get(b"k", NOW_MS), Some(&b"abcd"[..]));
        assert_eq!(
            remaining_ttl(&mut store, b"k", NOW_MS),
            NonZeroU64::new(500)
        );
        assert_eq!(
            append(&mut store, &mut scratch, b"k", b"e", 4, NOW_MS),
            Err(OpError::ValueTooLarge)
        );
        assert_eq!(store.get(b"k", NOW_MS), Some(&b"abcd"[..]));
    }

    #[test]
    fn a_walk_of_pages_returns_every_key_once() {
        let mut store = Store::new(1 << 22);
        for n in 0..1_000u32 {
            store.set(&n.to_be_bytes(), b"v", None, NOW_MS).unwrap();
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        for _ in 0..10_000 {
            let mut out = Vec::new();
            let page = scan_page(
                &store,
                cursor,
                16,
                NOW_MS,
                &mut out,
                NO_LIMIT,
                |key, out| {
                    out.extend_from_slice(key);
                    true
                },
            )
            .unwrap();
            assert_eq!(out.len(), 4 * page.keys);
            for key in out.chunks(4) {
                assert!(seen.insert(key.to_vec()), "{key:?} twice");
            }
            cursor = page.next_cursor;
            if cursor == 0 {
                break;
            }
        }
        assert_eq!((cursor, seen.len()), (0, 1_000));
    }

    #[test]
    fn a_step_that_does_not_fit_is_taken_back() {
        let mut store = Store::new(1 << 22);
        for n in 0..200u32 {
            store.set(&n.to_be_bytes(), b"v", None, NOW_MS).unwrap();
        }
        let write = |key: &[u8], out: &mut Vec<u8>| {
            out.extend_from_slice(key);
            true
        };
        let mut out = Vec::new();
        assert_eq!(
            scan_page(&store, 0, 1_000, NOW_MS, &mut out, 3, write),
            None
        );
        assert!(out.is_empty());
        let page = scan_page(&store, 0, 1_000, NOW_MS, &mut out, 100, write).unwrap();
        assert!(out.len() <= 100 && out.len() == 4 * page.keys && page.keys > 0);
        assert_ne!(page.next_cursor, 0);
    }
}
