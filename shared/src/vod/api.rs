//! A small client for the four VOD API 3.0 actions the service calls: `PullEvents` and
//! `ConfirmEvents` (the reliable-callback queue, see `crate::pull`), `DescribeEventConfig` and
//! `ModifyEventConfig` (`vodgate vod-config`).
//!
//! Why not an SDK: there is no maintained Rust one, the four calls are one request shape, and
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
//! redelivered events, and `ConfirmEvents`/`ModifyEventConfig` are idempotent.
//!
//! The timestamp comes from an injectable [`Clock`], so tests sign deterministically. Response
//! bodies are read up to [`MAX_RESPONSE_BYTES`]; request and response bodies (which hold events)
//! and the key never reach a log line or an error message.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::platform::secret::Secret;
use crate::vod::tc3;

/// The public VOD API endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://vod.tencentcloudapi.com";
/// The VOD API version every action here belongs to.
pub const VERSION: &str = "2018-07-17";
/// The TC3 credential-scope service name.
pub const SERVICE: &str = "vod";
/// At most this many events per `PullEvents`, and handles per `ConfirmEvents`.
pub const MAX_BATCH: usize = 16;
/// The longest response body read (16 events of at most ~1 MiB each, with room to spare).
pub const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

/// Exactly what is sent and signed: the official SDKs send this, and the signature covers it.
const CONTENT_TYPE: &str = "application/json; charset=utf-8";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// The budget of the configuration calls (`vod-config`), which have no deadline of their own.
const CONFIG_CALL: Duration = Duration::from_secs(10);
const CONFIG_CALLS_TOTAL: Duration = Duration::from_secs(30);

/// Seconds since the Unix epoch, for `X-TC-Timestamp`.
pub type Clock = fn() -> i64;

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

/// How failed attempts are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The wait before the first retry; doubled for each further one.
    pub base_delay: Duration,
    /// The longest wait between attempts.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1 for the first): the capped exponential delay,
    /// its upper half randomised so that many instances do not retry in step.
    pub fn delay(&self, retry: u32) -> Duration {
        let exponential = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(retry.saturating_sub(1)));
        let capped = exponential.min(self.max_delay);
        let half = capped / 2;
        let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        half + Duration::from_millis(rand::random::<u64>() % jitter_ms.saturating_add(1))
    }
}

/// How long one call may take: each attempt at most `attempt_timeout`, and no attempt (or wait
/// before one) that would end after `until`.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// The client timeout of each attempt.
    pub attempt_timeout: Duration,
    /// When to stop trying.
    pub until: Instant,
}

impl Budget {
    /// Attempts of `attempt_timeout`, retried for at most `total`.
    pub fn within(attempt_timeout: Duration, total: Duration) -> Self {
        Self {
            attempt_timeout,
            until: Instant::now() + total,
        }
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
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            _ => return Err("must be https (http only for a loopback host)".into()),
        }
        let host = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host,
        };
        Ok(Self { url, host })
    }

    /// The `Host` header value.
    pub fn host(&self) -> &str {
        &self.host
    }
}

/// Why a VOD API call failed.
#[derive(Debug, thiserror::Error)]
pub enum VodApiError {
    /// VOD answered with `Response.Error`.
    #[error("VOD {action}: {code}: {message} (RequestId {request_id})")]
    Api {
        action: &'static str,
        code: String,
        message: String,
        request_id: String,
    },
    /// No answer: connection refused or reset, TLS, or the attempt timed out.
    #[error("VOD {action}: no answer: {detail}")]
    Network {
        action: &'static str,
        detail: String,
    },
    /// A non-200 status without an error body (a proxy or load balancer in between).
    #[error("VOD {action}: HTTP {status} without an API error")]
    Status { action: &'static str, status: u16 },
    /// An answer that is not the documented shape.
    #[error("VOD {action}: unexpected answer: {detail}")]
    Decode {
        action: &'static str,
        detail: String,
    },
}

impl VodApiError {
    /// The TencentCloud error code, for [`VodApiError::Api`].
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether the same call may succeed later: throttling, internal errors, 5xx/429 and
    /// network failures.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Api { code, .. } => {
                code.starts_with("RequestLimitExceeded") || code.starts_with("InternalError")
            }
            Self::Network { .. } => true,
            Self::Status { status, .. } => *status >= 500 || *status == 429,
            Self::Decode { .. } => false,
        }
    }

    /// Whether VOD refused a parameter (`InvalidParameter…`, `InvalidParameterValue…`): what
    /// `ConfirmEvents` is documented to answer for a handle past its 30 s window.
    pub fn is_invalid_parameter(&self) -> bool {
        self.code()
            .is_some_and(|code| code.starts_with("InvalidParameter"))
    }
}

