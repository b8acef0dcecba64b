//! A fake Tencent Cloud VOD API (API 3.0) for the reliable-callback tests.
//!
//! It behaves like the parts of VOD that pull mode depends on, strictly where it matters:
//!
//! - every request must carry a valid TC3-HMAC-SHA256 signature, recomputed from the headers
//!   *as received* (so a client that sends a different `Content-Type` or `Host` than it signed
//!   fails), else the real error shape `AuthFailure.SignatureFailure` (`…SignatureExpire` for a
//!   timestamp over 5 minutes off), with HTTP 200 like VOD;
//! - `PullEvents` hands out up to 16 queued events, each with a fresh handle, and long-polls when
//!   the queue is empty; an event not confirmed within the confirm window is delivered again
//!   under a new handle, and its old handle expires;
//! - `ConfirmEvents` takes at most 16 handles; an expired or unknown handle is ignored or, with
//!   [`Options::reject_expired`], fails the whole call with `InvalidParameterValue` (VOD's
//!   behaviour here is not documented, so both are tested);
//! - `DescribeEventConfig` / `ModifyEventConfig` keep a configuration (`SignKey` is stored but,
//!   as in VOD, never described);
//! - `DescribeMediaInfos` describes the media added with [`FakeVod::add_media`] (unknown ids in
//!   `NotExistFileIdSet`, as VOD does); `DeleteMedia` deletes one, recording it, and answers
//!   `ResourceNotFound` for a file it does not have (VOD's exact code is undocumented);
//! - [`Fault`]s queued with [`FakeVod::inject`] hit the next requests: throttling, internal
//!   errors, 5xx pages, hangs, and responses lost after the work was done.
//!
//! At every confirm it asks the test's store check whether the event's envelope id is already in
//! the sink, and records the answer, so a test can assert nothing was confirmed before it was
//! stored.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Map, Value, json};
use vodgate::platform::keys::Keys;
use vodgate::platform::secret::{Secret, SecretList};
use vodgate::pull::{PullKeys, PullTimings};
use vodgate::vod::api::{ApiCredentials, Endpoint, RetryPolicy, VodApi};
use vodgate::vod::tc3;

pub const SECRET_ID: &str = "AKIDfakeVodTestSecretId01";
pub const SECRET_KEY: &str = "fake-vod-test-secret-key-0123456789";

/// Whether an envelope id is in the sink right now.
pub type StoreCheck =
    Arc<dyn Fn(String) -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// No fault for this request (to aim the next ones).
    Pass,
    /// `RequestLimitExceeded`.
    Throttle,
    /// `InternalError`.
    Internal,
    /// An HTTP status with an HTML body, as a load balancer would answer.
    Status(u16),
    /// Hold the request this long, then fail it (the client should time out first).
    Hang(Duration),
    /// Do the work (hand out events, confirm), then hold the answer this long: the client times
    /// out and never sees what happened.
    LoseResponse(Duration),
}

#[derive(Clone)]
pub struct Options {
    pub confirm_window: Duration,
    pub long_poll: Duration,
    pub reject_expired: bool,
    pub sub_app_id: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            confirm_window: Duration::from_millis(1000),
            long_poll: Duration::from_millis(50),
            reject_expired: false,
            sub_app_id: None,
        }
    }
}

/// One confirmed handle: which event, and whether the sink held it at that moment.
#[derive(Debug, Clone)]
pub struct Confirmation {
    pub event: usize,
    pub stored_at_confirm: bool,
}

struct Event {
    body: Map<String, Value>,
    id: String,
    deliveries: u32,
    confirmed: bool,
}

#[derive(Default)]
struct Counters {
    requests: u64,
    auth_failures: u64,
    actions: HashMap<String, u64>,
}

struct Inner {
    options: Options,
    events: Vec<Event>,
    ready: VecDeque<usize>,
    in_flight: HashMap<String, (usize, Instant)>,
    next_handle: u64,
    faults: VecDeque<Fault>,
    confirmations: Vec<Confirmation>,
    counters: Counters,
    config: Map<String, Value>,
    sign_key: Option<String>,
    sub_app_ids: Vec<Option<u64>>,
    store_check: Option<StoreCheck>,
    /// File id → its `MetaData` (`None`: VOD knows the file but has no metadata).
    media: HashMap<String, Option<Value>>,
    deletions: Vec<String>,
}

