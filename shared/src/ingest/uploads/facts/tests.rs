use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::ingest::uploads::{Upload, UploadRecord, UploadRef};
use crate::vod::callback::tests::{FIXTURES, parse_value};

const FILE_ID: &str = "5285890784273533167";
const TASK_ID: &str = "1500000001-procedurev2-2e7f0c4b1f3a9d6e8c5b";

fn fixture(name: &str) -> Value {
    let text = FIXTURES
        .iter()
        .find(|(fixture, _)| *fixture == name)
        .map(|(_, text)| *text)
        .expect("known fixture");
    serde_json::from_str(text).expect("JSON")
}

fn upload() -> UploadRef {
    UploadRef {
        upload_id: "3VyyNri9Z7UR88ByPfjFyg".into(),
        sub: "alice".into(),
        meta: Some("post_77".into()),
    }
}

fn new_file_upload() -> Value {
    fixture("new_file_upload")
}

fn processing() -> Value {
    let mut body = fixture("procedure_change_processing");
    body["ProcedureStateChangeEvent"]["TaskId"] = TASK_ID.into();
    body["ProcedureStateChangeEvent"]["FileId"] = FILE_ID.into();
    body
}

fn finish_ready() -> Value {
    fixture("procedure_finish_ready")
}

fn finish_failed() -> Value {
    fixture("procedure_finish")
}

fn review() -> Value {
    let mut body = fixture("review_audio_video");
    body["ReviewAudioVideoCompleteEvent"]["Output"] = json!({
        "Suggestion": "block", "Label": "Porn", "Form": "Image",
        "SegmentSet": [
            {"Suggestion": "block", "Label": "Porn", "StartTimeOffset": 3, "EndTimeOffset": 5},
            {"Suggestion": "review", "Label": "Terror", "StartTimeOffset": 9, "EndTimeOffset": 11}
        ]
    });
    body
}

fn deleted() -> Value {
    json!({"EventType": "FileDeleted", "FileDeleteEvent": {
        "FileIdSet": [FILE_ID],
        "FileDeleteResultInfo": [{"FileId": FILE_ID, "DeleteParts": []}]}})
}

/// Another task flow on the same file (started later from the console): it fails, but it is
/// not the upload's, so it adds outputs and never changes the status.
fn other_flow_failed() -> Value {
    let mut body = fixture("procedure_finish");
    body["ProcedureStateChangeEvent"]["TaskId"] = "1500000001-procedurev2-0000000000000000".into();
    body["ProcedureStateChangeEvent"]["SessionContext"] = "".into();
    body
}

/// The facts an event states for the upload, as the store path gives them: by context unless
/// it carries none (`FileDeleted`, the other flow).
fn facts(body: &Value, at: i64) -> Facts {
    let callback = parse_value(body).expect("parses");
    let by_context = !callback.contexts().is_empty();
    let (_, facts) = Facts::of(&callback, at);
    if by_context {
        facts.by_context()
    } else {
        facts.for_files(&[FILE_ID])
    }
}

/// Applies `events` in order, as the stores do (receipt times 1000, 1001, …), checking on the
/// way that the status never goes back.
fn run(events: &[&Value]) -> UploadRecord {
    let mut record: Option<UploadRecord> = None;
    for (index, body) in events.iter().enumerate() {
        let at = 1000 + index as i64;
        let before = record
            .as_ref()
            .map_or(Status::Waiting, UploadRecord::status);
        if let Some(new) = UploadRecord::merge(record.as_ref(), &upload(), facts(body, at), at) {
            record = Some(new);
        }
        let after = record
            .as_ref()
            .map_or(Status::Waiting, UploadRecord::status);
        assert!(after.rank() >= before.rank(), "{before:?} -> {after:?}");
    }
    record.expect("a record")
}

/// The record as the API shows it, times aside.
fn shown(record: &UploadRecord) -> Upload {
    Upload {
        created_at: None,
        updated_at: None,
        ..record.to_upload()
    }
}

