//! Several sinks at once: `EVENT_SINK=dynamodb:vod-events,webhook:https://app.example/hooks/vod`.
//!
//! An app often wants an event in more than one place: its own table for history and a push to
//! its backend, say. The contract stays the one of a single sink: an event is stored (and VOD
//! answered, or the pulled event confirmed) only when **every** sink has it. The sinks are
//! written concurrently, so the slowest, not the sum, bounds the wait. When one fails the event
//! comes back, and the sinks that had taken it take it again: the stores keyed by `id` ignore it
//! (a duplicate), a queue or a webhook gets it again under the same `id`, which consumers
//! deduplicate on anyway.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::future::join_all;

#[cfg(feature = "postgres")]
use super::PostgresSink;
#[cfg(feature = "sqlite")]
use super::SqliteSink;
use super::{
    DynamoDbSink, Record, SINK_VAR, Sink, SinkError, SinkSpec, SqsSink, Stored, WebhookSecrets,
    WebhookSink, webhook,
};
#[cfg(feature = "postgres")]
use crate::ingest::postgres::Postgres;
use crate::platform::config::{ConfigError, Env};
use crate::platform::keys::{Keys, SecretsManager, StartError};

/// `WEBHOOK_TIMEOUT_SECONDS`: how long a receiver has to answer (1–30, default 5).
const DEFAULT_WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);

/// What [`Sinks::store`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub stored: Stored,
    /// A sink took the compact marker instead of the envelope.
    pub truncated: bool,
}

/// The configured sinks (at least one), in `EVENT_SINK` order. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Sinks(Arc<[Sink]>);

impl Sinks {
    /// From `EVENT_SINK`, a comma-separated list of `sqs:<queue url>`, `dynamodb:<table name>`,
    /// `sqlite:<path>`, `webhook:<url>` and `postgres://…` (a comma inside a URL must be
    /// percent-encoded), with `EVENT_RETENTION_DAYS` (DynamoDB's TTL), `WEBHOOK_TIMEOUT_SECONDS`
    /// and, from the environment or the `VODGATE_SECRET_ARN` secret, `WEBHOOK_SECRET` for
    /// webhooks and `DATABASE_PASSWORD` for a PostgreSQL URL without a password.
    ///
    /// Builds AWS clients only for the AWS kinds, with [`crate::platform::aws::sdk_config`], and
    /// makes no network call to any sink, so a cold start stays fast and a sink's problems
    /// surface on the first store. A SQLite file is opened (and created) here, so a bad path
    /// fails start-up.
    pub async fn from_env(env: &Env) -> Result<Self, StartError> {
        let specs = SinkSpec::list_from_env(env)?;
        let webhook_timeout =
            env.seconds_in("WEBHOOK_TIMEOUT_SECONDS", DEFAULT_WEBHOOK_TIMEOUT, 1..=30)?;
        let secrets = if specs.iter().any(|s| matches!(s, SinkSpec::Webhook(_))) {
            let source = SecretsManager::from_env(env).await?;
            Some(Arc::new(
                Keys::load(env, source, WebhookSecrets::derive).await?,
            ))
        } else {
            None
        };
        let mut sinks = Vec::with_capacity(specs.len());
        for spec in specs {
            sinks.push(match spec {
                #[cfg(feature = "sqlite")]
                SinkSpec::Sqlite(path) => SqliteSink::open(std::path::Path::new(path))
                    .map(Sink::Sqlite)
                    .map_err(|e| {
                        ConfigError::invalid(SINK_VAR, format!("cannot open {path:?}: {e}"))
                    })?,
                #[cfg(not(feature = "sqlite"))]
                SinkSpec::Sqlite(_) => {
                    return Err(crate::ingest::not_built(SINK_VAR, "SQLite", "sqlite").into());
                }
                SinkSpec::Sqs(queue_url) => {
                    let sdk = crate::platform::aws::sdk_config().await;
                    Sink::Sqs(SqsSink::new(
                        aws_sdk_sqs::Client::new(&sdk),
                        queue_url.to_owned(),
                    ))
                }
                SinkSpec::DynamoDb {
                    table,
                    retention_days,
                } => {
                    let sdk = crate::platform::aws::sdk_config().await;
                    Sink::DynamoDb(DynamoDbSink::new(
                        aws_sdk_dynamodb::Client::new(&sdk),
                        table.to_owned(),
                        retention_days,
                    ))
                }
                #[cfg(feature = "postgres")]
                SinkSpec::Postgres(url) => Sink::Postgres(PostgresSink::new(
                    Postgres::from_env(env, SINK_VAR, url, true).await?,
                )),
                #[cfg(not(feature = "postgres"))]
                SinkSpec::Postgres(_) => {
                    return Err(crate::ingest::not_built(SINK_VAR, "PostgreSQL", "postgres").into());
                }
                SinkSpec::Webhook(url) => {
                    let secrets = secrets.clone().ok_or_else(|| {
                        ConfigError::missing(webhook::SECRET_VAR, "a webhook sink signs with it")
                    })?;
                    Sink::Webhook(WebhookSink::new(url, webhook_timeout, secrets).map_err(
                        |why| ConfigError::invalid(SINK_VAR, format!("a webhook URL {why}")),
                    )?)
                }
            });
        }
        Ok(Self(sinks.into()))
    }

