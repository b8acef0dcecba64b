//! One upload as stored ([`UploadRecord`]: who owns it, its facts, when they were first and last
//! changed) and as the API shows it ([`Upload`]).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::facts::{Facts, Media, Output, Review, Status, UploadError};
use crate::ingest::envelope::rfc3339;

/// The upload an event is attributed to: its id and the uploader sealed with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadRef {
    pub upload_id: String,
    pub sub: String,
    pub meta: Option<String>,
}

/// One upload as stored: the owner, the facts, and the times (Unix seconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadRecord {
    pub upload_id: String,
    /// The uploader's `sub`.
    pub owner: String,
    pub meta: Option<String>,
    /// The first receipt of an event attributed to the upload.
    pub created_at: i64,
    /// The receipt of the latest event that changed what the API shows.
    pub updated_at: i64,
    pub facts: Facts,
}

impl UploadRecord {
    /// `old` with `facts` received at `at` joined in; `None` when nothing changed, so a
    /// redelivery writes nothing. A record starts at the first attributed event, whatever it
    /// states. `updatedAt` moves only when what the API shows changes.
    pub fn merge(old: Option<&Self>, upload: &UploadRef, facts: Facts, at: i64) -> Option<Self> {
        let Some(old) = old else {
            return Some(Self {
                upload_id: upload.upload_id.clone(),
                owner: upload.sub.clone(),
                meta: upload.meta.clone(),
                created_at: at,
                updated_at: at,
                facts: Facts::default().join(facts),
            });
        };
        let joined = old.facts.clone().join(facts);
        let created_at = old.created_at.min(at);
        if joined == old.facts && created_at == old.created_at {
            return None;
        }
        let shown = |facts: &Facts| Upload::of(&old.upload_id, None, facts, None);
        let updated_at = if shown(&joined) == shown(&old.facts) {
            old.updated_at
        } else {
            old.updated_at.max(at)
        };
        Some(Self {
            created_at,
            updated_at,
            facts: joined,
            ..old.clone()
        })
    }

    /// The status the facts imply.
    pub fn status(&self) -> Status {
        self.facts.status()
    }

    /// The API's view of the upload.
    pub fn to_upload(&self) -> Upload {
        Upload::of(
            &self.upload_id,
            self.meta.as_deref(),
            &self.facts,
            Some((self.created_at, self.updated_at)),
        )
    }

    /// The key listings sort by, newest first: `updatedAt` (RFC 3339, which sorts as text) then
    /// the upload id, so no two uploads share one.
    pub(crate) fn list_key(&self) -> String {
        format!("{}#{}", rfc3339(unix(self.updated_at)), self.upload_id)
    }
}

/// An upload as the API shows it (`GET /v1/uploads/{id}`): every key always present, what is
/// not known `null`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Upload {
    pub upload_id: String,
    pub status: Status,
    pub file_id: Option<String>,
    pub meta: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: Option<String>,
    /// RFC 3339, UTC.
    pub updated_at: Option<String>,
    pub media: Option<Media>,
    pub outputs: Vec<Output>,
    pub review: Option<Review>,
    pub error: Option<UploadError>,
}

impl Upload {
    /// An upload nothing has been received for: `waiting`, no record.
    pub fn waiting(upload_id: &str, meta: Option<&str>) -> Self {
        Self::of(upload_id, meta, &Facts::default(), None)
    }

    /// A `rejected` upload shows no URL: its media, and everything made from it, was deleted.
    fn of(upload_id: &str, meta: Option<&str>, facts: &Facts, times: Option<(i64, i64)>) -> Self {
        let status = facts.status();
        let gone = status == Status::Rejected;
        Self {
            upload_id: upload_id.to_owned(),
            status,
            file_id: facts.file.as_ref().map(|f| f.file_id.clone()),
            meta: meta.map(str::to_owned),
            created_at: times.map(|(created, _)| rfc3339(unix(created))),
            updated_at: times.map(|(_, updated)| rfc3339(unix(updated))),
            media: facts.file.as_ref().map(|f| Media {
                url: f.media.url.clone().filter(|_| !gone),
                cover_url: f.media.cover_url.clone().filter(|_| !gone),
                ..f.media.clone()
            }),
            outputs: if gone {
                Vec::new()
            } else {
                facts.outputs.clone()
            },
            review: facts.review.clone(),
            error: facts.error().cloned(),
        }
    }
}

fn unix(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}
