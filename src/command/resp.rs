//! Executes one RESP command against the store, with Redis's semantics and
//! error texts, and writes its reply in the connection's RESP version.
//!
//! [`SPECS`] is the one table of commands: name, arity in Redis's
//! convention (`n` exactly, `-n` at least), whether it runs before AUTH,
//! and how large its reply can be. [`execute`] checks existence, then
//! arity, then authentication (Redis's order, so the errors match), and
//! calls the handler. Handlers live by family: `strings` (values),
//! `keys` (existence, TTLs, scans), `server` (connection, introspection);
//! `glob` is Redis's pattern matcher for SCAN MATCH and CONFIG GET.
//!
//! Like [`super::execute`] for the binary protocol, nothing here touches a
//! socket: the session decodes, this executes, the connection writes.

mod glob;
mod keys;
mod server;
mod strings;
mod transaction;

use super::{Context, Outcome};
use crate::protocol::Opcode;
use crate::protocol::resp::{Args, Reply, Version};

/// A RESP connection's own state, beyond authentication.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RespClient {
    /// The reply dialect (`HELLO 3` switches to RESP3).
    pub version: Version,
    /// `CLIENT ID`: unique for the server's lifetime.
    pub id: u64,
    /// `CLIENT SETNAME`.
    name: Option<Box<[u8]>>,
    /// `CLIENT SETINFO LIB-NAME` / `LIB-VER`.
    lib_name: Option<Box<[u8]>>,
    lib_ver: Option<Box<[u8]>>,
    /// Commands queued since MULTI.
    transaction: Option<transaction::Transaction>,
    /// The store's change count at the first WATCH since the last EXEC.
    watched_at: Option<u64>,
}

impl RespClient {
    /// A new client numbered `id`, speaking RESP2.
    pub fn new(id: u64) -> RespClient {
        RespClient {
            id,
            ..RespClient::default()
        }
    }
}

/// How large a command's reply can be, so the session runs it only when
/// that fits the output allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyMax {
    /// At most [`SMALL_REPLY_MAX_BYTES`].
    Small,
    /// One value, at most the value limit plus its framing.
    Value,
    /// No more than the request itself plus a little (ECHO, PING message).
    Request,
    /// Only the handler knows: it checks [`Call::room_bytes`] and answers
    /// [`NoRoom`] before writing anything if its reply would not fit.
    Measured,
}

/// The largest reply of a [`ReplyMax::Small`] command: integers, simple
/// strings, errors (an unknown command's quotes at most 128 bytes of its
/// arguments), INFO, HELLO, CONFIG GET.
pub const SMALL_REPLY_MAX_BYTES: usize = 4096;

/// A handler's reply would not fit the output allowed now; it wrote nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoRoom;

/// What a handler returns.
type Handled = Result<Outcome, NoRoom>;

/// One command of [`SPECS`].
pub struct Spec {
    /// Lowercase, as Redis names commands in errors and COMMAND.
    pub name: &'static str,
    /// `n`: exactly n arguments with the name; `-n`: at least n.
    pub arity: i32,
    /// Allowed before AUTH (AUTH, HELLO, QUIT, RESET).
    pub no_auth: bool,
    /// Changes the store (COMMAND reports it as `write`).
    pub write: bool,
    /// Runs at once inside MULTI instead of being queued (EXEC, DISCARD,
    /// MULTI, WATCH, QUIT, RESET).
    pub in_multi: bool,
    /// Bound of its reply.
    pub reply: ReplyMax,
    /// The binary protocol's command it is counted as in STATS, if any.
    pub counts_as: Option<Opcode>,
    run: fn(&mut Call<'_>, Args<'_>) -> Handled,
    /// The name as [`lookup`] compares it.
    folded: Folded,
}

/// A command name folded for [`lookup`]: its length and its bytes with bit
/// 5 set, packed into two words, so a lookup compares three words per
/// command instead of bytes. Every command name is lowercase letters (a
/// test checks), and for a letter `b | 0x20` matches exactly its two
/// cases, so equal folds mean equal names up to ASCII case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Folded {
    len: usize,
    words: [u64; 2],
}

impl Folded {
    /// Longest name folded: no command name is longer.
    const MAX_BYTES: usize = 16;

