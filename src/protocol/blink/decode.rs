//! The hardened request decoder: the only code that reads untrusted bytes.
//!
//! It is incremental (a partial frame is [`Decoded::NeedMore`] and consumes
//! nothing), zero-copy (a [`Request`] borrows from the caller's buffer), never
//! allocates, never recurses, and cannot panic: slicing, unwrapping and
//! unchecked arithmetic are denied by lint in this module. Checks run in the
//! order SPEC.md fixes, one early return each:
//!
//! 1. empty buffer → `NeedMore`
//! 2. first byte `>= 0x20` → `Fatal(Malformed)`
//! 3. fewer than 4 bytes → `NeedMore`
//! 4. `len == 0` → `Fatal(Malformed)`
//! 5. `len > max_frame_bytes` → `Fatal(FrameTooLarge)`
//! 6. fewer than `4 + len` bytes → `NeedMore`
//! 7. unknown opcode, or one newer than the connection's version →
//!    `Rejected(UnknownCommand)`
//! 8. fields not exactly filling the payload → `Fatal(Malformed)`
//! 9. key longer than `max_key_bytes` → `Rejected(KeyTooLarge)`
//! 10. value longer than `max_value_bytes` → `Rejected(ValueTooLarge)`

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

use std::fmt;

use super::frame::{FrameError, Framing, split_frame};
use super::{Limits, Opcode, PROTOCOL_VERSION, Request, Status};

/// The outcome of one [`decode_request`] call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// The first frame is incomplete; nothing was consumed. Read more bytes
    /// and call again with the whole buffer.
    NeedMore,
    /// A valid request; consume `frame_len` bytes (header included).
    Request {
        /// The request, borrowing from the buffer.
        request: Request<'a>,
        /// Bytes to consume: 4 + the declared length.
        frame_len: usize,
    },
    /// A well-framed request that breaks a rule: reply with the error, consume
    /// `frame_len` bytes, keep the connection open.
    Rejected {
        /// What was wrong.
        error: RequestError,
        /// Bytes to consume: 4 + the declared length.
        frame_len: usize,
    },
    /// The stream cannot be trusted: reply with the error, then close.
    Fatal(FrameError),
}

/// A request refused with the framing intact, so the connection stays usable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// The opcode is not one this server knows.
    UnknownCommand,
    /// The key is longer than `max_key_bytes`.
    KeyTooLarge,
    /// The SET value is longer than `max_value_bytes`.
    ValueTooLarge,
}

impl RequestError {
    /// The status of the error reply.
    pub fn status(self) -> Status {
        match self {
            RequestError::UnknownCommand => Status::UnknownCommand,
            RequestError::KeyTooLarge => Status::KeyTooLarge,
            RequestError::ValueTooLarge => Status::ValueTooLarge,
        }
    }

    /// The message body of the error reply.
    pub fn message(self) -> &'static str {
        self.status().message()
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for RequestError {}

/// Decodes the first request in `buf` against `limits`, on a connection
/// that negotiated [`PROTOCOL_VERSION`] (every command known); see
/// [`decode_request_at`].
///
/// The caller keeps unconsumed bytes and calls again when more arrive; on
/// `Request` or `Rejected` it drops `frame_len` bytes from the front.
///
/// ```
/// use blink_store::protocol::{Decoded, FrameError, Limits, decode_request};
///
/// let limits = Limits::DEFAULT;
/// assert_eq!(decode_request(b"\x00\x00\x00", &limits), Decoded::NeedMore);
/// // A RESP client is refused on its first byte.
/// assert_eq!(decode_request(b"*1\r\n", &limits), Decoded::Fatal(FrameError::Malformed));
/// ```
#[must_use]
pub fn decode_request<'a>(buf: &'a [u8], limits: &Limits) -> Decoded<'a> {
    decode_request_at(buf, limits, PROTOCOL_VERSION)
}

