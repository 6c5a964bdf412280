//! The Blink wire format, versions 1 and 2 (SPEC §3, §5, §6), and nothing
//! else: requests are encoded into a caller's reused buffer, replies are
//! decoded incrementally from a [`ReplyBuffer`] with a read offset, and the
//! bodies with a layout of their own (INCR's `i64`, APPEND's `u64`, SCAN's
//! page) are read by the `decode_*_body` functions. No I/O, no connection
//! state: which version a connection negotiated is the session's business.
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

/// The highest protocol version this client speaks: what its HELLO asks for.
pub const PROTOCOL_VERSION: u8 = 2;
/// The lowest version this client speaks, and the one every connection
/// speaks until a HELLO negotiates another (SPEC §10).
pub const MIN_PROTOCOL_VERSION: u8 = 1;
/// Bytes of the length prefix of every frame.
pub const HEADER_BYTES: usize = 4;
/// No valid frame is longer than this (SPEC §4): the limit applied to
/// replies before HELLO reports the real one.
pub const MAX_FRAME_BYTES_CEILING: u32 = 0x1000_0000;
/// The server's frame limit before AUTH succeeds (SPEC §11).
pub const PRE_AUTH_MAX_FRAME_BYTES: u32 = 4096;
/// Fixed bytes of a SET payload: opcode, `ttl_ms`, `key_len`. The same for
/// ADD, REPLACE and EXPIRE; INCR's `delta` and SCAN's `cursor` and `count`
/// come to the same 11 bytes.
pub const SET_OVERHEAD_BYTES: usize = 11;
/// Bytes of the HELLO reply body in versions 1 and 2 (SPEC §6.3).
pub const HELLO_BODY_BYTES: usize = 14;
/// Bytes of SCAN's `next_cursor`, the fixed head of its reply body.
pub const SCAN_CURSOR_BYTES: usize = 8;
/// Bytes of the `key_len` before each key of a SCAN reply body.
const KEY_LEN_BYTES: usize = 2;
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
    Add = 0x15,
    Replace = 0x16,
    Incr = 0x17,
    Append = 0x18,
    Stats = 0x20,
    Flush = 0x21,
    Scan = 0x22,
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
            Opcode::Add => "ADD",
            Opcode::Replace => "REPLACE",
            Opcode::Incr => "INCR",
            Opcode::Append => "APPEND",
            Opcode::Stats => "STATS",
            Opcode::Flush => "FLUSH",
            Opcode::Scan => "SCAN",
        }
    }

    /// The protocol version that added the command: a connection at a lower
    /// version does not know it (SPEC §10).
    pub(crate) fn version(self) -> u8 {
        match self {
            Opcode::Add
            | Opcode::Replace
            | Opcode::Incr
            | Opcode::Append
            | Opcode::Flush
            | Opcode::Scan => 2,
            Opcode::Ping
            | Opcode::Hello
            | Opcode::Auth
            | Opcode::Get
            | Opcode::Set
            | Opcode::Del
            | Opcode::Expire
            | Opcode::Ttl
            | Opcode::Stats => 1,
        }
    }
}

/// Reply statuses defined by versions 1 and 2 (SPEC §6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum Status {
    /// Success.
    Ok = 0x00,
    /// The key does not exist or has expired.
    NotFound = 0x01,
    /// ADD found the key already there; nothing changed (v2).
    Exists = 0x02,
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
    /// INCR found a value that is not a decimal `i64`, or the result would
    /// overflow; nothing changed (v2).
    NotInteger = 0x8D,
}

impl Status {
    /// The status for a code, or `None` for a code neither version defines.
    pub fn from_code(code: u8) -> Option<Status> {
        use Status::*;
        Some(match code {
            0x00 => Ok,
            0x01 => NotFound,
            0x02 => Exists,
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
            0x8D => NotInteger,
            _ => return None,
        })
    }

    /// The status byte.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The status's name as SPEC §6.2 spells it (`"ERR_NOT_INTEGER"`).
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::NotFound => "NOT_FOUND",
            Status::Exists => "EXISTS",
            Status::UnknownCommand => "ERR_UNKNOWN_COMMAND",
            Status::Malformed => "ERR_MALFORMED",
            Status::FrameTooLarge => "ERR_FRAME_TOO_LARGE",
            Status::KeyTooLarge => "ERR_KEY_TOO_LARGE",
            Status::ValueTooLarge => "ERR_VALUE_TOO_LARGE",
            Status::ItemTooLarge => "ERR_ITEM_TOO_LARGE",
            Status::AuthRequired => "ERR_AUTH_REQUIRED",
            Status::AuthFailed => "ERR_AUTH_FAILED",
            Status::UnsupportedVersion => "ERR_UNSUPPORTED_VERSION",
            Status::TooManyConnections => "ERR_TOO_MANY_CONNECTIONS",
            Status::Timeout => "ERR_TIMEOUT",
            Status::Busy => "ERR_BUSY",
            Status::ShuttingDown => "ERR_SHUTTING_DOWN",
            Status::NotInteger => "ERR_NOT_INTEGER",
        }
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

