//! Blink-Store's binary protocol v1, through `blink_store::protocol`.
//!
//! ```text
//! request  len u32 BE | opcode u8 | fields ...    (GET 0x10, SET 0x11 with ttl_ms 0)
//! reply    len u32 BE | status u8 | body ...
//! ```
//! Encoding and framing are the server crate's own code, so the generator
//! cannot drift from the wire format. Status 0x00 OK is a hit or a stored
//! value, 0x01 NOT_FOUND a miss, anything else an error reply.

use blink_store::protocol::{DecodedReply, Limits, Request, Status, decode_reply, encode_request};

use super::{Adapter, Outcome, Parsed, ProtocolError};

/// The Blink adapter.
#[derive(Clone, Copy, Debug, Default)]
pub struct Blink;

/// Largest reply accepted: the protocol's ceiling, so whatever limits the
/// server was started with, its replies parse.
const REPLY_FRAME_BYTES_MAX: u32 = Limits::MAX_FRAME_BYTES_CEILING;

impl Adapter for Blink {
    fn encode_get(&self, key: &[u8], out: &mut Vec<u8>) {
        encode_request(&Request::Get { key }, out);
    }

    fn encode_set(&self, key: &[u8], value: &[u8], out: &mut Vec<u8>) {
        encode_request(
            &Request::Set {
                key,
                value,
                ttl_ms: 0,
            },
            out,
        );
    }

    fn parse_reply(&self, buf: &[u8]) -> Result<Parsed, ProtocolError> {
        match decode_reply(buf, REPLY_FRAME_BYTES_MAX) {
            DecodedReply::NeedMore => Ok(Parsed::NeedMore),
            DecodedReply::Invalid => Err(ProtocolError("invalid Blink reply frame")),
            DecodedReply::Reply {
                status, frame_len, ..
            } => {
                let outcome = match status {
                    s if s == Status::Ok as u8 => Outcome::Ok,
                    s if s == Status::NotFound as u8 => Outcome::Miss,
                    _ => Outcome::Error,
                };
                Ok(Parsed::Reply {
                    outcome,
                    len_bytes: frame_len,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::assert_parses_at_every_split;
    use blink_store::protocol::encode_reply;

    #[test]
    fn encodes_with_the_server_codec() {
        let mut out = Vec::new();
        Blink.encode_get(b"k1", &mut out);
        assert_eq!(out, b"\x00\x00\x00\x05\x10\x00\x02k1");
        out.clear();
        Blink.encode_set(b"k", b"v", &mut out);
        assert_eq!(out, b"\x00\x00\x00\x0d\x11\0\0\0\0\0\0\0\0\x00\x01kv");
    }

    #[test]
    fn parses_every_reply_at_every_split() {
        let mut wire = Vec::new();
        encode_reply(Status::Ok, b"hello", &mut wire);
        encode_reply(Status::NotFound, b"", &mut wire);
        encode_reply(Status::Ok, b"", &mut wire);
        encode_reply(Status::ItemTooLarge, b"item too large", &mut wire);
        use Outcome::*;
        assert_parses_at_every_split(Blink, &wire, &[Ok, Miss, Ok, Error]);
    }

    #[test]
    fn rejects_foreign_bytes() {
        assert!(Blink.parse_reply(b"+OK\r\n").is_err());
    }
}
