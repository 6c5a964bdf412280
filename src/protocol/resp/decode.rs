//! The hardened RESP request decoder: the only code that reads a RESP
//! client's untrusted bytes.
//!
//! Incremental (an incomplete request is [`Decoded::NeedMore`] and consumes
//! nothing), zero-copy for multibulk requests (the [`Args`] borrow the
//! input), and it never allocates from a declared length: the only buffer
//! it writes is the caller's scratch for an inline line, which has already
//! arrived. Slicing, unwrapping and unchecked arithmetic are denied by lint.
//!
//! A multibulk request is checked in this order, each check decided as
//! soon as the bytes it needs are there, before any body they announce:
//!
//! 1. the `*` line is longer than [`MAX_INLINE_BYTES`] → `TooBigMbulkCount`
//! 2. the count is not an integer, or above the argument limit →
//!    `InvalidMultibulkLength` (`UnauthenticatedMultibulkLength` before AUTH)
//! 3. a count of 0 or less → [`Decoded::Empty`], as Redis skips it
//! 4. per argument: a byte other than `$` → `ExpectedDollar`; a `$` line
//!    longer than [`MAX_INLINE_BYTES`] → `TooBigBulkCount`; a length that is
//!    not an integer, negative, or above the bulk limit → `InvalidBulkLength`
//!    (`UnauthenticatedBulkLength` before AUTH); an argument that would end
//!    past the request limit → `RequestTooLarge`; no `\r\n` after the
//!    argument's bytes → `MissingCrlf`.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

use std::fmt;

use super::args::Args;
use super::inline::{self, Inline};
use super::{MAX_INLINE_BYTES, RespLimits};

/// Redis's own bounds (`INT_MAX` arguments, `proto-max-bulk-len` 512 MB):
/// past them a length is "invalid" even before AUTH, as in Redis, whose
/// "unauthenticated" errors name only lengths it would otherwise take.
const REDIS_MAX_MULTIBULK: i64 = i32::MAX as i64;
const REDIS_MAX_BULK: i64 = 512 * 1024 * 1024;

/// The outcome of one [`decode_command`] call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// The first request is incomplete; nothing was consumed. Read more and
    /// call again with the whole buffer.
    NeedMore,
    /// An empty request (`*0`, `*-1`, a blank line): consume `len` bytes
    /// and send nothing, as Redis does.
    Empty {
        /// Bytes to consume.
        len: usize,
    },
    /// A command; consume `len` bytes.
    Command {
        /// Its arguments, the name first (never empty).
        args: Args<'a>,
        /// Bytes to consume.
        len: usize,
    },
    /// The stream cannot be trusted: reply with the error, then close.
    Fatal(ProtocolError),
}

/// Why a RESP stream was given up. Each renders as Redis's own message
/// (after `-ERR `) where Redis has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtocolError {
    /// A `*` line with no end within [`MAX_INLINE_BYTES`].
    TooBigMbulkCount,
    /// A `*` count that is not an integer or is above the limit.
    InvalidMultibulkLength,
    /// A `*` count above the pre-auth limit, before AUTH.
    UnauthenticatedMultibulkLength,
    /// Something other than `$` where an argument should start.
    ExpectedDollar(u8),
    /// A `$` line with no end within [`MAX_INLINE_BYTES`].
    TooBigBulkCount,
    /// A `$` length that is not an integer, negative, or above the limit.
    InvalidBulkLength,
    /// A `$` length above the pre-auth limit, before AUTH.
    UnauthenticatedBulkLength,
    /// The request would end past the request limit.
    RequestTooLarge,
    /// An argument's bytes not followed by `\r\n`.
    MissingCrlf,
    /// An inline line with no end within its limit.
    TooBigInline,
    /// An inline line with a quote left open.
    UnbalancedQuotes,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Protocol error: ")?;
        match self {
            ProtocolError::TooBigMbulkCount => f.write_str("too big mbulk count string"),
            ProtocolError::InvalidMultibulkLength => f.write_str("invalid multibulk length"),
            ProtocolError::UnauthenticatedMultibulkLength => {
                f.write_str("unauthenticated multibulk length")
            }
            ProtocolError::ExpectedDollar(byte) if byte.is_ascii_graphic() || *byte == b' ' => {
                write!(f, "expected '$', got '{}'", char::from(*byte))
            }
            ProtocolError::ExpectedDollar(byte) => write!(f, "expected '$', got byte {byte:#04x}"),
            ProtocolError::TooBigBulkCount => f.write_str("too big bulk count string"),
            ProtocolError::InvalidBulkLength => f.write_str("invalid bulk length"),
            ProtocolError::UnauthenticatedBulkLength => f.write_str("unauthenticated bulk length"),
            ProtocolError::RequestTooLarge => f.write_str("request exceeds the size limit"),
            ProtocolError::MissingCrlf => f.write_str("expected '\\r\\n' after a bulk string"),
            ProtocolError::TooBigInline => f.write_str("too big inline request"),
            ProtocolError::UnbalancedQuotes => f.write_str("unbalanced quotes in request"),
        }
    }
}

