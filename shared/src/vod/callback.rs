//! Parsing Tencent Cloud VOD event callbacks.
//!
//! [`parse`] turns a callback body into a [`Callback`]. It rejects a body only when nothing useful
//! can be stored: too large, not UTF-8, not JSON, nested deeper than [`MAX_NESTING_DEPTH`], not an
//! object, or without an event type. It never rejects for shape, because a rejected callback is a
//! lost event, and the shape is not ours: VOD has added event types every few months (the list in
//! the SDK keeps growing) and adds fields without notice. So:
//!
//! * unknown event types are accepted, with [`Payload::Other`] as their typed view;
//! * the whole body is kept as raw JSON ([`Callback::body`]), so nothing VOD sent is lost;
//! * the typed view ([`Callback::payload`]) is best effort: if a known payload does not match its
//!   struct (a field of an unexpected type, say), the view falls back to [`Payload::Other`] and the
//!   accessors still read the raw JSON.
//!
//! Two formats exist. The v3 ("2018") body is VOD's `EventContent`: `EventType`, one payload
//! object under a per-type key ([`payload_key`]), in PULL mode an `EventHandle` and explicit nulls
//! for the other payload keys, and, when a callback key is configured, `Sign` and `T` at the top
//! level. The legacy v2 ("2017") body is `{"version", "eventType", "data"}` with lowerCamelCase
//! fields; accounts created before 2019 may still receive it.
//!
//! `Sign` and `T` are exposed but not checked here: authentication is a separate decision, and a
//! missing or malformed `T` is for that layer to refuse.
//!
//! Nesting is bounded at [`MAX_NESTING_DEPTH`] levels by a scan before parsing. serde_json would
//! stop at 128 on its own; the lower bound is far above anything VOD sends (under 10 levels) and
//! keeps every later recursive walk (typed views, the envelope id) shallow.

mod payload;

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use payload::{
    AudioStream, FileDeleteEvent, FileUploadEvent, MediaBasicInfo, MediaProcessTaskResult,
    MetaData, ProcedureStateChangeEvent, PullCompleteEvent, SourceInfo, TranscodeOutput,
    TranscodeTask, VideoStream,
};

/// Largest accepted callback body, in bytes. VOD payloads are a few kilobytes.
pub const MAX_CALLBACK_BYTES: usize = 1024 * 1024;

/// Deepest accepted nesting of JSON arrays and objects; the top-level object is level 1.
pub const MAX_NESTING_DEPTH: usize = 64;

/// Top-level keys that carry delivery and authentication data rather than the event.
pub const DELIVERY_KEYS: [&str; 3] = ["Sign", "T", "EventHandle"];

/// Which callback format a body used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// The current ("2018", v3.0) format: `EventType` plus a payload object.
    V3,
    /// The legacy ("2017", v2.0) format: `version`, `eventType` and `data`.
    V2,
}

/// Why a callback body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// The body is larger than [`MAX_CALLBACK_BYTES`].
    #[error("callback body is {len} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// Bytes received.
        len: usize,
        /// Bytes allowed.
        limit: usize,
    },
    /// The body is not UTF-8, so it cannot be JSON.
    #[error("callback body is not valid UTF-8 (invalid byte at offset {valid_up_to})")]
    NotUtf8 {
        /// Offset of the first invalid byte.
        valid_up_to: usize,
    },
    /// The body is not JSON. `detail` is serde_json's description and position, never body text.
    #[error("callback body is not valid JSON: {detail}")]
    InvalidJson {
        /// What was wrong, and where.
        detail: String,
    },
    /// The body nests arrays and objects deeper than [`MAX_NESTING_DEPTH`].
    #[error("callback body nests arrays and objects deeper than {limit} levels")]
    TooDeep {
        /// Levels allowed.
        limit: usize,
    },
    /// The body is JSON but not an object.
    #[error("callback body must be a JSON object, found {found}")]
    NotAnObject {
        /// The JSON type found, such as "an array".
        found: &'static str,
    },
    /// Neither a v3 `EventType` nor a v2 `eventType` with `version`.
    #[error("missing EventType (expected a v3 `EventType` or a v2 `eventType` with `version`)")]
    MissingEventType,
    /// The event type is present but not a string.
    #[error("{field} must be a string, found {found}")]
    EventTypeNotString {
        /// `EventType` or `eventType`.
        field: &'static str,
        /// The JSON type found, such as "a number".
        found: &'static str,
    },
}

impl CallbackError {
    /// HTTP status for the response: 413 for [`CallbackError::TooLarge`], otherwise 400.
    pub fn status(&self) -> u16 {
        match self {
            Self::TooLarge { .. } => 413,
            _ => 400,
        }
    }

    /// Machine-readable reason for the response body: `payload_too_large` or `bad_request`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "payload_too_large",
            _ => "bad_request",
        }
    }
}

/// Typed view of the payloads the service reads; everything else is [`Payload::Other`].
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// `NewFileUpload`.
    FileUpload(FileUploadEvent),
    /// `ProcedureStateChanged`.
    ProcedureStateChanged(ProcedureStateChangeEvent),
    /// `FileDeleted`.
    FileDeleted(FileDeleteEvent),
    /// `PullComplete`.
    PullComplete(PullCompleteEvent),
    /// Any other type, a v2 body, or a known payload that did not match its struct. The raw JSON
    /// is in [`Callback::body`].
    Other,
}

