//! Caller authentication for `sign`: verifies `Authorization: Bearer <JWT>`.
//!
//! A caller may hold an upload signature only if it presents a token that an identity provider we
//! trust signed for us. Tokens are attacker-controlled input, so this module is strict by default,
//! stricter than `jsonwebtoken` on its own and stricter than awslabs/aws-jwt-verify. Each rule
//! below names the attack class it answers (numbers as in the research notes, §6.5, which cite
//! RFC 8725 and the PortSwigger / jwt_tool playbooks).
//!
//! # Shape before content
//! - **At most [`MAX_TOKEN_BYTES`], checked before any parsing** (8: oversized tokens). Base64 and
//!   JSON decoding cost grows with input and `jsonwebtoken` has no limit of its own.
//! - **Exactly three non-empty base64url segments, no padding**, header and payload JSON objects
//!   (14: non-canonical encodings, extra segments, JWE-vs-JWS confusion). Anything a gateway and this
//!   verifier could read differently is refused rather than interpreted.
//! - **Duplicate keys are refused** in the header (`alg`, `kid`) and in every claim we read
//!   (9: parser differentials); serde's derived deserialisers fail on a repeated field.
//!
//! # Algorithm bound to the key, never to the header alone
//! - The only algorithms are HS256 (against the configured secrets), RS256 (RSA keys of 2048 to
//!   8192 bits), ES256 (P-256) and EdDSA (Ed25519). `none` in any spelling, PS*, HS384 and the rest
//!   are refused (1: `alg: none`; 2: algorithm confusion). An HS256 header is only ever checked
//!   against HS256 secrets, and a JWKS key only with the algorithm its `kty`/`crv` implies, so an
//!   RSA public key can never become an HMAC secret. A JWK's own `alg`, if present, must agree, and
//!   its `use` must be `sig` (the same rule as aws-jwt-verify).
//! - Keys come only from configuration: `jku`, `x5u`, `jwk` and `x5c` in a token header are never
//!   read (4: key-source injection). `kid` is an opaque key into an in-memory map, at most 256
//!   bytes, never a path or URL (3: `kid` injection). A `crit` header naming anything we do not
//!   implement is refused (5), which `jsonwebtoken` 12 already enforces.
//! - ECDSA signatures with r or s zero are refused by the backend (10: psychic signatures).
//!
//! # Claims
//! - `exp` is required; `nbf` is checked when present; the clock leeway is explicit and at most
//!   [`MAX_LEEWAY_SECS`] (6: time claims). `jsonwebtoken` defaults to 60 s of leeway and ignores
//!   `nbf`, so both are set here on purpose.
//! - `iss` and `aud` must match exactly when configured (7: issuer/audience confusion), and `iss`
//!   must be a single string: `jsonwebtoken` accepts `["evil","good"]`, we do not.
//! - `sub` must be a non-empty string of at most 128 bytes without control characters: it names
//!   the caller downstream, so it must be unambiguous and safe to log.
//! - When an upload scope is configured it must appear as a whole word in `scope` or in `scp`, so a
//!   token minted for another purpose by the same issuer cannot upload (13: cross-JWT confusion).
//!
//! # Keys
//! HS256 secrets are passed per call because they rotate at runtime; every current secret is tried.
//! JWKS keys are fetched at start-up and cached by `kid`; an unknown `kid` triggers at most one
//! refetch per refetch interval (10 s by default), shared by all concurrent requests, while cached
//! keys keep working (12: refetch flooding). See the `jwks` submodule.
//!
//! # Errors
//! [`AuthError`] says which check failed, for logs and metrics, but its messages never contain the
//! token, a header value or key material, and [`AuthError::reason`] folds the variants into the
//! five codes clients see.

use std::fmt;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

use super::jwks::{JwksCache, Lookup};
use crate::platform::secret::SecretList;

/// Longest accepted token, in bytes. Checked before the token is decoded.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Largest accepted clock leeway for `exp` and `nbf`, in seconds.
pub const MAX_LEEWAY_SECS: u64 = 60;

