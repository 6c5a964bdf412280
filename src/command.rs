//! Executes one decoded request against the store and encodes its reply.
//!
//! This is the one `match` on commands. It knows the session (authenticated
//! or not) and the store, writes exactly one reply per request into the
//! connection's output buffer, and tells the caller whether the connection
//! must close afterwards. It never touches sockets.

use crate::config::Secret;
use crate::protocol::{self, Limits, ReplyWriter, Request, Status};
use crate::stats::{self, ServerCounters, Snapshot};
use crate::store::{MAX_KEY_BYTES, MAX_VALUE_BYTES, SetError, Store, Ttl};

// Every key and value the decoder accepts fits a store record.
const _: () = assert!(
    Limits::MAX_KEY_BYTES_CEILING as usize <= MAX_KEY_BYTES
        && Limits::MAX_VALUE_BYTES_CEILING as usize <= MAX_VALUE_BYTES
);

/// Gauges of the server that STATS reports alongside the counters.
#[derive(Clone, Copy, Debug, Default)]
pub struct Gauges {
    /// Milliseconds since start.
    pub uptime_ms: u64,
    /// Open connections.
    pub connections_current: u64,
    /// Connection buffer memory.
    pub buffer_bytes: u64,
    /// Log lines dropped by the non-blocking writer.
    pub log_lines_dropped: u64,
}

/// What a request needs from the server.
pub struct Context<'a> {
    /// The cache.
    pub store: &'a mut Store,
    /// Counters to bump.
    pub counters: &'a mut ServerCounters,
    /// The limits HELLO reports.
    pub limits: &'a Limits,
    /// The shared secret, if clients must authenticate.
    pub auth_token: Option<&'a Secret>,
    /// Gauges for STATS.
    pub gauges: Gauges,
    /// The loop's clock for this turn.
    pub now_ms: u64,
}

/// Whether the connection survives the reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Keep serving.
    Continue,
    /// Close after sending the reply.
    Close,
}

/// Executes `request` for a session and appends its reply to `out`.
pub fn execute(
    request: Request<'_>,
    authenticated: &mut bool,
    ctx: &mut Context<'_>,
    out: &mut Vec<u8>,
) -> Outcome {
    ctx.counters.count_command(request.opcode());
    let needs_auth = !matches!(
        request,
        Request::Ping | Request::Hello { .. } | Request::Auth { .. }
    );
    if needs_auth && !*authenticated {
        return error(ctx, Status::AuthRequired, "AUTH first", out);
    }
    match request {
        Request::Ping => protocol::encode_reply(Status::Ok, &[], out),
        Request::Hello { version } => {
            if version == 0 {
                return error(
                    ctx,
                    Status::UnsupportedVersion,
                    "protocol version 1 is the oldest",
                    out,
                );
            }
            // The flag tells this connection whether it still has to AUTH.
            protocol::encode_hello_reply(ctx.limits, !*authenticated, out);
        }
        Request::Auth { token } => return auth(token, authenticated, ctx, out),
        Request::Get { key } => match ctx.store.get(key, ctx.now_ms) {
            Some(value) => protocol::encode_reply(Status::Ok, value, out),
            None => protocol::encode_reply(Status::NotFound, &[], out),
        },
        Request::Set { key, value, ttl_ms } => {
            let ttl_ms = std::num::NonZeroU64::new(ttl_ms);
            match ctx.store.set(key, value, ttl_ms, ctx.now_ms) {
                Ok(()) => protocol::encode_reply(Status::Ok, &[], out),
                Err(SetError::TooLarge { .. }) => {
                    return error(
                        ctx,
                        Status::ItemTooLarge,
                        "item larger than the memory limit",
                        out,
                    );
                }
                // Unreachable: the decoder enforces the protocol's key and
                // value ceilings, which lie within the store's (checked below).
                Err(SetError::TooLong { .. }) => {
                    return error(
                        ctx,
                        Status::ItemTooLarge,
                        "item longer than the store holds",
                        out,
                    );
                }
            }
        }
        Request::Del { key } => found_reply(ctx.store.delete(key, ctx.now_ms), out),
        Request::Expire { key, ttl_ms } => {
            let ttl_ms = std::num::NonZeroU64::new(ttl_ms);
            found_reply(ctx.store.expire(key, ttl_ms, ctx.now_ms), out);
        }
        Request::Ttl { key } => match ctx.store.ttl(key, ctx.now_ms) {
            Ttl::Missing => protocol::encode_reply(Status::NotFound, &[], out),
            Ttl::Persistent => protocol::encode_ttl_reply(None, out),
            Ttl::Remaining { remaining_ms } => protocol::encode_ttl_reply(Some(remaining_ms), out),
        },
        Request::Stats => stats_reply(ctx, out),
    }
    Outcome::Continue
}

