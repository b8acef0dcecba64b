//! `vodgate simulate`: one upload's whole life, without uploading anything.
//!
//! What an app wants to see is an upload going `waiting → uploaded → processing → ready`, and
//! that needs VOD's events, attributed to the upload. This plays VOD's part: it creates an upload
//! (`POST /v1/uploads`), then posts the callbacks VOD would send for it (`NewFileUpload` echoing
//! the signature's `sourceContext` and naming a task flow, then that flow's `PROCESSING` and
//! `FINISH` echoing its `sessionContext`), signed with the dev callback key, and after each one
//! prints the status `GET /v1/uploads/{uploadId}` answers. So attribution and the upload's state
//! can be watched end to end on one machine.
//!
//! A private server (the default) signs a task flow (`VOD_PROCEDURE`, unless one is set), so the
//! signature carries a `sessionContext`; a server given with `--url` may not, and then the flow's
//! events are tied to the upload by its `FileId` and `ProcedureTaskId`, as VOD's would be.
//!
//! With an upload limit set (`UPLOAD_MAX_BYTES`, …) and `--size` over it, the walk shows the
//! rejection instead: the private server deletes the media through `VOD_API_ENDPOINT`, or, with
//! the dev keys, through a local stand-in ([`crate::vod_standin`]), and the upload ends
//! `rejected`, where the later events leave it. Whether the file breaks a limit is decided by the
//! library's own rule, so the walk expects what the server will do.

use std::net::Ipv4Addr;

use serde_json::Value;
use tokio::net::TcpListener;
use vodgate::ingest::uploads::limits::{FileMetadata, UploadLimits, Verdict};
use vodgate::platform::config::Env;
use vodgate::vod::signature;
use vodgate::web::serve::BoxError;
use vodgate::{push, sign};

use crate::callback::cause;
use crate::dev::{self, DevKeys};
use crate::failure::Failure;
use crate::state::StateDir;
use crate::{serve, token};

/// The task flow a private server signs, so its signatures carry a `sessionContext`.
const SIMULATED_PROCEDURE: &str = "SimulatedFlow";

#[derive(clap::Args)]
#[command(after_help = "\
A server given with --url must take the dev keys of the state directory and keep uploads
(UPLOADS_STORE, as `vodgate serve` does).

Examples:
  vodgate simulate                                # on a private server, nothing else needed
  vodgate simulate --url http://127.0.0.1:8080    # against a running `vodgate serve`
  UPLOAD_MAX_BYTES=10MB vodgate simulate --size 20000000
                                                  # a rejection: the media is deleted through
                                                  # VOD_API_ENDPOINT, or a local stand-in")]
pub struct Args {
    /// A running vodgate, such as http://127.0.0.1:8080 (default: a private one)
    #[arg(long)]
    url: Option<String>,
    /// The file size NewFileUpload reports, in bytes (over UPLOAD_MAX_BYTES: rejected)
    #[arg(long, default_value_t = DEFAULT_SIZE)]
    size: u64,
}

/// The size of the simulated file, as VOD's sample `NewFileUpload` reports it.
const DEFAULT_SIZE: u64 = 7_700_180;
/// The container of the simulated file, as VOD reports an MP4.
const CONTAINER: &str = "mov,mp4,m4a,3gp,3g2,mj2";

/// The dev server the run talks to, how to reach it, and the state directory whose keys it uses.
struct Run<'a> {
    base: String,
    http: reqwest::Client,
    token: String,
    state: &'a StateDir,
}

