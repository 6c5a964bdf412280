//! Executes one decoded request against the store and encodes its reply.
//! This file is the binary protocol's; [`resp`] is RESP's, over the same
//! [`Context`].
//!
//! This is the one `match` on commands, and [`Context`] is everything a
//! request can reach: the store, the counters, the limits HELLO reports, the
//! token, and the gauges STATS reports. [`execute`] writes exactly one reply
//! per request into the caller's buffer and says what the session must do
//! next (go on, mark itself authenticated, or close). It never touches
//! sockets, so every protocol front end (Blink today, RESP next) and every
//! storage backend meets here.

pub mod ops;
pub mod resp;

use std::io;
use std::num::NonZeroU64;

use crate::config::{Config, Secret};
use crate::logging::LogCounters;
use crate::protocol::{self, HEADER_BYTES, PROTOCOL_VERSION, ReplyWriter, Request, Status};
use crate::server::buffers::BufferBudget;
use crate::session::SessionLimits;
use crate::stats::{self, ServerCounters, Snapshot};
use crate::store::{SetError, Store, Ttl};
use ops::OpError;

/// The state every connection's requests share, owned by the event loop.
pub struct Context {
    /// The cache.
    pub store: Store,
    /// Counters to bump.
    pub counters: ServerCounters,
    /// The memory budget for connection buffers (STATS reports its use).
    pub budget: BufferBudget,
    /// Decoding limits before and after AUTH; HELLO reports the latter.
    pub limits: SessionLimits,
    /// The shared secret, if clients must authenticate.
    pub auth_token: Option<Secret>,
    /// Open connections, kept by the loop as it accepts and closes them.
    pub connections_current: usize,
    /// The file logger's failure counts.
    pub log_counters: LogCounters,
    /// The idle timeout, if any (RESP's `CONFIG GET timeout` reports it).
    pub idle_timeout_ms: Option<u64>,
    /// The next RESP connection's `CLIENT ID`.
    pub next_client_id: u64,
    /// A value being built (APPEND), kept to reuse its allocation.
    pub scratch: Vec<u8>,
    /// The Unix time, in milliseconds, at the loop clock's zero: RESP's
    /// absolute expiry times convert through it, so a deadline set with
    /// PEXPIREAT reads back exactly from PEXPIRETIME.
    pub unix_epoch_ms: i64,
    /// The bound TCP port (0 without TCP), which INFO reports.
    pub tcp_port: u16,
}

/// What the session does after a request's reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Keep serving.
    Continue,
    /// AUTH succeeded: the session is authenticated from the next frame on.
    Authenticated,
    /// HELLO negotiated this protocol version for the next frames.
    Negotiated(u8),
    /// RESET: the session must authenticate again.
    Unauthenticated,
    /// Close after sending the reply.
    Close,
}

impl Context {
    /// The shared state for a server with `config`.
    pub fn new(config: &Config, log_counters: LogCounters) -> io::Result<Context> {
        Ok(Context {
            store: Store::try_new(config.memory_limit_bytes)?,
            counters: ServerCounters::default(),
            budget: BufferBudget::new(config.buffer_budget_bytes),
            limits: SessionLimits::new(config.limits),
            auth_token: config.auth_token.clone(),
            connections_current: 0,
            log_counters,
            idle_timeout_ms: config.idle_timeout_ms,
            next_client_id: 1,
            scratch: Vec::new(),
            unix_epoch_ms: unix_now_ms(),
            tcp_port: 0,
        })
    }

    /// A context over a heap-backed store of `cap_bytes`, for tests and fuzzing
    /// (compiled only for them, like the test oracles).
    #[cfg(any(test, fuzzing))]
    pub fn for_tests(
        cap_bytes: u64,
        limits: protocol::Limits,
        auth_token: Option<Secret>,
    ) -> Context {
        Context {
            store: Store::new(cap_bytes),
            counters: ServerCounters::default(),
            budget: BufferBudget::new(usize::MAX),
            limits: SessionLimits::new(limits),
            auth_token,
            connections_current: 0,
            log_counters: LogCounters::default(),
            idle_timeout_ms: None,
            next_client_id: 1,
            scratch: Vec::new(),
            unix_epoch_ms: unix_now_ms(),
            tcp_port: 0,
        }
    }

