//! A small client for the six VOD API 3.0 actions the service calls: `PullEvents` and
//! `ConfirmEvents` (the reliable-callback queue, see `crate::pull`), `DeleteMedia` and
//! `DescribeMediaInfos` (limits enforced after upload, see `crate::ingest`),
//! `DescribeEventConfig` and `ModifyEventConfig` (`vodgate vod-config`).
//!
//! Why not an SDK: there is no maintained Rust one, the six calls are one request shape, and
//! the signature is [`crate::vod::tc3`]. Every call is a `POST` of a JSON body to the endpoint
//! (`https://vod.tencentcloudapi.com`, or `VOD_API_ENDPOINT` for tests and special zones), signed
//! over `content-type;host;x-tc-action` like the worked VOD examples of the research notes.
//!
//! TencentCloud reports failures with HTTP **200** and `{"Response":{"Error":{"Code","Message"},
//! "RequestId"}}`, so errors are decoded from the body, not the status; a [`VodApiError`] keeps
//! the code, message and request id (the id is what Tencent support asks for). Throttling
//! (`RequestLimitExceeded…`), `InternalError…`, 5xx/429 answers and network failures are retried
//! with capped exponential backoff and jitter, never past the caller's [`Budget`]; anything else
//! (bad signature, bad parameter) is returned at once, since repeating it cannot help.
//! Retrying is safe for every action here: a repeated `PullEvents` hands out other or
//! redelivered events, and the others are idempotent (a repeated `DeleteMedia` finds nothing to
//! delete, which [`media`] counts as deleted).
//!
//! The timestamp comes from an injectable [`Clock`], so tests sign deterministically. Response
//! bodies are read up to [`MAX_RESPONSE_BYTES`]; request and response bodies (which hold events)
//! and the key never reach a log line or an error message.

mod config;
mod error;
mod events;
mod media;
mod retry;

use std::fmt;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::platform::secret::Secret;
use crate::vod::tc3;

pub use config::{EventConfig, EventConfigChange, Mode, Switch};
pub use error::{NetworkFailure, VodApiError};
pub use media::{Deleted, MediaInfo};
pub(crate) use retry::Budget;
pub use retry::RetryPolicy;

/// The public VOD API endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://vod.tencentcloudapi.com";
/// The VOD API version every action here belongs to.
pub(crate) const VERSION: &str = "2018-07-17";
/// The TC3 credential-scope service name.
pub(crate) const SERVICE: &str = "vod";
/// At most this many events per `PullEvents`, and handles per `ConfirmEvents`.
pub(crate) const MAX_BATCH: usize = 16;
/// The longest response body read (16 events of at most ~1 MiB each, with room to spare).
pub(crate) const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

/// Exactly what is sent and signed: the official SDKs send this, and the signature covers it.
const CONTENT_TYPE: &str = "application/json; charset=utf-8";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Seconds since the Unix epoch, for `X-TC-Timestamp`.
pub(crate) type Clock = fn() -> i64;

/// The system clock.
pub fn system_clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The TencentCloud API key pair: the same `VOD_SECRET_ID`/`VOD_SECRET_KEY` that sign uploads.
#[derive(Clone)]
pub struct ApiCredentials {
    secret_id: String,
    secret_key: Secret,
}

impl ApiCredentials {
    /// A key pair.
    pub fn new(secret_id: impl Into<String>, secret_key: Secret) -> Self {
        Self {
            secret_id: secret_id.into(),
            secret_key,
        }
    }
}

impl fmt::Debug for ApiCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiCredentials([REDACTED])")
    }
}

/// Where the API is: a base URL and the `Host` it implies (signed, so it must match).
#[derive(Debug, Clone)]
pub struct Endpoint {
    url: reqwest::Url,
    host: String,
}

impl Endpoint {
    /// An absolute `https` URL, or `http` to a loopback host (tests, local fakes).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url = reqwest::Url::parse(raw.trim()).map_err(|e| format!("not a URL ({e})"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not contain credentials".into());
        }
        let host = url.host_str().ok_or("must have a host")?.to_owned();
        match url.scheme() {
            "https" => {}
            "http" if crate::platform::outbound::is_loopback(&url) => {}
            _ => return Err("must be https (http only for a loopback host)".into()),
        }
        let host = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host,
        };
        Ok(Self { url, host })
    }
}

#[derive(Debug, Deserialize)]
struct Ignored {}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct WithSubApp<'a, T: Serialize> {
    #[serde(flatten)]
    body: &'a T,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub_app_id: Option<u64>,
}

#[derive(Serialize)]
struct Empty {}

/// The VOD API client. Cheap to clone.
#[derive(Clone)]
pub struct VodApi {
    http: reqwest::Client,
    endpoint: Endpoint,
    region: Option<String>,
    sub_app_id: Option<u64>,
    retry: RetryPolicy,
    clock: Clock,
}

impl fmt::Debug for VodApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VodApi")
            .field("endpoint", &self.endpoint.url.as_str())
            .field("sub_app_id", &self.sub_app_id)
            .finish_non_exhaustive()
    }
}

