//! Command-line and environment configuration, validated into a [`Config`].
//!
//! Every flag has an environment variable (`BLINK_*`, plus `RETENTION_MINUTES`
//! for log retention). Every limit has a default and a safe ceiling enforced
//! here, at startup, so no later code has to wonder whether a configured size
//! can overflow arithmetic or exhaust memory (Redis CVE-2021-41099 came from a
//! huge configured limit). An invalid value is reported in one line naming the
//! flag and the allowed range, and the process exits with code 2 (clap's
//! convention for usage errors).

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, ValueEnum};

use crate::protocol::{Limits, PRE_AUTH_MAX_FRAME_BYTES};

/// The default TCP port: 25465 spells BLINK on a phone keypad and is not
/// assigned to any well-known service.
pub const DEFAULT_PORT: u16 = 25465;

/// Smallest accepted memory limit: below this the per-entry overhead dominates.
pub const MEMORY_LIMIT_MIN_BYTES: u64 = 1 << 20;
/// Largest accepted memory limit (1 TiB): far above any machine this targets,
/// low enough that byte arithmetic on it can never overflow a u64.
pub const MEMORY_LIMIT_MAX_BYTES: u64 = 1 << 40;
/// Ceiling on simultaneous client connections; each costs a file descriptor.
pub const MAX_CONNECTIONS_CEILING: u32 = 1_000_000;
/// Ceiling on one connection's pending output (1 GiB).
pub const MAX_OUTPUT_CEILING_BYTES: u64 = 1 << 30;
/// Ceiling on the total connection buffer budget (64 GiB).
pub const BUFFER_BUDGET_CEILING_BYTES: u64 = 64 << 30;
/// Longest Unix socket path: `sun_path` holds 108 bytes on Linux including
/// the terminating NUL.
pub const UNIX_PATH_MAX_BYTES: usize = 107;
/// Ceiling on every timeout (one day), so `now + timeout` cannot overflow.
pub const TIMEOUT_CEILING_MS: u64 = 86_400_000;

/// How the log file rotates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogRotation {
    /// A new file every minute.
    Minutely,
    /// A new file every hour.
    Hourly,
    /// A new file every day.
    Daily,
}

/// Raw command-line flags, each with an environment-variable fallback.
#[derive(Parser, Debug)]
#[command(name = "blink-store", version, about, long_about = None,
          after_help = "Health probe: blink-store ping [--tcp HOST:PORT | --unix-socket PATH] [--timeout-ms MS]\n(exit 0 when the server answers PING; see blink-store ping --help)")]
