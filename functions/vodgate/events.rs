//! `vodgate events`: what the events function stored.
//!
//! Reads the local SQLite store directly rather than through an API: the functions have no
//! listing endpoint (apps read the sink they chose), and the dev store is a file on this machine.
//!
//! Event fields come from whoever posted the callback: control characters in them are escaped
//! before printing, so an event cannot move the cursor, retitle the window or hide lines in the
//! terminal that reads it. JSON lines escape what JSON itself leaves raw (DEL and the C1 range).

use std::time::Duration;

use vodgate::ingest::sink::{Sink, SqliteSink};
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
                println!("{}", escaped(&event.envelope));
            } else {
                println!(
                    "{seq:>5}  {at}  {kind:<24} file={file:<20} uploader={who:<16} {id}",
                    seq = event.seq,
                    at = event.received_at,
                    kind = escaped(&event.event_type),
                    file = escaped(event.file_id.as_deref().unwrap_or("-")),
                    who = escaped(event.uploader_sub.as_deref().unwrap_or("-")),
                    id = escaped(&event.id),
                );
            }
        }
        if !args.follow {
            return Ok(());
        }
        tokio::time::sleep(FOLLOW_INTERVAL).await;
    }
}

/// `text` with every control character as a `\u{…}`-style JSON escape (`\u001b`), which keeps a
/// JSON line valid: JSON escapes C0 itself, so only DEL and C1 ever reach here raw inside one.
fn escaped(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return text.into();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                format!("\\u{:04x}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

/// The `EVENT_SINK` store, which must be a local SQLite file: no other sink can be listed.
pub async fn local_store(env: &Env) -> Result<SqliteSink, BoxError> {
    match Sink::from_env(env).await? {
        Sink::Sqlite(sink) => Ok(sink),
        other => Err(format!(
            "EVENT_SINK is {}; `vodgate events` reads only a local sqlite: sink",
            other.describe()
        )
        .into()),
    }
}
