//! The conformance kit's fault cases for the async multiplexed client
//! (`blink_client::aio::Client`), one test per case, named after its id with
//! an `_async` suffix. `pool_exhaustion` has no async counterpart: the async
//! client multiplexes one connection instead of checking connections out.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use blink_client::aio::Client;
use blink_client::{Error, Pipeline, ProtocolError, TimeoutKind, Value};
use common::{FakePeer, Server};

const PROMPT: Duration = Duration::from_secs(2);

/// Polls an async condition every few ms until it holds or `timeout` passes.
async fn eventually<F, Fut>(timeout: Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if condition().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_server_killed_mid_pipeline_async() {
    let mut server = Server::start(&[]);
    let client = Client::connect(server.tcp_config()).await.expect("connect");
    let value = vec![b'v'; 256 * 1024];
    client.set("big", &value, None).await.expect("SET");
    let bytes_out_before = server.stat("bytes_out");

    // A call is submitted in the same poll that counts it, so once all
    // 1,000 are counted they are all queued on the connection.
    let submitted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let calls: Vec<_> = (0..1000)
        .map(|_| {
            let (client, submitted) = (client.clone(), Arc::clone(&submitted));
            tokio::spawn(async move {
                submitted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                client.get("big").await
            })
        })
        .collect();
    let all_submitted = eventually(PROMPT, || {
        let count = submitted.load(std::sync::atomic::Ordering::SeqCst);
        async move { count == 1000 }
    });
    assert!(all_submitted.await, "every call was issued");
    let flowing = tokio::task::spawn_blocking({
        let threshold = bytes_out_before + 8 * value.len() as u64;
        move || {
            let flowing = common::wait_until(PROMPT * 5, || server.stat("bytes_out") > threshold);
            server.kill();
            (flowing, server)
        }
    });
    let (started, mut server) = flowing.await.expect("killer");
    assert!(started, "replies were flowing before the kill");

    let mut failed = 0;
    for call in calls {
        match tokio::time::timeout(PROMPT * 5, call)
            .await
            .expect("no call hangs")
            .expect("task")
        {
            Ok(got) => assert_eq!(got.as_deref(), Some(&value[..]), "a reply is the right one"),
            Err(error) => {
                assert!(matches!(error, Error::ConnectionClosed), "{error}");
                failed += 1;
            }
        }
    }
    assert!(failed > 0, "the kill came before the last reply");

    server.restart();
    let back = eventually(Duration::from_secs(5), || async {
        client.ping().await.is_ok()
    })
    .await;
    assert!(back, "the same client reconnects after the restart");
    assert_eq!(
        client.get("big").await.expect("GET"),
        None,
        "a fresh server"
    );
}

#[tokio::test]
async fn fault_server_restarted_async() {
    let mut server = Server::start(&[]);
    let clients = [
        Client::connect(server.tcp_config()).await.expect("tcp"),
        Client::connect(server.unix_config()).await.expect("unix"),
    ];
    for client in &clients {
        client.set("k", "before", None).await.expect("SET");
    }
    server.kill();

    let outage_started = Instant::now();
    while outage_started.elapsed() < Duration::from_secs(1) {
        for client in &clients {
            let started = Instant::now();
            let error = client.get("k").await.expect_err("the server is down");
            assert!(
                matches!(error, Error::Connect(_) | Error::ConnectionClosed),
                "{error}"
            );
            assert!(started.elapsed() < PROMPT);
        }
        tokio::task::yield_now().await;
    }
    for client in &clients {
        let attempts = client.metrics().connect_attempts - 1;
        assert!(
            (2..20).contains(&attempts),
            "{attempts} reconnect attempts in a one-second outage"
        );
    }

    server.restart();
    for client in &clients {
        let back = eventually(Duration::from_secs(5), || async {
            client.set("k", "after", None).await.is_ok()
        })
        .await;
        assert!(back, "calls succeed again on the same client");
        assert_eq!(client.get("k").await.expect("GET"), Some(b"after".to_vec()));
    }
}

#[tokio::test]
async fn fault_accepts_and_never_answers_async() {
    let peer = FakePeer::spawn(common::hang);
    let timeout = Duration::from_millis(200);
    let started = Instant::now();
    let config = peer.config().connect_timeout(timeout).read_timeout(timeout);
    let error = Client::connect(config)
        .await
        .expect_err("HELLO is never answered");
    assert!(
        matches!(error, Error::Timeout(TimeoutKind::Connect)),
        "{error}"
    );
    assert!(started.elapsed() >= timeout && started.elapsed() < timeout * 10);
    let closed = tokio::task::spawn_blocking(move || peer.closed.recv_timeout(PROMPT).is_ok());
    assert!(
        closed.await.expect("join"),
        "the timed-out connection was closed"
    );
}

#[tokio::test]
async fn fault_accepts_and_never_answers_after_hello_async() {
    let peer = FakePeer::spawn(common::hello_then_hang);
    let timeout = Duration::from_millis(200);
    let client = Client::connect(peer.config().read_timeout(timeout))
        .await
        .expect("HELLO answered");
    let started = Instant::now();
    let error = client.get("k").await.expect_err("GET is never answered");
    assert!(
        matches!(error, Error::Timeout(TimeoutKind::Read)),
        "{error}"
    );
    assert!(started.elapsed() >= timeout && started.elapsed() < timeout * 10);
    let closed = tokio::task::spawn_blocking(move || peer.closed.recv_timeout(PROMPT).is_ok());
    assert!(
        closed.await.expect("join"),
        "the timed-out connection was closed, not reused"
    );
}

#[tokio::test]
async fn fault_malformed_reply_async() {
    for (serve, expected) in common::MALFORMED_RUNS {
        let peer = FakePeer::spawn(serve);
        let client = Client::connect(peer.config())
            .await
            .expect("HELLO answered");
        let error = client.get("k").await.expect_err("invalid reply");
        assert!(
            matches!(&error, Error::Protocol(e) if *e == expected),
            "{error}"
        );
        let error = client
            .get("k")
            .await
            .expect_err("the new connection's reply is invalid too");
        assert!(matches!(error, Error::Protocol(_)), "{error}");
        assert_eq!(
            client.metrics().connect_attempts,
            2,
            "the next call used a new connection"
        );
    }
}

#[tokio::test]
async fn fault_oversized_reply_async() {
    let peer = FakePeer::spawn(common::oversized_header);
    let client = Client::connect(peer.config())
        .await
        .expect("HELLO answered");
    let started = Instant::now();
    let error = client.get("k").await.expect_err("oversized reply");
    assert!(started.elapsed() < PROMPT, "decided from the header");
    let too_large = ProtocolError::FrameTooLarge {
        frame_bytes: 4097,
        max_frame_bytes: 4096,
    };
    assert!(
        matches!(&error, Error::Protocol(e) if *e == too_large),
        "{error}"
    );
    let closed = tokio::task::spawn_blocking(move || peer.closed.recv_timeout(PROMPT).is_ok());
    assert!(closed.await.expect("join"), "the connection was closed");
}

#[tokio::test]
async fn fault_too_many_connections_async() {
    let server = Server::start(&["--max-connections", "1"]);
    let first = Client::connect(server.tcp_config())
        .await
        .expect("first holds the slot");
    let error = Client::connect(server.unix_config())
        .await
        .expect_err("no slot left");
    assert!(matches!(error, Error::TooManyConnections), "{error}");
    assert!(error.is_backoff());
    first
        .set("k", "v", None)
        .await
        .expect("the first keeps working");
    assert_eq!(first.get("k").await.expect("GET"), Some(b"v".to_vec()));
}

#[tokio::test]
async fn fault_wrong_token_async() {
    let server = Server::start_with_token(&[], Some(b"right-token"));
    let before = server.stat("connections_total");
    let error = Client::connect(server.tcp_config().auth_token("wrong"))
        .await
        .expect_err("wrong token");
    assert!(matches!(error, Error::AuthFailed), "{error}");
    let grown = server.stat("connections_total") - before;
    assert!(
        grown <= 2,
        "{grown} connections for one connect (plus the STATS one)"
    );
}

#[tokio::test]
async fn fault_limits_enforced_locally_async() {
    let server = Server::start(&[
        "--max-frame-bytes",
        "4096",
        "--max-key-bytes",
        "4",
        "--max-value-bytes",
        "8",
    ]);
    let client = Client::connect(server.tcp_config()).await.expect("connect");
    let mut admin = server.admin();
    let bytes_in = admin.stats().expect("STATS")["bytes_in"];
    let error = client
        .set("kkkkk", "v", None)
        .await
        .expect_err("key too large");
    assert!(
        matches!(
            error,
            Error::KeyTooLarge {
                key_bytes: 5,
                max_key_bytes: 4
            }
        ),
        "{error}"
    );
    let error = client.get("kkkkk").await.expect_err("key too large");
    assert!(matches!(error, Error::KeyTooLarge { .. }), "{error}");
    let error = client
        .set("k", "vvvvvvvvv", None)
        .await
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
    let grown = admin.stats().expect("STATS")["bytes_in"] - bytes_in;
    assert_eq!(grown, 5, "only the STATS frame reached the server");
    client
        .set("kkkk", "vvvvvvvv", None)
        .await
        .expect("a valid call");
    assert_eq!(
        client.get("kkkk").await.expect("GET"),
        Some(b"vvvvvvvv".to_vec())
    );
}

#[tokio::test]
async fn fault_timed_out_call_keeps_its_reply_async() {
    let server = Server::start(&[]);
    let client = Client::connect(server.tcp_config()).await.expect("connect");
    client.set("a", "value-of-a", None).await.expect("SET a");
    client.set("b", "value-of-b", None).await.expect("SET b");

    server.pause();
    let gave_up = tokio::time::timeout(Duration::from_millis(100), client.get("a")).await;
    assert!(
        gave_up.is_err(),
        "the caller gave up: its future was dropped"
    );
    server.resume();

    let b = client.get("b").await.expect("GET b");
    assert_eq!(b, Some(b"value-of-b".to_vec()), "b's value, never a's");
    assert_eq!(
        client.metrics().connect_attempts,
        1,
        "on the same connection: a's slot was kept"
    );
}

#[tokio::test]
async fn fault_idle_connection_closed_by_server_async() {
    let server = Server::start(&["--idle-timeout-ms", "200"]);
    let client = Client::connect(server.unix_config())
        .await
        .expect("connect");
    client.set("k", "v", None).await.expect("SET");
    let closed = tokio::task::spawn_blocking(move || {
        let closed = common::wait_until(Duration::from_secs(5), || server.stat("closed_idle") >= 1);
        (closed, server)
    });
    let (closed, _server) = closed.await.expect("join");
    assert!(closed, "the server closed the idle connection");
    assert_eq!(
        client.get("k").await.expect("the next call succeeds"),
        Some(b"v".to_vec())
    );
    assert_eq!(client.metrics().connect_attempts, 2, "on a new connection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_shared_by_64_workers_async() {
    let server = Server::start(&[]);
    let client = Client::connect(server.tcp_config()).await.expect("connect");
    let workers: Vec<_> = (0..64)
        .map(|worker| {
            let client = client.clone();
            tokio::spawn(async move {
                for op in 0..200 {
                    let key = format!("worker:{worker}:{}", op % 10);
                    let value = format!("{worker}/{op}").into_bytes();
                    client.set(&key, &value, None).await.expect("SET");
                    assert_eq!(
                        client.get(&key).await.expect("GET"),
                        Some(value),
                        "{worker}/{op}"
                    );
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("worker");
    }
    assert_eq!(
        client.metrics().connect_attempts,
        1,
        "all on one multiplexed connection"
    );
}

#[tokio::test]
async fn fault_large_pipeline_does_not_deadlock_async() {
    let server = Server::start(&[]);
    let client = Client::connect(server.tcp_config()).await.expect("connect");
    let value: Arc<Vec<u8>> = Arc::new((0..16 * 1024).map(|i| i as u8).collect());
    client.set("big", &*value, None).await.expect("SET");
    let mut pipeline = Pipeline::new();
    for _ in 0..20_000 {
        pipeline.get("big");
    }
    let results = client.execute(&pipeline).await;
    assert_eq!(results.len(), 20_000);
    for (index, result) in results.iter().enumerate() {
        match result {
            Ok(Value::Bytes(Some(got))) => {
                assert!(got == &*value, "reply {index} is the full value")
            }
            other => panic!("reply {index}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn fault_version_1_server_async() {
    let server = common::Version1Server::spawn();
    let client = Client::connect(server.config())
        .await
        .expect("HELLO 2 answered with version 1");
    assert_eq!(client.get("k").await.expect("GET works"), None);

    let unsupported = |result: Result<(), Error>, call: &str| {
        let error = result.expect_err(call);
        assert!(matches!(error, Error::UnknownCommand), "{call}: {error}");
    };
    unsupported(client.add("k", "v", None).await.map(drop), "add");
    unsupported(client.replace("k", "v", None).await.map(drop), "replace");
    unsupported(client.incr("n", 1).await.map(drop), "incr");
    unsupported(client.append("k", "s").await.map(drop), "append");
    unsupported(client.flush().await, "flush");
    unsupported(client.scan(0, 10, "").await.map(drop), "scan");
    let mut walk = client.scan_keys("", 10);
    unsupported(walk.next_key().await.map(drop), "scan_keys");
    assert_eq!(walk.next_key().await.ok(), Some(None), "the walk is over");

    let mut pipeline = Pipeline::new();
    pipeline
        .get("k")
        .add("k", "v", None)
        .incr("n", -1)
        .flush()
        .scan(0, 10, "p")
        .get("k");
    let results = client.execute(&pipeline).await;
    assert_eq!(results.len(), 6);
    assert_eq!(results[0].as_ref().ok(), Some(&Value::Bytes(None)));
    for result in &results[1..5] {
        assert!(matches!(result, Err(Error::UnknownCommand)), "{result:?}");
    }
    assert_eq!(results[5].as_ref().ok(), Some(&Value::Bytes(None)));

    assert_eq!(client.get("k").await.expect("GET still works"), None);
    assert_eq!(
        server.recorded(),
        Vec::<Vec<u8>>::new(),
        "nothing else sent"
    );
    assert_eq!(
        client.metrics().connect_attempts,
        1,
        "the connection was kept"
    );
}
