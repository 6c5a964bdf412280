//! What to send next: operation, key and value size.
//!
//! Owns the pseudo-random source ([`SplitMix64`]), the Zipf sampler and the
//! per-thread [`Generator`] that turns a [`Config`] into a stream of
//! [`Planned`] requests until a request budget or a sequential key range runs
//! out.
//!
//! The PRNG is a 10-line SplitMix64 rather than the `rand` crate: the
//! generator needs only speed (one multiply-xorshift per draw, no state
//! beyond a `u64`) and reproducibility from `--seed`, not cryptographic or
//! statistical-suite quality, and it keeps the dependency tree small.

use crate::cli::{Config, Distribution, KEY_PREFIX, Ratio, SizeRange};

/// SplitMix64 (Steele, Lea, Flood 2014): passes BigCrush, one add and a
/// mixing function per draw.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose sequence is fixed by `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A draw from `0..bound` (Lemire's multiply-shift; bias below 2^-32 for
    /// any bound used here). `bound` must be non-zero.
    pub fn below(&mut self, bound: u64) -> u64 {
        debug_assert!(bound > 0);
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }

    /// A draw from `[0, 1)` with 53 bits of precision.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// Zipfian sampler over `0..n` with exponent `theta` in (0, 1), after Gray
/// et al., "Quickly generating billion-record synthetic databases" (SIGMOD
/// 1994), the generator YCSB uses. Rank 0 is the most frequent.
///
/// Construction sums `n` powers (about 10 ms per million keys); sampling is
/// O(1). The struct is plain data so every thread gets a copy.
#[derive(Clone, Copy, Debug)]
pub struct Zipf {
    n: u64,
    theta: f64,
    alpha: f64,
    zeta_n: f64,
    eta: f64,
}

impl Zipf {
    /// A sampler over `0..n`; `n >= 1` and `0 < theta < 1`.
    pub fn new(n: u64, theta: f64) -> Zipf {
        assert!(n >= 1 && theta > 0.0 && theta < 1.0);
        let zeta_n = zeta(n, theta);
        let zeta_2 = zeta(2.min(n), theta);
        let eta = if n <= 2 {
            0.0
        } else {
            (1.0 - (2.0 / n as f64).powf(1.0 - theta)) / (1.0 - zeta_2 / zeta_n)
        };
        Zipf {
            n,
            theta,
            alpha: 1.0 / (1.0 - theta),
            zeta_n,
            eta,
        }
    }

    /// One draw from `0..n`.
    pub fn sample(&self, rng: &mut SplitMix64) -> u64 {
        let u = rng.unit();
        let uz = u * self.zeta_n;
        if uz < 1.0 || self.n == 1 {
            return 0;
        }
        if uz < 1.0 + 0.5f64.powf(self.theta) {
            return 1;
        }
        let rank = self.n as f64 * (self.eta * u - self.eta + 1.0).powf(self.alpha);
        (rank as u64).min(self.n - 1)
    }
}

/// Generalised harmonic number `sum_{i=1..n} 1 / i^theta`.
fn zeta(n: u64, theta: f64) -> f64 {
    (1..=n).map(|i| 1.0 / (i as f64).powf(theta)).sum()
}

/// Writes key `id` into `key`: [`KEY_PREFIX`] then `id` in decimal,
/// zero-padded to fill the buffer (so `key:000000000042` for 16 bytes, the
/// same name redis-benchmark's `key:__rand_int__` produces).
pub fn write_key(id: u64, key: &mut [u8]) {
    let (prefix, digits) = key.split_at_mut(KEY_PREFIX.len());
    prefix.copy_from_slice(KEY_PREFIX);
    let mut rest = id;
    for digit in digits.iter_mut().rev() {
        *digit = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    debug_assert_eq!(rest, 0, "key width checked in Config::from_cli");
}

/// The operation of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Read one key.
    Get,
    /// Write one key.
    Set,
}

/// One request to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Planned {
    /// GET or SET.
    pub op: Op,
    /// Key number in `0..keys`.
    pub key_id: u64,
    /// Value length for a SET; 0 for a GET.
    pub value_bytes: usize,
}

/// Where keys come from.
#[derive(Clone, Copy, Debug)]
enum KeySource {
    Uniform {
        keys: u64,
    },
    Zipf(Zipf),
    /// The half-open range still to hand out, in order.
    Sequential {
        next: u64,
        end: u64,
    },
}

/// One client thread's request stream.
#[derive(Clone, Debug)]
pub struct Generator {
    rng: SplitMix64,
    keys: KeySource,
    ratio: Ratio,
    value_size: SizeRange,
    remaining: Option<u64>,
}

impl Generator {
    /// The stream of thread `thread` of `threads` for the measured run.
    /// `zipf` is built once by the caller (its construction is O(keys)).
    /// The request budget and a sequential key space are split evenly.
    pub fn new(config: &Config, zipf: Option<Zipf>, thread: usize, threads: usize) -> Generator {
        let keys = match config.distribution {
            Distribution::Uniform => KeySource::Uniform { keys: config.keys },
            Distribution::Zipf => KeySource::Zipf(zipf.expect("zipf sampler built for zipf runs")),
            Distribution::Sequential => sequential_share(config.keys, thread, threads),
        };
        Generator {
            rng: SplitMix64::new(seed_for(config.seed, thread)),
            keys,
            ratio: config.ratio,
            value_size: config.value_size,
            remaining: config.requests.map(|total| share(total, thread, threads)),
        }
    }

