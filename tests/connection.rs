//! A connection's turn seen from the wire: replies behind a fatal frame are
//! delivered, the buffer budget holds for input and output, a connection
//! past its output cap is closed with ERR_BUSY, and the byte counters count
//! every byte (SPEC §6.2, §7.3, §8; README "What the limits mean").

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use blink_store::protocol::{self, Request, Status};
use common::{Client, Options, Server, wait_until};

const OK: u8 = Status::Ok as u8;

fn gets(key: &[u8], count: usize) -> Vec<u8> {
    let mut burst = Vec::new();
    for _ in 0..count {
        protocol::encode_request(&Request::Get { key }, &mut burst);
    }
    burst
}

/// Waits until the server has had time to hit its output cap, then reads
/// `count` full replies of `value`, then expects `last` and a close.
fn expect_backlog_then(
    client: &mut Client,
    mut held_bytes: impl FnMut() -> u64,
    count: usize,
    value: &[u8],
    last: Status,
) {
    // The client starts reading only once the server holds replies it cannot send.
    wait_until("the server holds unsent replies", || held_bytes() > 0);
    for i in 0..count {
        let reply = client
            .reply()
            .unwrap_or_else(|| panic!("closed after {i} of {count} replies"));
        assert_eq!(reply, (OK, value.to_vec()), "reply {i}");
    }
    assert_eq!(client.reply().map(|r| r.0), Some(last as u8));
    assert!(client.is_closed());
}

#[test]
fn a_fatal_frame_behind_a_backlog_gets_every_earlier_reply_first() {
    let server = Server::start(&[]);
    let value = vec![b'v'; 16 * 1024];
    assert_eq!(server.tcp().set(b"v", &value), OK);
    for fatal in [&b"\0\0\0\0"[..], b"GET / HTTP/1.1\r\n"] {
        let mut client = server.tcp();
        let mut burst = gets(b"v", 3_000);
        burst.extend_from_slice(fatal);
        client.write_raw(&burst).unwrap();
        let held = || server.stat("buffer_bytes");
        expect_backlog_then(&mut client, held, 3_000, &value, Status::Malformed);
    }
}

#[test]
fn a_wrong_auth_behind_a_backlog_gets_every_earlier_reply_first() {
    let server = Server::start_with(Options {
        env: vec![("BLINK_AUTH_TOKEN".into(), "sesame".into())],
        ..Options::default()
    });
    let value = vec![b'v'; 16 * 1024];
    let mut setup = server.tcp();
    assert_eq!(setup.call(&Request::Auth { token: b"sesame" }).0, OK);
    assert_eq!(setup.set(b"v", &value), OK);
    let mut client = server.tcp();
    let mut burst = Vec::new();
    protocol::encode_request(&Request::Auth { token: b"sesame" }, &mut burst);
    burst.extend_from_slice(&gets(b"v", 3_000));
    protocol::encode_request(&Request::Auth { token: b"wrong" }, &mut burst);
    client.write_raw(&burst).unwrap();
    assert_eq!(client.reply(), Some((OK, Vec::new())));
    let held = || common::stat(&setup.stats(), "buffer_bytes");
    expect_backlog_then(&mut client, held, 3_000, &value, Status::AuthFailed);
}

#[test]
fn a_connection_past_its_output_cap_is_closed_with_busy() {
    let server = Server::start(&["--max-output-bytes", "2MiB", "--output-timeout-ms", "300"]);
    let (_value, _hog) = common::never_reading_client(&server, 512 * 1024, 400);
    wait_until("the slow reader is closed", || {
        server.stat("closed_slow_reader") == 1
    });
    assert_eq!(server.stat("err_busy"), 1, "ERR_BUSY, not ERR_TIMEOUT");
    assert_eq!(server.stat("err_timeout"), 0);
}

/// A SET frame of exactly `frame_bytes` (header included).
fn set_frame(frame_bytes: usize) -> Vec<u8> {
    let value = vec![b'x'; frame_bytes - 4 - 11 - 1];
    let mut frame = Vec::new();
    protocol::encode_request(
        &Request::Set {
            key: b"k",
            value: &value,
            ttl_ms: 0,
        },
        &mut frame,
    );
    assert_eq!(frame.len(), frame_bytes);
    frame
}

