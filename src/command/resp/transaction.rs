//! MULTI / EXEC / DISCARD / WATCH / UNWATCH: Redis transactions for one
//! connection.
//!
//! After MULTI, every command that passes the checks (existence, arity,
//! AUTH) is queued as the bytes it came in as and answered `+QUEUED`; one
//! that fails them is answered with its error and dooms the transaction
//! (EXEC then answers `-EXECABORT`). EXEC decodes the queue again and runs
//! it in order in one go: the loop serves no one else meanwhile, so it is
//! atomic. A runtime error answers its own slot, as in Redis, and the rest
//! run. A read whose reply would not fit the connection's output
//! allowance answers its slot with an error instead of running; a write
//! always runs (its reply is at most the value it replaced), so a
//! transaction's writes are never skipped.
//!
//! WATCH remembers the store's change count ([`Store::changes`]); EXEC
//! aborts with a null array if it moved. That is coarser than Redis, which
//! watches only the named keys: any change, by anyone, to any entry
//! (evictions and expirations included) aborts, so a WATCH never lets a
//! conflicting EXEC through and may, under other writers, abort one that
//! Redis would run. Clients retry aborted transactions.
//!
//! [`Store::changes`]: crate::store::Store::changes

use super::{Call, Handled, NoRoom, ReplyMax, SMALL_REPLY_MAX_BYTES, execute, fail, lookup};
use crate::command::Outcome;
use crate::protocol::resp::{
    Args, BULK_FRAMING_MAX_BYTES, Decoded, Reply, RespLimits, decode_command,
};

/// Most commands one transaction queues.
pub(super) const MAX_QUEUED_COMMANDS: usize = 1024;

/// Most request bytes one transaction queues, as a multiple of the
/// largest request: room for four maximal SETs.
const MAX_QUEUED_REQUESTS_BYTES: usize = 4;

/// The commands queued since MULTI.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transaction {
    /// The queued requests, back to back, as they came.
    queued: Vec<u8>,
    /// How many.
    count: usize,
    /// A command was refused while queuing: EXEC aborts.
    doomed: bool,
}

/// A command failed its checks: inside MULTI, that dooms the transaction.
pub(super) fn refused(client: &mut super::RespClient) {
    if let Some(transaction) = &mut client.transaction {
        transaction.doomed = true;
    }
}

/// Queues `request` (its bytes on the wire) and answers `+QUEUED`.
pub(super) fn queue(call: &mut Call<'_>, request: &[u8]) -> Outcome {
    let max_bytes = MAX_QUEUED_REQUESTS_BYTES
        * RespLimits::new(&call.ctx.limits.authenticated, true).max_request_bytes;
    let Some(transaction) = &mut call.client.transaction else {
        return Outcome::Continue;
    };
    if transaction.count >= MAX_QUEUED_COMMANDS
        || transaction.queued.len() + request.len() > max_bytes
    {
        transaction.doomed = true;
        call.reply.error_fmt(format_args!(
            "ERR a transaction queues at most {MAX_QUEUED_COMMANDS} commands and {max_bytes} bytes"
        ));
        return Outcome::Continue;
    }
    transaction.queued.extend_from_slice(request);
    transaction.count += 1;
    call.reply.simple("QUEUED");
    Outcome::Continue
}

pub(super) fn multi(call: &mut Call<'_>, _args: Args<'_>) -> Handled {
    if call.client.transaction.is_some() {
        return fail(call, "ERR MULTI calls can not be nested");
    }
    call.client.transaction = Some(Transaction::default());
    call.reply.ok();
    Ok(Outcome::Continue)
}

pub(super) fn discard(call: &mut Call<'_>, _args: Args<'_>) -> Handled {
    if call.client.transaction.take().is_none() {
        return fail(call, "ERR DISCARD without MULTI");
    }
    call.client.watched_at = None;
    call.reply.ok();
    Ok(Outcome::Continue)
}

