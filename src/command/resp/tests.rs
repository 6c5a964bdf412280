//! Unit tests of RESP command semantics, one command line at a time
//! against a heap store (the wire and Redis itself are compared in
//! `tests/resp/`).

use super::*;
use crate::config::Secret;
use crate::protocol::Limits;
use crate::protocol::resp::{Decoded, RespLimits, decode_command};

struct Harness {
    ctx: Context,
    client: RespClient,
    authenticated: bool,
    now_ms: u64,
}

impl Harness {
    fn new(token: Option<&str>) -> Harness {
        let token = token.map(|t| Secret::new(t.as_bytes().to_vec()));
        Harness {
            authenticated: token.is_none(),
            ctx: Context::for_tests(1 << 20, Limits::DEFAULT, token),
            client: RespClient::new(7),
            now_ms: 1_000,
        }
    }

    /// Runs one inline command line with `room_bytes` of output allowed.
    fn run_with_room(
        &mut self,
        line: &str,
        room_bytes: usize,
    ) -> (Result<Outcome, NoRoom>, String) {
        let limits = RespLimits::new(&Limits::DEFAULT, true);
        let input = format!("{line}\r\n");
        let mut scratch = Vec::new();
        let Decoded::Command { args, .. } = decode_command(input.as_bytes(), &limits, &mut scratch)
        else {
            panic!("not a command: {line}");
        };
        let mut args = args;
        let name = args.next().unwrap();
        let spec = lookup(name);
        let mut out = Vec::new();
        let version = self.client.version;
        let mut call = Call {
            ctx: &mut self.ctx,
            client: &mut self.client,
            authenticated: self.authenticated,
            now_ms: self.now_ms,
            reply: Reply {
                version,
                out: &mut out,
            },
            room_bytes,
        };
        let handled = execute(&mut call, spec, name, args, input.as_bytes());
        match handled {
            Ok(Outcome::Authenticated) => self.authenticated = true,
            Ok(Outcome::Unauthenticated) => self.authenticated = false,
            _ => {}
        }
        (handled, String::from_utf8_lossy(&out).into_owned())
    }

    fn run(&mut self, line: &str) -> String {
        self.run_with_room(line, usize::MAX).1
    }
}

