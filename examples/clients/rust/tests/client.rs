//! The public API against a real server: every command of both protocol
//! versions over TCP and the Unix socket, binary-safe keys and values, TTLs
//! as full u64s, pipelines with local refusals, whole SCAN walks, the pool's
//! lifecycle rules, and the async client's cancel safety (no caller ever
//! receives another call's reply).

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use blink_client::aio::Client;
use blink_client::{Connection, Error, Pipeline, Pool, PoolConfig, Ttl, Value};
use common::Server;

fn every_command(conn: &mut Connection) {
    conn.ping().expect("PING");
    assert_eq!(conn.hello(1).expect("HELLO").version, 1);
    conn.auth("anything")
        .expect("AUTH without a server token succeeds");
    let key: Vec<u8> = vec![0x00, 0x0a, 0xff, b' '];
    let value: Vec<u8> = (0..=255).collect();
    conn.set(&key, &value, None).expect("SET");
    assert_eq!(conn.get(&key).expect("GET"), Some(value));
    assert_eq!(conn.ttl(&key).expect("TTL"), Some(Ttl::Persistent));
    assert!(
        conn.expire(&key, Some(Duration::from_secs(60)))
            .expect("EXPIRE")
    );
    let left = conn
        .ttl(&key)
        .expect("TTL")
        .and_then(Ttl::remaining_ms)
        .expect("a TTL");
    assert!(left > 55_000 && left <= 60_000, "{left}");
    assert!(conn.expire(&key, None).expect("EXPIRE none"));
    assert_eq!(conn.ttl(&key).expect("TTL"), Some(Ttl::Persistent));
    conn.set(&key, b"", Some(Duration::MAX))
        .expect("SET with the largest TTL");
    let left = conn
        .ttl(&key)
        .expect("TTL")
        .and_then(Ttl::remaining_ms)
        .expect("a TTL");
    assert!(left > u64::MAX - 3_600_000, "read as a full u64: {left}");
    assert_eq!(
        conn.get(&key).expect("GET"),
        Some(Vec::new()),
        "an empty value is a value"
    );
    assert!(conn.del(&key).expect("DEL"));
    assert!(!conn.del(&key).expect("DEL again"));
    assert!(
        !conn
            .expire(&key, Some(Duration::from_secs(1)))
            .expect("EXPIRE missing")
    );
    assert_eq!(conn.ttl(&key).expect("TTL"), None);
    assert_eq!(conn.get(&key).expect("GET"), None);
    let stats = conn.stats().expect("STATS");
    assert!(
        stats["cmd_get"] >= 3 && stats.contains_key("used_bytes"),
        "{stats:?}"
    );
}

#[test]
fn every_command_over_tcp_and_unix() {
    let server = Server::start(&[]);
    every_command(&mut Connection::connect(&server.tcp_config()).expect("tcp"));
    every_command(&mut Connection::connect(&server.unix_config()).expect("unix"));
}

