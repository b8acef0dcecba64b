//! Whole requests through the routers, in process (no sockets): what one `sign` or `events`
//! request costs from `Request` to the collected response body, middleware included. No log
//! subscriber is installed, so the per-request log line is not formatted here (benches/load.sh
//! measures the binaries, which do log).
//!
//! - `requests/sign`: `POST /v1/upload-signature` with a valid HS256 token (`SIGN_RATE_LIMIT=off`).
//! - `requests/healthz`: `GET /healthz` of the same router: the routing and middleware alone.
//! - `requests/events/duplicate`: a signed `NewFileUpload` callback whose `sourceContext` names
//!   the uploader, into a SQLite sink in a temporary directory; the same body every time, so all
//!   but the first take the dedup path.
//! - `requests/events/fresh`: the same callback with a new `FileId` (so a new event id) each time,
//!   so every request inserts a row.
//!
//! Requests are built outside the measured closure (`iter_batched`); every answer must be 200.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use tokio::runtime::Runtime;
use tower::ServiceExt as _;
use vodgate::attribution::{Meta, Upload};
use vodgate::ingest::sink::SqliteSink;
use vodgate::platform::config::Env;
use vodgate::platform::secret::{Secret, SecretList};
use vodgate::push::{self, EventsState};
use vodgate::sign::{self, SignState};
use vodgate::vod::callback_auth::sign_for;
use vodgate::web::Cors;

const JWT_SECRET: &str = "benchmark-hs256-secret-with-32+-bytes";
const CONTEXT_KEY: &str = "benchmark-context-key-0123456789";
const CALLBACK_KEY: &str = "BenchmarkCallbackKey0123";
const SIGN_BODY: &str = r#"{"meta":"post_42"}"#;
const FILE_ID: &str = "{{FILE_ID}}";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// Sends `request`, collects the whole response body and checks the answer is 200 (a cheap
/// comparison, so a run can never time error answers by mistake).
async fn send(app: Router, request: Request<Body>) -> axum::body::Bytes {
    let response = app.oneshot(request).await.expect("infallible router");
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("response body");
    assert_eq!(status, StatusCode::OK, "{body:?}");
    body
}

fn sign_app(runtime: &Runtime) -> Router {
    let env = Env::from_pairs([
        ("VOD_SECRET_ID", "AKIDbenchmarkSecretId0123456789abcdef"),
        ("VOD_SECRET_KEY", "benchmark-vod-secret-key-0123456789"),
        ("JWT_HS256_SECRET", JWT_SECRET),
        ("VODGATE_CONTEXT_KEY", CONTEXT_KEY),
        ("SIGN_RATE_LIMIT", "off"),
    ]);
    let state = runtime
        .block_on(SignState::from_env(&env))
        .expect("sign state");
    sign::app(state, &Cors::Off)
}

fn sign_request(bearer: &str) -> Request<Body> {
    Request::post(sign::ROUTE)
        .header(header::AUTHORIZATION, bearer)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(SIGN_BODY))
        .expect("valid request")
}

fn healthz_request() -> Request<Body> {
    Request::get("/healthz")
        .body(Body::empty())
        .expect("valid request")
}

fn events_app(runtime: &Runtime, db: &Path) -> Router {
    let env = Env::from_pairs([
        ("EVENT_SINK", format!("sqlite:{}", db.display())),
        ("VOD_CALLBACK_KEYS", CALLBACK_KEY.to_owned()),
        ("VODGATE_CONTEXT_KEY", CONTEXT_KEY.to_owned()),
    ]);
    let state = runtime
        .block_on(EventsState::from_env(&env))
        .expect("events state");
    push::app(state, &Cors::Off)
}

/// The `new_file_upload.json` fixture carrying a sealed attribution token, signed with the
/// callback key (valid for 1,100 s), with [`FILE_ID`] where the file id goes.
fn callback_template() -> String {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/callbacks/new_file_upload.json");
    let mut body: Value =
        serde_json::from_slice(&std::fs::read(path).expect("fixture")).expect("JSON");
    let keys = SecretList::parse(CONTEXT_KEY).expect("context key");
    let upload = Upload::create(
        &keys,
        "user-42",
        Some(Meta::parse("post_42").expect("meta")),
    )
    .expect("created");
    let event = &mut body["FileUploadEvent"];
    event["FileId"] = FILE_ID.into();
    event["MediaBasicInfo"]["SourceInfo"]["SourceContext"] = upload.seal(&keys).into();
    let t = i64::try_from(now()).expect("time fits i64") + 1_100;
    body["T"] = t.into();
    body["Sign"] = sign_for(&Secret::new(CALLBACK_KEY), t).into();
    body.to_string()
}

fn events_request(body: String) -> Request<Body> {
    Request::post(push::ROUTE)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .expect("valid request")
}

fn requests(c: &mut Criterion) {
    let runtime = Runtime::new().expect("tokio runtime");

    let app = sign_app(&runtime);
    let claims = json!({"sub": "user-42", "scope": "openid vod:upload", "exp": now() + 3_600});
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()).expect("HMAC key"),
    )
    .expect("token");
    let bearer = format!("Bearer {token}");
    c.bench_function("requests/sign", |b| {
        b.to_async(&runtime).iter_batched(
            || (app.clone(), sign_request(&bearer)),
            |(app, request)| send(app, request),
            BatchSize::SmallInput,
        );
    });
    c.bench_function("requests/healthz", |b| {
        b.to_async(&runtime).iter_batched(
            || (app.clone(), healthz_request()),
            |(app, request)| send(app, request),
            BatchSize::SmallInput,
        );
    });

    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("events.sqlite");
    let app = events_app(&runtime, &db);
    let template = callback_template();
    let duplicate = template.replace(FILE_ID, "5285890784273533167");
    runtime.block_on(send(app.clone(), events_request(duplicate.clone())));
    let stored = SqliteSink::open(&db)
        .expect("sink")
        .list(0, 1)
        .expect("list");
    assert_eq!(stored[0].uploader_sub.as_deref(), Some("user-42"));
    c.bench_function("requests/events/duplicate", |b| {
        b.to_async(&runtime).iter_batched(
            || (app.clone(), events_request(duplicate.clone())),
            |(app, request)| send(app, request),
            BatchSize::SmallInput,
        );
    });
    let mut next_id = 6_000_000_000_000_000_000_u64;
    c.bench_function("requests/events/fresh", |b| {
        b.to_async(&runtime).iter_batched(
            || {
                next_id += 1;
                let body = template.replace(FILE_ID, &next_id.to_string());
                (app.clone(), events_request(body))
            },
            |(app, request)| send(app, request),
            BatchSize::SmallInput,
        );
    });
}

criterion_group!(benches, requests);
criterion_main!(benches);
