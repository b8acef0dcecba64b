//! The stored form of a callback: the contract with downstream consumers.
//!
//! ```json
//! {"id": "vod_…", "type": "upload.completed", "eventType": "NewFileUpload",
//!  "fileId": "5285890784273533167" | null, "taskId": "…" | null,
//!  "uploader": {"sub", "uploadId", "meta"} | null, "attributedBy": "context" | "fileId" | null,
//!  "receivedAt": "2026-11-28T16:41:00Z", "format": "v3" | "v2" | "vodgate", "event": {…}}
//! ```
//!
//! Every key is always present; absent values are `null`. `type` says what the event means for
//! an upload, so a consumer need not read VOD's structures to know a video is ready:
//! `upload.completed` (`NewFileUpload`), `media.processing` / `media.ready` / `media.failed` (a
//! task flow's `PROCESSING`, and its `FINISH` judged by the error codes and every sub-task, since
//! `FINISH` alone is not success), `media.reviewed` (`ReviewAudioVideoComplete`), `media.deleted`
//! (`FileDeleted` of a file's original), `media.event` (anything else), and `upload.rejected`, the
//! one envelope vodgate writes of its own ([`Envelope::rejection`], `format` `vodgate`) when it
//! deleted an upload's media for breaking a limit. It is computed from the event alone ([`crate::ingest::uploads::Facts::of`]), so every delivery of an event has the
//! same. `attributedBy` says how the uploader was found: `context`, the attribution token the
//! signature sealed came back in the event; `fileId`, the event carried none but named a file an
//! earlier, attributed `NewFileUpload` tied to its upload (with `UPLOADS_STORE` only). `receivedAt` is RFC 3339 in UTC with
//! whole seconds. `event` is the callback body as received minus `Sign`, `T` and `EventHandle`,
//! which belong to one delivery, not to the event. `schemas/envelope.schema.json` describes the
//! same shape.
//!
//! # The id rule
//!
//! VOD delivers at least once: a PUSH callback may be retried, a PULL event comes back until
//! confirmed, and an account can switch between the two. The id is therefore derived from the event
//! itself, so that every delivery of one event gets the same id and consumers can deduplicate on it:
//!
//! `id = "vod_" + lowercase hex of the first 16 bytes of SHA-256(canonical JSON of the body)`,
//! where the body first loses
//!
//! * the top-level members `Sign`, `T` and `EventHandle`: they change with every delivery (`T` is
//!   an expiry ten minutes after sending; `EventHandle` exists only in PULL mode);
//! * every null-valued object member, at any depth, including in objects inside arrays: PULL shows
//!   the payload keys of other event types, and absent fields, as explicit nulls where PUSH omits
//!   them. Nulls that are array elements are kept, since removing them would shift positions.
//!
//! Canonical JSON is serde_json's compact output (its string escaping and number formatting) with
//! the keys of every object sorted by their UTF-8 bytes, whatever order they arrived in. Array
//! order is kept. Different events get different ids, including two status reports of one task
//! (`PROCESSING`, then `FINISH`): they are different events to a consumer.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

use super::uploads::{EventKind, Facts, Rejection};
use crate::vod::callback::{Callback, DELIVERY_KEYS, Format};

/// Who wrote the event: VOD, in its current (`v3`) or legacy 2017 (`v2`) callback format, or
/// vodgate itself (`upload.rejected`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnvelopeFormat {
    V3,
    V2,
    Vodgate,
}

impl From<Format> for EnvelopeFormat {
    fn from(format: Format) -> Self {
        match format {
            Format::V3 => Self::V3,
            Format::V2 => Self::V2,
        }
    }
}

/// The `eventType` of vodgate's own rejection envelope.
pub const REJECTED_EVENT_TYPE: &str = "vodgate.UploadRejected";

/// How an envelope's uploader was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttributedBy {
    /// A valid attribution token came back in the event.
    Context,
    /// The event named a file the uploads store had tied to an upload.
    FileId,
}

/// Who uploaded the file an event is about, as attributed by the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Uploader {
    /// The uploader's subject (user id).
    pub sub: String,
    /// The upload the signature was issued for.
    pub upload_id: String,
    /// Application data attached to the upload, if any.
    pub meta: Option<String>,
}

