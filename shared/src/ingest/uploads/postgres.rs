//! Uploads in PostgreSQL: the `vodgate_uploads` table, one row per upload and one per known file.
//!
//! The layout follows the DynamoDB one: `pk` is `upload#<uploadId>` (with `owner` and `list_key`,
//! indexed for listing, and the record as JSON text in `item`) or `file#<FileId>` (the upload it
//! belongs to). JSON *text*, not `jsonb`: a record holds what clients named their files, and
//! `jsonb` refuses a `\u0000` that a file name may carry.
//!
//! An update is one transaction: the upload's row is created empty if missing
//! (`ON CONFLICT DO NOTHING`, so a second writer waits for the first to commit), then read
//! `FOR UPDATE`, joined and written. Two instances applying `PROCESSING` and `FINISH` at once
//! therefore run one after the other and lose neither; the empty row is never seen by a reader,
//! as it only exists inside the transaction that fills it.

use super::{Unavailable, Update, UploadRecord, UploadRef, UploadsError, decode};
use crate::ingest::postgres::{Postgres, Session};

/// Uploads in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresUploads {
    db: Postgres,
}

impl PostgresUploads {
    /// A store reading and writing through `db`.
    pub fn new(db: Postgres) -> Self {
        Self { db }
    }

    /// The database, for logs (no password).
    pub fn describe(&self) -> &str {
        self.db.describe()
    }

    async fn session(&self) -> Result<Session<'_>, UploadsError> {
        self.db
            .session()
            .await
            .map_err(|(kind, detail)| UploadsError::unavailable(kind, detail))
    }

    pub(super) async fn find_files(
        &self,
        file_ids: &[String],
    ) -> Result<Vec<(String, UploadRef)>, UploadsError> {
        let session = self.session().await?;
        let keys: Vec<String> = file_ids.iter().map(|id| format!("file#{id}")).collect();
        let rows = match session
            .client()
            .query(
                "SELECT pk, item FROM vodgate_uploads WHERE pk = ANY($1)",
                &[&keys],
            )
            .await
        {
            Ok(rows) => rows,
            Err(error) => return Err(failed(session, &error)),
        };
        let mut found = Vec::new();
        for file_id in file_ids {
            let key = format!("file#{file_id}");
            if let Some(row) = rows.iter().find(|row| row.get::<_, &str>(0) == key) {
                found.push((file_id.clone(), decode::<UploadRef>(row.get(1))?));
            }
        }
        Ok(found)
    }

    pub(super) async fn apply(&self, update: &Update, at: i64) -> Result<(), UploadsError> {
        let mut session = self.session().await?;
        match apply_once(&mut session, update, at).await {
            Ok(()) => Ok(()),
            Err(Failure::Db(error)) => Err(failed(session, &error)),
            Err(Failure::Record(error)) => Err(error),
        }
    }

    pub(super) async fn get(&self, upload_id: &str) -> Result<Option<UploadRecord>, UploadsError> {
        let session = self.session().await?;
        let row = match session
            .client()
            .query_opt(
                "SELECT item FROM vodgate_uploads WHERE pk = $1 AND item <> ''",
                &[&format!("upload#{upload_id}")],
            )
            .await
        {
            Ok(row) => row,
            Err(error) => return Err(failed(session, &error)),
        };
        row.map(|row| decode(row.get(0))).transpose()
    }

    pub(super) async fn list(
        &self,
        owner_sub: &str,
        limit: usize,
        before: Option<String>,
    ) -> Result<Vec<UploadRecord>, UploadsError> {
        let session = self.session().await?;
        // Every list key starts with a year: "\u{10FFFF}" sorts after all of them.
        let before = before.unwrap_or_else(|| "\u{10FFFF}".to_owned());
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = match session
            .client()
            .query(
                "SELECT item FROM vodgate_uploads
                 WHERE owner = $1 AND list_key < $2 AND item <> ''
                 ORDER BY list_key DESC LIMIT $3",
                &[&owner_sub, &before, &limit],
            )
            .await
        {
            Ok(rows) => rows,
            Err(error) => return Err(failed(session, &error)),
        };
        rows.iter().map(|row| decode(row.get(0))).collect()
    }
}

enum Failure {
    Db(tokio_postgres::Error),
    Record(UploadsError),
}

impl From<tokio_postgres::Error> for Failure {
    fn from(error: tokio_postgres::Error) -> Self {
        Self::Db(error)
    }
}

/// One transaction: link the file, create the upload's row if missing, read it locked, join,
/// write.
async fn apply_once(session: &mut Session<'_>, update: &Update, at: i64) -> Result<(), Failure> {
    let transaction = session.client_mut().transaction().await?;
    if let Some(file_id) = &update.link_file {
        transaction
            .execute(
                "INSERT INTO vodgate_uploads (pk, item) VALUES ($1, $2) ON CONFLICT (pk) DO NOTHING",
                &[&format!("file#{file_id}"), &encode(&update.upload)?],
            )
            .await?;
    }
    let pk = format!("upload#{}", update.upload.upload_id);
    transaction
        .execute(
            "INSERT INTO vodgate_uploads (pk, owner, list_key, item) VALUES ($1, $2, '', '')
             ON CONFLICT (pk) DO NOTHING",
            &[&pk, &update.upload.sub],
        )
        .await?;
    let row = transaction
        .query_one(
            "SELECT item FROM vodgate_uploads WHERE pk = $1 FOR UPDATE",
            &[&pk],
        )
        .await?;
    let item: &str = row.get(0);
    let old = if item.is_empty() {
        None
    } else {
        Some(decode::<UploadRecord>(item).map_err(Failure::Record)?)
    };
    if let Some(new) = UploadRecord::merge(old.as_ref(), &update.upload, update.facts.clone(), at) {
        transaction
            .execute(
                "UPDATE vodgate_uploads SET list_key = $2, item = $3 WHERE pk = $1",
                &[&pk, &new.list_key(), &encode(&new)?],
            )
            .await?;
    }
    transaction.commit().await?;
    Ok(())
}

fn failed(session: Session<'_>, error: &tokio_postgres::Error) -> UploadsError {
    let (kind, detail) = session.fail(error);
    UploadsError::unavailable(kind, detail)
}

fn encode<T: serde::Serialize>(value: &T) -> Result<String, Failure> {
    serde_json::to_string(value).map_err(|e| {
        Failure::Record(UploadsError::unavailable(
            Unavailable::Failed,
            format!("record JSON: {e}"),
        ))
    })
}
