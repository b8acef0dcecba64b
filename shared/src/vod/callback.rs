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
//!   accessors still read the raw JSON. It is built when asked for, not by [`parse`]: storing an
//!   event needs only the raw JSON and a few ids, so the request path pays for no typed copy.
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
//! A pulled event arrives already parsed, inside VOD's answer; [`from_object`] applies the same
//! limits to it without writing it back to text and parsing it again.
//!
//! Nesting is bounded at [`MAX_NESTING_DEPTH`] levels by a scan before parsing. serde_json would
//! stop at 128 on its own; the lower bound is far above anything VOD sends (under 10 levels) and
//! keeps every later recursive walk (typed views, the envelope id) shallow.

mod payload;

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use payload::{
    AdaptiveStreamingOutput, AdaptiveStreamingTask, AiContentReviewResult, AudioStream, DeletePart,
    FileDeleteEvent, FileDeleteResult, FileUploadEvent, MediaBasicInfo, MediaProcessTaskResult,
    MetaData, ProcedureStateChangeEvent, ReviewAudioVideoCompleteEvent, ReviewInput, ReviewOutput,
    ReviewSegment, SourceInfo, SubTaskOutcome, TaskInput, TranscodeOutput, TranscodeTask,
    VideoStream,
};

/// Largest accepted callback body, in bytes. VOD payloads are a few kilobytes.
pub const MAX_CALLBACK_BYTES: usize = 1024 * 1024;

/// Deepest accepted nesting of JSON arrays and objects; the top-level object is level 1.
pub(crate) const MAX_NESTING_DEPTH: usize = 64;

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

/// Typed view of the payloads the service reads; everything else is [`Payload::Other`].
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// `NewFileUpload`.
    FileUpload(FileUploadEvent),
    /// `ProcedureStateChanged`.
    ProcedureStateChanged(ProcedureStateChangeEvent),
    /// `FileDeleted`.
    FileDeleted(FileDeleteEvent),
    /// `ReviewAudioVideoComplete`.
    ReviewAudioVideoComplete(ReviewAudioVideoCompleteEvent),
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
}

impl fmt::Debug for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Callback")
            .field("format", &self.format)
            .field("event_type", &self.event_type)
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
    identified(body)
}

/// A callback from an object already parsed (an event in a `PullEvents` answer), held to the
/// limits [`parse`] applies to text: the size it would have as compact JSON, and the nesting.
pub fn from_object(body: Map<String, Value>) -> Result<Callback, CallbackError> {
    let mut counter = ByteCounter(0);
    // Writing to a counter cannot fail, and a map of JSON values always serialises.
    let _ = serde_json::to_writer(&mut counter, &body);
    if counter.0 > MAX_CALLBACK_BYTES {
        return Err(CallbackError::TooLarge {
            len: counter.0,
            limit: MAX_CALLBACK_BYTES,
        });
    }
    if body
        .values()
        .any(|value| deeper_than(value, MAX_NESTING_DEPTH - 1))
    {
        return Err(CallbackError::TooDeep {
            limit: MAX_NESTING_DEPTH,
        });
    }
    identified(body)
}

fn identified(body: Map<String, Value>) -> Result<Callback, CallbackError> {
    let (format, event_type) = identify(&body)?;
    Ok(Callback {
        body,
        format,
        event_type,
    })
}

/// Counts the bytes written through it and keeps none.
struct ByteCounter(usize);

impl std::io::Write for ByteCounter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0 += bytes.len();
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Whether `value` nests arrays and objects more than `limit` levels (a scalar is 0 levels).
/// Recursion is bounded by serde_json's own limit of 128 levels on whatever it parsed.
fn deeper_than(value: &Value, limit: usize) -> bool {
    match value {
        Value::Array(items) => limit == 0 || items.iter().any(|item| deeper_than(item, limit - 1)),
        Value::Object(members) => {
            limit == 0
                || members
                    .values()
                    .any(|member| deeper_than(member, limit - 1))
        }
        _ => false,
    }
}

/// The payload key VOD uses for a v3 event type (`NewFileUpload` → `FileUploadEvent`), or `None`
/// for a type this table does not know.
///
/// For `WechatPublishComplete` and `WechatMiniProgramPublishComplete` the sources disagree; this
/// returns the SDK's key, and [`Callback`] also looks under the other spelling.
pub(crate) fn payload_key(event_type: &str) -> Option<&'static str> {
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

    /// Typed view of the payload, read from the raw JSON on each call; [`Payload::Other`] when
    /// there is none.
    pub fn payload(&self) -> Payload {
        typed_payload(
            self.format,
            &self.event_type,
            locate_payload(&self.body, self.format, &self.event_type),
        )
    }

    /// The event without its delivery: the body minus `Sign`, `T` and `EventHandle`, moved out
    /// rather than copied.
    pub(crate) fn into_event(self) -> Map<String, Value> {
        let mut body = self.body;
        for key in DELIVERY_KEYS {
            body.remove(key);
        }
        body
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

    /// Every file the event names, first as [`Callback::file_id`] gives it: for `FileDeleted`
    /// the whole `FileIdSet` (v2: every `data.fileInfo[].fileId`), else the one file id.
    pub fn file_ids(&self) -> Vec<String> {
        let (set, field) = match self.format {
            Format::V3 => ("/FileIdSet", None),
            Format::V2 => ("/fileInfo", Some("fileId")),
        };
        let mut ids: Vec<String> = Vec::new();
        let payload = locate_payload(&self.body, self.format, &self.event_type);
        if let Some(items) = payload
            .and_then(|p| p.pointer(set))
            .and_then(Value::as_array)
        {
            let found = items
                .iter()
                .filter_map(|item| id_string(field.map_or(Some(item), |f| item.get(f))?));
            for id in found {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        match self.file_id() {
            Some(first) if !ids.contains(&first) => ids.insert(0, first),
            _ => {}
        }
        ids
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
        "ReviewAudioVideoComplete" => {
            ReviewAudioVideoCompleteEvent::deserialize(value).map(Payload::ReviewAudioVideoComplete)
        }
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
pub(crate) mod tests;
