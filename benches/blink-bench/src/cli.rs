//! Command-line flags and their validation into a [`Config`].
//!
//! Owns every knob of a run: the target (TCP address or Unix socket), the
//! protocol, the connection layout (connections, threads, pipeline depth),
//! the workload shape (key space, distribution, value sizes, SET:GET ratio),
//! the stop conditions (duration, request count) and the loop kind (closed
//! loop, or open loop at a fixed rate). `Config::from_cli` checks every value
//! against a named limit so the event loop never meets a nonsensical one.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

/// Most connections one run may open: far above any workload in the
/// comparison, far below the default fd limit of 1024 per thread times 8.
pub const CONNECTIONS_MAX: usize = 8192;
/// Deepest pipeline: 1024 requests of 100 KiB is 100 MiB of output per
/// connection, the most a run should ever buffer.
pub const PIPELINE_MAX: usize = 1024;
/// Client threads: the machine this was written for has 2 cores; 64 leaves
/// room for bigger ones without letting a typo spawn thousands.
pub const THREADS_MAX: usize = 64;
/// memcached rejects keys longer than 250 bytes; no protocol here needs more.
pub const KEY_BYTES_MAX: usize = 250;
/// Every key starts with this prefix, as redis-benchmark's `key:__rand_int__`
/// does, so the same key names reach every server.
pub const KEY_PREFIX: &[u8] = b"key:";
/// Largest value: memcached's default item limit is 1 MiB and Blink's
/// default `max_value_bytes` is 1 MiB; 64 MiB bounds a mistyped range.
pub const VALUE_BYTES_MAX: usize = 64 << 20;
/// Longest run: one hour bounds any loop even when the flag is mistyped.
pub const DURATION_MAX: Duration = Duration::from_secs(3600);

/// The wire protocol spoken to the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Protocol {
    /// Blink-Store's length-prefixed binary protocol v1.
    Blink,
    /// Redis serialization protocol (GET / SET commands).
    Resp,
    /// memcached's text protocol (`get` / `set`).
    Memcache,
}

/// How keys are drawn from the key space `0..keys`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Distribution {
    /// Every key equally likely.
    Uniform,
    /// Zipfian with exponent `--zipf-theta`: key 0 is the hottest.
    Zipf,
    /// Each key once, in order, split across the client threads.
    Sequential,
}

/// Raw flags as typed by the user; see [`Config`] for the validated form.
#[derive(Parser, Debug)]
#[command(name = "blink-bench", version, about)]
pub struct Cli {
    /// Protocol spoken to the server.
    #[arg(long, value_enum, default_value_t = Protocol::Blink)]
    pub protocol: Protocol,
    /// TCP address of the server (ignored when --unix-socket is given).
    #[arg(long, default_value = "127.0.0.1:25465")]
    pub tcp: SocketAddr,
    /// Connect over this Unix socket instead of TCP.
    #[arg(long)]
    pub unix_socket: Option<PathBuf>,
    /// Connections, spread round-robin over the client threads.
    #[arg(long, default_value_t = 50)]
    pub connections: usize,
    /// Requests per connection in flight. Closed loop: sent as one batch,
    /// the next batch once every reply is back (like redis-benchmark -P).
    /// Open loop: the most a connection may have outstanding.
    #[arg(long, default_value_t = 1)]
    pub pipeline: usize,
    /// Client threads, each with one mio Poll over its connections.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Key space: keys are `key:` followed by a zero-padded number below this.
    #[arg(long, default_value_t = 100_000)]
    pub keys: u64,
    /// Length of every key in bytes (16 matches redis-benchmark's keys).
    #[arg(long, default_value_t = 16)]
    pub key_size_bytes: usize,
    /// Key distribution.
    #[arg(long, value_enum, default_value_t = Distribution::Uniform)]
    pub distribution: Distribution,
    /// Zipf exponent, strictly between 0 and 1 (YCSB uses 0.99).
    #[arg(long, default_value_t = 0.99)]
    pub zipf_theta: f64,
    /// Value size in bytes: `100` or an inclusive range `100-102400`.
    #[arg(long, default_value = "100", value_parser = parse_size_range)]
    pub value_size: SizeRange,
    /// SET:GET ratio, e.g. `1:9`, `1:0` (set only) or `0:1` (get only).
    #[arg(long, default_value = "1:9", value_parser = parse_ratio)]
    pub ratio: Ratio,
    /// Length of the measured run in seconds; 0 runs only the prefill.
    #[arg(long, default_value_t = 10.0)]
    pub duration_s: f64,
    /// Stop after this many requests (in total) even before the duration.
    #[arg(long)]
    pub requests: Option<u64>,
    /// Open loop: send this many requests per second in total, on a fixed
    /// schedule; latency counts from each request's intended send time.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Before the measured run, SET every key of the key space once.
    #[arg(long)]
    pub prefill: bool,
    /// Upper bound on the prefill's duration in seconds.
    #[arg(long, default_value_t = 300.0)]
    pub prefill_timeout_s: f64,
    /// PID of the server: report its CPU microseconds per request.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Print the result as one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Free-form name of this run, echoed in the table and the JSON.
    #[arg(long, default_value = "")]
    pub label: String,
    /// Seed of the key, operation and value-size generators.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// No progress line on stderr.
    #[arg(long)]
    pub quiet: bool,
}

