//! Logging: tracing to rotating files, retention pruning, and safe rendering
//! of client bytes.
//!
//! Lines go through tracing-appender's non-blocking writer so the event loop
//! never waits on the disk. That writer drops lines when its queue is full,
//! and its worker drops a line whose write fails (a full disk) without a
//! word; [`LogCounters`] counts both for STATS (`log_lines_dropped`,
//! `log_write_errors`), and logging resumes by itself once writes succeed. The [`Logging`]
//! value holds the writer's guard and must live until `main` returns, so the
//! last lines ("shutdown complete") reach the file.
//!
//! tracing-appender prunes only when it rotates, and rotates only when it
//! writes, so a quiet server would keep old files forever. A background
//! housekeeper thread therefore prunes on a timer by our own rule: a file is
//! ours only if its whole name has the appender's shape
//! (`blink-store.<date>.log`), it is deleted when its modification time is
//! older than the retention, and the newest of our files (the one being
//! written) is never deleted. The same thread logs a one-line stats summary
//! from the published snapshot every minute.

use std::fmt;
use std::fs;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime};

use tracing_appender::non_blocking::{ErrorCounter, WorkerGuard};
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{Config, LogRotation};
use crate::stats::SharedSnapshot;

/// Log file names are `LOG_FILE_PREFIX.<date>.LOG_FILE_SUFFIX`.
pub const LOG_FILE_PREFIX: &str = "blink-store";
/// See [`LOG_FILE_PREFIX`].
pub const LOG_FILE_SUFFIX: &str = "log";
/// How many client bytes a log line may show (escaped).
const LOGGED_CLIENT_BYTES_MAX: usize = 32;
/// How often the stats summary line is written.
const SUMMARY_INTERVAL: Duration = Duration::from_secs(60);

/// Handles on the file logger's failure counts, readable from the event loop.
#[derive(Clone, Default)]
pub struct LogCounters {
    dropped: Option<ErrorCounter>,
    write_errors: Arc<AtomicU64>,
}

impl LogCounters {
    /// Lines the non-blocking writer dropped because its queue was full
    /// (0 without a log file).
    pub fn dropped_lines(&self) -> u64 {
        self.dropped
            .as_ref()
            .map_or(0, |counter| counter.dropped_lines() as u64)
    }

    /// Writes to the log file that failed (a full or unwritable disk); each
    /// is a lost line.
    pub fn write_errors(&self) -> u64 {
        self.write_errors.load(Ordering::Relaxed)
    }
}

