//! The Blink v1 wire format (SPEC §3, §5, §6), and nothing else: requests
//! are encoded into a caller's reused buffer, replies are decoded
//! incrementally from a [`ReplyBuffer`] with a read offset. No I/O, no
//! connection state.
//!
//! ```text
//! request:  +----------+--------+---------------------+
//!           | len: u32 | opcode | fields (§5)          |
//!           +----------+--------+---------------------+
//! reply:    +----------+--------+---------------------+
//!           | len: u32 | status | body                 |
//!           +----------+--------+---------------------+
//!             4          1        len - 1
//! ```
//!
//! A reply header is judged as soon as its bytes arrive (SPEC §13): a first
//! byte of `0x20` or more is foreign from that byte alone; a length of 0 or
//! above the connection's `max_frame_bytes` is invalid from the 4-byte header,
//! before any body is waited for or buffered.

use crate::error::ProtocolError;

/// The protocol version this client speaks.
pub const PROTOCOL_VERSION: u8 = 1;
/// Bytes of the length prefix of every frame.
pub const HEADER_BYTES: usize = 4;
/// No valid frame is longer than this (SPEC §4): the limit applied to
/// replies before HELLO reports the real one.
pub const MAX_FRAME_BYTES_CEILING: u32 = 0x1000_0000;
/// The server's frame limit before AUTH succeeds (SPEC §11).
pub const PRE_AUTH_MAX_FRAME_BYTES: u32 = 4096;
/// Fixed bytes of a SET payload: opcode, `ttl_ms`, `key_len`.
pub const SET_OVERHEAD_BYTES: usize = 11;
/// Bytes of the v1 HELLO reply body (SPEC §6.3).
pub const HELLO_BODY_BYTES: usize = 14;
/// First byte at which a frame is foreign (SPEC §3.1).
const FOREIGN_BYTE_MIN: u8 = 0x20;
/// The read buffer's first allocation: a few replies of a typical pipeline;
/// it doubles when a frame needs more.
const READ_BUFFER_INITIAL_BYTES: usize = 16 * 1024;
/// The least free tail a read is offered; below it, consumed bytes are
/// compacted away or the buffer grows.
const READ_CHUNK_MIN_BYTES: usize = 4 * 1024;

/// Request opcodes (SPEC §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Opcode {
    Ping = 0x01,
    Hello = 0x02,
    Auth = 0x03,
    Get = 0x10,
    Set = 0x11,
    Del = 0x12,
    Expire = 0x13,
    Ttl = 0x14,
    Stats = 0x20,
}

impl Opcode {
    /// The command's name as SPEC §5 spells it, for error messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Opcode::Ping => "PING",
            Opcode::Hello => "HELLO",
            Opcode::Auth => "AUTH",
            Opcode::Get => "GET",
            Opcode::Set => "SET",
            Opcode::Del => "DEL",
            Opcode::Expire => "EXPIRE",
            Opcode::Ttl => "TTL",
            Opcode::Stats => "STATS",
        }
    }
}

/// Reply statuses defined by v1 (SPEC §6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum Status {
    /// Success.
    Ok = 0x00,
    /// The key does not exist or has expired.
    NotFound = 0x01,
    /// Unknown opcode; the frame was skipped.
    UnknownCommand = 0x80,
    /// The request frame was malformed; the server closed.
    Malformed = 0x81,
    /// The request frame exceeded the frame limit; the server closed.
    FrameTooLarge = 0x82,
    /// The key exceeded `max_key_bytes`.
    KeyTooLarge = 0x83,
    /// The value exceeded `max_value_bytes`.
    ValueTooLarge = 0x84,
    /// The item could never fit in the server's memory cap.
    ItemTooLarge = 0x85,
    /// AUTH is required first.
    AuthRequired = 0x86,
    /// Wrong token; the server closed.
    AuthFailed = 0x87,
    /// HELLO asked for version 0.
    UnsupportedVersion = 0x88,
    /// The server is at its connection limit; it closed.
    TooManyConnections = 0x89,
    /// A frame was slow or the connection idle; the server closed.
    Timeout = 0x8A,
    /// Buffer budget or output cap exhausted; the server closed.
    Busy = 0x8B,
    /// The server is draining; it closed.
    ShuttingDown = 0x8C,
}

