//! vodgate: upload signatures and durable event ingestion for Tencent Cloud VOD.
//!
//! Two serverless functions share this crate. `sign` authenticates a caller and mints a VOD
//! client-upload signature; `events` (next milestone) authenticates VOD callbacks and stores
//! them durably. A `sign` request passes through:
//!
//! - [`http`]: request id, log line, CORS, the JSON envelope every answer uses;
//! - [`jwt`]: who is calling, and may they upload;
//! - [`policy`]: what the signature allows (server-decided, client choices only where allowed);
//! - [`attribution`]: the caller sealed into `sourceContext` so events can name the uploader;
//! - [`signature`]: VOD's HMAC-SHA1 signature over validated parameters;
//!
//! with keys from [`key_sources`] (env or Secrets Manager) and configuration from [`config`].
//! [`serve`] runs a router under Lambda or as a plain HTTP server; [`dev`] holds the local
//! defaults of the `vodgate` tool.
//!
//! Events arrive either pushed ([`events`]: an HTTP callback) or pulled from VOD's
//! reliable-callback queue ([`pull`], over the [`vod_api`] client and its [`tc3`] request
//! signature); both build the same envelope and write it through the same [`sink`].

pub mod attribution;
pub mod aws;
pub mod callback;
pub mod callback_auth;
pub mod config;
pub mod dev;
pub mod envelope;
pub mod events;
pub mod http;
pub mod jwt;
pub mod key_sources;
pub mod metrics;
pub mod policy;
pub mod pull;
pub mod quota;
pub mod rate_limit;
pub mod secret;
pub mod serve;
pub mod sign;
pub mod signature;
pub mod sink;
pub mod tc3;
pub mod telemetry;
pub mod vod_api;
