//! Typed views of the payloads the upload lifecycle reads: a new file (`FileUploadEvent`), what
//! was done to it (`MediaProcessResultSet`, review results, `MetaData`), a review
//! (`ReviewAudioVideoCompleteEvent`) and its deletion. Only the
//! fields that work reads are typed, so a view costs little to build and VOD's many other fields
//! cannot break it; they are all still in the raw JSON.
//!
//! Field names follow the VOD API (PascalCase) and every field is optional: VOD omits null fields in
//! PUSH mode, shows them as explicit nulls in PULL mode, and adds fields without notice. Unknown
//! fields are ignored here because [`Callback`](super::Callback) keeps the whole body as raw JSON;
//! these structs are a convenience for reading, never a gate for accepting.
//!
//! `FileId` is a string of 19 or more digits, beyond what a JSON number holds exactly in most
//! consumers, so it is always a `String`. Should VOD ever send one as a JSON number, an integer that
//! fits in `u64` is converted to its decimal string; any other number fails the typed view (the
//! callback is still accepted, as [`Payload::Other`](super::Payload::Other)).

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// `FileUploadEvent` of a `NewFileUpload` callback (SDK struct `FileUploadTask`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FileUploadEvent {
    /// The new media file.
    #[serde(default, deserialize_with = "file_id")]
    pub file_id: Option<String>,
    /// Name, URL, storage and origin of the file.
    pub media_basic_info: Option<MediaBasicInfo>,
    /// Set when the upload started a task flow.
    pub procedure_task_id: Option<String>,
    /// Set when the upload started an audio/video review.
    pub review_audio_video_task_id: Option<String>,
    /// Size, duration and streams of the file.
    pub meta_data: Option<MetaData>,
}

/// Basic information about a media file (SDK struct `MediaBasicInfo`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MediaBasicInfo {
    /// Media name.
    pub name: Option<String>,
    /// Container, such as `mp4`.
    #[serde(rename = "Type")]
    pub kind: Option<String>,
    /// Playback URL of the original file.
    pub media_url: Option<String>,
    /// Cover image URL; empty when there is none.
    pub cover_url: Option<String>,
    /// Where the file came from, including the uploader's `SourceContext`.
    pub source_info: Option<SourceInfo>,
    /// Storage region, such as `ap-chongqing`.
    pub storage_region: Option<String>,
    /// `Video`, `Audio` or `Image`.
    pub category: Option<String>,
    /// `Normal` or `Forbidden`.
    pub status: Option<String>,
    /// `STANDARD`, `STANDARD_IA`, `ARCHIVE` or `DEEP_ARCHIVE`.
    pub storage_class: Option<String>,
}

/// Origin of a media file (SDK struct `MediaSourceData`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SourceInfo {
    /// `Record`, `Upload`, `VideoProcessing`, `TrtcRecord`, `WebPageRecord` or `Unknown`.
    pub source_type: Option<String>,
    /// The upload signature's `sourceContext`, returned as is.
    pub source_context: Option<String>,
}

/// Technical metadata of a media file (SDK struct `MediaMetaData`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetaData {
    /// Bytes.
    pub size: Option<u64>,
    /// Container formats, such as `mov,mp4,m4a,3gp,3g2,mj2`.
    pub container: Option<String>,
    /// Bits per second, all streams.
    pub bitrate: Option<u64>,
    /// Pixels.
    pub height: Option<u64>,
    /// Pixels.
    pub width: Option<u64>,
    /// Seconds.
    pub duration: Option<f64>,
    /// Degrees.
    pub rotate: Option<i64>,
    /// Video streams.
    pub video_stream_set: Option<Vec<VideoStream>>,
    /// Audio streams.
    pub audio_stream_set: Option<Vec<AudioStream>>,
    /// Seconds of video.
    pub video_duration: Option<f64>,
    /// Seconds of audio.
    pub audio_duration: Option<f64>,
    /// MD5 of the file; present only after `DescribeFileAttributes`.
    pub md5: Option<String>,
}