/// One request, borrowing its key, value, suffix, prefix or token from the
/// caller.
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
    Add {
        key: &'a [u8],
        value: &'a [u8],
        ttl_ms: u64,
    },
    Replace {
        key: &'a [u8],
        value: &'a [u8],
        ttl_ms: u64,
    },
    Incr {
        key: &'a [u8],
        delta: i64,
    },
    Append {
        key: &'a [u8],
        suffix: &'a [u8],
    },
    Stats,
    Flush,
    Scan {
        cursor: u64,
        count: u16,
        prefix: &'a [u8],
    },
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
            Request::Add { .. } => Opcode::Add,
            Request::Replace { .. } => Opcode::Replace,
            Request::Incr { .. } => Opcode::Incr,
            Request::Append { .. } => Opcode::Append,
            Request::Stats => Opcode::Stats,
            Request::Flush => Opcode::Flush,
            Request::Scan { .. } => Opcode::Scan,
        }
    }

    /// The key, for the commands that have one. SCAN's prefix is not a key:
    /// no key limit applies to it (only the frame limit).
    pub(crate) fn key(&self) -> Option<&[u8]> {
        match *self {
            Request::Get { key }
            | Request::Set { key, .. }
            | Request::Del { key }
            | Request::Expire { key, .. }
            | Request::Ttl { key }
            | Request::Add { key, .. }
            | Request::Replace { key, .. }
            | Request::Incr { key, .. }
            | Request::Append { key, .. } => Some(key),
            Request::Ping
            | Request::Hello { .. }
            | Request::Auth { .. }
            | Request::Stats
            | Request::Flush
            | Request::Scan { .. } => None,
        }
    }

    /// The sizes the limits are checked on: the value of SET, ADD and
    /// REPLACE and the suffix of APPEND count against `max_value_bytes`
    /// (SPEC §7.1 step 10).
    pub(crate) fn shape(&self) -> Shape {
        let value_bytes = match self {
            Request::Set { value, .. }
            | Request::Add { value, .. }
            | Request::Replace { value, .. } => value.len(),
            Request::Append { suffix, .. } => suffix.len(),
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
            Request::Ping | Request::Stats | Request::Flush => 1,
            Request::Hello { .. } => 2,
            Request::Auth { token } => 1 + token.len(),
            Request::Get { key } | Request::Del { key } | Request::Ttl { key } => key_frame(key),
            Request::Set { key, value, .. }
            | Request::Add { key, value, .. }
            | Request::Replace { key, value, .. } => SET_OVERHEAD_BYTES + key.len() + value.len(),
            Request::Expire { key, .. } | Request::Incr { key, .. } => {
                SET_OVERHEAD_BYTES + key.len()
            }
            Request::Append { key, suffix } => key_frame(key) + suffix.len(),
            Request::Scan { prefix, .. } => SET_OVERHEAD_BYTES + prefix.len(),
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
            Request::Ping | Request::Stats | Request::Flush => {}
            Request::Hello { version } => out.push(version),
            Request::Auth { token } => out.extend_from_slice(token),
            Request::Get { key } | Request::Del { key } | Request::Ttl { key } => {
                put_key(out, key);
            }
            Request::Set { key, value, ttl_ms }
            | Request::Add { key, value, ttl_ms }
            | Request::Replace { key, value, ttl_ms } => {
                out.extend_from_slice(&ttl_ms.to_be_bytes());
                put_key(out, key);
                out.extend_from_slice(value);
            }
            Request::Expire { key, ttl_ms } => {
                out.extend_from_slice(&ttl_ms.to_be_bytes());
                put_key(out, key);
            }
            Request::Incr { key, delta } => {
                // Two's complement, big-endian (SPEC §5).
                out.extend_from_slice(&delta.to_be_bytes());
                put_key(out, key);
            }
            Request::Append { key, suffix } => {
                put_key(out, key);
                out.extend_from_slice(suffix);
            }
            Request::Scan {
                cursor,
                count,
                prefix,
            } => {
                out.extend_from_slice(&cursor.to_be_bytes());
                out.extend_from_slice(&count.to_be_bytes());
                out.extend_from_slice(prefix);
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
    /// The status byte (possibly one no version defines).
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

/// An 8-byte OK body as a `u64`: APPEND's new length, TTL's `remaining_ms`.
/// `None` for a body of any other length.
pub fn decode_u64_body(body: &[u8]) -> Option<u64> {
    body.try_into().ok().map(u64::from_be_bytes)
}

/// An 8-byte OK body as an `i64` in two's complement: INCR's new value.
/// `None` for a body of any other length.
pub fn decode_i64_body(body: &[u8]) -> Option<i64> {
    body.try_into().ok().map(i64::from_be_bytes)
}

/// SCAN's OK body (SPEC §6.3): the cursor to send next (0: the walk is
/// complete), then each key behind its `u16` length, filling the body
/// exactly. `None` when the body is shorter than the cursor, a key runs
/// past the end, or a lone byte is left over.
///
/// ```text
/// +------------------+-------------+------+-----+-------------+------+
/// | next_cursor: u64 | key_len: u16| key  | ... | key_len: u16| key  |
/// +------------------+-------------+------+-----+-------------+------+
///   8                  2             k1          2             kn
/// ```
///
/// ```
/// use blink_client::wire::decode_scan_body;
///
/// let body = [0, 0, 0, 0, 0, 0, 0, 7, 0, 2, b'k', b'1', 0, 0];
/// let (next_cursor, keys) = decode_scan_body(&body).expect("a valid page");
/// assert_eq!((next_cursor, keys), (7, vec![&b"k1"[..], &b""[..]]));
/// assert_eq!(decode_scan_body(&body[..11]), None, "k1 runs past the end");
/// ```
pub fn decode_scan_body(body: &[u8]) -> Option<(u64, Vec<&[u8]>)> {
    let (cursor, mut rest) = body.split_first_chunk::<SCAN_CURSOR_BYTES>()?;
    let mut keys = Vec::new();
    while !rest.is_empty() {
        let (key_len, after) = rest.split_first_chunk::<KEY_LEN_BYTES>()?;
        let key_len = usize::from(u16::from_be_bytes(*key_len));
        let key = after.get(..key_len)?;
        keys.push(key);
        rest = &after[key_len..];
    }
    Some((u64::from_be_bytes(*cursor), keys))
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

    /// The two vector files: every v1 case holds unchanged for a v2 client.
    const VECTOR_FILES: [&str; 2] = ["v1.json", "v2.json"];

    fn vectors(file: &str) -> Json {
        let path = format!(
            "{}/../../../protocol/vectors/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file} parses: {e}"))
    }

    /// The version a case is decoded at: its own `version`, else its file's.
    fn version_of(vectors: &Json, case: &Json) -> u8 {
        let version = case.get("version").unwrap_or(&vectors["protocol_version"]);
        version.as_u64().expect("a version number") as u8
    }

    fn u64_of(value: &Json) -> u64 {
        value
            .as_str()
            .expect("a decimal string")
            .parse()
            .expect("u64")
    }

    fn i64_of(value: &Json) -> i64 {
        value
            .as_str()
            .expect("a decimal string")
            .parse()
            .expect("i64")
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
        // A change to the vectors must be seen here.
        for (file, count) in VECTOR_FILES.into_iter().zip([9, 2]) {
            let vectors = vectors(file);
            let cases = vectors["decode_reply"]
                .as_array()
                .expect("decode_reply cases");
            assert_eq!(cases.len(), count, "{file}: decode_reply cases");
            for case in cases {
                let name = format!("{file} {}", case["name"].as_str().expect("name"));
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
    }

    /// Every `encode_reply` frame of both files decodes whole, its status is
    /// the one named, and the v2 bodies (`integer`, `length`, `scan`) read
    /// back as the values the case encoded.
    #[test]
    fn encode_reply_vectors_decode_to_their_inputs() {
        let mut bodies_read = 0;
        for file in VECTOR_FILES {
            let vectors = vectors(file);
            for case in vectors["encode_reply"].as_array().expect("encode_reply") {
                let name = format!("{file} {}", case["name"].as_str().expect("name"));
                let bytes = bytes_of(&case["bytes"]);
                let decoded = decode_reply(&bytes, MAX_FRAME_BYTES_CEILING).expect(&name);
                let (reply, frame_len) = decoded.unwrap_or_else(|| panic!("{name}: whole"));
                assert_eq!(frame_len, bytes.len(), "{name}: one frame");
                let input = &case["reply"];
                let status = Status::from_code(reply.status).expect("a defined status");
                match input["kind"].as_str().expect("kind") {
                    "status" | "error" => {
                        assert_eq!(status.name(), input["status"], "{name}: status");
                    }
                    kind => assert_eq!(status, Status::Ok, "{name}: a {kind} reply is OK"),
                }
                match input["kind"].as_str().expect("kind") {
                    "integer" => {
                        let value = decode_i64_body(reply.body);
                        assert_eq!(value, Some(i64_of(&input["value"])), "{name}");
                    }
                    "length" => {
                        let length = decode_u64_body(reply.body);
                        assert_eq!(length, Some(u64_of(&input["length"])), "{name}");
                    }
                    "scan" => {
                        let keys: Vec<Vec<u8>> = input["keys"]
                            .as_array()
                            .expect("keys")
                            .iter()
                            .map(bytes_of)
                            .collect();
                        let want = (u64_of(&input["next_cursor"]), keys);
                        let page = decode_scan_body(reply.body).map(|(cursor, keys)| {
                            (cursor, keys.into_iter().map(<[u8]>::to_vec).collect())
                        });
                        assert_eq!(page, Some(want), "{name}");
                    }
                    _ => continue,
                }
                bodies_read += 1;
            }
        }
        assert_eq!(bodies_read, 6, "v2.json's integer, length and scan replies");
    }

    #[test]
    fn scan_bodies_must_fill_the_body_exactly() {
        let page = |tail: &[u8]| [&7u64.to_be_bytes()[..], tail].concat();
        assert_eq!(decode_scan_body(&page(b"")), Some((7, vec![])));
        assert_eq!(
            decode_scan_body(&page(b"\x00\x01a\x00\x00")),
            Some((7, vec![&b"a"[..], &b""[..]]))
        );
        assert_eq!(
            decode_scan_body(&7u64.to_be_bytes()[..7]),
            None,
            "no cursor"
        );
        assert_eq!(decode_scan_body(&page(b"\x00")), None, "half a key_len");
        assert_eq!(decode_scan_body(&page(b"\x00\x03ab")), None, "key overruns");
        assert_eq!(
            decode_scan_body(&page(b"\x00\x01ab")),
            None,
            "a byte left over"
        );
        let long_key = [&[0xff, 0xff][..], &[b'k'; 0xffff]].concat();
        let keys = decode_scan_body(&page(&long_key)).map(|(_, keys)| keys.len());
        assert_eq!(keys, Some(1), "a u16::MAX key");
    }

    #[test]
    fn eight_byte_bodies_are_exactly_eight_bytes() {
        assert_eq!(decode_i64_body(&(-2i64).to_be_bytes()), Some(-2));
        assert_eq!(decode_i64_body(&i64::MIN.to_be_bytes()), Some(i64::MIN));
        assert_eq!(decode_u64_body(&u64::MAX.to_be_bytes()), Some(u64::MAX));
        for body in [&b""[..], b"1234567", b"123456789"] {
            assert_eq!(decode_i64_body(body), None);
            assert_eq!(decode_u64_body(body), None);
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

    /// Every opcode, for reading a frame's first payload byte in the tests.
    const OPCODES: [Opcode; 15] = [
        Opcode::Ping,
        Opcode::Hello,
        Opcode::Auth,
        Opcode::Get,
        Opcode::Set,
        Opcode::Del,
        Opcode::Expire,
        Opcode::Ttl,
        Opcode::Add,
        Opcode::Replace,
        Opcode::Incr,
        Opcode::Append,
        Opcode::Stats,
        Opcode::Flush,
        Opcode::Scan,
    ];

    /// The request a `decode_request` case's `request` object describes.
    fn request_of<'a>(request: &Json, fields: &'a Fields) -> Request<'a> {
        let ttl_ms = request.get("ttl_ms").map_or(0, u64_of);
        let version = request["version"].as_u64().unwrap_or(0) as u8;
        let (key, value) = (&fields.key[..], &fields.value[..]);
        match request["command"].as_str().expect("command") {
            "PING" => Request::Ping,
            "HELLO" => Request::Hello { version },
            "AUTH" => Request::Auth {
                token: &fields.token,
            },
            "GET" => Request::Get { key },
            "SET" => Request::Set { key, value, ttl_ms },
            "DEL" => Request::Del { key },
            "EXPIRE" => Request::Expire { key, ttl_ms },
            "TTL" => Request::Ttl { key },
            "STATS" => Request::Stats,
            "ADD" => Request::Add { key, value, ttl_ms },
            "REPLACE" => Request::Replace { key, value, ttl_ms },
            "INCR" => Request::Incr {
                key,
                delta: i64_of(&request["delta"]),
            },
            "APPEND" => Request::Append {
                key,
                suffix: &fields.suffix,
            },
            "FLUSH" => Request::Flush,
            "SCAN" => Request::Scan {
                cursor: u64_of(&request["cursor"]),
                count: request["count"].as_u64().expect("count") as u16,
                prefix: &fields.prefix,
            },
            other => panic!("unknown command {other}"),
        }
    }

    /// A request's byte-string fields, owned for the borrowed [`Request`].
    struct Fields {
        key: Vec<u8>,
        value: Vec<u8>,
        token: Vec<u8>,
        suffix: Vec<u8>,
        prefix: Vec<u8>,
    }

    impl Fields {
        fn of(request: &Json) -> Fields {
            let field = |name: &str| request.get(name).map(bytes_of).unwrap_or_default();
            Fields {
                key: field("key"),
                value: field("value"),
                token: field("token"),
                suffix: field("suffix"),
                prefix: field("prefix"),
            }
        }
    }

    /// Every `request` case of both files, re-encoded, is byte-identical to
    /// the case's frame (every command and field layout), and its command
    /// exists at the case's version; the v2 opcodes a v1 connection refuses
    /// as unknown are ones the client knows to need version 2.
    #[test]
    fn encode_matches_the_decode_request_vectors() {
        for (file, count) in VECTOR_FILES.into_iter().zip([27, 14]) {
            let vectors = vectors(file);
            let mut encoded = 0;
            for case in vectors["decode_request"]
                .as_array()
                .expect("decode_request")
            {
                let name = format!("{file} {}", case["name"].as_str().expect("name"));
                let version = version_of(&vectors, case);
                let expect = &case["expect"];
                let bytes = bytes_of(&case["bytes"]);
                if expect["outcome"] == "rejected" && expect["status"] == "ERR_UNKNOWN_COMMAND" {
                    let op = OPCODES
                        .into_iter()
                        .find(|op| bytes.get(4) == Some(&(*op as u8)));
                    if let Some(op) = op {
                        assert!(
                            op.version() > version,
                            "{name}: {op:?} at version {version}"
                        );
                    }
                    continue;
                }
                if expect["outcome"] != "request" {
                    continue;
                }
                let fields = Fields::of(&expect["request"]);
                let req = request_of(&expect["request"], &fields);
                let frame_len = expect["frame_len"].as_u64().expect("frame_len") as usize;
                let mut out = vec![0xAA];
                req.encode(&mut out);
                assert_eq!(&out[1..], &bytes[..frame_len], "{name}");
                assert_eq!(req.payload_bytes() + HEADER_BYTES, frame_len, "{name}");
                assert!(
                    req.opcode().version() <= version,
                    "{name}: at version {version}"
                );
                encoded += 1;
            }
            assert_eq!(encoded, count, "{file}: request vectors encoded");
        }
    }

    #[test]
    fn the_v2_commands_are_the_ones_that_need_version_2() {
        let v2: Vec<&str> = OPCODES
            .into_iter()
            .filter(|op| op.version() == 2)
            .map(Opcode::name)
            .collect();
        assert_eq!(v2, ["ADD", "REPLACE", "INCR", "APPEND", "FLUSH", "SCAN"]);
        assert!(
            OPCODES
                .into_iter()
                .all(|op| op.version() <= PROTOCOL_VERSION)
        );
    }

    #[test]
    fn every_defined_status_round_trips_and_others_are_unknown() {
        let defined: Vec<Status> = (0..=255u8).filter_map(Status::from_code).collect();
        assert_eq!(defined.len(), 17);
        for status in &defined {
            assert_eq!(Status::from_code(status.code()), Some(*status));
        }
        let names: std::collections::HashSet<_> = defined.iter().map(|s| s.name()).collect();
        assert_eq!(names.len(), defined.len(), "names are distinct");
        assert_eq!(Status::from_code(0x02), Some(Status::Exists));
        assert_eq!(Status::from_code(0x8D), Some(Status::NotInteger));
        assert!(!Status::NotInteger.closes_connection());
        assert_eq!(Status::from_code(0x03), None);
        assert_eq!(Status::from_code(0x8E), None);
    }
}
