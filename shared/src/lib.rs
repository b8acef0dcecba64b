//! vodgate: upload signatures and durable event ingestion for Tencent Cloud VOD.
//!
//! Two serverless functions share this crate: `sign` authenticates a caller and mints a VOD
//! client-upload signature; `events` authenticates VOD's callbacks (or pulls them from VOD's
//! reliable queue) and stores them durably. The folders are the layers, from the bottom up; a
//! layer imports only from layers below it (`tests/architecture.rs` checks this, and
//! ARCHITECTURE.md walks one request through each path):
//!
//! - [`platform`]: configuration from the environment, secrets that never print, keys from the
//!   environment or Secrets Manager, the AWS SDK configuration;
//! - [`vod`]: Tencent's protocol, pure: the upload signature, callback parsing and `Sign`/`T`,
//!   TC3 request signing and the VOD API client. It reads no environment and takes keys as values;
//! - [`auth`] (who is calling: JWT, JWKS) and [`attribution`] (the uploader sealed into the
//!   signature's context and opened from the events);
//! - [`ingest`]: the envelope apps read, the one store path shared by push and pull, the sinks,
//!   and the uploads store (one record per upload, kept by the events side, read by `sign`);
//! - [`web`]: the JSON envelope, body reading, CORS, request id, the log line, metrics, and serving
//!   a router under Lambda or as a plain HTTP server;
//! - the use cases, each owning its router and its error mapping: [`sign`] (with its policy, rate
//!   limit and quota), [`push`] (VOD calls us) and [`pull`] (we call VOD).
//!
//! The binaries in `functions/` only read the environment and start one of the use cases.

#![forbid(unsafe_code)]

pub mod attribution;
pub mod auth;
pub mod ingest;
pub mod platform;
pub mod pull;
pub mod push;
pub mod sign;
pub mod vod;
pub mod web;
