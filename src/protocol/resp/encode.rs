//! RESP reply encoding, in the version a connection negotiated.
//!
//! [`Reply`] appends one value at a time to a caller's buffer. Aggregates
//! are written as a header ([`Reply::array`], [`Reply::map`]) followed by
//! their elements, so nothing is built in between.

use std::io::Write;

/// The reply dialect: RESP2 until a `HELLO 3`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Version {
    /// RESP2: nulls are `$-1`, maps are flat arrays.
    #[default]
    Resp2,
    /// RESP3: `_` nulls, `%` maps, `=` verbatim strings.
    Resp3,
}

impl Version {
    /// The number HELLO reports.
    pub fn number(self) -> i64 {
        match self {
            Version::Resp2 => 2,
            Version::Resp3 => 3,
        }
    }
}

/// Bytes a bulk string's framing adds to its contents, at most:
/// `$`, 20 digits, two `\r\n`.
pub const BULK_FRAMING_MAX_BYTES: usize = 25;

/// Writes RESP values into `out` in `version`'s dialect.
pub struct Reply<'o> {
    /// The dialect.
    pub version: Version,
    /// The buffer replies are appended to.
    pub out: &'o mut Vec<u8>,
}

impl Reply<'_> {
    /// `+OK`.
    pub fn ok(&mut self) {
        self.out.extend_from_slice(b"+OK\r\n");
    }

    /// A simple string (`+`): `text` must not hold `\r` or `\n`.
    pub fn simple(&mut self, text: &str) {
        self.out.push(b'+');
        self.out.extend_from_slice(text.as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }

    /// An error (`-`): `text` starts with its code (`ERR`, `WRONGTYPE`...).
    /// Line breaks in it become spaces, as Redis does.
    pub fn error(&mut self, text: &str) {
        self.out.push(b'-');
        self.out.extend(
            text.bytes()
                .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
        self.out.extend_from_slice(b"\r\n");
    }

    /// An error (`-`) formatted in place.
    pub fn error_fmt(&mut self, args: std::fmt::Arguments<'_>) {
        let start = self.out.len();
        self.out.push(b'-');
        // Writing into a Vec cannot fail.
        let _ = self.out.write_fmt(args);
        for byte in self.out.get_mut(start + 1..).unwrap_or_default() {
            if *byte == b'\r' || *byte == b'\n' {
                *byte = b' ';
            }
        }
        self.out.extend_from_slice(b"\r\n");
    }

    /// An integer (`:`).
    pub fn integer(&mut self, value: i64) {
        self.out.push(b':');
        push_decimal(value, self.out);
        self.out.extend_from_slice(b"\r\n");
    }

    /// A bulk string (`$`).
    #[inline]
    pub fn bulk(&mut self, bytes: &[u8]) {
        // `$`, the length and `\r\n` go in one append, built on the stack.
        let mut header = [0u8; BULK_FRAMING_MAX_BYTES];
        header[0] = b'$';
        let digits = decimal(bytes.len() as u64, &mut header[1..21]);
        header[1 + digits..3 + digits].copy_from_slice(b"\r\n");
        self.out.reserve(bytes.len() + BULK_FRAMING_MAX_BYTES);
        self.out.extend_from_slice(&header[..3 + digits]);
        self.out.extend_from_slice(bytes);
        self.out.extend_from_slice(b"\r\n");
    }

    /// The null value: `$-1` in RESP2, `_` in RESP3.
    pub fn null(&mut self) {
        self.out.extend_from_slice(match self.version {
            Version::Resp2 => b"$-1\r\n",
            Version::Resp3 => b"_\r\n",
        });
    }

    /// A null array (an aborted EXEC): `*-1` in RESP2, `_` in RESP3.
    pub fn null_array(&mut self) {
        self.out.extend_from_slice(match self.version {
            Version::Resp2 => b"*-1\r\n",
            Version::Resp3 => b"_\r\n",
        });
    }

    /// The header of an array of `len` elements.
    pub fn array(&mut self, len: usize) {
        self.header(b'*', len);
    }

    /// The header of a map of `len` pairs: `%` in RESP3, an array of
    /// `2 * len` elements in RESP2.
    pub fn map(&mut self, len: usize) {
        match self.version {
            Version::Resp2 => self.header(b'*', len * 2),
            Version::Resp3 => self.header(b'%', len),
        }
    }

    /// The header of a set of `len` elements: `~` in RESP3, an array in RESP2.
    pub fn set(&mut self, len: usize) {
        match self.version {
            Version::Resp2 => self.header(b'*', len),
            Version::Resp3 => self.header(b'~', len),
        }
    }

    /// Text for people (INFO): a verbatim `txt` string in RESP3, a bulk
    /// string in RESP2.
    pub fn verbatim(&mut self, text: &[u8]) {
        match self.version {
            Version::Resp2 => self.bulk(text),
            Version::Resp3 => {
                self.out.push(b'=');
                push_decimal(text.len() as i64 + 4, self.out);
                self.out.extend_from_slice(b"\r\ntxt:");
                self.out.extend_from_slice(text);
                self.out.extend_from_slice(b"\r\n");
            }
        }
    }

    fn header(&mut self, kind: u8, len: usize) {
        self.out.push(kind);
        push_decimal(len as i64, self.out);
        self.out.extend_from_slice(b"\r\n");
    }
}

/// A client's multibulk request: the command and its arguments as an
/// array of bulk strings (for tests and fuzzing, which play the client).
#[cfg(any(test, fuzzing))]
pub fn encode_command<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
    let mut wire = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        let arg = arg.as_ref();
        wire.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        wire.extend_from_slice(arg);
        wire.extend_from_slice(b"\r\n");
    }
    wire
}

