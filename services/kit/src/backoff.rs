//! How a background worker waits when its database fails: a bounded exponential backoff, so a
//! full disk or a lost database costs a line in the log per step, not a busy loop.

use std::time::Duration;

/// The delays after consecutive failures: `first`, doubling, at most `cap`.
#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    cap: Duration,
    next: Option<Duration>,
}

impl Backoff {
    /// 100 ms, 200 ms, 400 ms, … up to 30 s.
    pub fn for_workers() -> Backoff {
        Backoff::new(Duration::from_millis(100), Duration::from_secs(30))
    }

    pub fn new(first: Duration, cap: Duration) -> Backoff {
        Backoff {
            first,
            cap: cap.max(first),
            next: None,
        }
    }

    /// Another failure: how long to wait before trying again.
    pub fn failed(&mut self) -> Duration {
        let delay = self.next.unwrap_or(self.first);
        self.next = Some((delay * 2).min(self.cap));
        delay
    }

    /// A success; true if it ends a run of failures (worth saying once).
    pub fn succeeded(&mut self) -> bool {
        self.next.take().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_and_start_over_after_a_success() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(500));
        let delays: Vec<u128> = (0..5).map(|_| backoff.failed().as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 500, 500]);
        assert!(backoff.succeeded());
        assert!(!backoff.succeeded(), "a second success ends nothing");
        assert_eq!(backoff.failed(), Duration::from_millis(100));
    }
}
