//! The health probe: `blink-store ping` sends one PING and exits 0 when the
//! server answers OK, 1 otherwise. It exists for images with no shell or
//! curl (the container's `HEALTHCHECK`, compose's `healthcheck`), so it
//! needs nothing but the binary itself.
//!
//! ```text
//! request  00 00 00 01 | 01      length 1, opcode PING   (SPEC §4)
//! reply    00 00 00 01 | 00      length 1, status OK, empty body
//! ```
//!
//! PING is answered before AUTH (SPEC §11), so the probe needs no token.
//! It reads the same `BLINK_TCP` and `BLINK_UNIX_SOCKET` variables as the
//! server, so the probe inside a configured container finds the server
//! without flags; an unspecified listen address (`0.0.0.0`, `::`) is probed
//! on the loopback address of its family. With a Unix socket set, the probe
//! uses it; otherwise TCP. The whole exchange has one deadline.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;

use crate::config::DEFAULT_PORT;

/// The PING frame: length 1, opcode `0x01`.
pub const PING_REQUEST: [u8; 5] = [0, 0, 0, 1, 0x01];
/// The only healthy answer: length 1, status OK.
pub const PING_REPLY: [u8; 5] = [0, 0, 0, 1, 0x00];
/// Default deadline for connect, write and read together. Docker's default
/// health-check timeout is 30 s; 2 s reports a stuck server well before it.
pub const DEFAULT_TIMEOUT_MS: u64 = 2_000;
/// Longest accepted deadline (one minute): a probe is a liveness check.
pub const TIMEOUT_MAX_MS: u64 = 60_000;

/// `blink-store ping` flags.
#[derive(Parser, Debug)]
#[command(
    name = "blink-store ping",
    about = "Exit 0 when a Blink-Store server answers PING, 1 otherwise"
)]
pub struct PingArgs {
    /// TCP address of the server (host:port); 0.0.0.0 or :: probe loopback.
    #[arg(long, env = "BLINK_TCP", default_value_t = SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)))]
    pub tcp: SocketAddr,
    /// Probe this Unix-domain socket instead of TCP.
    #[arg(long, env = "BLINK_UNIX_SOCKET")]
    pub unix_socket: Option<PathBuf>,
    /// Deadline for the whole exchange, in milliseconds.
    #[arg(long, default_value_t = DEFAULT_TIMEOUT_MS,
          value_parser = clap::value_parser!(u64).range(1..=TIMEOUT_MAX_MS))]
    pub timeout_ms: u64,
}

/// Why a probe failed.
#[derive(Debug)]
pub enum ProbeError {
    /// No connection: nothing listens, or the deadline passed first.
    Connect(io::Error),
    /// The connection broke, or the deadline passed, mid-exchange.
    Exchange(io::Error),
    /// The server answered, but not with an empty OK.
    UnexpectedReply {
        /// The reply's declared length.
        length_bytes: u32,
        /// Its status byte.
        status: u8,
    },
    /// Unix sockets were asked for where the system has none.
    Unsupported,
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeError::Connect(e) => write!(f, "cannot connect: {e}"),
            ProbeError::Exchange(e) => write!(f, "no reply to PING: {e}"),
            ProbeError::UnexpectedReply {
                length_bytes,
                status,
            } => write!(
                f,
                "PING answered with status 0x{status:02x} and length {length_bytes}, not an empty OK"
            ),
            ProbeError::Unsupported => f.write_str("Unix-domain sockets are not available here"),
        }
    }
}

impl std::error::Error for ProbeError {}

/// Runs `blink-store ping` with the flags that followed `ping`; returns
/// the exit code: 0 healthy, 1 not, 2 usage error.
pub fn run(flags: impl IntoIterator<Item = std::ffi::OsString>) -> u8 {
    let argv = std::iter::once(std::ffi::OsString::from("blink-store ping")).chain(flags);
    let args = match PingArgs::try_parse_from(argv) {
        Ok(args) => args,
        Err(error) => {
            // --help and --version print and succeed; anything else is a usage error.
            let _ = error.print();
            return if error.use_stderr() { 2 } else { 0 };
        }
    };
    let deadline = Instant::now() + Duration::from_millis(args.timeout_ms);
    let outcome = match &args.unix_socket {
        Some(path) => ping_unix(path, deadline),
        None => ping_tcp(probe_address(args.tcp), deadline),
    };
    match outcome {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("blink-store ping: {error}");
            1
        }
    }
}

