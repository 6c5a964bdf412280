//! `blink-cli`: one-shot Blink-Store commands for scripts, and a line REPL
//! when no command is given. Binary-safe: `get` writes the value's exact
//! bytes to stdout, and `set`, `add`, `replace` and `append` read the value
//! from stdin when no argument gives it. `scan` walks every key under a
//! prefix and prints them one per line as it goes.
//!
//! Exit codes (also in `--help`): see [`EXIT_CODES`].

mod repl;

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use std::fmt::Display;

use blink_client::{Config, Connection, Error, Ttl};
use clap::{Args, Parser, Subcommand};

/// The exit-code table, shown by `--help` and matched by [`exit_code`].
const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  not found or not stored (get, del, expire, ttl, replace of a missing key; add of an existing one)
  2  usage error (bad arguments, unreadable token file)
  3  connection failed: cannot connect, timed out, or closed (outcome unknown)
  4  authentication: token missing or wrong
  5  request refused: key, value or item too large, not an integer, command or version unsupported
  6  server unavailable: too many connections, busy, shutting down; retry later
  7  protocol error: the server's reply was invalid";

/// Blink-Store command-line client.
#[derive(Debug, Parser)]
#[command(version, after_help = EXIT_CODES)]
struct Cli {
    #[command(flatten)]
    connect: ConnectArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Args)]
struct ConnectArgs {
    /// Server TCP address (host:port).
    #[arg(long, env = "BLINK_TCP", default_value = "127.0.0.1:25465")]
    tcp: String,
    /// Server Unix socket path (instead of TCP).
    #[arg(long, env = "BLINK_UNIX_SOCKET")]
    unix_socket: Option<PathBuf>,
    /// File holding the auth token (trailing whitespace ignored); or set BLINK_AUTH_TOKEN.
    #[arg(long, env = "BLINK_AUTH_TOKEN_FILE")]
    auth_token_file: Option<PathBuf>,
    /// Connect and reply timeout, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    timeout_ms: u64,
}

/// The commands, shared by the command line and the REPL.
#[derive(Debug, Subcommand)]
enum Command {
    /// Print the value's exact bytes.
    Get { key: OsString },
    /// Store a value (read from stdin when VALUE is absent).
    Set {
        key: OsString,
        value: Option<OsString>,
        /// Time to live, e.g. 500ms, 5s, 10m, 2h (default: none).
        #[arg(long, value_parser = parse_ttl)]
        ttl: Option<Duration>,
    },
    /// Remove a key.
    Del { key: OsString },
    /// Set a key's TTL (e.g. 5s), or clear it with `none`.
    Expire {
        key: OsString,
        #[arg(value_parser = parse_ttl_or_none)]
        ttl: TtlArg,
    },
    /// Print the time left in milliseconds, or `none` for a persistent key.
    Ttl { key: OsString },
    /// Print the server's counters, one `name value` per line.
    Stats,
    /// Check the server answers.
    Ping,
    /// Store a value only if the key does not exist (exit 1 if it does).
    Add {
        key: OsString,
        /// The value (read from stdin when absent).
        value: Option<OsString>,
        /// Time to live, e.g. 500ms, 5s, 10m, 2h (default: none).
        #[arg(long, value_parser = parse_ttl)]
        ttl: Option<Duration>,
    },
    /// Store a value only if the key exists (exit 1 if it does not).
    Replace {
        key: OsString,
        /// The value (read from stdin when absent).
        value: Option<OsString>,
        /// Time to live, e.g. 500ms, 5s, 10m, 2h (default: none).
        #[arg(long, value_parser = parse_ttl)]
        ttl: Option<Duration>,
    },
    /// Add DELTA to an integer value (a missing key counts as 0); print the result.
    Incr {
        key: OsString,
        /// The amount to add; negative to subtract.
        #[arg(default_value_t = 1, allow_negative_numbers = true)]
        delta: i64,
    },
    /// Append to a value (a missing key starts empty); print the new length.
    Append {
        key: OsString,
        /// The bytes to append (read from stdin when absent).
        suffix: Option<OsString>,
    },
    /// Remove every key.
    Flush,
    /// Print every key starting with the prefix, one per line.
    Scan {
        /// Only keys starting with these bytes (default: every key).
        #[arg(long)]
        prefix: Option<OsString>,
        /// Keys to ask for per SCAN request (a hint to the server).
        #[arg(long, default_value_t = 100)]
        count: u16,
    },
}

