//! The uploads store: one record per upload, kept by the events side, read by `sign`.
//!
//! Apps ask one question after an upload: *is it ready, and which of my posts is it?* VOD
//! answers it across several events that carry the uploader in different ways (only
//! `NewFileUpload` reliably echoes the signature's `sourceContext`; `FileDeleted` and many others
//! carry nothing) and arrive in any order. So the events side keeps, per upload:
//!
//! * a record of [`Facts`] joined by a semilattice ([`facts`]), whose status is derived, so every
//!   order of the same events, with any redeliveries, ends in the same record (times aside);
//! * the mapping `FileId → upload`, learned from an attributed `NewFileUpload`, so that an event
//!   without a valid context token but naming a known file is attributed too
//!   (`attributedBy: "fileId"` in its envelope). An event naming only a file the store does not
//!   know yet (say a `FileDeleted` that overtook its `NewFileUpload`) is stored unattributed and
//!   changes no upload: there is nobody to give it to.
//!
//! Writes are read-modify-write of one record, retried on conflict: a conditional put on a
//! version number in DynamoDB, an immediate transaction in SQLite. Two instances applying
//! `PROCESSING` and `FINISH` at once therefore lose neither, and because the join is idempotent, a
//! redelivered event (VOD's retry after a 503) changes nothing and writes nothing.
//!
//! `UPLOADS_STORE` is `dynamodb:<table>`, `sqlite:<path>` or a `postgres://` URL; without it
//! events are stored as before and no upload is kept. Reads for the `sign` side:
//! [`UploadsStore::get`] and [`UploadsStore::list`] (newest `updatedAt` first, with an opaque
//! cursor).

mod dynamodb;
pub mod facts;
pub mod limits;
#[cfg(feature = "postgres")]
mod postgres;
mod record;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::sink::{TABLE_FORM, Unavailable, is_table_name};
#[cfg(feature = "postgres")]
use crate::ingest::postgres::Postgres;
use crate::platform::config::{ConfigError, Env};
use crate::platform::keys::StartError;

pub use dynamodb::DynamoDbUploads;
pub use facts::{EventKind, Facts, Rejection, Status, UploadError};
#[cfg(feature = "postgres")]
pub use postgres::PostgresUploads;
pub use record::{Upload, UploadRecord, UploadRef};
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteUploads;

/// The variable naming the store.
const STORE_VAR: &str = "UPLOADS_STORE";
const STORE_FORMS: &str =
    "dynamodb:<table name>, sqlite:<path> or postgres://<user>@<host>/<database>";
/// How many times a write that lost a race is tried again.
const MAX_ATTEMPTS: u32 = 12;
/// The most file ids of one event looked up (`FileDeleted` names one per `DeleteMedia`).
pub(crate) const MAX_FILES_PER_EVENT: usize = 100;
/// The longest page a listing returns.
pub const MAX_PAGE: usize = 100;

/// Why the uploads store did not answer.
#[derive(Debug, thiserror::Error)]
pub enum UploadsError {
    /// The store did not take or give the data this time: worth a retry (503 for a callback, no
    /// confirm for a pulled event). `detail` is for the logs and never holds an event.
    #[error("uploads store unavailable ({kind}): {detail}")]
    Unavailable {
        /// What kind of failure.
        kind: Unavailable,
        /// The cause, for people.
        detail: String,
    },
    /// A listing cursor this store did not issue.
    #[error("the cursor is not one a listing returned")]
    BadCursor,
}

