//! The `sign` function: `POST /v1/upload-signature` mints a Tencent VOD upload signature for an
//! authenticated caller. Runs under AWS Lambda, as a Tencent SCF web function, or as a plain
//! HTTP server; see `vodgate::web::serve`.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use vodgate::platform::config::Env;
use vodgate::sign::{self, SignState};
use vodgate::web::Cors;

#[tokio::main]
async fn main() -> ExitCode {
    let env = Env::from_process();
    vodgate::web::telemetry::init(&env);
    vodgate::web::serve::main(async {
        let cors = Cors::from_env(&env)?;
        let state = SignState::from_env(&env).await?;
        vodgate::web::serve::serve(sign::app(state, &cors), &env).await
    })
    .await
}
