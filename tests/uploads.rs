//! The uploads store, end to end: the `events` binary fed a fixed sample of orders of one
//! upload's events (on SQLite and on DynamoDB through moto) ends every order in the same record;
//! a `FileDeleted` without context is attributed by its `FileId`; two writers at once lose
//! nothing; listings page newest first; a store that fails answers 503.

mod common;

use std::path::Path;

use common::postgres::PgCluster;
use common::upload::{TestUpload, deliver, stored_envelopes};
use common::{Spawned, aws_config, aws_env, create_uploads_table, moto_endpoint};
use serde_json::{Value, json};
use vodgate::ingest::sink::SqliteSink;
use vodgate::ingest::uploads::{
    Access, DynamoDbUploads, Facts, SqliteUploads, Status, Update, UploadRef, UploadsStore,
};
use vodgate::vod::callback;

const SIGN_KEY: &str = "UploadsTestKey1234567890A";
const CONTEXT_KEY: &str = "uploads-context-key-0123456789abcdef";

/// The upload's events by name, as VOD sends them (unsigned).
fn event(upload: &TestUpload, name: &str) -> Value {
    match name {
        "upload" => upload.uploaded(),
        "processing" => upload.processing(),
        "finish" => upload.finished(),
        "review" => upload.reviewed("review", &upload.token),
        "deleted" => upload.deleted(),
        other => panic!("no event {other}"),
    }
}

/// A new upload of `sub`, with the meta every order expects.
fn new_upload(sub: &str) -> TestUpload {
    TestUpload::new(CONTEXT_KEY, sub, Some("post_77"))
}

/// A fixed sample of orders of one upload's events, redeliveries included.
const ORDERS: [&[&str]; 5] = [
    &["upload", "processing", "finish", "review"],
    &["review", "finish", "processing", "upload"],
    &[
        "finish",
        "upload",
        "review",
        "processing",
        "finish",
        "upload",
    ],
    &[
        "processing",
        "review",
        "upload",
        "finish",
        "processing",
        "review",
    ],
    &[
        "upload",
        "finish",
        "upload",
        "processing",
        "review",
        "finish",
    ],
];

/// The `events` binary on `sink_db` (SQLite) with `uploads_store` and `extra` environment.
fn events(sink_db: &Path, uploads_store: &str, extra: &[(&str, String)]) -> (Spawned, String) {
    let mut env: Vec<(&str, String)> = vec![
        ("PORT", "0".into()),
        ("VODGATE_CONTEXT_KEY", CONTEXT_KEY.into()),
        ("VOD_CALLBACK_KEYS", SIGN_KEY.into()),
        ("EVENT_SINK", format!("sqlite:{}", sink_db.display())),
        ("UPLOADS_STORE", uploads_store.into()),
    ];
    env.extend(extra.iter().cloned());
    let mut server = Spawned::start(env!("CARGO_BIN_EXE_events"), &env);
    let base = server.wait_listening();
    (server, base)
}

async fn post(base: &str, body: &Value) -> u16 {
    deliver(base, body, SIGN_KEY).await
}

/// What every order must end in, with the upload's own id and file put in.
fn expected(upload: &TestUpload) -> Value {
    json!({
        "uploadId": upload.id,
        "status": "ready",
        "fileId": upload.file_id,
        "meta": "post_77",
        "media": {
            "name": "holiday.mp4",
            "url": "https://1500000001.vod2.myqcloud.com/43843ec0vodtranscq1500000001/7b1f3a2c5285890784273533167/abc.mp4",
            "coverUrl": null, "size": 7700180, "durationSeconds": 60.0,
            "container": "mov,mp4,m4a,3gp,3g2,mj2", "width": 640, "height": 480
        },
        "outputs": [
            {"kind": "adaptiveStreaming", "definition": 10,
             "url": "https://1500000001.vod2.myqcloud.com/43843ec0vodtranscq1500000001/7b1f3a2c5285890784273533167/adp.10.m3u8",
             "size": 4215530, "durationSeconds": null, "width": null, "height": null, "bitrate": null},
            {"kind": "transcode", "definition": 100010,
             "url": "https://1500000001.vod2.myqcloud.com/43843ec0vodtranscq1500000001/7b1f3a2c5285890784273533167/v.f100010.mp4",
             "size": 4189073, "durationSeconds": 60.047, "width": 640, "height": 480, "bitrate": 552218}
        ],
        "review": {"suggestion": "review", "labels": ["porn", "sexy"]},
        "error": null
    })
}

/// The record of `upload_id` as the API shows it, times checked and taken out.
async fn shown(store: &UploadsStore, upload_id: &str) -> Value {
    let record = store.get(upload_id).await.unwrap().expect("a record");
    let mut upload = serde_json::to_value(record.to_upload()).unwrap();
    let object = upload.as_object_mut().unwrap();
    for key in ["createdAt", "updatedAt"] {
        let at = object.remove(key).unwrap();
        assert!(at.as_str().is_some_and(|t| t.ends_with('Z')), "{key}: {at}");
    }
    upload
}

