//! Reliable-callback (PULL) mode: take events from VOD's queue instead of receiving them.
//!
//! In PULL mode VOD keeps each event in a queue until it is confirmed. One batch is:
//! `PullEvents` (up to 16 events; VOD holds the call up to 5 s when the queue is empty) → for
//! each event, the envelope the PUSH path would build ([`crate::ingest::envelope_for`]: same id,
//! same attribution) → [`crate::ingest::store_envelope`] → `ConfirmEvents` with the handles of
//! exactly the events the sink acknowledged (a duplicate counts: it is stored).
//!
//! The one rule is **never confirm what was not stored**. An event whose write failed, timed
//! out, or did not start before the batch's store budget ran out keeps its handle unconfirmed,
//! and VOD delivers it again after 30 s. Since ids are deterministic, a redelivery of something
//! that was in fact written (a write that finished after we gave up, a confirm that was lost) is
//! a duplicate, a no-op in DynamoDB and SQLite. So the failure modes all end in "stored once":
//! nothing is lost, nothing is stored twice. With `UPLOADS_STORE`, "stored" includes the
//! upload's update: an event whose upload could not be updated stays unconfirmed too, and its
//! redelivery (a duplicate envelope, an idempotent update) completes it.
//!
//! Timing: VOD wants the confirm within 30 s of the pull. Stores stop [`PullTimings::store_budget`]
//! (15 s) after the batch arrived, the confirm and its retries stop at
//! [`PullTimings::confirm_by`] (25 s). Under Lambda the work must also end before the
//! invocation's deadline: [`Puller::drain_until`] starts no `PullEvents` that could end within
//! [`PullTimings::margin`] of it, stops storing at half the margin and confirming at the
//! deadline.
//!
//! Events vodgate cannot parse (not an object, no `EventType`, over 1 MiB or nested too deep;
//! VOD has never been seen to send one) are logged by type and not confirmed: they come back
//! every 30 s and stay visible in the logs rather than being silently acknowledged away.
//!
//! Whether `ConfirmEvents` refuses the whole call when one handle has expired is not documented
//! (the docs only say an expired handle is a "parameter error"), so after an `InvalidParameter…`
//! answer the handles are confirmed one by one: the expired one fails alone.
//!
//! Where it runs: the `events` binary with `VODGATE_MODE=pull` (under Lambda, on a schedule, see
//! [`serve`]; elsewhere as a long-running loop) and `vodgate pull [--once]` locally. Log lines
//! carry counts, ids and VOD request ids only: never event bodies, handles or keys.

use std::future::Future;
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};
use time::OffsetDateTime;
use tokio::time::Instant;

mod report;
mod scf;

use crate::ingest::sink::{Sinks, Stored};
use crate::ingest::uploads::limits::UploadLimits;
use crate::ingest::uploads::{Access, UploadsStore};
use crate::ingest::{Enforced, Enforcer, IngestKeys, Stores, store_timeout};
use crate::platform::config::{ConfigError, Env};
use crate::platform::keys::{KeySet, Keys, SecretsManager, StartError};
use crate::platform::secret::SecretList;
use crate::vod::api::{ApiCredentials, Budget, MAX_BATCH, VodApi, VodApiError};
use crate::vod::callback;

pub use report::{PullError, PullReport};

/// How long each step of a batch may take. [`Default`] is the production setting.
#[derive(Debug, Clone, Copy)]
pub struct PullTimings {
    /// Client timeout of one `PullEvents` attempt (VOD holds it up to 5 s).
    pub pull_timeout: Duration,
    /// Client timeout of one `ConfirmEvents` attempt.
    pub confirm_timeout: Duration,
    /// After a batch arrives, stores start only within this time; the rest is left to redelivery.
    pub store_budget: Duration,
    /// After a batch arrives, confirming (with retries) stops at this point, inside VOD's 30 s.
    pub confirm_by: Duration,
    /// [`Puller::drain_until`] leaves this much time before its deadline for the last batch.
    pub margin: Duration,
    /// The wait after a failed `PullEvents` in the long-running loop.
    pub idle_backoff: Duration,
}

impl Default for PullTimings {
    fn default() -> Self {
        Self {
            pull_timeout: Duration::from_secs(10),
            confirm_timeout: Duration::from_secs(5),
            store_budget: Duration::from_secs(15),
            confirm_by: Duration::from_secs(25),
            margin: Duration::from_secs(10),
            idle_backoff: Duration::from_secs(5),
        }
    }
}

