//! A pipelined batch answers exactly as its requests sent one at a time do:
//! the server starts a batch's lookups ahead of executing it (`session.rs`),
//! and that must never show on the wire.
//!
//! Two servers with the same small memory limit get the same stream of
//! SETs, GETs, DELs and TTLs over mostly a few hot keys: one as pipelines of
//! every size from 1 to 64, each written at once, the other one request at
//! a time, each reply awaited before the next request. Values up to 16 KiB
//! fill the 1 MiB limit early, so later batches evict (and move records)
//! in the middle of a batch. Every reply must be the same.

mod common;

use blink_store::protocol::{Request, encode_request};
use common::{Client, Reply, Server};

/// Hot keys, drawn for most requests so a batch reads and writes the same
/// ones, and cold ones, many enough that their values overflow the limit.
const HOT_KEYS: u64 = 8;
const COLD_KEYS: u64 = 400;
const VALUE_MAX_BYTES: u64 = 16 * 1024;
const PIPELINE_MAX: usize = 64;

/// A small deterministic generator (xorshift64*), so a failure repeats.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// One request of the stream, owning its key and value.
enum Op {
    Set(Vec<u8>, Vec<u8>),
    Get(Vec<u8>),
    Del(Vec<u8>),
    Ttl(Vec<u8>),
}

impl Op {
    fn random(rng: &mut Rng) -> Op {
        let key_no = match rng.below(10) {
            0..=5 => rng.below(HOT_KEYS),
            _ => HOT_KEYS + rng.below(COLD_KEYS),
        };
        let key = format!("key:{key_no:012}").into_bytes();
        match rng.below(10) {
            0..=3 => {
                let len = rng.below(VALUE_MAX_BYTES) as usize;
                let fill = b'a' + rng.below(26) as u8;
                Op::Set(key, vec![fill; len])
            }
            4..=7 => Op::Get(key),
            8 => Op::Del(key),
            _ => Op::Ttl(key),
        }
    }

    fn request(&self) -> Request<'_> {
        match self {
            Op::Set(key, value) => Request::Set {
                key,
                value,
                ttl_ms: 0,
            },
            Op::Get(key) => Request::Get { key },
            Op::Del(key) => Request::Del { key },
            Op::Ttl(key) => Request::Ttl { key },
        }
    }
}

/// Sends `ops` as one write, then reads their replies.
fn pipelined(client: &mut Client, ops: &[Op]) -> Vec<Reply> {
    let mut wire = Vec::new();
    for op in ops {
        encode_request(&op.request(), &mut wire);
    }
    client.write_raw(&wire).unwrap();
    ops.iter()
        .map(|_| client.reply().expect("a reply per request"))
        .collect()
}

#[test]
fn pipelines_of_every_size_answer_as_requests_one_at_a_time() {
    let args = ["--memory-limit", "1MiB", "--max-frame-bytes", "64KiB"];
    let (batched_server, sequential_server) = (Server::start(&args), Server::start(&args));
    let (mut batched, mut sequential) = (batched_server.tcp(), sequential_server.tcp());
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for pipeline in 1..=PIPELINE_MAX {
        let ops: Vec<Op> = (0..pipeline).map(|_| Op::random(&mut rng)).collect();
        let expected: Vec<Reply> = ops
            .iter()
            .map(|op| sequential.call(&op.request()))
            .collect();
        let replies = pipelined(&mut batched, &ops);
        for (at, (got, want)) in replies.iter().zip(&expected).enumerate() {
            assert_eq!(
                got,
                want,
                "pipeline {pipeline}, request {at}: status {} ({} bytes) vs {} ({} bytes)",
                got.0,
                got.1.len(),
                want.0,
                want.1.len()
            );
        }
    }
    let evictions = |server: &Server| common::stat(&server.tcp().stats(), "evictions");
    let evicted = evictions(&batched_server);
    assert!(evicted > 0, "the stream evicts within batches");
    assert_eq!(evicted, evictions(&sequential_server));
}