#[test]
fn existence_then_arity_then_auth_as_redis_checks_them() {
    let mut h = Harness::new(Some("t"));
    assert_eq!(
        h.run("NOPE a b"),
        "-ERR unknown command 'NOPE', with args beginning with: 'a' 'b' \r\n"
    );
    assert_eq!(
        h.run("get"),
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    assert_eq!(h.run("get k"), "-NOAUTH Authentication required.\r\n");
}

#[test]
fn auth_and_reset() {
    let mut h = Harness::new(Some("t"));
    let (outcome, reply) = h.run_with_room("AUTH default wrong", usize::MAX);
    assert_eq!(outcome, Ok(Outcome::Close), "a wrong token closes");
    assert!(reply.starts_with("-WRONGPASS"), "{reply}");
    assert_eq!(h.run("AUTH t"), "+OK\r\n");
    assert_eq!(h.run("GET k"), "$-1\r\n");
    assert_eq!(h.run("RESET"), "+RESET\r\n");
    assert_eq!(h.run("GET k"), "-NOAUTH Authentication required.\r\n");
    let mut open = Harness::new(None);
    assert!(
        open.run("AUTH x")
            .starts_with("-ERR AUTH <password> called without")
    );
}

#[test]
fn set_options_and_their_conflicts() {
    let mut h = Harness::new(None);
    assert_eq!(h.run("SET k v NX"), "+OK\r\n");
    assert_eq!(h.run("SET k w NX"), "$-1\r\n");
    assert_eq!(h.run("SET k w XX GET"), "$1\r\nv\r\n");
    assert_eq!(h.run("SET n w XX"), "$-1\r\n");
    assert_eq!(h.run("SET k v NX XX"), "-ERR syntax error\r\n");
    assert_eq!(h.run("SET k v EX 10 PX 5"), "-ERR syntax error\r\n");
    assert_eq!(
        h.run("SET k v EX 0"),
        "-ERR invalid expire time in 'set' command\r\n"
    );
    assert_eq!(
        h.run("SET k v EX x"),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(h.run("SET k v EX 10"), "+OK\r\n");
    assert_eq!(h.run("TTL k"), ":10\r\n");
    assert_eq!(h.run("SET k v2 KEEPTTL"), "+OK\r\n");
    assert_eq!(h.run("PTTL k"), ":10000\r\n");
    assert_eq!(h.run("SET k v3"), "+OK\r\n");
    assert_eq!(h.run("TTL k"), ":-1\r\n");
    assert_eq!(h.run("SET k v PXAT 1"), "+OK\r\n", "a past time deletes");
    assert_eq!(h.run("EXISTS k"), ":0\r\n");
}

#[test]
fn expire_conditions() {
    let mut h = Harness::new(None);
    h.run("SET k v");
    assert_eq!(h.run("EXPIRE k 10 XX"), ":0\r\n", "no TTL yet");
    assert_eq!(h.run("EXPIRE k 10 GT"), ":0\r\n", "no TTL is forever");
    assert_eq!(h.run("EXPIRE k 10 NX"), ":1\r\n");
    assert_eq!(h.run("EXPIRE k 5 GT"), ":0\r\n");
    assert_eq!(h.run("EXPIRE k 20 GT"), ":1\r\n");
    assert_eq!(h.run("EXPIRE k 30 LT"), ":0\r\n");
    assert_eq!(
        h.run("EXPIRE k 5 NX GT"),
        "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"
    );
    assert_eq!(
        h.run("EXPIRE k 5 GT LT"),
        "-ERR GT and LT options at the same time are not compatible\r\n"
    );
    assert_eq!(h.run("PERSIST k"), ":1\r\n");
    assert_eq!(h.run("PERSIST k"), ":0\r\n");
    assert_eq!(h.run("EXPIRE k -1"), ":1\r\n");
    assert_eq!(h.run("TTL k"), ":-2\r\n");
    assert_eq!(
        h.run("EXPIRE k 9223372036854775807"),
        "-ERR invalid expire time in 'expire' command\r\n"
    );
}

#[test]
fn counters_keep_the_ttl_and_refuse_overflow() {
    let mut h = Harness::new(None);
    assert_eq!(h.run("INCR n"), ":1\r\n");
    h.run("EXPIRE n 100");
    assert_eq!(h.run("INCRBY n 41"), ":42\r\n");
    assert_eq!(h.run("TTL n"), ":100\r\n");
    assert_eq!(h.run("DECRBY n 50"), ":-8\r\n");
    h.run("SET big 9223372036854775807");
    assert_eq!(
        h.run("INCR big"),
        "-ERR increment or decrement would overflow\r\n"
    );
    h.run("SET s abc");
    assert_eq!(
        h.run("INCR s"),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(h.run("APPEND s def"), ":6\r\n");
    assert_eq!(h.run("GET s"), "$6\r\nabcdef\r\n");
}

#[test]
fn a_scan_with_match_returns_every_matching_key_once() {
    let mut h = Harness::new(None);
    for i in 0..500 {
        h.run(&format!("SET user:{i} v"));
        h.run(&format!("SET other:{i} v"));
    }
    let mut cursor = "0".to_owned();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..10_000 {
        let reply = h.run(&format!("SCAN {cursor} MATCH user:* COUNT 50"));
        let lines: Vec<&str> = reply.split("\r\n").collect();
        cursor = lines[2].to_owned();
        for key in lines[4..].iter().skip(1).step_by(2) {
            assert!(key.starts_with("user:"), "{key}");
            assert!(seen.insert(key.to_string()), "{key} twice");
        }
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(cursor, "0", "the scan ended");
    assert_eq!(seen.len(), 500);
    assert_eq!(h.run("SCAN x"), "-ERR invalid cursor\r\n");
    assert_eq!(h.run("SCAN 0 COUNT 0"), "-ERR syntax error\r\n");
}

#[test]
fn measured_replies_say_when_they_do_not_fit() {
    let mut h = Harness::new(None);
    h.run(&format!("SET a {}", "x".repeat(100)));
    let (handled, out) = h.run_with_room("MGET a a", 150);
    assert_eq!(
        (handled, out.as_str()),
        (Err(NoRoom), ""),
        "nothing written"
    );
    let (handled, out) = h.run_with_room("MGET a a", 300);
    assert_eq!(handled, Ok(Outcome::Continue));
    assert!(out.starts_with("*2\r\n$100\r\n"), "{out}");
}

#[test]
fn resp3_after_hello_3() {
    let mut h = Harness::new(None);
    assert_eq!(
        h.run("HELLO 4"),
        "-NOPROTO unsupported protocol version\r\n"
    );
    let hello = h.run("HELLO 3");
    assert!(hello.starts_with("%7\r\n$6\r\nserver\r\n"), "{hello}");
    assert!(
        hello.contains("$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:7\r\n"),
        "{hello}"
    );
    assert_eq!(h.run("GET nope"), "_\r\n");
    assert!(h.run("CONFIG GET maxmemory").starts_with("%1\r\n"));
    assert!(h.run("INFO server").starts_with("="));
    h.run("HELLO 2");
    assert_eq!(h.run("GET nope"), "$-1\r\n");
}

#[test]
fn client_name_and_info() {
    let mut h = Harness::new(None);
    assert_eq!(h.run("CLIENT GETNAME"), "$-1\r\n");
    assert_eq!(h.run("CLIENT SETNAME app"), "+OK\r\n");
    assert_eq!(h.run("CLIENT GETNAME"), "$3\r\napp\r\n");
    assert!(
        h.run("CLIENT SETNAME \"a b\"")
            .starts_with("-ERR Client names cannot")
    );
    let long = "n".repeat(server::CLIENT_FIELD_MAX_BYTES + 1);
    assert!(
        h.run(&format!("CLIENT SETNAME {long}"))
            .starts_with("-ERR Client names are limited")
    );
    assert_eq!(h.run(&format!("CLIENT SETNAME {}", &long[1..])), "+OK\r\n");
    assert_eq!(h.run("CLIENT ID"), ":7\r\n");
    assert_eq!(h.run("CLIENT SETINFO LIB-NAME redis-py"), "+OK\r\n");
    assert_eq!(
        h.run("CLIENT Nope"),
        "-ERR unknown subcommand 'Nope'. Try CLIENT HELP.\r\n"
    );
    let info = h.run("INFO");
    for field in ["redis_version:", "loading:0", "# Keyspace", "maxmemory:"] {
        assert!(info.contains(field), "{field}: {info}");
    }
}

#[test]
fn an_http_request_closes_silently() {
    let mut h = Harness::new(None);
    let (handled, out) = h.run_with_room("POST / HTTP/1.1", usize::MAX);
    assert_eq!((handled, out.as_str()), (Ok(Outcome::Close), ""));
    let (handled, _) = h.run_with_room("Host: localhost", usize::MAX);
    assert_eq!(handled, Ok(Outcome::Close));
}

#[test]
fn memory_usage_is_the_exact_charge() {
    let mut h = Harness::new(None);
    h.run("SET key value");
    assert_eq!(
        h.run("MEMORY USAGE key"),
        format!(":{}\r\n", crate::store::entry_charge(3, 5))
    );
    assert_eq!(h.run("MEMORY USAGE nope"), "$-1\r\n");
}

#[test]
fn every_spec_is_found_in_any_case() {
    for spec in SPECS {
        // The folded lookup is exact only for names of lowercase letters.
        assert!(
            spec.name.bytes().all(|b| b.is_ascii_lowercase()),
            "{}",
            spec.name
        );
        for name in [spec.name.to_uppercase(), spec.name.to_string()] {
            assert!(std::ptr::eq(lookup(name.as_bytes()).unwrap(), spec));
        }
        let mut mixed = spec.name.as_bytes().to_vec();
        mixed[0] = mixed[0].to_ascii_uppercase();
        assert!(std::ptr::eq(lookup(&mixed).unwrap(), spec));
    }
}

#[test]
fn a_name_that_only_folds_like_a_command_is_unknown() {
    // Bytes whose bit 5 is clear but which are not letters fold onto
    // digits and punctuation, never onto a command's letters.
    for name in [
        &b"ge\x14"[..],
        b"GE\x14",
        b"get\0",
        b"ge",
        b"gett",
        b"s\x05t",
        b"\x07et",
    ] {
        assert!(lookup(name).is_none(), "{name:?}");
    }
    assert!(lookup(&[b'g'; 17]).is_none());
}

#[test]
fn multi_queues_and_exec_runs_in_order() {
    let mut h = Harness::new(None);
    assert_eq!(h.run("EXEC"), "-ERR EXEC without MULTI\r\n");
    assert_eq!(h.run("DISCARD"), "-ERR DISCARD without MULTI\r\n");
    assert_eq!(h.run("MULTI"), "+OK\r\n");
    assert_eq!(h.run("MULTI"), "-ERR MULTI calls can not be nested\r\n");
    assert_eq!(
        h.run("WATCH k"),
        "-ERR WATCH inside MULTI is not allowed\r\n"
    );
    assert_eq!(h.run("SET k 1"), "+QUEUED\r\n");
    assert_eq!(h.run("INCR k"), "+QUEUED\r\n");
    assert_eq!(h.run("GET k"), "+QUEUED\r\n");
    assert_eq!(h.run("GET nope"), "+QUEUED\r\n");
    assert_eq!(h.run("GET k"), "+QUEUED\r\n", "nothing ran yet");
    assert_eq!(
        h.run("EXEC"),
        "*5\r\n+OK\r\n:2\r\n$1\r\n2\r\n$-1\r\n$1\r\n2\r\n"
    );
    assert_eq!(h.run("GET k"), "$1\r\n2\r\n", "out of MULTI again");
}

#[test]
fn a_refused_command_dooms_the_transaction_and_runtime_errors_do_not() {
    let mut h = Harness::new(None);
    h.run("MULTI");
    assert_eq!(
        h.run("SET k"),
        "-ERR wrong number of arguments for 'set' command\r\n"
    );
    h.run("SET t 1");
    assert_eq!(
        h.run("EXEC"),
        "-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    assert_eq!(h.run("EXISTS t"), ":0\r\n", "nothing of it ran");
    h.run("SET s abc");
    h.run("MULTI");
    h.run("INCR s");
    h.run("SET t 1");
    assert_eq!(
        h.run("EXEC"),
        "*2\r\n-ERR value is not an integer or out of range\r\n+OK\r\n"
    );
    h.run("MULTI");
    h.run("SET u 1");
    assert_eq!(h.run("DISCARD"), "+OK\r\n");
    assert_eq!(h.run("EXISTS u"), ":0\r\n");
}

#[test]
fn watch_aborts_exec_after_a_change_and_not_otherwise() {
    let mut h = Harness::new(None);
    h.run("SET k 1");
    assert_eq!(h.run("WATCH k"), "+OK\r\n");
    h.run("MULTI");
    h.run("INCR k");
    assert_eq!(h.run("EXEC"), "*1\r\n:2\r\n", "no change since WATCH");
    h.run("WATCH k");
    h.run("SET k 5");
    h.run("MULTI");
    h.run("INCR k");
    assert_eq!(h.run("EXEC"), "*-1\r\n", "changed since WATCH");
    assert_eq!(h.run("GET k"), "$1\r\n5\r\n");
    h.run("WATCH k");
    h.run("SET k 6");
    assert_eq!(h.run("UNWATCH"), "+OK\r\n");
    h.run("MULTI");
    h.run("INCR k");
    assert_eq!(h.run("EXEC"), "*1\r\n:7\r\n", "UNWATCH forgets");
}

#[test]
fn a_transaction_is_bounded_and_big_reads_in_it_answer_with_an_error() {
    let mut h = Harness::new(None);
    h.run(&format!("SET big {}", "x".repeat(1000)));
    h.run("MULTI");
    h.run("GET big");
    h.run("SET small v");
    let (handled, out) = h.run_with_room("EXEC", 600);
    assert_eq!(handled, Ok(Outcome::Continue));
    assert_eq!(
        out, "*2\r\n-ERR the reply would exceed the connection's output limit\r\n+OK\r\n",
        "the read is refused, the write still runs"
    );
    h.run("MULTI");
    for _ in 0..transaction::MAX_QUEUED_COMMANDS {
        assert_eq!(h.run("PING"), "+QUEUED\r\n");
    }
    assert!(
        h.run("PING")
            .starts_with("-ERR a transaction queues at most 1024 commands")
    );
    assert!(h.run("EXEC").starts_with("-EXECABORT"));
}

#[test]
fn options_match_in_any_case_and_overlong_ones_match_none() {
    let mut h = Harness::new(None);
    assert_eq!(h.run("SET k v ex 10 Nx"), "+OK\r\n");
    assert_eq!(h.run("TTL k"), ":10\r\n");
    assert_eq!(
        h.run(&format!("SET k v {}", "X".repeat(17))),
        "-ERR syntax error\r\n"
    );
    assert_eq!(h.run("EXPIRE k 20 gt"), ":1\r\n");
}