/// Where each step of a batch that must end by `deadline` stops. Instants are tokio's, so a test
/// with a paused clock controls them.
impl PullTimings {
    /// `PullEvents` (with its retries) ends [`PullTimings::margin`] before the deadline, leaving
    /// the rest for storing and confirming what it returns.
    fn pull_until(&self, deadline: Instant) -> Instant {
        deadline.checked_sub(self.margin).unwrap_or(deadline)
    }

    /// Stores start within [`PullTimings::store_budget`] of the batch's arrival, and not in the
    /// last half margin, which is the confirm's.
    fn store_until(&self, arrived: Instant, deadline: Instant) -> Instant {
        (arrived + self.store_budget).min(deadline.checked_sub(self.margin / 2).unwrap_or(deadline))
    }

    /// Confirming ends [`PullTimings::confirm_by`] after arrival (inside VOD's 30 s), and by the
    /// deadline.
    fn confirm_until(&self, arrived: Instant, deadline: Instant) -> Instant {
        (arrived + self.confirm_by).min(deadline)
    }
}

/// The keys the puller uses, derived once per secret fetch.
pub struct PullKeys {
    api: ApiCredentials,
    context: Option<SecretList>,
}

impl PullKeys {
    /// The API key pair and the context keys that attribute events to uploaders.
    pub fn new(api: ApiCredentials, context: Option<SecretList>) -> Self {
        Self { api, context }
    }

    fn derive(keys: &KeySet) -> Result<Self, ConfigError> {
        Ok(Self {
            api: crate::ingest::api_credentials(keys)?,
            context: keys.list("VODGATE_CONTEXT_KEY")?,
        })
    }
}

/// Pulls events from VOD into a sink.
pub struct Puller {
    api: VodApi,
    keys: Keys<PullKeys>,
    stores: Stores,
    timings: PullTimings,
}

impl Puller {
    /// A puller over explicit parts (tests, tools).
    pub fn new(
        api: VodApi,
        keys: Keys<PullKeys>,
        sink: impl Into<Sinks>,
        store_timeout: Duration,
        timings: PullTimings,
    ) -> Self {
        Self {
            api,
            keys,
            stores: Stores {
                sink: sink.into(),
                uploads: None,
                enforcer: None,
                timeout: store_timeout,
            },
            timings,
        }
    }

    /// This puller, keeping `uploads` up to date too (`UPLOADS_STORE`).
    pub fn with_uploads(mut self, uploads: Option<UploadsStore>) -> Self {
        self.stores.uploads = uploads;
        self
    }

    /// This puller, enforcing `limits` through its own VOD API client (nothing when no limit is
    /// set and a review's `block` keeps the media).
    pub fn with_limits(mut self, limits: UploadLimits) -> Self {
        self.stores.enforcer = limits
            .enforces()
            .then(|| std::sync::Arc::new(Enforcer::new(limits, self.api.clone())));
        self
    }

    /// From the environment: `VOD_SECRET_ID`/`VOD_SECRET_KEY` (env or the `VODGATE_SECRET_ARN`
    /// secret), `VODGATE_CONTEXT_KEY`, `VOD_API_ENDPOINT`, `VOD_API_REGION`, `VOD_SUB_APP_ID`,
    /// `EVENT_SINK`, `UPLOADS_STORE`, `EVENT_STORE_TIMEOUT_SECONDS`, `VOD_PULL_MARGIN_SECONDS`
    /// (1–30, default 10) and the upload limits (`UPLOAD_MAX_BYTES`, …).
    pub async fn from_env(env: &Env) -> Result<Self, StartError> {
        let api = crate::ingest::vod_api(env)?;
        let source = SecretsManager::from_env(env).await?;
        let keys = Keys::load(env, source, PullKeys::derive).await?;
        if keys.current().await.context.is_none() {
            tracing::warn!(
                "VODGATE_CONTEXT_KEY is not set: events cannot be attributed to uploaders (uploader is always null)"
            );
        }
        let margin = env.seconds_in("VOD_PULL_MARGIN_SECONDS", Duration::from_secs(10), 1..=30)?;
        let store_timeout = store_timeout(env)?;
        let sink = Sinks::from_env(env).await?;
        let uploads = UploadsStore::from_env(env, Access::ReadWrite).await?;
        let limits = UploadLimits::from_env(env)?;
        let described = uploads.as_ref().map(UploadsStore::describe);
        tracing::info!(sink = %sink.describe(), uploads = ?described, sub_app_id = ?api.sub_app_id(), "pull mode ready");
        Ok(Self::new(
            api,
            keys,
            sink,
            store_timeout,
            PullTimings {
                margin,
                ..PullTimings::default()
            },
        )
        .with_uploads(uploads)
        .with_limits(limits))
    }

