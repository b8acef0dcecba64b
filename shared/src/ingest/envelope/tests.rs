use proptest::prelude::*;
use serde_json::json;
use time::macros::datetime;

use super::*;
use crate::vod::callback::tests::{
    FIXTURES, callback_body, fixture_callbacks, json_value, parse_value, parsed, pulled_events,
};
use crate::vod::callback::{self, Callback};

const SCHEMA: &str = include_str!("../../../../schemas/envelope.schema.json");

fn fixture(name: &str) -> &'static str {
    FIXTURES
        .iter()
        .find(|(fixture, _)| *fixture == name)
        .map(|(_, text)| *text)
        .expect("known fixture")
}

fn fixture_value(name: &str) -> Value {
    serde_json::from_str(fixture(name)).expect("fixture is JSON")
}

fn id_of(value: &Value) -> String {
    event_id(&parse_value(value).expect("parses"))
}

/// JSON text of `value` with the members of every object in a different order: rotated by
/// `shift` and, at odd depths, reversed.
fn reordered(value: &Value, shift: usize, depth: usize) -> String {
    match value {
        Value::Object(object) => {
            let mut members: Vec<_> = object.iter().collect();
            if !members.is_empty() {
                let by = shift % members.len();
                members.rotate_left(by);
            }
            if depth % 2 == 1 {
                members.reverse();
            }
            let members: Vec<String> = members
                .into_iter()
                .map(|(key, value)| {
                    format!("{}:{}", json!(key), reordered(value, shift + 1, depth + 1))
                })
                .collect();
            format!("{{{}}}", members.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items
                .iter()
                .map(|item| reordered(item, shift, depth + 1))
                .collect();
            format!("[{}]", items.join(","))
        }
        scalar => scalar.to_string(),
    }
}

/// Adds a null member to every object below the top level, as PULL shows absent fields.
fn with_nulls(value: &mut Value) {
    match value {
        Value::Object(object) => {
            object.values_mut().for_each(with_nulls);
            object.insert("AbsentField".to_owned(), Value::Null);
        }
        Value::Array(items) => items.iter_mut().for_each(with_nulls),
        _ => {}
    }
}

/// Also computed independently: Python's `json.dumps(sort_keys=True, separators=(",", ":"),
/// ensure_ascii=False)` over the body without `Sign` and `T`, then SHA-256.
#[test]
fn known_answer_id_of_new_file_upload() {
    let callback = parsed(fixture("new_file_upload"));
    assert_eq!(event_id(&callback), "vod_490ccbf6c65853e2fd94c87243a7bd7c");
}

#[test]
fn id_is_stable_under_key_reordering() {
    for (name, callback) in fixture_callbacks() {
        let value = Value::Object(callback.body().clone());
        for shift in 0..4 {
            let text = reordered(&value, shift, 0);
            let shuffled = callback::parse(text.as_bytes()).expect("parses");
            assert_eq!(
                event_id(&shuffled),
                event_id(&callback),
                "{name}, shift {shift}"
            );
        }
    }
}

#[test]
fn id_ignores_sign_and_t() {
    let original = fixture_value("new_file_upload");
    let id = id_of(&original);
    let mut resigned = original.clone();
    resigned["Sign"] = json!("0123456789abcdef0123456789abcdef");
    resigned["T"] = json!("1716195000");
    assert_eq!(id_of(&resigned), id);
    let mut unsigned = original.clone();
    let members = unsigned.as_object_mut().expect("object");
    members.remove("Sign");
    members.remove("T");
    assert_eq!(id_of(&unsigned), id);
    let mut signed = fixture_value("file_deleted");
    let file_deleted_id = id_of(&signed);
    signed["Sign"] = json!("3ba1987f207256fd7eac2f3bd50d0243");
    signed["T"] = json!(1_700_000_600);
    assert_eq!(id_of(&signed), file_deleted_id);
}

#[test]
fn id_is_the_same_pulled_or_pushed() {
    let pulled = pulled_events();
    assert_eq!(id_of(&pulled[1]), id_of(&fixture_value("pull_complete")));

    let mut pushed = pulled[0].clone();
    let members = pushed.as_object_mut().expect("object");
    members.remove("EventHandle");
    members.retain(|_, value| !value.is_null());
    assert_eq!(id_of(&pushed), id_of(&pulled[0]));

    for name in ["new_file_upload", "procedure_finish", "edit_media_complete"] {
        let pushed = fixture_value(name);
        let mut pulled = pushed.clone();
        with_nulls(&mut pulled);
        pulled["EventHandle"] = json!("EventHandle7");
        pulled["PullCompleteEvent"] = Value::Null;
        pulled["FileDeleteEvent"] = Value::Null;
        assert_eq!(id_of(&pulled), id_of(&pushed), "{name}");
    }
}

#[test]
fn id_differs_for_different_events() {
    let processing = id_of(&fixture_value("procedure_change_processing"));
    let finish = id_of(&fixture_value("procedure_change_finish"));
    assert_ne!(processing, finish);

    // pull_complete.json is the PUSH form of pull_events_response[1], so it is left out.
    let mut ids: Vec<String> = fixture_callbacks()
        .iter()
        .filter(|(name, _)| name != "pull_complete")
        .map(|(_, callback)| event_id(callback))
        .collect();
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count);
}