/// The `T` field: expiry of the callback signature, in Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiry {
    /// The decimal text `Sign` is computed over: a JSON string as received, a JSON integer as
    /// serde_json prints it.
    pub text: String,
    /// The same value as a number.
    pub unix: i64,
}

/// A parsed callback: the body as received plus what the service reads from it.
///
/// `Debug` leaves out the body and `Sign`, so a logged callback cannot be replayed.
#[derive(Clone, PartialEq)]
pub struct Callback {
    body: Map<String, Value>,
    format: Format,
    event_type: String,
    payload: Payload,
}

impl fmt::Debug for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Callback")
            .field("format", &self.format)
            .field("event_type", &self.event_type)
            .field("payload", &self.payload)
            .finish_non_exhaustive()
    }
}

/// Parses a callback body. See the module docs for what is refused and why.
pub fn parse(body: &[u8]) -> Result<Callback, CallbackError> {
    if body.len() > MAX_CALLBACK_BYTES {
        return Err(CallbackError::TooLarge {
            len: body.len(),
            limit: MAX_CALLBACK_BYTES,
        });
    }
    let text = std::str::from_utf8(body).map_err(|err| CallbackError::NotUtf8 {
        valid_up_to: err.valid_up_to(),
    })?;
    if nesting_exceeds(text, MAX_NESTING_DEPTH) {
        return Err(CallbackError::TooDeep {
            limit: MAX_NESTING_DEPTH,
        });
    }
    let value: Value = serde_json::from_str(text).map_err(|err| CallbackError::InvalidJson {
        detail: json_error_detail(&err),
    })?;
    let Value::Object(body) = value else {
        return Err(CallbackError::NotAnObject {
            found: json_kind(&value),
        });
    };
    let (format, event_type) = identify(&body)?;
    let payload = typed_payload(
        format,
        &event_type,
        locate_payload(&body, format, &event_type),
    );
    Ok(Callback {
        body,
        format,
        event_type,
        payload,
    })
}

/// The payload key VOD uses for a v3 event type (`NewFileUpload` → `FileUploadEvent`), or `None`
/// for a type this table does not know.
///
/// For `WechatPublishComplete` and `WechatMiniProgramPublishComplete` the sources disagree; this
/// returns the SDK's key, and [`Callback`] also looks under the other spelling.
pub fn payload_key(event_type: &str) -> Option<&'static str> {
    let key = match event_type {
        "NewFileUpload" => "FileUploadEvent",
        "ProcedureStateChanged" => "ProcedureStateChangeEvent",
        "FileDeleted" => "FileDeleteEvent",
        "PullComplete" => "PullCompleteEvent",
        "EditMediaComplete" => "EditMediaCompleteEvent",
        "SplitMediaComplete" => "SplitMediaCompleteEvent",
        "ComposeMediaComplete" => "ComposeMediaCompleteEvent",
        "WechatPublishComplete" => "WechatPublishCompleteEvent",
        "WechatMiniProgramPublishComplete" => "WechatMiniProgramPublishCompleteEvent",
        "RemoveWatermark" => "RemoveWatermarkCompleteEvent",
        "RestoreMediaComplete" => "RestoreMediaCompleteEvent",
        "RebuildMediaComplete" => "RebuildMediaCompleteEvent",
        "ExtractTraceWatermarkComplete" => "ExtractTraceWatermarkCompleteEvent",
        "ExtractCopyRightWatermarkComplete" => "ExtractCopyRightWatermarkCompleteEvent",
        "ReviewAudioVideoComplete" => "ReviewAudioVideoCompleteEvent",
        "ReduceMediaBitrateComplete" => "ReduceMediaBitrateCompleteEvent",
        "DescribeFileAttributesComplete" => "DescribeFileAttributesCompleteEvent",
        "QualityInspectComplete" => "QualityInspectCompleteEvent",
        "QualityEnhanceComplete" => "QualityEnhanceCompleteEvent",
        "MediaCastStatusChanged" => "MediaCastStatusChangedEvent",
        "PersistenceComplete" => "PersistenceCompleteEvent",
        "ComplexAdaptiveDynamicStreamingComplete" => "ComplexAdaptiveDynamicStreamingCompleteEvent",
        "ProcessMediaByMPSComplete" => "ProcessMediaByMPSCompleteEvent",
        "AigcImageTaskComplete" => "AigcImageCompleteEvent",
        "AigcVideoTaskComplete" => "AigcVideoCompleteEvent",
        "ExtractBlindWatermarkComplete" => "ExtractBlindWatermarkComplete",
        "SceneAigcImageCompleteEvent" => "SceneAigcImageCompleteEvent",
        "ProcessImageAsyncCompleteEvent" => "ProcessImageAsyncCompleteEvent",
        "CreateAigcAdvancedCustomElementCompleteEvent" => {
            "CreateAigcAdvancedCustomElementCompleteEvent"
        }
        "CreateAigcCustomVoiceCompleteEvent" => "CreateAigcCustomVoiceCompleteEvent",
        "DescribeAigcFaceInfoAsyncComplete" => "DescribeAigcFaceInfoAsyncCompleteEvent",
        "TranscodeComplete" => "TranscodeCompleteEvent",
        "ConcatComplete" => "ConcatCompleteEvent",
        "ClipComplete" => "ClipCompleteEvent",
        "CreateImageSpriteComplete" => "CreateImageSpriteCompleteEvent",
        "CreateSnapshotByTimeOffsetComplete" => "SnapshotByTimeOffsetCompleteEvent",
        _ => return None,
    };
    Some(key)
}

