//! Limits VOD does not have, enforced after upload, end to end against a fake VOD API that
//! checks every TC3 signature: the `events` binary (push) and the puller (pull), on SQLite and on
//! DynamoDB through moto.
//!
//! What must hold: media that breaks a limit is deleted exactly once and its upload ends
//! `rejected` with the limit's code, one `upload.rejected` envelope per upload; nothing is
//! acknowledged before the delete succeeded (503 / unconfirmed, and the redelivery finishes the
//! job); files vodgate did not sign are never touched; and a `rejected` upload stays rejected.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::fake_vod::{
    FakeVod, Fault, Options, SECRET_ID, SECRET_KEY, pull_keys, pull_timings_for_3s,
};
use common::upload::{TestUpload, deliver, stored_envelopes};
use common::{Spawned, aws_config, aws_env, create_uploads_table, moto_endpoint};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use vodgate::ingest::sink::SqliteSink;
use vodgate::ingest::uploads::limits::UploadLimits;
use vodgate::ingest::uploads::{DynamoDbUploads, SqliteUploads, Status, UploadsStore};
use vodgate::platform::config::Env;
use vodgate::pull::{PullReport, Puller};

const SUB_APP: u64 = 1_500_000_001;
const CONTEXT_KEY: &str = "policy-test-context-key-0123456789abcdef";
const SIGN_KEY: &str = "PolicyTestCallbackKey0123";
/// What the push tests allow: 10 MB, two minutes, MP4 or WebM.
const LIMITS: [(&str, &str); 3] = [
    ("UPLOAD_MAX_BYTES", "10MB"),
    ("UPLOAD_MAX_DURATION_SECONDS", "120"),
    ("UPLOAD_ALLOWED_CONTAINERS", "mp4,webm"),
];

/// A new upload of `sub`, as vodgate signed it.
fn new_upload(sub: &str) -> TestUpload {
    TestUpload::new(CONTEXT_KEY, sub, None)
}

/// `upload`'s `NewFileUpload` with `meta_data` (the fixture's, with these members replaced;
/// `None` for an event without `MetaData`).
fn uploaded(upload: &TestUpload, meta_data: Option<Value>) -> Value {
    let mut body = upload.uploaded();
    let event = &mut body["FileUploadEvent"];
    match meta_data {
        Some(Value::Object(changes)) => {
            for (key, value) in changes {
                event["MetaData"][key] = value;
            }
        }
        _ => {
            event.as_object_mut().unwrap().remove("MetaData");
        }
    }
    body
}

/// The metadata VOD has for the file of a `NewFileUpload`, as `DescribeMediaInfos` shows it.
fn vod_meta_data(body: &Value) -> Option<Value> {
    body["FileUploadEvent"].get("MetaData").cloned()
}

/// A block from a review started by the upload's procedure (no context), naming the file.
fn blocked(upload: &TestUpload) -> Value {
    upload.reviewed("BLOCK", "")
}

/// The id of vodgate's one rejection envelope for `upload`.
fn rejection_id(upload: &TestUpload) -> String {
    let digest = Sha256::digest(format!("vodgate.UploadRejected\n{}", upload.id));
    format!("vod_{}", hex::encode(&digest[..16]))
}

/// The `events` binary on `sink_db` (SQLite), the uploads store, the fake VOD's API and
/// `extra` (the limits, mostly). Metrics are on, so their lines can be read from stdout.
fn events(fake: &FakeVod, sink_db: &Path, uploads: &str, extra: &[(&str, String)]) -> Events {
    let mut env: Vec<(&str, String)> = vec![
        ("PORT", "0".into()),
        ("VODGATE_CONTEXT_KEY", CONTEXT_KEY.into()),
        ("VOD_CALLBACK_KEYS", SIGN_KEY.into()),
        ("EVENT_SINK", format!("sqlite:{}", sink_db.display())),
        ("UPLOADS_STORE", uploads.into()),
        ("VOD_API_ENDPOINT", fake.url()),
        ("VOD_SECRET_ID", SECRET_ID.into()),
        ("VOD_SECRET_KEY", SECRET_KEY.into()),
        ("VOD_SUB_APP_ID", SUB_APP.to_string()),
        ("VODGATE_METRICS", "emf".into()),
    ];
    env.extend(extra.iter().cloned());
    let mut server = Spawned::start(env!("CARGO_BIN_EXE_events"), &env);
    let base = server.wait_listening();
    Events {
        server,
        base,
        sink_db: sink_db.to_owned(),
    }
}