/// Default minimum time between two JWKS downloads for one verifier.
pub const DEFAULT_REFETCH_INTERVAL: Duration = Duration::from_secs(10);

/// Longest accepted `kid`, in bytes, in tokens and in JWKS entries.
pub(super) const MAX_KID_BYTES: usize = 256;

/// Longest accepted `sub`, in bytes.
const MAX_SUB_BYTES: usize = 128;

/// Slack for the scheme and whitespace around the token in the `Authorization` header.
const MAX_SCHEME_BYTES: usize = 64;

/// Verification settings, read from the environment by the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JwtSettings {
    /// `JWT_JWKS_URL`: where the identity provider publishes its public keys. `https`, or `http`
    /// to a loopback host. Requires `issuer` and `audience`.
    pub jwks_url: Option<String>,
    /// `JWT_ISSUER`: the exact `iss` tokens must carry.
    pub issuer: Option<String>,
    /// `JWT_AUDIENCE`: the exact value `aud` must be or contain.
    pub audience: Option<String>,
    /// `JWT_LEEWAY_SECONDS`: clock skew tolerated on `exp` and `nbf`, at most [`MAX_LEEWAY_SECS`].
    pub leeway_secs: u64,
    /// `UPLOAD_SCOPE`: the scope a token must grant; `None` disables the scope check.
    pub upload_scope: Option<String>,
}

/// Why [`JwtSettings`] were refused. [`JwtSettingsError::var`] names the variable to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtSettingsError {
    /// The leeway exceeds [`MAX_LEEWAY_SECS`].
    #[error("must be at most {MAX_LEEWAY_SECS} seconds, got {0}")]
    LeewayTooLarge(u64),
    /// The JWKS URL does not parse.
    #[error("is not a valid absolute URL")]
    JwksUrlInvalid,
    /// The JWKS URL is neither `https` nor `http` to a loopback host.
    #[error("must use https (http is allowed only for 127.0.0.0/8, ::1 or localhost)")]
    JwksUrlNotHttps,
    /// The JWKS URL carries a user name or password, which would end up in logs.
    #[error("must not contain a user name or password")]
    JwksUrlCredentials,
    /// A JWKS URL is set without an issuer.
    #[error("is required when JWT_JWKS_URL is set")]
    IssuerRequired,
    /// A JWKS URL is set without an audience.
    #[error("is required when JWT_JWKS_URL is set")]
    AudienceRequired,
    /// The issuer or audience is set but blank; the field names the variable.
    #[error("must not be blank")]
    Blank(&'static str),
    /// The HTTP client for JWKS downloads could not be built.
    #[error("could not build the HTTP client for JWKS downloads")]
    HttpClient,
}

