//! The SQLite sink: one local file, the embedded default for running without AWS.
//!
//! Durability comes from the journal settings: WAL with `synchronous=FULL` syncs the log on every
//! commit, so an event is on disk once its single-statement transaction returns. The unique `id`
//! column makes a redelivery a no-op. A redelivery is first looked for with a read, because an
//! `INSERT` that ends up writing nothing still pays for a synced commit (as much as a fresh
//! event); a second writer racing us between the read and the insert is settled by
//! `ON CONFLICT(id) DO NOTHING`, then `changes() == 0`. Only a clash on `id` is ignored, so any
//! other constraint failure still surfaces as an error. `seq` gives readers (the `vodgate events`
//! CLI) a stable order and a cursor.
//!
//! SQLite calls block, so writes go to one writer thread that owns the write connection, over a
//! bounded queue ([`WRITE_QUEUE`]); readers (`vodgate events`, tests) use a second connection.
//! One writer, because SQLite has one write lock anyway: requests queue for it here instead of
//! each occupying a blocking thread (a burst of 256 callbacks used to mean 256 threads). Another
//! process holding the write lock makes the writer wait up to [`BUSY_TIMEOUT`], then the store is
//! reported unavailable so VOD retries; a full queue is reported unavailable at once. A write
//! whose caller has already given up (the events function answered 503 after
//! `EVENT_STORE_TIMEOUT_SECONDS`) is skipped when its turn comes: VOD delivers that event again
//! anyway, and under a long outside lock the abandoned writes would otherwise each wait out
//! their own busy timeout.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, params};

use super::{Record, SinkError, Stored, Unavailable};

/// How long a write waits for another connection's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(2);

/// Writes waiting for the writer thread beyond the one it is doing; more is a 503.
const WRITE_QUEUE: usize = 1024;

const SCHEMA: &str = "
    PRAGMA synchronous = FULL;
    CREATE TABLE IF NOT EXISTS events (
        seq          INTEGER PRIMARY KEY AUTOINCREMENT,
        id           TEXT NOT NULL UNIQUE,
        event_type   TEXT NOT NULL,
        file_id      TEXT,
        uploader_sub TEXT,
        received_at  TEXT NOT NULL,
        envelope     TEXT NOT NULL
    );
";

const EXISTS: &str = "SELECT 1 FROM events WHERE id = ?1";

const INSERT: &str = "
    INSERT INTO events (id, event_type, file_id, uploader_sub, received_at, envelope)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6)
    ON CONFLICT (id) DO NOTHING
";

/// An event as read back from the SQLite sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Insertion order: increasing, never reused, possibly with gaps (a duplicate may use one up);
    /// a cursor for [`SqliteSink::list`].
    pub seq: i64,
    /// The record's `id`.
    pub id: String,
    /// The VOD event type.
    pub event_type: String,
    /// The VOD file id, if the event had one.
    pub file_id: Option<String>,
    /// The uploader's `sub`, if known.
    pub uploader_sub: Option<String>,
    /// When the event was received (RFC 3339 UTC).
    pub received_at: String,
    /// The envelope JSON, as stored.
    pub envelope: String,
}

/// Events in a local SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteSink {
    writer: SyncSender<Write>,
    reader: Arc<Mutex<Connection>>,
    path: PathBuf,
}

/// One insert for the writer thread, and where its outcome goes.
#[derive(Debug)]
struct Write {
    row: Row,
    done: tokio::sync::oneshot::Sender<Result<usize, SinkError>>,
}

#[derive(Debug)]
struct Row {
    id: String,
    event_type: String,
    file_id: Option<String>,
    uploader_sub: Option<String>,
    received_at: String,
    envelope: String,
}

