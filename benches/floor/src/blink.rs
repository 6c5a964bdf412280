//! The floor's Blink codec: every complete frame is decoded with the
//! server's own decoder (`blink_store::protocol::decode_request`, the same
//! limits as a default server) and answered with a canned reply of the
//! shape Blink-Store would send, without touching any state.
//!
//! | request | reply |
//! |---|---|
//! | GET | OK with a value of `--value-size` bytes (the same bytes every time) |
//! | any other valid request | an empty OK (SET's, DEL's and PING's reply) |
//! | a rejected frame | the error Blink-Store sends (unknown command, key or value too large) |
//! | a fatal frame | the error, then the connection closes |

use blink_store::protocol::{Decoded, Limits, Request, Status, decode_request, encode_reply};

use crate::{Answered, Codec};

/// Canned replies for the Blink protocol.
#[derive(Debug)]
pub struct Blink {
    /// A whole GET reply frame: header, OK, the value.
    get_reply: Vec<u8>,
    /// A whole empty OK frame.
    ok_reply: Vec<u8>,
    limits: Limits,
}

impl Blink {
    /// Canned replies whose GET value is `value_bytes` long.
    pub fn new(value_bytes: usize) -> Blink {
        let mut get_reply = Vec::new();
        encode_reply(Status::Ok, &vec![b'v'; value_bytes], &mut get_reply);
        let mut ok_reply = Vec::new();
        encode_reply(Status::Ok, &[], &mut ok_reply);
        Blink {
            get_reply,
            ok_reply,
            limits: Limits::DEFAULT,
        }
    }
}

impl Codec for Blink {
    fn answer(&self, input: &[u8], out: &mut Vec<u8>) -> Answered {
        let mut consumed_bytes = 0;
        loop {
            let rest = &input[consumed_bytes..];
            match decode_request(rest, &self.limits) {
                Decoded::NeedMore => break,
                Decoded::Request { request, frame_len } => {
                    consumed_bytes += frame_len;
                    let reply = match request {
                        Request::Get { .. } => &self.get_reply,
                        _ => &self.ok_reply,
                    };
                    out.extend_from_slice(reply);
                }
                Decoded::Rejected { error, frame_len } => {
                    consumed_bytes += frame_len;
                    encode_reply(error.status(), error.message().as_bytes(), out);
                }
                Decoded::Fatal(error) => {
                    encode_reply(error.status(), error.message().as_bytes(), out);
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
    use blink_store::protocol::{DecodedReply, decode_reply, encode_request};

    use super::*;

    /// Every reply in `out`, as (status, body length).
    fn replies(mut out: &[u8]) -> Vec<(u8, usize)> {
        let mut found = Vec::new();
        while let DecodedReply::Reply {
            status,
            body,
            frame_len,
        } = decode_reply(out, u32::MAX)
        {
            found.push((status, body.len()));
            out = &out[frame_len..];
        }
        assert!(out.is_empty(), "trailing bytes {out:?}");
        found
    }

    #[test]
    fn a_pipeline_gets_one_canned_reply_per_frame_and_leaves_a_partial_one() {
        let mut input = Vec::new();
        let set = Request::Set {
            key: b"k",
            value: b"abc",
            ttl_ms: 0,
        };
        encode_request(&set, &mut input);
        encode_request(&Request::Get { key: b"k" }, &mut input);
        encode_request(&Request::Get { key: b"other" }, &mut input);
        let complete_bytes = input.len();
        encode_request(&Request::Get { key: b"late" }, &mut input);
        input.truncate(input.len() - 2);
        let mut out = Vec::new();
        let answered = Blink::new(100).answer(&input, &mut out);
        assert_eq!(
            answered,
            Answered {
                consumed_bytes: complete_bytes,
                close: false
            }
        );
        assert_eq!(replies(&out), [(0, 0), (0, 100), (0, 100)]);
    }

    #[test]
    fn a_fatal_frame_is_answered_then_closes() {
        let mut input = Vec::new();
        encode_request(&Request::Ping, &mut input);
        input.extend_from_slice(b"*1\r\n");
        let mut out = Vec::new();
        let answered = Blink::new(0).answer(&input, &mut out);
        assert_eq!(
            answered,
            Answered {
                consumed_bytes: 5,
                close: true
            }
        );
        assert_eq!(replies(&out), [(0, 0), (Status::Malformed as u8, 15)]);
    }
}
