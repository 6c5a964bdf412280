//! Configuration from environment variables, validated once at start-up.
//!
//! Every app in `examples/` reads the same variables with the same defaults, so
//! one shell line can point any of them at the same Blink-Store and origin.

use std::env;
use std::path::PathBuf;
use std::time::Duration;

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `HOST:PORT` to listen on (`HOST`, `PORT`).
    pub listen_addr: String,
    /// Blink-Store's address and token (`BLINK_UNIX_SOCKET` or `BLINK_TCP`, `BLINK_AUTH_TOKEN_FILE`).
    pub blink: blink_client::Config,
    /// `CACHE_ENABLED=0` sends every read to the origin (the benchmark's baseline).
    pub cache_enabled: bool,
    /// Base TTL of a cached item.
    pub cache_ttl: Duration,
    /// Up to this many percent of the TTL are added at random to each entry's TTL.
    pub cache_ttl_jitter_percent: u32,
    /// Bound on one cache call, connecting included: the most a request waits on a sick cache.
    pub cache_timeout: Duration,
    /// Consecutive cache failures that open the breaker.
    pub breaker_failures: u32,
    /// How long an open breaker skips the cache before one probe.
    pub breaker_cooldown: Duration,
    /// The SQLite file.
    pub origin_path: PathBuf,
    /// Sleep before every origin call, standing for a database's latency.
    pub origin_delay: Duration,
    /// `LOG_LEVEL`: debug, info, warn or error.
    pub log_level: tracing::Level,
}

fn var(name: &str) -> Option<String> {
    env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn int(name: &str, default: u64, low: u64, high: u64) -> Result<u64, String> {
    let Some(raw) = var(name) else {
        return Ok(default);
    };
    let value: u64 = raw
        .parse()
        .map_err(|_| format!("{name}={raw:?}: expected an integer"))?;
    if !(low..=high).contains(&value) {
        return Err(format!("{name}={value}: expected {low}..{high}"));
    }
    Ok(value)
}

fn millis(name: &str, default: u64, low: u64, high: u64) -> Result<Duration, String> {
    int(name, default, low, high).map(Duration::from_millis)
}

fn flag(name: &str, default: bool) -> Result<bool, String> {
    match var(name).map(|v| v.to_lowercase()).as_deref() {
        None => Ok(default),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some("0" | "false" | "no" | "off") => Ok(false),
        Some(raw) => Err(format!(
            "{name}={raw:?}: expected 1/0, true/false, yes/no or on/off"
        )),
    }
}

/// Reads the token file as blink-store does: trailing whitespace (a final newline) is stripped.
fn token(name: &str) -> Result<Option<Vec<u8>>, String> {
    let Some(path) = var(name) else {
        return Ok(None);
    };
    let bytes = std::fs::read(&path).map_err(|e| format!("{name}={path:?}: {e}"))?;
    let token = bytes.trim_ascii_end();
    if token.is_empty() {
        return Err(format!("{name}={path:?}: the file is empty"));
    }
    Ok(Some(token.to_vec()))
}

impl Config {
    /// Reads and validates every variable; the error names the first bad one.
    pub fn from_env() -> Result<Config, String> {
        let cache_timeout = millis("CACHE_TIMEOUT_MS", 100, 1, 60_000)?;
        let mut blink = match var("BLINK_UNIX_SOCKET") {
            Some(path) => blink_client::Config::unix(path),
            None => blink_client::Config::tcp(
                var("BLINK_TCP").unwrap_or_else(|| "127.0.0.1:25465".into()),
            ),
        }
        // The client's own timeouts are a backstop; the cache wrapper's deadline is the bound.
        .connect_timeout(cache_timeout)
        .read_timeout(cache_timeout.max(Duration::from_secs(1)));
        if let Some(token) = token("BLINK_AUTH_TOKEN_FILE")? {
            blink = blink.auth_token(token);
        }
        let log_level = match var("LOG_LEVEL")
            .unwrap_or_else(|| "info".into())
            .to_lowercase()
            .as_str()
        {
            "debug" => tracing::Level::DEBUG,
            "info" => tracing::Level::INFO,
            "warn" => tracing::Level::WARN,
            "error" => tracing::Level::ERROR,
            other => {
                return Err(format!(
                    "LOG_LEVEL={other:?}: expected debug, info, warn or error"
                ));
            }
        };
        Ok(Config {
            listen_addr: format!(
                "{}:{}",
                var("HOST").unwrap_or_else(|| "127.0.0.1".into()),
                int("PORT", 8080, 0, 65_535)?
            ),
            blink,
            cache_enabled: flag("CACHE_ENABLED", true)?,
            cache_ttl: millis("CACHE_TTL_MS", 60_000, 1, 86_400_000)?,
            cache_ttl_jitter_percent: int("CACHE_TTL_JITTER_PERCENT", 10, 0, 100)? as u32,
            cache_timeout,
            breaker_failures: int("BREAKER_FAILURES", 5, 1, 1_000)? as u32,
            breaker_cooldown: millis("BREAKER_COOLDOWN_MS", 2_000, 1, 3_600_000)?,
            origin_path: var("ORIGIN_PATH")
                .unwrap_or_else(|| "items.db".into())
                .into(),
            origin_delay: millis("ORIGIN_DELAY_MS", 20, 0, 60_000)?,
            log_level,
        })
    }
}
