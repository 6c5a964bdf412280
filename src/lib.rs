//! Blink-Store: an in-memory LRU cache server with a hard memory cap.
//!
//! The crate is one library plus a thin binary (`src/main.rs`). Dependencies
//! point one way: server → connection / command → protocol, store. The store
//! knows nothing of sockets and the protocol knows nothing of the store.
//!
//! A request's path, and where each step lives:
//!
//! 1. [`server`] polls and hands a readable connection its turn;
//! 2. [`server::connection`] reads bytes into its input buffer;
//! 3. [`session`] decodes each complete frame in place with [`protocol`]
//!    (the request borrows the buffer) and picks the limits for it;
//! 4. [`command`] executes the request against the [`store`] and encodes
//!    the reply into the connection's output buffer;
//! 5. [`server::connection`] writes it.
//!
//! Where the next pieces plug in: a second wire protocol (RESP) is a codec
//! beside [`protocol::blink`] and an answer loop beside [`session`], both
//! calling [`command::execute`]; a remote storage backend sits behind
//! [`command`], which is the only code that calls the store.
//!
//! - [`config`]: CLI flags and env vars, validated limits.
//! - [`stats`], [`clock`], [`logging`]: counters and the STATS text, the
//!   loop's clock, log files and their retention.
//! - [`probe`]: `blink-store ping`, the health probe for images with no shell.

pub mod clock;
pub mod command;
pub mod config;
pub mod logging;
pub mod probe;
pub mod protocol;
pub mod server;
pub mod session;
pub mod stats;
pub mod store;
