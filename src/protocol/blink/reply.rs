//! The client half of decoding: split reply frames off a buffer and read the
//! structured bodies (HELLO). Used by tests, the load generator and Rust
//! clients; it shares the framing code, and its no-panic discipline, with the
//! request decoder.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

use super::frame::{Framing, split_frame};
use super::{HELLO_FLAG_AUTH_REQUIRED, HELLO_REPLY_BODY_BYTES, Limits};

/// The outcome of one [`decode_reply`] call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodedReply<'a> {
    /// The first reply is incomplete; nothing was consumed.
    NeedMore,
    /// One reply; consume `frame_len` bytes.
    Reply {
        /// The raw status byte (see [`Status`](super::Status); unknown codes are
        /// passed through so a client can report them).
        status: u8,
        /// The body, borrowing from the buffer.
        body: &'a [u8],
        /// Bytes to consume: 4 + the declared length.
        frame_len: usize,
    },
    /// Not a Blink reply (zero length, foreign first byte, or longer than
    /// `max_frame_bytes`): the client closes the connection.
    Invalid,
}

/// Decodes the first reply in `buf`. `max_frame_bytes` is the server's frame
/// limit from HELLO (no reply the server sends is longer).
///
/// ```
/// use blink_store::protocol::{DecodedReply, Status, decode_reply};
/// let wire = b"\x00\x00\x00\x03\x00hi";
/// assert_eq!(
///     decode_reply(wire, 1024),
///     DecodedReply::Reply { status: Status::Ok as u8, body: b"hi", frame_len: 7 }
/// );
/// ```
#[must_use]
pub fn decode_reply(buf: &[u8], max_frame_bytes: u32) -> DecodedReply<'_> {
    match split_frame(buf, max_frame_bytes) {
        Framing::NeedMore => DecodedReply::NeedMore,
        Framing::Fatal(_) => DecodedReply::Invalid,
        Framing::Complete { payload, frame_len } => match payload.split_first() {
            Some((&status, body)) => DecodedReply::Reply {
                status,
                body,
                frame_len,
            },
            None => DecodedReply::Invalid,
        },
    }
}

/// The body of an OK reply to HELLO.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HelloReply {
    /// The version the server speaks on this connection.
    pub version: u8,
    /// Whether this connection must AUTH before data commands.
    pub auth_required: bool,
    /// The server's limits (after authentication).
    pub limits: Limits,
}

impl HelloReply {
    /// Parses a HELLO reply body; `None` unless it is exactly 14 bytes.
    /// Unknown flag bits are ignored, as SPEC.md requires of clients.
    pub fn parse(body: &[u8]) -> Option<HelloReply> {
        let body: &[u8; HELLO_REPLY_BODY_BYTES] = body.try_into().ok()?;
        let ([version, flags], limits) = body.split_first_chunk::<2>()?;
        let (frame, limits) = limits.split_first_chunk::<4>()?;
        let (key, value) = limits.split_first_chunk::<4>()?;
        let value: &[u8; 4] = value.try_into().ok()?;
        Some(HelloReply {
            version: *version,
            auth_required: flags & HELLO_FLAG_AUTH_REQUIRED != 0,
            limits: Limits {
                max_frame_bytes: u32::from_be_bytes(*frame),
                max_key_bytes: u32::from_be_bytes(*key),
                max_value_bytes: u32::from_be_bytes(*value),
            },
        })
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::panic)] // tests may fail loudly
mod tests {
    use super::*;
    use crate::protocol::encode_hello_reply;

    #[test]
    fn reply_need_more_until_complete() {
        let wire = b"\x00\x00\x00\x02\x01x";
        for end in 0..wire.len() {
            assert_eq!(decode_reply(&wire[..end], 64), DecodedReply::NeedMore);
        }
    }

    #[test]
    fn oversized_or_foreign_replies_are_invalid() {
        assert_eq!(decode_reply(b"\x00\x00\x00\x41", 64), DecodedReply::Invalid);
        assert_eq!(decode_reply(b"-ERR", 64), DecodedReply::Invalid);
        assert_eq!(decode_reply(b"\x00\x00\x00\x00", 64), DecodedReply::Invalid);
    }

    #[test]
    fn hello_reply_round_trips() {
        let mut wire = Vec::new();
        encode_hello_reply(&Limits::DEFAULT, false, &mut wire);
        let DecodedReply::Reply {
            status: 0, body, ..
        } = decode_reply(&wire, 4096)
        else {
            panic!("expected OK");
        };
        let hello = HelloReply::parse(body);
        assert_eq!(
            hello,
            Some(HelloReply {
                version: 1,
                auth_required: false,
                limits: Limits::DEFAULT
            })
        );
        assert_eq!(HelloReply::parse(&body[1..]), None);
    }
}
