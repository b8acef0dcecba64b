use proptest::prelude::*;
use serde_json::json;

use super::*;

const NEW_FILE_UPLOAD: &str =
    include_str!("../../../../tests/fixtures/callbacks/new_file_upload.json");
const PROCEDURE_FINISH: &str =
    include_str!("../../../../tests/fixtures/callbacks/procedure_finish.json");
const PROCEDURE_CHANGE_PROCESSING: &str =
    include_str!("../../../../tests/fixtures/callbacks/procedure_change_processing.json");
const PROCEDURE_CHANGE_FINISH: &str =
    include_str!("../../../../tests/fixtures/callbacks/procedure_change_finish.json");
const FILE_DELETED: &str = include_str!("../../../../tests/fixtures/callbacks/file_deleted.json");
const PULL_COMPLETE: &str = include_str!("../../../../tests/fixtures/callbacks/pull_complete.json");
const PULL_EVENTS_RESPONSE: &str =
    include_str!("../../../../tests/fixtures/callbacks/pull_events_response.json");
const UNKNOWN_FUTURE_TYPE: &str =
    include_str!("../../../../tests/fixtures/callbacks/unknown_future_type.json");
const LEGACY_V2_NEW_FILE_UPLOAD: &str =
    include_str!("../../../../tests/fixtures/callbacks/legacy_v2_new_file_upload.json");
const REVIEW_AUDIO_VIDEO: &str =
    include_str!("../../../../tests/fixtures/callbacks/review_audio_video.json");
const EDIT_MEDIA_COMPLETE: &str =
    include_str!("../../../../tests/fixtures/callbacks/edit_media_complete.json");
const PROCEDURE_FINISH_READY: &str =
    include_str!("../../../../tests/fixtures/callbacks/procedure_finish_ready.json");

/// Every fixture, by file name.
pub(crate) const FIXTURES: [(&str, &str); 12] = [
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
    ("procedure_finish_ready", PROCEDURE_FINISH_READY),
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
fn every_sub_task_has_an_outcome_and_reviews_are_typed() {
    let callback = parsed(PROCEDURE_FINISH_READY);
    let Payload::ProcedureStateChanged(event) = callback.payload() else {
        panic!("expected ProcedureStateChanged");
    };
    let results = event.media_process_result_set.as_ref().expect("results");
    let statuses: Vec<_> = results
        .iter()
        .map(|r| r.outcome().and_then(|o| o.status))
        .collect();
    assert_eq!(statuses, vec![Some("SUCCESS".to_owned()); 3]);
    let ads = results[1]
        .adaptive_dynamic_streaming_task
        .as_ref()
        .expect("ADS");
    assert_eq!(
        ads.output.as_ref().and_then(|o| o.package.as_deref()),
        Some("HLS")
    );
    let reviews = event
        .ai_content_review_result_set
        .as_ref()
        .expect("reviews");
    let porn = reviews[0].output().expect("PornTask output");
    assert_eq!(porn.suggestion.as_deref(), Some("review"));
    assert_eq!(porn.label.as_deref(), Some("sexy"));
    assert_eq!(event.err_code, Some(0));

    let failed = parsed(PROCEDURE_FINISH);
    let Payload::ProcedureStateChanged(event) = failed.payload() else {
        panic!("expected ProcedureStateChanged");
    };
    let outcome = event.media_process_result_set.as_ref().expect("results")[1]
        .outcome()
        .expect("outcome");
    assert_eq!(outcome.err_code_ext.as_deref(), Some("InternalError"));
    assert_eq!(outcome.err_code, Some(70000));

    let review = parsed(REVIEW_AUDIO_VIDEO);
    let Payload::ReviewAudioVideoComplete(event) = review.payload() else {
        panic!(
            "expected ReviewAudioVideoComplete, got {:?}",
            review.payload()
        );
    };
    assert_eq!(
        event.input.and_then(|i| i.file_id).as_deref(),
        Some("5285890784273533167")
    );
    assert_eq!(
        event.output.and_then(|o| o.suggestion).as_deref(),
        Some("pass")
    );
}

#[test]
fn deletes_name_every_file_and_which_originals_went() {
    let deleted = parsed(FILE_DELETED);
    assert_eq!(deleted.file_ids(), vec!["5285890784281127704".to_owned()]);
    let Payload::FileDeleted(event) = deleted.payload() else {
        panic!("expected FileDeleted");
    };
    assert_eq!(
        event.originals_deleted(),
        vec!["5285890784281127704".to_owned()]
    );
    let many = parse_value(&json!({"EventType": "FileDeleted", "FileDeleteEvent": {
    "FileIdSet": ["1", "2", "3"],
    "FileDeleteResultInfo": [
        {"FileId": "2", "DeleteParts": [{"Type": "TranscodeFiles", "Definition": 0}]},
        {"FileId": "3", "DeleteParts": []}
    ]}}))
    .expect("parses");
    assert_eq!(many.file_ids(), vec!["1", "2", "3"]);
    let Payload::FileDeleted(event) = many.payload() else {
        panic!("expected FileDeleted");
    };
    assert_eq!(
        event.originals_deleted(),
        vec!["1", "3"],
        "2 kept its original"
    );
    assert_eq!(
        parsed(NEW_FILE_UPLOAD).file_ids(),
        vec!["5285890784273533167"]
    );
    assert!(parsed(UNKNOWN_FUTURE_TYPE).file_ids().len() == 1);
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
    assert_eq!(
        pulled.payload(),
        Payload::Other,
        "PullComplete has no typed view"
    );
    assert_eq!(pulled.contexts(), Vec::<&str>::new());
}

#[test]
fn unknown_types_are_accepted_as_other() {
    let callback = parsed(UNKNOWN_FUTURE_TYPE);
    assert_eq!(payload_key(callback.event_type()), None);
    assert_eq!(callback.payload(), Payload::Other);
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
    assert_eq!(callback.payload(), Payload::Other);
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
        assert_eq!(callback.payload(), Payload::Other, "{payload}");
    }
    let callback = parse_value(&json!({
        "EventType": "NewFileUpload",
        "FileUploadEvent": {"FileId": "5285890784273533167", "MetaData": "x"},
    }))
    .expect("accepted");
    assert_eq!(callback.file_id().as_deref(), Some("5285890784273533167"));
    let missing = parse_value(&json!({"EventType": "NewFileUpload", "FileUploadEvent": 3}))
        .expect("accepted");
    assert_eq!(missing.payload(), Payload::Other);
    assert_eq!(missing.payload_json(), None);
}

