//! `vodgate callback`: post a recorded VOD callback to a running server.
//!
//! Recorded callbacks (tests/fixtures/callbacks/) carry a `Sign` that expired long ago and was
//! made with someone else's key, so they would be refused. This signs the body afresh with the
//! current callback key, exactly as VOD would, so any recorded event can be replayed locally. It
//! says what became of the event (stored as new, or a duplicate of one already stored), and a
//! refusal is a failure whose hint names the state directory whose key was used.

use std::path::PathBuf;

use serde_json::Value;
use vodgate::platform::config::Env;
use vodgate::platform::secret::Secret;
use vodgate::vod::callback_auth;
use vodgate::web::serve::BoxError;

use crate::dev;
use crate::failure::Failure;
use crate::state::StateDir;

#[derive(clap::Args)]
#[command(after_help = "\
Examples:
  vodgate callback tests/fixtures/callbacks/new_file_upload.json
  vodgate callback my-event.json --url http://127.0.0.1:8082/v1/vod/events")]
pub struct Args {
    /// A JSON file holding the callback body (its Sign/T are replaced).
    file: PathBuf,
    /// The events URL of the running server.
    #[arg(long, default_value = "http://127.0.0.1:8080/v1/vod/events")]
    url: String,
}

pub async fn run(args: Args, env: &Env, state: &StateDir) -> Result<(), BoxError> {
    let file = args.file.display();
    let text = std::fs::read_to_string(&args.file).map_err(|e| {
        Failure::new(format!("{file}: {e}"))
            .hint("give the path of a JSON callback body, such as tests/fixtures/callbacks/*.json")
    })?;
    let mut body: Value =
        serde_json::from_str(&text).map_err(|e| Failure::new(format!("{file}: not JSON: {e}")))?;
    let object = body
        .as_object_mut()
        .ok_or_else(|| Failure::new(format!("{file}: the callback body must be a JSON object")))?;
    if let Some(key) = env
        .non_empty("VOD_CALLBACK_KEYS")
        .and_then(|k| k.split(',').next())
    {
        let t = i64::try_from(dev::unix_now()).unwrap_or(i64::MAX) + 600;
        let key = Secret::new(key.trim());
        object.insert("Sign".into(), callback_auth::sign_for(&key, t).into());
        object.insert("T".into(), t.into());
    }
    let response = reqwest::Client::new()
        .post(&args.url)
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| {
            Failure::new(format!("cannot reach {}: {}", args.url, cause(&e))).hint(format!(
                "is `vodgate serve` running on {}? Start it, or give its events URL with --url",
                args.url
            ))
        })?;
    let status = response.status();
    let answer: Value = serde_json::from_str(&response.text().await?).unwrap_or_default();
    if status.is_success() {
        let id = answer["data"]["id"].as_str().unwrap_or("-");
        match answer["data"]["duplicate"].as_bool() {
            Some(true) => println!("{status}: a duplicate; {id} was already stored"),
            Some(false) => println!("{status}: stored as a new event, {id}"),
            None => println!("{status} {answer}"),
        }
        return Ok(());
    }
    let reason = answer["error"].as_str().unwrap_or("");
    let failure = Failure::new(format!(
        "the events function refused the callback: {status} {reason}: {}",
        answer["message"].as_str().unwrap_or("")
    ));
    Err(match reason {
        "missing_signature" | "invalid_signature" | "signature_expired"
        | "signature_time_invalid" => failure.hint(format!(
            "this tool signed with VOD_CALLBACK_KEYS, else the dev key of {state}: start the server \
             with the same state directory (--state-dir or VODGATE_HOME) or export its keys"
        )),
        "invalid_callback_token" | "not_found" => failure.hint(
            "the server expects a path token (VOD_CALLBACK_TOKEN): give --url …/v1/vod/events/<token>",
        ),
        "bad_request" | "payload_too_large" => {
            failure.hint(format!("{file} is not a callback body VOD would send"))
        }
        _ => failure,
    }
    .into())
}

/// The innermost cause of a request error: "Connection refused (os error 111)" rather than
/// reqwest's "error sending request".
pub fn cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}
