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
mod tests {
    use super::*;
    use crate::vod::api::NetworkFailure;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(400),
        }
    }

    fn api_error(code: &str) -> VodApiError {
        VodApiError::Api {
            action: "PullEvents",
            code: code.into(),
            message: String::new(),
            request_id: String::new(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_with_backoff_until_an_attempt_succeeds() {
        let started = Instant::now();
        let mut calls = 0;
        let budget = Budget::within(Duration::from_secs(1), Duration::from_secs(10));
        let result = policy()
            .run("PullEvents", budget, |_| {
                calls += 1;
                let call = calls;
                async move {
                    if call < 3 {
                        Err(api_error("RequestLimitExceeded"))
                    } else {
                        Ok(call)
                    }
                }
            })
            .await;
        assert_eq!(result.unwrap(), 3);
        // Two waits: 50 to 100 ms, then 100 to 200 ms.
        let waited = started.elapsed();
        assert!(
            (Duration::from_millis(150)..=Duration::from_millis(300)).contains(&waited),
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_is_returned_at_once() {
        let started = Instant::now();
        let mut calls = 0;
        let budget = Budget::within(Duration::from_secs(1), Duration::from_secs(10));
        let error = policy()
            .run("PullEvents", budget, |_| {
                calls += 1;
                async { Err::<(), _>(api_error("AuthFailure.SignatureFailure")) }
            })
            .await
            .unwrap_err();
        assert_eq!(calls, 1);
        assert_eq!(error.code(), Some("AuthFailure.SignatureFailure"));
        assert_eq!(started.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn hanging_attempts_end_with_the_budget() {
        let started = Instant::now();
        let mut timeouts = Vec::new();
        let budget = Budget::within(Duration::from_millis(800), Duration::from_millis(2000));
        let policy = RetryPolicy {
            attempts: 10,
            ..policy()
        };
        let error = policy
            .run("ConfirmEvents", budget, |timeout| {
                timeouts.push(timeout);
                async move {
                    tokio::time::sleep(timeout).await;
                    Err::<(), _>(VodApiError::Network {
                        action: "ConfirmEvents",
                        failure: NetworkFailure::TimedOut,
                        detail: "timed out".into(),
                    })
                }
            })
            .await
            .unwrap_err();
        assert!(matches!(error, VodApiError::Network { .. }), "{error}");
        assert_eq!(started.elapsed(), Duration::from_millis(2000));
        // 800 ms, a wait, 800 ms, a wait, then what was left: the last attempt ends at `until`.
        assert_eq!(timeouts.len(), 3, "{timeouts:?}");
        assert_eq!(timeouts[..2], [Duration::from_millis(800); 2]);
        assert!(timeouts[2] < Duration::from_millis(300), "{timeouts:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_spent_budget_makes_no_attempt() {
        let budget = Budget::within(Duration::from_secs(1), Duration::from_secs(1));
        tokio::time::advance(Duration::from_secs(1)).await;
        let mut calls = 0;
        let error = policy()
            .run("PullEvents", budget, |_| {
                calls += 1;
                async { Ok(()) }
            })
            .await
            .unwrap_err();
        assert!(matches!(error, VodApiError::OutOfTime { .. }), "{error}");
        assert_eq!(calls, 0);
    }
}
