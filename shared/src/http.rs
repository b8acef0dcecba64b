//! The HTTP edge shared by both functions: the JSON envelope, request ids, the request log line,
//! CORS, and how any route's error becomes a response.
//!
//! Every answer, success or failure, uses the envelope Tencent's sample clients already read:
//! `{"code":0,"message":"ok","data":{…}}` on success and
//! `{"code":<status>,"error":"<stable_reason>","message":"<for humans>"}` on failure. `error` is a
//! stable snake_case string clients can branch on; `message` may change wording.
//!
//! One middleware wraps everything: it gives the request an id (API Gateway's own when running
//! in Lambda, so the two logs correlate), echoes it as `x-request-id` on every response, and
//! writes the single log line per request. Handlers never log request details themselves; they
//! leave the caller's `sub` and the error reason in response extensions for that line, which
//! keeps tokens, signatures and bodies out of logs by construction.

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::{ConfigError, Env};

/// The response header carrying the request id.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being served (a request extension).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The authenticated caller's `sub`, left in response extensions for the request log line.
#[derive(Debug, Clone)]
pub struct CallerSub(pub String);

/// The event a request stored, left in response extensions for the log line.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub id: String,
    /// The sink already had it (a redelivery).
    pub duplicate: bool,
}

/// How long the sink took (success or failure), left in response extensions for metrics.
#[derive(Debug, Clone, Copy)]
pub struct SinkLatency(pub std::time::Duration);

/// The stable reason of an error response, left in response extensions for the log line.
#[derive(Debug, Clone, Copy)]
pub struct ErrorReason(pub &'static str);

/// An error as the client sees it: status, stable reason, human message.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub reason: &'static str,
    pub message: String,
    pub www_authenticate: Option<HeaderValue>,
}

impl ApiError {
    pub fn new(status: StatusCode, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            reason,
            message: message.into(),
            www_authenticate: None,
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: u16,
    error: &'a str,
    message: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.status.as_u16(),
            error: self.reason,
            message: &self.message,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(challenge) = self.www_authenticate {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, challenge);
        }
        response.extensions_mut().insert(ErrorReason(self.reason));
        response
    }
}

#[derive(Serialize)]
struct OkBody<T> {
    code: u16,
    message: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<T>,
}

/// `200 {"code":0,"message":"ok","data":…}`.
pub fn ok<T: Serialize>(data: T) -> Response {
    axum::Json(OkBody {
        code: 0,
        message: "ok",
        data: Some(data),
    })
    .into_response()
}

/// `200 {"code":0,"message":"ok"}`.
pub fn ok_empty() -> Response {
    axum::Json(OkBody::<()> {
        code: 0,
        message: "ok",
        data: None,
    })
    .into_response()
}

/// `GET /healthz`: the process is up and serving.
async fn healthz() -> Response {
    ok_empty()
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not accept that method",
    )
}

/// How much of an oversized body is still read (and discarded) before answering 413, and for how
/// long. Answering while the client is still sending makes the kernel reset the connection, and
/// the reset can destroy the 413 before the client reads it; reading a bounded remainder first
/// (nginx's "lingering close") lets well-behaved clients see the answer.
const DRAIN_BYTES: usize = 2 * 1024 * 1024;
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(2);

/// The error a plain-HTTP request body gives once its deadline has passed (see
/// [`crate::serve::ServerLimits`]).
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive before its deadline")]
pub struct BodyTimeout;

/// Reads a request body up to `limit` bytes: 413 beyond it, 408 if it arrives too slowly (plain
/// HTTP only), 400 if the stream fails.
pub async fn read_body(mut body: axum::body::Body, limit: usize) -> Result<bytes::Bytes, ApiError> {
    use http_body_util::BodyExt as _;
    let mut collected = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(error) => {
                return Err(if error.into_inner().is::<BodyTimeout>() {
                    ApiError::new(
                        StatusCode::REQUEST_TIMEOUT,
                        "request_timeout",
                        "the request body did not arrive in time",
                    )
                } else {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "bad_request",
                        "the request body could not be read",
                    )
                });
            }
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers carry no body bytes
        };
        if collected.len() + data.len() > limit {
            let mut drained = collected.len() + data.len();
            let drain = async {
                while drained <= DRAIN_BYTES
                    && let Some(Ok(frame)) = body.frame().await
                {
                    drained += frame.data_ref().map_or(0, bytes::Bytes::len);
                }
            };
            let _ = tokio::time::timeout(DRAIN_TIME, drain).await;
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the request body must be at most {limit} bytes"),
            ));
        }
        collected.extend_from_slice(&data);
    }
    Ok(collected.freeze())
}