    /// `None` for a name longer than any command's.
    const fn of(name: &[u8]) -> Option<Folded> {
        if name.len() > Self::MAX_BYTES {
            return None;
        }
        let mut words = [0u64; 2];
        let mut i = 0;
        while i < name.len() {
            words[i / 8] |= ((name[i] | 0x20) as u64) << (8 * (i % 8));
            i += 1;
        }
        Some(Folded {
            len: name.len(),
            words,
        })
    }

    /// A command's own name, folded at compile time.
    const fn of_command(name: &str) -> Folded {
        match Folded::of(name.as_bytes()) {
            Some(folded) => folded,
            None => panic!("a command name longer than Folded::MAX_BYTES"),
        }
    }
}

/// Everything a handler reaches.
pub struct Call<'c> {
    /// Shared server state.
    pub ctx: &'c mut Context,
    /// This connection's RESP state.
    pub client: &'c mut RespClient,
    /// Whether the connection has authenticated.
    pub authenticated: bool,
    /// The loop's monotonic clock.
    pub now_ms: u64,
    /// Where the reply goes.
    pub reply: Reply<'c>,
    /// Output bytes the reply may take ([`ReplyMax::Measured`] handlers).
    pub room_bytes: usize,
}

macro_rules! spec {
    ($name:literal, $arity:expr, $run:path) => {
        spec!($name, $arity, $run, no_auth: false, write: false, reply: ReplyMax::Small)
    };
    ($name:literal, $arity:expr, $run:path, in_multi, $($field:ident: $value:expr),*) => {
        Spec { name: $name, arity: $arity, run: $run, counts_as: None, in_multi: true, folded: Folded::of_command($name), $($field: $value),* }
    };
    ($name:literal, $arity:expr, $run:path, counts_as: $op:expr, $($field:ident: $value:expr),*) => {
        Spec { name: $name, arity: $arity, run: $run, counts_as: $op, in_multi: false, folded: Folded::of_command($name), $($field: $value),* }
    };
    ($name:literal, $arity:expr, $run:path, $($field:ident: $value:expr),*) => {
        spec!($name, $arity, $run, counts_as: None, $($field: $value),*)
    };
}