fn expected_ready() -> Value {
    json!({
        "uploadId": "3VyyNri9Z7UR88ByPfjFyg",
        "status": "ready",
        "fileId": FILE_ID,
        "meta": "post_77",
        "createdAt": null,
        "updatedAt": null,
        "media": {
            "name": "holiday.mp4",
            "url": "https://1500000001.vod2.myqcloud.com/43843ec0vodtranscq1500000001/7b1f3a2c5285890784273533167/abc.mp4",
            "coverUrl": null,
            "size": 7700180,
            "durationSeconds": 60.0,
            "container": "mov,mp4,m4a,3gp,3g2,mj2",
            "width": 640,
            "height": 480
        },
        "outputs": [
            {"kind": "adaptiveStreaming", "definition": 10,
             "url": "https://1500000001.vod2.myqcloud.com/43843ec0vodtranscq1500000001/7b1f3a2c5285890784273533167/adp.10.m3u8",
             "size": 4215530, "durationSeconds": null, "width": null, "height": null, "bitrate": null},
            {"kind": "transcode", "definition": 100010,
             "url": "https://1500000001.vod2.myqcloud.com/43843ec0vodtranscq1500000001/7b1f3a2c5285890784273533167/v.f100010.mp4",
             "size": 4189073, "durationSeconds": 60.047, "width": 640, "height": 480, "bitrate": 552218}
        ],
        "review": {"suggestion": "block", "labels": ["porn", "sexy", "terror"]},
        "error": null
    })
}

/// Every distinct order of the multiset `items` (sorted), by the lexicographic next-permutation
/// step: swapping two deliveries of the same event gives the same order, counted once.
fn distinct_orders(mut items: Vec<usize>) -> Vec<Vec<usize>> {
    items.sort_unstable();
    let mut out = vec![items.clone()];
    loop {
        let Some(i) = (1..items.len()).rev().find(|&i| items[i - 1] < items[i]) else {
            return out;
        };
        let j = (i..items.len())
            .rev()
            .find(|&j| items[j] > items[i - 1])
            .unwrap();
        items.swap(i - 1, j);
        items[i..].reverse();
        out.push(items.clone());
    }
}

#[test]
fn every_order_of_an_uploads_events_and_their_redeliveries_ends_in_the_same_record() {
    let events = [new_file_upload(), processing(), finish_ready(), review()];
    // Each event's facts, read once; the receipt time is set per position below.
    let stated: Vec<Facts> = events.iter().map(|body| facts(body, 0)).collect();
    // Each event twice: the delivery and VOD's redelivery (8!/2^4 distinct orders).
    let orders = distinct_orders(vec![0, 0, 1, 1, 2, 2, 3, 3]);
    assert_eq!(orders.len(), 2_520);
    let mut first: Option<Upload> = None;
    for order in &orders {
        let mut record: Option<UploadRecord> = None;
        for (position, event) in order.iter().enumerate() {
            let at = 1000 + position as i64;
            let mut facts = stated[*event].clone();
            if let Some(file) = &mut facts.file {
                file.received_at_ms = at;
            }
            let before = record.as_ref().map_or(0, |r| r.status().rank());
            if let Some(new) = UploadRecord::merge(record.as_ref(), &upload(), facts, at) {
                record = Some(new);
            }
            let after = record.as_ref().map_or(0, |r| r.status().rank());
            assert!(after >= before, "{order:?}: the status went back");
        }
        let record = record.expect("a record");
        let stored: UploadRecord =
            serde_json::from_str(&serde_json::to_string(&record).unwrap()).unwrap();
        assert_eq!(stored, record, "a record reads back as it was written");
        assert_eq!(record.created_at, 1000, "the first receipt");
        assert!((1000..=1007).contains(&record.updated_at));
        let upload = shown(&record);
        match &first {
            None => {
                assert_eq!(serde_json::to_value(&upload).unwrap(), expected_ready());
                first = Some(upload);
            }
            Some(first) => assert_eq!(&upload, first, "{order:?}"),
        }
    }
}