/// Why a request was not authenticated. Display text is short and never echoes the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header, or a `Bearer` scheme with nothing after it.
    #[error("no bearer token")]
    Missing,
    /// The `Authorization` header uses another scheme.
    #[error("authorization scheme is not Bearer")]
    NotBearer,
    /// The header or token exceeds [`MAX_TOKEN_BYTES`].
    #[error("token is longer than {MAX_TOKEN_BYTES} bytes")]
    TooLong,
    /// Not three base64url segments of JSON objects, a duplicate or mistyped header field, or an
    /// unsupported `crit` extension.
    #[error("token is malformed")]
    Malformed,
    /// The algorithm is not accepted, or not for the key or verifier configuration it names.
    #[error("token algorithm is not accepted")]
    UnsupportedAlgorithm,
    /// An asymmetric token without a `kid`.
    #[error("token has no key id")]
    MissingKid,
    /// The `kid` is not in the key set, even after a refetch.
    #[error("token key id is unknown")]
    UnknownKey,
    /// The signature does not verify.
    #[error("token signature is invalid")]
    BadSignature,
    /// `exp` is in the past, beyond the leeway.
    #[error("token has expired")]
    Expired,
    /// `nbf` is in the future, beyond the leeway.
    #[error("token is not valid yet")]
    NotYetValid,
    /// `iss` differs from the configured issuer.
    #[error("token issuer is not accepted")]
    WrongIssuer,
    /// `aud` does not name the configured audience.
    #[error("token audience is not accepted")]
    WrongAudience,
    /// A required claim is absent (or, for `exp`, not a number).
    #[error("token lacks the {0} claim")]
    MissingClaim(&'static str),
    /// A claim has the wrong type or an unacceptable value.
    #[error("token claim {0} is invalid")]
    BadClaim(&'static str),
    /// The token does not grant the upload scope.
    #[error("token lacks the required scope")]
    InsufficientScope,
    /// The JWKS has never been downloaded successfully.
    #[error("signing keys are unavailable")]
    JwksUnavailable,
}

impl AuthError {
    /// The error code clients see: `missing_token`, `invalid_token`, `token_expired`,
    /// `insufficient_scope` or `unavailable`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Missing => "missing_token",
            Self::Expired => "token_expired",
            Self::InsufficientScope => "insufficient_scope",
            Self::JwksUnavailable => "unavailable",
            Self::NotBearer
            | Self::TooLong
            | Self::Malformed
            | Self::UnsupportedAlgorithm
            | Self::MissingKid
            | Self::UnknownKey
            | Self::BadSignature
            | Self::NotYetValid
            | Self::WrongIssuer
            | Self::WrongAudience
            | Self::MissingClaim(_)
            | Self::BadClaim(_) => "invalid_token",
        }
    }

    /// The HTTP status: 401, 403 for a missing scope, 503 when keys are unavailable.
    pub fn status(&self) -> u16 {
        match self {
            Self::InsufficientScope => 403,
            Self::JwksUnavailable => 503,
            _ => 401,
        }
    }

    fn from_jsonwebtoken(error: &jsonwebtoken::errors::Error) -> Self {
        match error.kind() {
            ErrorKind::InvalidSignature => Self::BadSignature,
            ErrorKind::ExpiredSignature => Self::Expired,
            ErrorKind::ImmatureSignature => Self::NotYetValid,
            ErrorKind::InvalidIssuer => Self::WrongIssuer,
            ErrorKind::InvalidAudience => Self::WrongAudience,
            ErrorKind::InvalidSubject => Self::BadClaim("sub"),
            ErrorKind::MissingRequiredClaim(name) => Self::MissingClaim(claim_name(name)),
            ErrorKind::InvalidClaimFormat(name) => Self::BadClaim(claim_name(name)),
            ErrorKind::InvalidAlgorithm
            | ErrorKind::InvalidAlgorithmName
            | ErrorKind::UnsupportedAlgorithm
            | ErrorKind::MissingAlgorithm
            | ErrorKind::InvalidKeyFormat => Self::UnsupportedAlgorithm,
            _ => Self::Malformed,
        }
    }
}

/// Maps a claim name reported by `jsonwebtoken` to a static string, so errors never carry
/// attacker-chosen text.
fn claim_name(name: &str) -> &'static str {
    match name {
        "exp" => "exp",
        "nbf" => "nbf",
        "iss" => "iss",
        "aud" => "aud",
        "sub" => "sub",
        _ => "claim",
    }
}

/// The HS256 secrets currently accepted, current first. Built per rotation, cheap to clone.
#[derive(Clone)]
pub struct Hs256Keys(Vec<DecodingKey>);

impl Hs256Keys {
    /// Prepares one HMAC key per secret in `secrets`.
    pub fn new(secrets: &SecretList) -> Self {
        Self(
            secrets
                .iter()
                .filter_map(|secret| DecodingKey::from_secret(secret.expose().as_bytes()).ok())
                .collect(),
        )
    }
}

impl fmt::Debug for Hs256Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hs256Keys([REDACTED; {}])", self.0.len())
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's `sub`: non-empty, at most 128 bytes, no control characters.
    pub sub: String,
}