fn every_v2_command(conn: &mut Connection) {
    assert_eq!(conn.server_info().version, 2, "HELLO 2 on connect");
    conn.flush().expect("FLUSH");
    let key: Vec<u8> = vec![0x00, 0x0a, 0xff, b'c'];
    assert!(!conn.replace(&key, "v0", None).expect("REPLACE missing"));
    assert_eq!(conn.get(&key).expect("GET"), None, "REPLACE never creates");
    assert!(conn.add(&key, "v1", None).expect("ADD"));
    assert!(!conn.add(&key, "v2", None).expect("ADD exists"));
    assert_eq!(conn.get(&key).expect("GET"), Some(b"v1".to_vec()));
    let minute = Some(Duration::from_secs(60));
    assert!(conn.replace(&key, [0u8, 0xff], minute).expect("REPLACE"));
    assert_eq!(conn.get(&key).expect("GET"), Some(vec![0, 0xff]));
    assert!(matches!(
        conn.ttl(&key).expect("TTL"),
        Some(Ttl::ExpiresIn(_))
    ));
    assert_eq!(conn.append(&key, [b'!'; 3]).expect("APPEND"), 5);
    assert!(
        matches!(conn.ttl(&key).expect("TTL"), Some(Ttl::ExpiresIn(_))),
        "APPEND keeps the TTL"
    );
    assert_eq!(conn.append(&key, b"").expect("APPEND nothing"), 5);

    assert_eq!(conn.incr("n", 5).expect("INCR missing"), 5);
    assert_eq!(conn.incr("n", -7).expect("INCR"), -2);
    assert_eq!(conn.get("n").expect("GET"), Some(b"-2".to_vec()));
    assert_eq!(conn.ttl("n").expect("TTL"), Some(Ttl::Persistent));
    conn.set("max", i64::MAX.to_string(), None).expect("SET");
    assert!(matches!(conn.incr("max", 1), Err(Error::NotInteger)));
    assert_eq!(conn.incr("max", i64::MIN).expect("INCR"), -1);
    conn.set("text", "0x1", None).expect("SET");
    let error = conn.incr("text", 1).expect_err("not an integer");
    assert!(matches!(error, Error::NotInteger), "{error}");
    assert!(!error.closes_connection() && !conn.is_broken());
    assert_eq!(conn.get("text").expect("GET"), Some(b"0x1".to_vec()));

    let (cursor, keys) = conn.scan(0, 100, "n").expect("SCAN");
    assert_eq!(
        (cursor, keys),
        (0, vec![b"n".to_vec()]),
        "one page holds it"
    );
    conn.flush().expect("FLUSH");
    assert_eq!(conn.scan_keys("", 10).count(), 0, "FLUSH removed every key");
    assert_eq!(conn.stats().expect("STATS")["items"], 0);

    // HELLO 1 takes the connection back to version 1, HELLO 2 forward.
    assert_eq!(conn.hello(1).expect("HELLO 1").version, 1);
    assert!(matches!(conn.flush(), Err(Error::UnknownCommand)));
    assert_eq!(conn.hello(2).expect("HELLO 2").version, 2);
    conn.flush().expect("FLUSH at version 2 again");
}

#[test]
fn every_v2_command_over_tcp_and_unix() {
    let server = Server::start(&[]);
    every_v2_command(&mut Connection::connect(&server.tcp_config()).expect("tcp"));
    every_v2_command(&mut Connection::connect(&server.unix_config()).expect("unix"));
    let stats = server.stats();
    assert_eq!(stats["err_unknown_command"], 0, "v1-only calls never sent");
    assert_eq!(stats["err_not_integer"], 4);
}

#[test]
fn v2_sizes_are_checked_locally_and_append_past_the_limit_by_the_server() {
    let server = Server::start(&["--max-key-bytes", "4", "--max-value-bytes", "8"]);
    let mut conn = Connection::connect(&server.tcp_config()).expect("connect");
    let mut admin = server.admin();
    let bytes_in = admin.stats().expect("STATS")["bytes_in"];
    assert!(matches!(
        conn.add("kkkkk", "v", None),
        Err(Error::KeyTooLarge { key_bytes: 5, .. })
    ));
    assert!(matches!(
        conn.replace("k", "vvvvvvvvv", None),
        Err(Error::ValueTooLarge { value_bytes: 9, .. })
    ));
    assert!(matches!(
        conn.incr("kkkkk", 1),
        Err(Error::KeyTooLarge { .. })
    ));
    assert!(matches!(
        conn.append("k", "sssssssss"),
        Err(Error::ValueTooLarge {
            value_bytes: 9,
            max_value_bytes: 8
        })
    ));
    let stats_frame_bytes = 5;
    assert_eq!(
        admin.stats().expect("STATS")["bytes_in"] - bytes_in,
        stats_frame_bytes,
        "nothing of the refused calls was written"
    );
    // The suffix fits, the result would not: the server refuses it.
    assert_eq!(conn.append("k", "12345678").expect("APPEND"), 8);
    assert!(matches!(
        conn.append("k", "9"),
        Err(Error::ValueTooLarge { .. })
    ));
    assert_eq!(conn.get("k").expect("GET"), Some(b"12345678".to_vec()));
    // A prefix is not a key: a long one is sent, and matches nothing.
    assert_eq!(conn.scan(0, 10, "a-long-prefix").expect("SCAN").1.len(), 0);
}

/// Writes `count` keys `{prefix}{i}` in one pipeline.
fn write_keys(conn: &mut Connection, prefix: &str, count: usize) -> HashSet<Vec<u8>> {
    let mut pipeline = Pipeline::new();
    let keys: HashSet<Vec<u8>> = (0..count)
        .map(|i| format!("{prefix}{i}").into_bytes())
        .collect();
    for key in &keys {
        pipeline.set(key, "v", None);
    }
    let results = conn.execute(&pipeline);
    assert!(results.iter().all(|r| r.is_ok()), "every SET");
    keys
}