pub struct Cli {
    /// TCP address to listen on (host:port). Loopback unless --allow-non-loopback.
    #[arg(long, env = "BLINK_TCP", default_value_t = SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)))]
    pub tcp: SocketAddr,
    /// Do not listen on TCP at all (serve the Unix socket only).
    #[arg(long, env = "BLINK_NO_TCP")]
    pub no_tcp: bool,
    /// Permit binding a TCP address that is not loopback.
    #[arg(long, env = "BLINK_ALLOW_NON_LOOPBACK")]
    pub allow_non_loopback: bool,
    /// Unix-domain socket path to listen on (off unless set; Unix systems only).
    #[arg(long, env = "BLINK_UNIX_SOCKET")]
    pub unix_socket: Option<PathBuf>,
    /// Permission bits of the Unix socket, in octal (in place before it accepts).
    #[arg(long, env = "BLINK_UNIX_SOCKET_MODE", default_value = "600", value_parser = parse_mode)]
    pub unix_socket_mode: u32,
    /// Memory cap for stored items: key + value + per-entry overhead (e.g. 64MiB, 2GB).
    #[arg(long, env = "BLINK_MEMORY_LIMIT", default_value = "256MiB", value_parser = parse_memory_limit)]
    pub memory_limit: u64,
    /// Largest request payload in bytes (the 4-byte length header excluded), e.g. 1MiB.
    #[arg(long, env = "BLINK_MAX_FRAME_BYTES", default_value_t = Limits::DEFAULT.max_frame_bytes,
          value_parser = parse_frame_limit)]
    pub max_frame_bytes: u32,
    /// Largest key in bytes.
    #[arg(long, env = "BLINK_MAX_KEY_BYTES", default_value_t = Limits::DEFAULT.max_key_bytes,
          value_parser = parse_key_limit)]
    pub max_key_bytes: u32,
    /// Largest value in bytes, e.g. 1MiB.
    #[arg(long, env = "BLINK_MAX_VALUE_BYTES", default_value_t = Limits::DEFAULT.max_value_bytes,
          value_parser = parse_value_limit)]
    pub max_value_bytes: u32,
    /// Most simultaneous client connections; one more gets ERR_TOO_MANY_CONNECTIONS.
    #[arg(long, env = "BLINK_MAX_CONNECTIONS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_CONNECTIONS_CEILING)))]
    pub max_connections: u32,
    /// Pending reply bytes per connection above which its requests wait for it to read.
    #[arg(long, env = "BLINK_MAX_OUTPUT_BYTES", default_value = "4MiB", value_parser = parse_output_cap)]
    pub max_output_bytes: u64,
    /// Total memory for all connections' input and output buffers.
    #[arg(long, env = "BLINK_BUFFER_BUDGET", default_value = "1GiB", value_parser = parse_buffer_budget)]
    pub buffer_budget: u64,
    /// A frame must be complete this long after its first byte arrived, or the connection closes.
    #[arg(long, env = "BLINK_FRAME_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=TIMEOUT_CEILING_MS))]
    pub frame_timeout_ms: u64,
    /// A connection whose pending output makes no progress for this long is closed.
    #[arg(long, env = "BLINK_OUTPUT_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=TIMEOUT_CEILING_MS))]
    pub output_timeout_ms: u64,
    /// Close connections idle this long (0 = never).
    #[arg(long, env = "BLINK_IDLE_TIMEOUT_MS", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=TIMEOUT_CEILING_MS))]
    pub idle_timeout_ms: u64,
    /// How long a graceful shutdown may spend answering requests already received.
    #[arg(long, env = "BLINK_DRAIN_TIMEOUT_MS", default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(0..=TIMEOUT_CEILING_MS))]
    pub drain_timeout_ms: u64,
    /// Requests served per connection per event-loop turn before others get a turn.
    #[arg(long, env = "BLINK_REQUESTS_PER_TURN", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub requests_per_turn: u32,
    /// Directory for rotating log files (stderr only when unset).
    #[arg(long, env = "BLINK_LOG_DIR")]
    pub log_dir: Option<PathBuf>,
    /// Log level: error, warn, info, debug or trace.
    #[arg(long, env = "BLINK_LOG_LEVEL", default_value = "info")]
    pub log_level: tracing::Level,
    /// How often the log file rotates.
    #[arg(long, env = "BLINK_LOG_ROTATION", value_enum, default_value_t = LogRotation::Hourly)]
    pub log_rotation: LogRotation,
    /// Log files older than this many minutes are deleted (checked every few seconds).
    #[arg(long, env = "RETENTION_MINUTES", default_value_t = 7 * 24 * 60, value_parser = clap::value_parser!(u64).range(1..=(366 * 24 * 60)))]
    pub retention_minutes: u64,
    /// File holding the shared-secret token clients must AUTH with (or set BLINK_AUTH_TOKEN).
    #[arg(long, env = "BLINK_AUTH_TOKEN_FILE")]
    pub auth_token_file: Option<PathBuf>,
}

