//! The `redis` crate's sync API at its default settings against the RESP suite's target:
//! commands through the `Commands` trait, Redis's error texts, a pipeline, and SCAN.
//!
//! Usage: `blink-resp-redis-rs tcp:HOST:PORT | unix:PATH`. Prints one PASS/FAIL line per
//! check and exits non-zero when any failed (tests/resp/test.sh counts the exit status).

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::Duration;

use redis::{Commands, Connection, ExistenceCheck, RedisResult, SetExpiry, SetOptions};

/// Bound on every read and write, so a silent server fails a check instead of hanging it.
const IO_TIMEOUT: Duration = Duration::from_secs(5);

type Check = fn(&mut Connection) -> Result<(), String>;

fn url(address: &str) -> Result<String, String> {
    match address.split_once(':') {
        Some(("tcp", host_port)) => Ok(format!("redis://{host_port}/")),
        Some(("unix", path)) => Ok(format!("redis+unix://{path}")),
        _ => Err(format!(
            "bad address {address:?}: want tcp:HOST:PORT or unix:PATH"
        )),
    }
}

fn ensure<T: PartialEq + std::fmt::Debug>(
    actual: T,
    expected: T,
    what: &str,
) -> Result<(), String> {
    if actual == expected {
        Ok(())
    } else {
        Err(format!("{what}: expected {expected:?}, got {actual:?}"))
    }
}

fn ok<T>(result: RedisResult<T>, what: &str) -> Result<T, String> {
    result.map_err(|error| format!("{what}: {error}"))
}

fn commands(con: &mut Connection) -> Result<(), String> {
    ok(redis::cmd("FLUSHALL").query::<()>(con), "FLUSHALL")?;
    ensure(
        ok(redis::cmd("PING").query::<String>(con), "PING")?,
        "PONG".into(),
        "PING",
    )?;
    ok(con.set::<_, _, ()>("k", "v"), "SET")?;
    ensure(
        ok(con.get::<_, Option<String>>("k"), "GET")?,
        Some("v".into()),
        "GET",
    )?;
    ensure(
        ok(con.get::<_, Option<String>>("missing"), "GET")?,
        None,
        "GET missing",
    )?;
    let nx = SetOptions::default().conditional_set(ExistenceCheck::NX);
    ensure(
        ok(
            con.set_options::<_, _, Option<String>>("k", "w", nx),
            "SET NX",
        )?,
        None,
        "SET NX",
    )?;
    let ex = SetOptions::default().with_expiration(SetExpiry::EX(100));
    ok(con.set_options::<_, _, ()>("t", "v", ex), "SET EX")?;
    let ttl: i64 = ok(con.ttl("t"), "TTL")?;
    if !(95..=100).contains(&ttl) {
        return Err(format!("TTL after EX 100: {ttl}"));
    }
    ensure(ok(con.incr::<_, _, i64>("n", 5), "INCRBY")?, 5, "INCRBY")?;
    ensure(ok(con.decr::<_, _, i64>("n", 2), "DECRBY")?, 3, "DECRBY")?;
    ensure(
        ok(con.append::<_, _, usize>("k", "xy"), "APPEND")?,
        3,
        "APPEND",
    )?;
    let values: Vec<Option<String>> = ok(con.mget(&["k", "n", "missing"]), "MGET")?;
    ensure(
        values,
        vec![Some("vxy".into()), Some("3".into()), None],
        "MGET",
    )?;
    ok(con.mset::<_, _, ()>(&[("a", "1"), ("b", "2")]), "MSET")?;
    ensure(
        ok(con.exists::<_, usize>(&["a", "b", "z"]), "EXISTS")?,
        2,
        "EXISTS",
    )?;
    ensure(ok(con.del::<_, usize>(&["a", "z"]), "DEL")?, 1, "DEL")?;
    ensure(
        ok(con.expire::<_, bool>("b", 100), "EXPIRE")?,
        true,
        "EXPIRE",
    )?;
    ensure(ok(con.persist::<_, bool>("b"), "PERSIST")?, true, "PERSIST")?;
    ensure(ok(con.ttl::<_, i64>("b"), "TTL")?, -1, "TTL -1")?;
    ensure(ok(con.ttl::<_, i64>("missing"), "TTL")?, -2, "TTL -2")?;
    let key: &[u8] = b"bin\r\n\x00";
    let value: &[u8] = b"\x00\r\n\xff";
    ok(con.set::<_, _, ()>(key, value), "SET binary")?;
    ensure(
        ok(con.get::<_, Vec<u8>>(key), "GET binary")?,
        value.to_vec(),
        "GET binary",
    )?;
    ensure(
        ok(con.strlen::<_, usize>(key), "STRLEN")?,
        value.len(),
        "STRLEN",
    )?;
    ensure(
        ok(redis::cmd("DBSIZE").query::<usize>(con), "DBSIZE")?,
        5,
        "DBSIZE",
    )
}

