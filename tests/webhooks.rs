//! The webhook sink against a receiver that verifies every delivery with an independent Standard
//! Webhooks implementation (the `standardwebhooks` package from PyPI, in the test venv), in push
//! mode next to a SQLite sink and in pull mode on its own.
//!
//! What must hold: every delivery verifies (with each of two rotating secrets), a redelivery
//! carries the same `webhook-id`, and a receiver that answers 500 or 429, hangs or redirects gets
//! nothing acknowledged (503, or the event left unconfirmed) until it answers 2xx, after which
//! every sink holds the event.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::fake_vod::{FakeVod, Options, SECRET_KEY, pull_keys, pull_timings_for_3s};
use common::{Spawned, callback_fixture, root, signed};
use serde_json::{Value, json};
use vodgate::ingest::sink::{SqliteSink, WebhookSecrets, WebhookSink};
use vodgate::platform::keys::Keys;
use vodgate::pull::Puller;

const SIGN_KEY: &str = "WebhookTestCallbackKey012";
const CONTEXT_KEY: &str = "webhook-test-context-key-0123456789abcdef";

/// Two secrets in the spec's form: the sender signs with both while receivers rotate.
fn secrets() -> [String; 2] {
    let encode = |byte: u8| {
        format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode([byte; 32])
        )
    };
    [encode(1), encode(2)]
}

/// The receiver of `tests/support/webhook_receiver.py`, verifying with `secrets`.
struct Receiver {
    _process: Spawned,
    base: String,
    http: reqwest::Client,
}

impl Receiver {
    fn start(secrets: &[String]) -> Self {
        let python = root().join(".venv/bin/python");
        assert!(
            python.exists(),
            "the test venv is missing: run `tests/run` once (it installs standardwebhooks)"
        );
        let script = root().join("tests/support/webhook_receiver.py");
        let mut args = vec![script.to_str().unwrap()];
        args.extend(secrets.iter().map(String::as_str));
        let mut process = Spawned::start_in(
            python.to_str().unwrap(),
            &args,
            &[] as &[(&str, &str)],
            None,
        );
        let base = process.wait_listening();
        Self {
            _process: process,
            base,
            http: reqwest::Client::new(),
        }
    }

    fn url(&self) -> String {
        format!("{}/hooks", self.base)
    }

    /// How the next deliveries are answered.
    async fn answer(&self, mode: Value) {
        let response = self
            .http
            .post(format!("{}/mode", self.base))
            .body(mode.to_string())
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
    }

