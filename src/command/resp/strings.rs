//! String commands: GET and SET with their options and variants, the
//! multi-key forms, STRLEN, APPEND and the counters.

use std::num::NonZeroU64;

use super::{
    Call, Handled, ITEM_TOO_LARGE, Keyword, NOT_AN_INTEGER, NoRoom, SYNTAX_ERROR, VALUE_TOO_LARGE,
    fail, integer, oversized,
};
use crate::command::Outcome;
use crate::command::ops::{self, OpError};
use crate::protocol::resp::Args;
use crate::store::{SetError, entry_charge};

/// A TTL asked for by a command, in one of Redis's four forms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Expiry {
    /// EX / EXPIRE: seconds from now.
    Seconds(i64),
    /// PX / PEXPIRE: milliseconds from now.
    Millis(i64),
    /// EXAT / EXPIREAT: a Unix time in seconds.
    UnixSeconds(i64),
    /// PXAT / PEXPIREAT: a Unix time in milliseconds.
    UnixMillis(i64),
}

impl Expiry {
    /// The form an (uppercased) EX / PX / EXAT / PXAT option names.
    fn option(upper: &[u8]) -> Option<fn(i64) -> Expiry> {
        match upper {
            b"EX" => Some(Expiry::Seconds),
            b"PX" => Some(Expiry::Millis),
            b"EXAT" => Some(Expiry::UnixSeconds),
            b"PXAT" => Some(Expiry::UnixMillis),
            _ => None,
        }
    }

    /// Milliseconds from `unix_now_ms` to the deadline (zero or less:
    /// already past), or `None` where Redis says the time is invalid
    /// (it overflows once in milliseconds and made absolute).
    pub(super) fn remaining_ms(self, unix_now_ms: i64) -> Option<i64> {
        let at_ms = match self {
            Expiry::Seconds(s) => s.checked_mul(1000)?.checked_add(unix_now_ms)?,
            Expiry::Millis(ms) => ms.checked_add(unix_now_ms)?,
            Expiry::UnixSeconds(s) => s.checked_mul(1000)?,
            Expiry::UnixMillis(ms) => ms,
        };
        Some(at_ms - unix_now_ms)
    }
}

/// What a SET-like command does with the key's TTL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TtlChoice {
    /// Drop any TTL (plain SET).
    Clear,
    /// KEEPTTL: keep the old deadline.
    Keep,
    /// A new one (validated).
    Set(Expiry),
}

/// Writes `value` under `key` with `ttl`, replying nothing; the error to
/// send if the store refuses it.
fn store(
    call: &mut Call<'_>,
    key: &[u8],
    value: &[u8],
    ttl: TtlChoice,
) -> Result<(), &'static str> {
    if let Some(error) = oversized(call.ctx, key, Some(value)) {
        return Err(error);
    }
    let now_ms = call.now_ms;
    let ttl_ms = match ttl {
        TtlChoice::Clear => None,
        TtlChoice::Keep => call
            .ctx
            .store
            .peek(key, now_ms)
            .and_then(|entry| entry.deadline_ms)
            .and_then(|deadline_ms| NonZeroU64::new(deadline_ms - now_ms)),
        TtlChoice::Set(expiry) => {
            match expiry.remaining_ms(call.unix_now_ms()).map(u64::try_from) {
                Some(Ok(ms)) if ms > 0 => NonZeroU64::new(ms),
                // Already past: Redis stores nothing and deletes the key.
                _ => {
                    call.ctx.store.delete(key, now_ms);
                    return Ok(());
                }
            }
        }
    };
    match call.ctx.store.set(key, value, ttl_ms, now_ms) {
        Ok(()) => Ok(()),
        Err(SetError::TooLarge { .. } | SetError::TooLong { .. }) => Err(ITEM_TOO_LARGE),
    }
}