/// A shared secret that is never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps a token as is; [`Config`] checks configured tokens' lengths.
    pub fn new(token: Vec<u8>) -> Secret {
        Secret(token)
    }

    /// Compares in time independent of where the first difference is.
    pub fn matches(&self, candidate: &[u8]) -> bool {
        let lengths_differ = self.0.len() != candidate.len();
        let bytes_differ = self
            .0
            .iter()
            .zip(candidate.iter().cycle())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        !lengths_differ && bytes_differ == 0 && !candidate.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Validated configuration: every size within its ceiling, every relation checked.
#[derive(Clone, Debug)]
pub struct Config {
    /// TCP listen address, if TCP is enabled.
    pub tcp_addr: Option<SocketAddr>,
    /// Unix socket path, if enabled.
    pub unix_socket: Option<PathBuf>,
    /// Unix socket permission bits.
    pub unix_socket_mode: u32,
    /// Store memory cap.
    pub memory_limit_bytes: u64,
    /// Protocol limits for authenticated (or token-less) connections.
    pub limits: Limits,
    /// Connection cap.
    pub max_connections: usize,
    /// Pending output per connection before its requests wait.
    pub max_output_bytes: usize,
    /// Total connection buffer budget.
    pub buffer_budget_bytes: usize,
    /// Frame-completion deadline.
    pub frame_timeout_ms: u64,
    /// Output-progress deadline.
    pub output_timeout_ms: u64,
    /// Idle timeout; `None` = never.
    pub idle_timeout_ms: Option<u64>,
    /// Graceful shutdown drain deadline.
    pub drain_timeout_ms: u64,
    /// Requests per connection per loop turn.
    pub requests_per_turn: usize,
    /// Log directory, if file logging is on.
    pub log_dir: Option<PathBuf>,
    /// Log level.
    pub log_level: tracing::Level,
    /// Log rotation period.
    pub log_rotation: LogRotation,
    /// Log retention.
    pub retention_minutes: u64,
    /// Shared secret, if clients must authenticate.
    pub auth_token: Option<Secret>,
}

impl Config {
    /// Parses the process arguments and environment; on error prints one line and exits 2.
    pub fn from_env_and_args() -> Config {
        let cli = Cli::parse();
        let env_token = std::env::var_os("BLINK_AUTH_TOKEN");
        match Config::validate(cli, env_token.map(|t| t.into_encoded_bytes())) {
            Ok(config) => config,
            Err(message) => Cli::command()
                .error(ErrorKind::ValueValidation, message)
                .exit(),
        }
    }

    /// Checks the relations between flags that clap cannot check one at a time.
    pub fn validate(cli: Cli, env_token: Option<Vec<u8>>) -> Result<Config, String> {
        let tcp_addr = (!cli.no_tcp).then_some(cli.tcp);
        if tcp_addr.is_none() && cli.unix_socket.is_none() {
            return Err("--no-tcp needs --unix-socket: nothing to listen on".into());
        }
        if let Some(addr) = tcp_addr {
            if !addr.ip().is_loopback() && !cli.allow_non_loopback {
                return Err(format!(
                    "--tcp {addr} is not a loopback address; pass --allow-non-loopback to expose the cache"
                ));
            }
        }
        #[cfg(not(unix))]
        if let Some(path) = &cli.unix_socket {
            return Err(format!(
                "--unix-socket {} is not available on this system (no Unix-domain sockets); serve --tcp instead",
                path.display()
            ));
        }
        if let Some(path) = &cli.unix_socket {
            let path_bytes = path.as_os_str().len();
            if path_bytes > UNIX_PATH_MAX_BYTES {
                return Err(format!(
                    "--unix-socket {} is {path_bytes} bytes; the limit is {UNIX_PATH_MAX_BYTES}",
                    path.display()
                ));
            }
        }
        let frame_cap_bytes = cli.memory_limit / 2;
        if u64::from(cli.max_frame_bytes) > frame_cap_bytes {
            return Err(format!(
                "--max-frame-bytes {} exceeds half of --memory-limit ({frame_cap_bytes})",
                cli.max_frame_bytes
            ));
        }
        if u64::from(cli.max_frame_bytes) > cli.max_output_bytes {
            return Err(format!(
                "--max-output-bytes {} must hold one reply of --max-frame-bytes {}",
                cli.max_output_bytes, cli.max_frame_bytes
            ));
        }
        if u64::from(cli.max_frame_bytes) > cli.buffer_budget {
            // Otherwise a lone client could never send, or be sent, one full frame.
            return Err(format!(
                "--buffer-budget {} must hold one frame of --max-frame-bytes {}",
                cli.buffer_budget, cli.max_frame_bytes
            ));
        }
        let auth_token = read_token(cli.auth_token_file.as_deref(), env_token)?;
        Ok(Config {
            tcp_addr,
            unix_socket: cli.unix_socket,
            unix_socket_mode: cli.unix_socket_mode,
            memory_limit_bytes: cli.memory_limit,
            limits: Limits {
                max_frame_bytes: cli.max_frame_bytes,
                max_key_bytes: cli.max_key_bytes,
                max_value_bytes: cli.max_value_bytes,
            },
            max_connections: cli.max_connections as usize,
            max_output_bytes: cli.max_output_bytes as usize,
            buffer_budget_bytes: cli.buffer_budget as usize,
            frame_timeout_ms: cli.frame_timeout_ms,
            output_timeout_ms: cli.output_timeout_ms,
            idle_timeout_ms: (cli.idle_timeout_ms > 0).then_some(cli.idle_timeout_ms),
            drain_timeout_ms: cli.drain_timeout_ms,
            requests_per_turn: cli.requests_per_turn as usize,
            log_dir: cli.log_dir,
            log_level: cli.log_level,
            log_rotation: cli.log_rotation,
            retention_minutes: cli.retention_minutes,
            auth_token,
        })
    }
}

fn read_token(
    file: Option<&std::path::Path>,
    env_token: Option<Vec<u8>>,
) -> Result<Option<Secret>, String> {
    let token = match (file, env_token) {
        (Some(_), Some(_)) => {
            return Err("set either --auth-token-file or BLINK_AUTH_TOKEN, not both".into());
        }
        (Some(path), None) => {
            let mut bytes = std::fs::read(path)
                .map_err(|e| format!("--auth-token-file {}: {e}", path.display()))?;
            while bytes.last().is_some_and(|b| b.is_ascii_whitespace()) {
                bytes.pop();
            }
            bytes
        }
        (None, Some(bytes)) => bytes,
        (None, None) => return Ok(None),
    };
    let max_token_bytes = PRE_AUTH_MAX_FRAME_BYTES as usize - 1;
    if token.is_empty() || token.len() > max_token_bytes {
        return Err(format!(
            "the auth token must be 1..={max_token_bytes} bytes"
        ));
    }
    Ok(Some(Secret(token)))
}

/// Parses a byte size: a number with an optional unit. Binary units
/// (`KiB`, `MiB`, `GiB`, `TiB`, or just `K`, `M`, `G`, `T`) count 1024s;
/// decimal units (`KB`, `MB`, `GB`, `TB`) count 1000s; no unit means bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("'{text}' is not a size like 64MiB or 2GB"))?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        other => {
            return Err(format!(
                "unknown size unit '{other}' (use KiB, MiB, GiB, KB, MB, GB)"
            ));
        }
    };
    number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("'{text}' is too large"))
}

