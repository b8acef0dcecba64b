//! `vodgate serve` (and `vodgate` alone): both functions on one local server.
//!
//! The dev server is the production routers merged on one port, so what a developer tries locally
//! is what the functions answer when deployed; only the keys and the sink are dev defaults. Its
//! banner prints a ready-to-use token, because the first thing anyone wants is one request that
//! works.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::Router;
use tokio::net::TcpListener;
use vodgate::platform::config::Env;
use vodgate::push::{self, EventsState};
use vodgate::sign::{self, SignState};
use vodgate::web::Cors;
use vodgate::web::metrics::Outcome;
use vodgate::web::serve::{BoxError, ServerLimits};

use crate::{dev, token};

/// The port `vodgate` serves on when none is given.
const DEFAULT_PORT: u16 = 8080;

#[derive(clap::Args)]
pub struct Args {
    /// The TCP port to listen on (0 picks a free one; the banner shows which).
    #[arg(long, default_value_t = DEFAULT_PORT)]
    port: u16,
    /// The address to listen on; 0.0.0.0 serves other machines too.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,
}

impl Default for Args {
    /// What `vodgate` with no command serves: the same as `vodgate serve`.
    fn default() -> Self {
        Self {
            port: DEFAULT_PORT,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
        }
    }
}

pub async fn run(args: Args, env: &Env) -> Result<(), BoxError> {
    if dev::uses_placeholder_credentials(env) {
        tracing::warn!(
            "VOD_SECRET_ID/VOD_SECRET_KEY are not set: signatures use PLACEHOLDER credentials and VOD will reject them. Export your real VOD keys to upload for real."
        );
    }
    let app = dev_app(env).await?;
    let listener = TcpListener::bind(SocketAddr::new(args.host, args.port)).await?;
    let addr = listener.local_addr()?;
    let token = token::mint(env, dev::DEV_SUB, None, 7 * 86_400)?;
    println!(
        "vodgate dev server on http://{addr}\n\n\
         dev token (sub={sub}, valid 7 days; mint another with `vodgate token`):\n\
         \x20 export TOKEN={token}\n\n\
         try:\n\
         \x20 curl -s -X POST -H \"Authorization: Bearer $TOKEN\" http://{addr}{route}\n\
         \x20 curl -s -H \"Authorization: Bearer $TOKEN\" http://{addr}{route}   # your uploads\n\
         \x20 vodgate simulate --url http://{addr}   # an upload from waiting to ready\n\
         \x20 vodgate uploads                        # every local upload and its status\n\
         \x20 vodgate events --follow                # what the events function stored\n",
        sub = dev::DEV_SUB,
        route = sign::UPLOADS_ROUTE,
    );
    vodgate::web::serve::serve_http(app, listener, ServerLimits::default()).await?;
    Ok(())
}

/// Both functions' routes on one router, as the dev server serves them.
pub async fn dev_app(env: &Env) -> Result<Router, BoxError> {
    let sign_state = SignState::from_env(env).await?;
    let events_state = EventsState::from_env(env).await?;
    let app = sign::routes(sign_state).merge(push::routes(events_state));
    let metric = |outcome: &Outcome<'_>| sign::metric(outcome).or_else(|| push::metric(outcome));
    Ok(vodgate::web::finish(app, &Cors::from_env(env)?, metric))
}
