//! `vodgate events`: what the events function stored.
//!
//! Reads the local SQLite store directly rather than through an API: the functions have no
//! listing endpoint (apps read the sink they chose), and the dev store is a file on this machine.
//! A row shows the normalized `type` apps act on next to VOD's `EventType` and VOD's own status
//! where the payload has one, because a task flow's `PROCESSING` and `FINISH` are otherwise
//! identical lines. `--follow` starts at the end, as `tail -f` does: what is already stored is
//! what a plain run shows.
//!
//! Event fields come from whoever posted the callback: control characters in them are escaped
//! before printing, so an event cannot move the cursor, retitle the window or hide lines in the
//! terminal that reads it. JSON lines escape what JSON itself leaves raw (DEL and the C1 range).

use std::time::Duration;

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use vodgate::ingest::sink::{Sinks, SqliteSink, StoredEvent};
use vodgate::platform::config::Env;
use vodgate::web::serve::BoxError;

use crate::failure::Failure;
use crate::{dev, timefmt};

#[derive(clap::Args)]
#[command(after_help = "\
Examples:
  vodgate events                                   # everything stored, oldest first
  vodgate events --type upload.completed --limit 5 # the last five uploads VOD completed
  vodgate events --type ProcedureStateChanged --file 5285890784273533167 --json
  vodgate events --since 10m                       # received in the last ten minutes
  vodgate events --follow                          # new events as they are stored")]
pub struct Args {
    /// Print each stored envelope as one JSON line.
    #[arg(long)]
    json: bool,
    /// Only this normalized type or VOD EventType (any case)
    #[arg(long, value_name = "TYPE")]
    r#type: Option<String>,
    /// Only events about this VOD FileId.
    #[arg(long, value_name = "FILE_ID")]
    file: Option<String>,
    /// Only the last N matching events.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Only events since a time (2026-12-02T08:00:00Z) or a duration ago (10m)
    #[arg(long, value_name = "WHEN", value_parser = parse_since)]
    since: Option<OffsetDateTime>,
    /// Keep printing new events (starts at the end; see --replay)
    #[arg(long)]
    follow: bool,
    /// With --follow, print the stored events first.
    #[arg(long, requires = "follow")]
    replay: bool,
}

/// How often `--follow` looks for new events.
const FOLLOW_INTERVAL: Duration = Duration::from_secs(1);
/// Rows read from the store at a time.
const PAGE: usize = 1000;

pub async fn run(args: Args, env: &Env) -> Result<(), BoxError> {
    let sink = local_store(env).await?;
    let mut after = 0;
    let mut backlog = Vec::new();
    loop {
        let page = sink.list(after, PAGE)?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        backlog.extend(page.into_iter().filter(|e| args.matches(e)));
    }
    let shown_backlog = !args.follow || args.replay || args.limit.is_some();
    if shown_backlog {
        let skip = backlog
            .len()
            .saturating_sub(args.limit.unwrap_or(usize::MAX));
        backlog.drain(..skip);
    } else {
        backlog.clear();
    }
    if backlog.is_empty() && !args.follow {
        eprintln!(
            "no events in {} match",
            Sinks::from(sink.clone()).describe()
        );
        eprintln!(
            "hint: `vodgate simulate` plays one upload's events; `vodgate callback FILE` posts one"
        );
        return Ok(());
    }
    if !args.json {
        println!("{}", Row::HEADER);
    }
    for event in &backlog {
        args.print(event);
    }
    if !args.follow {
        return Ok(());
    }
    loop {
        tokio::time::sleep(FOLLOW_INTERVAL).await;
        for event in sink.list(after, PAGE)? {
            after = event.seq;
            if args.matches(&event) {
                args.print(&event);
            }
        }
    }
}

