//! Reliable-callback (PULL) mode against a fake VOD API that checks every TC3 signature,
//! redelivers unconfirmed events and injects throttling, errors, hangs and lost answers.
//!
//! What must hold in every scenario: no event is lost (all end up confirmed, so VOD forgets them
//! only once they are stored), none is stored twice (SQLite and DynamoDB rows are unique per
//! event), and none is confirmed before it is in the sink (the fake asks the sink at confirm
//! time).

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::fake_vod::{FakeVod, Fault, Options, SECRET_ID, SECRET_KEY, StoreCheck, pull_keys};
use common::lambda_runtime::RuntimeApi;
use common::scf_runtime::ScfRuntime;
use common::{
    FlakyProxy, Link, Spawned, aws_config, callback_fixture, create_events_table, moto_endpoint,
};
use serde_json::Value;
use tower::ServiceExt as _;
use vodgate::attribution::{self, Attribution, Meta, UploadId};
use vodgate::ingest::sink::{DynamoDbSink, Sink, SqliteSink};
use vodgate::ingest::uploads::{SqliteUploads, Status, UploadsStore};
use vodgate::platform::config::Env;
use vodgate::platform::secret::SecretList;
use vodgate::pull::{PullReport, PullTimings, Puller};

const SUB_APP: u64 = 1_500_000_001;
const CONTEXT_KEY: &str = "pull-context-key-0123456789abcdefgh";

fn options() -> Options {
    Options {
        sub_app_id: Some(SUB_APP),
        ..Options::default()
    }
}

/// Scaled-down production timings: every step well inside the fake's 1 s confirm window.
fn timings() -> PullTimings {
    PullTimings {
        pull_timeout: Duration::from_millis(800),
        confirm_timeout: Duration::from_millis(300),
        store_budget: Duration::from_millis(400),
        confirm_by: Duration::from_millis(700),
        margin: Duration::from_millis(300),
        idle_backoff: Duration::from_millis(50),
    }
}

fn puller_with(fake: &FakeVod, sink: Sink, secret_key: &str, timings: PullTimings) -> Puller {
    let keys = pull_keys(secret_key, CONTEXT_KEY);
    Puller::new(
        fake.api(Some(SUB_APP), 6),
        keys,
        sink,
        Duration::from_millis(500),
        timings,
    )
}

fn puller(fake: &FakeVod, sink: Sink) -> Puller {
    puller_with(fake, sink, SECRET_KEY, timings())
}

/// A `NewFileUpload` event for file number `n`, as VOD queues it.
fn upload(n: usize) -> Value {
    let mut event = callback_fixture("new_file_upload.json");
    event["FileUploadEvent"]["FileId"] = format!("52858907842735{n:05}").into();
    event
}

/// A mix of event types: uploads plus the other fixtures, `n` in all.
fn mixed_events(n: usize) -> Vec<Value> {
    let mut events: Vec<Value> = [
        "procedure_finish.json",
        "procedure_change_processing.json",
        "procedure_change_finish.json",
        "file_deleted.json",
        "pull_complete.json",
        "unknown_future_type.json",
        "review_audio_video.json",
        "edit_media_complete.json",
    ]
    .into_iter()
    .map(callback_fixture)
    .collect();
    let mut i = 0;
    while events.len() < n {
        events.push(upload(i));
        i += 1;
    }
    events.truncate(n);
    events
}

fn sqlite_ids(db: &Path) -> Vec<String> {
    SqliteSink::open(db)
        .unwrap()
        .list(0, 100_000)
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect()
}

fn sqlite_check(db: &Path) -> StoreCheck {
    let db = db.to_owned();
    Arc::new(move |id| {
        let db = db.clone();
        Box::pin(async move { sqlite_ids(&db).contains(&id) })
    })
}

fn sqlite_sink(db: &Path) -> Sink {
    SqliteSink::open(db).unwrap().into()
}