    /// The sinks, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Sink> {
        self.0.iter()
    }

    /// The SQLite sink among them, if any (the dev tool reads events from it).
    #[cfg(feature = "sqlite")]
    pub fn sqlite(&self) -> Option<&SqliteSink> {
        self.0.iter().find_map(|sink| match sink {
            Sink::Sqlite(sink) => Some(sink),
            _ => None,
        })
    }

    /// Stores `record` in every sink at once. `Ok` only when every sink took it: `New` when any
    /// took it as new, `Duplicate` when all already had it. Otherwise the first failure that is
    /// worth a retry ([`SinkError::Unavailable`]), else the first one.
    ///
    /// A sink that cannot hold the envelope even compressed ([`SinkError::TooLarge`]) gets
    /// `marker()` instead, a compact envelope under the same id: an event refused for its size alone
    /// would otherwise come back from VOD for days. [`Written::truncated`] says it happened.
    pub async fn store(
        &self,
        record: Record<'_>,
        marker: &(dyn Fn() -> String + Sync),
    ) -> Result<Written, SinkError> {
        let truncated = AtomicBool::new(false);
        let results = if let [sink] = &self.0[..] {
            vec![store_one(sink, record, marker, &truncated).await]
        } else {
            join_all(
                self.0
                    .iter()
                    .map(|sink| store_one(sink, record.clone(), marker, &truncated)),
            )
            .await
        };
        let mut stored = Stored::Duplicate;
        let mut failure: Option<SinkError> = None;
        for result in results {
            match result {
                Ok(Stored::New) => stored = Stored::New,
                Ok(Stored::Duplicate) => {}
                Err(error) => {
                    let better = match &failure {
                        None => true,
                        Some(kept) => {
                            kept.unavailable_kind().is_none() && error.unavailable_kind().is_some()
                        }
                    };
                    if better {
                        failure = Some(error);
                    }
                }
            }
        }
        match failure {
            Some(error) => Err(error),
            None => Ok(Written {
                stored,
                truncated: truncated.into_inner(),
            }),
        }
    }

    /// The sinks in `EVENT_SINK` form, for logs; never a password or a URL's path or query.
    pub fn describe(&self) -> String {
        let described: Vec<String> = self.0.iter().map(Sink::describe).collect();
        described.join(",")
    }
}

/// Stores `record` in `sink`, or `marker` under its attributes when the envelope is too large
/// for it (noted in `truncated`).
async fn store_one(
    sink: &Sink,
    record: Record<'_>,
    marker: &(dyn Fn() -> String + Sync),
    truncated: &AtomicBool,
) -> Result<Stored, SinkError> {
    let template = record.without_envelope();
    match sink.store(record).await {
        Err(SinkError::TooLarge(_)) => {
            truncated.store(true, Ordering::Relaxed);
            sink.store(Record {
                envelope_json: marker(),
                ..template
            })
            .await
        }
        other => other,
    }
}

