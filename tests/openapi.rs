//! `openapi.yaml` against the real binaries: every answer the routers give is documented (status,
//! headers, body schema, `error` reason), and every (path, method, status, reason) the document
//! lists is produced here, except the few in [`UNREACHABLE_IN_TEST`]. So the document cannot
//! gain, or lose, an answer without this test noticing.
//!
//! Schemas are checked with `jsonschema` (draft 2020-12, what OpenAPI 3.1 uses) over the whole
//! document registered as one resource, so `#/components/...` references and the relative
//! reference to `schemas/envelope.schema.json` resolve as any OpenAPI tool resolves them.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{
    Spawned, callback_fixture, hs256, now, signature_contexts, signed, upload_callback,
    upload_events, upload_token,
};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};
use vodgate::ingest::sink::SqliteSink;
use vodgate::platform::secret::Secret;
use vodgate::vod::callback_auth::sign_for;

const JWT_SECRET: &str = "openapi-jwt-secret-0123456789abcdef";
const VOD_KEY: &str = "openapi-vod-secret-key";
const CONTEXT_KEY: &str = "openapi-context-key-0123456789abcdef";
const SIGN_KEY: &str = "OpenApiKey1OpenApiKey1Op";
const PATH_TOKEN: &str = "openapi-path-token-0123";

/// Where the document lives for reference resolution. The envelope schema's `$id` mirrors the
/// repository layout under the same base, so the document's relative `$ref` to
/// `schemas/envelope.schema.json` lands on it by path and by id alike.
const BASE_URI: &str = "https://vodgate.invalid/";
const ENVELOPE_SCHEMA: &str = "schemas/envelope.schema.json";

/// Documented answers no request can produce here, with the reason. Keys are
/// (path, method, status, reason) as in the document.
const UNREACHABLE_IN_TEST: &[(&str, &str, u16, &str, &str)] = &[
    (
        "/v1/upload-signature",
        "get",
        500,
        "internal",
        "only a bug answers it: every input that could make sealing or signing fail (sub over \
         128 bytes, meta over 64, validity over 90 days) is refused before",
    ),
    (
        "/v1/upload-signature",
        "post",
        500,
        "internal",
        "as for GET",
    ),
    (
        "/v1/upload-signature",
        "post",
        408,
        "request_timeout",
        "needs a body that stalls, which reqwest cannot send; tests/limits.rs checks it over a \
         raw socket, envelope included",
    ),
    (
        "/v1/uploads",
        "post",
        500,
        "internal",
        "as for GET /v1/upload-signature",
    ),
    (
        "/v1/uploads",
        "post",
        408,
        "request_timeout",
        "as for POST /v1/upload-signature",
    ),
    (
        "/v1/vod/events",
        "post",
        408,
        "request_timeout",
        "as for sign",
    ),
    (
        "/v1/vod/events/{token}",
        "post",
        408,
        "request_timeout",
        "as for sign",
    ),
];

/// Methods probed on every documented path: the ones a path does not document must be 405.
const PROBED_METHODS: [&str; 6] = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];

type Key = (String, String, u16, String);

fn doc_uri() -> String {
    format!("{BASE_URI}openapi.yaml")
}

fn load_doc() -> Value {
    let text = std::fs::read_to_string(common::root().join("openapi.yaml")).unwrap();
    serde_norway::from_str(&text).expect("openapi.yaml is YAML")
}

