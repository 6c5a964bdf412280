//! A client's protocol session: whether it has authenticated, which limits
//! apply to it, and the loop that answers the complete frames at the front
//! of its input.
//!
//! [`Session::answer`] decodes a frame in place, hands the request to
//! [`command::execute`], and appends the reply; then the next frame, until
//! the input ends in a partial frame, the turn's request budget is spent,
//! the next reply might not fit the output allowed, or a frame (or a failed
//! AUTH) ends the connection. Limits are chosen per frame, so an AUTH
//! pipelined ahead of a large SET lifts the pre-auth frame limit for the SET.
//!
//! Before executing a run of complete frames, the loop looks ahead at up to
//! `LOOKAHEAD_FRAMES` of them ([`protocol::peek_key`]: header, opcode and
//! key only) and starts their keys' index chunks, then their records,
//! loading (`store/prefetch.rs`); the frames are then decoded and executed
//! strictly in order, each with its own lookup. The hints change no state,
//! so a batch answers exactly as one frame at a time would, and its cache
//! misses overlap instead of queueing. A lone frame (pipeline 1) gets no
//! hints.
//!
//! No sockets here: the connection calls this between a read and a write,
//! and the `session` fuzz target drives it with arbitrary byte streams. The
//! first byte chooses the protocol (SPEC §3.1); RESP has its own answer
//! loop (`session/resp.rs`) over its own decoder, calling
//! [`command::resp::execute`].

mod resp;

use crate::command::{self, Context, Outcome};
use crate::logging::Escaped;
use crate::protocol::{
    self, Decoded, Detected, FIRST_PROTOCOL_VERSION, HEADER_BYTES, Limits,
    PRE_AUTH_MAX_FRAME_BYTES, Request, Status,
};
use crate::store::{KeyHash, Store};

/// The largest reply to anything but GET and STATS: empty OKs, TTL, HELLO,
/// and every error message (all well under 256 bytes).
const SMALL_REPLY_MAX_BYTES: usize = 512;
/// The largest STATS reply: like every reply the server makes on its own, it
/// fits the smallest frame limit (SPEC §4), so it fits the smallest output cap.
const STATS_REPLY_MAX_BYTES: usize = PRE_AUTH_MAX_FRAME_BYTES as usize;

/// The limits a session decodes with: the configured ones once
/// authenticated (or when no token is set), the pre-auth ones before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionLimits {
    /// Limits of an authenticated session (what HELLO reports).
    pub authenticated: Limits,
    /// Limits before AUTH: the frame limit drops to 4 096 bytes.
    pub pre_auth: Limits,
}

impl SessionLimits {
    /// Both sets, from the configured limits.
    pub fn new(configured: Limits) -> SessionLimits {
        SessionLimits {
            authenticated: configured,
            pre_auth: configured.pre_auth(),
        }
    }
}

/// What one call to [`Session::answer`] may do.
#[derive(Clone, Copy, Debug)]
pub struct AnswerBudget {
    /// Requests it may answer.
    pub max_requests: usize,
    /// A request is answered only if its largest possible reply keeps the
    /// output buffer within this length.
    pub max_output_len: usize,
}

/// Why answering stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerEnd {
    /// Only a partial frame (or nothing) is left.
    NeedMore,
    /// The request budget is spent; complete frames may remain.
    RequestsSpent,
    /// The next reply might not fit the output allowed.
    OutputFull,
    /// The connection must close once the replies are written.
    Close,
}

/// What one call to [`Session::answer`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answered {
    /// Input bytes consumed (whole frames only).
    pub consumed_bytes: usize,
    /// Replies appended: one per executed or rejected frame, plus the final
    /// error of a frame that ends the connection.
    pub replies: usize,
    /// Why it stopped.
    pub end: AnswerEnd,
}

/// One client's protocol state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    authenticated: bool,
    protocol: Protocol,
    /// The binary protocol's version, as the last HELLO negotiated it.
    blink_version: u8,
}

/// The protocol a session speaks, fixed by its first byte.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Protocol {
    /// Nothing has arrived yet.
    Undecided,
    /// The binary protocol.
    Blink,
    /// RESP, with its own state.
    Resp(Box<resp::RespSession>),
}

impl Session {
    /// A new session; `authenticated` is true when the server has no token.
    pub fn new(authenticated: bool) -> Session {
        Session {
            authenticated,
            protocol: Protocol::Undecided,
            blink_version: FIRST_PROTOCOL_VERSION,
        }
    }

