//! How failed calls are retried, and how long a call may take in all.

use std::time::{Duration, Instant};

/// How failed attempts are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The wait before the first retry; doubled for each further one.
    pub base_delay: Duration,
    /// The longest wait between attempts.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1 for the first): the capped exponential delay,
    /// its upper half randomised so that many instances do not retry in step.
    pub fn delay(&self, retry: u32) -> Duration {
        let exponential = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(retry.saturating_sub(1)));
        let capped = exponential.min(self.max_delay);
        let half = capped / 2;
        let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        half + Duration::from_millis(rand::random::<u64>() % jitter_ms.saturating_add(1))
    }
}

/// How long one call may take: each attempt at most `attempt_timeout`, and no attempt (or wait
/// before one) that would end after `until`.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// The client timeout of each attempt.
    pub attempt_timeout: Duration,
    /// When to stop trying.
    pub until: Instant,
}

impl Budget {
    /// Attempts of `attempt_timeout`, retried for at most `total`.
    pub fn within(attempt_timeout: Duration, total: Duration) -> Self {
        Self {
            attempt_timeout,
            until: Instant::now() + total,
        }
    }
}