#[derive(Clone)]
pub struct FakeVod {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl FakeVod {
    pub async fn start(options: Options) -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            options,
            events: Vec::new(),
            ready: VecDeque::new(),
            in_flight: HashMap::new(),
            next_handle: 0,
            faults: VecDeque::new(),
            confirmations: Vec::new(),
            counters: Counters::default(),
            config: json!({
                "Mode": "PUSH",
                "NotificationUrl": "",
                "UploadMediaCompleteEventSwitch": "OFF",
                "DeleteMediaCompleteEventSwitch": "OFF",
                "PersistenceCompleteEventSwitch": "OFF",
            })
            .as_object()
            .cloned()
            .unwrap(),
            sign_key: None,
            sub_app_ids: Vec::new(),
            store_check: None,
            media: HashMap::new(),
            deletions: Vec::new(),
        }));
        let fake = Self {
            addr: ([127, 0, 0, 1], 0).into(),
            inner,
        };
        let app = Router::new()
            .route("/", post(handle))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { addr, ..fake }
    }

    /// A VOD API client for this fake (as sub-application `sub_app`), trying a call up to
    /// `attempts` times, 10 to 40 ms apart.
    pub fn api(&self, sub_app: Option<u64>, attempts: u32) -> VodApi {
        VodApi::new(Endpoint::parse(&self.url()).unwrap(), sub_app)
            .unwrap()
            .with_retry(RetryPolicy {
                attempts,
                base_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(40),
            })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap()
    }

    /// Queues an event (an `EventContent` without handle); returns its index.
    pub fn push_event(&self, body: Value) -> usize {
        let body = body.as_object().cloned().expect("an event is an object");
        let parsed =
            vodgate::vod::callback::parse(Value::Object(body.clone()).to_string().as_bytes())
                .expect("test events parse");
        let id = vodgate::ingest::envelope::event_id(&parsed);
        let mut inner = self.lock();
        let index = inner.events.len();
        inner.events.push(Event {
            body,
            id,
            deliveries: 0,
            confirmed: false,
        });
        inner.ready.push_back(index);
        index
    }

    pub fn inject(&self, faults: impl IntoIterator<Item = Fault>) {
        self.lock().faults.extend(faults);
    }

    /// Drops the faults no request has hit yet.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    pub fn set_store_check(&self, check: StoreCheck) {
        self.lock().store_check = Some(check);
    }

    /// The envelope id the events function gives event `index`.
    pub fn event_id(&self, index: usize) -> String {
        self.lock().events[index].id.clone()
    }

    pub fn deliveries(&self, index: usize) -> u32 {
        self.lock().events[index].deliveries
    }

    pub fn all_confirmed(&self) -> bool {
        self.lock().events.iter().all(|e| e.confirmed)
    }

    pub fn unconfirmed(&self) -> Vec<usize> {
        let inner = self.lock();
        (0..inner.events.len())
            .filter(|&i| !inner.events[i].confirmed)
            .collect()
    }

    pub fn confirmations(&self) -> Vec<Confirmation> {
        self.lock().confirmations.clone()
    }

    pub fn requests(&self) -> u64 {
        self.lock().counters.requests
    }

    pub fn auth_failures(&self) -> u64 {
        self.lock().counters.auth_failures
    }

    pub fn calls(&self, action: &str) -> u64 {
        self.lock()
            .counters
            .actions
            .get(action)
            .copied()
            .unwrap_or(0)
    }

    pub fn sub_app_ids(&self) -> Vec<Option<u64>> {
        self.lock().sub_app_ids.clone()
    }

    pub fn config(&self) -> Map<String, Value> {
        self.lock().config.clone()
    }

    pub fn sign_key(&self) -> Option<String> {
        self.lock().sign_key.clone()
    }

    /// Makes VOD know `file_id`, with `meta_data` (a `MetaData` object) or none.
    pub fn add_media(&self, file_id: &str, meta_data: Option<Value>) {
        self.lock().media.insert(file_id.to_owned(), meta_data);
    }

    /// The files `DeleteMedia` deleted, in order (a delete of an unknown file is not one).
    pub fn deletions(&self) -> Vec<String> {
        self.lock().deletions.clone()
    }
}

