//! Metrics as CloudWatch Embedded Metric Format (EMF) lines.
//!
//! In Lambda, CloudWatch Logs turns any stdout line shaped like EMF into metrics, with no agent,
//! no API call on the request path and no extra permission. Each request writes at most one such
//! line, built from the same outcome the request log line reports (route, status, reason, sink
//! latency), so metrics and logs cannot disagree:
//!
//! | function | metric | dimensions |
//! |---|---|---|
//! | sign | `SignaturesIssued` | Function |
//! | sign | `AuthFailures` | Function, Reason (missing_token, invalid_token, token_expired, insufficient_scope, unavailable) |
//! | sign | `SignRejected` | Function, Reason (param_not_allowed, bad_request, payload_too_large, …) |
//! | events | `EventsStored`, `EventDuplicates` | Function |
//! | events | `EventsRejected` | Function, Reason (invalid_signature, bad_request, unavailable, …) |
//! | events | `SinkLatency` (ms) | as the metric it accompanies |
//! | pull | `EventsStored`, `EventDuplicates`, `EventsRejected`, `EventsUnconfirmed` | Function |
//!
//! Pull mode writes one line per batch that pulled anything (`EventsRejected` counts events not
//! stored: sink failures and unparseable events, both left for VOD to deliver again).
//!
//! Lines are written only under Lambda, or anywhere with `VODGATE_METRICS=emf` (for a CloudWatch
//! agent that parses EMF); locally they would only clutter the console.

use std::io::Write as _;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use crate::config::Env;

const NAMESPACE: &str = "vodgate";
const AUTH_REASONS: [&str; 5] = [
    "missing_token",
    "invalid_token",
    "token_expired",
    "insufficient_scope",
    "unavailable",
];

static ENABLED: OnceLock<bool> = OnceLock::new();

/// Turns EMF output on under Lambda or with `VODGATE_METRICS=emf`. Call once at start.
pub fn init(env: &Env) {
    let enabled = env.get("AWS_LAMBDA_RUNTIME_API").is_some()
        || env
            .get("VODGATE_METRICS")
            .is_some_and(|v| v.eq_ignore_ascii_case("emf"));
    let _ = ENABLED.set(enabled);
}

/// What one request did, as far as metrics care.
pub struct Outcome<'a> {
    pub route: Option<&'a str>,
    pub status: u16,
    pub reason: Option<&'a str>,
    pub duplicate: Option<bool>,
    pub sink_latency: Option<Duration>,
}

/// Writes the EMF line for a request, if metrics are on and the route is one of ours.
pub fn record(outcome: &Outcome<'_>) {
    if !ENABLED.get().copied().unwrap_or(false) {
        return;
    }
    if let Some(line) = line(outcome, SystemTime::now()) {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{line}");
    }
}

/// The EMF document for `outcome` at `now`; `None` for routes without metrics.
pub fn line(outcome: &Outcome<'_>, now: SystemTime) -> Option<Value> {
    let route = outcome.route?;
    let function = if route == crate::sign::ROUTE {
        "sign"
    } else if route.starts_with(crate::events::ROUTE) {
        "events"
    } else {
        return None;
    };
    let ok = outcome.status < 400;
    let metric = match (function, ok, outcome.reason) {
        ("sign", true, _) => "SignaturesIssued",
        ("sign", false, Some(reason)) if AUTH_REASONS.contains(&reason) => "AuthFailures",
        ("sign", false, _) => "SignRejected",
        (_, true, _) if outcome.duplicate == Some(true) => "EventDuplicates",
        (_, true, _) => "EventsStored",
        (_, false, _) => "EventsRejected",
    };
    let reason = outcome.reason.filter(|_| !ok);
    let mut dimensions = vec!["Function"];
    let mut document = Map::new();
    document.insert("Function".into(), function.into());
    if let Some(reason) = reason {
        dimensions.push("Reason");
        document.insert("Reason".into(), reason.into());
    }
    let mut metrics = vec![json!({"Name": metric, "Unit": "Count"})];
    document.insert(metric.into(), 1.into());
    if let Some(latency) = outcome.sink_latency {
        metrics.push(json!({"Name": "SinkLatency", "Unit": "Milliseconds"}));
        document.insert(
            "SinkLatency".into(),
            json!((latency.as_micros() as f64) / 1000.0),
        );
    }
    let timestamp = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    document.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [dimensions],
                "Metrics": metrics,
            }],
        }),
    );
    Some(Value::Object(document))
}

