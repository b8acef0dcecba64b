//! The web edge: everything between an HTTP request and a use case's handler.
//!
//! Both functions must answer alike (the same JSON envelope, request id, single log line per
//! request, body limits and CORS) on every host that runs them, yet neither should know the other
//! exists. So this layer holds what they share and nothing of what they do: use cases bring their
//! routes, their error mapping and their metric names, and no route is known here but `/healthz`.
//! A new use case needs no change in this layer.
//!
//! The public part is what a binary needs to start a function: [`finish`] to wrap a use case's
//! router, [`Cors`], [`serve`] for the host, [`telemetry`], and the [`metrics`] types that name a
//! request's metric. The envelope and body helpers are for the use cases in this crate only.

mod body;
mod context;
mod cors;
mod deadline;
pub mod metrics;
mod response;
pub mod serve;
pub mod telemetry;

pub use context::finish;
pub use cors::Cors;
pub use response::ApiError;

pub(crate) use body::{BodyTimeout, read_body, refuse_duplicate_keys};
pub(crate) use context::{CallerSub, REQUEST_ID_HEADER, RequestId, method_not_allowed};
pub(crate) use response::{ErrorReason, created, ok, ok_empty};
