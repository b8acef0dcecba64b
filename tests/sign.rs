//! The real `sign` binary, driven over HTTP.

mod common;

use common::{Spawned, eventually, hs256, now, upload_token};
use serde_json::{Value, json};
use vodgate::vod::signature::{MacCheck, inspect};

const JWT_SECRET: &str = "black-box-jwt-secret-0123456789abcdef";
const VOD_KEY: &str = "black-box-vod-secret-key";
const CONTEXT_KEY: &str = "black-box-context-key-0123456789abcdef";

fn env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("PORT", "0"),
        ("VOD_SECRET_ID", "AKIDblackbox"),
        ("VOD_SECRET_KEY", VOD_KEY),
        ("JWT_HS256_SECRET", JWT_SECRET),
        ("VODGATE_CONTEXT_KEY", CONTEXT_KEY),
        ("VOD_PROCEDURE", "Review"),
        ("VOD_SUB_APP_ID", "1500000001"),
        ("SIGN_ALLOWED_PROCEDURES", "Transcode"),
        ("CORS_ALLOWED_ORIGINS", "https://app.example.com"),
    ]
}

struct Sign {
    server: Spawned,
    base: String,
    http: reqwest::Client,
}

impl Sign {
    fn start() -> Self {
        Self::start_with(&[])
    }

    /// The sign binary with the test environment plus `extra`.
    fn start_with(extra: &[(&'static str, &'static str)]) -> Self {
        let mut env = env();
        env.extend_from_slice(extra);
        let mut server = Spawned::start(env!("CARGO_BIN_EXE_sign"), &env);
        let base = server.wait_listening();
        Self {
            server,
            base,
            http: reqwest::Client::new(),
        }
    }

    async fn call(
        &self,
        request: reqwest::RequestBuilder,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:?}"));
        assert!(
            headers.contains_key("x-request-id"),
            "every response carries x-request-id"
        );
        (status, headers, body)
    }

    async fn post(
        &self,
        token: Option<&str>,
        body: &str,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        self.post_to("/v1/upload-signature", token, body).await
    }

    async fn post_to(
        &self,
        path: &str,
        token: Option<&str>,
        body: &str,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .body(body.to_owned());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        self.call(request).await
    }
}

fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn signs_for_an_authenticated_uploader() {
    let app = Sign::start();
    let token = upload_token(JWT_SECRET, "user-42");
    let (status, _, body) = app.post(Some(&token), r#"{"meta":"post_9"}"#).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["code"], 0);
    assert_eq!(body["message"], "ok");
    let signature = body["data"]["signature"].as_str().unwrap();
    let expire_time = body["data"]["expireTime"].as_u64().unwrap();
    assert!((now() + 7_190..=now() + 7_210).contains(&expire_time));

    let report = inspect(signature, Some(VOD_KEY.as_bytes()), now());
    assert_eq!(report.mac, MacCheck::Valid);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(param(&report.params, "secretId"), Some("AKIDblackbox"));
    assert_eq!(param(&report.params, "procedure"), Some("Review"));
    assert_eq!(param(&report.params, "vodSubAppId"), Some("1500000001"));
    assert_eq!(
        param(&report.params, "expireTime"),
        Some(expire_time.to_string().as_str())
    );
    let context = param(&report.params, "sourceContext").unwrap();
    assert_eq!(param(&report.params, "sessionContext"), Some(context));
    let keys = vodgate::platform::secret::SecretList::parse(CONTEXT_KEY).unwrap();
    let who = vodgate::attribution::open(&keys, context).unwrap();
    assert_eq!(who.sub, "user-42");
    assert_eq!(
        who.upload_id.as_str(),
        body["data"]["uploadId"].as_str().unwrap()
    );
    assert_eq!(who.meta.unwrap().as_str(), "post_9");

    // Tencent's sample clients call GET; parameters come from the query string.
    let get = app
        .http
        .get(format!(
            "{}/v1/upload-signature?procedure=Transcode",
            app.base
        ))
        .bearer_auth(&token);
    let (status, _, body) = app.call(get).await;
    assert_eq!(status, 200, "{body}");
    let report = inspect(
        body["data"]["signature"].as_str().unwrap(),
        Some(VOD_KEY.as_bytes()),
        now(),
    );
    assert_eq!(param(&report.params, "procedure"), Some("Transcode"));

    // Each call mints a fresh signature and upload id.
    let (_, _, again) = app.post(Some(&token), "").await;
    assert_ne!(again["data"]["uploadId"], body["data"]["uploadId"]);
}

#[tokio::test]
async fn refuses_with_clear_errors() {
    let app = Sign::start();
    let token = upload_token(JWT_SECRET, "user-1");
    let no_scope = hs256(
        JWT_SECRET,
        &json!({"sub": "u", "scope": "openid", "exp": now() + 600}),
    );
    let expired = hs256(
        JWT_SECRET,
        &json!({"sub": "u", "scope": "vod:upload", "exp": now() - 3600}),
    );

    let (status, headers, body) = app.post(None, "").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("missing_token"))
    );
    assert_eq!(body["code"], 401);
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );

    let (status, headers, body) = app.post(Some("not.a.jwt"), "").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token"))
    );
    assert_eq!(
        headers["www-authenticate"],
        "Bearer error=\"invalid_token\""
    );

    let (status, _, body) = app.post(Some(&expired), "").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("token_expired"))
    );

    let (status, _, body) = app.post(Some(&no_scope), "").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("insufficient_scope"))
    );

    for (request, status, reason) in [
        (r#"{"procedure":"Expensive"}"#, 403, "param_not_allowed"),
        (r#"{"classId":9}"#, 403, "param_not_allowed"),
        (r#"{"sourceContext":"mine"}"#, 403, "param_not_allowed"),
        (r#"{"sessionContext":"mine"}"#, 403, "param_not_allowed"),
        (r#"{"procedur":"typo"}"#, 400, "bad_request"),
        (r#"{"meta":"has space"}"#, 400, "bad_request"),
        ("not json", 400, "bad_request"),
        ("[]", 400, "bad_request"),
    ] {
        let (got, _, body) = app.post(Some(&token), request).await;
        assert_eq!(
            (got, body["error"].as_str()),
            (status, Some(reason)),
            "{request}: {body}"
        );
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }

    let (status, _, body) = app.post(Some(&token), &"x".repeat(64 * 1024)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (413, Some("payload_too_large"))
    );

    let (status, _, body) = app.call(app.http.get(format!("{}/nope", app.base))).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    let (status, _, body) = app
        .call(app.http.delete(format!("{}/v1/upload-signature", app.base)))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (405, Some("method_not_allowed"))
    );
}

#[tokio::test]
async fn health_and_cors() {
    let app = Sign::start();
    let (status, _, body) = app
        .call(app.http.get(format!("{}/healthz", app.base)))
        .await;
    assert_eq!((status, body["code"].as_u64()), (200, Some(0)));

    let preflight = app
        .http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/v1/upload-signature", app.base),
        )
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert!(preflight.headers().contains_key("x-request-id"));

    let token = upload_token(JWT_SECRET, "u");
    let foreign = app
        .http
        .post(format!("{}/v1/upload-signature", app.base))
        .header("origin", "https://evil.example")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(
        !foreign
            .headers()
            .contains_key("access-control-allow-origin")
    );
}

#[tokio::test]
async fn logs_carry_no_secrets_tokens_or_signatures() {
    let app = Sign::start();
    let token = upload_token(JWT_SECRET, "log-user");
    let (_, issued, body) = app.post(Some(&token), "").await;
    let signature = body["data"]["signature"].as_str().unwrap().to_owned();
    let (_, refused, _) = app
        .post(Some("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.bad"), "")
        .await;
    // Both requests' log lines are written before anything is said about what they lack.
    let ids =
        [&issued, &refused].map(|headers| headers["x-request-id"].to_str().unwrap().to_owned());
    let logs = eventually("a log line per request", || {
        let logs = app.server.logs();
        if ids.iter().all(|id| logs.contains(id.as_str())) {
            Ok(logs)
        } else {
            Err(logs)
        }
    })
    .await;
    assert!(
        logs.contains("request_id="),
        "one line per request:\n{logs}"
    );
    assert!(
        logs.contains("sub=\"log-user\"") || logs.contains("sub=log-user"),
        "{logs}"
    );
    for secret in [
        JWT_SECRET,
        VOD_KEY,
        CONTEXT_KEY,
        &token,
        &signature,
        "eyJhbGciOiJIUzI1NiJ9",
    ] {
        assert!(!logs.contains(secret), "log leaks {secret:.12}…:\n{logs}");
    }
}

#[tokio::test]
async fn bad_configuration_fails_fast_naming_the_variable() {
    for (var, value, expected) in [
        ("VODGATE_CONTEXT_KEY", "", "VODGATE_CONTEXT_KEY"),
        (
            "VODGATE_CONTEXT_KEY",
            "a-31-byte-context-key-012345678",
            "VODGATE_CONTEXT_KEY",
        ),
        ("VOD_TASK_PRIORITY", "99", "VOD_TASK_PRIORITY"),
        ("JWT_LEEWAY_SECONDS", "600", "JWT_LEEWAY_SECONDS"),
        ("SIGN_VALIDITY_SECONDS", "99999999", "SIGN_VALIDITY_SECONDS"),
        ("JWT_HS256_SECRET", "", "JWT_HS256_SECRET"),
        ("JWT_HS256_SECRET", "short-secret", "JWT_HS256_SECRET"),
        (
            "JWT_JWKS_URL",
            "http://idp.example.com/jwks.json",
            "JWT_JWKS_URL",
        ),
        ("PORT", "http", "PORT"),
        (
            "CORS_ALLOWED_ORIGINS",
            "app.example.com",
            "CORS_ALLOWED_ORIGINS",
        ),
        (
            "CORS_ALLOWED_ORIGINS",
            "https://app.example.com/app",
            "CORS_ALLOWED_ORIGINS",
        ),
        ("RUST_LOG", "verbose", "RUST_LOG"),
    ] {
        let mut env = env();
        env.retain(|(k, _)| *k != var);
        env.push((var, value));
        let mut server = Spawned::start(env!("CARGO_BIN_EXE_sign"), &env);
        assert_eq!(server.wait_exit(), 1, "{var}={value}");
        let logs = server.logs();
        let errors: Vec<&str> = logs.lines().filter(|l| l.contains("ERROR")).collect();
        assert_eq!(errors.len(), 1, "one line: {logs}");
        assert!(errors[0].contains(expected), "{var}: {logs}");
        assert!(!logs.contains(VOD_KEY) && !logs.contains(JWT_SECRET));
    }
}

#[tokio::test]
async fn rate_limits_each_caller() {
    let app = Sign::start_with(&[("SIGN_RATE_LIMIT", "2/60s,burst=2")]);
    let alice = upload_token(JWT_SECRET, "alice");
    for _ in 0..2 {
        assert_eq!(app.post(Some(&alice), "").await.0, 200);
    }
    let (status, headers, body) = app.post(Some(&alice), "").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("rate_limited"))
    );
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    // Other callers have buckets of their own; unauthenticated calls never reach the limiter.
    assert_eq!(
        app.post(Some(&upload_token(JWT_SECRET, "bob")), "").await.0,
        200
    );
    assert_eq!(app.post(None, "").await.0, 401);
}

fn query(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// What a signature says: its parameters, once its MAC is checked, and the attribution token it
/// seals (the same in `sourceContext` and, with a procedure, `sessionContext`).
fn sealed(
    body: &Value,
) -> (
    Vec<(String, String)>,
    vodgate::attribution::Attribution,
    String,
) {
    let report = inspect(
        body["data"]["signature"].as_str().unwrap(),
        Some(VOD_KEY.as_bytes()),
        now(),
    );
    assert_eq!(report.mac, MacCheck::Valid);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let context = param(&report.params, "sourceContext").unwrap().to_owned();
    assert_eq!(
        param(&report.params, "sessionContext"),
        Some(context.as_str())
    );
    let keys = vodgate::platform::secret::SecretList::parse(CONTEXT_KEY).unwrap();
    let who = vodgate::attribution::open(&keys, &context).expect("the token opens");
    (report.params, who, context)
}

#[tokio::test]
async fn an_upload_keeps_its_id_sub_and_meta_across_refreshes() {
    let app = Sign::start();
    let alice = upload_token(JWT_SECRET, "alice|a.b");
    let (status, _, created) = app
        .post_to("/v1/uploads", Some(&alice), r#"{"meta":"post_9"}"#)
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        (created["code"].as_u64(), created["message"].as_str()),
        (Some(0), Some("ok"))
    );
    assert_eq!(created["data"]["status"], "waiting");
    let id = created["data"]["uploadId"].as_str().unwrap().to_owned();
    assert!(id.ends_with(".post_9") && id.len() == 28 + 7, "{id}");
    let expire_time = created["data"]["expireTime"].as_u64().unwrap();
    assert!((now() + 7_190..=now() + 7_210).contains(&expire_time));
    let (_, who, token) = sealed(&created);
    assert!(token.starts_with("v2."), "{token}");
    assert_eq!(who.sub, "alice|a.b");
    assert_eq!(who.upload_id.as_str(), id);
    assert_eq!(who.meta.as_ref().unwrap().as_str(), "post_9");

    // Three refreshes, as vod-js-sdk-v6 asks before each step: the id alone (POST body, GET
    // query), or with the same meta; other fields are decided per call.
    let get = app
        .http
        .get(format!(
            "{}/v1/upload-signature?{}",
            app.base,
            query(&[("uploadId", &id), ("procedure", "Transcode")])
        ))
        .bearer_auth(&alice);
    let refreshes = [
        app.post(Some(&alice), &json!({"uploadId": id}).to_string())
            .await,
        app.call(get).await,
        app.post(
            Some(&alice),
            &json!({"uploadId": id, "meta": "post_9"}).to_string(),
        )
        .await,
    ];
    for (i, (status, _, body)) in refreshes.iter().enumerate() {
        assert_eq!(*status, 200, "refresh {i}: {body}");
        assert_eq!(body["data"]["uploadId"], id.as_str(), "refresh {i}");
        assert!(body["data"].get("status").is_none());
        let (params, again, _) = sealed(body);
        assert_eq!(
            again, who,
            "refresh {i} seals the same upload, sub and meta"
        );
        let procedure = if i == 1 { "Transcode" } else { "Review" };
        assert_eq!(param(&params, "procedure"), Some(procedure), "refresh {i}");
    }

    // Each creation is a new upload.
    let (_, _, other) = app.post_to("/v1/uploads", Some(&alice), "").await;
    assert_ne!(other["data"]["uploadId"], id.as_str());
    assert!(!other["data"]["uploadId"].as_str().unwrap().contains('.'));
}

#[tokio::test]
async fn only_the_owner_refreshes_and_the_meta_stays() {
    let app = Sign::start();
    let alice = upload_token(JWT_SECRET, "alice");
    let bob = upload_token(JWT_SECRET, "bob");
    let (_, _, created) = app
        .post_to("/v1/uploads", Some(&alice), r#"{"meta":"post_1"}"#)
        .await;
    let id = created["data"]["uploadId"].as_str().unwrap().to_owned();

    let mut flipped = id.clone().into_bytes();
    flipped[5] = if flipped[5] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let core = &id[..28];
    // A v1 id, as the signature route gave before uploads had ids of their own.
    let v1 = "3VyyNri9Z7UR88ByPfjFyg";
    let mut answers = Vec::new();
    for (token, candidate) in [
        (&bob, id.as_str()),
        (&alice, flipped.as_str()),
        (&alice, core),
        (&alice, &format!("{core}.post_2")),
        (&alice, v1),
        (&alice, "not-an-id"),
        (&alice, ""),
    ] {
        let (status, _, body) = app
            .post(Some(token), &json!({"uploadId": candidate}).to_string())
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (404, Some("not_found")),
            "{candidate}: {body}"
        );
        answers.push(body["message"].clone());
        let get = app
            .http
            .get(format!(
                "{}/v1/upload-signature?{}",
                app.base,
                query(&[("uploadId", candidate)])
            ))
            .bearer_auth(token);
        let (status, _, body) = app.call(get).await;
        assert_eq!(status, 404, "GET {candidate}: {body}");
        answers.push(body["message"].clone());
    }
    answers.dedup();
    assert_eq!(
        answers.len(),
        1,
        "one answer for every unknown id: {answers:?}"
    );

    let (status, _, body) = app
        .post(
            Some(&alice),
            &json!({"uploadId": id, "meta": "post_2"}).to_string(),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("param_not_allowed")),
        "{body}"
    );
    // Creation takes no uploadId, and the route only creates.
    let (status, _, body) = app
        .post_to(
            "/v1/uploads",
            Some(&alice),
            &json!({"uploadId": id}).to_string(),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("bad_request")),
        "{body}"
    );
    let (status, _, body) = app.post_to("/v1/uploads", None, "").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("missing_token"))
    );
    let (status, _, body) = app
        .call(
            app.http
                .get(format!("{}/v1/uploads", app.base))
                .bearer_auth(&alice),
        )
        .await;
    // GET lists uploads, which this server (no UPLOADS_STORE) does not keep.
    assert_eq!(
        (status, body["error"].as_str()),
        (501, Some("not_configured"))
    );
    // The owner still refreshes after all that.
    let (status, _, body) = app
        .post(Some(&alice), &json!({"uploadId": id}).to_string())
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn creating_and_refreshing_spend_the_rate_limit() {
    let app = Sign::start_with(&[("SIGN_RATE_LIMIT", "3/1h,burst=3")]);
    let alice = upload_token(JWT_SECRET, "alice");
    let (status, _, created) = app.post_to("/v1/uploads", Some(&alice), "").await;
    assert_eq!(status, 201);
    let refresh = json!({"uploadId": created["data"]["uploadId"]}).to_string();
    for _ in 0..2 {
        assert_eq!(app.post(Some(&alice), &refresh).await.0, 200);
    }
    for (path, body) in [
        ("/v1/upload-signature", refresh.as_str()),
        ("/v1/uploads", ""),
    ] {
        let (status, headers, body) = app.post_to(path, Some(&alice), body).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (429, Some("rate_limited")),
            "{path}"
        );
        assert!(headers.contains_key("retry-after"));
    }
}

