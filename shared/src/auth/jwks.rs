//! The JWKS cache: public keys by `kid`, downloaded from one configured URL.
//!
//! Why it looks like this (attack classes from the research notes, §6.5):
//! - **Rate-limited, single-flight refetch** (12: refetch flooding). A token with an unknown `kid`
//!   costs the attacker nothing, so an unknown `kid` may trigger at most one download per refetch
//!   interval. The download runs while holding a mutex, so concurrent requests wait for that one
//!   download instead of starting their own; requests whose `kid` is cached never touch the mutex.
//!   This is aws-jwt-verify's "penalty box".
//! - **Bounded download** (8: oversized input). No redirects, a 2 s connect and 5 s total timeout,
//!   and a body cap of [`MAX_JWKS_BYTES`] checked against `Content-Length` and while reading.
//! - **Keys expire.** A key the identity provider removed (after a leak, say) must stop working
//!   on warm instances too: the key set is fresh for at most its maximum age (600 s by default,
//!   or the response's `Cache-Control: max-age` when shorter); a request that finds it stale
//!   downloads it again first (single flight, at most once per refetch interval).
//! - **Failures keep the old keys.** A non-2xx answer, invalid JSON or a set with no usable key
//!   leaves the cache as it was, so a flaky or hijacked endpoint cannot wipe working keys, and an
//!   identity provider that is down does not take `sign` down: stale keys keep serving (each
//!   failed download is logged) until a download succeeds.
//! - **Keys are vetted one by one** (2: algorithm confusion; 8: huge moduli). Each entry must have
//!   a `kid`, `use` `sig` if present, `key_ops` allowing `verify` if present, and be RSA 2048 to
//!   8192 bits, EC P-256 or OKP Ed25519, with an `alg` (if present) equal to the one its type
//!   implies. Entries that fail are skipped, not fatal: identity providers publish encryption
//!   keys next to signing keys. A `kid` that appears twice is dropped, since it is ambiguous.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use base64::Engine;
use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use serde_json::Value;
use tokio::time::Instant;

use super::jwt::{DEFAULT_JWKS_MAX_AGE, DEFAULT_REFETCH_INTERVAL, JwtSettingsError, MAX_KID_BYTES};

/// Largest JWKS response accepted, in bytes.
pub(super) const MAX_JWKS_BYTES: usize = 256 * 1024;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const TOTAL_TIMEOUT: Duration = Duration::from_secs(5);
const MIN_RSA_BITS: usize = 2048;
const MAX_RSA_BITS: usize = 8192;
/// Public exponents above 2^32 are not used in practice and only cost verification time.
const MAX_RSA_EXPONENT_BYTES: usize = 4;

/// base64url that tolerates padding: the JWKS comes from a configured, trusted URL, and some
/// providers pad. Tokens are held to the strict unpadded form.
const JWK_BASE64: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A key from the JWKS with the one algorithm it may verify.
pub(super) struct VerifyingKey {
    pub(super) alg: Algorithm,
    pub(super) key: DecodingKey,
}

type KeyMap = HashMap<Box<str>, Arc<VerifyingKey>>;

/// A downloaded key set and until when it may be used without asking again.
#[derive(Clone)]
struct Cached {
    keys: Arc<KeyMap>,
    fresh_until: Instant,
}

impl Cached {
    fn is_fresh(&self) -> bool {
        Instant::now() < self.fresh_until
    }
}

/// The result of looking up a `kid`.
pub(super) enum Lookup {
    Found(Arc<VerifyingKey>),
    /// The JWKS is loaded but has no such `kid`.
    Unknown,
    /// The JWKS has never been downloaded successfully.
    Unavailable,
}

/// Public keys from one JWKS URL, cached by `kid`.
pub(super) struct JwksCache {
    url: reqwest::Url,
    client: reqwest::Client,
    refetch_interval: Duration,
    /// The longest a downloaded key set is used without asking again.
    max_age: Duration,
    /// `None` until the first successful download.
    keys: RwLock<Option<Cached>>,
    /// When the last download attempt ended; held during a download (single flight).
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
}

