//! Counting and reporting: the per-thread [`Tally`] (counters plus an HDR
//! latency histogram), its merge across threads, and the final table or
//! JSON object.
//!
//! Latencies are recorded in nanoseconds with 3 significant digits up to
//! [`LATENCY_MAX_NS`]; anything slower saturates at that bound (and shows up
//! as the max) rather than being dropped.

use std::fmt::Write as _;
use std::time::Instant;

use hdrhistogram::Histogram;

use crate::adapter::Outcome;
use crate::cli::{Config, Protocol};
use crate::conn::Pending;
use crate::workload::Op;

/// Highest latency the histogram resolves: 100 s, longer than any run.
pub const LATENCY_MAX_NS: u64 = 100_000_000_000;
/// Significant digits kept by the histogram (0.1% relative error).
const LATENCY_SIGFIG: u8 = 3;

/// Counters and latencies of one thread, or of a whole run once merged.
#[derive(Debug, Clone)]
pub struct Tally {
    /// Latency of every reply, in nanoseconds.
    pub latency_ns: Histogram<u64>,
    /// GET replies received.
    pub gets: u64,
    /// SET replies received.
    pub sets: u64,
    /// GETs that found a value.
    pub hits: u64,
    /// GETs that found none.
    pub misses: u64,
    /// Replies that were server errors.
    pub error_replies: u64,
    /// Connections lost to I/O or protocol errors.
    pub conn_errors: u64,
    /// Requests still unanswered when the loop stopped.
    pub in_flight_at_stop: u64,
    /// Value bytes of all SETs sent.
    pub value_bytes_sent: u64,
    /// The first connection error, for the report.
    pub first_error: Option<String>,
}

impl Tally {
    /// An empty tally.
    pub fn new() -> Tally {
        Tally {
            latency_ns: Histogram::new_with_bounds(1, LATENCY_MAX_NS, LATENCY_SIGFIG)
                .expect("constant histogram bounds are valid"),
            gets: 0,
            sets: 0,
            hits: 0,
            misses: 0,
            error_replies: 0,
            conn_errors: 0,
            in_flight_at_stop: 0,
            value_bytes_sent: 0,
            first_error: None,
        }
    }

    /// Replies received (of any outcome).
    pub fn completed(&self) -> u64 {
        self.gets + self.sets
    }

    /// Counts one reply that arrived by `now`.
    pub fn record(&mut self, pending: Pending, outcome: Outcome, now: Instant) {
        let latency_ns = now.saturating_duration_since(pending.start).as_nanos();
        self.latency_ns
            .saturating_record(u64::try_from(latency_ns).unwrap_or(LATENCY_MAX_NS).max(1));
        match pending.op {
            Op::Get => self.gets += 1,
            Op::Set => self.sets += 1,
        }
        match (pending.op, outcome) {
            (_, Outcome::Error) => self.error_replies += 1,
            (Op::Get, Outcome::Ok) => self.hits += 1,
            (Op::Get, Outcome::Miss) => self.misses += 1,
            (Op::Set, _) => {}
        }
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: Tally) {
        self.latency_ns
            .add(&other.latency_ns)
            .expect("histograms share bounds");
        self.gets += other.gets;
        self.sets += other.sets;
        self.hits += other.hits;
        self.misses += other.misses;
        self.error_replies += other.error_replies;
        self.conn_errors += other.conn_errors;
        self.in_flight_at_stop += other.in_flight_at_stop;
        self.value_bytes_sent += other.value_bytes_sent;
        self.first_error = self.first_error.take().or(other.first_error);
    }
}

impl Default for Tally {
    fn default() -> Tally {
        Tally::new()
    }
}

/// The figures of one measured run.
#[derive(Debug)]
pub struct Summary<'a> {
    /// The run's configuration.
    pub config: &'a Config,
    /// Everything counted.
    pub tally: &'a Tally,
    /// Measured seconds (start to the last thread's end).
    pub elapsed_s: f64,
    /// Server CPU microseconds spent during the run, if a PID was given.
    pub server_cpu_us: Option<u64>,
}

/// Latency percentiles reported, as (name, quantile).
const PERCENTILES: [(&str, f64); 4] = [
    ("p50", 0.50),
    ("p99", 0.99),
    ("p99.9", 0.999),
    ("p99.99", 0.9999),
];

