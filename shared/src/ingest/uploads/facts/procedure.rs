//! What a task flow's `ProcedureStateChanged` states: its report (`PROCESSING`, or a `FINISH`
//! judged by its error codes and every sub-task, since `FINISH` alone is not success), the
//! playable outputs of its sub-tasks, and the verdicts of its in-flow review.

use super::{
    EventKind, Facts, Finish, FlowFact, Output, UploadError, add_output, join_reviews, non_empty,
    review_of,
};
use crate::vod::callback::ProcedureStateChangeEvent;

/// A task flow's facts (its report, its outputs, its in-flow review) and the event's kind.
pub(super) fn facts(event: &ProcedureStateChangeEvent, facts: &mut Facts) -> EventKind {
    let results = event
        .media_process_result_set
        .as_deref()
        .unwrap_or_default();
    for result in results {
        let succeeded = result
            .outcome()
            .is_some_and(|o| o.status.as_deref() == Some("SUCCESS"));
        if !succeeded {
            continue;
        }
        if let Some(output) = result.transcode_task.as_ref().and_then(|task| {
            let out = task.output.as_ref()?;
            Some(Output {
                kind: "transcode".to_owned(),
                definition: task
                    .input
                    .as_ref()
                    .and_then(|i| i.definition)
                    .or(out.definition),
                url: non_empty(out.url.as_ref())?,
                size: out.size,
                duration_seconds: out.duration,
                width: out.width,
                height: out.height,
                bitrate: out.bitrate,
            })
        }) {
            add_output(&mut facts.outputs, output);
        }
        if let Some(output) = result
            .adaptive_dynamic_streaming_task
            .as_ref()
            .and_then(|task| {
                let out = task.output.as_ref()?;
                Some(Output {
                    kind: "adaptiveStreaming".to_owned(),
                    definition: task
                        .input
                        .as_ref()
                        .and_then(|i| i.definition)
                        .or(out.definition),
                    url: non_empty(out.url.as_ref())?,
                    size: out.size,
                    ..Output::default()
                })
            })
        {
            add_output(&mut facts.outputs, output);
        }
    }
    facts.review = event
        .ai_content_review_result_set
        .iter()
        .flatten()
        .filter_map(|result| result.output())
        .filter_map(|output| review_of(&output))
        .reduce(join_reviews);
    let (kind, flow) = match event.status.as_deref() {
        Some("PROCESSING") => (
            EventKind::MediaProcessing,
            FlowFact {
                processing: true,
                ..FlowFact::default()
            },
        ),
        Some("FINISH") => {
            let (kind, finish) = match finish_error(event) {
                Some(error) => (EventKind::MediaFailed, Finish::Failed(error)),
                None => (EventKind::MediaReady, Finish::Ready),
            };
            (
                kind,
                FlowFact {
                    finish: Some(finish),
                    ..FlowFact::default()
                },
            )
        }
        _ => (EventKind::MediaEvent, FlowFact::default()),
    };
    if let Some(task) = non_empty(event.task_id.as_ref()) {
        facts.flows.insert(task, flow);
    }
    kind
}

/// The error of a `FINISH`, `None` when it finished well: the first sub-task that did not
/// succeed gives its `ErrCodeExt`, else its `ErrCode`, else the flow's own code; a flow with a
/// non-zero code of its own and no failed sub-task gives that. A sub-task with no readable status
/// is not judged.
fn finish_error(event: &ProcedureStateChangeEvent) -> Option<UploadError> {
    let top_code = non_empty(event.err_code_ext.as_ref())
        .or_else(|| event.err_code.filter(|c| *c != 0).map(|c| c.to_string()));
    let top_message = non_empty(event.message.as_ref());
    let failed = event
        .media_process_result_set
        .iter()
        .flatten()
        .filter_map(|result| result.outcome())
        .find(|o| o.status.as_deref().is_some_and(|s| s != "SUCCESS"));
    match failed {
        Some(sub) => Some(UploadError {
            code: non_empty(sub.err_code_ext.as_ref())
                .or_else(|| sub.err_code.filter(|c| *c != 0).map(|c| c.to_string()))
                .or(top_code)
                .unwrap_or_else(|| event.err_code.unwrap_or(0).to_string()),
            message: non_empty(sub.message.as_ref())
                .or(top_message)
                .unwrap_or_default(),
        }),
        None => top_code.map(|code| UploadError {
            code,
            message: top_message.unwrap_or_default(),
        }),
    }
}
