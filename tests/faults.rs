//! Fault injection against the real binaries over HTTP: sinks that are locked, down or hanging,
//! Secrets Manager and the JWKS endpoint failing at start or during a refresh, and clients that
//! disconnect mid-request or send very slowly. Every test bounds its own time: the functions'
//! timeouts are set short where they are configurable, and a test never waits for a fixed cap it
//! cannot shorten unless that wait is what it checks.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{
    FlakyProxy, Link, Spawned, aws_config, aws_env, callback_fixture, hs256, moto_endpoint, now,
    signed, upload_token,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use vodgate::auth::jwt::{AuthError, JwtSettings, JwtVerifier};
use vodgate::ingest::sink::SqliteSink;

const SIGN_KEY: &str = "FaultsTestKey1FaultsTestK";
const CONTEXT_KEY: &str = "faults-context-key-0123456789abcdef";
const JWT_SECRET: &str = "faults-jwt-secret-0123456789abcdef";
const ISSUER: &str = "https://idp.faults.test/";
const AUDIENCE: &str = "vodgate-faults";

/// A started binary and its base URL.
struct Server {
    process: Spawned,
    base: String,
    http: reqwest::Client,
}

impl Server {
    fn start<V: AsRef<std::ffi::OsStr>>(bin: &str, env: &[(&str, V)]) -> Self {
        let mut process = Spawned::start(bin, env);
        let base = process.wait_listening();
        Self::wrap(process, base)
    }

    fn wrap(process: Spawned, base: String) -> Self {
        Self {
            process,
            base,
            http: reqwest::Client::new(),
        }
    }

    fn events(env: &[(&str, String)]) -> Self {
        let mut full: Vec<(&str, String)> = vec![
            ("PORT", "0".into()),
            ("VODGATE_CONTEXT_KEY", CONTEXT_KEY.into()),
            ("VOD_CALLBACK_KEYS", SIGN_KEY.into()),
        ];
        full.extend(env.iter().cloned());
        Self::start(env!("CARGO_BIN_EXE_events"), &full)
    }

    fn sqlite_events(db: &Path, extra: &[(&str, String)]) -> Self {
        let mut env = vec![("EVENT_SINK", format!("sqlite:{}", db.display()))];
        env.extend(extra.iter().cloned());
        Self::events(&env)
    }

    fn addr(&self) -> String {
        self.base.trim_start_matches("http://").to_owned()
    }

    /// POSTs `body` to `path`; the status, the JSON answer and how long it took.
    async fn post(&self, path: &str, token: Option<&str>, body: String) -> (u16, Value, Duration) {
        let started = Instant::now();
        let mut request = self.http.post(format!("{}{path}", self.base)).body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let answer = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
        (status, answer, started.elapsed())
    }

    async fn callback(&self, body: &Value) -> (u16, Value, Duration) {
        self.post("/v1/vod/events", None, body.to_string()).await
    }

    async fn sign(&self, token: &str) -> (u16, Value, Duration) {
        self.post("/v1/upload-signature", Some(token), String::new())
            .await
    }

    async fn healthy(&self) -> bool {
        let response = self
            .http
            .get(format!("{}/healthz", self.base))
            .timeout(Duration::from_secs(2))
            .send()
            .await;
        response.is_ok_and(|r| r.status() == 200)
    }

    /// Peak resident memory (VmHWM) in KiB.
    fn peak_rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.process.child.id())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }
}

/// The `sign` environment, minus any JWT settings.
fn sign_env() -> Vec<(&'static str, String)> {
    vec![
        ("PORT", "0".into()),
        ("VOD_SECRET_ID", "AKIDfaults".into()),
        ("VOD_SECRET_KEY", "faults-vod-secret-key".into()),
        ("VODGATE_CONTEXT_KEY", CONTEXT_KEY.into()),
    ]
}

/// The id the events function gives `body` (the same for every delivery of one event).
fn event_id(body: &Value) -> String {
    let callback = vodgate::vod::callback::parse(body.to_string().as_bytes()).unwrap();
    vodgate::ingest::envelope::event_id(&callback)
}