fn parse_size_in(text: &str, min_bytes: u64, max_bytes: u64) -> Result<u64, String> {
    let bytes = parse_size(text)?;
    if (min_bytes..=max_bytes).contains(&bytes) {
        Ok(bytes)
    } else {
        Err(format!("{bytes} bytes is not in {min_bytes}..={max_bytes}"))
    }
}

/// A size within a protocol limit's range, as the `u32` the protocol carries.
fn parse_limit(text: &str, min_bytes: u32, max_bytes: u32) -> Result<u32, String> {
    let bytes = parse_size_in(text, u64::from(min_bytes), u64::from(max_bytes))?;
    // In range, so within u32.
    Ok(bytes as u32)
}

fn parse_frame_limit(text: &str) -> Result<u32, String> {
    parse_limit(
        text,
        Limits::MAX_FRAME_BYTES_MIN,
        Limits::MAX_FRAME_BYTES_CEILING,
    )
}

fn parse_key_limit(text: &str) -> Result<u32, String> {
    parse_limit(
        text,
        Limits::MAX_KEY_BYTES_MIN,
        Limits::MAX_KEY_BYTES_CEILING,
    )
}

fn parse_value_limit(text: &str) -> Result<u32, String> {
    parse_limit(
        text,
        Limits::MAX_VALUE_BYTES_MIN,
        Limits::MAX_VALUE_BYTES_CEILING,
    )
}

fn parse_memory_limit(text: &str) -> Result<u64, String> {
    parse_size_in(text, MEMORY_LIMIT_MIN_BYTES, MEMORY_LIMIT_MAX_BYTES)
}

fn parse_output_cap(text: &str) -> Result<u64, String> {
    parse_size_in(
        text,
        u64::from(Limits::MAX_FRAME_BYTES_MIN),
        MAX_OUTPUT_CEILING_BYTES,
    )
}

fn parse_buffer_budget(text: &str) -> Result<u64, String> {
    parse_size_in(text, 1 << 20, BUFFER_BUDGET_CEILING_BYTES)
}

