//! The `events` function: authenticate a VOD callback, attribute it, store it, then answer.
//!
//! A callback flows: route check (path token) → body (≤ 1 MiB) → [`callback::parse`] →
//! [`CallbackVerifier::verify`] (Sign/T) → the store path shared with pull
//! ([`crate::ingest::ingest`]: attribution by context token or known `FileId`, the envelope, the
//! sink, the upload's record). The function answers `200 {"code":0,"message":"ok","data":{"id",
//! "duplicate"}}` (the stored event's id, and whether it was already stored) only after
//! the sink confirmed the write (a duplicate counts as written) and, with `UPLOADS_STORE`, the
//! upload was updated; if either fails or does not answer within `EVENT_STORE_TIMEOUT_SECONDS`
//! it answers 503 so VOD delivers again, and because every sink write is keyed by the event's
//! deterministic id and every upload update is idempotent, the redelivery is stored once and
//! counted once. Every failure is an [`EventsError`], turned into the JSON envelope in one place.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use time::OffsetDateTime;
use tokio::time::Instant;

mod config;

use crate::ingest::sink::{SinkError, Sinks, Stored};
use crate::ingest::uploads::{Access, UploadsError, UploadsStore};
use crate::ingest::{
    Enforced, Enforcer, IngestError, IngestKeys, Ingested, SinkLatency, StoredEvent, Stores,
    store_timeout,
};
use crate::platform::config::{ConfigError, Env};
use crate::platform::keys::{KeySet, Keys, SecretsManager, StartError};
use crate::platform::secret::SecretList;
use crate::vod::api::{ApiCredentials, VodApiError};
use crate::vod::callback::{self, CallbackError, MAX_CALLBACK_BYTES};
use crate::vod::callback_auth::{AuthMode, CallbackAuthError, CallbackKeys, CallbackVerifier};
use crate::web::metrics::{Metric, Outcome};
use crate::web::{ApiError, Cors, RequestId};

/// The callback route (and `ROUTE/{token}` when a path token is configured).
pub const ROUTE: &str = "/v1/vod/events";

/// The keys `events` uses, derived once per secret fetch.
pub(crate) struct EventsKeys {
    callback: CallbackKeys,
    context: Option<SecretList>,
    /// The VOD API key pair, when both halves are set: upload limits need it.
    api: Option<ApiCredentials>,
}

impl EventsKeys {
    fn derive(keys: &KeySet) -> Result<Self, ConfigError> {
        Ok(Self {
            callback: config::callback_keys(keys)?,
            context: keys.list("VODGATE_CONTEXT_KEY")?,
            api: crate::ingest::api_credentials(keys).ok(),
        })
    }

    fn ingest(&self) -> IngestKeys<'_> {
        IngestKeys {
            context: self.context.as_ref(),
            api: self.api.as_ref(),
        }
    }
}

/// Everything an `events` request needs, built once at start.
pub struct EventsState {
    keys: Keys<EventsKeys>,
    verifier: CallbackVerifier,
    stores: Stores,
}

impl EventsState {
    /// Reads configuration, loads keys and prepares the sink and the uploads store (no network
    /// call to either).
    pub async fn from_env(env: &Env) -> Result<Arc<Self>, StartError> {
        let source = SecretsManager::from_env(env).await?;
        let keys = Keys::load(env, source, EventsKeys::derive).await?;
        let current = keys.current().await;
        let verifier = config::verifier(env, &current.callback)?;
        if verifier.mode() == AuthMode::None {
            tracing::warn!(
                "VOD_CALLBACK_AUTH=none: callbacks are NOT authenticated; anyone who can reach this URL can store events"
            );
        }
        if current.context.is_none() {
            tracing::warn!(
                "VODGATE_CONTEXT_KEY is not set: events cannot be attributed to uploaders (uploader is always null)"
            );
        }
        let enforcer = Enforcer::from_env(env)?;
        if enforcer.is_some() && current.api.is_none() {
            return Err(ConfigError::missing(
                "VOD_SECRET_ID",
                "upload limits (UPLOAD_MAX_*, UPLOAD_ALLOWED_CONTAINERS, REVIEW_BLOCK_ACTION=delete) \
                 delete media through VOD's API: set VOD_SECRET_ID and VOD_SECRET_KEY",
            )
            .into());
        }
        let store_timeout = store_timeout(env)?;
        let sink = Sinks::from_env(env).await?;
        tracing::info!(sink = %sink.describe(), "events sink ready");
        let uploads = UploadsStore::from_env(env, Access::ReadWrite).await?;
        if let Some(uploads) = &uploads {
            tracing::info!(uploads = %uploads.describe(), "uploads store ready");
        }
        drop(current);
        Ok(Arc::new(Self {
            keys,
            verifier,
            stores: Stores {
                sink,
                uploads,
                enforcer,
                timeout: store_timeout,
            },
        }))
    }

