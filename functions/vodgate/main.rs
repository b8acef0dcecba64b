//! `vodgate`: the local developer tool. With no arguments it serves both functions on
//! 127.0.0.1:8080 with generated dev keys and a local SQLite event store; `vodgate token` mints a
//! dev JWT; `vodgate inspect` explains an upload signature; `vodgate events` lists stored events;
//! `vodgate simulate` runs a whole upload's round trip; `vodgate pull` takes events from VOD's
//! reliable-callback queue into the same local store; `vodgate vod-config` shows and sets VOD's
//! event configuration.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use clap::{Parser, Subcommand};
use tokio::net::TcpListener;
use vodgate::ingest::sink::{Sink, SqliteSink};
use vodgate::platform::config::Env;
use vodgate::platform::keys::{KeySet, Keys, SecretsManager};
use vodgate::pull::Puller;
use vodgate::push::{self, EventsState};
use vodgate::sign::{self, SignState};
use vodgate::vod::api::{EventConfigChange, Mode, Switch};
use vodgate::vod::callback_auth::CallbackKeys;
use vodgate::vod::signature::{self, MacCheck};
use vodgate::web::Cors;
use vodgate::web::metrics::Outcome;
use vodgate::web::serve::{BoxError, ServerLimits};

mod dev;

use dev::DevKeys;

#[derive(Parser)]
#[command(
    version,
    about = "Run vodgate locally, mint dev tokens, inspect signatures, see events"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve both functions locally (the default command).
    Serve {
        #[arg(long, default_value_t = 8080)]
        port: u16,
        #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
        host: IpAddr,
    },
    /// Print a dev JWT signed with JWT_HS256_SECRET (or the generated dev secret).
    Token {
        #[arg(long, default_value = dev::DEV_SUB)]
        sub: String,
        /// Scopes, space-separated (default: UPLOAD_SCOPE or vod:upload).
        #[arg(long)]
        scope: Option<String>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 86_400)]
        ttl: u64,
    },
    /// Decode an upload signature, check its HMAC and list what VOD would object to.
    Inspect {
        signature: String,
        /// The VOD SecretKey to check the HMAC with.
        #[arg(long, env = "VOD_SECRET_KEY", hide_env_values = true)]
        key: Option<String>,
    },
    /// List the events stored in the local SQLite sink.
    Events {
        /// Print each stored envelope as one JSON line.
        #[arg(long)]
        json: bool,
        /// Keep printing new events as they arrive.
        #[arg(long)]
        follow: bool,
    },
    /// Post a callback body (e.g. tests/fixtures/callbacks/*.json) to a running vodgate, with a
    /// fresh Sign/T from the callback key, as VOD would send it.
    Callback {
        /// A JSON file holding the callback body.
        file: std::path::PathBuf,
        /// The events URL.
        #[arg(long, default_value = "http://127.0.0.1:8080/v1/vod/events")]
        url: String,
    },
    /// Mint a token, get a signature, post the NewFileUpload callback VOD would send for it, and
    /// show the stored event attributed to the dev user.
    Simulate {
        /// A running vodgate to use; by default a private one is started for the run.
        #[arg(long)]
        url: Option<String>,
    },
    /// Pull events from VOD's reliable-callback queue (Mode=PULL) into EVENT_SINK (by default
    /// the local store `vodgate serve` uses), confirming each only once stored.
    Pull {
        /// Drain what is queued now, print a summary and exit.
        #[arg(long)]
        once: bool,
    },
    /// Show or change VOD's event configuration (DescribeEventConfig / ModifyEventConfig).
    VodConfig {
        #[command(subcommand)]
        command: VodConfigCommand,
    },
}