    /// The sinks events are written to.
    pub fn sink(&self) -> &Sinks {
        &self.stores.sink
    }

    /// Batches until fewer than [`PullTimings::margin`] remain before `deadline`; every
    /// batch's stores and confirm end by `deadline`.
    pub async fn drain_until(&self, deadline: Instant) -> Result<PullReport, PullError> {
        let mut report = PullReport::default();
        while deadline.saturating_duration_since(Instant::now()) > self.timings.margin {
            let batch = self
                .batch(deadline)
                .await
                .map_err(|error| PullError { error, report })?;
            report.add(&batch);
        }
        Ok(report)
    }

    /// Batches until `PullEvents` returns nothing: drains what is visible now (`--once`).
    /// Events left unconfirmed in this run are invisible to it for 30 s, so it ends.
    pub async fn drain(&self) -> Result<PullReport, PullError> {
        let mut report = PullReport::default();
        loop {
            let deadline = Instant::now() + self.batch_span();
            let batch = self
                .batch(deadline)
                .await
                .map_err(|error| PullError { error, report })?;
            report.add(&batch);
            if batch.pulled == 0 {
                return Ok(report);
            }
        }
    }

    /// Batches until `shutdown` completes. A failed `PullEvents` is logged and retried after
    /// [`PullTimings::idle_backoff`], unless retrying cannot help (bad keys, bad parameters).
    /// A batch interrupted by shutdown is safe: what it stored but did not confirm comes back as
    /// duplicates.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) -> Result<PullReport, PullError> {
        let mut report = PullReport::default();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let deadline = Instant::now() + self.batch_span();
            let batch = tokio::select! {
                () = &mut shutdown => return Ok(report),
                batch = self.batch(deadline) => batch,
            };
            match batch {
                Ok(batch) => report.add(&batch),
                Err(error) if error.is_retryable() => {
                    tracing::warn!(%error, "PullEvents failed; pulling again shortly");
                    tokio::select! {
                        () = &mut shutdown => return Ok(report),
                        () = tokio::time::sleep(self.timings.idle_backoff) => {}
                    }
                }
                Err(error) => return Err(PullError { error, report }),
            }
        }
    }

    /// The time one whole batch may take, pull to confirm, plus the margin drain_until keeps.
    fn batch_span(&self) -> Duration {
        self.timings.pull_timeout + self.timings.confirm_by + self.timings.margin
    }

    /// One batch: pull, store, confirm what was stored. Fails only if `PullEvents` does; a long
    /// poll still running when the pull part of `deadline` arrives is an empty batch.
    pub(crate) async fn batch(&self, deadline: Instant) -> Result<PullReport, VodApiError> {
        let keys = self.keys.current().await;
        let pull_until = self.timings.pull_until(deadline);
        let pulled = match self
            .api
            .pull_events(
                &keys.api,
                Budget {
                    attempt_timeout: self.timings.pull_timeout,
                    until: pull_until,
                },
            )
            .await
        {
            Ok(pulled) => pulled,
            // The deadline cut a long poll short: time is up, VOD is fine. Whatever VOD put in
            // that answer is redelivered in 30 s.
            Err(VodApiError::Network { .. } | VodApiError::OutOfTime { .. })
                if Instant::now() + Duration::from_millis(5) >= pull_until =>
            {
                return Ok(PullReport::default());
            }
            Err(error) => return Err(error),
        };
        let arrived = Instant::now();
        let store_until = self.timings.store_until(arrived, deadline);
        let confirm_until = self.timings.confirm_until(arrived, deadline);
        let mut report = PullReport {
            batches: 1,
            pulled: pulled.events.len() as u64,
            ..PullReport::default()
        };
        if pulled.skipped > 0 {
            tracing::warn!(
                skipped = pulled.skipped,
                request_id = %pulled.request_id,
                "PullEvents returned entries that are not events"
            );
        }
        let mut handles = Vec::with_capacity(pulled.events.len());
        let mut sink_down = false;
        for event in pulled.events {
            let handle = event
                .get("EventHandle")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let ingest_keys = IngestKeys {
                context: keys.context.as_ref(),
                api: Some(&keys.api),
            };
            match self.store(ingest_keys, event, store_until, sink_down).await {
                Outcome::Stored(stored, enforced, flags) => {
                    report.attribution_refused += u64::from(flags.refused);
                    report.truncated += u64::from(flags.truncated);
                    match enforced {
                        Some(Enforced::Rejected(_)) => report.uploads_rejected += 1,
                        Some(Enforced::Unchecked) => report.uploads_unchecked += 1,
                        None => {}
                    }
                    if stored == Stored::New {
                        report.stored += 1;
                    } else {
                        report.duplicates += 1;
                    }
                    match handle {
                        Some(handle) => handles.push(handle),
                        None => {
                            tracing::warn!("a pulled event has no EventHandle; nothing to confirm")
                        }
                    }
                }
                Outcome::Failed { sink_unavailable } => {
                    report.failed += 1;
                    sink_down |= sink_unavailable;
                }
                Outcome::Rejected => report.rejected += 1,
            }
        }
        for chunk in handles.chunks(MAX_BATCH) {
            let confirmed = self.confirm(&keys.api, chunk, confirm_until).await;
            report.confirmed += confirmed;
            report.unconfirmed += chunk.len() as u64 - confirmed;
        }
        if report.pulled > 0 || pulled.skipped > 0 {
            tracing::info!(
                pulled = report.pulled,
                stored = report.stored,
                duplicates = report.duplicates,
                failed = report.failed,
                rejected = report.rejected,
                confirmed = report.confirmed,
                unconfirmed = report.unconfirmed,
                request_id = %pulled.request_id,
                "pull batch"
            );
        }
        report.record_metrics();
        Ok(report)
    }

    /// Parses and stores one pulled event. Once the sink has failed in this batch, the rest are
    /// not attempted (they come back in 30 s) so a dead sink does not eat the confirm window.
    async fn store(
        &self,
        keys: IngestKeys<'_>,
        event: Map<String, Value>,
        until: Instant,
        sink_down: bool,
    ) -> Outcome {
        let event_type = event
            .get("EventType")
            .and_then(Value::as_str)
            .unwrap_or("-")
            .chars()
            .take(64)
            .collect::<String>();
        let parsed = match callback::from_object(event) {
            Ok(parsed) => parsed,
            Err(error) => {
                tracing::warn!(%event_type, %error, "pulled event cannot be parsed; leaving it unconfirmed");
                return Outcome::Rejected;
            }
        };
        let timeout = self
            .stores
            .timeout
            .min(until.saturating_duration_since(Instant::now()));
        if sink_down || timeout.is_zero() {
            return Outcome::Failed {
                sink_unavailable: false,
            };
        }
        let ingested = crate::ingest::ingest(
            &self.stores,
            keys,
            parsed,
            OffsetDateTime::now_utc(),
            Instant::now() + timeout,
        )
        .await;
        match ingested {
            Ok(done) => {
                tracing::debug!(id = %done.id, %event_type, duplicate = done.stored == Stored::Duplicate, sink_ms = done.sink_latency.as_millis() as u64, "pulled event stored");
                if let Some(reason) = done.forged {
                    tracing::warn!(id = %done.id, %reason, "an attribution token in a pulled event did not open; stored unattributed");
                }
                Outcome::Stored(
                    done.stored,
                    done.enforced,
                    Flags {
                        refused: done.forged.is_some(),
                        truncated: done.truncated,
                    },
                )
            }
            Err(error) => {
                tracing::warn!(%event_type, %error, "pulled event not stored or its upload not updated; VOD will deliver it again");
                Outcome::Failed {
                    sink_unavailable: error.is_unavailable(),
                }
            }
        }
    }

    /// Confirms `handles`; returns how many were confirmed. After an `InvalidParameter…`
    /// answer (an expired handle, documented as a parameter error) each handle is confirmed on
    /// its own, so one expired handle does not hold back the others.
    async fn confirm(&self, api: &ApiCredentials, handles: &[String], until: Instant) -> u64 {
        let budget = Budget {
            attempt_timeout: self.timings.confirm_timeout,
            until,
        };
        match self.api.confirm_events(api, handles, budget).await {
            Ok(_) => handles.len() as u64,
            Err(error) if error.is_invalid_parameter() && handles.len() > 1 => {
                tracing::warn!(%error, "ConfirmEvents refused the batch; confirming one by one");
                let mut confirmed = 0;
                for handle in handles {
                    match self
                        .api
                        .confirm_events(api, std::slice::from_ref(handle), budget)
                        .await
                    {
                        Ok(_) => confirmed += 1,
                        Err(error) => {
                            tracing::warn!(%error, "an event handle was not confirmed; VOD will deliver it again (stored once)");
                        }
                    }
                }
                confirmed
            }
            Err(error) => {
                tracing::warn!(%error, handles = handles.len(), "ConfirmEvents failed; VOD will deliver these again (stored once)");
                0
            }
        }
    }
}