pub async fn run(args: Args, env: &Env, keys: &DevKeys, state: &StateDir) -> Result<(), BoxError> {
    let limits = UploadLimits::from_env(env)?;
    let verdict = limits.check(&FileMetadata {
        size: Some(args.size),
        duration_seconds: Some(60.0),
        container: Some(CONTAINER),
    });
    let base = match args.url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => {
            let mut env = env.clone();
            env.set_default("VOD_PROCEDURE", SIMULATED_PROCEDURE);
            let app = serve::dev_app(&env).await?;
            let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
            let addr = listener.local_addr()?;
            tokio::spawn(async move { axum::serve(listener, app).await });
            format!("http://{addr}")
        }
    };
    let run = Run {
        http: reqwest::Client::new(),
        token: token::mint(env, dev::DEV_SUB, None, 600)?,
        base,
        state,
    };
    println!(
        "1. token for sub={} (HS256, scope vod:upload)",
        dev::DEV_SUB
    );

    let created = run
        .call(
            reqwest::Method::POST,
            sign::UPLOADS_ROUTE,
            Some(r#"{"meta":"simulated"}"#),
        )
        .await?;
    let upload_id = text(&created["uploadId"]);
    let report = signature::inspect(&text(&created["signature"]), None, dev::unix_now());
    let param = |name: &str| {
        report
            .params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let source_context = param("sourceContext")
        .ok_or_else(|| Failure::new("the signature carries no sourceContext"))?;
    let session_context = param("sessionContext");
    println!("2. upload created: uploadId={upload_id}\n   sourceContext={source_context}");
    run.expect(&upload_id, "waiting").await?;

    let now = i64::try_from(dev::unix_now()).unwrap_or(i64::MAX);
    let file_id = format!("52858907842{:08}", rand::random::<u32>() % 100_000_000);
    let task_id = format!("1500000001-procedurev2-{:020x}", rand::random::<u64>());
    let key = keys.callback_key();
    let mut uploaded = dev::sample_upload_callback(&source_context, &file_id, &task_id, &key, now);
    uploaded["FileUploadEvent"]["MetaData"]["Size"] = args.size.into();
    let rejected = match &verdict {
        Verdict::Breaks(violation) => {
            println!("   (the file breaks a limit: {violation})");
            Some("rejected")
        }
        Verdict::Within | Verdict::Unknown(_) => None,
    };
    let steps = [
        (
            "3. NewFileUpload (the file is in VOD, a task flow will run)",
            uploaded,
            rejected.unwrap_or("uploaded"),
        ),
        (
            "4. ProcedureStateChanged PROCESSING (the upload's task flow started)",
            dev::sample_task_flow_callback(
                "PROCESSING",
                &task_id,
                &file_id,
                session_context.as_deref(),
                &key,
                now,
            ),
            rejected.unwrap_or("processing"),
        ),
        (
            "5. ProcedureStateChanged FINISH (every sub-task SUCCESS)",
            dev::sample_task_flow_callback(
                "FINISH",
                &task_id,
                &file_id,
                session_context.as_deref(),
                &key,
                now,
            ),
            rejected.unwrap_or("ready"),
        ),
    ];
    for (what, callback, status) in steps {
        run.post_callback(&callback).await?;
        println!("{what}: posted for FileId {file_id}, signed with the dev SignKey");
        run.expect(&upload_id, status).await?;
    }

    let upload = run
        .call(
            reqwest::Method::GET,
            &format!("{}/{upload_id}", sign::UPLOADS_ROUTE),
            None,
        )
        .await?;
    println!(
        "6. GET {}/{upload_id}:\n{}\n\n`vodgate events` shows the stored events, attributed to {}; \
         `vodgate uploads` lists the upload.",
        sign::UPLOADS_ROUTE,
        serde_json::to_string_pretty(&upload)?,
        dev::DEV_SUB
    );
    Ok(())
}

impl Run<'_> {
    /// `data` of a successful answer to an authenticated request.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&'static str>,
    ) -> Result<Value, BoxError> {
        let url = format!("{}{path}", self.base);
        let mut request = self
            .http
            .request(method.clone(), &url)
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.map_err(|e| {
            Failure::new(format!("cannot reach {}: {}", self.base, cause(&e))).hint(format!(
                "is `vodgate serve` running on {}? Start it, or leave out --url to use a \
                 private one",
                self.base
            ))
        })?;
        let status = response.status();
        let answer: Value = serde_json::from_str(&response.text().await?)
            .map_err(|_| Failure::new(format!("{method} {url}: {status}, not a vodgate answer")))?;
        if status.is_success() {
            return Ok(answer["data"].clone());
        }
        let failure = Failure::new(format!("{method} {path}: {status} {answer}"));
        Err(match answer["error"].as_str() {
            Some("not_configured") => failure.hint(
                "that server keeps no uploads: start it with UPLOADS_STORE (`vodgate serve` \
                 sets it), or leave out --url",
            ),
            Some("invalid_token" | "missing_token") => failure.hint(format!(
                "that server does not take the dev token of {}: give both the same state \
                 directory (--state-dir or VODGATE_HOME), or leave out --url",
                self.state
            )),
            _ => failure,
        }
        .into())
    }

    /// Posts `callback` to the events route, as VOD would.
    async fn post_callback(&self, callback: &Value) -> Result<(), BoxError> {
        let response = self
            .http
            .post(format!("{}{}", self.base, push::ROUTE))
            .body(callback.to_string())
            .send()
            .await?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        Err(Failure::new(format!(
            "the callback was refused: {status} {}",
            response.text().await?
        ))
        .hint(format!(
            "the server must take the dev SignKey of {} on its events route: give both the same \
             state directory (--state-dir or VODGATE_HOME), or leave out --url",
            self.state
        ))
        .into())
    }

    /// Reads the upload and checks its status is `expected`.
    async fn expect(&self, upload_id: &str, expected: &str) -> Result<(), BoxError> {
        let upload = self
            .call(
                reqwest::Method::GET,
                &format!("{}/{upload_id}", sign::UPLOADS_ROUTE),
                None,
            )
            .await?;
        let status = text(&upload["status"]);
        println!("   status: {status}");
        if status == expected {
            return Ok(());
        }
        Err(Failure::new(format!(
            "the upload is {status}, expected {expected}"
        ))
        .hint(
            "the server's events function must share its UPLOADS_STORE with sign and take the \
             dev keys; leave out --url to use a private one",
        )
        .into())
    }
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}