impl UploadsError {
    pub(crate) fn unavailable(kind: Unavailable, detail: impl Into<String>) -> Self {
        Self::Unavailable {
            kind,
            detail: detail.into(),
        }
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// Newest `updatedAt` first.
    pub uploads: Vec<Upload>,
    /// Pass it back for the next page; `None` on the last.
    pub next_cursor: Option<String>,
}

/// One upload's change: the facts an event states for it, and the file it learns (the
/// `FileId` of an attributed `NewFileUpload`).
#[derive(Debug, Clone)]
pub struct Update {
    pub upload: UploadRef,
    pub facts: Facts,
    pub link_file: Option<String>,
}

/// A configured uploads store.
#[derive(Debug, Clone)]
pub enum UploadsStore {
    /// A local SQLite file (the dev tool's, shared with its events).
    #[cfg(feature = "sqlite")]
    Sqlite(SqliteUploads),
    /// A DynamoDB table (the layout is in [`DynamoDbUploads`]).
    DynamoDb(DynamoDbUploads),
    /// The `vodgate_uploads` table of a PostgreSQL database (`PostgresUploads`).
    #[cfg(feature = "postgres")]
    Postgres(PostgresUploads),
}

/// What a function does with the uploads store: the events function writes it (and, in
/// PostgreSQL, creates its tables), `sign` only reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    ReadWrite,
    ReadOnly,
}

/// PostgreSQL calls are boxed: the driver's futures are deep enough to overflow the type-layout
/// depth of the binaries' main futures.
impl UploadsStore {
    /// From `UPLOADS_STORE`; `None` when it is unset. Opens (creating) a SQLite file, so a bad
    /// path fails start-up; builds the DynamoDB client, or parses the PostgreSQL URL (its
    /// password may come as `DATABASE_PASSWORD`), without a network call.
    #[cfg_attr(
        not(feature = "postgres"),
        expect(
            unused_variables,
            reason = "`access` only decides whether PostgreSQL creates its tables"
        )
    )]
    pub async fn from_env(env: &Env, access: Access) -> Result<Option<Self>, StartError> {
        let Some(raw) = env.non_empty(STORE_VAR) else {
            return Ok(None);
        };
        if crate::ingest::is_postgres_url(raw) {
            #[cfg(feature = "postgres")]
            {
                let db =
                    Postgres::from_env(env, STORE_VAR, raw, access == Access::ReadWrite).await?;
                return Ok(Some(Self::Postgres(PostgresUploads::new(db))));
            }
            #[cfg(not(feature = "postgres"))]
            return Err(crate::ingest::not_built(STORE_VAR, "PostgreSQL", "postgres").into());
        }
        let invalid = |why: &str| ConfigError::invalid(STORE_VAR, format!("{why}, got {raw:?}"));
        let (kind, target) = raw
            .split_once(':')
            .ok_or_else(|| invalid(&format!("expected {STORE_FORMS}")))?;
        let target = target.trim();
        match kind.trim() {
            #[cfg(feature = "sqlite")]
            "sqlite" if !target.is_empty() => SqliteUploads::open(std::path::Path::new(target))
                .map(|store| Some(Self::Sqlite(store)))
                .map_err(|e| {
                    ConfigError::invalid(STORE_VAR, format!("cannot open {target:?}: {e}")).into()
                }),
            "dynamodb" if is_table_name(target) => {
                let sdk = crate::platform::aws::sdk_config().await;
                Ok(Some(Self::DynamoDb(DynamoDbUploads::new(
                    aws_sdk_dynamodb::Client::new(&sdk),
                    target.to_owned(),
                ))))
            }
            #[cfg(not(feature = "sqlite"))]
            "sqlite" if !target.is_empty() => {
                Err(crate::ingest::not_built(STORE_VAR, "SQLite", "sqlite").into())
            }
            "sqlite" => Err(invalid("expected sqlite:<path>").into()),
            "dynamodb" => Err(invalid(TABLE_FORM).into()),
            _ => Err(invalid(&format!("expected {STORE_FORMS}")).into()),
        }
    }

    /// The store in `UPLOADS_STORE` form, for logs.
    pub fn describe(&self) -> String {
        match self {
            #[cfg(feature = "sqlite")]
            Self::Sqlite(store) => format!("sqlite:{}", store.path().display()),
            Self::DynamoDb(store) => format!("dynamodb:{}", store.table()),
            #[cfg(feature = "postgres")]
            Self::Postgres(store) => store.describe().to_owned(),
        }
    }

    /// The uploads the files belong to, as `(file id, upload)` in the order of `file_ids`, for
    /// the files the store knows. Reads are strongly consistent: a `NewFileUpload` applied a
    /// moment ago is seen.
    pub async fn find_files(
        &self,
        file_ids: &[String],
    ) -> Result<Vec<(String, UploadRef)>, UploadsError> {
        let file_ids = &file_ids[..file_ids.len().min(MAX_FILES_PER_EVENT)];
        match self {
            #[cfg(feature = "sqlite")]
            Self::Sqlite(store) => store.find_files(file_ids).await,
            Self::DynamoDb(store) => store.find_files(file_ids).await,
            #[cfg(feature = "postgres")]
            Self::Postgres(store) => Box::pin(store.find_files(file_ids)).await,
        }
    }

    /// Joins `update` into its upload's record (received at `at`, Unix seconds) and records the
    /// file it links, retrying a write that lost a race. Idempotent.
    pub async fn apply(&self, update: &Update, at: i64) -> Result<(), UploadsError> {
        match self {
            #[cfg(feature = "sqlite")]
            Self::Sqlite(store) => store.apply(update, at).await,
            Self::DynamoDb(store) => store.apply(update, at).await,
            #[cfg(feature = "postgres")]
            Self::Postgres(store) => Box::pin(store.apply(update, at)).await,
        }
    }

    /// The record of `upload_id`, if any event was attributed to it.
    pub async fn get(&self, upload_id: &str) -> Result<Option<UploadRecord>, UploadsError> {
        match self {
            #[cfg(feature = "sqlite")]
            Self::Sqlite(store) => store.get(upload_id).await,
            Self::DynamoDb(store) => store.get(upload_id).await,
            #[cfg(feature = "postgres")]
            Self::Postgres(store) => Box::pin(store.get(upload_id)).await,
        }
    }

    /// `owner_sub`'s uploads, newest `updatedAt` first, at most `limit` (1..=[`MAX_PAGE`]) after
    /// `cursor` (a `next_cursor` of an earlier page). The cursor is opaque: base64url of the
    /// last upload's list key (`<updatedAt>#<uploadId>`).
    pub async fn list(
        &self,
        owner_sub: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page, UploadsError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let after = cursor.map(decode_cursor).transpose()?;
        let mut records = match self {
            #[cfg(feature = "sqlite")]
            Self::Sqlite(store) => store.list(owner_sub, limit + 1, after).await?,
            Self::DynamoDb(store) => store.list(owner_sub, limit + 1, after).await?,
            #[cfg(feature = "postgres")]
            Self::Postgres(store) => Box::pin(store.list(owner_sub, limit + 1, after)).await?,
        };
        let next_cursor = if records.len() > limit {
            records.truncate(limit);
            records.last().map(|r| encode_cursor(&r.list_key()))
        } else {
            None
        };
        Ok(Page {
            uploads: records.iter().map(UploadRecord::to_upload).collect(),
            next_cursor,
        })
    }
}