/// What else a stored event did: its attribution token was refused; a sink took its marker.
struct Flags {
    refused: bool,
    truncated: bool,
}

enum Outcome {
    /// Stored; what enforcing the limits did; what else is worth counting.
    Stored(Stored, Option<Enforced>, Flags),
    Failed {
        sink_unavailable: bool,
    },
    Rejected,
}

/// What the `events` binary runs: `VODGATE_MODE=http` (the default: the callback receiver) or
/// `pull` (this module).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// Receive PUSH callbacks over HTTP.
    Http,
    /// Pull events from VOD's queue.
    Pull,
}

impl RunMode {
    /// From `VODGATE_MODE`.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        match env
            .non_empty("VODGATE_MODE")
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("http") => Ok(Self::Http),
            Some("pull") => Ok(Self::Pull),
            Some(other) => Err(ConfigError::invalid(
                "VODGATE_MODE",
                format!("expected http or pull, got {other:?}"),
            )),
        }
    }
}

/// Runs the puller as the host calls for: under Lambda (`AWS_LAMBDA_RUNTIME_API` set) or as an
/// SCF event function (`SCF_RUNTIME_API`, [`scf`]) one [`Puller::drain_until`] per invocation
/// (a schedule's or a timer's event, or any JSON), ending before the invocation's deadline;
/// elsewhere [`Puller::run`] until SIGTERM or Ctrl-C.
pub async fn serve(puller: Puller, env: &Env) -> Result<(), crate::web::serve::BoxError> {
    if let (Some(host), Some(port)) = (
        env.non_empty("SCF_RUNTIME_API"),
        env.non_empty("SCF_RUNTIME_API_PORT"),
    ) {
        return scf::serve(&puller, &format!("{host}:{port}")).await;
    }
    if env.get("AWS_LAMBDA_RUNTIME_API").is_some() {
        let puller = &puller;
        return lambda_http::lambda_runtime::run(lambda_http::service_fn(
            move |event: lambda_http::LambdaEvent<Value>| async move {
                invocation(puller, &event.payload, event.context.deadline()).await
            },
        ))
        .await;
    }
    let report = puller.run(crate::web::serve::shutdown_signal()).await?;
    tracing::info!(report = %report.to_json(), "pull loop stopped");
    Ok(())
}

