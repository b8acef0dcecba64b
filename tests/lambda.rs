//! Lambda mode: API Gateway HTTP API (payload v2) events, through `lambda_http`.
//!
//! Two levels: the router fed fixtures via `lambda_http::request::from_str` (fast, in process),
//! and the real `sign` binary running under a local Lambda Runtime API, which is how AWS runs it.

mod common;

use common::lambda_runtime::RuntimeApi;
use common::{Spawned, eventually, upload_token};
use serde_json::Value;
use tower::ServiceExt as _;
use vodgate::platform::config::Env;
use vodgate::sign::{self, SignState};
use vodgate::vod::signature::{MacCheck, inspect};
use vodgate::web::Cors;

const JWT_SECRET: &str = "lambda-jwt-secret-0123456789abcdef";
const VOD_KEY: &str = "lambda-vod-secret-key";

fn env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("VOD_SECRET_ID", "AKIDlambda"),
        ("VOD_SECRET_KEY", VOD_KEY),
        ("JWT_HS256_SECRET", JWT_SECRET),
        ("VODGATE_CONTEXT_KEY", "lambda-context-key-0123456789abcdef"),
        ("CORS_ALLOWED_ORIGINS", "https://app.example.com"),
    ]
}

fn fixture(name: &str, token: &str) -> String {
    std::fs::read_to_string(common::root().join("tests/fixtures/apigw").join(name))
        .unwrap()
        .replace("{{TOKEN}}", token)
}

async fn in_process(name: &str) -> (u16, http::HeaderMap, Value) {
    in_process_event(&fixture(name, &upload_token(JWT_SECRET, "lambda-user"))).await
}

/// Each call builds its own state, as a new Lambda instance would.
async fn in_process_event(event: &str) -> (u16, http::HeaderMap, Value) {
    in_process_with(event, &[]).await
}

/// As [`in_process_event`], with `extra` variables set.
async fn in_process_with(event: &str, extra: &[(&str, String)]) -> (u16, http::HeaderMap, Value) {
    let mut pairs: Vec<(&str, String)> =
        env().into_iter().map(|(k, v)| (k, v.to_owned())).collect();
    pairs.extend(extra.iter().cloned());
    let state = SignState::from_env(&Env::from_pairs(pairs)).await.unwrap();
    let cors = Cors::from_env(&Env::from_pairs(env())).unwrap();
    let request =
        lambda_http::request::from_str(event).expect("fixture is an API Gateway v2 event");
    let response = sign::app(state, &cors).oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, headers, body)
}

#[tokio::test]
async fn router_answers_api_gateway_fixtures() {
    for name in [
        "sign_post.json",
        "sign_post_base64.json",
        "sign_get_query.json",
    ] {
        let (status, headers, body) = in_process(name).await;
        assert_eq!(status, 200, "{name}: {body}");
        let report = inspect(
            body["data"]["signature"].as_str().unwrap(),
            Some(VOD_KEY.as_bytes()),
            common::now(),
        );
        assert_eq!(report.mac, MacCheck::Valid, "{name}");
        // API Gateway's request id is reused, so both logs correlate.
        assert!(
            headers["x-request-id"]
                .to_str()
                .unwrap()
                .starts_with("apigw-sign-"),
            "{name}"
        );
    }
    let (status, _, body) = in_process("sign_no_token.json").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("missing_token"))
    );
    let (status, _, body) = in_process("sign_forbidden_param.json").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("param_not_allowed"))
    );
    let (status, headers, _) = in_process("sign_preflight.json").await;
    assert!((200..300).contains(&status));
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://app.example.com"
    );
    let (status, _, body) = in_process("healthz.json").await;
    assert_eq!((status, body["code"].as_u64()), (200, Some(0)));
}

/// The refresh fixture for `upload_id`, as a GET with the id in the query string.
fn refresh_fixture(token: &str, upload_id: &str) -> String {
    fixture("sign_refresh_query.json", token).replace("{{UPLOAD_ID}}", upload_id)
}

#[tokio::test]
async fn an_upload_created_on_one_instance_is_refreshed_on_another() {
    let token = upload_token(JWT_SECRET, "lambda-user");
    let (status, headers, created) = in_process_event(&fixture("uploads_post.json", &token)).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"]["status"], "waiting");
    assert_eq!(headers["x-request-id"], "apigw-uploads-post");
    let upload_id = created["data"]["uploadId"].as_str().unwrap();
    assert!(upload_id.ends_with(".post_42"), "{upload_id}");
    // No store between the two instances: the id proves its owner by itself.
    let (status, headers, refreshed) = in_process_event(&refresh_fixture(&token, upload_id)).await;
    assert_eq!(status, 200, "{refreshed}");
    assert_eq!(refreshed["data"]["uploadId"], upload_id);
    assert_eq!(headers["x-request-id"], "apigw-sign-refresh");
    let other = upload_token(JWT_SECRET, "someone-else");
    let (status, _, body) = in_process_event(&refresh_fixture(&other, upload_id)).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
}

