//! `vodgate`: the local developer tool. With no arguments it serves both functions on
//! 127.0.0.1:8080 with generated dev keys; `vodgate token` mints a dev JWT; `vodgate inspect`
//! explains an upload signature.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use axum::routing::post;
use clap::{Parser, Subcommand};
use vodgate::config::Env;
use vodgate::dev::{self, DevKeys};
use vodgate::http::{ApiError, Cors};
use vodgate::serve::BoxError;
use vodgate::sign::{self, SignState};
use vodgate::signature::{self, MacCheck};

#[derive(Parser)]
#[command(
    version,
    about = "Run vodgate locally, mint dev tokens, inspect VOD upload signatures"
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
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let env = Env::from_process();
    vodgate::telemetry::init(&env);
    vodgate::serve::main(async move {
        match cli.command.unwrap_or(Command::Serve {
            port: 8080,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
        }) {
            Command::Serve { port, host } => serve(env, SocketAddr::new(host, port)).await,
            Command::Token { sub, scope, ttl } => token(env, &sub, scope, ttl),
            Command::Inspect { signature, key } => {
                inspect(&signature, key.as_deref());
                Ok(())
            }
        }
    })
    .await
}

fn dev_env(mut env: Env) -> Result<(Env, DevKeys), BoxError> {
    let keys = DevKeys::load_or_create(Path::new(dev::DEV_DIR))?;
    keys.apply_defaults(&mut env);
    env.set_default("CORS_ALLOWED_ORIGINS", "*");
    Ok((env, keys))
}

async fn serve(env: Env, addr: SocketAddr) -> Result<(), BoxError> {
    let (env, _) = dev_env(env)?;
    if dev::uses_placeholder_credentials(&env) {
        tracing::warn!(
            "VOD_SECRET_ID/VOD_SECRET_KEY are not set: signatures use PLACEHOLDER credentials and VOD will reject them. Export your real VOD keys to upload for real."
        );
    }
    let state = SignState::from_env(&env).await?;
    let app = sign::routes(state).route("/v1/vod/events", post(events_not_yet));
    let app = vodgate::http::finish(app, &Cors::from_env(&env)?);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let token = mint(&env, dev::DEV_SUB, None, 7 * 86_400)?;
    println!(
        "vodgate dev server on http://{addr}\n\n\
         dev token (sub={sub}, valid 7 days; mint another with `vodgate token`):\n\
         \x20 export TOKEN={token}\n\n\
         try:\n\
         \x20 curl -s -X POST -H \"Authorization: Bearer $TOKEN\" http://{addr}{route}\n",
        sub = dev::DEV_SUB,
        route = sign::ROUTE,
    );
    vodgate::serve::serve_http(app, listener).await?;
    Ok(())
}

async fn events_not_yet() -> ApiError {
    ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        "not_implemented",
        "the events function is not built yet",
    )
}

fn mint(env: &Env, sub: &str, scope: Option<String>, ttl: u64) -> Result<String, BoxError> {
    let secrets = vodgate::secret::SecretList::parse(env.get("JWT_HS256_SECRET").unwrap_or(""))
        .map_err(|e| format!("JWT_HS256_SECRET {e}"))?;
    let scope = scope.unwrap_or_else(|| {
        env.non_empty("UPLOAD_SCOPE")
            .unwrap_or(sign::DEFAULT_UPLOAD_SCOPE)
            .to_owned()
    });
    Ok(dev::mint_token(secrets.current(), sub, &scope, ttl)?)
}

fn token(env: Env, sub: &str, scope: Option<String>, ttl: u64) -> Result<(), BoxError> {
    let (env, _) = dev_env(env)?;
    println!("{}", mint(&env, sub, scope, ttl)?);
    Ok(())
}

fn inspect(signature: &str, key: Option<&str>) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let report = signature::inspect(signature, key.map(str::as_bytes), now);
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
