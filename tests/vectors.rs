//! Replays every scripted session of `protocol/vectors/v1.json` against the
//! real server over TCP and over the Unix socket: the same vectors the codec's
//! unit tests and every client use.

mod common;

use blink_store::protocol::Status;
use common::vectors::{bytes, vectors};
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
    let root = vectors();
    let sessions: Vec<&Value> = root["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| runnable(s))
        .collect();
    assert!(sessions.len() >= 10, "the vectors lost their sessions");
    for session in sessions {
        let server = start(&root, session);
        replay(session, server.tcp());
        let server = start(&root, session);
        replay(session, server.unix());
    }
}
