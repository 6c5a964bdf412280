//! Inline commands: one line of words, for people typing at `telnet` or
//! `nc`. Split as Redis splits them (`sdssplitargs`): whitespace separates
//! words; `"..."` takes `\n \r \t \b \a \\ \"` and `\xHH` escapes; `'...'`
//! takes only `\'`; a closing quote must be followed by whitespace or the
//! end of the line. The line ends at `\n`, a `\r` before it dropped.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

use super::args::pack;
use super::decode::ProtocolError;
use super::{MAX_INLINE_BYTES, RespLimits};

/// What [`split`] found at the front of the input.
pub(super) enum Inline {
    /// The line has not ended yet.
    NeedMore,
    /// A line of `args` words (0 for a blank line), `len` bytes with its
    /// `\n`; the words are packed in the scratch buffer.
    Line { args: usize, len: usize },
    /// A line too long, or with a quote left open.
    Fatal(ProtocolError),
}

/// Splits the first line of `input` into words packed into `scratch`.
pub(super) fn split(input: &[u8], limits: &RespLimits, scratch: &mut Vec<u8>) -> Inline {
    let max_line_bytes = MAX_INLINE_BYTES.min(limits.max_request_bytes);
    let window = input.get(..max_line_bytes).unwrap_or(input);
    let Some(newline) = memchr::memchr(b'\n', window) else {
        return if input.len() >= max_line_bytes {
            Inline::Fatal(ProtocolError::TooBigInline)
        } else {
            Inline::NeedMore
        };
    };
    let mut line = window.get(..newline).unwrap_or_default();
    if let Some(stripped) = line.strip_suffix(b"\r") {
        line = stripped;
    }
    // Redis splits a C string: a NUL ends the line's words.
    if let Some(nul) = memchr::memchr(0, line) {
        line = line.get(..nul).unwrap_or_default();
    }
    scratch.clear();
    let mut args = 0usize;
    let mut rest = line;
    loop {
        rest = rest.trim_ascii_start();
        if rest.is_empty() {
            break;
        }
        if args >= limits.max_args {
            return Inline::Fatal(if limits.authenticated {
                ProtocolError::InvalidMultibulkLength
            } else {
                ProtocolError::UnauthenticatedMultibulkLength
            });
        }
        let start = scratch.len();
        pack(&[], scratch);
        match word(rest, scratch) {
            // A word is at least one byte (the line holds no NUL, and
            // leading whitespace is gone), so every pass moves on.
            Some(after) if after.len() < rest.len() => rest = after,
            Some(_) => break,
            None => return Inline::Fatal(ProtocolError::UnbalancedQuotes),
        }
        let word_bytes = scratch.len().saturating_sub(start).saturating_sub(4);
        let len = u32::try_from(word_bytes).unwrap_or(u32::MAX).to_ne_bytes();
        if let Some(prefix) = scratch.get_mut(start..start.saturating_add(4)) {
            prefix.copy_from_slice(&len);
        }
        args = args.saturating_add(1);
    }
    Inline::Line {
        args,
        len: newline.saturating_add(1),
    }
}

/// Appends the word at the front of `text` (not whitespace) to `out`;
/// returns the text after it, or `None` for an open or misplaced quote.
fn word<'a>(mut text: &'a [u8], out: &mut Vec<u8>) -> Option<&'a [u8]> {
    loop {
        match text.split_first() {
            None => return Some(text),
            Some((b' ' | b'\n' | b'\r' | b'\t' | 0, _)) => return Some(text),
            Some((b'"', rest)) => text = double_quoted(rest, out)?,
            Some((b'\'', rest)) => text = single_quoted(rest, out)?,
            Some((&byte, rest)) => {
                out.push(byte);
                text = rest;
            }
        }
    }
}

/// After a closing quote: whitespace or the end must follow.
fn after_quote(rest: &[u8]) -> Option<&[u8]> {
    match rest.first() {
        None => Some(rest),
        Some(byte) if byte.is_ascii_whitespace() || *byte == 0x0b => Some(rest),
        Some(_) => None,
    }
}

