//! `vodgate serve` (and `vodgate` alone): both functions on one local server.
//!
//! The dev server is the production routers merged on one port, so what a developer tries locally
//! is what the functions answer when deployed; only the keys and the sink are dev defaults. Its
//! banner prints a ready-to-use token, because the first thing anyone wants is one request that
//! works.

use std::io;

use axum::Router;
use tokio::net::TcpListener;
use vodgate::ingest::uploads::limits::UploadLimits;
use vodgate::platform::config::Env;
use vodgate::push::{self, EventsState};
use vodgate::sign::{self, SignState};
use vodgate::web::Cors;
use vodgate::web::metrics::Outcome;
use vodgate::web::serve::{BoxError, ServerLimits};

use crate::failure::Failure;
use crate::state::StateDir;
use crate::{dev, timefmt, token, vod_standin};

#[derive(clap::Args)]
#[command(after_help = "\
Examples:
  vodgate serve                       # http://127.0.0.1:8080
  PORT=8082 vodgate                   # another port (--port wins over PORT)
  vodgate serve --host 0.0.0.0        # reachable from other machines too
  vodgate --state-dir /tmp/demo serve # other keys and another store")]
pub struct Args {
    /// The TCP port (0 picks a free one)
    #[arg(long, env = "PORT", default_value_t = 8080)]
    port: u16,
    /// The address or host name (0.0.0.0: all interfaces)
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
}

impl Args {
    /// What `vodgate` with no command serves: the same as `vodgate serve`, `PORT` included.
    pub fn from_env() -> Self {
        #[derive(clap::Parser)]
        struct Defaults {
            #[command(flatten)]
            args: Args,
        }
        <Defaults as clap::Parser>::parse_from(["vodgate"]).args
    }
}

pub async fn run(args: Args, env: &Env, state: &StateDir) -> Result<(), BoxError> {
    if dev::uses_placeholder_credentials(env) {
        tracing::warn!(
            "VOD_SECRET_ID and VOD_SECRET_KEY are not set: signatures use PLACEHOLDER credentials and VOD will reject them. Export your real VOD key pair to upload for real."
        );
    }
    let listener = TcpListener::bind((args.host.as_str(), args.port))
        .await
        .map_err(|e| cannot_listen(&args, &e))?;
    let app = dev_app(env).await?;
    let addr = listener.local_addr()?;
    let ttl = token::default_ttl();
    let token = token::mint(env, dev::DEV_SUB, None, ttl)?;
    println!(
        "vodgate dev server on http://{addr}\n\
         state (dev keys, events.sqlite): {state}\n\n\
         dev token (sub={sub}, valid {valid}; mint another with `vodgate token`):\n\
         \x20 export TOKEN={token}\n\n\
         try:\n\
         \x20 curl -s -X POST -H \"Authorization: Bearer $TOKEN\" http://{addr}{route}\n\
         \x20 curl -s -H \"Authorization: Bearer $TOKEN\" http://{addr}{route}   # your uploads\n\
         \x20 vodgate simulate --url http://{addr}   # an upload from waiting to ready\n\
         \x20 vodgate uploads                        # every local upload and its status\n\
         \x20 vodgate events --follow                # what the events function stores next\n",
        sub = dev::DEV_SUB,
        valid = timefmt::duration(ttl),
        route = sign::UPLOADS_ROUTE,
    );
    vodgate::web::serve::serve_http(app, listener, ServerLimits::default()).await?;
    Ok(())
}

/// Why the server could not listen, and which setting to change.
fn cannot_listen(args: &Args, error: &io::Error) -> Failure {
    let (host, port) = (&args.host, args.port);
    match error.kind() {
        io::ErrorKind::AddrInUse => Failure::new(format!(
            "port {port} on {host} is already in use"
        ))
        .hint(
            "pick another with --port N or PORT=N (0 picks a free one), or stop what listens there",
        ),
        io::ErrorKind::PermissionDenied => {
            Failure::new(format!("not allowed to listen on port {port}: {error}"))
                .hint("ports below 1024 need privileges: pick another with --port N or PORT=N")
        }
        _ => Failure::new(format!("cannot listen on {host}:{port}: {error}")).hint(
            "--host takes an address or a name of this machine: 127.0.0.1, localhost, 0.0.0.0",
        ),
    }
}

/// Both functions' routes on one router, as the dev server serves them. With an upload limit,
/// the dev placeholder keys and no `VOD_API_ENDPOINT`, media deletions go to a local stand-in of
/// VOD's API ([`crate::vod_standin`]): the placeholder keys open no account.
pub async fn dev_app(env: &Env) -> Result<Router, BoxError> {
    let mut env = env.clone();
    if UploadLimits::from_env(&env)?.enforces()
        && dev::uses_placeholder_credentials(&env)
        && env.non_empty("VOD_API_ENDPOINT").is_none()
    {
        let standin = vod_standin::start().await?;
        eprintln!(
            "note: upload limits delete media through a local stand-in of VOD's API at {standin} \
             (the dev keys open no account; set VOD_SECRET_ID/VOD_SECRET_KEY for a real one)"
        );
        env.set_default("VOD_API_ENDPOINT", standin);
    }
    let env = &env;
    let sign_state = SignState::from_env(env).await?;
    let events_state = EventsState::from_env(env).await?;
    let app = sign::routes(sign_state).merge(push::routes(events_state));
    let metric = |outcome: &Outcome<'_>| sign::metric(outcome).or_else(|| push::metric(outcome));
    Ok(vodgate::web::finish(app, &Cors::from_env(env)?, metric))
}
