//! A minimal AWS Lambda Runtime API, enough to run a function binary in Lambda mode.
//!
//! The binary polls `GET /2018-06-01/runtime/invocation/next`; [`RuntimeApi::invoke`] hands it
//! an event (for us: an API Gateway HTTP API v2 request) and waits for the matching
//! `…/response` or `…/error` post, exactly as the Lambda service does.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tokio::sync::{Mutex, mpsc, oneshot};

type Pending = Arc<Mutex<HashMap<String, oneshot::Sender<Result<serde_json::Value, String>>>>>;

#[derive(Clone)]
struct Shared {
    events: Arc<Mutex<mpsc::Receiver<(String, serde_json::Value)>>>,
    pending: Pending,
    init_error: Arc<Mutex<Option<String>>>,
    timeout: Duration,
}

pub struct RuntimeApi {
    pub addr: SocketAddr,
    sender: mpsc::Sender<(String, serde_json::Value)>,
    shared: Shared,
    counter: std::sync::atomic::AtomicU64,
}

impl RuntimeApi {
    pub async fn start() -> Self {
        Self::start_with_timeout(Duration::from_secs(30)).await
    }

    /// Like [`RuntimeApi::start`], with each invocation's deadline `timeout` after it starts.
    pub async fn start_with_timeout(timeout: Duration) -> Self {
        let (sender, receiver) = mpsc::channel(16);
        let shared = Shared {
            events: Arc::new(Mutex::new(receiver)),
            pending: Arc::default(),
            init_error: Arc::default(),
            timeout,
        };
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            addr,
            sender,
            shared,
            counter: Default::default(),
        }
    }

    /// The environment a binary needs to run in Lambda mode against this API.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_LAMBDA_RUNTIME_API", self.addr.to_string()),
            ("AWS_LAMBDA_FUNCTION_NAME", "vodgate-test".to_owned()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
        ]
    }

    /// Delivers `event` to the function and returns its response payload (or error).
    pub async fn invoke(&self, event: serde_json::Value) -> Result<serde_json::Value, String> {
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = format!("req-{n}");
        let (tx, rx) = oneshot::channel();
        self.shared.pending.lock().await.insert(id.clone(), tx);
        self.sender.send((id, event)).await.unwrap();
        match tokio::time::timeout(Duration::from_secs(30), rx).await {
            Ok(Ok(result)) => result,
            _ => Err(format!(
                "no response within 30 s (init error: {:?})",
                self.shared.init_error.lock().await
            )),
        }
    }
}

async fn next(State(shared): State<Shared>) -> impl IntoResponse {
    let (id, event) = shared.events.lock().await.recv().await.unwrap();
    let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + shared.timeout;
    let mut headers = HeaderMap::new();
    headers.insert(
        "lambda-runtime-aws-request-id",
        HeaderValue::from_str(&id).unwrap(),
    );
    headers.insert(
        "lambda-runtime-deadline-ms",
        HeaderValue::from_str(&deadline.as_millis().to_string()).unwrap(),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        HeaderValue::from_static("arn:aws:lambda:us-east-1:123456789012:function:vodgate-test"),
    );
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    (headers, event.to_string())
}

async fn response(State(shared): State<Shared>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    let value = serde_json::from_slice(&body).map_err(|e| e.to_string());
    if let Some(tx) = shared.pending.lock().await.remove(&id) {
        let _ = tx.send(value);
    }
    StatusCode::ACCEPTED
}

async fn error(State(shared): State<Shared>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    if let Some(tx) = shared.pending.lock().await.remove(&id) {
        let _ = tx.send(Err(String::from_utf8_lossy(&body).into_owned()));
    }
    StatusCode::ACCEPTED
}

async fn init_error(State(shared): State<Shared>, body: Bytes) -> StatusCode {
    *shared.init_error.lock().await = Some(String::from_utf8_lossy(&body).into_owned());
    StatusCode::ACCEPTED
}
