//! Key commands: existence, deletion, TTLs in every unit, the whole-store
//! ones (DBSIZE, FLUSHALL), SCAN and MEMORY USAGE.

use std::num::NonZeroU64;

use super::strings::{Expiry, invalid_expire};
use super::{Call, Handled, Keyword, NOT_AN_INTEGER, NoRoom, SYNTAX_ERROR, fail, glob, integer};
use crate::command::{Outcome, ops};
use crate::protocol::resp::Args;

pub(super) fn del(call: &mut Call<'_>, args: Args<'_>) -> Handled {
    let now_ms = call.now_ms;
    let removed = args
        .filter(|key| call.ctx.store.delete(key, now_ms))
        .count();
    call.reply.integer(removed as i64);
    Ok(Outcome::Continue)
}

pub(super) fn exists(call: &mut Call<'_>, args: Args<'_>) -> Handled {
    let now_ms = call.now_ms;
    let found = args
        .filter(|key| call.ctx.store.peek(key, now_ms).is_some())
        .count();
    call.reply.integer(found as i64);
    Ok(Outcome::Continue)
}

pub(super) fn key_type(call: &mut Call<'_>, mut args: Args<'_>) -> Handled {
    let key = args.next().unwrap_or_default();
    let found = call.ctx.store.peek(key, call.now_ms).is_some();
    call.reply.simple(if found { "string" } else { "none" });
    Ok(Outcome::Continue)
}

