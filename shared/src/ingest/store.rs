//! The one store path of an event, shared by both delivery modes.
//!
//! A pushed callback (`crate::push`) and a pulled batch (`crate::pull`) both turn an
//! authenticated callback into an envelope with [`envelope_for`] and write it with
//! [`store_envelope`], so an event delivered both ways gets the same envelope, id and uploader,
//! and is stored once.

use std::time::Duration;

use time::OffsetDateTime;
use tokio::time::Instant;

use super::envelope::{Envelope, Uploader};
use super::sink::{Record, Sink, SinkError, Stored, Unavailable};
use crate::attribution;
use crate::platform::config::{ConfigError, Env};
use crate::platform::secret::SecretList;
use crate::vod::callback::Callback;

const DEFAULT_STORE_TIMEOUT: Duration = Duration::from_secs(10);

/// The event a request stored, left in response extensions for the request log line.
#[derive(Debug, Clone)]
pub(crate) struct StoredEvent {
    pub(crate) id: String,
    /// The sink already had it (a redelivery).
    pub(crate) duplicate: bool,
}

/// How long the sink took (success or failure), left in response extensions for metrics.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SinkLatency(pub(crate) Duration);

/// `EVENT_STORE_TIMEOUT_SECONDS`: the longest wait for one sink write (1–60 s, default 10).
pub(crate) fn store_timeout(env: &Env) -> Result<Duration, ConfigError> {
    env.seconds_in("EVENT_STORE_TIMEOUT_SECONDS", DEFAULT_STORE_TIMEOUT, 1..=60)
}

/// The envelope of an authenticated callback, attributed with the context keys in force. Both
/// delivery modes (a PUSH request here, a PULL batch in `crate::pull`) build it with this one
/// function, so an event delivered both ways gets the same envelope, id and uploader.
pub(crate) fn envelope_for(
    context_keys: Option<&SecretList>,
    callback: Callback,
    received_at: OffsetDateTime,
) -> Envelope {
    let uploader = attribute(context_keys, &callback);
    Envelope::build(callback, uploader, received_at)
}

/// Writes `envelope` to `sink`, waiting at most `timeout` (a write still running then counts as
/// failed: the event is redelivered and its retry finds it). Returns how long the sink took, on
/// tokio's clock like the timeout, so a test with a paused clock sees both exactly.
pub(crate) async fn store_envelope(
    sink: &Sink,
    envelope: &Envelope,
    timeout: Duration,
) -> (Result<Stored, SinkError>, Duration) {
    let received_at_text = crate::ingest::envelope::rfc3339(envelope.received_at);
    let record = Record {
        id: &envelope.id,
        event_type: &envelope.event_type,
        file_id: envelope.file_id.as_deref(),
        uploader_sub: envelope.uploader.as_ref().map(|u| u.sub.as_str()),
        received_at: &received_at_text,
        received_at_unix: envelope.received_at.unix_timestamp(),
        envelope_json: envelope.to_json(),
    };
    let started = Instant::now();
    let stored = tokio::time::timeout(timeout, sink.store(record)).await;
    let latency = started.elapsed();
    let result = stored.unwrap_or_else(|_| {
        Err(SinkError::unavailable(
            Unavailable::TimedOut,
            format!("no answer within {} ms", timeout.as_millis()),
        ))
    });
    (result, latency)
}

/// The uploader named by the first context token whose MAC holds; `None` for missing, foreign
/// or forged tokens (the event is still stored, never trusted).
fn attribute(keys: Option<&SecretList>, callback: &Callback) -> Option<Uploader> {
    let keys = keys?;
    callback
        .contexts()
        .into_iter()
        .find_map(|token| attribution::open(keys, token))
        .map(|who| Uploader {
            sub: who.sub,
            upload_id: who.upload_id.as_str().to_owned(),
            meta: who.meta.map(|m| m.as_str().to_owned()),
        })
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::ingest::sink::SqliteSink;
    use crate::vod::callback;

    #[tokio::test(start_paused = true)]
    async fn a_sink_that_does_not_answer_times_out_after_exactly_the_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.sqlite");
        let sink = Sink::from(SqliteSink::open(&path).unwrap());
        let lock = rusqlite::Connection::open(&path).unwrap();
        lock.execute_batch("BEGIN IMMEDIATE").unwrap();
        let callback = callback::parse(br#"{"EventType":"FileDeleted"}"#).unwrap();
        let envelope = envelope_for(None, callback, datetime!(2026-11-28 16:41:00 UTC));
        let timeout = Duration::from_secs(10);
        let (result, latency) = store_envelope(&sink, &envelope, timeout).await;
        let error = result.unwrap_err();
        assert_eq!(error.unavailable_kind(), Some(Unavailable::TimedOut));
        assert_eq!(
            error.to_string(),
            "event sink unavailable (timed out): no answer within 10000 ms"
        );
        assert_eq!(latency, timeout);
    }
}