    async fn deliveries(&self) -> Vec<Value> {
        let text = self
            .http
            .get(format!("{}/deliveries", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        serde_json::from_str(&text).unwrap()
    }
}

fn sqlite_ids(db: &Path) -> Vec<String> {
    SqliteSink::open(db)
        .unwrap()
        .list(0, 1000)
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect()
}

/// A fresh `NewFileUpload`, as VOD would queue or send it (unsigned).
fn event() -> Value {
    let mut body = callback_fixture("new_file_upload.json");
    body["FileUploadEvent"]["FileId"] =
        format!("52858907842{:08}", rand::random::<u32>() % 100_000_000).into();
    body
}

/// The id vodgate gives `body`.
fn id_of(body: &Value) -> String {
    let parsed = vodgate::vod::callback::parse(body.to_string().as_bytes()).unwrap();
    vodgate::ingest::envelope::event_id(&parsed)
}

#[tokio::test]
async fn push_acknowledges_only_once_the_receiver_and_the_table_both_have_it() {
    let secrets = secrets();
    let receiver = Receiver::start(&secrets);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.sqlite");
    let env = [
        ("PORT", "0".to_owned()),
        ("VODGATE_CONTEXT_KEY", CONTEXT_KEY.to_owned()),
        ("VOD_CALLBACK_KEYS", SIGN_KEY.to_owned()),
        (
            "EVENT_SINK",
            format!("sqlite:{},webhook:{}", db.display(), receiver.url()),
        ),
        ("WEBHOOK_SECRET", secrets.join(",")),
        ("WEBHOOK_TIMEOUT_SECONDS", "1".to_owned()),
    ];
    let mut server = Spawned::start(env!("CARGO_BIN_EXE_events"), &env);
    let base = server.wait_listening();
    let http = reqwest::Client::new();
    let deliver = |body: Value| {
        let request = http
            .post(format!("{base}/v1/vod/events"))
            .body(signed(body, SIGN_KEY, 600).to_string());
        async move { request.send().await.unwrap().status().as_u16() }
    };

    // Delivered, verified with each secret; redelivered under the same webhook-id.
    let first = event();
    let first_id = id_of(&first);
    assert_eq!(deliver(first.clone()).await, 200);
    assert_eq!(deliver(first.clone()).await, 200);
    let seen = receiver.deliveries().await;
    assert_eq!(seen.len(), 2, "{seen:?}");
    for delivery in &seen {
        assert_eq!(delivery["id"], first_id.as_str());
        assert_eq!(delivery["verified"], json!([true, true]), "{delivery}");
        assert_eq!(delivery["signatures"], 2);
        assert_eq!(delivery["contentType"], "application/json");
        assert_eq!(delivery["envelope"]["id"], first_id.as_str());
        assert_eq!(delivery["envelope"]["eventType"], "NewFileUpload");
    }
    assert_eq!(sqlite_ids(&db), vec![first_id.clone()], "stored once");

    // A receiver that fails, throttles, hangs past the timeout or redirects: 503, whatever the
    // table did; once it answers 2xx, the redelivery is acknowledged and both have the event.
    for mode in [
        json!({"status": 500}),
        json!({"status": 429}),
        json!({"status": 307}),
        json!({"hang": 3}),
    ] {
        receiver.answer(mode.clone()).await;
        let body = event();
        let id = id_of(&body);
        let before = receiver.deliveries().await.len();
        let started = Instant::now();
        assert_eq!(deliver(body.clone()).await, 503, "{mode}");
        assert!(started.elapsed() < Duration::from_secs(10), "{mode}");
        let tried = receiver.deliveries().await;
        assert_eq!(
            tried.len(),
            before + 1,
            "{mode}: one attempt, no redirect followed"
        );
        receiver.answer(json!({"status": 204})).await;
        assert_eq!(deliver(body).await, 200, "{mode}");
        let delivered = receiver.deliveries().await;
        let last = delivered.last().unwrap();
        assert_eq!(last["id"], id.as_str(), "{mode}");
        assert_eq!(last["verified"], json!([true, true]));
        assert!(sqlite_ids(&db).contains(&id), "{mode}");
    }

    let logs = server.logs();
    assert!(logs.contains("webhook:http://127.0.0.1"), "{logs}");
    for secret_part in [&secrets[0][6..], &secrets[1][6..], "must not log", "/hooks"] {
        assert!(
            !logs.contains(secret_part),
            "{secret_part} in the logs:\n{logs}"
        );
    }
}

#[tokio::test]
async fn pull_confirms_only_what_the_receiver_took() {
    let secrets = secrets();
    let receiver = Receiver::start(&secrets[..1]);
    let fake = FakeVod::start(Options {
        confirm_window: Duration::from_secs(3),
        ..Options::default()
    })
    .await;
    let webhook = WebhookSink::new(
        &receiver.url(),
        Duration::from_secs(1),
        Arc::new(Keys::fixed(WebhookSecrets::parse(&secrets[0]).unwrap())),
    )
    .unwrap();
    let puller = Puller::new(
        fake.api(None, 3),
        pull_keys(SECRET_KEY, CONTEXT_KEY),
        vodgate::ingest::sink::Sink::Webhook(webhook),
        Duration::from_secs(2),
        pull_timings_for_3s(),
    );
    let body = event();
    let index = fake.push_event(body.clone());

    receiver.answer(json!({"status": 500})).await;
    let refused = puller.drain().await.unwrap();
    assert_eq!((refused.failed, refused.confirmed), (1, 0), "{refused:?}");
    assert_eq!(fake.unconfirmed(), vec![index]);

    receiver.answer(json!({"status": 200})).await;
    let started = Instant::now();
    while !fake.all_confirmed() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never confirmed"
        );
        puller.drain().await.unwrap();
    }
    let seen = receiver.deliveries().await;
    let last = seen.last().unwrap();
    assert_eq!(last["id"], fake.event_id(index).as_str());
    assert_eq!(last["verified"], json!([true]));
    assert!(seen.iter().all(|d| d["id"] == last["id"]), "{seen:?}");
}