impl std::error::Error for ProtocolError {}

/// Decodes the first request in `input` against `limits`. An inline
/// request's arguments are unescaped into `scratch` (cleared first).
///
/// ```
/// use blink_store::protocol::resp::{Decoded, RespLimits, decode_command};
/// use blink_store::protocol::Limits;
///
/// let limits = RespLimits::new(&Limits::DEFAULT, true);
/// let mut scratch = Vec::new();
/// let input = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
/// match decode_command(input, &limits, &mut scratch) {
///     Decoded::Command { args, len } => {
///         assert_eq!(args.collect::<Vec<_>>(), [&b"GET"[..], b"k"]);
///         assert_eq!(len, input.len());
///     }
///     other => panic!("{other:?}"),
/// }
/// assert_eq!(decode_command(b"*2\r\n$3\r\nGE", &limits, &mut scratch), Decoded::NeedMore);
/// ```
#[must_use]
pub fn decode_command<'a>(
    input: &'a [u8],
    limits: &RespLimits,
    scratch: &'a mut Vec<u8>,
) -> Decoded<'a> {
    match input.first() {
        None => Decoded::NeedMore,
        Some(b'*') => multibulk(input, limits),
        Some(_) => match inline::split(input, limits, scratch) {
            Inline::NeedMore => Decoded::NeedMore,
            Inline::Fatal(error) => Decoded::Fatal(error),
            Inline::Line { args: 0, len } => Decoded::Empty { len },
            Inline::Line { args, len } => Decoded::Command {
                args: Args::packed(scratch, args),
                len,
            },
        },
    }
}

/// [`decode_command`] for a multibulk request, which needs no scratch
/// buffer: `None` unless `input` starts with `*`.
#[must_use]
pub fn decode_multibulk<'a>(input: &'a [u8], limits: &RespLimits) -> Option<Decoded<'a>> {
    (input.first() == Some(&b'*')).then(|| multibulk(input, limits))
}

/// What a `*` or `$` header line holds.
enum Header {
    /// Its line has not fully arrived.
    NeedMore,
    /// Its line is longer than any header may be.
    TooLong,
    /// Not a strict integer.
    Invalid,
    /// The integer, and where the line after it starts.
    Value { value: i64, next: usize },
}

/// Reads the header line starting at `at` (its type byte included).
///
/// The common case, one to four digits then `\r\n` (every header a cache
/// client sends), is read in one short pass; [`header_in_full`] does the rest.
#[inline(always)]
fn header(input: &[u8], at: usize) -> Header {
    let line = input.get(at.saturating_add(1)..).unwrap_or_default();
    let mut value: i64 = 0;
    for (n, &byte) in line.iter().take(5).enumerate() {
        if byte.is_ascii_digit() {
            // At most four digits: no overflow.
            value = value
                .wrapping_mul(10)
                .wrapping_add(i64::from(byte.wrapping_sub(b'0')));
            continue;
        }
        let strict = n == 1 || (n > 1 && line.first() != Some(&b'0'));
        if byte == b'\r' && strict && line.get(n.saturating_add(1)) == Some(&b'\n') {
            return Header::Value {
                value,
                next: at.saturating_add(n).saturating_add(3),
            };
        }
        break;
    }
    header_in_full(input, at)
}

