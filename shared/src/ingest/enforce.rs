//! Limits enforced after upload: judge an attributed event, and delete what breaks a limit.
//!
//! Only uploads vodgate signed are ever judged (the store path calls this only for an event with
//! an uploader, found by its attribution token or its known `FileId`): a file uploaded any other
//! way, say from the console, is never touched. Two events can reject an upload:
//!
//! * its `NewFileUpload`, whose `MetaData` breaks `UPLOAD_MAX_BYTES`,
//!   `UPLOAD_MAX_DURATION_SECONDS` or `UPLOAD_ALLOWED_CONTAINERS`. VOD may send `MetaData` null
//!   (its own examples carry none), so what the limits need and the event lacks is read with
//!   `DescribeMediaInfos`; if VOD still has nothing, the file is kept, with a WARN and a metric:
//!   a limit that cannot be checked must not delete a user's video;
//! * a review whose verdict is `block`, with `REVIEW_BLOCK_ACTION=delete`.
//!
//! Deleting comes before everything that says it happened (the rejection envelope, the upload's
//! `rejected` status), so nobody is told of a rejection whose media is still there; a delete that
//! fails leaves the event unacknowledged, and its redelivery tries again.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::uploads::facts::Suggestion;
use super::uploads::limits::{
    BlockAction, FileMetadata, RejectCode, UploadLimits, Verdict, Violation,
};
use super::uploads::{EventKind, Facts, Rejection, UploadError};
use crate::platform::config::{ConfigError, Env};
use crate::vod::api::{ApiCredentials, Budget, Deleted, VodApi, VodApiError};

/// The longest one VOD API attempt may take; retries and the store budget bound the rest.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// The limits and the VOD API client that enforces them.
#[derive(Debug)]
pub(crate) struct Enforcer {
    limits: UploadLimits,
    api: VodApi,
}

/// What an event means under the limits.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Judgement {
    /// Nothing to do.
    Keep,
    /// A limit applies but VOD has not said what it needs (the names of the missing fields).
    Unchecked(Vec<&'static str>),
    /// Delete `file_id` for this.
    Reject {
        file_id: String,
        violation: Violation,
    },
}

/// What enforcement did for one event, for the use case's logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Enforced {
    /// The upload was rejected now, with this code.
    Rejected(RejectCode),
    /// A limit could not be checked; the file was kept.
    Unchecked,
}

impl Enforcer {
    /// From the limits' variables (see [`UploadLimits::from_env`]) and the VOD API's
    /// ([`super::vod_api`]); `None` when no limit is set and a `block` keeps the media.
    pub(crate) fn from_env(env: &Env) -> Result<Option<Arc<Self>>, ConfigError> {
        let limits = UploadLimits::from_env(env)?;
        if !limits.enforces() {
            return Ok(None);
        }
        Ok(Some(Arc::new(Self {
            limits,
            api: super::vod_api(env)?,
        })))
    }

    /// An enforcer over explicit parts.
    pub(crate) fn new(limits: UploadLimits, api: VodApi) -> Self {
        Self { limits, api }
    }

    /// Judges what an attributed event states about its upload (`facts`, the event's `kind`,
    /// and `file_id`, the file it is about), consulting `DescribeMediaInfos` when a limit needs
    /// metadata the event lacks.
    pub(crate) async fn judge(
        &self,
        credentials: &ApiCredentials,
        kind: EventKind,
        facts: &Facts,
        file_id: Option<&str>,
        deadline: Instant,
    ) -> Result<Judgement, VodApiError> {
        if kind == EventKind::UploadCompleted
            && self.limits.limits_files()
            && let Some(file) = &facts.file
        {
            let media = &file.media;
            let mut metadata = FileMetadata {
                size: media.size,
                duration_seconds: media.duration_seconds,
                container: media.container.as_deref(),
            };
            let described;
            if !self.limits.missing(&metadata).is_empty() {
                described = self
                    .api
                    .describe_media(credentials, &file.file_id, budget(deadline))
                    .await?
                    .and_then(|info| info.meta_data)
                    .unwrap_or_default();
                metadata = FileMetadata {
                    size: metadata.size.filter(|s| *s > 0).or(described.size),
                    duration_seconds: metadata
                        .duration_seconds
                        .filter(|d| *d > 0.0)
                        .or(described.duration),
                    container: metadata
                        .container
                        .filter(|c| !c.is_empty())
                        .or(described.container.as_deref()),
                };
            }
            return Ok(match self.limits.check(&metadata) {
                Verdict::Within => Judgement::Keep,
                Verdict::Unknown(missing) => Judgement::Unchecked(missing),
                Verdict::Breaks(violation) => Judgement::Reject {
                    file_id: file.file_id.clone(),
                    violation,
                },
            });
        }
        if let (Some(review), Some(file_id)) = (&facts.review, file_id)
            && self.limits.block_action() == BlockAction::Delete
            && review.suggestion == Suggestion::Block
        {
            let labels: Vec<&str> = review.labels.iter().map(String::as_str).collect();
            let violation = Violation {
                code: RejectCode::BlockedByReview,
                limit: serde_json::Value::Null,
                actual: serde_json::json!({"suggestion": "block", "labels": labels}),
                message: if labels.is_empty() {
                    "a review blocked the video (REVIEW_BLOCK_ACTION=delete)".to_owned()
                } else {
                    format!(
                        "a review blocked the video for {} (REVIEW_BLOCK_ACTION=delete)",
                        labels.join(", ")
                    )
                },
            };
            return Ok(Judgement::Reject {
                file_id: file_id.to_owned(),
                violation,
            });
        }
        Ok(Judgement::Keep)
    }

    /// Deletes everything of `file_id` by `deadline`; media that is already gone counts.
    pub(crate) async fn delete(
        &self,
        credentials: &ApiCredentials,
        file_id: &str,
        deadline: Instant,
    ) -> Result<Deleted, VodApiError> {
        self.api
            .delete_media(credentials, file_id, budget(deadline))
            .await
    }
}

/// The rejection fact of a violation decided at `decided_at_ms`.
pub(crate) fn rejection(file_id: String, violation: Violation, decided_at_ms: i64) -> Rejection {
    Rejection {
        file_id,
        error: UploadError {
            code: violation.code.as_str().to_owned(),
            message: violation.message,
        },
        limit: violation.limit,
        actual: violation.actual,
        decided_at_ms,
    }
}

fn budget(deadline: Instant) -> Budget {
    Budget {
        attempt_timeout: ATTEMPT_TIMEOUT,
        until: deadline,
    }
}
