//! The circuit breaker: fails calls to an upstream fast while it is known to be down.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts consecutive failures; past the threshold, fails calls fast for the cooldown, then
/// lets a single probe through, whose outcome closes or reopens the circuit.
#[derive(Debug)]
pub(super) struct Breaker {
    threshold: u32,
    cooldown: Duration,
    state: Mutex<BreakerState>,
}

/// A change of the circuit worth a line in the log: one each way, not one per call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Transition {
    Opened,
    Closed,
}

#[derive(Debug, Clone, Copy)]
enum BreakerState {
    Closed { failures: u32 },
    Open { until: Instant },
    Probing { since: Instant },
}

impl Breaker {
    pub(super) fn new(threshold: u32, cooldown: Duration) -> Breaker {
        Breaker {
            threshold: threshold.max(1),
            cooldown,
            state: Mutex::new(BreakerState::Closed { failures: 0 }),
        }
    }

    pub(super) fn allow(&self) -> bool {
        let mut state = self.state.lock().expect("breaker lock");
        let now = Instant::now();
        match *state {
            BreakerState::Closed { .. } => true,
            BreakerState::Open { until } if now >= until => {
                *state = BreakerState::Probing { since: now };
                true
            }
            BreakerState::Open { .. } => false,
            // A probe that never reported back (its caller went away) must not wedge the circuit.
            BreakerState::Probing { since } if now.duration_since(since) >= self.cooldown => {
                *state = BreakerState::Probing { since: now };
                true
            }
            BreakerState::Probing { .. } => false,
        }
    }

    pub(super) fn record(&self, healthy: bool) -> Option<Transition> {
        let mut state = self.state.lock().expect("breaker lock");
        let was_closed = matches!(*state, BreakerState::Closed { .. });
        *state = match (*state, healthy) {
            (_, true) => BreakerState::Closed { failures: 0 },
            (BreakerState::Closed { failures }, false) if failures + 1 < self.threshold => {
                BreakerState::Closed {
                    failures: failures + 1,
                }
            }
            (_, false) => BreakerState::Open {
                until: Instant::now() + self.cooldown,
            },
        };
        match (was_closed, *state) {
            (true, BreakerState::Open { .. }) => Some(Transition::Opened),
            (false, BreakerState::Closed { .. }) => Some(Transition::Closed),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_breaker_opens_after_the_threshold_and_probes_after_the_cooldown() {
        let breaker = Breaker::new(3, Duration::from_millis(30));
        for _ in 0..2 {
            assert!(breaker.allow());
            assert_eq!(breaker.record(false), None);
        }
        assert!(breaker.allow(), "two failures: still closed");
        assert_eq!(breaker.record(false), Some(Transition::Opened));
        assert!(!breaker.allow(), "three failures: open, fail fast");
        let waited = Instant::now();
        while !breaker.allow() {
            assert!(
                waited.elapsed() < Duration::from_secs(5),
                "the cooldown ends"
            );
            std::thread::yield_now();
        }
        assert!(!breaker.allow(), "one probe at a time");
        assert_eq!(breaker.record(true), Some(Transition::Closed));
        assert!(breaker.allow(), "a good probe closes it");
        assert_eq!(breaker.record(true), None, "said once");
    }

    #[test]
    fn a_failed_probe_reopens() {
        let breaker = Breaker::new(1, Duration::from_millis(10));
        breaker.record(false);
        let waited = Instant::now();
        while !breaker.allow() {
            assert!(waited.elapsed() < Duration::from_secs(5));
            std::thread::yield_now();
        }
        assert_eq!(breaker.record(false), None, "reopened: already said");
        assert!(!breaker.allow());
    }
}