/// Drains until the fake has every event confirmed (waiting out redeliveries), at most `limit`.
async fn drain_all(puller: &Puller, fake: &FakeVod, limit: Duration) -> PullReport {
    let started = Instant::now();
    let mut total = PullReport::default();
    while !fake.all_confirmed() {
        assert!(
            started.elapsed() < limit,
            "events never confirmed: {:?}",
            fake.unconfirmed()
        );
        match puller.drain().await {
            Ok(report) => total.add(&report),
            Err(error) => total.add(&error.report),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    total
}

/// Every confirmation was of an event the sink already held.
fn assert_confirmed_only_when_stored(fake: &FakeVod) {
    let confirmations = fake.confirmations();
    assert!(!confirmations.is_empty());
    for confirmation in confirmations {
        assert!(
            confirmation.stored_at_confirm,
            "event {} was confirmed before it was stored",
            confirmation.event
        );
    }
}

fn assert_unique(ids: &[String]) {
    let mut sorted = ids.to_vec();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), ids.len(), "an event is stored twice");
}

#[tokio::test]
async fn throttling_errors_and_hangs_lose_nothing_and_store_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.sqlite");
    let fake = FakeVod::start(options()).await;
    fake.set_store_check(sqlite_check(&db));
    let events = mixed_events(40);
    for event in &events {
        fake.push_event(event.clone());
    }
    // The same event queued twice (VOD's delivery is at least once).
    fake.push_event(events[10].clone());
    fake.inject([
        Fault::Throttle,
        Fault::Throttle,
        Fault::Internal,
        Fault::Status(502),
        Fault::Hang(Duration::from_millis(1200)),
        Fault::Pass,
        Fault::Throttle, // the first ConfirmEvents
        Fault::Status(503),
    ]);
    let puller = puller(&fake, sqlite_sink(&db));
    let report = drain_all(&puller, &fake, Duration::from_secs(15)).await;

    let ids = sqlite_ids(&db);
    assert_eq!(ids.len(), 40, "{report:?}");
    assert_unique(&ids);
    for index in 0..40 {
        assert!(ids.contains(&fake.event_id(index)), "event {index} lost");
    }
    // A write that outlives its timeout is reported failed and then found as a duplicate, so
    // under load `stored` can be lower; the sink's contents above are the invariant.
    assert!(report.stored + report.duplicates >= 41, "{report:?}");
    assert!(report.confirmed >= 41);
    assert_confirmed_only_when_stored(&fake);
    assert_eq!(fake.auth_failures(), 0, "every request is correctly signed");
    assert!(fake.sub_app_ids().iter().all(|id| *id == Some(SUB_APP)));
}

#[tokio::test]
async fn a_lost_pull_answer_is_delivered_again_and_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.sqlite");
    let fake = FakeVod::start(options()).await;
    fake.set_store_check(sqlite_check(&db));
    for event in mixed_events(20) {
        fake.push_event(event);
    }
    // VOD hands out the first 16 events, but the answer never arrives.
    fake.inject([Fault::LoseResponse(Duration::from_millis(1500))]);
    let puller = puller(&fake, sqlite_sink(&db));
    let report = drain_all(&puller, &fake, Duration::from_secs(15)).await;

    let ids = sqlite_ids(&db);
    assert_eq!(ids.len(), 20);
    assert_unique(&ids);
    assert!(fake.deliveries(0) >= 2, "the lost events came back");
    assert!(report.stored + report.duplicates >= 20, "{report:?}");
    assert_confirmed_only_when_stored(&fake);
}

