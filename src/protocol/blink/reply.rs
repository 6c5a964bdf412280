//! The client half of decoding: split reply frames off a buffer and read the
//! structured bodies (HELLO, SCAN). Used by tests, the load generator and Rust
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

/// The body of an OK reply to SCAN (v2): the cursor to send next (0: the
/// walk is complete) and the keys, each read from its `key_len u16`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScanReply<'a> {
    /// The cursor for the next SCAN; 0 when the walk is complete.
    pub next_cursor: u64,
    /// The keys' bytes, each still prefixed by its length (see [`Self::keys`]).
    keys: &'a [u8],
}

impl<'a> ScanReply<'a> {
    /// Parses a SCAN reply body; `None` unless the cursor and whole keys
    /// fill it exactly.
    ///
    /// ```
    /// use blink_store::protocol::ScanReply;
    /// let body = b"\x00\x00\x00\x00\x00\x00\x00\x09\x00\x01a\x00\x02bc";
    /// let scan = ScanReply::parse(body).unwrap();
    /// assert_eq!(scan.next_cursor, 9);
    /// assert_eq!(scan.keys().collect::<Vec<_>>(), [&b"a"[..], &b"bc"[..]]);
    /// assert_eq!(ScanReply::parse(&body[..body.len() - 1]), None);
    /// ```
    pub fn parse(body: &'a [u8]) -> Option<ScanReply<'a>> {
        let (cursor, keys) = body.split_first_chunk::<8>()?;
        let mut rest = keys;
        while !rest.is_empty() {
            rest = split_key(rest)?.1;
        }
        Some(ScanReply {
            next_cursor: u64::from_be_bytes(*cursor),
            keys,
        })
    }

    /// The keys, in reply order.
    pub fn keys(&self) -> impl Iterator<Item = &'a [u8]> + use<'a> {
        let mut rest = self.keys;
        std::iter::from_fn(move || {
            let (key, after) = split_key(rest)?;
            rest = after;
            Some(key)
        })
    }
}

/// `key_len u16` then the key, off the front of `bytes`.
fn split_key(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = bytes.split_first_chunk::<2>()?;
    rest.split_at_checked(usize::from(u16::from_be_bytes(*len)))
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
        encode_hello_reply(1, &Limits::DEFAULT, false, &mut wire);
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
