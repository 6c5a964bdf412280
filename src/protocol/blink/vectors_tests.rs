//! Runs the codec against the committed test vectors,
//! `protocol/vectors/v1.json` and `v2.json` (schema in
//! `protocol/vectors/README.md`).
//! The vectors are hand-written from SPEC.md; nothing generates them from
//! this code, so a disagreement is a bug in one or the other.

use serde_json::Value;

use super::oracle::check_outcome;
use super::*;

// The JSON readers are shared with the wire tests, which replay the same file.
#[path = "../../../tests/common/vectors.rs"]
mod vector_json;
use vector_json::{all_vectors, bytes, u64_string};

fn cases<'v>(root: &'v Value, section: &str) -> &'v [Value] {
    root[section].as_array().expect("section is an array")
}

fn u32_field(value: &Value, name: &str) -> u32 {
    u32::try_from(value[name].as_u64().expect(name)).expect("u32")
}

fn limits(root: &Value, name: Option<&str>) -> Limits {
    let json = &root["limits"][name.unwrap_or("default")];
    Limits {
        max_frame_bytes: u32_field(json, "max_frame_bytes"),
        max_key_bytes: u32_field(json, "max_key_bytes"),
        max_value_bytes: u32_field(json, "max_value_bytes"),
    }
}

fn case_limits(root: &Value, case: &Value) -> Limits {
    limits(root, case["limits"].as_str())
}

fn status(name: &Value) -> Status {
    let name = name.as_str().expect("status name");
    *Status::ALL
        .iter()
        .find(|s| s.name() == name)
        .unwrap_or_else(|| panic!("unknown status {name}"))
}

/// The owned fields of an expected request, so a borrowed [`Request`] can
/// be built from them.
struct Fields {
    key: Vec<u8>,
    value: Vec<u8>,
    token: Vec<u8>,
    suffix: Vec<u8>,
    prefix: Vec<u8>,
}

impl Fields {
    fn new(json: &Value) -> Fields {
        let field = |name: &str| json.get(name).map(bytes).unwrap_or_default();
        Fields {
            key: field("key"),
            value: field("value"),
            token: field("token"),
            suffix: field("suffix"),
            prefix: field("prefix"),
        }
    }

    fn request(&self, json: &Value) -> Request<'_> {
        let ttl_ms = || u64_string(&json["ttl_ms"]);
        let key = &self.key;
        match json["command"].as_str().expect("command") {
            "PING" => Request::Ping,
            "HELLO" => Request::Hello {
                version: u8::try_from(json["version"].as_u64().expect("version")).expect("u8"),
            },
            "AUTH" => Request::Auth { token: &self.token },
            "GET" => Request::Get { key },
            "SET" => Request::Set {
                key,
                value: &self.value,
                ttl_ms: ttl_ms(),
            },
            "DEL" => Request::Del { key },
            "EXPIRE" => Request::Expire {
                key,
                ttl_ms: ttl_ms(),
            },
            "TTL" => Request::Ttl { key },
            "STATS" => Request::Stats,
            "ADD" => Request::Add {
                key,
                value: &self.value,
                ttl_ms: ttl_ms(),
            },
            "REPLACE" => Request::Replace {
                key,
                value: &self.value,
                ttl_ms: ttl_ms(),
            },
            "INCR" => Request::Incr {
                key,
                delta: json["delta"].as_str().expect("delta").parse().expect("i64"),
            },
            "APPEND" => Request::Append {
                key,
                suffix: &self.suffix,
            },
            "FLUSH" => Request::Flush,
            "SCAN" => Request::Scan {
                cursor: u64_string(&json["cursor"]),
                count: u16::try_from(json["count"].as_u64().expect("count")).expect("u16"),
                prefix: &self.prefix,
            },
            other => panic!("unknown command {other}"),
        }
    }
}

/// Asserts that `decoded` is the outcome `expect` describes.
fn assert_outcome(name: &str, expect: &Value, decoded: Decoded<'_>) {
    let frame_len = || expect["frame_len"].as_u64().expect("frame_len") as usize;
    let fields = Fields::new(&expect["request"]);
    let wanted = match expect["outcome"].as_str().expect("outcome") {
        "need_more" => Decoded::NeedMore,
        "request" => Decoded::Request {
            request: fields.request(&expect["request"]),
            frame_len: frame_len(),
        },
        "rejected" => Decoded::Rejected {
            error: request_error(status(&expect["status"])),
            frame_len: frame_len(),
        },
        "fatal" => Decoded::Fatal(frame_error(status(&expect["status"]))),
        other => panic!("{name}: unknown outcome {other}"),
    };
    if let Some(code) = expect["status_code"].as_u64() {
        let status = status(&expect["status"]);
        assert_eq!(code, u64::from(status as u8), "{name}: status_code");
        let closed = expect["connection"] == "closed";
        assert_eq!(status.closes_connection(), closed, "{name}: connection");
    }
    assert!(decoded == wanted, "{name}: got {decoded:?}");
}

