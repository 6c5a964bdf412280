//! The RESP answer loop: decode each complete command at the front of the
//! input, run it through [`command::resp::execute`], append its reply;
//! stop on a partial command, a spent budget, a full output or a close.
//! The same budgets as the binary protocol's loop, and the same limits:
//! the Blink frame limit bounds a whole RESP request (pre-auth included).

use super::{AnswerBudget, AnswerEnd, Answered};
use crate::command::resp::{self, Call, NoRoom, ReplyMax, RespClient, SMALL_REPLY_MAX_BYTES};
use crate::command::{Context, Outcome};
use crate::logging::Escaped;
use crate::protocol::resp::{BULK_FRAMING_MAX_BYTES, Decoded, Reply, RespLimits, decode_command};

/// A RESP connection's state: its client fields and the buffer inline
/// commands are unescaped into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RespSession {
    client: RespClient,
    scratch: Vec<u8>,
}

impl RespSession {
    /// A session for the next client id.
    pub fn new(ctx: &mut Context) -> RespSession {
        let id = ctx.next_client_id;
        ctx.next_client_id += 1;
        RespSession {
            client: RespClient::new(id),
            scratch: Vec::new(),
        }
    }

    /// Answers the complete commands at the front of `input` (see
    /// [`super::Session::answer`], whose arguments these are, with its
    /// authentication flag).
    #[allow(clippy::too_many_arguments)]
    pub fn answer(
        &mut self,
        authenticated: &mut bool,
        input: &[u8],
        ctx: &mut Context,
        budget: AnswerBudget,
        out: &mut Vec<u8>,
        now_ms: u64,
        conn: usize,
    ) -> Answered {
        let mut consumed_bytes = 0;
        let mut replies = 0;
        let mut bounds = Bounds::new(ctx, *authenticated);
        let end = loop {
            if replies >= budget.max_requests {
                break AnswerEnd::RequestsSpent;
            }
            let rest = &input[consumed_bytes..];
            let (args, len) = match decode_command(rest, &bounds.limits, &mut self.scratch) {
                Decoded::NeedMore => break AnswerEnd::NeedMore,
                Decoded::Empty { len } => {
                    consumed_bytes += len;
                    continue;
                }
                Decoded::Command { args, len } => (args, len),
                Decoded::Fatal(_) if out.len() + SMALL_REPLY_MAX_BYTES > budget.max_output_len => {
                    break AnswerEnd::OutputFull;
                }
                Decoded::Fatal(error) => {
                    tracing::debug!(conn, %error, input = %Escaped(rest), "RESP protocol error");
                    Reply {
                        version: self.client.version,
                        out,
                    }
                    .error_fmt(format_args!("ERR {error}"));
                    replies += 1;
                    break AnswerEnd::Close;
                }
            };
            let name = args.clone().next().unwrap_or_default();
            let spec = resp::lookup(name);
            let reply_max_bytes = match spec.map(|spec| spec.reply) {
                Some(ReplyMax::Value) => bounds.value_reply_max_bytes,
                Some(ReplyMax::Request) => len + BULK_FRAMING_MAX_BYTES,
                _ => SMALL_REPLY_MAX_BYTES,
            };
            if out.len() + reply_max_bytes > budget.max_output_len {
                break AnswerEnd::OutputFull;
            }
            tracing::trace!(conn, command = %Escaped(name), "RESP request");
            let out_len_before = out.len();
            let room_bytes = budget.max_output_len - out.len();
            let version = self.client.version;
            let mut call = Call {
                ctx,
                client: &mut self.client,
                authenticated: *authenticated,
                now_ms,
                reply: Reply { version, out },
                room_bytes,
            };
            let outcome = match resp::execute(&mut call, spec, args, &rest[..len]) {
                Ok(outcome) => outcome,
                Err(NoRoom) if out_len_before > 0 => break AnswerEnd::OutputFull,
                Err(NoRoom) => {
                    call.reply
                        .error("ERR the reply would exceed the connection's output limit");
                    Outcome::Continue
                }
            };
            consumed_bytes += len;
            // Every reply has bytes; only the silent close of an HTTP request has none.
            replies += usize::from(out.len() > out_len_before);
            match outcome {
                // Only the binary protocol's HELLO negotiates a Blink version.
                Outcome::Continue | Outcome::Negotiated(_) => {}
                Outcome::Authenticated | Outcome::Unauthenticated => {
                    *authenticated = outcome == Outcome::Authenticated;
                    bounds = Bounds::new(ctx, *authenticated);
                }
                Outcome::Close => break AnswerEnd::Close,
            }
        };
        Answered {
            consumed_bytes,
            replies,
            end,
        }
    }
}

/// The decoding limits and reply bound of a session, chosen again only
/// when it authenticates or resets.
struct Bounds {
    limits: RespLimits,
    /// The largest one-value reply: a value no longer than a request.
    value_reply_max_bytes: usize,
}

