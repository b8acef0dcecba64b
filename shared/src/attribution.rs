//! The attribution token: who uploaded a video, carried through VOD and back.
//!
//! VOD echoes the signature's `sourceContext` in the upload-complete event and `sessionContext` in
//! task-flow events, byte for byte. The `sign` function puts an attribution token in both, so the
//! `events` function can tell which signed-in user an event belongs to without any database.
//!
//! The token is readable by anyone holding the signature (the plaintext travels inside it), so it
//! carries nothing secret: an opaque upload id, the caller's `sub` and an optional app-chosen
//! `meta`. It is authenticated, not encrypted: a truncated HMAC-SHA256 under `VODGATE_CONTEXT_KEY`
//! proves the `sign` function produced it, so a client who builds its own signature-shaped
//! upload, or edits the context, gets `uploader: null` instead of someone else's name.
//!
//! Layout (always ≤ 250 characters, VOD's `sourceContext` limit):
//!
//! ```text
//! v1.<mac: 22 base64url>.<uploadId: 22 base64url>.<meta: 0–64 [A-Za-z0-9_-]>.<sub: 1–128 bytes>
//! ```
//!
//! `sub` comes last so it may contain any character, dots included. The MAC covers a domain
//! label and everything after it. Keys rotate: the first key of the list seals, every key opens,
//! so uploads signed before a rotation keep their attribution.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::platform::secret::SecretList;

/// Longest `sub` the token accepts (bytes). The JWT layer enforces the same bound.
pub const MAX_SUB_BYTES: usize = 128;
/// Longest `meta` (characters of `[A-Za-z0-9_-]`).
pub const MAX_META_CHARS: usize = 64;
/// Longest token: VOD's `sourceContext` limit.
pub const MAX_TOKEN_CHARS: usize = 250;

const VERSION: &str = "v1";
const MAC_LEN: usize = 16;
const UPLOAD_ID_BYTES: usize = 16;
const DOMAIN: &[u8] = b"vodgate/attribution/v1\0";

/// Who uploaded, as proven by a token's MAC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribution {
    pub sub: String,
    pub upload_id: UploadId,
    pub meta: Option<Meta>,
}

/// An opaque, random id for one signature request (128 bits, base64url, 22 characters).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UploadId(String);

