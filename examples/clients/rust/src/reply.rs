//! The values calls return ([`ServerInfo`], [`Ttl`], [`Stats`], [`Value`])
//! and the one place a reply frame becomes one of them or an [`Error`],
//! per command and status (SPEC §6.3, §13). Shared by the blocking and the
//! async clients, so both read every reply the same way.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::error::{Error, ProtocolError, RequestSizes, Result};
use crate::wire::{HELLO_BODY_BYTES, Opcode, RawReply, Status};

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

/// The result of one pipelined command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// PING, AUTH and SET succeeded.
    Done,
    /// GET: the value, or `None` for a missing key.
    Bytes(Option<Vec<u8>>),
    /// DEL and EXPIRE: whether the key existed.
    Existed(bool),
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
}

fn outcome<'a>(reply: RawReply<'a>, sizes: &RequestSizes) -> Result<Outcome<'a>> {
    match Status::from_code(reply.status) {
        Some(Status::Ok) => Ok(Outcome::Ok(reply.body)),
        Some(Status::NotFound) => Ok(Outcome::NotFound),
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

/// PING, AUTH, SET: an empty OK.
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
    fn from_reply(_: Opcode, reply: RawReply<'_>, sizes: &RequestSizes) -> Result<Self> {
        Ok(match outcome(reply, sizes)? {
            Outcome::Ok(value) => Some(value.to_vec()),
            Outcome::NotFound => None,
        })
    }
}

/// DEL, EXPIRE: whether the key existed.
impl FromReply for bool {
    fn from_reply(op: Opcode, reply: RawReply<'_>, sizes: &RequestSizes) -> Result<Self> {
        match outcome(reply, sizes)? {
            Outcome::Ok([]) => Ok(true),
            Outcome::NotFound => Ok(false),
            Outcome::Ok(_) => Err(unexpected(op, reply)),
        }
    }
}

/// TTL: an 8-byte `remaining_ms`, an empty body for "no TTL", or `None`.
impl FromReply for Option<Ttl> {
    fn from_reply(op: Opcode, reply: RawReply<'_>, sizes: &RequestSizes) -> Result<Self> {
        match outcome(reply, sizes)? {
            Outcome::NotFound => Ok(None),
            Outcome::Ok([]) => Ok(Some(Ttl::Persistent)),
            Outcome::Ok(body) => {
                let ms: [u8; 8] = body.try_into().map_err(|_| unexpected(op, reply))?;
                Ok(Some(Ttl::ExpiresIn(Duration::from_millis(
                    u64::from_be_bytes(ms),
                ))))
            }
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
/// may append fields; v1's are read from the front.
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
            Opcode::Ping | Opcode::Auth | Opcode::Set => {
                <()>::from_reply(op, reply, sizes)?;
                Value::Done
            }
            Opcode::Get => Value::Bytes(FromReply::from_reply(op, reply, sizes)?),
            Opcode::Del | Opcode::Expire => {
                Value::Existed(FromReply::from_reply(op, reply, sizes)?)
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