    /// The sinks events are written to.
    pub fn sink(&self) -> &Sinks {
        &self.stores.sink
    }

    /// The uploads store, when `UPLOADS_STORE` is set.
    pub fn uploads(&self) -> Option<&UploadsStore> {
        self.stores.uploads.as_ref()
    }
}

/// The `events` routes: `POST /v1/vod/events` and `POST /v1/vod/events/{token}`.
pub fn routes(state: Arc<EventsState>) -> Router {
    Router::new()
        .route(ROUTE, post(receive_bare))
        .route(&format!("{ROUTE}/{{token}}"), post(receive_with_token))
        .with_state(state)
}

/// The whole `events` application, as served in every mode.
pub fn app(state: Arc<EventsState>, cors: &Cors) -> Router {
    crate::web::finish(routes(state), cors, metric)
}

/// The metric of a request to an `events` route: stored, a duplicate, or rejected (with its
/// reason); `None` for other routes.
pub fn metric(outcome: &Outcome<'_>) -> Option<Metric> {
    if !outcome.route?.starts_with(ROUTE) {
        return None;
    }
    let name = match (outcome.ok(), outcome.duplicate) {
        (true, Some(true)) => "EventDuplicates",
        (true, _) => "EventsStored",
        (false, _) => "EventsRejected",
    };
    Some(Metric {
        function: "events",
        name,
    })
}

async fn receive_bare(State(state): State<Arc<EventsState>>, request: Request) -> Response {
    receive(&state, None, request).await
}

async fn receive_with_token(
    State(state): State<Arc<EventsState>>,
    Path(token): Path<String>,
    request: Request,
) -> Response {
    receive(&state, Some(token), request).await
}

async fn receive(state: &EventsState, token: Option<String>, request: Request) -> Response {
    match ingest(state, token.as_deref(), request).await {
        Ok((stored, latency)) => {
            let mut response = crate::web::ok(serde_json::json!({
                "id": stored.id,
                "duplicate": stored.duplicate,
            }));
            response.extensions_mut().insert(stored);
            response.extensions_mut().insert(latency);
            response
        }
        Err(error) => error.into_response(),
    }
}

async fn ingest(
    state: &EventsState,
    token: Option<&str>,
    request: Request,
) -> Result<(StoredEvent, SinkLatency), EventsError> {
    let deadline = store_deadline(&request, state.stores.timeout);
    let keys = state.keys.current().await;
    let route = state.verifier.check_route(&keys.callback, token)?;
    let (parts, body) = request.into_parts();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    state
        .verifier
        .check_query(&keys.callback, parts.uri.query(), now)?;
    let bytes = crate::web::read_body(body, MAX_CALLBACK_BYTES)
        .await
        .map_err(EventsError::Http)?;
    let callback = callback::parse(&bytes)?;
    let received_at = OffsetDateTime::now_utc();
    let auth = state.verifier.verify(
        &keys.callback,
        route,
        callback,
        parts.uri.query(),
        received_at.unix_timestamp(),
    )?;
    let ingested = crate::ingest::ingest(
        &state.stores,
        keys.ingest(),
        auth.into_callback(),
        received_at,
        deadline,
    )
    .await
    .map_err(|error| match error {
        IngestError::Sink(error, latency) => EventsError::Sink(error, SinkLatency(latency)),
        IngestError::Uploads(error) => EventsError::Uploads(error),
        IngestError::Vod(error) => EventsError::Vod(error),
    })?;
    if let Some(reason) = ingested.forged {
        let request_id = parts.extensions.get::<RequestId>().map(|id| id.0.as_str());
        tracing::warn!(
            request_id,
            %reason,
            "an attribution token in the callback did not open; stored unattributed"
        );
    }
    record_counts(&ingested);
    Ok((
        StoredEvent {
            id: ingested.id,
            duplicate: ingested.stored == Stored::Duplicate,
        },
        SinkLatency(ingested.sink_latency),
    ))
}

