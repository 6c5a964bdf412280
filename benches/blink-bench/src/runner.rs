//! The client event loop: one mio `Poll` over one thread's connections.
//!
//! Closed loop: a connection sends `pipeline` requests in one write and the
//! next batch once every reply of the batch is back (redis-benchmark's `-P`
//! behaviour, so the two agree); latency runs from the batch's send.
//!
//! Open loop: each connection owns a fixed schedule (`connections / rate`
//! seconds apart, staggered across connections). A request whose time has
//! come is sent as soon as the connection has fewer than `pipeline`
//! outstanding, and its latency runs from its *intended* send time, so a
//! stalled server shows up as tail latency instead of silently lowering the
//! request rate (coordinated omission). A [`Timer`] (timerfd) wakes the poll
//! at the next scheduled send, since epoll's own timeout is whole
//! milliseconds and lateness of the client would count as server latency.
//!
//! Every loop is bounded by the deadline; a failed connection is counted,
//! reported once, and dropped while the others go on.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};

use crate::adapter::Adapter;
use crate::conn::{Conn, ConnError};
use crate::report::Tally;
use crate::timer::Timer;
use crate::workload::{Generator, Op, write_key};

/// Token of the open-loop timer, outside the connection index range.
const TIMER_TOKEN: Token = Token(usize::MAX);
/// Longest single poll: stop conditions are rechecked at least this often.
const POLL_MAX: Duration = Duration::from_millis(100);
/// Events drained per poll call; more wait for the next call.
const EVENTS_CAPACITY: usize = 1024;

/// Counters the main thread reads for the progress line.
#[derive(Debug, Default)]
pub struct Progress {
    /// Replies received so far, all threads.
    pub completed: AtomicU64,
    /// Error replies and failed connections so far, all threads.
    pub errors: AtomicU64,
}

/// How one phase runs, the same for every thread.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Requests in flight per connection.
    pub pipeline: usize,
    /// Start of the phase, shared by all threads.
    pub start: Instant,
    /// No request is sent, and no reply counted, after this.
    pub deadline: Instant,
    /// Open loop: time between two sends on one connection.
    pub interval: Option<Duration>,
    /// Length of every key.
    pub key_size_bytes: usize,
}

/// What one thread measured, and when it stopped.
#[derive(Debug)]
pub struct ThreadResult {
    /// Counts and latencies.
    pub tally: Tally,
    /// When the loop ended (deadline, budget spent, or all connections lost).
    pub finished: Instant,
}

/// One thread's loop state.
struct Worker<'a, A> {
    adapter: A,
    plan: Plan,
    conns: Vec<Option<Conn>>,
    next_due: Vec<Instant>,
    generator: Generator,
    exhausted: bool,
    key: Vec<u8>,
    values: &'a [u8],
    tally: Tally,
    progress: &'a Progress,
}

/// Runs one thread's share of a phase to its end.
pub fn run_thread<A: Adapter>(
    adapter: A,
    conns: Vec<Conn>,
    generator: Generator,
    plan: Plan,
    values: &[u8],
    progress: &Progress,
) -> Result<ThreadResult, String> {
    let count = conns.len();
    let stagger = plan.interval.unwrap_or_default() / count.max(1) as u32;
    let mut worker = Worker {
        adapter,
        plan,
        conns: conns.into_iter().map(Some).collect(),
        next_due: (0..count)
            .map(|i| plan.start + stagger * i as u32)
            .collect(),
        generator,
        exhausted: false,
        key: vec![0; plan.key_size_bytes],
        values,
        tally: Tally::new(),
        progress,
    };
    let poll = Poll::new().map_err(|e| format!("creating the poll: {e}"))?;
    for (index, conn) in worker.conns.iter_mut().flatten().enumerate() {
        poll.registry()
            .register(
                conn.stream_mut(),
                Token(index),
                Interest::READABLE | Interest::WRITABLE,
            )
            .map_err(|e| format!("registering a connection: {e}"))?;
    }
    let timer = match plan.interval {
        Some(_) => {
            let mut timer = Timer::new().map_err(|e| format!("creating the send timer: {e}"))?;
            poll.registry()
                .register(&mut timer, TIMER_TOKEN, Interest::READABLE)
                .map_err(|e| format!("registering the send timer: {e}"))?;
            Some(timer)
        }
        None => None,
    };
    worker.run(poll, timer)
}