/// The keys of a walk, asserting that none came twice.
fn each_once(walk: impl IntoIterator<Item = Vec<u8>>) -> HashSet<Vec<u8>> {
    let mut seen = HashSet::new();
    for key in walk {
        let shown = String::from_utf8_lossy(&key).into_owned();
        assert!(seen.insert(key), "{shown} came twice");
    }
    seen
}

#[test]
fn a_scan_walk_returns_every_key_under_its_prefix_exactly_once() {
    let server = Server::start(&[]);
    let pool = Pool::new(server.unix_config(), PoolConfig::default());
    let mut conn = pool.get().expect("conn");
    let users = write_keys(&mut conn, "user:", 3000);
    let items = write_keys(&mut conn, "item:", 2000);
    // Near misses: neither starts with "user:".
    conn.set("user", "v", None).expect("SET");
    conn.set("users:1", "v", None).expect("SET");

    let walk = conn.scan_keys("user:", 7).map(|key| key.expect("SCAN"));
    assert_eq!(each_once(walk), users);
    let pages = server.stat("cmd_scan");
    assert!(pages > 10, "a small count walks in many pages ({pages})");
    let walk = conn.scan_keys("item:", 1000).map(|key| key.expect("SCAN"));
    assert_eq!(each_once(walk), items);
    let everything = each_once(conn.scan_keys("", 50).map(|key| key.expect("SCAN")));
    assert_eq!(everything.len(), 5002);
    assert!(conn.scan_keys("nothing:", 7).next().is_none());
}

#[test]
fn a_pipeline_carries_v2_commands_and_refuses_oversized_ones_alone() {
    let server = Server::start(&["--max-key-bytes", "8", "--max-value-bytes", "16"]);
    let mut conn = Connection::connect(&server.tcp_config()).expect("connect");
    let mut pipeline = Pipeline::new();
    pipeline
        .add("a", "1", None)
        .add("a", "2", None)
        .replace("b", "1", None)
        .incr("a", 41)
        .append("a", [b'x'; 17])
        .append("a", "x")
        .incr("far-too-long-key", 1)
        .scan(0, 100, "a")
        .flush()
        .get("a");
    let results = conn.execute(&pipeline);
    assert_eq!(results.len(), 10);
    let ok = |index: usize| results[index].as_ref().ok().cloned();
    assert_eq!(ok(0), Some(Value::Stored(true)));
    assert_eq!(ok(1), Some(Value::Stored(false)), "EXISTS");
    assert_eq!(ok(2), Some(Value::Stored(false)), "NOT_FOUND");
    assert_eq!(ok(3), Some(Value::Integer(42)));
    assert!(matches!(
        results[4],
        Err(Error::ValueTooLarge {
            value_bytes: 17,
            ..
        })
    ));
    assert_eq!(ok(5), Some(Value::Length(3)));
    assert!(matches!(
        results[6],
        Err(Error::KeyTooLarge { key_bytes: 16, .. })
    ));
    assert_eq!(
        ok(7),
        Some(Value::Scan {
            next_cursor: 0,
            keys: vec![b"a".to_vec()]
        })
    );
    assert_eq!(ok(8), Some(Value::Done));
    assert_eq!(ok(9), Some(Value::Bytes(None)));
}

#[test]
fn a_short_ttl_expires() {
    let server = Server::start(&[]);
    let mut conn = Connection::connect(&server.tcp_config()).expect("connect");
    conn.set("brief", "v", Some(Duration::from_millis(30)))
        .expect("SET");
    assert!(common::wait_until(Duration::from_secs(5), || conn
        .get("brief")
        .expect("GET")
        .is_none()));
}

#[test]
fn a_pipeline_refuses_oversized_entries_alone() {
    let server = Server::start(&["--max-key-bytes", "8", "--max-value-bytes", "16"]);
    let mut conn = Connection::connect(&server.tcp_config()).expect("connect");
    let mut pipeline = Pipeline::new();
    pipeline
        .set("a", "1", None)
        .get("far-too-long-key")
        .set("b", [0u8; 17], None)
        .get("a")
        .ttl("a")
        .stats();
    let results = conn.execute(&pipeline);
    assert_eq!(results.len(), 6);
    assert_eq!(results[0].as_ref().ok(), Some(&Value::Done));
    assert!(matches!(
        results[1],
        Err(Error::KeyTooLarge {
            key_bytes: 16,
            max_key_bytes: 8
        })
    ));
    assert!(matches!(
        results[2],
        Err(Error::ValueTooLarge {
            value_bytes: 17,
            max_value_bytes: 16
        })
    ));
    assert_eq!(
        results[3].as_ref().ok(),
        Some(&Value::Bytes(Some(b"1".to_vec())))
    );
    assert_eq!(
        results[4].as_ref().ok(),
        Some(&Value::Ttl(Some(Ttl::Persistent)))
    );
    assert!(matches!(&results[5], Ok(Value::Stats(stats)) if stats["cmd_set"] == 1));
    assert!(conn.execute(&Pipeline::new()).is_empty());
}

