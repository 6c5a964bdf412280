//! Wire protocols: the bytes a client sends, decoded in place, and the reply
//! bytes the server sends back. Codecs know nothing of sockets or the store.
//!
//! - [`blink`]: the native length-prefixed binary protocol (`protocol/SPEC.md`).
//!   Its items are re-exported here, so `protocol::decode_request` is Blink's.
//!
//! A second codec (RESP, memcache text) lives beside `blink` as its own
//! module with the same shape: a decoder that returns a borrowed request and
//! the bytes it consumed, and reply encoders that append to a caller's buffer.
//! The first byte of a connection picks the codec (SPEC §3.1: every Blink
//! frame starts below `0x20`).

pub mod blink;

pub use blink::*;
