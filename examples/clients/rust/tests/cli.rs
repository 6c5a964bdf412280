//! `blink-cli` against a real server: exit codes per error class, exact
//! bytes in and out of `get`/`set`, the version-2 commands (`add`,
//! `replace`, `incr`, `append`, `flush`, `scan`), the environment and file
//! token, the Unix socket, and the REPL's quoting.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use common::Server;

fn cli(server: &Server, args: &[&str], stdin: &[u8]) -> Output {
    cli_with(server, args, stdin, &[])
}

fn cli_with(server: &Server, args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_blink-cli"))
        .arg("--tcp")
        .arg(server.tcp.to_string())
        .args(args)
        .env_remove("BLINK_AUTH_TOKEN")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("blink-cli runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    child.wait_with_output().expect("blink-cli exits")
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exit code")
}

#[test]
fn set_then_get_round_trips_exact_bytes_through_stdin_and_stdout() {
    let server = Server::start(&[]);
    let value: Vec<u8> = (0..=255u8).chain(b"\n\n\0tail".iter().copied()).collect();
    assert_eq!(code(&cli(&server, &["set", "bin"], &value)), 0);
    let got = cli(&server, &["get", "bin"], b"");
    assert_eq!(code(&got), 0);
    assert_eq!(got.stdout, value, "get writes the exact bytes");

    assert_eq!(code(&cli(&server, &["set", "k", "from-arg"], b"")), 0);
    assert_eq!(cli(&server, &["get", "k"], b"").stdout, b"from-arg");
}

#[test]
fn missing_keys_exit_1() {
    let server = Server::start(&[]);
    for args in [
        &["get", "nope"][..],
        &["del", "nope"],
        &["ttl", "nope"],
        &["expire", "nope", "5s"],
    ] {
        let output = cli(&server, args, b"");
        assert_eq!(code(&output), 1, "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?} prints nothing");
    }
    assert_eq!(code(&cli(&server, &["set", "k", "v"], b"")), 0);
    assert_eq!(code(&cli(&server, &["del", "k"], b"")), 0);
}

#[test]
fn ttl_expire_stats_and_ping_print_what_scripts_read() {
    let server = Server::start(&[]);
    assert_eq!(
        code(&cli(&server, &["set", "k", "v", "--ttl", "5s"], b"")),
        0
    );
    let ttl = cli(&server, &["ttl", "k"], b"");
    let left_ms: u64 = String::from_utf8_lossy(&ttl.stdout)
        .trim()
        .parse()
        .expect("milliseconds");
    assert!(left_ms > 0 && left_ms <= 5000, "{left_ms}");
    assert_eq!(code(&cli(&server, &["expire", "k", "none"], b"")), 0);
    assert_eq!(cli(&server, &["ttl", "k"], b"").stdout, b"none\n");

    let stats = String::from_utf8(cli(&server, &["stats"], b"").stdout).expect("text");
    assert!(stats.lines().any(|line| line == "items 1"), "{stats}");
    assert_eq!(cli(&server, &["ping"], b"").stdout, b"PONG\n");
}

#[test]
fn the_unix_socket_and_the_token_sources_work() {
    let server = Server::start_with_token(&[], Some(b"s3cret"));
    let unix = server.unix.to_str().expect("utf-8 path");
    let output = cli_with(
        &server,
        &["--unix-socket", unix, "ping"],
        b"",
        &[("BLINK_AUTH_TOKEN", "s3cret")],
    );
    assert_eq!(
        code(&output),
        0,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "s3cret\n").expect("token file");
    let file = token_file.to_str().expect("utf-8 path");
    assert_eq!(
        code(&cli(
            &server,
            &["--auth-token-file", file, "set", "k", "v"],
            b""
        )),
        0
    );

    let wrong = cli_with(
        &server,
        &["get", "k"],
        b"",
        &[("BLINK_AUTH_TOKEN", "wrong")],
    );
    assert_eq!(code(&wrong), 4, "auth failed");
    assert_eq!(code(&cli(&server, &["get", "k"], b"")), 4, "auth required");
}

#[test]
fn error_classes_have_their_exit_codes() {
    let server = Server::start(&["--max-key-bytes", "4"]);
    assert_eq!(
        code(&cli(&server, &["get", "kkkkk"], b"")),
        5,
        "key too large"
    );
    assert_eq!(
        code(&cli(&server, &["set", "k", "v", "--ttl", "5"], b"")),
        2,
        "usage: no unit"
    );
    let refused = Command::new(env!("CARGO_BIN_EXE_blink-cli"))
        .args(["--unix-socket", "/nonexistent/blink.sock", "ping"])
        .output()
        .expect("runs");
    assert_eq!(code(&refused), 3, "cannot connect");
    let help = Command::new(env!("CARGO_BIN_EXE_blink-cli"))
        .arg("--help")
        .output()
        .expect("runs");
    assert!(String::from_utf8_lossy(&help.stdout).contains("Exit codes:"));
}

#[test]
fn the_repl_reads_quoted_lines() {
    let server = Server::start(&[]);
    let script =
        b"set 'a key' \"two\\nlines\\x00\"\nget 'a key'\nget missing\nbogus\nping\nquit\nping\n";
    let output = cli(&server, &[], script);
    assert_eq!(code(&output), 0);
    let stdout = String::from_utf8(output.stdout).expect("text");
    assert_eq!(stdout, "\"two\\nlines\\x00\"\n(not found)\nPONG\n");
    assert!(!output.stderr.is_empty(), "the bogus command was reported");
    assert_eq!(cli(&server, &["get", "a key"], b"").stdout, b"two\nlines\0");
}

fn stdout_text(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("text")
}

#[test]
fn add_replace_incr_and_append_print_what_scripts_read() {
    let server = Server::start(&[]);
    assert_eq!(
        code(&cli(&server, &["replace", "k", "v0"], b"")),
        1,
        "missing"
    );
    assert_eq!(
        code(&cli(&server, &["add", "k", "v1", "--ttl", "5s"], b"")),
        0
    );
    let exists = cli(&server, &["add", "k", "v2"], b"");
    assert_eq!(code(&exists), 1, "exists");
    assert!(exists.stdout.is_empty() && exists.stderr.is_empty());
    assert_eq!(cli(&server, &["get", "k"], b"").stdout, b"v1");
    let value: Vec<u8> = vec![0, b'\n', 0xff];
    assert_eq!(
        code(&cli(&server, &["replace", "k"], &value)),
        0,
        "from stdin"
    );
    assert_eq!(cli(&server, &["get", "k"], b"").stdout, value);
    assert_eq!(
        cli(&server, &["ttl", "k"], b"").stdout,
        b"none\n",
        "REPLACE sets the TTL"
    );

    assert_eq!(stdout_text(&cli(&server, &["incr", "n"], b"")), "1\n");
    assert_eq!(
        stdout_text(&cli(&server, &["incr", "n", "41"], b"")),
        "42\n"
    );
    assert_eq!(
        stdout_text(&cli(&server, &["incr", "n", "-50"], b"")),
        "-8\n"
    );
    let not_integer = cli(&server, &["incr", "k"], b"");
    assert_eq!(code(&not_integer), 5, "not an integer");
    assert!(String::from_utf8_lossy(&not_integer.stderr).contains("not an integer"));
    assert_eq!(code(&cli(&server, &["incr", "n", "1.5"], b"")), 2, "usage");

    assert_eq!(
        stdout_text(&cli(&server, &["append", "log", "ab"], b"")),
        "2\n"
    );
    assert_eq!(
        stdout_text(&cli(&server, &["append", "log"], b"\x00cd")),
        "5\n"
    );
    assert_eq!(cli(&server, &["get", "log"], b"").stdout, b"ab\x00cd");
}

#[test]
fn scan_prints_every_key_under_the_prefix_once_and_flush_empties() {
    let server = Server::start(&[]);
    let mut conn = blink_client::Connection::connect(&server.tcp_config()).expect("connect");
    let mut pipeline = blink_client::Pipeline::new();
    let mut users: Vec<String> = (0..1500).map(|i| format!("user:{i}")).collect();
    for key in users
        .iter()
        .chain(&["item:1".to_owned(), "user".to_owned()])
    {
        pipeline.set(key, "v", None);
    }
    assert!(conn.execute(&pipeline).iter().all(Result::is_ok));

    let output = cli(&server, &["scan", "--prefix", "user:", "--count", "7"], b"");
    assert_eq!(code(&output), 0);
    let mut printed: Vec<String> = stdout_text(&output).lines().map(str::to_owned).collect();
    printed.sort();
    users.sort();
    assert_eq!(printed, users, "each key under the prefix, once");
    let all = stdout_text(&cli(&server, &["scan"], b""));
    assert_eq!(all.lines().count(), 1502);

    assert_eq!(code(&cli(&server, &["flush"], b"")), 0);
    let empty = cli(&server, &["scan"], b"");
    assert_eq!((code(&empty), empty.stdout), (0, Vec::new()));
    assert_eq!(code(&cli(&server, &["get", "item:1"], b"")), 1);
}

#[test]
fn the_repl_runs_the_v2_commands() {
    let server = Server::start(&[]);
    let script = b"add 'a key' \"x\\ny\"\nadd 'a key' z\nincr n -3\nappend 'a key' !\nscan --prefix 'a '\nreplace nope v\nflush\nscan\n";
    let output = cli(&server, &[], script);
    assert_eq!(
        code(&output),
        0,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout_text(&output),
        "(exists)\n-3\n4\n\"a key\"\n(not found)\n"
    );
}
