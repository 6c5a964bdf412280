//! One trait, three wire protocols: how a request is encoded and a reply
//! recognised.
//!
//! The event loop is generic over [`Adapter`], so a run is monomorphised for
//! its protocol and the hot path has no dynamic dispatch. Parsers follow
//! the "check the whole reply is there, then classify, then advance" shape:
//! [`Adapter::parse_reply`] looks at the start of the receive buffer and
//! returns [`Parsed::NeedMore`] (nothing consumed) or one [`Outcome`] with
//! the number of bytes it spans. Calling it again after more bytes arrive is
//! always correct, whatever split the network chose.
//!
//! - [`blink::Blink`]: Blink-Store's binary protocol via `blink_store::protocol`.
//! - [`resp::Resp`]: Redis's RESP2 `GET` / `SET`.
//! - [`memcache::Memcache`]: memcached's text `get` / `set`.

pub mod blink;
pub mod memcache;
pub mod resp;

/// What a complete reply says about its request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// GET found a value, or SET stored one.
    Ok,
    /// GET found no value.
    Miss,
    /// The server answered with an error (out of memory, too large, ...).
    Error,
}

/// Result of looking for one reply at the start of a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// The reply is incomplete; nothing consumed.
    NeedMore,
    /// A complete reply spanning `len_bytes` bytes.
    Reply {
        /// What the reply says.
        outcome: Outcome,
        /// Bytes to consume.
        len_bytes: usize,
    },
}

/// Bytes that are no reply of this protocol: the connection cannot be
/// trusted any more and is closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProtocolError(pub &'static str);

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// Longest reply header line accepted by the text protocols before the
/// reply is declared malformed: real ones are under 100 bytes.
pub const LINE_BYTES_MAX: usize = 1024;

/// A client-side codec for one protocol. Encoders append to `out`.
pub trait Adapter: Copy + Send + 'static {
    /// Appends a GET of `key`.
    fn encode_get(&self, key: &[u8], out: &mut Vec<u8>);
    /// Appends a SET of `key` to `value` with no expiry.
    fn encode_set(&self, key: &[u8], value: &[u8], out: &mut Vec<u8>);
    /// Looks for one complete reply at the start of `buf`.
    fn parse_reply(&self, buf: &[u8]) -> Result<Parsed, ProtocolError>;
}

/// The first CRLF-terminated line of `buf`, without the CRLF, and the
/// offset just past it; `Ok(None)` if the line is not complete yet.
pub(crate) fn crlf_line(buf: &[u8]) -> Result<Option<(&[u8], usize)>, ProtocolError> {
    let window = &buf[..buf.len().min(LINE_BYTES_MAX)];
    match memchr::memchr(b'\n', window) {
        Some(0) => Err(ProtocolError("line ends without CR")),
        Some(newline) if buf[newline - 1] == b'\r' => Ok(Some((&buf[..newline - 1], newline + 1))),
        Some(_) => Err(ProtocolError("line ends without CR")),
        None if buf.len() >= LINE_BYTES_MAX => Err(ProtocolError("reply line too long")),
        None => Ok(None),
    }
}

/// Appends `n` in decimal without allocating.
pub(crate) fn push_decimal(out: &mut Vec<u8>, n: usize) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    let mut rest = n;
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}

/// A decimal length field (ASCII digits only, no sign).
pub(crate) fn parse_len(digits: &[u8]) -> Result<usize, ProtocolError> {
    const BAD: ProtocolError = ProtocolError("bad length field");
    if digits.is_empty() || digits.len() > 18 {
        return Err(BAD);
    }
    digits.iter().try_fold(0usize, |acc, &b| {
        if b.is_ascii_digit() {
            Ok(acc * 10 + usize::from(b - b'0'))
        } else {
            Err(BAD)
        }
    })
}

/// Test support: feeds `wire` to `adapter` in every possible way and checks
/// each yields exactly `expected`.
#[cfg(test)]
pub(crate) fn assert_parses_at_every_split<A: Adapter>(
    adapter: A,
    wire: &[u8],
    expected: &[Outcome],
) {
    assert_eq!(parse_all(adapter, wire, &[]), expected, "whole buffer");
    // One byte at a time.
    let cuts: Vec<usize> = (1..wire.len()).collect();
    assert_eq!(parse_all(adapter, wire, &cuts), expected, "byte by byte");
    // Two chunks, split at every byte.
    for cut in 1..wire.len() {
        assert_eq!(parse_all(adapter, wire, &[cut]), expected, "split at {cut}");
    }
}

/// Delivers `wire` in chunks ending at `cuts`, parsing after each chunk
/// like the event loop does, and returns the outcomes in order.
#[cfg(test)]
fn parse_all<A: Adapter>(adapter: A, wire: &[u8], cuts: &[usize]) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    let mut consumed = 0;
    let ends = cuts.iter().copied().chain([wire.len()]);
    for end in ends {
        let mut buf = &wire[consumed..end];
        while let Parsed::Reply { outcome, len_bytes } = adapter.parse_reply(buf).unwrap() {
            outcomes.push(outcome);
            consumed += len_bytes;
            buf = &buf[len_bytes..];
        }
    }
    assert_eq!(consumed, wire.len(), "every byte consumed");
    outcomes
}