/// The other spelling seen for the two event types whose payload key the sources disagree on.
fn alternative_payload_key(event_type: &str) -> Option<&'static str> {
    match event_type {
        "WechatPublishComplete" => Some("WechatPublishComplete"),
        "WechatMiniProgramPublishComplete" => Some("WechatMiniProgramPublishEvent"),
        _ => None,
    }
}

impl Callback {
    /// The top-level JSON object exactly as received, `Sign`, `T` and `EventHandle` included.
    pub fn body(&self) -> &Map<String, Value> {
        &self.body
    }

    /// Which format the body used.
    pub fn format(&self) -> Format {
        self.format
    }

    /// `EventType` (v3) or `eventType` (v2).
    pub fn event_type(&self) -> &str {
        &self.event_type
    }

    /// Typed view of the payload; [`Payload::Other`] when there is none.
    pub fn payload(&self) -> &Payload {
        &self.payload
    }

    /// The payload object as raw JSON: the object under [`payload_key`] (or its alternative
    /// spelling); for a type without a known key, the only object-valued top-level member besides
    /// `EventType`, `Sign`, `T` and `EventHandle`; for v2, `data`.
    pub fn payload_json(&self) -> Option<&Map<String, Value>> {
        locate_payload(&self.body, self.format, &self.event_type).and_then(Value::as_object)
    }

    /// `Sign`, if it is a string.
    pub fn sign(&self) -> Option<&str> {
        self.body.get("Sign").and_then(Value::as_str)
    }

    /// `T`, if it is an integer or a decimal string that fits in `i64`. VOD documents an int64;
    /// anything else is `None` here and still visible in [`Callback::body`].
    pub fn t(&self) -> Option<Expiry> {
        match self.body.get("T")? {
            Value::Number(number) => number.as_i64().map(|unix| Expiry {
                text: number.to_string(),
                unix,
            }),
            Value::String(text) => text.parse().ok().map(|unix| Expiry {
                text: text.clone(),
                unix,
            }),
            _ => None,
        }
    }

    /// `EventHandle`, present in PULL mode.
    pub fn event_handle(&self) -> Option<&str> {
        self.body.get("EventHandle").and_then(Value::as_str)
    }

    /// The file the event is about, as a decimal string; `None` if absent or empty.
    ///
    /// v3: the payload's `FileId`, else the first of `FileIdSet` (`FileDeleted`), else
    /// `Output.FileId` (the file a task produced, such as `EditMediaComplete`), else
    /// `Input.FileId` (the file a task read, such as `ReviewAudioVideoComplete`).
    /// v2: `data.fileId`, else `data.fileInfo[0].fileId` (`FileDeleted`).
    pub fn file_id(&self) -> Option<String> {
        let paths: &[&str] = match self.format {
            Format::V3 => &["/FileId", "/FileIdSet/0", "/Output/FileId", "/Input/FileId"],
            Format::V2 => &["/fileId", "/fileInfo/0/fileId"],
        };
        self.first_id(paths)
    }

    /// The task the event reports on: the payload's `TaskId` (v3), or `data.vodTaskId` or
    /// `data.taskId` (v2); `None` if absent or empty.
    pub fn task_id(&self) -> Option<String> {
        let paths: &[&str] = match self.format {
            Format::V3 => &["/TaskId"],
            Format::V2 => &["/vodTaskId", "/taskId"],
        };
        self.first_id(paths)
    }

    /// Candidates for attributing the event to an uploader, most specific first, without empty
    /// strings or repeats: the upload signature's `sourceContext` as returned in
    /// `MediaBasicInfo.SourceInfo.SourceContext`, then the payload's `SessionContext`
    /// (v2: `data.sourceContext`).
    pub fn contexts(&self) -> Vec<&str> {
        let paths: &[&str] = match self.format {
            Format::V3 => &[
                "/MediaBasicInfo/SourceInfo/SourceContext",
                "/SessionContext",
            ],
            Format::V2 => &["/sourceContext"],
        };
        let mut found: Vec<&str> = Vec::new();
        if let Some(payload) = locate_payload(&self.body, self.format, &self.event_type) {
            for path in paths {
                if let Some(context) = payload.pointer(path).and_then(Value::as_str)
                    && !context.is_empty()
                    && !found.contains(&context)
                {
                    found.push(context);
                }
            }
        }
        found
    }

    fn first_id(&self, paths: &[&str]) -> Option<String> {
        let payload = locate_payload(&self.body, self.format, &self.event_type)?;
        paths
            .iter()
            .find_map(|path| payload.pointer(path).and_then(id_string))
    }
}

/// An id as a non-empty string: a JSON string as is, an integer that fits in `u64` in decimal.
fn id_string(value: &Value) -> Option<String> {
    let id = match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.as_u64()?.to_string(),
        _ => return None,
    };
    (!id.is_empty()).then_some(id)
}

