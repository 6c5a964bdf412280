//! Test support shared by the integration tests: a real `blink-store` per
//! test (port 0 and a temp Unix socket, addresses read from its `ready`
//! line), signals for it (kill, stop, continue), in-process fake peers,
//! and readers for the protocol vectors.

#![allow(dead_code)] // Each test crate uses its own subset.

pub mod vectors;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use blink_client::{Config, Connection, ProtocolError, Stats};

/// The server binary: `$BLINK_STORE_BIN`, else the workspace's release build.
pub fn server_bin() -> PathBuf {
    match std::env::var_os("BLINK_STORE_BIN") {
        Some(path) => PathBuf::from(path),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../target/release/blink-store"),
    }
}

/// A running `blink-store`, killed and reaped on drop.
pub struct Server {
    child: Child,
    /// False between `kill` and `restart`: the pid is reaped, never signalled.
    running: bool,
    pub tcp: SocketAddr,
    pub unix: PathBuf,
    token: Option<Vec<u8>>,
    args: Vec<String>,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts a server with extra `args` on port 0 and a temp socket.
    pub fn start(args: &[&str]) -> Server {
        Server::start_with_token(args, None)
    }

    pub fn start_with_token(args: &[&str], token: Option<&[u8]>) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let unix = dir.path().join("blink.sock");
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let (child, tcp) = spawn(&args, "127.0.0.1:0", &unix, token);
        Server {
            child,
            running: true,
            tcp,
            unix,
            token: token.map(<[u8]>::to_vec),
            args,
            _dir: dir,
        }
    }

    pub fn tcp_config(&self) -> Config {
        Config::tcp(self.tcp.to_string())
    }

    pub fn unix_config(&self) -> Config {
        Config::unix(&self.unix)
    }

    /// A fresh, correctly authenticated connection (for STATS checks).
    pub fn admin(&self) -> Connection {
        let mut config = self.tcp_config();
        if let Some(token) = &self.token {
            config = config.auth_token(token);
        }
        Connection::connect(&config).expect("admin connection")
    }

    pub fn stats(&self) -> Stats {
        self.admin().stats().expect("STATS")
    }

    pub fn stat(&self, name: &str) -> u64 {
        self.stats()[name]
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill(&mut self) {
        self.signal(libc::SIGKILL);
        let _ = self.child.wait();
        self.running = false;
    }

    pub fn pause(&self) {
        self.signal(libc::SIGSTOP);
    }

    pub fn resume(&self) {
        self.signal(libc::SIGCONT);
    }

    /// Starts a new server on the same TCP port and socket path (after kill).
    pub fn restart(&mut self) {
        let _ = std::fs::remove_file(&self.unix);
        let (child, tcp) = spawn(
            &self.args,
            &self.tcp.to_string(),
            &self.unix,
            self.token.as_deref(),
        );
        assert_eq!(tcp, self.tcp, "restarted on the same address");
        self.child = child;
        self.running = true;
    }

    fn signal(&self, signal: libc::c_int) {
        assert!(self.running, "signal to a server that was killed");
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) on our own child's pid has no memory effects.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill({pid}, {signal})");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.running {
            // A stopped server must run again to die; a signal to a live
            // child cannot fail, and a drop must not panic.
            let _ = self.child.kill();
            // SAFETY: kill(2) on our own unreaped child has no memory effects.
            unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGCONT) };
            let _ = self.child.wait();
        }
    }
}

fn spawn(args: &[String], tcp: &str, unix: &Path, token: Option<&[u8]>) -> (Child, SocketAddr) {
    let mut command = Command::new(server_bin());
    command
        .arg("--tcp")
        .arg(tcp)
        .arg("--unix-socket")
        .arg(unix)
        .args(["--log-level", "warn"])
        .args(args)
        .env_remove("BLINK_AUTH_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(token) = token {
        use std::os::unix::ffi::OsStrExt;
        command.env("BLINK_AUTH_TOKEN", std::ffi::OsStr::from_bytes(token));
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", server_bin().display()));
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("ready line");
    // "ready tcp 127.0.0.1:41234, unix /tmp/x/blink.sock"
    let addr = line
        .strip_prefix("ready tcp ")
        .and_then(|rest| rest.split(',').next())
        .unwrap_or_else(|| panic!("unexpected ready line {line:?}"));
    (child, addr.parse().expect("tcp address"))
}

/// Polls `condition` every few ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        thread::sleep(Duration::from_millis(5));
    }
    condition()
}

/// A HELLO reply from a v1 server with the given frame limit.
pub fn hello_reply(max_frame_bytes: u32) -> Vec<u8> {
    let mut reply = vec![0, 0, 0, 15, 0x00, 1, 0];
    reply.extend_from_slice(&max_frame_bytes.to_be_bytes());
    reply.extend_from_slice(&1024u32.to_be_bytes());
    reply.extend_from_slice(&1_048_576u32.to_be_bytes());
    reply
}

