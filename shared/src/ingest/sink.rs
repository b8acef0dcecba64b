//! Event sinks: where the `events` function writes each VOD callback before acknowledging it.
//!
//! VOD retries a callback until it gets a 200, so the function answers 200 only after
//! [`Sink::store`] returns `Ok`: once that happens the event is durable, and if anything fails
//! first ([`SinkError::Unavailable`], a crash, a timeout) VOD simply sends it again. Redelivery is
//! therefore normal, and each sink makes it harmless in its own way, keyed by the record's `id`
//! (deterministic per event, so a retry carries the same one):
//!
//! - **DynamoDB** and **SQLite** write conditionally (`attribute_not_exists(id)`, a unique
//!   column), so a redelivered event is a no-op reported as [`Stored::Duplicate`]: exactly once in
//!   effect.
//! - **SQS FIFO** uses `id` as the `MessageDeduplicationId`, so SQS drops a copy sent within its
//!   5-minute deduplication window; a retry after that window is delivered again.
//! - **SQS standard** cannot deduplicate at all: delivery is at least once, and every copy carries
//!   the same `id` so consumers dedupe by it.
//! - **Webhook** (`webhook:<url>`, [`WebhookSink`]) delivers at least once too, under the same
//!   `webhook-id` every time; the receiver's 2xx is the acknowledgement.
//!
//! `EVENT_SINK` may name several sinks ([`Sinks`]): an event is stored when every one has it.
//!
//! Every sink but SQLite has a size limit (SQS: the queue's `MaximumMessageSize`, 256 KiB to
//! 1 MiB; DynamoDB: 400 KB per item). An envelope over it is stored gzip-compressed, never dropped
//! and never refused: dropping loses the event silently, and a refusal (an error) would make VOD
//! retry the same oversize event forever. Only an event that does not fit even compressed is
//! [`SinkError::TooLarge`]; retrying cannot help it, so the caller must not answer in a way that
//! makes VOD retry.
//!
//! What a record holds (the envelope JSON and the attributes sinks index by) is decided by the
//! caller; the envelope contract lives in `crate::ingest::envelope`, and nothing here depends on it.

mod dynamodb;
#[cfg(feature = "postgres")]
mod postgres;
mod set;
#[cfg(feature = "sqlite")]
mod sqlite;
mod sqs;
mod webhook;

use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::platform::config::{ConfigError, Env};

pub use dynamodb::DynamoDbSink;
#[cfg(feature = "postgres")]
pub use postgres::PostgresSink;
pub use set::{Sinks, Written};
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteSink, StoredEvent};
pub use sqs::SqsSink;
pub use webhook::{WebhookSecrets, WebhookSink};

/// The variable naming the sinks.
const SINK_VAR: &str = "EVENT_SINK";
/// The variable setting how long DynamoDB keeps an event.
const RETENTION_VAR: &str = "EVENT_RETENTION_DAYS";
const DEFAULT_RETENTION_DAYS: u32 = 30;
const MAX_RETENTION_DAYS: u32 = 3650;
const SINK_FORMS: &str = "a comma-separated list of sqs:<queue url>, dynamodb:<table name>, \
     sqlite:<path>, webhook:<url> or postgres://<user>@<host>/<database>";

/// What a sink stores: the envelope JSON plus the attributes sinks index by. Built by the caller.
#[derive(Clone)]
pub struct Record<'a> {
    /// `"vod_"` + 32 hex digits; deterministic per event, so a redelivery has the same id.
    pub id: &'a str,
    /// The envelope's `type`, e.g. `upload.completed`.
    pub kind: &'a str,
    /// The VOD event type, e.g. `NewFileUpload`.
    pub event_type: &'a str,
    /// The VOD file id, when the event is about a file.
    pub file_id: Option<&'a str>,
    /// The uploader's `sub`, when the event could be attributed.
    pub uploader_sub: Option<&'a str>,
    /// When the event was received, RFC 3339 UTC (`2026-11-28T16:41:00Z`).
    pub received_at: &'a str,
    /// The same instant in seconds since the Unix epoch.
    pub received_at_unix: i64,
    /// The whole envelope, already serialised (may be up to ~1.1 MiB). Owned, so that a sink
    /// hands it on (to its writer thread, or into the SDK's request) without copying it.
    pub envelope_json: String,
}