    /// Everything STATS reports, at `now_ms`: the one place it is assembled.
    pub fn snapshot(&self, now_ms: u64) -> Snapshot {
        Snapshot {
            uptime_ms: now_ms,
            rss_bytes: stats::rss_bytes(),
            connections_current: self.connections_current as u64,
            buffer_bytes: self.budget.used_bytes() as u64,
            log_lines_dropped: self.log_counters.dropped_lines(),
            log_write_errors: self.log_counters.write_errors(),
            counters: self.counters,
            store: self.store.stats(),
        }
    }
}

/// The wall clock in Unix milliseconds.
fn unix_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

/// Executes `request` for a session (`authenticated` or not) and appends
/// its reply to `out`. The decoder has already refused the commands the
/// session's protocol version lacks.
pub fn execute(
    request: Request<'_>,
    authenticated: bool,
    ctx: &mut Context,
    now_ms: u64,
    out: &mut Vec<u8>,
) -> Outcome {
    ctx.counters.count_command(request.opcode());
    let open = matches!(
        request,
        Request::Ping | Request::Hello { .. } | Request::Auth { .. }
    );
    if !open && !authenticated {
        return error(ctx, Status::AuthRequired, "AUTH first", out);
    }
    match request {
        Request::Ping => protocol::encode_reply(Status::Ok, &[], out),
        Request::Hello { version } => return hello(version, authenticated, ctx, out),
        Request::Auth { token } => return auth(token, ctx, out),
        Request::Get { key } => match ctx.store.get(key, now_ms) {
            Some(value) => protocol::encode_reply(Status::Ok, value, out),
            None => protocol::encode_reply(Status::NotFound, &[], out),
        },
        Request::Set { key, value, ttl_ms } => return set(key, value, ttl_ms, ctx, now_ms, out),
        Request::Del { key } => found_reply(ctx.store.delete(key, now_ms), out),
        Request::Expire { key, ttl_ms } => {
            found_reply(ctx.store.expire(key, wire_ttl(ttl_ms), now_ms), out);
        }
        Request::Ttl { key } => match ctx.store.ttl(key, now_ms) {
            Ttl::Missing => protocol::encode_reply(Status::NotFound, &[], out),
            Ttl::Persistent => protocol::encode_ttl_reply(None, out),
            Ttl::Remaining { remaining_ms } => protocol::encode_ttl_reply(Some(remaining_ms), out),
        },
        Request::Stats => stats_reply(ctx, now_ms, out),
        Request::Add { key, value, ttl_ms } => {
            if ctx.store.peek(key, now_ms).is_some() {
                protocol::encode_reply(Status::Exists, &[], out);
            } else {
                return set(key, value, ttl_ms, ctx, now_ms, out);
            }
        }
        Request::Replace { key, value, ttl_ms } => {
            if ctx.store.peek(key, now_ms).is_none() {
                protocol::encode_reply(Status::NotFound, &[], out);
            } else {
                return set(key, value, ttl_ms, ctx, now_ms, out);
            }
        }
        Request::Incr { key, delta } => {
            let max_value_bytes = ctx.limits.authenticated.max_value_bytes as usize;
            return match ops::incr(&mut ctx.store, key, delta, max_value_bytes, now_ms) {
                Ok(value) => {
                    protocol::encode_reply(Status::Ok, &value.to_be_bytes(), out);
                    Outcome::Continue
                }
                Err(refused) => op_error(ctx, refused, out),
            };
        }
        Request::Append { key, suffix } => {
            let max_value_bytes = ctx.limits.authenticated.max_value_bytes as usize;
            let appended = ops::append(
                &mut ctx.store,
                &mut ctx.scratch,
                key,
                suffix,
                max_value_bytes,
                now_ms,
            );
            return match appended {
                Ok(len) => {
                    protocol::encode_reply(Status::Ok, &(len as u64).to_be_bytes(), out);
                    Outcome::Continue
                }
                Err(refused) => op_error(ctx, refused, out),
            };
        }
        Request::Flush => {
            ctx.store.clear();
            protocol::encode_reply(Status::Ok, &[], out);
        }
        Request::Scan {
            cursor,
            count,
            prefix,
        } => return scan(cursor, count, prefix, ctx, now_ms, out),
    }
    Outcome::Continue
}

