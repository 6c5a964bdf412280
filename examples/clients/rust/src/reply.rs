//! The values calls return ([`ServerInfo`], [`Ttl`], [`Stats`], [`ScanPage`], [`Value`])
//! and the one place a reply frame becomes one of them or an [`Error`],
//! per command and status (SPEC §6.3, §13). Shared by the blocking and the
//! async clients, so both read every reply the same way.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::error::{Error, ProtocolError, RequestSizes, Result};
use crate::wire::{
    HELLO_BODY_BYTES, Opcode, RawReply, Status, decode_i64_body, decode_scan_body, decode_u64_body,
};

/// The limits a server reports in its HELLO reply (SPEC §4), all in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request payload once authenticated.
    pub max_frame_bytes: u32,
    /// Largest key.
    pub max_key_bytes: u32,
    /// Largest SET value.
    pub max_value_bytes: u32,
}

/// What HELLO reported about the server and this connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerInfo {
    /// The negotiated protocol version.
    pub version: u8,
    /// Whether this connection still had to AUTH when HELLO was answered.
    pub auth_required: bool,
    /// The connection's limits after authentication.
    pub limits: Limits,
}

/// The TTL of a key that exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ttl {
    /// The key never expires.
    Persistent,
    /// The key expires after this long. Full `u64` milliseconds: a
    /// saturated deadline reads as about 584 million years.
    ExpiresIn(Duration),
}

impl Ttl {
    /// The time left in milliseconds, `None` for a persistent key.
    pub fn remaining_ms(self) -> Option<u64> {
        match self {
            Ttl::Persistent => None,
            // Built from a u64 of milliseconds, so it fits one.
            Ttl::ExpiresIn(left) => Some(left.as_millis() as u64),
        }
    }
}

/// The STATS counters by name (SPEC §12). Unknown names are kept: the set
/// grows without a version change.
pub type Stats = BTreeMap<String, u64>;

/// One SCAN reply: the cursor to send next (0 when the walk is complete)
/// and the keys of this page, in no order. A page may hold no keys while
/// the walk goes on (SPEC §5.2).
pub type ScanPage = (u64, Vec<Vec<u8>>);

/// The result of one pipelined command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// PING, AUTH, SET and FLUSH succeeded.
    Done,
    /// GET: the value, or `None` for a missing key.
    Bytes(Option<Vec<u8>>),
    /// DEL and EXPIRE: whether the key existed.
    Existed(bool),
    /// ADD and REPLACE: whether the value was stored (false: ADD found the
    /// key, REPLACE did not).
    Stored(bool),
    /// INCR: the new value.
    Integer(i64),
    /// APPEND: the value's new length in bytes.
    Length(u64),
    /// SCAN: one page of a walk.
    Scan {
        /// The cursor to send next; 0 when the walk is complete.
        next_cursor: u64,
        /// This page's keys, in no order.
        keys: Vec<Vec<u8>>,
    },
    /// TTL: the key's TTL, or `None` for a missing key.
    Ttl(Option<Ttl>),
    /// STATS.
    Stats(Stats),
    /// HELLO.
    Hello(ServerInfo),
}

/// The `ttl_ms` field for an optional TTL: 0 is the wire's "no TTL", so a
/// TTL always becomes at least 1 ms (sub-millisecond TTLs round up), and
/// one beyond `u64::MAX` ms saturates (SPEC §9).
pub(crate) fn ttl_ms(ttl: Option<Duration>) -> u64 {
    match ttl {
        None => 0,
        Some(ttl) => {
            let ms = ttl.as_nanos().div_ceil(1_000_000);
            u64::try_from(ms).unwrap_or(u64::MAX).max(1)
        }
    }
}

