//! The conformance kit's fault cases (examples/clients/conformance/
//! faults.json) for the blocking `Connection` and `Pool`: one test per case,
//! named after its id. The async client's are in `faults_async.rs`.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use blink_client::{
    Config, Connection, Error, Pipeline, Pool, PoolConfig, ProtocolError, TimeoutKind, Value,
};
use common::{FakePeer, Server, wait_until};

/// Generous bound for "promptly" on a loaded two-core machine.
const PROMPT: Duration = Duration::from_secs(2);

fn pool(config: Config, max_size: usize) -> Pool {
    Pool::new(
        config,
        PoolConfig {
            max_size,
            ..PoolConfig::default()
        },
    )
}

#[test]
fn fault_server_killed_mid_pipeline() {
    let mut server = Server::start(&[]);
    let pool = pool(server.tcp_config(), 2);
    let value = vec![b'v'; 256 * 1024];
    pool.get()
        .expect("conn")
        .set("big", &value, None)
        .expect("SET");
    let bytes_out_before = server.stat("bytes_out");

    let mut pipeline = Pipeline::new();
    for _ in 0..1000 {
        pipeline.get("big");
    }
    let results = thread::scope(|s| {
        let pool = &pool;
        let pipeline = &pipeline;
        let run = s.spawn(move || pool.get().expect("conn").execute(pipeline));
        // Kill once some replies are out, well before the 256 MB are.
        let replies_flowing = wait_until(PROMPT * 5, || {
            server.stat("bytes_out") > bytes_out_before + 8 * value.len() as u64
        });
        assert!(replies_flowing, "the pipeline started");
        server.kill();
        run.join().expect("pipeline thread")
    });

    assert_eq!(results.len(), 1000);
    let answered = results.iter().take_while(|r| r.is_ok()).count();
    assert!(answered < 1000, "the kill came before the last reply");
    for result in &results[..answered] {
        assert_eq!(
            result.as_ref().ok(),
            Some(&Value::Bytes(Some(value.clone())))
        );
    }
    for result in &results[answered..] {
        let error = result.as_ref().expect_err("no reply after the kill");
        assert!(matches!(error, Error::ConnectionClosed), "{error}");
        assert!(error.is_outcome_unknown());
    }
    assert_eq!(
        pool.metrics().connections_broken,
        1,
        "the broken connection was discarded"
    );

    server.restart();
    let mut conn = pool.get().expect("a new connection after the restart");
    assert_eq!(conn.get("big").expect("GET"), None, "a fresh server");
    assert_eq!(pool.metrics().connections_created, 2);
}

#[test]
fn fault_server_restarted() {
    let mut server = Server::start(&[]);
    let short = |config: Config| {
        let config = config.read_timeout(Duration::from_millis(500));
        Pool::new(
            config,
            PoolConfig {
                max_size: 4,
                acquire_timeout: Duration::from_millis(200),
                ..PoolConfig::default()
            },
        )
    };
    let pools = [short(server.tcp_config()), short(server.unix_config())];
    for pool in &pools {
        pool.get()
            .expect("conn")
            .set("k", "before", None)
            .expect("SET");
    }
    server.kill();

    let outage_started = Instant::now();
    let mut calls = 0;
    while outage_started.elapsed() < Duration::from_secs(1) {
        for pool in &pools {
            let started = Instant::now();
            let result = pool.get().and_then(|mut conn| conn.get("k"));
            let error = result.expect_err("the server is down");
            assert!(
                matches!(error, Error::Connect(_) | Error::ConnectionClosed),
                "a connection error, got {error}"
            );
            assert!(
                started.elapsed() < PROMPT,
                "a call hung for {:?}",
                started.elapsed()
            );
            calls += 1;
        }
    }
    assert!(calls > 20, "calls kept coming during the outage ({calls})");
    for pool in &pools {
        let metrics = pool.metrics();
        let attempts = metrics.connect_failures;
        assert!(
            attempts < 20,
            "{attempts} connect attempts in a one-second outage"
        );
        assert!(attempts >= 2, "it kept trying ({attempts})");
    }

    server.restart();
    for pool in &pools {
        let back = wait_until(Duration::from_secs(5), || {
            pool.get()
                .and_then(|mut conn| conn.set("k", "after", None))
                .is_ok()
        });
        assert!(back, "calls succeed again on the same pool");
        assert_eq!(
            pool.get().expect("conn").get("k").expect("GET"),
            Some(b"after".to_vec())
        );
    }
}