#[cfg(feature = "sqlite")]
impl From<SqliteUploads> for UploadsStore {
    fn from(store: SqliteUploads) -> Self {
        Self::Sqlite(store)
    }
}

impl From<DynamoDbUploads> for UploadsStore {
    fn from(store: DynamoDbUploads) -> Self {
        Self::DynamoDb(store)
    }
}

fn encode_cursor(list_key: &str) -> String {
    URL_SAFE_NO_PAD.encode(list_key)
}

/// The list key inside a cursor: `<RFC 3339>#<upload id>`.
fn decode_cursor(cursor: &str) -> Result<String, UploadsError> {
    let bytes = (cursor.len() <= 512)
        .then(|| URL_SAFE_NO_PAD.decode(cursor).ok())
        .flatten()
        .ok_or(UploadsError::BadCursor)?;
    let key = String::from_utf8(bytes).map_err(|_| UploadsError::BadCursor)?;
    match key.split_once('#') {
        Some((at, id)) if at.len() == 20 && at.ends_with('Z') && !id.is_empty() => Ok(key),
        _ => Err(UploadsError::BadCursor),
    }
}

/// A record (or file link) read back from a store's JSON text.
fn decode<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, UploadsError> {
    serde_json::from_str(json).map_err(|e| {
        UploadsError::unavailable(
            Unavailable::Failed,
            format!("unreadable upload record: {e}"),
        )
    })
}

