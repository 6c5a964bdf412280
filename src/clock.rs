//! The server's monotonic clock in milliseconds since start.
//!
//! The event loop reads it once per turn and passes `now_ms` down to the store
//! and the connection timers, so one turn sees one consistent time and the
//! store stays testable with a manual clock.

use std::time::Instant;

/// Monotonic milliseconds since the clock was created.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    started: Instant,
}

impl Clock {
    /// Starts the clock at zero.
    pub fn start() -> Clock {
        Clock {
            started: Instant::now(),
        }
    }

    /// Milliseconds elapsed since [`Clock::start`]; never decreases.
    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_goes_backwards() {
        let clock = Clock::start();
        let mut last_ms = clock.now_ms();
        for _ in 0..1000 {
            let now_ms = clock.now_ms();
            assert!(now_ms >= last_ms);
            last_ms = now_ms;
        }
    }
}
