//! `vodgate pull`: take events from VOD's reliable-callback queue into a store.
//!
//! The same `Puller` the events function runs in pull mode, driven from a terminal: useful before
//! a deployment exists, and to drain a queue by hand. It calls VOD's real API, so unlike the other
//! commands it refuses to start on the placeholder dev credentials.

use vodgate::platform::config::Env;
use vodgate::pull::Puller;
use vodgate::web::serve::BoxError;

use crate::dev;
use crate::failure::Failure;

#[derive(clap::Args)]
#[command(after_help = "\
Needs the real VOD_SECRET_ID/VOD_SECRET_KEY; exits 1 if an event could not be stored.

Examples:
  vodgate pull --once                          # drain the queue into the local store
  EVENT_SINK=sqs:$QUEUE_URL vodgate pull        # pull until Ctrl-C, into SQS")]
pub struct Args {
    /// Drain what is queued now, print a summary and exit (default: pull until Ctrl-C).
    #[arg(long)]
    once: bool,
}

pub async fn run(args: Args, env: &Env) -> Result<(), BoxError> {
    if dev::uses_placeholder_credentials(env) {
        return Err(Failure::new(
            "VOD_SECRET_ID/VOD_SECRET_KEY are not set: pulling calls the real VOD API",
        )
        .hint("export your Tencent Cloud API key pair as VOD_SECRET_ID and VOD_SECRET_KEY")
        .into());
    }
    let puller = Puller::from_env(env).await?;
    if args.once {
        let report = puller.drain().await?;
        println!("{}", report.to_json());
        if report.failed + report.rejected > 0 {
            return Err(Failure::new(format!(
                "{} events were not stored",
                report.failed + report.rejected
            ))
            .hint("VOD delivers them again in 30 s: run `vodgate pull --once` again then")
            .into());
        }
        return Ok(());
    }
    tracing::info!(sink = %puller.sink().describe(), "pulling VOD events until Ctrl-C");
    let report = puller.run(vodgate::web::serve::shutdown_signal()).await?;
    println!("{}", report.to_json());
    Ok(())
}
