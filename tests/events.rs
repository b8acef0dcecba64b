//! The real `events` binary, driven over HTTP: authentication, parsing, durable storage in
//! SQLite, DynamoDB and SQS (moto), and the full sign → upload → callback → attribution loop.

mod common;

use std::path::Path;
use std::time::Duration;

use common::upload::stored_envelopes;
use common::{
    FlakyProxy, Link, Spawned, aws_config, aws_env, callback_fixture, create_events_table,
    eventually, moto_endpoint, now, signed, upload_callback, upload_token,
};
use serde_json::{Value, json};
use vodgate::ingest::sink::SqliteSink;
use vodgate::platform::secret::Secret;
use vodgate::vod::callback_auth::sign_for;

const SIGN_KEY: &str = "EventsTestKey1abcdefghijk";
const OLD_SIGN_KEY: &str = "EventsTestKey0abcdefghijk";
const CONTEXT_KEY: &str = "events-context-key-0123456789abcdef";
const JWT_SECRET: &str = "events-jwt-secret-0123456789abcdef";

struct Events {
    server: Spawned,
    base: String,
    http: reqwest::Client,
}

impl Events {
    fn start<V: AsRef<str>>(env: &[(&str, V)]) -> Self {
        let mut full = vec![("PORT", "0"), ("VODGATE_CONTEXT_KEY", CONTEXT_KEY)];
        full.extend(env.iter().map(|(k, v)| (*k, v.as_ref())));
        let mut server = Spawned::start(env!("CARGO_BIN_EXE_events"), &full);
        let base = server.wait_listening();
        Self {
            server,
            base,
            http: reqwest::Client::new(),
        }
    }

    fn sqlite(db: &Path) -> Self {
        let sink = format!("sqlite:{}", db.display());
        Self::start(&[
            ("EVENT_SINK", sink.as_str()),
            ("VOD_CALLBACK_KEYS", &format!("{SIGN_KEY},{OLD_SIGN_KEY}")),
        ])
    }

    async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(response.headers().contains_key("x-request-id"));
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}")),
        )
    }

    async fn post(&self, body: &Value) -> (u16, Value) {
        self.post_raw("/v1/vod/events", body.to_string()).await
    }
}

#[tokio::test]
async fn authenticated_callbacks_are_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.sqlite");
    let app = Events::sqlite(&db);

    let upload = callback_fixture("new_file_upload.json");
    let (status, body) = app.post(&signed(upload.clone(), SIGN_KEY, 600)).await;
    let id = body["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (status, &body),
        (
            200,
            &json!({"code": 0, "message": "ok", "data": {"id": id, "duplicate": false}})
        )
    );
    // VOD redelivers with a fresh T/Sign (here under the previous, still accepted key).
    let (status, body) = app.post(&signed(upload.clone(), OLD_SIGN_KEY, 300)).await;
    assert_eq!(status, 200, "a duplicate counts as written");
    assert_eq!(body["data"], json!({"id": id, "duplicate": true}));
    let events = stored_envelopes(&db);
    assert_eq!(events.len(), 1, "stored exactly once");
    let envelope = &events[0];
    assert_eq!(envelope["id"], id.as_str());
    assert_eq!(envelope["eventType"], "NewFileUpload");
    assert_eq!(envelope["fileId"], "5285890784273533167");
    assert_eq!(envelope["format"], "v3");
    assert_eq!(
        envelope["uploader"],
        Value::Null,
        "a foreign sourceContext is never trusted"
    );
    assert!(envelope["id"].as_str().unwrap().starts_with("vod_"));
    assert!(envelope["event"].get("Sign").is_none() && envelope["event"].get("T").is_none());

    for name in [
        "procedure_finish.json",
        "procedure_change_processing.json",
        "procedure_change_finish.json",
        "file_deleted.json",
        "pull_complete.json",
        "unknown_future_type.json",
        "legacy_v2_new_file_upload.json",
        "review_audio_video.json",
        "edit_media_complete.json",
    ] {
        let (status, body) = app
            .post(&signed(callback_fixture(name), SIGN_KEY, 600))
            .await;
        assert_eq!(status, 200, "{name}: {body}");
    }
    assert_eq!(stored_envelopes(&db).len(), 10);
    let logs = app.server.logs();
    assert!(
        !logs.contains("5285890784273533167") && !logs.contains("holiday.mp4"),
        "no bodies in logs"
    );
    assert!(!logs.contains(SIGN_KEY));
}

