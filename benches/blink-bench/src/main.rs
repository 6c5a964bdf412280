//! `blink-bench`: a load generator for Blink-Store, Redis and memcached.
//!
//! Flow: parse and validate flags ([`cli`]) → optional prefill (every key
//! SET once) → the measured phase: connections spread over `--threads`
//! client threads, each running one mio event loop ([`runner`]) over its
//! connections ([`conn`]; open loop paced by a [`timer`]), sending what [`workload`] plans, encoded and
//! parsed by the protocol's [`adapter`] → merge the per-thread tallies and
//! print a table or JSON ([`report`]), with the server's CPU per request
//! from `/proc` ([`cpu`]) when `--server-pid` is given.
//!
//! A progress line goes to stderr once a second; results go to stdout. The
//! exit status is 1 if any connection failed or nothing completed, 2 for
//! bad flags. Error replies (out of memory, too large) are counted and
//! reported but do not fail the run: the memory-cap test provokes them.
//!
//! ```text
//! # Blink over TCP, get90/set10, 50 connections, 10 s, after a prefill:
//! blink-bench --tcp 127.0.0.1:25465 --prefill --server-pid $(pidof blink-store)
//! # Redis, pipeline 16, zipfian keys, JSON result:
//! blink-bench --protocol resp --tcp 127.0.0.1:6379 --pipeline 16 --distribution zipf --json
//! # memcached, open loop at 20k requests/s (latency from intended send times):
//! blink-bench --protocol memcache --tcp 127.0.0.1:11211 --rate 20000 --pipeline 16
//! # Blink over its Unix socket, set only, values of 100 B to 100 KiB, 20k requests:
//! blink-bench --unix-socket /run/blink.sock --ratio 1:0 --value-size 100-102400 --requests 20000
//! ```

mod adapter;
mod cli;
mod conn;
mod cpu;
mod report;
mod runner;
mod timer;
mod workload;

use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use clap::Parser;

use adapter::Adapter;
use cli::{Cli, Config, Distribution, Protocol};
use conn::Conn;
use report::{Summary, Tally};
use runner::{Plan, Progress};
use workload::{Generator, Zipf};

/// Pipeline depth of the prefill: deep enough that loading 1M keys takes
/// seconds, shallow enough to keep each batch under a few MiB.
const PREFILL_PIPELINE: usize = 32;
/// Bound on establishing each connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the main thread checks whether the workers are done.
const WATCH_INTERVAL: Duration = Duration::from_millis(50);
/// How often the progress line is printed.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(1);

fn main() -> ExitCode {
    let config = match Config::from_cli(Cli::parse()) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("blink-bench: {message}");
            return ExitCode::from(2);
        }
    };
    let outcome = match config.protocol {
        Protocol::Blink => run(adapter::blink::Blink, &config),
        Protocol::Resp => run(adapter::resp::Resp, &config),
        Protocol::Memcache => run(adapter::memcache::Memcache, &config),
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("blink-bench: {message}");
            ExitCode::FAILURE
        }
    }
}

/// What a phase is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Prefill,
    Measure,
}

/// Prefill, then measure; `Ok(false)` when the run had failures.
fn run<A: Adapter>(adapter: A, config: &Config) -> Result<bool, String> {
    if config.prefill {
        let (tally, elapsed_s) = run_phase(adapter, config, Phase::Prefill)?;
        eprintln!(
            "prefill: {} keys in {elapsed_s:.2} s ({:.0} sets/s), {} error replies, {} lost connections",
            tally.sets,
            tally.sets as f64 / elapsed_s.max(1e-9),
            tally.error_replies,
            tally.conn_errors
        );
        if tally.conn_errors > 0 || tally.sets < config.keys {
            return Err(format!(
                "prefill incomplete: {} of {} keys",
                tally.sets, config.keys
            ));
        }
    }
    if config.duration.is_zero() {
        return Ok(true);
    }
    let cpu_before = config.server_pid.map(cpu::process_cpu_us).transpose();
    let (tally, elapsed_s) = run_phase(adapter, config, Phase::Measure)?;
    let cpu_after = config.server_pid.map(cpu::process_cpu_us).transpose();
    let server_cpu_us = match (cpu_before, cpu_after) {
        (Ok(Some(before)), Ok(Some(after))) => Some(after.saturating_sub(before)),
        (Ok(None), _) => None,
        (Err(e), _) | (_, Err(e)) => return Err(format!("reading the server's CPU time: {e}")),
        (Ok(Some(_)), Ok(None)) => unreachable!("the same pid option is read twice"),
    };
    let summary = Summary {
        config,
        tally: &tally,
        elapsed_s,
        server_cpu_us,
    };
    if config.json {
        println!("{}", summary.json());
    } else {
        print!("{}", summary.table());
    }
    Ok(tally.conn_errors == 0 && tally.completed() > 0)
}