impl SqliteSink {
    /// Opens (creating if missing, with its parent directory) the database at `path`, and the
    /// `events` table in it, and starts the writer thread. Blocks on file I/O.
    pub fn open(path: &Path) -> Result<Self, SinkError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                SinkError::unavailable(
                    Unavailable::Failed,
                    format!("cannot create {}: {e}", parent.display()),
                )
            })?;
        }
        let writer = connect(path)?;
        // journal_mode answers with the mode now in force; anything but WAL is refused, since the
        // durability argument above depends on it.
        let mode: String = writer
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(unavailable)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(SinkError::unavailable(
                Unavailable::Failed,
                format!(
                    "{} cannot use write-ahead logging (journal_mode is {mode})",
                    path.display()
                ),
            ));
        }
        writer.execute_batch(SCHEMA).map_err(unavailable)?;
        let reader = connect(path)?;
        let (queue, writes) = std::sync::mpsc::sync_channel::<Write>(WRITE_QUEUE);
        std::thread::Builder::new()
            .name("sqlite-writer".to_owned())
            .spawn(move || {
                // Ends when the last sink clone is dropped.
                for write in writes {
                    if write.done.is_closed() {
                        continue;
                    }
                    let _ = write.done.send(insert(&writer, &write.row));
                }
            })
            .map_err(|e| {
                SinkError::unavailable(
                    Unavailable::Failed,
                    format!("cannot start the SQLite writer: {e}"),
                )
            })?;
        Ok(Self {
            writer: queue,
            reader: Arc::new(Mutex::new(reader)),
            path: path.to_owned(),
        })
    }

    /// The database file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Inserts `record` unless an event with its id is already stored.
    pub(super) async fn store(&self, record: Record<'_>) -> Result<Stored, SinkError> {
        let (done, outcome) = tokio::sync::oneshot::channel();
        let row = Row {
            id: record.id.to_owned(),
            event_type: record.event_type.to_owned(),
            file_id: record.file_id.map(str::to_owned),
            uploader_sub: record.uploader_sub.map(str::to_owned),
            received_at: record.received_at.to_owned(),
            envelope: record.envelope_json,
        };
        self.writer
            .try_send(Write { row, done })
            .map_err(|e| match e {
                TrySendError::Full(_) => SinkError::unavailable(
                    Unavailable::Busy,
                    format!("{WRITE_QUEUE} SQLite writes are already waiting"),
                ),
                TrySendError::Disconnected(_) => {
                    SinkError::unavailable(Unavailable::Failed, "the SQLite writer has stopped")
                }
            })?;
        let changed = outcome.await.map_err(|_| {
            SinkError::unavailable(
                Unavailable::Failed,
                "the SQLite writer stopped before the write",
            )
        })??;
        Ok(if changed == 0 {
            Stored::Duplicate
        } else {
            Stored::New
        })
    }

    /// Up to `limit` events with `seq > after_seq`, oldest first. Blocks on the database (call it
    /// from a CLI or `spawn_blocking`, not from an async handler).
    pub fn list(&self, after_seq: i64, limit: usize) -> Result<Vec<StoredEvent>, SinkError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let connection = lock(&self.reader);
        let mut statement = connection
            .prepare_cached(
                "SELECT seq, id, event_type, file_id, uploader_sub, received_at, envelope
                 FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )
            .map_err(unavailable)?;
        let rows = statement
            .query_map(params![after_seq, limit], |row| {
                Ok(StoredEvent {
                    seq: row.get(0)?,
                    id: row.get(1)?,
                    event_type: row.get(2)?,
                    file_id: row.get(3)?,
                    uploader_sub: row.get(4)?,
                    received_at: row.get(5)?,
                    envelope: row.get(6)?,
                })
            })
            .map_err(unavailable)?;
        rows.collect::<Result<_, _>>().map_err(unavailable)
    }

    /// How many events are stored. Blocks on the database.
    pub fn count(&self) -> Result<u64, SinkError> {
        let count: i64 = lock(&self.reader)
            .query_row("SELECT COUNT(*) FROM events", [], |row| row.get(0))
            .map_err(unavailable)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }
}

fn connect(path: &Path) -> Result<Connection, SinkError> {
    let connection = Connection::open(path).map_err(unavailable)?;
    connection.busy_timeout(BUSY_TIMEOUT).map_err(unavailable)?;
    Ok(connection)
}

/// The insert, after a read: a redelivery (an `id` already stored) is answered without a write.
fn insert(connection: &Connection, row: &Row) -> Result<usize, SinkError> {
    let mut exists = connection.prepare_cached(EXISTS).map_err(unavailable)?;
    if exists.exists(params![row.id]).map_err(unavailable)? {
        return Ok(0);
    }
    connection
        .prepare_cached(INSERT)
        .and_then(|mut insert| {
            insert.execute(params![
                row.id,
                row.event_type,
                row.file_id,
                row.uploader_sub,
                row.received_at,
                row.envelope
            ])
        })
        .map_err(unavailable)
}

/// The reading connection, even if a thread panicked while holding it: it only reads.
fn lock(connection: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    connection.lock().unwrap_or_else(|p| p.into_inner())
}

