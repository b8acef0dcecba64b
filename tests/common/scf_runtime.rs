//! A minimal Tencent SCF custom-runtime API, enough to run the `events` binary as an SCF event
//! function: `POST /runtime/init/ready`, then `GET /runtime/invocation/next` (a long poll that
//! hands out the next event with `request_id`, `memory_limit_in_mb` and `time_limit_in_ms`
//! headers) and one `POST /runtime/invocation/response` or `…/error` per invocation. Unlike
//! Lambda's, the paths carry no version and no request id.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tokio::sync::{Mutex, mpsc, oneshot};

type Answer = Result<serde_json::Value, String>;
/// An event to hand out, and where its answer goes.
type Invocation = (serde_json::Value, oneshot::Sender<Answer>);

#[derive(Clone)]
struct Shared {
    events: Arc<Mutex<mpsc::Receiver<Invocation>>>,
    current: Arc<Mutex<Option<oneshot::Sender<Answer>>>>,
    ready: Arc<std::sync::atomic::AtomicBool>,
    time_limit: Duration,
}

pub struct ScfRuntime {
    pub addr: SocketAddr,
    sender: mpsc::Sender<Invocation>,
    shared: Shared,
}

impl ScfRuntime {
    /// A runtime API whose function has `time_limit` per invocation.
    pub async fn start(time_limit: Duration) -> Self {
        let (sender, receiver) = mpsc::channel(16);
        let shared = Shared {
            events: Arc::new(Mutex::new(receiver)),
            current: Arc::default(),
            ready: Arc::default(),
            time_limit,
        };
        let app = Router::new()
            .route("/runtime/init/ready", post(ready))
            .route("/runtime/invocation/next", get(next))
            .route("/runtime/invocation/response", post(response))
            .route("/runtime/invocation/error", post(error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            addr,
            sender,
            shared,
        }
    }

    /// The environment SCF gives a custom runtime.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SCF_RUNTIME_API", self.addr.ip().to_string()),
            ("SCF_RUNTIME_API_PORT", self.addr.port().to_string()),
            ("SCF_FUNCTIONNAME", "vodgate-pull".to_owned()),
            ("TRIGGER_SRC", "timer".to_owned()),
        ]
    }

    pub fn init_ready(&self) -> bool {
        self.shared.ready.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Hands `event` to the function and waits for its response (`Err` for an error post).
    pub async fn invoke(&self, event: serde_json::Value) -> Answer {
        let (tx, rx) = oneshot::channel();
        self.sender.send((event, tx)).await.unwrap();
        rx.await
            .unwrap_or_else(|_| Err("the runtime dropped the invocation".to_owned()))
    }
}

async fn ready(State(shared): State<Shared>) -> impl IntoResponse {
    shared
        .ready
        .store(true, std::sync::atomic::Ordering::SeqCst);
    ""
}

async fn next(State(shared): State<Shared>) -> impl IntoResponse {
    let (event, answer) = shared.events.lock().await.recv().await.unwrap();
    *shared.current.lock().await = Some(answer);
    let mut headers = HeaderMap::new();
    headers.insert("request_id", "scf-request-1".parse().unwrap());
    headers.insert("memory_limit_in_mb", "128".parse().unwrap());
    headers.insert(
        "time_limit_in_ms",
        shared.time_limit.as_millis().to_string().parse().unwrap(),
    );
    (headers, event.to_string())
}

async fn response(State(shared): State<Shared>, body: Bytes) -> impl IntoResponse {
    if let Some(answer) = shared.current.lock().await.take() {
        let value = serde_json::from_slice(&body).map_err(|e| e.to_string());
        let _ = answer.send(value);
    }
    ""
}

async fn error(State(shared): State<Shared>, body: Bytes) -> impl IntoResponse {
    if let Some(answer) = shared.current.lock().await.take() {
        let _ = answer.send(Err(String::from_utf8_lossy(&body).into_owned()));
    }
    ""
}