/// The address to probe for a listen address: an unspecified IP (the
/// server listens everywhere) becomes the loopback of its family.
pub fn probe_address(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

/// One PING over TCP, all of it before `deadline`.
pub fn ping_tcp(addr: SocketAddr, deadline: Instant) -> Result<(), ProbeError> {
    let stream = TcpStream::connect_timeout(&addr, remaining(deadline))
        .map_err(|e| ProbeError::Connect(annotate(e, &addr.to_string())))?;
    // A frame of five bytes: no reason to let Nagle hold it.
    let _ = stream.set_nodelay(true);
    exchange(stream, deadline, |s, t| {
        s.set_read_timeout(Some(t))?;
        s.set_write_timeout(Some(t))
    })
}

/// One PING over a Unix-domain socket, all of it before `deadline`.
#[cfg(unix)]
pub fn ping_unix(path: &std::path::Path, deadline: Instant) -> Result<(), ProbeError> {
    // A local connect does not wait on a network: it succeeds or is refused at once.
    let stream = std::os::unix::net::UnixStream::connect(path)
        .map_err(|e| ProbeError::Connect(annotate(e, &path.display().to_string())))?;
    exchange(stream, deadline, |s, t| {
        s.set_read_timeout(Some(t))?;
        s.set_write_timeout(Some(t))
    })
}

/// Unix-domain sockets do not exist here: the probe says so.
#[cfg(not(unix))]
pub fn ping_unix(_path: &std::path::Path, _deadline: Instant) -> Result<(), ProbeError> {
    Err(ProbeError::Unsupported)
}

/// Writes the PING and reads one reply frame's header and status, each
/// step with what is left of the deadline as its timeout.
fn exchange<S: Read + Write>(
    mut stream: S,
    deadline: Instant,
    set_timeouts: impl Fn(&S, Duration) -> io::Result<()>,
) -> Result<(), ProbeError> {
    set_timeouts(&stream, remaining(deadline)).map_err(ProbeError::Exchange)?;
    stream
        .write_all(&PING_REQUEST)
        .map_err(ProbeError::Exchange)?;
    let mut reply = [0u8; PING_REPLY.len()];
    set_timeouts(&stream, remaining(deadline)).map_err(ProbeError::Exchange)?;
    stream
        .read_exact(&mut reply)
        .map_err(ProbeError::Exchange)?;
    check_reply(reply)
}

/// Accepts exactly the empty OK reply; names what came instead.
pub fn check_reply(reply: [u8; 5]) -> Result<(), ProbeError> {
    if reply == PING_REPLY {
        return Ok(());
    }
    Err(ProbeError::UnexpectedReply {
        length_bytes: u32::from_be_bytes([reply[0], reply[1], reply[2], reply[3]]),
        status: reply[4],
    })
}

/// What is left until `deadline`; never zero, which the socket calls refuse.
fn remaining(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1))
}

fn annotate(error: io::Error, target: &str) -> io::Error {
    io::Error::new(error.kind(), format!("{target}: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::thread;

    /// A one-connection server that reads the PING and answers `reply`.
    fn fake_server(reply: &'static [u8]) -> (SocketAddr, thread::JoinHandle<[u8; 5]>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut request = [0u8; 5];
            conn.read_exact(&mut request).unwrap();
            conn.write_all(reply).unwrap();
            request
        });
        (addr, handle)
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    /// The hex bytes of the vector named `name` in table `table`.
    fn vector_bytes(table: &str, name: &str) -> Vec<u8> {
        let vectors: serde_json::Value =
            serde_json::from_str(include_str!("../protocol/vectors/v1.json")).unwrap();
        let row = vectors[table]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["name"] == name)
            .unwrap_or_else(|| panic!("no vector {table}/{name}"));
        let hex: String = row["bytes"].as_str().unwrap().split_whitespace().collect();
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn the_frames_are_the_vectors_ping_and_empty_ok() {
        assert_eq!(vector_bytes("decode_request", "ping"), PING_REQUEST);
        assert_eq!(vector_bytes("encode_reply", "ok_empty"), PING_REPLY);
    }

    #[test]
    fn a_healthy_server_passes_and_receives_exactly_ping() {
        let (addr, server) = fake_server(&PING_REPLY);
        ping_tcp(addr, soon()).unwrap();
        assert_eq!(server.join().unwrap(), PING_REQUEST);
    }

    #[test]
    fn an_error_reply_fails_with_its_status() {
        // ERR_SHUTTING_DOWN-like: status 0x8b with a message body.
        let (addr, _server) = fake_server(&[0, 0, 0, 3, 0x8b, b'n', b'o']);
        match ping_tcp(addr, soon()) {
            Err(ProbeError::UnexpectedReply {
                length_bytes: 3,
                status: 0x8b,
            }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_server_that_closes_fails_the_exchange() {
        let (addr, _server) = fake_server(&[0, 0]);
        assert!(matches!(
            ping_tcp(addr, soon()),
            Err(ProbeError::Exchange(_))
        ));
    }

    #[test]
    fn a_silent_server_fails_by_the_deadline() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let started = Instant::now();
        let outcome = ping_tcp(addr, Instant::now() + Duration::from_millis(200));
        assert!(
            matches!(outcome, Err(ProbeError::Exchange(_))),
            "{outcome:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn nothing_listening_fails_to_connect() {
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        assert!(matches!(
            ping_tcp(addr, soon()),
            Err(ProbeError::Connect(_))
        ));
    }

    #[test]
    fn unspecified_addresses_are_probed_on_loopback() {
        let v4: SocketAddr = "0.0.0.0:25465".parse().unwrap();
        let v6: SocketAddr = "[::]:9".parse().unwrap();
        let fixed: SocketAddr = "127.0.0.2:7".parse().unwrap();
        assert_eq!(probe_address(v4), "127.0.0.1:25465".parse().unwrap());
        assert_eq!(probe_address(v6), "[::1]:9".parse().unwrap());
        assert_eq!(probe_address(fixed), fixed);
    }

    #[test]
    fn exit_codes_follow_the_outcome() {
        let (addr, _server) = fake_server(&PING_REPLY);
        let flags =
            |flags: &[&str]| -> Vec<std::ffi::OsString> { flags.iter().map(Into::into).collect() };
        assert_eq!(run(flags(&["--tcp", &addr.to_string()])), 0);
        let dead = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        assert_eq!(run(flags(&["--tcp", &dead.to_string()])), 1);
        assert_eq!(run(flags(&["--timeout-ms", "0"])), 2);
    }
}
