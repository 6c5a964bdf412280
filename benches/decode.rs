//! Decode throughput over a pipelined buffer: 90% GET, 10% SET, 16-byte
//! keys, 100-byte values, decoded frame after frame the way the server's
//! read loop does. Reports the median of several runs in frames/s and
//! bytes/s. Run with `cargo bench --bench decode`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use blink_store::protocol::{Decoded, Limits, Request, decode_request, encode_request};

const FRAMES: usize = 200_000;
const KEY_BYTES: usize = 16;
const VALUE_BYTES: usize = 100;
const SET_EVERY: usize = 10;
const RUNS: usize = 31;

/// A fixed buffer of `FRAMES` requests: every tenth is a SET.
fn pipelined_buffer() -> Vec<u8> {
    let value = [b'v'; VALUE_BYTES];
    let mut wire = Vec::new();
    for index in 0..FRAMES {
        let key = format!("key:{index:012}");
        debug_assert_eq!(key.len(), KEY_BYTES);
        let request = if index % SET_EVERY == 0 {
            Request::Set {
                key: key.as_bytes(),
                value: &value,
                ttl_ms: 60_000,
            }
        } else {
            Request::Get {
                key: key.as_bytes(),
            }
        };
        encode_request(&request, &mut wire);
    }
    wire
}

/// Decodes every frame of `wire`; returns the count so nothing is optimised away.
fn decode_all(wire: &[u8], limits: &Limits) -> usize {
    let mut rest = wire;
    let mut frames = 0;
    while let Decoded::Request { request, frame_len } = decode_request(rest, limits) {
        black_box(request);
        rest = &rest[frame_len..];
        frames += 1;
    }
    frames
}

fn main() {
    let wire = pipelined_buffer();
    let limits = Limits::DEFAULT;
    assert_eq!(decode_all(&wire, &limits), FRAMES, "every frame decodes");

    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            black_box(decode_all(black_box(&wire), &limits));
            start.elapsed()
        })
        .collect();
    times.sort_unstable();
    let median = times[RUNS / 2].as_secs_f64();

    println!(
        "decode: {FRAMES} frames ({} bytes, 90% GET / 10% SET, {KEY_BYTES} B keys, {VALUE_BYTES} B values)",
        wire.len()
    );
    println!(
        "median of {RUNS} runs: {:.3} ms = {:.1} M frames/s, {:.0} MiB/s (min {:.3} ms, max {:.3} ms)",
        median * 1e3,
        FRAMES as f64 / median / 1e6,
        wire.len() as f64 / median / (1024.0 * 1024.0),
        times[0].as_secs_f64() * 1e3,
        times[RUNS - 1].as_secs_f64() * 1e3,
    );
}
