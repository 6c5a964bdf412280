//! `blink-store ping`, the health probe, against the real server binary:
//! healthy over TCP, over the Unix socket, from the environment alone and
//! when the server wants a token (PING needs none); unhealthy, with a
//! reason, when nothing answers.

mod common;

use std::net::TcpListener;
use std::process::{Command, Output, Stdio};

use common::Server;

fn ping(flags: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_blink-store"));
    command.arg("ping").args(flags).stdin(Stdio::null());
    command
        .env_remove("BLINK_TCP")
        .env_remove("BLINK_UNIX_SOCKET");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run blink-store ping")
}

#[test]
fn a_running_server_is_healthy_over_tcp_and_unix() {
    let server = Server::start(&[]);
    let tcp = server.tcp.unwrap().to_string();
    let unix = server.unix.as_ref().unwrap().to_str().unwrap().to_owned();
    let over_tcp = ping(&["--tcp", &tcp], &[]);
    assert_eq!(over_tcp.status.code(), Some(0), "{over_tcp:?}");
    let over_unix = ping(&["--unix-socket", &unix], &[]);
    assert_eq!(over_unix.status.code(), Some(0), "{over_unix:?}");
    // The probe answered PINGs; the server counted them as requests.
    assert!(server.stat("connections_total") >= 2);
}

#[test]
fn the_probe_reads_the_servers_environment() {
    let server = Server::start(&[]);
    let tcp = server.tcp.unwrap().to_string();
    let from_env = ping(&[], &[("BLINK_TCP", &tcp)]);
    assert_eq!(from_env.status.code(), Some(0), "{from_env:?}");
}

#[test]
fn ping_is_answered_before_auth() {
    let server = Server::start_with(common::Options {
        env: vec![("BLINK_AUTH_TOKEN".into(), "probe-secret".into())],
        ..common::Options::default()
    });
    let tcp = server.tcp.unwrap().to_string();
    let probed = ping(&["--tcp", &tcp], &[]);
    assert_eq!(probed.status.code(), Some(0), "{probed:?}");
}

#[test]
fn nothing_listening_is_unhealthy_with_a_reason() {
    let free = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let probed = ping(&["--tcp", &free, "--timeout-ms", "500"], &[]);
    assert_eq!(probed.status.code(), Some(1), "{probed:?}");
    let stderr = String::from_utf8_lossy(&probed.stderr);
    assert!(stderr.contains("cannot connect"), "{stderr}");
}

#[test]
fn a_bad_flag_is_a_usage_error() {
    let probed = ping(&["--timeout-ms", "0"], &[]);
    assert_eq!(probed.status.code(), Some(2), "{probed:?}");
    let help = ping(&["--help"], &[]);
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("--unix-socket"));
}
