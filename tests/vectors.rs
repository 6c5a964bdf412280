//! Replays every scripted session of `protocol/vectors/v1.json` and
//! `v2.json` against the real server over TCP and over the Unix socket: the same vectors the codec's
//! unit tests and every client use. Also the RESP sessions (exact reply
//! bytes) and the first-byte protocol choice (SPEC §3.1).

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

use blink_store::protocol::{Detected, Status, detect};
use common::vectors::{all_vectors, bytes, vectors};
use common::{Client, Options, Server};
use serde_json::Value;

/// Flags that give the server a named limit set from the vectors file.
fn limit_flags(root: &Value, name: &str) -> Vec<String> {
    let limits = &root["limits"][name];
    let flag = |field: &str| limits[field].as_u64().expect(field).to_string();
    vec![
        "--max-frame-bytes".into(),
        flag("max_frame_bytes"),
        "--max-key-bytes".into(),
        flag("max_key_bytes"),
        "--max-value-bytes".into(),
        flag("max_value_bytes"),
    ]
}

fn status_code(name: &str) -> u8 {
    let status = Status::ALL
        .iter()
        .find(|s| s.name() == name)
        .unwrap_or_else(|| panic!("unknown status {name}"));
    *status as u8
}

fn start(root: &Value, session: &Value) -> Server {
    let server = &session["server"];
    let mut env = Vec::new();
    if let Some(token) = server["token"].as_str() {
        let token = String::from_utf8(bytes(&Value::String(token.into()))).unwrap();
        env.push(("BLINK_AUTH_TOKEN".to_string(), token));
    }
    let limits = server["limits"].as_str().unwrap_or("default");
    Server::start_with(Options {
        args: limit_flags(root, limits),
        env,
        ..Options::default()
    })
}

fn replay(session: &Value, mut client: Client) {
    let name = session["name"].as_str().unwrap();
    for (index, step) in session["steps"].as_array().unwrap().iter().enumerate() {
        client.write_raw(&bytes(&step["send"])).unwrap();
        for expected in step["replies"].as_array().unwrap() {
            let (status, body) = client
                .reply()
                .unwrap_or_else(|| panic!("{name} step {index}: closed before a reply"));
            let want = status_code(expected["status"].as_str().unwrap());
            assert_eq!(status, want, "{name} step {index}: status");
            if let Some(want_body) = expected.get("body") {
                assert_eq!(body, bytes(want_body), "{name} step {index}: body");
            }
            if let Some(len) = expected.get("body_len") {
                assert_eq!(
                    body.len() as u64,
                    len.as_u64().unwrap(),
                    "{name} step {index}: body length"
                );
            }
        }
        match step["then"].as_str().unwrap() {
            "open" => {}
            "closed" => assert!(client.is_closed(), "{name} step {index}: must close"),
            other => panic!("unknown outcome {other}"),
        }
    }
}

/// Sessions that need a memory cap below the server's 1 MiB minimum cannot
/// run here: with `max_frame_bytes <= cap / 2` an item over the cap cannot
/// even be sent. The codec and command tests cover them.
fn runnable(session: &Value) -> bool {
    session["server"].get("cap_bytes").is_none()
}

#[test]
fn every_session_replays_over_tcp_and_unix() {
    let mut replayed = 0;
    for root in all_vectors() {
        let sessions = root["sessions"].as_array().unwrap();
        for session in sessions.iter().filter(|s| runnable(s)) {
            let server = start(&root, session);
            replay(session, server.tcp());
            let server = start(&root, session);
            replay(session, server.unix());
            replayed += 1;
        }
    }
    assert!(
        replayed >= 20,
        "the vectors lost their sessions: {replayed}"
    );
}

/// A connection that never sends HELLO speaks version 1: the v2 commands
/// are unknown there, and the frame is skipped with the connection kept.
#[test]
fn without_hello_the_v2_commands_are_unknown() {
    let server = Server::start(&[]);
    let mut client = server.tcp();
    client.write_raw(b"\x00\x00\x00\x01\x21").unwrap();
    assert_eq!(
        client.reply().map(|(status, _)| status),
        Some(Status::UnknownCommand as u8)
    );
    client.write_raw(b"\x00\x00\x00\x01\x01").unwrap();
    assert_eq!(client.reply(), Some((Status::Ok as u8, Vec::new())));
}

/// Sends each step's bytes and reads exactly the reply it names; a
/// "closed" step must then see EOF.
fn replay_resp(session: &Value, mut stream: impl Read + Write) {
    let name = session["name"].as_str().unwrap();
    for (index, step) in session["steps"].as_array().unwrap().iter().enumerate() {
        stream.write_all(&bytes(&step["send"])).unwrap();
        let want = bytes(&step["reply"]);
        let mut got = vec![0; want.len()];
        stream
            .read_exact(&mut got)
            .unwrap_or_else(|e| panic!("{name} step {index}: {e}"));
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            "{name} step {index}"
        );
        match step["then"].as_str().unwrap() {
            "open" => {}
            "closed" => {
                let mut rest = Vec::new();
                let _ = stream.read_to_end(&mut rest);
                assert_eq!(
                    rest, b"",
                    "{name} step {index}: nothing after the reply, then EOF"
                );
            }
            other => panic!("unknown outcome {other}"),
        }
    }
}

#[test]
fn every_resp_session_replays_over_tcp_and_unix() {
    let root = vectors();
    let sessions = root["resp_sessions"].as_array().unwrap();
    assert!(sessions.len() >= 10, "the vectors lost their RESP sessions");
    for session in sessions {
        let server = start(&root, session);
        replay_resp(session, server.raw_tcp());
        let unix = UnixStream::connect(server.unix.as_ref().unwrap()).unwrap();
        unix.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        replay_resp(session, unix);
    }
}

#[test]
fn the_first_byte_chooses_the_protocol() {
    let root = vectors();
    let cases = root["first_bytes"].as_array().unwrap();
    assert!(!cases.is_empty());
    for case in cases {
        let want = match case["protocol"].as_str().unwrap() {
            "need_more" => Detected::NeedMore,
            "blink" => Detected::Blink,
            "resp" => Detected::Resp,
            other => panic!("unknown protocol {other}"),
        };
        assert_eq!(detect(&bytes(&case["bytes"])), want, "{}", case["name"]);
    }
}
