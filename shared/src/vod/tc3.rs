//! TC3-HMAC-SHA256: how every TencentCloud API 3.0 request is signed.
//!
//! The reliable-callback mode calls VOD's API (`PullEvents`, `ConfirmEvents`, `DescribeEventConfig`,
//! `ModifyEventConfig`), and TencentCloud accepts an API call only with this signature in its
//! `Authorization` header. It is a small, fixed algorithm, so it is written here on the `hmac` and
//! `sha2` crates the service already uses rather than pulled in with a third-party SDK; the
//! official worked examples (in the tests below) pin it down byte for byte.
//!
//! 1. `CanonicalRequest = Method \n / \n Query \n CanonicalHeaders \n SignedHeaders \n hex(sha256(payload))`,
//!    where each signed header is `lower(name):lower(trim(value))\n`, sorted by name, so the
//!    headers block ends in a newline.
//! 2. `StringToSign = TC3-HMAC-SHA256 \n Timestamp \n Date/service/tc3_request \n hex(sha256(CanonicalRequest))`,
//!    `Date` being the UTC date of the timestamp (local time would break around midnight).
//! 3. `SecretSigning = HMAC(HMAC(HMAC("TC3" + SecretKey, Date), service), "tc3_request")`, and the
//!    signature is the lowercase hex of `HMAC(SecretSigning, StringToSign)`.
//!
//! Everything here is pure: no clock, no I/O. The caller passes the timestamp and the header
//! values exactly as they will be sent (a `Content-Type` that gains `; charset=utf-8` on the wire
//! but not in the signature fails with `AuthFailure.SignatureFailure`). The derived keys and the
//! signature are key material: [`SigningKeys`] never prints them.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::platform::secret::Secret;

/// The algorithm name, first in `StringToSign` and in `Authorization`.
pub(crate) const ALGORITHM: &str = "TC3-HMAC-SHA256";

/// The request as it will be sent, limited to what the signature covers.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `POST` or `GET`.
    pub method: &'a str,
    /// The canonical query string: empty for POST, the URL-encoded query for GET.
    pub query: &'a str,
    /// The signed headers, name and value as sent (any case, any order). Must include
    /// `Content-Type` and `Host`.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body bytes exactly as sent.
    pub payload: &'a [u8],
}

/// The three keys derived from the SecretKey for one date and service.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKeys {
    /// `HMAC("TC3" + SecretKey, Date)`.
    pub(crate) secret_date: [u8; 32],
    /// `HMAC(SecretDate, service)`.
    pub(crate) secret_service: [u8; 32],
    /// `HMAC(SecretService, "tc3_request")`: the key that signs.
    pub(crate) secret_signing: [u8; 32],
}

impl fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKeys([REDACTED])")
    }
}

/// The result of signing: the `Authorization` value and the parts it is made of.
#[derive(Clone, PartialEq, Eq)]
pub struct Signed {
    /// `TC3-HMAC-SHA256 Credential=<id>/<date>/<service>/tc3_request, SignedHeaders=<list>, Signature=<hex>`.
    pub authorization: String,
    /// The signed header names, lowercase, sorted, `;`-separated.
    pub(crate) signed_headers: String,
    /// The lowercase hex signature.
    pub(crate) signature: String,
}

impl fmt::Debug for Signed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signed")
            .field("signed_headers", &self.signed_headers)
            .finish_non_exhaustive()
    }
}

/// Signs `request` for `service` (`vod`) at `timestamp` (Unix seconds, sent as `X-TC-Timestamp`).
pub fn sign(
    secret_id: &str,
    secret_key: &Secret,
    service: &str,
    timestamp: i64,
    request: &Request<'_>,
) -> Signed {
    let date = utc_date(timestamp);
    let (canonical, signed_headers) = canonical_request(request);
    let to_sign = string_to_sign(timestamp, &date, service, &canonical);
    let keys = signing_keys(secret_key, &date, service);
    let signature = signature(&keys, &to_sign);
    Signed {
        authorization: format!(
            "{ALGORITHM} Credential={secret_id}/{date}/{service}/tc3_request, SignedHeaders={signed_headers}, Signature={signature}"
        ),
        signed_headers,
        signature,
    }
}

/// The UTC date (`YYYY-MM-DD`) of a Unix timestamp. A timestamp outside the years −9999…9999
/// (no real clock) gives `1970-01-01`, and so a signature the server refuses, instead of a panic.
pub fn utc_date(timestamp: i64) -> String {
    let at = OffsetDateTime::from_unix_timestamp(timestamp).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}",
        at.year(),
        u8::from(at.month()),
        at.day()
    )
}

/// Lowercase hex of SHA-256.
fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The canonical request and the `SignedHeaders` list.
pub fn canonical_request(request: &Request<'_>) -> (String, String) {
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value.trim().to_ascii_lowercase()))
        .collect();
    headers.sort();
    let canonical_headers: String = headers
        .iter()
        .map(|(name, value)| format!("{name}:{value}\n"))
        .collect();
    let signed_headers = headers
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical = format!(
        "{}\n/\n{}\n{canonical_headers}\n{signed_headers}\n{}",
        request.method,
        request.query,
        sha256_hex(request.payload)
    );
    (canonical, signed_headers)
}

/// `StringToSign` for a canonical request.
pub fn string_to_sign(
    timestamp: i64,
    date: &str,
    service: &str,
    canonical_request: &str,
) -> String {
    format!(
        "{ALGORITHM}\n{timestamp}\n{date}/{service}/tc3_request\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// Derives the signing keys for `date` and `service`.
pub fn signing_keys(secret_key: &Secret, date: &str, service: &str) -> SigningKeys {
    let secret_date = hmac(
        format!("TC3{}", secret_key.expose()).as_bytes(),
        date.as_bytes(),
    );
    let secret_service = hmac(&secret_date, service.as_bytes());
    let secret_signing = hmac(&secret_service, b"tc3_request");
    SigningKeys {
        secret_date,
        secret_service,
        secret_signing,
    }
}

/// The lowercase hex signature of `string_to_sign`.
pub fn signature(keys: &SigningKeys, string_to_sign: &str) -> String {
    hex::encode(hmac(&keys.secret_signing, string_to_sign.as_bytes()))
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests;