fn auth(
    token: &[u8],
    authenticated: &mut bool,
    ctx: &mut Context<'_>,
    out: &mut Vec<u8>,
) -> Outcome {
    match ctx.auth_token {
        Some(secret) if !secret.matches(token) => {
            error(ctx, Status::AuthFailed, "wrong token", out);
            Outcome::Close
        }
        _ => {
            *authenticated = true;
            protocol::encode_reply(Status::Ok, &[], out);
            Outcome::Continue
        }
    }
}

fn found_reply(found: bool, out: &mut Vec<u8>) {
    let status = if found { Status::Ok } else { Status::NotFound };
    protocol::encode_reply(status, &[], out);
}

/// Encodes an error reply and counts it.
pub fn error(ctx: &mut Context<'_>, status: Status, message: &str, out: &mut Vec<u8>) -> Outcome {
    ctx.counters.count_error(status);
    protocol::encode_reply(status, message.as_bytes(), out);
    Outcome::Continue
}

fn stats_reply(ctx: &mut Context<'_>, out: &mut Vec<u8>) {
    let snapshot = snapshot(ctx.gauges, ctx.counters, ctx.store);
    let reply = ReplyWriter::begin(Status::Ok, out);
    // Writing into a Vec cannot fail.
    let _ = snapshot.render(out);
    reply.finish(out);
}

