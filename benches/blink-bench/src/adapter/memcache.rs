//! memcached's text protocol: single-key `get` and `set`.
//!
//! ```text
//! request  get <key>\r\n
//!          set <key> 0 0 <vlen>\r\n<value>\r\n
//! replies  VALUE <key> <flags> <n>\r\n<n bytes>\r\nEND\r\n   -> Ok (a hit)
//!          END\r\n                                          -> Miss
//!          STORED\r\n                                       -> Ok
//!          NOT_STORED\r\n, ERROR\r\n,
//!          CLIENT_ERROR <msg>\r\n, SERVER_ERROR <msg>\r\n    -> Error
//! ```

use super::{Adapter, Outcome, Parsed, ProtocolError, crlf_line, parse_len, push_decimal};

/// The memcache text adapter.
#[derive(Clone, Copy, Debug, Default)]
pub struct Memcache;

impl Adapter for Memcache {
    fn encode_get(&self, key: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(b"get ");
        out.extend_from_slice(key);
        out.extend_from_slice(b"\r\n");
    }

    fn encode_set(&self, key: &[u8], value: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(b"set ");
        out.extend_from_slice(key);
        out.extend_from_slice(b" 0 0 ");
        push_decimal(out, value.len());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }

    fn parse_reply(&self, buf: &[u8]) -> Result<Parsed, ProtocolError> {
        let Some((line, line_end)) = crlf_line(buf)? else {
            return Ok(Parsed::NeedMore);
        };
        let outcome = match line {
            b"STORED" => Outcome::Ok,
            b"END" => Outcome::Miss,
            b"NOT_STORED" | b"ERROR" => Outcome::Error,
            _ if line.starts_with(b"VALUE ") => return value(buf, line, line_end),
            _ if line.starts_with(b"SERVER_ERROR") || line.starts_with(b"CLIENT_ERROR") => {
                Outcome::Error
            }
            _ => return Err(ProtocolError("unexpected memcache reply")),
        };
        Ok(Parsed::Reply {
            outcome,
            len_bytes: line_end,
        })
    }
}

/// `VALUE <key> <flags> <bytes> [<cas>]`, its data block and the `END` line.
fn value(buf: &[u8], line: &[u8], line_end: usize) -> Result<Parsed, ProtocolError> {
    const TRAILER: &[u8] = b"\r\nEND\r\n";
    let len_field = line
        .split(|&b| b == b' ')
        .nth(3)
        .ok_or(ProtocolError("VALUE line without a length"))?;
    let end = line_end + parse_len(len_field)? + TRAILER.len();
    if buf.len() < end {
        return Ok(Parsed::NeedMore);
    }
    if &buf[end - TRAILER.len()..end] != TRAILER {
        return Err(ProtocolError("VALUE data not followed by END"));
    }
    Ok(Parsed::Reply {
        outcome: Outcome::Ok,
        len_bytes: end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::assert_parses_at_every_split;

    #[test]
    fn encodes_like_the_protocol_txt() {
        let mut out = Vec::new();
        Memcache.encode_get(b"k1", &mut out);
        Memcache.encode_set(b"k1", b"hello", &mut out);
        assert_eq!(out, b"get k1\r\nset k1 0 0 5\r\nhello\r\n");
    }

    #[test]
    fn parses_every_reply_at_every_split() {
        let wire = b"STORED\r\nVALUE k1 0 5\r\nhello\r\nEND\r\nEND\r\n\
            SERVER_ERROR out of memory storing object\r\nVALUE k 0 7 99\r\nEND\r\nxy\r\nEND\r\n\
            NOT_STORED\r\nVALUE k 3 0\r\n\r\nEND\r\n";
        use Outcome::*;
        assert_parses_at_every_split(Memcache, wire, &[Ok, Ok, Miss, Error, Ok, Error, Ok]);
    }

    #[test]
    fn rejects_garbage() {
        assert!(Memcache.parse_reply(b"HELLO\r\n").is_err());
        assert!(Memcache.parse_reply(b"VALUE k 0\r\n").is_err());
        assert!(
            Memcache
                .parse_reply(b"VALUE k 0 2\r\nhiEND\r\n\r\n")
                .is_err()
        );
        assert!(Memcache.parse_reply(&[b'V'; 2000]).is_err());
        assert_eq!(
            Memcache.parse_reply(b"VALUE k 0 2\r\nh").unwrap(),
            Parsed::NeedMore
        );
    }
}
