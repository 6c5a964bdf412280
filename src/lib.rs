//! Blink-Store: an in-memory LRU cache server with a hard memory cap.
//!
//! The crate is one library plus a thin binary. Dependencies point one way:
//! the server joins the wire protocol to the store; the store knows nothing
//! of sockets and the protocol knows nothing of the store.
//!
//! - [`store`]: the single-owner cache engine (slab arena, LRU, byte
//!   accounting, TTL).
//! - [`protocol`]: the length-prefixed binary wire format, a zero-copy
//!   request decoder and an allocation-free reply encoder.

pub mod protocol;
pub mod store;