/// Decodes the first request in `buf` against `limits` on a connection
/// speaking protocol `version`: an opcode newer than it is unknown, exactly
/// as on a server of that version (SPEC §10).
///
/// ```
/// use blink_store::protocol::{Decoded, Limits, RequestError, decode_request_at};
///
/// let flush = b"\x00\x00\x00\x01\x21";
/// let unknown = Decoded::Rejected { error: RequestError::UnknownCommand, frame_len: 5 };
/// assert_eq!(decode_request_at(flush, &Limits::DEFAULT, 1), unknown);
/// assert!(matches!(decode_request_at(flush, &Limits::DEFAULT, 2), Decoded::Request { .. }));
/// ```
#[must_use]
pub fn decode_request_at<'a>(buf: &'a [u8], limits: &Limits, version: u8) -> Decoded<'a> {
    let (payload, frame_len) = match split_frame(buf, limits.max_frame_bytes) {
        Framing::Complete { payload, frame_len } => (payload, frame_len),
        Framing::NeedMore => return Decoded::NeedMore,
        Framing::Fatal(error) => return Decoded::Fatal(error),
    };
    let Some((&opcode_byte, fields)) = payload.split_first() else {
        // split_frame never yields an empty payload; stay total regardless.
        return Decoded::Fatal(FrameError::Malformed);
    };
    let Some(opcode) = Opcode::try_from(opcode_byte)
        .ok()
        .filter(|opcode| opcode.since_version() <= version)
    else {
        return Decoded::Rejected {
            error: RequestError::UnknownCommand,
            frame_len,
        };
    };
    let Some(request) = parse_fields(opcode, fields) else {
        return Decoded::Fatal(FrameError::Malformed);
    };
    match check_limits(&request, limits) {
        Ok(()) => Decoded::Request { request, frame_len },
        Err(error) => Decoded::Rejected { error, frame_len },
    }
}

/// A hint, not a decoding: the key of the complete frame at the front of
/// `buf` and the frame's length, read from its header, opcode and `key_len`
/// alone, for a caller that wants to start a key's lookup before the frame's
/// turn comes (`session.rs`). Nothing else is checked, so a frame
/// [`decode_request`] refuses may still yield a key; for every request it
/// accepts, the key is that request's.
///
/// `None` when no complete, well-framed frame is at the front. A frame
/// without a key, or whose key field does not fit it, yields
/// `Some((None, frame_len))`.
///
/// ```
/// use blink_store::protocol::{Limits, Request, encode_request, peek_key};
///
/// let mut wire = Vec::new();
/// encode_request(&Request::Get { key: b"user:1" }, &mut wire);
/// assert_eq!(peek_key(&wire, &Limits::DEFAULT), Some((Some(&b"user:1"[..]), wire.len())));
/// assert_eq!(peek_key(&wire[..5], &Limits::DEFAULT), None);
/// ```
#[inline]
pub fn peek_key<'a>(buf: &'a [u8], limits: &Limits) -> Option<(Option<&'a [u8]>, usize)> {
    let Framing::Complete { payload, frame_len } = split_frame(buf, limits.max_frame_bytes) else {
        return None;
    };
    let (&opcode_byte, fields) = payload.split_first()?;
    let key_fields = match Opcode::try_from(opcode_byte) {
        Ok(Opcode::Get | Opcode::Del | Opcode::Ttl | Opcode::Append) => Some(fields),
        // `ttl_ms u64` (or INCR's `delta i64`) comes first.
        Ok(Opcode::Set | Opcode::Expire | Opcode::Add | Opcode::Replace | Opcode::Incr) => {
            fields.get(8..)
        }
        _ => None,
    };
    Some((
        key_fields.and_then(|fields| Reader(fields).key()),
        frame_len,
    ))
}

/// Parses the fields after the opcode; `None` unless they fill `fields` exactly.
fn parse_fields(opcode: Opcode, fields: &[u8]) -> Option<Request<'_>> {
    let mut reader = Reader(fields);
    let request = match opcode {
        Opcode::Ping => Request::Ping,
        Opcode::Hello => Request::Hello {
            version: reader.u8()?,
        },
        Opcode::Auth => Request::Auth {
            token: reader.rest(),
        },
        Opcode::Get => Request::Get { key: reader.key()? },
        Opcode::Set | Opcode::Add | Opcode::Replace => {
            let ttl_ms = reader.u64()?;
            let key = reader.key()?;
            let value = reader.rest();
            match opcode {
                Opcode::Add => Request::Add { key, value, ttl_ms },
                Opcode::Replace => Request::Replace { key, value, ttl_ms },
                _ => Request::Set { key, value, ttl_ms },
            }
        }
        Opcode::Del => Request::Del { key: reader.key()? },
        Opcode::Expire => {
            let ttl_ms = reader.u64()?;
            Request::Expire {
                key: reader.key()?,
                ttl_ms,
            }
        }
        Opcode::Ttl => Request::Ttl { key: reader.key()? },
        Opcode::Stats => Request::Stats,
        Opcode::Incr => {
            let delta = reader.array::<8>().map(i64::from_be_bytes)?;
            Request::Incr {
                key: reader.key()?,
                delta,
            }
        }
        Opcode::Append => Request::Append {
            key: reader.key()?,
            suffix: reader.rest(),
        },
        Opcode::Flush => Request::Flush,
        Opcode::Scan => Request::Scan {
            cursor: reader.u64()?,
            count: reader.array::<2>().map(u16::from_be_bytes)?,
            prefix: reader.rest(),
        },
    };
    // Trailing bytes mean the client and server disagree on the layout.
    reader.0.is_empty().then_some(request)
}

