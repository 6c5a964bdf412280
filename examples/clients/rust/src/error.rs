//! The one error type of the crate, with a variant per failure class of
//! SPEC §13, and what each class means for the connection it happened on.
//!
//! "Not found" is never an error: it is `Ok(None)` or `Ok(false)`, and so
//! is ADD's "the key exists" (`Ok(false)`).
//!
//! | class | variants | connection after it |
//! |---|---|---|
//! | caller error, refused locally or by the server | [`KeyTooLarge`], [`ValueTooLarge`], [`FrameTooLarge`], [`ItemTooLarge`], [`NotInteger`] | kept |
//! | the server (or the version it negotiated) lacks a command or version | [`UnknownCommand`], [`UnsupportedVersion`] | kept |
//! | authentication | [`AuthRequired`] (kept), [`AuthFailed`] (closed; a configuration error, never retried) | |
//! | back off, then reconnect | [`TooManyConnections`], [`Busy`], [`ShuttingDown`] | closed |
//! | reconnect | [`ServerTimeout`], [`RequestRejected`], [`ConnectionClosed`], [`Io`], [`Timeout`], [`Protocol`] | closed |
//! | no connection at all | [`Connect`], [`PoolTimeout`], [`Config`] | — |
//!
//! When a connection closes, every request still waiting on it fails with
//! [`ConnectionClosed`]: it may or may not have been executed (SPEC §8).
//!
//! [`KeyTooLarge`]: Error::KeyTooLarge
//! [`ValueTooLarge`]: Error::ValueTooLarge
//! [`FrameTooLarge`]: Error::FrameTooLarge
//! [`ItemTooLarge`]: Error::ItemTooLarge
//! [`NotInteger`]: Error::NotInteger
//! [`UnknownCommand`]: Error::UnknownCommand
//! [`UnsupportedVersion`]: Error::UnsupportedVersion
//! [`AuthRequired`]: Error::AuthRequired
//! [`AuthFailed`]: Error::AuthFailed
//! [`TooManyConnections`]: Error::TooManyConnections
//! [`Busy`]: Error::Busy
//! [`ShuttingDown`]: Error::ShuttingDown
//! [`ServerTimeout`]: Error::ServerTimeout
//! [`RequestRejected`]: Error::RequestRejected
//! [`ConnectionClosed`]: Error::ConnectionClosed
//! [`Io`]: Error::Io
//! [`Timeout`]: Error::Timeout
//! [`Protocol`]: Error::Protocol
//! [`Connect`]: Error::Connect
//! [`PoolTimeout`]: Error::PoolTimeout
//! [`Config`]: Error::Config

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use crate::wire::Status;

