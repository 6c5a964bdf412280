//! The floor's RESP codec: every complete command is decoded with the
//! server's own RESP decoder (`blink_store::protocol::resp`, the default
//! limits) and answered with a canned reply of the shape Blink-Store would
//! send, without touching any state.
//!
//! | request | reply |
//! |---|---|
//! | GET (any case) | a bulk string of `--value-size` bytes |
//! | any other command | `+OK` |
//! | an empty request (`*0`, a blank line) | nothing |
//! | a protocol error | `-ERR Protocol error: ...`, then the connection closes |

use blink_store::protocol::Limits;
use blink_store::protocol::resp::{Decoded, RespLimits, decode_command};

use crate::{Answered, Codec};

/// Canned replies for RESP.
#[derive(Debug)]
pub struct Resp {
    /// A whole GET reply: `$<n>\r\n`, the value, `\r\n`.
    get_reply: Vec<u8>,
    limits: RespLimits,
}

impl Resp {
    /// Canned replies whose GET value is `value_bytes` long.
    pub fn new(value_bytes: usize) -> Resp {
        let mut get_reply = format!("${value_bytes}\r\n").into_bytes();
        get_reply.resize(get_reply.len() + value_bytes, b'v');
        get_reply.extend_from_slice(b"\r\n");
        Resp {
            get_reply,
            limits: RespLimits::new(&Limits::DEFAULT, true),
        }
    }
}

impl Codec for Resp {
    fn answer(&self, input: &[u8], out: &mut Vec<u8>) -> Answered {
        let mut consumed_bytes = 0;
        // Only inline commands use it; a benchmark sends none.
        let mut scratch = Vec::new();
        loop {
            let rest = &input[consumed_bytes..];
            match decode_command(rest, &self.limits, &mut scratch) {
                Decoded::NeedMore => break,
                Decoded::Empty { len } => consumed_bytes += len,
                Decoded::Command { mut args, len } => {
                    consumed_bytes += len;
                    let is_get = args
                        .next()
                        .is_some_and(|name| name.eq_ignore_ascii_case(b"GET"));
                    let reply: &[u8] = if is_get { &self.get_reply } else { b"+OK\r\n" };
                    out.extend_from_slice(reply);
                }
                Decoded::Fatal(error) => {
                    out.extend_from_slice(format!("-ERR {error}\r\n").as_bytes());
                    return Answered {
                        consumed_bytes,
                        close: true,
                    };
                }
            }
        }
        Answered {
            consumed_bytes,
            close: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pipeline_gets_one_canned_reply_per_command_and_leaves_a_partial_one() {
        let complete =
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nget\r\n$1\r\nk\r\n*0\r\n";
        let mut input = complete.to_vec();
        input.extend_from_slice(b"*2\r\n$3\r\nGET\r\n$1");
        let mut out = Vec::new();
        let answered = Resp::new(3).answer(&input, &mut out);
        assert_eq!(
            answered,
            Answered {
                consumed_bytes: complete.len(),
                close: false
            }
        );
        assert_eq!(out, b"+OK\r\n$3\r\nvvv\r\n");
    }

    #[test]
    fn a_protocol_error_is_answered_then_closes() {
        let mut out = Vec::new();
        let answered = Resp::new(0).answer(b"PING\r\n*x\r\n", &mut out);
        assert_eq!(
            answered,
            Answered {
                consumed_bytes: 6,
                close: true
            }
        );
        assert_eq!(
            out,
            b"+OK\r\n-ERR Protocol error: invalid multibulk length\r\n"
        );
    }
}