/// The read fixture for `upload_id` (`GET /v1/uploads/{uploadId}`).
fn read_fixture(token: &str, upload_id: &str) -> String {
    fixture("uploads_get.json", token).replace("{{UPLOAD_ID}}", upload_id)
}

#[tokio::test]
async fn uploads_are_read_through_api_gateway_fixtures() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.sqlite");
    let with_store = [("UPLOADS_STORE", format!("sqlite:{}", db.display()))];
    let token = upload_token(JWT_SECRET, "lambda-user");
    let other = upload_token(JWT_SECRET, "someone-else");
    let (status, _, created) =
        in_process_with(&fixture("uploads_post.json", &token), &with_store).await;
    assert_eq!(status, 201, "{created}");
    let upload_id = created["data"]["uploadId"].as_str().unwrap();

    // Nothing from VOD yet: waiting, on any instance.
    let (status, headers, read) =
        in_process_with(&read_fixture(&token, upload_id), &with_store).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(headers["x-request-id"], "apigw-uploads-get");
    assert_eq!(read["data"]["status"], "waiting");
    assert_eq!(read["data"]["meta"], "post_42");

    // VOD's NewFileUpload reaches the events function (same store): uploaded, and listed.
    let mut env = events_env(&db);
    env.push(("UPLOADS_STORE", format!("sqlite:{}", db.display())));
    let events = vodgate::push::app(
        vodgate::push::EventsState::from_env(&Env::from_pairs(env))
            .await
            .unwrap(),
        &Cors::Off,
    );
    let (context, _) = common::signature_contexts(created["data"]["signature"].as_str().unwrap());
    let callback = common::upload_callback(&context, CALLBACK_KEY);
    let event = events_event("events_post.json", &callback).to_string();
    let response = events
        .oneshot(lambda_http::request::from_str(&event).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (status, _, read) = in_process_with(&read_fixture(&token, upload_id), &with_store).await;
    assert_eq!(
        (status, read["data"]["status"].as_str()),
        (200, Some("uploaded")),
        "{read}"
    );
    let (status, headers, listed) =
        in_process_with(&fixture("uploads_list.json", &token), &with_store).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(headers["x-request-id"], "apigw-uploads-list");
    assert_eq!(listed["data"]["uploads"][0], read["data"]);
    assert_eq!(listed["data"]["nextCursor"], Value::Null);

    // Someone else: 404 for the id, nothing listed.
    let (status, _, body) = in_process_with(&read_fixture(&other, upload_id), &with_store).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    let (_, _, listed) = in_process_with(&fixture("uploads_list.json", &other), &with_store).await;
    assert_eq!(listed["data"]["uploads"], serde_json::json!([]));

    // An instance without UPLOADS_STORE: 501, while creating still works.
    let (status, _, body) = in_process_event(&read_fixture(&token, upload_id)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (501, Some("not_configured"))
    );
    let (status, _, body) = in_process_event(&fixture("uploads_list.json", &token)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (501, Some("not_configured"))
    );
}

#[tokio::test]
async fn binary_runs_under_the_lambda_runtime_api() {
    let runtime = RuntimeApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut child_env: Vec<(&str, String)> =
        env().into_iter().map(|(k, v)| (k, v.to_owned())).collect();
    child_env.extend(runtime.env());
    child_env.push((
        "UPLOADS_STORE",
        format!("sqlite:{}", dir.path().join("uploads.sqlite").display()),
    ));
    let server = Spawned::start(env!("CARGO_BIN_EXE_sign"), &child_env);

    let token = upload_token(JWT_SECRET, "lambda-user");
    let event: Value = serde_json::from_str(&fixture("sign_post.json", &token)).unwrap();
    let response = runtime
        .invoke(event)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", server.logs()));
    assert_eq!(response["statusCode"], 200, "{response}");
    let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    let report = inspect(
        body["data"]["signature"].as_str().unwrap(),
        Some(VOD_KEY.as_bytes()),
        common::now(),
    );
    assert_eq!(report.mac, MacCheck::Valid);
    assert_eq!(response["headers"]["x-request-id"], "apigw-sign-post");

    let event: Value = serde_json::from_str(&fixture("sign_no_token.json", "")).unwrap();
    let response = runtime.invoke(event).await.unwrap();
    assert_eq!(response["statusCode"], 401);

    // An upload: created (201), then its signature refreshed with the id in the query string.
    let event: Value = serde_json::from_str(&fixture("uploads_post.json", &token)).unwrap();
    let response = runtime.invoke(event).await.unwrap();
    assert_eq!(response["statusCode"], 201, "{response}");
    let created: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    let upload_id = created["data"]["uploadId"].as_str().unwrap();
    let event: Value = serde_json::from_str(&refresh_fixture(&token, upload_id)).unwrap();
    let response = runtime.invoke(event).await.unwrap();
    assert_eq!(response["statusCode"], 200, "{response}");
    let refreshed: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(refreshed["data"]["uploadId"], upload_id);

    // Its status (nothing from VOD yet), and the caller's listing (only uploads VOD reached).
    let event: Value = serde_json::from_str(&read_fixture(&token, upload_id)).unwrap();
    let response = runtime.invoke(event).await.unwrap();
    assert_eq!(response["statusCode"], 200, "{response}");
    assert_eq!(response["headers"]["x-request-id"], "apigw-uploads-get");
    let read: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(read["data"]["status"], "waiting");
    assert_eq!(read["data"]["uploadId"], upload_id);
    let event: Value = serde_json::from_str(&fixture("uploads_list.json", &token)).unwrap();
    let response = runtime.invoke(event).await.unwrap();
    assert_eq!(response["statusCode"], 200, "{response}");
    let listed: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        listed["data"],
        serde_json::json!({"uploads": [], "nextCursor": null})
    );
    let other = upload_token(JWT_SECRET, "someone-else");
    let event: Value = serde_json::from_str(&read_fixture(&other, upload_id)).unwrap();
    let response = runtime.invoke(event).await.unwrap();
    assert_eq!(response["statusCode"], 404, "{response}");

    // Lambda's log format controls are honoured: JSON lines on stdout, still no token. Both
    // requests' lines were written before their responses; wait until the pipe carried them.
    let stdout = eventually("both requests' log lines", || {
        let stdout = server.stdout();
        if stdout.contains("apigw-sign-post") && stdout.contains("apigw-sign-none") {
            Ok(stdout)
        } else {
            Err(stdout)
        }
    })
    .await;
    let request_line = stdout
        .lines()
        .find(|l| l.contains("apigw-sign-post"))
        .unwrap();
    let line: Value = serde_json::from_str(request_line).expect("JSON log line");
    assert_eq!(line["fields"]["status"], 200);
    assert!(!stdout.contains(&token) && !stdout.contains(VOD_KEY));
}