#[test]
fn a_failed_sub_task_fails_the_upload_with_vods_code_as_a_string() {
    let record = run(&[&new_file_upload(), &finish_failed(), &processing()]);
    let upload = record.to_upload();
    assert_eq!(upload.status, Status::Failed);
    assert_eq!(
        serde_json::to_value(&upload.error).unwrap(),
        json!({"code": "InternalError", "message": "internal error"})
    );
    assert_eq!(
        upload.outputs.len(),
        1,
        "the transcode that succeeded is kept"
    );

    // Only the legacy numeric code: it becomes a string.
    let mut numeric = finish_failed();
    numeric["ProcedureStateChangeEvent"]["MediaProcessResultSet"][1]["TranscodeTask"]["ErrCodeExt"] =
        "".into();
    let upload = run(&[&numeric]).to_upload();
    assert_eq!(upload.error.unwrap().code, "70000");

    // No failed sub-task, but the flow's own error.
    let mut top = finish_ready();
    top["ProcedureStateChangeEvent"]["ErrCode"] = 10008.into();
    top["ProcedureStateChangeEvent"]["Message"] = "source file error".into();
    let upload = run(&[&new_file_upload(), &top]).to_upload();
    assert_eq!(upload.status, Status::Failed);
    assert_eq!(
        serde_json::to_value(&upload.error).unwrap(),
        json!({"code": "10008", "message": "source file error"})
    );
}

#[test]
fn statuses_follow_the_contract() {
    let status = |events: &[&Value]| run(events).status();
    assert_eq!(
        status(&[&review()]),
        Status::Waiting,
        "a record, no file yet"
    );
    assert_eq!(status(&[&new_file_upload()]), Status::Uploaded);
    let mut no_flow = new_file_upload();
    no_flow["FileUploadEvent"]["ProcedureTaskId"] = "".into();
    assert_eq!(status(&[&no_flow]), Status::Ready, "no task flow: playable");
    no_flow["FileUploadEvent"]
        .as_object_mut()
        .unwrap()
        .remove("ProcedureTaskId");
    assert_eq!(status(&[&no_flow]), Status::Ready, "absent is empty");
    assert_eq!(
        status(&[&processing()]),
        Status::Processing,
        "before NewFileUpload"
    );
    assert_eq!(
        status(&[&new_file_upload(), &processing()]),
        Status::Processing
    );
    assert_eq!(status(&[&finish_ready(), &processing()]), Status::Ready);
    assert_eq!(
        status(&[&new_file_upload(), &other_flow_failed()]),
        Status::Uploaded,
        "another flow on the file never decides"
    );
    let with_other = run(&[&new_file_upload(), &finish_ready(), &other_flow_failed()]);
    assert_eq!(with_other.status(), Status::Ready);
    assert_eq!(
        with_other.to_upload().outputs.len(),
        2,
        "its outputs join (same pair)"
    );
    assert_eq!(status(&[&new_file_upload(), &deleted()]), Status::Deleted);
    assert_eq!(
        status(&[&deleted(), &finish_ready(), &new_file_upload()]),
        Status::Deleted
    );
    let mut partial = deleted();
    partial["FileDeleteEvent"]["FileDeleteResultInfo"][0]["DeleteParts"] =
        json!([{"Type": "TranscodeFiles", "Definition": 0}]);
    assert_eq!(status(&[&new_file_upload(), &partial]), Status::Uploaded);
}

#[test]
fn the_first_file_stays() {
    let mut second = new_file_upload();
    second["FileUploadEvent"]["FileId"] = "5285890784273599999".into();
    let record = run(&[&new_file_upload(), &second]);
    assert_eq!(record.to_upload().file_id.as_deref(), Some(FILE_ID));
    let reversed = run(&[&second, &new_file_upload()]);
    assert_eq!(
        reversed.to_upload().file_id.as_deref(),
        Some("5285890784273599999"),
        "first by receipt"
    );
}

#[test]
fn a_redelivery_changes_nothing_and_updated_at_follows_visible_changes() {
    let first = run(&[&new_file_upload()]);
    let again = facts(&new_file_upload(), 2000);
    assert_eq!(
        UploadRecord::merge(Some(&first), &upload(), again, 2000),
        None
    );
    let later = UploadRecord::merge(Some(&first), &upload(), facts(&processing(), 2001), 2001)
        .expect("a change");
    assert_eq!((later.created_at, later.updated_at), (1000, 2001));
    assert_eq!(
        later.to_upload().updated_at.as_deref(),
        Some("1970-01-01T00:33:21Z")
    );
}

#[test]
fn event_kinds() {
    let kind = |body: &Value| Facts::of(&parse_value(body).unwrap(), 0).0;
    assert_eq!(kind(&new_file_upload()), EventKind::UploadCompleted);
    assert_eq!(kind(&processing()), EventKind::MediaProcessing);
    assert_eq!(kind(&finish_ready()), EventKind::MediaReady);
    assert_eq!(kind(&finish_failed()), EventKind::MediaFailed);
    assert_eq!(kind(&review()), EventKind::MediaReviewed);
    assert_eq!(kind(&deleted()), EventKind::MediaDeleted);
    assert_eq!(kind(&fixture("pull_complete")), EventKind::MediaEvent);
}