impl<'a> Record<'a> {
    /// This record's attributes with an empty envelope, to send another envelope under them.
    fn without_envelope(&self) -> Self {
        Self {
            envelope_json: String::new(),
            ..*self
        }
    }
}

/// What a successful [`Sink::store`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// The event was written (or, for SQS, sent).
    New,
    /// The event was already stored: a redelivery, and a no-op.
    Duplicate,
}

/// Why an event was not stored.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The sink did not take the event this time: VOD should retry (503). `detail` explains the
    /// cause for the logs and never contains the event.
    #[error("event sink unavailable ({kind}): {detail}")]
    Unavailable {
        /// What kind of failure, for a caller that reacts differently (or counts them apart).
        kind: Unavailable,
        /// The cause, for people.
        detail: String,
    },
    /// The event does not fit the sink even compressed (the size it would take, in bytes).
    /// Retrying cannot help, so the caller must not ask VOD to.
    #[error("event too large for the sink even compressed: {0} bytes")]
    TooLarge(usize),
}

impl SinkError {
    pub(crate) fn unavailable(kind: Unavailable, detail: impl Into<String>) -> Self {
        Self::Unavailable {
            kind,
            detail: detail.into(),
        }
    }

    /// The kind of an [`SinkError::Unavailable`]; `None` for [`SinkError::TooLarge`].
    pub fn unavailable_kind(&self) -> Option<Unavailable> {
        match self {
            Self::Unavailable { kind, .. } => Some(*kind),
            Self::TooLarge(_) => None,
        }
    }
}

/// Why a sink did not take an event. Every kind is worth a retry by VOD; they differ in who can
/// make the retry succeed: time ([`Unavailable::Busy`], [`Unavailable::TimedOut`]), the network
/// or the sink's operator ([`Unavailable::Unreachable`], [`Unavailable::Failed`]), or ours
/// ([`Unavailable::Refused`]: credentials, permissions, a missing table or queue).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// Throttled, or overloaded: a rate limit, a full write queue, a lock held elsewhere.
    Busy,
    /// No answer in time.
    TimedOut,
    /// Not reachable: connection refused or reset, DNS, TLS.
    Unreachable,
    /// Refused as configured: credentials, permissions, a table or queue that does not exist.
    Refused,
    /// Anything else: a server error, a local I/O error.
    Failed,
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Busy => "busy",
            Self::TimedOut => "timed out",
            Self::Unreachable => "unreachable",
            Self::Refused => "refused",
            Self::Failed => "failed",
        })
    }
}

/// The kind of an AWS SDK failure: where it failed (no answer, no connection) and, for an answer,
/// its error code. SQS and DynamoDB share these smithy types, so one function serves both.
fn aws_unavailable<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> Unavailable {
    match error {
        SdkError::TimeoutError(_) => Unavailable::TimedOut,
        SdkError::DispatchFailure(failure) if failure.is_timeout() => Unavailable::TimedOut,
        SdkError::DispatchFailure(_) => Unavailable::Unreachable,
        _ => match error.code() {
            Some(code) if is_throttling(code) => Unavailable::Busy,
            Some(code) if is_refusal(code) => Unavailable::Refused,
            _ => Unavailable::Failed,
        },
    }
}

/// Throttling codes of SQS and DynamoDB (`ThrottlingException`, `RequestThrottled`,
/// `ProvisionedThroughputExceededException`, `RequestLimitExceeded`).
fn is_throttling(code: &str) -> bool {
    ["Throttl", "ThroughputExceeded", "RequestLimitExceeded"]
        .iter()
        .any(|part| code.contains(part))
}

