//! Reading `protocol/vectors/v1.json` and `v2.json` for the session
//! replays: byte strings, the sessions and their server settings, a small
//! request decoder that turns each step's frames into API calls (SPEC §5
//! layouts), and the comparison of a call's outcome with the expected reply.

use std::time::Duration;

use blink_client::{Error, Pipeline, Ttl, Value};
use serde_json::Value as Json;

/// `file` is `"v1.json"` or `"v2.json"`.
pub fn load(file: &str) -> Json {
    let path = format!(
        "{}/../../../protocol/vectors/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file} parses: {e}"))
}

/// The vectors' byte strings: hex with spaces, or parts and repeat runs.
pub fn bytes_of(value: &Json) -> Vec<u8> {
    match value {
        Json::String(hex) => {
            let digits: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
            digits
                .chunks(2)
                .map(|pair| {
                    u8::from_str_radix(std::str::from_utf8(pair).expect("hex"), 16).expect("hex")
                })
                .collect()
        }
        Json::Array(parts) => parts.iter().flat_map(bytes_of).collect(),
        Json::Object(run) => {
            bytes_of(&run["repeat"]).repeat(run["count"].as_u64().expect("count") as usize)
        }
        other => panic!("not a byte string: {other}"),
    }
}

/// One request frame, as the API call it becomes.
#[derive(Debug, Clone)]
pub enum Call {
    Ping,
    Hello(u8),
    Auth(Vec<u8>),
    Get(Vec<u8>),
    Set(Vec<u8>, Vec<u8>, Option<Duration>),
    Del(Vec<u8>),
    Expire(Vec<u8>, Option<Duration>),
    Ttl(Vec<u8>),
    Stats,
    Add(Vec<u8>, Vec<u8>, Option<Duration>),
    Replace(Vec<u8>, Vec<u8>, Option<Duration>),
    Incr(Vec<u8>, i64),
    Append(Vec<u8>, Vec<u8>),
    Flush,
    Scan(u64, u16, Vec<u8>),
}

pub struct Step {
    /// `None` when a frame cannot be expressed through the API (unknown
    /// opcode, malformed or foreign bytes, a header without its body).
    pub calls: Option<Vec<Call>>,
    pub replies: Vec<Json>,
    pub closed: bool,
}

pub struct Session {
    pub name: String,
    pub token: Option<Vec<u8>>,
    pub server_args: Vec<String>,
    /// Sessions needing a memory cap below the server's minimum are skipped.
    pub needs_tiny_cap: bool,
    pub steps: Vec<Step>,
}

pub fn sessions(file: &str) -> Vec<Session> {
    let vectors = load(file);
    let limits = &vectors["limits"];
    vectors["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .map(|session| {
            let server = &session["server"];
            let limit_set = &limits[server["limits"].as_str().unwrap_or("default")];
            let server_args = ["max_frame_bytes", "max_key_bytes", "max_value_bytes"]
                .iter()
                .flat_map(|name| {
                    [
                        format!("--{}", name.replace('_', "-")),
                        limit_set[name].to_string(),
                    ]
                })
                .collect();
            Session {
                name: session["name"].as_str().expect("name").to_owned(),
                token: server["token"].as_str().map(|_| bytes_of(&server["token"])),
                server_args,
                needs_tiny_cap: server.get("cap_bytes").is_some(),
                steps: session["steps"]
                    .as_array()
                    .expect("steps")
                    .iter()
                    .map(|step| Step {
                        calls: decode_frames(&bytes_of(&step["send"])),
                        replies: step["replies"].as_array().expect("replies").clone(),
                        closed: step["then"] == "closed",
                    })
                    .collect(),
            }
        })
        .collect()
}

fn decode_frames(mut buf: &[u8]) -> Option<Vec<Call>> {
    let mut calls = Vec::new();
    while !buf.is_empty() {
        let header: [u8; 4] = buf.get(..4)?.try_into().ok()?;
        let len = u32::from_be_bytes(header) as usize;
        let payload = buf.get(4..4 + len)?;
        calls.push(decode_payload(payload)?);
        buf = &buf[4 + len..];
    }
    Some(calls)
}