/// Verifies bearer tokens. Build once at start-up and share it behind an `Arc`.
pub struct JwtVerifier {
    validation: Validation,
    upload_scope: Option<String>,
    jwks: Option<JwksCache>,
}

impl fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("jwks", &self.jwks)
            .field("upload_scope", &self.upload_scope)
            .finish_non_exhaustive()
    }
}

impl JwtVerifier {
    /// Checks `settings` and prepares the verifier; does not fetch anything.
    ///
    /// Fails if the leeway exceeds [`MAX_LEEWAY_SECS`], if the JWKS URL does not parse, carries
    /// credentials, or is not `https` (plain `http` is allowed only to loopback hosts), if a JWKS
    /// URL is set without both an issuer and an audience (as aws-jwt-verify requires), or if the
    /// issuer or audience is blank.
    pub fn new(settings: JwtSettings) -> Result<Self, JwtSettingsError> {
        let JwtSettings {
            jwks_url,
            issuer,
            audience,
            leeway_secs,
            upload_scope,
        } = settings;
        if leeway_secs > MAX_LEEWAY_SECS {
            return Err(JwtSettingsError::LeewayTooLarge(leeway_secs));
        }
        for (name, value) in [("JWT_ISSUER", &issuer), ("JWT_AUDIENCE", &audience)] {
            if value
                .as_deref()
                .is_some_and(|value| value.trim().is_empty())
            {
                return Err(JwtSettingsError::Blank(name));
            }
        }
        let jwks = match jwks_url {
            None => None,
            Some(raw) => {
                let url = parse_jwks_url(&raw)?;
                if issuer.is_none() {
                    return Err(JwtSettingsError::IssuerRequired);
                }
                if audience.is_none() {
                    return Err(JwtSettingsError::AudienceRequired);
                }
                Some(JwksCache::new(url)?)
            }
        };

        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = leeway_secs;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        let mut required = vec!["exp"];
        if let Some(issuer) = &issuer {
            validation.set_issuer(&[issuer]);
            required.push("iss");
        }
        match &audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);

        Ok(Self {
            validation,
            upload_scope,
            jwks,
        })
    }

    /// Sets the minimum time between two JWKS downloads (default [`DEFAULT_REFETCH_INTERVAL`]).
    /// Lower it only in tests; it is what stops a flood of unknown `kid`s from becoming a flood of
    /// downloads.
    pub fn with_refetch_interval(mut self, interval: Duration) -> Self {
        if let Some(jwks) = &mut self.jwks {
            jwks.set_refetch_interval(interval);
        }
        self
    }

    /// Downloads the JWKS once, if one is configured. A failure is logged and remembered: until a
    /// later refetch succeeds, tokens that need a JWKS key are answered with
    /// [`AuthError::JwksUnavailable`].
    pub async fn prefetch(&self) {
        if let Some(jwks) = &self.jwks {
            jwks.prefetch().await;
        }
    }

    /// Authenticates a request from its `Authorization` header value.
    ///
    /// `hs256` holds the HS256 secrets valid now (they rotate, so they are passed per call), or
    /// `None` when HS256 is not configured.
    pub async fn verify(
        &self,
        authorization_header: Option<&str>,
        hs256: Option<&Hs256Keys>,
    ) -> Result<Caller, AuthError> {
        let token = bearer_token(authorization_header)?;
        let header = parse_shape(token)?;
        let claims = match header.alg {
            Algorithm::HS256 => {
                let keys = hs256
                    .filter(|keys| !keys.0.is_empty())
                    .ok_or(AuthError::UnsupportedAlgorithm)?;
                self.decode_hs256(token, keys)?
            }
            alg => {
                let jwks = self.jwks.as_ref().ok_or(AuthError::UnsupportedAlgorithm)?;
                let kid = header
                    .kid
                    .filter(|kid| !kid.is_empty())
                    .ok_or(AuthError::MissingKid)?;
                if kid.len() > MAX_KID_BYTES {
                    return Err(AuthError::UnknownKey);
                }
                let key = match jwks.find(&kid).await {
                    Lookup::Found(key) => key,
                    Lookup::Unknown => return Err(AuthError::UnknownKey),
                    Lookup::Unavailable => return Err(AuthError::JwksUnavailable),
                };
                if key.alg != alg {
                    return Err(AuthError::UnsupportedAlgorithm);
                }
                self.decode(token, &key.key, alg)?
            }
        };
        self.check_claims(claims)
    }

    fn decode_hs256(&self, token: &str, keys: &Hs256Keys) -> Result<Claims, AuthError> {
        for key in &keys.0 {
            match self.decode(token, key, Algorithm::HS256) {
                Err(AuthError::BadSignature) => continue,
                other => return other,
            }
        }
        Err(AuthError::BadSignature)
    }

    /// Checks the signature with `key` under exactly `alg`, then the time, issuer and audience
    /// claims (`jsonwebtoken` checks the signature first).
    fn decode(&self, token: &str, key: &DecodingKey, alg: Algorithm) -> Result<Claims, AuthError> {
        let mut validation = self.validation.clone();
        validation.algorithms = vec![alg];
        jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|error| AuthError::from_jsonwebtoken(&error))
    }

    /// The checks `jsonwebtoken` does not make: `iss` type, `sub`, scope.
    fn check_claims(&self, claims: Claims) -> Result<Caller, AuthError> {
        if claims.iss.as_ref().is_some_and(|iss| !iss.is_string()) {
            return Err(AuthError::BadClaim("iss"));
        }
        let sub = match claims.sub {
            None => return Err(AuthError::MissingClaim("sub")),
            Some(Value::String(sub))
                if !sub.is_empty()
                    && sub.len() <= MAX_SUB_BYTES
                    && !sub.chars().any(char::is_control) =>
            {
                sub
            }
            Some(_) => return Err(AuthError::BadClaim("sub")),
        };
        if let Some(required) = &self.upload_scope {
            check_scope(claims.scope.as_ref(), claims.scp.as_ref(), required)?;
        }
        Ok(Caller { sub })
    }
}

