//! The RESP answer loop: decode each complete command at the front of the
//! input, run it through [`command::resp::execute`], append its reply;
//! stop on a partial command, a spent budget, a full output or a close.
//! The same budgets as the binary protocol's loop, and the same limits:
//! the Blink frame limit bounds a whole RESP request (pre-auth included).
//!
//! As the binary loop does, an authenticated session that has several
//! multibulk commands waiting decodes up to [`LOOKAHEAD_COMMANDS`] of them
//! at once ([`Ahead`]), starts their keys' lookups together
//! (`store/prefetch.rs`), then runs them strictly in order from what was
//! decoded: each command is decoded and looked up once.

use super::{AnswerBudget, AnswerEnd, Answered};
use crate::command::resp::{self, Call, NoRoom, ReplyMax, RespClient, SMALL_REPLY_MAX_BYTES, Spec};
use crate::command::{Context, Outcome};
use crate::logging::Escaped;
use crate::protocol::resp::{
    Args, BULK_FRAMING_MAX_BYTES, Decoded, Reply, RespLimits, decode_command, decode_multibulk,
};
use crate::store::{KeyHash, Store};

/// Commands decoded ahead and whose lookups start together (the binary
/// loop's `LOOKAHEAD_FRAMES`).
const LOOKAHEAD_COMMANDS: usize = 8;

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
        let mut ahead = Ahead::default();
        let end = loop {
            if replies >= budget.max_requests {
                break AnswerEnd::RequestsSpent;
            }
            let rest = &input[consumed_bytes..];
            let max_commands = budget.max_requests - replies;
            // Decoded ahead only under the limits of an authenticated
            // session, which no command of the batch can loosen.
            if ahead.is_empty() && *authenticated && max_commands > 1 {
                ahead.decode(rest, &bounds.limits, &ctx.store, max_commands);
            }
            let command = match ahead.pop() {
                Some(command) => command,
                None => match decode_command(rest, &bounds.limits, &mut self.scratch) {
                    Decoded::NeedMore => break AnswerEnd::NeedMore,
                    Decoded::Empty { len } => {
                        consumed_bytes += len;
                        continue;
                    }
                    Decoded::Command { args, len } => Command::new(args, len),
                    Decoded::Fatal(_)
                        if out.len() + SMALL_REPLY_MAX_BYTES > budget.max_output_len =>
                    {
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
                },
            };
            let reply_max_bytes = match command.spec.map(|spec| spec.reply) {
                Some(ReplyMax::Value) => bounds.value_reply_max_bytes,
                Some(ReplyMax::Request) => command.len + BULK_FRAMING_MAX_BYTES,
                _ => SMALL_REPLY_MAX_BYTES,
            };
            if out.len() + reply_max_bytes > budget.max_output_len {
                break AnswerEnd::OutputFull;
            }
            tracing::trace!(conn, command = %Escaped(command.name), "RESP request");
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
            let request = &rest[..command.len];
            let outcome =
                match resp::execute(&mut call, command.spec, command.name, command.args, request) {
                    Ok(outcome) => outcome,
                    Err(NoRoom) if out_len_before > 0 => break AnswerEnd::OutputFull,
                    Err(NoRoom) => {
                        call.reply
                            .error("ERR the reply would exceed the connection's output limit");
                        Outcome::Continue
                    }
                };
            consumed_bytes += command.len;
            // Every reply has bytes; only the silent close of an HTTP request has none.
            replies += usize::from(out.len() > out_len_before);
            match outcome {
                // Only the binary protocol's HELLO negotiates a Blink version.
                Outcome::Continue | Outcome::Negotiated(_) => {}
                Outcome::Authenticated | Outcome::Unauthenticated => {
                    *authenticated = outcome == Outcome::Authenticated;
                    bounds = Bounds::new(ctx, *authenticated);
                    // Decoded under the old limits: decode them again.
                    ahead = Ahead::default();
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

/// One decoded command: its name, the arguments after it, its spec
/// (`None`: unknown) and the bytes it takes.
struct Command<'a> {
    name: &'a [u8],
    args: Args<'a>,
    spec: Option<&'static Spec>,
    len: usize,
}

impl<'a> Command<'a> {
    fn new(mut args: Args<'a>, len: usize) -> Command<'a> {
        // The decoder never yields a command without a name.
        let name = args.next().unwrap_or_default();
        Command {
            name,
            args,
            spec: resp::lookup(name),
            len,
        }
    }

    /// The key whose lookup to start: the first argument of a command
    /// counted as a keyed binary-protocol one (GET, SET, DEL, ...).
    fn key(&self) -> Option<&'a [u8]> {
        let spec = self.spec?;
        if spec.counts_as.is_some_and(|opcode| opcode.takes_key()) {
            self.args.clone().next()
        } else {
            None
        }
    }
}

/// Multibulk commands decoded ahead of their turn, in input order, the
/// next first.
#[derive(Default)]
struct Ahead<'a> {
    commands: [Option<Command<'a>>; LOOKAHEAD_COMMANDS],
    next: usize,
    count: usize,
}

impl<'a> Ahead<'a> {
    fn is_empty(&self) -> bool {
        self.next == self.count
    }

    /// Decodes up to `max_commands` (at most [`LOOKAHEAD_COMMANDS`])
    /// complete multibulk commands at the front of `input`, stopping at
    /// anything else, which the loop then decodes alone; when there are at
    /// least two, starts their keys' index chunks, then their records,
    /// loading. The hints change nothing.
    fn decode(&mut self, input: &'a [u8], limits: &RespLimits, store: &Store, max_commands: usize) {
        let mut offset = 0;
        self.next = 0;
        self.count = 0;
        while self.count < max_commands.min(LOOKAHEAD_COMMANDS) {
            let Some(Decoded::Command { args, len }) = decode_multibulk(&input[offset..], limits)
            else {
                break;
            };
            offset += len;
            self.commands[self.count] = Some(Command::new(args, len));
            self.count += 1;
        }
        if self.count < 2 {
            return;
        }
        let mut hashes = [KeyHash::default(); LOOKAHEAD_COMMANDS];
        let mut keyed = 0;
        for command in self.commands[..self.count].iter().flatten() {
            if let Some(key) = command.key() {
                hashes[keyed] = store.key_hash(key);
                store.prefetch_index(hashes[keyed]);
                keyed += 1;
            }
        }
        for &hash in &hashes[..keyed] {
            store.prefetch_record(hash);
        }
    }

    fn pop(&mut self) -> Option<Command<'a>> {
        if self.is_empty() {
            return None;
        }
        self.next += 1;
        self.commands[self.next - 1].take()
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

    /// Commands decoded ahead and answered in one call, with their lookups
    /// started together, against the same commands answered one call each.
    mod batch_order {
        use proptest::collection::vec;
        use proptest::prelude::*;

        use super::*;
        use crate::protocol::resp::encode_command as command;

        const KEYS: [&str; 4] = ["a", "b", "key:000000000001", "n"];

        #[derive(Clone, Debug)]
        enum Op {
            Set(usize, usize),
            Get(usize),
            Del(usize),
            Incr(usize),
            Append(usize),
            Exists(usize),
            /// `RESET` then `AUTH`: limits change mid-batch.
            Reauth,
            Inline(usize),
        }

        fn op() -> impl Strategy<Value = Op> {
            let key = 0..KEYS.len();
            prop_oneof![
                3 => (key.clone(), 0usize..300).prop_map(|(k, v)| Op::Set(k, v)),
                4 => key.clone().prop_map(Op::Get),
                1 => key.clone().prop_map(Op::Del),
                1 => key.clone().prop_map(Op::Incr),
                1 => key.clone().prop_map(Op::Append),
                1 => key.clone().prop_map(Op::Exists),
                1 => Just(Op::Reauth),
                1 => key.prop_map(Op::Inline),
            ]
        }

        fn encode(op: &Op) -> Vec<u8> {
            let value = vec![b'7'; 300];
            let key = |k: usize| KEYS[k].as_bytes();
            match *op {
                Op::Set(k, len) => command(&[b"SET", key(k), &value[..len]]),
                Op::Get(k) => command(&[b"GET", key(k)]),
                Op::Del(k) => command(&[b"DEL", key(k)]),
                Op::Incr(k) => command(&[b"INCR", key(k)]),
                Op::Append(k) => command(&[b"APPEND", key(k), b"1"]),
                Op::Exists(k) => command(&[b"EXISTS", key(k), b"a"]),
                Op::Reauth => [
                    command::<&[u8]>(&[b"RESET"]),
                    command::<&[u8]>(&[b"AUTH", b"t"]),
                ]
                .concat(),
                Op::Inline(k) => format!("GET {}\r\n", KEYS[k]).into_bytes(),
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(500))]

            #[test]
            fn a_batch_answers_as_its_commands_one_at_a_time(
                ops in vec(op(), 1..=40),
                cap_bytes in prop_oneof![Just(1u64 << 20), 400u64..2_000],
            ) {
                let token = || Some(Secret::new(b"t".to_vec()));
                let mut batch_ctx = Context::for_tests(cap_bytes, Limits::DEFAULT, token());
                let mut one_ctx = Context::for_tests(cap_bytes, Limits::DEFAULT, token());
                let (mut batch, mut one) = (Session::new(false), Session::new(false));
                let mut wire = command::<&[u8]>(&[b"AUTH", b"t"]);
                let mut one_out = Vec::new();
                one.answer(&wire, &mut one_ctx, UNBOUNDED, &mut one_out, 0, 0);
                for op in &ops {
                    let request = encode(op);
                    let mut at = 0;
                    while at < request.len() {
                        let single = AnswerBudget { max_requests: 1, ..UNBOUNDED };
                        let answered = one.answer(&request[at..], &mut one_ctx, single, &mut one_out, 0, 0);
                        prop_assert!(answered.consumed_bytes > 0);
                        at += answered.consumed_bytes;
                    }
                    wire.extend_from_slice(&request);
                }
                let mut batch_out = Vec::new();
                let answered = batch.answer(&wire, &mut batch_ctx, UNBOUNDED, &mut batch_out, 0, 0);
                prop_assert_eq!((answered.consumed_bytes, answered.end), (wire.len(), AnswerEnd::NeedMore));
                prop_assert_eq!(String::from_utf8_lossy(&batch_out), String::from_utf8_lossy(&one_out));
                prop_assert_eq!(batch_ctx.store.stats(), one_ctx.store.stats());
                batch_ctx.store.check_invariants();
            }
        }
    }
}
