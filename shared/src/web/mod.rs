//! The web edge: everything between an HTTP request and a use case's handler.
//!
//! [`finish`] wraps a use case's router with what every function needs (request id, the one log
//! line per request, metrics, CORS, JSON 404/405, `GET /healthz`); [`read_body`] reads a bounded
//! body; [`ApiError`], [`ok`] and [`ok_empty`] are the JSON envelope; [`serve`] runs a router
//! under Lambda or as a plain HTTP server; [`telemetry`] and [`metrics`] set up logs and EMF
//! metrics. Nothing here knows a route of its own but `/healthz`: use cases bring their routes,
//! their error mapping and their metric names.

mod body;
mod context;
mod cors;
pub mod metrics;
mod response;
pub mod serve;
pub mod telemetry;

pub use body::{BodyTimeout, read_body};
pub use context::{CallerSub, REQUEST_ID_HEADER, RequestId, finish};
pub use cors::Cors;
pub use response::{ApiError, ErrorReason, ok, ok_empty};