/// Plays every order of [`ORDERS`] (one upload each) into the server, then deletes the last
/// upload's file with an event that carries no context.
async fn every_order_ends_in_the_same_record(base: &str, store: &UploadsStore, sink_db: &Path) {
    let mut last = None;
    for order in ORDERS {
        let upload = new_upload("alice");
        for name in order {
            assert_eq!(
                post(base, &event(&upload, name)).await,
                200,
                "{order:?}: {name}"
            );
        }
        assert_eq!(
            shown(store, &upload.id).await,
            expected(&upload),
            "{order:?}"
        );
        last = Some(upload);
    }

    let upload = last.unwrap();
    assert_eq!(post(base, &event(&upload, "deleted")).await, 200);
    let record = store.get(&upload.id).await.unwrap().unwrap();
    assert_eq!(record.status(), Status::Deleted);
    let envelopes = stored_envelopes(sink_db);
    let deleted = envelopes
        .iter()
        .find(|e| e["eventType"] == "FileDeleted" && e["fileId"] == upload.file_id.as_str())
        .expect("the delete is stored");
    assert_eq!(deleted["type"], "media.deleted");
    assert_eq!(deleted["attributedBy"], "fileId");
    assert_eq!(
        deleted["uploader"],
        json!({"sub": "alice", "uploadId": upload.id, "meta": "post_77"})
    );
    assert!(
        envelopes
            .iter()
            .filter(|e| e["eventType"] != "FileDeleted")
            .all(|e| e["attributedBy"] == "context")
    );

    // A delete of a file nobody knows: stored unattributed, no upload touched.
    let stranger = new_upload("bob");
    assert_eq!(post(base, &event(&stranger, "deleted")).await, 200);
    assert!(store.get(&stranger.id).await.unwrap().is_none());
}

#[tokio::test]
async fn sqlite_every_order_ends_in_the_same_record() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.sqlite");
    // The dev tool's layout: the uploads in the events' file.
    let store_spec = format!("sqlite:{}", db.display());
    let (_server, base) = events(&db, &store_spec, &[]);
    let store = UploadsStore::from(SqliteUploads::open(&db).unwrap());
    every_order_ends_in_the_same_record(&base, &store, &db).await;
}

async fn dynamodb_store() -> (UploadsStore, String) {
    let client = aws_sdk_dynamodb::Client::new(&aws_config(moto_endpoint()).await);
    let table = format!("vodgate-uploads-{:08x}", rand::random::<u32>());
    create_uploads_table(&client, &table).await;
    (DynamoDbUploads::new(client, table.clone()).into(), table)
}

#[tokio::test]
async fn dynamodb_every_order_ends_in_the_same_record() {
    let (store, table) = dynamodb_store().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.sqlite");
    let (_server, base) = events(&db, &format!("dynamodb:{table}"), &aws_env(moto_endpoint()));
    every_order_ends_in_the_same_record(&base, &store, &db).await;
}

/// The facts of `body` for an upload by its context.
fn update(upload: &UploadRef, body: &Value) -> Update {
    let callback = callback::parse(body.to_string().as_bytes()).unwrap();
    Update {
        upload: upload.clone(),
        facts: Facts::of(&callback, 0).1.by_context(),
        link_file: None,
    }
}

