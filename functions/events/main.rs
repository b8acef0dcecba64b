//! The `events` function: receives Tencent VOD event callbacks. Its ingestion pipeline is the
//! next milestone (issue 3); until then it serves only `GET /healthz`.

use std::process::ExitCode;

use axum::Router;
use axum::routing::get;
use vodgate::config::Env;
use vodgate::http::Cors;

#[tokio::main]
async fn main() -> ExitCode {
    let env = Env::from_process();
    vodgate::telemetry::init(&env);
    vodgate::serve::main(async {
        let cors = Cors::from_env(&env)?;
        let app = Router::new().route("/healthz", get(vodgate::http::healthz));
        vodgate::serve::serve(vodgate::http::finish(app, &cors), &env).await
    })
    .await
}
