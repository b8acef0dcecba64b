//! Text → `attribution::open` with a fixed key list (current and previous key).
//!
//! The first byte picks what the rest is: a token as received, or a token body
//! (`<uploadId>.<meta>.<sub>`) that the harness seals with the previous key, so that the field
//! parsing behind the MAC is reached. The harness computes that MAC itself from the documented
//! construction (HMAC-SHA256 over the domain label and the body, truncated to 16 bytes,
//! base64url), an oracle independent of `seal`.
//!
//! Invariants: nothing panics; whatever opens has fields within their documented limits and
//! re-seals, under the key that opened it, to exactly the token it came from (so no two tokens
//! open to the same attribution under one key, and `open` accepts only what `seal` produces); a
//! token sealed under a key outside the list never opens.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;
use vodgate::attribution::{self, MAX_META_CHARS, MAX_SUB_BYTES, MAX_TOKEN_CHARS};
use vodgate::platform::secret::{Secret, SecretList};

const CURRENT: &str = "fuzz-context-current";
const PREVIOUS: &str = "fuzz-context-previous";
const FOREIGN: &str = "fuzz-context-foreign";
const DOMAIN: &[u8] = b"vodgate/attribution/v1\0";

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let keys = SecretList::parse(&format!("{CURRENT},{PREVIOUS}")).expect("two keys");
    match mode % 3 {
        0 => check(&keys, text),
        1 => check(&keys, &sealed(PREVIOUS, text)),
        _ => assert_eq!(attribution::open(&keys, &sealed(FOREIGN, text)), None),
    }
});

/// `body` sealed under `key` by the documented construction.
fn sealed(key: &str, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(DOMAIN);
    mac.update(body.as_bytes());
    let tag = mac.finalize().into_bytes();
    format!("v1.{}.{body}", URL_SAFE_NO_PAD.encode(&tag[..16]))
}

fn check(keys: &SecretList, token: &str) {
    let Some(opened) = attribution::open(keys, token) else {
        return;
    };
    assert!(token.chars().count() <= MAX_TOKEN_CHARS);
    assert!(!opened.sub.is_empty() && opened.sub.len() <= MAX_SUB_BYTES);
    let upload_id = opened.upload_id.as_str();
    assert_eq!(upload_id.len(), 22);
    assert!(
        URL_SAFE_NO_PAD
            .decode(upload_id)
            .is_ok_and(|bytes| bytes.len() == 16)
    );
    if let Some(meta) = &opened.meta {
        let meta = meta.as_str();
        assert!(!meta.is_empty() && meta.len() <= MAX_META_CHARS);
        assert!(
            meta.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }
    let resealed = [CURRENT, PREVIOUS].map(|key| {
        let single = SecretList::single(Secret::new(key));
        attribution::seal(&single, &opened).expect("what opened can be sealed")
    });
    assert!(
        resealed.iter().any(|again| again == token),
        "{token:?} → {resealed:?}"
    );
}