/// Which browser origins may call the API (`CORS_ALLOWED_ORIGINS`: comma-separated origins, or `*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Cors {
    /// No CORS headers: server-to-server and mobile clients only.
    #[default]
    Off,
    Any,
    Origins(Vec<HeaderValue>),
}

impl Cors {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let origins = env.list("CORS_ALLOWED_ORIGINS");
        if origins.is_empty() {
            return Ok(Self::Off);
        }
        if origins.iter().any(|o| o == "*") {
            return Ok(Self::Any);
        }
        origins
            .iter()
            .map(|origin| {
                let valid = (origin.starts_with("https://") || origin.starts_with("http://"))
                    && !origin.ends_with('/');
                HeaderValue::from_str(origin).ok().filter(|_| valid).ok_or_else(|| {
                    ConfigError::invalid(
                        "CORS_ALLOWED_ORIGINS",
                        format!("expected origins like https://app.example.com (no path, no trailing slash) or *, got {origin:?}"),
                    )
                })
            })
            .collect::<Result<_, _>>()
            .map(Self::Origins)
    }

    fn layer(&self) -> Option<CorsLayer> {
        let origin = match self {
            Self::Off => return None,
            Self::Any => AllowOrigin::any(),
            Self::Origins(list) => AllowOrigin::list(list.iter().cloned()),
        };
        Some(
            CorsLayer::new()
                .allow_origin(origin)
                .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
                .expose_headers([REQUEST_ID_HEADER])
                .max_age(std::time::Duration::from_secs(600)),
        )
    }
}

/// Adds what every function's router needs: `GET /healthz`, JSON 404/405, CORS, request id and
/// the log line.
pub fn finish(router: Router, cors: &Cors) -> Router {
    let router = router
        .route("/healthz", axum::routing::get(healthz))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    let router = match cors.layer() {
        Some(layer) => router.layer(layer),
        None => router,
    };
    router.layer(axum::middleware::from_fn(request_context))
}

async fn request_context(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = lambda_request_id(&request).unwrap_or_else(random_request_id);
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    request.extensions_mut().insert(RequestId(id.clone()));

    let mut response = next.run(request).await;

    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    let status = response.status().as_u16();
    let sub = response
        .extensions()
        .get::<CallerSub>()
        .map(|s| s.0.as_str());
    let reason = response.extensions().get::<ErrorReason>().map(|r| r.0);
    let stored = response.extensions().get::<StoredEvent>();
    let sink_latency = response.extensions().get::<SinkLatency>().map(|l| l.0);
    crate::metrics::record(&crate::metrics::Outcome {
        route: route.as_deref(),
        status,
        reason,
        duplicate: stored.map(|s| s.duplicate),
        sink_latency,
    });
    tracing::info!(
        request_id = %id,
        method = %method,
        route = route.as_deref().unwrap_or("unmatched"),
        status,
        latency_ms = started.elapsed().as_micros() as f64 / 1000.0,
        sub,
        reason,
        event_id = stored.map(|s| s.id.as_str()),
        duplicate = stored.map(|s| s.duplicate),
        sink_ms = sink_latency.map(|l| l.as_micros() as f64 / 1000.0),
        "request"
    );
    response
}

fn lambda_request_id(request: &Request) -> Option<String> {
    use lambda_http::request::RequestContext;
    match request.extensions().get::<RequestContext>()? {
        RequestContext::ApiGatewayV2(context) => context.request_id.clone(),
        _ => None,
    }
    .filter(|id| id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()))
}

fn random_request_id() -> String {
    let bytes: [u8; 12] = rand::random();
    hex::encode(bytes)
}