/// A specialised `Result` for Blink calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a Blink call can fail with.
///
/// `Error` is `Clone` (I/O errors are shared behind an `Arc`) so a pool can
/// hand the last connect failure to every caller that waits out a backoff.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Error {
    /// Connecting failed before any request was sent (refused, no such
    /// socket file, unreachable). Retry after a backoff.
    Connect(Arc<io::Error>),
    /// An I/O error on an established connection. The connection is closed;
    /// requests in flight may or may not have been executed.
    Io(Arc<io::Error>),
    /// The connection closed, or was already broken, while requests were
    /// waiting: "connection closed, outcome unknown" (SPEC §8).
    ConnectionClosed,
    /// A client-side deadline passed. The connection is closed (a late reply
    /// can then never be mistaken for another call's), and the request may
    /// or may not have been executed.
    Timeout(TimeoutKind),
    /// The server's bytes broke the protocol: a reply that is not a valid
    /// frame, a body that does not fit the command, or an unknown status.
    /// The connection is closed.
    Protocol(ProtocolError),
    /// The key is longer than the server's `max_key_bytes` (checked before
    /// sending, against the limits HELLO reported). The connection is kept.
    KeyTooLarge {
        /// Length of the key the caller passed.
        key_bytes: usize,
        /// The server's limit.
        max_key_bytes: usize,
    },
    /// The value is longer than the server's `max_value_bytes`: a SET, ADD
    /// or REPLACE value, or an APPEND suffix (checked before sending), or
    /// the value an APPEND would leave (refused by the server; `value_bytes`
    /// is then the suffix's length). Also a SCAN page that cannot fit a
    /// reply (SPEC §5.2). The connection is kept.
    ValueTooLarge {
        /// Length of the value the caller passed.
        value_bytes: usize,
        /// The server's limit.
        max_value_bytes: usize,
    },
    /// The request frame would exceed the server's frame limit (4 096 bytes
    /// before AUTH). Refused locally; the connection is kept.
    FrameTooLarge {
        /// Payload length of the request.
        frame_bytes: usize,
        /// The limit that applies on this connection now.
        max_frame_bytes: usize,
    },
    /// ERR_ITEM_TOO_LARGE: the item can never be cached by this server (it
    /// exceeds its memory cap). The connection is kept.
    ItemTooLarge,
    /// ERR_UNKNOWN_COMMAND: the server does not support this command. Also
    /// a version-2 command on a connection that negotiated version 1,
    /// refused locally without sending anything (SPEC §10, §14). The
    /// connection is kept.
    UnknownCommand,
    /// ERR_UNSUPPORTED_VERSION: HELLO asked for a version the server refuses.
    /// The connection is kept.
    UnsupportedVersion,
    /// ERR_NOT_INTEGER: INCR found a value that is not a decimal integer in
    /// the signed 64-bit range, or the result would leave that range (SPEC
    /// §5.1); nothing changed. A caller error: the connection is kept.
    NotInteger,
    /// ERR_AUTH_REQUIRED: the server has a token and this connection has not
    /// authenticated. Configure one with [`Config::auth_token`](crate::Config::auth_token).
    AuthRequired,
    /// ERR_AUTH_FAILED: the token is wrong. A configuration error: the
    /// connection is closed and nothing reconnects in a loop.
    AuthFailed,
    /// ERR_TOO_MANY_CONNECTIONS: the server is at its connection limit.
    /// Reconnect after a backoff.
    TooManyConnections,
    /// ERR_BUSY: the server's buffer budget or this connection's output cap
    /// is exhausted. Reconnect after a backoff; read while pipelining.
    Busy,
    /// ERR_SHUTTING_DOWN: the server is draining. Reconnect after a backoff,
    /// possibly to another server.
    ShuttingDown,
    /// ERR_TIMEOUT: the server closed the connection because a frame was slow
    /// to arrive or the connection sat idle. Reconnect.
    ServerTimeout,
    /// ERR_MALFORMED or ERR_FRAME_TOO_LARGE: the server refused our bytes and
    /// closed. A client bug: never retry the same request.
    RequestRejected(Status),
    /// A pool had no connection to give within its acquire timeout.
    PoolTimeout {
        /// How long the caller waited.
        waited: Duration,
        /// The pool's size, all of which were in use.
        max_size: usize,
    },
    /// The configuration cannot work (for example an address that resolves
    /// to nothing).
    Config(String),
}

/// Which client-side deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutKind {
    /// Establishing the connection (including HELLO and AUTH).
    Connect,
    /// Waiting for a reply.
    Read,
    /// Waiting for the socket to accept a request.
    Write,
}

/// How the server's bytes broke the protocol. Every one closes the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A reply frame declared length 0 (SPEC §3).
    ZeroLength,
    /// A reply frame started with a byte of `0x20` or more: the peer is not
    /// speaking Blink, or the stream lost its frame boundary (SPEC §3.1).
    ForeignByte(u8),
    /// A reply frame declared more than the connection's `max_frame_bytes`.
    FrameTooLarge {
        /// The declared payload length.
        frame_bytes: u32,
        /// The limit HELLO reported (or the ceiling before HELLO).
        max_frame_bytes: u32,
    },
    /// A status code no protocol version defines (SPEC §10).
    UnknownStatus(u8),
    /// A defined status that this command never gets, or a body of the wrong
    /// shape for it.
    UnexpectedReply {
        /// The command the reply answered.
        command: &'static str,
        /// The status received.
        status: u8,
        /// Length of the body received.
        body_bytes: usize,
    },
    /// HELLO negotiated a version this client does not speak.
    VersionMismatch(u8),
    /// A STATS line that is not `name SP u64 LF` (SPEC §12).
    BadStats,
}