#[tokio::test]
async fn bad_callbacks_are_refused_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.sqlite");
    let app = Events::sqlite(&db);
    let upload = callback_fixture("new_file_upload.json");

    let cases: Vec<(Value, u16, &str)> = vec![
        (
            signed(upload.clone(), "WrongKey", 600),
            401,
            "invalid_signature",
        ),
        (upload.clone(), 401, "invalid_signature"), // the research example's Sign for another key and an old T
        (
            {
                let mut v = upload.clone();
                v.as_object_mut().unwrap().remove("Sign");
                v.as_object_mut().unwrap().remove("T");
                v
            },
            401,
            "missing_signature",
        ),
        (
            signed(upload.clone(), SIGN_KEY, -5),
            401,
            "signature_expired",
        ),
        (
            signed(upload.clone(), SIGN_KEY, 3600),
            401,
            "signature_time_invalid",
        ),
        // Both parts present, T not a whole number: the time is named, not a missing signature.
        (
            {
                let mut v = upload.clone();
                v["Sign"] = "zz".into();
                v["T"] = "abc".into();
                v
            },
            401,
            "signature_time_invalid",
        ),
        (
            {
                let mut v = signed(upload.clone(), SIGN_KEY, 600);
                v["T"] = "1796184600.0".into();
                v
            },
            401,
            "signature_time_invalid",
        ),
        (
            {
                let mut v = signed(upload.clone(), SIGN_KEY, 600);
                v["Sign"] = "zz".into();
                v
            },
            401,
            "invalid_signature",
        ),
        (
            signed(json!({"FileUploadEvent": {}}), SIGN_KEY, 600),
            400,
            "bad_request",
        ),
        (
            signed(json!({"EventType": 7}), SIGN_KEY, 600),
            400,
            "bad_request",
        ),
    ];
    for (body, status, reason) in cases {
        let (got, answer) = app.post(&body).await;
        assert_eq!(
            (got, answer["error"].as_str()),
            (status, Some(reason)),
            "{body}"
        );
        assert_eq!(answer["code"], status);
    }
    for raw in ["not json", "[1,2]", "\"text\"", "{\"EventType\":"] {
        let (status, answer) = app.post_raw("/v1/vod/events", raw).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (400, Some("bad_request")),
            "{raw}"
        );
    }
    let (status, answer) = app.post_raw("/v1/vod/events", vec![0xff, 0xfe, b'{']).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (400, Some("bad_request"))
    );
    let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
    let (status, _) = app
        .post_raw(
            "/v1/vod/events",
            format!("{{\"EventType\":\"X\",\"d\":{deep}}}"),
        )
        .await;
    assert_eq!(status, 400);
    let huge = format!(
        "{{\"EventType\":\"X\",\"pad\":\"{}\"}}",
        "a".repeat(1024 * 1024)
    );
    let (status, answer) = app.post_raw("/v1/vod/events", huge).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (413, Some("payload_too_large"))
    );
    // Only the bare path exists without a path token.
    let (status, _) = app
        .post_raw("/v1/vod/events/some-token-value-123", "{}")
        .await;
    assert_eq!(status, 404);

    assert!(
        stored_envelopes(&db).is_empty(),
        "nothing refused was stored"
    );
}

#[tokio::test]
async fn sign_t_in_the_query_string_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.sqlite");
    let app = Events::sqlite(&db);
    let t = now() as i64 + 600;
    let sign = sign_for(&Secret::new(SIGN_KEY), t);
    let (status, _) = app
        .post_raw(
            &format!("/v1/vod/events?Sign={sign}&T={t}"),
            callback_fixture("file_deleted.json").to_string(),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(stored_envelopes(&db).len(), 1);
}

#[tokio::test]
async fn path_token_authentication() {
    let dir = tempfile::tempdir().unwrap();
    let sink = format!("sqlite:{}", dir.path().join("e.sqlite").display());
    let app = Events::start(&[
        ("EVENT_SINK", sink.as_str()),
        ("VOD_CALLBACK_TOKEN", "secret-path-token-0123"),
    ]);
    let body = callback_fixture("file_deleted.json").to_string();
    let (status, answer) = app.post_raw("/v1/vod/events", body.clone()).await;
    assert_eq!((status, answer["error"].as_str()), (404, Some("not_found")));
    let (status, answer) = app
        .post_raw("/v1/vod/events/secret-path-token-0124", body.clone())
        .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (401, Some("invalid_callback_token"))
    );
    let (status, _) = app
        .post_raw("/v1/vod/events/secret-path-token-0123", body)
        .await;
    assert_eq!(status, 200);
    assert!(
        !app.server.logs().contains("secret-path-token-0123"),
        "the token never reaches a log"
    );
}

