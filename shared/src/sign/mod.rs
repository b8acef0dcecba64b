//! The `sign` function: prove the caller may upload, then mint a VOD upload signature.
//!
//! A request flows: bearer token → [`JwtVerifier`] (who is calling, may they upload?) → the
//! upload (a new one, or the caller's own [`Upload`] named by `uploadId`) → the upload policy
//! (what this signature allows; the server decides, not the client) → [`attribution`] (seal the
//! upload into `sourceContext`/`sessionContext`) → [`crate::vod::signature`] (HMAC-SHA1 with the
//! VOD SecretKey). Every failure is a [`SignError`], turned into the JSON envelope in one place,
//! so a status or challenge cannot differ between two paths that fail the same way.
//!
//! Two routes mint signatures. `POST /v1/uploads` creates an upload (201, with its first
//! signature); the signature route refreshes one when given its `uploadId`, or starts a new one
//! per call without it (as before uploads had ids of their own). vod-js-sdk-v6 asks for a
//! signature before every step of one upload, so a refresh must name the same upload each time;
//! the id proves its owner by itself ([`Upload::verify`]), so no store is consulted on this path.
//! Both routes spend the rate limit and the quota alike: each answer is a signature.
//!
//! Two routes read what the events function recorded about uploads ([`uploads`]):
//! `GET /v1/uploads/{uploadId}` and `GET /v1/uploads`. They authenticate the same way but spend
//! a budget of their own, and need `UPLOADS_STORE` (without it they answer `501`).

mod error;
mod http;
mod meta;
pub(crate) mod policy;
pub(crate) mod quota;
pub mod rate_limit;
mod uploads;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use tokio::time::Instant;

use crate::attribution::Upload;
use crate::auth::jwt::{Caller, Hs256Keys, JwtSettings, JwtVerifier};
use crate::ingest::uploads::limits::UploadLimits;
use crate::ingest::uploads::{Access, UploadsStore};
use crate::platform::config::{ConfigError, Env};
use crate::platform::keys::{KeySet, Keys, SecretsManager, StartError};
use crate::platform::secret::{Secret, SecretList};
use crate::sign::policy::{PolicyError, SignRequest, UploadPolicy};
use crate::sign::quota::{QuotaRefused, SignQuota};
use crate::sign::rate_limit::{RateLimit, RateLimiter};
use crate::vod::signature::{UploadSignatureParams, check_secret_id};
use crate::web::metrics::{Metric, Outcome};
use crate::web::{CallerSub, Cors};

pub use error::SignError;

/// The signature route.
pub const ROUTE: &str = "/v1/upload-signature";
/// The uploads route: `POST` creates an upload, `GET` lists the caller's.
pub const UPLOADS_ROUTE: &str = "/v1/uploads";
/// One upload: `GET` reads its status.
pub const UPLOAD_ROUTE: &str = "/v1/uploads/{uploadId}";
/// Sign requests are a few parameters; anything bigger is not a sign request.
pub(crate) const MAX_BODY_BYTES: usize = 16 * 1024;
/// Shortest HS256 secret accepted: shorter keys fall to offline guessing.
pub(crate) const MIN_HS256_SECRET_BYTES: usize = 32;
/// The default upload scope a token must carry.
pub const DEFAULT_UPLOAD_SCOPE: &str = "vod:upload";

/// The keys `sign` uses, derived once per secret fetch.
pub struct SignKeys {
    secret_id: String,
    secret_key: Secret,
    hs256: Option<Hs256Keys>,
    context: SecretList,
}

impl SignKeys {
    fn derive(keys: &KeySet) -> Result<Self, ConfigError> {
        let secret_id = keys.require("VOD_SECRET_ID")?.expose().to_owned();
        if check_secret_id(&secret_id).is_err() {
            return Err(ConfigError::invalid(
                "VOD_SECRET_ID",
                "must be printable ASCII without spaces, at most 128 bytes",
            ));
        }
        Ok(Self {
            secret_id,
            secret_key: keys.require("VOD_SECRET_KEY")?.clone(),
            hs256: keys
                .list("JWT_HS256_SECRET")?
                .map(|list| {
                    if list
                        .iter()
                        .any(|s| s.expose().len() < MIN_HS256_SECRET_BYTES)
                    {
                        return Err(ConfigError::invalid(
                            "JWT_HS256_SECRET",
                            format!(
                                "each secret must be at least {MIN_HS256_SECRET_BYTES} bytes \
                                 (RFC 7518: a key as long as the hash output)"
                            ),
                        ));
                    }
                    Ok(Hs256Keys::new(&list))
                })
                .transpose()?,
            context: keys.list("VODGATE_CONTEXT_KEY")?.ok_or_else(|| {
                ConfigError::missing(
                    "VODGATE_CONTEXT_KEY",
                    "the key that seals sourceContext; the events function reads the same one",
                )
            })?,
        })
    }
}