impl Error {
    /// True when the connection the error happened on is no longer usable:
    /// the caller's next request needs a new connection.
    pub fn closes_connection(&self) -> bool {
        !matches!(
            self,
            Error::KeyTooLarge { .. }
                | Error::ValueTooLarge { .. }
                | Error::FrameTooLarge { .. }
                | Error::ItemTooLarge
                | Error::NotInteger
                | Error::UnknownCommand
                | Error::UnsupportedVersion
                | Error::AuthRequired
                | Error::PoolTimeout { .. }
                | Error::Config(_)
        )
    }

    /// True for the classes SPEC §13 answers with "reconnect after a
    /// backoff": the server refused or dropped us for load, or could not be
    /// reached at all.
    pub fn is_backoff(&self) -> bool {
        matches!(
            self,
            Error::Connect(_) | Error::TooManyConnections | Error::Busy | Error::ShuttingDown
        )
    }

    /// True when a request may or may not have been executed: it was on the
    /// wire when the connection failed. Repeat only requests that are safe to
    /// repeat (GET, TTL, DEL, EXPIRE, SCAN, FLUSH; SET and REPLACE are
    /// last-writer-wins). INCR and APPEND are not: a repeat counts twice.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(
            self,
            Error::ConnectionClosed
                | Error::Io(_)
                | Error::Timeout(TimeoutKind::Read | TimeoutKind::Write)
                | Error::Busy
                | Error::ServerTimeout
                | Error::ShuttingDown
        )
    }

    /// The error for an error status a server sent, per SPEC §13. `sizes`
    /// are the request's key and value lengths and the limits in force, so
    /// a server-side size refusal reads like the local one.
    pub(crate) fn from_status(status: Status, sizes: &RequestSizes) -> Error {
        match status {
            Status::Ok | Status::NotFound | Status::Exists => {
                Error::Protocol(ProtocolError::UnexpectedReply {
                    command: "unknown",
                    status: status.code(),
                    body_bytes: 0,
                })
            }
            Status::UnknownCommand => Error::UnknownCommand,
            Status::Malformed | Status::FrameTooLarge => Error::RequestRejected(status),
            Status::KeyTooLarge => Error::KeyTooLarge {
                key_bytes: sizes.key_bytes,
                max_key_bytes: sizes.max_key_bytes,
            },
            Status::ValueTooLarge => Error::ValueTooLarge {
                value_bytes: sizes.value_bytes,
                max_value_bytes: sizes.max_value_bytes,
            },
            Status::ItemTooLarge => Error::ItemTooLarge,
            Status::AuthRequired => Error::AuthRequired,
            Status::AuthFailed => Error::AuthFailed,
            Status::UnsupportedVersion => Error::UnsupportedVersion,
            Status::TooManyConnections => Error::TooManyConnections,
            Status::Timeout => Error::ServerTimeout,
            Status::Busy => Error::Busy,
            Status::ShuttingDown => Error::ShuttingDown,
            Status::NotInteger => Error::NotInteger,
        }
    }

    pub(crate) fn io(error: io::Error) -> Error {
        Error::Io(Arc::new(error))
    }

    /// An I/O error on an established connection: a reset or close by the
    /// peer is [`Error::ConnectionClosed`]; anything else is [`Error::Io`].
    pub(crate) fn from_io(error: io::Error) -> Error {
        match error.kind() {
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof => Error::ConnectionClosed,
            _ => Error::io(error),
        }
    }
}