pub(super) fn watch(call: &mut Call<'_>, _args: Args<'_>) -> Handled {
    if call.client.transaction.is_some() {
        return fail(call, "ERR WATCH inside MULTI is not allowed");
    }
    let changes = call.ctx.store.changes();
    call.client.watched_at.get_or_insert(changes);
    call.reply.ok();
    Ok(Outcome::Continue)
}

pub(super) fn unwatch(call: &mut Call<'_>, _args: Args<'_>) -> Handled {
    call.client.watched_at = None;
    call.reply.ok();
    Ok(Outcome::Continue)
}

pub(super) fn exec(call: &mut Call<'_>, _args: Args<'_>) -> Handled {
    let Some(transaction) = call.client.transaction.take() else {
        return fail(call, "ERR EXEC without MULTI");
    };
    let watched_at = call.client.watched_at.take();
    if transaction.doomed {
        return fail(
            call,
            "EXECABORT Transaction discarded because of previous errors.",
        );
    }
    if watched_at.is_some_and(|changes| changes != call.ctx.store.changes()) {
        call.reply.null_array();
        return Ok(Outcome::Continue);
    }
    let limits = RespLimits::new(&call.ctx.limits.authenticated, true);
    let mut scratch = Vec::new();
    let mut outcome = Outcome::Continue;
    let start = call.reply.out.len();
    call.reply.array(transaction.count);
    let mut rest = transaction.queued.as_slice();
    for _ in 0..transaction.count {
        // Every queued request decoded once already: this cannot fail.
        let Decoded::Command { mut args, len } = decode_command(rest, &limits, &mut scratch) else {
            call.reply
                .error("ERR a queued command could not be read back");
            continue;
        };
        let (request, after) = rest.split_at(len);
        rest = after;
        let room_bytes = call.room_bytes.saturating_sub(call.reply.out.len() - start);
        let name = args.next().unwrap_or_default();
        let spec = lookup(name);
        let skip = spec.is_some_and(|spec| {
            !spec.write && reply_max_bytes(call, spec.reply, &args, request) > room_bytes
        });
        if skip {
            call.reply
                .error("ERR the reply would exceed the connection's output limit");
            continue;
        }
        let version = call.reply.version;
        let mut each = Call {
            ctx: call.ctx,
            client: call.client,
            authenticated: call.authenticated,
            now_ms: call.now_ms,
            reply: Reply {
                version,
                out: call.reply.out,
            },
            room_bytes,
        };
        match execute(&mut each, spec, name, args, request) {
            // Only the binary protocol's HELLO negotiates a Blink version.
            Ok(Outcome::Continue | Outcome::Negotiated(_)) => {}
            Ok(Outcome::Authenticated) => {
                call.authenticated = true;
                outcome = Outcome::Authenticated;
            }
            Ok(Outcome::Unauthenticated) => {
                call.authenticated = false;
                outcome = Outcome::Unauthenticated;
            }
            Ok(Outcome::Close) => outcome = Outcome::Close,
            Err(NoRoom) => call
                .reply
                .error("ERR the reply would exceed the connection's output limit"),
        }
        // HELLO may have switched the dialect for the slots that follow.
        call.reply.version = call.client.version;
    }
    Ok(outcome)
}

/// The largest reply of one queued command, now: a value's exact length
/// (the queue runs in order, so what a GET will find is what is there),
/// the request's own size, or the small bound; measured commands check
/// for themselves.
fn reply_max_bytes(call: &mut Call<'_>, reply: ReplyMax, args: &Args<'_>, request: &[u8]) -> usize {
    match reply {
        ReplyMax::Value => {
            let key = args.clone().next().unwrap_or_default();
            let value_bytes = call
                .ctx
                .store
                .peek(key, call.now_ms)
                .map_or(0, |entry| entry.value.len());
            value_bytes + BULK_FRAMING_MAX_BYTES
        }
        ReplyMax::Request => request.len() + BULK_FRAMING_MAX_BYTES,
        ReplyMax::Small => SMALL_REPLY_MAX_BYTES.min(call.room_bytes),
        ReplyMax::Measured => 0,
    }
}
