//! `vodgate`: the local developer tool.
//!
//! A newcomer should see an upload signed, a callback authenticated and an event stored without
//! an AWS account, a Tencent account or any configuration: with no arguments this serves both
//! functions on 127.0.0.1:8080 with generated dev keys (see `dev`) and a local SQLite event store.
//! The other commands work on what that server does, so they read the same dev keys: mint a token
//! it accepts, explain a signature it issued, post it a callback, list what it stored, or run a
//! whole upload's round trip; `pull` and `vod-config` reach the real VOD account.
//!
//! Each command lives in its own module, with its arguments beside the code that reads them; this
//! file only parses the command line and dispatches. Every command ends the same way (see
//! `failure`): exit 0 on success, 1 when it failed or found a problem (`error: …`, then `hint: …`
//! when there is something to do), 2 on a usage error; `--help` describes every argument.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use vodgate::platform::config::Env;
use vodgate::web::serve::BoxError;

mod callback;
mod dev;
mod events;
mod failure;
mod inspect;
mod pull;
mod serve;
mod simulate;
mod token;
mod uploads;
mod vod_config;
mod vod_standin;

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
    Serve(serve::Args),
    /// Print a dev JWT signed with JWT_HS256_SECRET (or the generated dev secret).
    Token(token::Args),
    /// Decode an upload signature, check its HMAC and list what VOD would object to.
    Inspect(inspect::Args),
    /// List the events stored in the local SQLite sink.
    Events(events::Args),
    /// List the uploads in the local SQLite uploads store, newest first, with their status.
    Uploads(uploads::Args),
    /// Post a callback body (e.g. tests/fixtures/callbacks/*.json) to a running vodgate, with a
    /// fresh Sign/T from the callback key, as VOD would send it.
    Callback(callback::Args),
    /// Create an upload, post the callbacks VOD would send for it (NewFileUpload, then its task
    /// flow's PROCESSING and FINISH) and show its status after each: waiting, uploaded,
    /// processing, ready.
    Simulate(simulate::Args),
    /// Pull events from VOD's reliable-callback queue (Mode=PULL) into EVENT_SINK (by default
    /// the local store `vodgate serve` uses), confirming each only once stored.
    Pull(pull::Args),
    /// Show or change VOD's event configuration (DescribeEventConfig / ModifyEventConfig).
    VodConfig(vod_config::Args),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let env = Env::from_process();
    vodgate::web::telemetry::init(&env);
    let command = cli
        .command
        .unwrap_or_else(|| Command::Serve(serve::Args::default()));
    failure::exit(command.run(env).await)
}

impl Command {
    async fn run(self, process_env: Env) -> Result<(), BoxError> {
        let (env, keys) = dev::dev_env(process_env.clone())?;
        match self {
            Self::Serve(args) => serve::run(args, &env).await,
            Self::Token(args) => token::run(args, &env),
            Self::Inspect(args) => inspect::run(&args),
            Self::Events(args) => events::run(args, &env).await,
            Self::Uploads(args) => uploads::run(args, &env).await,
            Self::Callback(args) => callback::run(args, &env).await,
            Self::Simulate(args) => simulate::run(args, &env, &keys).await,
            Self::Pull(args) => pull::run(args, &env).await,
            // vod-config changes the real VOD account: it must never act on a dev default.
            Self::VodConfig(args) => vod_config::run(args, &process_env).await,
        }
    }
}
