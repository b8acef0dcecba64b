//! What wraps every route: request id, the request log line, metrics, CORS and the JSON 404/405.
//!
//! One middleware gives the request an id (API Gateway's own when running in Lambda, so the two
//! logs correlate), echoes it as `x-request-id` on every response, and writes the single log line
//! per request. Handlers never log request details themselves; they leave the caller's `sub`, the
//! error reason and what they stored in response extensions for that line, which keeps tokens,
//! signatures and bodies out of logs by construction.

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::metrics::{self, Classify, Outcome};
use super::{ApiError, Cors, ErrorReason, ok_empty};
use crate::ingest::{SinkLatency, StoredEvent};

/// The response header carrying the request id.
pub(crate) const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The request's id, left in request extensions for a handler that logs a line of its own.
#[derive(Debug, Clone)]
pub(crate) struct RequestId(pub(crate) String);

/// The authenticated caller's `sub`, left in response extensions for the request log line.
#[derive(Debug, Clone)]
pub(crate) struct CallerSub(pub(crate) String);

/// `GET /healthz`: the process is up and serving.
async fn healthz() -> Response {
    ok_empty()
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

/// The JSON 405, for a route that sets its own method fallback.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not accept that method",
    )
}

/// The route every function answers itself.
const HEALTHZ: &str = "/healthz";

/// Adds what every function's router needs: `GET /healthz`, JSON 404/405, CORS, request id, the
/// log line, the metric `classify` names for each request to one of the use case's routes, and
/// under Lambda an answer within the invocation's deadline ([`super::deadline`]).
pub fn finish(router: Router, cors: &Cors, classify: Classify) -> Router {
    let router = router
        .route(HEALTHZ, axum::routing::get(healthz))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(
            super::deadline::within_invocation,
        ));
    let router = match cors.layer() {
        Some(layer) => router.layer(layer),
        None => router,
    };
    router.layer(axum::middleware::from_fn_with_state(
        classify,
        request_context,
    ))
}

async fn request_context(
    State(classify): State<Classify>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let id = lambda_request_id(&request).unwrap_or_else(random_request_id);
    request.extensions_mut().insert(RequestId(id.clone()));
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());

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
    if route.as_deref().is_some_and(|route| route != HEALTHZ) {
        metrics::record(
            classify,
            &Outcome {
                method: &method,
                route: route.as_deref(),
                status,
                reason,
                duplicate: stored.map(|s| s.duplicate),
                sink_latency,
            },
        );
    }
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