#[tokio::test]
async fn a_failed_confirm_ends_in_a_duplicate_not_a_second_copy() {
    for reject_expired in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("events.sqlite");
        let fake = FakeVod::start(Options {
            confirm_window: Duration::from_millis(300),
            reject_expired,
            ..options()
        })
        .await;
        fake.set_store_check(sqlite_check(&db));
        for event in mixed_events(5) {
            fake.push_event(event);
        }
        // The pull succeeds; confirming fails until the handles have expired (300 ms), and is
        // then refused (reject_expired) or ignored.
        fake.inject(std::iter::once(Fault::Pass).chain(std::iter::repeat_n(
            Fault::Hang(Duration::from_millis(400)),
            2,
        )));
        let puller = puller(&fake, sqlite_sink(&db));
        let report = drain_all(&puller, &fake, Duration::from_secs(15)).await;

        let ids = sqlite_ids(&db);
        assert_eq!(ids.len(), 5, "reject_expired={reject_expired}");
        assert_unique(&ids);
        // Every event came back; one stored before its confirm failed came back as a duplicate.
        // (A store that timed out under load is stored on redelivery instead, so the counts vary;
        // the sink's contents above do not.)
        assert!(
            (0..5).all(|index| fake.deliveries(index) >= 2),
            "{report:?}"
        );
        assert!(
            report.duplicates >= 1,
            "the unconfirmed events came back as duplicates: {report:?}"
        );
        assert_confirmed_only_when_stored(&fake);
    }
}

#[tokio::test]
async fn nothing_is_confirmed_while_dynamodb_is_down() {
    let endpoint = moto_endpoint();
    let direct = aws_sdk_dynamodb::Client::new(&aws_config(endpoint).await);
    let table = format!("pull-{}", rand::random::<u32>());
    create_events_table(&direct, &table).await;
    let proxy = FlakyProxy::start(endpoint).await;
    let sink: Sink = DynamoDbSink::new(
        aws_sdk_dynamodb::Client::new(&aws_config(&proxy.url()).await),
        table.clone(),
        30,
    )
    .into();

    let fake = FakeVod::start(options()).await;
    let check_client = direct.clone();
    let check_table = table.clone();
    fake.set_store_check(Arc::new(move |id| {
        let client = check_client.clone();
        let table = check_table.clone();
        Box::pin(async move {
            client
                .get_item()
                .table_name(table)
                .key("id", aws_sdk_dynamodb::types::AttributeValue::S(id))
                .consistent_read(true)
                .send()
                .await
                .unwrap()
                .item
                .is_some()
        })
    }));
    for event in mixed_events(20) {
        fake.push_event(event);
    }
    let puller = puller(&fake, sink);

    proxy.set(Link::Down);
    let outage = puller.drain().await.unwrap();
    assert!(outage.failed > 0, "{outage:?}");
    assert_eq!(outage.stored, 0);
    assert_eq!(outage.confirmed, 0);
    assert!(
        fake.confirmations().is_empty(),
        "nothing stored, nothing confirmed"
    );

    proxy.set(Link::Up);
    let report = drain_all(&puller, &fake, Duration::from_secs(15)).await;
    assert!(report.stored + report.duplicates >= 20, "{report:?}");
    assert_confirmed_only_when_stored(&fake);
    let items = direct
        .scan()
        .table_name(&table)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    let ids: Vec<String> = items
        .iter()
        .map(|item| item["id"].as_s().unwrap().clone())
        .collect();
    assert_eq!(ids.len(), 20);
    assert_unique(&ids);
}

#[tokio::test]
async fn a_wrong_key_is_refused_by_vod_and_not_retried() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.sqlite");
    let fake = FakeVod::start(options()).await;
    fake.push_event(upload(1));
    let puller = puller_with(&fake, sqlite_sink(&db), "not-the-key", timings());
    let error = puller.drain().await.unwrap_err();
    assert_eq!(error.error.code(), Some("AuthFailure.SignatureFailure"));
    assert!(!error.to_string().contains("not-the-key"));
    assert_eq!(
        fake.requests(),
        1,
        "an authentication failure is not retried"
    );
    assert!(sqlite_ids(&db).is_empty());
}

