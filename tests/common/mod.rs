//! Shared helpers for the black-box tests: spawn the real binaries, a local AWS endpoint (moto),
//! and a minimal AWS Lambda Runtime API so a binary runs in Lambda mode.
#![allow(dead_code)] // each test crate uses a different subset of these helpers

pub mod fake_vod;
pub mod lambda_runtime;
pub mod postgres;
pub mod scf_runtime;
pub mod upload;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// A binary of this package, started with a clean environment plus `env`.
pub struct Spawned {
    pub child: Child,
    logs: Arc<Mutex<String>>,
    stdout: Arc<Mutex<String>>,
}

impl Spawned {
    /// Starts `bin` (e.g. `env!("CARGO_BIN_EXE_sign")`) with exactly `env` (plus PATH and
    /// RUST_LOG=info unless `env` sets it).
    pub fn start<V: AsRef<std::ffi::OsStr>>(bin: &str, env: &[(&str, V)]) -> Self {
        Self::start_in(bin, &[], env, None)
    }

    pub fn start_in<V: AsRef<std::ffi::OsStr>>(
        bin: &str,
        args: &[&str],
        env: &[(&str, V)],
        cwd: Option<&std::path::Path>,
    ) -> Self {
        let mut command = Command::new(bin);
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "info")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(dir) = cwd {
            command.current_dir(dir);
        }
        let mut child = command.spawn().expect("spawn binary");
        let logs = Arc::new(Mutex::new(String::new()));
        let stdout = Arc::new(Mutex::new(String::new()));
        for (pipe, sink) in [
            (
                Box::new(child.stderr.take().unwrap()) as Box<dyn std::io::Read + Send>,
                logs.clone(),
            ),
            (Box::new(child.stdout.take().unwrap()), stdout.clone()),
        ] {
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let mut sink = sink.lock().unwrap();
                    sink.push_str(&line);
                    sink.push('\n');
                }
            });
        }
        Self {
            child,
            logs,
            stdout,
        }
    }

    /// Everything written to stderr so far (the logs, in local mode).
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    /// Everything written to stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// Waits for the "listening on http://ADDR" line and returns the base URL.
    pub fn wait_listening(&mut self) -> String {
        for _ in 0..200 {
            if let Some(rest) = self.logs().split("listening on ").nth(1) {
                let url: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
                return url.replace("0.0.0.0", "127.0.0.1");
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "binary exited with {status} before listening:\n{}",
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("binary did not start listening:\n{}", self.logs());
    }

    /// Waits for the process to exit (it is expected to) and returns its exit code.
    pub fn wait_exit(&mut self) -> i32 {
        for _ in 0..400 {
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(50)); // let the log threads drain
                return status.code().unwrap_or(-1);
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("binary did not exit:\n{}", self.logs());
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A local AWS endpoint (moto), one per test process. Panics with instructions if `tests/run`
/// has not installed it: a missing tool is a failure, never a silent skip.
pub fn moto_endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| {
        let python = root().join(".venv/bin/python");
        assert!(
            python.exists(),
            "moto is not installed: run `tests/run` once (it creates .venv with moto)"
        );
        let mut child = Command::new(python)
            .arg(root().join("tests/support/moto_guard.py"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            // Keep reading so the pipe never fills.
            for _ in lines {}
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("moto did not start within 60 s");
        let port = line.strip_prefix("ready ").expect("moto ready line");
        // The child is deliberately leaked: moto_guard.py exits when this process does.
        std::mem::forget(child);
        format!("http://127.0.0.1:{port}")
    })
}

/// Environment for a child binary talking to moto.
pub fn aws_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
    ]
}

/// An SDK config for in-process calls to moto.
pub async fn aws_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region("us-east-1")
        .endpoint_url(endpoint)
        .test_credentials()
        .load()
        .await
}

/// An HS256 JWT with the given claims, signed with `secret`.
pub fn hs256(secret: &str, claims: &serde_json::Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()).unwrap(),
    )
    .unwrap()
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A valid uploader token for `sub`.
pub fn upload_token(secret: &str, sub: &str) -> String {
    hs256(
        secret,
        &serde_json::json!({"sub": sub, "scope": "openid vod:upload", "exp": now() + 600}),
    )
}

/// What a [`FlakyProxy`] does with connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Forward to the target.
    Up,
    /// Drop every connection, open ones included: the service is unreachable.
    Down,
    /// Accept and hold connections without forwarding a byte: the service hangs.
    Stalled,
}

/// A TCP proxy to `target` that can be broken on demand, so a client sees the service vanish or
/// hang and then come back with its data intact (unlike deleting the table or queue).
pub struct FlakyProxy {
    pub addr: std::net::SocketAddr,
    link: tokio::sync::watch::Sender<Link>,
}

impl FlakyProxy {
    /// Proxies to `target` (`http://host:port`).
    pub async fn start(target: &str) -> Self {
        let target = target.trim_start_matches("http://").to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (link, watch) = tokio::sync::watch::channel(Link::Up);
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut watch = watch.clone();
                let target = target.clone();
                let mode = *watch.borrow();
                tokio::spawn(async move {
                    match mode {
                        Link::Down => {}
                        Link::Stalled => {
                            let _ = watch.wait_for(|link| *link == Link::Down).await;
                            drop(inbound);
                        }
                        Link::Up => {
                            let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await
                            else {
                                return;
                            };
                            tokio::select! {
                                _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                                _ = watch.wait_for(|link| *link != Link::Up) => {}
                            }
                        }
                    }
                });
            }
        });
        Self { addr, link }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set(&self, link: Link) {
        self.link.send_replace(link);
    }
}