const CALLBACK_KEY: &str = "LambdaCallbackKey0123456789";

/// An API Gateway v2 event carrying a freshly signed `callback` fixture as its body.
fn events_fixture(name: &str, callback: &str) -> Value {
    let body = common::signed(common::callback_fixture(callback), CALLBACK_KEY, 600);
    events_event(name, &body)
}

/// The API Gateway v2 event `name` carrying `body`.
fn events_event(name: &str, body: &Value) -> Value {
    use base64::Engine as _;
    let mut event: Value = serde_json::from_str(&fixture(name, "")).unwrap();
    let text = body.to_string();
    event["body"] = if event["isBase64Encoded"] == true {
        base64::engine::general_purpose::STANDARD
            .encode(text)
            .into()
    } else {
        text.into()
    };
    event
}

fn events_env(db: &std::path::Path) -> Vec<(&'static str, String)> {
    vec![
        ("EVENT_SINK", format!("sqlite:{}", db.display())),
        ("VOD_CALLBACK_KEYS", CALLBACK_KEY.to_owned()),
        (
            "VODGATE_CONTEXT_KEY",
            "lambda-context-key-0123456789abcdef".to_owned(),
        ),
    ]
}

#[tokio::test]
async fn events_router_answers_api_gateway_fixtures() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.sqlite");
    let env = Env::from_pairs(events_env(&db));
    let app = vodgate::push::app(
        vodgate::push::EventsState::from_env(&env).await.unwrap(),
        &Cors::Off,
    );
    for (fixture_name, callback) in [
        ("events_post.json", "new_file_upload.json"),
        ("events_post_base64.json", "procedure_finish.json"),
        ("events_post.json", "new_file_upload.json"),
    ] {
        let event = events_fixture(fixture_name, callback).to_string();
        let request = lambda_http::request::from_str(&event).unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), 200, "{fixture_name} {callback}");
    }
    let stored = vodgate::ingest::sink::SqliteSink::open(&db)
        .unwrap()
        .list(0, 10)
        .unwrap();
    assert_eq!(
        stored.len(),
        2,
        "the redelivered upload event is stored once"
    );
}

#[tokio::test]
async fn events_binary_runs_under_the_lambda_runtime_api() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.sqlite");
    let runtime = RuntimeApi::start().await;
    let mut child_env = events_env(&db);
    child_env.extend(runtime.env());
    let server = Spawned::start(env!("CARGO_BIN_EXE_events"), &child_env);

    let response = runtime
        .invoke(events_fixture("events_post.json", "file_deleted.json"))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", server.logs()));
    assert_eq!(response["statusCode"], 200, "{response}");
    assert_eq!(response["headers"]["x-request-id"], "apigw-events-post");

    let mut unsigned = events_fixture("events_post.json", "file_deleted.json");
    unsigned["body"] = r#"{"EventType":"FileDeleted"}"#.into();
    let response = runtime.invoke(unsigned).await.unwrap();
    assert_eq!(response["statusCode"], 401);
    assert_eq!(
        vodgate::ingest::sink::SqliteSink::open(&db)
            .unwrap()
            .list(0, 10)
            .unwrap()
            .len(),
        1
    );
}