impl fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksCache")
            .field("url", &self.url.as_str())
            .field("refetch_interval", &self.refetch_interval)
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

/// Why a download did not produce a key set. Short, for logs; never contains key material.
#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error("request timed out")]
    Timeout,
    #[error("connection failed")]
    Connect,
    #[error("request failed")]
    Request,
    #[error("HTTP status {0}")]
    Status(u16),
    #[error("response larger than {MAX_JWKS_BYTES} bytes")]
    TooLarge,
    #[error("response is not a JWKS document")]
    InvalidJson,
    #[error("no usable signing key")]
    NoUsableKeys,
}

impl FetchError {
    fn from_reqwest(error: &reqwest::Error) -> Self {
        if error.is_timeout() {
            Self::Timeout
        } else if error.is_connect() {
            Self::Connect
        } else {
            Self::Request
        }
    }
}

impl JwksCache {
    /// Builds the HTTP client; does not download.
    pub(super) fn new(url: reqwest::Url) -> Result<Self, JwtSettingsError> {
        let client = crate::platform::outbound::client()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TOTAL_TIMEOUT)
            .build()
            .map_err(|_| JwtSettingsError::HttpClient)?;
        Ok(Self {
            url,
            client,
            refetch_interval: DEFAULT_REFETCH_INTERVAL,
            max_age: DEFAULT_JWKS_MAX_AGE,
            keys: RwLock::new(None),
            last_fetch: tokio::sync::Mutex::new(None),
        })
    }

    pub(super) fn set_refetch_interval(&mut self, interval: Duration) {
        self.refetch_interval = interval;
    }

    pub(super) fn set_max_age(&mut self, max_age: Duration) {
        self.max_age = max_age;
    }

    /// Downloads now, regardless of the refetch interval.
    pub(super) async fn prefetch(&self) {
        let mut last_fetch = self.last_fetch.lock().await;
        self.fetch(&mut last_fetch).await;
    }

    /// Finds `kid` in a fresh key set; on a miss or a stale set, refetches if the refetch
    /// interval allows, then looks again (in a stale set if the download failed).
    pub(super) async fn find(&self, kid: &str) -> Lookup {
        if let Some(cached) = self.snapshot().filter(Cached::is_fresh)
            && let Some(key) = cached.keys.get(kid)
        {
            return Lookup::Found(Arc::clone(key));
        }
        {
            let mut last_fetch = self.last_fetch.lock().await;
            let recent = last_fetch.is_some_and(|at| at.elapsed() < self.refetch_interval);
            if !recent {
                self.fetch(&mut last_fetch).await;
            }
        }
        match self.snapshot() {
            None => Lookup::Unavailable,
            Some(cached) => cached
                .keys
                .get(kid)
                .cloned()
                .map_or(Lookup::Unknown, Lookup::Found),
        }
    }

    fn snapshot(&self) -> Option<Cached> {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Downloads and replaces the key set; on failure logs and keeps the old one. The caller holds
    /// the `last_fetch` lock.
    async fn fetch(&self, last_fetch: &mut Option<Instant>) {
        let result = self
            .download()
            .await
            .and_then(|(body, max_age)| Ok((parse_jwks(&body)?, max_age)));
        let now = Instant::now();
        *last_fetch = Some(now);
        match result {
            Ok((keys, max_age)) => {
                let max_age = max_age.map_or(self.max_age, |age| age.min(self.max_age));
                tracing::debug!(url = %self.url, keys = keys.len(), ?max_age, "JWKS downloaded");
                *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Some(Cached {
                    keys: Arc::new(keys),
                    fresh_until: now + max_age,
                });
            }
            Err(reason) => {
                tracing::warn!(url = %self.url, %reason, "JWKS download failed; the keys already cached keep serving");
            }
        }
    }

    /// The body, and the response's `Cache-Control: max-age` if it has one.
    async fn download(&self) -> Result<(Vec<u8>, Option<Duration>), FetchError> {
        let mut response = self
            .client
            .get(self.url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|error| FetchError::from_reqwest(&error))?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        let max_age = response
            .headers()
            .get_all(reqwest::header::CACHE_CONTROL)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find_map(cache_max_age);
        if response
            .content_length()
            .is_some_and(|length| length > MAX_JWKS_BYTES as u64)
        {
            return Err(FetchError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| FetchError::from_reqwest(&error))?
        {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok((body, max_age))
    }
}

/// The `max-age` directive of a `Cache-Control` value, if it has a valid one.
fn cache_max_age(value: &str) -> Option<Duration> {
    value.split(',').find_map(|directive| {
        let (name, seconds) = directive.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("max-age") {
            return None;
        }
        let seconds = seconds.trim().trim_matches('"').parse().ok()?;
        Some(Duration::from_secs(seconds))
    })
}

#[derive(Deserialize)]
struct JwkSetBody {
    keys: Vec<Value>,
}

/// The JWK members read here. Unknown members (including private `d`) are ignored.
#[derive(Deserialize)]
struct JwkBody {
    kty: String,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    key_use: Option<String>,
    key_ops: Option<Vec<String>>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

fn parse_jwks(body: &[u8]) -> Result<KeyMap, FetchError> {
    let set: JwkSetBody = serde_json::from_slice(body).map_err(|_| FetchError::InvalidJson)?;
    let total = set.keys.len();
    let mut keys = KeyMap::new();
    let mut ambiguous = HashSet::new();
    for entry in set.keys {
        if let Some((kid, key)) = usable_key(entry)
            && keys.insert(kid.clone(), Arc::new(key)).is_some()
        {
            ambiguous.insert(kid);
        }
    }
    for kid in &ambiguous {
        keys.remove(kid);
    }
    if keys.is_empty() {
        return Err(FetchError::NoUsableKeys);
    }
    if keys.len() < total {
        tracing::debug!(
            skipped = total - keys.len(),
            "ignored JWKS entries that are not usable signing keys"
        );
    }
    Ok(keys)
}

/// Vets one JWK; `None` if it is not a key we verify with.
fn usable_key(entry: Value) -> Option<(Box<str>, VerifyingKey)> {
    let jwk: JwkBody = serde_json::from_value(entry).ok()?;
    let kid = jwk
        .kid
        .filter(|kid| !kid.is_empty() && kid.len() <= MAX_KID_BYTES)?;
    if jwk
        .key_use
        .as_deref()
        .is_some_and(|key_use| key_use != "sig")
    {
        return None;
    }
    if jwk
        .key_ops
        .as_ref()
        .is_some_and(|ops| !ops.iter().any(|op| op == "verify"))
    {
        return None;
    }
    let crv = jwk.crv.as_deref();
    let (alg, alg_name, key) = match jwk.kty.as_str() {
        "RSA" => (Algorithm::RS256, "RS256", rsa_key(jwk.n?, jwk.e?)?),
        "EC" if crv == Some("P-256") => (Algorithm::ES256, "ES256", p256_key(jwk.x?, jwk.y?)?),
        "OKP" if crv == Some("Ed25519") => (Algorithm::EdDSA, "EdDSA", ed25519_key(jwk.x?)?),
        _ => return None,
    };
    if jwk.alg.as_deref().is_some_and(|alg| alg != alg_name) {
        return None;
    }
    Some((kid.into_boxed_str(), VerifyingKey { alg, key }))
}

fn decode(value: &str) -> Option<Vec<u8>> {
    JWK_BASE64.decode(value).ok()
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|byte| *byte != 0)
        .unwrap_or(bytes.len());
    &bytes[start..]
}

fn rsa_key(n: String, e: String) -> Option<DecodingKey> {
    let n = decode(&n)?;
    let e = decode(&e)?;
    let modulus = strip_leading_zeros(&n);
    let exponent = strip_leading_zeros(&e);
    let first = *modulus.first()?;
    let bits = modulus.len() * 8 - first.leading_zeros() as usize;
    if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits)
        || exponent.is_empty()
        || exponent.len() > MAX_RSA_EXPONENT_BYTES
    {
        return None;
    }
    Some(DecodingKey::from_rsa_raw_components(modulus, exponent))
}

fn p256_key(x: String, y: String) -> Option<DecodingKey> {
    let x = decode(&x)?;
    let y = decode(&y)?;
    if x.len() != 32 || y.len() != 32 {
        return None;
    }
    let mut point = Vec::with_capacity(65);
    point.push(0x04);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    Some(DecodingKey::from_ec_der(&point))
}

fn ed25519_key(x: String) -> Option<DecodingKey> {
    let x = decode(&x)?;
    (x.len() == 32).then(|| DecodingKey::from_ed_der(&x))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    fn rsa_jwk(bits: usize) -> Value {
        let mut n = vec![0xC5; bits / 8];
        n[0] = 0x80;
        serde_json::json!({"kty": "RSA", "kid": format!("rsa{bits}"), "n": b64(&n), "e": "AQAB"})
    }

    #[test]
    fn rsa_modulus_size_is_bounded() {
        assert!(usable_key(rsa_jwk(2048)).is_some());
        assert!(usable_key(rsa_jwk(8192)).is_some());
        assert!(usable_key(rsa_jwk(1024)).is_none());
        assert!(usable_key(rsa_jwk(2040)).is_none());
        assert!(usable_key(rsa_jwk(8200)).is_none());
    }

    #[test]
    fn jwk_alg_use_and_ops_must_agree_with_the_key_type() {
        let with = |member: &str, value: Value| {
            let mut jwk = rsa_jwk(2048);
            jwk[member] = value;
            usable_key(jwk).is_some()
        };
        assert!(with("alg", "RS256".into()));
        assert!(with("use", "sig".into()));
        assert!(with("key_ops", serde_json::json!(["verify"])));
        assert!(!with("alg", "HS256".into()));
        assert!(!with("alg", "PS256".into()));
        assert!(!with("alg", "none".into()));
        assert!(!with("use", "enc".into()));
        assert!(!with("key_ops", serde_json::json!(["encrypt"])));
        assert!(!with("kid", "".into()));
        assert!(!with("kid", "k".repeat(MAX_KID_BYTES + 1).into()));
        assert!(!with("kty", "oct".into()));
    }

    #[test]
    fn curves_and_lengths_are_checked() {
        let x = b64(&[7; 32]);
        let ok = serde_json::json!({"kty": "EC", "kid": "e", "crv": "P-256", "x": x, "y": x});
        assert!(usable_key(ok.clone()).is_some());
        let mut p384 = ok.clone();
        p384["crv"] = "P-384".into();
        assert!(usable_key(p384).is_none());
        let mut short = ok;
        short["y"] = b64(&[7; 31]).into();
        assert!(usable_key(short).is_none());

        let ed =
            serde_json::json!({"kty": "OKP", "kid": "d", "crv": "Ed25519", "x": x, "alg": "EdDSA"});
        assert!(usable_key(ed.clone()).is_some());
        let mut x448 = ed;
        x448["crv"] = "Ed448".into();
        assert!(usable_key(x448).is_none());
    }

    #[test]
    fn bad_entries_are_skipped_and_duplicate_kids_dropped() {
        let mut twin = rsa_jwk(2048);
        twin["kid"] = "twin".into();
        let body = serde_json::json!({"keys": [
            rsa_jwk(2048),
            rsa_jwk(1024),
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            "not an object",
            twin.clone(),
            twin,
        ]});
        let keys = parse_jwks(body.to_string().as_bytes()).unwrap_or_default();
        assert_eq!(keys.len(), 1);
        assert!(keys.contains_key("rsa2048"));

        assert!(matches!(
            parse_jwks(br#"{"keys": [{"kty": "oct", "kid": "a", "k": "c2VjcmV0"}]}"#),
            Err(FetchError::NoUsableKeys)
        ));
        assert!(matches!(
            parse_jwks(b"<html>"),
            Err(FetchError::InvalidJson)
        ));
    }

    #[test]
    fn max_age_is_read_from_cache_control() {
        assert_eq!(
            cache_max_age("public, max-age=300, must-revalidate"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            cache_max_age("Max-Age=\"60\""),
            Some(Duration::from_secs(60))
        );
        assert_eq!(cache_max_age("no-cache"), None);
        assert_eq!(cache_max_age("max-age=soon"), None);
    }
}
