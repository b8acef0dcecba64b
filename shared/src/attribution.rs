//! The attribution token and the upload id: who uploaded a video, carried through VOD and back.
//!
//! VOD echoes the signature's `sourceContext` in the upload-complete event and `sessionContext` in
//! task-flow events, byte for byte. The `sign` function puts an attribution token in both, so the
//! `events` function can tell which signed-in user an event belongs to without any database.
//!
//! The token is readable by anyone holding the signature (the plaintext travels inside it), so it
//! carries nothing secret: the upload id, the caller's `sub` and an optional app-chosen `meta`.
//! It is authenticated, not encrypted: a truncated HMAC-SHA256 under `VODGATE_CONTEXT_KEY`
//! proves the `sign` function produced it, so a client who builds its own signature-shaped
//! upload, or edits the context, gets `uploader: null` instead of someone else's name.
//!
//! # The upload id
//!
//! One browser upload asks for several signatures (vod-js-sdk-v6 calls `getSignature` before
//! every step), and all of them must name the same upload, or the id the client holds cannot be
//! matched to the events. So an upload id is minted once ([`Upload::create`]) and presented again
//! on each refresh ([`Upload::verify`]). Checking that the caller owns it must not cost a network
//! round trip on the signing path, so the id proves it by itself: it carries a tag, a truncated
//! HMAC over the caller's `sub` and the upload's `meta`, and the `meta` travels inside the id, so a
//! refresh needs only the id and the caller's JWT.
//!
//! ```text
//! uploadId = <28 base64url: nonce (12 random bytes) ‖ tag (9 bytes)> [ "." <meta> ]
//! tag      = HMAC-SHA256(key, "vodgate/upload-id/v2\0" ‖ nonce ‖ u32be(len sub) ‖ sub
//!                              ‖ u32be(len meta) ‖ meta)[..9]
//! ```
//!
//! 72 bits of tag make a guessed id for someone else's `sub` hopeless at any rate the signing
//! route allows; the 96-bit nonce keeps two uploads of one caller with one `meta` apart. An id is
//! checked against every key of `VODGATE_CONTEXT_KEY`, in constant time, so it stays refreshable
//! across a key rotation until the key that minted it is dropped. [`UploadId`] values come only
//! from minting, from that check, or from a token whose MAC held: holding one means it is genuine.
//!
//! # The token
//!
//! Always ≤ 250 characters, VOD's `sourceContext` limit:
//!
//! ```text
//! v2.<mac: 22 base64url>.<id: 28 base64url>.<meta: 0–64 [A-Za-z0-9_-]>.<sub: 1–128 bytes>
//!    3 + 22 + 1 + 28 + 1 + 64 + 1 + 128 = 248 characters at most
//! ```
//!
//! `sub` comes last so it may contain any character, dots included. The MAC (128 bits) covers a
//! domain label and everything after it. Keys rotate: the first key of the list seals, every key
//! opens, so uploads signed before a rotation keep their attribution.
//!
//! Tokens issued before upload ids were refreshable (`v1.<mac>.<id: 22 base64url>.<meta>.<sub>`,
//! the id 128 random bits, at most 242 characters) still open, with their 22-character id; such
//! an id cannot be refreshed, since it carries no tag.

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
/// Longest upload id: 28 characters, a dot and the longest `meta`.
pub const MAX_UPLOAD_ID_CHARS: usize = ID_CHARS + 1 + MAX_META_CHARS;

const MAC_LEN: usize = 16;
const V1: &str = "v1";
const V1_DOMAIN: &[u8] = b"vodgate/attribution/v1\0";
const V1_ID_BYTES: usize = 16;
const V1_ID_CHARS: usize = 22;
const V2: &str = "v2";
const V2_DOMAIN: &[u8] = b"vodgate/attribution/v2\0";
const ID_DOMAIN: &[u8] = b"vodgate/upload-id/v2\0";
const NONCE_BYTES: usize = 12;
const TAG_BYTES: usize = 9;
const ID_BYTES: usize = NONCE_BYTES + TAG_BYTES;
/// 21 bytes are exactly 28 base64 characters: no padding, no spare bits, one text per id.
const ID_CHARS: usize = ID_BYTES / 3 * 4;