/// One scheduled invocation: drain until shortly before `deadline`.
pub(crate) async fn invocation(
    puller: &Puller,
    event: &Value,
    deadline: SystemTime,
) -> Result<Value, PullError> {
    let remaining = deadline
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    let source = event.get("source").and_then(Value::as_str).unwrap_or("-");
    tracing::info!(
        source,
        remaining_ms = remaining.as_millis() as u64,
        "pull invocation"
    );
    let report = puller.drain_until(Instant::now() + remaining).await?;
    Ok(report.to_json())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_steps_end_in_order_and_by_the_deadline() {
        let t = PullTimings::default();
        let now = Instant::now();
        let roomy = now + Duration::from_secs(900);
        assert_eq!(t.pull_until(roomy), roomy - t.margin);
        assert_eq!(t.store_until(now, roomy), now + t.store_budget);
        assert_eq!(t.confirm_until(now, roomy), now + t.confirm_by);
        // Near a Lambda deadline the deadline decides: stores stop half a margin before it,
        // confirming at it.
        let tight = now + Duration::from_secs(12);
        assert_eq!(t.pull_until(tight), now + Duration::from_secs(2));
        assert_eq!(t.store_until(now, tight), now + Duration::from_secs(7));
        assert_eq!(t.confirm_until(now, tight), tight);
    }

    #[test]
    fn default_timings_fit_vods_confirm_window() {
        let t = PullTimings::default();
        assert!(t.store_budget < t.confirm_by);
        assert!(t.confirm_by < Duration::from_secs(30));
        assert!(t.pull_timeout >= Duration::from_secs(10));
    }

    #[test]
    fn run_modes() {
        assert_eq!(RunMode::from_env(&Env::default()), Ok(RunMode::Http));
        let env = Env::from_pairs([("VODGATE_MODE", "PULL")]);
        assert_eq!(RunMode::from_env(&env), Ok(RunMode::Pull));
        let env = Env::from_pairs([("VODGATE_MODE", "poll")]);
        assert_eq!(RunMode::from_env(&env).unwrap_err().var, "VODGATE_MODE");
    }
}
