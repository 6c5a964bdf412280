//! RESP2, the Redis protocol: `GET` and `SET` as arrays of bulk strings.
//!
//! ```text
//! request  *2\r\n$3\r\nGET\r\n$<klen>\r\n<key>\r\n
//!          *3\r\n$3\r\nSET\r\n$<klen>\r\n<key>\r\n$<vlen>\r\n<value>\r\n
//! replies  +OK\r\n            simple string  -> Ok
//!          $<n>\r\n<n bytes>\r\n  bulk string -> Ok (a hit)
//!          $-1\r\n            null bulk      -> Miss
//!          :<n>\r\n           integer        -> Ok
//!          -ERR ...\r\n       error          -> Error (e.g. -OOM)
//! ```
//! GET and SET never answer with arrays, so an array is a protocol error.

use super::{Adapter, Outcome, Parsed, ProtocolError, crlf_line, parse_len, push_decimal};

/// The RESP2 adapter.
#[derive(Clone, Copy, Debug, Default)]
pub struct Resp;

fn push_bulk(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'$');
    push_decimal(out, bytes.len());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

impl Adapter for Resp {
    fn encode_get(&self, key: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(b"*2\r\n$3\r\nGET\r\n");
        push_bulk(out, key);
    }

    fn encode_set(&self, key: &[u8], value: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(b"*3\r\n$3\r\nSET\r\n");
        push_bulk(out, key);
        push_bulk(out, value);
    }

    fn parse_reply(&self, buf: &[u8]) -> Result<Parsed, ProtocolError> {
        let Some((line, line_end)) = crlf_line(buf)? else {
            return Ok(Parsed::NeedMore);
        };
        let (kind, rest) = line
            .split_first()
            .ok_or(ProtocolError("empty reply line"))?;
        let outcome = match kind {
            b'+' | b':' => Outcome::Ok,
            b'-' => Outcome::Error,
            b'$' if rest == b"-1" => Outcome::Miss,
            b'$' => return bulk(buf, line_end, parse_len(rest)?),
            _ => return Err(ProtocolError("unexpected RESP reply type")),
        };
        Ok(Parsed::Reply {
            outcome,
            len_bytes: line_end,
        })
    }
}

/// A bulk string whose header ends at `header_end` and carries `len` bytes.
fn bulk(buf: &[u8], header_end: usize, len: usize) -> Result<Parsed, ProtocolError> {
    let end = header_end + len + 2;
    if buf.len() < end {
        return Ok(Parsed::NeedMore);
    }
    if &buf[end - 2..end] != b"\r\n" {
        return Err(ProtocolError("bulk string not followed by CRLF"));
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
    fn encodes_like_redis_cli() {
        let mut out = Vec::new();
        Resp.encode_get(b"k1", &mut out);
        Resp.encode_set(b"k1", b"hello", &mut out);
        assert_eq!(
            out,
            b"*2\r\n$3\r\nGET\r\n$2\r\nk1\r\n*3\r\n$3\r\nSET\r\n$2\r\nk1\r\n$5\r\nhello\r\n"
        );
    }

    #[test]
    fn parses_every_reply_at_every_split() {
        let wire = b"+OK\r\n$5\r\nhello\r\n$-1\r\n-OOM command not allowed\r\n:1\r\n$0\r\n\r\n$11\r\nvalue\r\nwith\r\n";
        use Outcome::*;
        assert_parses_at_every_split(Resp, wire, &[Ok, Ok, Miss, Error, Ok, Ok, Ok]);
    }

    #[test]
    fn rejects_garbage() {
        assert!(Resp.parse_reply(b"*1\r\n").is_err());
        assert!(Resp.parse_reply(b"$5\r\nhelloXX").is_err());
        assert!(Resp.parse_reply(b"$x\r\n").is_err());
        assert!(Resp.parse_reply(b"+OK\n").is_err());
        assert!(Resp.parse_reply(&[b'+'; 2000]).is_err());
        assert_eq!(Resp.parse_reply(b"$5\r\nhel").unwrap(), Parsed::NeedMore);
    }
}
