//! How failed calls are retried, and how long a call may take in all.
//!
//! Deadlines are read from tokio's clock, not the system's, so a test can pause time and see a
//! whole schedule of retries, waits and budgets play out in an instant.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use super::VodApiError;

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

impl RetryPolicy {
    /// Runs `attempt` (given the time it may take) until it succeeds, fails in a way retrying
    /// cannot help, has used up [`RetryPolicy::attempts`], or the wait before the next attempt
    /// would end at or after `budget.until`.
    pub(super) async fn run<T, Attempt>(
        &self,
        action: &'static str,
        budget: Budget,
        mut attempt: impl FnMut(Duration) -> Attempt,
    ) -> Result<T, VodApiError>
    where
        Attempt: Future<Output = Result<T, VodApiError>>,
    {
        let mut retry = 0;
        loop {
            let timeout = budget
                .attempt_timeout
                .min(budget.until.saturating_duration_since(Instant::now()));
            let error = if timeout.is_zero() {
                VodApiError::OutOfTime { action }
            } else {
                match attempt(timeout).await {
                    Ok(answer) => return Ok(answer),
                    Err(error) => error,
                }
            };
            retry += 1;
            let delay = self.delay(retry);
            if !error.is_retryable()
                || retry >= self.attempts
                || Instant::now() + delay >= budget.until
            {
                return Err(error);
            }
            tracing::warn!(action, %error, retry, delay_ms = delay.as_millis() as u64, "VOD API call failed; retrying");
            tokio::time::sleep(delay).await;
        }
    }
}

/// How long one call may take: each attempt at most `attempt_timeout`, and no attempt (or wait
/// before one) that would end after `until`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    /// The client timeout of each attempt.
    pub(crate) attempt_timeout: Duration,
    /// When to stop trying.
    pub(crate) until: Instant,
}

impl Budget {
    /// Attempts of `attempt_timeout`, retried for at most `total`.
    pub(crate) fn within(attempt_timeout: Duration, total: Duration) -> Self {
        Self {
            attempt_timeout,
            until: Instant::now() + total,
        }
    }
}

#[cfg(test)]
mod tests;