#[tokio::test]
async fn an_event_pushed_then_pulled_is_stored_once_with_the_same_uploader() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.sqlite");
    let token = attribution::seal(
        &SecretList::parse(CONTEXT_KEY).unwrap(),
        &Attribution {
            sub: "alice".into(),
            upload_id: UploadId::random(),
            meta: Some(Meta::parse("post_7").unwrap()),
        },
    )
    .unwrap();
    let mut event = upload(7);
    event["FileUploadEvent"]["MediaBasicInfo"]["SourceInfo"]["SourceContext"] = token.into();

    // PUSH: the events function (unauthenticated here; auth is tested elsewhere).
    let env = Env::from_pairs([
        ("EVENT_SINK", format!("sqlite:{}", db.display())),
        ("VOD_CALLBACK_AUTH", "none".into()),
        ("VODGATE_CONTEXT_KEY", CONTEXT_KEY.into()),
    ]);
    let app = vodgate::push::routes(vodgate::push::EventsState::from_env(&env).await.unwrap());
    let response = app
        .oneshot(
            http::Request::post("/v1/vod/events")
                .body(axum::body::Body::from(event.to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // PULL: the same event, after the account switched modes.
    let fake = FakeVod::start(options()).await;
    fake.set_store_check(sqlite_check(&db));
    let index = fake.push_event(event);
    let report = puller(&fake, sqlite_sink(&db)).drain().await.unwrap();
    assert_eq!(
        (report.stored, report.duplicates, report.confirmed),
        (0, 1, 1)
    );

    let stored = SqliteSink::open(&db).unwrap().list(0, 10).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].id, fake.event_id(index));
    let envelope: Value = serde_json::from_str(&stored[0].envelope).unwrap();
    assert_eq!(envelope["uploader"]["sub"], "alice");
    assert_eq!(envelope["uploader"]["meta"], "post_7");
}

#[tokio::test]
async fn drain_until_keeps_pulling_and_ends_before_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.sqlite");
    let fake = FakeVod::start(options()).await;
    fake.set_store_check(sqlite_check(&db));
    for event in mixed_events(10) {
        fake.push_event(event);
    }
    let puller = puller(&fake, sqlite_sink(&db));
    let deadline = tokio::time::Instant::now() + Duration::from_millis(2000);
    let report = puller.drain_until(deadline).await.unwrap();
    let ended = tokio::time::Instant::now();
    assert!(ended <= deadline, "overran by {:?}", ended - deadline);
    // Kept pulling once the queue was empty (the fake long-polls 50 ms), rather than stopping at
    // the first empty answer.
    assert!(
        report.batches >= 3,
        "kept polling an empty queue: {report:?}"
    );
    assert!(report.confirmed >= 10, "{report:?}");
    assert_eq!(sqlite_ids(&db).len(), 10);
    assert!(fake.all_confirmed());
    assert_confirmed_only_when_stored(&fake);
}

fn binary_env(fake: &FakeVod) -> Vec<(&'static str, String)> {
    vec![
        ("VOD_SECRET_ID", SECRET_ID.into()),
        ("VOD_SECRET_KEY", SECRET_KEY.into()),
        ("VOD_API_ENDPOINT", fake.url()),
        ("VOD_SUB_APP_ID", SUB_APP.to_string()),
        ("VODGATE_CONTEXT_KEY", CONTEXT_KEY.into()),
    ]
}

