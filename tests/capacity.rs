//! Many connections and too few file descriptors, against the real server
//! binary (RELIABILITY.md B1 and B3).

mod common;

use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use blink_store::protocol::{Request, Status};
use common::{Client, Options, Server, wait_until};

const OK: u8 = Status::Ok as u8;

/// User plus system CPU time of a process, from /proc.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf has no preconditions.
    let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    Duration::from_millis(ticks * 1000 / ticks_per_second)
}

/// The share of one core (0.0 to 1.0) the server's CPU time took over
/// about a second of wall time, measured against the wall time that really
/// passed. An idle process burns no CPU however loaded the machine is,
/// while a busy loop takes a whole core, or half of one when it shares a
/// loaded 2-core machine: bounds of 5% and 10% keep both cases far apart.
fn cpu_share_over_a_second(pid: u32) -> f64 {
    let (cpu_before, started) = (cpu_time(pid), Instant::now());
    // A measuring window, not a wait for a condition: nothing to await.
    std::thread::sleep(Duration::from_secs(1));
    let cpu = cpu_time(pid) - cpu_before;
    cpu.as_secs_f64() / started.elapsed().as_secs_f64()
}

fn raise_own_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit write and read a plain struct we own.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_max;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
}

#[test]
fn thousands_of_idle_connections_cost_little_memory_and_no_cpu() {
    raise_own_fd_limit();
    const PER_FAMILY: usize = 1_500;
    let server = Server::start(&["--max-connections", "4000"]);
    let rss_before = server.stat("rss_bytes");
    let mut tcp = Vec::with_capacity(PER_FAMILY);
    let mut unix = Vec::with_capacity(PER_FAMILY);
    for _ in 0..PER_FAMILY {
        tcp.push(TcpStream::connect(server.tcp.unwrap()).unwrap());
        unix.push(UnixStream::connect(server.unix.as_ref().unwrap()).unwrap());
    }
    wait_until("every connection is accepted", || {
        server.stat("connections_current") == 2 * PER_FAMILY as u64 + 1
    });
    let rss_after = server.stat("rss_bytes");
    let per_connection = rss_after.saturating_sub(rss_before) / (2 * PER_FAMILY as u64);
    assert!(
        per_connection <= 4096,
        "{per_connection} bytes of RSS per idle connection"
    );
    let share = cpu_share_over_a_second(server.pid());
    assert!(share <= 0.05, "idle server took {share:.3} of a core");
    let mut bystander = server.tcp();
    assert_eq!(bystander.call(&Request::Ping).0, OK);
}

#[test]
fn running_out_of_descriptors_neither_spins_nor_stops_accepting() {
    // Room for the listeners, the poller, logging and a dozen clients.
    let server = Server::start_with(Options {
        rlimit_nofile: Some(32),
        ..Options::default()
    });
    // Accepted first, so it can read STATS while the server is out of descriptors.
    let mut control = server.unix();
    assert_eq!(control.call(&Request::Ping).0, OK);
    let mut clients: Vec<TcpStream> = Vec::new();
    for _ in 0..60 {
        // The kernel completes handshakes into the backlog even when the server cannot accept.
        clients.push(TcpStream::connect(server.tcp.unwrap()).unwrap());
    }
    wait_until("accept hits the descriptor limit", || {
        common::stat(&control.stats(), "accept_errors") > 0
    });
    let share = cpu_share_over_a_second(server.pid());
    assert!(
        share <= 0.10,
        "server took {share:.3} of a core while out of fds"
    );
    let waiting = clients.split_off(40);
    drop(clients);
    // The connections that were stuck in the backlog are now served.
    let started = Instant::now();
    for stream in waiting {
        stream.set_read_timeout(Some(common::PATIENCE)).unwrap();
        let mut client = Client::new(Box::new(stream));
        assert_eq!(client.call(&Request::Ping).0, OK);
    }
    assert!(started.elapsed() < common::PATIENCE);
}