#[test]
fn nulls_inside_arrays_count() {
    let with_null = json!({"EventType": "X", "XEvent": {"List": [1, null]}});
    let without = json!({"EventType": "X", "XEvent": {"List": [1]}});
    assert_ne!(id_of(&with_null), id_of(&without));
}

#[test]
fn envelope_keys_and_event_follow_the_contract() {
    let callback = parsed(fixture("new_file_upload"));
    let uploader = Uploader {
        sub: "user-42".into(),
        upload_id: "up-9f3c".into(),
        meta: None,
    };
    let received_at = datetime!(2026-11-29 00:41:00.734 +08:00);
    let envelope = Envelope::build(
        callback.clone(),
        Some((uploader, AttributedBy::Context)),
        received_at,
    );
    let json: Value = serde_json::from_str(&envelope.to_json()).expect("JSON");
    let object = json.as_object().expect("object");
    let keys: Vec<&str> = object.keys().map(String::as_str).collect();
    let mut expected = [
        "id",
        "type",
        "eventType",
        "fileId",
        "taskId",
        "uploader",
        "attributedBy",
        "receivedAt",
        "format",
        "event",
    ];
    expected.sort_unstable();
    assert_eq!(keys, expected);
    assert_eq!(json["receivedAt"], "2026-11-28T16:41:00Z");
    assert_eq!(json["type"], "upload.completed");
    assert_eq!(json["attributedBy"], "context");
    assert_eq!(json["format"], "v3");
    assert_eq!(json["taskId"], Value::Null);
    assert_eq!(json["fileId"], "5285890784273533167");
    assert_eq!(
        json["uploader"],
        json!({"sub": "user-42", "uploadId": "up-9f3c", "meta": null})
    );
    let event = json["event"].as_object().expect("event object");
    for key in callback::DELIVERY_KEYS {
        assert!(!event.contains_key(key), "{key}");
    }
    assert_eq!(
        event["FileUploadEvent"],
        fixture_value("new_file_upload")["FileUploadEvent"]
    );
}

#[test]
fn each_fixture_has_its_type() {
    let cases = [
        ("new_file_upload", "upload.completed"),
        ("legacy_v2_new_file_upload", "upload.completed"),
        ("procedure_change_processing", "media.processing"),
        ("procedure_change_finish", "media.ready"),
        ("procedure_finish", "media.failed"),
        ("review_audio_video", "media.reviewed"),
        ("file_deleted", "media.deleted"),
        ("pull_complete", "media.event"),
        ("edit_media_complete", "media.event"),
        ("unknown_future_type", "media.event"),
    ];
    for (name, kind) in cases {
        let envelope = Envelope::build(
            parsed(fixture(name)),
            None,
            datetime!(2026-11-28 16:41:00 UTC),
        );
        let json: Value = serde_json::from_str(&envelope.to_json()).expect("JSON");
        assert_eq!(json["type"], kind, "{name}");
        assert_eq!(json["attributedBy"], Value::Null, "{name}");
    }
    let partial = json!({"EventType": "FileDeleted", "FileDeleteEvent": {
        "FileIdSet": ["5285890784281127704"],
        "FileDeleteResultInfo": [{"FileId": "5285890784281127704",
            "DeleteParts": [{"Type": "TranscodeFiles", "Definition": 100010}]}]}});
    let envelope = Envelope::build(
        parse_value(&partial).expect("parses"),
        None,
        datetime!(2026-11-28 16:41:00 UTC),
    );
    assert_eq!(
        envelope.kind,
        EventKind::MediaEvent,
        "a partial delete keeps the file"
    );
}

