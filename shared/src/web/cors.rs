//! Which browser origins may call the API.
//!
//! Off unless configured: app backends and mobile clients need no CORS headers, so the functions
//! send none until a deployment names the browser origins that call them directly. Origins are
//! checked at start, so a typo (a trailing slash, a path, a missing scheme) fails start-up instead
//! of silently blocking browsers: a browser's `Origin` is only ever a scheme, a host and a port.

use axum::http::{HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::REQUEST_ID_HEADER;
use crate::platform::config::{ConfigError, Env};

/// Which browser origins may call the API (`CORS_ALLOWED_ORIGINS`: comma-separated origins, or `*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Cors {
    /// No CORS headers: server-to-server and mobile clients only.
    #[default]
    Off,
    /// `*`: any origin (the dev server's default).
    Any,
    /// Exactly these origins.
    Origins(Vec<HeaderValue>),
}

impl Cors {
    /// From `CORS_ALLOWED_ORIGINS`; each origin must be `http(s)://host[:port]`.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let origins = env.list("CORS_ALLOWED_ORIGINS");
        if origins.is_empty() {
            return Ok(Self::Off);
        }
        if origins.iter().any(|o| o == "*") {
            return Ok(Self::Any);
        }
        origins
            .iter()
            .map(|origin| {
                let valid = origin
                    .strip_prefix("https://")
                    .or_else(|| origin.strip_prefix("http://"))
                    .is_some_and(|authority| {
                        !authority.is_empty() && !authority.contains(['/', '?', '#', '@'])
                    });
                HeaderValue::from_str(origin).ok().filter(|_| valid).ok_or_else(|| {
                    ConfigError::invalid(
                        "CORS_ALLOWED_ORIGINS",
                        format!("expected origins like https://app.example.com (no path, query, fragment or trailing slash) or *, got {origin:?}"),
                    )
                })
            })
            .collect::<Result<_, _>>()
            .map(Self::Origins)
    }

    pub(super) fn layer(&self) -> Option<CorsLayer> {
        let origin = match self {
            Self::Off => return None,
            Self::Any => AllowOrigin::any(),
            Self::Origins(list) => AllowOrigin::list(list.iter().cloned()),
        };
        Some(
            CorsLayer::new()
                .allow_origin(origin)
                .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
                .expose_headers([REQUEST_ID_HEADER])
                .max_age(std::time::Duration::from_secs(600)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_origin_is_a_scheme_a_host_and_a_port_only() {
        let cors =
            |value: &str| Cors::from_env(&Env::from_pairs([("CORS_ALLOWED_ORIGINS", value)]));
        assert!(matches!(
            cors("https://app.example.com, http://localhost:3000"),
            Ok(Cors::Origins(list)) if list.len() == 2
        ));
        for bad in [
            "https://app.example.com/",
            "https://app.example.com/app",
            "https://app.example.com?x=1",
            "https://app.example.com#top",
            "https://user@app.example.com",
            "https://",
            "app.example.com",
        ] {
            assert_eq!(cors(bad).unwrap_err().var, "CORS_ALLOWED_ORIGINS", "{bad}");
        }
    }
}