/// One video stream of a file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VideoStream {
    /// Bits per second.
    pub bitrate: Option<u64>,
    /// Pixels.
    pub height: Option<u64>,
    /// Pixels.
    pub width: Option<u64>,
    /// Codec, such as `h264`.
    pub codec: Option<String>,
    /// Frames per second.
    pub fps: Option<f64>,
    /// Codec tag, such as `hvc1`.
    pub codec_tag: Option<String>,
}

/// One audio stream of a file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AudioStream {
    /// Bits per second.
    pub bitrate: Option<u64>,
    /// Hertz.
    pub sampling_rate: Option<u64>,
    /// Codec, such as `aac`.
    pub codec: Option<String>,
}

/// `ProcedureStateChangeEvent` of a `ProcedureStateChanged` callback (SDK struct `ProcedureTask`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProcedureStateChangeEvent {
    /// Task-flow id.
    pub task_id: Option<String>,
    /// `PROCESSING` or `FINISH`. `FINISH` is not success: check each sub-task.
    pub status: Option<String>,
    /// The flow's own error code (deprecated by VOD in favour of each sub-task's); 0 is success.
    pub err_code: Option<i64>,
    /// The flow's own error code, as text; empty is success.
    pub err_code_ext: Option<String>,
    /// The flow's own error message.
    pub message: Option<String>,
    /// The file the flow ran on.
    #[serde(default, deserialize_with = "file_id")]
    pub file_id: Option<String>,
    /// Metadata of the file.
    pub meta_data: Option<MetaData>,
    /// Results of the media-processing sub-tasks.
    pub media_process_result_set: Option<Vec<MediaProcessTaskResult>>,
    /// Content-review results of the legacy in-flow moderation (`AiContentReviewTask`).
    pub ai_content_review_result_set: Option<Vec<AiContentReviewResult>>,
    /// The upload signature's `sessionContext`, returned as is.
    pub session_context: Option<String>,
}

/// One media-processing sub-task of a task flow (SDK struct `MediaProcessTaskResult`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MediaProcessTaskResult {
    /// `Transcode`, `AnimatedGraphics`, `SnapshotByTimeOffset`, `SampleSnapshot`, `ImageSprites`,
    /// `CoverBySnapshot` or `AdaptiveDynamicStreaming`.
    #[serde(rename = "Type")]
    pub kind: Option<String>,
    /// Set when `Type` is `Transcode`.
    pub transcode_task: Option<TranscodeTask>,
    /// Set when `Type` is `AdaptiveDynamicStreaming`.
    pub adaptive_dynamic_streaming_task: Option<AdaptiveStreamingTask>,
    /// The other sub-task objects (`<Type>Task`), raw.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl MediaProcessTaskResult {
    /// How the sub-task ended, whatever its `Type`: read from the typed task for `Transcode`
    /// and `AdaptiveDynamicStreaming`, from the raw `<Type>Task` object otherwise. `None` when
    /// the element names no type or carries no task object.
    pub fn outcome(&self) -> Option<SubTaskOutcome> {
        match self.kind.as_deref()? {
            "Transcode" => self.transcode_task.as_ref().map(|t| SubTaskOutcome {
                status: t.status.clone(),
                err_code: t.err_code,
                err_code_ext: t.err_code_ext.clone(),
                message: t.message.clone(),
            }),
            "AdaptiveDynamicStreaming" => {
                self.adaptive_dynamic_streaming_task
                    .as_ref()
                    .map(|t| SubTaskOutcome {
                        status: t.status.clone(),
                        err_code: t.err_code,
                        err_code_ext: t.err_code_ext.clone(),
                        message: t.message.clone(),
                    })
            }
            kind => self
                .extra
                .get(&format!("{kind}Task"))
                .and_then(|task| SubTaskOutcome::deserialize(task).ok()),
        }
    }
}

