//! Server counters, the STATS snapshot and its text rendering.
//!
//! The event loop owns [`ServerCounters`] outright and bumps plain `u64`s: no
//! atomics or locks on the request path. Once per second (and on every STATS
//! request) `command::Context::snapshot` assembles a [`Snapshot`] of those
//! counters, the store's stats and process figures. The periodic snapshot is published through
//! [`arc_swap::ArcSwap`] so threads off the loop (the log worker today, a
//! metrics endpoint later) read it without ever blocking the loop.
//!
//! The text form is the STATS reply body: one `name value\n` line per stat,
//! names `[a-z0-9_]+`, values decimal integers, easy to read from any language
//! and from a shell.

use std::io::{self, Write};
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::protocol::{Opcode, PROTOCOL_VERSION, Status};
use crate::store::StoreStats;

/// Counter slots per command: indexed by opcode byte (all opcodes are below this).
const COMMAND_SLOTS: usize = 0x23;
/// Counter slots per error: indexed by status byte minus `ERROR_BASE`.
const ERROR_SLOTS: usize = 0x0E;
/// The first error status code.
const ERROR_BASE: u8 = 0x80;

/// Why the server closed a connection (client-initiated closes are not counted here).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// The peer closed or reset the connection.
    Peer,
    /// A fatal protocol error (malformed frame, oversized frame, failed AUTH).
    Protocol,
    /// A frame stayed incomplete past the frame-completion deadline.
    FrameTimeout,
    /// No activity for the idle timeout.
    Idle,
    /// Pending output made no progress for the output timeout (a client that never reads).
    SlowReader,
    /// The server-wide connection buffer budget was exhausted.
    BufferBudget,
    /// The server is shutting down.
    Shutdown,
    /// Refused right after accept: `max_connections` were open (counted in
    /// `connections_rejected`).
    TooManyConnections,
    /// A socket error other than a clean close.
    IoError,
}

/// Counters owned and bumped by the event loop.
#[derive(Clone, Copy, Debug)]
pub struct ServerCounters {
    /// Connections accepted since start.
    pub connections_total: u64,
    /// Connections refused because `max_connections` were open.
    pub connections_rejected: u64,
    /// Accept calls that failed (fd exhaustion and the like).
    pub accept_errors: u64,
    /// Bytes read from clients.
    pub bytes_in: u64,
    /// Bytes written to clients.
    pub bytes_out: u64,
    /// Requests executed, per command, indexed by opcode byte (RESP
    /// commands under the binary command they match: GET, SET, ...).
    pub commands: [u64; COMMAND_SLOTS],
    /// RESP commands with no binary-protocol counterpart (MGET, EXISTS, ...).
    pub resp_other_commands: u64,
    /// Error replies sent, per kind, indexed by status byte minus 0x80.
    pub errors: [u64; ERROR_SLOTS],
    /// Connections closed after a fatal protocol error.
    pub closed_protocol: u64,
    /// Connections closed by the frame-completion deadline.
    pub closed_frame_timeout: u64,
    /// Connections closed by the idle timeout.
    pub closed_idle: u64,
    /// Connections closed because their output made no progress.
    pub closed_slow_reader: u64,
    /// Connections closed because the buffer budget was exhausted.
    pub closed_buffer_budget: u64,
    /// Connections closed on socket errors.
    pub closed_io_error: u64,
}

impl Default for ServerCounters {
    fn default() -> Self {
        ServerCounters {
            connections_total: 0,
            connections_rejected: 0,
            accept_errors: 0,
            bytes_in: 0,
            bytes_out: 0,
            commands: [0; COMMAND_SLOTS],
            resp_other_commands: 0,
            errors: [0; ERROR_SLOTS],
            closed_protocol: 0,
            closed_frame_timeout: 0,
            closed_idle: 0,
            closed_slow_reader: 0,
            closed_buffer_budget: 0,
            closed_io_error: 0,
        }
    }
}

impl ServerCounters {
    /// Counts one executed request.
    pub fn count_command(&mut self, opcode: Opcode) {
        if let Some(count) = self.commands.get_mut(opcode as usize) {
            *count += 1;
        }
    }

    /// Every request executed, in either protocol.
    pub fn commands_total(&self) -> u64 {
        self.commands.iter().sum::<u64>() + self.resp_other_commands
    }

    /// Counts one error reply of `status` (ignored for non-error statuses).
    pub fn count_error(&mut self, status: Status) {
        let slot = (status as u8).wrapping_sub(ERROR_BASE);
        if let Some(count) = self.errors.get_mut(usize::from(slot)) {
            *count += 1;
        }
    }

    /// Counts a server-side close.
    pub fn count_close(&mut self, reason: CloseReason) {
        let counter = match reason {
            CloseReason::Peer | CloseReason::Shutdown | CloseReason::TooManyConnections => return,
            CloseReason::Protocol => &mut self.closed_protocol,
            CloseReason::FrameTimeout => &mut self.closed_frame_timeout,
            CloseReason::Idle => &mut self.closed_idle,
            CloseReason::SlowReader => &mut self.closed_slow_reader,
            CloseReason::BufferBudget => &mut self.closed_buffer_budget,
            CloseReason::IoError => &mut self.closed_io_error,
        };
        *counter += 1;
    }
}

/// Everything STATS reports, at one instant.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Milliseconds since the server started.
    pub uptime_ms: u64,
    /// Resident set size of the process, from /proc (0 where unavailable).
    pub rss_bytes: u64,
    /// Open client connections.
    pub connections_current: u64,
    /// Memory held by connection input and output buffers.
    pub buffer_bytes: u64,
    /// Log lines the non-blocking log writer dropped because its queue was full.
    pub log_lines_dropped: u64,
    /// Log file writes that failed (each a lost line), e.g. on a full disk.
    pub log_write_errors: u64,
    /// Loop counters.
    pub counters: ServerCounters,
    /// The store's own figures.
    pub store: StoreStats,
}

