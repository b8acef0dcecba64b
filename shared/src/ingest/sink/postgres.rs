//! The PostgreSQL sink: one row per event in `vodgate_events`, keyed by `id`.
//!
//! `INSERT … ON CONFLICT (id) DO NOTHING` makes a redelivery a no-op ([`Stored::Duplicate`]:
//! exactly once in effect), like DynamoDB and SQLite. The envelope goes into a `jsonb` column, so
//! the app can query into it; the one JSON `jsonb` cannot hold (a string with `\u0000`, which VOD
//! could echo from a client's file name) is stored as text in `envelope_text` instead, since a
//! refusal would make VOD deliver the event again forever.

use tokio_postgres::error::SqlState;

use super::{Record, SinkError, Stored};
use crate::ingest::postgres::Postgres;

const INSERT_JSONB: &str = "INSERT INTO vodgate_events \
    (id, type, event_type, file_id, uploader_sub, received_at, envelope) \
    VALUES ($1, $2, $3, $4, $5, to_timestamp($6::bigint), CAST($7::text AS jsonb)) \
    ON CONFLICT (id) DO NOTHING";
const INSERT_TEXT: &str = "INSERT INTO vodgate_events \
    (id, type, event_type, file_id, uploader_sub, received_at, envelope_text) \
    VALUES ($1, $2, $3, $4, $5, to_timestamp($6::bigint), $7::text) \
    ON CONFLICT (id) DO NOTHING";

/// Events in the `vodgate_events` table of a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresSink {
    db: Postgres,
}

impl PostgresSink {
    /// A sink writing through `db` (which creates the tables on its first connection).
    pub fn new(db: Postgres) -> Self {
        Self { db }
    }

    /// The database, for logs (no password).
    pub fn describe(&self) -> &str {
        self.db.describe()
    }

    /// Inserts the event unless its `id` is there already.
    pub async fn store(&self, record: Record<'_>) -> Result<Stored, SinkError> {
        let unavailable = |(kind, detail)| SinkError::unavailable(kind, detail);
        let session = self.db.session().await.map_err(unavailable)?;
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 7] = [
            &record.id,
            &record.kind,
            &record.event_type,
            &record.file_id,
            &record.uploader_sub,
            &record.received_at_unix,
            &record.envelope_json,
        ];
        let inserted = match session.client().execute(INSERT_JSONB, &params).await {
            Err(error) if error.code() == Some(&SqlState::UNTRANSLATABLE_CHARACTER) => {
                tracing::warn!(
                    id = record.id,
                    "the envelope holds \\u0000, which jsonb cannot: stored as text"
                );
                session.client().execute(INSERT_TEXT, &params).await
            }
            other => other,
        };
        match inserted {
            Ok(0) => Ok(Stored::Duplicate),
            Ok(_) => Ok(Stored::New),
            Err(error) => Err(unavailable(session.fail(&error))),
        }
    }
}