/// The conditions of EXPIRE and its variants.
#[derive(Clone, Copy, Default)]
struct Conditions {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

fn conditions(args: Args<'_>) -> Result<Conditions, String> {
    let mut c = Conditions::default();
    for option in args {
        match Keyword::of(option).as_bytes() {
            b"NX" => c.nx = true,
            b"XX" => c.xx = true,
            b"GT" => c.gt = true,
            b"LT" => c.lt = true,
            _ => {
                let option = String::from_utf8_lossy(option);
                return Err(format!("ERR Unsupported option {option}"));
            }
        }
    }
    if c.nx && (c.xx || c.gt || c.lt) {
        return Err("ERR NX and XX, GT or LT options at the same time are not compatible".into());
    }
    if c.gt && c.lt {
        return Err("ERR GT and LT options at the same time are not compatible".into());
    }
    Ok(c)
}

/// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT key amount [NX | XX | GT | LT]
fn expire_with(
    call: &mut Call<'_>,
    mut args: Args<'_>,
    form: fn(i64) -> Expiry,
    command: &str,
) -> Handled {
    let key = args.next().unwrap_or_default();
    let amount = args.next().unwrap_or_default();
    let conditions = match conditions(args) {
        Ok(conditions) => conditions,
        Err(error) => return fail(call, &error),
    };
    let Some(amount) = integer(amount) else {
        return fail(call, NOT_AN_INTEGER);
    };
    let Some(remaining_ms) = form(amount).remaining_ms(call.unix_now_ms()) else {
        return fail(call, &invalid_expire(command));
    };
    let now_ms = call.now_ms;
    let Some(entry) = call.ctx.store.peek(key, now_ms) else {
        call.reply.integer(0);
        return Ok(Outcome::Continue);
    };
    // A key without a TTL counts as expiring never: later than any time.
    let current_ms = entry.deadline_ms.map(|deadline_ms| deadline_ms - now_ms);
    let new_ms = u64::try_from(remaining_ms).unwrap_or(0);
    let allowed = !(conditions.nx && current_ms.is_some()
        || conditions.xx && current_ms.is_none()
        || conditions.gt && current_ms.is_none_or(|current_ms| new_ms <= current_ms)
        || conditions.lt && current_ms.is_some_and(|current_ms| new_ms >= current_ms));
    if !allowed {
        call.reply.integer(0);
        return Ok(Outcome::Continue);
    }
    match NonZeroU64::new(new_ms) {
        Some(ttl_ms) => call.ctx.store.expire(key, Some(ttl_ms), now_ms),
        // Zero or in the past: the key goes now.
        None => call.ctx.store.delete(key, now_ms),
    };
    call.reply.integer(1);
    Ok(Outcome::Continue)
}

pub(super) fn expire(call: &mut Call<'_>, args: Args<'_>) -> Handled {
    expire_with(call, args, Expiry::Seconds, "expire")
}

pub(super) fn pexpire(call: &mut Call<'_>, args: Args<'_>) -> Handled {
    expire_with(call, args, Expiry::Millis, "pexpire")
}

pub(super) fn expireat(call: &mut Call<'_>, args: Args<'_>) -> Handled {
    expire_with(call, args, Expiry::UnixSeconds, "expireat")
}

pub(super) fn pexpireat(call: &mut Call<'_>, args: Args<'_>) -> Handled {
    expire_with(call, args, Expiry::UnixMillis, "pexpireat")
}

/// What TTL, PTTL, EXPIRETIME and PEXPIRETIME report: -2 missing, -1 no
/// TTL, else `report(remaining_ms, unix_now_ms)`.
fn report_ttl(call: &mut Call<'_>, mut args: Args<'_>, report: fn(u64, i64) -> i64) -> Handled {
    let key = args.next().unwrap_or_default();
    let now_ms = call.now_ms;
    let unix_now_ms = call.unix_now_ms();
    let value = match call.ctx.store.peek(key, now_ms) {
        None => -2,
        Some(entry) => entry
            .deadline_ms
            .map_or(-1, |deadline_ms| report(deadline_ms - now_ms, unix_now_ms)),
    };
    call.reply.integer(value);
    Ok(Outcome::Continue)
}

fn clamp(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

pub(super) fn ttl(call: &mut Call<'_>, args: Args<'_>) -> Handled {
    // Rounded to the nearest second, as Redis does.
    report_ttl(call, args, |ms, _| clamp(ms.saturating_add(500) / 1000))
}

pub(super) fn pttl(call: &mut Call<'_>, args: Args<'_>) -> Handled {
    report_ttl(call, args, |ms, _| clamp(ms))
}

pub(super) fn expiretime(call: &mut Call<'_>, args: Args<'_>) -> Handled {
    report_ttl(call, args, |ms, unix_now_ms| {
        unix_now_ms.saturating_add(clamp(ms)) / 1000
    })
}

pub(super) fn pexpiretime(call: &mut Call<'_>, args: Args<'_>) -> Handled {
    report_ttl(call, args, |ms, unix_now_ms| {
        unix_now_ms.saturating_add(clamp(ms))
    })
}

pub(super) fn persist(call: &mut Call<'_>, mut args: Args<'_>) -> Handled {
    let key = args.next().unwrap_or_default();
    let now_ms = call.now_ms;
    let had_ttl = call
        .ctx
        .store
        .peek(key, now_ms)
        .is_some_and(|entry| entry.deadline_ms.is_some());
    if had_ttl {
        call.ctx.store.expire(key, None, now_ms);
    }
    call.reply.integer(i64::from(had_ttl));
    Ok(Outcome::Continue)
}

pub(super) fn dbsize(call: &mut Call<'_>, _args: Args<'_>) -> Handled {
    call.reply.integer(call.ctx.store.len() as i64);
    Ok(Outcome::Continue)
}

/// FLUSHALL / FLUSHDB [ASYNC | SYNC]: both empty the store at once.
pub(super) fn flush(call: &mut Call<'_>, args: Args<'_>) -> Handled {
    let mode_ok = match args.remaining() {
        0 => true,
        1 => args
            .clone()
            .all(|mode| mode.eq_ignore_ascii_case(b"ASYNC") || mode.eq_ignore_ascii_case(b"SYNC")),
        _ => false,
    };
    if !mode_ok {
        return fail(call, SYNTAX_ERROR);
    }
    call.ctx.store.clear();
    call.reply.ok();
    Ok(Outcome::Continue)
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
pub(super) fn scan(call: &mut Call<'_>, mut args: Args<'_>) -> Handled {
    let cursor = args.next().unwrap_or_default();
    let Some(cursor) = std::str::from_utf8(cursor)
        .ok()
        .and_then(|c| c.parse::<u64>().ok())
    else {
        return fail(call, "ERR invalid cursor");
    };
    let mut pattern: Option<&[u8]> = None;
    let mut count = 10usize;
    let mut strings_only = true;
    while let Some(option) = args.next() {
        let Some(value) = args.next() else {
            return fail(call, SYNTAX_ERROR);
        };
        match Keyword::of(option).as_bytes() {
            b"MATCH" => pattern = Some(value),
            b"COUNT" => match integer(value) {
                None => return fail(call, NOT_AN_INTEGER),
                Some(n) if n < 1 => return fail(call, SYNTAX_ERROR),
                Some(n) => count = usize::try_from(n).unwrap_or(usize::MAX),
            },
            b"TYPE" => strings_only = value.eq_ignore_ascii_case(b"string"),
            _ => return fail(call, SYNTAX_ERROR),
        }
    }
    // Keys are framed into `body` step by step; a step that would overflow
    // the room is taken back whole and the cursor stays before it.
    let room_bytes = call.room_bytes.saturating_sub(64);
    let version = call.reply.version;
    let mut body = Vec::new();
    let Some(page) = ops::scan_page(
        &call.ctx.store,
        cursor,
        count,
        call.now_ms,
        &mut body,
        room_bytes,
        |key, out| {
            let wanted = strings_only && pattern.is_none_or(|pattern| glob::matches(pattern, key));
            if wanted {
                Reply { version, out }.bulk(key);
            }
            wanted
        },
    ) else {
        return Err(NoRoom);
    };
    let (cursor, keys) = (page.next_cursor, page.keys);
    call.reply.array(2);
    call.reply.bulk(cursor.to_string().as_bytes());
    call.reply.array(keys);
    call.reply.out.extend_from_slice(&body);
    Ok(Outcome::Continue)
}

use crate::protocol::resp::Reply;

/// MEMORY USAGE key [SAMPLES n]: the entry's exact charge against the cap.
pub(super) fn memory(call: &mut Call<'_>, mut args: Args<'_>) -> Handled {
    let sub = args.next().unwrap_or_default();
    if !sub.eq_ignore_ascii_case(b"USAGE") {
        let sub = String::from_utf8_lossy(sub);
        return fail(
            call,
            &format!("ERR unknown subcommand '{sub}'. Try MEMORY HELP."),
        );
    }
    let Some(key) = args.next() else {
        return fail(
            call,
            "ERR wrong number of arguments for 'memory|usage' command",
        );
    };
    match (args.next(), args.next(), args.next()) {
        (None, _, _) => {}
        (Some(option), Some(samples), None) if option.eq_ignore_ascii_case(b"SAMPLES") => {
            if integer(samples).is_none() {
                return fail(call, NOT_AN_INTEGER);
            }
        }
        _ => return fail(call, SYNTAX_ERROR),
    }
    match call.ctx.store.peek(key, call.now_ms) {
        Some(entry) => call.reply.integer(clamp(entry.charge_bytes)),
        None => call.reply.null(),
    }
    Ok(Outcome::Continue)
}