/// EXPIRE's argument: a TTL, or none (clear it).
#[derive(Debug, Clone, Copy)]
struct TtlArg(Option<Duration>);

/// What a command printed, for the exit code.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Done,
    NotFound,
    /// ADD found the key: nothing was stored.
    Exists,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match config(&cli.connect) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("blink-cli: {message}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Some(command) => one_shot(&config, command),
        None => repl::run_lines(&config),
    }
}

fn one_shot(config: &Config, command: Command) -> ExitCode {
    let result = Connection::connect(config).and_then(|mut conn| {
        let stdout = io::stdout();
        run(&mut conn, command, &mut stdout.lock(), Format::Raw)
    });
    match result {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::NotFound | Outcome::Exists) => ExitCode::from(1),
        Err(error) => {
            eprintln!("blink-cli: {error}");
            ExitCode::from(exit_code(&error))
        }
    }
}

/// How values are printed: raw bytes for scripts, quoted in the REPL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Raw,
    Quoted,
}

/// Runs one command, printing its result to `out`.
fn run(
    conn: &mut Connection,
    command: Command,
    out: &mut dyn Write,
    format: Format,
) -> Result<Outcome, Error> {
    let found = |existed: bool| {
        if existed {
            Outcome::Done
        } else {
            Outcome::NotFound
        }
    };
    let outcome = match command {
        Command::Get { key } => match conn.get(key.into_encoded_bytes())? {
            Some(value) if format == Format::Raw => {
                write_out(out, &value).map(|()| Outcome::Done)?
            }
            Some(value) => write_out(out, format!("{}\n", repl::quote(&value)).as_bytes())
                .map(|()| Outcome::Done)?,
            None => Outcome::NotFound,
        },
        Command::Set { key, value, ttl } => {
            conn.set(key.into_encoded_bytes(), or_stdin(value)?, ttl)?;
            Outcome::Done
        }
        Command::Del { key } => found(conn.del(key.into_encoded_bytes())?),
        Command::Expire { key, ttl } => found(conn.expire(key.into_encoded_bytes(), ttl.0)?),
        Command::Ttl { key } => match conn.ttl(key.into_encoded_bytes())? {
            None => Outcome::NotFound,
            Some(Ttl::Persistent) => write_out(out, b"none\n").map(|()| Outcome::Done)?,
            Some(Ttl::ExpiresIn(left)) => print_line(out, left.as_millis())?,
        },
        Command::Stats => {
            let text: String = conn
                .stats()?
                .iter()
                .map(|(name, value)| format!("{name} {value}\n"))
                .collect();
            write_out(out, text.as_bytes()).map(|()| Outcome::Done)?
        }
        Command::Ping => write_out(out, b"PONG\n").map(|()| Outcome::Done)?,
        Command::Add { key, value, ttl } => {
            match conn.add(key.into_encoded_bytes(), or_stdin(value)?, ttl)? {
                true => Outcome::Done,
                false => Outcome::Exists,
            }
        }
        Command::Replace { key, value, ttl } => {
            found(conn.replace(key.into_encoded_bytes(), or_stdin(value)?, ttl)?)
        }
        Command::Incr { key, delta } => {
            print_line(out, conn.incr(key.into_encoded_bytes(), delta)?)?
        }
        Command::Append { key, suffix } => {
            let length = conn.append(key.into_encoded_bytes(), or_stdin(suffix)?)?;
            print_line(out, length)?
        }
        Command::Flush => conn.flush().map(|()| Outcome::Done)?,
        Command::Scan { prefix, count } => {
            let prefix = prefix.map(OsString::into_encoded_bytes).unwrap_or_default();
            scan(conn, &prefix, count, out, format)?
        }
    };
    Ok(outcome)
}

/// Prints every key of a walk over `prefix`, one per line as the pages
/// arrive: raw bytes for scripts, quoted in the REPL.
fn scan(
    conn: &mut Connection,
    prefix: &[u8],
    count: u16,
    out: &mut dyn Write,
    format: Format,
) -> Result<Outcome, Error> {
    for key in conn.scan_keys(prefix, count) {
        let key = key?;
        match format {
            Format::Raw => write_out(out, &[&key[..], b"\n"].concat())?,
            Format::Quoted => write_out(out, format!("{}\n", repl::quote(&key)).as_bytes())?,
        }
    }
    Ok(Outcome::Done)
}

fn print_line(out: &mut dyn Write, value: impl Display) -> Result<Outcome, Error> {
    write_out(out, format!("{value}\n").as_bytes()).map(|()| Outcome::Done)
}