/// Reads one request frame (header and payload) from a fake peer's socket.
pub fn read_frame(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut header = [0u8; 4];
    stream.read_exact(&mut header).ok()?;
    let mut payload = vec![0u8; u32::from_be_bytes(header) as usize];
    stream.read_exact(&mut payload).ok()?;
    Some(payload)
}

/// How a fake peer serves one accepted connection.
pub type Serve = fn(&mut TcpStream);

/// An in-process fake server: a listener on port 0 whose every accepted
/// connection is handed to `serve` on its own thread. `closed` receives a
/// message each time a `serve` returns (the peer saw the client close).
pub struct FakePeer {
    pub addr: SocketAddr,
    pub closed: mpsc::Receiver<()>,
}

impl FakePeer {
    pub fn spawn(serve: Serve) -> FakePeer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind fake peer");
        let addr = listener.local_addr().expect("local addr");
        let (closed_tx, closed) = mpsc::channel();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let closed_tx = closed_tx.clone();
                thread::spawn(move || {
                    serve(&mut stream);
                    let _ = closed_tx.send(());
                });
            }
        });
        FakePeer { addr, closed }
    }

    pub fn config(&self) -> Config {
        Config::tcp(self.addr.to_string())
    }
}

/// Accepts and never writes; returns once the client closes.
pub fn hang(stream: &mut TcpStream) {
    let mut sink = [0u8; 1024];
    while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
}

/// Answers HELLO, then hangs.
pub fn hello_then_hang(stream: &mut TcpStream) {
    if read_frame(stream).is_some() && stream.write_all(&hello_reply(1 << 20)).is_ok() {
        hang(stream);
    }
}

/// Answers HELLO, then answers the next request with `reply`, then waits
/// for the client to close.
pub fn hello_then(stream: &mut TcpStream, max_frame_bytes: u32, reply: &[u8]) {
    if read_frame(stream).is_none() || stream.write_all(&hello_reply(max_frame_bytes)).is_err() {
        return;
    }
    if read_frame(stream).is_some() && stream.write_all(reply).is_ok() {
        hang(stream);
    }
}

/// Answers HELLO, then the next request with a zero-length frame.
pub fn malformed_zero_length(stream: &mut TcpStream) {
    hello_then(stream, 1 << 20, &[0, 0, 0, 0]);
}

/// Answers HELLO, then the next request with text (a first byte >= 0x20).
pub fn malformed_foreign(stream: &mut TcpStream) {
    hello_then(stream, 1 << 20, b"-ERR\r\n");
}

/// The two runs of the malformed_reply fault, and the error each must give.
pub const MALFORMED_RUNS: [(Serve, ProtocolError); 2] = [
    (malformed_zero_length, ProtocolError::ZeroLength),
    (malformed_foreign, ProtocolError::ForeignByte(b'-')),
];

/// Reports max_frame_bytes = 4096 in HELLO, then answers with a header
/// declaring 4097 bytes and no body.
pub fn oversized_header(stream: &mut TcpStream) {
    hello_then(stream, 4096, &[0x00, 0x00, 0x10, 0x01]);
}

/// The fake of the `version_1_server` fault: a listener whose connections
/// answer HELLO (any version) with version 1 and the default limits, and
/// GET with NOT_FOUND. Every other frame is recorded, and answered
/// ERR_UNKNOWN_COMMAND as a version-1 server would, so a client that sent
/// one would not hang.
pub struct Version1Server {
    pub addr: SocketAddr,
    recorded: Arc<Mutex<Vec<Vec<u8>>>>,
}

/// The HELLO reply body of the fault: version 1, no AUTH, default limits.
pub const VERSION_1_HELLO_BODY: [u8; 14] = [
    0x01, 0x00, 0x00, 0x10, 0x10, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x10, 0x00, 0x00,
];

impl Version1Server {
    pub fn spawn() -> Version1Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind fake v1 server");
        let addr = listener.local_addr().expect("local addr");
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&recorded);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let record = Arc::clone(&record);
                thread::spawn(move || serve_version_1(&mut stream, &record));
            }
        });
        Version1Server { addr, recorded }
    }

    pub fn config(&self) -> Config {
        Config::tcp(self.addr.to_string())
    }

    /// The payloads of every frame other than HELLO and GET received so far.
    pub fn recorded(&self) -> Vec<Vec<u8>> {
        self.recorded.lock().expect("recorder").clone()
    }
}

fn serve_version_1(stream: &mut TcpStream, record: &Mutex<Vec<Vec<u8>>>) {
    while let Some(payload) = read_frame(stream) {
        let reply = match payload.first() {
            Some(0x02) => [&[0, 0, 0, 15, 0x00][..], &VERSION_1_HELLO_BODY].concat(),
            Some(0x10) => vec![0, 0, 0, 1, 0x01],
            _ => {
                record.lock().expect("recorder").push(payload);
                vec![0, 0, 0, 1, 0x80]
            }
        };
        if stream.write_all(&reply).is_err() {
            return;
        }
    }
}
