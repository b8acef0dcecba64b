//! `vodgate callback`: post a recorded VOD callback to a running server.
//!
//! Recorded callbacks (tests/fixtures/callbacks/) carry a `Sign` that expired long ago and was
//! made with someone else's key, so they would be refused. This signs the body afresh with the
//! current callback key, exactly as VOD would, so any recorded event can be replayed locally.

use std::path::PathBuf;

use vodgate::platform::config::Env;
use vodgate::platform::secret::Secret;
use vodgate::vod::callback_auth;
use vodgate::web::serve::BoxError;

use crate::dev;

#[derive(clap::Args)]
pub struct Args {
    /// A JSON file holding the callback body.
    file: PathBuf,
    /// The events URL.
    #[arg(long, default_value = "http://127.0.0.1:8080/v1/vod/events")]
    url: String,
}

pub async fn run(args: Args, env: &Env) -> Result<(), BoxError> {
    let file = args.file.display();
    let text = std::fs::read_to_string(&args.file).map_err(|e| format!("{file}: {e}"))?;
    let mut body: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{file}: not JSON: {e}"))?;
    let object = body
        .as_object_mut()
        .ok_or_else(|| format!("{file}: the callback body must be a JSON object"))?;
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
        .await?;
    println!("{} {}", response.status(), response.text().await?);
    Ok(())
}