/// The claims read here beyond what `jsonwebtoken` validates. Derived, so a repeated key fails.
#[derive(Deserialize)]
struct Claims {
    sub: Option<Value>,
    iss: Option<Value>,
    scope: Option<Value>,
    scp: Option<Value>,
}

/// The header fields read before choosing a key. Derived, so a repeated `alg` or `kid` fails.
#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    kid: Option<String>,
}

/// The parts of a structurally valid token's header that select the key.
#[derive(Debug)]
struct TokenHeader {
    alg: Algorithm,
    kid: Option<String>,
}

/// Extracts the token from `Bearer <token>` (scheme case-insensitive, surrounding blanks ignored).
fn bearer_token(header: Option<&str>) -> Result<&str, AuthError> {
    let header = header.ok_or(AuthError::Missing)?;
    if header.len() > MAX_TOKEN_BYTES + MAX_SCHEME_BYTES {
        return Err(AuthError::TooLong);
    }
    let header = header.trim_ascii();
    if header.is_empty() {
        return Err(AuthError::Missing);
    }
    let (scheme, rest) = header.split_once([' ', '\t']).unwrap_or((header, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::NotBearer);
    }
    let token = rest.trim_ascii();
    if token.is_empty() {
        return Err(AuthError::Missing);
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AuthError::TooLong);
    }
    Ok(token)
}

/// Checks the compact serialisation by hand (three non-empty unpadded base64url segments, header
/// and payload JSON objects) and reads `alg` and `kid`.
fn parse_shape(token: &str) -> Result<TokenHeader, AuthError> {
    let mut segments = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err(AuthError::Malformed);
    };
    if [header, payload, signature]
        .iter()
        .any(|segment| segment.is_empty() || !segment.bytes().all(is_base64url))
    {
        return Err(AuthError::Malformed);
    }
    let header = decode_json_object(header)?;
    decode_json_object(payload)?;
    let header: RawHeader = serde_json::from_slice(&header).map_err(|_| AuthError::Malformed)?;
    let alg = match header.alg.as_str() {
        "HS256" => Algorithm::HS256,
        "RS256" => Algorithm::RS256,
        "ES256" => Algorithm::ES256,
        "EdDSA" => Algorithm::EdDSA,
        _ => return Err(AuthError::UnsupportedAlgorithm),
    };
    Ok(TokenHeader {
        alg,
        kid: header.kid,
    })
}