impl Snapshot {
    /// Writes the STATS text: one `name value\n` line per stat.
    pub fn render(&self, out: &mut impl Write) -> io::Result<()> {
        let c = &self.counters;
        let s = &self.store;
        let lines: [(&str, u64); 33] = [
            ("protocol_version", u64::from(PROTOCOL_VERSION)),
            ("pid", u64::from(std::process::id())),
            ("uptime_ms", self.uptime_ms),
            ("rss_bytes", self.rss_bytes),
            ("connections_current", self.connections_current),
            ("connections_total", c.connections_total),
            ("connections_rejected", c.connections_rejected),
            ("accept_errors", c.accept_errors),
            ("buffer_bytes", self.buffer_bytes),
            ("bytes_in", c.bytes_in),
            ("bytes_out", c.bytes_out),
            ("closed_protocol", c.closed_protocol),
            ("closed_frame_timeout", c.closed_frame_timeout),
            ("closed_idle", c.closed_idle),
            ("closed_slow_reader", c.closed_slow_reader),
            ("closed_buffer_budget", c.closed_buffer_budget),
            ("closed_io_error", c.closed_io_error),
            ("items", s.items),
            ("used_bytes", s.used_bytes),
            ("cap_bytes", s.cap_bytes),
            ("hits", s.hits),
            ("misses", s.misses),
            ("evictions", s.evictions),
            ("evicted_bytes", s.evicted_bytes),
            ("expirations", s.expirations),
            ("expiry_lag_max_ms", s.expiry_lag_max_ms),
            ("expiry_lag_recent_ms", s.expiry_lag_recent_ms),
            ("log_lines_dropped", self.log_lines_dropped),
            ("log_write_errors", self.log_write_errors),
            ("commands_total", c.commands_total()),
            ("cmd_resp_other", c.resp_other_commands),
            ("errors_total", c.errors.iter().sum()),
            ("closed_total", self.closed_total()),
        ];
        for (name, value) in lines {
            writeln!(out, "{name} {value}")?;
        }
        for &opcode in Opcode::ALL {
            let name = opcode.name().to_ascii_lowercase();
            writeln!(out, "cmd_{name} {}", c.commands[opcode as usize])?;
        }
        for &status in Status::ALL.iter().filter(|s| s.is_error()) {
            let name = status
                .name()
                .trim_start_matches("ERR_")
                .to_ascii_lowercase();
            let count = c.errors[usize::from(status as u8 - ERROR_BASE)];
            writeln!(out, "err_{name} {count}")?;
        }
        Ok(())
    }

    fn closed_total(&self) -> u64 {
        let c = &self.counters;
        c.closed_protocol
            + c.closed_frame_timeout
            + c.closed_idle
            + c.closed_slow_reader
            + c.closed_buffer_budget
            + c.closed_io_error
    }
}

/// The latest periodic snapshot, readable from any thread without locks.
pub type SharedSnapshot = Arc<ArcSwap<Snapshot>>;

/// Creates an empty shared snapshot.
pub fn shared_snapshot() -> SharedSnapshot {
    Arc::new(ArcSwap::from_pointee(Snapshot::default()))
}

/// The process's resident set size from `/proc/self/status` (0 if unavailable).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| parse_vm_rss_bytes(&status))
        .unwrap_or(0)
}

fn parse_vm_rss_bytes(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_is_name_space_integer_lines_with_unique_names() {
        let mut snapshot = Snapshot::default();
        snapshot.counters.count_error(Status::KeyTooLarge);
        for _ in 0..3 {
            snapshot.counters.count_command(Opcode::Get);
        }
        snapshot.store.items = 7;
        let mut text = Vec::new();
        snapshot.render(&mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        let mut names = std::collections::HashSet::new();
        for line in text.lines() {
            let (name, value) = line.split_once(' ').unwrap();
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            );
            value.parse::<u64>().unwrap();
            assert!(names.insert(name.to_owned()), "duplicate stat {name}");
        }
        assert!(text.contains("\nerr_key_too_large 1\n"));
        assert!(text.contains("\ncmd_get 3\n"));
        assert!(text.contains("\nitems 7\n"));
        assert!(text.contains("\nerrors_total 1\n"));
    }

    #[test]
    fn every_error_status_has_a_slot() {
        let mut counters = ServerCounters::default();
        for &status in Status::ALL {
            counters.count_error(status);
        }
        let errors = Status::ALL.iter().filter(|s| s.is_error()).count() as u64;
        assert_eq!(counters.errors.iter().sum::<u64>(), errors);
        for &opcode in Opcode::ALL {
            counters.count_command(opcode);
        }
        assert_eq!(
            counters.commands.iter().sum::<u64>(),
            Opcode::ALL.len() as u64
        );
    }

    #[test]
    fn non_error_statuses_are_not_counted_as_errors() {
        let mut counters = ServerCounters::default();
        counters.count_error(Status::Ok);
        counters.count_error(Status::NotFound);
        assert_eq!(counters.errors.iter().sum::<u64>(), 0);
    }

    #[test]
    fn vm_rss_parses_kib() {
        let status = "Name:\tx\nVmRSS:\t  1234 kB\nThreads: 1\n";
        assert_eq!(parse_vm_rss_bytes(status), Some(1234 * 1024));
        assert_eq!(parse_vm_rss_bytes("Name: x\n"), None);
        assert!(rss_bytes() > 0);
    }
}
