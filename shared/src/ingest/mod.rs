//! Ingestion: from an authenticated VOD callback to a durable record.
//!
//! [`envelope`] is the contract apps read (a stable id, what the event means, the uploader, the
//! raw event); [`sink`] writes it where the app reads it; [`uploads`] keeps one record per upload
//! (its status, file, outputs, review), updated by every event attributed to it; `enforce` makes
//! the limits VOD lacks real by deleting what breaks them, through the VOD API client of
//! [`vod_api`]; `store` is the one path both delivery modes take through them, so a pushed and a
//! pulled copy of an event are the same record and change their upload once.

mod enforce;
pub mod envelope;
pub mod postgres;
pub mod sink;
mod store;
pub mod uploads;
mod vod_api;

pub(crate) use enforce::{Enforced, Enforcer};
pub(crate) use store::{
    IngestError, IngestKeys, Ingested, SinkLatency, StoredEvent, Stores, ingest, store_timeout,
};
pub use vod_api::{api_credentials, vod_api};