#[tokio::test]
async fn vodgate_pull_once_drains_into_the_dev_store() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeVod::start(options()).await;
    // The project's state directory, found by `vodgate` run in `dir`.
    std::fs::create_dir(dir.path().join(".vodgate")).unwrap();
    let db = dir.path().join(".vodgate/events.sqlite");
    fake.set_store_check(sqlite_check(&db));
    for event in mixed_events(20) {
        fake.push_event(event);
    }
    fake.inject([Fault::Throttle]);
    let mut child = Spawned::start_in(
        env!("CARGO_BIN_EXE_vodgate"),
        &["pull", "--once"],
        &binary_env(&fake),
        Some(dir.path()),
    );
    let code = tokio::task::spawn_blocking(move || (child.wait_exit(), child))
        .await
        .unwrap();
    let (code, child) = code;
    assert_eq!(code, 0, "{}", child.logs());
    assert_eq!(sqlite_ids(&db).len(), 20);
    assert!(fake.all_confirmed());
    assert_confirmed_only_when_stored(&fake);
    let report: Value = serde_json::from_str(child.stdout().trim()).unwrap();
    assert_eq!(report["stored"], 20);
    let logs = child.logs();
    assert!(!logs.contains(SECRET_KEY) && !logs.contains("5285890784273533167"));
    assert!(!logs.contains("handle-"), "event handles are not logged");
}

#[tokio::test]
async fn events_binary_pulls_on_scheduled_invocations_under_lambda() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.sqlite");
    let fake = FakeVod::start(options()).await;
    fake.set_store_check(sqlite_check(&db));
    for event in mixed_events(20) {
        fake.push_event(event);
    }
    let runtime = RuntimeApi::start_with_timeout(Duration::from_millis(2500)).await;
    let mut env = binary_env(&fake);
    env.extend([
        ("VODGATE_MODE", "pull".to_owned()),
        ("VOD_PULL_MARGIN_SECONDS", "1".to_owned()),
        ("EVENT_SINK", format!("sqlite:{}", db.display())),
    ]);
    env.extend(runtime.env());
    let server = Spawned::start(env!("CARGO_BIN_EXE_events"), &env);
    let scheduled: Value = serde_json::from_str(
        &std::fs::read_to_string(common::root().join("tests/fixtures/eventbridge/scheduled.json"))
            .unwrap(),
    )
    .unwrap();
    // One invocation normally takes everything; a loaded machine may need the next one, as a
    // real schedule would provide.
    for _ in 0..3 {
        let started = Instant::now();
        let response = runtime
            .invoke(scheduled.clone())
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", server.logs()));
        let took = started.elapsed();
        assert!(response["batches"].as_u64().unwrap() >= 2, "{response}");
        assert!(
            took < Duration::from_millis(2500),
            "ended before the deadline: {took:?}"
        );
        if fake.all_confirmed() {
            break;
        }
    }
    assert_eq!(sqlite_ids(&db).len(), 20);
    assert!(fake.all_confirmed());
    assert_confirmed_only_when_stored(&fake);
    let stdout = server.stdout();
    assert!(
        stdout.contains("\"Function\":\"pull\""),
        "EMF line: {stdout}"
    );
    assert!(!stdout.contains(SECRET_KEY) && !stdout.contains("5285890784273533167"));
}

#[tokio::test]
async fn pull_mode_with_a_bad_endpoint_stops_at_start_naming_the_variable() {
    let fake = FakeVod::start(options()).await;
    let mut env = binary_env(&fake);
    env.extend([
        ("VODGATE_MODE", "pull".to_owned()),
        ("VOD_API_ENDPOINT", "http://vod.example.com".to_owned()),
        ("EVENT_SINK", "sqlite:/tmp/never-opened.sqlite".to_owned()),
    ]);
    let mut child = Spawned::start(env!("CARGO_BIN_EXE_events"), &env);
    let code = child.wait_exit();
    assert_eq!(code, 1);
    assert!(
        child.logs().contains("VOD_API_ENDPOINT"),
        "{}",
        child.logs()
    );
    assert_eq!(fake.requests(), 0);
}