#[test]
fn a_lone_frame_that_fits_the_budget_is_accepted_however_it_arrives() {
    let args = [
        "--memory-limit",
        "4MiB",
        "--max-frame-bytes",
        "1048576",
        "--buffer-budget",
        "1MiB",
    ];
    let server = Server::start(&args);
    let frame = set_frame(1_047_576);
    for first_part_bytes in [280 * 1024, 450 * 1024, 600 * 1024] {
        let mut client = server.tcp();
        client.write_raw(&frame[..first_part_bytes]).unwrap();
        wait_until("the first part is held", || {
            server.stat("buffer_bytes") >= first_part_bytes as u64
        });
        client.write_raw(&frame[first_part_bytes..]).unwrap();
        assert_eq!(
            client.reply().map(|r| r.0),
            Some(OK),
            "split at {first_part_bytes}"
        );
    }
    assert_eq!(server.stat("closed_buffer_budget"), 0);
}

#[test]
fn the_budget_charges_bytes_held_and_refuses_only_past_its_limit() {
    let server = Server::start(&["--buffer-budget", "1MiB", "--max-frame-bytes", "1MiB"]);
    let frame = set_frame(1_000_000);
    let held_bytes = 400 * 1024;
    let mut holders: Vec<Client> = (0..2).map(|_| server.tcp()).collect();
    for holder in &mut holders {
        holder.write_raw(&frame[..held_bytes]).unwrap();
    }
    wait_until("both partial frames are held", || {
        server.stat("buffer_bytes") >= 2 * held_bytes as u64
    });
    assert_eq!(server.stat("closed_buffer_budget"), 0, "800 KiB fits 1 MiB");
    let mut third = server.tcp();
    let _ = third.write_raw(&frame[..held_bytes]);
    assert_eq!(third.reply().map(|r| r.0), Some(Status::Busy as u8));
    assert!(server.stat("buffer_bytes") <= 1 << 20);
    for holder in &mut holders {
        holder.write_raw(&frame[held_bytes..]).unwrap();
    }
    let answered = holders
        .iter_mut()
        .map(|holder| holder.reply().map(|r| r.0))
        .filter(|status| *status == Some(OK))
        .count();
    assert!(answered >= 1, "at least one completes within the budget");
}

/// A client that reads at a pace slower than the server writes, for
/// `reading_for`, then hangs up.
fn slow_reader(mut stream: TcpStream, reading_for: Duration) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let started = Instant::now();
        let mut chunk = [0u8; 16 * 1024];
        while started.elapsed() < reading_for {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                // The pace is the point: a reader slower than the server.
                Ok(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    })
}

#[test]
fn many_slow_readers_never_push_buffers_past_the_budget() {
    let budget_bytes: u64 = 2 << 20;
    let server = Server::start(&[
        "--memory-limit",
        "8MiB",
        "--max-frame-bytes",
        "64KiB",
        "--max-output-bytes",
        "1MiB",
        "--buffer-budget",
        "2MiB",
        "--output-timeout-ms",
        "500",
    ]);
    let value = vec![b'x'; 60 * 1024];
    assert_eq!(server.tcp().set(b"fat", &value), OK);
    let burst = gets(b"fat", 2_000);
    let readers: Vec<_> = (0..8)
        .map(|_| {
            let mut stream = server.raw_tcp();
            stream.write_all(&burst[..]).unwrap();
            slow_reader(stream, Duration::from_secs(2))
        })
        .collect();
    let mut peak_bytes = 0;
    // With the budget held by the readers, the observer's own STATS may be
    // refused too (ERR_BUSY, then a close): that is the budget at work.
    let mut refused_stats = 0;
    let mut stats = server.tcp();
    wait_until("every slow reader is gone", || {
        let (status, body) = stats.call(&Request::Stats);
        if status == Status::Busy as u8 {
            refused_stats += 1;
            stats = server.tcp();
            return false;
        }
        assert_eq!(status, OK);
        let text = String::from_utf8(body).unwrap();
        peak_bytes = peak_bytes.max(common::stat(&text, "buffer_bytes"));
        assert!(peak_bytes <= budget_bytes, "buffers {peak_bytes} > budget");
        common::stat(&text, "connections_current") == 1
    });
    assert!(
        peak_bytes > budget_bytes / 2 || refused_stats > 0,
        "the test pressed the budget: {peak_bytes} bytes at the peak, no STATS refused"
    );
    for reader in readers {
        reader.join().unwrap();
    }
    wait_until("the buffers are released", || {
        server.stat("buffer_bytes") == 0
    });
    assert_eq!(
        server.tcp().call(&Request::Get { key: b"fat" }),
        (OK, value)
    );
}

