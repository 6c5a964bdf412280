//! Every command over TCP and over the Unix socket, pipelining, and frames
//! split at every byte, against the real server binary.

mod common;

use std::io::Write;

use blink_store::protocol::{self, Request, Status};
use common::{Client, Server, stat};

const OK: u8 = Status::Ok as u8;
const NOT_FOUND: u8 = Status::NotFound as u8;

fn every_command(client: &mut Client) {
    assert_eq!(client.call(&Request::Ping), (OK, vec![]));
    let (status, hello) = client.call(&Request::Hello {
        version: protocol::PROTOCOL_VERSION,
    });
    assert_eq!(status, OK);
    assert_eq!(hello[0], protocol::PROTOCOL_VERSION);
    assert_eq!(hello[1], 0, "no auth required");
    assert_eq!(
        &hello[2..6],
        &protocol::Limits::DEFAULT.max_frame_bytes.to_be_bytes()
    );
    assert_eq!(client.call(&Request::Auth { token: b"anything" }).0, OK);

    assert_eq!(client.call(&Request::Get { key: b"k" }).0, NOT_FOUND);
    assert_eq!(client.set(b"k", b"v1"), OK);
    assert_eq!(
        client.call(&Request::Get { key: b"k" }),
        (OK, b"v1".to_vec())
    );
    assert_eq!(client.call(&Request::Ttl { key: b"k" }), (OK, vec![]));
    assert_eq!(
        client
            .call(&Request::Expire {
                key: b"k",
                ttl_ms: 60_000
            })
            .0,
        OK
    );
    let (status, ttl) = client.call(&Request::Ttl { key: b"k" });
    assert_eq!(status, OK);
    let remaining_ms = u64::from_be_bytes(ttl.try_into().unwrap());
    assert!((1..=60_000).contains(&remaining_ms), "{remaining_ms}");
    assert_eq!(
        client
            .call(&Request::Expire {
                key: b"k",
                ttl_ms: 0
            })
            .0,
        OK
    );
    assert_eq!(client.call(&Request::Ttl { key: b"k" }), (OK, vec![]));
    assert_eq!(client.call(&Request::Del { key: b"k" }).0, OK);
    assert_eq!(client.call(&Request::Del { key: b"k" }).0, NOT_FOUND);
    assert_eq!(client.call(&Request::Ttl { key: b"k" }).0, NOT_FOUND);
    assert_eq!(
        client
            .call(&Request::Expire {
                key: b"k",
                ttl_ms: 5
            })
            .0,
        NOT_FOUND
    );

    let binary_key = [0u8, 0xff, b'\n', 0];
    let binary_value: Vec<u8> = (0..=255).collect();
    assert_eq!(client.set(&binary_key, &binary_value), OK);
    assert_eq!(
        client.call(&Request::Get { key: &binary_key }),
        (OK, binary_value)
    );
    assert_eq!(client.set(b"", b"empty key"), OK);
    assert_eq!(
        client.call(&Request::Get { key: b"" }),
        (OK, b"empty key".to_vec())
    );

    let stats = client.stats();
    assert!(stat(&stats, "items") >= 2);
    assert!(stat(&stats, "cmd_get") >= 3);
    assert_eq!(stat(&stats, "connections_current"), 1);
}

#[test]
fn every_command_over_tcp() {
    let server = Server::start(&[]);
    every_command(&mut server.tcp());
}

#[test]
fn every_command_over_unix_socket() {
    let server = Server::start(&[]);
    every_command(&mut server.unix());
}

#[test]
fn tcp_and_unix_clients_share_one_store() {
    let server = Server::start(&[]);
    let mut tcp = server.tcp();
    let mut unix = server.unix();
    assert_eq!(tcp.set(b"shared", b"yes"), OK);
    assert_eq!(
        unix.call(&Request::Get { key: b"shared" }),
        (OK, b"yes".to_vec())
    );
}

#[test]
fn thousands_of_pipelined_frames_in_one_write_are_answered_in_order() {
    let server = Server::start(&[]);
    let mut client = server.tcp();
    const N: usize = 5_000;
    let mut burst = Vec::new();
    for i in 0..N {
        let key = format!("key-{i}");
        let value = format!("value-{i}");
        protocol::encode_request(
            &Request::Set {
                key: key.as_bytes(),
                value: value.as_bytes(),
                ttl_ms: 0,
            },
            &mut burst,
        );
        protocol::encode_request(
            &Request::Get {
                key: key.as_bytes(),
            },
            &mut burst,
        );
    }
    client.write_raw(&burst).unwrap();
    for i in 0..N {
        assert_eq!(client.reply().unwrap(), (OK, vec![]), "set {i}");
        assert_eq!(
            client.reply().unwrap(),
            (OK, format!("value-{i}").into_bytes()),
            "get {i}"
        );
    }
}

