//! Encoders: requests (the client half) and replies (the server half), each
//! appended to a caller's `Vec<u8>`. Nothing here allocates beyond the
//! growth of that buffer, so a server that reuses its output buffer encodes
//! replies without allocating at all.

use std::io::Write as _;

use super::{
    HEADER_BYTES, HELLO_FLAG_AUTH_REQUIRED, HELLO_REPLY_BODY_BYTES, Limits, Request, Status,
};

/// Appends `request` as one frame.
///
/// # Panics
/// If a key is longer than 65 535 bytes (`key_len` is a u16) or the payload
/// is longer than `u32::MAX`. Such a request has no encoding; a client checks
/// its sizes against the server's HELLO limits first.
///
/// ```
/// use blink_store::protocol::{Request, encode_request};
/// let mut out = Vec::new();
/// encode_request(&Request::Del { key: b"k" }, &mut out);
/// assert_eq!(out, b"\x00\x00\x00\x04\x12\x00\x01k");
/// ```
pub fn encode_request(request: &Request<'_>, out: &mut Vec<u8>) {
    let payload_len = payload_len(request);
    out.reserve(HEADER_BYTES + payload_len);
    put_header(payload_len, out);
    out.push(request.opcode() as u8);
    match *request {
        Request::Ping | Request::Stats | Request::Flush => {}
        Request::Hello { version } => out.push(version),
        Request::Auth { token } => out.extend_from_slice(token),
        Request::Get { key } | Request::Del { key } | Request::Ttl { key } => put_key(key, out),
        Request::Set { key, value, ttl_ms }
        | Request::Add { key, value, ttl_ms }
        | Request::Replace { key, value, ttl_ms } => {
            out.extend_from_slice(&ttl_ms.to_be_bytes());
            put_key(key, out);
            out.extend_from_slice(value);
        }
        Request::Expire { key, ttl_ms } => {
            out.extend_from_slice(&ttl_ms.to_be_bytes());
            put_key(key, out);
        }
        Request::Incr { key, delta } => {
            out.extend_from_slice(&delta.to_be_bytes());
            put_key(key, out);
        }
        Request::Append { key, suffix } => {
            put_key(key, out);
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

/// Payload bytes of `request`: opcode plus fields.
fn payload_len(request: &Request<'_>) -> usize {
    const OPCODE: usize = 1;
    const KEY_LEN: usize = 2;
    const TTL: usize = 8;
    const CURSOR_AND_COUNT: usize = 8 + 2;
    OPCODE
        + match *request {
            Request::Ping | Request::Stats | Request::Flush => 0,
            Request::Hello { .. } => 1,
            Request::Auth { token } => token.len(),
            Request::Get { key } | Request::Del { key } | Request::Ttl { key } => {
                KEY_LEN + key.len()
            }
            Request::Set { key, value, .. }
            | Request::Add { key, value, .. }
            | Request::Replace { key, value, .. } => TTL + KEY_LEN + key.len() + value.len(),
            // INCR's delta is as wide as a TTL.
            Request::Expire { key, .. } | Request::Incr { key, .. } => TTL + KEY_LEN + key.len(),
            Request::Append { key, suffix } => KEY_LEN + key.len() + suffix.len(),
            Request::Scan { prefix, .. } => CURSOR_AND_COUNT + prefix.len(),
        }
}

fn put_header(payload_len: usize, out: &mut Vec<u8>) {
    let len = u32::try_from(payload_len).expect("frame payload longer than u32::MAX");
    out.extend_from_slice(&len.to_be_bytes());
}

fn put_key(key: &[u8], out: &mut Vec<u8>) {
    let key_len = u16::try_from(key.len()).expect("key longer than 65 535 bytes");
    out.extend_from_slice(&key_len.to_be_bytes());
    out.extend_from_slice(key);
}

/// Appends one reply frame: `status` then `body`.
///
/// Error replies carry `status.message()` (or a more specific text) as body.
///
/// # Panics
/// If `body` is longer than `u32::MAX - 1` bytes.
///
/// ```
/// use blink_store::protocol::{Status, encode_reply};
/// let mut out = Vec::new();
/// encode_reply(Status::NotFound, b"", &mut out);
/// assert_eq!(out, b"\x00\x00\x00\x01\x01");
/// ```
pub fn encode_reply(status: Status, body: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(1 + body.len()).expect("reply body longer than u32::MAX - 1");
    let [a, b, c, d] = len.to_be_bytes();
    out.reserve(HEADER_BYTES + 1 + body.len());
    // Header and status in one append: one capacity check, not two.
    out.extend_from_slice(&[a, b, c, d, status as u8]);
    out.extend_from_slice(body);
}

/// Appends the OK reply to HELLO: the negotiated `version`, the flags, and
/// `limits`.
///
/// `auth_required` sets flag bit 0: this connection must AUTH before data
/// commands.
///
/// ```
/// use blink_store::protocol::{HelloReply, Limits, encode_hello_reply};
/// let mut out = Vec::new();
/// encode_hello_reply(2, &Limits::DEFAULT, true, &mut out);
/// let hello = HelloReply::parse(&out[5..]).unwrap(); // body after header and status
/// assert_eq!(hello.version, 2);
/// assert!(hello.auth_required);
/// assert_eq!(hello.limits, Limits::DEFAULT);
/// ```
pub fn encode_hello_reply(version: u8, limits: &Limits, auth_required: bool, out: &mut Vec<u8>) {
    let flags = if auth_required {
        HELLO_FLAG_AUTH_REQUIRED
    } else {
        0
    };
    put_header(1 + HELLO_REPLY_BODY_BYTES, out);
    out.push(Status::Ok as u8);
    out.extend_from_slice(&[version, flags]);
    for limit in [
        limits.max_frame_bytes,
        limits.max_key_bytes,
        limits.max_value_bytes,
    ] {
        out.extend_from_slice(&limit.to_be_bytes());
    }
}

/// Appends the OK reply to TTL: `Some(remaining_ms)` as a u64 body, or an
/// empty body for a key without a TTL.
///
/// ```
/// use blink_store::protocol::encode_ttl_reply;
/// let mut out = Vec::new();
/// encode_ttl_reply(Some(1500), &mut out);
/// assert_eq!(out, b"\x00\x00\x00\x09\x00\x00\x00\x00\x00\x00\x00\x05\xdc");
/// ```
pub fn encode_ttl_reply(remaining_ms: Option<u64>, out: &mut Vec<u8>) {
    match remaining_ms {
        Some(ms) => encode_reply(Status::Ok, &ms.to_be_bytes(), out),
        None => encode_reply(Status::Ok, &[], out),
    }
}

/// A reply whose body is written piecewise straight into the output buffer
/// (STATS): `begin` reserves the header, `finish` patches in the length.
///
/// ```
/// use blink_store::protocol::{ReplyWriter, Status, write_stat_line};
/// let mut out = Vec::new();
/// let reply = ReplyWriter::begin(Status::Ok, &mut out);
/// write_stat_line(&mut out, "items", 3);
/// write_stat_line(&mut out, "hits", 10);
/// reply.finish(&mut out);
/// assert_eq!(out, b"\x00\x00\x00\x11\x00items 3\nhits 10\n");
/// ```
#[must_use = "a reply without finish() has a zero length header"]
#[derive(Debug)]
pub struct ReplyWriter {
    /// Offset of the reply's header in the output buffer.
    header_at: usize,
}

impl ReplyWriter {
    /// Appends a placeholder header and `status`; the body follows in `out`.
    pub fn begin(status: Status, out: &mut Vec<u8>) -> ReplyWriter {
        let header_at = out.len();
        out.extend_from_slice(&[0; HEADER_BYTES]);
        out.push(status as u8);
        ReplyWriter { header_at }
    }

    /// Writes the final length into the header.
    ///
    /// # Panics
    /// If `out` is not the buffer given to `begin` (it is shorter than at
    /// `begin`) or the body exceeds `u32::MAX - 1` bytes.
    pub fn finish(self, out: &mut [u8]) {
        let body_start = self.header_at + HEADER_BYTES;
        let len = u32::try_from(out.len() - body_start).expect("reply longer than u32::MAX");
        out[self.header_at..body_start].copy_from_slice(&len.to_be_bytes());
    }
}

/// Appends one key of a SCAN reply's body: `key_len u16`, then the key.
///
/// # Panics
/// If the key is longer than 65 535 bytes (no stored key is).
pub fn put_scan_key(key: &[u8], out: &mut Vec<u8>) {
    put_key(key, out);
}

/// Appends one STATS line, `name value\n`.
///
/// `name` must match `[a-z0-9_]+` (checked in debug builds).
pub fn write_stat_line(out: &mut Vec<u8>, name: &str, value: u64) {
    debug_assert!(
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
        "stat name {name:?} is not [a-z0-9_]+"
    );
    // Writing to a Vec cannot fail.
    let _ = writeln!(out, "{name} {value}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_reply_layout() {
        let mut out = Vec::new();
        encode_hello_reply(1, &Limits::DEFAULT, true, &mut out);
        assert_eq!(
            out,
            b"\x00\x00\x00\x0f\x00\x01\x01\x00\x10\x10\x00\x00\x00\x04\x00\x00\x10\x00\x00"
        );
    }

    #[test]
    fn ttl_replies() {
        let mut out = Vec::new();
        encode_ttl_reply(Some(1500), &mut out);
        encode_ttl_reply(None, &mut out);
        assert_eq!(
            out,
            b"\x00\x00\x00\x09\x00\x00\x00\x00\x00\x00\x00\x05\xdc\x00\x00\x00\x01\x00"
        );
    }

    #[test]
    fn replies_append_after_existing_output() {
        let mut out = b"prior".to_vec();
        let reply = ReplyWriter::begin(Status::Ok, &mut out);
        out.extend_from_slice(b"xy");
        reply.finish(&mut out);
        encode_reply(Status::KeyTooLarge, b"key too large", &mut out);
        assert_eq!(
            out,
            b"prior\x00\x00\x00\x03\x00xy\x00\x00\x00\x0e\x83key too large"
        );
    }

    #[test]
    fn empty_stats_body_is_a_bare_ok() {
        let mut out = Vec::new();
        ReplyWriter::begin(Status::Ok, &mut out).finish(&mut out);
        assert_eq!(out, b"\x00\x00\x00\x01\x00");
    }

    #[test]
    #[should_panic(expected = "key longer than 65 535 bytes")]
    fn oversized_key_has_no_encoding() {
        let key = vec![0; 65_536];
        encode_request(&Request::Get { key: &key }, &mut Vec::new());
    }
}