/// A callback as stored. Serialises to the contract in the module docs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// [`event_id`] of the callback.
    pub id: String,
    /// What the event means for an upload.
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// `EventType` (v3) or `eventType` (v2).
    pub event_type: String,
    /// [`Callback::file_id`].
    pub file_id: Option<String>,
    /// [`Callback::task_id`].
    pub task_id: Option<String>,
    /// The attributed uploader, if any.
    pub uploader: Option<Uploader>,
    /// How `uploader` was found; `None` when it is `None`.
    pub attributed_by: Option<AttributedBy>,
    /// When the service received the callback; serialised in UTC, whole seconds.
    #[serde(
        serialize_with = "write_timestamp",
        deserialize_with = "read_timestamp"
    )]
    pub received_at: OffsetDateTime,
    /// Which callback format VOD used, or `vodgate` for vodgate's own envelope.
    pub format: EnvelopeFormat,
    /// The body as received, without `Sign`, `T` and `EventHandle`.
    pub event: Map<String, Value>,
}

impl Envelope {
    /// Builds the envelope of a parsed callback, whose body becomes the envelope's `event` (moved,
    /// not copied: a body may be a megabyte). `received_at` is converted to UTC and truncated to
    /// whole seconds. Its `type` is read from the callback's typed view.
    pub fn build(
        callback: Callback,
        uploader: Option<(Uploader, AttributedBy)>,
        received_at: OffsetDateTime,
    ) -> Self {
        let (kind, _) = Facts::of(&callback, 0);
        Self::build_as(kind, callback, uploader, received_at)
    }

    /// [`Envelope::build`] with the `type` already known (the store path reads the typed view
    /// once, for the type and the upload's facts together).
    pub(crate) fn build_as(
        kind: EventKind,
        callback: Callback,
        uploader: Option<(Uploader, AttributedBy)>,
        received_at: OffsetDateTime,
    ) -> Self {
        let (uploader, attributed_by) = uploader.unzip();
        Self {
            id: event_id(&callback),
            kind,
            event_type: callback.event_type().to_owned(),
            file_id: callback.file_id(),
            task_id: callback.task_id(),
            uploader,
            attributed_by,
            received_at: whole_seconds_utc(received_at),
            format: callback.format().into(),
            event: callback.into_event(),
        }
    }

    /// vodgate's own envelope for a rejected upload: one per upload, whatever redelivers the
    /// events that caused it, since its id is derived from the upload id alone
    /// (`vod_` + the first 32 hex digits of SHA-256 over `"vodgate.UploadRejected\n" + uploadId`).
    /// `event` is `{"fileId", "reason", "limit", "actual"}`, `reason` being the rejection's code.
    pub fn rejection(
        rejection: &Rejection,
        uploader: (Uploader, AttributedBy),
        decided_at: OffsetDateTime,
    ) -> Self {
        let digest = Sha256::digest(format!("{REJECTED_EVENT_TYPE}\n{}", uploader.0.upload_id));
        let mut event = Map::new();
        event.insert("fileId".into(), rejection.file_id.clone().into());
        event.insert("reason".into(), rejection.error.code.clone().into());
        event.insert("limit".into(), rejection.limit.clone());
        event.insert("actual".into(), rejection.actual.clone());
        let (uploader, attributed_by) = uploader;
        Self {
            id: format!("vod_{}", hex::encode(&digest[..16])),
            kind: EventKind::UploadRejected,
            event_type: REJECTED_EVENT_TYPE.to_owned(),
            file_id: Some(rejection.file_id.clone()),
            task_id: None,
            uploader: Some(uploader),
            attributed_by: Some(attributed_by),
            received_at: whole_seconds_utc(decided_at),
            format: EnvelopeFormat::Vodgate,
            event,
        }
    }

