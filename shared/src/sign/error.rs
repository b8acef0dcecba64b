//! Every way a `sign` request can fail, and the one place each becomes what the client sees.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::meta;
use super::policy::PolicyError;
use super::quota::QuotaExceeded;
use crate::attribution::UploadIdError;
use crate::auth::jwt::AuthError;
use crate::ingest::uploads::UploadsError;
use crate::web::ApiError;

/// Whole seconds to wait, rounded up (a `Retry-After` of 0 would invite an immediate retry).
fn retry_secs(wait: &Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// Everything that can go wrong serving a `sign` request: a signature, or a read of uploads.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error("{}", .0.message)]
    Http(ApiError),
    /// The caller asked for signatures faster than `SIGN_RATE_LIMIT` allows; retry after this.
    #[error("too many signature requests; retry in {} s", retry_secs(.0))]
    RateLimited(Duration),
    /// `uploadId` is malformed, someone else's, forged, or a v1 id. Every kind reads "no such
    /// upload", as for an id that never existed, so the answer reveals nothing about the id.
    #[error("no such upload")]
    UnknownUpload(#[source] UploadIdError),
    /// A refresh sent a `meta` other than the one sealed into the upload's id.
    #[error(
        "meta cannot change: this upload's meta is sealed into its uploadId; send the same \
         meta, or none, when refreshing"
    )]
    MetaMismatch,
    /// `SIGN_META_CLAIM` is set: the request sent a `meta`, or the token's claim is not one.
    #[error(transparent)]
    MetaClaim(#[from] meta::MetaClaimError),
    /// The caller holds as many signatures as `SIGN_QUOTA` allows in this window.
    #[error(
        "at most {} signatures per caller per quota window; retry in {} s",
        .0.limit,
        .0.retry_after.as_secs()
    )]
    QuotaExceeded(QuotaExceeded),
    /// The quota could not be checked and `SIGN_QUOTA_ON_ERROR=closed`.
    #[error("the signature quota could not be checked; retry")]
    QuotaUnavailable,
    /// The caller read uploads faster than `READ_RATE_LIMIT` allows; retry after this.
    #[error("too many reads of uploads; retry in {} s", retry_secs(.0))]
    ReadsLimited(Duration),
    /// A read of uploads, but this deployment keeps none (`UPLOADS_STORE` is not set).
    #[error(
        "this deployment keeps no uploads' status (UPLOADS_STORE is not set); creating and \
         refreshing uploads still work"
    )]
    NotConfigured,
    /// The uploads store refused a listing cursor, or did not answer.
    #[error(transparent)]
    Store(UploadsError),
    /// A bug or misconfiguration that validated inputs should have made impossible.
    #[error("{0}")]
    Internal(String),
}

impl SignError {
    /// How long a refused caller should wait, for `Retry-After`.
    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited(wait) | Self::ReadsLimited(wait) => Some(*wait),
            Self::QuotaExceeded(exceeded) => Some(exceeded.retry_after),
            _ => None,
        }
    }
}

/// The one place a `sign` failure becomes what the client sees: status, reason, message and
/// `WWW-Authenticate` challenge (RFC 6750 §3).
impl From<SignError> for ApiError {
    fn from(error: SignError) -> Self {
        const INVALID_TOKEN: &str = "Bearer error=\"invalid_token\"";
        let message = error.to_string();
        let (status, reason, challenge) = match error {
            SignError::Auth(auth) => match auth {
                AuthError::Missing => (
                    StatusCode::UNAUTHORIZED,
                    "missing_token",
                    Some("Bearer realm=\"vodgate\""),
                ),
                AuthError::Expired => (
                    StatusCode::UNAUTHORIZED,
                    "token_expired",
                    Some(INVALID_TOKEN),
                ),
                AuthError::InsufficientScope => (
                    StatusCode::FORBIDDEN,
                    "insufficient_scope",
                    Some("Bearer error=\"insufficient_scope\""),
                ),
                AuthError::JwksUnavailable => {
                    (StatusCode::SERVICE_UNAVAILABLE, "unavailable", None)
                }
                AuthError::NotBearer
                | AuthError::TooLong
                | AuthError::Malformed
                | AuthError::UnsupportedAlgorithm
                | AuthError::MissingKid
                | AuthError::UnknownKey
                | AuthError::BadSignature
                | AuthError::NotYetValid
                | AuthError::WrongIssuer
                | AuthError::WrongAudience
                | AuthError::MissingClaim(_)
                | AuthError::BadClaim(_) => (
                    StatusCode::UNAUTHORIZED,
                    "invalid_token",
                    Some(INVALID_TOKEN),
                ),
            },
            SignError::Policy(PolicyError::NotAllowed(_) | PolicyError::ServerOwned(_)) => {
                (StatusCode::FORBIDDEN, "param_not_allowed", None)
            }
            SignError::Policy(PolicyError::UploadNotAllowed(_)) => {
                (StatusCode::FORBIDDEN, "upload_not_allowed", None)
            }
            SignError::Policy(PolicyError::BadRequest(_)) => {
                (StatusCode::BAD_REQUEST, "bad_request", None)
            }
            SignError::UnknownUpload(_) => (StatusCode::NOT_FOUND, "not_found", None),
            SignError::MetaMismatch | SignError::MetaClaim(_) => {
                (StatusCode::FORBIDDEN, "param_not_allowed", None)
            }
            SignError::Http(api) => return api,
            SignError::RateLimited(_)
            | SignError::ReadsLimited(_)
            | SignError::QuotaExceeded(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited", None),
            SignError::NotConfigured => (StatusCode::NOT_IMPLEMENTED, "not_configured", None),
            SignError::QuotaUnavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", None),
            SignError::Store(UploadsError::BadCursor) => {
                (StatusCode::BAD_REQUEST, "bad_request", None)
            }
            SignError::Store(error @ UploadsError::Unavailable { .. }) => {
                tracing::warn!(cause = %error, "uploads store unavailable");
                return ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the uploads store did not answer; retry",
                );
            }
            SignError::Internal(detail) => {
                tracing::error!(error = %detail, "signature could not be issued");
                return ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the signature could not be issued",
                );
            }
        };
        let mut api = ApiError::new(status, reason, message);
        api.www_authenticate = challenge.map(HeaderValue::from_static);
        api
    }
}

impl IntoResponse for SignError {
    fn into_response(self) -> Response {
        let retry_after = self.retry_after();
        let mut response = ApiError::from(self).into_response();
        if let Some(wait) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_secs(&wait)));
        }
        response
    }
}
