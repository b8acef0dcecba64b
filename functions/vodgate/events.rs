//! `vodgate events`: what the events function stored.
//!
//! Reads the local SQLite store directly rather than through an API: the functions have no
//! listing endpoint (apps read the sink they chose), and the dev store is a file on this machine.

use std::time::Duration;

use vodgate::ingest::sink::{Sinks, SqliteSink};
use vodgate::platform::config::Env;
use vodgate::web::serve::BoxError;

#[derive(clap::Args)]
pub struct Args {
    /// Print each stored envelope as one JSON line.
    #[arg(long)]
    json: bool,
    /// Keep printing new events as they arrive.
    #[arg(long)]
    follow: bool,
}

/// How often `--follow` looks for new events.
const FOLLOW_INTERVAL: Duration = Duration::from_secs(1);

pub async fn run(args: Args, env: &Env) -> Result<(), BoxError> {
    let sink = local_store(env).await?;
    let mut after = 0;
    loop {
        for event in sink.list(after, 1000)? {
            after = event.seq;
            if args.json {
                println!("{}", event.envelope);
            } else {
                println!(
                    "{seq:>5}  {at}  {kind:<24} file={file:<20} uploader={who:<16} {id}",
                    seq = event.seq,
                    at = event.received_at,
                    kind = event.event_type,
                    file = event.file_id.as_deref().unwrap_or("-"),
                    who = event.uploader_sub.as_deref().unwrap_or("-"),
                    id = event.id,
                );
            }
        }
        if !args.follow {
            return Ok(());
        }
        tokio::time::sleep(FOLLOW_INTERVAL).await;
    }
}

/// The local SQLite file among the `EVENT_SINK` sinks: no other sink can be listed.
pub async fn local_store(env: &Env) -> Result<SqliteSink, BoxError> {
    let sinks = Sinks::from_env(env).await?;
    match sinks.sqlite() {
        Some(sink) => Ok(sink.clone()),
        None => Err(format!(
            "EVENT_SINK is {}; `vodgate events` reads only a local sqlite: sink",
            sinks.describe()
        )
        .into()),
    }
}