/// Connects, runs one phase on every thread, and merges the results.
/// Returns the merged tally and the measured seconds.
fn run_phase<A: Adapter>(
    adapter: A,
    config: &Config,
    phase: Phase,
) -> Result<(Tally, f64), String> {
    let mut per_thread: Vec<Vec<Conn>> = (0..config.threads).map(|_| Vec::new()).collect();
    let pipeline = match phase {
        Phase::Prefill => PREFILL_PIPELINE.max(config.pipeline),
        Phase::Measure => config.pipeline,
    };
    for index in 0..config.connections {
        let stream = conn::connect(&config.target, CONNECT_TIMEOUT)
            .map_err(|e| format!("connecting to {}: {e}", config.target))?;
        per_thread[index % config.threads].push(Conn::new(stream, pipeline));
    }
    let zipf = (phase == Phase::Measure && config.distribution == Distribution::Zipf)
        .then(|| Zipf::new(config.keys, config.zipf_theta));
    let values = value_bytes(config.value_size.max_bytes);
    let progress = Progress::default();
    let start = Instant::now();
    let (duration, interval) = match phase {
        Phase::Prefill => (config.prefill_timeout, None),
        Phase::Measure => (
            config.duration,
            config
                .rate_per_s
                .map(|rate| Duration::from_secs_f64(config.connections as f64 / rate)),
        ),
    };
    let plan = Plan {
        pipeline,
        start,
        deadline: start + duration,
        interval,
        key_size_bytes: config.key_size_bytes,
    };
    let results = std::thread::scope(|scope| {
        let handles: Vec<_> = per_thread
            .into_iter()
            .enumerate()
            .map(|(thread, conns)| {
                let generator = match phase {
                    Phase::Prefill => Generator::prefill(config, thread, config.threads),
                    Phase::Measure => Generator::new(config, zipf, thread, config.threads),
                };
                let (values, progress) = (&values[..], &progress);
                scope.spawn(move || {
                    runner::run_thread(adapter, conns, generator, plan, values, progress)
                })
            })
            .collect();
        watch(&handles, &progress, start, phase, config.quiet);
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| "a client thread panicked".to_string())?
            })
            .collect::<Result<Vec<_>, String>>()
    })?;
    let mut tally = Tally::new();
    let mut finished = start;
    for result in results {
        finished = finished.max(result.finished);
        tally.merge(result.tally);
    }
    Ok((tally, (finished - start).as_secs_f64()))
}

/// Prints a progress line each second until every worker has finished.
fn watch<T>(
    handles: &[std::thread::ScopedJoinHandle<'_, T>],
    progress: &Progress,
    start: Instant,
    phase: Phase,
    quiet: bool,
) {
    let mut last_print = start;
    let mut last_completed = 0;
    while !handles.iter().all(|h| h.is_finished()) {
        std::thread::sleep(WATCH_INTERVAL);
        let now = Instant::now();
        if quiet || now - last_print < PROGRESS_INTERVAL {
            continue;
        }
        let completed = progress.completed.load(Ordering::Relaxed);
        let rate = (completed - last_completed) as f64 / (now - last_print).as_secs_f64();
        eprintln!(
            "[{phase:?}] {:>5.1} s  {rate:>10.0} ops/s  {completed:>10} done  {} errors",
            (now - start).as_secs_f64(),
            progress.errors.load(Ordering::Relaxed)
        );
        last_print = now;
        last_completed = completed;
    }
}

/// The bytes every SET's value is sliced from: printable, not all equal (so
/// nothing along the way can shortcut a run of one byte).
fn value_bytes(max_bytes: usize) -> Vec<u8> {
    (0..max_bytes).map(|i| b'a' + (i % 26) as u8).collect()
}
