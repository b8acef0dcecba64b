//! Run modes: one binary, three hosts.
//!
//! Under AWS Lambda (`AWS_LAMBDA_RUNTIME_API` is set) the router runs inside `lambda_http`,
//! which turns API Gateway HTTP API (payload v2) events into requests. Anywhere else it is a
//! plain HTTP server on `0.0.0.0:$PORT`, which is also exactly what a Tencent SCF web function
//! runs (its `scf_bootstrap` starts the binary on port 9000). The router is the same value in
//! every mode, so every mode gives the same answers.
//!
//! Behind API Gateway the gateway bounds header sizes and request times; a plain HTTP server
//! faces clients itself, so it bounds them here (see [`ServerLimits`]): a client that sends its
//! head or body slowly, or sends huge headers, costs one connection for a bounded time and a
//! bounded buffer, and then an answer (431 or 408) or a closed connection. At most
//! `MAX_CONNECTIONS` connections are served at once; beyond it the server stops accepting until
//! one ends (new clients wait in the kernel's listen queue, or are refused by it when that is
//! full), so a connection flood costs bounded memory. An answer after which
//! the connection closes says `Connection: close` ([`conn`]).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::process::ExitCode;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::time::{Instant, Sleep};

use self::conn::{EnvelopeIo, ReadToEnd};
use super::BodyTimeout;
use crate::platform::config::{self, ConfigError, Env};

/// Any error, for binaries' top level.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The most header bytes (request line and headers) a plain-HTTP client may send: 16 KiB, above
/// API Gateway HTTP API's 10 KiB, so nothing that passes the gateway is refused here. Beyond it
/// hyper answers 431.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// At most this many header fields per request (hyper answers 431 beyond it).
const MAX_HEADERS: usize = 64;

mod conn;

/// The default of `MAX_CONNECTIONS`.
const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// The default of `REQUEST_TIMEOUT_SECONDS`.
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How a plain-HTTP server bounds each client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// How long a client has to send a request's head, and then its whole body
    /// (`REQUEST_TIMEOUT_SECONDS`, 1..=60, default 10). A keep-alive connection with no new
    /// request for this long is closed too. A late head closes the connection; a late body is
    /// answered 408 `request_timeout`.
    pub(crate) request_timeout: Duration,
    /// Connections served at once (`MAX_CONNECTIONS`, 1..=1000000, default 1024).
    pub(crate) max_connections: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

impl ServerLimits {
    /// From `REQUEST_TIMEOUT_SECONDS` and `MAX_CONNECTIONS`.
    pub(crate) fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            request_timeout: env.seconds_in(
                "REQUEST_TIMEOUT_SECONDS",
                DEFAULT_REQUEST_TIMEOUT,
                1..=60,
            )?,
            max_connections: env.parse_in(
                "MAX_CONNECTIONS",
                DEFAULT_MAX_CONNECTIONS,
                1..=1_000_000,
                "a whole number of connections",
            )?,
        })
    }
}

/// Serves `app` in the mode the environment calls for, until shutdown.
pub async fn serve(app: Router, env: &Env) -> Result<(), BoxError> {
    if env.get("AWS_LAMBDA_RUNTIME_API").is_some() {
        return lambda_http::run(app).await;
    }
    let port = config::port(env)?;
    let limits = ServerLimits::from_env(env)?;
    let listener = TcpListener::bind(SocketAddr::from(([0, 0, 0, 0], port))).await?;
    serve_http(app, listener, limits).await?;
    Ok(())
}

/// A plain HTTP/1.1 server on `listener`, bounded by `limits`. Logs the bound address (useful
/// with port 0), and on SIGTERM or Ctrl-C stops accepting and lets in-flight requests finish
/// before returning.
pub async fn serve_http(
    app: Router,
    listener: TcpListener,
    limits: ServerLimits,
) -> std::io::Result<()> {
    tracing::info!("listening on http://{}", listener.local_addr()?);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.request_timeout)
        .max_buf_size(MAX_HEADER_BYTES)
        .max_headers(MAX_HEADERS);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown_signal());
    let connections = std::sync::Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    loop {
        // At the cap, stop accepting until a connection ends.
        let permit = tokio::select! {
            permit = std::sync::Arc::clone(&connections).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(error) => {
                    // Out of file descriptors and the like: nothing a client did, and it passes;
                    // back off briefly rather than spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Answers are written whole; waiting to coalesce them only adds latency.
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let timeout = limits.request_timeout;
        let service = TowerToHyperService::new(tower::service_fn(
            move |request: hyper::Request<Incoming>| {
                let (parts, body) = request.into_parts();
                let (body, read) = ReadToEnd::new(body);
                let request = hyper::Request::from_parts(parts, DeadlineBody::new(body, timeout));
                let answer = tower::ServiceExt::oneshot(app.clone(), request);
                async move {
                    let mut response = answer.await?;
                    // hyper closes a connection whose request body was left unread: say so.
                    if !read.load(std::sync::atomic::Ordering::Relaxed) {
                        response.headers_mut().insert(
                            http::header::CONNECTION,
                            http::HeaderValue::from_static("close"),
                        );
                    }
                    Ok::<_, std::convert::Infallible>(response)
                }
            },
        ));
        let io = TokioIo::new(EnvelopeIo::new(stream));
        let connection = graceful.watch(http.serve_connection(io, service));
        tokio::spawn(async move {
            // A client that goes away, sends garbage or runs out of time ends its own connection;
            // hyper has already answered whatever could be answered.
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// A request body that must arrive whole before its deadline; after it, reading fails with
/// [`BodyTimeout`], which `read_body` answers 408. The deadline is on tokio's clock.
struct DeadlineBody<B> {
    inner: B,
    deadline: Pin<Box<Sleep>>,
}

impl<B> DeadlineBody<B> {
    fn new(inner: B, timeout: Duration) -> Self {
        Self {
            inner,
            deadline: Box::pin(tokio::time::sleep_until(Instant::now() + timeout)),
        }
    }
}

impl<B> Body for DeadlineBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Box::new(BodyTimeout))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
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

/// Runs a binary's body: logs a start-up failure (a log level that did not parse included) as
/// one line and exits non-zero.
pub async fn main<F, E>(body: F) -> ExitCode
where
    F: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    if let Some(error) = super::telemetry::invalid_setting() {
        tracing::error!("{error}");
        return ExitCode::FAILURE;
    }
    match body.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use tokio::time::Instant;

    use super::*;
    use crate::web::body::testing::Trickle;
    use crate::web::read_body;

    const TIMEOUT: Duration = Duration::from_secs(10);

    #[tokio::test(start_paused = true)]
    async fn a_body_that_stops_arriving_is_answered_408_at_its_deadline() {
        let started = Instant::now();
        let stalled = DeadlineBody::new(Trickle::new(1, 10, true), TIMEOUT);
        let error = read_body(axum::body::Body::new(stalled), 1000)
            .await
            .unwrap_err();
        assert_eq!(
            (error.status, error.reason),
            (StatusCode::REQUEST_TIMEOUT, "request_timeout")
        );
        let waited = started.elapsed();
        assert!(
            (TIMEOUT..TIMEOUT + Duration::from_millis(2)).contains(&waited),
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_arrives_in_time_is_read_whole() {
        let body = DeadlineBody::new(Trickle::new(4, 10, false), TIMEOUT);
        let bytes = read_body(axum::body::Body::new(body), 1000).await.unwrap();
        assert_eq!(bytes.len(), 40);
    }
}