/// [`header`] for any line: a valid header is at most 19 digits and a
/// sign, so anything else is decided within a few bytes. Only a line that
/// is not a valid number goes on to look for its end, to tell an invalid
/// number from a line too long to be any (Redis's two errors).
fn header_in_full(input: &[u8], at: usize) -> Header {
    let digits_at = at.saturating_add(1);
    let mut i = digits_at;
    let negative = input.get(i) == Some(&b'-');
    if negative {
        i = i.saturating_add(1);
    }
    let first_digit = i;
    let mut value: i64 = 0;
    loop {
        match input.get(i) {
            None => return Header::NeedMore,
            Some(b'\r') => break,
            Some(&digit) if digit.is_ascii_digit() => {
                let digit = i64::from(digit.wrapping_sub(b'0'));
                let next = value.checked_mul(10).and_then(|v| {
                    if negative {
                        v.checked_sub(digit)
                    } else {
                        v.checked_add(digit)
                    }
                });
                match next {
                    Some(next) => value = next,
                    None => return long_line(input, at),
                }
                i = i.saturating_add(1);
            }
            Some(_) => return long_line(input, at),
        }
    }
    let digits = i.saturating_sub(first_digit);
    let leading_zero = digits > 1 && input.get(first_digit) == Some(&b'0');
    if digits == 0 || leading_zero || (negative && value == 0) {
        return Header::Invalid;
    }
    match input.get(i.saturating_add(1)) {
        None => Header::NeedMore,
        Some(b'\n') => Header::Value {
            value,
            next: i.saturating_add(2),
        },
        Some(_) => Header::Invalid,
    }
}

/// A header line that is not a number: invalid once its end is in sight,
/// too long if it has none within [`MAX_INLINE_BYTES`].
#[cold]
fn long_line(input: &[u8], at: usize) -> Header {
    let line = input.get(at..).unwrap_or_default();
    let window = line.get(..MAX_INLINE_BYTES).unwrap_or(line);
    match memchr::memchr(b'\r', window) {
        Some(_) => Header::Invalid,
        None if line.len() > MAX_INLINE_BYTES => Header::TooLong,
        None => Header::NeedMore,
    }
}

fn multibulk<'a>(input: &'a [u8], limits: &RespLimits) -> Decoded<'a> {
    let (count, args_start) = match header(input, 0) {
        Header::NeedMore => return Decoded::NeedMore,
        Header::TooLong => return Decoded::Fatal(ProtocolError::TooBigMbulkCount),
        Header::Invalid => return Decoded::Fatal(ProtocolError::InvalidMultibulkLength),
        Header::Value { value, next } => (value, next),
    };
    if count <= 0 {
        return Decoded::Empty { len: args_start };
    }
    // Redis's order: out of its own range is invalid, then past the
    // (pre-auth) limit.
    let count = match usize::try_from(count) {
        Ok(count) if count <= limits.max_args => count,
        _ if !limits.authenticated && count <= REDIS_MAX_MULTIBULK => {
            return Decoded::Fatal(ProtocolError::UnauthenticatedMultibulkLength);
        }
        _ => return Decoded::Fatal(ProtocolError::InvalidMultibulkLength),
    };
    let mut at = args_start;
    for _ in 0..count {
        match input.get(at) {
            None => return Decoded::NeedMore,
            Some(b'$') => {}
            Some(&other) => return Decoded::Fatal(ProtocolError::ExpectedDollar(other)),
        }
        let (len, body_start) = match header(input, at) {
            Header::NeedMore => return Decoded::NeedMore,
            Header::TooLong => return Decoded::Fatal(ProtocolError::TooBigBulkCount),
            Header::Invalid => return Decoded::Fatal(ProtocolError::InvalidBulkLength),
            Header::Value { value, next } => (value, next),
        };
        let len = match usize::try_from(len) {
            Ok(len) if len <= limits.max_bulk_bytes => len,
            Ok(_) if !limits.authenticated && len <= REDIS_MAX_BULK => {
                return Decoded::Fatal(ProtocolError::UnauthenticatedBulkLength);
            }
            _ => return Decoded::Fatal(ProtocolError::InvalidBulkLength),
        };
        let end = body_start.saturating_add(len).saturating_add(2);
        if end > limits.max_request_bytes {
            return Decoded::Fatal(ProtocolError::RequestTooLarge);
        }
        let Some(crlf) = input.get(end.saturating_sub(2)..end) else {
            return Decoded::NeedMore;
        };
        if crlf != b"\r\n" {
            return Decoded::Fatal(ProtocolError::MissingCrlf);
        }
        at = end;
    }
    Decoded::Command {
        args: Args::multibulk(input.get(args_start..at).unwrap_or_default(), count),
        len: at,
    }
}