/// What `PullEvents` returned.
#[derive(Debug, Clone, Default)]
pub struct PulledEvents {
    /// The `EventContent` objects, each with its `EventHandle`; null entries are dropped.
    pub events: Vec<Map<String, Value>>,
    /// Entries that were not objects (VOD documents `EventSet` items as possibly null).
    pub skipped: usize,
    /// VOD's id for the call.
    pub request_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PullEventsBody {
    #[serde(default)]
    event_set: Option<Vec<Value>>,
}

#[derive(Debug, Deserialize)]
struct Ignored {}

/// `Mode` of the event configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Mode {
    /// Normal callback: VOD POSTs each event to `NotificationUrl`.
    Push,
    /// Reliable callback: events wait in a queue for `PullEvents`.
    Pull,
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_uppercase().as_str() {
            "PUSH" => Ok(Self::Push),
            "PULL" => Ok(Self::Pull),
            _ => Err(format!("expected PUSH or PULL, got {s:?}")),
        }
    }
}

/// An event switch of the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Switch {
    On,
    Off,
}

impl FromStr for Switch {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_uppercase().as_str() {
            "ON" => Ok(Self::On),
            "OFF" => Ok(Self::Off),
            _ => Err(format!("expected ON or OFF, got {s:?}")),
        }
    }
}

/// `DescribeEventConfig`'s answer. Fields VOD adds later are kept in `other`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventConfig {
    pub mode: Option<String>,
    pub notification_url: Option<String>,
    pub upload_media_complete_event_switch: Option<String>,
    pub delete_media_complete_event_switch: Option<String>,
    pub persistence_complete_event_switch: Option<String>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// A `ModifyEventConfig` request: only the fields set are sent, so the rest stay as they are.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventConfigChange {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// The v3.0 callback URL; an empty string clears it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload_media_complete_event_switch: Option<Switch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_media_complete_event_switch: Option<Switch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistence_complete_event_switch: Option<Switch>,
    /// The callback key (`Sign = MD5(SignKey + T)`); never printed.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "expose_secret"
    )]
    pub sign_key: Option<Secret>,
}

impl EventConfigChange {
    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        self.mode.is_none()
            && self.notification_url.is_none()
            && self.upload_media_complete_event_switch.is_none()
            && self.delete_media_complete_event_switch.is_none()
            && self.persistence_complete_event_switch.is_none()
            && self.sign_key.is_none()
    }
}