fn load_envelope_schema() -> Value {
    let text = std::fs::read_to_string(common::root().join(ENVELOPE_SCHEMA)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A JSON pointer token (`/` and `~` escaped).
fn token(raw: &str) -> String {
    raw.replace('~', "~0").replace('/', "~1")
}

/// The document and a registry that resolves references into it.
struct Spec {
    doc: Value,
    registry: jsonschema::Registry<'static>,
}

impl Spec {
    fn load() -> Self {
        let doc = load_doc();
        let registry = jsonschema::Registry::new()
            .add(doc_uri(), doc.clone())
            .unwrap()
            .add(
                format!("{BASE_URI}{ENVELOPE_SCHEMA}"),
                load_envelope_schema(),
            )
            .unwrap()
            .prepare()
            .expect("the document's references resolve");
        Self { doc, registry }
    }

    /// A validator for the schema at `pointer` (a JSON pointer into the document).
    fn validator(&self, pointer: &str) -> jsonschema::Validator {
        const FRAGMENT: &AsciiSet = &NON_ALPHANUMERIC
            .remove(b'/')
            .remove(b'~')
            .remove(b'-')
            .remove(b'_')
            .remove(b'.');
        assert!(
            self.doc.pointer(pointer).is_some(),
            "openapi.yaml has nothing at {pointer}"
        );
        let uri = format!("{}#{}", doc_uri(), utf8_percent_encode(pointer, FRAGMENT));
        jsonschema::options()
            .with_registry(&self.registry)
            .build(&json!({ "$ref": uri }))
            .unwrap_or_else(|e| panic!("schema at {pointer}: {e}"))
    }

    /// `Err` with every violation if `instance` does not match the schema at `pointer`.
    fn validate(&self, pointer: &str, instance: &Value) -> Result<(), String> {
        let validator = self.validator(pointer);
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    /// Follows a local `$ref` (responses, headers, ...): the object and its pointer.
    fn resolve<'a>(&'a self, pointer: &str) -> (&'a Value, String) {
        let mut pointer = pointer.to_owned();
        loop {
            let value = self
                .doc
                .pointer(&pointer)
                .unwrap_or_else(|| panic!("openapi.yaml has nothing at {pointer}"));
            match value.get("$ref").and_then(Value::as_str) {
                Some(target) if target.starts_with("#/") => pointer = target[1..].to_owned(),
                _ => return (value, pointer),
            }
        }
    }

    fn paths(&self) -> &serde_json::Map<String, Value> {
        self.doc["paths"].as_object().unwrap()
    }

    /// The documented operation a request reaches, as (path, method); ("*", "*") when none
    /// does, and the answer is one of `x-unmatched-requests`.
    fn route(&self, url_path: &str, method: &str) -> (String, String) {
        let method = method.to_ascii_lowercase();
        let segments: Vec<&str> = url_path.split('/').collect();
        for (template, item) in self.paths() {
            let parts: Vec<&str> = template.split('/').collect();
            let matches = parts.len() == segments.len()
                && parts.iter().zip(&segments).all(|(p, s)| {
                    p == s || (p.starts_with('{') && p.ends_with('}') && !s.is_empty())
                });
            if matches && item.get(&method).is_some() {
                return (template.clone(), method);
            }
        }
        ("*".into(), "*".into())
    }

    /// Pointer to the responses object of an operation (or of `x-unmatched-requests`).
    fn responses_pointer(&self, path: &str, method: &str) -> String {
        if path == "*" {
            "/x-unmatched-requests/responses".to_owned()
        } else {
            format!("/paths/{}/{method}/responses", token(path))
        }
    }

    /// Every documented response: (path, method, status, response pointer).
    fn responses(&self) -> Vec<(String, String, u16, String)> {
        let mut operations = vec![("*".to_owned(), "*".to_owned())];
        for (path, item) in self.paths() {
            for method in item.as_object().unwrap().keys() {
                if ["get", "post", "put", "delete", "patch", "options", "head"]
                    .contains(&method.as_str())
                {
                    operations.push((path.clone(), method.clone()));
                }
            }
        }
        let mut all = Vec::new();
        for (path, method) in operations {
            let base = self.responses_pointer(&path, &method);
            let responses = self.doc.pointer(&base).unwrap().as_object().unwrap();
            for status in responses.keys() {
                let code: u16 = status.parse().expect("numeric status codes only");
                all.push((
                    path.clone(),
                    method.clone(),
                    code,
                    format!("{base}/{status}"),
                ));
            }
        }
        all
    }

    /// The `error` reasons a response's schema allows (its `allOf` narrowing of ErrorEnvelope).
    fn reasons(&self, response_pointer: &str) -> Vec<String> {
        let (response, _) = self.resolve(response_pointer);
        response["content"]["application/json"]["schema"]["allOf"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|part| part["properties"]["error"]["enum"].as_array())
            .flatten()
            .map(|r| r.as_str().unwrap().to_owned())
            .collect()
    }

    /// Every (path, method, status, reason) the document promises; reason is "" for successes.
    fn documented_keys(&self) -> BTreeSet<Key> {
        let mut keys = BTreeSet::new();
        for (path, method, status, pointer) in self.responses() {
            if status < 400 {
                keys.insert((path, method, status, String::new()));
            } else {
                for reason in self.reasons(&pointer) {
                    keys.insert((path.clone(), method.clone(), status, reason));
                }
            }
        }
        keys
    }
}

/// A request and the answer it must get.
struct Example {
    server: Server,
    method: &'static str,
    url: String,
    bearer: Option<String>,
    body: Option<Vec<u8>>,
    status: u16,
    reason: Option<&'static str>,
    /// Whether the JSON body must (not) match the operation's request schema. Every 2xx example
    /// with a body must match; chosen 400 examples must not.
    request_matches: Option<bool>,
}

fn ex(server: Server, method: &'static str, url: impl Into<String>, status: u16) -> Example {
    Example {
        server,
        method,
        url: url.into(),
        bearer: None,
        body: None,
        status,
        reason: None,
        request_matches: None,
    }
}

impl Example {
    fn bearer(mut self, token: &str) -> Self {
        self.bearer = Some(token.to_owned());
        self
    }
    fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }
    fn json(self, body: &Value) -> Self {
        self.body(body.to_string())
    }
    fn reason(mut self, reason: &'static str) -> Self {
        self.reason = Some(reason);
        self
    }
    /// The body breaks the documented request schema (and the server refuses it).
    fn off_schema(mut self) -> Self {
        self.request_matches = Some(false);
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    /// `sign` with HS256, client allow-lists and the uploads store the events servers keep.
    Sign,
    /// `sign` whose JWKS cannot be fetched (a closed loopback port).
    SignNoJwks,
    /// `sign` allowing one signature and two reads per caller per hour, without `UPLOADS_STORE`.
    SignLimited,
    /// `events` with a callback key, on the bare path.
    Events,
    /// `events` with a callback key and a path token, sharing the SQLite file with `Events`.
    EventsToken,
}

struct Harness {
    spec: Spec,
    http: reqwest::Client,
    bases: Vec<(Server, String)>,
    covered: Mutex<BTreeSet<Key>>,
    _servers: Vec<Spawned>,
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Harness {
    fn base(&self, server: Server) -> &str {
        &self.bases.iter().find(|(s, _)| *s == server).unwrap().1
    }

    /// Sends `example`, checks the answer against the example and the document, and records
    /// what it covered.
    async fn run(&self, example: &Example) -> Answer {
        let what = format!(
            "{:?} {} {}",
            example.server,
            example.method,
            example.url.chars().take(120).collect::<String>()
        );
        let method = reqwest::Method::from_bytes(example.method.as_bytes()).unwrap();
        let mut request = self.http.request(
            method,
            format!("{}{}", self.base(example.server), example.url),
        );
        if let Some(token) = &example.bearer {
            request = request.bearer_auth(token);
        }
        if let Some(body) = &example.body {
            request = request.body(body.clone());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body: Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{what}: answer is not JSON: {text:.200}"));
        assert_eq!(status, example.status, "{what}: {body}");
        if let Some(reason) = example.reason {
            assert_eq!(body["error"], reason, "{what}");
        }

        let url_path = example.url.split('?').next().unwrap();
        let (path, op_method) = self.spec.route(url_path, example.method);
        let responses = self.spec.responses_pointer(&path, &op_method);
        let pointer = format!("{responses}/{status}");
        assert!(
            self.spec.doc.pointer(&pointer).is_some(),
            "{what}: status {status} is not documented for {op_method} {path}"
        );
        let (response, response_pointer) = self.spec.resolve(&pointer);

        // Headers: the required ones are there, and every documented one present matches.
        for (name, _) in response["headers"].as_object().into_iter().flatten() {
            let (header, header_pointer) = self
                .spec
                .resolve(&format!("{response_pointer}/headers/{}", token(name)));
            match headers.get(name.as_str()) {
                None => assert!(
                    header["required"] != true,
                    "{what}: documented header {name} is missing"
                ),
                Some(value) => {
                    let value = json!(value.to_str().unwrap());
                    if let Err(e) = self
                        .spec
                        .validate(&format!("{header_pointer}/schema"), &value)
                    {
                        panic!("{what}: header {name}: {value} breaks the document: {e}");
                    }
                }
            }
        }
        assert!(headers.contains_key("x-request-id"), "{what}");

        // Body: the documented media type and schema.
        let content = response["content"].as_object().expect("content documented");
        assert_eq!(content.len(), 1);
        let (media, _) = content.iter().next().unwrap();
        let content_type = headers[reqwest::header::CONTENT_TYPE].to_str().unwrap();
        assert!(
            content_type.starts_with(media.as_str()),
            "{what}: {content_type}"
        );
        let schema = format!("{response_pointer}/content/{}/schema", token(media));
        if let Err(e) = self.spec.validate(&schema, &body) {
            panic!("{what}: {body} breaks the documented schema: {e}");
        }

        let reason = body["error"].as_str().unwrap_or_default().to_owned();
        if status >= 400 {
            let reasons = self.spec.reasons(&pointer);
            assert!(
                reasons.contains(&reason),
                "{what}: {reason:?} is not among {reasons:?}"
            );
            assert_eq!(body["code"], status, "{what}");
        }
        if reason == "insufficient_scope" {
            assert_eq!(
                headers["www-authenticate"], "Bearer error=\"insufficient_scope\"",
                "{what}"
            );
        }

        // The request body against the documented request schema.
        let request_matches = example
            .request_matches
            .or(((200..300).contains(&status) && example.body.is_some()).then_some(true));
        if let Some(expected) = request_matches {
            let sent: Value = serde_json::from_slice(example.body.as_deref().unwrap())
                .expect("request_matches needs a JSON body");
            let (_, op_pointer) = self.spec.resolve(&responses);
            let op_pointer = op_pointer.trim_end_matches("/responses");
            let (request_body, body_pointer) =
                self.spec.resolve(&format!("{op_pointer}/requestBody"));
            let media = request_body["content"]
                .as_object()
                .unwrap()
                .keys()
                .next()
                .unwrap();
            let verdict = self.spec.validate(
                &format!("{body_pointer}/content/{}/schema", token(media)),
                &sent,
            );
            assert_eq!(
                verdict.is_ok(),
                expected,
                "{what}: the request schema disagrees with the server: {verdict:?}"
            );
        }

        self.covered
            .lock()
            .unwrap()
            .insert((path, op_method, status, reason));
        Answer {
            status,
            headers,
            body,
        }
    }
}

fn unsigned(mut body: Value) -> Value {
    let object = body.as_object_mut().unwrap();
    object.remove("Sign");
    object.remove("T");
    body
}

/// Every callback fixture VOD could post (the PULL API response is not one).
fn callback_fixtures() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(common::root().join("tests/fixtures/callbacks"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json") && n != "pull_events_response.json")
        .collect();
    names.sort();
    assert!(names.len() >= 10);
    names
}

/// A well-formed RS256 token naming a key id; its signature is never checked because the JWKS
/// that would hold the key cannot be fetched.
fn rs256_shaped_token() -> String {
    let part = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.{}",
        part(json!({"alg": "RS256", "typ": "JWT", "kid": "k1"})),
        part(json!({"sub": "u", "exp": now() + 600, "iss": "https://idp.test", "aud": "vodgate"})),
        URL_SAFE_NO_PAD.encode(b"not-a-signature")
    )
}

fn start_servers(db: &Path) -> Vec<(Server, Spawned)> {
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let jwks_url = format!("http://127.0.0.1:{closed_port}/jwks.json");
    // Events and uploads in one SQLite file, as the dev server keeps them.
    let sink = format!("sqlite:{}", db.display());
    let sign_common = [
        ("PORT", "0"),
        ("VOD_SECRET_ID", "AKIDopenapi"),
        ("VOD_SECRET_KEY", VOD_KEY),
        ("VODGATE_CONTEXT_KEY", CONTEXT_KEY),
    ];
    let mut sign_env = sign_common.to_vec();
    sign_env.extend([
        ("JWT_HS256_SECRET", JWT_SECRET),
        ("VOD_PROCEDURE", "Review"),
        ("SIGN_ALLOWED_PROCEDURES", "Transcode"),
        ("SIGN_ALLOWED_CLASS_IDS", "3"),
        ("SIGN_ALLOWED_STORAGE_REGIONS", "ap-singapore"),
        ("SIGN_MAX_CLIENT_VALIDITY_SECONDS", "86400"),
        ("SIGN_RATE_LIMIT", "off"),
        ("UPLOADS_STORE", sink.as_str()),
        ("UPLOAD_MAX_BYTES", "1GB"),
        ("UPLOAD_ALLOWED_CONTAINERS", "mp4,webm"),
    ]);
    let mut limited_env = sign_common.to_vec();
    limited_env.extend([
        ("JWT_HS256_SECRET", JWT_SECRET),
        ("SIGN_RATE_LIMIT", "1/1h"),
        ("READ_RATE_LIMIT", "2/1h"),
    ]);
    let mut jwks_env = sign_common.to_vec();
    jwks_env.extend([
        ("JWT_JWKS_URL", jwks_url.as_str()),
        ("JWT_ISSUER", "https://idp.test"),
        ("JWT_AUDIENCE", "vodgate"),
    ]);
    let events_env = [
        ("PORT", "0"),
        ("EVENT_SINK", sink.as_str()),
        ("UPLOADS_STORE", sink.as_str()),
        ("VOD_CALLBACK_KEYS", SIGN_KEY),
        ("VODGATE_CONTEXT_KEY", CONTEXT_KEY),
        ("EVENT_STORE_TIMEOUT_SECONDS", "1"),
    ];
    let mut token_env = events_env.to_vec();
    token_env.push(("VOD_CALLBACK_TOKEN", PATH_TOKEN));

    // The events servers open the SQLite file one after the other, so that creating it never
    // races.
    let mut events = Spawned::start(env!("CARGO_BIN_EXE_events"), &events_env);
    events.wait_listening();
    vec![
        (
            Server::Sign,
            Spawned::start(env!("CARGO_BIN_EXE_sign"), &sign_env),
        ),
        (
            Server::SignNoJwks,
            Spawned::start(env!("CARGO_BIN_EXE_sign"), &jwks_env),
        ),
        (
            Server::SignLimited,
            Spawned::start(env!("CARGO_BIN_EXE_sign"), &limited_env),
        ),
        (Server::Events, events),
        (
            Server::EventsToken,
            Spawned::start(env!("CARGO_BIN_EXE_events"), &token_env),
        ),
    ]
}

fn sign_examples() -> Vec<Example> {
    use Server::{Sign, SignLimited, SignNoJwks};
    const ROUTE: &str = "/v1/upload-signature";
    const UPLOADS: &str = "/v1/uploads";
    const AN_UPLOAD: &str = "/v1/uploads/AAECAwQFBgcICQoLLG4VR8Gezn85";
    // Well formed, but no upload of anyone's (a v1 id is never refreshable, a random tag holds
    // for no one).
    const V1_ID: &str = "3VyyNri9Z7UR88ByPfjFyg";
    const NO_ONES_ID: &str = "AAECAwQFBgcICQoLLG4VR8Gezn85.post_77";
    let token = upload_token(JWT_SECRET, "openapi-user");
    let expired = hs256(
        JWT_SECRET,
        &json!({"sub": "u", "scope": "vod:upload", "exp": now() - 3600}),
    );
    let no_scope = hs256(
        JWT_SECRET,
        &json!({"sub": "u", "scope": "openid", "exp": now() + 600}),
    );
    let rs256 = rs256_shaped_token();
    let mut examples = vec![
        // 429: one signature per caller per hour, so the second and third are refused
        ex(SignLimited, "POST", ROUTE, 200).bearer(&token),
        ex(SignLimited, "POST", ROUTE, 429)
            .bearer(&token)
            .reason("rate_limited"),
        ex(SignLimited, "GET", ROUTE, 429)
            .bearer(&token)
            .reason("rate_limited"),
        ex(SignLimited, "POST", UPLOADS, 429)
            .bearer(&token)
            .reason("rate_limited"),
        // Reads have a budget of their own (two an hour here): the signing one is spent, yet
        // the first two reads get through to the missing store (501), then the reads wait too.
        ex(SignLimited, "GET", AN_UPLOAD, 501)
            .bearer(&token)
            .reason("not_configured"),
        ex(SignLimited, "GET", UPLOADS, 501)
            .bearer(&token)
            .reason("not_configured"),
        ex(SignLimited, "GET", AN_UPLOAD, 429)
            .bearer(&token)
            .reason("rate_limited"),
        ex(SignLimited, "GET", UPLOADS, 429)
            .bearer(&token)
            .reason("rate_limited"),
        // Reading uploads: no one's ids are 404; the caller's listing pages; bad pages are 400
        ex(Sign, "GET", format!("{UPLOADS}/{NO_ONES_ID}"), 404)
            .bearer(&token)
            .reason("not_found"),
        ex(Sign, "GET", format!("{UPLOADS}/{V1_ID}"), 404)
            .bearer(&token)
            .reason("not_found"),
        ex(Sign, "GET", AN_UPLOAD, 404)
            .bearer(&token)
            .reason("not_found"),
        ex(Sign, "GET", format!("{UPLOADS}/x"), 404)
            .bearer(&token)
            .reason("not_found"),
        ex(Sign, "GET", UPLOADS, 200).bearer(&token),
        ex(Sign, "GET", format!("{UPLOADS}?limit=100&cursor="), 200).bearer(&token),
        ex(Sign, "GET", format!("{UPLOADS}?limit=0"), 400)
            .bearer(&token)
            .reason("bad_request"),
        ex(Sign, "GET", format!("{UPLOADS}?limit=101"), 400)
            .bearer(&token)
            .reason("bad_request"),
        ex(Sign, "GET", format!("{UPLOADS}?cursor=bogus"), 400)
            .bearer(&token)
            .reason("bad_request"),
        ex(Sign, "GET", format!("{UPLOADS}?page=2"), 400)
            .bearer(&token)
            .reason("bad_request"),
        // 201
        ex(Sign, "POST", UPLOADS, 201).bearer(&token),
        ex(Sign, "POST", UPLOADS, 201).bearer(&token).json(&json!({
            "procedure": "Transcode", "classId": 3, "storageRegion": "ap-singapore",
            "validitySeconds": 600, "meta": "post_1"
        })),
        // 404: an uploadId that names no upload of the caller's
        ex(Sign, "POST", ROUTE, 404)
            .bearer(&token)
            .json(&json!({ "uploadId": V1_ID }))
            .off_schema()
            .reason("not_found"),
        ex(Sign, "POST", ROUTE, 404)
            .bearer(&token)
            .json(&json!({ "uploadId": NO_ONES_ID }))
            .reason("not_found"),
        ex(Sign, "GET", format!("{ROUTE}?uploadId={NO_ONES_ID}"), 404)
            .bearer(&token)
            .reason("not_found"),
        ex(Sign, "GET", format!("{ROUTE}?uploadId=x"), 404)
            .bearer(&token)
            .reason("not_found"),
        // /v1/uploads refuses like the signature route
        ex(Sign, "POST", UPLOADS, 400)
            .bearer(&token)
            .json(&json!({ "uploadId": NO_ONES_ID }))
            .off_schema(),
        ex(Sign, "POST", UPLOADS, 400)
            .bearer(&token)
            .json(&json!({"procedur": "typo"}))
            .off_schema(),
        ex(Sign, "POST", UPLOADS, 403)
            .bearer(&token)
            .json(&json!({"classId": 9}))
            .reason("param_not_allowed"),
        ex(Sign, "POST", UPLOADS, 403)
            .bearer(&token)
            .json(&json!({"fileSize": 1_000_000_001_u64}))
            .reason("upload_not_allowed"),
        ex(Sign, "POST", ROUTE, 403)
            .bearer(&token)
            .json(&json!({"fileType": "avi"}))
            .reason("upload_not_allowed"),
        ex(Sign, "GET", format!("{ROUTE}?fileSize=1000000001"), 403)
            .bearer(&token)
            .reason("upload_not_allowed"),
        ex(Sign, "POST", UPLOADS, 201)
            .bearer(&token)
            .json(&json!({"fileSize": 1_000_000_000_u64, "fileType": ".mov"})),
        ex(Sign, "POST", UPLOADS, 413)
            .bearer(&token)
            .body("x".repeat(64 * 1024)),
        // 200
        ex(Sign, "POST", ROUTE, 200).bearer(&token),
        ex(Sign, "POST", ROUTE, 200).bearer(&token).json(&json!({
            "procedure": "Transcode", "classId": 3, "storageRegion": "ap-singapore",
            "validitySeconds": 600, "meta": "post_1"
        })),
        ex(Sign, "POST", ROUTE, 200)
            .bearer(&token)
            .json(&json!({"classId": "3", "validitySeconds": "7200", "procedure": "Review"})),
        ex(Sign, "GET", ROUTE, 200).bearer(&token),
        ex(
            Sign,
            "GET",
            format!(
                "{ROUTE}?procedure=Transcode&classId=3&storageRegion=ap-singapore&validitySeconds=600&meta=post_1"
            ),
            200,
        )
        .bearer(&token),
        // 400
        ex(Sign, "GET", format!("{ROUTE}?procedur=x"), 400).bearer(&token),
        ex(Sign, "GET", format!("{ROUTE}?meta=a&meta=b"), 400).bearer(&token),
        ex(Sign, "GET", format!("{ROUTE}?classId=-1"), 400).bearer(&token),
        ex(Sign, "POST", ROUTE, 400)
            .bearer(&token)
            .json(&json!({"procedur": "typo"}))
            .off_schema(),
        ex(Sign, "POST", ROUTE, 400)
            .bearer(&token)
            .json(&json!({"meta": "has space"}))
            .off_schema(),
        ex(Sign, "POST", ROUTE, 400)
            .bearer(&token)
            .json(&json!({"classId": 1.5}))
            .off_schema(),
        ex(Sign, "POST", ROUTE, 400)
            .bearer(&token)
            .json(&json!({"meta": null}))
            .off_schema(),
        ex(Sign, "POST", ROUTE, 400)
            .bearer(&token)
            .body("[]")
            .off_schema(),
        ex(Sign, "POST", ROUTE, 400).bearer(&token).body("not json"),
        // 403
        ex(Sign, "POST", ROUTE, 403)
            .bearer(&token)
            .json(&json!({"procedure": "Expensive"}))
            .reason("param_not_allowed"),
        ex(Sign, "POST", ROUTE, 403)
            .bearer(&token)
            .json(&json!({"validitySeconds": 86401}))
            .reason("param_not_allowed"),
        ex(Sign, "POST", ROUTE, 403)
            .bearer(&token)
            .json(&json!({"sourceContext": "mine"}))
            .reason("param_not_allowed"),
        ex(Sign, "GET", format!("{ROUTE}?sessionContext=mine"), 403)
            .bearer(&token)
            .reason("param_not_allowed"),
        ex(Sign, "GET", format!("{ROUTE}?classId=9"), 403)
            .bearer(&token)
            .reason("param_not_allowed"),
        // 413: the token is checked first, so only an authenticated caller gets here
        ex(Sign, "POST", ROUTE, 413)
            .bearer(&token)
            .body("x".repeat(64 * 1024)),
        // 401 without a token: the body is never read
        ex(Sign, "POST", ROUTE, 401)
            .body("x".repeat(64 * 1024))
            .reason("missing_token"),
        // healthz and unmatched routes
        ex(Sign, "GET", "/healthz", 200),
        ex(Sign, "GET", "/nope", 404).reason("not_found"),
        ex(Sign, "POST", "/v1/upload-signature/x", 404).reason("not_found"),
    ];
    for (method, route) in [
        ("GET", ROUTE),
        ("POST", ROUTE),
        ("POST", UPLOADS),
        ("GET", UPLOADS),
        ("GET", AN_UPLOAD),
    ] {
        examples.extend([
            ex(Sign, method, route, 401).reason("missing_token"),
            ex(Sign, method, route, 401)
                .bearer("not.a.jwt")
                .reason("invalid_token"),
            ex(Sign, method, route, 401)
                .bearer(&expired)
                .reason("token_expired"),
            ex(Sign, method, route, 403)
                .bearer(&no_scope)
                .reason("insufficient_scope"),
            ex(SignNoJwks, method, route, 503)
                .bearer(&rs256)
                .reason("unavailable"),
        ]);
    }
    examples
}

fn events_examples() -> Vec<Example> {
    use Server::{Events, EventsToken};
    const BARE: &str = "/v1/vod/events";
    let with_token = format!("{BARE}/{PATH_TOKEN}");
    let upload = callback_fixture("new_file_upload.json");
    let too_large = format!(
        "{{\"EventType\":\"X\",\"pad\":\"{}\"}}",
        "a".repeat(1024 * 1024)
    );
    let t = now() as i64 + 600;
    let mut examples = Vec::new();
    for name in callback_fixtures() {
        examples.push(ex(Events, "POST", BARE, 200).json(&signed(
            callback_fixture(&name),
            SIGN_KEY,
            600,
        )));
    }
    examples.extend([
        // Sign/T in the query string when the body has neither
        ex(
            Events,
            "POST",
            format!("{BARE}?Sign={}&T={t}", sign_for(&Secret::new(SIGN_KEY), t)),
            200,
        )
        .json(&unsigned(callback_fixture("file_deleted.json"))),
        ex(EventsToken, "POST", &with_token, 200).json(&signed(
            callback_fixture("procedure_finish.json"),
            SIGN_KEY,
            600,
        )),
        ex(Events, "GET", "/healthz", 200),
        ex(EventsToken, "GET", "/healthz", 200),
        // 400 on either path
        ex(Events, "POST", BARE, 400).body("not json"),
        ex(Events, "POST", BARE, 400).body("[1,2]").off_schema(),
        ex(Events, "POST", BARE, 400).body(vec![0xff, 0xfe, b'{']),
        ex(Events, "POST", BARE, 400).body(format!(
            "{{\"EventType\":\"X\",\"d\":{}{}}}",
            "[".repeat(100),
            "]".repeat(100)
        )),
        ex(Events, "POST", BARE, 400)
            .json(&signed(json!({"FileUploadEvent": {}}), SIGN_KEY, 600))
            .off_schema(),
        ex(Events, "POST", BARE, 400)
            .json(&signed(json!({"EventType": 7}), SIGN_KEY, 600))
            .off_schema(),
        ex(Events, "POST", BARE, 400)
            .json(&signed(
                json!({"version": "4.0", "data": {}}),
                SIGN_KEY,
                600,
            ))
            .off_schema(),
        ex(EventsToken, "POST", &with_token, 400)
            .json(&signed(json!({"FileUploadEvent": {}}), SIGN_KEY, 600))
            .off_schema(),
        // 401
        ex(
            EventsToken,
            "POST",
            format!("{BARE}/openapi-path-token-0124"),
            401,
        )
        .json(&signed(upload.clone(), SIGN_KEY, 600))
        .reason("invalid_callback_token"),
        // 404
        ex(EventsToken, "POST", BARE, 404)
            .json(&signed(upload.clone(), SIGN_KEY, 600))
            .reason("not_found"),
        ex(Events, "POST", &with_token, 404)
            .json(&signed(upload.clone(), SIGN_KEY, 600))
            .reason("not_found"),
        ex(Events, "POST", format!("{BARE}/a/b"), 404).reason("not_found"),
        ex(Events, "POST", "/v1/vod", 404).reason("not_found"),
        // 413 on either path
        ex(Events, "POST", BARE, 413).body(too_large.clone()),
        ex(EventsToken, "POST", &with_token, 413).body(too_large),
    ]);
    for (server, url) in [(Events, BARE.to_owned()), (EventsToken, with_token)] {
        examples.extend([
            ex(server, "POST", &url, 401)
                .json(&unsigned(upload.clone()))
                .reason("missing_signature"),
            ex(server, "POST", &url, 401)
                .json(&signed(upload.clone(), "WrongKey", 600))
                .reason("invalid_signature"),
            ex(server, "POST", &url, 401)
                .json(&{
                    let mut body = signed(upload.clone(), SIGN_KEY, 600);
                    body["Sign"] = "zz".into();
                    body
                })
                .reason("invalid_signature"),
            ex(server, "POST", &url, 401)
                .json(&signed(upload.clone(), SIGN_KEY, -5))
                .reason("signature_expired"),
            ex(server, "POST", &url, 401)
                .json(&signed(upload.clone(), SIGN_KEY, 3600))
                .reason("signature_time_invalid"),
            ex(server, "POST", &url, 401)
                .json(&{
                    let mut body = signed(upload.clone(), SIGN_KEY, 600);
                    body["T"] = "1796184600.0".into();
                    body
                })
                .reason("signature_time_invalid"),
        ]);
    }
    examples
}

/// Methods a documented path does not list must be refused as `x-unmatched-requests` says.
fn method_probes(spec: &Spec) -> Vec<Example> {
    let mut probes = Vec::new();
    for (path, item) in spec.paths() {
        let tags: Vec<&str> = item
            .as_object()
            .unwrap()
            .values()
            .flat_map(|op| op["tags"].as_array().unwrap())
            .map(|t| t.as_str().unwrap())
            .collect();
        let url = path
            .replace("{token}", PATH_TOKEN)
            .replace("{uploadId}", "AAECAwQFBgcICQoLLG4VR8Gezn85");
        for method in PROBED_METHODS {
            if item.get(method.to_ascii_lowercase()).is_some() {
                continue;
            }
            if tags.contains(&"sign") {
                probes.push(ex(Server::Sign, method, &url, 405).reason("method_not_allowed"));
            }
            if tags.contains(&"events") {
                let server = if path.contains("{token}") {
                    Server::EventsToken
                } else {
                    Server::Events
                };
                probes.push(ex(server, method, &url, 405).reason("method_not_allowed"));
            }
        }
    }
    assert!(probes.len() >= 10, "{}", probes.len());
    probes
}

#[tokio::test]
async fn the_routers_answer_as_documented_and_every_documented_answer_happens() {
    let spec = Spec::load();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.sqlite");
    let mut servers = start_servers(&db);
    let bases = servers
        .iter_mut()
        .map(|(server, spawned)| (*server, spawned.wait_listening()))
        .collect();
    let harness = Harness {
        spec,
        // No connection reuse: some examples are answered without the server reading their body
        // (a 401 before a 64 KiB upload), after which the server closes the connection, and a
        // client that picks that connection for the next example races the close.
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap(),
        bases,
        covered: Mutex::new(BTreeSet::new()),
        _servers: servers.into_iter().map(|(_, s)| s).collect(),
    };

    let mut examples = sign_examples();
    examples.extend(events_examples());
    examples.extend(method_probes(&harness.spec));
    for example in &examples {
        harness.run(example).await;
    }

    // The whole loop: an upload is created, its signature refreshed (body and query), and a
    // signature's sourceContext comes back in VOD's upload callback; the stored envelope names
    // the uploader and the upload.
    let alice = upload_token(JWT_SECRET, "alice");
    let created = harness
        .run(
            &ex(Server::Sign, "POST", "/v1/uploads", 201)
                .bearer(&alice)
                .json(&json!({"meta": "post_77"})),
        )
        .await;
    let upload_id = created.body["data"]["uploadId"]
        .as_str()
        .unwrap()
        .to_owned();
    harness
        .run(
            &ex(
                Server::Sign,
                "GET",
                format!("/v1/upload-signature?uploadId={upload_id}&meta=post_77"),
                200,
            )
            .bearer(&alice),
        )
        .await;
    harness
        .run(
            &ex(Server::Sign, "POST", "/v1/upload-signature", 403)
                .bearer(&alice)
                .json(&json!({"uploadId": upload_id, "meta": "post_78"}))
                .reason("param_not_allowed"),
        )
        .await;
    let issued = harness
        .run(
            &ex(Server::Sign, "POST", "/v1/upload-signature", 200)
                .bearer(&alice)
                .json(&json!({ "uploadId": upload_id })),
        )
        .await;
    assert_eq!(issued.body["data"]["uploadId"], upload_id.as_str());
    let signature = issued.body["data"]["signature"].as_str().unwrap();
    let report = vodgate::vod::signature::inspect(signature, Some(VOD_KEY.as_bytes()), now());
    let context = &report
        .params
        .iter()
        .find(|(k, _)| k == "sourceContext")
        .unwrap()
        .1;
    let callback = upload_callback(context, SIGN_KEY);
    harness
        .run(&ex(Server::Events, "POST", "/v1/vod/events", 200).json(&callback))
        .await;

    // Its status: uploaded (the callback names a task flow). Only alice sees it.
    let read =
        |token: &str, url: String, status: u16| ex(Server::Sign, "GET", url, status).bearer(token);
    let bob = upload_token(JWT_SECRET, "bob");
    let uploaded = harness
        .run(&read(&alice, format!("/v1/uploads/{upload_id}"), 200))
        .await;
    assert_eq!(
        uploaded.body["data"]["status"], "uploaded",
        "{}",
        uploaded.body
    );
    harness
        .run(&read(&bob, format!("/v1/uploads/{upload_id}"), 404).reason("not_found"))
        .await;

    // A second upload goes all the way: waiting, then VOD's NewFileUpload, the task flow's
    // PROCESSING and FINISH (carrying the signature's sessionContext), and it is ready.
    let created = harness
        .run(
            &ex(Server::Sign, "POST", "/v1/uploads", 201)
                .bearer(&alice)
                .json(&json!({"meta": "post_78"})),
        )
        .await;
    let ready_id = created.body["data"]["uploadId"]
        .as_str()
        .unwrap()
        .to_owned();
    let (source, session) = signature_contexts(created.body["data"]["signature"].as_str().unwrap());
    assert!(session.is_some(), "VOD_PROCEDURE signs a task flow");
    let waiting = harness
        .run(&read(&alice, format!("/v1/uploads/{ready_id}"), 200))
        .await;
    assert_eq!(waiting.body["data"]["status"], "waiting");
    let events = upload_events(&source, session.as_deref(), SIGN_KEY);
    for event in [&events.uploaded, &events.processing, &events.finished] {
        harness
            .run(&ex(Server::Events, "POST", "/v1/vod/events", 200).json(event))
            .await;
    }
    let ready = harness
        .run(&read(&alice, format!("/v1/uploads/{ready_id}"), 200))
        .await;
    let upload = &ready.body["data"];
    assert_eq!(upload["status"], "ready", "{upload}");
    assert_eq!(upload["fileId"], events.file_id.as_str());
    assert!(
        !upload["outputs"].as_array().unwrap().is_empty(),
        "{upload}"
    );
    // Alice's two uploads, one per page (newest updatedAt first; both may share a second).
    let page = harness
        .run(&read(&alice, "/v1/uploads?limit=1".to_owned(), 200))
        .await;
    let cursor = page.body["data"]["nextCursor"].as_str().unwrap().to_owned();
    let next = harness
        .run(&read(
            &alice,
            format!("/v1/uploads?limit=1&cursor={cursor}"),
            200,
        ))
        .await;
    assert_eq!(next.body["data"]["nextCursor"], Value::Null);
    let mut listed = [
        page.body["data"]["uploads"][0]["uploadId"].clone(),
        next.body["data"]["uploads"][0]["uploadId"].clone(),
    ];
    listed.sort_by_key(Value::to_string);
    let mut expected = [json!(upload_id), json!(ready_id)];
    expected.sort_by_key(Value::to_string);
    assert_eq!(listed, expected);
    let bobs = harness
        .run(&read(&bob, "/v1/uploads".to_owned(), 200))
        .await;
    assert_eq!(bobs.body["data"]["uploads"], json!([]));

    // 503: another connection holds SQLite's write lock past EVENT_STORE_TIMEOUT_SECONDS. The
    // event must be a new one: a redelivery of a stored event is found by a read, and answered
    // 200 even while the lock is held.
    let lock = rusqlite::Connection::open(&db).unwrap();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    let mut fresh = callback_fixture("pull_complete.json");
    fresh["PullCompleteEvent"]["TaskId"] = json!("1500000001-Pull-never-stored-before");
    let body = signed(fresh, SIGN_KEY, 600);
    let blocked = [
        ex(Server::Events, "POST", "/v1/vod/events", 503)
            .json(&body)
            .reason("unavailable"),
        ex(
            Server::EventsToken,
            "POST",
            format!("/v1/vod/events/{PATH_TOKEN}"),
            503,
        )
        .json(&body)
        .reason("unavailable"),
    ];
    let (a, b) = tokio::join!(harness.run(&blocked[0]), harness.run(&blocked[1]));
    assert_eq!((a.status, b.status), (503, 503));
    assert!(a.headers.contains_key("x-request-id") && b.headers.contains_key("x-request-id"));
    lock.execute_batch("ROLLBACK").unwrap();

    // Coverage both ways: nothing documented goes untested, nothing is left unexplained.
    let documented = harness.spec.documented_keys();
    let covered = harness.covered.lock().unwrap().clone();
    let unreachable: BTreeSet<Key> = UNREACHABLE_IN_TEST
        .iter()
        .map(|(p, m, s, r, _)| (p.to_string(), m.to_string(), *s, r.to_string()))
        .collect();
    let untested: Vec<&Key> = documented
        .iter()
        .filter(|k| !covered.contains(*k) && !unreachable.contains(*k))
        .collect();
    assert!(
        untested.is_empty(),
        "documented but never produced: {untested:?}"
    );
    let stale: Vec<&Key> = unreachable
        .iter()
        .filter(|k| !documented.contains(*k) || covered.contains(*k))
        .collect();
    assert!(
        stale.is_empty(),
        "UNREACHABLE_IN_TEST lists answers that are undocumented or were produced: {stale:?}"
    );
    // (`run` already failed on any answer the document does not list.)
    assert!(covered.is_subset(&documented));

    // Every stored envelope matches EventEnvelope.
    let stored = SqliteSink::open(&db).unwrap().list(0, 100).unwrap();
    // Each fixture once (redeliveries are duplicates), plus the attributed upload.
    assert!(stored.len() > callback_fixtures().len(), "{}", stored.len());
    let envelopes: Vec<Value> = stored
        .iter()
        .map(|e| serde_json::from_str(&e.envelope).unwrap())
        .collect();
    for envelope in &envelopes {
        if let Err(e) = harness
            .spec
            .validate("/components/schemas/EventEnvelope", envelope)
        {
            panic!("stored envelope breaks EventEnvelope: {e}\n{envelope}");
        }
    }
    assert!(envelopes.iter().any(|e| e["format"] == "v2"));
    assert!(envelopes.iter().any(|e| e["uploader"]["sub"] == "alice"
        && e["uploader"]["meta"] == "post_77"
        && e["uploader"]["uploadId"] == upload_id.as_str()));
}

#[test]
fn error_responses_narrow_the_envelope_and_carry_the_request_id() {
    let spec = Spec::load();
    let all: BTreeSet<String> =
        spec.doc["components"]["schemas"]["ErrorEnvelope"]["properties"]["error"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_owned())
            .collect();
    let mut used = BTreeSet::new();
    for (path, method, status, pointer) in spec.responses() {
        let what = format!("{method} {path} {status}");
        let (response, _) = spec.resolve(&pointer);
        assert_eq!(
            response["headers"]["x-request-id"]["$ref"], "#/components/headers/RequestId",
            "{what}"
        );
        assert!(response["description"].is_string(), "{what}");
        let schema = &response["content"]["application/json"]["schema"];
        if status < 400 {
            assert!(schema["$ref"].is_string(), "{what}");
            continue;
        }
        let parts = schema["allOf"]
            .as_array()
            .unwrap_or_else(|| panic!("{what}"));
        assert_eq!(
            parts[0]["$ref"], "#/components/schemas/ErrorEnvelope",
            "{what}"
        );
        assert_eq!(parts[1]["properties"]["code"]["const"], status, "{what}");
        let reasons = spec.reasons(&pointer);
        assert!(!reasons.is_empty(), "{what}");
        for reason in reasons {
            assert!(
                all.contains(&reason),
                "{what}: {reason} not in ErrorEnvelope"
            );
            used.insert(reason);
        }
    }
    assert_eq!(
        used, all,
        "ErrorEnvelope lists exactly the reasons operations use"
    );
    // 401 on the sign route documents WWW-Authenticate.
    let (unauthorized, _) = spec.resolve("/paths/~1v1~1upload-signature/post/responses/401");
    assert!(unauthorized["headers"]["WWW-Authenticate"].is_object());
}

#[test]
fn schema_examples_match_their_schemas() {
    let spec = Spec::load();
    let mut checked = 0;
    for (name, schema) in spec.doc["components"]["schemas"].as_object().unwrap() {
        for example in schema["examples"].as_array().into_iter().flatten() {
            let pointer = format!("/components/schemas/{name}");
            if let Err(e) = spec.validate(&pointer, example) {
                panic!("{name} example {example}: {e}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 3);
    // The request schemas refuse what the servers refuse for shape.
    let request = "/components/schemas/SignRequest";
    assert!(
        spec.validate(request, &json!({"classId": "7", "meta": "p-1"}))
            .is_ok()
    );
    assert!(
        spec.validate(request, &json!({"meta": "a".repeat(65)}))
            .is_err()
    );
    assert!(
        spec.validate(request, &json!({"storageRegion": "AP_X"}))
            .is_err()
    );
    let callback = "/components/schemas/VodCallback";
    assert!(
        spec.validate(
            callback,
            &callback_fixture("legacy_v2_new_file_upload.json")
        )
        .is_ok()
    );
    assert!(
        spec.validate(callback, &callback_fixture("unknown_future_type.json"))
            .is_ok()
    );
    assert!(spec.validate(callback, &json!({"version": "4.0"})).is_err());
}

#[test]
fn event_envelope_is_the_stored_envelope_schema() {
    let spec = Spec::load();
    let component = &spec.doc["components"]["schemas"]["EventEnvelope"];
    assert_eq!(component["$ref"], ENVELOPE_SCHEMA);
    assert_eq!(
        load_envelope_schema()["$id"],
        format!("{BASE_URI}{ENVELOPE_SCHEMA}"),
        "the $id mirrors the file's place, so the relative $ref resolves to it either way"
    );
    let sample = json!({
        "id": "vod_490ccbf6c65853e2fd94c87243a7bd7c",
        "type": "upload.completed",
        "eventType": "NewFileUpload",
        "fileId": "5285890784273533167",
        "taskId": null,
        "uploader": {"sub": "alice", "uploadId": "3VyyNri9Z7UR88ByPfjFyg", "meta": "post_77"},
        "attributedBy": "context",
        "receivedAt": "2026-11-28T16:41:00Z",
        "format": "v3",
        "event": {"EventType": "NewFileUpload", "FileUploadEvent": {"FileId": "5285890784273533167"}}
    });
    let file = jsonschema::options()
        .build(&load_envelope_schema())
        .unwrap();
    let mut variants = vec![sample.clone()];
    for (key, value) in [
        ("id", json!("vod_short")),
        ("format", json!("v4")),
        ("uploader", json!({"sub": "a"})),
        (
            "uploader",
            json!({"sub": "a", "uploadId": "up-9f3c", "meta": null}),
        ),
        ("event", json!({"EventType": "X", "Sign": "00"})),
        ("extra", json!(1)),
        ("receivedAt", json!("2026-11-28T16:41:00.5Z")),
    ] {
        let mut variant = sample.clone();
        variant[key] = value;
        variants.push(variant);
    }
    // An upload's id, with its meta: the form since uploads have ids of their own.
    let mut v2 = sample.clone();
    v2["uploader"]["uploadId"] = json!("AAECAwQFBgcICQoLLG4VR8Gezn85.post_77");
    assert!(file.is_valid(&v2));
    assert!(
        spec.validate("/components/schemas/EventEnvelope", &v2)
            .is_ok()
    );
    for (i, variant) in variants.iter().enumerate() {
        let by_doc = spec
            .validate("/components/schemas/EventEnvelope", variant)
            .is_ok();
        assert_eq!(by_doc, file.is_valid(variant), "{variant}");
        assert_eq!(by_doc, i == 0, "{variant}");
    }
}