impl Summary<'_> {
    /// Replies per second over the measured time.
    pub fn ops_per_s(&self) -> f64 {
        if self.elapsed_s > 0.0 {
            self.tally.completed() as f64 / self.elapsed_s
        } else {
            0.0
        }
    }

    /// Server CPU microseconds per completed request.
    pub fn cpu_us_per_request(&self) -> Option<f64> {
        let completed = self.tally.completed();
        self.server_cpu_us
            .filter(|_| completed > 0)
            .map(|us| us as f64 / completed as f64)
    }

    fn latency_us(&self, quantile: f64) -> f64 {
        self.tally.latency_ns.value_at_quantile(quantile) as f64 / 1000.0
    }

    fn mode(&self) -> String {
        match self.config.rate_per_s {
            Some(rate) => format!("open loop at {rate:.0}/s"),
            None => "closed loop".to_string(),
        }
    }

    /// The human-readable result table.
    pub fn table(&self) -> String {
        let c = self.config;
        let t = self.tally;
        let mut rows: Vec<(&str, String)> = vec![
            (
                "run",
                format!(
                    "{}{} {}",
                    label_prefix(&c.label),
                    protocol_name(c),
                    c.target
                ),
            ),
            (
                "load",
                format!(
                    "{} conns x pipeline {}, {} thread(s), {}",
                    c.connections,
                    c.pipeline,
                    c.threads,
                    self.mode()
                ),
            ),
            (
                "requests",
                format!(
                    "{} in {:.2} s (gets {}, sets {})",
                    t.completed(),
                    self.elapsed_s,
                    t.gets,
                    t.sets
                ),
            ),
            ("ops/s", format!("{:.0}", self.ops_per_s())),
            ("gets", format!("hits {}, misses {}", t.hits, t.misses)),
        ];
        let mut latency = String::new();
        for (name, quantile) in PERCENTILES {
            let _ = write!(latency, "{name} {:.1}  ", self.latency_us(quantile));
        }
        let _ = write!(latency, "max {:.1}", t.latency_ns.max() as f64 / 1000.0);
        rows.push(("latency (µs)", latency));
        if let Some(per_request) = self.cpu_us_per_request() {
            rows.push((
                "server CPU",
                format!(
                    "{per_request:.2} µs/request ({} µs total)",
                    self.server_cpu_us.unwrap_or(0)
                ),
            ));
        }
        let mut errors = format!(
            "error replies {}, lost connections {}, unanswered at stop {}",
            t.error_replies, t.conn_errors, t.in_flight_at_stop
        );
        if let Some(first) = &t.first_error {
            let _ = write!(errors, " (first: {first})");
        }
        rows.push(("errors", errors));
        let mut out = String::new();
        let _ = writeln!(out, "{:<14}| value", "metric");
        let _ = writeln!(out, "{:-<14}|{:-<60}", "", "");
        for (name, value) in rows {
            let _ = writeln!(out, "{name:<14}| {value}");
        }
        out
    }

    /// The result as one JSON object on one line.
    pub fn json(&self) -> String {
        let c = self.config;
        let t = self.tally;
        let mut out = String::from("{");
        let _ = write!(
            out,
            "\"label\":{},\"protocol\":{},\"target\":{},\"connections\":{},\"pipeline\":{},\"threads\":{},",
            json_string(&c.label),
            json_string(protocol_name(c)),
            json_string(&c.target.to_string()),
            c.connections,
            c.pipeline,
            c.threads
        );
        let rate = c.rate_per_s.map_or("null".to_string(), |r| format!("{r}"));
        let _ = write!(
            out,
            "\"rate_per_s\":{rate},\"elapsed_s\":{:.3},\"requests\":{},\"gets\":{},\"sets\":{},\"hits\":{},\"misses\":{},",
            self.elapsed_s,
            t.completed(),
            t.gets,
            t.sets,
            t.hits,
            t.misses
        );
        let _ = write!(
            out,
            "\"error_replies\":{},\"conn_errors\":{},\"in_flight_at_stop\":{},\"value_bytes_sent\":{},\"ops_per_s\":{:.1},",
            t.error_replies,
            t.conn_errors,
            t.in_flight_at_stop,
            t.value_bytes_sent,
            self.ops_per_s()
        );
        out.push_str("\"latency_us\":{");
        for (name, quantile) in PERCENTILES {
            let _ = write!(out, "\"{name}\":{:.2},", self.latency_us(quantile));
        }
        let _ = write!(out, "\"max\":{:.2}}},", t.latency_ns.max() as f64 / 1000.0);
        let per_request = self
            .cpu_us_per_request()
            .map_or("null".to_string(), |v| format!("{v:.4}"));
        let total = self
            .server_cpu_us
            .map_or("null".to_string(), |v| v.to_string());
        let _ = write!(
            out,
            "\"server_cpu_us\":{total},\"server_cpu_us_per_request\":{per_request}}}"
        );
        out
    }
}

/// The protocol as named on the command line.
fn protocol_name(config: &Config) -> &'static str {
    match config.protocol {
        Protocol::Blink => "blink",
        Protocol::Resp => "resp",
        Protocol::Memcache => "memcache",
    }
}

/// `label` followed by a space, or nothing for an unlabelled run.
fn label_prefix(label: &str) -> String {
    if label.is_empty() {
        String::new()
    } else {
        format!("{label} ")
    }
}

/// `text` as a JSON string literal.
fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn record_and_merge_count_everything() {
        let start = Instant::now();
        let now = start + Duration::from_micros(250);
        let mut a = Tally::new();
        a.record(Pending { op: Op::Get, start }, Outcome::Ok, now);
        a.record(Pending { op: Op::Get, start }, Outcome::Miss, now);
        let mut b = Tally::new();
        b.record(Pending { op: Op::Set, start }, Outcome::Error, now);
        a.merge(b);
        assert_eq!(
            (a.gets, a.sets, a.hits, a.misses, a.error_replies),
            (2, 1, 1, 1, 1)
        );
        assert_eq!(a.latency_ns.len(), 3);
        let p50_us = a.latency_ns.value_at_quantile(0.5) as f64 / 1000.0;
        assert!((p50_us - 250.0).abs() < 1.0, "{p50_us}");
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
    }
}
