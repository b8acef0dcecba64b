//! Bytes → `JwtVerifier::verify` with HS256 keys: the `Authorization` header parsing, the shape
//! and header checks that run before any key is chosen, and, for tokens the harness signs
//! itself, the claim checks behind the signature.
//!
//! The first byte picks what the rest is: an `Authorization` header value as received, or
//! `<header JSON> NUL <payload JSON>` that the harness base64url-encodes and signs with HS256
//! under the current key, the previous key, or a key the verifier does not hold.
//!
//! Invariants: nothing panics; every refusal maps to a 401, 403 or 503; a token signed with a
//! key outside the list never verifies; a verified token is at most 8 KiB, its header names
//! exactly HS256, and its payload (read independently with serde_json) carries the configured
//! `iss` as a string, an `aud` naming the audience, a numeric `exp`, and the returned `sub`,
//! which is 1–128 bytes without control characters.
#![no_main]

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use sha2::Sha256;
use tokio::runtime::Runtime;
use vodgate::auth::jwt::{AuthError, Caller, Hs256Keys, JwtSettings, JwtVerifier, MAX_TOKEN_BYTES};
use vodgate::platform::secret::SecretList;
use vodgate::sign::SignError;
use vodgate::web::ApiError;

const CURRENT: &str = "fuzz-hs256-current";
const PREVIOUS: &str = "fuzz-hs256-previous";
const FOREIGN: &str = "fuzz-hs256-foreign";
const ISSUER: &str = "https://issuer.example";
const AUDIENCE: &str = "vodgate";

struct Harness {
    runtime: Runtime,
    verifier: JwtVerifier,
    keys: Hs256Keys,
}

static HARNESS: LazyLock<Harness> = LazyLock::new(|| Harness {
    runtime: tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime"),
    verifier: JwtVerifier::new(JwtSettings {
        issuer: Some(ISSUER.into()),
        audience: Some(AUDIENCE.into()),
        leeway_secs: 30,
        upload_scope: Some("vod:upload".into()),
        ..JwtSettings::default()
    })
    .expect("valid settings"),
    keys: Hs256Keys::new(&SecretList::parse(&format!("{CURRENT},{PREVIOUS}")).expect("two keys")),
});

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => {
            let Ok(header) = std::str::from_utf8(rest) else {
                return;
            };
            let _ = check(header);
        }
        signer => {
            let mut parts = rest.splitn(2, |&b| b == 0);
            let (header, payload) = (
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
            );
            let key = [CURRENT, PREVIOUS, FOREIGN][usize::from(signer - 1)];
            let token = signed(key, header, payload);
            let result = check(&format!("Bearer {token}"));
            if key == FOREIGN {
                assert!(result.is_err(), "a foreign key verified");
            }
        }
    }
});

/// `<b64(header)>.<b64(payload)>.<b64(HMAC-SHA256(key, signing input))>`.
fn signed(key: &str, header: &[u8], payload: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(input.as_bytes());
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

fn check(authorization: &str) -> Result<Caller, AuthError> {
    let harness = &*HARNESS;
    let result = harness.runtime.block_on(
        harness
            .verifier
            .verify(Some(authorization), Some(&harness.keys)),
    );
    match &result {
        Err(error) => {
            let api = ApiError::from(SignError::Auth(error.clone()));
            assert!(matches!(api.status().as_u16(), 401 | 403 | 503), "{error:?}");
            assert!(!api.reason().is_empty());
        }
        Ok(caller) => verified(authorization, caller),
    }
    result
}

fn verified(authorization: &str, caller: &Caller) {
    let token = authorization
        .trim_ascii()
        .split_once([' ', '\t'])
        .expect("scheme")
        .1
        .trim_ascii();
    assert!(token.len() <= MAX_TOKEN_BYTES);
    let segments: Vec<&str> = token.split('.').collect();
    assert_eq!(segments.len(), 3);
    let json = |segment: &str| -> Value {
        let bytes = URL_SAFE_NO_PAD.decode(segment).expect("base64url");
        serde_json::from_slice(&bytes).expect("JSON")
    };
    let header = json(segments[0]);
    assert_eq!(header["alg"], "HS256");
    let claims = json(segments[1]);
    assert_eq!(claims["iss"], ISSUER);
    let aud = &claims["aud"];
    assert!(
        aud == AUDIENCE
            || aud
                .as_array()
                .is_some_and(|list| list.iter().any(|a| a == AUDIENCE))
    );
    assert!(claims["exp"].is_number());
    assert_eq!(claims["sub"], caller.sub.as_str());
    assert!(!caller.sub.is_empty() && caller.sub.len() <= 128);
    assert!(!caller.sub.chars().any(char::is_control));
}