/// Why the store would refuse `key` and `value`, checked before a reply
/// that cannot be taken back (an old value) is written.
fn refusal(call: &Call<'_>, key: &[u8], value: &[u8]) -> Option<&'static str> {
    let too_large = entry_charge(key.len(), value.len()) > call.ctx.store.cap_bytes();
    oversized(call.ctx, key, Some(value)).or(too_large.then_some(ITEM_TOO_LARGE))
}

pub(super) fn get(call: &mut Call<'_>, mut args: Args<'_>) -> Handled {
    let key = args.next().unwrap_or_default();
    match call.ctx.store.get(key, call.now_ms) {
        Some(value) => call.reply.bulk(value),
        None => call.reply.null(),
    }
    Ok(Outcome::Continue)
}

/// Parses an expiry amount for `command`: an integer above zero, or
/// Redis's errors.
fn expiry_amount(arg: &[u8], command: &str) -> Result<i64, String> {
    match integer(arg) {
        None => Err(NOT_AN_INTEGER.to_owned()),
        Some(amount) if amount <= 0 => Err(invalid_expire(command)),
        Some(amount) => Ok(amount),
    }
}

pub(super) fn invalid_expire(command: &str) -> String {
    format!("ERR invalid expire time in '{command}' command")
}

/// SET key value [NX | XX] [GET] [EX s | PX ms | EXAT t | PXAT t | KEEPTTL]
pub(super) fn set(call: &mut Call<'_>, mut args: Args<'_>) -> Handled {
    let key = args.next().unwrap_or_default();
    let value = args.next().unwrap_or_default();
    let (mut nx, mut xx, mut get) = (false, false, false);
    let mut ttl = TtlChoice::Clear;
    let mut expiry_set = false;
    while let Some(option) = args.next() {
        let keyword = Keyword::of(option);
        let upper = keyword.as_bytes();
        let form = Expiry::option(upper);
        match (upper, form) {
            (b"NX", _) if !xx => nx = true,
            (b"XX", _) if !nx => xx = true,
            (b"GET", _) => get = true,
            (b"KEEPTTL", _) if !expiry_set => {
                ttl = TtlChoice::Keep;
                expiry_set = true;
            }
            (_, Some(form)) if !expiry_set && args.remaining() > 0 => {
                let amount = args.next().unwrap_or_default();
                match expiry_amount(amount, "set") {
                    Ok(amount) => ttl = TtlChoice::Set(form(amount)),
                    Err(error) => return fail(call, &error),
                }
                expiry_set = true;
            }
            _ => return fail(call, SYNTAX_ERROR),
        }
    }
    if let TtlChoice::Set(expiry) = ttl
        && expiry.remaining_ms(call.unix_now_ms()).is_none()
    {
        return fail(call, &invalid_expire("set"));
    }
    if let Some(error) = refusal(call, key, value) {
        return fail(call, error);
    }
    let now_ms = call.now_ms;
    let exists = match call.ctx.store.peek(key, now_ms) {
        Some(entry) if get => {
            call.reply.bulk(entry.value);
            true
        }
        Some(_) => true,
        None if get => {
            call.reply.null();
            false
        }
        None => false,
    };
    if (nx && exists) || (xx && !exists) {
        if !get {
            call.reply.null();
        }
        return Ok(Outcome::Continue);
    }
    // Checked above: the store takes it.
    let stored = store(call, key, value, ttl);
    debug_assert!(stored.is_ok(), "{stored:?}");
    if !get {
        call.reply.ok();
    }
    Ok(Outcome::Continue)
}

pub(super) fn setnx(call: &mut Call<'_>, mut args: Args<'_>) -> Handled {
    let key = args.next().unwrap_or_default();
    let value = args.next().unwrap_or_default();
    if call.ctx.store.peek(key, call.now_ms).is_some() {
        call.reply.integer(0);
        return Ok(Outcome::Continue);
    }
    match store(call, key, value, TtlChoice::Clear) {
        Ok(()) => call.reply.integer(1),
        Err(error) => call.reply.error(error),
    }
    Ok(Outcome::Continue)
}

fn set_with_expiry(
    call: &mut Call<'_>,
    mut args: Args<'_>,
    form: fn(i64) -> Expiry,
    command: &str,
) -> Handled {
    let key = args.next().unwrap_or_default();
    let amount = args.next().unwrap_or_default();
    let value = args.next().unwrap_or_default();
    let expiry = match expiry_amount(amount, command) {
        Ok(amount) => form(amount),
        Err(error) => return fail(call, &error),
    };
    if expiry.remaining_ms(call.unix_now_ms()).is_none() {
        return fail(call, &invalid_expire(command));
    }
    match store(call, key, value, TtlChoice::Set(expiry)) {
        Ok(()) => call.reply.ok(),
        Err(error) => call.reply.error(error),
    }
    Ok(Outcome::Continue)
}

pub(super) fn setex(call: &mut Call<'_>, args: Args<'_>) -> Handled {
    set_with_expiry(call, args, Expiry::Seconds, "setex")
}

pub(super) fn psetex(call: &mut Call<'_>, args: Args<'_>) -> Handled {
    set_with_expiry(call, args, Expiry::Millis, "psetex")
}

pub(super) fn getdel(call: &mut Call<'_>, mut args: Args<'_>) -> Handled {
    let key = args.next().unwrap_or_default();
    match call.ctx.store.get(key, call.now_ms) {
        Some(value) => {
            call.reply.bulk(value);
            call.ctx.store.delete(key, call.now_ms);
        }
        None => call.reply.null(),
    }
    Ok(Outcome::Continue)
}

pub(super) fn getset(call: &mut Call<'_>, mut args: Args<'_>) -> Handled {
    let key = args.next().unwrap_or_default();
    let value = args.next().unwrap_or_default();
    if let Some(error) = refusal(call, key, value) {
        return fail(call, error);
    }
    match call.ctx.store.peek(key, call.now_ms) {
        Some(entry) => call.reply.bulk(entry.value),
        None => call.reply.null(),
    }
    // Checked above: the store takes it.
    let stored = store(call, key, value, TtlChoice::Clear);
    debug_assert!(stored.is_ok(), "{stored:?}");
    Ok(Outcome::Continue)
}

/// GETEX key [EX s | PX ms | EXAT t | PXAT t | PERSIST]
pub(super) fn getex(call: &mut Call<'_>, mut args: Args<'_>) -> Handled {
    let key = args.next().unwrap_or_default();
    let mut change: Option<Option<Expiry>> = None;
    while let Some(option) = args.next() {
        let keyword = Keyword::of(option);
        let upper = keyword.as_bytes();
        let form = Expiry::option(upper);
        match form {
            _ if change.is_some() => return fail(call, SYNTAX_ERROR),
            None if upper == b"PERSIST" => change = Some(None),
            Some(form) if args.remaining() > 0 => {
                let amount = args.next().unwrap_or_default();
                match expiry_amount(amount, "getex") {
                    Ok(amount) => change = Some(Some(form(amount))),
                    Err(error) => return fail(call, &error),
                }
            }
            _ => return fail(call, SYNTAX_ERROR),
        }
    }
    let unix_now_ms = call.unix_now_ms();
    let remaining_ms = match change {
        Some(Some(expiry)) => match expiry.remaining_ms(unix_now_ms) {
            Some(ms) => Some(Some(ms)),
            None => return fail(call, &invalid_expire("getex")),
        },
        Some(None) => Some(None),
        None => None,
    };
    let now_ms = call.now_ms;
    match call.ctx.store.get(key, now_ms) {
        Some(value) => call.reply.bulk(value),
        None => {
            call.reply.null();
            return Ok(Outcome::Continue);
        }
    }
    match remaining_ms {
        None => {}
        Some(None) => {
            call.ctx.store.expire(key, None, now_ms);
        }
        Some(Some(ms)) => match u64::try_from(ms).ok().and_then(NonZeroU64::new) {
            Some(ttl_ms) => {
                call.ctx.store.expire(key, Some(ttl_ms), now_ms);
            }
            None => {
                call.ctx.store.delete(key, now_ms);
            }
        },
    }
    Ok(Outcome::Continue)
}

/// MGET key [key ...]: measured, since many values may not fit at once.
pub(super) fn mget(call: &mut Call<'_>, args: Args<'_>) -> Handled {
    let framing_bytes = 4 + 25 * args.remaining();
    let mut value_bytes = 0usize;
    for key in args.clone() {
        if let Some(entry) = call.ctx.store.peek(key, call.now_ms) {
            value_bytes += entry.value.len();
        }
    }
    if framing_bytes + value_bytes > call.room_bytes {
        return Err(NoRoom);
    }
    call.reply.array(args.remaining());
    for key in args {
        match call.ctx.store.get(key, call.now_ms) {
            Some(value) => call.reply.bulk(value),
            None => call.reply.null(),
        }
    }
    Ok(Outcome::Continue)
}

/// Checks MSET's pairs before any is stored: an even count, and each key
/// and value within the limits.
fn check_pairs(call: &mut Call<'_>, args: &Args<'_>, command: &str) -> Result<(), String> {
    if args.remaining() % 2 != 0 {
        return Err(format!(
            "ERR wrong number of arguments for '{command}' command"
        ));
    }
    let mut pairs = args.clone();
    while let (Some(key), Some(value)) = (pairs.next(), pairs.next()) {
        if let Some(error) = oversized(call.ctx, key, Some(value)) {
            return Err(error.to_owned());
        }
    }
    Ok(())
}

fn store_pairs(call: &mut Call<'_>, mut pairs: Args<'_>) -> Result<(), &'static str> {
    while let (Some(key), Some(value)) = (pairs.next(), pairs.next()) {
        store(call, key, value, TtlChoice::Clear)?;
    }
    Ok(())
}

