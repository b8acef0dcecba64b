//! Ingestion: from an authenticated VOD callback to a durable record.
//!
//! [`envelope`] is the contract apps read (a stable id, what the event means, the uploader, the
//! raw event); [`sink`] writes it where the app reads it; [`uploads`] keeps one record per upload
//! (its status, file, outputs, review), updated by every event attributed to it; [`store`] is the
//! one path both delivery modes take through them, so a pushed and a pulled copy of an event are
//! the same record and change their upload once.

pub mod envelope;
pub mod sink;
mod store;
pub mod uploads;

pub(crate) use store::{IngestError, SinkLatency, StoredEvent, Stores, ingest, store_timeout};