#[test]
fn fault_accepts_and_never_answers() {
    let peer = FakePeer::spawn(common::hang);
    let timeout = Duration::from_millis(200);
    let config = peer.config().connect_timeout(timeout).read_timeout(timeout);
    let started = Instant::now();
    let error = Connection::connect(&config).expect_err("HELLO is never answered");
    assert!(
        matches!(error, Error::Timeout(TimeoutKind::Connect)),
        "{error}"
    );
    assert!(started.elapsed() >= timeout && started.elapsed() < timeout * 10);
    assert!(
        peer.closed.recv_timeout(PROMPT).is_ok(),
        "the timed-out connection was closed"
    );

    let error = pool(config, 1).get().expect_err("the pool reports it too");
    assert!(
        matches!(error, Error::Timeout(TimeoutKind::Connect)),
        "{error}"
    );
}

#[test]
fn fault_accepts_and_never_answers_after_hello() {
    let peer = FakePeer::spawn(common::hello_then_hang);
    let timeout = Duration::from_millis(200);
    let pool = pool(peer.config().read_timeout(timeout), 1);
    let mut conn = pool.get().expect("HELLO answered");
    let started = Instant::now();
    let error = conn.get("k").expect_err("GET is never answered");
    assert!(
        matches!(error, Error::Timeout(TimeoutKind::Read)),
        "{error}"
    );
    assert!(started.elapsed() >= timeout && started.elapsed() < timeout * 10);
    assert!(conn.is_broken(), "not reused");
    assert!(matches!(conn.ping(), Err(Error::ConnectionClosed)));
    drop(conn);
    assert!(
        peer.closed.recv_timeout(PROMPT).is_ok(),
        "the timed-out connection was closed"
    );
    assert_eq!(pool.metrics().connections_broken, 1);
}

#[test]
fn fault_malformed_reply() {
    for (serve, expected) in common::MALFORMED_RUNS {
        let peer = FakePeer::spawn(serve);
        let pool = pool(peer.config(), 1);
        let error = pool
            .get()
            .expect("conn")
            .get("k")
            .expect_err("invalid reply");
        assert!(
            matches!(&error, Error::Protocol(e) if *e == expected),
            "{error}"
        );
        assert!(
            peer.closed.recv_timeout(PROMPT).is_ok(),
            "the connection was closed"
        );
        let metrics = pool.metrics();
        assert_eq!((metrics.connections_broken, metrics.idle), (1, 0));
        let _next = pool.get().expect("the next call gets a new connection");
        assert_eq!(pool.metrics().connections_created, 2);
    }
}

#[test]
fn fault_oversized_reply() {
    let peer = FakePeer::spawn(common::oversized_header);
    let mut conn = Connection::connect(&peer.config()).expect("HELLO answered");
    assert_eq!(conn.server_info().limits.max_frame_bytes, 4096);
    let started = Instant::now();
    let error = conn.get("k").expect_err("oversized reply");
    assert!(
        started.elapsed() < PROMPT,
        "decided from the header, not the read timeout"
    );
    let too_large = ProtocolError::FrameTooLarge {
        frame_bytes: 4097,
        max_frame_bytes: 4096,
    };
    assert!(
        matches!(&error, Error::Protocol(e) if *e == too_large),
        "{error}"
    );
    assert!(conn.is_broken());
    assert!(
        peer.closed.recv_timeout(PROMPT).is_ok(),
        "the connection was closed"
    );
}

#[test]
fn fault_too_many_connections() {
    let server = Server::start(&["--max-connections", "1"]);
    let mut first = Connection::connect(&server.tcp_config()).expect("first holds the slot");
    let error = Connection::connect(&server.unix_config()).expect_err("no slot left");
    assert!(matches!(error, Error::TooManyConnections), "{error}");
    assert!(error.is_backoff() && error.closes_connection());
    first.set("k", "v", None).expect("the first keeps working");
    assert_eq!(first.get("k").expect("GET"), Some(b"v".to_vec()));
}

#[test]
fn fault_wrong_token() {
    let server = Server::start_with_token(&[], Some(b"right-token"));
    let wrong = server.tcp_config().auth_token("wrong-token");
    let error = Connection::connect(&wrong).expect_err("wrong token");
    assert!(matches!(error, Error::AuthFailed), "{error}");
    assert!(!error.is_backoff(), "a configuration error, not a load one");

    let before = server.stat("connections_total");
    let pool = pool(wrong, 4);
    let calls = 10;
    for _ in 0..calls {
        let error = pool.get().expect_err("still the wrong token");
        assert!(matches!(error, Error::AuthFailed), "{error}");
    }
    // The STATS connection itself is one more.
    let grown = server.stat("connections_total") - before;
    assert!(grown <= calls + 1, "{grown} connections for {calls} calls");
    assert!(pool.metrics().connect_failures <= calls);
}