struct Events {
    server: Spawned,
    base: String,
    sink_db: std::path::PathBuf,
}

impl Events {
    /// Delivers `body` as VOD would (signed); the HTTP status.
    async fn deliver(&self, body: &Value) -> u16 {
        deliver(&self.base, body, SIGN_KEY).await
    }

    fn envelopes(&self) -> Vec<Value> {
        stored_envelopes(&self.sink_db)
    }
}

fn rejections(envelopes: &[Value]) -> Vec<&Value> {
    envelopes
        .iter()
        .filter(|e| e["type"] == "upload.rejected")
        .collect()
}

async fn status(store: &UploadsStore, upload: &TestUpload) -> Option<(Status, Option<String>)> {
    let record = store.get(&upload.id).await.unwrap()?;
    let shown = record.to_upload();
    Some((shown.status, shown.error.map(|e| e.code)))
}

async fn dynamodb_store() -> (UploadsStore, String) {
    let client = aws_sdk_dynamodb::Client::new(&aws_config(moto_endpoint()).await);
    let table = format!("vodgate-uploads-{:08x}", rand::random::<u32>());
    create_uploads_table(&client, &table).await;
    (DynamoDbUploads::new(client, table.clone()).into(), table)
}

fn limits_env() -> Vec<(&'static str, String)> {
    LIMITS.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
}