/// Everything a `sign` request needs, built once at start.
pub struct SignState {
    keys: Keys<SignKeys>,
    verifier: JwtVerifier,
    policy: UploadPolicy,
    /// The limits a client's declared `fileSize`/`fileType` are checked against.
    limits: UploadLimits,
    limiter: Option<RateLimiter>,
    quota: Option<SignQuota>,
    /// The budget of reads (`READ_RATE_LIMIT`), apart from the signing one.
    read_limiter: Option<RateLimiter>,
    /// What the events function records about uploads (`UPLOADS_STORE`); read only.
    uploads: Option<UploadsStore>,
    /// The JWT claim `meta` comes from (`SIGN_META_CLAIM`), instead of the request.
    meta_claim: Option<String>,
}

impl SignState {
    /// Reads configuration, loads keys and fetches the JWKS concurrently.
    pub async fn from_env(env: &Env) -> Result<Arc<Self>, StartError> {
        let meta_claim = meta::claim_name(env);
        let mut verifier = JwtVerifier::new(jwt_settings(env)?)
            .map_err(|e| ConfigError::invalid(e.var(), e.to_string()))?
            .with_jwks_max_age(env.seconds_in(
                "JWT_JWKS_MAX_AGE_SECONDS",
                crate::auth::jwt::DEFAULT_JWKS_MAX_AGE,
                10..=86_400,
            )?);
        if let Some(name) = &meta_claim {
            verifier = verifier.with_claim(name);
        }
        let policy = UploadPolicy::from_env(env)?;
        let limits = UploadLimits::from_env(env)?;
        let max_callers = rate_limit::max_callers(env)?;
        let limiter = RateLimit::from_env(env)?.limiter(max_callers);
        let read_limiter = RateLimit::reads_from_env(env)?.limiter(max_callers);
        let quota = SignQuota::from_env(env).await?;
        let uploads = UploadsStore::from_env(env, Access::ReadOnly).await?;
        if let Some(uploads) = &uploads {
            tracing::info!(uploads = %uploads.describe(), "uploads store ready (read only)");
        }
        let source = SecretsManager::from_env(env).await?;
        let (keys, ()) = tokio::join!(
            Keys::load(env, source, SignKeys::derive),
            verifier.prefetch()
        );
        let keys = keys?;
        if keys.current().await.hs256.is_none() && env.non_empty("JWT_JWKS_URL").is_none() {
            return Err(ConfigError::missing(
                "JWT_HS256_SECRET",
                "configure JWT_HS256_SECRET, JWT_JWKS_URL, or both, to authenticate callers",
            )
            .into());
        }
        Ok(Arc::new(Self {
            keys,
            verifier,
            policy,
            limits,
            limiter,
            quota,
            read_limiter,
            uploads,
            meta_claim,
        }))
    }

    /// The current keys and the caller the bearer token in `headers` proves.
    async fn authenticate(
        &self,
        headers: &HeaderMap,
    ) -> Result<(Arc<SignKeys>, Caller), SignError> {
        let authorization = headers
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or("\u{fffd}"));
        let keys = self.keys.current().await;
        let caller = self
            .verifier
            .verify(authorization, keys.hs256.as_ref())
            .await?;
        Ok((keys, caller))
    }
}

