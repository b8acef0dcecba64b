//! Answering within the invocation's deadline (Lambda).
//!
//! An invocation that runs past the function's timeout ends in a platform error, not in our
//! envelope, and the client cannot tell it from a crash. One request may wait on several things
//! in turn (a secret refresh up to 3 s, a JWKS download up to 5 s, the quota up to 1 s), which
//! together can outlast a 5 s timeout. So every handler runs within the invocation's deadline,
//! less a margin for handing the answer to the runtime; a request that reaches it is answered 503
//! `unavailable`, and what it was waiting on is dropped. Each of those waits is safe to abandon:
//! the next request starts it again. Outside Lambda there is no invocation deadline; plain HTTP
//! bounds clients with its own timeouts ([`super::serve::ServerLimits`]).

use std::time::{Duration, SystemTime};

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

use super::ApiError;

/// Kept back from the deadline to answer in.
const MARGIN: Duration = Duration::from_millis(250);

/// Runs the rest of the request within its invocation's deadline, if it has one.
pub(super) async fn within_invocation(request: Request, next: Next) -> Response {
    let Some(deadline) = budget(&request) else {
        return next.run(request).await;
    };
    match tokio::time::timeout_at(deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!("the invocation's deadline came before the answer; answering 503");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the request could not be answered in time; retry",
            )
            .into_response()
        }
    }
}

/// When the answer must be ready: the Lambda invocation's deadline less [`MARGIN`], on tokio's
/// clock. `None` outside Lambda.
fn budget(request: &Request) -> Option<Instant> {
    let context = request.extensions().get::<lambda_http::Context>()?;
    if context.deadline == 0 {
        return None;
    }
    let remaining = context
        .deadline()
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    Some(Instant::now() + remaining.saturating_sub(MARGIN))
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt as _;

    use super::*;

    /// A handler that waits ten seconds, as a JWKS download and a quota call in a row could.
    fn slow() -> Router {
        Router::new()
            .route(
                "/",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(10)).await;
                    "done"
                }),
            )
            .layer(axum::middleware::from_fn(within_invocation))
    }

    fn invocation(deadline_in: Duration) -> lambda_http::Context {
        let deadline = SystemTime::now() + deadline_in;
        let mut context = lambda_http::Context::default();
        context.deadline = deadline
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        context
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_past_the_invocations_deadline_is_a_503_before_it() {
        let started = Instant::now();
        let mut request = axum::http::Request::new(Body::empty());
        request
            .extensions_mut()
            .insert(invocation(Duration::from_secs(5)));
        let response = slow().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let waited = started.elapsed();
        assert!(
            (Duration::from_secs(4)..Duration::from_secs(5) - MARGIN / 2).contains(&waited),
            "{waited:?}"
        );
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            (body["code"].as_u64(), body["error"].as_str()),
            (Some(503), Some("unavailable"))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn without_an_invocation_the_handler_takes_its_time() {
        let request = axum::http::Request::new(Body::empty());
        let response = slow().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
}