/// Who uploaded, as a token says it (and, from [`open`], as its MAC proves it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribution {
    pub sub: String,
    pub upload_id: UploadId,
    pub meta: Option<Meta>,
}

/// The public id of one upload: what the client holds and what the events report.
///
/// Either `<28 base64url>` or `<28 base64url>.<meta>` (refreshable), or the 22 characters of a
/// v1 id (from tokens issued before upload ids were refreshable).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UploadId {
    text: String,
    refreshable: bool,
}

impl UploadId {
    /// A random v1 id (128 bits, 22 characters): bound to no one, so never refreshable, and
    /// sealed into a v1 token. For fixtures and tests of the tokens issued before refreshable
    /// ids; `sign` mints its ids with [`Upload::create`].
    pub fn random() -> Self {
        let bytes: [u8; V1_ID_BYTES] = rand::random();
        Self {
            text: URL_SAFE_NO_PAD.encode(bytes),
            refreshable: false,
        }
    }

    /// The id exactly as the client holds it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether [`Upload::verify`] can accept this id: false for v1 ids.
    pub fn is_refreshable(&self) -> bool {
        self.refreshable
    }

    /// A v1 id: 22 base64url characters of 16 bytes.
    fn parse_v1(text: &str) -> Option<Self> {
        let mut bytes = [0u8; V1_ID_BYTES];
        match URL_SAFE_NO_PAD.decode_slice(text, &mut bytes) {
            Ok(V1_ID_BYTES) if text.len() == V1_ID_CHARS => Some(Self {
                text: text.to_owned(),
                refreshable: false,
            }),
            _ => None,
        }
    }

    /// The 28 characters before the meta, decoded; `None` unless they are exactly that.
    fn decode_core(core: &str) -> Option<[u8; ID_BYTES]> {
        let mut bytes = [0u8; ID_BYTES];
        match URL_SAFE_NO_PAD.decode_slice(core, &mut bytes) {
            Ok(ID_BYTES) if core.len() == ID_CHARS => Some(bytes),
            _ => None,
        }
    }

    fn v2(core: &str, meta: Option<&Meta>) -> Self {
        let text = match meta {
            None => core.to_owned(),
            Some(meta) => format!("{core}.{}", meta.as_str()),
        };
        Self {
            text,
            refreshable: true,
        }
    }

    /// The 28 characters of a refreshable id (its nonce and tag), `None` for a v1 id.
    fn core(&self) -> Option<&str> {
        self.refreshable.then(|| &self.text[..ID_CHARS])
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

/// An upload the caller owns: its id, minted for them or proven theirs by its tag. Only
/// [`Upload::create`] and [`Upload::verify`] build one, so `sign` cannot seal an id for the
/// wrong caller or with another `meta` than the one inside the id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    sub: String,
    id: UploadId,
    meta: Option<Meta>,
}

/// Why a presented upload id is not one of the caller's uploads. `sign` answers all three
/// alike (404, as for an id that does not exist), so an id's owner is never revealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UploadIdError {
    #[error(
        "not an upload id: expected 28 characters of A-Z, a-z, 0-9, '-' or '_', optionally \
         followed by '.' and the upload's meta"
    )]
    Malformed,
    /// A 22-character id from a v1 token: it carries no tag, so no one can prove it theirs.
    #[error("a v1 upload id (issued before upload ids could be refreshed) cannot be refreshed")]
    Legacy,
    /// The tag matches no key for this caller's `sub` and the id's `meta`: someone else's id, a
    /// forged one, or one minted under a key since rotated away.
    #[error("no upload of this caller has this id")]
    NotTheCallers,
}

impl Upload {
    /// A new upload for `sub` with a fresh random nonce, its id tagged with the current key.
    pub fn create(keys: &SecretList, sub: &str, meta: Option<Meta>) -> Result<Self, SealError> {
        Self::mint(keys, sub, meta, rand::random())
    }