/// Stored ids with how often each is stored.
fn sqlite_ids(db: &Path) -> BTreeMap<String, usize> {
    let mut ids = BTreeMap::new();
    for event in SqliteSink::open(db).unwrap().list(0, 100_000).unwrap() {
        *ids.entry(event.id).or_default() += 1;
    }
    ids
}

fn once_each(ids: &[String]) -> BTreeMap<String, usize> {
    ids.iter().map(|id| (id.clone(), 1)).collect()
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Waits up to `patience` for "listening on", returning the base URL and how long it took.
/// (Spawned::wait_listening gives up after about five seconds, the JWKS cap itself.)
async fn listening_within(process: &mut Spawned, patience: Duration) -> (String, Duration) {
    let started = Instant::now();
    while started.elapsed() < patience {
        if let Some(rest) = process.logs().split("listening on ").nth(1) {
            let url: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
            return (url.replace("0.0.0.0", "127.0.0.1"), started.elapsed());
        }
        assert!(
            process.child.try_wait().unwrap().is_none(),
            "exited before listening:\n{}",
            process.logs()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("not listening after {patience:?}:\n{}", process.logs());
}

/// A POST with a `Content-Length` body, as raw HTTP/1.1 bytes.
fn raw_post(path: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: faults\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

// ---------------------------------------------------------------------------------------------
// Sinks

#[tokio::test]
async fn sqlite_write_lock_held_elsewhere_answers_503_and_redelivery_stores_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.sqlite");
    let app = Server::sqlite_events(&db, &[("EVENT_STORE_TIMEOUT_SECONDS", "1".into())]);
    let before = signed(callback_fixture("file_deleted.json"), SIGN_KEY, 600);
    assert_eq!(app.callback(&before).await.0, 200);

    // Another process (here: a connection of this test) holds the database's write lock.
    let holder = rusqlite::Connection::open(&db).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let during: Vec<Value> = [
        "new_file_upload.json",
        "procedure_finish.json",
        "pull_complete.json",
    ]
    .into_iter()
    .map(|name| signed(callback_fixture(name), SIGN_KEY, 600))
    .collect();
    let answers = tokio::join!(
        app.callback(&during[0]),
        app.callback(&during[1]),
        app.callback(&during[2])
    );
    for (status, answer, took) in [&answers.0, &answers.1, &answers.2] {
        assert_eq!(
            (*status, answer["error"].as_str()),
            (503, Some("unavailable"))
        );
        assert!(*took < Duration::from_secs(3), "{took:?}");
    }
    // A client that sends a whole callback and hangs up before the (503) answer.
    let abandoned = signed(callback_fixture("edit_media_complete.json"), SIGN_KEY, 600);
    let mut stream = TcpStream::connect(app.addr()).await.unwrap();
    stream
        .write_all(&raw_post("/v1/vod/events", &abandoned.to_string()))
        .await
        .unwrap();
    drop(stream);
    tokio::time::sleep(Duration::from_millis(300)).await;
    holder.execute_batch("COMMIT").unwrap();
    drop(holder);

    // VOD redelivers everything it got no 200 for, with a fresh Sign/T; some writes may have
    // completed after the 503 (the lock went away within SQLite's busy timeout): still once.
    for body in during.iter().chain([&abandoned]) {
        let again = signed(body.clone(), SIGN_KEY, 500);
        assert_eq!(app.callback(&again).await.0, 200);
    }
    let expected: Vec<String> = [&before]
        .into_iter()
        .chain(&during)
        .chain([&abandoned])
        .map(event_id)
        .collect();
    assert_eq!(sqlite_ids(&db), once_each(&expected));
    assert!(app.healthy().await);
    assert!(!app.process.logs().contains("panicked"));
}

/// Every message on `queue` (received, left invisible), as the envelope ids they carry.
async fn queue_ids(client: &aws_sdk_sqs::Client, queue: &str) -> BTreeMap<String, usize> {
    let mut ids = BTreeMap::new();
    let mut empty_polls = 0;
    while empty_polls < 3 {
        let received = client
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .visibility_timeout(300)
            .send()
            .await
            .unwrap();
        if received.messages().is_empty() {
            empty_polls += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for message in received.messages() {
            let envelope: Value = serde_json::from_str(message.body().unwrap()).unwrap();
            *ids.entry(envelope["id"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_outage_answers_503_and_every_acknowledged_event_arrives_under_one_id() {
    let client = aws_sdk_sqs::Client::new(&aws_config(moto_endpoint()).await);
    let suffix = rand::random::<u32>();
    let mut queues = Vec::new();
    for name in [format!("faults-{suffix}"), format!("faults-{suffix}.fifo")] {
        let mut create = client.create_queue().queue_name(&name);
        if name.ends_with(".fifo") {
            create = create.attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true");
        }
        queues.push(create.send().await.unwrap().queue_url().unwrap().to_owned());
    }
    let proxy = FlakyProxy::start(moto_endpoint()).await;
    let apps: Vec<Server> = queues
        .iter()
        .map(|queue| {
            let mut env = aws_env(&proxy.url());
            env.extend([
                ("EVENT_SINK", format!("sqs:{queue}")),
                ("EVENT_STORE_TIMEOUT_SECONDS", "1".into()),
            ]);
            Server::events(&env)
        })
        .collect();

    let first = signed(callback_fixture("file_deleted.json"), SIGN_KEY, 600);
    let outage = signed(callback_fixture("new_file_upload.json"), SIGN_KEY, 600);
    for app in &apps {
        assert_eq!(app.callback(&first).await.0, 200);
    }
    for link in [Link::Down, Link::Stalled] {
        proxy.set(link);
        for app in &apps {
            let (status, answer, took) = app.callback(&outage).await;
            assert_eq!(
                (status, answer["error"].as_str()),
                (503, Some("unavailable")),
                "{link:?}"
            );
            assert!(took < Duration::from_secs(3), "{link:?}: {took:?}");
        }
    }
    proxy.set(Link::Up);
    for app in &apps {
        for body in [&outage, &first] {
            let again = signed(body.clone(), SIGN_KEY, 500);
            assert_eq!(app.callback(&again).await.0, 200);
        }
    }

    let (first_id, outage_id) = (event_id(&first), event_id(&outage));
    // Standard queue: at least once, every copy under the event's id; nothing that was refused
    // with a 503 reached the queue.
    assert_eq!(
        queue_ids(&client, &queues[0]).await,
        BTreeMap::from([(first_id.clone(), 2), (outage_id.clone(), 1)]),
        "the redelivery of an acknowledged event is a second copy"
    );
    // FIFO: the redelivery within SQS's deduplication window is dropped by SQS.
    assert_eq!(
        queue_ids(&client, &queues[1]).await,
        once_each(&[first_id, outage_id])
    );
    for app in &apps {
        assert!(app.healthy().await);
    }
}

// ---------------------------------------------------------------------------------------------
// Secrets Manager

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_manager_unreachable_at_start_fails_fast_naming_the_secret() {
    let stalled = FlakyProxy::start(moto_endpoint()).await;
    stalled.set(Link::Stalled);
    let dir = tempfile::tempdir().unwrap();
    let sink = format!("sqlite:{}", dir.path().join("e.sqlite").display());
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:faults-AbCdEf";
    let endpoints = [
        ("refused", format!("http://127.0.0.1:{}", closed_port())),
        ("stalled", stalled.url()),
    ];
    let mut started = Vec::new();
    for (what, endpoint) in &endpoints {
        for bin in [env!("CARGO_BIN_EXE_sign"), env!("CARGO_BIN_EXE_events")] {
            let mut env = sign_env();
            env.extend(aws_env(endpoint));
            env.extend([
                ("VODGATE_SECRET_ARN", arn.to_owned()),
                ("JWT_HS256_SECRET", JWT_SECRET.to_owned()),
                ("VOD_CALLBACK_KEYS", SIGN_KEY.to_owned()),
                ("EVENT_SINK", sink.clone()),
            ]);
            started.push((*what, bin, Instant::now(), Spawned::start(bin, &env)));
        }
    }
    for (what, bin, at, mut process) in started {
        assert_eq!(process.wait_exit(), 1, "{what} {bin}");
        let took = at.elapsed();
        assert!(took < Duration::from_secs(6), "{what} {bin}: {took:?}");
        let logs = process.logs();
        let errors: Vec<&str> = logs.lines().filter(|l| l.contains("ERROR")).collect();
        assert_eq!(errors.len(), 1, "{what} {bin}: one line:\n{logs}");
        assert!(
            errors[0].contains("VODGATE_SECRET_ARN: could not read the secret"),
            "{what} {bin}: {logs}"
        );
        assert!(!logs.contains("listening on"), "{what} {bin}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_manager_outage_during_refresh_keeps_the_last_good_keys() {
    // Refused connections and a hanging endpoint, side by side.
    tokio::join!(refresh_outage(Link::Down), refresh_outage(Link::Stalled));
}

/// `sign` and `events` reading their keys from a secret (TTL 1 s) through a proxy broken with
/// `link` past the TTL: the last good keys keep serving; the request that happens to start a
/// refresh waits for it (at most the 3 s fetch timeout), concurrent requests do not. Then the
/// endpoint comes back with rotated keys, which are picked up.
async fn refresh_outage(link: Link) {
    let secrets = aws_sdk_secretsmanager::Client::new(&aws_config(moto_endpoint()).await);
    let old_jwt = "faults-jwt-from-secret-1-0123456789";
    let new_jwt = "faults-jwt-from-secret-2-0123456789";
    let keys = |jwt: &str, callback: &str| {
        json!({"JWT_HS256_SECRET": jwt, "VOD_CALLBACK_KEYS": callback}).to_string()
    };
    let arn = secrets
        .create_secret()
        .name(format!("faults-{}", rand::random::<u64>()))
        .secret_string(keys(old_jwt, "FaultsOldKeyFaultsOldKey"))
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();
    let proxy = FlakyProxy::start(moto_endpoint()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = sign_env();
    env.extend(aws_env(&proxy.url()));
    env.extend([
        ("VODGATE_SECRET_ARN", arn.clone()),
        ("VODGATE_SECRET_TTL_SECONDS", "1".into()),
        (
            "EVENT_SINK",
            format!("sqlite:{}", dir.path().join("e.sqlite").display()),
        ),
    ]);
    let sign = Server::start(env!("CARGO_BIN_EXE_sign"), &env);
    let events = Server::start(env!("CARGO_BIN_EXE_events"), &env);
    let old_token = upload_token(old_jwt, "alice");
    let new_token = upload_token(new_jwt, "alice");
    let callback = |name: &str, key: &str| signed(callback_fixture(name), key, 600);
    assert_eq!(sign.sign(&old_token).await.0, 200);
    let first = callback("file_deleted.json", "FaultsOldKeyFaultsOldKey");
    assert_eq!(events.callback(&first).await.0, 200);

    proxy.set(link);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let during = callback("new_file_upload.json", "FaultsOldKeyFaultsOldKey");
    let (a, b, c) = tokio::join!(
        sign.sign(&old_token),
        sign.sign(&old_token),
        events.callback(&during)
    );
    for (status, answer, took) in [&a, &b, &c] {
        assert_eq!(*status, 200, "{link:?}: {answer}");
        assert!(*took < Duration::from_millis(4500), "{link:?}: {took:?}");
    }
    assert!(
        a.2.min(b.2) < Duration::from_secs(1),
        "{link:?}: {a:?} {b:?}"
    );

    proxy.set(Link::Up);
    secrets
        .put_secret_value()
        .secret_id(&arn)
        .secret_string(keys(new_jwt, "FaultsNewKeyFaultsNewKey"))
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(sign.sign(&new_token).await.0, 200, "{link:?}");
    assert_eq!(sign.sign(&old_token).await.0, 401, "{link:?}");
    let after = callback("procedure_finish.json", "FaultsNewKeyFaultsNewKey");
    assert_eq!(events.callback(&after).await.0, 200, "{link:?}");
    let stale = callback("pull_complete.json", "FaultsOldKeyFaultsOldKey");
    assert_eq!(events.callback(&stale).await.0, 401, "{link:?}");
    for server in [&sign, &events] {
        let logs = server.process.logs();
        assert!(
            logs.contains("secret refresh failed; keeping the last good keys"),
            "{link:?}: {logs}"
        );
        assert!(
            !logs.contains(old_jwt)
                && !logs.contains(new_jwt)
                && !logs.contains("FaultsOldKeyFaultsOldKey")
        );
    }
}

// ---------------------------------------------------------------------------------------------
// JWKS

/// What the test identity provider does with each JWKS request.
#[derive(Clone, Copy, Debug)]
enum Idp {
    /// A JWKS holding the test Ed25519 key as `ed-1`.
    Good,
    /// `200` with HTML.
    Garbage,
    /// `500`.
    Broken,
    /// A 10 MB body announced by `Content-Length`.
    HugeDeclared,
    /// A 10 MB chunked body, so only a cap while reading can stop it.
    HugeChunked,
    /// Accepts the connection and never answers.
    Stalled,
}

const HUGE_BYTES: usize = 10 * 1024 * 1024;

struct TestIdp {
    url: String,
    hits: Arc<AtomicUsize>,
    mode: Arc<Mutex<Idp>>,
}

fn ed25519() -> &'static aws_lc_rs::signature::Ed25519KeyPair {
    static KEY: std::sync::OnceLock<aws_lc_rs::signature::Ed25519KeyPair> =
        std::sync::OnceLock::new();
    KEY.get_or_init(|| aws_lc_rs::signature::Ed25519KeyPair::generate().unwrap())
}

fn good_jwks() -> String {
    use aws_lc_rs::signature::KeyPair;
    let x = URL_SAFE_NO_PAD.encode(ed25519().public_key().as_ref());
    json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": "ed-1", "x": x}]})
        .to_string()
}

/// An EdDSA token for `ed-1` (or `kid`), valid for ten minutes.
fn eddsa_token(kid: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "EdDSA", "kid": kid}).to_string());
    let claims = json!({"sub": "idp-user", "scope": "vod:upload", "iss": ISSUER, "aud": AUDIENCE,
        "exp": now() + 600});
    let input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signature = URL_SAFE_NO_PAD.encode(ed25519().sign(input.as_bytes()).as_ref());
    format!("{input}.{signature}")
}

/// An HS256 token the same `sign` accepts (issuer and audience apply to every token).
fn hs256_token() -> String {
    hs256(
        JWT_SECRET,
        &json!({"sub": "hs-user", "scope": "vod:upload", "iss": ISSUER, "aud": AUDIENCE,
            "exp": now() + 600}),
    )
}

impl TestIdp {
    async fn start(mode: Idp) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let mode = Arc::new(Mutex::new(mode));
        let (counter, current) = (Arc::clone(&hits), Arc::clone(&mode));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let mode = *current.lock().unwrap();
                tokio::spawn(answer(stream, mode));
            }
        });
        Self { url, hits, mode }
    }

    fn set(&self, mode: Idp) {
        *self.mode.lock().unwrap() = mode;
    }
}

async fn answer(mut stream: TcpStream, mode: Idp) {
    let mut request = [0u8; 4096];
    let _ = stream.read(&mut request).await;
    let head = |status: &str, headers: &str| format!("HTTP/1.1 {status}\r\n{headers}\r\n");
    let fixed = |status: &str, body: String| {
        format!(
            "{}{body}",
            head(
                status,
                &format!(
                    "Content-Type: application/json\r\nContent-Length: {}\r\n",
                    body.len()
                )
            )
        )
    };
    let chunk = vec![b'x'; 64 * 1024];
    let _ = match mode {
        Idp::Good => {
            stream
                .write_all(fixed("200 OK", good_jwks()).as_bytes())
                .await
        }
        Idp::Garbage => {
            let page = "<html>gateway error</html>".to_owned();
            stream.write_all(fixed("200 OK", page).as_bytes()).await
        }
        Idp::Broken => {
            stream
                .write_all(fixed("500 Internal Server Error", "{}".into()).as_bytes())
                .await
        }
        Idp::HugeDeclared => {
            let headers =
                format!("Content-Type: application/json\r\nContent-Length: {HUGE_BYTES}\r\n");
            let mut result = stream.write_all(head("200 OK", &headers).as_bytes()).await;
            let mut sent = 0;
            while result.is_ok() && sent < HUGE_BYTES {
                result = stream.write_all(&chunk).await;
                sent += chunk.len();
            }
            result
        }
        Idp::HugeChunked => {
            let headers = "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n";
            let mut result = stream.write_all(head("200 OK", headers).as_bytes()).await;
            let mut sent = 0;
            while result.is_ok() && sent < HUGE_BYTES {
                let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
                framed.extend_from_slice(&chunk);
                framed.extend_from_slice(b"\r\n");
                result = stream.write_all(&framed).await;
                sent += chunk.len();
            }
            if result.is_ok() {
                result = stream.write_all(b"0\r\n\r\n").await;
            }
            result
        }
        Idp::Stalled => {
            tokio::time::sleep(Duration::from_secs(120)).await;
            Ok(())
        }
    };
    let _ = stream.shutdown().await;
}

fn jwks_sign_env(url: &str) -> Vec<(&'static str, String)> {
    let mut env = sign_env();
    env.extend([
        ("JWT_HS256_SECRET", JWT_SECRET.to_owned()),
        ("JWT_JWKS_URL", url.to_owned()),
        ("JWT_ISSUER", ISSUER.to_owned()),
        ("JWT_AUDIENCE", AUDIENCE.to_owned()),
    ]);
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_failing_at_start_leaves_hs256_working_in_bounded_time_and_memory() {
    let modes = [
        Idp::Good,
        Idp::Garbage,
        Idp::Broken,
        Idp::HugeDeclared,
        Idp::HugeChunked,
    ];
    let mut idps = Vec::new();
    for mode in modes {
        idps.push(TestIdp::start(mode).await);
    }
    let down = format!("http://127.0.0.1:{}/jwks.json", closed_port());
    let urls: Vec<&str> = idps
        .iter()
        .map(|idp| idp.url.as_str())
        .chain([down.as_str()])
        .collect();
    let mut servers = Vec::new();
    for url in &urls {
        let mut process = Spawned::start(env!("CARGO_BIN_EXE_sign"), &jwks_sign_env(url));
        let (base, took) = listening_within(&mut process, Duration::from_secs(5)).await;
        assert!(took < Duration::from_secs(3), "{url}: {took:?}");
        servers.push(Server::wrap(process, base));
    }
    let good_peak = servers[0].peak_rss_kib();
    for (index, server) in servers.iter().enumerate() {
        let what = modes
            .get(index)
            .map_or("down".to_owned(), |m| format!("{m:?}"));
        let (status, answer, took) = server.sign(&eddsa_token("ed-1")).await;
        let expected = if index == 0 {
            (200, None)
        } else {
            (503, Some("unavailable"))
        };
        assert_eq!((status, answer["error"].as_str()), expected, "{what}");
        assert!(took < Duration::from_secs(1), "{what}: {took:?}");
        // HS256 needs no JWKS; a token for a kid the set lacks is refused, not waited on.
        assert_eq!(server.sign(&hs256_token()).await.0, 200, "{what}");
        let (status, _, took) = server.sign(&eddsa_token("ed-unknown")).await;
        assert_eq!(status, if index == 0 { 401 } else { 503 }, "{what}");
        assert!(took < Duration::from_secs(1), "{what}: {took:?}");
        // A 10 MB answer is refused on its announced length or after the 256 KiB cap.
        let grown = server.peak_rss_kib().saturating_sub(good_peak);
        assert!(
            grown < 4 * 1024,
            "{what}: peak RSS {grown} KiB above the good case"
        );
    }
    // Refetches are rate limited: the unknown-kid and unavailable tokens above triggered none.
    for (idp, mode) in idps.iter().zip(modes) {
        assert_eq!(idp.hits.load(Ordering::SeqCst), 1, "{mode:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_stalled_at_start_delays_listening_by_at_most_the_fetch_cap() {
    let idp = TestIdp::start(Idp::Stalled).await;
    let mut process = Spawned::start(env!("CARGO_BIN_EXE_sign"), &jwks_sign_env(&idp.url));
    // The JWKS prefetch runs during start-up, capped at 5 s (not configurable); without the cap
    // the stalled provider would hold start-up for 120 s.
    let (base, _) = listening_within(&mut process, Duration::from_secs(30)).await;
    let server = Server::wrap(process, base);
    let (status, answer, took) = server.sign(&eddsa_token("ed-1")).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (503, Some("unavailable"))
    );
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert_eq!(server.sign(&hs256_token()).await.0, 200);
    assert!(server.process.logs().contains("JWKS download failed"));
}

#[tokio::test]
async fn jwks_hanging_on_refetch_never_delays_cached_keys() {
    // Library level: the binaries refetch at most every 10 s (not configurable), too slow here.
    // The refetch interval is read through tokio's clock, so the test skips past it; the download
    // itself runs over a real socket and keeps its real 5 s cap.
    let idp = TestIdp::start(Idp::Good).await;
    let verifier = Arc::new(
        JwtVerifier::new(JwtSettings {
            jwks_url: Some(idp.url.clone()),
            issuer: Some(ISSUER.to_owned()),
            audience: Some(AUDIENCE.to_owned()),
            leeway_secs: 0,
            upload_scope: Some("vod:upload".to_owned()),
        })
        .unwrap()
        .with_refetch_interval(Duration::from_secs(60)),
    );
    verifier.prefetch().await;
    let cached = format!("Bearer {}", eddsa_token("ed-1"));
    assert!(verifier.verify(Some(&cached), None).await.is_ok());

    // The provider now hangs: an unknown kid starts a refetch that waits out the 5 s cap.
    idp.set(Idp::Stalled);
    common::advance_clock(Duration::from_secs(61)).await;
    let unknown = |kid: &'static str| {
        let verifier = Arc::clone(&verifier);
        tokio::spawn(async move {
            let bearer = format!("Bearer {}", eddsa_token(kid));
            verifier.verify(Some(&bearer), None).await
        })
    };
    let first = unknown("ed-new-1");
    // The download has started (and holds the refetch lock) once the provider has its connection.
    tokio::time::timeout(Duration::from_secs(30), async {
        while idp.hits.load(Ordering::SeqCst) < 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the refetch reaches the provider");
    let second = unknown("ed-new-2");
    for _ in 0..20 {
        assert!(verifier.verify(Some(&cached), None).await.is_ok());
    }
    // Every cached verification finished while the download was still hanging.
    assert!(!first.is_finished() && !second.is_finished());
    // The cap ends the download; a hang (the provider stalls for 120 s) would fail here.
    let result = tokio::time::timeout(Duration::from_secs(30), first)
        .await
        .expect("the download is capped")
        .unwrap();
    assert_eq!(result.unwrap_err(), AuthError::UnknownKey);
    // The second unknown kid waited for the same download instead of starting its own.
    assert_eq!(second.await.unwrap().unwrap_err(), AuthError::UnknownKey);
    assert_eq!(idp.hits.load(Ordering::SeqCst), 2);
    assert!(verifier.verify(Some(&cached), None).await.is_ok());
}

// ---------------------------------------------------------------------------------------------
// Clients

#[tokio::test]
async fn half_sent_requests_store_nothing_and_the_server_stays_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.sqlite");
    let events = Server::sqlite_events(&db, &[]);
    let mut env = sign_env();
    env.push(("JWT_HS256_SECRET", JWT_SECRET.to_owned()));
    let sign = Server::start(env!("CARGO_BIN_EXE_sign"), &env);

    let body = signed(callback_fixture("new_file_upload.json"), SIGN_KEY, 600).to_string();
    let half = &body[..body.len() / 2];
    let token = upload_token(JWT_SECRET, "alice");
    let sign_body = r#"{"meta":"post_42"}"#;
    let cut_requests = [
        (events.addr(), raw_post("/v1/vod/events", &body), half.len()),
        (
            events.addr(),
            format!(
                "POST /v1/vod/events HTTP/1.1\r\nHost: faults\r\nTransfer-Encoding: chunked\r\n\r\n\
                 {:x}\r\n{half}",
                body.len()
            )
            .into_bytes(),
            0,
        ),
        (
            sign.addr(),
            format!(
                "POST /v1/upload-signature HTTP/1.1\r\nHost: faults\r\nAuthorization: Bearer {token}\r\n\
                 Content-Length: {}\r\n\r\n{}",
                sign_body.len(),
                &sign_body[..10]
            )
            .into_bytes(),
            0,
        ),
    ];
    for (addr, bytes, cut_from_end) in &cut_requests {
        for _ in 0..10 {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream
                .write_all(&bytes[..bytes.len() - cut_from_end])
                .await
                .unwrap();
            drop(stream);
        }
    }
    // Each cut request was answered (a 400 nobody reads), not left running; only once every
    // answer is logged is it worth checking that nothing was stored.
    for (server, route, cut) in [
        (&events, "/v1/vod/events", 20),
        (&sign, "/v1/upload-signature", 10),
    ] {
        let answered = || {
            server
                .process
                .logs()
                .lines()
                .filter(|l| l.contains(&format!("route=\"{route}\"")) && l.contains("status=400"))
                .count()
        };
        let logs = common::eventually("every cut request answered", || {
            let logs = server.process.logs();
            if answered() >= cut {
                Ok(logs)
            } else {
                Err(logs)
            }
        })
        .await;
        assert!(!logs.contains("panicked"), "{logs}");
        assert_eq!(answered(), cut, "{logs}");
    }
    assert!(events.healthy().await && sign.healthy().await);
    assert!(sqlite_ids(&db).is_empty(), "nothing half-sent was stored");
    let (status, _, _) = events.post("/v1/vod/events", None, body.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(sqlite_ids(&db).len(), 1);
    assert_eq!(
        sign.post("/v1/upload-signature", Some(&token), sign_body.into())
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn slow_and_stalled_clients_do_not_block_other_clients() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.sqlite");
    let events = Server::sqlite_events(&db, &[]);
    let mut held = Vec::new();
    let mut dribblers = tokio::task::JoinSet::new();
    for i in 0..30 {
        // Slowloris: a request line, then one header line every 100 ms.
        let mut stream = TcpStream::connect(events.addr()).await.unwrap();
        dribblers.spawn(async move {
            let mut result = stream
                .write_all(b"POST /v1/vod/events HTTP/1.1\r\nHost: faults\r\n")
                .await;
            let mut line = 0;
            while result.is_ok() {
                tokio::time::sleep(Duration::from_millis(100)).await;
                result = stream
                    .write_all(format!("X-Slow-{i}-{line}: a\r\n").as_bytes())
                    .await;
                line += 1;
            }
        });
        // A body announced, partly sent, then nothing more.
        let mut stalled = TcpStream::connect(events.addr()).await.unwrap();
        let request = raw_post("/v1/vod/events", &"{\"EventType\":\"X\"}".repeat(10));
        stalled
            .write_all(&request[..request.len() - 50])
            .await
            .unwrap();
        held.push(stalled);
        // A connection that never sends a byte.
        held.push(TcpStream::connect(events.addr()).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    for name in [
        "file_deleted.json",
        "pull_complete.json",
        "procedure_finish.json",
    ] {
        let (status, _, took) = events
            .callback(&signed(callback_fixture(name), SIGN_KEY, 600))
            .await;
        assert_eq!(status, 200, "{name}");
        assert!(took < Duration::from_secs(1), "{name}: {took:?}");
    }
    assert!(events.healthy().await);
    dribblers.abort_all();
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sqlite_ids(&db).len(), 3, "only the complete callbacks");
    assert!(events.healthy().await);
    assert!(!events.process.logs().contains("panicked"));
}