#[test]
fn the_pool_returns_reuses_and_discards() {
    let server = Server::start(&[]);
    let pool = Pool::new(
        server.tcp_config(),
        PoolConfig {
            max_size: 2,
            ..PoolConfig::default()
        },
    );
    {
        let mut conn = pool.get().expect("conn");
        conn.set("k", "v", None).expect("SET");
        assert_eq!(pool.metrics().idle, 0, "lent out");
    }
    assert_eq!(
        (pool.metrics().idle, pool.metrics().open),
        (1, 1),
        "returned on drop"
    );
    let mut conn = pool.get().expect("conn");
    assert_eq!(pool.metrics().connections_created, 1, "reused");
    conn.close();
    drop(conn);
    let metrics = pool.metrics();
    assert_eq!(
        (metrics.idle, metrics.open, metrics.connections_broken),
        (0, 0, 1),
        "discarded"
    );
    assert_eq!(
        pool.get().expect("a replacement").get("k").expect("GET"),
        Some(b"v".to_vec())
    );
}

#[test]
fn a_connection_returned_at_another_version_is_closed_not_reused() {
    let server = Server::start(&[]);
    let pool = Pool::new(server.tcp_config(), PoolConfig::default());
    {
        let mut conn = pool.get().expect("conn");
        assert_eq!(conn.hello(1).expect("HELLO 1").version, 1);
    }
    let metrics = pool.metrics();
    assert_eq!(
        (metrics.idle, metrics.open, metrics.connections_closed),
        (0, 0, 1),
        "closed on return"
    );
    assert_eq!(metrics.connections_broken, 0, "not broken: changed");
    let mut conn = pool.get().expect("a new connection");
    assert_eq!(conn.server_info().version, 2);
    assert_eq!(conn.incr("n", 1).expect("INCR, a version-2 command"), 1);
    assert_eq!(pool.metrics().connections_created, 2);
}

#[test]
fn the_pool_retires_idle_and_old_connections_and_pings_after_idle() {
    let server = Server::start(&[]);
    let short = Duration::from_millis(50);
    let settings = |max_idle_time, max_lifetime, ping_after_idle| PoolConfig {
        max_size: 1,
        max_idle_time,
        max_lifetime,
        ping_after_idle,
        ..PoolConfig::default()
    };
    let long = Duration::from_secs(60);
    for (name, config) in [
        ("max_idle_time", settings(short, long, long)),
        ("max_lifetime", settings(long, short, long)),
    ] {
        let pool = Pool::new(server.tcp_config(), config);
        drop(pool.get().expect("conn"));
        std::thread::sleep(short * 2);
        pool.get().expect("conn").ping().expect("PING");
        let metrics = pool.metrics();
        assert_eq!(
            (metrics.connections_created, metrics.connections_closed),
            (2, 1),
            "{name}"
        );
    }
    let pool = Pool::new(server.tcp_config(), settings(long, long, short));
    drop(pool.get().expect("conn"));
    let pings = server.stat("cmd_ping");
    std::thread::sleep(short * 2);
    drop(pool.get().expect("conn"));
    assert_eq!(
        server.stat("cmd_ping"),
        pings + 1,
        "a PING checked the long-idle connection"
    );
    assert_eq!(pool.metrics().connections_created, 1);
}

#[test]
fn pool_and_handles_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Pool>();
    assert_send_sync::<Client>();
    assert_send_sync::<Error>();
    fn assert_send<T: Send>() {}
    assert_send::<Connection>();
    assert_send::<blink_client::PooledConnection>();
}

