//! The webhook sink: each envelope POSTed to the app's own endpoint, signed the Standard Webhooks
//! way (<https://www.standardwebhooks.com>), so receivers can verify it with any of that spec's
//! libraries.
//!
//! The acknowledgement is the receiver's 2xx: until it comes (a non-2xx, a redirect, which is not
//! followed, a timeout or no connection), the event is not stored, VOD is not answered and it
//! delivers the event again, so nothing is lost while the receiver is down. A receiver therefore
//! sees an event again after any failure, under the same `webhook-id` (the envelope id), and must
//! answer 2xx for an id it already processed.
//!
//! Signing is written out here rather than taken from the `standardwebhooks` crate: its 1.0.1
//! accepts an empty key, has no fixed-clock signing for tests and refuses non-UTF-8 bodies, and
//! the whole rule is one HMAC (`v1,` + base64 of HMAC-SHA256 over `id.timestamp.body`, with the
//! base64-decoded bytes of `whsec_…` as the key). The spec's published vector pins it.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{Record, SinkError, Stored, Unavailable};
use crate::platform::config::ConfigError;
use crate::platform::keys::{KeySet, Keys};

/// The variable holding the signing secret(s).
pub(crate) const SECRET_VAR: &str = "WEBHOOK_SECRET";
/// The most of a receiver's answer read (and thrown away), so its connection can be reused.
const MAX_ANSWER_BYTES: usize = 4096;
/// Decoded secret lengths the spec allows.
const KEY_BYTES: std::ops::RangeInclusive<usize> = 24..=64;

/// One signing key: the decoded bytes of a `whsec_…` secret. Never printed.
#[derive(Clone)]
struct WebhookKey(Vec<u8>);

/// The signing keys, first to last as configured (`WEBHOOK_SECRET`, comma-separated): every
/// delivery carries one signature per key, so a receiver can move to a new secret at its pace.
#[derive(Clone)]
pub struct WebhookSecrets(Vec<WebhookKey>);

impl fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookSecrets([REDACTED; {}])", self.0.len())
    }
}

impl WebhookSecrets {
    /// Parses `whsec_<base64 of 24-64 bytes>[,whsec_…]`. The message never quotes a secret.
    pub fn parse(value: &str) -> Result<Self, String> {
        let keys = value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .enumerate()
            .map(|(n, secret)| {
                let bytes = secret
                    .strip_prefix("whsec_")
                    .and_then(|b64| STANDARD.decode(b64).ok())
                    .filter(|bytes| KEY_BYTES.contains(&bytes.len()))
                    .ok_or_else(|| {
                        format!(
                            "secret {} is not whsec_ followed by the base64 of 24 to 64 random \
                             bytes (`vodgate` generates one)",
                            n + 1
                        )
                    })?;
                Ok(WebhookKey(bytes))
            })
            .collect::<Result<Vec<_>, String>>()?;
        if keys.is_empty() {
            return Err("no secret given".into());
        }
        Ok(Self(keys))
    }

    /// From the key set (the environment or the Secrets Manager secret).
    pub(crate) fn derive(keys: &KeySet) -> Result<Self, ConfigError> {
        Self::parse(keys.require(SECRET_VAR)?.expose())
            .map_err(|why| ConfigError::invalid(SECRET_VAR, why))
    }

    /// The `webhook-signature` header of `body` sent as message `id` at `timestamp`: one
    /// `v1,<base64>` per key, space-separated.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let timestamp = timestamp.to_string();
        let signatures: Vec<String> = self
            .0
            .iter()
            .map(|key| {
                // HMAC takes keys of any length; the parser allows 24-64 bytes.
                let mut mac = Hmac::<Sha256>::new_from_slice(&key.0)
                    .expect("HMAC-SHA256 accepts any key length");
                for part in [id.as_bytes(), b".", timestamp.as_bytes(), b".", body] {
                    mac.update(part);
                }
                format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
            })
            .collect();
        signatures.join(" ")
    }
}

/// A receiver's endpoint, with the keys that sign for it.
#[derive(Clone)]
pub struct WebhookSink {
    url: reqwest::Url,
    http: reqwest::Client,
    secrets: Arc<Keys<WebhookSecrets>>,
}

impl fmt::Debug for WebhookSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSink")
            .field("url", &self.describe_url())
            .finish_non_exhaustive()
    }
}