fn expose_secret<S: Serializer>(secret: &Option<Secret>, serializer: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(secret) => serializer.serialize_str(secret.expose()),
        None => serializer.serialize_none(),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct WithSubApp<'a, T: Serialize> {
    #[serde(flatten)]
    body: &'a T,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub_app_id: Option<u64>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ConfirmEventsBody<'a> {
    event_handles: &'a [String],
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
        let http = reqwest::Client::builder()
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
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The sub-application every call is for, if any.
    pub fn sub_app_id(&self) -> Option<u64> {
        self.sub_app_id
    }

    /// `PullEvents`: up to 16 events, waiting up to 5 s (server side) when the queue is empty.
    pub async fn pull_events(
        &self,
        credentials: &ApiCredentials,
        budget: Budget,
    ) -> Result<PulledEvents, VodApiError> {
        let (body, request_id): (PullEventsBody, String) = self
            .call(credentials, "PullEvents", &Empty {}, budget)
            .await?;
        let mut pulled = PulledEvents {
            request_id,
            ..PulledEvents::default()
        };
        for event in body.event_set.unwrap_or_default() {
            match event {
                Value::Object(event) => pulled.events.push(event),
                _ => pulled.skipped += 1,
            }
        }
        Ok(pulled)
    }

    /// `ConfirmEvents` for at most [`MAX_BATCH`] handles; returns VOD's request id.
    pub async fn confirm_events(
        &self,
        credentials: &ApiCredentials,
        handles: &[String],
        budget: Budget,
    ) -> Result<String, VodApiError> {
        if handles.len() > MAX_BATCH {
            return Err(VodApiError::Decode {
                action: "ConfirmEvents",
                detail: format!("{} handles, over the limit of {MAX_BATCH}", handles.len()),
            });
        }
        let body = ConfirmEventsBody {
            event_handles: handles,
        };
        let (Ignored {}, request_id) = self
            .call(credentials, "ConfirmEvents", &body, budget)
            .await?;
        Ok(request_id)
    }

    /// `DescribeEventConfig`.
    pub async fn describe_event_config(
        &self,
        credentials: &ApiCredentials,
    ) -> Result<EventConfig, VodApiError> {
        let budget = Budget::within(CONFIG_CALL, CONFIG_CALLS_TOTAL);
        let (config, _) = self
            .call(credentials, "DescribeEventConfig", &Empty {}, budget)
            .await?;
        Ok(config)
    }

    /// `ModifyEventConfig`; returns VOD's request id.
    pub async fn modify_event_config(
        &self,
        credentials: &ApiCredentials,
        change: &EventConfigChange,
    ) -> Result<String, VodApiError> {
        let budget = Budget::within(CONFIG_CALL, CONFIG_CALLS_TOTAL);
        let (Ignored {}, request_id) = self
            .call(credentials, "ModifyEventConfig", change, budget)
            .await?;
        Ok(request_id)
    }

    /// The body and headers of a signed call, as sent. Pure apart from the clock.
    pub fn signed_request<T: Serialize>(
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
        let mut retry = 0;
        loop {
            let error = match self.attempt(credentials, action, body, budget).await {
                Ok(answer) => return Ok(answer),
                Err(error) => error,
            };
            retry += 1;
            let delay = self.retry.delay(retry);
            if !error.is_retryable()
                || retry >= self.retry.attempts
                || Instant::now() + delay >= budget.until
            {
                return Err(error);
            }
            tracing::warn!(action, %error, retry, delay_ms = delay.as_millis() as u64, "VOD API call failed; retrying");
            tokio::time::sleep(delay).await;
        }
    }

    async fn attempt<B: Serialize, T: DeserializeOwned>(
        &self,
        credentials: &ApiCredentials,
        action: &'static str,
        body: &B,
        budget: Budget,
    ) -> Result<(T, String), VodApiError> {
        let timeout = budget
            .attempt_timeout
            .min(budget.until.saturating_duration_since(Instant::now()));
        if timeout.is_zero() {
            return Err(VodApiError::Network {
                action,
                detail: "no time left in this call's budget".into(),
            });
        }
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
pub fn decode<T: DeserializeOwned>(
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
mod tests {
    use super::*;

    const VOD_KEY: &str = "TESTSECRETKEY0123456789abcdefABCD";
    const VOD_ID: &str = "AKIDTESTSECRETID0123456789";

    fn vector_client() -> VodApi {
        VodApi::new(
            Endpoint::parse(DEFAULT_ENDPOINT).unwrap(),
            Some(1_500_000_001),
        )
        .unwrap()
        .with_clock(|| 1_700_000_000)
    }

    fn header<'a>(headers: &'a [(&'static str, String)], name: &str) -> &'a str {
        headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .unwrap()
    }

    #[test]
    fn requests_reproduce_the_vod_vectors() {
        let api = vector_client();
        let credentials = ApiCredentials::new(VOD_ID, Secret::new(VOD_KEY));
        let (body, headers) = api.signed_request(&credentials, "PullEvents", &Empty {});
        assert_eq!(body, r#"{"SubAppId":1500000001}"#);
        assert!(header(&headers, "Authorization").ends_with(
            "Signature=a095cfafbc0165d8da1e9262b5a0fb543844f19d760d9fddf91f0d98173b6eed"
        ));
        assert_eq!(header(&headers, "Host"), "vod.tencentcloudapi.com");
        assert_eq!(header(&headers, "X-TC-Version"), "2018-07-17");
        assert_eq!(header(&headers, "X-TC-Timestamp"), "1700000000");
        assert_eq!(header(&headers, "Content-Type"), CONTENT_TYPE);

        let handles = ["EventHandle1".to_owned(), "EventHandle2".to_owned()];
        let (body, headers) = api.signed_request(
            &credentials,
            "ConfirmEvents",
            &ConfirmEventsBody {
                event_handles: &handles,
            },
        );
        assert_eq!(
            body,
            r#"{"EventHandles":["EventHandle1","EventHandle2"],"SubAppId":1500000001}"#
        );
        assert!(header(&headers, "Authorization").ends_with(
            "Signature=1fbf6ec19afba7cb823cfd6f64ceaa55048a0ebf472c5e79022908ff10d5328b"
        ));
    }

    #[test]
    fn no_sub_app_no_region_header() {
        let api = VodApi::new(Endpoint::parse("http://127.0.0.1:9999").unwrap(), None).unwrap();
        let credentials = ApiCredentials::new(VOD_ID, Secret::new(VOD_KEY));
        let (body, headers) = api.signed_request(&credentials, "PullEvents", &Empty {});
        assert_eq!(body, "{}");
        assert_eq!(header(&headers, "Host"), "127.0.0.1:9999");
        assert!(headers.iter().all(|(n, _)| *n != "X-TC-Region"));
    }

    #[test]
    fn config_change_sends_only_what_is_set_and_hides_the_key() {
        let change = EventConfigChange {
            mode: Some(Mode::Pull),
            upload_media_complete_event_switch: Some(Switch::On),
            sign_key: Some(Secret::new("VodCallbackKey123")),
            ..EventConfigChange::default()
        };
        let api = vector_client();
        let credentials = ApiCredentials::new(VOD_ID, Secret::new(VOD_KEY));
        let (body, _) = api.signed_request(&credentials, "ModifyEventConfig", &change);
        assert_eq!(
            body,
            r#"{"Mode":"PULL","UploadMediaCompleteEventSwitch":"ON","SignKey":"VodCallbackKey123","SubAppId":1500000001}"#
        );
        assert!(!format!("{change:?}").contains("VodCallbackKey123"));
        assert!(EventConfigChange::default().is_empty() && !change.is_empty());
    }

    #[test]
    fn errors_are_decoded_from_http_200_bodies() {
        let body = br#"{"Response":{"Error":{"Code":"RequestLimitExceeded","Message":"too fast"},"RequestId":"r-1"}}"#;
        let error = decode::<Ignored>("PullEvents", 200, body).unwrap_err();
        assert_eq!(error.code(), Some("RequestLimitExceeded"));
        assert!(error.is_retryable());
        assert_eq!(
            error.to_string(),
            "VOD PullEvents: RequestLimitExceeded: too fast (RequestId r-1)"
        );
        let auth = br#"{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"bad"},"RequestId":"r-2"}}"#;
        let error = decode::<Ignored>("PullEvents", 200, auth).unwrap_err();
        assert!(!error.is_retryable() && !error.is_invalid_parameter());
        let expired = br#"{"Response":{"Error":{"Code":"InvalidParameterValue","Message":"handle expired"},"RequestId":"r-3"}}"#;
        assert!(
            decode::<Ignored>("ConfirmEvents", 200, expired)
                .unwrap_err()
                .is_invalid_parameter()
        );
        for code in [
            "InternalError",
            "InternalError.DBError",
            "RequestLimitExceeded.UinLimitExceeded",
        ] {
            let body = format!(
                r#"{{"Response":{{"Error":{{"Code":"{code}","Message":""}},"RequestId":"r"}}}}"#
            );
            assert!(
                decode::<Ignored>("PullEvents", 200, body.as_bytes())
                    .unwrap_err()
                    .is_retryable(),
                "{code}"
            );
        }
    }

    #[test]
    fn statuses_and_garbage() {
        let error = decode::<Ignored>("PullEvents", 502, b"<html>bad gateway</html>").unwrap_err();
        assert!(matches!(error, VodApiError::Status { status: 502, .. }) && error.is_retryable());
        let error = decode::<Ignored>("PullEvents", 403, b"").unwrap_err();
        assert!(!error.is_retryable());
        let error = decode::<Ignored>("PullEvents", 200, b"{\"secret\":1}").unwrap_err();
        assert!(matches!(error, VodApiError::Decode { .. }));
        assert!(
            !error.to_string().contains("secret"),
            "never quotes the body"
        );
    }

    #[test]
    fn pull_events_shapes() {
        let fixture = include_str!("../../../tests/fixtures/callbacks/pull_events_response.json");
        let (body, request_id): (PullEventsBody, String) =
            decode("PullEvents", 200, fixture.as_bytes()).unwrap();
        assert_eq!(request_id, "335bdaa3-db0e-46ce-9946-51941d9cb0f5");
        assert_eq!(body.event_set.unwrap().len(), 2);
        let (empty, _): (PullEventsBody, String) =
            decode("PullEvents", 200, br#"{"Response":{"RequestId":"x"}}"#).unwrap();
        assert!(empty.event_set.is_none());
        let (nulls, _): (PullEventsBody, String) = decode(
            "PullEvents",
            200,
            br#"{"Response":{"EventSet":[null,{"EventType":"X"}],"RequestId":"x"}}"#,
        )
        .unwrap();
        assert_eq!(nulls.event_set.unwrap().len(), 2);
    }

    #[test]
    fn describe_keeps_unknown_fields() {
        let body = br#"{"Response":{"Mode":"PUSH","NotificationUrl":"https://x/y","UploadMediaCompleteEventSwitch":"ON","DeleteMediaCompleteEventSwitch":"OFF","NewSwitch":"ON","RequestId":"r"}}"#;
        let (config, _): (EventConfig, String) = decode("DescribeEventConfig", 200, body).unwrap();
        assert_eq!(config.mode.as_deref(), Some("PUSH"));
        assert_eq!(config.other["NewSwitch"], "ON");
        assert!(config.persistence_complete_event_switch.is_none());
    }

    #[test]
    fn endpoints() {
        assert_eq!(
            Endpoint::parse("https://vod.tencentcloudapi.com/")
                .unwrap()
                .host(),
            "vod.tencentcloudapi.com"
        );
        assert_eq!(
            Endpoint::parse("http://localhost:8080").unwrap().host(),
            "localhost:8080"
        );
        for bad in [
            "http://vod.tencentcloudapi.com",
            "ftp://x",
            "not a url",
            "https://u:p@x",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy {
            attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
        };
        for _ in 0..50 {
            let first = policy.delay(1);
            assert!((50..=100).contains(&first.as_millis()), "{first:?}");
            let third = policy.delay(3);
            assert!((150..=300).contains(&third.as_millis()), "{third:?}");
            assert!(policy.delay(40) <= Duration::from_millis(300));
        }
    }

    #[test]
    fn modes_and_switches_parse() {
        assert_eq!("pull".parse::<Mode>(), Ok(Mode::Pull));
        assert_eq!("PUSH".parse::<Mode>(), Ok(Mode::Push));
        assert!("both".parse::<Mode>().is_err());
        assert_eq!("on".parse::<Switch>(), Ok(Switch::On));
        assert!("maybe".parse::<Switch>().is_err());
    }

    #[test]
    fn credentials_never_print() {
        let credentials = ApiCredentials::new("AKID1", Secret::new("k"));
        assert_eq!(format!("{credentials:?}"), "ApiCredentials([REDACTED])");
    }
}