/// Many tasks, most of whose calls are abandoned at random moments: every
/// reply a caller does receive is its own (the deadpool-style canary).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_futures_never_hand_their_replies_to_other_callers() {
    let server = Server::start(&[]);
    let client = Client::connect(server.tcp_config()).await.expect("connect");
    for i in 0..64 {
        client
            .set(format!("canary:{i}"), format!("value:{i}"), None)
            .await
            .expect("SET");
    }
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                let (key, want) = (format!("canary:{i}"), format!("value:{i}").into_bytes());
                let mut answered = 0;
                for round in 0..200u64 {
                    let patience = Duration::from_micros((round * 37 + i * 11) % 400);
                    if let Ok(got) = tokio::time::timeout(patience, client.get(&key)).await {
                        assert_eq!(
                            got.expect("GET"),
                            Some(want.clone()),
                            "task {i} got another's reply"
                        );
                        answered += 1;
                    }
                }
                answered
            })
        })
        .collect();
    let mut answered = 0;
    for task in tasks {
        answered += task.await.expect("task");
    }
    assert!(
        answered > 0 && answered < 64 * 200,
        "some calls were abandoned, some answered ({answered})"
    );
    let all = Arc::new(client);
    assert_eq!(
        all.get("canary:7").await.expect("GET"),
        Some(b"value:7".to_vec())
    );
    assert_eq!(
        all.metrics().connect_attempts,
        1,
        "cancellation never cost the connection"
    );
}

#[tokio::test]
async fn the_async_client_covers_every_command_and_pipelines() {
    let server = Server::start(&[]);
    let client = Client::connect(server.unix_config())
        .await
        .expect("connect");
    client.ping().await.expect("PING");
    assert!(!client.hello(1).await.expect("HELLO").auth_required);
    client.auth("x").await.expect("AUTH");
    client
        .set(b"\x00k", b"\xffv", Some(Duration::from_secs(9)))
        .await
        .expect("SET");
    assert_eq!(
        client.get(b"\x00k").await.expect("GET"),
        Some(b"\xffv".to_vec())
    );
    assert!(matches!(
        client.ttl(b"\x00k").await.expect("TTL"),
        Some(Ttl::ExpiresIn(_))
    ));
    assert!(client.expire(b"\x00k", None).await.expect("EXPIRE"));
    assert!(client.del(b"\x00k").await.expect("DEL"));
    assert!(!client.del(b"\x00k").await.expect("DEL"));
    assert!(client.stats().await.expect("STATS").contains_key("items"));
    let mut pipeline = Pipeline::new();
    pipeline.set("p", "1", None).get("p").del("p").get("p");
    let results: Vec<_> = client
        .execute(&pipeline)
        .await
        .into_iter()
        .map(Result::ok)
        .collect();
    let one = Some(b"1".to_vec());
    let want = [
        Value::Done,
        Value::Bytes(one),
        Value::Existed(true),
        Value::Bytes(None),
    ];
    assert_eq!(results, want.map(Some));
}

#[tokio::test]
async fn the_async_client_covers_the_v2_commands_and_walks() {
    let server = Server::start(&[]);
    let client = Client::connect(server.tcp_config()).await.expect("connect");
    assert!(client.add("k", "v", None).await.expect("ADD"));
    assert!(!client.add("k", "w", None).await.expect("ADD exists"));
    assert!(client.replace("k", "12", None).await.expect("REPLACE"));
    assert!(
        !client
            .replace("gone", "x", None)
            .await
            .expect("REPLACE missing")
    );
    assert_eq!(client.incr("k", -20).await.expect("INCR"), -8);
    assert_eq!(client.append("k", "0").await.expect("APPEND"), 3);
    assert!(matches!(
        client
            .incr("max", i64::MAX)
            .await
            .and(client.incr("max", 1).await),
        Err(Error::NotInteger)
    ));
    client.flush().await.expect("FLUSH");
    assert_eq!(client.get("k").await.expect("GET"), None);

    let mut conn = Connection::connect(&server.unix_config()).expect("connect");
    let users = write_keys(&mut conn, "user:", 2500);
    write_keys(&mut conn, "item:", 2500);
    let mut walk = client.scan_keys("user:", 9);
    let mut keys = Vec::new();
    while let Some(key) = walk.next_key().await.expect("SCAN") {
        keys.push(key);
    }
    assert_eq!(each_once(keys), users);
    assert_eq!(walk.next_key().await.expect("done"), None, "stays done");
    let (cursor, page) = client.scan(0, 5, "item:").await.expect("SCAN");
    assert!(cursor != 0 && page.iter().all(|key| key.starts_with(b"item:")));

    // The negotiated version follows every HELLO on the shared connection.
    assert_eq!(client.hello(1).await.expect("HELLO 1").version, 1);
    assert!(matches!(client.flush().await, Err(Error::UnknownCommand)));
    assert_eq!(client.hello(2).await.expect("HELLO 2").version, 2);
    client.flush().await.expect("FLUSH");
}