/// Two store instances (two processes' worth) apply `PROCESSING`, `FINISH` and ten reviews,
/// each with its own label, all at once: every one of them is in the record.
async fn concurrent_writers_lose_nothing(a: UploadsStore, b: UploadsStore) {
    let test = new_upload("carol");
    let upload = UploadRef {
        upload_id: test.id.clone(),
        sub: "carol".into(),
        meta: None,
    };
    let mut updates = vec![
        update(&upload, &event(&test, "processing")),
        update(&upload, &event(&test, "finish")),
    ];
    for n in 0..10 {
        let mut review = event(&test, "review");
        review["ReviewAudioVideoCompleteEvent"]["Output"]["Label"] = format!("label-{n:02}").into();
        updates.push(update(&upload, &review));
    }
    let mut writes = tokio::task::JoinSet::new();
    for (n, update) in updates.into_iter().enumerate() {
        let store = if n % 2 == 0 { a.clone() } else { b.clone() };
        writes.spawn(async move { store.apply(&update, 1_800_000_000 + n as i64).await });
    }
    while let Some(result) = writes.join_next().await {
        result.unwrap().unwrap();
    }
    let record = a.get(&test.id).await.unwrap().unwrap();
    assert_eq!(
        record.status(),
        Status::Ready,
        "neither PROCESSING nor FINISH lost"
    );
    let labels = &record.to_upload().review.unwrap().labels;
    assert_eq!(
        labels.len(),
        11,
        "sexy (from FINISH) and every review: {labels:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_concurrent_writers_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("uploads.sqlite");
    let a = SqliteUploads::open(&db).unwrap().into();
    let b = SqliteUploads::open(&db).unwrap().into();
    concurrent_writers_lose_nothing(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_concurrent_writers_lose_nothing() {
    let (a, table) = dynamodb_store().await;
    let client = aws_sdk_dynamodb::Client::new(&aws_config(moto_endpoint()).await);
    let b = DynamoDbUploads::new(client, table).into();
    concurrent_writers_lose_nothing(a, b).await;
}

/// Seven uploads of alice's (updated at t = 1..7) and one of bob's: alice pages through hers
/// newest first, three at a time, and never sees bob's.
async fn listing_pages_newest_first(store: UploadsStore) {
    let sub = format!("alice-{:08x}", rand::random::<u32>());
    let mut ids = Vec::new();
    for n in 1..=7 {
        let upload = UploadRef {
            upload_id: format!("upload-{n}-{:08x}", rand::random::<u32>()),
            sub: sub.clone(),
            meta: None,
        };
        let test = new_upload(&sub);
        store
            .apply(
                &update(&upload, &event(&test, "processing")),
                1_800_000_000 + n,
            )
            .await
            .unwrap();
        ids.push(upload.upload_id);
    }
    let bob = UploadRef {
        upload_id: "bobs".into(),
        sub: format!("bob-{sub}"),
        meta: None,
    };
    store
        .apply(
            &update(&bob, &event(&new_upload("bob"), "processing")),
            1_800_000_009,
        )
        .await
        .unwrap();

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = store.list(&sub, 3, cursor.as_deref()).await.unwrap();
        pages += 1;
        seen.extend(page.uploads.iter().map(|u| u.upload_id.clone()));
        assert!(page.uploads.iter().all(|u| u.status == Status::Processing));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    ids.reverse();
    assert_eq!(seen, ids, "newest updatedAt first, each once");
    assert_eq!(pages, 3);
    assert!(matches!(
        store.list(&sub, 3, Some("not-a-cursor")).await,
        Err(vodgate::ingest::uploads::UploadsError::BadCursor)
    ));
    assert!(
        store
            .list("nobody", 20, None)
            .await
            .unwrap()
            .uploads
            .is_empty()
    );
}

#[tokio::test]
async fn sqlite_listing_pages_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    listing_pages_newest_first(
        SqliteUploads::open(&dir.path().join("u.sqlite"))
            .unwrap()
            .into(),
    )
    .await;
}

#[tokio::test]
async fn dynamodb_listing_pages_newest_first() {
    listing_pages_newest_first(dynamodb_store().await.0).await;
}

#[tokio::test]
async fn a_failed_update_answers_503_and_the_redelivery_applies_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.sqlite");
    let uploads_db = dir.path().join("uploads.sqlite");
    let store_spec = format!("sqlite:{}", uploads_db.display());
    let (server, base) = events(
        &db,
        &store_spec,
        &[("EVENT_STORE_TIMEOUT_SECONDS", "1".to_owned())],
    );
    let upload = new_upload("dave");
    // Another process holds the uploads database's write lock.
    let lock = rusqlite::Connection::open(&uploads_db).unwrap();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    assert_eq!(post(&base, &event(&upload, "upload")).await, 503);
    lock.execute_batch("ROLLBACK").unwrap();
    // The log line is written before the answer, and read from the pipe a moment later.
    common::eventually("the store failure in the log", || {
        let logs = server.logs();
        if logs.contains("uploads store unavailable") {
            Ok(())
        } else {
            Err(logs)
        }
    })
    .await;
    assert!(!server.logs().contains(&upload.token), "no tokens in logs");
    // VOD delivers again: the envelope is a duplicate, the update goes through.
    assert_eq!(post(&base, &event(&upload, "upload")).await, 200);
    let store = UploadsStore::from(SqliteUploads::open(&uploads_db).unwrap());
    let record = store.get(&upload.id).await.unwrap().unwrap();
    assert_eq!(record.status(), Status::Uploaded);
    assert_eq!(SqliteSink::open(&db).unwrap().count().unwrap(), 1);
}

/// Two stores on one throwaway PostgreSQL database (two instances' connections), the tables
/// created by whichever connects first.
async fn postgres_stores(cluster: &PgCluster) -> (UploadsStore, UploadsStore, String) {
    let url = cluster.database().await;
    let env = vodgate::platform::config::Env::from_pairs([("UPLOADS_STORE", url.clone())]);
    let open = || async {
        UploadsStore::from_env(&env, Access::ReadWrite)
            .await
            .unwrap()
            .unwrap()
    };
    (open().await, open().await, url)
}

#[tokio::test]
async fn postgres_every_order_ends_in_the_same_record() {
    let cluster = PgCluster::start();
    let (store, _, url) = postgres_stores(&cluster).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.sqlite");
    let (_server, base) = events(&db, &url, &[]);
    every_order_ends_in_the_same_record(&base, &store, &db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_concurrent_writers_lose_nothing() {
    let cluster = PgCluster::start();
    let (a, b, _) = postgres_stores(&cluster).await;
    concurrent_writers_lose_nothing(a, b).await;
}

#[tokio::test]
async fn postgres_listing_pages_newest_first() {
    let cluster = PgCluster::start();
    let (store, _, _) = postgres_stores(&cluster).await;
    listing_pages_newest_first(store).await;
}