fn jwt_settings(env: &Env) -> Result<JwtSettings, ConfigError> {
    let leeway_secs = env.parse_or(
        "JWT_LEEWAY_SECONDS",
        30,
        "a whole number of seconds from 0 to 60",
    )?;
    Ok(JwtSettings {
        jwks_url: env.non_empty("JWT_JWKS_URL").map(str::to_owned),
        issuer: env.non_empty("JWT_ISSUER").map(str::to_owned),
        audience: env.non_empty("JWT_AUDIENCE").map(str::to_owned),
        leeway_secs,
        upload_scope: match env.get("UPLOAD_SCOPE") {
            None => Some(DEFAULT_UPLOAD_SCOPE.to_owned()),
            Some(scope) => Some(scope.trim().to_owned()).filter(|s| !s.is_empty()),
        },
    })
}

/// The `sign` routes: `GET|POST /v1/upload-signature`, `POST|GET /v1/uploads` and
/// `GET /v1/uploads/{uploadId}`.
pub fn routes(state: Arc<SignState>) -> Router {
    Router::new()
        .route(
            ROUTE,
            http::minting(get(upload_signature).post(upload_signature)),
        )
        .route(
            UPLOADS_ROUTE,
            http::minting(post(create_upload).get(uploads::list_uploads)),
        )
        .route(UPLOAD_ROUTE, get(uploads::get_upload))
        .with_state(state)
}

/// The whole `sign` application, as served in every mode.
pub fn app(state: Arc<SignState>, cors: &Cors) -> Router {
    crate::web::finish(routes(state), cors, metric)
}

/// The metric of a request: one that asks for a signature (any method on the signature route,
/// `POST` on the uploads route) is issued, refused for authentication, or refused otherwise; a
/// read of uploads (`GET` on the uploads routes) is counted apart, as read, refused for
/// authentication or refused otherwise, so polling never shows as signing. `None` for other
/// requests.
pub fn metric(outcome: &Outcome<'_>) -> Option<Metric> {
    const AUTH_REASONS: [&str; 5] = [
        "missing_token",
        "invalid_token",
        "token_expired",
        "insufficient_scope",
        "unavailable",
    ];
    let reads = matches!(*outcome.method, Method::GET | Method::HEAD);
    let (ok, rejected) = match outcome.route {
        Some(ROUTE) => ("SignaturesIssued", "SignRejected"),
        Some(UPLOADS_ROUTE) if *outcome.method == Method::POST => {
            ("SignaturesIssued", "SignRejected")
        }
        Some(UPLOADS_ROUTE | UPLOAD_ROUTE) if reads => ("UploadsRead", "ReadRejected"),
        _ => return None,
    };
    let name = match outcome.reason {
        _ if outcome.ok() => ok,
        Some(reason) if AUTH_REASONS.contains(&reason) => "AuthFailures",
        _ => rejected,
    };
    Some(Metric {
        function: "sign",
        name,
    })
}

/// What the signature route answers.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Issued {
    signature: String,
    upload_id: String,
    expire_time: u64,
}

/// What `POST /v1/uploads` answers: the new upload and its first signature.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Created {
    upload_id: String,
    signature: String,
    expire_time: u64,
    /// Nothing has reached VOD yet.
    status: &'static str,
}

/// Which route a signing request came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signing {
    /// `POST /v1/uploads`: always a new upload.
    Create,
    /// `GET|POST /v1/upload-signature`: the upload named by `uploadId`, or a new one.
    Signature,
}

async fn upload_signature(State(state): State<Arc<SignState>>, request: Request) -> Response {
    sign(&state, Signing::Signature, request).await
}

async fn create_upload(State(state): State<Arc<SignState>>, request: Request) -> Response {
    sign(&state, Signing::Create, request).await
}

