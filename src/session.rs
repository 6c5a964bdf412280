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
//! No sockets here: the connection calls this between a read and a write,
//! and the `session` fuzz target drives it with arbitrary byte streams. A
//! second protocol (RESP) gets its own answer loop over its own decoder,
//! calling the same [`command::execute`].

mod resp;

use crate::command::{self, Context, Outcome};
use crate::logging::Escaped;
use crate::protocol::{
    self, Decoded, Detected, HEADER_BYTES, Limits, PRE_AUTH_MAX_FRAME_BYTES, Request, Status,
};

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
        let end = loop {
            if replies >= budget.max_requests {
                break AnswerEnd::RequestsSpent;
            }
            let rest = &input[consumed_bytes..];
            match protocol::decode_request(rest, &limits) {
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
            stats: wait_at(STATS_REPLY_MAX_BYTES),
            small: wait_at(SMALL_REPLY_MAX_BYTES),
        }
    }

    /// The output length at which `request` must wait.
    fn wait_at(&self, request: &Request<'_>) -> usize {
        match request {
            Request::Get { .. } => self.get,
            Request::Stats => self.stats,
            _ => self.small,
        }
    }
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
}
