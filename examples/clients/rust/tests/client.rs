//! The public API against a real server: every command over TCP and the
//! Unix socket, binary-safe keys and values, TTLs as full u64s, pipelines
//! with local refusals, the pool's lifecycle rules, and the async client's
//! cancel safety (no caller ever receives another call's reply).

mod common;

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