    fn mint(
        keys: &SecretList,
        sub: &str,
        meta: Option<Meta>,
        nonce: [u8; NONCE_BYTES],
    ) -> Result<Self, SealError> {
        check_sub(sub)?;
        let full = id_mac(
            keys.current().expose().as_bytes(),
            &nonce,
            sub,
            meta.as_ref(),
        )
        .finalize()
        .into_bytes();
        let mut bytes = [0u8; ID_BYTES];
        bytes[..NONCE_BYTES].copy_from_slice(&nonce);
        bytes[NONCE_BYTES..].copy_from_slice(&full[..TAG_BYTES]);
        Ok(Self {
            sub: sub.to_owned(),
            id: UploadId::v2(&URL_SAFE_NO_PAD.encode(bytes), meta.as_ref()),
            meta,
        })
    }

    /// The upload `id` names, if it is one of `sub`'s: its tag must hold under one of `keys`
    /// (each is tried, in constant time).
    pub fn verify(keys: &SecretList, sub: &str, id: &str) -> Result<Self, UploadIdError> {
        if id.len() > MAX_UPLOAD_ID_CHARS {
            return Err(UploadIdError::Malformed);
        }
        let (core, meta) = match id.split_once('.') {
            None => (id, None),
            Some((core, meta)) => (
                core,
                Some(Meta::parse(meta).map_err(|_| UploadIdError::Malformed)?),
            ),
        };
        let Some(bytes) = UploadId::decode_core(core) else {
            return Err(if meta.is_none() && UploadId::parse_v1(core).is_some() {
                UploadIdError::Legacy
            } else {
                UploadIdError::Malformed
            });
        };
        // An id minted for a `sub` out of bounds cannot exist; `check_sub` keeps `Upload` valid.
        check_sub(sub).map_err(|_| UploadIdError::NotTheCallers)?;
        let (nonce, tag) = bytes.split_at(NONCE_BYTES);
        let theirs = keys.iter().fold(false, |ok, key| {
            ok | id_mac(key.expose().as_bytes(), nonce, sub, meta.as_ref())
                .verify_truncated_left(tag)
                .is_ok()
        });
        if !theirs {
            return Err(UploadIdError::NotTheCallers);
        }
        Ok(Self {
            sub: sub.to_owned(),
            id: UploadId::v2(core, meta.as_ref()),
            meta,
        })
    }

    pub fn id(&self) -> &UploadId {
        &self.id
    }

    pub fn sub(&self) -> &str {
        &self.sub
    }

    pub fn meta(&self) -> Option<&Meta> {
        self.meta.as_ref()
    }

    /// The v2 token naming this upload, sealed with the current key.
    pub fn seal(&self, keys: &SecretList) -> String {
        let core = self.id.core().expect("an Upload's id is refreshable");
        seal_v2(keys, core, self.meta.as_ref(), &self.sub)
    }

    /// What [`open`] gives back for this upload's tokens.
    pub fn into_attribution(self) -> Attribution {
        Attribution {
            sub: self.sub,
            upload_id: self.id,
            meta: self.meta,
        }
    }
}

/// Why a token could not be sealed. Callers guarantee the inputs, so this signals a bug upstream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("sub must be 1 to {MAX_SUB_BYTES} bytes")]
    SubLength,
    /// A refreshable id carries its `meta`; the attribution named another.
    #[error("meta must be the one inside the upload id")]
    MetaMismatch,
}

fn check_sub(sub: &str) -> Result<(), SealError> {
    if sub.is_empty() || sub.len() > MAX_SUB_BYTES {
        Err(SealError::SubLength)
    } else {
        Ok(())
    }
}

/// Seals `who` with the current key: a v2 token for a refreshable id, a v1 token for a v1 id
/// (fixtures of the tokens issued before refreshable ids). `sign` seals through
/// [`Upload::seal`], whose id is proven to be the caller's; this one trusts its caller.
pub fn seal(keys: &SecretList, who: &Attribution) -> Result<String, SealError> {
    check_sub(&who.sub)?;
    match who.upload_id.core() {
        Some(core) => {
            if UploadId::v2(core, who.meta.as_ref()) != who.upload_id {
                return Err(SealError::MetaMismatch);
            }
            Ok(seal_v2(keys, core, who.meta.as_ref(), &who.sub))
        }
        None => {
            let body = format!(
                "{}.{}.{}",
                who.upload_id.as_str(),
                who.meta.as_ref().map_or("", Meta::as_str),
                who.sub
            );
            let mac = token_tag(keys, V1_DOMAIN, &body);
            Ok(format!("{V1}.{mac}.{body}"))
        }
    }
}

