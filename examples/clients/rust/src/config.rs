//! Where and how to connect: the address, the token, and every timeout a
//! connection applies, each named for what it bounds. Shared by the blocking
//! connection, the pool and the async client.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::backoff::Backoff;

/// Long enough for a loaded loopback or LAN handshake, short enough that a
/// dead address fails fast (CLIENTS.md: about 1 s).
const CONNECT_TIMEOUT_DEFAULT: Duration = Duration::from_secs(1);
/// A reply that takes longer than this means a half-open or stopped peer.
const READ_TIMEOUT_DEFAULT: Duration = Duration::from_secs(5);
/// The server stops reading only while its output cap is full; a socket
/// that accepts nothing for this long is stuck.
const WRITE_TIMEOUT_DEFAULT: Duration = Duration::from_secs(5);

/// A server address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// `host:port`, resolved at each connect.
    Tcp(String),
    /// The path of a Unix-domain socket.
    Unix(PathBuf),
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Tcp(host_port) => write!(f, "tcp {host_port}"),
            Address::Unix(path) => write!(f, "unix {}", path.display()),
        }
    }
}

/// How to reach a server. Build it with [`Config::tcp`] or [`Config::unix`]
/// and the `with`-style setters:
///
/// ```
/// use std::time::Duration;
/// use blink_client::Config;
///
/// let config = Config::tcp("127.0.0.1:25465")
///     .auth_token("s3cret")
///     .read_timeout(Duration::from_millis(500));
/// assert_eq!(config.address().to_string(), "tcp 127.0.0.1:25465");
/// ```
#[derive(Clone)]
pub struct Config {
    pub(crate) address: Address,
    pub(crate) auth_token: Option<Vec<u8>>,
    pub(crate) connect_timeout: Duration,
    pub(crate) read_timeout: Duration,
    pub(crate) write_timeout: Duration,
    pub(crate) backoff: Backoff,
}

impl Config {
    /// A server on TCP, `host:port`.
    pub fn tcp(host_port: impl Into<String>) -> Config {
        Config::new(Address::Tcp(host_port.into()))
    }

    /// A server on a Unix-domain socket.
    pub fn unix(path: impl Into<PathBuf>) -> Config {
        Config::new(Address::Unix(path.into()))
    }

    /// A server at `address`, with the default timeouts and no token.
    pub fn new(address: Address) -> Config {
        Config {
            address,
            auth_token: None,
            connect_timeout: CONNECT_TIMEOUT_DEFAULT,
            read_timeout: READ_TIMEOUT_DEFAULT,
            write_timeout: WRITE_TIMEOUT_DEFAULT,
            backoff: Backoff::default(),
        }
    }

    /// The shared-secret token, sent with AUTH on every new connection
    /// (pipelined behind HELLO).
    pub fn auth_token(mut self, token: impl AsRef<[u8]>) -> Config {
        self.auth_token = Some(token.as_ref().to_vec());
        self
    }

    /// Bounds connecting, including the HELLO and AUTH replies. Default 1 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Config {
        self.connect_timeout = timeout;
        self
    }

    /// Bounds each wait for reply bytes: a call fails with
    /// [`Timeout(Read)`](crate::TimeoutKind::Read) and the connection closes
    /// when nothing arrives for this long. Default 5 s.
    pub fn read_timeout(mut self, timeout: Duration) -> Config {
        self.read_timeout = timeout;
        self
    }

    /// Bounds each wait for the socket to accept request bytes. Default 5 s.
    pub fn write_timeout(mut self, timeout: Duration) -> Config {
        self.write_timeout = timeout;
        self
    }

    /// The reconnect backoff of pools and the async client.
    pub fn backoff(mut self, backoff: Backoff) -> Config {
        self.backoff = backoff;
        self
    }

    /// The server's address.
    pub fn address(&self) -> &Address {
        &self.address
    }
}

/// The token never appears in logs or panics.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("address", &self.address)
            .field(
                "auth_token",
                &self.auth_token.as_ref().map(|_| "<redacted>"),
            )
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("write_timeout", &self.write_timeout)
            .field("backoff", &self.backoff)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_token() {
        let shown = format!("{:?}", Config::unix("/tmp/b.sock").auth_token("hunter2"));
        assert!(shown.contains("<redacted>"));
        assert!(!shown.contains("hunter2"));
    }
}