impl WebhookSink {
    /// A sink POSTing to `url` (https, or http to a loopback host), waiting `timeout` for the
    /// answer, signing with `secrets`.
    pub fn new(
        url: &str,
        timeout: Duration,
        secrets: Arc<Keys<WebhookSecrets>>,
    ) -> Result<Self, String> {
        let url = parse_url(url)?;
        let http = crate::platform::outbound::client()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self { url, http, secrets })
    }

    /// `webhook:` + the endpoint's origin and, when it has a path, `/…`: a path or query may hold
    /// a secret, so logs never show either.
    pub fn describe_url(&self) -> String {
        let mut described = self.url.origin().ascii_serialization();
        if self.url.path() != "/" || self.url.query().is_some() {
            described.push_str("/…");
        }
        described
    }

    /// POSTs the envelope; a 2xx stores it.
    pub async fn store(&self, record: Record<'_>) -> Result<Stored, SinkError> {
        let secrets = self.secrets.current().await;
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let signature = secrets.sign(record.id, timestamp, record.envelope_json.as_bytes());
        let failed = |e: reqwest::Error| {
            let kind = if e.is_timeout() {
                Unavailable::TimedOut
            } else if e.is_connect() {
                Unavailable::Unreachable
            } else {
                Unavailable::Failed
            };
            SinkError::unavailable(kind, format!("webhook {}: {}", self.describe_url(), kind))
        };
        let mut response = self
            .http
            .post(self.url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", record.id)
            .header("webhook-timestamp", timestamp)
            .header("webhook-signature", signature)
            .body(record.envelope_json)
            .send()
            .await
            .map_err(failed)?;
        let status = response.status();
        let mut read = 0;
        while read < MAX_ANSWER_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => read += chunk.len(),
                Ok(None) | Err(_) => break,
            }
        }
        if status.is_success() {
            return Ok(Stored::New);
        }
        let kind = match status.as_u16() {
            429 | 503 => Unavailable::Busy,
            401 | 403 | 404 | 410 => Unavailable::Refused,
            _ => Unavailable::Failed,
        };
        Err(SinkError::unavailable(
            kind,
            format!(
                "webhook {} answered HTTP {}",
                self.describe_url(),
                status.as_u16()
            ),
        ))
    }
}

/// An absolute `https` URL, or `http` to a loopback host.
fn parse_url(raw: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(raw.trim()).map_err(|e| format!("not a URL ({e})"))?;
    url.host_str().ok_or("the URL has no host")?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if crate::platform::outbound::is_loopback(&url) => Ok(url),
        _ => Err("must be https (http only to a loopback host)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproduces_the_published_test_vector() {
        // standard-webhooks/standard-webhooks libraries/go/webhook_test.go, TestWebhookSign.
        let secrets = WebhookSecrets::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            secrets.sign(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn several_secrets_sign_once_each() {
        let other = format!("whsec_{}", STANDARD.encode([7u8; 32]));
        let both =
            WebhookSecrets::parse(&format!("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw, {other}"))
                .unwrap();
        let header = both.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, b"{}");
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.starts_with("v1,")));
        assert_ne!(parts[0], parts[1]);
    }

    #[test]
    fn secrets_must_be_whsec_of_24_to_64_bytes_and_are_never_quoted() {
        for bad in [
            "",
            "whsec_",
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_not base64!",
            &format!("whsec_{}", STANDARD.encode([1u8; 23])),
            &format!("whsec_{}", STANDARD.encode([1u8; 65])),
        ] {
            let why = WebhookSecrets::parse(bad).unwrap_err();
            assert!(bad.len() < 8 || !why.contains(&bad[6..]), "{why}");
        }
        assert!(
            format!(
                "{:?}",
                WebhookSecrets::parse(&format!("whsec_{}", STANDARD.encode([1u8; 24]))).unwrap()
            )
            .contains("REDACTED")
        );
    }

    #[test]
    fn urls_are_https_or_loopback_and_described_without_secrets() {
        for bad in [
            "http://app.example/hooks",
            "ftp://app.example/",
            "not a url",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
        let secrets = Arc::new(Keys::fixed(
            WebhookSecrets::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap(),
        ));
        let sink = WebhookSink::new(
            "https://user:pass@app.example:8443/hooks/s3cr3t?token=abc",
            Duration::from_secs(5),
            secrets.clone(),
        )
        .unwrap();
        assert_eq!(sink.describe_url(), "https://app.example:8443/…");
        let bare =
            WebhookSink::new("http://127.0.0.1:9/", Duration::from_secs(5), secrets).unwrap();
        assert_eq!(bare.describe_url(), "http://127.0.0.1:9");
    }
}