impl Args {
    fn matches(&self, event: &StoredEvent) -> bool {
        let row = Row::of(event);
        let type_ok = self.r#type.as_deref().is_none_or(|wanted| {
            wanted.eq_ignore_ascii_case(&row.kind) || wanted.eq_ignore_ascii_case(&event.event_type)
        });
        let file_ok = self
            .file
            .as_deref()
            .is_none_or(|file| event.file_id.as_deref() == Some(file));
        let since_ok = self.since.is_none_or(|since| {
            OffsetDateTime::parse(&event.received_at, &Rfc3339).is_ok_and(|at| at >= since)
        });
        type_ok && file_ok && since_ok
    }

    fn print(&self, event: &StoredEvent) {
        if self.json {
            println!("{}", escaped(&event.envelope));
        } else {
            println!("{}", Row::of(event).line(event));
        }
    }
}

/// What a row shows beyond the stored columns, read from the envelope.
struct Row {
    kind: String,
    status: String,
}

impl Row {
    const HEADER: &str = "  SEQ  RECEIVED              TYPE                VOD STATUS  EVENT TYPE                FILE                  UPLOADER          ID";

    fn of(event: &StoredEvent) -> Self {
        let envelope: Value = serde_json::from_str(&event.envelope).unwrap_or_default();
        let kind = envelope["type"].as_str().unwrap_or("-").to_owned();
        Self {
            kind,
            status: vod_status(&envelope["event"]).unwrap_or("-").to_owned(),
        }
    }

    fn line(&self, event: &StoredEvent) -> String {
        format!(
            "{seq:>5}  {at:<20}  {kind:<18}  {status:<10}  {vod:<24}  {file:<20}  {who:<16}  {id}",
            seq = event.seq,
            at = event.received_at,
            kind = escaped(&self.kind),
            status = escaped(&self.status),
            vod = escaped(&event.event_type),
            file = escaped(event.file_id.as_deref().unwrap_or("-")),
            who = escaped(event.uploader_sub.as_deref().unwrap_or("-")),
            id = escaped(&event.id),
        )
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

/// VOD's own status in a callback body: the `Status` of its payload object (a task flow's
/// `PROCESSING`/`FINISH`), if it has one.
fn vod_status(body: &Value) -> Option<&str> {
    body.as_object()?
        .values()
        .filter_map(Value::as_object)
        .find_map(|payload| payload.get("Status").or_else(|| payload.get("status")))
        .and_then(Value::as_str)
}

/// `--since`: an RFC 3339 time, or a duration before now.
fn parse_since(text: &str) -> Result<OffsetDateTime, String> {
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(at);
    }
    let ago = timefmt::parse_duration(text).map_err(|_| {
        format!(
            "expected a time such as 2026-12-02T08:00:00Z or a duration such as 10m, got {text:?}"
        )
    })?;
    let now = i64::try_from(dev::unix_now()).unwrap_or(i64::MAX);
    let ago = i64::try_from(ago).unwrap_or(i64::MAX);
    OffsetDateTime::from_unix_timestamp(now.saturating_sub(ago))
        .map_err(|_| format!("{text:?} reaches before the earliest time"))
}

/// The local SQLite file among the `EVENT_SINK` sinks: no other sink can be listed.
pub async fn local_store(env: &Env) -> Result<SqliteSink, BoxError> {
    let sinks = Sinks::from_env(env).await?;
    match sinks.sqlite() {
        Some(sink) => Ok(sink.clone()),
        None => Err(Failure::new(format!(
            "EVENT_SINK is {}; `vodgate events` reads only a local sqlite: sink",
            sinks.describe()
        ))
        .hint("unset EVENT_SINK to read the dev store, or set it to sqlite:<path>")
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vod_status_is_the_payloads() {
        let flow = serde_json::json!({
            "EventType": "ProcedureStateChanged",
            "ProcedureStateChangeEvent": {"Status": "PROCESSING", "FileId": "1"}
        });
        assert_eq!(vod_status(&flow), Some("PROCESSING"));
        let upload = serde_json::json!({"EventType": "NewFileUpload", "FileUploadEvent": {}});
        assert_eq!(vod_status(&upload), None);
    }

    #[test]
    fn since_takes_a_time_or_a_duration() {
        assert_eq!(
            parse_since("2026-12-02T08:00:00Z")
                .unwrap()
                .unix_timestamp(),
            1_796_198_400
        );
        assert!(parse_since("10m").is_ok());
        assert!(parse_since("yesterday").is_err());
    }
}