/// Codes that only an operator can fix: credentials, permissions, a missing table or queue.
fn is_refusal(code: &str) -> bool {
    [
        "AccessDenied",
        "UnrecognizedClient",
        "InvalidClientTokenId",
        "ExpiredToken",
        "InvalidSignature",
        "SignatureDoesNotMatch",
        "ResourceNotFound",
        "NonExistentQueue",
        "QueueDoesNotExist",
    ]
    .iter()
    .any(|part| code.contains(part))
}

/// An AWS SDK failure as a [`SinkError`]: its kind, and the SDK's description (which names the
/// service, the code and the cause, never the request body).
fn aws_error<E, R>(service: &str, error: SdkError<E, R>) -> SinkError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let (kind, detail) = aws_error_parts(service, error);
    SinkError::unavailable(kind, detail)
}

/// An AWS SDK failure's kind and description, for any store of the ingest layer (the uploads
/// store classifies its DynamoDB failures the same way).
pub(crate) fn aws_error_parts<E, R>(service: &str, error: SdkError<E, R>) -> (Unavailable, String)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let kind = aws_unavailable(&error);
    (kind, format!("{service}: {}", DisplayErrorContext(error)))
}

/// A configured event sink.
#[derive(Debug, Clone)]
pub enum Sink {
    /// A local SQLite file: the embedded default.
    #[cfg(feature = "sqlite")]
    Sqlite(SqliteSink),
    /// An SQS queue, standard or FIFO.
    Sqs(SqsSink),
    /// A DynamoDB table keyed by `id`.
    DynamoDb(DynamoDbSink),
    /// An HTTPS endpoint of the app's, Standard Webhooks signed.
    Webhook(WebhookSink),
    /// The `vodgate_events` table of a PostgreSQL database, keyed by `id`.
    #[cfg(feature = "postgres")]
    Postgres(PostgresSink),
}

impl Sink {
    /// Stores `record` durably. `Ok` means the event survives a crash of this process, so VOD may
    /// be acknowledged; `Stored::Duplicate` means it already had been. The caller bounds the
    /// wait (the events function's `EVENT_STORE_TIMEOUT_SECONDS`); a write that completes after
    /// the caller gave up is harmless, because the retry finds it (a duplicate, or a
    /// deduplicated message).
    pub async fn store(&self, record: Record<'_>) -> Result<Stored, SinkError> {
        match self {
            #[cfg(feature = "sqlite")]
            Self::Sqlite(sink) => sink.store(record).await,
            Self::Sqs(sink) => sink.store(record).await,
            Self::DynamoDb(sink) => sink.store(record).await,
            Self::Webhook(sink) => sink.store(record).await,
            // Boxed: the driver's futures are deep enough to overflow the layout of the binaries'
            // main futures.
            #[cfg(feature = "postgres")]
            Self::Postgres(sink) => Box::pin(sink.store(record)).await,
        }
    }

    /// The sink in `EVENT_SINK` form, for logs: `sqlite:/path`, `sqs:<url>`, `dynamodb:<table>`,
    /// `webhook:<origin>/…`. Holds no secrets.
    pub fn describe(&self) -> String {
        match self {
            #[cfg(feature = "sqlite")]
            Self::Sqlite(sink) => format!("sqlite:{}", sink.path().display()),
            Self::Sqs(sink) => format!("sqs:{}", sink.queue_url()),
            Self::DynamoDb(sink) => format!("dynamodb:{}", sink.table()),
            Self::Webhook(sink) => format!("webhook:{}", sink.describe_url()),
            #[cfg(feature = "postgres")]
            Self::Postgres(sink) => sink.describe().to_owned(),
        }
    }
}

#[cfg(feature = "sqlite")]
impl From<SqliteSink> for Sink {
    fn from(sink: SqliteSink) -> Self {
        Self::Sqlite(sink)
    }
}

impl From<SqsSink> for Sink {
    fn from(sink: SqsSink) -> Self {
        Self::Sqs(sink)
    }
}

impl From<DynamoDbSink> for Sink {
    fn from(sink: DynamoDbSink) -> Self {
        Self::DynamoDb(sink)
    }
}