/// Assembles a STATS snapshot.
pub fn snapshot(gauges: Gauges, counters: &ServerCounters, store: &Store) -> Snapshot {
    Snapshot {
        uptime_ms: gauges.uptime_ms,
        rss_bytes: stats::rss_bytes(),
        connections_current: gauges.connections_current,
        buffer_bytes: gauges.buffer_bytes,
        log_lines_dropped: gauges.log_lines_dropped,
        counters: *counters,
        store: store.stats(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{DecodedReply, PROTOCOL_VERSION, decode_reply};

    struct Harness {
        store: Store,
        counters: ServerCounters,
        limits: Limits,
        token: Option<Secret>,
    }

    impl Harness {
        fn new(token: Option<&str>) -> Harness {
            Harness {
                store: Store::new(1 << 20),
                counters: ServerCounters::default(),
                limits: Limits::DEFAULT,
                token: token.map(|t| Secret::new(t.as_bytes().to_vec())),
            }
        }

        fn run(
            &mut self,
            request: Request<'_>,
            authenticated: &mut bool,
        ) -> (u8, Vec<u8>, Outcome) {
            let mut ctx = Context {
                store: &mut self.store,
                counters: &mut self.counters,
                limits: &self.limits,
                auth_token: self.token.as_ref(),
                gauges: Gauges::default(),
                now_ms: 1_000,
            };
            let mut out = Vec::new();
            let outcome = execute(request, authenticated, &mut ctx, &mut out);
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
    }

    #[test]
    fn set_get_del_round_trip() {
        let mut h = Harness::new(None);
        let mut authed = true;
        let set = Request::Set {
            key: b"k",
            value: b"v",
            ttl_ms: 0,
        };
        assert_eq!(h.run(set, &mut authed).0, Status::Ok as u8);
        assert_eq!(
            h.run(Request::Get { key: b"k" }, &mut authed),
            (0, b"v".to_vec(), Outcome::Continue)
        );
        assert_eq!(
            h.run(Request::Del { key: b"k" }, &mut authed).0,
            Status::Ok as u8
        );
        assert_eq!(
            h.run(Request::Del { key: b"k" }, &mut authed).0,
            Status::NotFound as u8
        );
        assert_eq!(
            h.run(Request::Get { key: b"k" }, &mut authed).0,
            Status::NotFound as u8
        );
        assert_eq!(h.counters.commands[protocol::Opcode::Get as usize], 2);
    }

    #[test]
    fn ttl_zero_means_none_on_the_wire() {
        let mut h = Harness::new(None);
        let mut authed = true;
        h.run(
            Request::Set {
                key: b"k",
                value: b"v",
                ttl_ms: 5_000,
            },
            &mut authed,
        );
        let (status, body, _) = h.run(Request::Ttl { key: b"k" }, &mut authed);
        assert_eq!((status, body), (0, 5_000u64.to_be_bytes().to_vec()));
        h.run(
            Request::Expire {
                key: b"k",
                ttl_ms: 0,
            },
            &mut authed,
        );
        assert_eq!(
            h.run(Request::Ttl { key: b"k" }, &mut authed).1,
            Vec::<u8>::new()
        );
        assert_eq!(
            h.run(
                Request::Expire {
                    key: b"nope",
                    ttl_ms: 1
                },
                &mut authed
            )
            .0,
            Status::NotFound as u8
        );
    }

    #[test]
    fn auth_gates_commands_and_a_wrong_token_closes() {
        let mut h = Harness::new(Some("sesame"));
        let mut authed = false;
        assert_eq!(
            h.run(Request::Get { key: b"k" }, &mut authed).0,
            Status::AuthRequired as u8
        );
        assert_eq!(h.run(Request::Ping, &mut authed).0, Status::Ok as u8);
        let (status, _, outcome) = h.run(Request::Auth { token: b"wrong" }, &mut authed);
        assert_eq!(
            (status, outcome),
            (Status::AuthFailed as u8, Outcome::Close)
        );
        assert!(!authed);
        assert_eq!(
            h.run(Request::Auth { token: b"sesame" }, &mut authed).0,
            Status::Ok as u8
        );
        assert!(authed);
        assert_eq!(
            h.run(Request::Get { key: b"k" }, &mut authed).0,
            Status::NotFound as u8
        );
    }

    #[test]
    fn hello_reports_limits_and_auth() {
        let mut h = Harness::new(Some("t"));
        let mut authed = false;
        let (status, body, _) = h.run(Request::Hello { version: 1 }, &mut authed);
        assert_eq!(status, 0);
        assert_eq!(body[0], PROTOCOL_VERSION);
        assert_eq!(body[1] & 1, 1, "auth required flag");
        assert_eq!(
            h.run(Request::Hello { version: 0 }, &mut authed).0,
            Status::UnsupportedVersion as u8
        );
    }

    #[test]
    fn an_item_that_can_never_fit_is_refused() {
        let mut h = Harness::new(None);
        let mut authed = true;
        let value = vec![0u8; 2 << 20];
        let (status, _, outcome) = h.run(
            Request::Set {
                key: b"big",
                value: &value,
                ttl_ms: 0,
            },
            &mut authed,
        );
        assert_eq!(
            (status, outcome),
            (Status::ItemTooLarge as u8, Outcome::Continue)
        );
    }

    #[test]
    fn stats_body_is_text_lines() {
        let mut h = Harness::new(None);
        let mut authed = true;
        h.run(
            Request::Set {
                key: b"k",
                value: b"v",
                ttl_ms: 0,
            },
            &mut authed,
        );
        let (status, body, _) = h.run(Request::Stats, &mut authed);
        assert_eq!(status, 0);
        let text = String::from_utf8(body).unwrap();
        assert!(text.contains("\nitems 1\n"), "{text}");
        assert!(text.contains("\ncmd_set 1\n"), "{text}");
    }
}