pub(super) fn mset(call: &mut Call<'_>, args: Args<'_>) -> Handled {
    if let Err(error) = check_pairs(call, &args, "mset") {
        return fail(call, &error);
    }
    match store_pairs(call, args) {
        Ok(()) => call.reply.ok(),
        Err(error) => call.reply.error(error),
    }
    Ok(Outcome::Continue)
}

pub(super) fn msetnx(call: &mut Call<'_>, args: Args<'_>) -> Handled {
    if let Err(error) = check_pairs(call, &args, "msetnx") {
        return fail(call, &error);
    }
    let now_ms = call.now_ms;
    let any_exists = args
        .clone()
        .step_by(2)
        .any(|key| call.ctx.store.peek(key, now_ms).is_some());
    if any_exists {
        call.reply.integer(0);
        return Ok(Outcome::Continue);
    }
    match store_pairs(call, args) {
        Ok(()) => call.reply.integer(1),
        Err(error) => call.reply.error(error),
    }
    Ok(Outcome::Continue)
}

pub(super) fn strlen(call: &mut Call<'_>, mut args: Args<'_>) -> Handled {
    let key = args.next().unwrap_or_default();
    let len = call
        .ctx
        .store
        .peek(key, call.now_ms)
        .map_or(0, |entry| entry.value.len());
    call.reply.integer(len as i64);
    Ok(Outcome::Continue)
}

