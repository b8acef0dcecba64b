//! Uploads in a local SQLite file (the dev tool's, next to its events).
//!
//! Two tables: `uploads` (one row per upload: the record as JSON, its owner and list key, indexed
//! for listing) and `upload_files` (`FileId → upload`). An update is one `BEGIN IMMEDIATE`
//! transaction (read the record, join, write), so it holds SQLite's write lock from its read to
//! its commit: another connection, in this process or another, waits for it
//! ([`BUSY_TIMEOUT`]) and then reads what it wrote. A transaction that still finds the database
//! busy is tried again, up to [`super::MAX_ATTEMPTS`] times. WAL and `synchronous=FULL`, as for
//! the events: committed means on disk.
//!
//! Calls block, so they run on tokio's blocking pool, one at a time per store (one connection).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};

use super::{
    MAX_ATTEMPTS, Unavailable, Update, UploadRecord, UploadRef, UploadsError, backoff, decode,
};

/// How long a transaction waits for another connection's lock before trying again.
const BUSY_TIMEOUT: Duration = Duration::from_secs(2);

const SCHEMA: &str = "
    PRAGMA synchronous = FULL;
    CREATE TABLE IF NOT EXISTS uploads (
        upload_id TEXT PRIMARY KEY,
        owner_sub TEXT NOT NULL,
        list_key  TEXT NOT NULL,
        record    TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS uploads_by_owner ON uploads (owner_sub, list_key);
    CREATE TABLE IF NOT EXISTS upload_files (
        file_id   TEXT PRIMARY KEY,
        upload_id TEXT NOT NULL,
        owner_sub TEXT NOT NULL,
        meta      TEXT
    );
";

/// Uploads in a SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteUploads {
    connection: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl SqliteUploads {
    /// Opens (creating if missing, with its parent directory) the database at `path` and its
    /// uploads tables. Blocks on file I/O.
    pub fn open(path: &Path) -> Result<Self, UploadsError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                UploadsError::unavailable(
                    Unavailable::Failed,
                    format!("cannot create {}: {e}", parent.display()),
                )
            })?;
        }
        let connection = Connection::open(path).map_err(unavailable)?;
        connection.busy_timeout(BUSY_TIMEOUT).map_err(unavailable)?;
        let mode: String = connection
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(unavailable)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(UploadsError::unavailable(
                Unavailable::Failed,
                format!("{} cannot use write-ahead logging", path.display()),
            ));
        }
        connection.execute_batch(SCHEMA).map_err(unavailable)?;
        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
            path: path.to_owned(),
        })
    }

    /// The database file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `work` on the connection on the blocking pool.
    async fn with<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, UploadsError> + Send + 'static,
    ) -> Result<T, UploadsError> {
        let connection = self.connection.clone();
        tokio::task::spawn_blocking(move || work(&mut lock(&connection)))
            .await
            .map_err(|e| {
                UploadsError::unavailable(Unavailable::Failed, format!("SQLite task: {e}"))
            })?
    }

    pub(super) async fn find_files(
        &self,
        file_ids: &[String],
    ) -> Result<Vec<(String, UploadRef)>, UploadsError> {
        let file_ids = file_ids.to_vec();
        self.with(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT upload_id, owner_sub, meta FROM upload_files WHERE file_id = ?1",
                )
                .map_err(unavailable)?;
            let mut found = Vec::new();
            for file_id in file_ids {
                let upload = statement
                    .query_row(params![file_id], |row| {
                        Ok(UploadRef {
                            upload_id: row.get(0)?,
                            sub: row.get(1)?,
                            meta: row.get(2)?,
                        })
                    })
                    .optional()
                    .map_err(unavailable)?;
                if let Some(upload) = upload {
                    found.push((file_id, upload));
                }
            }
            Ok(found)
        })
        .await
    }

    pub(super) async fn apply(&self, update: &Update, at: i64) -> Result<(), UploadsError> {
        let mut attempt = 1;
        loop {
            let update = update.clone();
            match self.with(move |c| apply_once(c, &update, at)).await {
                Err(UploadsError::Unavailable {
                    kind: Unavailable::Busy,
                    ..
                }) if attempt < MAX_ATTEMPTS => {
                    backoff(attempt).await;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    pub(super) async fn get(&self, upload_id: &str) -> Result<Option<UploadRecord>, UploadsError> {
        let upload_id = upload_id.to_owned();
        self.with(move |connection| read(connection, &upload_id))
            .await
    }

    /// Every owner's uploads, newest `updatedAt` first, at most `limit`: the dev tool's view of
    /// a local store (the API lists one owner's only, through [`super::UploadsStore::list`]).
    pub async fn recent(&self, limit: usize) -> Result<Vec<UploadRecord>, UploadsError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with(move |connection| {
            let mut statement = connection
                .prepare_cached("SELECT record FROM uploads ORDER BY list_key DESC LIMIT ?1")
                .map_err(unavailable)?;
            let rows = statement
                .query_map(params![limit], |row| row.get::<_, String>(0))
                .map_err(unavailable)?;
            rows.map(|row| decode(&row.map_err(unavailable)?)).collect()
        })
        .await
    }

    pub(super) async fn list(
        &self,
        owner_sub: &str,
        limit: usize,
        before: Option<String>,
    ) -> Result<Vec<UploadRecord>, UploadsError> {
        let owner_sub = owner_sub.to_owned();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT record FROM uploads WHERE owner_sub = ?1 AND list_key < ?2
                     ORDER BY list_key DESC LIMIT ?3",
                )
                .map_err(unavailable)?;
            // Every list key starts with a year: "\u{10FFFF}" sorts after all of them.
            let before = before.unwrap_or_else(|| "\u{10FFFF}".to_owned());
            let rows = statement
                .query_map(params![owner_sub, before, limit], |row| {
                    row.get::<_, String>(0)
                })
                .map_err(unavailable)?;
            rows.map(|row| decode(&row.map_err(unavailable)?)).collect()
        })
        .await
    }
}