fn decode_payload(payload: &[u8]) -> Option<Call> {
    let (&opcode, fields) = payload.split_first()?;
    let ttl = |at: &[u8]| {
        let ms = u64::from_be_bytes(at.get(..8)?.try_into().ok()?);
        Some((ms != 0).then(|| Duration::from_millis(ms)))
    };
    let key = |at: &[u8]| -> Option<(Vec<u8>, usize)> {
        let len = u16::from_be_bytes(at.get(..2)?.try_into().ok()?) as usize;
        Some((at.get(2..2 + len)?.to_vec(), 2 + len))
    };
    let only_key = |at: &[u8]| {
        key(at)
            .filter(|(_, used)| *used == at.len())
            .map(|(k, _)| k)
    };
    Some(match opcode {
        0x01 if fields.is_empty() => Call::Ping,
        0x02 if fields.len() == 1 => Call::Hello(fields[0]),
        0x03 => Call::Auth(fields.to_vec()),
        0x10 => Call::Get(only_key(fields)?),
        0x11 => {
            let (k, used) = key(fields.get(8..)?)?;
            Call::Set(k, fields[8 + used..].to_vec(), ttl(fields)?)
        }
        0x12 => Call::Del(only_key(fields)?),
        0x13 => Call::Expire(only_key(fields.get(8..)?)?, ttl(fields)?),
        0x14 => Call::Ttl(only_key(fields)?),
        0x15 | 0x16 => {
            let (k, used) = key(fields.get(8..)?)?;
            let (value, ttl) = (fields[8 + used..].to_vec(), ttl(fields)?);
            match opcode {
                0x15 => Call::Add(k, value, ttl),
                _ => Call::Replace(k, value, ttl),
            }
        }
        0x17 => {
            let delta = i64::from_be_bytes(fields.get(..8)?.try_into().ok()?);
            Call::Incr(only_key(&fields[8..])?, delta)
        }
        0x18 => {
            let (k, used) = key(fields)?;
            Call::Append(k, fields[used..].to_vec())
        }
        0x20 if fields.is_empty() => Call::Stats,
        0x21 if fields.is_empty() => Call::Flush,
        0x22 => {
            let cursor = u64::from_be_bytes(fields.get(..8)?.try_into().ok()?);
            let count = u16::from_be_bytes(fields.get(8..10)?.try_into().ok()?);
            Call::Scan(cursor, count, fields[10..].to_vec())
        }
        _ => return None,
    })
}

/// The pipeline of a multi-frame step.
pub fn pipeline(calls: &[Call]) -> Pipeline {
    let mut pipeline = Pipeline::new();
    for call in calls {
        match call {
            Call::Ping => pipeline.ping(),
            Call::Hello(version) => pipeline.hello(*version),
            Call::Auth(token) => pipeline.auth(token),
            Call::Get(key) => pipeline.get(key),
            Call::Set(key, value, ttl) => pipeline.set(key, value, *ttl),
            Call::Del(key) => pipeline.del(key),
            Call::Expire(key, ttl) => pipeline.expire(key, *ttl),
            Call::Ttl(key) => pipeline.ttl(key),
            Call::Stats => pipeline.stats(),
            Call::Add(key, value, ttl) => pipeline.add(key, value, *ttl),
            Call::Replace(key, value, ttl) => pipeline.replace(key, value, *ttl),
            Call::Incr(key, delta) => pipeline.incr(key, *delta),
            Call::Append(key, suffix) => pipeline.append(key, suffix),
            Call::Flush => pipeline.flush(),
            Call::Scan(cursor, count, prefix) => pipeline.scan(*cursor, *count, prefix),
        };
    }
    pipeline
}