/// The sizes a server-side size refusal is reported with.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RequestSizes {
    pub(crate) key_bytes: usize,
    pub(crate) value_bytes: usize,
    pub(crate) max_key_bytes: usize,
    pub(crate) max_value_bytes: usize,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Connect(e) => write!(f, "cannot connect: {e}"),
            Error::Io(e) => write!(f, "connection failed, outcome unknown: {e}"),
            Error::ConnectionClosed => f.write_str("connection closed, outcome unknown"),
            Error::Timeout(kind) => write!(f, "{kind} timed out; connection closed"),
            Error::Protocol(e) => write!(f, "protocol error, connection closed: {e}"),
            Error::KeyTooLarge {
                key_bytes,
                max_key_bytes,
            } => {
                write!(
                    f,
                    "key of {key_bytes} bytes exceeds the server's {max_key_bytes}"
                )
            }
            Error::ValueTooLarge {
                value_bytes,
                max_value_bytes,
            } => {
                write!(
                    f,
                    "value of {value_bytes} bytes exceeds the server's {max_value_bytes}"
                )
            }
            Error::FrameTooLarge {
                frame_bytes,
                max_frame_bytes,
            } => write!(
                f,
                "request of {frame_bytes} bytes exceeds the connection's frame limit of {max_frame_bytes}"
            ),
            Error::ItemTooLarge => f.write_str("item can never be cached by this server"),
            Error::UnknownCommand => f.write_str("command unsupported by this server"),
            Error::UnsupportedVersion => f.write_str("protocol version unsupported by this server"),
            Error::NotInteger => {
                f.write_str("the value is not an integer, or the result would overflow an i64")
            }
            Error::AuthRequired => f.write_str("the server requires AUTH; configure a token"),
            Error::AuthFailed => f.write_str("authentication failed: wrong token"),
            Error::TooManyConnections => f.write_str("server at its connection limit"),
            Error::Busy => f.write_str("server busy (buffer budget or output cap exhausted)"),
            Error::ShuttingDown => f.write_str("server shutting down"),
            Error::ServerTimeout => f.write_str("server closed the connection on its timeout"),
            Error::RequestRejected(status) => {
                write!(
                    f,
                    "server rejected the request frame ({status:?}); connection closed"
                )
            }
            Error::PoolTimeout { waited, max_size } => write!(
                f,
                "no pooled connection within {waited:?} (all {max_size} in use)"
            ),
            Error::Config(message) => write!(f, "invalid configuration: {message}"),
        }
    }
}

impl fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutKind::Connect => "connect",
            TimeoutKind::Read => "read",
            TimeoutKind::Write => "write",
        })
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::ZeroLength => f.write_str("reply frame of length 0"),
            ProtocolError::ForeignByte(b) => write!(f, "reply starts with foreign byte {b:#04x}"),
            ProtocolError::FrameTooLarge {
                frame_bytes,
                max_frame_bytes,
            } => {
                write!(
                    f,
                    "reply frame of {frame_bytes} bytes over the limit of {max_frame_bytes}"
                )
            }
            ProtocolError::UnknownStatus(code) => write!(f, "unknown status {code:#04x}"),
            ProtocolError::UnexpectedReply {
                command,
                status,
                body_bytes,
            } => write!(
                f,
                "unexpected reply to {command}: status {status:#04x} with {body_bytes} body bytes"
            ),
            ProtocolError::VersionMismatch(v) => write!(f, "server negotiated version {v}"),
            ProtocolError::BadStats => f.write_str("STATS body is not `name value` lines"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Connect(e) | Error::Io(e) => Some(e.as_ref()),
            Error::Protocol(e) => Some(e),
            _ => None,
        }
    }
}

impl std::error::Error for ProtocolError {}

impl From<ProtocolError> for Error {
    fn from(error: ProtocolError) -> Self {
        Error::Protocol(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every error status of SPEC §13 becomes its variant; the outcome
    /// statuses (OK, NOT_FOUND, EXISTS) are never errors, so reaching here
    /// with one is a protocol error.
    #[test]
    fn every_status_maps_to_its_class() {
        let sizes = RequestSizes::default();
        for code in 0..=255u8 {
            let Some(status) = Status::from_code(code) else {
                continue;
            };
            let error = Error::from_status(status, &sizes);
            let outcome = matches!(status, Status::Ok | Status::NotFound | Status::Exists);
            assert_eq!(
                matches!(error, Error::Protocol(_)),
                outcome,
                "{status:?}: {error}"
            );
            if !outcome {
                assert_eq!(
                    error.closes_connection(),
                    status.closes_connection(),
                    "{status:?}"
                );
            }
        }
        let not_integer = Error::from_status(Status::NotInteger, &sizes);
        assert!(matches!(not_integer, Error::NotInteger));
        assert!(!not_integer.is_backoff() && !not_integer.is_outcome_unknown());
        assert!(not_integer.to_string().contains("not an integer"));
    }
}
