//! Run modes: one binary, three hosts.
//!
//! Under AWS Lambda (`AWS_LAMBDA_RUNTIME_API` is set) the router runs inside `lambda_http`,
//! which turns API Gateway HTTP API (payload v2) events into requests. Anywhere else it is a
//! plain HTTP server on `0.0.0.0:$PORT`, which is also exactly what a Tencent SCF web function
//! runs (its `scf_bootstrap` starts the binary on port 9000). The router is the same value in
//! every mode, so every mode gives the same answers.

use std::future::Future;
use std::net::SocketAddr;
use std::process::ExitCode;

use axum::Router;
use tokio::net::TcpListener;

use crate::config::{self, Env};

/// Any error, for binaries' top level.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Serves `app` in the mode the environment calls for, until shutdown.
pub async fn serve(app: Router, env: &Env) -> Result<(), BoxError> {
    if env.get("AWS_LAMBDA_RUNTIME_API").is_some() {
        return lambda_http::run(app).await;
    }
    let port = config::port(env)?;
    let listener = TcpListener::bind(SocketAddr::from(([0, 0, 0, 0], port))).await?;
    serve_http(app, listener).await?;
    Ok(())
}

/// A plain HTTP server on `listener`. Logs the bound address (useful with port 0), and on
/// SIGTERM or Ctrl-C stops accepting and lets in-flight requests finish before returning.
pub async fn serve_http(app: Router, listener: TcpListener) -> std::io::Result<()> {
    tracing::info!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

/// Runs a binary's body: logs a start-up failure as one line and exits non-zero.
pub async fn main<F, E>(body: F) -> ExitCode
where
    F: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    match body.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            ExitCode::FAILURE
        }
    }
}
