//! Every limit at its boundary, and what happens just past it, against the
//! real server binary (RELIABILITY.md sections A and B).

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use blink_store::protocol::{self, Request, Status};
use common::{Client, Server, stat, wait_until};

const OK: u8 = Status::Ok as u8;

/// A SET frame whose payload is exactly `payload_bytes` long.
fn set_frame_with_payload(payload_bytes: usize) -> Vec<u8> {
    let value = vec![b'v'; payload_bytes - 1 - 8 - 2 - 1];
    let mut frame = Vec::new();
    protocol::encode_request(
        &Request::Set {
            key: b"k",
            value: &value,
            ttl_ms: 0,
        },
        &mut frame,
    );
    assert_eq!(frame.len(), 4 + payload_bytes);
    frame
}

/// Sends raw bytes and expects one error reply with `status`, then a close.
fn expect_error_then_close(client: &mut Client, bytes: &[u8], status: Status) {
    let started = Instant::now();
    client.write_raw(bytes).unwrap();
    let reply = client.reply().expect("an error reply before the close");
    assert_eq!(
        reply.0,
        status as u8,
        "{:?}",
        String::from_utf8_lossy(&reply.1)
    );
    assert!(client.is_closed(), "connection must close after {status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "decided without waiting for a body"
    );
}

#[test]
fn max_frame_is_accepted_and_one_more_byte_is_refused_from_the_header() {
    let server = Server::start(&["--max-frame-bytes", "65536"]);
    let mut client = server.tcp();
    client.write_raw(&set_frame_with_payload(65_536)).unwrap();
    assert_eq!(client.reply().unwrap().0, OK);
    // Only the header of the oversized frame is sent: no body ever follows.
    let header = 65_537u32.to_be_bytes();
    expect_error_then_close(&mut client, &header, Status::FrameTooLarge);
    assert_eq!(server.stat("closed_protocol"), 1);
}

#[test]
fn absurd_declared_lengths_are_refused_at_once_without_allocating() {
    let server = Server::start(&[]);
    let rss_before = server.stat("rss_bytes");
    for header in [0x1FFF_FFFFu32, 1 << 28, 0x0110_0000] {
        expect_error_then_close(
            &mut server.tcp(),
            &header.to_be_bytes(),
            Status::FrameTooLarge,
        );
    }
    // From 0x7F up a first byte is Blink's and refused (0x20 to 0x7E is RESP's).
    for header in [0xFFFF_FFFFu32, 0x8000_0000, 0x7F00_0000] {
        expect_error_then_close(&mut server.tcp(), &header.to_be_bytes(), Status::Malformed);
    }
    for _ in 0..5_000 {
        expect_error_then_close(
            &mut server.tcp(),
            &0xC000_0000u32.to_be_bytes(),
            Status::Malformed,
        );
        // The same over RESP: a 2 GB bulk string declared, never sent.
        let mut stream = server.raw_tcp();
        stream
            .write_all(b"*2\r\n$3\r\nGET\r\n$2000000000\r\n")
            .unwrap();
        let mut reply = Vec::new();
        let _ = stream.read_to_end(&mut reply);
        assert_eq!(reply, b"-ERR Protocol error: invalid bulk length\r\n");
    }
    let rss_after = server.stat("rss_bytes");
    assert!(
        rss_after < rss_before + (2 << 20),
        "RSS grew from {rss_before} to {rss_after}"
    );
    assert_eq!(server.stat("buffer_bytes"), 0);
}

#[test]
fn zero_length_and_short_frames_close_the_connection() {
    let server = Server::start(&[]);
    expect_error_then_close(&mut server.tcp(), &[0, 0, 0, 0], Status::Malformed);
    // A GET whose frame ends inside the key length.
    expect_error_then_close(&mut server.tcp(), &[0, 0, 0, 2, 0x10, 0], Status::Malformed);
    // A GET whose key length runs past the frame.
    expect_error_then_close(
        &mut server.tcp(),
        &[0, 0, 0, 4, 0x10, 0, 9, b'k'],
        Status::Malformed,
    );
}

