//! Outbound HTTP (the JWKS download, the VOD API): direct, unless a proxy is configured for us.
//!
//! reqwest honours `HTTP_PROXY`, `HTTPS_PROXY` and `ALL_PROXY` from the environment by default,
//! so a variable set for some other tool on the host (or injected into a container) would route
//! the identity provider's keys and signed VOD API calls through a proxy nobody chose for
//! vodgate. Here no proxy is taken from the environment; `VODGATE_HTTPS_PROXY` names the one to
//! use, for HTTPS destinations only. The AWS SDK's clients are not covered: they have their own
//! configuration chain.

use std::sync::OnceLock;

use crate::platform::config::{ConfigError, Env};

/// The proxy of every outbound client (`VODGATE_HTTPS_PROXY`), once read.
static PROXY: OnceLock<Option<reqwest::Proxy>> = OnceLock::new();

/// Reads `VODGATE_HTTPS_PROXY` (an `http://` or `https://` URL). Call once at start, before any
/// outbound client is built; later calls change nothing.
pub fn init(env: &Env) -> Result<(), ConfigError> {
    let proxy = proxy(env)?;
    let _ = PROXY.set(proxy);
    Ok(())
}

fn proxy(env: &Env) -> Result<Option<reqwest::Proxy>, ConfigError> {
    let Some(raw) = env.non_empty("VODGATE_HTTPS_PROXY") else {
        return Ok(None);
    };
    let invalid = || {
        ConfigError::invalid(
            "VODGATE_HTTPS_PROXY",
            "expected the proxy's URL, like http://proxy.internal:3128",
        )
    };
    let url = reqwest::Url::parse(raw).map_err(|_| invalid())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid());
    }
    reqwest::Proxy::https(url).map(Some).map_err(|_| invalid())
}

/// A client builder that uses no proxy from the environment, only `VODGATE_HTTPS_PROXY`.
pub(crate) fn client() -> reqwest::ClientBuilder {
    match PROXY.get() {
        Some(Some(proxy)) => reqwest::Client::builder().proxy(proxy.clone()),
        _ => reqwest::Client::builder().no_proxy(),
    }
}

/// Whether `url` points at this machine (`localhost` or a loopback address): the one case in
/// which an outbound destination (the JWKS, the VOD API, a webhook) may be plain `http`, for
/// tests and local fakes.
pub(crate) fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_destinations() {
        for (url, loopback) in [
            ("http://localhost:9/x", true),
            ("http://127.0.0.1/", true),
            ("http://[::1]:80/", true),
            ("http://10.0.0.1/", false),
            ("https://localhost.example/", false),
        ] {
            assert_eq!(
                is_loopback(&reqwest::Url::parse(url).unwrap()),
                loopback,
                "{url}"
            );
        }
    }

    #[test]
    fn only_a_proxy_url_is_accepted() {
        let read = |value: &str| proxy(&Env::from_pairs([("VODGATE_HTTPS_PROXY", value)]));
        assert!(proxy(&Env::default()).unwrap().is_none());
        assert!(read("http://proxy.internal:3128").unwrap().is_some());
        for bad in ["proxy.internal:3128", "socks9://p:1", "not a url"] {
            assert_eq!(read(bad).unwrap_err().var, "VODGATE_HTTPS_PROXY", "{bad}");
        }
    }
}