#[test]
fn fault_limits_enforced_locally() {
    let server = Server::start(&[
        "--max-frame-bytes",
        "4096",
        "--max-key-bytes",
        "4",
        "--max-value-bytes",
        "8",
    ]);
    let mut conn = Connection::connect(&server.tcp_config()).expect("connect");
    let limits = conn.server_info().limits;
    assert_eq!((limits.max_key_bytes, limits.max_value_bytes), (4, 8));
    let mut admin = server.admin();
    let bytes_in = admin.stats().expect("STATS")["bytes_in"];

    let key_error = |e: &Error| {
        matches!(
            e,
            Error::KeyTooLarge {
                key_bytes: 5,
                max_key_bytes: 4
            }
        )
    };
    assert!(key_error(
        &conn.set("kkkkk", "v", None).expect_err("key too large")
    ));
    assert!(key_error(&conn.get("kkkkk").expect_err("key too large")));
    let error = conn
        .set("k", "vvvvvvvvv", None)
        .expect_err("value too large");
    assert!(
        matches!(
            error,
            Error::ValueTooLarge {
                value_bytes: 9,
                max_value_bytes: 8
            }
        ),
        "{error}"
    );
    assert!(!error.closes_connection());

    let stats_frame_bytes = 5;
    let grown = admin.stats().expect("STATS")["bytes_in"] - bytes_in;
    assert_eq!(
        grown, stats_frame_bytes,
        "nothing of the refused calls was written"
    );
    conn.set("kkkk", "vvvvvvvv", None)
        .expect("the same connection serves a valid call");
    assert_eq!(conn.get("kkkk").expect("GET"), Some(b"vvvvvvvv".to_vec()));
}

#[test]
fn fault_timed_out_call_keeps_its_reply() {
    let server = Server::start(&[]);
    let config = server.tcp_config().read_timeout(Duration::from_millis(200));
    let pool = pool(config.clone(), 2);
    let mut single = Connection::connect(&config).expect("connect");
    pool.get()
        .expect("conn")
        .set("a", "value-of-a", None)
        .expect("SET a");
    pool.get()
        .expect("conn")
        .set("b", "value-of-b", None)
        .expect("SET b");

    server.pause();
    let mut conn = pool.get().expect("an idle connection");
    let error = conn.get("a").expect_err("the server is stopped");
    assert!(
        matches!(error, Error::Timeout(TimeoutKind::Read)),
        "{error}"
    );
    drop(conn);
    assert!(matches!(
        single.get("a"),
        Err(Error::Timeout(TimeoutKind::Read))
    ));
    server.resume();

    let b = pool.get().expect("conn").get("b").expect("GET b");
    assert_eq!(b, Some(b"value-of-b".to_vec()), "b's value, never a's");
    // The single connection closed on its timeout: a's late reply is never read.
    assert!(matches!(single.get("b"), Err(Error::ConnectionClosed)));
}

#[test]
fn fault_idle_connection_closed_by_server() {
    let server = Server::start(&["--idle-timeout-ms", "200"]);
    let pool = pool(server.unix_config(), 2);
    pool.get().expect("conn").set("k", "v", None).expect("SET");
    assert_eq!(pool.metrics().idle, 1);
    assert!(
        wait_until(Duration::from_secs(5), || server.stat("closed_idle") >= 1),
        "the server closed the idle connection"
    );
    let mut conn = pool.get().expect("a live connection");
    assert_eq!(
        conn.get("k").expect("the next call succeeds"),
        Some(b"v".to_vec())
    );
    let metrics = pool.metrics();
    assert_eq!(
        (metrics.connections_broken, metrics.connections_created),
        (1, 2)
    );
}

#[test]
fn fault_pool_exhaustion() {
    let server = Server::start(&[]);
    let acquire_timeout = Duration::from_millis(200);
    let settings = PoolConfig {
        max_size: 2,
        acquire_timeout,
        ..PoolConfig::default()
    };
    let pool = Pool::new(server.tcp_config(), settings);
    let first = pool.get().expect("first");
    let _second = pool.get().expect("second");

    let started = Instant::now();
    let error = pool.get().expect_err("the pool is exhausted");
    let waited = started.elapsed();
    assert!(
        matches!(error, Error::PoolTimeout { max_size: 2, .. }),
        "{error}"
    );
    assert!(
        waited >= acquire_timeout && waited < PROMPT,
        "waited {waited:?}"
    );

    drop(first);
    let started = Instant::now();
    let mut third = pool.get().expect("a returned connection");
    assert!(started.elapsed() < Duration::from_millis(100), "at once");
    third.ping().expect("PING");
    let metrics = pool.metrics();
    assert_eq!(
        (metrics.acquire_timeouts, metrics.connections_created),
        (1, 2)
    );
}

