//! Wire protocols: the bytes a client sends, decoded in place, and the reply
//! bytes the server sends back. Codecs know nothing of sockets or the store.
//!
//! - [`blink`]: the native length-prefixed binary protocol (`protocol/SPEC.md`).
//!   Its items are re-exported here, so `protocol::decode_request` is Blink's.
//! - [`resp`]: RESP2 and RESP3, so Redis clients and tools work unchanged.
//!
//! Both have the same shape: a decoder that returns a borrowed request and
//! the bytes it consumed, and reply encoders that append to a caller's
//! buffer. [`detect`] picks one from a connection's first bytes (SPEC §3.1:
//! every Blink frame starts below `0x20`).

pub mod blink;
pub mod resp;

pub use blink::*;

/// The protocol a connection speaks, chosen by its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detected {
    /// Nothing has arrived yet.
    NeedMore,
    /// Blink: the first byte is not printable ASCII. Below
    /// [`FOREIGN_FIRST_BYTE_MIN`] it is a valid length's top byte; from
    /// `0x7F` up the Blink decoder refuses it (SPEC §3.1).
    Blink,
    /// RESP: `*` (a multibulk request) or any other printable ASCII byte,
    /// space included (an inline command, as telnet users type them).
    Resp,
}

/// Chooses the protocol of a connection from the bytes it sent first.
///
/// One byte decides today. A third text protocol (memcache's `get`/`set`
/// lines) would need the first word, which is why this sees the whole
/// prefix and may answer [`Detected::NeedMore`] on more than an empty one.
///
/// ```
/// use blink_store::protocol::{Detected, detect};
///
/// assert_eq!(detect(b""), Detected::NeedMore);
/// assert_eq!(detect(b"\x00\x00\x00\x01\x01"), Detected::Blink);
/// assert_eq!(detect(b"*1\r\n$4\r\nPING\r\n"), Detected::Resp);
/// assert_eq!(detect(b"PING\r\n"), Detected::Resp);
/// ```
pub fn detect(first_bytes: &[u8]) -> Detected {
    match first_bytes.first() {
        None => Detected::NeedMore,
        Some(FOREIGN_FIRST_BYTE_MIN..=b'~') => Detected::Resp,
        Some(_) => Detected::Blink,
    }
}