/// A strict decimal integer, as Redis reads one (`string2ll`): an optional
/// `-`, then digits without leading zeros (`0` alone), within `i64`.
/// Used for lengths here and for every integer argument of a command.
pub fn parse_integer(digits: &[u8]) -> Option<i64> {
    let (negative, magnitude) = match digits.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, digits),
    };
    match magnitude {
        [] => return None,
        [b'0'] if !negative => return Some(0),
        [b'0', ..] => return None,
        _ => {}
    }
    let mut value: i64 = 0;
    for &digit in magnitude {
        if !digit.is_ascii_digit() {
            return None;
        }
        let digit = i64::from(digit.wrapping_sub(b'0'));
        value = value.checked_mul(10)?;
        value = if negative {
            value.checked_sub(digit)?
        } else {
            value.checked_add(digit)?
        };
    }
    Some(value)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::panic, clippy::unwrap_used)] // tests may fail loudly
mod tests {
    use super::*;
    use crate::protocol::Limits;

    fn limits() -> RespLimits {
        RespLimits::new(&Limits::DEFAULT, true)
    }

    fn decode(input: &[u8]) -> Result<(Vec<Vec<u8>>, usize), Decoded<'static>> {
        let mut scratch = Vec::new();
        match decode_command(input, &limits(), &mut scratch) {
            Decoded::Command { args, len } => Ok((args.map(<[u8]>::to_vec).collect(), len)),
            Decoded::NeedMore => Err(Decoded::NeedMore),
            Decoded::Empty { len } => Err(Decoded::Empty { len }),
            Decoded::Fatal(error) => Err(Decoded::Fatal(error)),
        }
    }

    fn fatal(input: &[u8]) -> ProtocolError {
        match decode(input) {
            Err(Decoded::Fatal(error)) => error,
            other => panic!("{input:?}: {other:?}"),
        }
    }

    #[test]
    fn binary_arguments_pass_through_untouched() {
        let input = b"*3\r\n$3\r\nSET\r\n$3\r\na\r\n\r\n$4\r\n\0\xff\r\n\r\n";
        let (args, len) = decode(input).unwrap();
        assert_eq!(args, [&b"SET"[..], b"a\r\n", b"\0\xff\r\n"]);
        assert_eq!(len, input.len());
    }

    #[test]
    fn every_prefix_needs_more() {
        let input = b"*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n";
        for cut in 0..input.len() {
            assert_eq!(
                decode(&input[..cut]),
                Err(Decoded::NeedMore),
                "cut at {cut}"
            );
        }
        assert!(decode(input).is_ok());
    }

    #[test]
    fn counts_of_zero_or_less_are_skipped() {
        assert_eq!(decode(b"*0\r\n"), Err(Decoded::Empty { len: 4 }));
        assert_eq!(decode(b"*-1\r\nPING"), Err(Decoded::Empty { len: 5 }));
    }

    #[test]
    fn bad_counts_and_lengths_are_fatal_before_any_body() {
        assert_eq!(fatal(b"*abc\r\n"), ProtocolError::InvalidMultibulkLength);
        assert_eq!(fatal(b"*\0\r\n"), ProtocolError::InvalidMultibulkLength);
        assert_eq!(
            fatal(b"*9999999999\r\n"),
            ProtocolError::InvalidMultibulkLength
        );
        assert_eq!(fatal(b"*1\rx"), ProtocolError::InvalidMultibulkLength);
        assert_eq!(fatal(b"*1\r\nx"), ProtocolError::ExpectedDollar(b'x'));
        assert_eq!(fatal(b"*1\r\n$-1\r\n"), ProtocolError::InvalidBulkLength);
        assert_eq!(fatal(b"*1\r\n$x\r\n"), ProtocolError::InvalidBulkLength);
        let over = limits().max_bulk_bytes + 1;
        assert_eq!(
            fatal(format!("*1\r\n${over}\r\n").as_bytes()),
            ProtocolError::InvalidBulkLength
        );
        assert_eq!(fatal(b"*1\r\n$1\r\nab\r\n"), ProtocolError::MissingCrlf);
        let long = [b'*'].iter().chain(&[b'1'; MAX_INLINE_BYTES + 1]).copied();
        assert_eq!(
            fatal(&long.collect::<Vec<_>>()),
            ProtocolError::TooBigMbulkCount
        );
    }

    #[test]
    fn the_request_limit_is_decided_from_the_header() {
        let limits = RespLimits {
            max_request_bytes: 64,
            max_bulk_bytes: 64,
            max_args: 16,
            authenticated: true,
        };
        let mut scratch = Vec::new();
        let header = b"*2\r\n$3\r\nSET\r\n$50\r\n";
        assert_eq!(
            decode_command(header, &limits, &mut scratch),
            Decoded::Fatal(ProtocolError::RequestTooLarge)
        );
        let fits = b"*2\r\n$3\r\nSET\r\n$40\r\n";
        assert_eq!(
            decode_command(fits, &limits, &mut scratch),
            Decoded::NeedMore
        );
    }

    #[test]
    fn pre_auth_limits_have_their_own_messages() {
        let limits = RespLimits::new(&Limits::DEFAULT.pre_auth(), false);
        let mut scratch = Vec::new();
        let many = b"*11\r\n";
        assert_eq!(
            decode_command(many, &limits, &mut scratch),
            Decoded::Fatal(ProtocolError::UnauthenticatedMultibulkLength)
        );
        let big = b"*2\r\n$4\r\nAUTH\r\n$5000\r\n";
        assert_eq!(
            decode_command(big, &limits, &mut scratch),
            Decoded::Fatal(ProtocolError::UnauthenticatedBulkLength)
        );
        for beyond_redis in [&b"*3000000000\r\n"[..], b"*1\r\n$600000000\r\n"] {
            assert!(matches!(
                decode_command(beyond_redis, &limits, &mut scratch),
                Decoded::Fatal(
                    ProtocolError::InvalidMultibulkLength | ProtocolError::InvalidBulkLength
                )
            ));
        }
    }

    #[test]
    fn integers_parse_strictly() {
        for (text, value) in [("0", Some(0)), ("-5", Some(-5)), ("123", Some(123))] {
            assert_eq!(parse_integer(text.as_bytes()), value);
        }
        let max = i64::MAX.to_string();
        let min = i64::MIN.to_string();
        assert_eq!(parse_integer(max.as_bytes()), Some(i64::MAX));
        assert_eq!(parse_integer(min.as_bytes()), Some(i64::MIN));
        for bad in [
            "",
            "-",
            "01",
            "-0",
            "+1",
            " 1",
            "1 ",
            "9223372036854775808",
            "1e3",
        ] {
            assert_eq!(parse_integer(bad.as_bytes()), None, "{bad:?}");
        }
    }
}
