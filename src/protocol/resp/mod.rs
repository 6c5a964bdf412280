//! RESP, the Redis serialization protocol, as Blink-Store speaks it on the
//! same port as its binary protocol (SPEC §3.1: a connection whose first
//! byte is `*` or a letter speaks RESP from then on).
//!
//! Requests come in two shapes, both decoded by [`decode_command`]:
//!
//! ```text
//!  multibulk:  *<argc>\r\n  then argc times  $<len>\r\n<len bytes>\r\n
//!  inline:     PING\r\n   SET "a key" 'a value'\r\n     (telnet, nc)
//! ```
//!
//! Replies are RESP2 (`+` simple, `-` error, `:` integer, `$` bulk, `*`
//! array) or, after `HELLO 3`, RESP3, which adds `_` null, `%` map and `=`
//! verbatim strings. [`Reply`] writes either into a caller's buffer; the
//! command layer never writes protocol bytes itself.
//!
//! - [`decode_command`] is the hardened, incremental, zero-copy decoder:
//!   every limit ([`RespLimits`]) is decided from a header before the body
//!   it announces has arrived, and nothing is sized from a declared length.
//! - [`Args`] iterates a decoded command's arguments, borrowed from the
//!   input (multibulk) or from the session's scratch buffer (inline, whose
//!   quoted arguments need unescaping).

mod args;
mod decode;
mod encode;
mod inline;

#[cfg(test)]
mod proptests;

pub use args::Args;
pub use decode::{Decoded, ProtocolError, decode_command, decode_multibulk, parse_integer};
#[cfg(any(test, fuzzing))]
pub use encode::encode_command;
pub use encode::{BULK_FRAMING_MAX_BYTES, I64_DECIMAL_MAX_BYTES, Reply, Version, format_decimal};

/// The size limits the RESP decoder enforces, derived from the Blink
/// limits so that both protocols buffer the same at most.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RespLimits {
    /// Largest whole request, headers included: the Blink frame limit plus
    /// its 4-byte header, so a request fits the same input buffer.
    pub max_request_bytes: usize,
    /// Largest single argument: a key, a value or an option.
    pub max_bulk_bytes: usize,
    /// Most arguments in one request, the command name included.
    pub max_args: usize,
    /// Whether the session has authenticated: limits broken before AUTH
    /// get Redis's "unauthenticated" messages.
    pub authenticated: bool,
}

/// Longest inline command line, as Redis (`PROTO_INLINE_MAX_SIZE`), and
/// longest `*`/`$` header line.
pub const MAX_INLINE_BYTES: usize = 64 * 1024;

/// Arguments a request may carry before AUTH, as Redis allows an
/// unauthenticated client (enough for `HELLO 3 AUTH user token SETNAME n`).
pub const PRE_AUTH_MAX_ARGS: usize = 10;

/// Most arguments in one authenticated request. Each costs at least 4
/// bytes on the wire (`$0\r\n\r\n` is 6), so the request limit bounds them
/// too; this bound keeps a huge `*` count from being believed at all.
pub const MAX_ARGS: usize = 1 << 20;

impl RespLimits {
    /// The RESP limits matching Blink's `limits` (pre-auth or not).
    pub fn new(limits: &super::Limits, authenticated: bool) -> RespLimits {
        let max_request_bytes = super::HEADER_BYTES + limits.max_frame_bytes as usize;
        let max_bulk_bytes = limits.max_value_bytes.max(limits.max_key_bytes) as usize;
        RespLimits {
            max_request_bytes,
            max_bulk_bytes: max_bulk_bytes.min(max_request_bytes),
            max_args: if authenticated {
                MAX_ARGS
            } else {
                PRE_AUTH_MAX_ARGS
            },
            authenticated,
        }
    }
}
