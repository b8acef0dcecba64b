//! What events say about an upload, as facts joined by a semilattice, and the status derived
//! from them. Pure: no I/O, no clock (times come in as arguments).
//!
//! VOD delivers at least once and in no guaranteed order: `FINISH` may come before
//! `PROCESSING`, a task flow before the `NewFileUpload` that started it, any of them twice. A state
//! machine fed in arrival order would need a rule for every pair of events in every order, and
//! would still end in different places for different orders. So an upload is not a state but a
//! set of [`Facts`] (the file it became, each task flow's reports, the outputs, the review
//! verdicts, the deletions), and [`Facts::join`] merges two sets. The join is commutative,
//! associative and idempotent (a join-semilattice): any order of the same events, with any
//! redeliveries, ends in the same facts. The status is then a function of the facts
//! ([`Facts::status`]), never stored on its own, and it is monotone: more facts never give a
//! lower status, so a late or redelivered event cannot move an upload back.
//!
//! Where two facts of the same kind disagree, the join picks one by a fixed rule rather than by
//! arrival: the file with the earliest receipt (the first `NewFileUpload`; a client reusing an
//! upload id does not replace its file), a failed `FINISH` over a successful one of the same flow
//! (VOD sends one; the rule only has to be deterministic), the most severe review suggestion.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::vod::callback::{Callback, FileUploadEvent, Format, Payload, ReviewOutput};

/// The `type` of an envelope: what the event means for an upload, from the event alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    /// `NewFileUpload`: the file is in VOD.
    #[serde(rename = "upload.completed")]
    UploadCompleted,
    /// A task flow reported `PROCESSING`.
    #[serde(rename = "media.processing")]
    MediaProcessing,
    /// A task flow reported `FINISH` with no error and every sub-task `SUCCESS`.
    #[serde(rename = "media.ready")]
    MediaReady,
    /// A task flow reported `FINISH` with an error or a sub-task that did not succeed.
    #[serde(rename = "media.failed")]
    MediaFailed,
    /// `ReviewAudioVideoComplete`.
    #[serde(rename = "media.reviewed")]
    MediaReviewed,
    /// `FileDeleted` that deleted a file's original.
    #[serde(rename = "media.deleted")]
    MediaDeleted,
    /// Anything else, partial deletes and legacy v2 types included.
    #[serde(rename = "media.event")]
    MediaEvent,
    /// vodgate deleted the upload's media for breaking a limit (its own envelope, not VOD's).
    #[serde(rename = "upload.rejected")]
    UploadRejected,
}

impl EventKind {
    /// The kind as an envelope's `type` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UploadCompleted => "upload.completed",
            Self::MediaProcessing => "media.processing",
            Self::MediaReady => "media.ready",
            Self::MediaFailed => "media.failed",
            Self::MediaReviewed => "media.reviewed",
            Self::MediaDeleted => "media.deleted",
            Self::MediaEvent => "media.event",
            Self::UploadRejected => "upload.rejected",
        }
    }
}

/// An upload's status. Ordered:
/// `waiting < uploaded < processing < ready | failed < deleted < rejected`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Nothing received yet.
    Waiting,
    /// The file is in VOD and a task flow will run.
    Uploaded,
    /// The upload's task flow is running.
    Processing,
    /// Playable: the task flow finished well, or none was to run.
    Ready,
    /// The upload's task flow finished with an error.
    Failed,
    /// The file's original was deleted.
    Deleted,
    /// vodgate deleted the media for breaking a limit: final.
    Rejected,
}

impl Status {
    /// The status's place in the order; `ready` and `failed` share one. Steps of ten leave room
    /// for statuses to come.
    pub fn rank(self) -> u8 {
        match self {
            Self::Waiting => 0,
            Self::Uploaded => 10,
            Self::Processing => 20,
            Self::Ready | Self::Failed => 30,
            Self::Deleted => 40,
            Self::Rejected => 50,
        }
    }