fn seal_v2(keys: &SecretList, core: &str, meta: Option<&Meta>, sub: &str) -> String {
    let body = format!("{core}.{}.{sub}", meta.map_or("", Meta::as_str));
    let mac = token_tag(keys, V2_DOMAIN, &body);
    format!("{V2}.{mac}.{body}")
}

/// Opens a token: `Some` only if its shape is right and any of `keys` produced its MAC. Both
/// token versions open.
pub fn open(keys: &SecretList, token: &str) -> Option<Attribution> {
    check(keys, token).ok()
}

/// Why a context value is not an attribution token that opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not one of ours at all (no `v1.`/`v2.` prefix, or over the length limit): an app's own
    /// context, say.
    #[error("not an attribution token")]
    Foreign,
    /// Shaped like ours, but no key in force produced its MAC: forged, tampered with, or sealed
    /// under a key since retired.
    #[error("its MAC does not hold")]
    BadMac,
    /// Its MAC holds but its fields do not parse (a bug, or a key leak).
    #[error("its fields are malformed")]
    Malformed,
}

/// [`open`], saying why a token does not open.
pub fn check(keys: &SecretList, token: &str) -> Result<Attribution, TokenError> {
    if token.chars().count() > MAX_TOKEN_CHARS {
        return Err(TokenError::Foreign);
    }
    let (version, rest) = token.split_once('.').ok_or(TokenError::Foreign)?;
    let domain = match version {
        V1 => V1_DOMAIN,
        V2 => V2_DOMAIN,
        _ => return Err(TokenError::Foreign),
    };
    let (mac, body) = rest.split_once('.').ok_or(TokenError::BadMac)?;
    let mut claimed = [0u8; MAC_LEN];
    if URL_SAFE_NO_PAD.decode_slice(mac, &mut claimed).ok() != Some(MAC_LEN) {
        return Err(TokenError::BadMac);
    }
    let authentic = keys.iter().fold(false, |ok, key| {
        ok | token_mac(key.expose().as_bytes(), domain, body)
            .verify_truncated_left(&claimed)
            .is_ok()
    });
    if !authentic {
        return Err(TokenError::BadMac);
    }
    let malformed = || TokenError::Malformed;
    let mut fields = body.splitn(3, '.');
    let id = fields.next().ok_or_else(malformed)?;
    let meta = match fields.next().ok_or_else(malformed)? {
        "" => None,
        value => Some(Meta::parse(value).map_err(|_| malformed())?),
    };
    let sub = fields.next().ok_or_else(malformed)?;
    check_sub(sub).map_err(|_| malformed())?;
    let upload_id = match version {
        V1 => UploadId::parse_v1(id).ok_or_else(malformed)?,
        _ => {
            UploadId::decode_core(id).ok_or_else(malformed)?;
            UploadId::v2(id, meta.as_ref())
        }
    };
    Ok(Attribution {
        sub: sub.to_owned(),
        upload_id,
        meta,
    })
}

fn hmac(key: &[u8]) -> Hmac<Sha256> {
    <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length")
}

fn token_mac(key: &[u8], domain: &[u8], body: &str) -> Hmac<Sha256> {
    let mut mac = hmac(key);
    mac.update(domain);
    mac.update(body.as_bytes());
    mac
}

/// The token MAC under the current key, truncated and base64url-encoded.
fn token_tag(keys: &SecretList, domain: &[u8], body: &str) -> String {
    let full = token_mac(keys.current().expose().as_bytes(), domain, body)
        .finalize()
        .into_bytes();
    URL_SAFE_NO_PAD.encode(&full[..MAC_LEN])
}