/// Reads until EOF; returns every byte received.
fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    stream.set_read_timeout(Some(common::PATIENCE)).unwrap();
    let mut received = Vec::new();
    stream.read_to_end(&mut received).unwrap();
    received
}

#[test]
fn bytes_in_and_out_count_every_byte_including_closing_replies() {
    let server = Server::start(&["--max-connections", "2"]);
    let mut sent_bytes = 0;
    let mut received_bytes = 0;

    let mut worker = server.raw_tcp();
    let mut requests = Vec::new();
    protocol::encode_request(&Request::Ping, &mut requests);
    protocol::encode_request(
        &Request::Set {
            key: b"k",
            value: b"value",
            ttl_ms: 0,
        },
        &mut requests,
    );
    protocol::encode_request(&Request::Get { key: b"k" }, &mut requests);
    protocol::encode_request(&Request::Get { key: b"missing" }, &mut requests);
    worker.write_all(&requests).unwrap();
    sent_bytes += requests.len();
    let expected_replies = 5 + 5 + (5 + 5) + 5;
    let mut replies = vec![0; expected_replies];
    worker.read_exact(&mut replies).unwrap();
    received_bytes += replies.len();

    // Error-then-close paths: a malformed frame, then one connection too many.
    let mut malformed = server.raw_tcp();
    malformed.write_all(&[0, 0, 0, 0]).unwrap();
    sent_bytes += 4;
    received_bytes += read_to_close(&mut malformed).len();
    let stats = server.raw_tcp();
    let mut refused = server.raw_tcp();
    let refusal = read_to_close(&mut refused);
    assert_eq!(refusal.get(4), Some(&(Status::TooManyConnections as u8)));
    received_bytes += refusal.len();

    let mut stats = Client::new(Box::new(stats));
    let text = stats.stats();
    assert_eq!(common::stat(&text, "connections_rejected"), 1);
    // The STATS request itself is counted in; its reply is made before it is written.
    assert_eq!(common::stat(&text, "bytes_in"), sent_bytes as u64 + 5);
    assert_eq!(common::stat(&text, "bytes_out"), received_bytes as u64);
}

/// redis-py and Jedis write a whole pipeline before reading any reply:
/// the server keeps reading requests while its replies wait, so neither
/// side blocks on its own write (over a Unix socket, whose buffers are the
/// smallest).
#[test]
fn a_client_that_writes_its_whole_pipeline_before_reading_completes() {
    const GETS: usize = 20_000;
    const VALUE_BYTES: usize = 4096;
    let server = Server::start(&[]);
    let path = server.unix.clone().expect("unix enabled");
    let mut setter = std::os::unix::net::UnixStream::connect(&path).unwrap();
    let set = format!(
        "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${VALUE_BYTES}\r\n{}\r\n",
        "v".repeat(VALUE_BYTES)
    );
    setter.write_all(set.as_bytes()).unwrap();
    let mut ok = [0u8; 5];
    setter.read_exact(&mut ok).unwrap();
    assert_eq!(&ok, b"+OK\r\n");

    let stream = std::os::unix::net::UnixStream::connect(&path).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let pipeline = "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n".repeat(GETS);
    let sent = std::thread::spawn(move || writer.write_all(pipeline.as_bytes()).is_ok());
    // Only once the whole pipeline is written does this client read.
    assert!(sent.join().unwrap(), "the server read the whole pipeline");
    let reply_bytes = GETS * (VALUE_BYTES + "$4096\r\n\r\n".len());
    let mut replies = vec![0u8; reply_bytes];
    (&stream).read_exact(&mut replies).unwrap();
    let one = format!("$4096\r\n{}\r\n", "v".repeat(VALUE_BYTES));
    assert!(
        replies
            .chunks(one.len())
            .all(|reply| reply == one.as_bytes())
    );
}
