//! Executes the complete frames at the front of a connection's input.
//!
//! Decode a frame in place, execute it, encode its reply, repeat: until the
//! input ends in a partial frame, the turn's request budget is spent, the
//! pending output reaches its cap, or a frame (or a failed AUTH) ends the
//! connection. Limits are chosen per frame, so an AUTH pipelined ahead of a
//! large SET lifts the pre-auth frame limit for the SET.
//!
//! No sockets here: the event loop calls this between a read and a write,
//! and the end-to-end fuzz target drives it with arbitrary byte streams.

use crate::command::{self, Context, Outcome};
use crate::logging::Escaped;
use crate::protocol::{self, Decoded, Limits};

/// What one batch may do.
#[derive(Clone, Copy, Debug)]
pub struct BatchBudget {
    /// Requests it may execute.
    pub max_requests: usize,
    /// Stop before executing a request once `out` is at least this long.
    pub max_output_len: usize,
}

/// Why a batch stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchEnd {
    /// Only a partial frame (or nothing) is left.
    NeedMore,
    /// The request budget is spent; complete frames may remain.
    BudgetSpent,
    /// The pending output reached its cap.
    Backpressure,
    /// The connection must close once the replies are written.
    Close,
}

/// What a batch did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Batch {
    /// Input bytes consumed (whole frames only).
    pub consumed_bytes: usize,
    /// Replies appended: one per executed or rejected frame, plus the final
    /// error of a frame that ends the connection.
    pub replies: usize,
    /// Why it stopped.
    pub end: BatchEnd,
}

/// Executes the complete frames at the front of `input`, appending one reply
/// per frame to `out`. `conn` only labels log lines.
pub fn execute(
    input: &[u8],
    authenticated: &mut bool,
    pre_auth_limits: &Limits,
    ctx: &mut Context<'_>,
    budget: BatchBudget,
    out: &mut Vec<u8>,
    conn: usize,
) -> Batch {
    let mut consumed_bytes = 0;
    let mut replies = 0;
    let end = loop {
        if replies >= budget.max_requests {
            break BatchEnd::BudgetSpent;
        }
        if out.len() >= budget.max_output_len {
            break BatchEnd::Backpressure;
        }
        let limits = if *authenticated {
            ctx.limits
        } else {
            pre_auth_limits
        };
        let rest = &input[consumed_bytes..];
        match protocol::decode_request(rest, limits) {
            Decoded::NeedMore => break BatchEnd::NeedMore,
            Decoded::Request { request, frame_len } => {
                replies += 1;
                consumed_bytes += frame_len;
                tracing::trace!(
                    conn,
                    command = request.opcode().name(),
                    key = %Escaped(request.key().unwrap_or_default()),
                    "request"
                );
                if command::execute(request, authenticated, ctx, out) == Outcome::Close {
                    break BatchEnd::Close;
                }
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
                break BatchEnd::Close;
            }
        }
    };
    Batch {
        consumed_bytes,
        replies,
        end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Gauges;
    use crate::config::Secret;
    use crate::protocol::{Request, Status, encode_request};
    use crate::stats::ServerCounters;
    use crate::store::Store;

    fn frames(requests: &[Request<'_>]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for request in requests {
            encode_request(request, &mut bytes);
        }
        bytes
    }

    fn run(input: &[u8], token: Option<&Secret>, budget: BatchBudget) -> (Batch, Vec<u8>, bool) {
        let mut store = Store::new(1 << 20);
        let mut counters = ServerCounters::default();
        let mut ctx = Context {
            store: &mut store,
            counters: &mut counters,
            limits: &Limits::DEFAULT,
            auth_token: token,
            gauges: Gauges::default(),
            now_ms: 0,
        };
        let mut authenticated = token.is_none();
        let mut out = Vec::new();
        let pre_auth = Limits::DEFAULT.pre_auth();
        let batch = execute(
            input,
            &mut authenticated,
            &pre_auth,
            &mut ctx,
            budget,
            &mut out,
            0,
        );
        (batch, out, authenticated)
    }

    const UNBOUNDED: BatchBudget = BatchBudget {
        max_requests: usize::MAX,
        max_output_len: usize::MAX,
    };

    #[test]
    fn stops_at_the_request_budget_with_whole_frames_consumed() {
        let input = frames(&[Request::Ping, Request::Ping, Request::Ping]);
        let budget = BatchBudget {
            max_requests: 2,
            ..UNBOUNDED
        };
        let (batch, out, _) = run(&input, None, budget);
        assert_eq!(
            batch,
            Batch {
                consumed_bytes: 10,
                replies: 2,
                end: BatchEnd::BudgetSpent
            }
        );
        assert_eq!(out.len(), 10);
    }

    #[test]
    fn stops_at_a_partial_frame_and_at_the_output_cap() {
        let input = frames(&[Request::Ping, Request::Ping]);
        let (batch, _, _) = run(&input[..7], None, UNBOUNDED);
        assert_eq!(
            batch,
            Batch {
                consumed_bytes: 5,
                replies: 1,
                end: BatchEnd::NeedMore
            }
        );
        let budget = BatchBudget {
            max_output_len: 1,
            ..UNBOUNDED
        };
        let (batch, _, _) = run(&input, None, budget);
        assert_eq!(
            batch,
            Batch {
                consumed_bytes: 5,
                replies: 1,
                end: BatchEnd::Backpressure
            }
        );
    }

    #[test]
    fn a_pipelined_auth_lifts_the_pre_auth_frame_limit_for_the_next_frame() {
        let token = Secret::new(b"t".to_vec());
        let value = vec![0u8; 10_000];
        let input = frames(&[
            Request::Auth { token: b"t" },
            Request::Set {
                key: b"k",
                value: &value,
                ttl_ms: 0,
            },
        ]);
        let (batch, out, authenticated) = run(&input, Some(&token), UNBOUNDED);
        assert_eq!(batch.end, BatchEnd::NeedMore);
        assert_eq!(batch.consumed_bytes, input.len());
        assert!(authenticated);
        assert_eq!(out, [0, 0, 0, 1, 0, 0, 0, 0, 1, 0]);
    }

    #[test]
    fn a_fatal_frame_gets_its_reply_after_the_earlier_ones() {
        let mut input = frames(&[Request::Ping]);
        input.extend_from_slice(&[0, 0, 0, 0]);
        let (batch, out, _) = run(&input, None, UNBOUNDED);
        assert_eq!(
            batch,
            Batch {
                consumed_bytes: 5,
                replies: 2,
                end: BatchEnd::Close
            }
        );
        assert_eq!(out[9], Status::Malformed as u8);
    }
}