async fn sign(state: &SignState, route: Signing, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let (keys, caller) = match state.authenticate(&parts.headers).await {
        Ok(authenticated) => authenticated,
        Err(error) => return error.into_response(),
    };
    let issued = async {
        if let Some(limiter) = &state.limiter {
            limiter
                .check(&caller.sub, Instant::now())
                .map_err(SignError::RateLimited)?;
        }
        let mut request = if parts.method == Method::GET {
            SignRequest::from_query(parts.uri.query().unwrap_or(""))?
        } else {
            let bytes = crate::web::read_body(body, MAX_BODY_BYTES)
                .await
                .map_err(SignError::Http)?;
            crate::web::refuse_duplicate_keys(&bytes).map_err(SignError::Http)?;
            SignRequest::from_json(&bytes)?
        };
        if let Some(name) = &state.meta_claim {
            request.meta = meta::from_claim(name, caller.claim.as_ref(), request.meta.as_ref())?;
        }
        let upload = upload_for(&keys, &caller.sub, route, &mut request)?;
        state
            .limits
            .check_declared(request.file_size, request.file_type.as_deref())
            .map_err(|broken| PolicyError::UploadNotAllowed(broken.message))?;
        let grant = state.policy.decide(request)?;
        let now = unix_now();
        if let Some(quota) = &state.quota {
            quota
                .take(&caller.sub, now)
                .await
                .map_err(|refused| match refused {
                    QuotaRefused::Exceeded(exceeded) => SignError::QuotaExceeded(exceeded),
                    QuotaRefused::Unavailable => SignError::QuotaUnavailable,
                })?;
        }
        issue(&keys, &upload, grant, now)
    }
    .await;
    let mut response = match (issued, route) {
        (Ok(issued), Signing::Signature) => crate::web::ok(issued),
        (Ok(issued), Signing::Create) => crate::web::created(Created {
            upload_id: issued.upload_id,
            signature: issued.signature,
            expire_time: issued.expire_time,
            status: "waiting",
        }),
        (Err(error), _) => error.into_response(),
    };
    response.extensions_mut().insert(CallerSub(caller.sub));
    response
}

/// The upload a request signs for: the caller's own one named by `uploadId` (whose `meta` a
/// refresh may repeat but not change), or a new one with the request's `meta`.
fn upload_for(
    keys: &SignKeys,
    sub: &str,
    route: Signing,
    request: &mut SignRequest,
) -> Result<Upload, SignError> {
    let meta = request.meta.take();
    match (request.upload_id.take(), route) {
        (None, _) => {
            Upload::create(&keys.context, sub, meta).map_err(|e| SignError::Internal(e.to_string()))
        }
        (Some(_), Signing::Create) => Err(SignError::Policy(PolicyError::BadRequest(format!(
            "uploadId is not accepted here: POST {UPLOADS_ROUTE} creates a new upload; \
             refresh one with {ROUTE}"
        )))),
        (Some(id), Signing::Signature) => {
            let upload =
                Upload::verify(&keys.context, sub, &id).map_err(SignError::UnknownUpload)?;
            match meta {
                Some(meta) if Some(&meta) != upload.meta() => Err(SignError::MetaMismatch),
                _ => Ok(upload),
            }
        }
    }
}