impl UploadId {
    /// A fresh random id from the operating system's generator.
    pub fn random() -> Self {
        let bytes: [u8; UPLOAD_ID_BYTES] = rand::random();
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    fn parse(value: &str) -> Option<Self> {
        let mut bytes = [0u8; UPLOAD_ID_BYTES];
        match URL_SAFE_NO_PAD.decode_slice(value, &mut bytes) {
            Ok(UPLOAD_ID_BYTES) if value.len() == 22 => Some(Self(value.to_owned())),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An app-chosen tag sealed into the token (e.g. the app's post id): 1–64 of `[A-Za-z0-9_-]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta(String);

/// Why a `meta` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("meta must be 1 to {MAX_META_CHARS} characters of A-Z, a-z, 0-9, '-' or '_'")]
pub struct MetaError;

impl Meta {
    pub fn parse(value: &str) -> Result<Self, MetaError> {
        let valid = !value.is_empty()
            && value.len() <= MAX_META_CHARS
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err(MetaError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a token could not be sealed. Callers guarantee the inputs, so this signals a bug upstream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("sub must be 1 to {MAX_SUB_BYTES} bytes")]
    SubLength,
}

/// Seals `who` with the current context key.
pub fn seal(keys: &SecretList, who: &Attribution) -> Result<String, SealError> {
    if who.sub.is_empty() || who.sub.len() > MAX_SUB_BYTES {
        return Err(SealError::SubLength);
    }
    let body = format!(
        "{}.{}.{}",
        who.upload_id.as_str(),
        who.meta.as_ref().map_or("", Meta::as_str),
        who.sub
    );
    let mac = URL_SAFE_NO_PAD.encode(tag(keys.current().expose().as_bytes(), &body));
    Ok(format!("{VERSION}.{mac}.{body}"))
}

/// Opens a token: `Some` only if its shape is right and any of `keys` produced its MAC.
pub fn open(keys: &SecretList, token: &str) -> Option<Attribution> {
    if token.chars().count() > MAX_TOKEN_CHARS {
        return None;
    }
    let rest = token.strip_prefix(VERSION)?.strip_prefix('.')?;
    let (mac, body) = rest.split_once('.')?;
    let mut claimed = [0u8; MAC_LEN];
    if URL_SAFE_NO_PAD.decode_slice(mac, &mut claimed).ok()? != MAC_LEN {
        return None;
    }
    let authentic = keys.iter().fold(false, |ok, key| {
        ok | mac_for(key.expose().as_bytes(), body)
            .verify_truncated_left(&claimed)
            .is_ok()
    });
    if !authentic {
        return None;
    }
    let mut fields = body.splitn(3, '.');
    let upload_id = UploadId::parse(fields.next()?)?;
    let meta = match fields.next()? {
        "" => None,
        value => Some(Meta::parse(value).ok()?),
    };
    let sub = fields.next()?;
    if sub.is_empty() || sub.len() > MAX_SUB_BYTES {
        return None;
    }
    Some(Attribution {
        sub: sub.to_owned(),
        upload_id,
        meta,
    })
}

fn mac_for(key: &[u8], body: &str) -> Hmac<Sha256> {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(DOMAIN);
    mac.update(body.as_bytes());
    mac
}

fn tag(key: &[u8], body: &str) -> [u8; MAC_LEN] {
    let full = mac_for(key, body).finalize().into_bytes();
    let mut out = [0u8; MAC_LEN];
    out.copy_from_slice(&full[..MAC_LEN]);
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn keys(value: &str) -> SecretList {
        SecretList::parse(value).unwrap()
    }

    fn who(sub: &str, meta: Option<&str>) -> Attribution {
        Attribution {
            sub: sub.to_owned(),
            upload_id: UploadId::random(),
            meta: meta.map(|m| Meta::parse(m).unwrap()),
        }
    }

    #[test]
    fn round_trip() {
        let k = keys("context-key");
        for w in [who("user-1", None), who("auth0|a.b.c", Some("post_42-x"))] {
            let token = seal(&k, &w).unwrap();
            assert_eq!(open(&k, &token), Some(w));
        }
    }

    #[test]
    fn longest_token_fits_vod_limit() {
        let w = who(
            &"x".repeat(MAX_SUB_BYTES),
            Some(&"m".repeat(MAX_META_CHARS)),
        );
        assert_eq!(w.sub.len(), MAX_SUB_BYTES);
        let token = seal(&keys("k"), &w).unwrap();
        assert!(token.chars().count() <= MAX_TOKEN_CHARS, "{}", token.len());
        assert_eq!(open(&keys("k"), &token), Some(w));
    }

    #[test]
    fn rotation_first_seals_any_opens() {
        let old = seal(&keys("old"), &who("u", None)).unwrap();
        let rotated = keys("new,old");
        assert!(open(&rotated, &old).is_some());
        let fresh = seal(&rotated, &who("u", None)).unwrap();
        assert!(open(&keys("new"), &fresh).is_some());
        assert!(open(&keys("old"), &fresh).is_none());
    }

    #[test]
    fn forged_and_foreign_tokens_do_not_open() {
        let k = keys("context-key");
        let token = seal(&k, &who("alice", Some("p1"))).unwrap();
        let forged = token.replace("alice", "mallory");
        assert!(open(&k, &forged).is_none());
        assert!(open(&keys("other-key"), &token).is_none());
        for foreign in [
            "",
            "u=42&up=9f3c",
            "v1",
            "v1.",
            "v2.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA..u",
            &token[..token.len() - 1],
            &format!("{token}{}", "x".repeat(300)),
        ] {
            assert!(open(&k, foreign).is_none(), "{foreign:?}");
        }
    }

    #[test]
    fn seal_refuses_bad_sub() {
        assert_eq!(seal(&keys("k"), &who("", None)), Err(SealError::SubLength));
        let long = who(&"x".repeat(MAX_SUB_BYTES + 1), None);
        assert_eq!(seal(&keys("k"), &long), Err(SealError::SubLength));
    }

    #[test]
    fn meta_charset() {
        assert!(Meta::parse("post_42-A").is_ok());
        for bad in [
            "",
            "a.b",
            "a b",
            "é",
            "a/b",
            &"m".repeat(MAX_META_CHARS + 1),
        ] {
            assert_eq!(Meta::parse(bad), Err(MetaError), "{bad:?}");
        }
    }

    fn sub() -> impl Strategy<Value = String> {
        any::<String>().prop_filter("1 to 128 bytes", |sub| {
            (1..=MAX_SUB_BYTES).contains(&sub.len())
        })
    }

    fn attribution() -> impl Strategy<Value = Attribution> {
        (
            sub(),
            any::<[u8; UPLOAD_ID_BYTES]>(),
            proptest::option::of("[A-Za-z0-9_-]{1,64}"),
        )
            .prop_map(|(sub, id, meta)| Attribution {
                sub,
                upload_id: UploadId(URL_SAFE_NO_PAD.encode(id)),
                meta: meta.map(|meta| Meta::parse(&meta).unwrap()),
            })
    }

    proptest! {
        #[test]
        fn sealed_tokens_fit_and_open_to_what_was_sealed(
            who in attribution(),
            current in "[A-Za-z0-9]{1,32}",
            previous in "[A-Za-z0-9]{1,32}",
        ) {
            let token = seal(&keys(&current), &who).unwrap();
            prop_assert!(token.chars().count() <= MAX_TOKEN_CHARS);
            prop_assert_eq!(open(&keys(&format!("{previous},{current}")), &token), Some(who));
        }

        #[test]
        fn a_changed_character_never_opens(
            who in attribution(),
            at in any::<prop::sample::Index>(),
            replacement in any::<char>(),
        ) {
            let k = keys("context-key");
            let token = seal(&k, &who).unwrap();
            let mut chars: Vec<char> = token.chars().collect();
            let at = at.index(chars.len());
            prop_assume!(chars[at] != replacement);
            chars[at] = replacement;
            let changed: String = chars.into_iter().collect();
            prop_assert_eq!(open(&k, &changed), None);
        }

        #[test]
        fn arbitrary_text_never_opens(text in any::<String>()) {
            prop_assert_eq!(open(&keys("context-key"), &text), None);
            let prefixed = format!("v1.{text}");
            prop_assert_eq!(open(&keys("context-key"), &prefixed), None);
        }
    }
}