/// Every command, the hottest first (lookup scans in order).
pub static SPECS: &[Spec] = &[
    spec!("get", 2, strings::get, counts_as: Some(Opcode::Get), no_auth: false, write: false, reply: ReplyMax::Value),
    spec!("set", -3, strings::set, counts_as: Some(Opcode::Set), no_auth: false, write: true, reply: ReplyMax::Value),
    spec!("mget", -2, strings::mget, no_auth: false, write: false, reply: ReplyMax::Measured),
    spec!("del", -2, keys::del, counts_as: Some(Opcode::Del), no_auth: false, write: true, reply: ReplyMax::Small),
    spec!("exists", -2, keys::exists),
    spec!("incr", 2, strings::incr, counts_as: Some(Opcode::Incr), no_auth: false, write: true, reply: ReplyMax::Small),
    spec!("expire", -3, keys::expire, counts_as: Some(Opcode::Expire), no_auth: false, write: true, reply: ReplyMax::Small),
    spec!("ttl", 2, keys::ttl, counts_as: Some(Opcode::Ttl), no_auth: false, write: false, reply: ReplyMax::Small),
    spec!("ping", -1, server::ping, counts_as: Some(Opcode::Ping), no_auth: false, write: false, reply: ReplyMax::Request),
    spec!("mset", -3, strings::mset, no_auth: false, write: true, reply: ReplyMax::Small),
    spec!("unlink", -2, keys::del, no_auth: false, write: true, reply: ReplyMax::Small),
    spec!("setex", 4, strings::setex, no_auth: false, write: true, reply: ReplyMax::Small),
    spec!("psetex", 4, strings::psetex, no_auth: false, write: true, reply: ReplyMax::Small),
    spec!("setnx", 3, strings::setnx, counts_as: Some(Opcode::Add), no_auth: false, write: true, reply: ReplyMax::Small),
    spec!("getdel", 2, strings::getdel, no_auth: false, write: true, reply: ReplyMax::Value),
    spec!("getex", -2, strings::getex, no_auth: false, write: true, reply: ReplyMax::Value),
    spec!("getset", 3, strings::getset, no_auth: false, write: true, reply: ReplyMax::Value),
    spec!("msetnx", -3, strings::msetnx, no_auth: false, write: true, reply: ReplyMax::Small),
    spec!("strlen", 2, strings::strlen),
    spec!("append", 3, strings::append, counts_as: Some(Opcode::Append), no_auth: false, write: true, reply: ReplyMax::Small),
    spec!("decr", 2, strings::decr, counts_as: Some(Opcode::Incr), no_auth: false, write: true, reply: ReplyMax::Small),
    spec!("incrby", 3, strings::incrby, counts_as: Some(Opcode::Incr), no_auth: false, write: true, reply: ReplyMax::Small),
    spec!("decrby", 3, strings::decrby, counts_as: Some(Opcode::Incr), no_auth: false, write: true, reply: ReplyMax::Small),
    spec!("type", 2, keys::key_type),
    spec!("pexpire", -3, keys::pexpire, no_auth: false, write: true, reply: ReplyMax::Small),
    spec!("expireat", -3, keys::expireat, no_auth: false, write: true, reply: ReplyMax::Small),
    spec!("pexpireat", -3, keys::pexpireat, no_auth: false, write: true, reply: ReplyMax::Small),
    spec!("pttl", 2, keys::pttl),
    spec!("persist", 2, keys::persist, no_auth: false, write: true, reply: ReplyMax::Small),
    spec!("expiretime", 2, keys::expiretime),
    spec!("pexpiretime", 2, keys::pexpiretime),
    spec!("dbsize", 1, keys::dbsize),
    spec!("flushall", -1, keys::flush, counts_as: Some(Opcode::Flush), no_auth: false, write: true, reply: ReplyMax::Small),
    spec!("flushdb", -1, keys::flush, counts_as: Some(Opcode::Flush), no_auth: false, write: true, reply: ReplyMax::Small),
    spec!("scan", -2, keys::scan, counts_as: Some(Opcode::Scan), no_auth: false, write: false, reply: ReplyMax::Measured),
    spec!("memory", -2, keys::memory),
    spec!("echo", 2, server::echo, no_auth: false, write: false, reply: ReplyMax::Request),
    spec!("hello", -1, server::hello, counts_as: Some(Opcode::Hello), no_auth: true, write: false, reply: ReplyMax::Small),
    spec!("auth", -2, server::auth, counts_as: Some(Opcode::Auth), no_auth: true, write: false, reply: ReplyMax::Small),
    spec!("select", 2, server::select),
    spec!("client", -2, server::client),
    spec!("multi", 1, transaction::multi, in_multi, no_auth: false, write: false, reply: ReplyMax::Small),
    spec!("exec", 1, transaction::exec, in_multi, no_auth: false, write: false, reply: ReplyMax::Measured),
    spec!("discard", 1, transaction::discard, in_multi, no_auth: false, write: false, reply: ReplyMax::Small),
    spec!("watch", -2, transaction::watch, in_multi, no_auth: false, write: false, reply: ReplyMax::Small),
    spec!("unwatch", 1, transaction::unwatch),
    spec!("quit", -1, server::quit, in_multi, no_auth: true, write: false, reply: ReplyMax::Small),
    spec!("reset", 1, server::reset, in_multi, no_auth: true, write: false, reply: ReplyMax::Small),
    spec!("info", -1, server::info, counts_as: Some(Opcode::Stats), no_auth: false, write: false, reply: ReplyMax::Small),
    spec!("config", -2, server::config),
    spec!("command", -1, server::command, no_auth: false, write: false, reply: ReplyMax::Measured),
];

/// The spec of command `name` (any case).
#[inline]
pub fn lookup(name: &[u8]) -> Option<&'static Spec> {
    let folded = Folded::of(name)?;
    SPECS.iter().find(|spec| spec.folded == folded)
}

/// Executes command `name` with the arguments after it, `args`, whose
/// [`lookup`] gave `spec` and whose bytes on the wire are `request`,
/// writing its reply; inside MULTI, queues it instead. `Err(NoRoom)` only
/// from a [`ReplyMax::Measured`] handler whose reply would not fit
/// `call.room_bytes`; nothing was written or changed.
pub fn execute(
    call: &mut Call<'_>,
    spec: Option<&'static Spec>,
    name: &[u8],
    args: Args<'_>,
    request: &[u8],
) -> Handled {
    let Some(spec) = spec else {
        transaction::refused(call.client);
        return Ok(unknown_command(call, name, args));
    };
    match spec.counts_as {
        Some(opcode) => call.ctx.counters.count_command(opcode),
        None => call.ctx.counters.resp_other_commands += 1,
    }
    let argc = args.remaining() + 1;
    let arity_ok = match usize::try_from(spec.arity) {
        Ok(exact) => argc == exact,
        Err(_) => argc >= spec.arity.unsigned_abs() as usize,
    };
    if !arity_ok {
        transaction::refused(call.client);
        return Ok(wrong_arity(call, spec.name));
    }
    if !call.authenticated && !spec.no_auth {
        transaction::refused(call.client);
        call.reply.error("NOAUTH Authentication required.");
        return Ok(Outcome::Continue);
    }
    if call.client.transaction.is_some() && !spec.in_multi {
        return Ok(transaction::queue(call, request));
    }
    (spec.run)(call, args)
}