    /// Whether the session has passed AUTH (always true without a token).
    pub fn is_authenticated(&self) -> bool {
        self.authenticated
    }

    /// The limits this session's next frame is decoded with.
    pub fn limits<'a>(&self, limits: &'a SessionLimits) -> &'a Limits {
        if self.authenticated {
            &limits.authenticated
        } else {
            &limits.pre_auth
        }
    }

    /// Answers the complete requests at the front of `input`, appending one
    /// reply per request to `out`, in the protocol the first byte chose
    /// (SPEC §3.1). `conn` only labels log lines.
    pub fn answer(
        &mut self,
        input: &[u8],
        ctx: &mut Context,
        budget: AnswerBudget,
        out: &mut Vec<u8>,
        now_ms: u64,
        conn: usize,
    ) -> Answered {
        if self.protocol == Protocol::Undecided {
            self.protocol = match protocol::detect(input) {
                Detected::NeedMore => Protocol::Undecided,
                Detected::Blink => Protocol::Blink,
                Detected::Resp => Protocol::Resp(Box::new(resp::RespSession::new(ctx))),
            };
        }
        match &mut self.protocol {
            Protocol::Undecided => Answered {
                consumed_bytes: 0,
                replies: 0,
                end: AnswerEnd::NeedMore,
            },
            Protocol::Blink => self.answer_blink(input, ctx, budget, out, now_ms, conn),
            Protocol::Resp(session) => session.answer(
                &mut self.authenticated,
                input,
                ctx,
                budget,
                out,
                now_ms,
                conn,
            ),
        }
    }

    /// Appends an error the server sends on its own before closing (SPEC
    /// §7.3), in this session's protocol: a Blink frame unless RESP was
    /// chosen, then `-ERR message`.
    pub fn closing_error(
        &self,
        ctx: &mut Context,
        status: Status,
        message: &str,
        out: &mut Vec<u8>,
    ) {
        match self.protocol {
            Protocol::Resp(_) => {
                ctx.counters.count_error(status);
                out.extend_from_slice(b"-ERR ");
                out.extend_from_slice(message.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            Protocol::Undecided | Protocol::Blink => {
                command::error(ctx, status, message, out);
            }
        }
    }

    /// The binary protocol's answer loop.
    fn answer_blink(
        &mut self,
        input: &[u8],
        ctx: &mut Context,
        budget: AnswerBudget,
        out: &mut Vec<u8>,
        now_ms: u64,
        conn: usize,
    ) -> Answered {
        let mut consumed_bytes = 0;
        let mut replies = 0;
        // Chosen once, and again only when AUTH changes them mid-batch.
        let mut limits = *self.limits(&ctx.limits);
        let mut out_limits = OutputLimits::new(budget.max_output_len, &limits);
        // Input bytes whose frames' lookups have been started.
        let mut hinted_bytes = 0;
        let end = loop {
            if replies >= budget.max_requests {
                break AnswerEnd::RequestsSpent;
            }
            let rest = &input[consumed_bytes..];
            let max_frames = budget.max_requests - replies;
            if consumed_bytes >= hinted_bytes && max_frames > 1 && holds_two_frames(rest) {
                hinted_bytes =
                    consumed_bytes + start_lookups(rest, &limits, &ctx.store, max_frames);
            }
            match protocol::decode_request_at(rest, &limits, self.blink_version) {
                Decoded::NeedMore => break AnswerEnd::NeedMore,
                Decoded::Request { request, frame_len } => {
                    if out.len() >= out_limits.wait_at(&request) {
                        break AnswerEnd::OutputFull;
                    }
                    replies += 1;
                    consumed_bytes += frame_len;
                    tracing::trace!(
                        conn,
                        command = request.opcode().name(),
                        key = %Escaped(request.key().unwrap_or_default()),
                        "request"
                    );
                    match command::execute(request, self.authenticated, ctx, now_ms, out) {
                        Outcome::Continue => {}
                        Outcome::Negotiated(version) => self.blink_version = version,
                        Outcome::Authenticated => {
                            self.authenticated = true;
                            limits = *self.limits(&ctx.limits);
                            out_limits = OutputLimits::new(budget.max_output_len, &limits);
                        }
                        // Only RESP's RESET drops authentication.
                        Outcome::Unauthenticated | Outcome::Close => break AnswerEnd::Close,
                    }
                }
                Decoded::Rejected { .. } | Decoded::Fatal(_) if out.len() >= out_limits.small => {
                    break AnswerEnd::OutputFull;
                }
                Decoded::Rejected { error, frame_len } => {
                    replies += 1;
                    consumed_bytes += frame_len;
                    command::error(ctx, error.status(), error.message(), out);
                }
                Decoded::Fatal(error) => {
                    tracing::debug!(conn, ?error, input = %Escaped(rest), "fatal protocol error");
                    command::error(ctx, error.status(), error.message(), out);
                    replies += 1;
                    break AnswerEnd::Close;
                }
            }
        };
        Answered {
            consumed_bytes,
            replies,
            end,
        }
    }
}

/// The output length at which a request must wait, per kind of reply, so
/// that a request runs only if its largest possible reply still fits the
/// output allowed. Computed once per call (and after AUTH), so each frame
/// costs one comparison. 0 means "never now": the reply cannot fit.
#[derive(Clone, Copy, Debug)]
struct OutputLimits {
    get: usize,
    scan: usize,
    stats: usize,
    small: usize,
}

impl OutputLimits {
    fn new(max_output_len: usize, limits: &Limits) -> OutputLimits {
        // A GET's value is no longer than the SET frame that carried it.
        let value_max_bytes = limits
            .max_value_bytes
            .min(limits.max_frame_bytes.saturating_sub(SET_FIELDS_BYTES));
        let get_reply_max_bytes = HEADER_BYTES + 1 + value_max_bytes as usize;
        // Every reply bound is at least 1 byte, so the + 1 cannot overflow.
        let wait_at = |reply_max_bytes: usize| {
            max_output_len
                .checked_sub(reply_max_bytes)
                .map_or(0, |len| len + 1)
        };
        OutputLimits {
            get: wait_at(get_reply_max_bytes),
            // SCAN fills its reply up to the frame limit (SPEC §5.2).
            scan: wait_at(HEADER_BYTES + limits.max_frame_bytes as usize),
            stats: wait_at(STATS_REPLY_MAX_BYTES),
            small: wait_at(SMALL_REPLY_MAX_BYTES),
        }
    }

    /// The output length at which `request` must wait.
    fn wait_at(&self, request: &Request<'_>) -> usize {
        match request {
            Request::Get { .. } => self.get,
            Request::Scan { .. } => self.scan,
            Request::Stats => self.stats,
            _ => self.small,
        }
    }
}

/// Complete frames whose lookups are started together, ahead of their
/// execution (docs/performance-notes.md, "Batch prefetch", has the sizes
/// tried).
const LOOKAHEAD_FRAMES: usize = 8;

/// Whether `input` holds more than one frame's bytes, judged from the first
/// header alone: a lone lookup gains nothing from a hint issued just before
/// it, so pipeline 1 pays only this test.
#[inline(always)]
fn holds_two_frames(input: &[u8]) -> bool {
    input.first_chunk::<HEADER_BYTES>().is_some_and(|header| {
        let first_frame_bytes = HEADER_BYTES.saturating_add(u32::from_be_bytes(*header) as usize);
        input.len() > first_frame_bytes.saturating_add(HEADER_BYTES)
    })
}

/// Starts the lookups of the keys of up to `max_frames` (and at most
/// [`LOOKAHEAD_FRAMES`]) complete frames at the front of `input`: every
/// index chunk, then every record. Returns the bytes of the frames looked
/// at. Out of line, so the answer loop's own code stays as it was.
#[inline(never)]
fn start_lookups(input: &[u8], limits: &Limits, store: &Store, max_frames: usize) -> usize {
    let mut hashes = [KeyHash::default(); LOOKAHEAD_FRAMES];
    let (mut frames, mut keyed, mut offset) = (0, 0, 0);
    while frames < max_frames.min(LOOKAHEAD_FRAMES) {
        let Some((key, frame_len)) = protocol::peek_key(&input[offset..], limits) else {
            break;
        };
        if let Some(key) = key {
            let hash = store.key_hash(key);
            store.prefetch_index(hash);
            hashes[keyed] = hash;
            keyed += 1;
        }
        frames += 1;
        offset += frame_len;
    }
    for &hash in &hashes[..keyed] {
        store.prefetch_record(hash);
    }
    offset
}

/// Payload bytes of a SET besides key and value: opcode, `ttl_ms`, `key_len`.
const SET_FIELDS_BYTES: u32 = 1 + 8 + 2;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;
    use crate::protocol::encode_request;

    fn frames(requests: &[Request<'_>]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for request in requests {
            encode_request(request, &mut bytes);
        }
        bytes
    }

    fn run(input: &[u8], token: Option<Secret>, budget: AnswerBudget) -> (Answered, Vec<u8>, bool) {
        let mut ctx = Context::for_tests(1 << 20, Limits::DEFAULT, token);
        let mut session = Session::new(ctx.auth_token.is_none());
        let mut out = Vec::new();
        let answered = session.answer(input, &mut ctx, budget, &mut out, 0, 0);
        (answered, out, session.is_authenticated())
    }

    const UNBOUNDED: AnswerBudget = AnswerBudget {
        max_requests: usize::MAX,
        max_output_len: usize::MAX,
    };

    #[test]
    fn stops_at_the_request_budget_with_whole_frames_consumed() {
        let input = frames(&[Request::Ping, Request::Ping, Request::Ping]);
        let budget = AnswerBudget {
            max_requests: 2,
            ..UNBOUNDED
        };
        let (answered, out, _) = run(&input, None, budget);
        assert_eq!(
            answered,
            Answered {
                consumed_bytes: 10,
                replies: 2,
                end: AnswerEnd::RequestsSpent
            }
        );
        assert_eq!(out.len(), 10);
    }

    #[test]
    fn stops_at_a_partial_frame() {
        let input = frames(&[Request::Ping, Request::Ping]);
        let (answered, _, _) = run(&input[..7], None, UNBOUNDED);
        assert_eq!(
            answered,
            Answered {
                consumed_bytes: 5,
                replies: 1,
                end: AnswerEnd::NeedMore
            }
        );
    }

    #[test]
    fn a_request_runs_only_if_its_largest_reply_fits() {
        let input = frames(&[Request::Ping, Request::Get { key: b"k" }]);
        let budget = AnswerBudget {
            max_output_len: SMALL_REPLY_MAX_BYTES,
            ..UNBOUNDED
        };
        let (answered, out, _) = run(&input, None, budget);
        assert_eq!(
            answered,
            Answered {
                consumed_bytes: 5,
                replies: 1,
                end: AnswerEnd::OutputFull
            },
            "a GET might return a whole frame's value: it waits"
        );
        assert_eq!(out.len(), 5);
        let get_max_bytes = HEADER_BYTES + 1 + Limits::DEFAULT.max_value_bytes as usize;
        let budget = AnswerBudget {
            max_output_len: 5 + get_max_bytes,
            ..UNBOUNDED
        };
        assert_eq!(run(&input, None, budget).0.end, AnswerEnd::NeedMore);
    }

    #[test]
    fn a_pipelined_auth_lifts_the_pre_auth_frame_limit_for_the_next_frame() {
        let value = vec![0u8; 10_000];
        let input = frames(&[
            Request::Auth { token: b"t" },
            Request::Set {
                key: b"k",
                value: &value,
                ttl_ms: 0,
            },
        ]);
        let token = Secret::new(b"t".to_vec());
        let (answered, out, authenticated) = run(&input, Some(token), UNBOUNDED);
        assert_eq!(answered.end, AnswerEnd::NeedMore);
        assert_eq!(answered.consumed_bytes, input.len());
        assert!(authenticated);
        assert_eq!(out, [0, 0, 0, 1, 0, 0, 0, 0, 1, 0]);
    }

    #[test]
    fn a_fatal_frame_gets_its_reply_after_the_earlier_ones() {
        let mut input = frames(&[Request::Ping]);
        input.extend_from_slice(&[0, 0, 0, 0]);
        let (answered, out, _) = run(&input, None, UNBOUNDED);
        assert_eq!(
            answered,
            Answered {
                consumed_bytes: 5,
                replies: 2,
                end: AnswerEnd::Close
            }
        );
        assert_eq!(out[9], Status::Malformed as u8);
    }

    #[test]
    fn a_stats_reply_fits_its_bound() {
        let input = frames(&[Request::Stats]);
        let (answered, out, _) = run(&input, None, UNBOUNDED);
        assert_eq!(answered.replies, 1);
        assert!(out.len() <= STATS_REPLY_MAX_BYTES, "{} bytes", out.len());
    }

    #[test]
    fn reads_in_a_batch_see_the_writes_before_them() {
        let big = vec![b'x'; 3_000];
        let input = frames(&[
            Request::Set {
                key: b"k",
                value: b"one",
                ttl_ms: 0,
            },
            Request::Get { key: b"k" },
            // A value of another size class: the record moves.
            Request::Set {
                key: b"k",
                value: &big,
                ttl_ms: 0,
            },
            Request::Get { key: b"k" },
            Request::Del { key: b"k" },
            Request::Get { key: b"k" },
            Request::Ttl { key: b"k" },
        ]);
        let (answered, out, _) = run(&input, None, UNBOUNDED);
        assert_eq!(answered.replies, 7);
        let mut expected = Vec::new();
        for (status, body) in [
            (Status::Ok, &b""[..]),
            (Status::Ok, b"one"),
            (Status::Ok, b""),
            (Status::Ok, &big),
            (Status::Ok, b""),
            (Status::NotFound, b""),
            (Status::NotFound, b""),
        ] {
            protocol::encode_reply(status, body, &mut expected);
        }
        assert_eq!(out, expected);
    }

    /// A batch of frames answered in one call, with its lookups started
    /// ahead, against the same frames answered one call each (a lone frame
    /// gets no hints).
    mod batch_order {
        use proptest::collection::vec;
        use proptest::prelude::*;

        use super::*;

        /// Few keys, so reads and writes of the same key mix in a batch.
        const KEYS: [&[u8]; 5] = [b"a", b"b", b"key:000000000001", b"key:000000000002", b"c"];

        #[derive(Clone, Debug)]
        enum Op {
            Set(usize, usize, u64),
            Get(usize),
            Del(usize),
            Expire(usize, u64),
            Ttl(usize),
        }

        fn op() -> impl Strategy<Value = Op> {
            let key = 0..KEYS.len();
            prop_oneof![
                3 => (key.clone(), 0usize..300, prop_oneof![Just(0u64), 1u64..5]).prop_map(|(k, v, t)| Op::Set(k, v, t)),
                4 => key.clone().prop_map(Op::Get),
                1 => key.clone().prop_map(Op::Del),
                1 => (key.clone(), 0u64..5).prop_map(|(k, t)| Op::Expire(k, t)),
                1 => key.prop_map(Op::Ttl),
            ]
        }

        fn encode(op: &Op, out: &mut Vec<u8>) {
            let value = vec![b'v'; 300];
            let request = match *op {
                Op::Set(k, len, ttl_ms) => Request::Set {
                    key: KEYS[k],
                    value: &value[..len],
                    ttl_ms,
                },
                Op::Get(k) => Request::Get { key: KEYS[k] },
                Op::Del(k) => Request::Del { key: KEYS[k] },
                Op::Expire(k, ttl_ms) => Request::Expire {
                    key: KEYS[k],
                    ttl_ms,
                },
                Op::Ttl(k) => Request::Ttl { key: KEYS[k] },
            };
            encode_request(&request, out);
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1_000))]

            #[test]
            fn a_batch_answers_as_its_frames_one_at_a_time(
                ops in vec(op(), 1..=64),
                // Small caps evict within a batch, so hints go stale.
                cap_bytes in prop_oneof![Just(1u64 << 20), 400u64..2_000],
                now_ms in 0u64..8,
            ) {
                let mut batch_ctx = Context::for_tests(cap_bytes, Limits::DEFAULT, None);
                let mut one_ctx = Context::for_tests(cap_bytes, Limits::DEFAULT, None);
                let (mut batch, mut one) = (Session::new(true), Session::new(true));
                let mut wire = Vec::new();
                let mut one_out = Vec::new();
                for op in &ops {
                    let mut frame = Vec::new();
                    encode(op, &mut frame);
                    let answered = one.answer(&frame, &mut one_ctx, UNBOUNDED, &mut one_out, now_ms, 0);
                    prop_assert_eq!(answered.consumed_bytes, frame.len());
                    wire.extend_from_slice(&frame);
                }
                let mut batch_out = Vec::new();
                let answered = batch.answer(&wire, &mut batch_ctx, UNBOUNDED, &mut batch_out, now_ms, 0);
                prop_assert_eq!(
                    answered,
                    Answered { consumed_bytes: wire.len(), replies: ops.len(), end: AnswerEnd::NeedMore }
                );
                prop_assert_eq!(batch_out, one_out);
                prop_assert_eq!(batch_ctx.store.stats(), one_ctx.store.stats());
                batch_ctx.store.check_invariants();
            }
        }
    }
}