/// A callback fixture from tests/fixtures/callbacks/.
pub fn callback_fixture(name: &str) -> serde_json::Value {
    let path = root().join("tests/fixtures/callbacks").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `body` with a fresh `Sign`/`T` for callback key `key`, T = now + `ahead` seconds.
pub fn signed(mut body: serde_json::Value, key: &str, ahead: i64) -> serde_json::Value {
    let t = now() as i64 + ahead;
    body["T"] = t.into();
    body["Sign"] =
        vodgate::vod::callback_auth::sign_for(&vodgate::platform::secret::Secret::new(key), t)
            .into();
    body
}

/// A `NewFileUpload` callback (tests/fixtures/callbacks/new_file_upload.json) for an upload whose
/// signature carried `source_context`, with a fresh random `FileId`, signed for callback key `key`
/// to expire ten minutes from now.
pub fn upload_callback(source_context: &str, key: &str) -> serde_json::Value {
    let mut body = callback_fixture("new_file_upload.json");
    let event = &mut body["FileUploadEvent"];
    event["FileId"] = format!("52858907842{:08}", rand::random::<u32>() % 100_000_000).into();
    event["MediaBasicInfo"]["SourceInfo"]["SourceContext"] = source_context.into();
    signed(body, key, 600)
}

/// The `sourceContext` and (when a procedure was signed) `sessionContext` a signature carries.
pub fn signature_contexts(signature: &str) -> (String, Option<String>) {
    let report = vodgate::vod::signature::inspect(signature, None, now());
    let param = |name: &str| {
        report
            .params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    (
        param("sourceContext").expect("every signature carries sourceContext"),
        param("sessionContext"),
    )
}

/// The events VOD sends for one upload with a task flow, about one fresh `FileId` and flow,
/// each signed for callback key `key`: `NewFileUpload` echoing `source_context` and naming the
/// flow in `ProcedureTaskId`, then the flow's `PROCESSING` and its successful `FINISH`, both
/// echoing `session_context` (absent when the signature carried none, as VOD sends them then).
pub struct UploadEvents {
    pub file_id: String,
    pub uploaded: serde_json::Value,
    pub processing: serde_json::Value,
    pub finished: serde_json::Value,
}

pub fn upload_events(
    source_context: &str,
    session_context: Option<&str>,
    key: &str,
) -> UploadEvents {
    let file_id = format!("52858907842{:08}", rand::random::<u32>() % 100_000_000);
    let task_id = format!("1500000001-procedurev2-{:020x}", rand::random::<u64>());
    let mut uploaded = callback_fixture("new_file_upload.json");
    let event = &mut uploaded["FileUploadEvent"];
    event["FileId"] = file_id.clone().into();
    event["ProcedureTaskId"] = task_id.clone().into();
    event["MediaBasicInfo"]["SourceInfo"]["SourceContext"] = source_context.into();
    let flow = |fixture: &str| {
        let mut body = callback_fixture(fixture);
        let event = &mut body["ProcedureStateChangeEvent"];
        event["TaskId"] = task_id.clone().into();
        event["FileId"] = file_id.clone().into();
        match session_context {
            Some(context) => event["SessionContext"] = context.into(),
            None => {
                event.as_object_mut().unwrap().remove("SessionContext");
            }
        }
        signed(body, key, 600)
    };
    UploadEvents {
        processing: flow("procedure_change_processing.json"),
        finished: flow("procedure_finish_ready.json"),
        uploaded: signed(uploaded, key, 600),
        file_id,
    }
}

/// Creates the events table as template.yaml does: key `id` (S), on-demand.
pub async fn create_events_table(client: &aws_sdk_dynamodb::Client, table: &str) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

/// How long a test waits for something a child process is expected to do. Generous on purpose:
/// only a hang should ever reach it, on however busy a machine.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Polls `check` until it gives `Ok`, and panics with its last `Err` (say, the output so far) if
/// that takes longer than [`PATIENCE`]. For waiting on positive evidence, such as a log line,
/// instead of sleeping a guessed time.
pub async fn eventually<T>(what: &str, mut check: impl FnMut() -> Result<T, String>) -> T {
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        match check() {
            Ok(value) => return value,
            Err(last) if std::time::Instant::now() >= deadline => {
                panic!("{what}: still not there after {PATIENCE:?}:\n{last}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// Moves tokio's clock `by` ahead at once, then lets it run on with the wall clock: caches,
/// intervals and TTLs read through tokio's clock see the time pass, while real sockets keep their
/// real timeouts. Call it with no request in flight, on a current-thread runtime (the default of
/// `#[tokio::test]`).
pub async fn advance_clock(by: Duration) {
    tokio::time::pause();
    tokio::time::advance(by).await;
    tokio::time::resume();
}

/// Creates the uploads table as template.yaml does: key `pk` (S), on-demand, with the sparse
/// `byOwner` index (`owner`, `listKey`; all attributes projected).
pub async fn create_uploads_table(client: &aws_sdk_dynamodb::Client, table: &str) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
        Projection, ProjectionType, ScalarAttributeType,
    };
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .unwrap()
    };
    client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("pk"))
        .attribute_definitions(attribute("owner"))
        .attribute_definitions(attribute("listKey"))
        .key_schema(key("pk", KeyType::Hash))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("byOwner")
                .key_schema(key("owner", KeyType::Hash))
                .key_schema(key("listKey", KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}
