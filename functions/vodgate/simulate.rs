//! `vodgate simulate`: one upload's whole round trip, without uploading anything.
//!
//! Attribution is the part of vodgate that is hardest to see: the uploader is sealed into the
//! signature's `sourceContext`, travels through VOD, and comes back in the callback. This plays
//! VOD's part (it posts the `NewFileUpload` callback VOD would send for the signature just issued)
//! and prints each step, so the chain can be watched end to end on one machine.

use std::net::Ipv4Addr;

use tokio::net::TcpListener;
use vodgate::platform::config::Env;
use vodgate::vod::signature;
use vodgate::web::serve::BoxError;
use vodgate::{push, sign};

use crate::dev::{self, DevKeys};
use crate::{events, serve, token};

#[derive(clap::Args)]
pub struct Args {
    /// A running vodgate to use; by default a private one is started for the run.
    #[arg(long)]
    url: Option<String>,
}

pub async fn run(args: Args, env: &Env, keys: &DevKeys) -> Result<(), BoxError> {
    let base = match args.url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => {
            let app = serve::dev_app(env).await?;
            let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
            let addr = listener.local_addr()?;
            tokio::spawn(async move { axum::serve(listener, app).await });
            format!("http://{addr}")
        }
    };
    let http = reqwest::Client::new();

    let token = token::mint(env, dev::DEV_SUB, None, 600)?;
    println!(
        "1. token for sub={} (HS256, scope vod:upload)",
        dev::DEV_SUB
    );
    let response = http
        .post(format!("{base}{}", sign::ROUTE))
        .bearer_auth(&token)
        .body(r#"{"meta":"simulated"}"#)
        .send()
        .await?;
    let status = response.status();
    let body: serde_json::Value = serde_json::from_str(&response.text().await?)?;
    if !status.is_success() {
        return Err(format!("signature request failed: {status} {body}").into());
    }
    let signature = body["data"]["signature"].as_str().unwrap_or_default();
    let report = signature::inspect(signature, None, dev::unix_now());
    let source_context = report
        .params
        .iter()
        .find(|(k, _)| k == "sourceContext")
        .map(|(_, v)| v.clone())
        .ok_or("the signature carries no sourceContext")?;
    println!(
        "2. signature issued: uploadId={} sourceContext={source_context}",
        body["data"]["uploadId"].as_str().unwrap_or_default()
    );

    let callback = dev::sample_upload_callback(
        &source_context,
        &keys.callback_key(),
        i64::try_from(dev::unix_now()).unwrap_or(i64::MAX),
    );
    let file_id = callback["FileUploadEvent"]["FileId"].clone();
    let response = http
        .post(format!("{base}{}", push::ROUTE))
        .body(callback.to_string())
        .send()
        .await?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        return Err(format!("callback was refused: {status} {text}").into());
    }
    println!(
        "3. NewFileUpload callback for FileId {file_id} posted, signed with the dev SignKey: {status} {text}"
    );

    let sink = events::local_store(env).await?;
    let stored = sink
        .list(0, 1_000_000)?
        .into_iter()
        .rev()
        .find(|e| e.file_id.as_deref() == file_id.as_str())
        .ok_or(
            "the event is not in the local store (is --url a server with another EVENT_SINK?)",
        )?;
    let envelope: serde_json::Value = serde_json::from_str(&stored.envelope)?;
    println!(
        "4. stored as {} and attributed to {}:\n{}",
        stored.id,
        envelope["uploader"],
        serde_json::to_string_pretty(&envelope)?
    );
    Ok(())
}