fn identify(body: &Map<String, Value>) -> Result<(Format, String), CallbackError> {
    match body.get("EventType") {
        Some(Value::String(event_type)) => Ok((Format::V3, event_type.clone())),
        Some(other) => Err(CallbackError::EventTypeNotString {
            field: "EventType",
            found: json_kind(other),
        }),
        None if body.contains_key("version") => match body.get("eventType") {
            Some(Value::String(event_type)) => Ok((Format::V2, event_type.clone())),
            Some(other) => Err(CallbackError::EventTypeNotString {
                field: "eventType",
                found: json_kind(other),
            }),
            None => Err(CallbackError::MissingEventType),
        },
        None => Err(CallbackError::MissingEventType),
    }
}

fn locate_payload<'a>(
    body: &'a Map<String, Value>,
    format: Format,
    event_type: &str,
) -> Option<&'a Value> {
    if format == Format::V2 {
        return body.get("data").filter(|data| data.is_object());
    }
    payload_key(event_type)
        .into_iter()
        .chain(alternative_payload_key(event_type))
        .filter_map(|key| body.get(key))
        .find(|value| value.is_object())
        .or_else(|| sole_payload_object(body))
}

/// The only object-valued top-level member other than `EventType` and the delivery keys.
fn sole_payload_object(body: &Map<String, Value>) -> Option<&Value> {
    let mut objects = body
        .iter()
        .filter(|(key, value)| {
            value.is_object()
                && key.as_str() != "EventType"
                && !DELIVERY_KEYS.contains(&key.as_str())
        })
        .map(|(_, value)| value);
    let first = objects.next()?;
    objects.next().is_none().then_some(first)
}

fn typed_payload(format: Format, event_type: &str, payload: Option<&Value>) -> Payload {
    let (Format::V3, Some(value)) = (format, payload) else {
        return Payload::Other;
    };
    let typed = match event_type {
        "NewFileUpload" => FileUploadEvent::deserialize(value).map(Payload::FileUpload),
        "ProcedureStateChanged" => {
            ProcedureStateChangeEvent::deserialize(value).map(Payload::ProcedureStateChanged)
        }
        "FileDeleted" => FileDeleteEvent::deserialize(value).map(Payload::FileDeleted),
        "PullComplete" => PullCompleteEvent::deserialize(value).map(Payload::PullComplete),
        _ => return Payload::Other,
    };
    typed.unwrap_or(Payload::Other)
}

