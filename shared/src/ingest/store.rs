//! The one store path of an event, shared by both delivery modes.
//!
//! A pushed callback (`crate::push`) and a pulled batch (`crate::pull`) both hand an
//! authenticated callback to [`ingest`], so an event delivered both ways gets the same envelope,
//! id and uploader, is stored once, and changes its upload once. Per event, in this order:
//!
//! 1. **look up**: the uploader from the event's context token; failing that, with an uploads
//!    store, the uploads the event's `FileId`s belong to;
//! 2. **build** the envelope (its `type` and the upload's facts come from one read of the typed
//!    view);
//! 3. **store** it in the sink;
//! 4. **enforce** the limits VOD lacks ([`super::enforce`]), for an attributed event, when the
//!    deployment sets any: judge, and for a rejection delete the media, then store vodgate's
//!    `upload.rejected` envelope;
//! 5. **update** the upload(s), and learn `FileId → upload` from an attributed `NewFileUpload`;
//!    a rejection joins the upload's update, so `rejected` is written only after the media is
//!    gone and the rejection envelope is stored.
//!
//! Only then may VOD be answered (push) or the event confirmed (pull). A failure at any step is an
//! [`IngestError`] and the event comes back: the sink writes are then duplicates, no-ops, a second
//! delete finds nothing to delete (which counts as deleted), and the update is idempotent, so
//! doing the steps again is harmless. The update comes after the sink writes so that an upload
//! never shows a change whose event is not stored. The whole path (every sink, VOD API calls, the
//! update) runs within one deadline the caller sets, on tokio's clock: push takes
//! `EVENT_STORE_TIMEOUT_SECONDS`, cut short by the Lambda invocation's own deadline; pull takes
//! what is left of VOD's confirm window.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::time::Instant;

use super::enforce::{self, Enforced, Enforcer, Judgement};
use super::envelope::{AttributedBy, Envelope, Uploader};
use super::sink::{Record, SinkError, Sinks, Stored, Unavailable, Written};
use super::uploads::{EventKind, Facts, Update, UploadRef, UploadsError, UploadsStore};
use crate::attribution::{self, TokenError};
use crate::platform::config::{ConfigError, Env};
use crate::platform::secret::SecretList;
use crate::vod::api::{ApiCredentials, Deleted, VodApiError};
use crate::vod::callback::Callback;

const DEFAULT_STORE_TIMEOUT: Duration = Duration::from_secs(10);

/// The event a request stored, left in response extensions for the request log line.
#[derive(Debug, Clone)]
pub(crate) struct StoredEvent {
    pub(crate) id: String,
    /// The sink already had it (a redelivery).
    pub(crate) duplicate: bool,
}

/// How long the sink took (success or failure), left in response extensions for metrics.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SinkLatency(pub(crate) Duration);

/// `EVENT_STORE_TIMEOUT_SECONDS`: the longest wait for one sink write (1–60 s, default 10).
pub(crate) fn store_timeout(env: &Env) -> Result<Duration, ConfigError> {
    env.seconds_in("EVENT_STORE_TIMEOUT_SECONDS", DEFAULT_STORE_TIMEOUT, 1..=60)
}

/// Where events go: the sink, the uploads store if one is configured, the limits to enforce if
/// any, and the time the whole store path may take.
#[derive(Debug, Clone)]
pub(crate) struct Stores {
    pub(crate) sink: Sinks,
    pub(crate) uploads: Option<UploadsStore>,
    pub(crate) enforcer: Option<Arc<Enforcer>>,
    pub(crate) timeout: Duration,
}

/// The keys of the store path: the context keys that attribute events to uploaders, and the VOD
/// API key pair that enforces limits (present whenever [`Stores::enforcer`] is).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct IngestKeys<'a> {
    pub(crate) context: Option<&'a SecretList>,
    pub(crate) api: Option<&'a ApiCredentials>,
}