/// A value from the command line, or else all of stdin.
fn or_stdin(value: Option<OsString>) -> Result<Vec<u8>, Error> {
    match value {
        Some(value) => Ok(value.into_encoded_bytes()),
        None => read_stdin(),
    }
}

fn write_out(out: &mut dyn Write, bytes: &[u8]) -> Result<(), Error> {
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|e| Error::Config(format!("stdout: {e}")))
}

fn read_stdin() -> Result<Vec<u8>, Error> {
    let mut value = Vec::new();
    io::stdin()
        .read_to_end(&mut value)
        .map_err(|e| Error::Config(format!("stdin: {e}")))?;
    Ok(value)
}

/// The exit code of each error class (see [`EXIT_CODES`]).
fn exit_code(error: &Error) -> u8 {
    match error {
        Error::Config(_) => 2,
        Error::Connect(_)
        | Error::Io(_)
        | Error::ConnectionClosed
        | Error::Timeout(_)
        | Error::PoolTimeout { .. } => 3,
        Error::AuthFailed | Error::AuthRequired => 4,
        Error::KeyTooLarge { .. }
        | Error::ValueTooLarge { .. }
        | Error::FrameTooLarge { .. }
        | Error::ItemTooLarge
        | Error::NotInteger
        | Error::UnknownCommand
        | Error::UnsupportedVersion
        | Error::RequestRejected(_) => 5,
        Error::TooManyConnections | Error::Busy | Error::ShuttingDown | Error::ServerTimeout => 6,
        Error::Protocol(_) => 7,
        // Error is non_exhaustive: a class added later is still an error.
        _ => 3,
    }
}

/// The connection settings from the flags and environment.
fn config(args: &ConnectArgs) -> Result<Config, String> {
    let mut config = match &args.unix_socket {
        Some(path) => Config::unix(path),
        None => Config::tcp(&args.tcp),
    };
    let timeout = Duration::from_millis(args.timeout_ms);
    config = config
        .connect_timeout(timeout)
        .read_timeout(timeout)
        .write_timeout(timeout);
    let env_token = std::env::var_os("BLINK_AUTH_TOKEN").map(OsString::into_encoded_bytes);
    let token = match (&args.auth_token_file, env_token) {
        (Some(_), Some(_)) => {
            return Err("set either --auth-token-file or BLINK_AUTH_TOKEN, not both".into());
        }
        (Some(path), None) => {
            let mut token = std::fs::read(path)
                .map_err(|e| format!("--auth-token-file {}: {e}", path.display()))?;
            // As the server reads its token file: trailing whitespace is not part of it.
            while token.last().is_some_and(u8::is_ascii_whitespace) {
                token.pop();
            }
            Some(token)
        }
        (None, token) => token,
    };
    Ok(match token {
        Some(token) => config.auth_token(token),
        None => config,
    })
}

/// `500ms`, `5s`, `10m`, `2h`: a number and a unit.
fn parse_ttl(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?}: expected a number and a unit (ms, s, m, h)"))?;
    let unit_ms = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(format!("{text:?}: the unit must be ms, s, m or h")),
    };
    number
        .checked_mul(unit_ms)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("{text:?}: too long"))
}

fn parse_ttl_or_none(text: &str) -> Result<TtlArg, String> {
    if text == "none" {
        Ok(TtlArg(None))
    } else {
        parse_ttl(text).map(|ttl| TtlArg(Some(ttl)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_need_a_unit() {
        assert_eq!(parse_ttl("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_ttl("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_ttl("2h"), Ok(Duration::from_secs(7200)));
        assert!(parse_ttl("5").is_err());
        assert!(parse_ttl("s").is_err());
        assert!(parse_ttl("99999999999999999999h").is_err());
        assert!(matches!(parse_ttl_or_none("none"), Ok(TtlArg(None))));
    }

    #[test]
    fn error_classes_have_distinct_exit_codes() {
        assert_eq!(exit_code(&Error::ConnectionClosed), 3);
        assert_eq!(exit_code(&Error::AuthFailed), 4);
        assert_eq!(exit_code(&Error::ItemTooLarge), 5);
        assert_eq!(exit_code(&Error::NotInteger), 5);
        assert_eq!(exit_code(&Error::UnknownCommand), 5);
        assert_eq!(exit_code(&Error::Busy), 6);
        assert_eq!(
            exit_code(&Error::Protocol(blink_client::ProtocolError::ZeroLength)),
            7
        );
    }
}