/// The fake VOD, as the sub-application the functions are configured for.
async fn fake_vod() -> FakeVod {
    FakeVod::start(Options {
        sub_app_id: Some(SUB_APP),
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn push_deletes_what_breaks_a_limit_once_and_nothing_else() {
    let fake = fake_vod().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.sqlite");
    let app = events(
        &fake,
        &db,
        &format!("sqlite:{}", db.display()),
        &limits_env(),
    );
    let store = UploadsStore::from(SqliteUploads::open(&db).unwrap());

    // Each limit broken once (and everything after the first broken limit too, to pin the
    // order), and one upload within them all.
    let cases = [
        (
            json!({"Size": 20_000_000, "Duration": 600.5, "Container": "avi"}),
            Some("too_large"),
        ),
        (
            json!({"Duration": 600.5, "Container": "avi"}),
            Some("too_long"),
        ),
        (json!({"Container": "avi"}), Some("format_not_allowed")),
        (json!({"Container": "matroska,webm"}), None),
    ];
    let mut uploads = Vec::new();
    for (meta_data, code) in cases {
        let upload = new_upload("alice");
        let body = uploaded(&upload, Some(meta_data));
        fake.add_media(&upload.file_id, vod_meta_data(&body));
        assert_eq!(app.deliver(&body).await, 200, "{code:?}");
        uploads.push((upload, body, code));
    }
    let rejected: Vec<String> = uploads
        .iter()
        .filter(|(_, _, code)| code.is_some())
        .map(|(u, _, _)| u.file_id.clone())
        .collect();
    assert_eq!(fake.deletions(), rejected, "each deleted once, in order");
    for (upload, _, code) in &uploads {
        let expected = match code {
            Some(code) => (Status::Rejected, Some((*code).to_owned())),
            None => (Status::Uploaded, None),
        };
        assert_eq!(status(&store, upload).await, Some(expected));
    }
    let (big, big_body, _) = &uploads[0];
    let record = store.get(&big.id).await.unwrap().unwrap().to_upload();
    assert_eq!(
        record.error.unwrap().message,
        "the file is 20000000 bytes, over the limit of 10000000 bytes (UPLOAD_MAX_BYTES)"
    );
    let all = app.envelopes();
    let found = rejections(&all);
    assert_eq!(found.len(), 3);
    let envelope = found
        .iter()
        .find(|e| e["fileId"] == big.file_id.as_str())
        .expect("the big one's");
    assert_eq!(envelope["id"], rejection_id(big));
    assert_eq!(envelope["eventType"], "vodgate.UploadRejected");
    assert_eq!(envelope["format"], "vodgate");
    assert_eq!(envelope["taskId"], Value::Null);
    assert_eq!(envelope["attributedBy"], "context");
    assert_eq!(
        envelope["uploader"],
        json!({"sub": "alice", "uploadId": big.id, "meta": null})
    );
    assert_eq!(
        envelope["event"],
        json!({"fileId": big.file_id, "reason": "too_large", "limit": 10_000_000, "actual": 20_000_000})
    );

    // Redelivered, and followed by a late FINISH and the FileDeleted our delete caused: still
    // rejected, deleted once, one rejection envelope.
    for body in [big_body.clone(), big.finished(), big.deleted()] {
        assert_eq!(app.deliver(&body).await, 200);
    }
    assert_eq!(fake.deletions(), rejected);
    assert_eq!(rejections(&app.envelopes()).len(), 3);
    assert_eq!(
        status(&store, big).await,
        Some((Status::Rejected, Some("too_large".into())))
    );

    // A file vodgate did not sign (no token, unknown FileId) is never touched.
    let stranger = new_upload("mallory");
    let mut foreign = uploaded(&stranger, Some(json!({"Size": 20_000_000})));
    foreign["FileUploadEvent"]["MediaBasicInfo"]["SourceInfo"]["SourceContext"] = "".into();
    fake.add_media(&stranger.file_id, vod_meta_data(&foreign));
    assert_eq!(app.deliver(&foreign).await, 200);
    assert_eq!(fake.deletions(), rejected);

    // No MetaData in the event: DescribeMediaInfos has it, and the file is over the limit.
    let described = new_upload("alice");
    fake.add_media(&described.file_id, Some(json!({"Size": 30_000_000})));
    let before = fake.calls("DescribeMediaInfos");
    assert_eq!(app.deliver(&uploaded(&described, None)).await, 200);
    assert_eq!(fake.calls("DescribeMediaInfos"), before + 1);
    assert_eq!(
        status(&store, &described).await,
        Some((Status::Rejected, Some("too_large".into())))
    );

    // VOD has no metadata either: kept, with a warning and a metric.
    let unknown = new_upload("alice");
    fake.add_media(&unknown.file_id, None);
    assert_eq!(app.deliver(&uploaded(&unknown, None)).await, 200);
    assert_eq!(
        status(&store, &unknown).await,
        Some((Status::Uploaded, None))
    );
    assert!(!fake.deletions().contains(&unknown.file_id));

    // Media VOD no longer has counts as deleted.
    let gone = new_upload("alice");
    assert_eq!(
        app.deliver(&uploaded(&gone, Some(json!({"Duration": 121}))))
            .await,
        200
    );
    assert_eq!(
        status(&store, &gone).await,
        Some((Status::Rejected, Some("too_long".into())))
    );

    // Lines are read from the pipes a moment after the answers they go with.
    common::eventually("the warning in the log", || {
        let logs = app.server.logs();
        (logs.contains("upload limits not checked")
            && logs.contains("missing=Size,Duration,Container"))
        .then_some(())
        .ok_or(logs)
    })
    .await;
    common::eventually("the metrics on stdout", || {
        let stdout = app.server.stdout();
        (stdout.contains("\"UploadsUnchecked\":1") && stdout.contains("\"UploadsRejected\":1"))
            .then_some(())
            .ok_or(stdout)
    })
    .await;
}

#[tokio::test]
async fn push_answers_503_until_the_delete_succeeds_then_finishes_on_redelivery() {
    let fake = fake_vod().await;
    let (store, table) = dynamodb_store().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.sqlite");
    let mut extra = limits_env();
    extra.push(("EVENT_STORE_TIMEOUT_SECONDS", "3".into()));
    extra.extend(aws_env(moto_endpoint()));
    let app = events(&fake, &db, &format!("dynamodb:{table}"), &extra);

    // Throttled twice: retried within the budget, done in one delivery.
    let upload = new_upload("alice");
    let body = uploaded(&upload, Some(json!({"Size": 20_000_000})));
    fake.add_media(&upload.file_id, vod_meta_data(&body));
    fake.inject([Fault::Throttle, Fault::Throttle]);
    assert_eq!(app.deliver(&body).await, 200);
    assert_eq!(fake.deletions(), vec![upload.file_id.clone()]);

    // Throttled, failing or hanging past every retry: 503, not rejected yet, no rejection
    // envelope; the redelivery deletes, rejects and writes one envelope.
    let mut deleted = fake.deletions();
    for faults in [
        vec![Fault::Throttle; 8],
        vec![Fault::Internal; 8],
        vec![Fault::Hang(Duration::from_secs(20))],
    ] {
        let upload = new_upload("bob");
        let body = uploaded(&upload, Some(json!({"Duration": 3600})));
        fake.add_media(&upload.file_id, vod_meta_data(&body));
        fake.inject(faults.clone());
        let started = Instant::now();
        assert_eq!(app.deliver(&body).await, 503, "{faults:?}");
        assert!(started.elapsed() < Duration::from_secs(15), "{faults:?}");
        assert!(
            status(&store, &upload)
                .await
                .is_none_or(|(s, _)| s != Status::Rejected),
            "{faults:?}"
        );
        assert!(
            rejections(&app.envelopes())
                .iter()
                .all(|e| e["id"] != rejection_id(&upload))
        );
        assert_eq!(fake.deletions(), deleted, "{faults:?}");

        // The faults left unused must not hit the redelivery.
        fake.clear_faults();
        assert_eq!(app.deliver(&body).await, 200, "{faults:?}");
        deleted.push(upload.file_id.clone());
        assert_eq!(fake.deletions(), deleted, "{faults:?}");
        assert_eq!(
            status(&store, &upload).await,
            Some((Status::Rejected, Some("too_long".into())))
        );
        let found = app.envelopes();
        let mine: Vec<_> = rejections(&found)
            .into_iter()
            .filter(|e| e["id"] == rejection_id(&upload))
            .collect();
        assert_eq!(mine.len(), 1, "{faults:?}");
    }
}

#[tokio::test]
async fn a_block_deletes_only_when_told_to() {
    let fake = fake_vod().await;
    for (action, expected) in [
        (
            "delete",
            (Status::Rejected, Some("blocked_by_review".to_owned())),
        ),
        ("keep", (Status::Uploaded, None)),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("events.sqlite");
        let app = events(
            &fake,
            &db,
            &format!("sqlite:{}", db.display()),
            &[("REVIEW_BLOCK_ACTION", action.to_owned())],
        );
        let store = UploadsStore::from(SqliteUploads::open(&db).unwrap());
        let upload = new_upload("alice");
        let body = uploaded(&upload, Some(json!({})));
        fake.add_media(&upload.file_id, vod_meta_data(&body));
        assert_eq!(app.deliver(&body).await, 200);
        // The review carries no context: it is the upload's through its FileId.
        assert_eq!(app.deliver(&blocked(&upload)).await, 200, "{action}");
        assert_eq!(status(&store, &upload).await, Some(expected), "{action}");
        let record = store.get(&upload.id).await.unwrap().unwrap().to_upload();
        assert_eq!(
            serde_json::to_value(record.review.unwrap()).unwrap()["suggestion"],
            "block"
        );
        let was_deleted = fake.deletions().contains(&upload.file_id);
        assert_eq!(was_deleted, action == "delete", "{action}");
        if action == "delete" {
            let all = app.envelopes();
            let envelope = rejections(&all)[0];
            assert_eq!(envelope["attributedBy"], "fileId");
            assert_eq!(
                envelope["event"]["actual"],
                json!({"suggestion": "block", "labels": ["porn"]})
            );
        }
    }
}

/// VOD's confirm window, scaled down (with room for moto's first answers).
const CONFIRM_WINDOW: Duration = Duration::from_secs(3);

fn puller(fake: &FakeVod, sink_db: &Path, uploads: UploadsStore) -> Puller {
    let limits = UploadLimits::from_env(&Env::from_pairs(LIMITS)).unwrap();
    Puller::new(
        fake.api(Some(SUB_APP), 4),
        pull_keys(SECRET_KEY, CONTEXT_KEY),
        SqliteSink::open(sink_db).unwrap(),
        Duration::from_secs(2),
        pull_timings_for_3s(),
    )
    .with_uploads(Some(uploads))
    .with_limits(limits)
}

/// Pull mode: a throttled delete leaves the event unconfirmed (the other one is confirmed), and
/// its redelivery deletes, rejects and confirms.
async fn pull_confirms_only_after_the_delete(uploads: UploadsStore) {
    let fake = FakeVod::start(Options {
        sub_app_id: Some(SUB_APP),
        confirm_window: CONFIRM_WINDOW,
        ..Options::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.sqlite");
    let puller = puller(&fake, &db, uploads.clone());
    let big = new_upload("alice");
    let big_body = uploaded(&big, Some(json!({"Size": 10_000_001})));
    fake.add_media(&big.file_id, vod_meta_data(&big_body));
    let fine = new_upload("alice");
    let fine_body = uploaded(&fine, Some(json!({})));
    fake.add_media(&fine.file_id, vod_meta_data(&fine_body));
    let big_event = fake.push_event(big_body);
    fake.push_event(fine_body);
    // PullEvents passes; every DeleteMedia attempt of this batch is throttled.
    fake.inject([
        Fault::Pass,
        Fault::Throttle,
        Fault::Throttle,
        Fault::Throttle,
        Fault::Throttle,
    ]);
    let first = puller.drain().await.unwrap();
    assert_eq!(
        (first.stored, first.failed, first.confirmed),
        (1, 1, 1),
        "{first:?}"
    );
    assert_eq!(fake.unconfirmed(), vec![big_event]);
    assert!(fake.deletions().is_empty());
    assert!(
        status(&uploads, &big)
            .await
            .is_none_or(|(s, _)| s != Status::Rejected)
    );

    let mut total = PullReport::default();
    let started = Instant::now();
    while !fake.all_confirmed() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never confirmed"
        );
        total.add(&puller.drain().await.unwrap());
    }
    assert_eq!(total.uploads_rejected, 1, "{total:?}");
    assert_eq!(fake.deletions(), vec![big.file_id.clone()]);
    assert_eq!(
        status(&uploads, &big).await,
        Some((Status::Rejected, Some("too_large".into())))
    );
    assert_eq!(
        status(&uploads, &fine).await,
        Some((Status::Uploaded, None))
    );
    let all = stored_envelopes(&db);
    let found = rejections(&all);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["id"], rejection_id(&big));
}

#[tokio::test]
async fn pull_sqlite_confirms_only_after_the_delete() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteUploads::open(&dir.path().join("uploads.sqlite")).unwrap();
    pull_confirms_only_after_the_delete(store.into()).await;
}

#[tokio::test]
async fn pull_dynamodb_confirms_only_after_the_delete() {
    let (store, _) = dynamodb_store().await;
    pull_confirms_only_after_the_delete(store).await;
}