/// Appends `value` in decimal.
fn push_decimal(value: i64, out: &mut Vec<u8>) {
    let mut digits = [0u8; I64_DECIMAL_MAX_BYTES];
    out.extend_from_slice(format_decimal(value, &mut digits));
}

/// The longest `i64` in decimal: `-9223372036854775808`.
pub const I64_DECIMAL_MAX_BYTES: usize = 20;

/// `value` in decimal, written into `buf` without allocating (RESP's
/// integers, and INCR's stored counters in both protocols).
///
/// ```
/// use blink_store::protocol::resp::format_decimal;
/// let mut buf = [0; 20];
/// assert_eq!(format_decimal(-42, &mut buf), b"-42");
/// assert_eq!(format_decimal(i64::MIN, &mut buf), i64::MIN.to_string().as_bytes());
/// ```
pub fn format_decimal(value: i64, buf: &mut [u8; I64_DECIMAL_MAX_BYTES]) -> &[u8] {
    let sign_bytes = usize::from(value < 0);
    buf[0] = b'-';
    let digits = decimal(value.unsigned_abs(), &mut buf[sign_bytes..]);
    &buf[..sign_bytes + digits]
}

/// Writes `value`'s decimal digits at the start of `buf` (20 bytes, the
/// most a `u64` needs) and returns how many; short numbers in one step.
#[inline]
fn decimal(value: u64, buf: &mut [u8]) -> usize {
    let digit = |n: u64| b'0' + (n % 10) as u8;
    match value {
        0..=9 => {
            buf[0] = digit(value);
            1
        }
        10..=99 => {
            buf[..2].copy_from_slice(&[digit(value / 10), digit(value)]);
            2
        }
        100..=999 => {
            buf[..3].copy_from_slice(&[digit(value / 100), digit(value / 10), digit(value)]);
            3
        }
        _ => {
            let len = value.ilog10() as usize + 1;
            let mut rest = value;
            for at in (0..len).rev() {
                buf[at] = digit(rest);
                rest /= 10;
            }
            len
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(version: Version, write: impl FnOnce(&mut Reply<'_>)) -> Vec<u8> {
        let mut out = Vec::new();
        write(&mut Reply {
            version,
            out: &mut out,
        });
        out
    }

    #[test]
    fn integers_format_as_decimal() {
        let mut buf = [0; I64_DECIMAL_MAX_BYTES];
        for value in [
            0,
            7,
            -7,
            10,
            99,
            -100,
            1_000,
            i64::MAX,
            i64::MIN,
            -1_000_000,
        ] {
            assert_eq!(
                format_decimal(value, &mut buf),
                value.to_string().as_bytes()
            );
        }
    }

    #[test]
    fn scalars_in_both_versions() {
        for version in [Version::Resp2, Version::Resp3] {
            assert_eq!(written(version, |r| r.integer(-42)), b":-42\r\n");
            for n in [0, 7, 10, 99, 100, 999, 1000, 123_456, i64::MAX, -1, -1000] {
                let text = format!(":{n}\r\n");
                assert_eq!(written(version, |r| r.integer(n)), text.as_bytes());
            }
            for len in [0, 9, 10, 100, 1000, 65_536] {
                let value = vec![b'x'; len];
                let mut text = format!("${len}\r\n").into_bytes();
                text.extend_from_slice(&value);
                text.extend_from_slice(b"\r\n");
                assert_eq!(written(version, |r| r.bulk(&value)), text);
            }
            assert_eq!(
                written(version, |r| r.integer(i64::MIN)),
                b":-9223372036854775808\r\n"
            );
            assert_eq!(written(version, |r| r.bulk(b"a\r\nb")), b"$4\r\na\r\nb\r\n");
            assert_eq!(written(version, |r| r.bulk(b"")), b"$0\r\n\r\n");
            assert_eq!(
                written(version, |r| r.error("ERR a\r\nb")),
                b"-ERR a  b\r\n"
            );
        }
        assert_eq!(written(Version::Resp2, |r| r.null()), b"$-1\r\n");
        assert_eq!(written(Version::Resp3, |r| r.null()), b"_\r\n");
    }

    #[test]
    fn aggregates_follow_the_version() {
        assert_eq!(written(Version::Resp2, |r| r.map(2)), b"*4\r\n");
        assert_eq!(written(Version::Resp3, |r| r.map(2)), b"%2\r\n");
        assert_eq!(written(Version::Resp3, |r| r.set(1)), b"~1\r\n");
        assert_eq!(
            written(Version::Resp3, |r| r.verbatim(b"hi")),
            b"=6\r\ntxt:hi\r\n"
        );
        assert_eq!(
            written(Version::Resp2, |r| r.verbatim(b"hi")),
            b"$2\r\nhi\r\n"
        );
    }
}
