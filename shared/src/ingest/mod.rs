//! Ingestion: from an authenticated VOD callback to a durable record.
//!
//! [`envelope`] is the contract apps read (a stable id, what the event means, the uploader, the
//! raw event); [`sink`] writes it where the app reads it; [`uploads`] keeps one record per upload
//! (its status, file, outputs, review), updated by every event attributed to it; `enforce` makes
//! the limits VOD lacks real by deleting what breaks them, through the VOD API client of
//! [`vod_api`]; `store` is the one path both delivery modes take through them, so a pushed and a
//! pulled copy of an event are the same record and change their upload once.
//!
//! SQLite and PostgreSQL are cargo features (`sqlite`, `postgres`), on by default and left out of
//! the Lambda build to keep its zip small. A build without one still recognises its stores in
//! `EVENT_SINK` and `UPLOADS_STORE`, to refuse them by name at start-up ([`not_built`]) rather
//! than as a typo.

mod enforce;
pub mod envelope;
#[cfg(feature = "postgres")]
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

/// Whether `raw` is a PostgreSQL URL (`postgres://` or `postgresql://`), in every build.
pub fn is_postgres_url(raw: &str) -> bool {
    let lower = raw.trim_start().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// The refusal of a store this build left out: `what` (say "SQLite") is behind cargo feature
/// `feature`.
#[cfg(not(all(feature = "sqlite", feature = "postgres")))]
pub(crate) fn not_built(
    var: &'static str,
    what: &str,
    feature: &str,
) -> crate::platform::config::ConfigError {
    crate::platform::config::ConfigError::invalid(
        var,
        format!(
            "names a {what} store, but this build of vodgate has no {what} support (cargo \
             feature `{feature}` was off); build with `--features {feature}`, or choose another \
             store"
        ),
    )
}

/// For the tests of a build without a family: one store of each family it left out, and the
/// family's name in the refusal.
#[cfg(all(test, not(all(feature = "sqlite", feature = "postgres"))))]
pub(crate) fn stores_left_out() -> impl Iterator<Item = (&'static str, &'static str)> {
    [
        (
            "sqlite:/nonexistent/vodgate.sqlite",
            "SQLite",
            cfg!(feature = "sqlite"),
        ),
        (
            "postgres://app@db.example/vod",
            "PostgreSQL",
            cfg!(feature = "postgres"),
        ),
    ]
    .into_iter()
    .filter(|(_, _, built)| !built)
    .map(|(store, what, _)| (store, what))
}

#[cfg(test)]
mod tests {
    #[test]
    fn postgres_urls_are_known_by_their_scheme_alone() {
        assert!(super::is_postgres_url(" PostgreSQL://x/y"));
        assert!(super::is_postgres_url("postgres://app@db/vod"));
        assert!(!super::is_postgres_url("sqlite:/x"));
    }
}