/// The upload-id MAC: lengths prefix `sub` and `meta`, so no two (sub, meta) pairs share input.
fn id_mac(key: &[u8], nonce: &[u8], sub: &str, meta: Option<&Meta>) -> Hmac<Sha256> {
    let meta = meta.map_or("", Meta::as_str);
    let mut mac = hmac(key);
    mac.update(ID_DOMAIN);
    mac.update(nonce);
    for field in [sub, meta] {
        let len = u32::try_from(field.len()).expect("sub and meta are short");
        mac.update(&len.to_be_bytes());
        mac.update(field.as_bytes());
    }
    mac
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn keys(value: &str) -> SecretList {
        SecretList::parse(value).unwrap()
    }

    fn meta(value: &str) -> Meta {
        Meta::parse(value).unwrap()
    }

    fn upload(sub: &str, m: Option<&str>) -> Upload {
        Upload::create(&keys("context-key"), sub, m.map(meta)).unwrap()
    }

    fn legacy(sub: &str, m: Option<&str>) -> Attribution {
        Attribution {
            sub: sub.to_owned(),
            upload_id: UploadId::random(),
            meta: m.map(meta),
        }
    }

    #[test]
    fn round_trip() {
        let k = keys("context-key");
        for u in [
            upload("user-1", None),
            upload("auth0|a.b.c", Some("post_42-x")),
        ] {
            let token = u.seal(&k);
            assert!(token.starts_with("v2."), "{token}");
            assert_eq!(open(&k, &token), Some(u.clone().into_attribution()));
            assert_eq!(seal(&k, &u.clone().into_attribution()), Ok(token));
        }
        for w in [legacy("user-1", None), legacy("auth0|a.b.c", Some("p"))] {
            let token = seal(&k, &w).unwrap();
            assert!(token.starts_with("v1."), "{token}");
            assert_eq!(open(&k, &token), Some(w));
        }
    }

    /// Known answers: a token and an id computed outside this code from the documented
    /// construction (Python's hmac), so a change to the format cannot pass unnoticed.
    #[test]
    fn known_answers() {
        let k = keys("context-key");
        // v1, as issued before refreshable ids: it must keep opening.
        let v1 = "v1.bl_3I-NodJy5b7TYBkbUig.3VyyNri9Z7UR88ByPfjFyg.post_77.auth0|alice.x";
        let who = open(&k, v1).unwrap();
        assert_eq!(who.sub, "auth0|alice.x");
        assert_eq!(who.upload_id.as_str(), "3VyyNri9Z7UR88ByPfjFyg");
        assert!(!who.upload_id.is_refreshable());
        assert_eq!(who.meta, Some(meta("post_77")));
        assert_eq!(seal(&k, &who).unwrap(), v1);
        let bare = open(&k, "v1.Ku-R1YUpP5rzQ4B1X1WsmQ.AAAAAAAAAAAAAAAAAAAAAA..u").unwrap();
        assert_eq!((bare.sub.as_str(), bare.meta), ("u", None));

        // v2: nonce 00 01 … 0b.
        let nonce: [u8; NONCE_BYTES] = std::array::from_fn(|i| i as u8);
        let u = Upload::mint(&k, "auth0|alice.x", Some(meta("post_77")), nonce).unwrap();
        assert_eq!(u.id().as_str(), V2_ID);
        assert_eq!(u.seal(&k), V2_TOKEN);
        assert_eq!(open(&k, V2_TOKEN), Some(u.clone().into_attribution()));
        assert_eq!(Upload::verify(&k, "auth0|alice.x", V2_ID), Ok(u));
    }

    const V2_ID: &str = "AAECAwQFBgcICQoLLG4VR8Gezn85.post_77";
    const V2_TOKEN: &str =
        "v2.H6wUSCFCr53ipHyvXtCYHg.AAECAwQFBgcICQoLLG4VR8Gezn85.post_77.auth0|alice.x";

    #[test]
    fn a_refresh_finds_the_same_upload() {
        let k = keys("context-key");
        for u in [upload("alice", None), upload("alice", Some("post_1"))] {
            let again = Upload::verify(&k, "alice", u.id().as_str()).unwrap();
            assert_eq!(again, u);
            assert_eq!(again.seal(&k), u.seal(&k));
        }
    }

    #[test]
    fn ids_of_others_forged_or_legacy_are_refused() {
        let k = keys("context-key");
        let mine = upload("alice", Some("post_1"));
        let id = mine.id().as_str();
        assert_eq!(
            Upload::verify(&k, "mallory", id),
            Err(UploadIdError::NotTheCallers)
        );
        assert_eq!(
            Upload::verify(&keys("other"), "alice", id),
            Err(UploadIdError::NotTheCallers)
        );
        // The meta is bound by the tag: another meta, or none, is another (unknown) upload.
        let core = &id[..ID_CHARS];
        for other in [core.to_owned(), format!("{core}.post_2")] {
            assert_eq!(
                Upload::verify(&k, "alice", &other),
                Err(UploadIdError::NotTheCallers)
            );
        }
        let mut flipped = id.to_owned().into_bytes();
        flipped[ID_CHARS - 1] = if flipped[ID_CHARS - 1] == b'A' {
            b'B'
        } else {
            b'A'
        };
        let flipped = String::from_utf8(flipped).unwrap();
        assert_eq!(
            Upload::verify(&k, "alice", &flipped),
            Err(UploadIdError::NotTheCallers)
        );
        let v1 = UploadId::random();
        assert_eq!(
            Upload::verify(&k, "alice", v1.as_str()),
            Err(UploadIdError::Legacy)
        );
        for bad in [
            "",
            ".",
            "x",
            &format!("{core}."),
            &format!("{core}.a.b"),
            &format!("{core}.a b"),
            &format!("{}.post_1", v1.as_str()),
            &format!("{core}x"),
            &format!("{core}.{}", "m".repeat(MAX_META_CHARS + 1)),
            &"A".repeat(10_000),
            "AAECAwQFBgcICQoLZCqtVXtfkf+r",
            "AAECAwQFBgcICQoLZCqtVXtfkf=r",
        ] {
            assert_eq!(
                Upload::verify(&k, "alice", bad),
                Err(UploadIdError::Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn rotation_first_seals_any_opens() {
        let old = upload("u", None).seal(&keys("context-key"));
        let rotated = keys("new,context-key");
        assert!(open(&rotated, &old).is_some());
        let fresh = Upload::create(&rotated, "u", None).unwrap();
        let token = fresh.seal(&rotated);
        assert!(open(&keys("new"), &token).is_some());
        assert!(open(&keys("context-key"), &token).is_none());
        // An id stays refreshable while the key that minted it is in the list.
        let before = upload("u", Some("p"));
        assert!(Upload::verify(&rotated, "u", before.id().as_str()).is_ok());
        assert_eq!(
            Upload::verify(&keys("new"), "u", before.id().as_str()),
            Err(UploadIdError::NotTheCallers)
        );
    }

    #[test]
    fn forged_and_foreign_tokens_do_not_open() {
        let k = keys("context-key");
        let token = upload("alice", Some("p1")).seal(&k);
        let forged = token.replace("alice", "mallory");
        assert!(open(&k, &forged).is_none());
        assert!(open(&keys("other-key"), &token).is_none());
        // The same body under the other version's label does not open: the domains differ.
        let as_v1 = token.replacen("v2.", "v1.", 1);
        assert!(open(&k, &as_v1).is_none());
        for foreign in [
            "",
            "u=42&up=9f3c",
            "v1",
            "v1.",
            "v2.",
            "v3.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA..u",
            &token[..token.len() - 1],
            &format!("{token}{}", "x".repeat(300)),
        ] {
            assert!(open(&k, foreign).is_none(), "{foreign:?}");
        }
    }

    #[test]
    fn bad_inputs_are_refused() {
        let k = keys("k");
        assert_eq!(Upload::create(&k, "", None), Err(SealError::SubLength));
        let long = "x".repeat(MAX_SUB_BYTES + 1);
        assert_eq!(Upload::create(&k, &long, None), Err(SealError::SubLength));
        assert_eq!(seal(&k, &legacy("", None)), Err(SealError::SubLength));
        assert_eq!(seal(&k, &legacy(&long, None)), Err(SealError::SubLength));
        let mut other_meta = upload("u", Some("a")).into_attribution();
        other_meta.meta = Some(meta("b"));
        assert_eq!(seal(&k, &other_meta), Err(SealError::MetaMismatch));
        other_meta.meta = None;
        assert_eq!(seal(&k, &other_meta), Err(SealError::MetaMismatch));
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

    /// The longest subs: exactly 128 bytes, of 1- to 4-byte characters.
    fn longest_sub() -> impl Strategy<Value = String> {
        prop::collection::vec(any::<char>(), 32..=128).prop_map(|chars| {
            let mut sub = String::new();
            for c in chars.into_iter().cycle() {
                if sub.len() + c.len_utf8() > MAX_SUB_BYTES {
                    break;
                }
                sub.push(c);
            }
            while sub.len() < MAX_SUB_BYTES {
                sub.push('x');
            }
            sub
        })
    }

    fn upload_of(
        sub: impl Strategy<Value = String>,
        metas: impl Strategy<Value = Option<String>>,
    ) -> impl Strategy<Value = Upload> {
        (sub, any::<[u8; NONCE_BYTES]>(), metas).prop_map(|(sub, nonce, m)| {
            Upload::mint(&keys("context-key"), &sub, m.map(|m| meta(&m)), nonce).unwrap()
        })
    }

    proptest! {
        #[test]
        fn the_longest_tokens_fit_vods_limit(
            u in upload_of(longest_sub(), "[A-Za-z0-9_-]{64}".prop_map(Some)),
        ) {
            prop_assert_eq!(u.sub().len(), MAX_SUB_BYTES);
            let token = u.seal(&keys("context-key"));
            prop_assert!(token.chars().count() <= MAX_TOKEN_CHARS);
            prop_assert!(token.len() <= 3 + 22 + 1 + ID_CHARS + 1 + MAX_META_CHARS + 1 + MAX_SUB_BYTES);
            prop_assert!(u.id().as_str().len() == MAX_UPLOAD_ID_CHARS);
            prop_assert_eq!(open(&keys("context-key"), &token), Some(u.into_attribution()));
        }

        #[test]
        fn sealed_tokens_fit_and_open_to_what_was_sealed(
            u in upload_of(sub(), proptest::option::of("[A-Za-z0-9_-]{1,64}")),
            current in "[A-Za-z0-9]{1,32}",
            previous in "[A-Za-z0-9]{1,32}",
        ) {
            let token = u.seal(&keys(&current));
            prop_assert!(token.chars().count() <= MAX_TOKEN_CHARS);
            let rotated = keys(&format!("{previous},{current}"));
            prop_assert_eq!(open(&rotated, &token), Some(u.clone().into_attribution()));
            // The id was minted under "context-key": the rotated list without it refuses it.
            prop_assert_eq!(
                Upload::verify(&rotated, u.sub(), u.id().as_str()).is_ok(),
                current == "context-key" || previous == "context-key"
            );
            prop_assert_eq!(Upload::verify(&keys("context-key"), u.sub(), u.id().as_str()), Ok(u));
        }

        #[test]
        fn a_changed_character_never_opens_nor_verifies(
            u in upload_of(sub(), proptest::option::of("[A-Za-z0-9_-]{1,64}")),
            at in any::<prop::sample::Index>(),
            replacement in any::<char>(),
        ) {
            let k = keys("context-key");
            let change = |text: &str| {
                let mut chars: Vec<char> = text.chars().collect();
                let at = at.index(chars.len());
                (chars[at] != replacement).then(|| {
                    chars[at] = replacement;
                    chars.into_iter().collect::<String>()
                })
            };
            if let Some(changed) = change(&u.seal(&k)) {
                prop_assert_eq!(open(&k, &changed), None);
            }
            if let Some(changed) = change(u.id().as_str()) {
                prop_assert!(Upload::verify(&k, u.sub(), &changed).is_err());
            }
        }

        #[test]
        fn arbitrary_text_never_opens_nor_verifies(text in any::<String>()) {
            let k = keys("context-key");
            prop_assert_eq!(open(&k, &text), None);
            for version in ["v1", "v2"] {
                prop_assert_eq!(open(&k, &format!("{version}.{text}")), None);
            }
            prop_assert!(Upload::verify(&k, "alice", &text).is_err());
        }
    }
}