/// An inclusive range of sizes in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SizeRange {
    /// Smallest size, inclusive.
    pub min_bytes: usize,
    /// Largest size, inclusive.
    pub max_bytes: usize,
}

/// Relative weights of SET and GET requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ratio {
    /// Weight of SET.
    pub set: u32,
    /// Weight of GET.
    pub get: u32,
}

/// Where the server listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A TCP address.
    Tcp(SocketAddr),
    /// A Unix stream socket path.
    Unix(PathBuf),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Tcp(addr) => write!(f, "tcp {addr}"),
            Target::Unix(path) => write!(f, "unix {}", path.display()),
        }
    }
}

/// The validated run description every other module reads.
#[derive(Clone, Debug)]
pub struct Config {
    /// Protocol spoken to the server.
    pub protocol: Protocol,
    /// Where the server listens.
    pub target: Target,
    /// Connections in total.
    pub connections: usize,
    /// Pipeline depth per connection.
    pub pipeline: usize,
    /// Client threads (at most one per connection).
    pub threads: usize,
    /// Key space size.
    pub keys: u64,
    /// Length of every key.
    pub key_size_bytes: usize,
    /// Key distribution.
    pub distribution: Distribution,
    /// Zipf exponent (used only with the zipf distribution).
    pub zipf_theta: f64,
    /// Value sizes.
    pub value_size: SizeRange,
    /// SET:GET weights.
    pub ratio: Ratio,
    /// Measured run length; zero means prefill only.
    pub duration: Duration,
    /// Request budget of the measured run.
    pub requests: Option<u64>,
    /// Open-loop rate in requests per second, or closed loop.
    pub rate_per_s: Option<f64>,
    /// Whether to SET every key first.
    pub prefill: bool,
    /// Bound on the prefill.
    pub prefill_timeout: Duration,
    /// Server PID for the CPU measurement.
    pub server_pid: Option<u32>,
    /// JSON output instead of a table.
    pub json: bool,
    /// Name of the run.
    pub label: String,
    /// Generator seed.
    pub seed: u64,
    /// Suppress the progress line.
    pub quiet: bool,
}