/// The wait before attempt `attempt` (1-based) of a write that lost a race: a few milliseconds,
/// growing, with jitter so two racing writers do not collide again in step. On tokio's clock.
async fn backoff(attempt: u32) {
    let base = 5u64 << attempt.min(6);
    let jitter = rand::random::<u64>() % base;
    tokio::time::sleep(Duration::from_millis(base + jitter)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "postgres")]
    #[tokio::test]
    async fn a_postgres_url_is_parsed_without_connecting() {
        let env = Env::from_pairs([("UPLOADS_STORE", "postgres://app:pw@db.example/vod")]);
        let store = UploadsStore::from_env(&env, Access::ReadOnly)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(store.describe(), "postgres://app@db.example:5432/vod");
    }

    /// The Lambda build leaves SQLite and PostgreSQL out, and says so by name.
    #[cfg(not(all(feature = "sqlite", feature = "postgres")))]
    #[tokio::test]
    async fn stores_left_out_of_this_build_are_refused_by_name() {
        for (value, what) in crate::ingest::stores_left_out() {
            let env = Env::from_pairs([("UPLOADS_STORE", value)]);
            let err = match UploadsStore::from_env(&env, Access::ReadWrite).await {
                Err(StartError::Config(err)) => err,
                other => panic!("{value}: {other:?}"),
            };
            assert_eq!(err.var, "UPLOADS_STORE", "{err}");
            assert!(
                err.to_string().contains(&format!("no {what} support")),
                "{err}"
            );
        }
    }

    #[tokio::test]
    async fn bad_values_name_uploads_store() {
        for value in [
            "dynamo:t",
            "sqlite:",
            "dynamodb:",
            "dynamodb:a b",
            "table",
            "sqs:https://x/y",
            "postgres://h/db?sslmode=verify-full",
        ] {
            let env = Env::from_pairs([("UPLOADS_STORE", value)]);
            let err = match UploadsStore::from_env(&env, Access::ReadWrite).await {
                Err(StartError::Config(err)) => err,
                other => panic!("{value}: {other:?}"),
            };
            assert_eq!(err.var, "UPLOADS_STORE", "{value}: {err}");
        }
        assert!(
            UploadsStore::from_env(&Env::default(), Access::ReadWrite)
                .await
                .unwrap()
                .is_none()
        );
        let env = Env::from_pairs([("UPLOADS_STORE", "dynamodb:vodgate-uploads")]);
        let store = UploadsStore::from_env(&env, Access::ReadWrite)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(store.describe(), "dynamodb:vodgate-uploads");
    }

    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn a_sqlite_store_is_created_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/events.sqlite");
        let env = Env::from_pairs([("UPLOADS_STORE", format!("sqlite:{}", path.display()))]);
        let store = UploadsStore::from_env(&env, Access::ReadWrite)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(store.describe(), format!("sqlite:{}", path.display()));
    }

    #[test]
    fn cursors_round_trip_and_refuse_what_they_did_not_issue() {
        let key = "2026-11-28T16:41:00Z#3VyyNri9Z7UR88ByPfjFyg";
        assert_eq!(decode_cursor(&encode_cursor(key)).unwrap(), key);
        for bad in [
            "",
            "!!",
            &encode_cursor("no-hash"),
            &encode_cursor("2026#x"),
            &"A".repeat(600),
        ] {
            assert!(
                matches!(decode_cursor(bad), Err(UploadsError::BadCursor)),
                "{bad}"
            );
        }
    }
}
