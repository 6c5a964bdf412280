//! The README's quickstart, runnable: `cargo run -p blink-client --example
//! quickstart --features tokio -- 127.0.0.1:25465` against a fresh
//! blink-store (version 2: the last part flushes every key). Every step
//! checks its result, so a wrong reply fails the run. The README shows the
//! regions between the `ANCHOR` lines, verbatim (`tests/readme.rs`).

use std::time::Duration;

use blink_client::aio::Client;
use blink_client::{Config, Connection, Error, Pipeline, Pool, PoolConfig, Ttl, Value};

fn main() -> Result<(), Error> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:25465".to_owned());
    let config = Config::tcp(addr).read_timeout(Duration::from_secs(2));

    // ANCHOR: blocking
    let mut conn = Connection::connect(&config)?;
    conn.set("greeting", "hello", None)?;
    assert_eq!(conn.get("greeting")?, Some(b"hello".to_vec()));
    assert_eq!(conn.get("no-such-key")?, None); // not found is a value
    // ANCHOR_END: blocking

    // ANCHOR: ttl
    conn.set("session", "alice", Some(Duration::from_secs(60)))?;
    assert!(
        matches!(conn.ttl("session")?, Some(Ttl::ExpiresIn(left)) if left <= Duration::from_secs(60))
    );
    conn.expire("session", None)?; // clear the TTL
    assert_eq!(conn.ttl("session")?, Some(Ttl::Persistent));
    // ANCHOR_END: ttl

    // ANCHOR: pipeline
    let mut pipeline = Pipeline::new();
    for i in 0..100 {
        pipeline.set(format!("item:{i}"), i.to_string(), None);
    }
    pipeline.get("item:42");
    let results = conn.execute(&pipeline); // one write, replies in order
    assert_eq!(
        results[100].as_ref().ok(),
        Some(&Value::Bytes(Some(b"42".to_vec())))
    );
    // ANCHOR_END: pipeline

    // ANCHOR: errors
    let huge_key = vec![b'k'; conn.server_info().limits.max_key_bytes as usize + 1];
    match conn.get(&huge_key) {
        Err(Error::KeyTooLarge { max_key_bytes, .. }) => {
            println!("keys are limited to {max_key_bytes} bytes")
        }
        other => panic!("expected a local refusal, got {other:?}"),
    }
    conn.ping()?; // the connection is still fine
    // ANCHOR_END: errors

    // ANCHOR: pool
    let pool = Pool::new(
        config.clone(),
        PoolConfig {
            max_size: 4,
            ..PoolConfig::default()
        },
    );
    std::thread::scope(|s| {
        for worker in 0..8 {
            let pool = &pool;
            s.spawn(move || -> Result<(), Error> {
                let mut conn = pool.get()?; // back to the pool when dropped
                conn.set(format!("worker:{worker}"), "done", None)
            });
        }
    });
    assert_eq!(pool.get()?.get("worker:7")?, Some(b"done".to_vec()));
    // ANCHOR_END: pool

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Config(e.to_string()))?;
    runtime.block_on(async_quickstart(config))?;

    // ANCHOR: v2
    let lock_ttl = Some(Duration::from_secs(30));
    assert!(conn.add("lock:job-7", "worker-3", lock_ttl)?); // stored: the key was new
    assert!(!conn.add("lock:job-7", "worker-4", lock_ttl)?); // EXISTS: not stored
    assert!(conn.replace("greeting", "hi", None)?); // only if the key exists
    assert!(!conn.replace("no-such-key", "hi", None)?);
    assert_eq!(conn.incr("visits", 1)?, 1); // a missing key counts as 0
    assert_eq!(conn.incr("visits", -3)?, -2);
    assert_eq!(conn.append("log", "start;")?, 6); // the new length
    assert!(matches!(conn.incr("log", 1), Err(Error::NotInteger)));
    let (_next_cursor, keys) = conn.scan(0, 10, "item:")?; // one step of a walk
    assert!(keys.iter().all(|key| key.starts_with(b"item:")));
    let items = conn.scan_keys("item:", 10).collect::<Result<Vec<_>, _>>()?; // the whole walk
    assert_eq!(items.len(), 100); // every key under the prefix, each once
    conn.flush()?; // removes every key
    assert_eq!(conn.scan_keys("", 100).count(), 0);
    // ANCHOR_END: v2

    println!("quickstart: ok");
    Ok(())
}

async fn async_quickstart(config: Config) -> Result<(), Error> {
    // ANCHOR: async
    let client = Client::connect(config).await?; // cloneable, multiplexed
    let (a, b) = tokio::join!(client.set("async", "yes", None), client.get("greeting"));
    a?;
    assert_eq!(b?, Some(b"hello".to_vec()));
    assert_eq!(client.get("async").await?, Some(b"yes".to_vec()));
    // ANCHOR_END: async
    Ok(())
}