/// One read-join-write under the write lock.
fn apply_once(connection: &mut Connection, update: &Update, at: i64) -> Result<(), UploadsError> {
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(unavailable)?;
    if let Some(file_id) = &update.link_file {
        transaction
            .prepare_cached(
                "INSERT INTO upload_files (file_id, upload_id, owner_sub, meta)
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (file_id) DO NOTHING",
            )
            .and_then(|mut insert| {
                insert.execute(params![
                    file_id,
                    update.upload.upload_id,
                    update.upload.sub,
                    update.upload.meta
                ])
            })
            .map_err(unavailable)?;
    }
    let old = read(&transaction, &update.upload.upload_id)?;
    if let Some(new) = UploadRecord::merge(old.as_ref(), &update.upload, update.facts.clone(), at) {
        let json = serde_json::to_string(&new).map_err(|e| {
            UploadsError::unavailable(Unavailable::Failed, format!("record JSON: {e}"))
        })?;
        transaction
            .prepare_cached(
                "INSERT INTO uploads (upload_id, owner_sub, list_key, record)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (upload_id) DO UPDATE SET list_key = ?3, record = ?4",
            )
            .and_then(|mut upsert| {
                upsert.execute(params![new.upload_id, new.owner, new.list_key(), json])
            })
            .map_err(unavailable)?;
    }
    transaction.commit().map_err(unavailable)
}

fn read(connection: &Connection, upload_id: &str) -> Result<Option<UploadRecord>, UploadsError> {
    let json: Option<String> = connection
        .prepare_cached("SELECT record FROM uploads WHERE upload_id = ?1")
        .and_then(|mut select| {
            select
                .query_row(params![upload_id], |row| row.get(0))
                .optional()
        })
        .map_err(unavailable)?;
    json.as_deref().map(decode).transpose()
}

/// The connection, even if a thread panicked while holding it: every change is a transaction,
/// rolled back when dropped.
fn lock(connection: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    connection.lock().unwrap_or_else(|p| p.into_inner())
}

fn unavailable(error: rusqlite::Error) -> UploadsError {
    let kind = match error.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Unavailable::Busy,
        Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied | ErrorCode::ReadOnly) => {
            Unavailable::Refused
        }
        _ => Unavailable::Failed,
    };
    UploadsError::unavailable(kind, format!("SQLite: {error}"))
}