fn errors(con: &mut Connection) -> Result<(), String> {
    ok(con.set::<_, _, ()>("s", "abc"), "SET")?;
    let error = match con.incr::<_, _, i64>("s", 1) {
        Ok(n) => return Err(format!("INCR of a string gave {n}")),
        Err(error) => error,
    };
    ensure(
        error.detail(),
        Some("value is not an integer or out of range"),
        "INCR error",
    )?;
    let error = match redis::cmd("FOO").arg("a").arg("b").query::<String>(con) {
        Ok(reply) => return Err(format!("FOO gave {reply:?}")),
        Err(error) => error,
    };
    let unknown = "unknown command 'FOO', with args beginning with: 'a' 'b'";
    ensure(
        error.detail().map(str::trim_end),
        Some(unknown),
        "unknown command",
    )?;
    ensure(
        ok(redis::cmd("PING").query::<String>(con), "PING")?,
        "PONG".into(),
        "PING after errors",
    )
}

fn pipeline(con: &mut Connection) -> Result<(), String> {
    let mut pipe = redis::pipe();
    for n in 0..300 {
        pipe.set(format!("p{n}"), n).ignore().get(format!("p{n}"));
    }
    let values: Vec<i64> = ok(pipe.query(con), "pipeline")?;
    ensure(values, (0..300).collect::<Vec<i64>>(), "pipeline replies")
}

fn scan(con: &mut Connection) -> Result<(), String> {
    ok(redis::cmd("FLUSHALL").query::<()>(con), "FLUSHALL")?;
    let pairs: Vec<(String, i32)> = (0..40).map(|n| (format!("s:{n}"), n)).collect();
    ok(con.mset::<_, _, ()>(&pairs), "MSET")?;
    let keys: RedisResult<BTreeSet<String>> =
        ok(con.scan_match::<_, String>("s:*"), "SCAN")?.collect();
    let keys = ok(keys, "SCAN step")?;
    ensure(keys.len(), 40, "SCAN MATCH keys")
}

fn main() -> ExitCode {
    let address = std::env::args().nth(1).unwrap_or_default();
    let open = |query: &str| {
        url(&address)
            .and_then(|url| redis::Client::open(format!("{url}{query}")).map_err(|e| e.to_string()))
    };
    let (resp2, resp3) = match (open(""), open("?protocol=resp3")) {
        (Ok(resp2), Ok(resp3)) => (resp2, resp3),
        (Err(error), _) | (_, Err(error)) => {
            eprintln!("redis-rs: {error}");
            return ExitCode::FAILURE;
        }
    };
    let checks: [(&str, &redis::Client, Check); 6] = [
        ("commands", &resp2, commands),
        ("errors keep Redis's texts", &resp2, errors),
        ("pipeline of 300 commands", &resp2, pipeline),
        ("SCAN iterator", &resp2, scan),
        ("RESP3 (?protocol=resp3): commands", &resp3, commands),
        ("RESP3 (?protocol=resp3): pipeline", &resp3, pipeline),
    ];
    let mut failed = 0;
    for (name, client, check) in checks {
        let outcome = client
            .get_connection_with_timeout(IO_TIMEOUT)
            .map_err(|error| format!("connect: {error}"))
            .and_then(|mut con| {
                ok(con.set_read_timeout(Some(IO_TIMEOUT)), "read timeout")?;
                ok(con.set_write_timeout(Some(IO_TIMEOUT)), "write timeout")?;
                check(&mut con)
            });
        match outcome {
            Ok(()) => println!("PASS redis-rs {address}: {name}"),
            Err(error) => {
                failed += 1;
                println!("FAIL redis-rs {address}: {name}\n    {error}");
            }
        }
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