/// A reply the command's result type can be read from.
pub(crate) trait FromReply: Sized {
    /// Reads `reply` to `op`; an error status becomes its [`Error`].
    fn from_reply(op: Opcode, reply: RawReply<'_>, sizes: &RequestSizes) -> Result<Self>;
}

/// A reply's status, with every error status already turned into its error.
enum Outcome<'a> {
    Ok(&'a [u8]),
    NotFound,
    Exists,
}

fn outcome<'a>(reply: RawReply<'a>, sizes: &RequestSizes) -> Result<Outcome<'a>> {
    match Status::from_code(reply.status) {
        Some(Status::Ok) => Ok(Outcome::Ok(reply.body)),
        Some(Status::NotFound) => Ok(Outcome::NotFound),
        Some(Status::Exists) => Ok(Outcome::Exists),
        Some(error) => Err(Error::from_status(error, sizes)),
        None => Err(ProtocolError::UnknownStatus(reply.status).into()),
    }
}

fn unexpected(op: Opcode, reply: RawReply<'_>) -> Error {
    Error::Protocol(ProtocolError::UnexpectedReply {
        command: op.name(),
        status: reply.status,
        body_bytes: reply.body.len(),
    })
}

/// PING, AUTH, SET, FLUSH: an empty OK.
impl FromReply for () {
    fn from_reply(op: Opcode, reply: RawReply<'_>, sizes: &RequestSizes) -> Result<Self> {
        match outcome(reply, sizes)? {
            Outcome::Ok([]) => Ok(()),
            _ => Err(unexpected(op, reply)),
        }
    }
}

/// GET: the value, or `None`.
impl FromReply for Option<Vec<u8>> {
    fn from_reply(op: Opcode, reply: RawReply<'_>, sizes: &RequestSizes) -> Result<Self> {
        match outcome(reply, sizes)? {
            Outcome::Ok(value) => Ok(Some(value.to_vec())),
            Outcome::NotFound => Ok(None),
            Outcome::Exists => Err(unexpected(op, reply)),
        }
    }
}

/// DEL, EXPIRE, REPLACE: an empty OK, or `false` for NOT_FOUND. ADD: an
/// empty OK, or `false` for EXISTS. Each takes only its own "no" status.
impl FromReply for bool {
    fn from_reply(op: Opcode, reply: RawReply<'_>, sizes: &RequestSizes) -> Result<Self> {
        match (outcome(reply, sizes)?, op) {
            (Outcome::Ok([]), _) => Ok(true),
            (Outcome::Exists, Opcode::Add) => Ok(false),
            (Outcome::NotFound, op) if op != Opcode::Add => Ok(false),
            _ => Err(unexpected(op, reply)),
        }
    }
}

/// INCR: the new value, an 8-byte `i64`.
impl FromReply for i64 {
    fn from_reply(op: Opcode, reply: RawReply<'_>, sizes: &RequestSizes) -> Result<Self> {
        match outcome(reply, sizes)? {
            Outcome::Ok(body) => decode_i64_body(body).ok_or_else(|| unexpected(op, reply)),
            _ => Err(unexpected(op, reply)),
        }
    }
}

/// APPEND: the new length, an 8-byte `u64`.
impl FromReply for u64 {
    fn from_reply(op: Opcode, reply: RawReply<'_>, sizes: &RequestSizes) -> Result<Self> {
        match outcome(reply, sizes)? {
            Outcome::Ok(body) => decode_u64_body(body).ok_or_else(|| unexpected(op, reply)),
            _ => Err(unexpected(op, reply)),
        }
    }
}

/// SCAN: the next cursor and the keys, filling the body exactly.
impl FromReply for ScanPage {
    fn from_reply(op: Opcode, reply: RawReply<'_>, sizes: &RequestSizes) -> Result<Self> {
        let Outcome::Ok(body) = outcome(reply, sizes)? else {
            return Err(unexpected(op, reply));
        };
        let (next_cursor, keys) = decode_scan_body(body).ok_or_else(|| unexpected(op, reply))?;
        Ok((next_cursor, keys.into_iter().map(<[u8]>::to_vec).collect()))
    }
}

/// TTL: an 8-byte `remaining_ms`, an empty body for "no TTL", or `None`.
impl FromReply for Option<Ttl> {
    fn from_reply(op: Opcode, reply: RawReply<'_>, sizes: &RequestSizes) -> Result<Self> {
        match outcome(reply, sizes)? {
            Outcome::NotFound => Ok(None),
            Outcome::Ok([]) => Ok(Some(Ttl::Persistent)),
            Outcome::Ok(body) => {
                let ms = decode_u64_body(body).ok_or_else(|| unexpected(op, reply))?;
                Ok(Some(Ttl::ExpiresIn(Duration::from_millis(ms))))
            }
            Outcome::Exists => Err(unexpected(op, reply)),
        }
    }
}