impl Bounds {
    fn new(ctx: &Context, authenticated: bool) -> Bounds {
        let blink = if authenticated {
            &ctx.limits.authenticated
        } else {
            &ctx.limits.pre_auth
        };
        let limits = RespLimits::new(blink, authenticated);
        let value_max_bytes = (blink.max_value_bytes as usize).min(limits.max_request_bytes);
        Bounds {
            limits,
            value_reply_max_bytes: value_max_bytes + BULK_FRAMING_MAX_BYTES,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::command::Context;
    use crate::config::Secret;
    use crate::protocol::Limits;
    use crate::session::{AnswerBudget, AnswerEnd, Answered, Session};

    const UNBOUNDED: AnswerBudget = AnswerBudget {
        max_requests: usize::MAX,
        max_output_len: usize::MAX,
    };

    fn run(input: &[u8], token: Option<&str>, budget: AnswerBudget) -> (Answered, String, bool) {
        let token = token.map(|t| Secret::new(t.as_bytes().to_vec()));
        let mut ctx = Context::for_tests(1 << 20, Limits::DEFAULT, token);
        let mut session = Session::new(ctx.auth_token.is_none());
        let mut out = Vec::new();
        let answered = session.answer(input, &mut ctx, budget, &mut out, 0, 0);
        let out = String::from_utf8_lossy(&out).into_owned();
        (answered, out, session.is_authenticated())
    }

    #[test]
    fn the_first_byte_chooses_resp_and_empty_requests_get_no_reply() {
        let (answered, out, _) = run(b"*0\r\n\r\nPING\r\n*1\r\n$4\r\nPING\r\n", None, UNBOUNDED);
        assert_eq!(out, "+PONG\r\n+PONG\r\n");
        assert_eq!(
            answered,
            Answered {
                consumed_bytes: 26,
                replies: 2,
                end: AnswerEnd::NeedMore
            }
        );
    }

    #[test]
    fn a_line_of_nul_bytes_is_an_empty_request() {
        let (answered, out, _) = run(b"PING\r\n\0\0\n\0PING\r\nPING\r\n", None, UNBOUNDED);
        assert_eq!(out, "+PONG\r\n+PONG\r\n");
        assert_eq!(
            (answered.consumed_bytes, answered.end),
            (22, AnswerEnd::NeedMore)
        );
    }

    #[test]
    fn a_partial_command_waits_and_consumes_nothing() {
        let (answered, out, _) = run(b"*2\r\n$3\r\nGET\r\n$1\r", None, UNBOUNDED);
        assert_eq!(
            (answered.consumed_bytes, answered.end, out.as_str()),
            (0, AnswerEnd::NeedMore, "")
        );
    }

    #[test]
    fn budgets_stop_between_commands() {
        let input = b"PING\r\nPING\r\nPING\r\n";
        let budget = AnswerBudget {
            max_requests: 2,
            ..UNBOUNDED
        };
        let (answered, _, _) = run(input, None, budget);
        assert_eq!(
            (answered.replies, answered.consumed_bytes, answered.end),
            (2, 12, AnswerEnd::RequestsSpent)
        );
        // A GET may return a whole value: it waits for room.
        let budget = AnswerBudget {
            max_output_len: 100,
            ..UNBOUNDED
        };
        let (answered, out, _) = run(b"PING\r\nGET k\r\n", None, budget);
        assert_eq!(
            (answered.end, out.as_str()),
            (AnswerEnd::OutputFull, "+PONG\r\n")
        );
    }

    #[test]
    fn a_pipelined_auth_lifts_the_pre_auth_limits_for_what_follows() {
        let value = "v".repeat(5_000);
        let input = format!(
            "AUTH t\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${}\r\n{value}\r\n",
            value.len()
        );
        let (answered, out, authenticated) = run(input.as_bytes(), Some("t"), UNBOUNDED);
        assert_eq!(out, "+OK\r\n+OK\r\n");
        assert!(authenticated);
        assert_eq!(answered.consumed_bytes, input.len());
        // Without it, the same SET breaks the pre-auth request limit.
        let (answered, out, _) = run(&input.as_bytes()[8..], Some("t"), UNBOUNDED);
        assert_eq!(answered.end, AnswerEnd::Close);
        assert_eq!(out, "-ERR Protocol error: unauthenticated bulk length\r\n");
    }

    #[test]
    fn a_protocol_error_is_answered_after_the_earlier_replies_then_closes() {
        let (answered, out, _) = run(b"PING\r\n*1\r\n$x\r\nPING\r\n", None, UNBOUNDED);
        assert_eq!(out, "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n");
        assert_eq!(
            (answered.replies, answered.consumed_bytes, answered.end),
            (2, 6, AnswerEnd::Close)
        );
    }

    #[test]
    fn an_http_request_closes_without_a_reply() {
        let (answered, out, _) = run(b"POST / HTTP/1.1\r\nHost: x\r\n\r\n", None, UNBOUNDED);
        assert_eq!(
            (answered.replies, answered.end, out.as_str()),
            (0, AnswerEnd::Close, "")
        );
    }

    #[test]
    fn quit_replies_then_closes() {
        let (answered, out, _) = run(b"QUIT\r\nPING\r\n", None, UNBOUNDED);
        assert_eq!(
            (answered.replies, answered.end, out.as_str()),
            (1, AnswerEnd::Close, "+OK\r\n")
        );
    }
}