fn issue(
    keys: &SignKeys,
    upload: &Upload,
    grant: crate::sign::policy::Grant,
    now: u64,
) -> Result<Issued, SignError> {
    let context = upload.seal(&keys.context);
    let expire_time = now + grant.validity_secs;
    let mut params =
        UploadSignatureParams::builder(keys.secret_id.clone(), now, expire_time, rand::random())
            .source_context(context.clone())
            .one_time_valid(grant.one_time_valid);
    if let Some(procedure) = grant.procedure {
        params = params.procedure(procedure).session_context(context);
    }
    if let Some(mode) = grant.task_notify_mode {
        params = params.task_notify_mode(mode);
    }
    if let Some(priority) = grant.task_priority {
        params = params.task_priority(priority);
    }
    if let Some(class_id) = grant.class_id {
        params = params.class_id(class_id);
    }
    if let Some(sub_app_id) = grant.sub_app_id {
        params = params.vod_sub_app_id(sub_app_id);
    }
    if let Some(region) = grant.storage_region {
        params = params.storage_region(region);
    }
    let params = params
        .build()
        .map_err(|e| SignError::Internal(e.to_string()))?;
    Ok(Issued {
        signature: params.sign(keys.secret_key.expose().as_bytes()),
        upload_id: upload.id().as_str().to_owned(),
        expire_time,
    })
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::attribution::{self, Meta};
    use crate::auth::jwt::AuthError;
    use crate::ingest::uploads::UploadsError;
    use crate::sign::quota::QuotaExceeded;
    use crate::vod::signature::{MacCheck, inspect};
    use crate::web::ApiError;
    use axum::http::StatusCode;

    fn keys() -> SignKeys {
        SignKeys::derive(&KeySet::from_env(&Env::from_pairs([
            ("VOD_SECRET_ID", "AKIDtest"),
            ("VOD_SECRET_KEY", "vod-secret"),
            ("VODGATE_CONTEXT_KEY", "ctx-key-0123456789abcdef0123456789"),
        ])))
        .unwrap()
    }

    fn grant(pairs: &[(&str, &str)]) -> crate::sign::policy::Grant {
        UploadPolicy::from_env(&Env::from_pairs(pairs.iter().copied()))
            .unwrap()
            .decide(SignRequest::default())
            .unwrap()
    }

    #[test]
    fn issued_signature_carries_policy_and_attribution() {
        let keys = keys();
        let g = grant(&[
            ("VOD_PROCEDURE", "Review"),
            ("VOD_SUB_APP_ID", "1500000001"),
            ("VOD_CLASS_ID", "3"),
            ("VOD_STORAGE_REGION", "ap-chongqing"),
            ("VOD_TASK_NOTIFY_MODE", "Change"),
        ]);
        let upload = Upload::create(&keys.context, "user-1", None).unwrap();
        let issued = issue(&keys, &upload, g, 1_700_000_000).unwrap();
        assert_eq!(issued.expire_time, 1_700_007_200);
        let report = inspect(&issued.signature, Some(b"vod-secret"), 1_700_000_100);
        assert_eq!(report.mac, MacCheck::Valid);
        assert!(report.is_ok(), "{:?}", report.problems);
        let get = |k: &str| {
            report
                .params
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("secretId"), Some("AKIDtest"));
        assert_eq!(get("procedure"), Some("Review"));
        assert_eq!(get("vodSubAppId"), Some("1500000001"));
        assert_eq!(get("taskNotifyMode"), Some("Change"));
        let context = get("sourceContext").unwrap();
        assert_eq!(get("sessionContext"), Some(context));
        let who = attribution::open(&keys.context, context).unwrap();
        assert_eq!(who.sub, "user-1");
        assert_eq!(who.upload_id.as_str(), issued.upload_id);
    }

    #[test]
    fn no_session_context_without_a_procedure() {
        let keys = keys();
        let upload = Upload::create(&keys.context, "u", None).unwrap();
        let issued = issue(&keys, &upload, grant(&[]), 1_700_000_000).unwrap();
        let report = inspect(&issued.signature, Some(b"vod-secret"), 1_700_000_000);
        assert!(report.params.iter().any(|(k, _)| k == "sourceContext"));
        assert!(!report.params.iter().any(|(k, _)| k == "sessionContext"));
    }

    fn request(upload_id: Option<&str>, meta: Option<&str>) -> SignRequest {
        SignRequest {
            upload_id: upload_id.map(str::to_owned),
            meta: meta.map(|m| Meta::parse(m).unwrap()),
            ..SignRequest::default()
        }
    }

    #[test]
    fn a_refresh_signs_for_the_callers_own_upload() {
        let keys = keys();
        let created = upload_for(
            &keys,
            "alice",
            Signing::Create,
            &mut request(None, Some("post_1")),
        )
        .unwrap();
        let id = created.id().as_str();
        for meta in [None, Some("post_1")] {
            let again = upload_for(
                &keys,
                "alice",
                Signing::Signature,
                &mut request(Some(id), meta),
            )
            .unwrap();
            assert_eq!(again, created);
        }
        let seen = |sub: &str, route: Signing, id: &str, meta: Option<&str>| {
            let error = upload_for(&keys, sub, route, &mut request(Some(id), meta)).unwrap_err();
            let api = ApiError::from(error);
            (api.status.as_u16(), api.reason, api.message)
        };
        let unknown = (404, "not_found", "no such upload".to_owned());
        assert_eq!(seen("bob", Signing::Signature, id, None), unknown);
        assert_eq!(seen("alice", Signing::Signature, "nope", None), unknown);
        let v1 = attribution::UploadId::random();
        assert_eq!(
            seen("alice", Signing::Signature, v1.as_str(), None),
            unknown
        );
        assert_eq!(seen("alice", Signing::Signature, id, Some("post_2")).0, 403);
        assert_eq!(seen("alice", Signing::Create, id, None).0, 400);
    }

    #[test]
    fn only_signing_requests_count_as_signatures() {
        let name = |method: Method, route: &'static str, status: u16| {
            metric(&Outcome {
                method: &method,
                route: Some(route),
                status,
                reason: None,
                duplicate: None,
                sink_latency: None,
            })
            .map(|m| m.name)
        };
        assert_eq!(
            name(Method::POST, UPLOADS_ROUTE, 201),
            Some("SignaturesIssued")
        );
        assert_eq!(name(Method::GET, ROUTE, 200), Some("SignaturesIssued"));
        assert_eq!(name(Method::POST, ROUTE, 404), Some("SignRejected"));
        assert_eq!(name(Method::GET, UPLOADS_ROUTE, 200), Some("UploadsRead"));
        assert_eq!(name(Method::GET, UPLOAD_ROUTE, 200), Some("UploadsRead"));
        assert_eq!(name(Method::GET, UPLOAD_ROUTE, 404), Some("ReadRejected"));
        assert_eq!(name(Method::GET, UPLOADS_ROUTE, 501), Some("ReadRejected"));
        assert_eq!(name(Method::POST, "/v1/vod/events", 200), None);
    }

    #[test]
    fn read_failures_map_to_their_own_answers() {
        let seen = |error: SignError| {
            let response = error.into_response();
            let retry = response
                .headers()
                .get(header::RETRY_AFTER)
                .map(|v| v.to_str().unwrap().to_owned());
            let reason = response
                .extensions()
                .get::<crate::web::ErrorReason>()
                .unwrap()
                .0;
            (response.status().as_u16(), reason, retry)
        };
        assert_eq!(
            seen(SignError::ReadsLimited(Duration::from_millis(300))),
            (429, "rate_limited", Some("1".to_owned()))
        );
        assert_eq!(
            seen(SignError::NotConfigured),
            (501, "not_configured", None)
        );
        assert_eq!(
            seen(SignError::Store(UploadsError::BadCursor)),
            (400, "bad_request", None)
        );
        let down = UploadsError::Unavailable {
            kind: crate::ingest::sink::Unavailable::Unreachable,
            detail: "connection refused".into(),
        };
        let api = ApiError::from(SignError::Store(down));
        assert_eq!((api.status.as_u16(), api.reason), (503, "unavailable"));
        assert!(!api.message.contains("refused"), "{}", api.message);
    }

    /// Status, reason and challenge of an authentication failure, as the client sees them.
    fn seen(error: AuthError) -> (u16, &'static str, Option<String>) {
        let api = ApiError::from(SignError::Auth(error));
        let challenge = api
            .www_authenticate
            .map(|value| value.to_str().unwrap().to_owned());
        (api.status.as_u16(), api.reason, challenge)
    }

    #[test]
    fn auth_failures_map_to_status_reason_and_challenge() {
        let invalid = Some("Bearer error=\"invalid_token\"".to_owned());
        assert_eq!(
            seen(AuthError::Missing),
            (
                401,
                "missing_token",
                Some("Bearer realm=\"vodgate\"".to_owned())
            )
        );
        assert_eq!(
            seen(AuthError::BadSignature),
            (401, "invalid_token", invalid.clone())
        );
        assert_eq!(seen(AuthError::Expired), (401, "token_expired", invalid));
        assert_eq!(
            seen(AuthError::InsufficientScope),
            (
                403,
                "insufficient_scope",
                Some("Bearer error=\"insufficient_scope\"".to_owned())
            )
        );
        assert_eq!(seen(AuthError::JwksUnavailable), (503, "unavailable", None));
    }

    #[test]
    fn refusals_to_wait_carry_retry_after_rounded_up() {
        let response = SignError::RateLimited(Duration::from_millis(1_200)).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        let response = SignError::QuotaExceeded(QuotaExceeded {
            limit: 5,
            retry_after: Duration::from_secs(30),
        })
        .into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "30");
    }

    #[test]
    fn missing_keys_name_the_variable() {
        let err = SignKeys::derive(&KeySet::from_env(&Env::from_pairs([
            ("VOD_SECRET_ID", "id"),
            ("VOD_SECRET_KEY", "k"),
        ])))
        .err()
        .unwrap();
        assert_eq!(err.var, "VODGATE_CONTEXT_KEY");
    }
}