/// Key first, then value: the order SPEC.md gives the two checks.
fn check_limits(request: &Request<'_>, limits: &Limits) -> Result<(), RequestError> {
    if exceeds(request.key(), limits.max_key_bytes) {
        return Err(RequestError::KeyTooLarge);
    }
    if exceeds(request.value(), limits.max_value_bytes) {
        return Err(RequestError::ValueTooLarge);
    }
    Ok(())
}

fn exceeds(field: Option<&[u8]>, max_bytes: u32) -> bool {
    // A u32 limit that does not fit usize cannot be exceeded by any slice.
    field.is_some_and(|bytes| usize::try_from(max_bytes).is_ok_and(|max| bytes.len() > max))
}

/// A forward-only cursor over a frame's fields; every read is bounds-checked
/// and fails with `None` instead of panicking.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.array::<1>().map(u8::from_be_bytes)
    }

    fn u64(&mut self) -> Option<u64> {
        self.array::<8>().map(u64::from_be_bytes)
    }

    /// `key_len u16` then that many bytes, which must lie inside the frame.
    fn key(&mut self) -> Option<&'a [u8]> {
        let key_len = usize::from(self.array::<2>().map(u16::from_be_bytes)?);
        let (key, rest) = self.0.split_at_checked(key_len)?;
        self.0 = rest;
        Some(key)
    }

    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.0)
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::panic)] // tests may fail loudly
mod tests {
    use super::*;