fn parse_mode(text: &str) -> Result<u32, String> {
    let mode =
        u32::from_str_radix(text, 8).map_err(|_| format!("'{text}' is not an octal mode"))?;
    if mode > 0o777 {
        return Err(format!("mode {text} is not in 000..=777"));
    }
    if mode & 0o200 == 0 {
        return Err(format!(
            "mode {text} lacks owner write: nobody could connect to the socket"
        ));
    }
    Ok(mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, String> {
        let cli = Cli::try_parse_from(std::iter::once("blink-store").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        Config::validate(cli, None)
    }

    #[test]
    fn sizes_parse_with_binary_and_decimal_units() {
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("64m"), Ok(64 << 20));
        assert_eq!(parse_size("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("12XB").is_err());
        assert!(parse_size("MiB").is_err());
        assert!(parse_size("99999999999999999999").is_err());
        assert!(parse_size("20000000TiB").is_err());
    }

    #[test]
    fn defaults_are_loopback_and_valid() {
        let config = parse(&[]).unwrap();
        assert_eq!(
            config.tcp_addr,
            Some(SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)))
        );
        assert_eq!(config.memory_limit_bytes, 256 << 20);
        assert_eq!(config.limits, Limits::DEFAULT);
        assert!(config.auth_token.is_none());
    }

    #[test]
    fn memory_limit_is_checked_at_both_ends() {
        assert!(parse(&["--memory-limit", "1MiB", "--max-frame-bytes", "65536"]).is_ok());
        assert!(parse(&["--memory-limit", "1048575", "--max-frame-bytes", "65536"]).is_err());
        assert!(parse(&["--memory-limit", "1TiB"]).is_ok());
        assert!(parse(&["--memory-limit", "1099511627777"]).is_err());
    }

    #[test]
    fn frame_limit_is_checked_at_its_ceiling_and_against_memory() {
        let ceiling = Limits::MAX_FRAME_BYTES_CEILING.to_string();
        let above = (Limits::MAX_FRAME_BYTES_CEILING + 1).to_string();
        assert!(
            parse(&[
                "--memory-limit",
                "1GiB",
                "--max-output-bytes",
                "1GiB",
                "--max-frame-bytes",
                &ceiling
            ])
            .is_ok()
        );
        assert!(parse(&["--memory-limit", "1GiB", "--max-frame-bytes", &above]).is_err());
        let err = parse(&["--memory-limit", "1MiB"]).unwrap_err();
        assert!(err.contains("half of --memory-limit"), "{err}");
    }

    #[test]
    fn non_loopback_needs_explicit_permission() {
        assert!(parse(&["--tcp", "0.0.0.0:1"]).is_err());
        assert!(parse(&["--tcp", "0.0.0.0:1", "--allow-non-loopback"]).is_ok());
        assert!(parse(&["--tcp", "[::1]:1"]).is_ok());
    }

    #[test]
    fn something_must_listen() {
        assert!(parse(&["--no-tcp"]).is_err());
        assert!(parse(&["--no-tcp", "--unix-socket", "/tmp/x.sock"]).is_ok());
    }

    #[test]
    fn a_unix_socket_path_is_checked_with_the_other_flags() {
        let longest = format!("/tmp/{}", "x".repeat(UNIX_PATH_MAX_BYTES - 5));
        assert!(parse(&["--unix-socket", &longest]).is_ok());
        let err = parse(&["--unix-socket", &format!("{longest}x")]).unwrap_err();
        assert!(err.contains("--unix-socket"), "{err}");
    }

    #[test]
    fn every_byte_sized_flag_reads_sizes_the_same_way() {
        let config = parse(&[
            "--max-frame-bytes",
            "8KiB",
            "--max-key-bytes",
            "1K",
            "--max-value-bytes",
            "4KiB",
            "--max-output-bytes",
            "64KiB",
            "--buffer-budget",
            "2MiB",
        ])
        .unwrap();
        assert_eq!(config.limits.max_frame_bytes, 8 << 10);
        assert_eq!(config.limits.max_key_bytes, 1 << 10);
        assert_eq!(config.limits.max_value_bytes, 4 << 10);
        assert_eq!(config.max_output_bytes, 64 << 10);
        assert_eq!(config.buffer_budget_bytes, 2 << 20);
        assert!(parse(&["--max-key-bytes", "64KiB"]).is_err(), "over u16");
        assert!(parse(&["--max-frame-bytes", "4095"]).is_err());
        let err = parse(&["--max-frame-bytes", "2MiB", "--buffer-budget", "1MiB"]).unwrap_err();
        assert!(err.contains("--buffer-budget"), "{err}");
        assert!(parse(&["--max-frame-bytes", "257MiB"]).is_err());
    }

    #[test]
    fn socket_mode_is_octal_and_usable() {
        assert_eq!(parse_mode("600"), Ok(0o600));
        assert_eq!(parse_mode("0770"), Ok(0o770));
        assert!(parse_mode("800").is_err());
        assert!(parse_mode("1777").is_err());
        assert!(parse_mode("400").is_err());
    }

    #[test]
    fn secret_matches_only_itself_and_never_prints() {
        let secret = Secret(b"hunter2".to_vec());
        assert!(secret.matches(b"hunter2"));
        assert!(!secret.matches(b"hunter"));
        assert!(!secret.matches(b"hunter22"));
        assert!(!secret.matches(b""));
        assert!(!format!("{secret:?}").contains("hunter"));
    }

    #[test]
    fn token_sources_are_exclusive_and_bounded() {
        assert!(read_token(None, Some(Vec::new())).is_err());
        assert!(read_token(None, Some(vec![b'x'; 5000])).is_err());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret\n").unwrap();
        let token = read_token(Some(&path), None).unwrap().unwrap();
        assert!(token.matches(b"s3cret"));
        assert!(read_token(Some(&path), Some(b"x".to_vec())).is_err());
    }
}