    /// The status as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Uploaded => "uploaded",
            Self::Processing => "processing",
            Self::Ready => "ready",
            Self::Failed => "failed",
            Self::Deleted => "deleted",
            Self::Rejected => "rejected",
        }
    }
}

/// A review verdict, ordered by severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Suggestion {
    /// Nothing found.
    Pass,
    /// A person should look.
    Review,
    /// Should not be shown.
    Block,
}

impl Suggestion {
    fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "pass" => Some(Self::Pass),
            "review" => Some(Self::Review),
            "block" => Some(Self::Block),
            _ => None,
        }
    }
}

/// The original file, from `NewFileUpload`; what VOD did not send is `None`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Media {
    pub name: Option<String>,
    pub url: Option<String>,
    pub cover_url: Option<String>,
    pub size: Option<u64>,
    pub duration_seconds: Option<f64>,
    pub container: Option<String>,
    pub width: Option<u64>,
    pub height: Option<u64>,
}

/// A playable output of a task flow: a transcode or an adaptive-streaming playlist.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    /// `transcode` or `adaptiveStreaming`.
    pub kind: String,
    /// The template id.
    pub definition: Option<i64>,
    pub url: String,
    pub size: Option<u64>,
    pub duration_seconds: Option<f64>,
    pub width: Option<u64>,
    pub height: Option<u64>,
    pub bitrate: Option<u64>,
}

/// The most severe suggestion seen, with every label seen (lower case).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    pub suggestion: Suggestion,
    pub labels: BTreeSet<String>,
}

/// Why the upload's task flow failed. `code` is VOD's, always as a string.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UploadError {
    pub code: String,
    pub message: String,
}

/// Why vodgate rejected an upload, and when it decided (the first decision is the one kept).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rejection {
    /// The file whose media was deleted.
    pub file_id: String,
    /// `code` is one of `too_large`, `too_long`, `format_not_allowed`, `blocked_by_review`.
    pub error: UploadError,
    /// The limit broken, as JSON (`null` for a review's `block`).
    pub limit: serde_json::Value,
    /// The file's value, as JSON.
    pub actual: serde_json::Value,
    /// Unix milliseconds of the decision.
    pub decided_at_ms: i64,
}

/// The file an upload became.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileFact {
    pub file_id: String,
    /// Non-empty when a task flow will run.
    pub procedure_task_id: Option<String>,
    pub media: Media,
    /// Unix milliseconds of the receipt: the earliest file wins the join (milliseconds, so a
    /// client that reuses an upload id a moment later still keeps its first file; a tie, which
    /// no order can settle, goes to the smaller `FileId`).
    pub received_at_ms: i64,
}

/// What one task flow reported.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowFact {
    /// Carried the upload's sealed `sessionContext`: the upload's own flow.
    #[serde(default)]
    pub by_context: bool,
    #[serde(default)]
    pub processing: bool,
    /// How the flow finished, once `FINISH` arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish: Option<Finish>,
}

/// How a task flow's `FINISH` judged it. Ordered so that the join keeps a failure.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Finish {
    /// No error, every sub-task `SUCCESS`.
    Ready,
    /// An error, or a sub-task that did not succeed.
    Failed(UploadError),
}

/// Everything known about one upload. See the module docs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Facts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileFact>,
    /// By task-flow id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub flows: BTreeMap<String, FlowFact>,
    /// Sorted by (kind, definition), one per pair.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<Output>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<Review>,
    /// Files whose original was deleted.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub deleted: BTreeSet<String>,
    /// vodgate deleted the media for breaking a limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection: Option<Rejection>,
}

