//! The token's shape, checked by hand before any key is chosen.
//!
//! `jsonwebtoken` accepts more than a strict verifier should (padding, extra segments, arrays
//! where objects belong); whatever a gateway and this verifier could read differently is refused
//! here, from the header value alone, without touching a key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::Deserialize;
use serde::de::{self, Deserializer as _, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use super::{AuthError, MAX_TOKEN_BYTES};

/// Slack for the scheme and whitespace around the token in the `Authorization` header.
const MAX_SCHEME_BYTES: usize = 64;

/// The header fields read before choosing a key. Derived, so a repeated `alg` or `kid` fails.
#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    kid: Option<String>,
}

/// The parts of a structurally valid token's header that select the key.
#[derive(Debug)]
pub(super) struct TokenHeader {
    pub(super) alg: Algorithm,
    pub(super) kid: Option<String>,
    /// The decoded payload, unverified: read only once the signature has passed.
    pub(super) payload: Vec<u8>,
}

/// Extracts the token from `Bearer <token>` (scheme case-insensitive, surrounding blanks ignored).
pub(super) fn bearer_token(header: Option<&str>) -> Result<&str, AuthError> {
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
pub(super) fn parse_shape(token: &str) -> Result<TokenHeader, AuthError> {
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
    let payload = decode_json_object(payload)?;
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
        payload,
    })
}

/// The value of the claim `name` in a verified payload, if present. A payload that names it twice
/// is malformed: two parsers could read two different values.
pub(super) fn read_claim(payload: &[u8], name: &str) -> Result<Option<Value>, AuthError> {
    serde_json::Deserializer::from_slice(payload)
        .deserialize_map(OneClaim(name))
        .map_err(|_| AuthError::Malformed)
}

/// Walks the payload's top level for one claim, refusing it twice.
struct OneClaim<'a>(&'a str);

impl<'de> Visitor<'de> for OneClaim<'_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Value>, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            if key != self.0 {
                map.next_value::<IgnoredAny>()?;
            } else if found.replace(map.next_value::<Value>()?).is_some() {
                return Err(de::Error::custom("repeated claim"));
            }
        }
        Ok(found)
    }
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
