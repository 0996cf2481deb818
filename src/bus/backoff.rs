//! Capped exponential backoff with jitter.

use rand::Rng;
use std::time::Duration;

/// Delays `min·2ⁿ` capped at `max`, each drawn uniformly from its upper
/// half so that many clients do not reconnect in lockstep.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Backoff {
        let min = min.max(Duration::from_millis(1));
        Backoff {
            min,
            max: max.max(min),
            attempt: 0,
        }
    }

    /// The next delay; each call doubles the ceiling until `max`.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self
            .min
            .saturating_mul(1u32 << self.attempt.min(20))
            .min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        let hi = ceiling.as_millis() as u64;
        let lo = hi / 2;
        Duration::from_millis(rand::rng().random_range(lo..=hi))
    }

    /// Back to the first delay (after a success).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// Reset only if a connection lived long enough to count as working
    /// ([`STABLE`]); a server that accepts and then fails every command
    /// still backs off.
    pub fn reset_if_stable(&mut self, lived: Duration) {
        if lived >= STABLE {
            self.reset();
        }
    }
}

/// How long a connection must live to reset the backoff.
pub const STABLE: Duration = Duration::from_secs(2);

/// Whole seconds for "retrying in Ns", rounded up so 300 ms shows as 1.
pub fn secs_ceil(d: Duration) -> u64 {
    d.as_millis().div_ceil(1000) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_with_jitter_and_caps() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        let d: Vec<u128> = (0..10).map(|_| b.next_delay().as_millis()).collect();
        assert!((50..=100).contains(&d[0]), "{d:?}");
        assert!((100..=200).contains(&d[1]), "{d:?}");
        assert!((200..=400).contains(&d[2]), "{d:?}");
        for x in &d[5..] {
            assert!((1000..=2000).contains(x), "{d:?}");
        }
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
        assert_eq!(secs_ceil(Duration::from_millis(300)), 1);
        assert_eq!(secs_ceil(Duration::from_millis(2000)), 2);
    }

    #[test]
    fn only_a_stable_connection_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(60));
        for _ in 0..4 {
            b.next_delay();
        }
        b.reset_if_stable(Duration::from_millis(50));
        assert!(b.next_delay() >= Duration::from_millis(800), "kept growing");
        b.reset_if_stable(STABLE);
        assert!(b.next_delay() <= Duration::from_millis(100));
    }

    #[test]
    fn jitter_varies() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..50 {
            let mut b = Backoff::new(Duration::from_millis(1000), Duration::from_secs(10));
            seen.insert(b.next_delay());
        }
        assert!(seen.len() > 5);
    }
}