fn is_base64url(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'
}

/// Decodes a segment that must hold a JSON object (not an array, which serde would also map onto
/// a struct).
fn decode_json_object(segment: &str) -> Result<Vec<u8>, AuthError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| AuthError::Malformed)?;
    match bytes.iter().find(|byte| !byte.is_ascii_whitespace()) {
        Some(b'{') => Ok(bytes),
        _ => Err(AuthError::Malformed),
    }
}

/// Whether `required` is a whole space-separated word of `scope`, or of `scp` (an array of
/// strings, or a space-separated string). A mistyped claim is an invalid token.
fn check_scope(
    scope: Option<&Value>,
    scp: Option<&Value>,
    required: &str,
) -> Result<(), AuthError> {
    let has_word = |words: &str| {
        words
            .split(' ')
            .any(|word| !word.is_empty() && word == required)
    };
    let in_scope = match scope {
        None => false,
        Some(Value::String(words)) => has_word(words),
        Some(_) => return Err(AuthError::BadClaim("scope")),
    };
    let in_scp = match scp {
        None => false,
        Some(Value::String(words)) => has_word(words),
        Some(Value::Array(items)) => {
            let mut found = false;
            for item in items {
                match item {
                    Value::String(item) => found |= !item.is_empty() && item == required,
                    _ => return Err(AuthError::BadClaim("scp")),
                }
            }
            found
        }
        Some(_) => return Err(AuthError::BadClaim("scp")),
    };
    if in_scope || in_scp {
        Ok(())
    } else {
        Err(AuthError::InsufficientScope)
    }
}