#[test]
fn oversized_bodies_are_too_large() {
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
}

#[test]
fn a_body_of_exactly_the_limit_is_accepted() {
    let mut body = br#"{"EventType":"NewFileUpload","Pad":""#.to_vec();
    body.resize(MAX_CALLBACK_BYTES - 2, b'a');
    body.extend_from_slice(br#""}"#);
    assert!(parse(&body).is_ok());
}

#[test]
fn malformed_bodies_are_refused_with_clear_messages() {
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
fn invalid_json_is_refused_without_echoing_the_body() {
    let err = parse(br#"{"EventType": "secret-token-value" "#).expect_err("refused");
    let CallbackError::InvalidJson { detail } = &err else {
        panic!("expected InvalidJson, got {err:?}");
    };
    assert!(detail.contains("line 1"), "{detail}");
    assert!(!err.to_string().contains("secret-token-value"), "{err}");
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

#[test]
fn an_object_is_held_to_the_limits_of_its_text() {
    let deep = json!({"EventType": "X", "Deep": (0..MAX_NESTING_DEPTH - 1).fold(json!(1), |inner, _| json!([inner]))});
    let at_limit = deep.as_object().expect("object").clone();
    assert!(from_object(at_limit.clone()).is_ok());
    assert!(parse(deep.to_string().as_bytes()).is_ok());
    let mut too_deep = at_limit;
    too_deep.insert("Deeper".into(), json!({"A": deep}));
    let text = Value::Object(too_deep.clone()).to_string();
    assert_eq!(
        from_object(too_deep),
        Err(CallbackError::TooDeep {
            limit: MAX_NESTING_DEPTH
        })
    );
    assert_eq!(
        parse(text.as_bytes()),
        Err(CallbackError::TooDeep {
            limit: MAX_NESTING_DEPTH
        })
    );

    let mut large = Map::new();
    large.insert("EventType".into(), json!("X"));
    large.insert("Pad".into(), json!("a".repeat(MAX_CALLBACK_BYTES)));
    let text = Value::Object(large.clone()).to_string();
    assert_eq!(from_object(large), parse(text.as_bytes()));
    assert!(matches!(
        parse(text.as_bytes()),
        Err(CallbackError::TooLarge { .. })
    ));

    let untyped = json!({"eventType": "X"})
        .as_object()
        .expect("object")
        .clone();
    assert_eq!(from_object(untyped), Err(CallbackError::MissingEventType));
}

#[test]
fn every_fixture_object_gives_the_callback_its_text_gives() {
    for (name, callback) in fixture_callbacks() {
        assert_eq!(from_object(callback.body().clone()), Ok(callback), "{name}");
    }
}

proptest! {
    #[test]
    fn an_object_gives_the_callback_its_text_gives(body in callback_body()) {
        let text = Value::Object(body.clone()).to_string();
        prop_assert_eq!(from_object(body), parse(text.as_bytes()));
    }
}