impl Status {
    /// The status for a code, or `None` for a code v1 does not define.
    pub fn from_code(code: u8) -> Option<Status> {
        use Status::*;
        Some(match code {
            0x00 => Ok,
            0x01 => NotFound,
            0x80 => UnknownCommand,
            0x81 => Malformed,
            0x82 => FrameTooLarge,
            0x83 => KeyTooLarge,
            0x84 => ValueTooLarge,
            0x85 => ItemTooLarge,
            0x86 => AuthRequired,
            0x87 => AuthFailed,
            0x88 => UnsupportedVersion,
            0x89 => TooManyConnections,
            0x8A => Timeout,
            0x8B => Busy,
            0x8C => ShuttingDown,
            _ => return None,
        })
    }

    /// The status byte.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// True for the statuses after which the server closes (SPEC §6.2).
    pub fn closes_connection(self) -> bool {
        matches!(
            self,
            Status::Malformed
                | Status::FrameTooLarge
                | Status::AuthFailed
                | Status::TooManyConnections
                | Status::Timeout
                | Status::Busy
                | Status::ShuttingDown
        )
    }
}

/// One request, borrowing its key, value or token from the caller.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Request<'a> {
    Ping,
    Hello {
        version: u8,
    },
    Auth {
        token: &'a [u8],
    },
    Get {
        key: &'a [u8],
    },
    Set {
        key: &'a [u8],
        value: &'a [u8],
        ttl_ms: u64,
    },
    Del {
        key: &'a [u8],
    },
    Expire {
        key: &'a [u8],
        ttl_ms: u64,
    },
    Ttl {
        key: &'a [u8],
    },
    Stats,
}

impl Request<'_> {
    pub(crate) fn opcode(&self) -> Opcode {
        match self {
            Request::Ping => Opcode::Ping,
            Request::Hello { .. } => Opcode::Hello,
            Request::Auth { .. } => Opcode::Auth,
            Request::Get { .. } => Opcode::Get,
            Request::Set { .. } => Opcode::Set,
            Request::Del { .. } => Opcode::Del,
            Request::Expire { .. } => Opcode::Expire,
            Request::Ttl { .. } => Opcode::Ttl,
            Request::Stats => Opcode::Stats,
        }
    }

    /// The key, for the commands that have one.
    pub(crate) fn key(&self) -> Option<&[u8]> {
        match *self {
            Request::Get { key }
            | Request::Set { key, .. }
            | Request::Del { key }
            | Request::Expire { key, .. }
            | Request::Ttl { key } => Some(key),
            Request::Ping | Request::Hello { .. } | Request::Auth { .. } | Request::Stats => None,
        }
    }

    /// The sizes the limits are checked on.
    pub(crate) fn shape(&self) -> Shape {
        let value_bytes = match self {
            Request::Set { value, .. } => value.len(),
            _ => 0,
        };
        Shape {
            key_bytes: self.key().map_or(0, <[u8]>::len),
            value_bytes,
            payload_bytes: self.payload_bytes(),
        }
    }

    /// The payload length: the frame's `len` field (SPEC §5's table).
    pub(crate) fn payload_bytes(&self) -> usize {
        let key_frame = |key: &[u8]| 3 + key.len();
        match *self {
            Request::Ping | Request::Stats => 1,
            Request::Hello { .. } => 2,
            Request::Auth { token } => 1 + token.len(),
            Request::Get { key } | Request::Del { key } | Request::Ttl { key } => key_frame(key),
            Request::Set { key, value, .. } => SET_OVERHEAD_BYTES + key.len() + value.len(),
            Request::Expire { key, .. } => SET_OVERHEAD_BYTES + key.len(),
        }
    }

    /// Appends the whole frame to `out`. The caller has checked the sizes
    /// (`key_len` fits a `u16`, the payload fits a `u32`).
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let payload_bytes = self.payload_bytes();
        debug_assert!(payload_bytes <= MAX_FRAME_BYTES_CEILING as usize);
        out.reserve(HEADER_BYTES + payload_bytes);
        out.extend_from_slice(&(payload_bytes as u32).to_be_bytes());
        out.push(self.opcode() as u8);
        match *self {
            Request::Ping | Request::Stats => {}
            Request::Hello { version } => out.push(version),
            Request::Auth { token } => out.extend_from_slice(token),
            Request::Get { key } | Request::Del { key } | Request::Ttl { key } => {
                put_key(out, key);
            }
            Request::Set { key, value, ttl_ms } => {
                out.extend_from_slice(&ttl_ms.to_be_bytes());
                put_key(out, key);
                out.extend_from_slice(value);
            }
            Request::Expire { key, ttl_ms } => {
                out.extend_from_slice(&ttl_ms.to_be_bytes());
                put_key(out, key);
            }
        }
    }
}

