//! Exponential backoff with jitter and a cap, for reconnecting after a
//! refused connect, ERR_TOO_MANY_CONNECTIONS, ERR_BUSY or ERR_SHUTTING_DOWN
//! (SPEC §13): `initial · 2ⁿ`, capped at `max`, plus a random `0..jitter`,
//! so a fleet of clients does not reconnect in lockstep.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// A backoff schedule. The defaults follow CLIENTS.md: 50 ms doubling,
/// capped at 2 s, plus up to 200 ms of jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The delay after the first failure.
    pub initial: Duration,
    /// The most the exponential part grows to.
    pub max: Duration,
    /// The random extra added to every delay is below this.
    pub jitter: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(50),
            max: Duration::from_secs(2),
            jitter: Duration::from_millis(200),
        }
    }
}

impl Backoff {
    /// The delay before the next attempt after `failures` consecutive
    /// failures (`failures >= 1`).
    pub fn delay(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        let exponential = self.initial.saturating_mul(1 << doublings).min(self.max);
        exponential + random_below(self.jitter)
    }
}

/// A uniformly spread duration in `0..bound`. std's `RandomState` is seeded
/// per instance from the OS, which is all the randomness jitter needs.
pub(crate) fn random_below(bound: Duration) -> Duration {
    let nanos = bound.as_nanos() as u64;
    if nanos == 0 {
        return Duration::ZERO;
    }
    let random = RandomState::new().build_hasher().finish();
    Duration::from_nanos(random % nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_plus_bounded_jitter() {
        let backoff = Backoff::default();
        for (failures, base_ms) in [
            (1, 50),
            (2, 100),
            (3, 200),
            (6, 1600),
            (7, 2000),
            (99, 2000),
        ] {
            let delay = backoff.delay(failures);
            let base = Duration::from_millis(base_ms);
            assert!(
                delay >= base && delay < base + backoff.jitter,
                "{failures}: {delay:?}"
            );
        }
    }

    #[test]
    fn jitter_spreads_delays() {
        let backoff = Backoff::default();
        let delays: std::collections::HashSet<_> = (0..20).map(|_| backoff.delay(1)).collect();
        assert!(
            delays.len() > 10,
            "jitter produced {} distinct delays",
            delays.len()
        );
    }
}