#[test]
fn a_request_budget_of_one_per_turn_still_answers_a_pipeline_in_order() {
    let server = Server::start(&["--requests-per-turn", "1"]);
    let mut client = server.unix();
    let mut burst = Vec::new();
    for i in 0..300 {
        let key = format!("k{i}");
        protocol::encode_request(
            &Request::Set {
                key: key.as_bytes(),
                value: key.as_bytes(),
                ttl_ms: 0,
            },
            &mut burst,
        );
        protocol::encode_request(
            &Request::Get {
                key: key.as_bytes(),
            },
            &mut burst,
        );
    }
    client.write_raw(&burst).unwrap();
    for i in 0..300 {
        assert_eq!(client.reply().unwrap(), (OK, vec![]));
        assert_eq!(client.reply().unwrap(), (OK, format!("k{i}").into_bytes()));
    }
}

#[test]
fn frames_fed_one_byte_at_a_time_decode_the_same() {
    let server = Server::start(&[]);
    let mut stream = server.raw_tcp();
    let mut bytes = Vec::new();
    protocol::encode_request(
        &Request::Set {
            key: b"slow",
            value: b"and steady",
            ttl_ms: 0,
        },
        &mut bytes,
    );
    protocol::encode_request(&Request::Get { key: b"slow" }, &mut bytes);
    for byte in &bytes {
        stream.write_all(std::slice::from_ref(byte)).unwrap();
        stream.flush().unwrap();
    }
    let mut client = Client::new(Box::new(stream));
    assert_eq!(client.reply().unwrap(), (OK, vec![]));
    assert_eq!(client.reply().unwrap(), (OK, b"and steady".to_vec()));
}

#[test]
fn a_value_at_the_default_limit_round_trips_byte_identical() {
    let server = Server::start(&[]);
    let mut client = server.unix();
    let value: Vec<u8> = (0..protocol::Limits::DEFAULT.max_value_bytes)
        .map(|i| (i % 251) as u8)
        .collect();
    assert_eq!(client.set(b"big", &value), OK);
    assert_eq!(client.call(&Request::Get { key: b"big" }), (OK, value));
}

#[test]
fn expired_keys_are_never_returned() {
    let server = Server::start(&[]);
    let mut client = server.tcp();
    assert_eq!(
        client
            .call(&Request::Set {
                key: b"brief",
                value: b"x",
                ttl_ms: 50
            })
            .0,
        OK
    );
    common::wait_until("the key expires", || {
        client.call(&Request::Get { key: b"brief" }).0 == NOT_FOUND
    });
    assert_eq!(client.call(&Request::Get { key: b"brief" }).0, NOT_FOUND);
    common::wait_until("active expiry reclaims it", || server.stat("items") == 0);
}

#[test]
fn the_memory_cap_holds_and_evicts_least_recently_used() {
    let server = Server::start(&[
        "--memory-limit",
        "2MiB",
        "--max-frame-bytes",
        "65536",
        "--max-output-bytes",
        "1MiB",
    ]);
    let mut client = server.tcp();
    let value = vec![7u8; 10_000];
    for i in 0..1_000 {
        let key = format!("k{i}");
        assert_eq!(client.set(key.as_bytes(), &value), OK);
        if i % 100 == 0 {
            // Touch the first key so it is always recently used.
            assert_eq!(client.call(&Request::Get { key: b"k0" }).0, OK);
        }
    }
    let stats = client.stats();
    assert!(stat(&stats, "used_bytes") <= 2 << 20);
    assert!(stat(&stats, "evictions") > 0);
    assert_eq!(
        client.call(&Request::Get { key: b"k1" }).0,
        NOT_FOUND,
        "cold key evicted"
    );
    assert_eq!(
        client.call(&Request::Get { key: b"k0" }).0,
        OK,
        "hot key survives"
    );
    assert_eq!(
        client.call(&Request::Get { key: b"k999" }).0,
        OK,
        "newest key survives"
    );
}
