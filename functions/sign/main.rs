//! The `sign` function: `POST /v1/upload-signature` mints a Tencent VOD upload signature for an
//! authenticated caller. Runs under AWS Lambda, as a Tencent SCF web function, or as a plain
//! HTTP server; see `vodgate::serve`.

use std::process::ExitCode;

use vodgate::config::Env;
use vodgate::http::Cors;
use vodgate::sign::{self, SignState};

#[tokio::main]
async fn main() -> ExitCode {
    let env = Env::from_process();
    vodgate::telemetry::init(&env);
    vodgate::serve::main(async {
        let cors = Cors::from_env(&env)?;
        let state = SignState::from_env(&env).await?;
        vodgate::serve::serve(sign::app(state, &cors), &env).await
    })
    .await
}
