//! Blink-Store: an in-memory LRU cache server with a hard memory cap.
//!
//! The crate is one library plus a thin binary (`src/main.rs`). Dependencies
//! point one way: server → connection / command → protocol, store. The store
//! knows nothing of sockets and the protocol knows nothing of the store.
//!
//! A request's path: [`server`] polls; [`connection`] reads bytes into its
//! input buffer; [`protocol`] decodes a frame in place (the request borrows
//! the buffer); [`batch`] runs the complete frames through [`command`], which
//! executes each against the [`store`] and encodes the reply into the
//! connection's output buffer; [`connection`] writes it.
//!
//! - [`config`]: CLI flags and env vars, validated limits.
//! - [`listener`]: TCP and Unix listeners, socket-file safety.
//! - [`stats`], [`clock`], [`logging`]: counters and STATS, time, logs.

pub mod batch;
pub mod clock;
pub mod command;
pub mod config;
pub mod connection;
pub mod listener;
pub mod logging;
pub mod protocol;
pub mod server;
pub mod stats;
pub mod store;