fn double_quoted<'a>(mut text: &'a [u8], out: &mut Vec<u8>) -> Option<&'a [u8]> {
    loop {
        match text {
            [] => return None,
            [b'\\', b'x', high, low, rest @ ..]
                if high.is_ascii_hexdigit() && low.is_ascii_hexdigit() =>
            {
                out.push(hex_value(*high) << 4 | hex_value(*low));
                text = rest;
            }
            [b'\\', escaped, rest @ ..] => {
                out.push(match escaped {
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'b' => 0x08,
                    b'a' => 0x07,
                    other => *other,
                });
                text = rest;
            }
            [b'"', rest @ ..] => return after_quote(rest),
            [byte, rest @ ..] => {
                out.push(*byte);
                text = rest;
            }
        }
    }
}

fn single_quoted<'a>(mut text: &'a [u8], out: &mut Vec<u8>) -> Option<&'a [u8]> {
    loop {
        match text {
            [] => return None,
            [b'\\', b'\'', rest @ ..] => {
                out.push(b'\'');
                text = rest;
            }
            [b'\'', rest @ ..] => return after_quote(rest),
            [byte, rest @ ..] => {
                out.push(*byte);
                text = rest;
            }
        }
    }
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit.wrapping_sub(b'0'),
        b'a'..=b'f' => digit.wrapping_sub(b'a').wrapping_add(10),
        _ => digit.wrapping_sub(b'A').wrapping_add(10),
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::panic, clippy::unwrap_used)] // tests may fail loudly
mod tests {
    use super::super::{Decoded, decode_command};
    use super::*;
    use crate::protocol::Limits;

    fn words(line: &str) -> Result<Vec<Vec<u8>>, Decoded<'static>> {
        let limits = RespLimits::new(&Limits::DEFAULT, true);
        let mut scratch = Vec::new();
        match decode_command(line.as_bytes(), &limits, &mut scratch) {
            Decoded::Command { args, len } => {
                assert_eq!(len, line.len());
                Ok(args.map(<[u8]>::to_vec).collect())
            }
            Decoded::NeedMore => Err(Decoded::NeedMore),
            Decoded::Empty { len } => Err(Decoded::Empty { len }),
            Decoded::Fatal(error) => Err(Decoded::Fatal(error)),
        }
    }

    #[test]
    fn words_split_on_whitespace_with_quotes_and_escapes() {
        assert_eq!(words("PING\r\n").unwrap(), [b"PING"]);
        assert_eq!(words("  set a   b\n").unwrap(), [&b"set"[..], b"a", b"b"]);
        assert_eq!(
            words("SET \"a b\\n\\x41\" 'it\\'s'\r\n").unwrap(),
            [&b"SET"[..], b"a b\nA", b"it's"]
        );
        assert_eq!(words("ECHO \"\"\r\n").unwrap(), [&b"ECHO"[..], b""]);
        assert_eq!(words("a\"b c\"\n").unwrap(), [&b"ab c"[..]]);
    }

    #[test]
    fn a_nul_ends_the_line_as_in_redis() {
        assert_eq!(words("\0\n"), Err(Decoded::Empty { len: 2 }));
        assert_eq!(words("PING\0junk\r\n").unwrap(), [b"PING"]);
        assert_eq!(words("a\x0bb\n").unwrap(), [&b"a\x0bb"[..]]);
    }

    #[test]
    fn blank_lines_are_empty_and_partial_lines_wait() {
        assert_eq!(words("   \r\n"), Err(Decoded::Empty { len: 5 }));
        assert_eq!(words("PI"), Err(Decoded::NeedMore));
        assert_eq!(words("PING\r"), Err(Decoded::NeedMore));
    }

    #[test]
    fn open_or_misplaced_quotes_are_fatal() {
        for line in ["SET \"a b\r\n", "SET 'a\n", "SET \"a\"b\n", "SET 'a'b\n"] {
            assert_eq!(
                words(line),
                Err(Decoded::Fatal(ProtocolError::UnbalancedQuotes)),
                "{line:?}"
            );
        }
    }

    #[test]
    fn a_line_without_end_is_fatal_at_the_limit() {
        let long = "a".repeat(MAX_INLINE_BYTES);
        assert_eq!(
            words(&long),
            Err(Decoded::Fatal(ProtocolError::TooBigInline))
        );
        assert_eq!(words(&long[1..]), Err(Decoded::NeedMore));
    }
}