#[test]
fn event_keeps_nulls_as_received() {
    let pulled = parse_value(&pulled_events()[0]).expect("parses");
    let envelope = Envelope::build(pulled.clone(), None, datetime!(2026-11-28 16:41:00 UTC));
    assert_eq!(envelope.event.get("FileUploadEvent"), Some(&Value::Null));
    assert!(!envelope.event.contains_key("EventHandle"));
    assert_eq!(envelope.uploader, None);
}

#[test]
fn envelope_round_trips() {
    for (name, callback) in fixture_callbacks() {
        let envelope = Envelope::build(callback.clone(), None, datetime!(2026-11-28 16:41:00 UTC));
        let back: Envelope = serde_json::from_str(&envelope.to_json()).expect("reads back");
        assert_eq!(back, envelope, "{name}");
    }
}

#[test]
fn received_at_is_utc_whole_seconds() {
    let callback = parsed(fixture("file_deleted"));
    let envelope = Envelope::build(
        callback.clone(),
        None,
        datetime!(2024-05-20 03:40:00.999 -05:00),
    );
    assert_eq!(envelope.received_at, datetime!(2024-05-20 08:40:00 UTC));
    assert!(
        envelope
            .to_json()
            .contains(r#""receivedAt":"2024-05-20T08:40:00Z""#)
    );
    let edge = datetime!(9999-12-31 23:00:00 -05:00);
    let clamped = Envelope::build(callback.clone(), None, edge);
    assert_eq!(
        clamped.received_at,
        PrimitiveDateTime::MAX
            .assume_utc()
            .replace_nanosecond(0)
            .expect("valid")
    );
}

/// Checks `value` against `schema`, for the keywords the envelope schema uses. Annotations
/// are skipped; `pattern` is pinned in `envelopes_match_the_schema` instead; any other keyword
/// fails the check, so the schema cannot grow rules this test ignores.
fn schema_errors(schema: &Value, value: &Value, at: &str) -> Vec<String> {
    let mut errors = Vec::new();
    let rules = schema.as_object().expect("schema object");
    for (keyword, rule) in rules {
        match keyword.as_str() {
            "$schema" | "$id" | "title" | "description" | "format" | "pattern" => {}
            "type" => {
                let allowed: Vec<&str> = match rule {
                    Value::String(one) => vec![one.as_str()],
                    Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
                    _ => panic!("bad type rule at {at}"),
                };
                let actual = match value {
                    Value::Null => "null",
                    Value::Bool(_) => "boolean",
                    Value::Number(_) => "number",
                    Value::String(_) => "string",
                    Value::Array(_) => "array",
                    Value::Object(_) => "object",
                };
                if !allowed.contains(&actual) {
                    errors.push(format!("{at}: {actual} is not {allowed:?}"));
                }
            }
            "enum" => {
                if !rule.as_array().expect("enum array").contains(value) {
                    errors.push(format!("{at}: {value} not in {rule}"));
                }
            }
            "minLength" => {
                let min = rule.as_u64().expect("minLength number");
                if let Some(text) = value.as_str()
                    && (text.chars().count() as u64) < min
                {
                    errors.push(format!("{at}: shorter than {min}"));
                }
            }
            "required" => {
                if let Some(object) = value.as_object() {
                    for key in rule.as_array().expect("required array") {
                        let key = key.as_str().expect("key");
                        if !object.contains_key(key) {
                            errors.push(format!("{at}: missing {key}"));
                        }
                    }
                }
            }
            "properties" => {
                if let Some(object) = value.as_object() {
                    for (key, property) in rule.as_object().expect("properties object") {
                        if let Some(member) = object.get(key) {
                            errors.extend(schema_errors(property, member, &format!("{at}/{key}")));
                        }
                    }
                }
            }
            "additionalProperties" => {
                assert_eq!(rule, &Value::Bool(false), "only `false` is supported");
                let known = rules["properties"].as_object().expect("properties object");
                if let Some(object) = value.as_object() {
                    for key in object.keys().filter(|key| !known.contains_key(*key)) {
                        errors.push(format!("{at}: unexpected {key}"));
                    }
                }
            }
            "anyOf" => {
                let options = rule.as_array().expect("anyOf array");
                if options
                    .iter()
                    .all(|option| !schema_errors(option, value, at).is_empty())
                {
                    errors.push(format!("{at}: matches no anyOf option"));
                }
            }
            "not" => {
                if schema_errors(rule, value, at).is_empty() {
                    errors.push(format!("{at}: matches a `not` schema"));
                }
            }
            other => panic!("schema keyword {other} at {at} is not checked by this test"),
        }
    }
    errors
}

#[test]
fn envelopes_match_the_schema() {
    let schema: Value = serde_json::from_str(SCHEMA).expect("schema is JSON");
    assert_eq!(schema["properties"]["id"]["pattern"], "^vod_[0-9a-f]{32}$");
    assert_eq!(
        schema["properties"]["receivedAt"]["pattern"],
        "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"
    );
    let uploader = Uploader {
        sub: "user-42".into(),
        upload_id: "up-9f3c".into(),
        meta: Some(r#"{"plan":"pro"}"#.into()),
    };
    let uploaders = [
        None,
        Some((uploader.clone(), AttributedBy::Context)),
        Some((uploader, AttributedBy::FileId)),
    ];
    for (name, callback) in fixture_callbacks() {
        for uploader in &uploaders {
            let received_at = datetime!(2026-11-28 16:41:00.5 UTC);
            let envelope = Envelope::build(callback.clone(), uploader.clone(), received_at);
            let json: Value = serde_json::from_str(&envelope.to_json()).expect("JSON");
            let errors = schema_errors(&schema, &json, "");
            assert!(errors.is_empty(), "{name}: {errors:?}");

            let id = json["id"].as_str().expect("id");
            let hex = id.strip_prefix("vod_").expect("vod_ prefix");
            assert!(
                hex.len() == 32
                    && hex
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                "{id}"
            );
            assert_eq!(json["receivedAt"], "2026-11-28T16:41:00Z");
        }
    }
}

#[test]
fn the_schema_catches_a_broken_envelope() {
    let schema: Value = serde_json::from_str(SCHEMA).expect("schema is JSON");
    let callback = parsed(fixture("new_file_upload"));
    let good: Value = serde_json::from_str(
        &Envelope::build(callback.clone(), None, datetime!(2026-11-28 16:41:00 UTC)).to_json(),
    )
    .expect("JSON");
    let breakages: [fn(&mut Value); 7] = [
        |v| v["format"] = json!("v4"),
        |v| v["type"] = json!("media.uploaded"),
        |v| v["attributedBy"] = json!("sessionContext"),
        |v| {
            v.as_object_mut().expect("object").remove("attributedBy");
        },
        |v| v["fileId"] = json!(5_285_890_784_273_533_167_u64),
        |v| v["event"]["Sign"] = json!("x"),
        |v| {
            v.as_object_mut().expect("object").remove("taskId");
        },
    ];
    for breakage in breakages {
        let mut broken = good.clone();
        breakage(&mut broken);
        assert!(!schema_errors(&schema, &broken, "").is_empty(), "{broken}");
    }
}

proptest! {
    #[test]
    fn id_is_invariant_under_delivery_fields(
        body in callback_body(),
        sign in ".{0,40}",
        t in any::<i64>(),
        handle in ".{0,20}",
    ) {
        let callback = callback::parse(Value::Object(body.clone()).to_string().as_bytes())
            .map_err(|err| TestCaseError::fail(err.to_string()))?;
        let mut delivered = body;
        delivered.insert("Sign".to_owned(), Value::from(sign));
        delivered.insert("T".to_owned(), Value::from(t));
        delivered.insert("EventHandle".to_owned(), Value::from(handle));
        let redelivered: Callback = callback::parse(Value::Object(delivered).to_string().as_bytes())
            .map_err(|err| TestCaseError::fail(err.to_string()))?;
        prop_assert_eq!(event_id(&redelivered), event_id(&callback));
        let envelope = Envelope::build(redelivered.clone(), None, datetime!(2026-11-28 16:41:00 UTC));
        prop_assert!(serde_json::from_str::<Value>(&envelope.to_json()).is_ok());
    }

    #[test]
    fn any_body_keeps_its_id_under_key_reordering(body in callback_body(), shift in 0usize..8) {
        let body = Value::Object(body);
        let callback = callback::parse(body.to_string().as_bytes())
            .map_err(|err| TestCaseError::fail(err.to_string()))?;
        let shuffled = callback::parse(reordered(&body, shift, 0).as_bytes())
            .map_err(|err| TestCaseError::fail(err.to_string()))?;
        prop_assert_eq!(event_id(&shuffled), event_id(&callback));
    }

    #[test]
    fn ids_are_equal_exactly_when_the_events_are(a in callback_body(), b in callback_body()) {
        let id_a = id_of(&Value::Object(a.clone()));
        let id_b = id_of(&Value::Object(b.clone()));
        prop_assert_eq!(id_a == id_b, event_part(&a) == event_part(&b));
    }

    #[test]
    fn a_new_member_changes_the_id(
        body in callback_body(),
        key in ".{0,8}",
        value in json_value().prop_filter("not null", |value| !value.is_null()),
    ) {
        prop_assume!(!body.contains_key(&key) && !DELIVERY_KEYS.contains(&key.as_str()));
        let mut changed = body.clone();
        changed.insert(key, value);
        prop_assert_ne!(id_of(&Value::Object(changed)), id_of(&Value::Object(body)));
    }
}

/// What the id covers: the body without delivery keys or null-valued object members.
fn event_part(body: &Map<String, Value>) -> Value {
    fn strip(value: &Value) -> Value {
        match value {
            Value::Object(object) => Value::Object(
                object
                    .iter()
                    .filter(|(_, value)| !value.is_null())
                    .map(|(key, value)| (key.clone(), strip(value)))
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(strip).collect()),
            scalar => scalar.clone(),
        }
    }
    let mut event = body.clone();
    event.retain(|key, _| !DELIVERY_KEYS.contains(&key.as_str()));
    strip(&Value::Object(event))
}

#[test]
fn a_rejection_has_one_envelope_per_upload_that_matches_the_schema() {
    use crate::ingest::uploads::{Rejection, UploadError};
    let schema: Value = serde_json::from_str(SCHEMA).expect("schema is JSON");
    let rejection = Rejection {
        file_id: "5285890784273533167".into(),
        error: UploadError {
            code: "too_large".into(),
            message: "the file is 2000 bytes, over the limit of 1000 bytes".into(),
        },
        limit: json!(1000),
        actual: json!(2000),
        decided_at_ms: 0,
    };
    let uploader = Uploader {
        sub: "alice".into(),
        upload_id: "3VyyNri9Z7UR88ByPfjFyg".into(),
        meta: None,
    };
    let envelope = Envelope::rejection(
        &rejection,
        (uploader, AttributedBy::FileId),
        datetime!(2026-11-28 16:41:00.5 UTC),
    );
    let json: Value = serde_json::from_str(&envelope.to_json()).expect("JSON");
    assert_eq!(
        json,
        json!({
            "id": "vod_086910fffe3b574023430dd363842089",
            "type": "upload.rejected",
            "eventType": "vodgate.UploadRejected",
            "fileId": "5285890784273533167",
            "taskId": null,
            "uploader": {"sub": "alice", "uploadId": "3VyyNri9Z7UR88ByPfjFyg", "meta": null},
            "attributedBy": "fileId",
            "receivedAt": "2026-11-28T16:41:00Z",
            "format": "vodgate",
            "event": {"fileId": "5285890784273533167", "reason": "too_large", "limit": 1000, "actual": 2000}
        })
    );
    let errors = schema_errors(&schema, &json, "");
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn a_truncated_marker_keeps_every_member_but_the_event_and_matches_the_schema() {
    let schema: Value = serde_json::from_str(SCHEMA).expect("schema is JSON");
    let callback = parsed(fixture("new_file_upload"));
    let uploader = Uploader {
        sub: "alice".into(),
        upload_id: "3VyyNri9Z7UR88ByPfjFyg".into(),
        meta: None,
    };
    let envelope = Envelope::build(
        callback,
        Some((uploader, AttributedBy::Context)),
        datetime!(2026-11-28 16:41:00 UTC),
    );
    let full: Value = serde_json::from_str(&envelope.to_json()).unwrap();
    let marker: Value = serde_json::from_str(&envelope.truncated_marker()).unwrap();
    let errors = schema_errors(&schema, &marker, "");
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(marker["event"], Value::Null);
    assert_eq!(marker["truncated"], true);
    for (key, value) in full.as_object().unwrap() {
        if key != "event" {
            assert_eq!(&marker[key], value, "{key}");
        }
    }
}