/// One parsed entry of `EVENT_SINK`, before any file is opened or client built.
#[derive(Debug, PartialEq, Eq)]
enum SinkSpec<'a> {
    Sqlite(&'a str),
    Sqs(&'a str),
    DynamoDb { table: &'a str, retention_days: u32 },
    Webhook(&'a str),
    Postgres(&'a str),
}

impl<'a> SinkSpec<'a> {
    /// Every entry of `EVENT_SINK`, in order; the same entry twice is refused.
    fn list_from_env(env: &'a Env) -> Result<Vec<Self>, ConfigError> {
        let raw = env
            .non_empty(SINK_VAR)
            .ok_or_else(|| ConfigError::missing(SINK_VAR, SINK_FORMS))?;
        // Checked whatever the kind, so a typo never waits for a switch to DynamoDB to show.
        let retention_days = env.parse_in(
            RETENTION_VAR,
            DEFAULT_RETENTION_DAYS,
            1..=MAX_RETENTION_DAYS,
            "a whole number of days",
        )?;
        let mut specs: Vec<Self> = Vec::new();
        for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let spec = Self::parse(entry, retention_days)?;
            if specs.contains(&spec) {
                return Err(ConfigError::invalid(
                    SINK_VAR,
                    "names the same sink twice".to_owned(),
                ));
            }
            specs.push(spec);
        }
        if specs.is_empty() {
            return Err(ConfigError::missing(SINK_VAR, SINK_FORMS));
        }
        Ok(specs)
    }

    /// One entry. The message quotes the entry only for kinds whose target holds no secret.
    fn parse(raw: &'a str, retention_days: u32) -> Result<Self, ConfigError> {
        if crate::ingest::is_postgres_url(raw) {
            return Ok(Self::Postgres(raw));
        }
        let invalid = |why: &str| ConfigError::invalid(SINK_VAR, format!("{why}, got {raw:?}"));
        let (kind, target) = raw
            .split_once(':')
            .ok_or_else(|| invalid(&format!("expected {SINK_FORMS}")))?;
        let target = target.trim();
        match kind.trim() {
            "webhook" => Ok(Self::Webhook(target)),
            "sqlite" if !target.is_empty() => Ok(Self::Sqlite(target)),
            "sqlite" => Err(invalid("expected sqlite:<path>")),
            "sqs" if is_queue_url(target) => Ok(Self::Sqs(target)),
            "sqs" => Err(invalid(
                "expected sqs:<queue url> (https://sqs.<region>.amazonaws.com/<account>/<queue>)",
            )),
            "dynamodb" if is_table_name(target) => Ok(Self::DynamoDb {
                table: target,
                retention_days,
            }),
            "dynamodb" => Err(invalid(TABLE_FORM)),
            _ => Err(invalid(&format!("expected {SINK_FORMS}"))),
        }
    }
}

/// An absolute http(s) URL with a host and a path (the queue).
fn is_queue_url(target: &str) -> bool {
    target.parse::<http::Uri>().is_ok_and(|uri| {
        matches!(uri.scheme_str(), Some("https" | "http"))
            && uri.host().is_some_and(|h| !h.is_empty())
            && uri.path().len() > 1
    })
}

/// What a DynamoDB table target must look like, for messages.
pub(crate) const TABLE_FORM: &str =
    "expected dynamodb:<table name> (3-255 of A-Z a-z 0-9 _ . -, or a table ARN)";

/// A DynamoDB table name, or a table ARN (which the data plane also accepts): for the events
/// table and the uploads table alike.
pub(crate) fn is_table_name(target: &str) -> bool {
    if target.starts_with("arn:") {
        return target.len() <= 1024 && target.contains(":table/");
    }
    (3..=255).contains(&target.len())
        && target
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Gzip-compresses `data`: the encoding sinks use for envelopes over their size limit.
pub(crate) fn gzip(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(data.len() / 4), Compression::default());
    encoder.write_all(data)?;
    encoder.finish()
}

/// Reverses [`gzip`], for consumers reading a compressed envelope (`envelopeGz` in DynamoDB, or
/// an SQS body with `contentEncoding=gzip` once base64-decoded).
pub fn gunzip(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len().saturating_mul(4));
    GzDecoder::new(data).read_to_end(&mut out)?;
    Ok(out)
}

/// [`gzip`] for a sink, whose only failure is [`SinkError`].
fn compress(envelope: &str) -> Result<Vec<u8>, SinkError> {
    gzip(envelope.as_bytes()).map_err(|e| {
        SinkError::unavailable(
            Unavailable::Failed,
            format!("cannot compress the envelope: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_err(pairs: &[(&str, &str)]) -> ConfigError {
        let env = Env::from_pairs(pairs.iter().copied());
        SinkSpec::list_from_env(&env).unwrap_err()
    }

    fn one(env: &Env) -> Result<SinkSpec<'_>, ConfigError> {
        SinkSpec::list_from_env(env).map(|mut specs| specs.remove(0))
    }

    #[test]
    fn parses_each_kind() {
        let env = Env::from_pairs([("EVENT_SINK", "sqlite:/var/lib/vodgate/events.sqlite")]);
        assert_eq!(
            one(&env),
            Ok(SinkSpec::Sqlite("/var/lib/vodgate/events.sqlite"))
        );
        let url = "https://sqs.us-east-1.amazonaws.com/123456789012/vod-events.fifo";
        let env = Env::from_pairs([("EVENT_SINK", format!("sqs:{url}"))]);
        assert_eq!(one(&env), Ok(SinkSpec::Sqs(url)));
        let env = Env::from_pairs([("EVENT_SINK", "dynamodb:vod-events")]);
        assert_eq!(
            one(&env),
            Ok(SinkSpec::DynamoDb {
                table: "vod-events",
                retention_days: 30
            })
        );
        let env = Env::from_pairs([
            ("EVENT_SINK", "dynamodb:vod-events"),
            ("EVENT_RETENTION_DAYS", "3650"),
        ]);
        assert!(matches!(
            one(&env),
            Ok(SinkSpec::DynamoDb {
                retention_days: 3650,
                ..
            })
        ));
    }

    #[test]
    fn bad_sink_values_name_event_sink() {
        for value in [
            "",
            "   ",
            "events.sqlite",
            "kafka:topic",
            "sqlite:",
            "sqs:",
            "sqs:not a url",
            "sqs:ftp://example.com/q",
            "sqs:https://sqs.us-east-1.amazonaws.com",
            "dynamodb:",
            "dynamodb:ab",
            "dynamodb:bad name",
        ] {
            let err = spec_err(&[("EVENT_SINK", value)]);
            assert_eq!(err.var, "EVENT_SINK", "{value:?}: {err}");
        }
        let err = spec_err(&[]);
        assert_eq!(
            err.to_string(),
            "invalid configuration: EVENT_SINK: is required (a comma-separated list of \
             sqs:<queue url>, dynamodb:<table name>, sqlite:<path>, webhook:<url> or \
             postgres://<user>@<host>/<database>)"
        );
        let err = spec_err(&[("EVENT_SINK", "kafka:topic")]);
        assert!(err.message.contains("kafka:topic"), "{err}");
    }

    #[test]
    fn bad_retention_names_event_retention_days() {
        for value in ["0", "3651", "-1", "thirty", "1.5"] {
            let err = spec_err(&[
                ("EVENT_SINK", "dynamodb:t-1"),
                ("EVENT_RETENTION_DAYS", value),
            ]);
            assert_eq!(err.var, "EVENT_RETENTION_DAYS", "{value:?}: {err}");
        }
    }

    #[test]
    fn gzip_round_trip() {
        let envelope = r#"{"id":"vod_0123","event":{"EventType":"NewFileUpload"}}"#.repeat(1000);
        let packed = gzip(envelope.as_bytes()).unwrap();
        assert!(packed.len() < envelope.len() / 10);
        assert_eq!(gunzip(&packed).unwrap(), envelope.as_bytes());
        assert_eq!(gunzip(&gzip(b"").unwrap()).unwrap(), b"");
        assert!(gunzip(b"not gzip").is_err());
    }
}