impl Facts {
    /// The facts one event states, and its [`EventKind`]. Task flows are recorded as not the
    /// upload's own; [`Facts::by_context`] marks them once the event's context token proved
    /// they are. Legacy v2 bodies state no facts.
    pub fn of(callback: &Callback, received_at_ms: i64) -> (EventKind, Self) {
        let mut facts = Self::default();
        if callback.format() == Format::V2 {
            let kind = match callback.event_type() {
                "NewFileUpload" => EventKind::UploadCompleted,
                "FileDeleted" => EventKind::MediaDeleted,
                _ => EventKind::MediaEvent,
            };
            return (kind, facts);
        }
        let kind = match callback.payload() {
            Payload::FileUpload(event) => {
                facts.file = file_fact(event, received_at_ms);
                EventKind::UploadCompleted
            }
            Payload::ProcedureStateChanged(event) => procedure::facts(&event, &mut facts),
            Payload::ReviewAudioVideoComplete(event) => {
                facts.review = event.output.as_ref().and_then(review_of);
                EventKind::MediaReviewed
            }
            Payload::FileDeleted(event) => {
                facts.deleted = event.originals_deleted().into_iter().collect();
                if facts.deleted.is_empty() {
                    EventKind::MediaEvent
                } else {
                    EventKind::MediaDeleted
                }
            }
            Payload::Other if callback.event_type() == "NewFileUpload" => {
                EventKind::UploadCompleted
            }
            Payload::Other => EventKind::MediaEvent,
        };
        (kind, facts)
    }

    /// These facts as stated by an event that carried the upload's own context token: its task
    /// flows are the upload's.
    pub fn by_context(mut self) -> Self {
        for flow in self.flows.values_mut() {
            flow.by_context = true;
        }
        self
    }

    /// These facts for an upload found through `files`: deletions of other files are dropped.
    pub fn for_files(mut self, files: &[&str]) -> Self {
        self.deleted.retain(|id| files.contains(&id.as_str()));
        self
    }

    /// Whether these facts state nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The least upper bound of `self` and `other`: commutative, associative, idempotent.
    pub fn join(mut self, other: Self) -> Self {
        self.file = match (self.file, other.file) {
            (Some(a), Some(b)) => Some(
                if (a.received_at_ms, &a.file_id) <= (b.received_at_ms, &b.file_id) {
                    a
                } else {
                    b
                },
            ),
            (a, b) => a.or(b),
        };
        for (task, flow) in other.flows {
            let mine = self.flows.entry(task).or_default();
            mine.by_context |= flow.by_context;
            mine.processing |= flow.processing;
            mine.finish = mine.finish.take().max(flow.finish);
        }
        for output in other.outputs {
            add_output(&mut self.outputs, output);
        }
        self.review = match (self.review, other.review) {
            (Some(a), Some(b)) => Some(join_reviews(a, b)),
            (a, b) => a.or(b),
        };
        self.deleted.extend(other.deleted);
        self.rejection = match (self.rejection, other.rejection) {
            (Some(a), Some(b)) => Some(first_rejection(a, b)),
            (a, b) => a.or(b),
        };
        self
    }

    /// The flows that are the upload's own: the one whose `TaskId` is the file's
    /// `ProcedureTaskId`, and any that carried the upload's context token.
    fn own_flows(&self) -> impl Iterator<Item = &FlowFact> {
        let task = self
            .file
            .as_ref()
            .and_then(|file| file.procedure_task_id.as_deref());
        self.flows
            .iter()
            .filter(move |(id, flow)| flow.by_context || Some(id.as_str()) == task)
            .map(|(_, flow)| flow)
    }

    /// How the upload's own flow finished, if it did: a failure wins over a success (one flow
    /// reports one `FINISH`; two own flows are a reused upload id, and the rule need only be
    /// the same in every order).
    fn finish(&self) -> Option<&Finish> {
        self.own_flows()
            .filter_map(|flow| flow.finish.as_ref())
            .max()
    }

    /// The status these facts imply (monotone in the facts).
    pub fn status(&self) -> Status {
        if self.rejection.is_some() {
            return Status::Rejected;
        }
        let file = self.file.as_ref();
        if file.is_some_and(|f| self.deleted.contains(&f.file_id)) {
            return Status::Deleted;
        }
        match self.finish() {
            Some(Finish::Ready) => return Status::Ready,
            Some(Finish::Failed(_)) => return Status::Failed,
            None => {}
        }
        if file.is_some_and(|f| f.procedure_task_id.is_none()) {
            return Status::Ready;
        }
        if self.own_flows().any(|flow| flow.processing) {
            return Status::Processing;
        }
        if file.is_some() {
            Status::Uploaded
        } else {
            Status::Waiting
        }
    }