/// The status name SPEC §6.2 gives the error a call failed with.
pub fn status_name(error: &Error) -> &'static str {
    match error {
        Error::KeyTooLarge { .. } => "ERR_KEY_TOO_LARGE",
        Error::ValueTooLarge { .. } => "ERR_VALUE_TOO_LARGE",
        Error::FrameTooLarge { .. } => "ERR_FRAME_TOO_LARGE",
        Error::ItemTooLarge => "ERR_ITEM_TOO_LARGE",
        Error::UnknownCommand => "ERR_UNKNOWN_COMMAND",
        Error::UnsupportedVersion => "ERR_UNSUPPORTED_VERSION",
        Error::AuthRequired => "ERR_AUTH_REQUIRED",
        Error::AuthFailed => "ERR_AUTH_FAILED",
        Error::TooManyConnections => "ERR_TOO_MANY_CONNECTIONS",
        Error::Busy => "ERR_BUSY",
        Error::ShuttingDown => "ERR_SHUTTING_DOWN",
        Error::ServerTimeout => "ERR_TIMEOUT",
        Error::NotInteger => "ERR_NOT_INTEGER",
        other => panic!("no status for {other}"),
    }
}

/// A value written back as the reply body the server sent for it. Only
/// ADD's `false` needs the call: it stands for EXISTS, REPLACE's for
/// NOT_FOUND.
fn reply_of(call: &Call, value: &Value) -> (&'static str, Option<Vec<u8>>) {
    match value {
        Value::Done
        | Value::Existed(true)
        | Value::Stored(true)
        | Value::Ttl(Some(Ttl::Persistent)) => ("OK", Some(Vec::new())),
        Value::Stored(false) if matches!(call, Call::Add(..)) => ("EXISTS", Some(Vec::new())),
        Value::Stored(false) => ("NOT_FOUND", Some(Vec::new())),
        Value::Integer(value) => ("OK", Some(value.to_be_bytes().to_vec())),
        Value::Length(length) => ("OK", Some(length.to_be_bytes().to_vec())),
        Value::Scan { .. } => ("OK", None),
        Value::Bytes(Some(bytes)) => ("OK", Some(bytes.clone())),
        Value::Bytes(None) | Value::Existed(false) | Value::Ttl(None) => {
            ("NOT_FOUND", Some(Vec::new()))
        }
        Value::Ttl(Some(ttl)) => ("OK", ttl.remaining_ms().map(|ms| ms.to_be_bytes().to_vec())),
        Value::Stats(_) => ("OK", None),
        Value::Hello(info) => {
            let mut body = vec![info.version, u8::from(info.auth_required)];
            for limit in [
                info.limits.max_frame_bytes,
                info.limits.max_key_bytes,
                info.limits.max_value_bytes,
            ] {
                body.extend_from_slice(&limit.to_be_bytes());
            }
            ("OK", Some(body))
        }
    }
}

/// Asserts that `call`'s outcome is the reply the step expects. A version-2
/// call the client refused locally on a version-1 connection is
/// ERR_UNKNOWN_COMMAND, as the server's refusal is (the kit accepts both).
pub fn check(expected: &Json, call: &Call, got: &Result<Value, Error>, context: &str) {
    let status = expected["status"].as_str().expect("status");
    let (got_status, got_body) = match got {
        Ok(value) => reply_of(call, value),
        Err(error) => (status_name(error), None),
    };
    assert_eq!(got_status, status, "{context}: got {got:?}");
    if let Some(body) = expected.get("body") {
        assert_eq!(
            got_body.as_deref(),
            Some(&bytes_of(body)[..]),
            "{context}: body"
        );
    }
    if let Some(len) = expected.get("body_len") {
        let len = len.as_u64().expect("body_len") as usize;
        assert_eq!(
            got_body.map(|b| b.len()),
            Some(len),
            "{context}: body length"
        );
    }
    // An OK with neither body nor length accepts any result of the right
    // shape: STATS's counters, or a SCAN page of keys under its prefix.
    if status == "OK" && expected.get("body").is_none() && expected.get("body_len").is_none() {
        match (call, got) {
            (Call::Scan(_, _, prefix), Ok(Value::Scan { keys, .. })) => assert!(
                keys.iter().all(|key| key.starts_with(prefix)),
                "{context}: SCAN keys under the prefix"
            ),
            (Call::Stats, Ok(Value::Stats(stats))) => {
                assert!(!stats.is_empty(), "{context}: STATS")
            }
            _ => panic!("{context}: {got:?} for {call:?}"),
        }
    }
}