/// The event pool the properties draw from.
fn pool() -> Vec<Value> {
    let mut second = new_file_upload();
    second["FileUploadEvent"]["FileId"] = "5285890784273599999".into();
    vec![
        new_file_upload(),
        processing(),
        finish_ready(),
        finish_failed(),
        review(),
        fixture("review_audio_video"),
        deleted(),
        other_flow_failed(),
        second,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_two_orders_of_the_same_events_agree(
        picks in proptest::collection::vec(0usize..9, 1..12),
        shuffle in any::<proptest::sample::Index>(),
    ) {
        let pool = pool();
        let events: Vec<&Value> = picks.iter().map(|i| &pool[*i]).collect();
        let mut other = events.clone();
        let by = shuffle.index(other.len().max(1));
        other.rotate_left(by);
        other.reverse();
        // Receipt times differ between the two runs; only which file came first depends on them,
        // so compare runs whose NewFileUploads keep their relative order.
        let files_in_order = |e: &[&Value]| -> Vec<Value> {
            e.iter().filter(|b| b["EventType"] == "NewFileUpload").map(|b| (*b).clone()).collect()
        };
        prop_assume!(files_in_order(&events) == files_in_order(&other));
        prop_assert_eq!(shown(&run(&events)), shown(&run(&other)));
    }

    #[test]
    fn the_join_is_a_semilattice(a in 0usize..9, b in 0usize..9, c in 0usize..9) {
        let pool = pool();
        let f = |i: usize, at: i64| facts(&pool[i], at);
        let (x, y, z) = (f(a, 1), f(b, 2), f(c, 3));
        prop_assert_eq!(x.clone().join(y.clone()), y.clone().join(x.clone()));
        prop_assert_eq!(
            x.clone().join(y.clone()).join(z.clone()),
            x.clone().join(y.clone().join(z))
        );
        prop_assert_eq!(x.clone().join(x.clone()), x.clone());
        let text = serde_json::to_string(&x).unwrap();
        prop_assert_eq!(serde_json::from_str::<Facts>(&text).unwrap(), x.clone());
        let joined = x.clone().join(y);
        prop_assert!(joined.status().rank() >= x.status().rank(), "monotone");
    }
}

fn rejected(code: &str, decided_at_ms: i64) -> Facts {
    Facts {
        rejection: Some(Rejection {
            file_id: FILE_ID.into(),
            error: UploadError {
                code: code.into(),
                message: format!("{code} at {decided_at_ms}"),
            },
            limit: json!(1),
            actual: json!(2),
            decided_at_ms,
        }),
        ..Facts::default()
    }
}

#[test]
fn rejected_is_final_and_the_first_rejection_stays() {
    let ready = facts(&new_file_upload(), 1).join(facts(&finish_ready(), 2));
    let first = rejected("too_large", 10);
    let later = rejected("blocked_by_review", 20);
    let record = ready.clone().join(first.clone());
    assert_eq!(record.status(), Status::Rejected);
    assert_eq!(record.error().map(|e| e.code.as_str()), Some("too_large"));
    for event in [&finish_failed(), &deleted(), &processing()] {
        let after = record.clone().join(facts(event, 3));
        assert_eq!(after.status(), Status::Rejected, "{}", event["EventType"]);
    }
    assert_eq!(Status::Rejected.rank(), 50);
    assert!(Status::Rejected.rank() > Status::Deleted.rank());
    let a = first.clone().join(later.clone());
    let b = later.join(first.clone());
    assert_eq!(a, b, "commutative");
    assert_eq!(a, first.clone().join(first.clone()), "the earlier decision");
    let tie = rejected("too_long", 10);
    assert_eq!(
        first.clone().join(tie.clone()),
        tie.join(first),
        "a tie is settled the same in every order"
    );
    let shown = UploadRecord::merge(None, &upload(), record, 5)
        .unwrap()
        .to_upload();
    assert_eq!(shown.status.as_str(), "rejected");
    assert_eq!(shown.error.unwrap().message, "too_large at 10");
}
