//! Shutdown requests, delivered into the event loop as readiness on one
//! token, so the single reactor thread stays the only one that acts on them.
//!
//! - Unix: `SIGTERM` and `SIGINT` through signal-hook's self-pipe, which mio
//!   polls like any socket.
//! - Windows: the console control handler (Ctrl-C, Ctrl-Break, the console
//!   closing, logoff, system shutdown; a service wrapper stopping the
//!   process sends one of these). Windows runs the handler on a thread of its
//!   own; that thread only counts the request and wakes the loop through a
//!   [`mio::Waker`], so nothing else crosses threads. Windows ends the
//!   process once the handler returns for the close, logoff and shutdown
//!   events, so for those the drain is cut short; Ctrl-C and Ctrl-Break get
//!   the full drain.
//!
//! Either way the loop asks [`ShutdownRequests::take_pending`] how many
//! requests arrived since it last asked: one starts a drain, a second
//! forces the exit.

use std::io;

use mio::{Registry, Token};

/// The shutdown requests the loop polls for.
pub struct ShutdownRequests {
    #[cfg(unix)]
    signals: signal_hook_mio::v1_0::Signals,
    /// Requests counted by the console handler that the loop has seen.
    #[cfg(windows)]
    seen_count: usize,
}

#[cfg(unix)]
impl ShutdownRequests {
    /// Starts listening for `SIGTERM` and `SIGINT`, readable on `token`.
    pub fn register(registry: &Registry, token: Token) -> io::Result<ShutdownRequests> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let mut signals = signal_hook_mio::v1_0::Signals::new([SIGTERM, SIGINT])?;
        registry.register(&mut signals, token, mio::Interest::READABLE)?;
        Ok(ShutdownRequests { signals })
    }

    /// Requests that arrived since the last call.
    pub fn take_pending(&mut self) -> usize {
        self.signals.pending().count()
    }
}

#[cfg(windows)]
mod console {
    //! The process-wide state the console control handler reaches.

    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use windows_sys::core::BOOL;

    /// Control events received since the process started.
    pub(super) static REQUEST_COUNT: AtomicUsize = AtomicUsize::new(0);
    /// Wakes the loop; set once, by the one server a process runs.
    pub(super) static WAKER: OnceLock<mio::Waker> = OnceLock::new();

    /// Runs on a thread Windows creates for each control event.
    pub(super) unsafe extern "system" fn on_control_event(_event: u32) -> BOOL {
        REQUEST_COUNT.fetch_add(1, Ordering::SeqCst);
        if let Some(waker) = WAKER.get() {
            // A failed wake leaves the count for the next housekeeping turn.
            let _ = waker.wake();
        }
        // Handled: do not run the default handler, which exits at once.
        1
    }
}

#[cfg(windows)]
impl ShutdownRequests {
    /// Installs the console control handler; the loop wakes on `token`.
    ///
    /// # Errors
    /// If a server already runs in this process (the handler serves one
    /// loop), or Windows refuses the handler.
    pub fn register(registry: &Registry, token: Token) -> io::Result<ShutdownRequests> {
        let waker = mio::Waker::new(registry, token)?;
        console::WAKER.set(waker).map_err(|_| {
            io::Error::new(
                io::ErrorKind::AlreadyExists,
                "one server per process: the console control handler is taken",
            )
        })?;
        // SAFETY: the handler is a plain function that touches only statics.
        let added = unsafe {
            windows_sys::Win32::System::Console::SetConsoleCtrlHandler(
                Some(console::on_control_event),
                1,
            )
        };
        if added == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(ShutdownRequests { seen_count: 0 })
    }

    /// Requests that arrived since the last call.
    pub fn take_pending(&mut self) -> usize {
        let total_count = console::REQUEST_COUNT.load(std::sync::atomic::Ordering::SeqCst);
        let new_count = total_count - self.seen_count;
        self.seen_count = total_count;
        new_count
    }
}
