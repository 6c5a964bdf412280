//! Shared harness for the wire-level tests: runs the real `blink-store`
//! binary on `127.0.0.1:0` and a temporary Unix socket, and speaks raw bytes
//! to it through the crate's own codec.

#![allow(dead_code)] // Each test binary uses a different part of the harness.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use blink_store::protocol::{self, DecodedReply, Request};

pub mod vectors;

/// How long any awaited condition may take before a test fails.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A running server process and its temporary directory.
pub struct Server {
    child: Child,
    /// The TCP address it bound.
    pub tcp: Option<SocketAddr>,
    /// The Unix socket path, if enabled.
    pub unix: Option<PathBuf>,
    /// Temporary directory holding the socket and logs.
    pub dir: tempfile::TempDir,
}

/// Options for starting a server.
pub struct Options {
    /// Extra command-line flags.
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Listen on a Unix socket in the temp dir too.
    pub unix: bool,
    /// Write logs into `dir/logs`.
    pub logs: bool,
    /// Limit the server's open file descriptors.
    pub rlimit_nofile: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            args: Vec::new(),
            env: Vec::new(),
            unix: true,
            logs: false,
            rlimit_nofile: None,
        }
    }
}

impl Server {
    /// Starts a server with default options plus `args`.
    pub fn start(args: &[&str]) -> Server {
        Server::start_with(Options {
            args: args.iter().map(|a| a.to_string()).collect(),
            ..Options::default()
        })
    }

    /// Starts a server and waits for its `ready` line.
    pub fn start_with(options: Options) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_blink-store"));
        command.arg("--tcp").arg("127.0.0.1:0").args(&options.args);
        command.env("BLINK_LOG_LEVEL", "debug");
        let unix = options.unix.then(|| dir.path().join("blink.sock"));
        if let Some(path) = &unix {
            command.arg("--unix-socket").arg(path);
        }
        if options.logs {
            command.arg("--log-dir").arg(dir.path().join("logs"));
        }
        for (key, value) in &options.env {
            command.env(key, value);
        }
        if let Some(max_fds) = options.rlimit_nofile {
            // SAFETY: setrlimit is async-signal-safe and reads only a local struct.
            unsafe {
                command.pre_exec(move || {
                    let limit = libc::rlimit {
                        rlim_cur: max_fds,
                        rlim_max: max_fds,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                });
            }
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        assert!(line.starts_with("ready "), "server did not start: {line:?}");
        let tcp = line
            .split(", ")
            .find_map(|part| {
                part.trim()
                    .strip_prefix("ready ")
                    .unwrap_or(part.trim())
                    .strip_prefix("tcp ")
            })
            .map(|addr| addr.trim().parse().unwrap());
        Server {
            child,
            tcp,
            unix,
            dir,
        }
    }

    /// Process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A client over TCP.
    pub fn tcp(&self) -> Client {
        let stream = TcpStream::connect(self.tcp.expect("tcp enabled")).unwrap();
        stream.set_nodelay(true).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        Client::new(Box::new(stream))
    }

    /// A client over the Unix socket.
    pub fn unix(&self) -> Client {
        let stream = UnixStream::connect(self.unix.as_ref().expect("unix enabled")).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        Client::new(Box::new(stream))
    }

    /// A raw TCP stream with a read timeout.
    pub fn raw_tcp(&self) -> TcpStream {
        let stream = TcpStream::connect(self.tcp.expect("tcp enabled")).unwrap();
        stream.set_nodelay(true).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        stream
    }

    /// Sends a signal to the server.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on a child we own; no memory is touched.
        let rc = unsafe { libc::kill(self.child.id() as i32, signal) };
        assert_eq!(rc, 0, "kill failed");
    }

    /// Waits for the process to exit.
    pub fn wait_exit(&mut self, patience: Duration) -> ExitStatus {
        let deadline = Instant::now() + patience;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "server did not exit in {patience:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// One STATS value by name.
    pub fn stat(&self, name: &str) -> u64 {
        stat(&self.tcp_or_unix().stats(), name)
    }

    fn tcp_or_unix(&self) -> Client {
        if self.tcp.is_some() {
            self.tcp()
        } else {
            self.unix()
        }
    }

    /// The temp directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads one stat from a STATS body.
pub fn stat(stats: &str, name: &str) -> u64 {
    stats
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no stat {name} in {stats}"))
        .parse()
        .unwrap()
}

/// Anything a client can talk through.
pub trait Duplex: Read + Write + Send {}
impl<T: Read + Write + Send> Duplex for T {}

/// A blocking protocol client.
pub struct Client {
    stream: Box<dyn Duplex>,
    buf: Vec<u8>,
}

/// A decoded reply: status byte and body.
pub type Reply = (u8, Vec<u8>);

impl Client {
    /// Wraps a stream.
    pub fn new(stream: Box<dyn Duplex>) -> Client {
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    /// Sends one request and reads its reply.
    pub fn call(&mut self, request: &Request<'_>) -> Reply {
        self.send(request);
        self.reply().expect("connection closed before the reply")
    }

    /// SET without a TTL; returns the reply's status.
    pub fn set(&mut self, key: &[u8], value: &[u8]) -> u8 {
        self.call(&Request::Set {
            key,
            value,
            ttl_ms: 0,
        })
        .0
    }

    /// Sends one request without reading.
    pub fn send(&mut self, request: &Request<'_>) {
        let mut frame = Vec::new();
        protocol::encode_request(request, &mut frame);
        self.stream.write_all(&frame).unwrap();
    }

    /// Writes raw bytes.
    pub fn write_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Reads one reply; `None` if the server closed the connection first.
    pub fn reply(&mut self) -> Option<Reply> {
        loop {
            match protocol::decode_reply(&self.buf, u32::MAX >> 3) {
                DecodedReply::Reply {
                    status,
                    body,
                    frame_len,
                } => {
                    let reply = (status, body.to_vec());
                    self.buf.drain(..frame_len);
                    return Some(reply);
                }
                DecodedReply::Invalid => panic!("server sent an invalid reply: {:?}", self.buf),
                DecodedReply::NeedMore => {}
            }
            let mut chunk = [0u8; 64 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return None,
                Err(e) => panic!("read failed: {e}"),
            }
        }
    }

    /// Whether the server closed the connection (EOF or reset) with no further reply.
    pub fn is_closed(&mut self) -> bool {
        self.reply().is_none()
    }

    /// STATS as text.
    pub fn stats(&mut self) -> String {
        let (status, body) = self.call(&Request::Stats);
        assert_eq!(status, 0);
        String::from_utf8(body).unwrap()
    }
}

/// Stores a `value_bytes` value under `fat`, then opens a client that
/// pipelines `gets` GETs of it and never reads, so replies pile up in the
/// server. Returns the value and the never-reading stream.
pub fn never_reading_client(
    server: &Server,
    value_bytes: usize,
    gets: usize,
) -> (Vec<u8>, TcpStream) {
    let value = vec![b'x'; value_bytes];
    assert_eq!(server.tcp().set(b"fat", &value), 0);
    let mut hog = server.raw_tcp();
    let mut burst = Vec::new();
    for _ in 0..gets {
        protocol::encode_request(&Request::Get { key: b"fat" }, &mut burst);
    }
    hog.write_all(&burst).unwrap();
    (value, hog)
}

/// Polls `condition` until it holds or [`PATIENCE`] runs out.
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}
