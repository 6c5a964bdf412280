//! A client for Blink-Store, the in-memory LRU cache
//! server with a small binary protocol over TCP and Unix sockets.
//!
//! Two clients share one wire module and one reading of every reply:
//!
//! - **Async first**: [`aio::Client`] (feature `tokio`) is one multiplexed
//!   connection driven by a background task. It is `Clone`; concurrent calls
//!   from many tasks are pipelined onto the socket automatically, a dropped
//!   or timed-out call keeps its place in the reply queue (its reply is read
//!   and discarded), and the connection is re-established with backoff.
//! - **Blocking**: [`Connection`] for one thread, [`Pool`] to share
//!   connections between threads with bounded acquires, RAII return and
//!   health checks.
//!
//! Both speak protocol version 2: they send `HELLO 2` (and AUTH, pipelined,
//! when a token is configured) on connect, keep the version and limits the
//! server reports, and refuse an oversized key or value locally with a typed
//! error before sending anything. On a server that answers version 1, the
//! version-2 commands (`add`, `replace`, `incr`, `append`, `flush`, `scan`)
//! fail locally with [`Error::UnknownCommand`], and nothing is sent. Keys
//! and values are bytes (`impl AsRef<[u8]>` in, `Vec<u8>` out); "not found"
//! is `Ok(None)` or `Ok(false)`, never an error, and so is ADD's "exists".
//! [`Pipeline`] batches requests into one write, reading while it writes, so
//! no batch can deadlock.
//!
//! ```no_run
//! use std::time::Duration;
//! use blink_client::{Config, Connection, Error};
//!
//! let mut conn = Connection::connect(&Config::tcp("127.0.0.1:25465"))?;
//! conn.set(b"k1", b"v1", Some(Duration::from_secs(30)))?;
//! match conn.get(b"k1") {
//!     Ok(Some(value)) => println!("{} bytes", value.len()),
//!     Ok(None) => println!("miss"),
//!     Err(Error::KeyTooLarge { max_key_bytes, .. }) => println!("keys up to {max_key_bytes}"),
//!     Err(e) => return Err(e),
//! }
//! # Ok::<(), Error>(())
//! ```
//!
//! Modules, in dependency order:
//!
//! | module | owns |
//! |---|---|
//! | `wire` | frame encoding and incremental reply decoding (SPEC §3–§6) |
//! | `reply` | reply frames → values or [`Error`]s, per command and status |
//! | `session` | the HELLO/AUTH handshake, the version and limits, local checks |
//! | `stream`, `connection` | the blocking socket and its read-while-writing loop |
//! | `scan` | whole SCAN walks ([`ScanKeys`]) |
//! | `pipeline` | batches |
//! | `pool`, `backoff` | the blocking pool and reconnect backoff |
//! | [`aio`] | the tokio client |

mod backoff;
mod config;
mod connection;
mod error;
mod pipeline;
mod pool;
mod reply;
mod scan;
mod session;
mod stream;
pub mod wire;

#[cfg(feature = "tokio")]
pub mod aio;

pub use backoff::Backoff;
pub use config::{Address, Config};
pub use connection::Connection;
pub use error::{Error, ProtocolError, Result, TimeoutKind};
pub use pipeline::Pipeline;
pub use pool::{Pool, PoolConfig, PoolMetrics, PooledConnection};
pub use reply::{Limits, ScanPage, ServerInfo, Stats, Ttl, Value};
pub use scan::ScanKeys;
pub use wire::Status;