/// A request's sizes, which is all the limit checks need (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape {
    pub(crate) key_bytes: usize,
    pub(crate) value_bytes: usize,
    /// The frame's `len` field.
    pub(crate) payload_bytes: usize,
}

fn put_key(out: &mut Vec<u8>, key: &[u8]) {
    debug_assert!(key.len() <= usize::from(u16::MAX));
    out.extend_from_slice(&(key.len() as u16).to_be_bytes());
    out.extend_from_slice(key);
}

/// One decoded reply frame, borrowing its body from the read buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawReply<'a> {
    /// The status byte (possibly one v1 does not define).
    pub status: u8,
    /// The body after the status byte.
    pub body: &'a [u8],
}

/// Decodes the first reply frame of `buf`: `Ok(None)` when it is not all
/// there yet, else the reply and the bytes it occupies (header included).
///
/// The header is judged before the body is waited for: a foreign first byte
/// from that byte alone, a zero or oversized length from the 4 bytes.
pub fn decode_reply(
    buf: &[u8],
    max_frame_bytes: u32,
) -> Result<Option<(RawReply<'_>, usize)>, ProtocolError> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    if first >= FOREIGN_BYTE_MIN {
        return Err(ProtocolError::ForeignByte(first));
    }
    let Some(header) = buf.first_chunk::<HEADER_BYTES>() else {
        return Ok(None);
    };
    let frame_bytes = u32::from_be_bytes(*header);
    if frame_bytes == 0 {
        return Err(ProtocolError::ZeroLength);
    }
    if frame_bytes > max_frame_bytes {
        return Err(ProtocolError::FrameTooLarge {
            frame_bytes,
            max_frame_bytes,
        });
    }
    let frame_len = HEADER_BYTES + frame_bytes as usize;
    let Some(frame) = buf.get(HEADER_BYTES..frame_len) else {
        return Ok(None);
    };
    let reply = RawReply {
        status: frame[0],
        body: &frame[1..],
    };
    Ok(Some((reply, frame_len)))
}

/// A connection's growable read buffer with a read offset: bytes are read
/// into its free tail, frames are decoded from its front, and consumed bytes
/// are compacted away only when the tail runs short (no re-concatenation).
///
/// ```text
/// +----------------+---------------------+-----------------+
/// | consumed       | received, undecoded | free            |
/// +----------------+---------------------+-----------------+
/// 0                start                 end               buf.len()
/// ```
#[derive(Debug)]
pub struct ReplyBuffer {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    max_frame_bytes: u32,
}

impl Default for ReplyBuffer {
    fn default() -> Self {
        ReplyBuffer::new()
    }
}

impl ReplyBuffer {
    /// An empty buffer that refuses replies above the protocol's ceiling
    /// until [`set_max_frame_bytes`](Self::set_max_frame_bytes) lowers it.
    pub fn new() -> ReplyBuffer {
        ReplyBuffer {
            buf: Vec::new(),
            start: 0,
            end: 0,
            max_frame_bytes: MAX_FRAME_BYTES_CEILING,
        }
    }

    /// Sets the largest reply accepted: the `max_frame_bytes` HELLO reported.
    pub fn set_max_frame_bytes(&mut self, max_frame_bytes: u32) {
        self.max_frame_bytes = max_frame_bytes.min(MAX_FRAME_BYTES_CEILING);
    }

    /// Received bytes not yet decoded.
    pub fn pending_bytes(&self) -> usize {
        self.end - self.start
    }

    /// The free tail to read into (at least a few KiB), compacting or
    /// growing first when it runs short. Follow with [`filled`](Self::filled).
    pub fn spare_mut(&mut self) -> &mut [u8] {
        if self.buf.len() - self.end < READ_CHUNK_MIN_BYTES {
            self.make_room();
        }
        &mut self.buf[self.end..]
    }

    /// Records that a read put `bytes` into the slice [`spare_mut`](Self::spare_mut) returned.
    pub fn filled(&mut self, bytes: usize) {
        debug_assert!(self.end + bytes <= self.buf.len());
        self.end += bytes;
    }