/// Busy, locked, I/O, full disk, corruption: all worth a retry from VOD's side, none a reason to
/// drop the event.
fn unavailable(error: rusqlite::Error) -> SinkError {
    let kind = match error.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Unavailable::Busy,
        Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied | ErrorCode::ReadOnly) => {
            Unavailable::Refused
        }
        _ => Unavailable::Failed,
    };
    SinkError::unavailable(kind, format!("SQLite: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record<'a>(id: &'a str, envelope: &'a str) -> Record<'a> {
        Record {
            id,
            event_type: "NewFileUpload",
            kind: "upload.completed",
            file_id: Some("5285890781763144364"),
            uploader_sub: None,
            received_at: "2026-11-28T16:41:00Z",
            received_at_unix: 1_795_884_060,
            envelope_json: envelope.to_owned(),
        }
    }

    #[tokio::test]
    async fn stores_once_and_lists_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let sink = SqliteSink::open(&dir.path().join("events.sqlite")).unwrap();
        let first = record("vod_00000000000000000000000000000001", r#"{"n":1}"#);
        assert_eq!(sink.store(first.clone()).await.unwrap(), Stored::New);
        assert_eq!(sink.store(first.clone()).await.unwrap(), Stored::Duplicate);
        let second = Record {
            file_id: None,
            uploader_sub: Some("user-7"),
            ..record("vod_00000000000000000000000000000002", r#"{"n":2}"#)
        };
        assert_eq!(sink.store(second.clone()).await.unwrap(), Stored::New);
        assert_eq!(sink.count().unwrap(), 2);

        let events = sink.list(0, 10).unwrap();
        assert_eq!(
            events[0],
            StoredEvent {
                seq: 1,
                id: first.id.to_owned(),
                event_type: "NewFileUpload".to_owned(),
                file_id: Some("5285890781763144364".to_owned()),
                uploader_sub: None,
                received_at: "2026-11-28T16:41:00Z".to_owned(),
                envelope: r#"{"n":1}"#.to_owned(),
            }
        );
        assert_eq!(events[1].id, second.id);
        assert_eq!(events[1].file_id, None);
        assert_eq!(events[1].uploader_sub.as_deref(), Some("user-7"));
        assert_eq!(events.len(), 2);
        assert!(events[1].seq > 1, "increasing, possibly with gaps");
        assert_eq!(sink.list(1, 10).unwrap(), &events[1..]);
        assert_eq!(sink.list(0, 1).unwrap(), &events[..1]);
        assert!(sink.list(events[1].seq, 10).unwrap().is_empty());
    }

    #[tokio::test]
    async fn survives_closing_and_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/events.sqlite");
        let event = record("vod_0123456789abcdef0123456789abcdef", r#"{"kept":true}"#);
        {
            let sink = SqliteSink::open(&path).unwrap();
            assert_eq!(sink.store(event.clone()).await.unwrap(), Stored::New);
        }
        let sink = SqliteSink::open(&path).unwrap();
        assert_eq!(sink.count().unwrap(), 1);
        assert_eq!(sink.list(0, 10).unwrap()[0].envelope, r#"{"kept":true}"#);
        assert_eq!(sink.store(event.clone()).await.unwrap(), Stored::Duplicate);
        let journal: String = lock(&sink.reader)
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .unwrap();
        assert_eq!(journal, "wal");
    }

    #[tokio::test]
    async fn a_large_envelope_is_stored_whole() {
        let dir = tempfile::tempdir().unwrap();
        let sink = SqliteSink::open(&dir.path().join("events.sqlite")).unwrap();
        let envelope = format!(r#"{{"pad":"{}"}}"#, "x".repeat(1_200_000));
        let event = record("vod_ffffffffffffffffffffffffffffffff", &envelope);
        assert_eq!(sink.store(event.clone()).await.unwrap(), Stored::New);
        assert_eq!(sink.list(0, 1).unwrap()[0].envelope, envelope);
    }

    #[tokio::test]
    async fn a_redelivery_needs_no_write_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.sqlite");
        let sink = SqliteSink::open(&path).unwrap();
        let stored = record("vod_00000000000000000000000000000001", r#"{"n":1}"#);
        assert_eq!(sink.store(stored.clone()).await.unwrap(), Stored::New);

        let other = Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        assert_eq!(sink.store(stored.clone()).await.unwrap(), Stored::Duplicate);
        let fresh = record("vod_00000000000000000000000000000002", r#"{"n":2}"#);
        let err = sink.store(fresh.clone()).await.unwrap_err();
        assert_eq!(err.unavailable_kind(), Some(Unavailable::Busy), "{err}");
        other.execute_batch("ROLLBACK").unwrap();
        assert_eq!(sink.store(fresh.clone()).await.unwrap(), Stored::New);
    }

    #[tokio::test]
    async fn writes_abandoned_by_their_caller_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.sqlite");
        let sink = SqliteSink::open(&path).unwrap();
        let other = Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        // Polled once (so queued first), and then waited for: written once the lock is free.
        let first = format!("vod_{:032}", 0);
        let mut waiting = Box::pin(sink.store(record(&first, "{}")));
        assert!(
            tokio::time::timeout(Duration::ZERO, &mut waiting)
                .await
                .is_err()
        );
        // Queued behind it, and given up at once: skipped when the writer reaches them.
        for i in 1..5 {
            let id = format!("vod_{i:032}");
            let gave_up = tokio::time::timeout(Duration::ZERO, sink.store(record(&id, "{}"))).await;
            assert!(gave_up.is_err());
        }
        other.execute_batch("ROLLBACK").unwrap();
        assert_eq!(waiting.await.unwrap(), Stored::New);
        let last = record("vod_ffffffffffffffffffffffffffffffff", "{}");
        assert_eq!(sink.store(last).await.unwrap(), Stored::New);
        assert_eq!(sink.count().unwrap(), 2);
    }

    #[test]
    fn an_unopenable_path_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let err = SqliteSink::open(dir.path()).unwrap_err();
        assert!(err.unavailable_kind().is_some(), "{err}");
    }
}