    /// The compact stand-in stored when a sink cannot hold the envelope even compressed: every
    /// member as usual but `event`, which is `null`, plus `"truncated": true`. Under the same id,
    /// so the event is acknowledged once and its consumers know what they are missing.
    pub fn truncated_marker(&self) -> String {
        let mut marker = Map::new();
        let member = |value: Result<Value, serde_json::Error>| value.unwrap_or(Value::Null);
        marker.insert("id".into(), self.id.clone().into());
        marker.insert("type".into(), member(serde_json::to_value(self.kind)));
        marker.insert("eventType".into(), self.event_type.clone().into());
        marker.insert("fileId".into(), self.file_id.clone().into());
        marker.insert("taskId".into(), self.task_id.clone().into());
        marker.insert(
            "uploader".into(),
            member(serde_json::to_value(&self.uploader)),
        );
        marker.insert(
            "attributedBy".into(),
            member(serde_json::to_value(self.attributed_by)),
        );
        marker.insert("receivedAt".into(), rfc3339(self.received_at).into());
        marker.insert("format".into(), member(serde_json::to_value(self.format)));
        marker.insert("event".into(), Value::Null);
        marker.insert("truncated".into(), true.into());
        Value::Object(marker).to_string()
    }

    /// The envelope as compact JSON.
    pub fn to_json(&self) -> String {
        // Cannot fail: every key is a string and `write_timestamp` is infallible, and those are
        // the only ways serde_json serialisation to a `String` fails.
        serde_json::to_string(self).expect("an Envelope always serialises")
    }
}

/// The id of a callback's event; see "The id rule" in the module docs.
pub fn event_id(callback: &Callback) -> String {
    let mut canonical = Vec::with_capacity(1024);
    canonical.push(b'{');
    let members = sorted_members(callback.body())
        .into_iter()
        .filter(|(key, _)| !DELIVERY_KEYS.contains(&key.as_str()));
    write_members(members, &mut canonical);
    canonical.push(b'}');
    let digest = Sha256::digest(&canonical);
    format!("vod_{}", hex::encode(&digest[..16]))
}

/// Members of an object, null-valued ones removed, sorted by the UTF-8 bytes of their keys.
fn sorted_members(object: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut members: Vec<_> = object
        .iter()
        .filter(|(_, value)| !value.is_null())
        .collect();
    members.sort_by(|(a, _), (b, _)| a.as_bytes().cmp(b.as_bytes()));
    members
}

fn write_members<'a>(members: impl Iterator<Item = (&'a String, &'a Value)>, out: &mut Vec<u8>) {
    for (index, (key, value)) in members.enumerate() {
        if index > 0 {
            out.push(b',');
        }
        write_scalar(key, out);
        out.push(b':');
        write_canonical(value, out);
    }
}

/// Appends the canonical JSON of `value`. Recursion is bounded by the parser's nesting limit.
fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(object) => {
            out.push(b'{');
            write_members(sorted_members(object).into_iter(), out);
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => write_scalar(scalar, out),
    }
}

/// A string, number or boolean as serde_json's compact writer writes it, appended in place
/// rather than through a `String` per value.
fn write_scalar<T: Serialize + ?Sized>(scalar: &T, out: &mut Vec<u8>) {
    // Cannot fail: writing to a Vec does not fail, and strings, numbers and booleans always
    // serialise.
    serde_json::to_writer(&mut *out, scalar).expect("a JSON scalar always serialises");
}

fn whole_seconds_utc(at: OffsetDateTime) -> OffsetDateTime {
    let utc = to_utc(at);
    utc.replace_nanosecond(0).unwrap_or(utc)
}

/// `at` in UTC. An instant that UTC cannot show within `time`'s years ±9999 (possible only near
/// those limits) is clamped to the nearest representable one instead of panicking.
fn to_utc(at: OffsetDateTime) -> OffsetDateTime {
    at.checked_to_offset(UtcOffset::UTC).unwrap_or_else(|| {
        if at.offset().is_negative() {
            PrimitiveDateTime::MAX.assume_utc()
        } else {
            PrimitiveDateTime::MIN.assume_utc()
        }
    })
}

/// RFC 3339 in UTC with whole seconds, such as `2026-11-28T16:41:00Z`. Written by hand rather than
/// with `time`'s formatter, which refuses years outside 0–9999, so formatting cannot fail.
pub(crate) fn rfc3339(at: OffsetDateTime) -> String {
    let utc = to_utc(at);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        utc.year(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second()
    )
}

fn write_timestamp<S: Serializer>(at: &OffsetDateTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&rfc3339(*at))
}

fn read_timestamp<'de, D: Deserializer<'de>>(deserializer: D) -> Result<OffsetDateTime, D::Error> {
    let text = String::deserialize(deserializer)?;
    OffsetDateTime::parse(&text, &Rfc3339).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests;