#[derive(Subcommand)]
enum VodConfigCommand {
    /// Print the current event configuration.
    Show,
    /// Change what is given; everything else stays as it is.
    Set {
        /// PUSH: VOD posts each event to --url. PULL: events wait for `vodgate pull` (or the
        /// pull function).
        #[arg(long, value_name = "PUSH|PULL")]
        mode: Option<Mode>,
        /// The v3.0 callback URL (the deployment's CallbackUrl output); "" clears it.
        #[arg(long)]
        url: Option<String>,
        /// Set VOD's SignKey to the current (first) key of VOD_CALLBACK_KEYS.
        #[arg(long)]
        sign_key: bool,
        /// NewFileUpload events.
        #[arg(long, value_name = "ON|OFF")]
        upload_media_complete: Option<Switch>,
        /// FileDeleted events.
        #[arg(long, value_name = "ON|OFF")]
        delete_media_complete: Option<Switch>,
        /// PersistenceComplete events.
        #[arg(long, value_name = "ON|OFF")]
        persistence_complete: Option<Switch>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let env = Env::from_process();
    vodgate::web::telemetry::init(&env);
    vodgate::web::serve::main(async move {
        let command = cli.command.unwrap_or(Command::Serve {
            port: 8080,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
        });
        // vod-config changes the real VOD account: it must never act on a dev default.
        let process_env = env.clone();
        let (env, keys) = dev_env(env)?;
        match command {
            Command::Serve { port, host } => serve(env, SocketAddr::new(host, port)).await,
            Command::Token { sub, scope, ttl } => {
                println!("{}", mint(&env, &sub, scope, ttl)?);
                Ok(())
            }
            Command::Inspect { signature, key } => {
                inspect(&signature, key.as_deref());
                Ok(())
            }
            Command::Events { json, follow } => list_events(&env, json, follow).await,
            Command::Callback { file, url } => post_callback(&env, &file, &url).await,
            Command::Simulate { url } => simulate(env, &keys, url).await,
            Command::Pull { once } => pull(&env, once).await,
            Command::VodConfig { command } => vod_config(&process_env, command).await,
        }
    })
    .await
}

/// The process environment with the dev defaults filled in where nothing is set.
fn dev_env(mut env: Env) -> Result<(Env, DevKeys), BoxError> {
    let keys = DevKeys::load_or_create(Path::new(dev::DEV_DIR))?;
    keys.apply_defaults(&mut env);
    env.set_default("CORS_ALLOWED_ORIGINS", "*");
    Ok((env, keys))
}

/// Both functions' routes on one router, as the dev server serves them.
async fn dev_app(env: &Env) -> Result<Router, BoxError> {
    let sign_state = SignState::from_env(env).await?;
    let events_state = EventsState::from_env(env).await?;
    let app = sign::routes(sign_state).merge(push::routes(events_state));
    let metric = |outcome: &Outcome<'_>| sign::metric(outcome).or_else(|| push::metric(outcome));
    Ok(vodgate::web::finish(app, &Cors::from_env(env)?, metric))
}

async fn serve(env: Env, addr: SocketAddr) -> Result<(), BoxError> {
    if dev::uses_placeholder_credentials(&env) {
        tracing::warn!(
            "VOD_SECRET_ID/VOD_SECRET_KEY are not set: signatures use PLACEHOLDER credentials and VOD will reject them. Export your real VOD keys to upload for real."
        );
    }
    let app = dev_app(&env).await?;
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let token = mint(&env, dev::DEV_SUB, None, 7 * 86_400)?;
    println!(
        "vodgate dev server on http://{addr}\n\n\
         dev token (sub={sub}, valid 7 days; mint another with `vodgate token`):\n\
         \x20 export TOKEN={token}\n\n\
         try:\n\
         \x20 curl -s -X POST -H \"Authorization: Bearer $TOKEN\" http://{addr}{route}\n\
         \x20 vodgate simulate --url http://{addr}   # a whole upload round trip\n\
         \x20 vodgate events --follow                # what the events function stored\n",
        sub = dev::DEV_SUB,
        route = sign::ROUTE,
    );
    vodgate::web::serve::serve_http(app, listener, ServerLimits::default()).await?;
    Ok(())
}

fn mint(env: &Env, sub: &str, scope: Option<String>, ttl: u64) -> Result<String, BoxError> {
    let secrets =
        vodgate::platform::secret::SecretList::parse(env.get("JWT_HS256_SECRET").unwrap_or(""))
            .map_err(|e| format!("JWT_HS256_SECRET {e}"))?;
    let scope = scope.unwrap_or_else(|| {
        env.non_empty("UPLOAD_SCOPE")
            .unwrap_or(sign::DEFAULT_UPLOAD_SCOPE)
            .to_owned()
    });
    Ok(dev::mint_token(secrets.current(), sub, &scope, ttl)?)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn inspect(signature: &str, key: Option<&str>) {
    let report = signature::inspect(signature, key.map(str::as_bytes), unix_now());
    match report.mac {
        MacCheck::Valid => println!("HMAC: valid for the given key"),
        MacCheck::Invalid => println!("HMAC: DOES NOT MATCH the given key"),
        MacCheck::NotChecked => println!("HMAC: not checked (pass --key or set VOD_SECRET_KEY)"),
    }
    if !report.params.is_empty() {
        println!("parameters:");
        for (name, value) in &report.params {
            println!("  {name} = {value:?}");
        }
    }
    if report.problems.is_empty() {
        println!("problems: none");
    } else {
        println!("problems:");
        for problem in &report.problems {
            println!("  - {problem}");
        }
    }
}

async fn local_sqlite(env: &Env) -> Result<SqliteSink, BoxError> {
    match Sink::from_env(env).await? {
        Sink::Sqlite(sink) => Ok(sink),
        other => Err(format!(
            "EVENT_SINK is {}; `vodgate events` reads only a local sqlite: sink",
            other.describe()
        )
        .into()),
    }
}

async fn list_events(env: &Env, json: bool, follow: bool) -> Result<(), BoxError> {
    let sink = local_sqlite(env).await?;
    let mut after = 0;
    loop {
        for event in sink.list(after, 1000)? {
            after = event.seq;
            if json {
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
        if !follow {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn post_callback(env: &Env, file: &Path, url: &str) -> Result<(), BoxError> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut body: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", file.display()))?;
    let object = body.as_object_mut().ok_or_else(|| {
        format!(
            "{}: the callback body must be a JSON object",
            file.display()
        )
    })?;
    if let Some(key) = env
        .non_empty("VOD_CALLBACK_KEYS")
        .and_then(|k| k.split(',').next())
    {
        let t = i64::try_from(unix_now()).unwrap_or(i64::MAX) + 600;
        let key = vodgate::platform::secret::Secret::new(key.trim());
        object.insert(
            "Sign".into(),
            vodgate::vod::callback_auth::sign_for(&key, t).into(),
        );
        object.insert("T".into(), t.into());
    }
    let response = reqwest::Client::new()
        .post(url)
        .body(body.to_string())
        .send()
        .await?;
    println!("{} {}", response.status(), response.text().await?);
    Ok(())
}

async fn simulate(env: Env, keys: &DevKeys, url: Option<String>) -> Result<(), BoxError> {
    let base = match url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => {
            let app = dev_app(&env).await?;
            let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
            let addr = listener.local_addr()?;
            tokio::spawn(async move { axum::serve(listener, app).await });
            format!("http://{addr}")
        }
    };
    let http = reqwest::Client::new();

    let token = mint(&env, dev::DEV_SUB, None, 600)?;
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
    let report = signature::inspect(signature, None, unix_now());
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
        i64::try_from(unix_now()).unwrap_or(i64::MAX),
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

    let sink = local_sqlite(&env).await?;
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

/// Refuses the placeholder dev credentials for commands that call VOD's API.
fn require_real_credentials(env: &Env) -> Result<(), BoxError> {
    if dev::uses_placeholder_credentials(env) {
        return Err("VOD_SECRET_ID/VOD_SECRET_KEY are not set: export your Tencent Cloud API key pair to call VOD".into());
    }
    Ok(())
}

async fn pull(env: &Env, once: bool) -> Result<(), BoxError> {
    require_real_credentials(env)?;
    let puller = Puller::from_env(env).await?;
    if once {
        let report = puller.drain().await?;
        println!("{}", report.to_json());
        if report.failed + report.rejected > 0 {
            return Err(format!(
                "{} events were not stored; VOD delivers them again in 30 s",
                report.failed + report.rejected
            )
            .into());
        }
        return Ok(());
    }
    tracing::info!(sink = %puller.sink().describe(), "pulling VOD events until Ctrl-C");
    let report = puller.run(vodgate::web::serve::shutdown_signal()).await?;
    println!("{}", report.to_json());
    Ok(())
}

/// Shows or changes VOD's event configuration. `env` is the process environment without dev
/// defaults, so `--sign-key` can only send a key the operator configured (in the environment
/// or the `VODGATE_SECRET_ARN` secret).
async fn vod_config(env: &Env, command: VodConfigCommand) -> Result<(), BoxError> {
    let api = vodgate::pull::vod_api(env)?;
    let source = SecretsManager::from_env(env).await?;
    let keys = Keys::load(env, source, |keys: &KeySet| Ok(keys.clone()))
        .await?
        .current()
        .await;
    let credentials = vodgate::pull::api_credentials(&keys)?;
    match command {
        VodConfigCommand::Show => {
            let config = api.describe_event_config(&credentials).await?;
            let mut rows = vec![
                ("Mode", config.mode),
                ("NotificationUrl", config.notification_url),
                (
                    "UploadMediaCompleteEventSwitch",
                    config.upload_media_complete_event_switch,
                ),
                (
                    "DeleteMediaCompleteEventSwitch",
                    config.delete_media_complete_event_switch,
                ),
                (
                    "PersistenceCompleteEventSwitch",
                    config.persistence_complete_event_switch,
                ),
            ];
            rows.extend(config.other.iter().map(|(k, v)| {
                (
                    k.as_str(),
                    Some(v.as_str().map_or_else(|| v.to_string(), str::to_owned)),
                )
            }));
            for (name, value) in rows {
                println!("{name:<32} {}", value.as_deref().unwrap_or("-"));
            }
            println!(
                "(VOD never returns the SignKey; `set --sign-key` sets it from VOD_CALLBACK_KEYS)"
            );
            Ok(())
        }
        VodConfigCommand::Set {
            mode,
            url,
            sign_key,
            upload_media_complete,
            delete_media_complete,
            persistence_complete,
        } => {
            if let Some(url) = url.as_deref().filter(|u| !u.is_empty()) {
                let parsed = reqwest::Url::parse(url).map_err(|e| format!("--url: {e}"))?;
                if !matches!(parsed.scheme(), "https" | "http") {
                    return Err("--url must be an http(s) URL".into());
                }
            }
            let sign_key = if sign_key {
                // The same rule the events function holds SignKeys to (letters and digits, ≤ 32).
                let list = keys
                    .list("VOD_CALLBACK_KEYS")?
                    .ok_or("--sign-key: VOD_CALLBACK_KEYS is not set")?;
                CallbackKeys::new(Some(list.clone()), None)
                    .map_err(|e| format!("VOD_CALLBACK_KEYS: {e}"))?;
                Some(list.current().clone())
            } else {
                None
            };
            let change = EventConfigChange {
                mode,
                notification_url: url,
                upload_media_complete_event_switch: upload_media_complete,
                delete_media_complete_event_switch: delete_media_complete,
                persistence_complete_event_switch: persistence_complete,
                sign_key,
            };
            if change.is_empty() {
                return Err("nothing to change: give --mode, --url, --sign-key or a switch".into());
            }
            let request_id = api.modify_event_config(&credentials, &change).await?;
            println!(
                "updated (RequestId {request_id}); `vodgate vod-config show` prints the result"
            );
            Ok(())
        }
    }
}
