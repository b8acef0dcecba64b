//! Logs and metrics of full runs of both function binaries, at the most verbose level anyone
//! could ask for: every response's request id is logged, metrics are emitted under Lambda, and no
//! secret, token, signature or callback body ever appears.

mod common;

use common::lambda_runtime::RuntimeApi;
use common::{Spawned, eventually, hs256, now, upload_callback, upload_token};
use serde_json::{Value, json};
use vodgate::platform::secret::Secret;
use vodgate::vod::callback_auth::sign_for;

const JWT_SECRET: &str = "logs-jwt-secret-0123456789abcdef-XYZ";
const VOD_KEY: &str = "logs-vod-secret-key-QWERTY";
const CONTEXT_KEY: &str = "logs-context-key-ASDFGH-0123456789";
const CALLBACK_KEY: &str = "LogsCallbackKey99LogsCall";
const PATH_TOKEN: &str = "logs-path-token-ZXCVBN-123";

fn sign_env() -> Vec<(&'static str, String)> {
    vec![
        ("VOD_SECRET_ID", "AKIDlogs".to_owned()),
        ("VOD_SECRET_KEY", VOD_KEY.to_owned()),
        ("JWT_HS256_SECRET", JWT_SECRET.to_owned()),
        ("VODGATE_CONTEXT_KEY", CONTEXT_KEY.to_owned()),
        ("VOD_PROCEDURE", "Review".to_owned()),
    ]
}

fn events_env(db: &std::path::Path) -> Vec<(&'static str, String)> {
    vec![
        ("EVENT_SINK", format!("sqlite:{}", db.display())),
        ("VOD_CALLBACK_KEYS", CALLBACK_KEY.to_owned()),
        ("VOD_CALLBACK_TOKEN", PATH_TOKEN.to_owned()),
        ("VODGATE_CONTEXT_KEY", CONTEXT_KEY.to_owned()),
    ]
}

/// The same upload event each time (so a second delivery is a duplicate), signed to expire
/// `ahead` seconds from now.
fn callback(context: &str, ahead: i64) -> Value {
    let mut body = upload_callback(context, CALLBACK_KEY);
    body["FileUploadEvent"]["MediaBasicInfo"]["Name"] = "private-holiday-clip.mp4".into();
    body["FileUploadEvent"]["MediaBasicInfo"]["MediaUrl"] = "https://example.invalid/v.mp4".into();
    body["FileUploadEvent"]["FileId"] = "5285890000000000001".into();
    let t = now() as i64 + ahead;
    body["T"] = t.into();
    body["Sign"] = sign_for(&Secret::new(CALLBACK_KEY), t).into();
    body
}

/// Everything that must never be logged, given what the run produced.
fn forbidden(token: &str, signature: &str, context: &str, callback: &Value) -> Vec<String> {
    vec![
        JWT_SECRET.to_owned(),
        VOD_KEY.to_owned(),
        CONTEXT_KEY.to_owned(),
        CALLBACK_KEY.to_owned(),
        PATH_TOKEN.to_owned(),
        token.to_owned(),
        token.split('.').nth(1).unwrap().to_owned(),
        token.split('.').nth(2).unwrap().to_owned(),
        signature.to_owned(),
        signature[..40].to_owned(),
        context.to_owned(),
        callback["Sign"].as_str().unwrap().to_owned(),
        "private-holiday-clip.mp4".to_owned(),
    ]
}

fn assert_clean(output: &str, forbidden: &[String]) {
    for secret in forbidden {
        assert!(
            !output.contains(secret.as_str()),
            "output leaks {secret:.16}…:\n{output}"
        );
    }
}