/// How one sub-task of a task flow ended, common to every `<Type>Task`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubTaskOutcome {
    /// `PROCESSING`, `SUCCESS` or `FAIL`.
    pub status: Option<String>,
    /// Legacy error code; 0 is success.
    pub err_code: Option<i64>,
    /// Error code; empty is success.
    pub err_code_ext: Option<String>,
    /// Error message.
    pub message: Option<String>,
}

/// The template a sub-task ran (`Input.Definition`), which is where VOD names it reliably: a
/// transcode's `Output.Definition` may be 0.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskInput {
    /// Template id.
    pub definition: Option<i64>,
}

/// An adaptive-streaming sub-task (SDK struct `MediaProcessTaskAdaptiveDynamicStreamingResult`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AdaptiveStreamingTask {
    /// `PROCESSING`, `SUCCESS` or `FAIL`.
    pub status: Option<String>,
    /// Legacy error code; 0 is success.
    pub err_code: Option<i64>,
    /// Error code; empty is success.
    pub err_code_ext: Option<String>,
    /// Error message.
    pub message: Option<String>,
    /// The template.
    pub input: Option<TaskInput>,
    /// The playlist.
    pub output: Option<AdaptiveStreamingOutput>,
}

/// An adaptive-streaming playlist (SDK struct `AdaptiveDynamicStreamingInfoItem`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AdaptiveStreamingOutput {
    /// Template id.
    pub definition: Option<i64>,
    /// `HLS` or `DASH`.
    pub package: Option<String>,
    /// Playlist URL.
    pub url: Option<String>,
    /// Bytes, playlist and segments.
    pub size: Option<u64>,
}

/// One result of the legacy in-flow moderation: `Type` (`Porn`, `Terrorism.Ocr`, …) and its
/// `<Type>Task` object (`PornTask`, `TerrorismOcrTask`, …), kept raw.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AiContentReviewResult {
    /// The review type.
    #[serde(rename = "Type")]
    pub kind: Option<String>,
    /// The task objects, raw.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AiContentReviewResult {
    /// The task's `Output`: its suggestion and label, from whichever `…Task` object it has.
    pub fn output(&self) -> Option<ReviewOutput> {
        self.extra
            .iter()
            .filter(|(key, _)| key.ends_with("Task"))
            .find_map(|(_, task)| task.get("Output"))
            .and_then(|output| ReviewOutput::deserialize(output).ok())
    }
}

/// `ReviewAudioVideoCompleteEvent` of a `ReviewAudioVideoComplete` callback (SDK struct
/// `ReviewAudioVideoTask`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReviewAudioVideoCompleteEvent {
    /// Review task id.
    pub task_id: Option<String>,
    /// `PROCESSING` or `FINISH`.
    pub status: Option<String>,
    /// Error code; empty is success.
    pub err_code_ext: Option<String>,
    /// What was reviewed.
    pub input: Option<ReviewInput>,
    /// The verdict.
    pub output: Option<ReviewOutput>,
    /// The `sessionContext` the review was started with.
    pub session_context: Option<String>,
}

/// What a review read.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReviewInput {
    /// The reviewed file.
    #[serde(default, deserialize_with = "file_id")]
    pub file_id: Option<String>,
}

/// A review verdict (SDK structs `ReviewAudioVideoTaskOutput`, `AiReview…TaskOutput`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReviewOutput {
    /// `pass`, `review` or `block`.
    pub suggestion: Option<String>,
    /// Valid when the suggestion is `review` or `block`; VOD's spelling varies in case.
    pub label: Option<String>,
    /// Up to 10 suspect segments, each with its own label.
    pub segment_set: Option<Vec<ReviewSegment>>,
}

/// One suspect segment of a review.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReviewSegment {
    /// `pass`, `review` or `block`.
    pub suggestion: Option<String>,
    /// What was found.
    pub label: Option<String>,
}