    /// The error of a `failed` or `rejected` upload.
    pub fn error(&self) -> Option<&UploadError> {
        if let Some(rejection) = &self.rejection {
            return Some(&rejection.error);
        }
        match (self.status(), self.finish()) {
            (Status::Failed, Some(Finish::Failed(error))) => Some(error),
            _ => None,
        }
    }
}

/// Adds `output` to the sorted, unique-by-(kind, definition) list; of two for one pair, the
/// greater by their JSON text stays, whatever the order.
fn add_output(outputs: &mut Vec<Output>, output: Output) {
    let key = |o: &Output| (o.kind.clone(), o.definition);
    match outputs.binary_search_by(|o| key(o).cmp(&key(&output))) {
        Ok(at) => {
            let text = |o: &Output| serde_json::to_string(o).unwrap_or_default();
            if text(&output) > text(&outputs[at]) {
                outputs[at] = output;
            }
        }
        Err(at) => outputs.insert(at, output),
    }
}

fn non_empty(text: Option<&String>) -> Option<String> {
    text.filter(|t| !t.is_empty()).cloned()
}

fn file_fact(event: FileUploadEvent, received_at_ms: i64) -> Option<FileFact> {
    let basic = event.media_basic_info.unwrap_or_default();
    let meta = event.meta_data.unwrap_or_default();
    Some(FileFact {
        file_id: event.file_id.filter(|id| !id.is_empty())?,
        procedure_task_id: non_empty(event.procedure_task_id.as_ref()),
        media: Media {
            name: non_empty(basic.name.as_ref()),
            url: non_empty(basic.media_url.as_ref()),
            cover_url: non_empty(basic.cover_url.as_ref()),
            size: meta.size,
            duration_seconds: meta.duration,
            container: non_empty(meta.container.as_ref()),
            width: meta.width,
            height: meta.height,
        },
        received_at_ms,
    })
}

/// The rejection decided first; a tie, which no order can settle, goes to the smaller by their
/// JSON text.
fn first_rejection(a: Rejection, b: Rejection) -> Rejection {
    let text = |r: &Rejection| serde_json::to_string(r).unwrap_or_default();
    match a.decided_at_ms.cmp(&b.decided_at_ms) {
        std::cmp::Ordering::Less => a,
        std::cmp::Ordering::Greater => b,
        std::cmp::Ordering::Equal if text(&a) <= text(&b) => a,
        std::cmp::Ordering::Equal => b,
    }
}

/// The most severe suggestion of the two, with the labels of both.
fn join_reviews(mut a: Review, b: Review) -> Review {
    a.suggestion = a.suggestion.max(b.suggestion);
    a.labels.extend(b.labels);
    a
}

/// A review output as a [`Review`]: labels count only with a `review` or `block` verdict
/// (VOD's documented meaning), lower-cased because VOD's spelling varies.
fn review_of(output: &ReviewOutput) -> Option<Review> {
    let suggestion = Suggestion::parse(output.suggestion.as_deref()?)?;
    let mut labels = BTreeSet::new();
    let mut add = |suggestion: Option<Suggestion>, label: Option<&String>| {
        if suggestion.is_some_and(|s| s > Suggestion::Pass)
            && let Some(label) = non_empty(label)
        {
            labels.insert(label.to_lowercase());
        }
    };
    add(Some(suggestion), output.label.as_ref());
    for segment in output.segment_set.iter().flatten() {
        let severity = segment.suggestion.as_deref().and_then(Suggestion::parse);
        add(severity.or(Some(suggestion)), segment.label.as_ref());
    }
    Some(Review { suggestion, labels })
}

mod procedure;

#[cfg(test)]
mod tests;
