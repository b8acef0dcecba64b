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
//! token, a header value or key material. Which status and challenge a client sees is the use
//! case's choice, made where it maps its errors to responses.

mod settings;
mod shape;

use std::fmt;
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

use self::settings::parse_jwks_url;
pub use self::settings::{JwtSettings, JwtSettingsError};
use self::shape::{bearer_token, parse_shape, read_claim};
use super::jwks::{JwksCache, Lookup};
use crate::platform::secret::SecretList;

/// Longest accepted token, in bytes. Checked before the token is decoded.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Largest accepted clock leeway for `exp` and `nbf`, in seconds.
pub const MAX_LEEWAY_SECS: u64 = 60;

/// Default longest time a downloaded JWKS is used without downloading it again.
pub const DEFAULT_JWKS_MAX_AGE: Duration = Duration::from_secs(600);

/// Default minimum time between two JWKS downloads for one verifier.
pub const DEFAULT_REFETCH_INTERVAL: Duration = Duration::from_secs(10);

/// Longest accepted `kid`, in bytes, in tokens and in JWKS entries.
pub(super) const MAX_KID_BYTES: usize = 256;

/// Longest accepted `sub`, in bytes.
const MAX_SUB_BYTES: usize = 128;

/// The accepted algorithms; a verifier holds one `Validation` for each, in this order.
const ALGORITHMS: [Algorithm; 4] = [
    Algorithm::HS256,
    Algorithm::RS256,
    Algorithm::ES256,
    Algorithm::EdDSA,
];

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
    /// The value of the claim named by [`JwtVerifier::with_claim`], when the token carries it.
    pub claim: Option<Value>,
}

/// Verifies bearer tokens. Build once at start-up and share it behind an `Arc`.
pub struct JwtVerifier {
    /// One per entry of [`ALGORITHMS`], built once: decoding never clones a `Validation`.
    validations: [Validation; 4],
    upload_scope: Option<String>,
    jwks: Option<JwksCache>,
    /// One more claim to hand to the caller ([`Self::with_claim`]).
    claim: Option<String>,
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
        let validations = ALGORITHMS.map(|alg| {
            let mut validation = validation.clone();
            validation.algorithms = vec![alg];
            validation
        });

        Ok(Self {
            validations,
            upload_scope,
            jwks,
            claim: None,
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

    /// Hands the value of the claim `name` to every [`Caller`] (for a use case that takes a fact
    /// from the token rather than from the request). A token that repeats it is malformed.
    pub fn with_claim(mut self, name: impl Into<String>) -> Self {
        self.claim = Some(name.into());
        self
    }

    /// Sets the longest time a downloaded JWKS is used before it is downloaded again (default
    /// [`DEFAULT_JWKS_MAX_AGE`]; a shorter `Cache-Control: max-age` of the response wins). While
    /// the download fails, the keys already cached keep serving.
    pub fn with_jwks_max_age(mut self, max_age: Duration) -> Self {
        if let Some(jwks) = &mut self.jwks {
            jwks.set_max_age(max_age);
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
        let mut caller = self.check_claims(claims)?;
        if let Some(name) = &self.claim {
            caller.claim = read_claim(&header.payload, name)?;
        }
        Ok(caller)
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
        let validation = ALGORITHMS
            .iter()
            .position(|accepted| *accepted == alg)
            .map(|index| &self.validations[index])
            .ok_or(AuthError::UnsupportedAlgorithm)?;
        jsonwebtoken::decode::<Claims>(token, key, validation)
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
        Ok(Caller { sub, claim: None })
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

#[cfg(test)]
mod tests;