#[tokio::test]
async fn http_mode_at_trace_level_logs_every_request_and_nothing_secret() {
    let dir = tempfile::tempdir().unwrap();
    let mut sign_env = sign_env();
    sign_env.extend([("PORT", "0".to_owned()), ("RUST_LOG", "trace".to_owned())]);
    let mut events_env = events_env(&dir.path().join("events.sqlite"));
    events_env.extend([("PORT", "0".to_owned()), ("RUST_LOG", "trace".to_owned())]);
    let mut sign = Spawned::start(env!("CARGO_BIN_EXE_sign"), &sign_env);
    let mut events = Spawned::start(env!("CARGO_BIN_EXE_events"), &events_env);
    let (sign_base, events_base) = (sign.wait_listening(), events.wait_listening());
    let http = reqwest::Client::new();
    let mut request_ids = Vec::new();

    let token = upload_token(JWT_SECRET, "log-reader");
    let expired = hs256(
        JWT_SECRET,
        &json!({"sub": "x", "scope": "vod:upload", "exp": now() - 600}),
    );
    let mut signature = String::new();
    for (bearer, body) in [
        (token.as_str(), r#"{"meta":"m1"}"#),
        (expired.as_str(), ""),
        (token.as_str(), r#"{"sourceContext":"forged"}"#),
        ("garbage.token.value", ""),
    ] {
        let response = http
            .post(format!("{sign_base}/v1/upload-signature"))
            .bearer_auth(bearer)
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        request_ids.push(
            response.headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
        let answer: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
        if let Some(s) = answer["data"]["signature"].as_str() {
            signature = s.to_owned();
        }
    }
    let report = vodgate::vod::signature::inspect(&signature, None, now());
    let context = report
        .params
        .iter()
        .find(|(k, _)| k == "sourceContext")
        .unwrap()
        .1
        .clone();

    let good = callback(&context, 600);
    let events_url = format!("{events_base}/v1/vod/events/{PATH_TOKEN}");
    for body in [
        good.clone(),
        callback(&context, 300),
        callback(&context, -60),
        json!({"no": "type"}),
    ] {
        let response = http
            .post(&events_url)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        request_ids.push(
            response.headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
    }
    let response = http
        .post(format!("{events_base}/v1/vod/events/wrong-token-000000"))
        .body(good.to_string())
        .send()
        .await
        .unwrap();
    request_ids.push(
        response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned(),
    );
    // Each response went out after its log line was written; wait until the pipes carried them.
    let output = eventually("a log line for every request", || {
        let output = format!(
            "{}{}{}{}",
            sign.logs(),
            sign.stdout(),
            events.logs(),
            events.stdout()
        );
        if request_ids.iter().all(|id| output.contains(id.as_str())) {
            Ok(output)
        } else {
            Err(output)
        }
    })
    .await;
    for id in &request_ids {
        let line = output
            .lines()
            .find(|l| l.contains(id.as_str()))
            .unwrap_or_else(|| panic!("request {id} is logged:\n{output}"));
        assert!(
            line.contains("status=") && line.contains("latency_ms="),
            "{line}"
        );
    }
    assert!(
        output.contains("sub=\"log-reader\""),
        "the caller's sub is logged"
    );
    assert!(
        output.contains("duplicate=true"),
        "the redelivery is logged as a duplicate:\n{output}"
    );
    assert!(
        !output.contains("CloudWatchMetrics"),
        "no EMF lines outside Lambda"
    );
    assert_clean(&output, &forbidden(&token, &signature, &context, &good));
}

#[tokio::test]
async fn lambda_mode_writes_json_logs_and_emf_metrics_and_nothing_secret() {
    let dir = tempfile::tempdir().unwrap();
    let lambda_log = [
        ("AWS_LAMBDA_LOG_LEVEL", "TRACE".to_owned()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
    ];
    let sign_runtime = RuntimeApi::start().await;
    let mut env = sign_env();
    env.extend(sign_runtime.env());
    env.extend(lambda_log.clone());
    let sign = Spawned::start(env!("CARGO_BIN_EXE_sign"), &env);
    let events_runtime = RuntimeApi::start().await;
    let mut env = events_env(&dir.path().join("events.sqlite"));
    env.extend(events_runtime.env());
    env.extend(lambda_log);
    let events = Spawned::start(env!("CARGO_BIN_EXE_events"), &env);

    let fixture = |name: &str| -> Value {
        serde_json::from_str(
            &std::fs::read_to_string(common::root().join("tests/fixtures/apigw").join(name))
                .unwrap(),
        )
        .unwrap()
    };
    let token = upload_token(JWT_SECRET, "lambda-log-reader");
    let mut request = fixture("sign_post.json");
    request["headers"]["authorization"] = format!("Bearer {token}").into();
    let issued = sign_runtime.invoke(request).await.unwrap();
    let body: Value = serde_json::from_str(issued["body"].as_str().unwrap()).unwrap();
    let signature = body["data"]["signature"].as_str().unwrap().to_owned();
    let mut unauthenticated = fixture("sign_no_token.json");
    unauthenticated["requestContext"]["requestId"] = "apigw-no-token".into();
    assert_eq!(
        sign_runtime.invoke(unauthenticated).await.unwrap()["statusCode"],
        401
    );

    let report = vodgate::vod::signature::inspect(&signature, None, now());
    let context = report
        .params
        .iter()
        .find(|(k, _)| k == "sourceContext")
        .unwrap()
        .1
        .clone();
    let good = callback(&context, 600);
    for (body, status) in [
        (good.clone(), 200),
        (callback(&context, 400), 200),
        (callback(&context, -5), 401),
    ] {
        let mut request = fixture("events_post.json");
        request["rawPath"] = format!("/v1/vod/events/{PATH_TOKEN}").into();
        request["requestContext"]["http"]["path"] = request["rawPath"].clone();
        request["body"] = body.to_string().into();
        assert_eq!(
            events_runtime.invoke(request).await.unwrap()["statusCode"],
            status
        );
    }
    // Under Lambda a request's EMF line and then its log line go to stdout before the response
    // does: once five request lines are in, so is everything else the requests wrote.
    let is_request_line = |l: &str| l.starts_with('{') && l.contains(r#""message":"request""#);
    let output = eventually("a JSON log line for each of the five requests", || {
        let output = format!(
            "{}{}{}{}",
            sign.stdout(),
            sign.logs(),
            events.stdout(),
            events.logs()
        );
        if output.lines().filter(|l| is_request_line(l)).count() >= 5 {
            Ok(output)
        } else {
            Err(output)
        }
    })
    .await;
    let documents: Vec<Value> = output
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let emf: Vec<&Value> = documents
        .iter()
        .filter(|d| d.get("_aws").is_some())
        .collect();
    let metric = |name: &str| emf.iter().filter(|d| d.get(name).is_some()).count();
    assert_eq!(metric("SignaturesIssued"), 1, "{output}");
    assert_eq!(metric("AuthFailures"), 1);
    assert_eq!(metric("EventsStored"), 1);
    assert_eq!(metric("EventDuplicates"), 1);
    assert_eq!(metric("EventsRejected"), 1);
    assert_eq!(metric("SinkLatency"), 2);
    let rejected = emf
        .iter()
        .find(|d| d.get("EventsRejected").is_some())
        .unwrap();
    assert_eq!(rejected["Reason"], "signature_expired");
    assert_eq!(
        rejected["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "vodgate"
    );
    let request_lines: Vec<&Value> = documents
        .iter()
        .filter(|d| d["fields"]["message"] == "request")
        .collect();
    assert_eq!(
        request_lines.len(),
        5,
        "one JSON line per request:\n{output}"
    );
    assert!(
        request_lines
            .iter()
            .any(|l| l["fields"]["request_id"] == "apigw-sign-post")
    );
    assert_clean(&output, &forbidden(&token, &signature, &context, &good));
}