/// An event through the store path: its id, whether the sink already had it, and how long the
/// sink took.
#[derive(Debug)]
pub(crate) struct Ingested {
    pub(crate) id: String,
    pub(crate) stored: Stored,
    pub(crate) sink_latency: Duration,
    /// What enforcing the limits did, if anything.
    pub(crate) enforced: Option<Enforced>,
    /// Why an attribution token in the event did not open, when it looked like one of ours but
    /// failed its check (forged, tampered with, or sealed under a retired key). The event is
    /// stored all the same, unattributed unless its file is known.
    pub(crate) forged: Option<TokenError>,
    /// A sink could not hold the envelope even compressed and took its marker instead.
    pub(crate) truncated: bool,
}

/// Why an event is not stored, or stored but its upload not updated: either way it must come
/// back (503, or no confirm).
#[derive(Debug, thiserror::Error)]
pub(crate) enum IngestError {
    /// The sink did not take the envelope (with how long it took).
    #[error("{0}")]
    Sink(SinkError, Duration),
    /// The uploads store did not answer the look-up or take the update.
    #[error("{0}")]
    Uploads(#[from] UploadsError),
    /// VOD's API did not describe or delete the media of an upload that breaks a limit.
    #[error("enforcing upload limits: {0}")]
    Vod(VodApiError),
}

impl IngestError {
    /// Whether a store was unavailable (rather than the event too large for the sink), so that
    /// the next events of a batch would likely fail too.
    pub(crate) fn is_unavailable(&self) -> bool {
        match self {
            Self::Sink(error, _) => error.unavailable_kind().is_some(),
            Self::Uploads(_) => true,
            Self::Vod(_) => false,
        }
    }
}

/// The store path (see the module docs): look up, build, store, enforce, update, all by
/// `deadline`.
pub(crate) async fn ingest(
    stores: &Stores,
    keys: IngestKeys<'_>,
    callback: Callback,
    received_at: OffsetDateTime,
    deadline: Instant,
) -> Result<Ingested, IngestError> {
    let at = received_at.unix_timestamp();
    let received_at_ms =
        i64::try_from(received_at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
    let (kind, facts) = Facts::of(&callback, received_at_ms);
    let judged = stores.enforcer.as_ref().map(|_| facts.clone());
    let (attributed, forged) = attribute(keys.context, &callback);
    let (uploader, mut updates) = match attributed {
        Some(uploader) => {
            let link_file = (kind == EventKind::UploadCompleted)
                .then(|| facts.file.as_ref().map(|f| f.file_id.clone()))
                .flatten();
            let update = Update {
                upload: UploadRef {
                    upload_id: uploader.upload_id.clone(),
                    sub: uploader.sub.clone(),
                    meta: uploader.meta.clone(),
                },
                facts: facts.by_context(),
                link_file,
            };
            (Some((uploader, AttributedBy::Context)), vec![update])
        }
        None => match &stores.uploads {
            Some(uploads) => by_file(uploads, &callback, facts, deadline).await?,
            None => (None, Vec::new()),
        },
    };
    let who = judged.as_ref().and(uploader.clone());
    let envelope = Envelope::build_as(kind, callback, uploader, received_at);
    let (written, sink_latency) = store_envelope(&stores.sink, &envelope, deadline).await;
    let Written { stored, truncated } = written.map_err(|e| IngestError::Sink(e, sink_latency))?;
    if truncated {
        tracing::error!(
            id = %envelope.id,
            "the event is too large for a sink even compressed: stored there as a marker without its body"
        );
    }
    let enforced = match (&stores.enforcer, judged, who) {
        (Some(enforcer), Some(facts), Some(who)) => {
            let event = Judged {
                id: &envelope.id,
                kind,
                facts: &facts,
                file_id: envelope.file_id.as_deref(),
                received_at,
            };
            enforce(
                stores,
                enforcer,
                keys.api,
                event,
                who,
                &mut updates,
                deadline,
            )
            .await?
        }
        _ => None,
    };
    if let Some(uploads) = &stores.uploads {
        for update in &updates {
            within(deadline, uploads.apply(update, at)).await?;
        }
    }
    Ok(Ingested {
        id: envelope.id,
        stored,
        sink_latency,
        enforced,
        forged,
        truncated,
    })
}

/// An attributed event as the limits see it.
struct Judged<'a> {
    /// Its envelope's id, for the logs (which never name files or uploads).
    id: &'a str,
    kind: EventKind,
    facts: &'a Facts,
    /// The file the event is about.
    file_id: Option<&'a str>,
    received_at: OffsetDateTime,
}

/// Step 4 of the store path: judge `event` of the upload `who`; for a rejection (unless the
/// upload is already rejected) delete the media, store the rejection envelope, and join the
/// rejection into the upload's update.
async fn enforce(
    stores: &Stores,
    enforcer: &Enforcer,
    api: Option<&ApiCredentials>,
    event: Judged<'_>,
    who: (Uploader, AttributedBy),
    updates: &mut [Update],
    deadline: Instant,
) -> Result<Option<Enforced>, IngestError> {
    let Some(api) = api else {
        tracing::error!("upload limits are set but no VOD API key pair was loaded; not enforced");
        return Ok(None);
    };
    let judgement = enforcer
        .judge(api, event.kind, event.facts, event.file_id, deadline)
        .await
        .map_err(IngestError::Vod)?;
    let (file_id, violation) = match judgement {
        Judgement::Keep => return Ok(None),
        Judgement::Unchecked(missing) => {
            tracing::warn!(
                id = event.id,
                missing = %missing.join(","),
                "upload limits not checked: VOD has no metadata for the file, which is kept"
            );
            return Ok(Some(Enforced::Unchecked));
        }
        Judgement::Reject { file_id, violation } => (file_id, violation),
    };
    let upload_id = who.0.upload_id.clone();
    if let Some(uploads) = &stores.uploads
        && let Some(record) = within(deadline, uploads.get(&upload_id)).await?
        && record.facts.rejection.is_some()
    {
        return Ok(None);
    }
    let code = violation.code;
    let deleted = enforcer
        .delete(api, &file_id, deadline)
        .await
        .map_err(IngestError::Vod)?;
    let decided_at_ms =
        i64::try_from(event.received_at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
    let rejection = enforce::rejection(file_id, violation, decided_at_ms);
    let envelope = Envelope::rejection(&rejection, who, event.received_at);
    let (stored, latency) = store_envelope(&stores.sink, &envelope, deadline).await;
    stored.map_err(|e| IngestError::Sink(e, latency))?;
    tracing::info!(
        id = event.id,
        rejection_id = %envelope.id,
        reason = code.as_str(),
        already_gone = deleted == Deleted::AlreadyGone,
        "upload rejected: its media was deleted"
    );
    if let Some(update) = updates.iter_mut().find(|u| u.upload.upload_id == upload_id) {
        let facts = std::mem::take(&mut update.facts);
        update.facts = facts.join(Facts {
            rejection: Some(rejection),
            ..Facts::default()
        });
    }
    Ok(Some(Enforced::Rejected(code)))
}

/// The uploads an event without a valid context token is about, through the files it names: the
/// envelope's uploader is the first one's, and each gets the facts about its own files.
async fn by_file(
    uploads: &UploadsStore,
    callback: &Callback,
    facts: Facts,
    deadline: Instant,
) -> Result<(Option<(Uploader, AttributedBy)>, Vec<Update>), UploadsError> {
    let file_ids = callback.file_ids();
    if file_ids.is_empty() {
        return Ok((None, Vec::new()));
    }
    let found = within(deadline, uploads.find_files(&file_ids)).await?;
    let mut updates: Vec<(UploadRef, Vec<&str>)> = Vec::new();
    for (file_id, upload) in &found {
        match updates
            .iter_mut()
            .find(|(u, _)| u.upload_id == upload.upload_id)
        {
            Some((_, files)) => files.push(file_id),
            None => updates.push((upload.clone(), vec![file_id])),
        }
    }
    let uploader = updates.first().map(|(upload, _)| {
        let uploader = Uploader {
            sub: upload.sub.clone(),
            upload_id: upload.upload_id.clone(),
            meta: upload.meta.clone(),
        };
        (uploader, AttributedBy::FileId)
    });
    let updates = updates
        .into_iter()
        .map(|(upload, files)| Update {
            facts: facts.clone().for_files(&files),
            upload,
            link_file: None,
        })
        .collect();
    Ok((uploader, updates))
}

/// `work` on the uploads store, given up at `deadline` (a write still running then is
/// harmless: the event comes back and the update is idempotent).
async fn within<T>(
    deadline: Instant,
    work: impl Future<Output = Result<T, UploadsError>>,
) -> Result<T, UploadsError> {
    tokio::time::timeout_at(deadline, work)
        .await
        .unwrap_or_else(|_| Err(UploadsError::unavailable(Unavailable::TimedOut, NO_ANSWER)))
}

/// Why a store gave up: its deadline came first.
const NO_ANSWER: &str =
    "no answer by the store deadline (EVENT_STORE_TIMEOUT_SECONDS, or the function's own)";

/// Writes `envelope` to `sink`, waiting until `deadline` at most (a write still running then
/// counts as failed: the event is redelivered and its retry finds it). Returns how long the sink
/// took, on tokio's clock like the deadline, so a test with a paused clock sees both exactly.
async fn store_envelope(
    sink: &Sinks,
    envelope: &Envelope,
    deadline: Instant,
) -> (Result<Written, SinkError>, Duration) {
    let received_at_text = crate::ingest::envelope::rfc3339(envelope.received_at);
    let record = Record {
        id: &envelope.id,
        kind: envelope.kind.as_str(),
        event_type: &envelope.event_type,
        file_id: envelope.file_id.as_deref(),
        uploader_sub: envelope.uploader.as_ref().map(|u| u.sub.as_str()),
        received_at: &received_at_text,
        received_at_unix: envelope.received_at.unix_timestamp(),
        envelope_json: envelope.to_json(),
    };
    let started = Instant::now();
    let marker = || envelope.truncated_marker();
    let stored = tokio::time::timeout_at(deadline, sink.store(record, &marker)).await;
    let latency = started.elapsed();
    let result =
        stored.unwrap_or_else(|_| Err(SinkError::unavailable(Unavailable::TimedOut, NO_ANSWER)));
    (result, latency)
}

/// The uploader named by the first context token that opens; `None` for missing, foreign or
/// forged tokens (the event is still stored, never trusted unless its file is known), with why
/// the first token shaped like ours did not open.
fn attribute(
    keys: Option<&SecretList>,
    callback: &Callback,
) -> (Option<Uploader>, Option<TokenError>) {
    let Some(keys) = keys else {
        return (None, None);
    };
    let mut failed = None;
    for token in callback.contexts() {
        match attribution::check(keys, token) {
            Ok(who) => {
                let uploader = Uploader {
                    sub: who.sub,
                    upload_id: who.upload_id.as_str().to_owned(),
                    meta: who.meta.map(|m| m.as_str().to_owned()),
                };
                return (Some(uploader), None);
            }
            Err(TokenError::Foreign) => {}
            Err(error) => failed = failed.or(Some(error)),
        }
    }
    (None, failed)
}

/// The tests hold a SQLite write lock to make a sink hang.
#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::ingest::sink::SqliteSink;
    use crate::vod::callback;

    #[tokio::test(start_paused = true)]
    async fn a_sink_that_does_not_answer_times_out_after_exactly_the_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.sqlite");
        let sink = Sinks::from(SqliteSink::open(&path).unwrap());
        let lock = rusqlite::Connection::open(&path).unwrap();
        lock.execute_batch("BEGIN IMMEDIATE").unwrap();
        let callback = callback::parse(br#"{"EventType":"FileDeleted"}"#).unwrap();
        let envelope = Envelope::build(callback, None, datetime!(2026-11-28 16:41:00 UTC));
        let timeout = Duration::from_secs(10);
        let deadline = Instant::now() + timeout;
        let (result, latency) = store_envelope(&sink, &envelope, deadline).await;
        let error = result.unwrap_err();
        assert_eq!(error.unavailable_kind(), Some(Unavailable::TimedOut));
        assert_eq!(
            error.to_string(),
            format!("event sink unavailable (timed out): {NO_ANSWER}")
        );
        assert_eq!(latency, timeout);
    }
}