impl From<Sink> for Sinks {
    fn from(sink: Sink) -> Self {
        Self(Arc::new([sink]))
    }
}

#[cfg(feature = "sqlite")]
impl From<SqliteSink> for Sinks {
    fn from(sink: SqliteSink) -> Self {
        Sink::from(sink).into()
    }
}

impl FromIterator<Sink> for Sinks {
    fn from_iter<I: IntoIterator<Item = Sink>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_error(error: StartError) -> ConfigError {
        match error {
            StartError::Config(error) => error,
            other => panic!("not a configuration error: {other}"),
        }
    }

    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn a_sqlite_sink_is_created_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/events.sqlite");
        let env = Env::from_pairs([("EVENT_SINK", format!("sqlite:{}", path.display()))]);
        let sinks = Sinks::from_env(&env).await.unwrap();
        assert!(sinks.sqlite().is_some());
        assert_eq!(sinks.describe(), format!("sqlite:{}", path.display()));
        assert!(path.exists());
    }

    /// The Lambda build leaves SQLite and PostgreSQL out, and says so by name.
    #[cfg(not(all(feature = "sqlite", feature = "postgres")))]
    #[tokio::test]
    async fn sinks_left_out_of_this_build_are_refused_by_name() {
        for (entry, what) in crate::ingest::stores_left_out() {
            let env = Env::from_pairs([("EVENT_SINK", format!("dynamodb:vod-events,{entry}"))]);
            let err = config_error(Sinks::from_env(&env).await.unwrap_err());
            assert_eq!(err.var, "EVENT_SINK", "{err}");
            assert!(
                err.to_string().contains(&format!("no {what} support")),
                "{err}"
            );
            assert!(err.to_string().contains("--features"), "{err}");
        }
    }

    #[tokio::test]
    async fn from_env_builds_each_kind_without_network() {
        // Unroutable endpoints: building the clients must not touch them.
        let url = "http://192.0.2.1:9/000000000000/events";
        let env = Env::from_pairs([
            (
                "EVENT_SINK",
                format!("sqs:{url}, dynamodb:vod-events,webhook:https://192.0.2.1/hooks/s3cr3t"),
            ),
            (
                "WEBHOOK_SECRET",
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned(),
            ),
        ]);
        let sinks = Sinks::from_env(&env).await.unwrap();
        assert_eq!(
            sinks.describe(),
            format!("sqs:{url},dynamodb:vod-events,webhook:https://192.0.2.1/…")
        );
        #[cfg(feature = "sqlite")]
        assert!(sinks.sqlite().is_none());
    }

    #[tokio::test]
    async fn bad_lists_name_their_variable() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, "not a directory").unwrap();
        let unopenable = format!("sqlite:{}", file.join("events.sqlite").display());
        for (pairs, var) in [
            (vec![("EVENT_SINK", unopenable.as_str())], "EVENT_SINK"),
            (
                vec![("EVENT_SINK", "dynamodb:t-1,dynamodb:t-1")],
                "EVENT_SINK",
            ),
            (vec![("EVENT_SINK", ", ,")], "EVENT_SINK"),
            (
                vec![("EVENT_SINK", "webhook:http://app.example/h")],
                "WEBHOOK_SECRET",
            ),
            (
                vec![
                    ("EVENT_SINK", "webhook:http://app.example/h"),
                    ("WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
                ],
                "EVENT_SINK",
            ),
            (
                vec![
                    ("EVENT_SINK", "webhook:https://app.example/h"),
                    ("WEBHOOK_SECRET", "whsec_short"),
                ],
                "WEBHOOK_SECRET",
            ),
            (
                vec![
                    ("EVENT_SINK", "webhook:https://app.example/h"),
                    ("WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
                    ("WEBHOOK_TIMEOUT_SECONDS", "0"),
                ],
                "WEBHOOK_TIMEOUT_SECONDS",
            ),
        ] {
            let env = Env::from_pairs(pairs.clone());
            let err = config_error(Sinks::from_env(&env).await.unwrap_err());
            assert_eq!(err.var, var, "{pairs:?}: {err}");
            assert!(!err.to_string().contains("MfKQ9r8"), "{err}");
        }
    }
}
