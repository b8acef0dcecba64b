//! Text → `attribution::open` and `attribution::Upload::verify` with a fixed key list (current
//! and previous key).
//!
//! The first byte picks what the rest is: a token as received, a token body
//! (`<uploadId>.<meta>.<sub>`) that the harness seals as v1 or as v2 with the previous key, so
//! that the field parsing behind the MAC is reached, a body sealed with a key outside the list, an
//! upload id as a client would present it, or an upload id the harness mints with the previous
//! key from a nonce and a `sub` (`<nonce hex: 24>|<meta>|<sub>`). The harness computes MACs and
//! tags itself from the documented constructions (HMAC-SHA256 over a domain label and the input,
//! truncated, base64url), an oracle independent of `seal` and `Upload::create`.
//!
//! Invariants: nothing panics; whatever opens has fields within their documented limits, an id of
//! its version's shape, and re-seals, under the key that opened it, to exactly the token it came
//! from (so no two tokens open to the same attribution under one key, and `open` accepts only
//! what `seal` produces); a token sealed under a key outside the list never opens; an id that
//! verifies is exactly the text presented and seals into a v2 token that opens to it; an id the
//! oracle mints verifies for its `sub` and for no other.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;
use vodgate::attribution::{
    self, MAX_META_CHARS, MAX_SUB_BYTES, MAX_TOKEN_CHARS, MAX_UPLOAD_ID_CHARS, Upload,
};
use vodgate::platform::secret::{Secret, SecretList};

const CURRENT: &str = "fuzz-context-current";
const PREVIOUS: &str = "fuzz-context-previous";
const FOREIGN: &str = "fuzz-context-foreign";
const V1_DOMAIN: &[u8] = b"vodgate/attribution/v1\0";
const V2_DOMAIN: &[u8] = b"vodgate/attribution/v2\0";
const ID_DOMAIN: &[u8] = b"vodgate/upload-id/v2\0";

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let keys = SecretList::parse(&format!("{CURRENT},{PREVIOUS}")).expect("two keys");
    match mode % 7 {
        0 => check(&keys, text),
        1 => check(&keys, &sealed(PREVIOUS, "v1", V1_DOMAIN, text)),
        2 => check(&keys, &sealed(PREVIOUS, "v2", V2_DOMAIN, text)),
        3 => {
            for (version, domain) in [("v1", V1_DOMAIN), ("v2", V2_DOMAIN)] {
                let token = sealed(FOREIGN, version, domain, text);
                assert_eq!(attribution::open(&keys, &token), None);
            }
        }
        4 => check_id(&keys, "fuzz-sub", text),
        _ => minted(&keys, text),
    }
});

fn hmac(key: &str) -> Hmac<Sha256> {
    <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes()).expect("any key length")
}

/// `body` sealed under `key` as a token of `version` by the documented construction.
fn sealed(key: &str, version: &str, domain: &[u8], body: &str) -> String {
    let mut mac = hmac(key);
    mac.update(domain);
    mac.update(body.as_bytes());
    let tag = mac.finalize().into_bytes();
    format!("{version}.{}.{body}", URL_SAFE_NO_PAD.encode(&tag[..16]))
}

fn check(keys: &SecretList, token: &str) {
    let Some(opened) = attribution::open(keys, token) else {
        return;
    };
    assert!(token.chars().count() <= MAX_TOKEN_CHARS);
    assert!(!opened.sub.is_empty() && opened.sub.len() <= MAX_SUB_BYTES);
    let upload_id = opened.upload_id.as_str();
    if token.starts_with("v1.") {
        assert!(!opened.upload_id.is_refreshable());
        assert_eq!(upload_id.len(), 22);
        assert!(
            URL_SAFE_NO_PAD
                .decode(upload_id)
                .is_ok_and(|bytes| bytes.len() == 16)
        );
    } else {
        assert!(opened.upload_id.is_refreshable());
        let (core, meta) = upload_id.split_at(28);
        assert!(
            URL_SAFE_NO_PAD
                .decode(core)
                .is_ok_and(|bytes| bytes.len() == 21)
        );
        let expected = opened.meta.as_ref().map(|m| format!(".{}", m.as_str()));
        assert_eq!(meta, expected.as_deref().unwrap_or(""));
    }
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

/// An id as presented: if it verifies it is canonical, and its upload seals and opens.
fn check_id(keys: &SecretList, sub: &str, id: &str) {
    let Ok(upload) = Upload::verify(keys, sub, id) else {
        return;
    };
    assert!(id.len() <= MAX_UPLOAD_ID_CHARS);
    assert_eq!(upload.id().as_str(), id);
    assert_eq!(upload.sub(), sub);
    let token = upload.seal(keys);
    assert!(token.chars().count() <= MAX_TOKEN_CHARS);
    assert_eq!(
        attribution::open(keys, &token),
        Some(upload.into_attribution())
    );
}

/// `<nonce: 24 hex>|<meta>|<sub>` → an id minted under the previous key by the documented
/// construction: it verifies for `sub` and no other.
fn minted(keys: &SecretList, text: &str) {
    let mut parts = text.splitn(3, '|');
    let (Some(nonce), Some(meta), Some(sub)) = (parts.next(), parts.next(), parts.next()) else {
        return;
    };
    let Ok(nonce) = hex::decode(nonce) else {
        return;
    };
    if nonce.len() != 12 {
        return;
    }
    let mut mac = hmac(PREVIOUS);
    mac.update(ID_DOMAIN);
    mac.update(&nonce);
    for field in [sub, meta] {
        mac.update(&(field.len() as u32).to_be_bytes());
        mac.update(field.as_bytes());
    }
    let tag = mac.finalize().into_bytes();
    let mut bytes = nonce;
    bytes.extend_from_slice(&tag[..9]);
    let core = URL_SAFE_NO_PAD.encode(&bytes);
    let id = if meta.is_empty() {
        core
    } else {
        format!("{core}.{meta}")
    };
    let meta_ok = meta.len() <= MAX_META_CHARS
        && meta
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let sub_ok = !sub.is_empty() && sub.len() <= MAX_SUB_BYTES;
    let verified = Upload::verify(keys, sub, &id);
    assert_eq!(verified.is_ok(), meta_ok && sub_ok, "{id:?} for {sub:?}");
    if verified.is_ok() {
        check_id(keys, sub, &id);
        let other = format!("{sub}x");
        assert!(Upload::verify(keys, &other, &id).is_err());
    }
}