/// How long before a Lambda invocation's deadline the store path gives up, leaving time to answer.
const LAMBDA_MARGIN: Duration = Duration::from_millis(500);

/// When the store path must be done: `timeout` (`EVENT_STORE_TIMEOUT_SECONDS`) from now, and
/// under Lambda also [`LAMBDA_MARGIN`] before the invocation's deadline, so that a slow sink ends
/// in our 503 (VOD delivers again) rather than in the platform killing the invocation.
fn store_deadline(request: &Request, timeout: Duration) -> Instant {
    let left = request
        .extensions()
        .get::<lambda_http::Context>()
        .map(|context| {
            context
                .deadline()
                .duration_since(SystemTime::now())
                .unwrap_or_default()
                .saturating_sub(LAMBDA_MARGIN)
        });
    Instant::now() + left.map_or(timeout, |left| left.min(timeout))
}

/// Everything that can go wrong receiving a callback.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EventsError {
    #[error(transparent)]
    Auth(#[from] CallbackAuthError),
    #[error(transparent)]
    Parse(#[from] CallbackError),
    #[error("{0}")]
    Sink(SinkError, SinkLatency),
    #[error(transparent)]
    Uploads(UploadsError),
    /// VOD's API did not describe or delete media that breaks a limit.
    #[error("{0}")]
    Vod(VodApiError),
    #[error("{}", .0.message)]
    Http(ApiError),
}

/// Counts what the store path did besides storing (`UploadsRejected`, `UploadsUnchecked`,
/// `AttributionRefused`, `EventsTruncated`): one line for an event that did any of it.
fn record_counts(ingested: &Ingested) {
    let counts: Vec<(&str, u64)> = [
        (
            "UploadsRejected",
            matches!(ingested.enforced, Some(Enforced::Rejected(_))),
        ),
        (
            "UploadsUnchecked",
            ingested.enforced == Some(Enforced::Unchecked),
        ),
        ("AttributionRefused", ingested.forged.is_some()),
        ("EventsTruncated", ingested.truncated),
    ]
    .into_iter()
    .filter(|(_, happened)| *happened)
    .map(|(name, _)| (name, 1))
    .collect();
    if !counts.is_empty() {
        crate::web::metrics::record_counts("events", &counts);
    }
}

impl IntoResponse for EventsError {
    /// The one place a failed callback becomes an HTTP answer: 404/401 for authentication (so
    /// VOD's retries stop only when the key is fixed), 400/413 for bodies that can never be stored,
    /// 503 for a sink or an uploads store that failed (VOD delivers again), 413 for an event no
    /// sink can hold.
    fn into_response(self) -> Response {
        let api = match self {
            Self::Auth(error) => {
                let (status, reason) = match error {
                    CallbackAuthError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
                    CallbackAuthError::WrongPathToken => {
                        (StatusCode::UNAUTHORIZED, "invalid_callback_token")
                    }
                    CallbackAuthError::MissingSign(_) => {
                        (StatusCode::UNAUTHORIZED, "missing_signature")
                    }
                    CallbackAuthError::MalformedSign | CallbackAuthError::BadSign => {
                        (StatusCode::UNAUTHORIZED, "invalid_signature")
                    }
                    CallbackAuthError::Expired => (StatusCode::UNAUTHORIZED, "signature_expired"),
                    CallbackAuthError::TooFarAhead | CallbackAuthError::BadTime => {
                        (StatusCode::UNAUTHORIZED, "signature_time_invalid")
                    }
                    CallbackAuthError::NotConfigured => {
                        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
                    }
                };
                ApiError::new(status, reason, error.to_string())
            }
            Self::Parse(error) => {
                let (status, reason) = match error {
                    CallbackError::TooLarge { .. } => {
                        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
                    }
                    _ => (StatusCode::BAD_REQUEST, "bad_request"),
                };
                ApiError::new(status, reason, error.to_string())
            }
            Self::Sink(error, latency) => {
                let api = match error {
                    SinkError::TooLarge(bytes) => {
                        tracing::error!(bytes, "event too large for the sink even compressed");
                        ApiError::new(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            "payload_too_large",
                            "the event is too large for the configured sink",
                        )
                    }
                    SinkError::Unavailable { kind, detail } => {
                        tracing::warn!(%kind, cause = %detail, "sink unavailable; answering 503 so VOD retries");
                        ApiError::new(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "unavailable",
                            "the event could not be stored; retry later",
                        )
                    }
                };
                let mut response = api.into_response();
                response.extensions_mut().insert(latency);
                return response;
            }
            Self::Uploads(error) => {
                let kind = match &error {
                    UploadsError::Unavailable { kind, .. } => kind.to_string(),
                    UploadsError::BadCursor => "bad cursor".to_owned(),
                };
                tracing::warn!(%kind, cause = %error, "uploads store unavailable; answering 503 so VOD retries");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the event's upload could not be updated; retry later",
                )
            }
            Self::Vod(error) => {
                if error.is_retryable() {
                    tracing::warn!(cause = %error, "upload limits not enforced yet; answering 503 so VOD retries");
                } else {
                    tracing::error!(cause = %error, "VOD refused a call that enforces upload limits; answering 503 so VOD retries");
                }
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the event's upload could not be checked against the upload limits; retry later",
                )
            }
            Self::Http(api) => api,
        };
        api.into_response()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use std::time::Duration;

    use super::*;
    use crate::ingest::sink::Unavailable;

    #[tokio::test]
    async fn every_refusal_has_its_status_reason_and_message() {
        let latency = || SinkLatency(Duration::from_millis(7));
        let stored = "the event could not be stored; retry later";
        let too_large = "the event is too large for the configured sink";
        let cases: Vec<(EventsError, u16, &str, Option<&str>)> = vec![
            (CallbackAuthError::NotFound.into(), 404, "not_found", None),
            (
                CallbackAuthError::WrongPathToken.into(),
                401,
                "invalid_callback_token",
                None,
            ),
            (
                CallbackAuthError::MissingSign("Sign").into(),
                401,
                "missing_signature",
                None,
            ),
            (
                CallbackAuthError::MalformedSign.into(),
                401,
                "invalid_signature",
                None,
            ),
            (
                CallbackAuthError::BadSign.into(),
                401,
                "invalid_signature",
                None,
            ),
            (
                CallbackAuthError::BadTime.into(),
                401,
                "signature_time_invalid",
                None,
            ),
            (
                CallbackAuthError::Expired.into(),
                401,
                "signature_expired",
                None,
            ),
            (
                CallbackAuthError::TooFarAhead.into(),
                401,
                "signature_time_invalid",
                None,
            ),
            (
                CallbackAuthError::NotConfigured.into(),
                503,
                "unavailable",
                None,
            ),
            (
                CallbackError::TooLarge { len: 2, limit: 1 }.into(),
                413,
                "payload_too_large",
                None,
            ),
            (
                CallbackError::NotUtf8 { valid_up_to: 3 }.into(),
                400,
                "bad_request",
                None,
            ),
            (
                CallbackError::TooDeep { limit: 64 }.into(),
                400,
                "bad_request",
                None,
            ),
            (
                CallbackError::MissingEventType.into(),
                400,
                "bad_request",
                None,
            ),
            (
                EventsError::Sink(SinkError::TooLarge(300_000), latency()),
                413,
                "payload_too_large",
                Some(too_large),
            ),
            (
                EventsError::Sink(
                    SinkError::unavailable(Unavailable::TimedOut, "no answer within 10 ms"),
                    latency(),
                ),
                503,
                "unavailable",
                Some(stored),
            ),
            (
                EventsError::Uploads(UploadsError::Unavailable {
                    kind: Unavailable::Busy,
                    detail: "SQLite: database is locked".into(),
                }),
                503,
                "unavailable",
                Some("the event's upload could not be updated; retry later"),
            ),
        ];
        for (error, status, reason, message) in cases {
            let is_sink = matches!(error, EventsError::Sink(..));
            let message = message.map_or_else(|| error.to_string(), str::to_owned);
            let response = error.into_response();
            assert_eq!(response.status().as_u16(), status, "{reason}");
            assert_eq!(
                response.extensions().get::<SinkLatency>().is_some(),
                is_sink,
                "{reason}"
            );
            let body = axum::body::to_bytes(response.into_body(), 4096)
                .await
                .unwrap();
            let body: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(
                body,
                json!({"code": status, "error": reason, "message": message})
            );
        }
    }
}
