//! The `events` function: `POST /v1/vod/events` authenticates a Tencent VOD callback, attributes
//! it to the uploader and stores it durably before answering. Runs under AWS Lambda, as a
//! Tencent SCF web function, or as a plain HTTP server; see `vodgate::web::serve`.
//!
//! With `VODGATE_MODE=pull` the same binary pulls events from VOD's reliable-callback queue
//! instead (under Lambda on a schedule, elsewhere as a loop); see `vodgate::pull`.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use vodgate::platform::config::Env;
use vodgate::pull::{self, Puller, RunMode};
use vodgate::push::{self, EventsState};
use vodgate::web::Cors;

#[tokio::main]
async fn main() -> ExitCode {
    let env = Env::from_process();
    vodgate::web::telemetry::init(&env);
    vodgate::web::serve::main(async {
        if RunMode::from_env(&env)? == RunMode::Pull {
            let puller = Puller::from_env(&env).await?;
            return pull::serve(puller, &env).await;
        }
        let cors = Cors::from_env(&env)?;
        let state = EventsState::from_env(&env).await?;
        vodgate::web::serve::serve(push::app(state, &cors), &env).await
    })
    .await
}