#[test]
fn fault_shared_by_64_workers() {
    let server = Server::start(&[]);
    let pool = pool(server.tcp_config(), 8);
    thread::scope(|s| {
        for worker in 0..64 {
            let pool = &pool;
            s.spawn(move || {
                for op in 0..200 {
                    let key = format!("worker:{worker}:{}", op % 10);
                    let value = format!("{worker}/{op}").into_bytes();
                    let mut conn = pool.get().expect("conn");
                    conn.set(&key, &value, None).expect("SET");
                    assert_eq!(
                        conn.get(&key).expect("GET"),
                        Some(value),
                        "worker {worker} op {op}"
                    );
                }
            });
        }
    });
    let metrics = pool.metrics();
    assert_eq!(metrics.acquires, 64 * 200);
    assert!(metrics.connections_created <= 8);
}

#[test]
fn fault_large_pipeline_does_not_deadlock() {
    let server = Server::start(&[]);
    let mut conn = Connection::connect(&server.tcp_config()).expect("connect");
    let value: Vec<u8> = (0..16 * 1024).map(|i| i as u8).collect();
    conn.set("big", &value, None).expect("SET");
    let mut pipeline = Pipeline::new();
    for _ in 0..20_000 {
        pipeline.get("big");
    }
    let results = conn.execute(&pipeline);
    assert_eq!(results.len(), 20_000);
    for (index, result) in results.iter().enumerate() {
        match result {
            Ok(Value::Bytes(Some(got))) => {
                assert!(got == &value, "reply {index} is the full value")
            }
            other => panic!("reply {index}: {other:?}"),
        }
    }
    assert!(!conn.is_broken());
}

/// The version-2 calls of the `version_1_server` fault, one pipeline entry each.
fn v2_pipeline() -> Pipeline {
    let mut pipeline = Pipeline::new();
    pipeline
        .get("k")
        .add("k", "v", None)
        .replace("k", "v", None)
        .incr("n", 1)
        .append("k", "s")
        .flush()
        .scan(0, 10, "")
        .get("k");
    pipeline
}

#[test]
fn fault_version_1_server() {
    let server = common::Version1Server::spawn();
    let pool = pool(server.config(), 1);
    let mut conn = pool.get().expect("HELLO 2 answered with version 1");
    assert_eq!(conn.server_info().version, 1);
    assert_eq!(conn.get("k").expect("GET works"), None);

    let unsupported = |result: Result<(), Error>, call: &str| {
        let error = result.expect_err(call);
        assert!(matches!(error, Error::UnknownCommand), "{call}: {error}");
        assert!(!error.closes_connection(), "{call}");
    };
    unsupported(conn.add("k", "v", None).map(drop), "add");
    unsupported(conn.replace("k", "v", None).map(drop), "replace");
    unsupported(conn.incr("n", 1).map(drop), "incr");
    unsupported(conn.append("k", "s").map(drop), "append");
    unsupported(conn.flush(), "flush");
    unsupported(conn.scan(0, 10, "").map(drop), "scan");
    let walk: Vec<_> = conn.scan_keys("", 10).collect();
    assert!(
        matches!(&walk[..], [Err(Error::UnknownCommand)]),
        "scan_keys: {walk:?}"
    );

    let results = conn.execute(&v2_pipeline());
    assert_eq!(results.len(), 8);
    assert_eq!(results[0].as_ref().ok(), Some(&Value::Bytes(None)));
    for (index, result) in results[1..7].iter().enumerate() {
        assert!(
            matches!(result, Err(Error::UnknownCommand)),
            "entry {}: {result:?}",
            index + 1
        );
    }
    assert_eq!(results[7].as_ref().ok(), Some(&Value::Bytes(None)));

    assert_eq!(conn.get("k").expect("GET still works"), None);
    assert!(!conn.is_broken());
    // The last GET's reply came after every earlier frame was read.
    assert_eq!(
        server.recorded(),
        Vec::<Vec<u8>>::new(),
        "nothing else sent"
    );
    drop(conn);
    assert_eq!(
        pool.metrics().connections_created,
        1,
        "the connection was kept"
    );
}
