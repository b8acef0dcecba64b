//! `vodgate uploads`: the uploads the local events function keeps, with their status.
//!
//! The API lists one caller's uploads (`GET /v1/uploads`); a developer wants every upload the
//! dev server saw, whoever's token created it, so this reads the local SQLite store directly, as
//! `vodgate events` reads the events. An upload is listed once an event reached it: a created
//! upload that VOD never called back about is `waiting` and has no record yet.

use vodgate::ingest::uploads::{Access, SqliteUploads, UploadsStore};
use vodgate::platform::config::Env;
use vodgate::web::serve::BoxError;

use crate::failure::Failure;

/// At most this many uploads are shown, newest first.
const MAX_SHOWN: usize = 1000;

#[derive(clap::Args)]
#[command(after_help = "\
Examples:
  vodgate uploads
  vodgate uploads --json | jq 'select(.status == \"ready\")'")]
pub struct Args {
    /// One JSON line per upload, as GET /v1/uploads/{uploadId} shows it
    #[arg(long)]
    json: bool,
}

pub async fn run(args: Args, env: &Env) -> Result<(), BoxError> {
    let store = local_store(env).await?;
    let records = store.recent(MAX_SHOWN).await?;
    if records.is_empty() && !args.json {
        eprintln!(
            "no uploads in {} yet: an upload is listed once a VOD event reaches it",
            UploadsStore::from(store.clone()).describe()
        );
        eprintln!("hint: `vodgate simulate` plays one upload's events end to end");
        return Ok(());
    }
    for record in &records {
        let upload = record.to_upload();
        if args.json {
            println!("{}", serde_json::to_string(&upload)?);
        } else {
            println!(
                "{at}  {status:<10}  {id}  owner={owner}  file={file}",
                at = upload.updated_at.as_deref().unwrap_or("-"),
                status = upload.status.as_str(),
                id = upload.upload_id,
                owner = record.owner,
                file = upload.file_id.as_deref().unwrap_or("-"),
            );
        }
    }
    Ok(())
}

/// The `UPLOADS_STORE` store, which must be a local SQLite file.
pub async fn local_store(env: &Env) -> Result<SqliteUploads, BoxError> {
    match UploadsStore::from_env(env, Access::ReadOnly).await? {
        Some(UploadsStore::Sqlite(store)) => Ok(store),
        Some(other) => Err(Failure::new(format!(
            "UPLOADS_STORE is {}; `vodgate uploads` reads only a local sqlite: store",
            other.describe()
        ))
        .hint("unset UPLOADS_STORE to read the dev store, or set it to sqlite:<path>")
        .into()),
        None => Err(Failure::new("UPLOADS_STORE is empty: no uploads are kept")
            .hint("unset UPLOADS_STORE to read the dev store, or set it to sqlite:<path>")
            .into()),
    }
}