impl Config {
    /// Checks every flag against its limit; the message names the flag.
    pub fn from_cli(cli: Cli) -> Result<Config, String> {
        check_range("--connections", cli.connections, 1, CONNECTIONS_MAX)?;
        check_range("--pipeline", cli.pipeline, 1, PIPELINE_MAX)?;
        check_range(
            "--threads",
            cli.threads,
            1,
            THREADS_MAX.min(cli.connections),
        )?;
        if cli.keys == 0 {
            return Err("--keys must be at least 1".into());
        }
        let key_min_bytes = KEY_PREFIX.len() + decimal_digits(cli.keys - 1);
        check_range(
            "--key-size-bytes",
            cli.key_size_bytes,
            key_min_bytes,
            KEY_BYTES_MAX,
        )?;
        if !(cli.zipf_theta > 0.0 && cli.zipf_theta < 1.0) {
            return Err("--zipf-theta must be strictly between 0 and 1".into());
        }
        let duration = seconds("--duration-s", cli.duration_s)?;
        let prefill_timeout = seconds("--prefill-timeout-s", cli.prefill_timeout_s)?;
        if duration.is_zero() && !cli.prefill {
            return Err("--duration-s 0 only makes sense with --prefill".into());
        }
        if cli.requests == Some(0) {
            return Err("--requests must be at least 1".into());
        }
        if let Some(rate) = cli.rate
            && !(rate.is_finite() && rate > 0.0)
        {
            return Err("--rate must be a positive number of requests per second".into());
        }
        let target = match cli.unix_socket {
            Some(path) => Target::Unix(path),
            None => Target::Tcp(cli.tcp),
        };
        Ok(Config {
            protocol: cli.protocol,
            target,
            connections: cli.connections,
            pipeline: cli.pipeline,
            threads: cli.threads,
            keys: cli.keys,
            key_size_bytes: cli.key_size_bytes,
            distribution: cli.distribution,
            zipf_theta: cli.zipf_theta,
            value_size: cli.value_size,
            ratio: cli.ratio,
            duration,
            requests: cli.requests,
            rate_per_s: cli.rate,
            prefill: cli.prefill,
            prefill_timeout,
            server_pid: cli.server_pid,
            json: cli.json,
            label: cli.label,
            seed: cli.seed,
            quiet: cli.quiet,
        })
    }
}

fn check_range(flag: &str, value: usize, min: usize, max: usize) -> Result<(), String> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(format!("{flag} must be in {min}..={max}, got {value}"))
    }
}

fn seconds(flag: &str, value_s: f64) -> Result<Duration, String> {
    if !(value_s.is_finite() && value_s >= 0.0) || value_s > DURATION_MAX.as_secs_f64() {
        return Err(format!(
            "{flag} must be between 0 and {} seconds",
            DURATION_MAX.as_secs()
        ));
    }
    Ok(Duration::from_secs_f64(value_s))
}

/// Number of decimal digits needed to print `n`.
pub fn decimal_digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |log| log as usize + 1)
}

fn parse_size_range(text: &str) -> Result<SizeRange, String> {
    let parse = |part: &str| -> Result<usize, String> {
        part.trim()
            .parse::<usize>()
            .map_err(|e| format!("bad size {part:?}: {e}"))
    };
    let (min_bytes, max_bytes) = match text.split_once('-') {
        Some((low, high)) => (parse(low)?, parse(high)?),
        None => (parse(text)?, parse(text)?),
    };
    if min_bytes > max_bytes || max_bytes > VALUE_BYTES_MAX {
        return Err(format!(
            "value sizes must satisfy min <= max <= {VALUE_BYTES_MAX}"
        ));
    }
    Ok(SizeRange {
        min_bytes,
        max_bytes,
    })
}

fn parse_ratio(text: &str) -> Result<Ratio, String> {
    let (set, get) = text
        .split_once(':')
        .ok_or_else(|| format!("ratio {text:?} is not SET:GET"))?;
    let parse = |part: &str| part.trim().parse::<u32>().map_err(|e| e.to_string());
    let ratio = Ratio {
        set: parse(set)?,
        get: parse(get)?,
    };
    if u64::from(ratio.set) + u64::from(ratio.get) == 0 {
        return Err("ratio 0:0 issues no requests".into());
    }
    Ok(ratio)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_ratios_parse() {
        let fixed = parse_size_range("100").unwrap();
        assert_eq!((fixed.min_bytes, fixed.max_bytes), (100, 100));
        let range = parse_size_range("100-102400").unwrap();
        assert_eq!((range.min_bytes, range.max_bytes), (100, 102_400));
        assert!(parse_size_range("9-3").is_err());
        assert_eq!(parse_ratio("1:9").unwrap(), Ratio { set: 1, get: 9 });
        assert!(parse_ratio("0:0").is_err());
        assert!(parse_ratio("19").is_err());
    }

    #[test]
    fn key_width_must_hold_the_largest_key() {
        assert_eq!(decimal_digits(0), 1);
        assert_eq!(decimal_digits(99_999), 5);
        assert_eq!(decimal_digits(100_000), 6);
        let cli = Cli::parse_from(["blink-bench", "--keys", "100000", "--key-size-bytes", "8"]);
        assert!(Config::from_cli(cli).is_err());
        let cli = Cli::parse_from(["blink-bench", "--keys", "100000", "--key-size-bytes", "9"]);
        assert!(Config::from_cli(cli).is_ok());
    }
}
