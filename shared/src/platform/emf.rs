//! The lowest part of metrics: CloudWatch Embedded Metric Format (EMF) lines on stdout.
//!
//! Here, below every other layer, so that any layer can count something (a key refresh that
//! fails, a batch pulled) the same way; which request outcome counts as what is the web layer's
//! business ([`crate::web::metrics`]). Lines are written only under Lambda, or anywhere with
//! `VODGATE_METRICS=emf`.

use std::io::Write as _;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use crate::platform::config::Env;

const NAMESPACE: &str = "vodgate";

static ENABLED: OnceLock<bool> = OnceLock::new();

/// Turns EMF output on under Lambda or with `VODGATE_METRICS=emf`. Call once at start.
pub(crate) fn init(env: &Env) {
    let enabled = env.get("AWS_LAMBDA_RUNTIME_API").is_some()
        || env
            .get("VODGATE_METRICS")
            .is_some_and(|v| v.eq_ignore_ascii_case("emf"));
    let _ = ENABLED.set(enabled);
}

pub(crate) fn enabled() -> bool {
    ENABLED.get().copied().unwrap_or(false)
}

/// Writes one EMF line of several counts under `function` (pull mode: one line per batch), if
/// metrics are on.
pub(crate) fn record_counts(function: &str, counts: &[(&str, u64)]) {
    if enabled() {
        write_line(&counts_line(function, counts, SystemTime::now()));
    }
}

/// The EMF document of several counts under `function` at `now`.
fn counts_line(function: &str, counts: &[(&str, u64)], now: SystemTime) -> Value {
    let metrics: Vec<Value> = counts
        .iter()
        .map(|(name, _)| json!({"Name": name, "Unit": "Count"}))
        .collect();
    let mut document = Map::new();
    document.insert("Function".into(), function.into());
    for (name, count) in counts {
        document.insert((*name).into(), (*count).into());
    }
    document.insert(
        "_aws".into(),
        aws_metadata(now, &[vec!["Function"]], &metrics),
    );
    Value::Object(document)
}

pub(crate) fn aws_metadata(now: SystemTime, dimensions: &[Vec<&str>], metrics: &[Value]) -> Value {
    let timestamp = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    json!({
        "Timestamp": timestamp,
        "CloudWatchMetrics": [{
            "Namespace": NAMESPACE,
            "Dimensions": dimensions,
            "Metrics": metrics,
        }],
    })
}

pub(crate) fn write_line(line: &Value) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_share_one_line() {
        let document = counts_line(
            "pull",
            &[("EventsStored", 2), ("EventsRejected", 0)],
            UNIX_EPOCH,
        );
        assert_eq!(document["Function"], "pull");
        assert_eq!(document["EventsStored"], 2);
        assert_eq!(document["EventsRejected"], 0);
        assert_eq!(
            document["_aws"]["CloudWatchMetrics"][0]["Metrics"],
            json!([{"Name": "EventsStored", "Unit": "Count"}, {"Name": "EventsRejected", "Unit": "Count"}])
        );
    }
}