#[tokio::test]
async fn declared_file_size_and_type_over_a_limit_are_refused_before_signing() {
    let app = Sign::start_with(&[
        ("UPLOAD_MAX_BYTES", "100MB"),
        ("UPLOAD_ALLOWED_CONTAINERS", "mp4,webm"),
    ]);
    let alice = upload_token(JWT_SECRET, "alice");
    for (path, body, names) in [
        (
            "/v1/uploads",
            r#"{"fileSize":100000001}"#,
            "fileSize is 100000001 bytes, over the limit of 100000000 bytes (UPLOAD_MAX_BYTES)",
        ),
        (
            "/v1/upload-signature",
            r#"{"fileType":"avi"}"#,
            "fileType \"avi\" is not an allowed format (mp4,webm; UPLOAD_ALLOWED_CONTAINERS)",
        ),
    ] {
        let (status, _, refused) = app.post_to(path, Some(&alice), body).await;
        assert_eq!(
            (status, refused["error"].as_str()),
            (403, Some("upload_not_allowed")),
            "{path}: {refused}"
        );
        assert_eq!(refused["message"], names, "{path}");
        assert!(
            refused.get("data").is_none_or(Value::is_null),
            "no signature"
        );
    }
    // Within the limits, by extension or by a name of the same container family.
    let (status, _, created) = app
        .post_to(
            "/v1/uploads",
            Some(&alice),
            r#"{"fileSize":100000000,"fileType":".MOV"}"#,
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let (status, _, _) = app
        .call(
            app.http
                .get(format!(
                    "{}/v1/upload-signature?fileSize=10&fileType=webm",
                    app.base
                ))
                .bearer_auth(&alice),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _, bad) = app
        .post_to("/v1/uploads", Some(&alice), r#"{"fileType":"video/mp4"}"#)
        .await;
    assert_eq!((status, bad["error"].as_str()), (400, Some("bad_request")));
}

#[tokio::test]
async fn head_on_a_minting_route_is_405_and_spends_nothing() {
    let app = Sign::start_with(&[("SIGN_RATE_LIMIT", "1/1h")]);
    let token = upload_token(JWT_SECRET, "user-head");
    for path in ["/v1/upload-signature", "/v1/uploads"] {
        let response = app
            .http
            .head(format!("{}{path}", app.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 405, "HEAD {path}");
        assert_eq!(response.headers()["allow"], "GET, POST", "HEAD {path}");
    }
    // The one signature the limit allows is still there.
    let (status, _, body) = app.post(Some(&token), "").await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn no_answer_of_a_minting_route_may_be_cached() {
    let app = Sign::start();
    let token = upload_token(JWT_SECRET, "user-cache");
    let mut seen = Vec::new();
    for (path, token, body) in [
        ("/v1/upload-signature", Some(token.as_str()), ""),
        ("/v1/uploads", Some(token.as_str()), ""),
        ("/v1/upload-signature", None, ""),
        ("/v1/upload-signature", Some(token.as_str()), "[1]"),
        ("/v1/uploads", Some(token.as_str()), r#"{"uploadId":"x"}"#),
    ] {
        let (status, headers, _) = app.post_to(path, token, body).await;
        seen.push((
            status,
            headers["cache-control"].to_str().unwrap().to_owned(),
        ));
    }
    let (status, headers, _) = app
        .call(app.http.put(format!("{}/v1/upload-signature", app.base)))
        .await;
    seen.push((
        status,
        headers["cache-control"].to_str().unwrap().to_owned(),
    ));
    let no_store = |status| (status, "no-store".to_owned());
    assert_eq!(seen, [200, 201, 401, 400, 400, 405].map(no_store).to_vec());
}

#[tokio::test]
async fn a_json_body_that_repeats_a_key_is_400() {
    let app = Sign::start();
    let token = upload_token(JWT_SECRET, "user-dup");
    for path in ["/v1/upload-signature", "/v1/uploads"] {
        let (status, _, body) = app
            .post_to(
                path,
                Some(&token),
                r#"{"procedure":"Transcode","procedure":"Review"}"#,
            )
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("bad_request")),
            "{path}: {body}"
        );
        assert!(body["message"].as_str().unwrap().contains("procedure"));
    }
}

#[tokio::test]
async fn with_sign_meta_claim_the_token_decides_the_meta() {
    let app = Sign::start_with(&[("SIGN_META_CLAIM", "post")]);
    let token = |post: Value| {
        let mut claims = json!({"sub": "user-m", "scope": "vod:upload", "exp": now() + 600});
        if !post.is_null() {
            claims["post"] = post;
        }
        hs256(JWT_SECRET, &claims)
    };
    let keys = vodgate::platform::secret::SecretList::parse(CONTEXT_KEY).unwrap();
    let meta_of = |body: &Value| {
        let (context, _) = common::signature_contexts(body["data"]["signature"].as_str().unwrap());
        vodgate::attribution::open(&keys, &context)
            .unwrap()
            .meta
            .map(|m| m.as_str().to_owned())
    };

    let (status, _, created) = app
        .post_to("/v1/uploads", Some(&token(json!("post_7"))), "")
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(meta_of(&created).as_deref(), Some("post_7"));
    let (status, _, body) = app.post(Some(&token(Value::Null)), "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(meta_of(&body), None);

    // The request may not choose, and a token for another post may not refresh this upload.
    let refresh = json!({"uploadId": created["data"]["uploadId"]}).to_string();
    for (token, body) in [
        (token(json!("post_7")), r#"{"meta":"post_7"}"#.to_owned()),
        (token(json!("post_7")), r#"{"meta":"post_8"}"#.to_owned()),
        (token(json!("a.b")), String::new()),
        (token(json!(7)), String::new()),
        (token(json!("post_8")), refresh.clone()),
    ] {
        let (status, _, answer) = app.post(Some(&token), &body).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (403, Some("param_not_allowed")),
            "{body}: {answer}"
        );
    }
    let (_, _, answer) = app.post(Some(&token(json!("a.b"))), "").await;
    assert!(
        answer["message"].as_str().unwrap().contains("post"),
        "{answer}"
    );
    let (status, _, body) = app.post(Some(&token(json!("post_7"))), &refresh).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(meta_of(&body).as_deref(), Some("post_7"));
}

/// A proxy in the environment is not ours: the JWKS is downloaded directly, whatever
/// `HTTP_PROXY`, `HTTPS_PROXY` or `ALL_PROXY` say (here, a port where nothing listens).
#[tokio::test(flavor = "multi_thread")]
async fn outbound_http_ignores_proxies_from_the_environment() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let hits = Arc::new(AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let jwks = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let counter = Arc::clone(&hits);
    let app = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { r#"{"keys":[]}"# }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let dead = "http://127.0.0.1:9";
    let mut with_proxies = env();
    with_proxies.extend([
        ("JWT_ISSUER", "https://issuer.example"),
        ("JWT_AUDIENCE", "vodgate"),
        ("HTTP_PROXY", dead),
        ("HTTPS_PROXY", dead),
        ("ALL_PROXY", dead),
        ("http_proxy", dead),
        ("all_proxy", dead),
    ]);
    with_proxies.push(("JWT_JWKS_URL", &jwks));
    let mut server = Spawned::start(env!("CARGO_BIN_EXE_sign"), &with_proxies);
    server.wait_listening();
    assert_eq!(hits.load(Ordering::SeqCst), 1, "{}", server.logs());

    let mut env = env();
    env.push(("VODGATE_HTTPS_PROXY", "proxy.internal:3128"));
    let mut refused = Spawned::start(env!("CARGO_BIN_EXE_sign"), &env);
    assert_eq!(refused.wait_exit(), 1);
    assert!(
        refused.logs().contains("VODGATE_HTTPS_PROXY"),
        "{}",
        refused.logs()
    );
}