/// Parses and vets the JWKS URL: absolute, no credentials, `https` unless the host is loopback.
fn parse_jwks_url(raw: &str) -> Result<reqwest::Url, JwtSettingsError> {
    let url = reqwest::Url::parse(raw).map_err(|_| JwtSettingsError::JwksUrlInvalid)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(JwtSettingsError::JwksUrlCredentials);
    }
    match url.scheme() {
        "https" if url.host_str().is_some() => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        _ => Err(JwtSettingsError::JwksUrlNotHttps),
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

impl JwtSettingsError {
    /// The environment variable to fix.
    pub fn var(&self) -> &'static str {
        match self {
            Self::LeewayTooLarge(_) => "JWT_LEEWAY_SECONDS",
            Self::JwksUrlInvalid
            | Self::JwksUrlNotHttps
            | Self::JwksUrlCredentials
            | Self::HttpClient => "JWT_JWKS_URL",
            Self::IssuerRequired => "JWT_ISSUER",
            Self::AudienceRequired => "JWT_AUDIENCE",
            Self::Blank(var) => var,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn jwks_settings(url: &str) -> JwtSettings {
        JwtSettings {
            jwks_url: Some(url.to_owned()),
            issuer: Some("https://issuer.example".to_owned()),
            audience: Some("vodgate".to_owned()),
            ..JwtSettings::default()
        }
    }

    fn settings_error(settings: JwtSettings) -> JwtSettingsError {
        match JwtVerifier::new(settings) {
            Ok(_) => panic!("settings were accepted"),
            Err(error) => error,
        }
    }

    #[test]
    fn leeway_is_capped() {
        let settings = |leeway_secs| JwtSettings {
            leeway_secs,
            ..JwtSettings::default()
        };
        assert!(JwtVerifier::new(settings(60)).is_ok());
        let error = settings_error(settings(61));
        assert_eq!(error, JwtSettingsError::LeewayTooLarge(61));
        assert_eq!(error.var(), "JWT_LEEWAY_SECONDS");
    }

    #[test]
    fn jwks_url_must_parse() {
        let error = settings_error(jwks_settings("not a url"));
        assert_eq!(error, JwtSettingsError::JwksUrlInvalid);
        assert_eq!(error.var(), "JWT_JWKS_URL");
        assert_eq!(
            settings_error(jwks_settings("/relative/jwks.json")),
            JwtSettingsError::JwksUrlInvalid
        );
    }

    #[test]
    fn jwks_url_must_be_https_unless_loopback() {
        for url in [
            "http://idp.example/jwks.json",
            "http://10.0.0.1/jwks.json",
            "http://localhost.evil.example/jwks.json",
            "http://[::2]/jwks.json",
            "ftp://127.0.0.1/jwks.json",
            "file:///etc/jwks.json",
        ] {
            assert_eq!(
                settings_error(jwks_settings(url)),
                JwtSettingsError::JwksUrlNotHttps,
                "{url}"
            );
        }
        for url in [
            "https://idp.example/.well-known/jwks.json",
            "http://127.0.0.1:8080/jwks.json",
            "http://127.1.2.3/jwks.json",
            "http://[::1]:9000/jwks.json",
            "http://LOCALHOST/jwks.json",
        ] {
            assert!(JwtVerifier::new(jwks_settings(url)).is_ok(), "{url}");
        }
    }

    #[test]
    fn jwks_url_must_not_carry_credentials() {
        let error = settings_error(jwks_settings("https://user:pw@idp.example/jwks.json"));
        assert_eq!(error, JwtSettingsError::JwksUrlCredentials);
        assert!(!error.to_string().contains("pw"));
    }

    #[test]
    fn jwks_requires_issuer_and_audience() {
        let mut settings = jwks_settings("https://idp.example/jwks.json");
        settings.issuer = None;
        let error = settings_error(settings);
        assert_eq!(error, JwtSettingsError::IssuerRequired);
        assert_eq!(error.var(), "JWT_ISSUER");

        let mut settings = jwks_settings("https://idp.example/jwks.json");
        settings.audience = None;
        let error = settings_error(settings);
        assert_eq!(error, JwtSettingsError::AudienceRequired);
        assert_eq!(error.var(), "JWT_AUDIENCE");
    }

    #[test]
    fn issuer_and_audience_must_not_be_blank() {
        let mut settings = jwks_settings("https://idp.example/jwks.json");
        settings.issuer = Some(" ".to_owned());
        assert_eq!(
            settings_error(settings),
            JwtSettingsError::Blank("JWT_ISSUER")
        );
        let settings = JwtSettings {
            audience: Some(String::new()),
            ..JwtSettings::default()
        };
        assert_eq!(
            settings_error(settings),
            JwtSettingsError::Blank("JWT_AUDIENCE")
        );
    }

    #[test]
    fn scope_must_be_a_whole_word() {
        let string = |s: &str| Value::String(s.to_owned());
        let ok = |scope: Option<Value>, scp: Option<Value>| {
            check_scope(scope.as_ref(), scp.as_ref(), "vod:upload")
        };
        assert_eq!(ok(Some(string("vod:upload")), None), Ok(()));
        assert_eq!(ok(Some(string("openid vod:upload profile")), None), Ok(()));
        assert_eq!(
            ok(None, Some(serde_json::json!(["a", "vod:upload"]))),
            Ok(())
        );
        assert_eq!(ok(None, Some(string("a vod:upload"))), Ok(()));
        for denied in [
            ok(None, None),
            ok(Some(string("vod:uploader")), None),
            ok(Some(string("vod:upload:all")), None),
            ok(Some(string("xvod:upload")), None),
            ok(Some(string("VOD:UPLOAD")), None),
            ok(Some(string("vod:upload,other")), None),
            ok(Some(string("")), None),
            ok(None, Some(serde_json::json!(["vod:upload openid"]))),
            ok(None, Some(serde_json::json!([]))),
        ] {
            assert_eq!(denied, Err(AuthError::InsufficientScope));
        }
        assert_eq!(
            ok(Some(serde_json::json!(["vod:upload"])), None),
            Err(AuthError::BadClaim("scope"))
        );
        assert_eq!(
            ok(None, Some(serde_json::json!(["vod:upload", 1]))),
            Err(AuthError::BadClaim("scp"))
        );
        assert_eq!(
            check_scope(Some(&string("a  b")), None, ""),
            Err(AuthError::InsufficientScope)
        );
    }

    #[test]
    fn bearer_header_parsing() {
        assert_eq!(bearer_token(None), Err(AuthError::Missing));
        assert_eq!(bearer_token(Some("")), Err(AuthError::Missing));
        assert_eq!(bearer_token(Some("Bearer")), Err(AuthError::Missing));
        assert_eq!(bearer_token(Some("Bearer   ")), Err(AuthError::Missing));
        assert_eq!(bearer_token(Some("Basic abc")), Err(AuthError::NotBearer));
        assert_eq!(bearer_token(Some("Bearerabc")), Err(AuthError::NotBearer));
        assert_eq!(bearer_token(Some("bearer a.b.c")), Ok("a.b.c"));
        assert_eq!(bearer_token(Some(" BEARER\t a.b.c ")), Ok("a.b.c"));
        let long = format!("Bearer {}", "a".repeat(MAX_TOKEN_BYTES + 1));
        assert_eq!(bearer_token(Some(&long)), Err(AuthError::TooLong));
    }

    #[test]
    fn reasons_and_statuses() {
        assert_eq!(AuthError::Missing.reason(), "missing_token");
        assert_eq!(AuthError::Missing.status(), 401);
        assert_eq!(AuthError::BadSignature.reason(), "invalid_token");
        assert_eq!(AuthError::Expired.reason(), "token_expired");
        assert_eq!(AuthError::Expired.status(), 401);
        assert_eq!(AuthError::InsufficientScope.reason(), "insufficient_scope");
        assert_eq!(AuthError::InsufficientScope.status(), 403);
        assert_eq!(AuthError::JwksUnavailable.reason(), "unavailable");
        assert_eq!(AuthError::JwksUnavailable.status(), 503);
    }

    proptest! {
        #[test]
        fn header_and_shape_checks_never_panic(header in any::<String>()) {
            if let Ok(token) = bearer_token(Some(&header)) {
                prop_assert!(!token.is_empty() && token.len() <= MAX_TOKEN_BYTES);
                let _ = parse_shape(token);
            }
            let _ = parse_shape(&header);
        }

        #[test]
        fn a_bearer_token_is_returned_as_sent(
            scheme in "(?i:bearer)",
            token in "[A-Za-z0-9._~+/=-]{1,300}",
            blanks in "[ \t]{1,3}",
        ) {
            let header = format!("{blanks}{scheme}{blanks}{token}{blanks}");
            prop_assert_eq!(bearer_token(Some(&header)), Ok(token.as_str()));
        }

        #[test]
        fn well_shaped_tokens_yield_their_algorithm(
            alg in prop::sample::select(vec!["HS256", "RS256", "ES256", "EdDSA", "none", "HS384"]),
            kid in proptest::option::of("[ -~]{0,20}"),
            payload in crate::vod::callback::tests::json_value(),
        ) {
            let mut header = serde_json::json!({"alg": alg});
            if let Some(kid) = &kid {
                header["kid"] = Value::from(kid.as_str());
            }
            let payload = serde_json::json!({"data": payload});
            let token = format!(
                "{}.{}.c2ln",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(payload.to_string()),
            );
            match parse_shape(&token) {
                Ok(parsed) => {
                    prop_assert_eq!(format!("{:?}", parsed.alg), alg);
                    prop_assert_eq!(parsed.kid, kid);
                }
                Err(error) => {
                    prop_assert!(["none", "HS384"].contains(&alg));
                    prop_assert_eq!(error, AuthError::UnsupportedAlgorithm);
                }
            }
        }
    }
}