/// STATS: `name SP value LF` lines (SPEC §12).
impl FromReply for Stats {
    fn from_reply(op: Opcode, reply: RawReply<'_>, sizes: &RequestSizes) -> Result<Self> {
        let Outcome::Ok(body) = outcome(reply, sizes)? else {
            return Err(unexpected(op, reply));
        };
        parse_stats(body).ok_or(Error::Protocol(ProtocolError::BadStats))
    }
}

fn parse_stats(body: &[u8]) -> Option<Stats> {
    let mut rest = std::str::from_utf8(body).ok()?;
    let mut stats = Stats::new();
    while !rest.is_empty() {
        let (line, after) = rest.split_once('\n')?;
        let (name, value) = line.split_once(' ')?;
        let digits = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
        if name.is_empty() || !digits {
            return None;
        }
        stats.insert(name.to_owned(), value.parse().ok()?);
        rest = after;
    }
    Some(stats)
}

/// HELLO: version, flags and three u32 limits (SPEC §6.3). Later versions
/// may append fields; those of versions 1 and 2 are read from the front.
impl FromReply for ServerInfo {
    fn from_reply(op: Opcode, reply: RawReply<'_>, sizes: &RequestSizes) -> Result<Self> {
        let body = match outcome(reply, sizes)? {
            Outcome::Ok(body) if body.len() >= HELLO_BODY_BYTES => body,
            _ => return Err(unexpected(op, reply)),
        };
        let u32_at =
            |at: usize| u32::from_be_bytes([body[at], body[at + 1], body[at + 2], body[at + 3]]);
        Ok(ServerInfo {
            version: body[0],
            auth_required: body[1] & 0x01 != 0,
            limits: Limits {
                max_frame_bytes: u32_at(2),
                max_key_bytes: u32_at(6),
                max_value_bytes: u32_at(10),
            },
        })
    }
}

