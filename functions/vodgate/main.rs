//! `vodgate`: the local developer tool.
//!
//! A newcomer should see an upload signed, a callback authenticated and an event stored without
//! an AWS account, a Tencent account or any configuration: with no arguments this serves both
//! functions on 127.0.0.1:8080 with generated dev keys (see `dev`) and a local SQLite event store,
//! both in one state directory (see `state`) that every command finds wherever it is run from.
//! The other commands work on what that server does, so they read the same dev keys: mint a token
//! it accepts, explain a signature it issued, post it a callback, list what it stored, or run a
//! whole upload's round trip; `pull` and `vod-config` reach the real VOD account.
//!
//! Each command lives in its own module, with its arguments beside the code that reads them; this
//! file only parses the command line and dispatches. Every command ends the same way (see
//! `failure`): exit 0 on success, 1 when it failed or found a problem (`error: …`, then `hint: …`
//! when there is something to do), 2 on a usage error; `--help` describes every argument.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use vodgate::platform::config::Env;
use vodgate::web::serve::BoxError;

use crate::state::StateDir;

mod callback;
mod dev;
mod events;
mod failure;
mod inspect;
mod migrate;
mod pull;
mod serve;
mod simulate;
mod state;
mod timefmt;
mod token;
mod uploads;
mod vod_config;
mod vod_standin;

/// What `vodgate --help` adds after the commands.
const AFTER_HELP: &str = "\
Exit status: 0 on success, 1 when the command failed or found a problem (the reason on stderr as
`error: …`, then `hint: …` when there is something to do), 2 on a usage error.

{STATE}

Examples:
  vodgate                                   # serve both functions on 127.0.0.1:8080 (PORT, --port)
  vodgate simulate                          # one upload from waiting to ready, no account needed
  export TOKEN=$(vodgate token --ttl 1h)    # a dev JWT the local server accepts
  vodgate events --follow                   # new events as the events function stores them";

#[derive(Parser)]
#[command(
    version,
    about = "Run vodgate locally, mint dev tokens, inspect signatures, see events",
    after_help = AFTER_HELP.replace("{STATE}", state::HELP)
)]
struct Cli {
    /// Where the dev keys and local store live (vodgate --help)
    #[arg(long, global = true, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve both functions locally (the default command).
    Serve(serve::Args),
    /// Print a dev JWT the local server accepts.
    Token(token::Args),
    /// Decode an upload signature and list what VOD would object to.
    Inspect(inspect::Args),
    /// List the events stored in the local SQLite store.
    Events(events::Args),
    /// List the local uploads, newest first, with their status.
    Uploads(uploads::Args),
    /// Post a callback body to a running vodgate, signed as VOD would.
    ///
    /// The body (e.g. tests/fixtures/callbacks/*.json) gets a fresh Sign/T from the callback key
    /// (VOD_CALLBACK_KEYS, or the dev key of the state directory).
    #[command(verbatim_doc_comment)]
    Callback(callback::Args),
    /// Play one upload from waiting to ready, posting the callbacks VOD would send.
    ///
    /// Creates an upload, posts NewFileUpload, then its task flow's PROCESSING and FINISH, and
    /// shows its status after each: waiting, uploaded, processing, ready.
    #[command(verbatim_doc_comment)]
    Simulate(simulate::Args),
    /// Pull events from VOD's reliable-callback queue (Mode=PULL) into EVENT_SINK.
    ///
    /// By default into the local store `vodgate serve` uses; each event is confirmed to VOD only
    /// once stored.
    #[command(verbatim_doc_comment)]
    Pull(pull::Args),
    /// Show or change VOD's event configuration (the real account).
    VodConfig(vod_config::Args),
    /// Create vodgate's PostgreSQL tables (for functions without the right to).
    Migrate(migrate::Args),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let env = Env::from_process();
    vodgate::web::telemetry::init(&env);
    let command = cli
        .command
        .unwrap_or_else(|| Command::Serve(serve::Args::from_env()));
    failure::exit(command.run(env, cli.state_dir).await)
}

impl Command {
    /// Runs the command. Every command but `vod-config` and `migrate` (which act on real
    /// accounts and must never use a dev default) works in the state directory; `inspect` only reads the dev
    /// keys, the others fill the environment's gaps with them, creating them on first use.
    async fn run(self, process_env: Env, state_dir: Option<PathBuf>) -> Result<(), BoxError> {
        let state = || -> Result<StateDir, BoxError> {
            Ok(StateDir::resolve(
                state_dir.as_deref(),
                &process_env,
                &std::env::current_dir()?,
            )?)
        };
        let dev = |state: &StateDir| dev::dev_env(process_env.clone(), state);
        match self {
            Self::VodConfig(args) => vod_config::run(args, &process_env).await,
            Self::Migrate(args) => migrate::run(args, &process_env).await,
            Self::Inspect(args) => inspect::run(&args, &process_env, &state()?),
            Self::Serve(args) => {
                let state = state()?;
                serve::run(args, &dev(&state)?.0, &state).await
            }
            Self::Token(args) => token::run(args, &dev(&state()?)?.0),
            Self::Events(args) => events::run(args, &dev(&state()?)?.0).await,
            Self::Uploads(args) => uploads::run(args, &dev(&state()?)?.0).await,
            Self::Callback(args) => {
                let state = state()?;
                callback::run(args, &dev(&state)?.0, &state).await
            }
            Self::Simulate(args) => {
                let state = state()?;
                let (env, keys) = dev(&state)?;
                simulate::run(args, &env, &keys, &state).await
            }
            Self::Pull(args) => pull::run(args, &dev(&state()?)?.0).await,
        }
    }
}
