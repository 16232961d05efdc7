//! Reconnect timing: RECONNECT_IVL, doubled after each failure up to RECONNECT_IVL_MAX, plus
//! jitter so that many peers of one restarted server do not all come back at once.

use std::time::Duration;

/// The delay before each reconnect attempt.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    base: Duration,
    max: Duration,
    current: Duration,
    seed: u64,
}

impl Backoff {
    /// `max` at or below `base` means no backoff (libzmq's RECONNECT_IVL_MAX = 0).
    pub(crate) fn new(base: Duration, max: Duration, seed: u64) -> Backoff {
        Backoff { base, max, current: base, seed: seed | 1 }
    }

    /// The delay before the next attempt; each call doubles the following one.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let delay = self.current;
        if self.max > self.base {
            self.current = (self.current * 2).min(self.max);
        }
        delay + self.jitter(delay)
    }

    /// A connection got through: start from RECONNECT_IVL again.
    pub(crate) fn reset(&mut self) {
        self.current = self.base;
    }

    /// Up to a tenth of `delay`, from a xorshift generator (no need for a real RNG here).
    fn jitter(&mut self, delay: Duration) -> Duration {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        let tenth = delay.as_micros() as u64 / 10;
        if tenth == 0 {
            return Duration::ZERO;
        }
        Duration::from_micros(self.seed % tenth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn doubles_up_to_the_maximum_and_resets() {
        let mut b = Backoff::new(ms(100), ms(1000), 42);
        let delays: Vec<Duration> = (0..6).map(|_| b.next_delay()).collect();
        let floors = [100, 200, 400, 800, 1000, 1000];
        for (d, f) in delays.iter().zip(floors) {
            assert!(*d >= ms(f) && *d <= ms(f) + ms(f) / 10, "{d:?} vs {f}");
        }
        b.reset();
        assert!(b.next_delay() < ms(111));
    }

    #[test]
    fn no_maximum_means_a_fixed_interval() {
        let mut b = Backoff::new(ms(100), Duration::ZERO, 7);
        for _ in 0..5 {
            assert!(b.next_delay() < ms(111));
        }
    }
}