#[tokio::test]
async fn vod_config_sets_and_shows_the_event_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeVod::start(options()).await;
    let mut env = binary_env(&fake);
    env.push((
        "VOD_CALLBACK_KEYS",
        "PullTestSignKey1PullTestSign,OlderKeyOlderKeyOlderKey1".into(),
    ));
    let run = |args: &'static [&'static str]| {
        let env = env.clone();
        let dir = dir.path().to_owned();
        tokio::task::spawn_blocking(move || {
            let mut child =
                Spawned::start_in(env!("CARGO_BIN_EXE_vodgate"), args, &env, Some(&dir));
            let code = child.wait_exit();
            (code, child.stdout(), child.logs())
        })
    };
    let (code, _, logs) = run(&[
        "vod-config",
        "set",
        "--mode",
        "pull",
        "--url",
        "https://api.example.com/v1/vod/events",
        "--upload-media-complete",
        "on",
        "--delete-media-complete",
        "off",
        "--sign-key",
    ])
    .await
    .unwrap();
    assert_eq!(code, 0, "{logs}");
    let config = fake.config();
    assert_eq!(config["Mode"], "PULL");
    assert_eq!(
        config["NotificationUrl"],
        "https://api.example.com/v1/vod/events"
    );
    assert_eq!(config["UploadMediaCompleteEventSwitch"], "ON");
    assert_eq!(config["DeleteMediaCompleteEventSwitch"], "OFF");
    assert_eq!(
        fake.sign_key().as_deref(),
        Some("PullTestSignKey1PullTestSign")
    );
    assert!(!logs.contains("PullTestSignKey1PullTestSign"));

    let (code, stdout, logs) = run(&["vod-config", "show"]).await.unwrap();
    assert_eq!(code, 0, "{logs}");
    assert!(
        stdout.contains("Mode") && stdout.contains("PULL"),
        "{stdout}"
    );
    assert!(stdout.contains("https://api.example.com/v1/vod/events"));
    assert!(!stdout.contains("PullTestSignKey1PullTestSign"));

    let (code, _, logs) = run(&["vod-config", "set"]).await.unwrap();
    assert_ne!(code, 0, "an empty change is refused: {logs}");

    // Never the dev callback key: without VOD_CALLBACK_KEYS, --sign-key has nothing to send.
    let env = binary_env(&fake);
    let cwd = dir.path().to_owned();
    let (code, logs) = tokio::task::spawn_blocking(move || {
        let mut child = Spawned::start_in(
            env!("CARGO_BIN_EXE_vodgate"),
            &["vod-config", "set", "--sign-key"],
            &env,
            Some(&cwd),
        );
        (child.wait_exit(), child.logs())
    })
    .await
    .unwrap();
    assert_ne!(code, 0);
    assert!(logs.contains("VOD_CALLBACK_KEYS"), "{logs}");
    assert_eq!(fake.calls("ModifyEventConfig"), 1);
}

#[tokio::test]
async fn an_upload_that_cannot_be_updated_leaves_its_event_unconfirmed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.sqlite");
    let uploads_db = dir.path().join("uploads.sqlite");
    let token = attribution::seal(
        &SecretList::parse(CONTEXT_KEY).unwrap(),
        &Attribution {
            sub: "erin".into(),
            upload_id: UploadId::random(),
            meta: None,
        },
    )
    .unwrap();
    let mut event = upload(11);
    event["FileUploadEvent"]["MediaBasicInfo"]["SourceInfo"]["SourceContext"] = token.into();
    let fake = FakeVod::start(options()).await;
    fake.set_store_check(sqlite_check(&db));
    let index = fake.push_event(event);
    let store = UploadsStore::from(SqliteUploads::open(&uploads_db).unwrap());
    let puller = puller(&fake, sqlite_sink(&db)).with_uploads(Some(store.clone()));

    // Another process holds the uploads database's write lock: stored in the sink, but the
    // upload is not updated, so the event is not confirmed.
    let lock = rusqlite::Connection::open(&uploads_db).unwrap();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    let report = puller.drain().await.unwrap();
    assert_eq!((report.failed, report.confirmed), (1, 0), "{report:?}");
    assert_eq!(fake.unconfirmed(), vec![index]);
    lock.execute_batch("ROLLBACK").unwrap();

    // VOD delivers it again: a duplicate in the sink, the update goes through, confirmed.
    let report = drain_all(&puller, &fake, Duration::from_secs(30)).await;
    assert_eq!(report.duplicates, 1, "{report:?}");
    assert_eq!(sqlite_ids(&db).len(), 1);
    let uploads = store.list("erin", 10, None).await.unwrap().uploads;
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].status, Status::Uploaded);
}