/// The error reply for an INCR or APPEND that stored nothing.
fn op_error(ctx: &mut Context, refused: OpError, out: &mut Vec<u8>) -> Outcome {
    let (status, message) = match refused {
        OpError::NotAnInteger => (Status::NotInteger, "value is not a decimal integer"),
        OpError::Overflow => (Status::NotInteger, "increment would overflow"),
        OpError::ValueTooLarge => (Status::ValueTooLarge, "the result exceeds max_value_bytes"),
        OpError::ItemTooLarge => (Status::ItemTooLarge, "item larger than the memory limit"),
    };
    error(ctx, status, message, out)
}

/// SCAN: the next cursor, then each key with a matching prefix as
/// `key_len u16, key`, in one reply no longer than the frame limit.
fn scan(
    cursor: u64,
    count: u16,
    prefix: &[u8],
    ctx: &mut Context,
    now_ms: u64,
    out: &mut Vec<u8>,
) -> Outcome {
    let reply_at = out.len();
    let reply = ReplyWriter::begin(Status::Ok, out);
    let cursor_at = out.len();
    out.extend_from_slice(&[0; 8]);
    let max_len = reply_at + HEADER_BYTES + ctx.limits.authenticated.max_frame_bytes as usize;
    let page = ops::scan_page(
        &ctx.store,
        cursor,
        usize::from(count),
        now_ms,
        out,
        max_len,
        |key, out| {
            let wanted = key.starts_with(prefix);
            if wanted {
                protocol::put_scan_key(key, out);
            }
            wanted
        },
    );
    let Some(page) = page else {
        out.truncate(reply_at);
        let message = "the keys of one scan step exceed max_frame_bytes";
        return error(ctx, Status::ValueTooLarge, message, out);
    };
    out[cursor_at..cursor_at + 8].copy_from_slice(&page.next_cursor.to_be_bytes());
    reply.finish(out);
    Outcome::Continue
}

/// The wire's `ttl_ms`: 0 means "no TTL" (SPEC §9).
fn wire_ttl(ttl_ms: u64) -> Option<NonZeroU64> {
    NonZeroU64::new(ttl_ms)
}

fn hello(version: u8, authenticated: bool, ctx: &mut Context, out: &mut Vec<u8>) -> Outcome {
    if version == 0 {
        let message = "protocol version 1 is the oldest";
        return error(ctx, Status::UnsupportedVersion, message, out);
    }
    let version = version.min(PROTOCOL_VERSION);
    // The flag tells this connection whether it still has to AUTH.
    protocol::encode_hello_reply(version, &ctx.limits.authenticated, !authenticated, out);
    Outcome::Negotiated(version)
}

fn auth(token: &[u8], ctx: &mut Context, out: &mut Vec<u8>) -> Outcome {
    if ctx
        .auth_token
        .as_ref()
        .is_some_and(|secret| !secret.matches(token))
    {
        error(ctx, Status::AuthFailed, "wrong token", out);
        return Outcome::Close;
    }
    protocol::encode_reply(Status::Ok, &[], out);
    Outcome::Authenticated
}