fn request_error(status: Status) -> RequestError {
    [
        RequestError::UnknownCommand,
        RequestError::KeyTooLarge,
        RequestError::ValueTooLarge,
    ]
    .into_iter()
    .find(|e| e.status() == status)
    .unwrap_or_else(|| panic!("{status:?} is not a rejection"))
}

fn frame_error(status: Status) -> FrameError {
    [FrameError::Malformed, FrameError::FrameTooLarge]
        .into_iter()
        .find(|e| e.status() == status)
        .unwrap_or_else(|| panic!("{status:?} is not fatal"))
}

/// The version a file's cases are decoded at: its own, unless a case
/// names the version its connection negotiated.
fn case_version(root: &Value, case: &Value) -> u8 {
    let version = case
        .get("version")
        .unwrap_or(&root["protocol_version"])
        .as_u64()
        .expect("version");
    u8::try_from(version).expect("u8")
}

#[test]
fn decode_request_vectors() {
    for root in all_vectors() {
        for case in cases(&root, "decode_request") {
            let name = case["name"].as_str().expect("name");
            let buf = bytes(&case["bytes"]);
            let limits = case_limits(&root, case);
            let version = case_version(&root, case);
            let decoded = decode_request_at(&buf, &limits, version);
            assert_outcome(name, &case["expect"], decoded);
            check_outcome(&buf, &limits, version, &decoded)
                .unwrap_or_else(|why| panic!("{name}: {why}"));
        }
    }
}

#[test]
fn decode_stream_vectors() {
    for root in all_vectors() {
        decode_streams(&root);
    }
}

fn decode_streams(root: &Value) {
    let version = case_version(root, &Value::Null);
    for case in cases(root, "decode_stream") {
        let name = case["name"].as_str().expect("name");
        let buf = bytes(&case["bytes"]);
        let limits = case_limits(root, case);
        let expected = case["expect"].as_array().expect("outcomes");
        let mut rest = &buf[..];
        for (index, expect) in expected.iter().enumerate() {
            let decoded = decode_request_at(rest, &limits, version);
            assert_outcome(&format!("{name}[{index}]"), expect, decoded);
            if let Decoded::Request { frame_len, .. } | Decoded::Rejected { frame_len, .. } =
                decoded
            {
                rest = &rest[frame_len..];
            }
        }
        assert!(matches!(
            decode_request_at(rest, &limits, version),
            Decoded::NeedMore | Decoded::Fatal(_)
        ));
    }
}

#[test]
fn encode_reply_vectors() {
    for root in all_vectors() {
        encode_replies(&root);
    }
}

fn encode_replies(root: &Value) {
    for case in cases(root, "encode_reply") {
        let name = case["name"].as_str().expect("name");
        let reply = &case["reply"];
        let mut out = Vec::new();
        match reply["kind"].as_str().expect("kind") {
            "status" => encode_reply(status(&reply["status"]), &bytes(&reply["body"]), &mut out),
            "error" => {
                let status = status(&reply["status"]);
                encode_reply(status, status.message().as_bytes(), &mut out);
            }
            "hello" => {
                let limits = limits(root, reply["limits"].as_str());
                let auth_required = reply["auth_required"].as_bool().expect("auth_required");
                let version = reply.get("version").map_or(1, |v| v.as_u64().expect("u8"));
                let version = u8::try_from(version).expect("u8");
                encode_hello_reply(version, &limits, auth_required, &mut out);
                let parsed = HelloReply::parse(&out[5..]).expect("HELLO body parses");
                assert_eq!(
                    (parsed.version, parsed.limits, parsed.auth_required),
                    (version, limits, auth_required)
                );
            }
            "integer" => {
                let value: i64 = reply["value"]
                    .as_str()
                    .expect("value")
                    .parse()
                    .expect("i64");
                encode_reply(Status::Ok, &value.to_be_bytes(), &mut out);
            }
            "length" => encode_reply(
                Status::Ok,
                &u64_string(&reply["length"]).to_be_bytes(),
                &mut out,
            ),
            "scan" => encode_scan(reply, &mut out),
            "ttl" => encode_ttl_reply(
                reply["remaining_ms"]
                    .as_str()
                    .map(|s| s.parse().expect("u64")),
                &mut out,
            ),
            "stats" => encode_stats(reply, &mut out),
            other => panic!("{name}: unknown kind {other}"),
        }
        assert_eq!(out, bytes(&case["bytes"]), "{name}");
    }
}