    /// The prefill stream of thread `thread`: every key of its share once,
    /// SET only.
    pub fn prefill(config: &Config, thread: usize, threads: usize) -> Generator {
        Generator {
            rng: SplitMix64::new(seed_for(config.seed, thread) ^ 0x5eed),
            keys: sequential_share(config.keys, thread, threads),
            ratio: Ratio { set: 1, get: 0 },
            value_size: config.value_size,
            remaining: None,
        }
    }

    /// The next request, or `None` once the budget or key range is spent.
    pub fn next_request(&mut self) -> Option<Planned> {
        if let Some(remaining) = &mut self.remaining {
            *remaining = remaining.checked_sub(1)?;
        }
        let key_id = match &mut self.keys {
            KeySource::Uniform { keys } => self.rng.below(*keys),
            KeySource::Zipf(zipf) => zipf.sample(&mut self.rng),
            KeySource::Sequential { next, end } => {
                if *next >= *end {
                    return None;
                }
                *next += 1;
                *next - 1
            }
        };
        let weights = u64::from(self.ratio.set) + u64::from(self.ratio.get);
        if self.rng.below(weights) < u64::from(self.ratio.set) {
            let span = (self.value_size.max_bytes - self.value_size.min_bytes) as u64;
            let value_bytes = self.value_size.min_bytes + self.rng.below(span + 1) as usize;
            Some(Planned {
                op: Op::Set,
                key_id,
                value_bytes,
            })
        } else {
            Some(Planned {
                op: Op::Get,
                key_id,
                value_bytes: 0,
            })
        }
    }
}

/// Distinct, reproducible seeds per thread.
fn seed_for(seed: u64, thread: usize) -> u64 {
    SplitMix64::new(seed ^ (thread as u64).wrapping_mul(0x9e37_79b9)).next_u64()
}

/// Thread `thread`'s part of `total` when split `threads` ways (the parts
/// add up to `total` exactly).
fn share(total: u64, thread: usize, threads: usize) -> u64 {
    let (start, end) = bounds(total, thread, threads);
    end - start
}

fn bounds(total: u64, thread: usize, threads: usize) -> (u64, u64) {
    let at = |i: usize| (u128::from(total) * i as u128 / threads as u128) as u64;
    (at(thread), at(thread + 1))
}

fn sequential_share(keys: u64, thread: usize, threads: usize) -> KeySource {
    let (next, end) = bounds(keys, thread, threads);
    KeySource::Sequential { next, end }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_redis_benchmark_names() {
        let mut key = [0u8; 16];
        write_key(42, &mut key);
        assert_eq!(&key, b"key:000000000042");
        write_key(999_999_999_999, &mut key);
        assert_eq!(&key, b"key:999999999999");
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut rng = SplitMix64::new(7);
        let mut seen = [0u32; 10];
        for _ in 0..100_000 {
            seen[rng.below(10) as usize] += 1;
        }
        for count in seen {
            assert!((9_000..11_000).contains(&count), "{seen:?}");
        }
    }

    #[test]
    fn zipf_matches_its_distribution() {
        // Gray's sampler is exact for ranks 0 and 1 and a continuous
        // approximation beyond, so the checks are: the two head ranks, the
        // cumulative mass of the head, and monotone deciles.
        let n = 1000;
        let theta = 0.99;
        let zipf = Zipf::new(n, theta);
        let mut rng = SplitMix64::new(1);
        let draws = 1_000_000u64;
        let mut counts = vec![0u64; n as usize];
        for _ in 0..draws {
            counts[zipf.sample(&mut rng) as usize] += 1;
        }
        let zeta_n = zeta(n, theta);
        let within = |observed: u64, p: f64, tolerance: f64| {
            let expected = draws as f64 * p;
            (observed as f64 - expected).abs() / expected < tolerance
        };
        for rank in 0..2u64 {
            let p = 1.0 / ((rank + 1) as f64).powf(theta) / zeta_n;
            assert!(
                within(counts[rank as usize], p, 0.02),
                "rank {rank}: {}",
                counts[rank as usize]
            );
        }
        for head in [10u64, 100, 500] {
            let observed: u64 = counts[..head as usize].iter().sum();
            assert!(
                within(observed, zeta(head, theta) / zeta_n, 0.05),
                "top {head}: {observed}"
            );
        }
        let deciles: Vec<u64> = counts.chunks(100).map(|c| c.iter().sum()).collect();
        assert!(deciles.windows(2).all(|w| w[0] > w[1]), "{deciles:?}");
        assert!(counts[900..].iter().sum::<u64>() > 0, "the tail is reached");
    }

    #[test]
    fn zipf_handles_tiny_key_spaces() {
        let mut rng = SplitMix64::new(3);
        for n in 1..4 {
            let zipf = Zipf::new(n, 0.5);
            assert!((0..1000).all(|_| zipf.sample(&mut rng) < n));
        }
    }

    #[test]
    fn shares_add_up() {
        for threads in 1..7 {
            let total: u64 = (0..threads).map(|t| share(1_000_003, t, threads)).sum();
            assert_eq!(total, 1_000_003);
        }
    }
}