/// A transcoding sub-task (SDK struct `MediaProcessTaskTranscodeResult`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TranscodeTask {
    /// `PROCESSING`, `SUCCESS` or `FAIL`.
    pub status: Option<String>,
    /// Legacy error code; 0 is success.
    pub err_code: Option<i64>,
    /// Error code; empty is success.
    pub err_code_ext: Option<String>,
    /// Error message.
    pub message: Option<String>,
    /// The template.
    pub input: Option<TaskInput>,
    /// The transcoded file.
    pub output: Option<TranscodeOutput>,
}

/// A transcoded file (SDK struct `MediaTranscodeItem`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TranscodeOutput {
    /// Playback URL.
    pub url: Option<String>,
    /// Transcoding template id.
    pub definition: Option<i64>,
    /// Bytes.
    pub size: Option<u64>,
    /// Seconds.
    pub duration: Option<f64>,
    /// Pixels.
    pub height: Option<u64>,
    /// Pixels.
    pub width: Option<u64>,
    /// Bits per second.
    pub bitrate: Option<u64>,
}

/// `FileDeleteEvent` of a `FileDeleted` callback (SDK struct `FileDeleteTask`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FileDeleteEvent {
    /// The deleted files.
    #[serde(default, deserialize_with = "file_id_list")]
    pub file_id_set: Option<Vec<String>>,
    /// Which parts of each file were deleted.
    pub file_delete_result_info: Option<Vec<FileDeleteResult>>,
}

/// What was deleted of one file (SDK struct `FileDeleteResultItem`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FileDeleteResult {
    /// The file.
    #[serde(default, deserialize_with = "file_id")]
    pub file_id: Option<String>,
    /// The parts deleted; absent or empty means the whole file.
    pub delete_parts: Option<Vec<DeletePart>>,
}

/// One deleted part of a file (SDK struct `MediaDeleteItem`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeletePart {
    /// `OriginalFiles`, `TranscodeFiles`, `AdaptiveDynamicStreamingFiles`, …
    #[serde(rename = "Type")]
    pub kind: Option<String>,
}

impl FileDeleteEvent {
    /// The files whose original was deleted, in `FileIdSet` order: every file of `FileIdSet`
    /// unless `FileDeleteResultInfo` says only other parts of it went (a partial delete that
    /// keeps the original, such as `TranscodeFiles` alone).
    pub fn originals_deleted(&self) -> Vec<String> {
        let results = self.file_delete_result_info.as_deref().unwrap_or_default();
        let kept = |id: &str| {
            results
                .iter()
                .filter(|r| r.file_id.as_deref() == Some(id))
                .any(|r| {
                    r.delete_parts.as_ref().is_some_and(|parts| {
                        !parts.is_empty()
                            && parts
                                .iter()
                                .all(|p| p.kind.as_deref() != Some("OriginalFiles"))
                    })
                })
        };
        let mut ids: Vec<String> = self.file_id_set.clone().unwrap_or_default();
        for result in results {
            if let Some(id) = &result.file_id
                && !ids.contains(id)
            {
                ids.push(id.clone());
            }
        }
        ids.retain(|id| !kept(id));
        ids
    }
}

/// A file id as VOD should send it (a string) or as it might (an integer).
#[derive(Deserialize)]
#[serde(untagged)]
enum FileIdRepr {
    Text(String),
    Integer(u64),
}

impl From<FileIdRepr> for String {
    fn from(repr: FileIdRepr) -> Self {
        match repr {
            FileIdRepr::Text(text) => text,
            FileIdRepr::Integer(number) => number.to_string(),
        }
    }
}

fn file_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<FileIdRepr>::deserialize(deserializer)?.map(String::from))
}

fn file_id_list<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<String>>, D::Error> {
    let ids = Option::<Vec<FileIdRepr>>::deserialize(deserializer)?;
    Ok(ids.map(|ids| ids.into_iter().map(String::from).collect()))
}