#[test]
fn the_first_bytes_choose_resp_or_are_turned_away() {
    let server = Server::start(&[]);
    // Printable ASCII speaks RESP (SPEC §3.1): an HTTP request gets what
    // Redis gives it, and its `Host:` line closes the connection.
    let resp = |bytes: &[u8]| {
        let mut stream = server.raw_tcp();
        stream.write_all(bytes).unwrap();
        let mut reply = Vec::new();
        let _ = stream.read_to_end(&mut reply);
        String::from_utf8_lossy(&reply).into_owned()
    };
    assert_eq!(
        resp(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    assert_eq!(resp(b"POST / HTTP/1.1\r\nHost: x\r\n\r\n"), "");
    assert_eq!(resp(b"*1\r\n$4\r\nPING\r\nQUIT\r\n"), "+PONG\r\n+OK\r\n");
    // TLS, other bytes from 0x7F up, and a zero length are Blink's to refuse.
    expect_error_then_close(
        &mut server.tcp(),
        b"\x16\x03\x01\x02\x00",
        Status::FrameTooLarge,
    );
    expect_error_then_close(&mut server.tcp(), b"\xff\xfe", Status::Malformed);
    expect_error_then_close(&mut server.tcp(), &vec![0u8; 64 * 1024], Status::Malformed);
}

#[test]
fn unknown_commands_get_an_error_and_the_connection_stays_usable() {
    let server = Server::start(&[]);
    let mut client = server.tcp();
    client.write_raw(&[0, 0, 0, 3, 0x7e, 1, 2]).unwrap();
    assert_eq!(client.reply().unwrap().0, Status::UnknownCommand as u8);
    assert_eq!(client.call(&Request::Ping).0, OK);
    assert_eq!(server.stat("err_unknown_command"), 1);
}

#[test]
fn key_and_value_limits_hold_at_the_boundary_and_keep_the_connection() {
    let server = Server::start(&["--max-key-bytes", "16", "--max-value-bytes", "100"]);
    let mut client = server.unix();
    let key16 = [b'k'; 16];
    let key17 = [b'k'; 17];
    assert_eq!(client.set(&key16, b"v"), OK);
    assert_eq!(client.set(&key17, b"v"), Status::KeyTooLarge as u8);
    assert_eq!(
        client.call(&Request::Get { key: &key17 }).0,
        Status::KeyTooLarge as u8
    );
    assert_eq!(client.set(b"v", &[1; 100]), OK);
    assert_eq!(client.set(b"v", &[2; 101]), Status::ValueTooLarge as u8);
    assert_eq!(
        client.call(&Request::Get { key: b"v" }),
        (OK, vec![1; 100]),
        "refused SET lost nothing"
    );
}

#[test]
fn one_connection_past_the_cap_gets_an_error_and_the_others_carry_on() {
    let server = Server::start(&["--max-connections", "5"]);
    let mut clients: Vec<Client> = (0..5).map(|_| server.tcp()).collect();
    for client in &mut clients {
        assert_eq!(client.call(&Request::Ping).0, OK);
    }
    let mut extra = server.tcp();
    assert_eq!(extra.reply().unwrap().0, Status::TooManyConnections as u8);
    assert!(extra.is_closed());
    assert_eq!(
        clients[0]
            .call(&Request::Set {
                key: b"a",
                value: b"b",
                ttl_ms: 0
            })
            .0,
        OK
    );
    let stats = clients[1].stats();
    assert_eq!(stat(&stats, "connections_rejected"), 1);
    assert_eq!(stat(&stats, "connections_current"), 5);
    drop(clients.pop());
    wait_until("a slot frees", || {
        let mut client = server.unix();
        client.call(&Request::Ping).0 == OK
    });
}

#[test]
fn a_client_that_never_reads_is_disconnected_and_others_are_unaffected() {
    let server = Server::start(&["--max-output-bytes", "2MiB", "--output-timeout-ms", "300"]);
    let (value, _hog) = common::never_reading_client(&server, 512 * 1024, 400);
    wait_until("the slow reader is closed", || {
        server.stat("closed_slow_reader") == 1
    });
    assert_eq!(
        server.unix().call(&Request::Get { key: b"fat" }),
        (OK, value)
    );
    wait_until("its buffers are released", || {
        server.stat("buffer_bytes") == 0
    });
}

#[test]
fn a_slowloris_trickling_a_frame_is_closed_at_the_frame_deadline() {
    let server = Server::start(&["--frame-timeout-ms", "300"]);
    let mut stream = server.raw_tcp();
    stream.write_all(&[0, 0]).unwrap();
    let started = Instant::now();
    let mut frame = Vec::new();
    protocol::encode_request(
        &Request::Set {
            key: b"k",
            value: &[0; 200],
            ttl_ms: 0,
        },
        &mut frame,
    );
    // Keep bytes arriving: activity must not extend the deadline.
    for byte in &frame[2..] {
        if stream.write_all(std::slice::from_ref(byte)).is_err()
            || started.elapsed() > Duration::from_secs(5)
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut client = Client::new(Box::new(stream));
    let reply = client.reply();
    assert_eq!(reply.map(|r| r.0), Some(Status::Timeout as u8));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "closed after {:?}",
        started.elapsed()
    );
    assert_eq!(server.stat("closed_frame_timeout"), 1);
}

#[test]
fn idle_connections_are_closed_when_an_idle_timeout_is_set() {
    let server = Server::start(&["--idle-timeout-ms", "200"]);
    let mut idle = server.tcp();
    assert_eq!(idle.call(&Request::Ping).0, OK);
    assert_eq!(idle.reply().map(|r| r.0), Some(Status::Timeout as u8));
    assert!(idle.is_closed());
    assert_eq!(server.stat("closed_idle"), 1);
}

#[test]
fn the_buffer_budget_caps_memory_for_partial_frames() {
    let server = Server::start(&["--buffer-budget", "1MiB", "--max-frame-bytes", "1MiB"]);
    let mut header = 600_000u32.to_be_bytes().to_vec();
    header.extend_from_slice(&[0x11; 300_000]);
    let mut trickle: Vec<_> = (0..6).map(|_| server.raw_tcp()).collect();
    for stream in &mut trickle {
        // A peer that the budget refuses may already be gone: ignore write errors.
        let _ = stream.write_all(&header);
    }
    wait_until("some partial frames are refused", || {
        server.stat("closed_buffer_budget") >= 1
    });
    assert!(server.stat("buffer_bytes") <= 1 << 20);
    let mut bystander = server.tcp();
    assert_eq!(bystander.set(b"still", b"fine"), OK);
    let refused = trickle
        .iter_mut()
        .filter(|stream| {
            let mut buf = [0u8; 64];
            stream
                .set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            matches!((&**stream).read(&mut buf), Ok(n) if n >= 5 && buf[4] == Status::Busy as u8)
        })
        .count();
    assert!(refused >= 1);
}

#[test]
fn before_auth_only_small_frames_are_accepted() {
    let server = Server::start_with(common::Options {
        env: vec![("BLINK_AUTH_TOKEN".into(), "open sesame".into())],
        ..common::Options::default()
    });
    let mut client = server.tcp();
    assert_eq!(
        client.call(&Request::Get { key: b"k" }).0,
        Status::AuthRequired as u8
    );
    let big = vec![0u8; 5_000];
    client.send(&Request::Set {
        key: b"k",
        value: &big,
        ttl_ms: 0,
    });
    assert_eq!(
        client.reply().map(|r| r.0),
        Some(Status::FrameTooLarge as u8)
    );
    assert!(client.is_closed());

    let mut client = server.tcp();
    assert_eq!(
        client
            .call(&Request::Auth {
                token: b"open sesame"
            })
            .0,
        OK
    );
    assert_eq!(client.set(b"k", &big), OK);

    let mut intruder = server.unix();
    assert_eq!(
        intruder.call(&Request::Auth { token: b"guess" }).0,
        Status::AuthFailed as u8
    );
    assert!(intruder.is_closed());
}

/// GETs in one burst of the flood (about 1 MiB of frames), written again
/// and again until the test stops the flood.
const FLOOD_BURST_GETS: usize = 95_000;
/// Round trips the bystander times, unloaded and under the flood.
const BYSTANDER_CALLS: usize = 200;
/// The quantile of the bystander's round trips under the flood that is
/// bounded, in percent. Not the median: on a 2-core machine the flood
/// client and the server keep both cores busy, so most bystander round
/// trips also wait for a core (measured: median 3 to 5 ms, from 20 us
/// unloaded). Scheduling only ever adds delay, so a low quantile shows
/// what the server itself adds: 0.3 to 0.4 ms here.
const FLOOD_QUANTILE_PERCENT: usize = 10;
/// How many times the unloaded median that quantile may be. A fair server
/// adds at most one flood turn (256 GETs, well under a millisecond even in
/// a debug build) to a round trip. With `--requests-per-turn 65536` (tried
/// on this test: the server then takes whole reads of the flood, up to
/// 65 536 GETs, each turn) the bystander's round trips took 35 ms at the
/// median, or it was starved outright until its 10 s read timeout.
const FLOOD_QUANTILE_FACTOR: u32 = 8;
/// Absolute slack on that bound, for a loaded machine.
const FLOOD_QUANTILE_SLACK: Duration = Duration::from_millis(2);

/// `calls` PING round trips, sorted.
fn ping_round_trips(client: &mut Client, calls: usize) -> Vec<Duration> {
    let mut round_trips: Vec<Duration> = (0..calls)
        .map(|_| {
            let started = Instant::now();
            assert_eq!(client.call(&Request::Ping).0, OK);
            started.elapsed()
        })
        .collect();
    round_trips.sort();
    round_trips
}

/// A client that pipelines GETs without end and reads their replies, so
/// the server always has flood work, on one thread that sleeps in `poll`
/// whenever the socket can take nothing (a busy client would steal the
/// server's core on a 2-core machine). Counts the reply bytes it read.
struct Flood {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    reply_bytes: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    thread: std::thread::JoinHandle<()>,
}

impl Flood {
    fn start(server: &Server) -> Flood {
        let mut stream = server.raw_tcp();
        stream.set_nonblocking(true).unwrap();
        let mut burst = Vec::new();
        for _ in 0..FLOOD_BURST_GETS {
            protocol::encode_request(&Request::Get { key: b"nope" }, &mut burst);
        }
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reply_bytes = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (stopping, counter) = (stop.clone(), reply_bytes.clone());
        let thread = std::thread::spawn(move || {
            let mut written = 0;
            let mut chunk = vec![0; 64 * 1024];
            while !stopping.load(std::sync::atomic::Ordering::Relaxed) {
                wait_ready(&stream);
                if let Ok(n) = stream.write(&burst[written..]) {
                    written = (written + n) % burst.len();
                }
                if let Ok(n) = stream.read(&mut chunk) {
                    counter.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                }
            }
        });
        Flood {
            stop,
            reply_bytes,
            thread,
        }
    }

    fn reply_bytes(&self) -> usize {
        self.reply_bytes.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn stop(self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap();
    }
}

/// Sleeps until `stream` can be read or written (or 10 ms pass).
fn wait_ready(stream: &std::net::TcpStream) {
    use std::os::fd::AsRawFd;
    let mut fd = libc::pollfd {
        fd: stream.as_raw_fd(),
        events: libc::POLLIN | libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one valid pollfd, for the duration of the call.
    unsafe { libc::poll(&mut fd, 1, 10) };
}

#[test]
fn a_flooding_client_does_not_starve_a_bystander() {
    let server = Server::start(&[]);
    let mut bystander = server.unix();
    let baseline = ping_round_trips(&mut bystander, BYSTANDER_CALLS)[BYSTANDER_CALLS / 2];
    let flood = Flood::start(&server);
    wait_until("the flood is being answered", || flood.reply_bytes() > 0);
    let answered_before = flood.reply_bytes();
    let loaded = ping_round_trips(&mut bystander, BYSTANDER_CALLS)
        [BYSTANDER_CALLS * FLOOD_QUANTILE_PERCENT / 100];
    let answered_during = flood.reply_bytes() - answered_before;
    flood.stop();
    assert!(answered_during > 0, "the flood was answered meanwhile");
    let bound = baseline * FLOOD_QUANTILE_FACTOR + FLOOD_QUANTILE_SLACK;
    assert!(
        loaded <= bound,
        "bystander p{FLOOD_QUANTILE_PERCENT} {loaded:?} under the flood, median {baseline:?} \
         unloaded (bound {bound:?})"
    );
}

/// Writes 1 KiB chunks to `stream` until a write fails (the server closed
/// it) or `patience` passes; returns how long the writes went on.
fn write_chunks_until_closed(mut stream: std::net::TcpStream, patience: Duration) -> Duration {
    let started = Instant::now();
    let chunk = [b'x'; 1024];
    while started.elapsed() < patience && stream.write_all(&chunk).is_ok() {}
    started.elapsed()
}

#[test]
fn a_desync_flood_after_a_bad_header_is_closed_without_buffering_it() {
    let server = Server::start(&[]);
    // Baseline: the close a bad header gets with nothing behind it.
    let started = Instant::now();
    expect_error_then_close(&mut server.tcp(), &[0xFF; 4], Status::Malformed);
    let baseline = started.elapsed();
    // The same header, then 1 KiB chunks for as long as the server takes them.
    let mut stream = server.raw_tcp();
    stream.write_all(&[0xFF; 4]).unwrap();
    let writer = std::thread::spawn(move || write_chunks_until_closed(stream, common::PATIENCE));
    let mut buffered_bytes_max = 0;
    while !writer.is_finished() {
        buffered_bytes_max = buffered_bytes_max.max(server.stat("buffer_bytes"));
    }
    let writing = writer.join().unwrap();
    // RELIABILITY A7 asks for 1 s; a close decided from the header alone
    // takes about as long as the baseline, so the bound is relative, with
    // 1 s of slack for the writer to see the reset on a loaded machine.
    assert!(
        writing < baseline * 10 + Duration::from_secs(1),
        "still writing after {writing:?} (a bare bad header closed in {baseline:?})"
    );
    assert!(
        buffered_bytes_max <= blink_store::server::buffers::LENT_BUFFER_BYTES as u64,
        "{buffered_bytes_max} bytes buffered for one desynced client"
    );
    assert_eq!(server.stat("buffer_bytes"), 0);
}
