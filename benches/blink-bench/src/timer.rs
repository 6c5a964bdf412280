//! A one-shot `timerfd` registered with mio: the open-loop send schedule.
//!
//! `epoll_wait` takes its timeout in whole milliseconds (mio rounds up), so
//! sleeping in `poll` until the next scheduled send would start requests up
//! to a millisecond late, and an open-loop run measures latency from the
//! intended send time, so that lateness would show up as server latency.
//! Spinning on a zero timeout instead keeps the client runnable all the
//! time, and on a shared machine the scheduler then runs it *later* after
//! each reply than a sleeper. A timerfd makes the poll itself wake at the
//! scheduled instant with hrtimer (microsecond) precision.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use mio::event::Source;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

/// A non-blocking, one-shot monotonic timer.
#[derive(Debug)]
pub struct Timer {
    file: File,
}

impl Timer {
    /// A disarmed timer.
    pub fn new() -> io::Result<Timer> {
        // SAFETY: timerfd_create takes no pointers; the result is checked.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor that nothing else owns.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Timer {
            file: File::from(owned),
        })
    }

    /// Fires once, `delay` from now (a zero delay fires at once).
    pub fn arm_after(&self, delay: Duration) -> io::Result<()> {
        // A zero it_value would disarm the timer: fire after 1 ns instead.
        let delay = delay.max(Duration::from_nanos(1));
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: libc::time_t::try_from(delay.as_secs()).unwrap_or(libc::time_t::MAX),
                tv_nsec: delay.subsec_nanos() as libc::c_long,
            },
        };
        // SAFETY: `spec` is a valid itimerspec for the call's duration; the
        // old-value pointer may be null.
        let rc =
            unsafe { libc::timerfd_settime(self.file.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// Consumes an expiry so the next one raises a new readiness edge.
    pub fn clear(&mut self) {
        let mut expirations = [0u8; 8];
        // WouldBlock (not expired yet, a spurious event) needs no handling.
        let _ = self.file.read(&mut expirations);
    }
}

impl Source for Timer {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        SourceFd(&self.file.as_raw_fd()).register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        SourceFd(&self.file.as_raw_fd()).reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        SourceFd(&self.file.as_raw_fd()).deregister(registry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mio::{Events, Poll};
    use std::time::Instant;

    #[test]
    fn wakes_the_poll_with_sub_millisecond_precision() {
        let mut poll = Poll::new().unwrap();
        let mut timer = Timer::new().unwrap();
        poll.registry()
            .register(&mut timer, Token(7), Interest::READABLE)
            .unwrap();
        let mut events = Events::with_capacity(4);
        let start = Instant::now();
        timer.arm_after(Duration::from_micros(300)).unwrap();
        poll.poll(&mut events, Some(Duration::from_secs(5)))
            .unwrap();
        let waited = start.elapsed();
        assert_eq!(events.iter().next().map(|e| e.token()), Some(Token(7)));
        assert!(waited >= Duration::from_micros(300), "{waited:?}");
        assert!(waited < Duration::from_secs(1), "{waited:?}");
        timer.clear();
    }
}