impl VodApi {
    /// A client for `endpoint` with the default retry policy and the system clock.
    pub fn new(endpoint: Endpoint, sub_app_id: Option<u64>) -> Result<Self, String> {
        let http = crate::platform::outbound::client()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            http,
            endpoint,
            region: None,
            sub_app_id,
            retry: RetryPolicy::default(),
            clock: system_clock,
        })
    }

    /// Names the region of every call (`X-TC-Region`); VOD's API is region-less, so this is
    /// rarely needed.
    pub fn with_region(mut self, region: String) -> Self {
        self.region = Some(region);
        self
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Replaces the clock that stamps `X-TC-Timestamp`.
    #[cfg(test)]
    pub(crate) fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The sub-application every call is for, if any.
    pub(crate) fn sub_app_id(&self) -> Option<u64> {
        self.sub_app_id
    }
}

impl VodApi {
    /// The body and headers of a signed call, as sent. Pure apart from the clock.
    fn signed_request<T: Serialize>(
        &self,
        credentials: &ApiCredentials,
        action: &'static str,
        body: &T,
    ) -> (String, Vec<(&'static str, String)>) {
        // Serialising these structs (strings, integers, a secret) cannot fail.
        let payload = serde_json::to_string(&WithSubApp {
            body,
            sub_app_id: self.sub_app_id,
        })
        .unwrap_or_else(|_| "{}".to_owned());
        let timestamp = (self.clock)();
        let signed = tc3::sign(
            &credentials.secret_id,
            &credentials.secret_key,
            SERVICE,
            timestamp,
            &tc3::Request {
                method: "POST",
                query: "",
                headers: &[
                    ("Content-Type", CONTENT_TYPE),
                    ("Host", &self.endpoint.host),
                    ("X-TC-Action", action),
                ],
                payload: payload.as_bytes(),
            },
        );
        let mut headers = vec![
            ("Authorization", signed.authorization),
            ("Content-Type", CONTENT_TYPE.to_owned()),
            ("Host", self.endpoint.host.clone()),
            ("X-TC-Action", action.to_owned()),
            ("X-TC-Version", VERSION.to_owned()),
            ("X-TC-Timestamp", timestamp.to_string()),
        ];
        if let Some(region) = &self.region {
            headers.push(("X-TC-Region", region.clone()));
        }
        (payload, headers)
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        credentials: &ApiCredentials,
        action: &'static str,
        body: &B,
        budget: Budget,
    ) -> Result<(T, String), VodApiError> {
        self.retry
            .run(action, budget, |timeout| {
                self.attempt(credentials, action, body, timeout)
            })
            .await
    }

    async fn attempt<B: Serialize, T: DeserializeOwned>(
        &self,
        credentials: &ApiCredentials,
        action: &'static str,
        body: &B,
        timeout: Duration,
    ) -> Result<(T, String), VodApiError> {
        let (payload, headers) = self.signed_request(credentials, action, body);
        let mut request = self
            .http
            .post(self.endpoint.url.clone())
            .timeout(timeout)
            .body(payload);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let network = |e: reqwest::Error| VodApiError::Network {
            action,
            failure: if e.is_timeout() {
                NetworkFailure::TimedOut
            } else if e.is_connect() {
                NetworkFailure::Connect
            } else {
                NetworkFailure::Other
            },
            detail: describe_reqwest(&e),
        };
        let mut response = request.send().await.map_err(network)?;
        let status = response.status().as_u16();
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(network)? {
            if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(VodApiError::Decode {
                    action,
                    detail: format!("response over {MAX_RESPONSE_BYTES} bytes"),
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        decode(action, status, &bytes)
    }
}

/// A reqwest error without the URL (which is harmless, but noisy) and with its cause.
fn describe_reqwest(error: &reqwest::Error) -> String {
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut cause = std::error::Error::source(error);
    let mut detail = what.to_owned();
    while let Some(inner) = cause {
        detail.push_str(": ");
        detail.push_str(&inner.to_string());
        cause = inner.source();
    }
    detail
}

/// Decodes an API 3.0 answer: `Response.Error` first (it comes with HTTP 200), then the status,
/// then the documented fields. Never quotes the body, which may hold events.
fn decode<T: DeserializeOwned>(
    action: &'static str,
    status: u16,
    bytes: &[u8],
) -> Result<(T, String), VodApiError> {
    let parsed: Option<Map<String, Value>> =
        serde_json::from_slice::<Value>(bytes)
            .ok()
            .and_then(|value| match value {
                Value::Object(mut top) => match top.remove("Response") {
                    Some(Value::Object(response)) => Some(response),
                    _ => None,
                },
                _ => None,
            });
    let Some(mut response) = parsed else {
        return Err(if status == 200 {
            VodApiError::Decode {
                action,
                detail: "not a JSON object with a Response object".into(),
            }
        } else {
            VodApiError::Status { action, status }
        });
    };
    let request_id = match response.remove("RequestId") {
        Some(Value::String(id)) => id,
        _ => String::new(),
    };
    if let Some(error) = response.remove("Error") {
        let text = |field: &str| {
            error
                .get(field)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        return Err(VodApiError::Api {
            action,
            code: text("Code"),
            message: text("Message"),
            request_id,
        });
    }
    if status != 200 {
        return Err(VodApiError::Status { action, status });
    }
    serde_json::from_value(Value::Object(response))
        .map(|body| (body, request_id))
        .map_err(|e| VodApiError::Decode {
            action,
            detail: format!("Response does not match {action}'s documented fields: {e}"),
        })
}

#[cfg(test)]
mod tests;
