//! No allocation is ever sized by a length a client declared (RELIABILITY.md
//! A1): the server runs in this process under a counting global allocator,
//! and while hostile headers arrive the largest single allocation stays
//! within the loop's own read buffer.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use blink_store::config::{Cli, Config};
use blink_store::logging::LogCounters;
use blink_store::server::buffers::LENT_BUFFER_BYTES;
use blink_store::server::{Exit, Server};
use blink_store::stats;
use clap::Parser;

/// Records the largest allocation made while `WATCHING` is set.
struct Counting;

static WATCHING: AtomicBool = AtomicBool::new(false);
static LARGEST_BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call forwards to the system allocator unchanged; the
// bookkeeping only reads the requested size.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: same layout, same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: `ptr` came from `System` with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn note(bytes: usize) {
    if WATCHING.load(Ordering::Relaxed) {
        LARGEST_BYTES.fetch_max(bytes, Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[test]
fn hostile_headers_never_size_an_allocation() {
    let cli = Cli::try_parse_from([
        "blink-store",
        "--tcp",
        "127.0.0.1:0",
        "--log-level",
        "error",
    ])
    .unwrap();
    let config = Config::validate(cli, None).unwrap();
    let server = Server::bind(config, stats::shared_snapshot(), LogCounters::default()).unwrap();
    let ready = server.ready_line();
    let addr = ready.trim_start_matches("ready tcp ").to_owned();
    let loop_thread = std::thread::spawn(move || server.run());

    // Warm up: the first connection allocates the loop's lent buffers.
    let mut warm = TcpStream::connect(&addr).unwrap();
    warm.write_all(&[0, 0, 0, 1, 0x01]).unwrap();
    let mut reply = [0u8; 5];
    warm.read_exact(&mut reply).unwrap();

    WATCHING.store(true, Ordering::SeqCst);
    for header in [
        0xFFFF_FFFFu32,
        0x8000_0000,
        0x1FFF_FFFF,
        1 << 28,
        0x0110_0000,
    ] {
        for _ in 0..50 {
            let mut stream = TcpStream::connect(&addr).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            stream.write_all(&header.to_be_bytes()).unwrap();
            // Part of a body, as an attacker would trickle it.
            let _ = stream.write_all(&[0x11; 1000]);
            let mut sink = Vec::new();
            // The server replies and closes; EOF or a reset both end this.
            let _ = stream.read_to_end(&mut sink);
        }
    }
    WATCHING.store(false, Ordering::SeqCst);
    let largest_bytes = LARGEST_BYTES.load(Ordering::SeqCst);
    eprintln!("largest allocation during the attack: {largest_bytes} bytes");
    assert!(
        largest_bytes <= LENT_BUFFER_BYTES,
        "an allocation of {largest_bytes} bytes during the attack (read buffer {LENT_BUFFER_BYTES})"
    );

    // SAFETY: raising SIGTERM in our own process; the server's handler turns it into a drain.
    unsafe { libc::raise(libc::SIGTERM) };
    assert_eq!(loop_thread.join().unwrap().unwrap(), Exit::Clean);
}