impl<A: Adapter> Worker<'_, A> {
    fn run(mut self, mut poll: Poll, mut timer: Option<Timer>) -> Result<ThreadResult, String> {
        let mut events = Events::with_capacity(EVENTS_CAPACITY);
        let mut armed_for: Option<Instant> = None;
        for index in 0..self.conns.len() {
            self.service(index, false);
        }
        loop {
            let now = Instant::now();
            if now >= self.plan.deadline || self.done() {
                break;
            }
            // Re-arm only when the next send moved: one syscall per change,
            // not per wake-up.
            let next_send = self.next_send();
            if let (Some(timer), Some(due)) = (&timer, next_send)
                && armed_for != next_send
            {
                timer
                    .arm_after(due.saturating_duration_since(now))
                    .map_err(|e| format!("arming the send timer: {e}"))?;
                armed_for = next_send;
            }
            let timeout = (self.plan.deadline - now).min(POLL_MAX);
            if let Err(e) = poll.poll(&mut events, Some(timeout)) {
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(format!("poll failed: {e}"));
            }
            for event in events.iter() {
                if event.token() == TIMER_TOKEN {
                    if let Some(timer) = timer.as_mut() {
                        timer.clear();
                    }
                    armed_for = None;
                    continue;
                }
                // Tokens of dropped connections are skipped inside service().
                let readable = event.is_readable() || event.is_read_closed() || event.is_error();
                self.service(event.token().0, readable);
            }
            if self.plan.interval.is_some() {
                for index in 0..self.conns.len() {
                    self.service(index, false);
                }
            }
        }
        self.tally.in_flight_at_stop = self
            .conns
            .iter()
            .flatten()
            .map(Conn::in_flight)
            .sum::<usize>() as u64;
        Ok(ThreadResult {
            tally: self.tally,
            finished: Instant::now().min(self.plan.deadline),
        })
    }

    /// Nothing more to send and nothing outstanding, or nobody left.
    fn done(&self) -> bool {
        let mut live = self.conns.iter().flatten().peekable();
        live.peek().is_none() || (self.exhausted && live.all(|c| c.in_flight() == 0))
    }

    /// Open loop: the earliest scheduled send of a connection with room
    /// for it, if any is still to come.
    fn next_send(&self) -> Option<Instant> {
        if self.exhausted {
            return None;
        }
        self.conns
            .iter()
            .zip(&self.next_due)
            .filter(|(conn, due)| {
                **due < self.plan.deadline
                    && conn
                        .as_ref()
                        .is_some_and(|c| c.in_flight() < self.plan.pipeline)
            })
            .map(|(_, due)| *due)
            .min()
    }

    /// Reads replies (when `readable`), sends what is due, flushes; a
    /// failure drops the connection and is counted.
    fn service(&mut self, index: usize, readable: bool) {
        let Some(Some(conn)) = self.conns.get_mut(index) else {
            return;
        };
        let now = Instant::now();
        let before = self.tally.completed();
        let errors_before = self.tally.error_replies;
        let tally = &mut self.tally;
        let mut result = if readable {
            conn.receive(self.adapter, |pending, outcome| {
                tally.record(pending, outcome, now)
            })
        } else {
            Ok(())
        };
        if result.is_ok() {
            self.issue(index, now);
            result = self.conns[index].as_mut().map_or(Ok(()), Conn::flush);
        }
        self.progress
            .completed
            .fetch_add(self.tally.completed() - before, Ordering::Relaxed);
        let mut new_errors = self.tally.error_replies - errors_before;
        if let Err(e) = result {
            self.drop_conn(index, &e);
            new_errors += 1;
        }
        if new_errors > 0 {
            self.progress
                .errors
                .fetch_add(new_errors, Ordering::Relaxed);
        }
    }

    fn drop_conn(&mut self, index: usize, error: &ConnError) {
        self.conns[index] = None;
        self.tally.conn_errors += 1;
        if self.tally.first_error.is_none() {
            self.tally.first_error = Some(error.to_string());
        }
    }

    /// Queues the requests connection `index` should send at `now`.
    fn issue(&mut self, index: usize, now: Instant) {
        match self.plan.interval {
            None => {
                if self.conns[index]
                    .as_ref()
                    .is_some_and(|c| c.in_flight() == 0)
                {
                    for _ in 0..self.plan.pipeline {
                        if !self.queue_next(index, now) {
                            break;
                        }
                    }
                }
            }
            Some(interval) => {
                while self.conns[index]
                    .as_ref()
                    .is_some_and(|c| c.in_flight() < self.plan.pipeline)
                    && self.next_due[index] <= now
                    && self.next_due[index] < self.plan.deadline
                {
                    if !self.queue_next(index, self.next_due[index]) {
                        break;
                    }
                    self.next_due[index] += interval;
                }
            }
        }
    }

    /// Encodes the generator's next request on connection `index`; false
    /// once the generator is spent.
    fn queue_next(&mut self, index: usize, start: Instant) -> bool {
        let Some(planned) = self.generator.next_request() else {
            self.exhausted = true;
            return false;
        };
        let Some(conn) = self.conns[index].as_mut() else {
            return false;
        };
        write_key(planned.key_id, &mut self.key);
        let (adapter, key) = (self.adapter, &self.key[..]);
        match planned.op {
            Op::Get => conn.queue(Op::Get, start, |out| adapter.encode_get(key, out)),
            Op::Set => {
                let value = &self.values[..planned.value_bytes];
                conn.queue(Op::Set, start, |out| adapter.encode_set(key, value, out));
                self.tally.value_bytes_sent += planned.value_bytes as u64;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::resp::Resp;
    use crate::cli::{Cli, Config, Target};

    use clap::Parser;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// A RESP stand-in on a thread: answers `*3` (SET) with `+OK` and `*2`
    /// (GET) with a miss. Values are lowercase letters, so the markers
    /// cannot appear inside them. Serves one connection, then exits.
    fn fake_redis() -> std::net::SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut socket, _) = listener.accept().unwrap();
            let mut buf = [0u8; 65536];
            let mut carry = Vec::new();
            while let Ok(n) = socket.read(&mut buf) {
                if n == 0 {
                    return;
                }
                carry.extend_from_slice(&buf[..n]);
                let mut reply = Vec::new();
                let mut at = 0;
                while let Some(found) = memchr::memmem::find(&carry[at..], b"\r\n$3\r\n") {
                    let start = at + found;
                    reply.extend_from_slice(if carry[start - 1] == b'3' {
                        b"+OK\r\n"
                    } else {
                        b"$-1\r\n"
                    });
                    at = start + 1;
                }
                carry.drain(..at);
                if socket.write_all(&reply).is_err() {
                    return;
                }
            }
        });
        addr
    }

    fn run(args: &[&str]) -> ThreadResult {
        let addr = fake_redis();
        let mut argv = vec![
            "blink-bench",
            "--protocol",
            "resp",
            "--connections",
            "1",
            "--keys",
            "100",
        ];
        argv.extend_from_slice(args);
        let config = Config::from_cli(Cli::parse_from(argv)).unwrap();
        let target = Target::Tcp(addr);
        let conn = Conn::new(
            crate::conn::connect(&target, Duration::from_secs(5)).unwrap(),
            config.pipeline,
        );
        let start = Instant::now();
        let plan = Plan {
            pipeline: config.pipeline,
            start,
            deadline: start + config.duration,
            interval: config
                .rate_per_s
                .map(|rate| Duration::from_secs_f64(1.0 / rate)),
            key_size_bytes: config.key_size_bytes,
        };
        let generator = Generator::new(&config, None, 0, 1);
        let values = vec![b'v'; config.value_size.max_bytes];
        run_thread(
            Resp,
            vec![conn],
            generator,
            plan,
            &values,
            &Progress::default(),
        )
        .unwrap()
    }

    #[test]
    fn closed_loop_completes_the_request_budget() {
        let result = run(&[
            "--pipeline",
            "8",
            "--requests",
            "1000",
            "--ratio",
            "1:1",
            "--duration-s",
            "10",
        ]);
        let tally = result.tally;
        assert_eq!(tally.completed(), 1000);
        assert_eq!(tally.hits, 0);
        assert_eq!(tally.misses, tally.gets);
        assert!(
            tally.sets > 400 && tally.gets > 400,
            "{} sets, {} gets",
            tally.sets,
            tally.gets
        );
        assert_eq!(
            (
                tally.error_replies,
                tally.conn_errors,
                tally.in_flight_at_stop
            ),
            (0, 0, 0)
        );
        assert_eq!(tally.latency_ns.len(), 1000);
    }

    #[test]
    fn open_loop_keeps_its_rate_and_stops_at_the_deadline() {
        let started = Instant::now();
        let result = run(&["--rate", "2000", "--pipeline", "4", "--duration-s", "0.5"]);
        assert!(started.elapsed() < Duration::from_secs(2));
        let completed = result.tally.completed();
        assert!(
            (800..=1001).contains(&completed),
            "{completed} requests at 2000/s for 0.5 s"
        );
        assert_eq!(result.tally.conn_errors, 0);
    }
}