/// A SCAN reply built with the server's writers, and read back with the
/// client's parser.
fn encode_scan(reply: &Value, out: &mut Vec<u8>) {
    let next_cursor = u64_string(&reply["next_cursor"]);
    let keys: Vec<Vec<u8>> = reply["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(bytes)
        .collect();
    let writer = ReplyWriter::begin(Status::Ok, out);
    out.extend_from_slice(&next_cursor.to_be_bytes());
    for key in &keys {
        put_scan_key(key, out);
    }
    writer.finish(out);
    let parsed = ScanReply::parse(&out[5..]).expect("SCAN body parses");
    assert_eq!(parsed.next_cursor, next_cursor);
    assert!(parsed.keys().eq(keys.iter().map(Vec::as_slice)));
}

fn encode_stats(reply: &Value, out: &mut Vec<u8>) {
    let writer = ReplyWriter::begin(Status::Ok, out);
    for line in reply["stats"].as_array().expect("stats") {
        let name = line[0].as_str().expect("stat name");
        write_stat_line(out, name, u64_string(&line[1]));
    }
    writer.finish(out);
}

#[test]
fn decode_reply_vectors() {
    for root in all_vectors() {
        decode_replies(&root);
    }
}

fn decode_replies(root: &Value) {
    for case in cases(root, "decode_reply") {
        let name = case["name"].as_str().expect("name");
        let buf = bytes(&case["bytes"]);
        let max_frame_bytes = u32_field(case, "max_frame_bytes");
        let expect = &case["expect"];
        let body = expect.get("body").map(bytes).unwrap_or_default();
        let wanted = match expect["outcome"].as_str().expect("outcome") {
            "need_more" => DecodedReply::NeedMore,
            "invalid" => DecodedReply::Invalid,
            "reply" => DecodedReply::Reply {
                status: u8::try_from(expect["status_code"].as_u64().expect("code")).expect("u8"),
                body: &body,
                frame_len: expect["frame_len"].as_u64().expect("frame_len") as usize,
            },
            other => panic!("{name}: unknown outcome {other}"),
        };
        assert_eq!(decode_reply(&buf, max_frame_bytes), wanted, "{name}");
    }
}

/// Sessions script the server; here they are checked for consistency with
/// the decoder: one reply per answered frame, rejections and fatal errors
/// answered with their own status, and the connection state that status implies.
#[test]
fn session_vectors_agree_with_the_decoder() {
    for root in all_vectors() {
        check_sessions(&root);
    }
}

/// What a session's steps change on the connection.
struct Connection {
    authenticated: bool,
    version: u8,
}

fn check_sessions(root: &Value) {
    for session in cases(root, "sessions") {
        let name = session["name"].as_str().expect("name");
        let server = &session["server"];
        let full = limits(root, server["limits"].as_str());
        let mut connection = Connection {
            authenticated: server["token"].is_null(),
            version: FIRST_PROTOCOL_VERSION,
        };
        for (index, step) in session["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .enumerate()
        {
            let label = format!("{name}[{index}]");
            check_step(&label, step, &full, &mut connection);
        }
    }
}

/// Checks one session step, following AUTH and HELLO.
fn check_step(label: &str, step: &Value, full: &Limits, connection: &mut Connection) {
    let buf = bytes(&step["send"]);
    let replies = step["replies"].as_array().expect("replies");
    let mut rest = &buf[..];
    let limits = if connection.authenticated {
        *full
    } else {
        full.pre_auth()
    };
    for (index, reply) in replies.iter().enumerate() {
        let status = status(&reply["status"]);
        match decode_request_at(rest, &limits, connection.version) {
            Decoded::Request { request, frame_len } => {
                match request {
                    Request::Auth { .. } if status == Status::Ok => connection.authenticated = true,
                    Request::Hello { version } if status == Status::Ok => {
                        connection.version = version.min(PROTOCOL_VERSION);
                        let body = bytes(&reply["body"]);
                        assert_eq!(body[0], connection.version, "{label}: HELLO's version");
                    }
                    _ => {}
                }
                rest = &rest[frame_len..];
            }
            Decoded::Rejected { error, frame_len } => {
                assert_eq!(error.status(), status, "{label} reply {index}");
                rest = &rest[frame_len..];
            }
            Decoded::Fatal(error) => {
                assert_eq!(error.status(), status, "{label} reply {index}");
                assert_eq!(
                    index + 1,
                    replies.len(),
                    "{label}: replies after a fatal error"
                );
                rest = &[];
            }
            Decoded::NeedMore => panic!("{label}: no frame for reply {index}"),
        }
    }
    assert!(rest.is_empty(), "{label}: frames without replies");
    let closes = replies
        .last()
        .is_some_and(|r| status(&r["status"]).closes_connection());
    assert_eq!(
        step["then"] == "closed",
        closes,
        "{label}: connection state"
    );
}

#[test]
fn vectors_cover_every_command_and_status() {
    let text = all_vectors().map(|root| root.to_string()).join("\n");
    for opcode in Opcode::ALL {
        let needle = format!("\"command\":\"{}\"", opcode.name());
        assert!(text.contains(&needle), "no vector for {}", opcode.name());
    }
    for status in Status::ALL {
        let needle = format!("\"status\":\"{}\"", status.name());
        assert!(text.contains(&needle), "no vector for {}", status.name());
    }
}