/// Whether arrays and objects nest deeper than `limit`, ignoring brackets inside strings.
///
/// Runs on text that is valid UTF-8, where `"` and `\` bytes are always those characters. On text
/// that is not JSON the answer is meaningless but harmless: the parser refuses that text anyway.
fn nesting_exceeds(text: &str, limit: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for byte in text.bytes() {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// serde_json's message and position for a syntax or end-of-input error, which name what was
/// expected and never quote the input; only the position for anything else.
fn json_error_detail(err: &serde_json::Error) -> String {
    if err.is_syntax() || err.is_eof() {
        err.to_string()
    } else {
        format!("at line {} column {}", err.line(), err.column())
    }
}

/// The JSON type of a value, for error messages.
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    const NEW_FILE_UPLOAD: &str =
        include_str!("../../../tests/fixtures/callbacks/new_file_upload.json");
    const PROCEDURE_FINISH: &str =
        include_str!("../../../tests/fixtures/callbacks/procedure_finish.json");
    const PROCEDURE_CHANGE_PROCESSING: &str =
        include_str!("../../../tests/fixtures/callbacks/procedure_change_processing.json");
    const PROCEDURE_CHANGE_FINISH: &str =
        include_str!("../../../tests/fixtures/callbacks/procedure_change_finish.json");
    const FILE_DELETED: &str = include_str!("../../../tests/fixtures/callbacks/file_deleted.json");
    const PULL_COMPLETE: &str =
        include_str!("../../../tests/fixtures/callbacks/pull_complete.json");
    const PULL_EVENTS_RESPONSE: &str =
        include_str!("../../../tests/fixtures/callbacks/pull_events_response.json");
    const UNKNOWN_FUTURE_TYPE: &str =
        include_str!("../../../tests/fixtures/callbacks/unknown_future_type.json");
    const LEGACY_V2_NEW_FILE_UPLOAD: &str =
        include_str!("../../../tests/fixtures/callbacks/legacy_v2_new_file_upload.json");
    const REVIEW_AUDIO_VIDEO: &str =
        include_str!("../../../tests/fixtures/callbacks/review_audio_video.json");
    const EDIT_MEDIA_COMPLETE: &str =
        include_str!("../../../tests/fixtures/callbacks/edit_media_complete.json");

    /// Every fixture, by file name.
    pub(crate) const FIXTURES: [(&str, &str); 11] = [
        ("new_file_upload", NEW_FILE_UPLOAD),
        ("procedure_finish", PROCEDURE_FINISH),
        ("procedure_change_processing", PROCEDURE_CHANGE_PROCESSING),
        ("procedure_change_finish", PROCEDURE_CHANGE_FINISH),
        ("file_deleted", FILE_DELETED),
        ("pull_complete", PULL_COMPLETE),
        ("pull_events_response", PULL_EVENTS_RESPONSE),
        ("unknown_future_type", UNKNOWN_FUTURE_TYPE),
        ("legacy_v2_new_file_upload", LEGACY_V2_NEW_FILE_UPLOAD),
        ("review_audio_video", REVIEW_AUDIO_VIDEO),
        ("edit_media_complete", EDIT_MEDIA_COMPLETE),
    ];

    /// Every callback the fixtures hold: each file but the PullEvents response, plus each event
    /// in that response.
    pub(crate) fn fixture_callbacks() -> Vec<(String, Callback)> {
        let mut callbacks: Vec<_> = FIXTURES
            .iter()
            .filter(|(name, _)| *name != "pull_events_response")
            .map(|(name, text)| ((*name).to_owned(), parsed(text)))
            .collect();
        for (index, event) in pulled_events().iter().enumerate() {
            let callback = parse_value(event).expect("PULL event parses");
            callbacks.push((format!("pull_events_response[{index}]"), callback));
        }
        callbacks
    }

    pub(crate) fn parsed(text: &str) -> Callback {
        parse(text.as_bytes()).expect("fixture parses")
    }

    pub(crate) fn parse_value(value: &Value) -> Result<Callback, CallbackError> {
        parse(value.to_string().as_bytes())
    }

    /// The events of the PullEvents response, as PULL delivers them.
    pub(crate) fn pulled_events() -> Vec<Value> {
        let response: Value = serde_json::from_str(PULL_EVENTS_RESPONSE).expect("fixture is JSON");
        response["Response"]["EventSet"]
            .as_array()
            .expect("EventSet is an array")
            .clone()
    }

    struct Expected {
        fixture: &'static str,
        event_type: &'static str,
        format: Format,
        file_id: Option<&'static str>,
        task_id: Option<&'static str>,
        contexts: &'static [&'static str],
    }

    #[test]
    fn every_fixture_parses_with_the_expected_fields() {
        let cases = [
            Expected {
                fixture: NEW_FILE_UPLOAD,
                event_type: "NewFileUpload",
                format: Format::V3,
                file_id: Some("5285890784273533167"),
                task_id: None,
                contexts: &["u=42&up=9f3c"],
            },
            Expected {
                fixture: PROCEDURE_FINISH,
                event_type: "ProcedureStateChanged",
                format: Format::V3,
                file_id: Some("5285890784273533167"),
                task_id: Some("1500000001-procedurev2-2e7f0c4b1f3a9d6e8c5b"),
                contexts: &["u=42&up=9f3c"],
            },
            Expected {
                fixture: PROCEDURE_CHANGE_PROCESSING,
                event_type: "ProcedureStateChanged",
                format: Format::V3,
                file_id: Some("5285890784279910342"),
                task_id: Some("1500000001-procedurev2-8a41d93c07b25e6f1d0a"),
                contexts: &["u=7&up=c1d2"],
            },
            Expected {
                fixture: PROCEDURE_CHANGE_FINISH,
                event_type: "ProcedureStateChanged",
                format: Format::V3,
                file_id: Some("5285890784279910342"),
                task_id: Some("1500000001-procedurev2-8a41d93c07b25e6f1d0a"),
                contexts: &["u=7&up=c1d2"],
            },
            Expected {
                fixture: FILE_DELETED,
                event_type: "FileDeleted",
                format: Format::V3,
                file_id: Some("5285890784281127704"),
                task_id: None,
                contexts: &[],
            },
            Expected {
                fixture: PULL_COMPLETE,
                event_type: "PullComplete",
                format: Format::V3,
                file_id: Some("1450807109824495903"),
                task_id: Some("1500000001-Pull-f5ac8127b3b6b85cdc13f237c6005d8"),
                contexts: &[],
            },
            Expected {
                fixture: UNKNOWN_FUTURE_TYPE,
                event_type: "HoloCastComplete",
                format: Format::V3,
                file_id: Some("5285890784290044215"),
                task_id: Some("1500000001-HoloCast-3c9d1e7a5b2f4c8e"),
                contexts: &["u=12&up=77aa"],
            },
            Expected {
                fixture: LEGACY_V2_NEW_FILE_UPLOAD,
                event_type: "NewFileUpload",
                format: Format::V2,
                file_id: Some("5285890784300157790"),
                task_id: None,
                contexts: &["u=5&up=0b1c"],
            },
            Expected {
                fixture: REVIEW_AUDIO_VIDEO,
                event_type: "ReviewAudioVideoComplete",
                format: Format::V3,
                file_id: Some("5285890784273533167"),
                task_id: Some("1500000001-ReviewAudioVideo-4b7e2d91c3a85f06"),
                contexts: &["u=42&up=9f3c"],
            },
            Expected {
                fixture: EDIT_MEDIA_COMPLETE,
                event_type: "EditMediaComplete",
                format: Format::V3,
                file_id: Some("5285890784312208801"),
                task_id: Some("1500000001-EditMedia-9d2c4e6a8b1f3d57"),
                contexts: &["u=42&up=9f3c"],
            },
        ];
        for case in cases {
            let callback = parsed(case.fixture);
            assert_eq!(callback.event_type(), case.event_type);
            assert_eq!(callback.format(), case.format, "{}", case.event_type);
            assert_eq!(
                callback.file_id().as_deref(),
                case.file_id,
                "{}",
                case.event_type
            );
            assert_eq!(
                callback.task_id().as_deref(),
                case.task_id,
                "{}",
                case.event_type
            );
            assert_eq!(callback.contexts(), case.contexts, "{}", case.event_type);
            assert!(callback.payload_json().is_some(), "{}", case.event_type);
        }
    }

    #[test]
    fn new_file_upload_has_a_typed_view_and_auth_fields() {
        let callback = parsed(NEW_FILE_UPLOAD);
        let Payload::FileUpload(event) = callback.payload() else {
            panic!("expected FileUpload, got {:?}", callback.payload());
        };
        let info = event.media_basic_info.as_ref().expect("MediaBasicInfo");
        let source = info.source_info.as_ref().expect("SourceInfo");
        assert_eq!(source.source_context.as_deref(), Some("u=42&up=9f3c"));
        assert_eq!(info.kind.as_deref(), Some("mp4"));
        let meta = event.meta_data.as_ref().expect("MetaData");
        assert_eq!(meta.size, Some(7_700_180));
        assert_eq!(meta.audio_duration, Some(59.99));
        assert_eq!(callback.sign(), Some("8dc89faaf2a3c7b209de62e36f71aa54"));
        assert_eq!(
            callback.t(),
            Some(Expiry {
                text: "1716194400".into(),
                unix: 1_716_194_400
            })
        );
        assert_eq!(callback.event_handle(), None);
    }

    #[test]
    fn procedure_results_are_typed_with_other_tasks_kept_raw() {
        let callback = parsed(PROCEDURE_FINISH);
        let Payload::ProcedureStateChanged(event) = callback.payload() else {
            panic!(
                "expected ProcedureStateChanged, got {:?}",
                callback.payload()
            );
        };
        assert_eq!(event.status.as_deref(), Some("FINISH"));
        let results = event.media_process_result_set.as_ref().expect("results");
        let transcode = results[0].transcode_task.as_ref().expect("TranscodeTask");
        let output = transcode.output.as_ref().expect("Output");
        assert_eq!(output.duration, Some(60.047));
        assert_eq!(output.definition, Some(100_010));
        let failed = results[1].transcode_task.as_ref().expect("TranscodeTask");
        assert_eq!(failed.err_code_ext.as_deref(), Some("InternalError"));
        assert_eq!(results[2].kind.as_deref(), Some("CoverBySnapshot"));
        assert!(results[2].extra.contains_key("CoverBySnapshotTask"));
        assert!(results[2].transcode_task.is_none());
    }

    #[test]
    fn t_may_be_a_decimal_string_and_is_kept_as_received() {
        let callback = parsed(PROCEDURE_CHANGE_PROCESSING);
        assert_eq!(
            callback.t(),
            Some(Expiry {
                text: "1730546100".into(),
                unix: 1_730_546_100
            })
        );
        for t in [json!("soon"), json!(1.5), json!(null), json!({"T": 1})] {
            let callback = parse_value(&json!({"EventType": "X", "T": t, "Sign": 7}))
                .expect("an ill-typed T or Sign is for auth to refuse");
            assert_eq!(callback.t(), None, "{t}");
            assert_eq!(callback.sign(), None);
        }
    }

    #[test]
    fn pulled_events_parse_with_their_handles() {
        let events = pulled_events();
        let deleted = parse_value(&events[0]).expect("PULL event parses");
        assert_eq!(deleted.event_handle(), Some("EventHandle1"));
        assert_eq!(deleted.file_id().as_deref(), Some("2496195418338100801"));
        let Payload::FileDeleted(event) = deleted.payload() else {
            panic!("expected FileDeleted, got {:?}", deleted.payload());
        };
        assert_eq!(
            event.file_id_set.as_deref(),
            Some(&["2496195418338100801".to_owned()][..])
        );
        let pulled = parse_value(&events[1]).expect("PULL event parses");
        assert_eq!(pulled.event_handle(), Some("EventHandle2"));
        assert!(matches!(pulled.payload(), Payload::PullComplete(_)));
        assert_eq!(pulled.contexts(), Vec::<&str>::new());
    }

    #[test]
    fn unknown_types_are_accepted_as_other() {
        let callback = parsed(UNKNOWN_FUTURE_TYPE);
        assert_eq!(payload_key(callback.event_type()), None);
        assert_eq!(callback.payload(), &Payload::Other);
        let payload = callback.payload_json().expect("the sole payload object");
        assert!(payload.contains_key("Output"));
    }

    #[test]
    fn unknown_type_with_several_objects_has_no_payload() {
        let callback = parse_value(&json!({
            "EventType": "HoloCastComplete",
            "AEvent": {"FileId": "1"},
            "BEvent": {"FileId": "2"},
        }))
        .expect("accepted");
        assert_eq!(callback.payload_json(), None);
        assert_eq!(callback.file_id(), None);
    }

    #[test]
    fn payload_key_covers_the_irregular_rows() {
        assert_eq!(payload_key("NewFileUpload"), Some("FileUploadEvent"));
        assert_eq!(
            payload_key("RemoveWatermark"),
            Some("RemoveWatermarkCompleteEvent")
        );
        assert_eq!(
            payload_key("ExtractBlindWatermarkComplete"),
            Some("ExtractBlindWatermarkComplete")
        );
        assert_eq!(
            payload_key("CreateSnapshotByTimeOffsetComplete"),
            Some("SnapshotByTimeOffsetCompleteEvent")
        );
        assert_eq!(
            payload_key("AigcVideoTaskComplete"),
            Some("AigcVideoCompleteEvent")
        );
        assert_eq!(
            payload_key("SceneAigcImageCompleteEvent"),
            Some("SceneAigcImageCompleteEvent")
        );
        assert_eq!(
            payload_key("TranscodeComplete"),
            Some("TranscodeCompleteEvent")
        );
        assert_eq!(payload_key("HoloCastComplete"), None);
    }

    #[test]
    fn conflicting_payload_keys_are_found_under_either_spelling() {
        for (event_type, key) in [
            ("WechatPublishComplete", "WechatPublishCompleteEvent"),
            ("WechatPublishComplete", "WechatPublishComplete"),
            (
                "WechatMiniProgramPublishComplete",
                "WechatMiniProgramPublishCompleteEvent",
            ),
            (
                "WechatMiniProgramPublishComplete",
                "WechatMiniProgramPublishEvent",
            ),
        ] {
            let mut body = json!({"EventType": event_type, "T": 1, "Sign": "s"});
            body[key] = json!({"TaskId": "t-1", "FileId": "5285890784273533167"});
            let callback = parse_value(&body).expect("accepted");
            assert_eq!(callback.task_id().as_deref(), Some("t-1"), "{key}");
        }
    }

    #[test]
    fn numeric_file_ids_become_decimal_strings() {
        let callback = parse_value(&json!({
            "EventType": "NewFileUpload",
            "FileUploadEvent": {"FileId": 5_285_890_784_273_533_167_u64},
        }))
        .expect("accepted");
        assert_eq!(callback.file_id().as_deref(), Some("5285890784273533167"));
        let Payload::FileUpload(event) = callback.payload() else {
            panic!("expected FileUpload, got {:?}", callback.payload());
        };
        assert_eq!(event.file_id.as_deref(), Some("5285890784273533167"));
    }

    #[test]
    fn empty_ids_are_absent() {
        let callback = parse_value(&json!({
            "EventType": "PullComplete",
            "PullCompleteEvent": {"TaskId": "", "FileId": "", "SessionContext": ""},
        }))
        .expect("accepted");
        assert_eq!(callback.file_id(), None);
        assert_eq!(callback.task_id(), None);
        assert!(callback.contexts().is_empty());
    }

    #[test]
    fn legacy_v2_is_recognised() {
        let callback = parsed(LEGACY_V2_NEW_FILE_UPLOAD);
        assert_eq!(callback.payload(), &Payload::Other);
        let deleted = parse_value(&json!({
            "version": "4.0",
            "eventType": "FileDeleted",
            "data": {"status": 0, "message": "", "fileInfo": [{"fileId": "5285890784281127704"}]},
        }))
        .expect("accepted");
        assert_eq!(deleted.format(), Format::V2);
        assert_eq!(deleted.file_id().as_deref(), Some("5285890784281127704"));
        let pulled = parse_value(&json!({
            "version": "4.0",
            "eventType": "PullComplete",
            "data": {"vodTaskId": "1500000001-Pull-0a1b", "fileId": "5285890784281127705"},
        }))
        .expect("accepted");
        assert_eq!(pulled.task_id().as_deref(), Some("1500000001-Pull-0a1b"));
    }

    #[test]
    fn typed_fields_of_the_wrong_type_do_not_reject() {
        for payload in [
            json!({"FileId": true}),
            json!({"FileId": "5285890784273533167", "MetaData": "x"}),
            json!({"FileId": "5285890784273533167", "MediaBasicInfo": [1, 2]}),
            json!({"FileId": 1.5}),
        ] {
            let callback = parse_value(&json!({
                "EventType": "NewFileUpload",
                "FileUploadEvent": payload,
            }))
            .expect("accepted");
            assert_eq!(callback.payload(), &Payload::Other, "{payload}");
        }
        let callback = parse_value(&json!({
            "EventType": "NewFileUpload",
            "FileUploadEvent": {"FileId": "5285890784273533167", "MetaData": "x"},
        }))
        .expect("accepted");
        assert_eq!(callback.file_id().as_deref(), Some("5285890784273533167"));
        let missing = parse_value(&json!({"EventType": "NewFileUpload", "FileUploadEvent": 3}))
            .expect("accepted");
        assert_eq!(missing.payload(), &Payload::Other);
        assert_eq!(missing.payload_json(), None);
    }

    #[test]
    fn oversized_bodies_are_413() {
        let mut body = br#"{"EventType":"NewFileUpload","Pad":""#.to_vec();
        body.resize(MAX_CALLBACK_BYTES, b'a');
        body.extend_from_slice(br#""}"#);
        let err = parse(&body).expect_err("too large");
        assert_eq!(
            err,
            CallbackError::TooLarge {
                len: MAX_CALLBACK_BYTES + 2,
                limit: MAX_CALLBACK_BYTES
            }
        );
        assert_eq!((err.status(), err.reason()), (413, "payload_too_large"));
    }

    #[test]
    fn a_body_of_exactly_the_limit_is_accepted() {
        let mut body = br#"{"EventType":"NewFileUpload","Pad":""#.to_vec();
        body.resize(MAX_CALLBACK_BYTES - 2, b'a');
        body.extend_from_slice(br#""}"#);
        assert!(parse(&body).is_ok());
    }

    #[test]
    fn malformed_bodies_are_400_with_clear_messages() {
        let too_deep = format!(
            r#"{{"EventType":"X","Deep":{}{}}}"#,
            "[".repeat(MAX_NESTING_DEPTH),
            "]".repeat(MAX_NESTING_DEPTH)
        );
        let cases: [(&[u8], CallbackError); 9] = [
            (
                b"{\"EventType\":\"\xff\"}",
                CallbackError::NotUtf8 { valid_up_to: 14 },
            ),
            (
                too_deep.as_bytes(),
                CallbackError::TooDeep {
                    limit: MAX_NESTING_DEPTH,
                },
            ),
            (b"[1, 2]", CallbackError::NotAnObject { found: "an array" }),
            (b"42", CallbackError::NotAnObject { found: "a number" }),
            (
                b"\"NewFileUpload\"",
                CallbackError::NotAnObject { found: "a string" },
            ),
            (b"{}", CallbackError::MissingEventType),
            (
                br#"{"eventType":"NewFileUpload","data":{}}"#,
                CallbackError::MissingEventType,
            ),
            (
                br#"{"EventType":7}"#,
                CallbackError::EventTypeNotString {
                    field: "EventType",
                    found: "a number",
                },
            ),
            (
                br#"{"version":"4.0","eventType":null}"#,
                CallbackError::EventTypeNotString {
                    field: "eventType",
                    found: "null",
                },
            ),
        ];
        for (body, expected) in cases {
            let err = parse(body).expect_err("refused");
            assert_eq!(err, expected);
            assert_eq!((err.status(), err.reason()), (400, "bad_request"));
        }
    }

    #[test]
    fn nesting_at_the_limit_is_accepted_and_brackets_in_strings_do_not_count() {
        let depth = MAX_NESTING_DEPTH - 1;
        let at_limit = format!(
            r#"{{"EventType":"X","Deep":{}{}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        );
        assert!(parse(at_limit.as_bytes()).is_ok());
        let in_string = format!(r#"{{"EventType":"X","S":"\"{}"}}"#, "[".repeat(500));
        assert!(parse(in_string.as_bytes()).is_ok());
    }

    #[test]
    fn invalid_json_is_400_without_echoing_the_body() {
        let err = parse(br#"{"EventType": "secret-token-value" "#).expect_err("refused");
        let CallbackError::InvalidJson { detail } = &err else {
            panic!("expected InvalidJson, got {err:?}");
        };
        assert!(detail.contains("line 1"), "{detail}");
        assert!(!err.to_string().contains("secret-token-value"), "{err}");
        assert_eq!(err.status(), 400);
        let err = parse(b"{\"EventType\": tru}").expect_err("refused");
        assert!(
            err.to_string()
                .starts_with("callback body is not valid JSON: "),
            "{err}"
        );
    }

    #[test]
    fn debug_leaves_out_the_signature() {
        let shown = format!("{:?}", parsed(NEW_FILE_UPLOAD));
        assert!(shown.contains("NewFileUpload"), "{shown}");
        assert!(
            !shown.contains("8dc89faaf2a3c7b209de62e36f71aa54"),
            "{shown}"
        );
    }

    /// Arbitrary JSON, a few levels deep.
    pub(crate) fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-1.0e300..1.0e300f64).prop_map(Value::from),
            ".{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                prop::collection::btree_map(".{0,8}", inner, 0..6)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    /// A JSON object with a string `EventType`.
    pub(crate) fn callback_body() -> impl Strategy<Value = Map<String, Value>> {
        (
            prop::collection::btree_map(".{0,12}", json_value(), 0..8),
            prop_oneof![
                Just("NewFileUpload".to_owned()),
                Just("ProcedureStateChanged".to_owned()),
                Just("FileDeleted".to_owned()),
                Just("PullComplete".to_owned()),
                ".{0,20}",
            ],
        )
            .prop_map(|(members, event_type)| {
                let mut body: Map<String, Value> = members.into_iter().collect();
                body.insert("EventType".to_owned(), Value::from(event_type));
                body
            })
    }

    proptest! {
        #[test]
        fn any_object_with_a_string_event_type_is_accepted(body in callback_body()) {
            let callback = parse(Value::Object(body.clone()).to_string().as_bytes());
            let callback = callback.map_err(|err| TestCaseError::fail(err.to_string()))?;
            prop_assert_eq!(callback.format(), Format::V3);
            prop_assert_eq!(callback.body().len(), body.len());
            callback.file_id();
            callback.task_id();
            callback.contexts();
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn json_like_text_never_panics(text in r#"[\[\]{}":,\\a-z0-9 ]{0,200}"#) {
            let _ = parse(text.as_bytes());
        }

        #[test]
        fn a_re_serialised_body_parses_to_the_same_callback(body in callback_body()) {
            let first = parse(Value::Object(body).to_string().as_bytes())
                .map_err(|err| TestCaseError::fail(err.to_string()))?;
            let again = parse(Value::Object(first.body().clone()).to_string().as_bytes())
                .map_err(|err| TestCaseError::fail(err.to_string()))?;
            prop_assert_eq!(again, first);
        }
    }
}