    fn decode(buf: &[u8]) -> Decoded<'_> {
        decode_request(buf, &Limits::DEFAULT)
    }

    #[test]
    fn decodes_a_set_with_ttl_borrowing_key_and_value() {
        let buf = b"\x00\x00\x00\x0f\x11\x00\x00\x00\x00\x00\x00\x03\xe8\x00\x02k1v1";
        let Decoded::Request { request, frame_len } = decode(buf) else {
            panic!("expected a request");
        };
        assert_eq!(frame_len, buf.len());
        assert_eq!(
            request,
            Request::Set {
                key: b"k1",
                value: b"v1",
                ttl_ms: 1000
            }
        );
        let Request::Set { key, .. } = request else {
            unreachable!()
        };
        assert!(std::ptr::eq(key.as_ptr(), buf[15..].as_ptr()));
    }

    #[test]
    fn only_the_first_frame_is_decoded() {
        let buf = b"\x00\x00\x00\x01\x01\x00\x00\x00\x01\x20";
        assert_eq!(
            decode(buf),
            Decoded::Request {
                request: Request::Ping,
                frame_len: 5
            }
        );
    }

    #[test]
    fn unknown_opcode_is_rejected_and_skips_the_whole_frame() {
        assert_eq!(
            decode(b"\x00\x00\x00\x03\x7fab"),
            Decoded::Rejected {
                error: RequestError::UnknownCommand,
                frame_len: 7
            }
        );
    }

    #[test]
    fn unknown_opcode_wins_over_malformed_fields() {
        // Check 7 precedes check 8: a newer client's command is skipped, not
        // fatal, also when it is a v2 command on a v1 connection.
        assert_eq!(
            decode_request_at(b"\x00\x00\x00\x01\x15", &Limits::DEFAULT, 1),
            Decoded::Rejected {
                error: RequestError::UnknownCommand,
                frame_len: 5
            }
        );
        assert_eq!(
            decode(b"\x00\x00\x00\x01\x15"),
            Decoded::Fatal(FrameError::Malformed)
        );
        assert_eq!(
            decode(b"\x00\x00\x00\x01\x23"),
            Decoded::Rejected {
                error: RequestError::UnknownCommand,
                frame_len: 5
            }
        );
    }

    #[test]
    fn malformed_fields_win_over_key_too_large() {
        let limits = Limits {
            max_key_bytes: 1,
            ..Limits::DEFAULT
        };
        // key_len 2 with 2 key bytes but one trailing byte: malformed, not key-too-large.
        let buf = b"\x00\x00\x00\x06\x10\x00\x02abX";
        assert_eq!(
            decode_request(buf, &limits),
            Decoded::Fatal(FrameError::Malformed)
        );
    }

    #[test]
    fn key_check_precedes_value_check() {
        let limits = Limits {
            max_key_bytes: 1,
            max_value_bytes: 1,
            ..Limits::DEFAULT
        };
        let buf = b"\x00\x00\x00\x0f\x11\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02kkvv";
        assert_eq!(
            decode_request(buf, &limits),
            Decoded::Rejected {
                error: RequestError::KeyTooLarge,
                frame_len: buf.len()
            }
        );
    }

    #[test]
    fn key_len_overrunning_the_frame_is_malformed() {
        assert_eq!(
            decode(b"\x00\x00\x00\x04\x10\x00\x05a"),
            Decoded::Fatal(FrameError::Malformed)
        );
        assert_eq!(
            decode(b"\x00\x00\x00\x04\x10\xff\xffa"),
            Decoded::Fatal(FrameError::Malformed)
        );
    }

    #[test]
    fn pre_auth_limits_refuse_large_frames_from_the_header() {
        let limits = Limits::DEFAULT.pre_auth();
        assert_eq!(
            decode_request(b"\x00\x00\x10\x01", &limits),
            Decoded::Fatal(FrameError::FrameTooLarge)
        );
        assert_eq!(
            decode_request(b"\x00\x00\x10\x00", &limits),
            Decoded::NeedMore
        );
    }

    #[test]
    fn decodes_the_v2_commands() {
        let incr = b"\x00\x00\x00\x0c\x17\xff\xff\xff\xff\xff\xff\xff\xfe\x00\x01k";
        assert_eq!(
            decode(incr),
            Decoded::Request {
                request: Request::Incr {
                    key: b"k",
                    delta: -2
                },
                frame_len: incr.len()
            }
        );
        let scan = b"\x00\x00\x00\x0d\x22\x00\x00\x00\x00\x00\x00\x00\x07\x00\x40u:";
        assert_eq!(
            decode(scan),
            Decoded::Request {
                request: Request::Scan {
                    cursor: 7,
                    count: 64,
                    prefix: b"u:"
                },
                frame_len: scan.len()
            }
        );
        let append = b"\x00\x00\x00\x06\x18\x00\x01kab";
        assert_eq!(
            decode(append),
            Decoded::Request {
                request: Request::Append {
                    key: b"k",
                    suffix: b"ab"
                },
                frame_len: append.len()
            }
        );
        // SCAN without its count, INCR without a whole key: malformed.
        assert_eq!(
            decode(b"\x00\x00\x00\x09\x22\x00\x00\x00\x00\x00\x00\x00\x00"),
            Decoded::Fatal(FrameError::Malformed)
        );
        assert_eq!(
            decode(b"\x00\x00\x00\x0b\x17\x00\x00\x00\x00\x00\x00\x00\x01\x00\x01"),
            Decoded::Fatal(FrameError::Malformed)
        );
    }

    #[test]
    fn an_append_suffix_is_held_to_the_value_limit() {
        let limits = Limits {
            max_value_bytes: 1,
            ..Limits::DEFAULT
        };
        assert_eq!(
            decode_request(b"\x00\x00\x00\x06\x18\x00\x01kab", &limits),
            Decoded::Rejected {
                error: RequestError::ValueTooLarge,
                frame_len: 10
            }
        );
    }

    #[test]
    fn error_statuses_match_their_kind() {
        assert_eq!(RequestError::KeyTooLarge.status(), Status::KeyTooLarge);
        assert!(!RequestError::UnknownCommand.status().closes_connection());
        assert!(FrameError::FrameTooLarge.status().closes_connection());
        assert_eq!(FrameError::Malformed.to_string(), "malformed frame");
    }
}
