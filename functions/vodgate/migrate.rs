//! `vodgate migrate`: create vodgate's PostgreSQL tables ahead of the functions.
//!
//! The events function creates `vodgate_events` and `vodgate_uploads` itself on its first
//! connection, which needs the right to create tables. Operators who keep that right away from
//! functions run this once, with an account that has it, and give the functions one that only
//! reads and writes rows. It runs the very DDL the function would (idempotent, under the same
//! advisory lock), so running it again, or alongside a starting function, is harmless.

use vodgate::ingest::is_postgres_url;
use vodgate::ingest::postgres::Postgres;
use vodgate::platform::config::Env;
use vodgate::web::serve::BoxError;

use crate::failure::Failure;

#[derive(clap::Args)]
#[command(after_help = "\
The password may be left out of the URL and given as DATABASE_PASSWORD (or in the
VODGATE_SECRET_ARN secret). Add options=-csearch_path%3D<schema> to use a schema of its own.

Examples:
  vodgate migrate postgres://admin@db.example:5432/app?sslmode=require
  DATABASE_PASSWORD=… vodgate migrate 'postgres://admin@db/app?sslrootcert=ca.pem'")]
pub struct Args {
    /// The database, as a postgres:// URL
    #[arg(value_parser = postgres_url)]
    url: String,
}

fn postgres_url(raw: &str) -> Result<String, String> {
    if is_postgres_url(raw) {
        Ok(raw.to_owned())
    } else {
        Err("expected a postgres:// or postgresql:// URL".to_owned())
    }
}

pub async fn run(args: Args, env: &Env) -> Result<(), BoxError> {
    let db = Postgres::from_env(env, "URL", &args.url, false).await?;
    db.migrate().await.map_err(|why| {
        Failure::new(why).hint(
            "check that the server is reachable (sslmode, sslrootcert) and that this user may \
             create tables in that database and schema",
        )
    })?;
    println!(
        "vodgate_events and vodgate_uploads are ready in {}",
        db.describe()
    );
    Ok(())
}
