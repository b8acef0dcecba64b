//! Metrics as CloudWatch Embedded Metric Format (EMF) lines.
//!
//! In Lambda, CloudWatch Logs turns any stdout line shaped like EMF into metrics, with no agent,
//! no API call on the request path and no extra permission. Each request writes at most one such
//! line, built from the same outcome the request log line reports (route, status, reason, sink
//! latency), so metrics and logs cannot disagree. The names come from whoever calls: each use case
//! gives [`super::finish`] a [`Classify`] that names the metric of an outcome (README lists them),
//! and pull mode writes its batch counts with `record_counts`. This module knows no route.
//!
//! Lines are written only under Lambda, or anywhere with `VODGATE_METRICS=emf` (for a CloudWatch
//! agent that parses EMF); locally they would only clutter the console.

use std::time::{Duration, SystemTime};

use axum::http::Method;
use serde_json::{Map, Value, json};

use crate::platform::emf::{aws_metadata, enabled, write_line};
pub(crate) use crate::platform::emf::{init, record_counts};

/// What one request did, as far as metrics care. The method is there because one route may
/// serve a write and a read (`POST` and `GET`), which a use case counts apart.
pub struct Outcome<'a> {
    pub(crate) method: &'a Method,
    pub(crate) route: Option<&'a str>,
    pub(crate) status: u16,
    pub(crate) reason: Option<&'a str>,
    pub(crate) duplicate: Option<bool>,
    pub(crate) sink_latency: Option<Duration>,
}

impl Outcome<'_> {
    /// The request succeeded (any status below 400).
    pub(crate) fn ok(&self) -> bool {
        self.status < 400
    }
}

/// A metric as a use case names it: the `Function` dimension and the metric's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    pub(crate) function: &'static str,
    pub(crate) name: &'static str,
}

/// How a use case names the metric of a request's outcome; `None` for outcomes it does not count.
pub type Classify = fn(&Outcome<'_>) -> Option<Metric>;

/// Writes the EMF line for a request, if metrics are on and `classify` names a metric.
pub(crate) fn record(classify: Classify, outcome: &Outcome<'_>) {
    if !enabled() {
        return;
    }
    if let Some(metric) = classify(outcome) {
        write_line(&line(metric, outcome, SystemTime::now()));
    }
}

/// The EMF document of one request's `metric` at `now`: a count of 1, the `Reason` dimension on
/// failures, and `SinkLatency` (ms) when the request wrote to a sink.
fn line(metric: Metric, outcome: &Outcome<'_>, now: SystemTime) -> Value {
    let reason = outcome.reason.filter(|_| !outcome.ok());
    let mut dimensions = vec!["Function"];
    let mut document = Map::new();
    document.insert("Function".into(), metric.function.into());
    if let Some(reason) = reason {
        dimensions.push("Reason");
        document.insert("Reason".into(), reason.into());
    }
    let mut metrics = vec![json!({"Name": metric.name, "Unit": "Count"})];
    document.insert(metric.name.into(), 1.into());
    if let Some(latency) = outcome.sink_latency {
        metrics.push(json!({"Name": "SinkLatency", "Unit": "Milliseconds"}));
        document.insert(
            "SinkLatency".into(),
            json!((latency.as_micros() as f64) / 1000.0),
        );
    }
    document.insert("_aws".into(), aws_metadata(now, &[dimensions], &metrics));
    Value::Object(document)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn outcome(status: u16, reason: Option<&'static str>) -> Outcome<'static> {
        Outcome {
            method: &Method::POST,
            route: Some("/v1/route"),
            status,
            reason,
            duplicate: None,
            sink_latency: None,
        }
    }

    const ISSUED: Metric = Metric {
        function: "sign",
        name: "SignaturesIssued",
    };

    #[test]
    fn a_success_is_one_count() {
        let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(
            line(ISSUED, &outcome(200, None), at),
            json!({
                "_aws": {"Timestamp": 1_700_000_000_123u64, "CloudWatchMetrics": [{
                    "Namespace": "vodgate", "Dimensions": [["Function"]],
                    "Metrics": [{"Name": "SignaturesIssued", "Unit": "Count"}]}]},
                "Function": "sign", "SignaturesIssued": 1
            })
        );
    }

    #[test]
    fn a_failure_carries_its_reason() {
        let metric = Metric {
            function: "sign",
            name: "AuthFailures",
        };
        let denied = line(metric, &outcome(401, Some("token_expired")), UNIX_EPOCH);
        assert_eq!(denied["AuthFailures"], 1);
        assert_eq!(denied["Reason"], "token_expired");
        assert_eq!(
            denied["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Function", "Reason"]])
        );
    }

    #[test]
    fn sink_latency_in_milliseconds() {
        let mut stored = outcome(200, None);
        stored.sink_latency = Some(Duration::from_micros(12_345));
        let metric = Metric {
            function: "events",
            name: "EventsStored",
        };
        let document = line(metric, &stored, UNIX_EPOCH);
        assert_eq!(document["SinkLatency"], 12.345);
        assert_eq!(
            document["_aws"]["CloudWatchMetrics"][0]["Metrics"][1],
            json!({"Name": "SinkLatency", "Unit": "Milliseconds"})
        );
    }
}
