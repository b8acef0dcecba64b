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