/// Any command, for pipelines: the result type follows the opcode.
impl FromReply for Value {
    fn from_reply(op: Opcode, reply: RawReply<'_>, sizes: &RequestSizes) -> Result<Self> {
        Ok(match op {
            Opcode::Ping | Opcode::Auth | Opcode::Set | Opcode::Flush => {
                <()>::from_reply(op, reply, sizes)?;
                Value::Done
            }
            Opcode::Get => Value::Bytes(FromReply::from_reply(op, reply, sizes)?),
            Opcode::Del | Opcode::Expire => {
                Value::Existed(FromReply::from_reply(op, reply, sizes)?)
            }
            Opcode::Add | Opcode::Replace => {
                Value::Stored(FromReply::from_reply(op, reply, sizes)?)
            }
            Opcode::Incr => Value::Integer(FromReply::from_reply(op, reply, sizes)?),
            Opcode::Append => Value::Length(FromReply::from_reply(op, reply, sizes)?),
            Opcode::Scan => {
                let (next_cursor, keys) = FromReply::from_reply(op, reply, sizes)?;
                Value::Scan { next_cursor, keys }
            }
            Opcode::Ttl => Value::Ttl(FromReply::from_reply(op, reply, sizes)?),
            Opcode::Stats => Value::Stats(FromReply::from_reply(op, reply, sizes)?),
            Opcode::Hello => Value::Hello(FromReply::from_reply(op, reply, sizes)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u8, body: &[u8]) -> RawReply<'_> {
        RawReply { status, body }
    }

    fn read<T: FromReply>(op: Opcode, status: u8, body: &[u8]) -> Result<T> {
        T::from_reply(op, reply(status, body), &RequestSizes::default())
    }

    #[test]
    fn ttl_ms_never_sends_the_magic_zero_for_a_ttl() {
        assert_eq!(ttl_ms(None), 0);
        assert_eq!(ttl_ms(Some(Duration::ZERO)), 1);
        assert_eq!(ttl_ms(Some(Duration::from_micros(1500))), 2);
        assert_eq!(ttl_ms(Some(Duration::from_secs(5))), 5000);
        assert_eq!(ttl_ms(Some(Duration::MAX)), u64::MAX);
    }

    #[test]
    fn ttl_reads_all_three_shapes_and_the_full_u64() {
        assert_eq!(read::<Option<Ttl>>(Opcode::Ttl, 1, b"").ok(), Some(None));
        assert_eq!(
            read::<Option<Ttl>>(Opcode::Ttl, 0, b"").ok(),
            Some(Some(Ttl::Persistent))
        );
        let max = read::<Option<Ttl>>(Opcode::Ttl, 0, &u64::MAX.to_be_bytes())
            .ok()
            .flatten();
        assert_eq!(max.and_then(Ttl::remaining_ms), Some(u64::MAX));
        assert!(matches!(
            read::<Option<Ttl>>(Opcode::Ttl, 0, b"123"),
            Err(Error::Protocol(_))
        ));
    }

    #[test]
    fn not_found_is_a_value_and_error_statuses_are_their_errors() {
        assert_eq!(
            read::<Option<Vec<u8>>>(Opcode::Get, 1, b"").ok(),
            Some(None)
        );
        assert_eq!(read::<bool>(Opcode::Del, 1, b"").ok(), Some(false));
        assert!(matches!(
            read::<()>(Opcode::Set, 0x85, b"too big"),
            Err(Error::ItemTooLarge)
        ));
        assert!(matches!(
            read::<()>(Opcode::Ping, 0x8B, b""),
            Err(Error::Busy)
        ));
        assert!(matches!(
            read::<()>(Opcode::Ping, 0x42, b""),
            Err(Error::Protocol(ProtocolError::UnknownStatus(0x42)))
        ));
        assert!(matches!(
            read::<()>(Opcode::Set, 1, b""),
            Err(Error::Protocol(_))
        ));
    }

    #[test]
    fn stats_lines_parse_and_bad_lines_are_protocol_errors() {
        let stats = read::<Stats>(Opcode::Stats, 0, b"items 3\nhits 18446744073709551615\n").ok();
        let stats = stats.unwrap_or_default();
        assert_eq!(stats.get("items"), Some(&3));
        assert_eq!(stats.get("hits"), Some(&u64::MAX));
        assert_eq!(
            read::<Stats>(Opcode::Stats, 0, b"").ok(),
            Some(Stats::new())
        );
        for bad in [&b"items 3"[..], b"items -1\n", b"items\n", b"\n"] {
            assert!(read::<Stats>(Opcode::Stats, 0, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn add_takes_exists_and_replace_takes_not_found_as_false() {
        assert_eq!(read::<bool>(Opcode::Add, 0, b"").ok(), Some(true));
        assert_eq!(read::<bool>(Opcode::Add, 2, b"").ok(), Some(false));
        assert_eq!(read::<bool>(Opcode::Replace, 0, b"").ok(), Some(true));
        assert_eq!(read::<bool>(Opcode::Replace, 1, b"").ok(), Some(false));
        for (op, status) in [
            (Opcode::Add, 1),
            (Opcode::Replace, 2),
            (Opcode::Del, 2),
            (Opcode::Add, 0x00),
        ] {
            let body: &[u8] = if status == 0 { b"x" } else { b"" };
            assert!(
                matches!(
                    read::<bool>(op, status, body),
                    Err(Error::Protocol(ProtocolError::UnexpectedReply { .. }))
                ),
                "{op:?} {status}"
            );
        }
        assert!(matches!(
            read::<Option<Vec<u8>>>(Opcode::Get, 2, b""),
            Err(Error::Protocol(_))
        ));
        assert!(matches!(
            read::<Option<Ttl>>(Opcode::Ttl, 2, b""),
            Err(Error::Protocol(_))
        ));
        assert!(matches!(
            read::<bool>(Opcode::Add, 0x85, b"too big"),
            Err(Error::ItemTooLarge)
        ));
    }

    #[test]
    fn incr_and_append_read_eight_byte_bodies() {
        assert_eq!(
            read::<i64>(Opcode::Incr, 0, &(-2i64).to_be_bytes()).ok(),
            Some(-2)
        );
        assert_eq!(
            read::<u64>(Opcode::Append, 0, &4u64.to_be_bytes()).ok(),
            Some(4)
        );
        let not_integer = read::<i64>(Opcode::Incr, 0x8D, b"value is not an integer");
        assert!(matches!(not_integer, Err(Error::NotInteger)));
        assert!(!Error::NotInteger.closes_connection());
        assert!(!Error::NotInteger.is_outcome_unknown());
        let sizes = RequestSizes {
            value_bytes: 1,
            max_value_bytes: 8,
            ..RequestSizes::default()
        };
        let too_long = u64::from_reply(Opcode::Append, reply(0x84, b""), &sizes);
        assert!(matches!(
            too_long,
            Err(Error::ValueTooLarge {
                value_bytes: 1,
                max_value_bytes: 8
            })
        ));
        for (status, body) in [(0, &b"1234567"[..]), (0, b""), (1, b""), (2, b"")] {
            assert!(
                matches!(
                    read::<i64>(Opcode::Incr, status, body),
                    Err(Error::Protocol(_))
                ),
                "INCR {status} {body:?}"
            );
            assert!(
                matches!(
                    read::<u64>(Opcode::Append, status, body),
                    Err(Error::Protocol(_))
                ),
                "APPEND {status} {body:?}"
            );
        }
    }

    #[test]
    fn scan_pages_and_bad_pages() {
        let body = [&9u64.to_be_bytes()[..], b"\x00\x02k1\x00\x00"].concat();
        assert_eq!(
            read::<ScanPage>(Opcode::Scan, 0, &body).ok(),
            Some((9, vec![b"k1".to_vec(), Vec::new()]))
        );
        assert_eq!(
            read::<Value>(Opcode::Scan, 0, &0u64.to_be_bytes()).ok(),
            Some(Value::Scan {
                next_cursor: 0,
                keys: Vec::new()
            })
        );
        for bad in [&body[..body.len() - 1], &body[..7], b""] {
            assert!(
                matches!(
                    read::<ScanPage>(Opcode::Scan, 0, bad),
                    Err(Error::Protocol(ProtocolError::UnexpectedReply {
                        command: "SCAN",
                        ..
                    }))
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            read::<ScanPage>(Opcode::Scan, 0x84, b""),
            Err(Error::ValueTooLarge { .. })
        ));
        assert!(matches!(
            read::<ScanPage>(Opcode::Scan, 1, b""),
            Err(Error::Protocol(_))
        ));
    }

    #[test]
    fn pipelined_v2_replies_become_their_values() {
        assert_eq!(read::<Value>(Opcode::Flush, 0, b"").ok(), Some(Value::Done));
        assert_eq!(
            read::<Value>(Opcode::Add, 2, b"").ok(),
            Some(Value::Stored(false))
        );
        assert_eq!(
            read::<Value>(Opcode::Replace, 0, b"").ok(),
            Some(Value::Stored(true))
        );
        assert_eq!(
            read::<Value>(Opcode::Incr, 0, &7i64.to_be_bytes()).ok(),
            Some(Value::Integer(7))
        );
        assert_eq!(
            read::<Value>(Opcode::Append, 0, &3u64.to_be_bytes()).ok(),
            Some(Value::Length(3))
        );
        assert!(matches!(
            read::<Value>(Opcode::Flush, 0, b"x"),
            Err(Error::Protocol(_))
        ));
    }

    #[test]
    fn hello_reads_the_v1_fields() {
        let body = [1, 1, 0, 0x10, 0x10, 0, 0, 0, 4, 0, 0, 0x10, 0, 0];
        let info = read::<ServerInfo>(Opcode::Hello, 0, &body).ok();
        assert_eq!(
            info,
            Some(ServerInfo {
                version: 1,
                auth_required: true,
                limits: Limits {
                    max_frame_bytes: 1_052_672,
                    max_key_bytes: 1024,
                    max_value_bytes: 1_048_576
                },
            })
        );
        assert!(read::<ServerInfo>(Opcode::Hello, 0, &body[..13]).is_err());
    }
}