fn api_error(code: &str, message: &str) -> Response {
    let body = json!({"Response": {
        "Error": {"Code": code, "Message": message},
        "RequestId": request_id(),
    }});
    (StatusCode::OK, body.to_string()).into_response()
}

fn ok(mut fields: Map<String, Value>) -> Response {
    fields.insert("RequestId".into(), request_id().into());
    (StatusCode::OK, json!({"Response": fields}).to_string()).into_response()
}

fn request_id() -> String {
    format!("fake-{:016x}", rand::random::<u64>())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Checks the TC3 signature of a request as received; `Err((code, message))` as VOD answers.
fn verify(headers: &HeaderMap, uri: &Uri, body: &[u8]) -> Result<(), (&'static str, String)> {
    let failure = |why: &str| ("AuthFailure.SignatureFailure", why.to_owned());
    let authorization = header(headers, "authorization").ok_or(failure("no Authorization"))?;
    let rest = authorization
        .strip_prefix("TC3-HMAC-SHA256 ")
        .ok_or(failure("unknown algorithm"))?;
    let mut parts = HashMap::new();
    for part in rest.split(", ") {
        let (key, value) = part
            .split_once('=')
            .ok_or(failure("malformed Authorization"))?;
        parts.insert(key, value);
    }
    let credential = parts.get("Credential").ok_or(failure("no Credential"))?;
    let signed_headers = parts
        .get("SignedHeaders")
        .ok_or(failure("no SignedHeaders"))?;
    let signature = parts.get("Signature").ok_or(failure("no Signature"))?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [secret_id, date, service, "tc3_request"] = scope[..] else {
        return Err(failure("malformed Credential"));
    };
    if secret_id != SECRET_ID {
        return Err(("AuthFailure.SecretIdNotFound", "unknown SecretId".into()));
    }
    let timestamp: i64 = header(headers, "x-tc-timestamp")
        .and_then(|t| t.parse().ok())
        .ok_or(failure("no X-TC-Timestamp"))?;
    let now = vodgate::vod::api::system_clock();
    if (now - timestamp).abs() > 300 {
        return Err((
            "AuthFailure.SignatureExpire",
            "timestamp too far off".into(),
        ));
    }
    if service != "vod" || date != tc3::utc_date(timestamp) {
        return Err(failure("wrong credential scope"));
    }
    let names: Vec<&str> = signed_headers.split(';').collect();
    if !names.contains(&"content-type") || !names.contains(&"host") {
        return Err(failure("content-type and host must be signed"));
    }
    let mut signed = Vec::new();
    for name in &names {
        let value = header(headers, name).ok_or(failure("a signed header is missing"))?;
        signed.push((*name, value));
    }
    let (canonical, list) = tc3::canonical_request(&tc3::Request {
        method: "POST",
        query: uri.query().unwrap_or(""),
        headers: &signed,
        payload: body,
    });
    if list != *signed_headers {
        return Err(failure("SignedHeaders not in canonical order"));
    }
    let keys = tc3::signing_keys(&Secret::new(SECRET_KEY), date, service);
    let expected = tc3::signature(
        &keys,
        &tc3::string_to_sign(timestamp, date, service, &canonical),
    );
    if expected != *signature {
        return Err(failure("signature does not match"));
    }
    Ok(())
}

async fn handle(
    State(fake): State<FakeVod>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    fake.lock().counters.requests += 1;
    if let Err((code, message)) = verify(&headers, &uri, &body) {
        fake.lock().counters.auth_failures += 1;
        return api_error(code, &message);
    }
    if header(&headers, "x-tc-version") != Some("2018-07-17") {
        return api_error("NoSuchVersion", "bad X-TC-Version");
    }
    let action = header(&headers, "x-tc-action")
        .unwrap_or_default()
        .to_owned();
    *fake
        .lock()
        .counters
        .actions
        .entry(action.clone())
        .or_default() += 1;
    let Ok(Value::Object(params)) = serde_json::from_slice::<Value>(&body) else {
        return api_error("InvalidParameter", "body is not a JSON object");
    };
    let sub_app_id = params.get("SubAppId").and_then(Value::as_u64);
    {
        let mut inner = fake.lock();
        inner.sub_app_ids.push(sub_app_id);
        if sub_app_id != inner.options.sub_app_id {
            return api_error("InvalidParameterValue.SubAppId", "wrong SubAppId");
        }
    }
    let fault = fake.lock().faults.pop_front();
    match fault {
        Some(Fault::Throttle) => return api_error("RequestLimitExceeded", "too many requests"),
        Some(Fault::Internal) => return api_error("InternalError", "internal error"),
        Some(Fault::Status(status)) => {
            return (
                StatusCode::from_u16(status).unwrap(),
                "<html>bad gateway</html>",
            )
                .into_response();
        }
        Some(Fault::Hang(duration)) => {
            tokio::time::sleep(duration).await;
            return api_error("InternalError", "hung");
        }
        Some(Fault::LoseResponse(_) | Fault::Pass) | None => {}
    }
    let response = match action.as_str() {
        "PullEvents" => pull_events(&fake).await,
        "ConfirmEvents" => confirm_events(&fake, &params).await,
        "DescribeEventConfig" => ok(fake.lock().config.clone()),
        "ModifyEventConfig" => modify_event_config(&fake, params),
        "DeleteMedia" => delete_media(&fake, &params),
        "DescribeMediaInfos" => describe_media_infos(&fake, &params),
        _ => api_error("InvalidAction", "unknown action"),
    };
    if let Some(Fault::LoseResponse(duration)) = fault {
        tokio::time::sleep(duration).await;
    }
    response
}

fn requeue_expired(inner: &mut Inner) {
    let window = inner.options.confirm_window;
    let expired: Vec<String> = inner
        .in_flight
        .iter()
        .filter(|(_, (_, at))| at.elapsed() >= window)
        .map(|(handle, _)| handle.clone())
        .collect();
    for handle in expired {
        if let Some((index, _)) = inner.in_flight.remove(&handle) {
            inner.ready.push_back(index);
        }
    }
}

async fn pull_events(fake: &FakeVod) -> Response {
    let long_poll = {
        let mut inner = fake.lock();
        requeue_expired(&mut inner);
        inner.options.long_poll
    };
    if fake.lock().ready.is_empty() {
        tokio::time::sleep(long_poll).await;
    }
    let mut inner = fake.lock();
    requeue_expired(&mut inner);
    let mut set = Vec::new();
    while set.len() < 16 {
        let Some(index) = inner.ready.pop_front() else {
            break;
        };
        inner.next_handle += 1;
        let handle = format!("handle-{}-{index}", inner.next_handle);
        inner
            .in_flight
            .insert(handle.clone(), (index, Instant::now()));
        let event = &mut inner.events[index];
        event.deliveries += 1;
        let mut body = event.body.clone();
        body.insert("EventHandle".into(), handle.into());
        // PULL shows the other event types' payload keys as explicit nulls.
        body.entry("EditMediaCompleteEvent").or_insert(Value::Null);
        set.push(Value::Object(body));
    }
    let mut fields = Map::new();
    fields.insert("EventSet".into(), set.into());
    ok(fields)
}

async fn confirm_events(fake: &FakeVod, params: &Map<String, Value>) -> Response {
    let Some(handles) = params.get("EventHandles").and_then(Value::as_array) else {
        return api_error("MissingParameter", "EventHandles is required");
    };
    let handles: Vec<String> = handles
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    if handles.is_empty() || handles.len() > 16 {
        return api_error("InvalidParameterValue", "1 to 16 EventHandles");
    }
    let (valid, check) = {
        let inner = fake.lock();
        let window = inner.options.confirm_window;
        let valid: Vec<(String, usize)> = handles
            .iter()
            .filter_map(|h| {
                let (index, at) = inner.in_flight.get(h)?;
                (at.elapsed() < window).then(|| (h.clone(), *index))
            })
            .collect();
        if valid.len() < handles.len() && inner.options.reject_expired {
            return api_error("InvalidParameterValue", "event handle expired or unknown");
        }
        (valid, inner.store_check.clone())
    };
    let mut stored = Vec::new();
    for (_, index) in &valid {
        let id = fake.lock().events[*index].id.clone();
        stored.push(match &check {
            Some(check) => check(id).await,
            None => true,
        });
    }
    let mut inner = fake.lock();
    for ((handle, index), stored_at_confirm) in valid.into_iter().zip(stored) {
        inner.in_flight.remove(&handle);
        inner.events[index].confirmed = true;
        inner.confirmations.push(Confirmation {
            event: index,
            stored_at_confirm,
        });
    }
    ok(Map::new())
}

fn modify_event_config(fake: &FakeVod, params: Map<String, Value>) -> Response {
    let mut inner = fake.lock();
    for (key, value) in params {
        match key.as_str() {
            "SubAppId" => {}
            "SignKey" => inner.sign_key = value.as_str().map(str::to_owned),
            "Mode" if !matches!(value.as_str(), Some("PUSH" | "PULL")) => {
                return api_error("InvalidParameterValue.Mode", "Mode is PUSH or PULL");
            }
            _ => {
                inner.config.insert(key, value);
            }
        }
    }
    ok(Map::new())
}

fn delete_media(fake: &FakeVod, params: &Map<String, Value>) -> Response {
    let Some(file_id) = params.get("FileId").and_then(Value::as_str) else {
        return api_error("MissingParameter", "FileId is required");
    };
    if params.contains_key("DeleteParts") {
        return api_error("InvalidParameter", "the fake deletes whole media only");
    }
    let mut inner = fake.lock();
    if inner.media.remove(file_id).is_none() {
        return api_error("ResourceNotFound", "the media does not exist");
    }
    inner.deletions.push(file_id.to_owned());
    ok(Map::new())
}

fn describe_media_infos(fake: &FakeVod, params: &Map<String, Value>) -> Response {
    let Some(ids) = params.get("FileIds").and_then(Value::as_array) else {
        return api_error("InvalidParameterValue.FileIdsEmpty", "FileIds is required");
    };
    if ids.len() > 20 {
        return api_error("InvalidParameterValue.FileIdsOverLimit", "at most 20");
    }
    let filters = params.get("Filters").cloned().unwrap_or(json!([]));
    let inner = fake.lock();
    let (mut found, mut missing) = (Vec::new(), Vec::new());
    for id in ids.iter().filter_map(Value::as_str) {
        match inner.media.get(id) {
            Some(meta) => {
                let mut info = json!({"FileId": id, "BasicInfo": {"Type": "mp4"}});
                if filters
                    .as_array()
                    .is_some_and(|f| f.contains(&json!("metaData")))
                {
                    info["MetaData"] = meta.clone().unwrap_or(Value::Null);
                }
                found.push(info);
            }
            None => missing.push(json!(id)),
        }
    }
    let mut fields = Map::new();
    fields.insert("MediaInfoSet".into(), found.into());
    fields.insert("NotExistFileIdSet".into(), missing.into());
    ok(fields)
}

/// Pull mode's keys: the fake's secret id with `secret_key` (the fake's [`SECRET_KEY`], or another
/// to be refused), and the attribution key `context_key`.
pub fn pull_keys(secret_key: &str, context_key: &str) -> Keys<PullKeys> {
    Keys::fixed(PullKeys::new(
        ApiCredentials::new(SECRET_ID, Secret::new(secret_key)),
        Some(SecretList::parse(context_key).unwrap()),
    ))
}

/// Production's pull timings scaled down to a fake whose confirm window is 3 s: every step inside
/// it.
pub fn pull_timings_for_3s() -> PullTimings {
    PullTimings {
        pull_timeout: Duration::from_millis(800),
        confirm_timeout: Duration::from_millis(300),
        store_budget: Duration::from_secs(2),
        confirm_by: Duration::from_millis(2500),
        margin: Duration::from_millis(300),
        idle_backoff: Duration::from_millis(50),
    }
}
