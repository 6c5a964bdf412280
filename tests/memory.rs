//! The memory cap holds on the wire: accounted bytes never exceed it and the
//! process RSS stays close to it while far more data is written than fits
//! (RELIABILITY.md D1, D4).

mod common;

use blink_store::protocol::{self, Request, Status};
use common::{Client, Server, stat};

const CAP_BYTES: u64 = 32 << 20;
/// RSS allowed above the cap: allocator and size-class slack on the stored
/// bytes, plus the server's fixed footprint (binary, lent buffers, index).
const RSS_SLACK_FRACTION: f64 = 0.25;
const RSS_FIXED_SLACK_BYTES: u64 = 16 << 20;

/// Writes `total_bytes` of values with sizes from `value_bytes(i)`, in
/// pipelined batches, and checks every reply is OK.
fn write_values(client: &mut Client, total_bytes: u64, value_bytes: impl Fn(u64) -> usize) {
    let mut written = 0u64;
    let mut i = 0u64;
    while written < total_bytes {
        let mut batch = Vec::new();
        let mut sent = 0;
        while sent < 64 && written < total_bytes {
            let value = vec![(i % 251) as u8; value_bytes(i)];
            let key = format!("key-{i}");
            protocol::encode_request(
                &Request::Set {
                    key: key.as_bytes(),
                    value: &value,
                    ttl_ms: 0,
                },
                &mut batch,
            );
            written += value.len() as u64;
            sent += 1;
            i += 1;
        }
        client.write_raw(&batch).unwrap();
        for _ in 0..sent {
            assert_eq!(client.reply().unwrap().0, Status::Ok as u8);
        }
    }
}

fn assert_within_cap(client: &mut Client, rss_baseline_bytes: u64, phase: &str) {
    let stats = client.stats();
    let used_bytes = stat(&stats, "used_bytes");
    let rss_bytes = stat(&stats, "rss_bytes");
    assert!(
        used_bytes <= CAP_BYTES,
        "{phase}: accounted {used_bytes} > cap {CAP_BYTES}"
    );
    assert!(
        stat(&stats, "evictions") > 0,
        "{phase}: the cap was never reached"
    );
    let allowed = rss_baseline_bytes
        + (CAP_BYTES as f64 * (1.0 + RSS_SLACK_FRACTION)) as u64
        + RSS_FIXED_SLACK_BYTES;
    assert!(
        rss_bytes <= allowed,
        "{phase}: RSS {rss_bytes} above {allowed} (baseline {rss_baseline_bytes})"
    );
    eprintln!(
        "{phase}: used {used_bytes} B, RSS {rss_bytes} B ({:.2} x cap above baseline)",
        (rss_bytes - rss_baseline_bytes) as f64 / CAP_BYTES as f64
    );
}

#[test]
fn small_values_far_past_the_cap_keep_memory_near_the_cap() {
    let server = Server::start(&["--memory-limit", "32MiB"]);
    let mut client = server.tcp();
    let baseline = stat(&client.stats(), "rss_bytes");
    write_values(&mut client, 2 * CAP_BYTES, |_| 1000);
    assert_within_cap(&mut client, baseline, "1000-byte values");
}

#[test]
fn mixed_sizes_from_bytes_to_hundreds_of_kib_keep_memory_near_the_cap() {
    let server = Server::start(&[
        "--memory-limit",
        "32MiB",
        "--max-frame-bytes",
        "1048576",
        "--max-value-bytes",
        "512000",
    ]);
    let mut client = server.unix();
    let baseline = stat(&client.stats(), "rss_bytes");
    // Sizes spread over five orders of magnitude, a fixed pseudo-random sequence.
    let size = |i: u64| {
        let mixed = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
        let exponent = mixed % 5;
        (100 * 4usize.pow(exponent as u32)).min(500_000) + (mixed % 97) as usize
    };
    write_values(&mut client, 4 * CAP_BYTES, size);
    assert_within_cap(&mut client, baseline, "mixed sizes");
    write_values(&mut client, 2 * CAP_BYTES, |_| 300);
    assert_within_cap(&mut client, baseline, "mixed, then small");
}

#[test]
fn an_item_over_the_value_limit_is_refused_and_nothing_is_evicted() {
    let server = Server::start(&[
        "--memory-limit",
        "8MiB",
        "--max-frame-bytes",
        "65536",
        "--max-value-bytes",
        "60000",
    ]);
    let mut client = server.tcp();
    assert_eq!(client.set(b"keep", b"me"), Status::Ok as u8);
    assert_eq!(
        client.set(b"big", &[1; 60_001]),
        Status::ValueTooLarge as u8
    );
    let stats = client.stats();
    assert_eq!(stat(&stats, "evictions"), 0);
    assert_eq!(stat(&stats, "items"), 1);
    assert_eq!(
        client.call(&Request::Get { key: b"keep" }),
        (Status::Ok as u8, b"me".to_vec())
    );
}