#[tokio::test]
async fn refuses_to_start_without_callback_authentication() {
    let dir = tempfile::tempdir().unwrap();
    let sink = format!("sqlite:{}", dir.path().join("e.sqlite").display());
    let mut server = Spawned::start(
        env!("CARGO_BIN_EXE_events"),
        &[("PORT", "0"), ("EVENT_SINK", &sink)],
    );
    assert_eq!(server.wait_exit(), 1);
    assert!(
        server.logs().contains("VOD_CALLBACK_KEYS"),
        "{}",
        server.logs()
    );

    for (var, value) in [
        ("EVENT_SINK", "kafka:topic"),
        ("EVENT_SINK", ""),
        ("EVENT_RETENTION_DAYS", "0"),
        ("VOD_CALLBACK_AUTH", "off"),
        ("VOD_CALLBACK_KEYS", "not a key!"),
        ("VOD_CALLBACK_KEYS", "TwentyThreeCharacters00"),
        ("VODGATE_CONTEXT_KEY", "short-context-key"),
    ] {
        let mut env = vec![
            ("PORT", "0"),
            ("EVENT_SINK", sink.as_str()),
            ("VOD_CALLBACK_KEYS", SIGN_KEY),
        ];
        env.retain(|(k, _)| *k != var);
        env.push((var, value));
        let mut server = Spawned::start(env!("CARGO_BIN_EXE_events"), &env);
        assert_eq!(server.wait_exit(), 1, "{var}={value}");
        assert!(server.logs().contains(var), "{var}: {}", server.logs());
    }

    // An explicit opt-out starts, and says so.
    let mut open = Events::start(&[("EVENT_SINK", sink.as_str()), ("VOD_CALLBACK_AUTH", "none")]);
    let (status, _) = open.post(&callback_fixture("file_deleted.json")).await;
    assert_eq!(status, 200);
    assert!(open.server.logs().contains("NOT authenticated"));
    // SIGTERM: stop accepting, finish in-flight work, exit cleanly.
    std::process::Command::new("kill")
        .args(["-TERM", &open.server.child.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(open.server.wait_exit(), 0, "{}", open.server.logs());
    assert!(open.server.logs().contains("shutting down"));
}

#[tokio::test]
async fn sign_then_callback_names_the_uploader() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.sqlite");
    let events = Events::sqlite(&db);
    let mut sign = Spawned::start(
        env!("CARGO_BIN_EXE_sign"),
        &[
            ("PORT", "0"),
            ("VOD_SECRET_ID", "AKIDe2e"),
            ("VOD_SECRET_KEY", "e2e-vod-key"),
            ("JWT_HS256_SECRET", JWT_SECRET),
            ("VODGATE_CONTEXT_KEY", CONTEXT_KEY),
            ("VOD_PROCEDURE", "Review"),
        ],
    );
    let sign_base = sign.wait_listening();

    let response = reqwest::Client::new()
        .post(format!("{sign_base}/v1/upload-signature"))
        .bearer_auth(upload_token(JWT_SECRET, "alice"))
        .body(r#"{"meta":"post_77"}"#)
        .send()
        .await
        .unwrap();
    let issued: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    let report = vodgate::vod::signature::inspect(
        issued["data"]["signature"].as_str().unwrap(),
        None,
        now(),
    );
    let context = report
        .params
        .iter()
        .find(|(k, _)| k == "sourceContext")
        .unwrap()
        .1
        .clone();
    let session = report
        .params
        .iter()
        .find(|(k, _)| k == "sessionContext")
        .unwrap()
        .1
        .clone();

    // VOD echoes sourceContext in the upload event and sessionContext in task-flow events.
    let upload = upload_callback(&context, SIGN_KEY);
    let (status, _) = events.post(&upload).await;
    assert_eq!(status, 200);
    let mut finished = callback_fixture("procedure_finish.json");
    finished["ProcedureStateChangeEvent"]["SessionContext"] = session.into();
    let (status, _) = events.post(&signed(finished, SIGN_KEY, 600)).await;
    assert_eq!(status, 200);

    let expected =
        json!({"sub": "alice", "uploadId": issued["data"]["uploadId"], "meta": "post_77"});
    let envelopes = stored_envelopes(&db);
    assert_eq!(envelopes.len(), 2);
    for envelope in &envelopes {
        assert_eq!(envelope["uploader"], expected, "{}", envelope["eventType"]);
    }
    assert_eq!(
        SqliteSink::open(&db).unwrap().list(0, 10).unwrap()[0]
            .uploader_sub
            .as_deref(),
        Some("alice")
    );

    // A tampered context (someone claiming to be bob) is stored, but attributed to nobody.
    let forged = context.replace("alice", "bob");
    let upload = upload_callback(&forged, SIGN_KEY);
    let (status, _) = events.post(&upload).await;
    assert_eq!(status, 200);
    let envelopes = stored_envelopes(&db);
    assert_eq!(envelopes.len(), 3);
    assert_eq!(envelopes[2]["uploader"], Value::Null);
}

#[tokio::test]
async fn dynamodb_outage_loses_nothing_and_stores_nothing_twice() {
    let config = aws_config(moto_endpoint()).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = format!("vodgate-events-{}", rand::random::<u32>());
    create_events_table(&client, &table).await;
    let proxy = FlakyProxy::start(moto_endpoint()).await;

    let mut env: Vec<(&str, String)> = aws_env(&proxy.url());
    env.extend([
        ("EVENT_SINK", format!("dynamodb:{table}")),
        ("VOD_CALLBACK_KEYS", SIGN_KEY.to_owned()),
        ("EVENT_STORE_TIMEOUT_SECONDS", "2".to_owned()),
    ]);
    let app = Events::start(&env);

    let mut acknowledged = std::collections::BTreeSet::new();
    let mut deliver = async |name: &str, ahead: i64| {
        let (status, body) = app
            .post(&signed(callback_fixture(name), SIGN_KEY, ahead))
            .await;
        if status == 200 {
            acknowledged.insert(name.to_owned());
        }
        (status, body)
    };
    assert_eq!(deliver("file_deleted.json", 600).await.0, 200);
    assert_eq!(
        deliver("file_deleted.json", 500).await.0,
        200,
        "redelivery is a no-op success"
    );

    // DynamoDB becomes unreachable, then hangs: 503 so VOD retries. A hang ends with the store
    // timeout (2 s), not the SDK's own (8 s): the log says which one answered.
    for link in [Link::Down, Link::Stalled] {
        proxy.set(link);
        let (status, body) = tokio::time::timeout(
            Duration::from_secs(60),
            deliver("new_file_upload.json", 600),
        )
        .await
        .expect("a store never hangs the request");
        assert_eq!(
            (status, body["error"].as_str()),
            (503, Some("unavailable")),
            "{link:?}"
        );
        assert_eq!(deliver("pull_complete.json", 600).await.0, 503, "{link:?}");
    }
    eventually("the store timeout in the log", || {
        let logs = app.server.logs();
        if logs.contains("no answer by the store deadline") {
            Ok(())
        } else {
            Err(logs)
        }
    })
    .await;

    // It comes back; VOD's redeliveries (fresh T/Sign) are stored, each once.
    proxy.set(Link::Up);
    for name in [
        "new_file_upload.json",
        "pull_complete.json",
        "new_file_upload.json",
    ] {
        assert_eq!(deliver(name, 400).await.0, 200, "{name}");
    }

    let items = client.scan().table_name(&table).send().await.unwrap();
    let mut types: Vec<&str> = items
        .items()
        .iter()
        .map(|item| item["eventType"].as_s().unwrap().as_str())
        .collect();
    types.sort();
    assert_eq!(types, ["FileDeleted", "NewFileUpload", "PullComplete"]);
    assert_eq!(
        acknowledged.len(),
        3,
        "every acknowledged event is in the table, once"
    );
    for item in items.items() {
        let envelope: Value = serde_json::from_str(item["envelope"].as_s().unwrap()).unwrap();
        assert_eq!(envelope["id"], item["id"].as_s().unwrap().as_str());
        assert!(item.contains_key("expiresAt"));
    }
}

#[tokio::test]
async fn sqs_sinks_carry_the_envelope_with_a_stable_id() {
    let config = aws_config(moto_endpoint()).await;
    let client = aws_sdk_sqs::Client::new(&config);
    let suffix = rand::random::<u32>();
    let standard = client
        .create_queue()
        .queue_name(format!("vodgate-{suffix}"))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let fifo = client
        .create_queue()
        .queue_name(format!("vodgate-{suffix}.fifo"))
        .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();

    for (queue, expected_messages) in [(&standard, 2), (&fifo, 1)] {
        let mut env: Vec<(&str, String)> = aws_env(moto_endpoint());
        env.extend([
            ("EVENT_SINK", format!("sqs:{queue}")),
            ("VOD_CALLBACK_KEYS", SIGN_KEY.to_owned()),
        ]);
        let app = Events::start(&env);
        for ahead in [600, 300] {
            let (status, _) = app
                .post(&signed(
                    callback_fixture("procedure_finish.json"),
                    SIGN_KEY,
                    ahead,
                ))
                .await;
            assert_eq!(status, 200);
        }
        let mut bodies = Vec::new();
        for _ in 0..3 {
            let received = client
                .receive_message()
                .queue_url(queue.as_str())
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap();
            for message in received.messages() {
                let attributes = message.message_attributes().unwrap();
                assert_eq!(
                    attributes["eventType"].string_value(),
                    Some("ProcedureStateChanged")
                );
                assert_eq!(
                    attributes["fileId"].string_value(),
                    Some("5285890784273533167")
                );
                bodies.push(serde_json::from_str::<Value>(message.body().unwrap()).unwrap());
            }
            if bodies.len() >= expected_messages {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(bodies.len(), expected_messages, "{queue}");
        // Every copy carries the same id, so consumers of a standard queue can dedupe.
        assert!(bodies.iter().all(|b| b["id"] == bodies[0]["id"]));
        assert_eq!(bodies[0]["eventType"], "ProcedureStateChanged");
    }
}

#[tokio::test]
async fn a_forged_attribution_token_is_stored_unattributed_and_shows_in_logs_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.sqlite");
    let sink = format!("sqlite:{}", db.display());
    let app = Events::start(&[
        ("EVENT_SINK", sink.as_str()),
        ("VOD_CALLBACK_KEYS", SIGN_KEY),
        ("VODGATE_METRICS", "emf"),
    ]);
    let forged = "v2.AAAAAAAAAAAAAAAAAAAAAA.AAECAwQFBgcICQoLLG4VR8Gezn85..mallory";
    let (status, _) = app.post(&upload_callback(forged, SIGN_KEY)).await;
    assert_eq!(status, 200);
    assert_eq!(stored_envelopes(&db)[0]["uploader"], Value::Null);
    // An app's own context, not one of ours, is no attempt at anything.
    let (status, _) = app
        .post(&upload_callback("my-app-context-42", SIGN_KEY))
        .await;
    assert_eq!(status, 200);
    let logs = eventually("the warning", || {
        let logs = app.server.logs();
        if logs.contains("did not open") {
            Ok(logs)
        } else {
            Err(logs)
        }
    })
    .await;
    let warnings: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("did not open"))
        .collect();
    assert_eq!(warnings.len(), 1, "{logs}");
    assert!(
        warnings[0].contains("WARN")
            && warnings[0].contains("request_id=")
            && warnings[0].contains("its MAC does not hold"),
        "{}",
        warnings[0]
    );
    assert!(
        !logs.contains(forged) && !logs.contains("mallory"),
        "{logs}"
    );
    assert!(
        app.server.stdout().contains("\"AttributionRefused\":1"),
        "{}",
        app.server.stdout()
    );
}

#[tokio::test]
async fn an_event_too_large_for_the_sink_is_stored_as_a_marker_and_acknowledged() {
    use base64::Engine as _;
    let client = aws_sdk_dynamodb::Client::new(&aws_config(moto_endpoint()).await);
    let table = format!("vodgate-events-{:08x}", rand::random::<u32>());
    create_events_table(&client, &table).await;
    let sink = format!("dynamodb:{table}");
    let mut env = vec![
        ("EVENT_SINK", sink),
        ("VOD_CALLBACK_KEYS", SIGN_KEY.to_owned()),
    ];
    env.extend(aws_env(moto_endpoint()));
    let app = Events::start(&env);
    // About 700 KB of noise: over DynamoDB's 400 KB even gzip-compressed, under the 1 MiB limit.
    let noise: Vec<u8> = (0..520_000).map(|_| rand::random::<u8>()).collect();
    let mut body = callback_fixture("new_file_upload.json");
    body["FileUploadEvent"]["MediaBasicInfo"]["Description"] =
        base64::engine::general_purpose::STANDARD
            .encode(noise)
            .into();
    let body = signed(body, SIGN_KEY, 600);
    for _ in 0..2 {
        let (status, answer) = app.post(&body).await;
        assert_eq!(status, 200, "{answer}");
    }
    let items = client.scan().table_name(&table).send().await.unwrap();
    let items = items.items();
    assert_eq!(items.len(), 1, "stored once");
    let marker: Value = serde_json::from_str(items[0]["envelope"].as_s().unwrap()).unwrap();
    assert_eq!(marker["truncated"], true);
    assert_eq!(marker["event"], Value::Null);
    assert_eq!(marker["type"], "upload.completed");
    assert_eq!(marker["id"], items[0]["id"].as_s().unwrap().as_str());
    let logs = app.server.logs();
    assert!(
        logs.contains("ERROR") && logs.contains("too large for a sink even compressed"),
        "{logs}"
    );
}
