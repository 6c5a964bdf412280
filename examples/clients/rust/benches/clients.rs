//! blink-client against blink-store beside redis-rs against redis-server,
//! in one run: single-connection round trips per second (GET of a 100-byte
//! value) and pipelined GETs per second (batches of 100). Both servers are
//! pinned to CPU 1 with `taskset -c 1`, this process to CPU 0. Prints a
//! markdown table. Run: `cargo bench -p blink-client --bench clients`.
//!
//! Needs `redis-server` on PATH (Debian: `apt-get install -y redis-server`)
//! and the blink-store release binary (`$BLINK_STORE_BIN`, or the workspace's
//! `target/release/blink-store`).

use std::hint::black_box;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use blink_client::{Config, Connection, Pipeline, Value};

/// Bytes of the value every GET reads.
const VALUE_BYTES: usize = 100;
/// Requests per pipelined batch.
const BATCH: usize = 100;
/// Round trips per timed run.
const ROUND_TRIPS: usize = 20_000;
/// Batches per timed run.
const BATCHES: usize = 2_000;
/// Timed runs per measurement; the best is reported (least disturbed by
/// other work on the machine).
const RUNS: usize = 3;

/// A child process killed on drop.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn main() {
    pin_to_cpu(0);
    let dir = std::env::temp_dir().join(format!("blink-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (_blink, blink_addr) = start_blink(&dir);
    let (_redis, redis_port) = start_redis();

    let key = b"bench:key";
    let value = vec![b'x'; VALUE_BYTES];
    let mut blink = Connection::connect(&Config::tcp(blink_addr)).expect("connect blink-store");
    blink.set(key, &value, None).expect("SET");
    let redis_client =
        redis::Client::open(format!("redis://127.0.0.1:{redis_port}/")).expect("redis url");
    let mut redis = connect_redis(&redis_client);
    redis::cmd("SET")
        .arg(key)
        .arg(&value)
        .exec(&mut redis)
        .expect("redis SET");

    let blink_rtt = best_rate(ROUND_TRIPS, || {
        for _ in 0..ROUND_TRIPS {
            let got = blink.get(black_box(key)).expect("GET");
            assert_eq!(got.map(|v| v.len()), Some(VALUE_BYTES));
        }
    });
    let mut pipeline = Pipeline::new();
    for _ in 0..BATCH {
        pipeline.get(key);
    }
    let blink_pipelined = best_rate(BATCHES * BATCH, || {
        for _ in 0..BATCHES {
            let results = blink.execute(black_box(&pipeline));
            assert!(
                matches!(&results[BATCH - 1], Ok(Value::Bytes(Some(v))) if v.len() == VALUE_BYTES)
            );
        }
    });

    let redis_rtt = best_rate(ROUND_TRIPS, || {
        for _ in 0..ROUND_TRIPS {
            let got: Vec<u8> = redis::cmd("GET")
                .arg(black_box(&key[..]))
                .query(&mut redis)
                .expect("GET");
            assert_eq!(got.len(), VALUE_BYTES);
        }
    });
    let mut pipe = redis::pipe();
    for _ in 0..BATCH {
        pipe.cmd("GET").arg(&key[..]);
    }
    let redis_pipelined = best_rate(BATCHES * BATCH, || {
        for _ in 0..BATCHES {
            let results: Vec<Vec<u8>> = black_box(&pipe).query(&mut redis).expect("pipeline");
            assert_eq!(results[BATCH - 1].len(), VALUE_BYTES);
        }
    });

    println!(
        "| client → server | round trips/s (GET, 100 B) | pipelined GETs/s (batches of 100) |"
    );
    println!("|---|---:|---:|");
    println!(
        "| blink-client → blink-store | {} | {} |",
        thousands(blink_rtt),
        thousands(blink_pipelined)
    );
    println!(
        "| redis-rs → redis-server | {} | {} |",
        thousands(redis_rtt),
        thousands(redis_pipelined)
    );
    println!(
        "\nblink-client / redis-rs: round trips {:.2}x, pipelined {:.2}x",
        blink_rtt / redis_rtt,
        blink_pipelined / redis_pipelined
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The best of [`RUNS`] timed runs of `run`, in operations per second.
fn best_rate(ops: usize, mut run: impl FnMut()) -> f64 {
    run(); // warm up: connections, caches, the server's buffers
    (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            run();
            ops as f64 / started.elapsed().as_secs_f64()
        })
        .fold(0.0, f64::max)
}

fn thousands(rate: f64) -> String {
    let digits = format!("{:.0}", rate);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn pin_to_cpu(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET and
    // sched_setaffinity only read and write the set we pass.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

fn start_blink(dir: &std::path::Path) -> (Server, String) {
    let bin = std::env::var_os("BLINK_STORE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../target/release/blink-store")
        });
    let mut child = Command::new("taskset")
        .args(["-c", "1"])
        .arg(&bin)
        .args([
            "--tcp",
            "127.0.0.1:0",
            "--log-level",
            "warn",
            "--unix-socket",
        ])
        .arg(dir.join("blink.sock"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("taskset {}: {e}", bin.display()));
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("ready line");
    let addr = line
        .strip_prefix("ready tcp ")
        .and_then(|rest| rest.split(',').next())
        .unwrap_or_else(|| panic!("unexpected ready line {line:?}"))
        .to_owned();
    (Server(child), addr)
}

fn start_redis() -> (Server, u16) {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let child = Command::new("taskset")
        .args([
            "-c",
            "1",
            "redis-server",
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
        ])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server on PATH (apt-get install -y redis-server)");
    (Server(child), port)
}

/// Connects once redis-server accepts connections (it has no ready line).
fn connect_redis(client: &redis::Client) -> redis::Connection {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match client.get_connection() {
            Ok(connection) => return connection,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("redis-server did not start: {e}"),
        }
    }
}