fn set(
    key: &[u8],
    value: &[u8],
    ttl_ms: u64,
    ctx: &mut Context,
    now_ms: u64,
    out: &mut Vec<u8>,
) -> Outcome {
    match ctx.store.set(key, value, wire_ttl(ttl_ms), now_ms) {
        Ok(()) => {
            protocol::encode_reply(Status::Ok, &[], out);
            Outcome::Continue
        }
        // The decoder's limits keep keys and values within the store's own
        // (a compile-time check in the store), so the only refusal a client
        // can cause is an item whose charge exceeds the memory cap.
        Err(SetError::TooLarge { .. } | SetError::TooLong { .. }) => error(
            ctx,
            Status::ItemTooLarge,
            "item larger than the memory limit",
            out,
        ),
    }
}

fn found_reply(found: bool, out: &mut Vec<u8>) {
    let status = if found { Status::Ok } else { Status::NotFound };
    protocol::encode_reply(status, &[], out);
}

/// Encodes an error reply and counts it.
pub fn error(ctx: &mut Context, status: Status, message: &str, out: &mut Vec<u8>) -> Outcome {
    ctx.counters.count_error(status);
    protocol::encode_reply(status, message.as_bytes(), out);
    Outcome::Continue
}

fn stats_reply(ctx: &Context, now_ms: u64, out: &mut Vec<u8>) {
    let reply = ReplyWriter::begin(Status::Ok, out);
    // Writing into a Vec cannot fail.
    let _ = ctx.snapshot(now_ms).render(out);
    reply.finish(out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{DecodedReply, Limits, PROTOCOL_VERSION, decode_reply};

    struct Harness {
        ctx: Context,
        authenticated: bool,
    }

    impl Harness {
        fn new(token: Option<&str>) -> Harness {
            let token = token.map(|t| Secret::new(t.as_bytes().to_vec()));
            Harness {
                authenticated: token.is_none(),
                ctx: Context::for_tests(1 << 20, Limits::DEFAULT, token),
            }
        }

        fn run(&mut self, request: Request<'_>) -> (u8, Vec<u8>, Outcome) {
            let mut out = Vec::new();
            let outcome = execute(request, self.authenticated, &mut self.ctx, 1_000, &mut out);
            if outcome == Outcome::Authenticated {
                self.authenticated = true;
            }
            match decode_reply(&out, u32::MAX) {
                DecodedReply::Reply {
                    status,
                    body,
                    frame_len,
                } => {
                    assert_eq!(frame_len, out.len(), "exactly one reply");
                    (status, body.to_vec(), outcome)
                }
                _ => panic!("not a reply: {out:?}"),
            }
        }

        fn status(&mut self, request: Request<'_>) -> u8 {
            self.run(request).0
        }
    }

    const OK: u8 = Status::Ok as u8;
    const NOT_FOUND: u8 = Status::NotFound as u8;

    #[test]
    fn set_get_del_round_trip() {
        let mut h = Harness::new(None);
        let set = Request::Set {
            key: b"k",
            value: b"v",
            ttl_ms: 0,
        };
        assert_eq!(h.status(set), OK);
        assert_eq!(
            h.run(Request::Get { key: b"k" }),
            (OK, b"v".to_vec(), Outcome::Continue)
        );
        assert_eq!(h.status(Request::Del { key: b"k" }), OK);
        assert_eq!(h.status(Request::Del { key: b"k" }), NOT_FOUND);
        assert_eq!(h.status(Request::Get { key: b"k" }), NOT_FOUND);
        assert_eq!(h.ctx.counters.commands[protocol::Opcode::Get as usize], 2);
    }

    #[test]
    fn ttl_zero_means_none_on_the_wire() {
        let mut h = Harness::new(None);
        let set = Request::Set {
            key: b"k",
            value: b"v",
            ttl_ms: 5_000,
        };
        h.run(set);
        let (status, body, _) = h.run(Request::Ttl { key: b"k" });
        assert_eq!((status, body), (OK, 5_000u64.to_be_bytes().to_vec()));
        h.run(Request::Expire {
            key: b"k",
            ttl_ms: 0,
        });
        assert_eq!(h.run(Request::Ttl { key: b"k" }).1, Vec::<u8>::new());
        let expire_missing = Request::Expire {
            key: b"nope",
            ttl_ms: 1,
        };
        assert_eq!(h.status(expire_missing), NOT_FOUND);
    }

    #[test]
    fn auth_gates_commands_and_a_wrong_token_closes() {
        let mut h = Harness::new(Some("sesame"));
        assert_eq!(
            h.status(Request::Get { key: b"k" }),
            Status::AuthRequired as u8
        );
        assert_eq!(h.status(Request::Ping), OK);
        let (status, _, outcome) = h.run(Request::Auth { token: b"wrong" });
        assert_eq!(
            (status, outcome),
            (Status::AuthFailed as u8, Outcome::Close)
        );
        assert!(!h.authenticated);
        let (status, _, outcome) = h.run(Request::Auth { token: b"sesame" });
        assert_eq!((status, outcome), (OK, Outcome::Authenticated));
        assert_eq!(h.status(Request::Get { key: b"k" }), NOT_FOUND);
    }

    #[test]
    fn hello_reports_limits_and_auth() {
        let mut h = Harness::new(Some("t"));
        let (status, body, outcome) = h.run(Request::Hello { version: 1 });
        assert_eq!((status, body[0], outcome), (OK, 1, Outcome::Negotiated(1)));
        assert_eq!(body[1] & 1, 1, "auth required flag");
        for asked in [2, 255] {
            let (_, body, outcome) = h.run(Request::Hello { version: asked });
            assert_eq!(body[0], PROTOCOL_VERSION);
            assert_eq!(outcome, Outcome::Negotiated(PROTOCOL_VERSION));
        }
        assert_eq!(
            h.status(Request::Hello { version: 0 }),
            Status::UnsupportedVersion as u8
        );
    }

    #[test]
    fn add_and_replace_store_only_on_their_condition() {
        let mut h = Harness::new(None);
        let add = |value| Request::Add {
            key: b"k",
            value,
            ttl_ms: 0,
        };
        let replace = |value| Request::Replace {
            key: b"k",
            value,
            ttl_ms: 9_000,
        };
        assert_eq!(h.status(replace(b"r")), NOT_FOUND);
        assert_eq!(h.status(add(b"a")), OK);
        assert_eq!(h.status(add(b"b")), Status::Exists as u8);
        assert_eq!(h.run(Request::Get { key: b"k" }).1, b"a");
        assert_eq!(h.status(replace(b"r")), OK);
        assert_eq!(h.run(Request::Get { key: b"k" }).1, b"r");
        let (_, ttl, _) = h.run(Request::Ttl { key: b"k" });
        assert_eq!(ttl, 9_000u64.to_be_bytes());
        assert_eq!(h.ctx.counters.commands[protocol::Opcode::Add as usize], 2);
    }

    #[test]
    fn incr_and_append_reply_their_results_and_refuse_cleanly() {
        let mut h = Harness::new(None);
        let incr = |delta| Request::Incr { key: b"n", delta };
        assert_eq!(h.run(incr(-3)).1, (-3i64).to_be_bytes());
        assert_eq!(h.run(incr(10)).1, 7i64.to_be_bytes());
        let append = Request::Append {
            key: b"n",
            suffix: b"x",
        };
        assert_eq!(h.run(append).1, 2u64.to_be_bytes());
        let (status, body, outcome) = h.run(incr(1));
        assert_eq!(
            (status, outcome),
            (Status::NotInteger as u8, Outcome::Continue)
        );
        assert!(!body.is_empty(), "an error carries its message");
        assert_eq!(h.run(Request::Get { key: b"n" }).1, b"7x");
        assert_eq!(h.ctx.counters.errors[0x0D], 1, "counted as ERR_NOT_INTEGER");
    }

    #[test]
    fn flush_empties_and_scan_walks_every_key_with_the_prefix() {
        let mut h = Harness::new(None);
        for n in 0..300u32 {
            let key = format!("{}:{n}", if n % 3 == 0 { "u" } else { "x" });
            h.run(Request::Set {
                key: key.as_bytes(),
                value: b"v",
                ttl_ms: 0,
            });
        }
        let mut seen = Vec::new();
        let mut cursor = 0;
        for _ in 0..1_000 {
            let (status, body, _) = h.run(Request::Scan {
                cursor,
                count: 7,
                prefix: b"u:",
            });
            assert_eq!(status, OK);
            let page = protocol::ScanReply::parse(&body).expect("a SCAN body");
            seen.extend(page.keys().map(<[u8]>::to_vec));
            cursor = page.next_cursor;
            if cursor == 0 {
                break;
            }
        }
        seen.sort();
        let mut wanted: Vec<Vec<u8>> = (0..300)
            .filter(|n| n % 3 == 0)
            .map(|n| format!("u:{n}").into_bytes())
            .collect();
        wanted.sort();
        assert_eq!((cursor, seen), (0, wanted));
        assert_eq!(h.status(Request::Flush), OK);
        assert_eq!(h.ctx.store.len(), 0);
        let (_, body, _) = h.run(Request::Scan {
            cursor: 0,
            count: 0,
            prefix: b"",
        });
        let page = protocol::ScanReply::parse(&body).expect("a SCAN body");
        assert_eq!(page.keys().count(), 0);
    }

    #[test]
    fn a_scan_reply_never_exceeds_the_frame_limit() {
        let limits = Limits {
            max_frame_bytes: 4_096,
            max_key_bytes: 1_000,
            ..Limits::DEFAULT
        };
        let mut h = Harness::new(None);
        h.ctx = Context::for_tests(1 << 22, limits, None);
        for n in 0..200u32 {
            let mut key = vec![b'k'; 96];
            key.extend_from_slice(&n.to_be_bytes());
            h.ctx.store.set(&key, b"", None, 1_000).unwrap();
        }
        let mut cursor = 0;
        let (mut keys, mut pages) = (0, 0);
        for _ in 0..10_000 {
            let mut out = Vec::new();
            let scan = Request::Scan {
                cursor,
                count: 1_000,
                prefix: b"",
            };
            execute(scan, true, &mut h.ctx, 1_000, &mut out);
            assert!(out.len() <= 4 + 4_096, "{} bytes", out.len());
            let DecodedReply::Reply { status, body, .. } = decode_reply(&out, 4_096) else {
                panic!("not a reply");
            };
            assert_eq!(status, OK);
            let page = protocol::ScanReply::parse(body).expect("a SCAN body");
            keys += page.keys().count();
            pages += 1;
            cursor = page.next_cursor;
            if cursor == 0 {
                break;
            }
        }
        // 200 keys of 102 framed bytes need several 4 KiB pages.
        assert_eq!((keys, pages > 5), (200, true));
    }

    #[test]
    fn an_item_that_can_never_fit_is_refused() {
        let mut h = Harness::new(None);
        let value = vec![0u8; 2 << 20];
        let set = Request::Set {
            key: b"big",
            value: &value,
            ttl_ms: 0,
        };
        let (status, _, outcome) = h.run(set);
        assert_eq!(
            (status, outcome),
            (Status::ItemTooLarge as u8, Outcome::Continue)
        );
    }

    #[test]
    fn stats_body_is_text_lines() {
        let mut h = Harness::new(None);
        h.run(Request::Set {
            key: b"k",
            value: b"v",
            ttl_ms: 0,
        });
        let (status, body, _) = h.run(Request::Stats);
        assert_eq!(status, OK);
        let text = String::from_utf8(body).unwrap();
        assert!(text.contains("\nitems 1\n"), "{text}");
        assert!(text.contains("\ncmd_set 1\n"), "{text}");
        assert!(text.contains("\nuptime_ms 1000\n"), "{text}");
    }
}