/// PULL mode has no public endpoint: with `CallbackMode=PULL` the template deploys no events
/// function, no callback route, nothing that refers to them, and no callback URL.
#[test]
fn pull_mode_deploys_no_public_endpoint() {
    let text = std::fs::read_to_string(common::root().join("template.yaml")).unwrap();
    let template: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    let use_push = serde_norway::to_string(&template["Conditions"]["UsePush"]).unwrap();
    assert!(
        use_push.contains("CallbackMode") && use_push.contains("PUSH"),
        "{use_push}"
    );
    let condition = |item: &serde_norway::Value| item["Condition"].as_str().map(str::to_owned);
    let resources = template["Resources"].as_mapping().unwrap();
    let mut push_only = Vec::new();
    for (name, resource) in resources {
        let name = name.as_str().unwrap();
        let events = resource["Properties"]["Events"].as_mapping();
        let routes_callbacks = events.is_some_and(|events| {
            events.values().any(|event| {
                event["Properties"]["Path"]
                    .as_str()
                    .is_some_and(|path| path.starts_with("/v1/vod/events"))
            })
        });
        if routes_callbacks {
            push_only.push(name.to_owned());
        }
    }
    assert_eq!(push_only, ["EventsFunction"]);
    for (name, resource) in resources {
        let text = serde_norway::to_string(resource).unwrap();
        let refers = ["EventsFunction", "EventsLogGroup"]
            .iter()
            .any(|r| text.contains(r));
        if push_only.iter().any(|p| p == name.as_str().unwrap()) || refers {
            assert_eq!(condition(resource).as_deref(), Some("UsePush"), "{name:?}");
        }
    }
    let callback_url = &template["Outputs"]["CallbackUrl"];
    assert_eq!(condition(callback_url).as_deref(), Some("UsePush"));
}

#[tokio::test]
async fn events_binary_pulls_on_timer_invocations_as_an_scf_event_function() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.sqlite");
    let fake = FakeVod::start(options()).await;
    fake.set_store_check(sqlite_check(&db));
    for event in mixed_events(12) {
        fake.push_event(event);
    }
    let runtime = ScfRuntime::start(Duration::from_millis(2500)).await;
    let mut env = binary_env(&fake);
    env.extend([
        ("VODGATE_MODE", "pull".to_owned()),
        ("VOD_PULL_MARGIN_SECONDS", "1".to_owned()),
        ("EVENT_SINK", format!("sqlite:{}", db.display())),
    ]);
    env.extend(runtime.env());
    let server = Spawned::start(env!("CARGO_BIN_EXE_events"), &env);
    let timer = serde_json::json!({
        "Type": "Timer",
        "TriggerName": "vodgate-pull",
        "Time": "2026-12-02T09:00:00Z",
        "Message": ""
    });
    // One invocation normally takes everything; a loaded machine may need the next timer tick.
    for _ in 0..3 {
        let report = runtime
            .invoke(timer.clone())
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", server.logs()));
        assert!(report["batches"].as_u64().unwrap() >= 1, "{report}");
        if fake.all_confirmed() {
            break;
        }
    }
    assert!(runtime.init_ready(), "init/ready was posted");
    assert_eq!(sqlite_ids(&db).len(), 12);
    assert!(fake.all_confirmed());
    assert_confirmed_only_when_stored(&fake);
    assert!(
        server.logs().contains("trigger=\"Timer\""),
        "{}",
        server.logs()
    );
}
