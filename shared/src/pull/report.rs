//! What a pull did ([`PullReport`]) and why it stopped ([`PullError`]).

use serde_json::{Value, json};

use crate::vod::api::VodApiError;

/// What one batch did. `pulled = stored + duplicates + failed + rejected`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PullReport {
    /// `PullEvents` calls that answered.
    pub batches: u64,
    /// Events received.
    pub pulled: u64,
    /// Newly written.
    pub stored: u64,
    /// Already in the sink (a redelivery, or the same event pushed earlier).
    pub duplicates: u64,
    /// Not written (sink error or out of time): left for redelivery.
    pub failed: u64,
    /// Not parseable as a callback: left unconfirmed, logged.
    pub rejected: u64,
    /// Handles confirmed.
    pub confirmed: u64,
    /// Stored, but the confirm failed: they come back as duplicates.
    pub unconfirmed: u64,
    /// Uploads rejected for breaking a limit (their media deleted).
    pub uploads_rejected: u64,
    /// Uploads whose limits could not be checked for want of metadata (kept).
    pub uploads_unchecked: u64,
    /// Events whose attribution token looked like one of ours but did not open.
    pub attribution_refused: u64,
    /// Events too large for a sink even compressed, stored there as a marker.
    pub truncated: u64,
}

impl PullReport {
    /// Adds `other`'s counts to these (the report of several batches or drains).
    pub fn add(&mut self, other: &Self) {
        self.batches += other.batches;
        self.pulled += other.pulled;
        self.stored += other.stored;
        self.duplicates += other.duplicates;
        self.failed += other.failed;
        self.rejected += other.rejected;
        self.confirmed += other.confirmed;
        self.unconfirmed += other.unconfirmed;
        self.uploads_rejected += other.uploads_rejected;
        self.uploads_unchecked += other.uploads_unchecked;
        self.attribution_refused += other.attribution_refused;
        self.truncated += other.truncated;
    }

    /// The report as JSON, for the Lambda response and `vodgate pull --once`.
    pub fn to_json(&self) -> Value {
        json!({
            "batches": self.batches,
            "pulled": self.pulled,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "failed": self.failed,
            "rejected": self.rejected,
            "confirmed": self.confirmed,
            "unconfirmed": self.unconfirmed,
            "uploadsRejected": self.uploads_rejected,
            "uploadsUnchecked": self.uploads_unchecked,
            "attributionRefused": self.attribution_refused,
            "truncated": self.truncated,
        })
    }

    /// The batch's counts as metrics (`EventsRejected` counts events not stored: sink failures
    /// and unparseable events, both left for VOD to deliver again); nothing for an empty batch.
    fn metric_counts(&self) -> Option<[(&'static str, u64); 8]> {
        (self.pulled > 0).then_some([
            ("EventsStored", self.stored),
            ("EventDuplicates", self.duplicates),
            ("EventsRejected", self.failed + self.rejected),
            ("EventsUnconfirmed", self.unconfirmed),
            ("UploadsRejected", self.uploads_rejected),
            ("UploadsUnchecked", self.uploads_unchecked),
            ("AttributionRefused", self.attribution_refused),
            ("EventsTruncated", self.truncated),
        ])
    }

    pub(super) fn record_metrics(&self) {
        if let Some(counts) = self.metric_counts() {
            crate::web::metrics::record_counts("pull", &counts);
        }
    }
}

/// Why pulling stopped: `PullEvents` failed after its retries.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct PullError {
    /// The failure.
    pub error: VodApiError,
    /// What was done before it.
    pub report: PullReport,
}

impl From<PullError> for lambda_http::lambda_runtime::Diagnostic {
    fn from(error: PullError) -> Self {
        Self {
            error_type: format!(
                "PullError.{}",
                error.error.code().unwrap_or(match error.error {
                    VodApiError::Network { .. } | VodApiError::OutOfTime { .. } => "Network",
                    VodApiError::Status { .. } => "Status",
                    _ => "Decode",
                })
            ),
            error_message: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_metrics_count_every_event_not_stored() {
        let report = PullReport {
            batches: 1,
            pulled: 5,
            stored: 2,
            duplicates: 1,
            failed: 1,
            rejected: 1,
            confirmed: 3,
            unconfirmed: 0,
            uploads_rejected: 1,
            uploads_unchecked: 0,
            attribution_refused: 2,
            truncated: 0,
        };
        assert_eq!(
            report.metric_counts(),
            Some([
                ("EventsStored", 2),
                ("EventDuplicates", 1),
                ("EventsRejected", 2),
                ("EventsUnconfirmed", 0),
                ("UploadsRejected", 1),
                ("UploadsUnchecked", 0),
                ("AttributionRefused", 2),
                ("EventsTruncated", 0)
            ])
        );
        assert_eq!(PullReport::default().metric_counts(), None);
    }

    #[test]
    fn report_adds_up_and_serialises() {
        let mut total = PullReport::default();
        let batch = PullReport {
            batches: 1,
            pulled: 3,
            stored: 1,
            duplicates: 1,
            failed: 1,
            confirmed: 2,
            ..PullReport::default()
        };
        total.add(&batch);
        total.add(&batch);
        assert_eq!(total.pulled, 6);
        assert_eq!(total.to_json()["confirmed"], 4);
        assert_eq!(total.to_json()["batches"], 2);
    }

    #[test]
    fn diagnostics_name_the_code() {
        let error = PullError {
            error: VodApiError::Api {
                action: "PullEvents",
                code: "AuthFailure.SignatureFailure".into(),
                message: "bad".into(),
                request_id: "r".into(),
            },
            report: PullReport::default(),
        };
        let diagnostic = lambda_http::lambda_runtime::Diagnostic::from(error);
        assert_eq!(
            diagnostic.error_type,
            "PullError.AuthFailure.SignatureFailure"
        );
    }
}