/// The log file appender, counting the writes that fail.
struct CountingWriter<W> {
    inner: W,
    write_errors: Arc<AtomicU64>,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).inspect_err(|_| {
            self.write_errors.fetch_add(1, Ordering::Relaxed);
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The running logging system; drop it last.
pub struct Logging {
    counters: LogCounters,
    housekeeper: Option<Housekeeper>,
    _guard: Option<WorkerGuard>,
}

impl Logging {
    /// Installs the global subscriber: a rotating file (when a log directory
    /// is set) and stderr (when it is a terminal, or when there is no file).
    pub fn init(config: &Config, snapshot: SharedSnapshot) -> io::Result<Logging> {
        let level = LevelFilter::from_level(config.log_level);
        let stderr_wanted = config.log_dir.is_none() || io::stderr().is_terminal();
        let stderr_layer = stderr_wanted.then(|| {
            tracing_subscriber::fmt::layer()
                .with_writer(io::stderr)
                .with_ansi(io::stderr().is_terminal())
        });
        let mut file_layer = None;
        let mut guard = None;
        let mut counters = LogCounters::default();
        if let Some(dir) = &config.log_dir {
            let appender = RollingFileAppender::builder()
                .rotation(rotation(config.log_rotation))
                .filename_prefix(LOG_FILE_PREFIX)
                .filename_suffix(LOG_FILE_SUFFIX)
                .build(dir)
                .map_err(|e| io::Error::other(format!("log directory {}: {e}", dir.display())))?;
            let appender = CountingWriter {
                inner: appender,
                write_errors: counters.write_errors.clone(),
            };
            let (writer, worker_guard) = tracing_appender::non_blocking(appender);
            counters.dropped = Some(writer.error_counter());
            guard = Some(worker_guard);
            file_layer = Some(
                tracing_subscriber::fmt::layer()
                    .with_writer(writer)
                    .with_ansi(false),
            );
        }
        tracing_subscriber::registry()
            .with(level)
            .with(stderr_layer)
            .with(file_layer)
            .try_init()
            .map_err(io::Error::other)?;
        let retention = config
            .log_dir
            .clone()
            .map(|dir| (dir, Duration::from_secs(config.retention_minutes * 60)));
        Ok(Logging {
            counters,
            housekeeper: Some(Housekeeper::spawn(retention, snapshot)?),
            _guard: guard,
        })
    }

    /// Handles on the logger's failure counts, for STATS.
    pub fn counters(&self) -> LogCounters {
        self.counters.clone()
    }
}

impl Drop for Logging {
    fn drop(&mut self) {
        if let Some(housekeeper) = self.housekeeper.take() {
            housekeeper.stop();
        }
    }
}

fn rotation(rotation: LogRotation) -> Rotation {
    match rotation {
        LogRotation::Minutely => Rotation::MINUTELY,
        LogRotation::Hourly => Rotation::HOURLY,
        LogRotation::Daily => Rotation::DAILY,
    }
}

/// The background thread that prunes old log files and logs stats summaries.
struct Housekeeper {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl Housekeeper {
    fn spawn(retention: Option<(PathBuf, Duration)>, snapshot: SharedSnapshot) -> io::Result<Self> {
        let (stop, stopped) = mpsc::channel();
        let prune_interval = retention
            .as_ref()
            .map_or(SUMMARY_INTERVAL, |(_, keep)| prune_interval(*keep));
        let thread = thread::Builder::new()
            .name("blink-housekeeper".into())
            .spawn(move || {
                let mut since_summary = Duration::ZERO;
                loop {
                    if let Some((dir, keep)) = &retention {
                        prune_logs(dir, *keep, SystemTime::now());
                    }
                    if since_summary >= SUMMARY_INTERVAL {
                        log_summary(&snapshot);
                        since_summary = Duration::ZERO;
                    }
                    match stopped.recv_timeout(prune_interval) {
                        Err(RecvTimeoutError::Timeout) => since_summary += prune_interval,
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
            })?;
        Ok(Housekeeper { stop, thread })
    }

    fn stop(self) {
        // The thread exits on the message or on the channel closing.
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

/// Prune a few times per retention period, at most every minute, at least every second.
fn prune_interval(retention: Duration) -> Duration {
    (retention / 4).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

fn log_summary(snapshot: &SharedSnapshot) {
    let s = snapshot.load();
    tracing::info!(
        items = s.store.items,
        used_bytes = s.store.used_bytes,
        connections = s.connections_current,
        commands = s.counters.commands.iter().sum::<u64>(),
        errors = s.counters.errors.iter().sum::<u64>(),
        evictions = s.store.evictions,
        log_lines_dropped = s.log_lines_dropped,
        "stats"
    );
}

/// Whether `name` is one of our log files: `blink-store.<digits and dashes>.log`.
pub fn is_own_log_file(name: &str) -> bool {
    let Some(rest) = name
        .strip_prefix(LOG_FILE_PREFIX)
        .and_then(|r| r.strip_prefix('.'))
    else {
        return false;
    };
    let Some(date) = rest
        .strip_suffix(LOG_FILE_SUFFIX)
        .and_then(|r| r.strip_suffix('.'))
    else {
        return false;
    };
    !date.is_empty() && date.bytes().all(|b| b.is_ascii_digit() || b == b'-')
}

/// Deletes our log files last modified more than `keep` before `now`, except
/// the newest one. Returns how many were deleted. Errors are logged, never fatal.
pub fn prune_logs(dir: &Path, keep: Duration, now: SystemTime) -> usize {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            tracing::warn!(dir = %dir.display(), %error, "cannot list the log directory");
            return 0;
        }
    };
    let mut own: Vec<(String, SystemTime)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let meta = entry.metadata().ok()?;
            (meta.is_file() && is_own_log_file(&name)).then_some((name, meta.modified().ok()?))
        })
        .collect();
    // Names embed the period's date, so the greatest name is the file being written.
    own.sort();
    own.pop();
    let mut deleted = 0;
    for (name, modified) in own {
        let age = now.duration_since(modified).unwrap_or(Duration::ZERO);
        if age <= keep {
            continue;
        }
        match fs::remove_file(dir.join(&name)) {
            Ok(()) => deleted += 1,
            Err(error) => tracing::warn!(file = %name, %error, "cannot prune an old log file"),
        }
    }
    deleted
}

/// Client bytes made safe for a log line: at most 32 bytes, non-printable
/// bytes escaped, with the remaining length noted.
pub struct Escaped<'a>(pub &'a [u8]);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = &self.0[..self.0.len().min(LOGGED_CLIENT_BYTES_MAX)];
        for &byte in shown {
            write!(f, "{}", std::ascii::escape_default(byte))?;
        }
        let hidden = self.0.len() - shown.len();
        if hidden > 0 {
            write!(f, "...(+{hidden} bytes)")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_files_are_matched_by_whole_name() {
        assert!(is_own_log_file("blink-store.2026-11-25-20.log"));
        assert!(is_own_log_file("blink-store.2026-11-25.log"));
        assert!(!is_own_log_file("blink-store.log"));
        assert!(!is_own_log_file("blink-store-other.2026-11-25.log"));
        assert!(!is_own_log_file("blink-store.2026-11-25.log.gz"));
        assert!(!is_own_log_file("blink-store.notes.log"));
        assert!(!is_own_log_file("app.2026-11-25.log"));
    }

    #[test]
    fn prune_deletes_old_own_files_only_and_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        let hour_ago = now - Duration::from_secs(3600);
        let touch = |name: &str, modified: SystemTime| {
            let file = fs::File::create(dir.path().join(name)).unwrap();
            file.set_modified(modified).unwrap();
        };
        touch("blink-store.2026-11-25-10.log", hour_ago);
        touch("blink-store.2026-11-25-11.log", hour_ago);
        touch("blink-store.2026-11-25-12.log", now);
        touch("other.2026-11-25-10.log", hour_ago);
        touch("blink-store.keep-me.log", hour_ago);
        let deleted = prune_logs(dir.path(), Duration::from_secs(60), now);
        assert_eq!(deleted, 2);
        let mut left: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "blink-store.2026-11-25-12.log",
                "blink-store.keep-me.log",
                "other.2026-11-25-10.log"
            ]
        );
    }

    #[test]
    fn the_current_file_survives_even_when_old() {
        let dir = tempfile::tempdir().unwrap();
        let old = SystemTime::now() - Duration::from_secs(7200);
        let file = fs::File::create(dir.path().join("blink-store.2026-11-25-10.log")).unwrap();
        file.set_modified(old).unwrap();
        assert_eq!(
            prune_logs(dir.path(), Duration::from_secs(60), SystemTime::now()),
            0
        );
    }

    #[test]
    fn prune_interval_is_bounded() {
        assert_eq!(
            prune_interval(Duration::from_secs(60)),
            Duration::from_secs(15)
        );
        assert_eq!(
            prune_interval(Duration::from_secs(1)),
            Duration::from_secs(1)
        );
        assert_eq!(
            prune_interval(Duration::from_secs(86_400)),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn escaped_hides_control_bytes_and_truncates() {
        let text = Escaped(b"GET /\r\n\x00\xff").to_string();
        assert_eq!(text, "GET /\\r\\n\\x00\\xff");
        let long = Escaped(&[b'a'; 40]).to_string();
        assert_eq!(long, format!("{}...(+8 bytes)", "a".repeat(32)));
    }
}