/// Redis's unknown-command error, which clients' fallbacks match exactly;
/// or, for the first words of an HTTP request, a silent close (Redis's
/// defence against cross-protocol requests from web pages).
fn unknown_command(call: &mut Call<'_>, name: &[u8], args: Args<'_>) -> Outcome {
    if name.eq_ignore_ascii_case(b"post") || name.eq_ignore_ascii_case(b"host:") {
        tracing::warn!("an HTTP request on the RESP port: closing (a cross-protocol attack?)");
        return Outcome::Close;
    }
    let mut quoted = String::new();
    for arg in args {
        if quoted.len() >= 128 {
            break;
        }
        let room = 128 - quoted.len();
        quoted.push('\'');
        quoted.push_str(&String::from_utf8_lossy(&arg[..arg.len().min(room)]));
        quoted.push_str("' ");
    }
    let name = String::from_utf8_lossy(&name[..name.len().min(128)]);
    call.reply.error_fmt(format_args!(
        "ERR unknown command '{name}', with args beginning with: {quoted}"
    ));
    Outcome::Continue
}

fn wrong_arity(call: &mut Call<'_>, name: &str) -> Outcome {
    call.reply.error_fmt(format_args!(
        "ERR wrong number of arguments for '{name}' command"
    ));
    Outcome::Continue
}

/// Replies with an error and carries on.
fn fail(call: &mut Call<'_>, message: &str) -> Handled {
    call.reply.error(message);
    Ok(Outcome::Continue)
}

const SYNTAX_ERROR: &str = "ERR syntax error";
const NOT_AN_INTEGER: &str = "ERR value is not an integer or out of range";

/// Longest option name a command reads ([`Keyword`]).
const KEYWORD_MAX_BYTES: usize = 16;

/// An option name uppercased on the stack, so that matching the options
/// of a SET or an EXPIRE allocates nothing per request. An argument
/// longer than any option reads as empty, which names none.
struct Keyword {
    bytes: [u8; KEYWORD_MAX_BYTES],
    len: usize,
}

impl Keyword {
    fn of(arg: &[u8]) -> Keyword {
        let mut bytes = [0; KEYWORD_MAX_BYTES];
        let len = if arg.len() <= KEYWORD_MAX_BYTES {
            arg.len()
        } else {
            0
        };
        bytes[..len].copy_from_slice(&arg[..len]);
        bytes[..len].make_ascii_uppercase();
        Keyword { bytes, len }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// An integer argument, as Redis parses one.
fn integer(arg: &[u8]) -> Option<i64> {
    crate::protocol::resp::parse_integer(arg)
}

impl Call<'_> {
    /// Now as a Unix time in milliseconds, for EXPIREAT and EXPIRETIME:
    /// the store keeps monotonic deadlines, converted through the clock's
    /// epoch so that conversions both ways agree exactly.
    fn unix_now_ms(&self) -> i64 {
        self.ctx
            .unix_epoch_ms
            .saturating_add(i64::try_from(self.now_ms).unwrap_or(i64::MAX))
    }
}

/// A key or value the configured limits refuse: Blink's limits hold for
/// RESP too. Returns the error to send, if any.
fn oversized(ctx: &Context, key: &[u8], value: Option<&[u8]>) -> Option<&'static str> {
    let limits = &ctx.limits.authenticated;
    if key.len() > limits.max_key_bytes as usize {
        return Some("ERR key exceeds the server's key size limit (--max-key-bytes)");
    }
    if value.is_some_and(|value| value.len() > limits.max_value_bytes as usize) {
        return Some(VALUE_TOO_LARGE);
    }
    None
}

/// The error for a value over the configured value limit.
const VALUE_TOO_LARGE: &str = "ERR value exceeds the server's value size limit (--max-value-bytes)";

/// The error for an item whose charge exceeds the memory cap.
const ITEM_TOO_LARGE: &str = "ERR item larger than the memory limit";

#[cfg(test)]
mod tests;
