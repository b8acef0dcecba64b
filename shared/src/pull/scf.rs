//! Pull mode as a Tencent SCF event function: a custom runtime on a timer trigger.
//!
//! SCF web functions cannot be timer-triggered, and a Tencent-only deployment has no EventBridge,
//! so the reliable-callback queue is drained by an *event* function whose custom runtime is this
//! binary. SCF's runtime API is Lambda's idea with other paths: the base is
//! `http://$SCF_RUNTIME_API:$SCF_RUNTIME_API_PORT` with no version segment; `POST
//! /runtime/init/ready` once started (else SCF kills the instance at its init timeout), then per
//! invocation `GET /runtime/invocation/next` (a long poll: no client timeout; the function's
//! time limit in the `time_limit_in_ms` header, the trigger's event in the body) and one `POST
//! /runtime/invocation/response` or `…/error`. Each invocation drains the queue until shortly
//! before its time limit ([`Puller::drain_until`]), exactly as a scheduled Lambda invocation.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::Puller;
use crate::web::serve::BoxError;

/// The time limit assumed when SCF does not send one (its default function timeout).
const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(3);

/// Serves invocations from the runtime API at `api` (`host:port`) until it stops answering.
pub(crate) async fn serve(puller: &Puller, api: &str) -> Result<(), BoxError> {
    // The runtime API is local: never through a proxy, and no timeout (`next` is a long poll).
    let http = reqwest::Client::builder().no_proxy().build()?;
    let base = format!("http://{api}/runtime");
    http.post(format!("{base}/init/ready"))
        .send()
        .await?
        .error_for_status()?;
    loop {
        let next = http
            .get(format!("{base}/invocation/next"))
            .send()
            .await?
            .error_for_status()?;
        let started = Instant::now();
        let limit = next
            .headers()
            .get("time_limit_in_ms")
            .and_then(|v| v.to_str().ok()?.parse().ok())
            .map_or(DEFAULT_TIME_LIMIT, Duration::from_millis);
        let event: Value = serde_json::from_slice(&next.bytes().await?).unwrap_or(Value::Null);
        let trigger = event.get("Type").and_then(Value::as_str).unwrap_or("-");
        tracing::info!(
            trigger,
            time_limit_ms = limit.as_millis() as u64,
            "pull invocation"
        );
        let (path, body) = match puller.drain_until(started + limit).await {
            Ok(report) => ("response", report.to_json()),
            Err(error) => {
                tracing::error!(%error, "pull invocation failed");
                (
                    "error",
                    json!({"errorType": "PullError", "errorMessage": error.to_string()}),
                )
            }
        };
        http.post(format!("{base}/invocation/{path}"))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await?
            .error_for_status()?;
    }
}