/// Writes the EMF line of one pull batch, if metrics are on and the batch pulled anything.
pub fn record_pull(report: &crate::pull::PullReport) {
    if !ENABLED.get().copied().unwrap_or(false) || report.pulled == 0 {
        return;
    }
    let line = pull_line(report, SystemTime::now());
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
}

/// The EMF document of a pull batch at `now`.
pub fn pull_line(report: &crate::pull::PullReport, now: SystemTime) -> Value {
    let timestamp = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    json!({
        "_aws": {
            "Timestamp": timestamp,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Function"]],
                "Metrics": [
                    {"Name": "EventsStored", "Unit": "Count"},
                    {"Name": "EventDuplicates", "Unit": "Count"},
                    {"Name": "EventsRejected", "Unit": "Count"},
                    {"Name": "EventsUnconfirmed", "Unit": "Count"},
                ],
            }],
        },
        "Function": "pull",
        "EventsStored": report.stored,
        "EventDuplicates": report.duplicates,
        "EventsRejected": report.failed + report.rejected,
        "EventsUnconfirmed": report.unconfirmed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(route: &str, status: u16, reason: Option<&str>) -> Outcome<'static> {
        Outcome {
            route: Some(Box::leak(route.to_owned().into_boxed_str())),
            status,
            reason: reason.map(|r| &*Box::leak(r.to_owned().into_boxed_str())),
            duplicate: None,
            sink_latency: None,
        }
    }

    #[test]
    fn sign_outcomes() {
        let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let issued = line(&outcome("/v1/upload-signature", 200, None), at).unwrap();
        assert_eq!(
            issued,
            json!({
                "_aws": {"Timestamp": 1_700_000_000_123u64, "CloudWatchMetrics": [{
                    "Namespace": "vodgate", "Dimensions": [["Function"]],
                    "Metrics": [{"Name": "SignaturesIssued", "Unit": "Count"}]}]},
                "Function": "sign", "SignaturesIssued": 1
            })
        );
        let denied = line(
            &outcome("/v1/upload-signature", 401, Some("token_expired")),
            at,
        )
        .unwrap();
        assert_eq!(denied["AuthFailures"], 1);
        assert_eq!(denied["Reason"], "token_expired");
        assert_eq!(
            denied["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Function", "Reason"]])
        );
        let refused = line(
            &outcome("/v1/upload-signature", 403, Some("param_not_allowed")),
            at,
        )
        .unwrap();
        assert_eq!(refused["SignRejected"], 1);
    }

    #[test]
    fn events_outcomes() {
        let at = UNIX_EPOCH;
        let mut stored = outcome("/v1/vod/events/{token}", 200, None);
        stored.duplicate = Some(false);
        stored.sink_latency = Some(Duration::from_micros(12_345));
        let line_stored = line(&stored, at).unwrap();
        assert_eq!(line_stored["EventsStored"], 1);
        assert_eq!(line_stored["SinkLatency"], 12.345);
        stored.duplicate = Some(true);
        assert_eq!(line(&stored, at).unwrap()["EventDuplicates"], 1);
        let rejected = line(
            &outcome("/v1/vod/events", 401, Some("invalid_signature")),
            at,
        )
        .unwrap();
        assert_eq!(rejected["EventsRejected"], 1);
        assert_eq!(rejected["Reason"], "invalid_signature");
    }

    #[test]
    fn pull_batches() {
        let report = crate::pull::PullReport {
            batches: 1,
            pulled: 5,
            stored: 2,
            duplicates: 1,
            failed: 1,
            rejected: 1,
            confirmed: 3,
            unconfirmed: 0,
        };
        let line = pull_line(&report, UNIX_EPOCH);
        assert_eq!(line["Function"], "pull");
        assert_eq!(line["EventsStored"], 2);
        assert_eq!(line["EventsRejected"], 2);
        assert_eq!(line["EventsUnconfirmed"], 0);
    }

    #[test]
    fn other_routes_have_no_metrics() {
        assert!(line(&outcome("/healthz", 200, None), UNIX_EPOCH).is_none());
        let unmatched = Outcome {
            route: None,
            status: 404,
            reason: Some("not_found"),
            duplicate: None,
            sink_latency: None,
        };
        assert!(line(&unmatched, UNIX_EPOCH).is_none());
    }
}
