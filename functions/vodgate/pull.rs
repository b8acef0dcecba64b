//! `vodgate pull`: take events from VOD's reliable-callback queue into a store.
//!
//! The same `Puller` the events function runs in pull mode, driven from a terminal: useful before
//! a deployment exists, and to drain a queue by hand. It calls VOD's real API, so unlike the other
//! commands it refuses to start on the placeholder dev credentials.

use vodgate::platform::config::Env;
use vodgate::pull::Puller;
use vodgate::web::serve::BoxError;

use crate::dev;

#[derive(clap::Args)]
pub struct Args {
    /// Drain what is queued now, print a summary and exit.
    #[arg(long)]
    once: bool,
}

pub async fn run(args: Args, env: &Env) -> Result<(), BoxError> {
    if dev::uses_placeholder_credentials(env) {
        return Err("VOD_SECRET_ID/VOD_SECRET_KEY are not set: export your Tencent Cloud API key pair to call VOD".into());
    }
    let puller = Puller::from_env(env).await?;
    if args.once {
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