    /// Decodes the next complete reply, advancing past it; `Ok(None)` until
    /// one is complete. An error means the stream is unusable.
    pub fn next_reply(&mut self) -> Result<Option<RawReply<'_>>, ProtocolError> {
        match decode_reply(&self.buf[self.start..self.end], self.max_frame_bytes)? {
            None => Ok(None),
            Some((_, frame_len)) => {
                let frame = self.start..self.start + frame_len;
                self.start += frame_len;
                if self.start == self.end {
                    // Empty again: the next read starts at the front for free.
                    self.start = 0;
                    self.end = 0;
                }
                let frame = &self.buf[frame];
                Ok(Some(RawReply {
                    status: frame[HEADER_BYTES],
                    body: &frame[HEADER_BYTES + 1..],
                }))
            }
        }
    }

    /// Drops everything buffered (the connection it served is gone).
    pub fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    fn make_room(&mut self) {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < READ_CHUNK_MIN_BYTES {
            let grown = (self.buf.len() * 2).max(READ_BUFFER_INITIAL_BYTES);
            self.buf.resize(grown, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value as Json;

    /// The vectors' byte-string encoding: hex with spaces, or an array of
    /// hex parts and `{"repeat", "count"}` runs.
    fn bytes_of(value: &Json) -> Vec<u8> {
        match value {
            Json::String(hex) => {
                let digits: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
                digits
                    .chunks(2)
                    .map(|pair| {
                        let text = std::str::from_utf8(pair).expect("ascii hex");
                        u8::from_str_radix(text, 16).expect("hex digit pair")
                    })
                    .collect()
            }
            Json::Array(parts) => parts.iter().flat_map(bytes_of).collect(),
            Json::Object(run) => {
                let unit = bytes_of(&run["repeat"]);
                let count = run["count"].as_u64().expect("count") as usize;
                unit.repeat(count)
            }
            other => panic!("not a byte string: {other}"),
        }
    }

    fn vectors() -> Json {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../protocol/vectors/v1.json"
        );
        let text = std::fs::read_to_string(path).expect("protocol/vectors/v1.json");
        serde_json::from_str(&text).expect("v1.json parses")
    }

    /// What the decoder made of a whole buffer, in the vectors' terms.
    #[derive(Debug, PartialEq)]
    enum Outcome {
        NeedMore,
        Invalid,
        Reply {
            status: u8,
            body: Vec<u8>,
            frame_len: usize,
        },
    }

    fn expected(case: &Json) -> Outcome {
        let expect = &case["expect"];
        match expect["outcome"].as_str().expect("outcome") {
            "need_more" => Outcome::NeedMore,
            "invalid" => Outcome::Invalid,
            "reply" => Outcome::Reply {
                status: expect["status_code"].as_u64().expect("status_code") as u8,
                body: bytes_of(&expect["body"]),
                frame_len: expect["frame_len"].as_u64().expect("frame_len") as usize,
            },
            other => panic!("unknown outcome {other}"),
        }
    }

    fn decode_whole(bytes: &[u8], max_frame_bytes: u32) -> Outcome {
        match decode_reply(bytes, max_frame_bytes) {
            Ok(None) => Outcome::NeedMore,
            Err(_) => Outcome::Invalid,
            Ok(Some((reply, frame_len))) => Outcome::Reply {
                status: reply.status,
                body: reply.body.to_vec(),
                frame_len,
            },
        }
    }

    /// Feeds `bytes` one at a time through a `ReplyBuffer`, as a socket
    /// that delivers a byte per read would.
    fn decode_trickled(bytes: &[u8], max_frame_bytes: u32) -> Outcome {
        let mut buffer = ReplyBuffer::new();
        buffer.set_max_frame_bytes(max_frame_bytes);
        for (index, &byte) in bytes.iter().enumerate() {
            buffer.spare_mut()[0] = byte;
            buffer.filled(1);
            match buffer.next_reply() {
                Ok(None) => continue,
                Err(_) => return Outcome::Invalid,
                Ok(Some(reply)) => {
                    let (status, body) = (reply.status, reply.body.to_vec());
                    assert_eq!(buffer.pending_bytes(), 0, "the frame is consumed whole");
                    return Outcome::Reply {
                        status,
                        body,
                        frame_len: index + 1,
                    };
                }
            }
        }
        Outcome::NeedMore
    }

    #[test]
    fn decode_reply_vectors_whole_and_trickled() {
        let vectors = vectors();
        let cases = vectors["decode_reply"]
            .as_array()
            .expect("decode_reply cases");
        assert_eq!(cases.len(), 9, "a change to the vectors must be seen here");
        for case in cases {
            let name = case["name"].as_str().expect("name");
            let max_frame_bytes = case["max_frame_bytes"].as_u64().expect("limit") as u32;
            let bytes = bytes_of(&case["bytes"]);
            let want = expected(case);
            assert_eq!(
                decode_whole(&bytes, max_frame_bytes),
                want,
                "{name} (whole buffer)"
            );
            assert_eq!(
                decode_trickled(&bytes, max_frame_bytes),
                want,
                "{name} (byte by byte)"
            );
        }
    }

    #[test]
    fn header_is_judged_before_the_body_arrives() {
        assert_eq!(
            decode_reply(b"-", 4096),
            Err(ProtocolError::ForeignByte(b'-'))
        );
        assert_eq!(
            decode_reply(&[0, 0, 0x10, 0x01], 4096),
            Err(ProtocolError::FrameTooLarge {
                frame_bytes: 4097,
                max_frame_bytes: 4096
            })
        );
        assert_eq!(decode_reply(&[0, 0, 0], 4096), Ok(None));
    }

    #[test]
    fn replies_decode_in_order_across_compaction_and_growth() {
        let mut stream = Vec::new();
        for i in 0..200u32 {
            let body = vec![i as u8; (i as usize * 97) % 9000];
            stream.extend_from_slice(&(1 + body.len() as u32).to_be_bytes());
            stream.push(0);
            stream.extend_from_slice(&body);
        }
        let mut buffer = ReplyBuffer::new();
        let (mut offset, mut next) = (0, 0u32);
        while offset < stream.len() {
            let spare = buffer.spare_mut();
            let n = spare.len().min(3000).min(stream.len() - offset);
            spare[..n].copy_from_slice(&stream[offset..offset + n]);
            buffer.filled(n);
            offset += n;
            while let Some(reply) = buffer.next_reply().expect("valid stream") {
                assert_eq!(reply.body.len(), (next as usize * 97) % 9000);
                assert!(reply.body.iter().all(|&b| b == next as u8));
                next += 1;
            }
        }
        assert_eq!(next, 200);
        assert_eq!(buffer.pending_bytes(), 0);
    }

    /// The session vectors' request frames, re-encoded, are byte-identical
    /// to what the vectors send (every command and field layout).
    #[test]
    fn encode_matches_the_decode_request_vectors() {
        let vectors = vectors();
        let mut encoded = 0;
        for case in vectors["decode_request"]
            .as_array()
            .expect("decode_request")
        {
            let expect = &case["expect"];
            if expect["outcome"] != "request" {
                continue;
            }
            let request = &expect["request"];
            let bytes = bytes_of(&case["bytes"]);
            let frame_len = expect["frame_len"].as_u64().expect("frame_len") as usize;
            let key = request.get("key").map(bytes_of).unwrap_or_default();
            let value = request.get("value").map(bytes_of).unwrap_or_default();
            let token = request.get("token").map(bytes_of).unwrap_or_default();
            let ttl_ms = request["ttl_ms"]
                .as_str()
                .map_or(0, |t| t.parse().expect("u64"));
            let version = request["version"].as_u64().unwrap_or(0) as u8;
            let req = match request["command"].as_str().expect("command") {
                "PING" => Request::Ping,
                "HELLO" => Request::Hello { version },
                "AUTH" => Request::Auth { token: &token },
                "GET" => Request::Get { key: &key },
                "SET" => Request::Set {
                    key: &key,
                    value: &value,
                    ttl_ms,
                },
                "DEL" => Request::Del { key: &key },
                "EXPIRE" => Request::Expire { key: &key, ttl_ms },
                "TTL" => Request::Ttl { key: &key },
                "STATS" => Request::Stats,
                other => panic!("unknown command {other}"),
            };
            let mut out = vec![0xAA];
            req.encode(&mut out);
            assert_eq!(&out[1..], &bytes[..frame_len], "{}", case["name"]);
            assert_eq!(req.payload_bytes() + HEADER_BYTES, frame_len);
            encoded += 1;
        }
        assert!(encoded >= 20, "only {encoded} request vectors encoded");
    }

    #[test]
    fn every_defined_status_round_trips_and_others_are_unknown() {
        let defined = (0..=255u8).filter_map(Status::from_code).count();
        assert_eq!(defined, 15);
        for code in 0..=255u8 {
            if let Some(status) = Status::from_code(code) {
                assert_eq!(status.code(), code);
            }
        }
        assert_eq!(Status::from_code(0x42), None);
    }
}
