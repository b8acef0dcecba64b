//! Ingestion: from an authenticated VOD callback to a durable record.
//!
//! [`envelope`] is the contract apps read (a stable id, the uploader, the raw event); [`sink`]
//! writes it where the app reads it; [`store`] is the one path both delivery modes take between
//! the two, so a pushed and a pulled copy of an event are the same record.

pub mod envelope;
pub mod sink;
mod store;

pub(crate) use store::{SinkLatency, StoredEvent, envelope_for, store_envelope, store_timeout};