/// APPEND key suffix: the TTL stays.
pub(super) fn append(call: &mut Call<'_>, mut args: Args<'_>) -> Handled {
    let key = args.next().unwrap_or_default();
    let suffix = args.next().unwrap_or_default();
    if let Some(error) = oversized(call.ctx, key, None) {
        return fail(call, error);
    }
    let ctx = &mut *call.ctx;
    let max_value_bytes = ctx.limits.authenticated.max_value_bytes as usize;
    match ops::append(
        &mut ctx.store,
        &mut ctx.scratch,
        key,
        suffix,
        max_value_bytes,
        call.now_ms,
    ) {
        Ok(len) => call.reply.integer(len as i64),
        Err(error) => return fail(call, op_error(error)),
    }
    Ok(Outcome::Continue)
}

/// Adds `delta` to the integer under `key` (0 if missing), keeping its TTL.
fn add(call: &mut Call<'_>, key: &[u8], delta: i64) -> Handled {
    if let Some(error) = oversized(call.ctx, key, None) {
        return fail(call, error);
    }
    let max_value_bytes = call.ctx.limits.authenticated.max_value_bytes as usize;
    match ops::incr(
        &mut call.ctx.store,
        key,
        delta,
        max_value_bytes,
        call.now_ms,
    ) {
        Ok(next) => call.reply.integer(next),
        Err(error) => return fail(call, op_error(error)),
    }
    Ok(Outcome::Continue)
}

/// Redis's text for why INCR or APPEND stored nothing.
fn op_error(error: OpError) -> &'static str {
    match error {
        OpError::NotAnInteger => NOT_AN_INTEGER,
        OpError::Overflow => "ERR increment or decrement would overflow",
        OpError::ValueTooLarge => VALUE_TOO_LARGE,
        OpError::ItemTooLarge => ITEM_TOO_LARGE,
    }
}

pub(super) fn incr(call: &mut Call<'_>, mut args: Args<'_>) -> Handled {
    add(call, args.next().unwrap_or_default(), 1)
}

pub(super) fn decr(call: &mut Call<'_>, mut args: Args<'_>) -> Handled {
    add(call, args.next().unwrap_or_default(), -1)
}

pub(super) fn incrby(call: &mut Call<'_>, mut args: Args<'_>) -> Handled {
    let key = args.next().unwrap_or_default();
    match args.next().and_then(integer) {
        Some(delta) => add(call, key, delta),
        None => fail(call, NOT_AN_INTEGER),
    }
}

pub(super) fn decrby(call: &mut Call<'_>, mut args: Args<'_>) -> Handled {
    let key = args.next().unwrap_or_default();
    match args.next().and_then(integer) {
        Some(i64::MIN) => fail(call, "ERR decrement would overflow"),
        Some(delta) => add(call, key, -delta),
        None => fail(call, NOT_AN_INTEGER),
    }
}
