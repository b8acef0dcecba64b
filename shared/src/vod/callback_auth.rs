//! Callback authentication: proving a callback came from VOD before anything is stored.
//!
//! Two mechanisms, usable together (then both must pass):
//!
//! - **VOD's callback key** (`VOD_CALLBACK_KEYS`, the `SignKey` set with `ModifyEventConfig`):
//!   VOD adds `Sign = md5(SignKey + T)` and `T`, the Unix time at which that signature expires
//!   (about ten minutes after sending). A callback is accepted while `now ≤ T ≤ now + 20 min`
//!   (`VOD_CALLBACK_MAX_AHEAD_SECONDS`); the upper bound stops a leaked far-future `Sign` from
//!   being replayed for days. Tencent documents the formula but not where the fields travel:
//!   they are read from the top level of the JSON body (as independent implementations and
//!   Tencent's CSS callbacks do) and, if the body has neither, from the query string. The hex
//!   case is undocumented, so both cases are accepted. Several keys may be listed, for rotation.
//! - **A secret path token** (`VOD_CALLBACK_TOKEN`): the callback URL becomes
//!   `/v1/vod/events/<token>`, and the bare path answers 404.
//!
//! `Sign` does not cover the body: someone who captures one callback can replay its `Sign`/`T`
//! with another body until `T`. The path token has the same weakness against anyone who sees the
//! URL. Both keep out everyone else, which matters because the attribution token inside a
//! signature is readable by the uploader: without authentication, an uploader could post events
//! attributed to themselves. So the function refuses to start with neither mechanism unless
//! `VOD_CALLBACK_AUTH=none` says so explicitly. Reliable (PULL) mode avoids the weakness
//! entirely: events arrive over TC3-signed API calls.
//!
//! Every comparison is constant-time. A [`CallbackAuth`] exists only as the result of
//! [`CallbackVerifier::verify`], so code holding one knows the callback passed.

use std::time::Duration;

use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

use crate::platform::secret::{Secret, SecretList};
use crate::vod::callback::Callback;

/// How far in the future `T` may be by default: VOD sets it about ten minutes ahead.
pub const DEFAULT_MAX_AHEAD: Duration = Duration::from_secs(20 * 60);

/// Why callback keys were refused. Never carries a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CallbackKeysError {
    #[error("each SignKey must be 1 to 32 letters or digits (VOD's rule for callback keys)")]
    SignKey,
    #[error("must be 16 to 128 characters of A-Z, a-z, 0-9, '-' or '_'")]
    PathToken,
}

/// The callback keys in force (rebuilt whenever the keys rotate).
#[derive(Debug, Clone)]
pub struct CallbackKeys {
    sign_keys: Option<SecretList>,
    path_token: Option<Secret>,
}

impl CallbackKeys {
    /// The SignKeys (letters and digits, at most 32 characters each, as VOD requires of a
    /// SignKey; the first signs, all are accepted) and the path token (16 to 128 of
    /// `A-Z a-z 0-9 - _`).
    pub fn new(
        sign_keys: Option<SecretList>,
        path_token: Option<Secret>,
    ) -> Result<Self, CallbackKeysError> {
        if let Some(list) = &sign_keys {
            let valid = |key: &Secret| {
                let key = key.expose();
                key.len() <= 32 && key.bytes().all(|b| b.is_ascii_alphanumeric())
            };
            if !list.iter().all(valid) {
                return Err(CallbackKeysError::SignKey);
            }
        }
        if let Some(token) = &path_token {
            let token = token.expose();
            let valid = (16..=128).contains(&token.len())
                && token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !valid {
                return Err(CallbackKeysError::PathToken);
            }
        }
        Ok(Self {
            sign_keys,
            path_token,
        })
    }

    /// Whether any mechanism is configured.
    pub fn any(&self) -> bool {
        self.sign_keys.is_some() || self.path_token.is_some()
    }
}

/// How callbacks are authenticated (`VOD_CALLBACK_AUTH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// The configured keys and/or path token (the default); at least one is required.
    Keys,
    /// No authentication at all, by explicit choice (`VOD_CALLBACK_AUTH=none`).
    None,
}

/// Checks callbacks against the keys in force.
#[derive(Debug, Clone)]
pub struct CallbackVerifier {
    mode: AuthMode,
    max_ahead_secs: i64,
}

/// Proof that the request reached a callback route it may use; needed by
/// [`CallbackVerifier::verify`].
#[derive(Debug)]
pub struct RouteCheck {
    token_checked: bool,
}

/// Proof that a callback is authentic. Only [`CallbackVerifier::verify`] builds one.
#[derive(Debug)]
pub struct CallbackAuth {
    callback: Callback,
    method: AuthMethod,
}

/// What authenticated a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    Sign,
    PathToken,
    SignAndPathToken,
    /// `VOD_CALLBACK_AUTH=none`.
    Unauthenticated,
}

impl CallbackAuth {
    /// The authenticated callback.
    pub fn into_callback(self) -> Callback {
        self.callback
    }

    /// How it was authenticated.
    pub fn method(&self) -> AuthMethod {
        self.method
    }
}

/// Why a callback was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackAuthError {
    /// A path token is configured and the request used the bare path.
    #[error("no such route")]
    NotFound,
    #[error("the callback URL token is wrong")]
    WrongPathToken,
    /// `Sign`, `T` or both (the part named) are absent.
    #[error(
        "the callback carries no {0} (VOD adds Sign and T once a SignKey is set in its event configuration)"
    )]
    MissingSign(&'static str),
    /// `Sign` is there but is not an MD5 digest in hex.
    #[error("Sign is not 32 hexadecimal digits (an MD5 digest)")]
    MalformedSign,
    /// `Sign` is well formed but is not `md5(SignKey + T)` for any configured key.
    #[error("Sign does not match T under any configured callback key")]
    BadSign,
    /// `T` is there but is not a whole number of seconds.
    #[error("T is not a whole number of Unix seconds")]
    BadTime,
    #[error("the callback signature expired (T is in the past)")]
    Expired,
    #[error("T is too far in the future")]
    TooFarAhead,
    /// Keys were rotated away entirely at runtime; nothing can be verified.
    #[error("callback authentication is not configured")]
    NotConfigured,
}

impl CallbackVerifier {
    /// A verifier in `mode` that accepts a `T` at most `max_ahead` in the future.
    pub fn new(mode: AuthMode, max_ahead: Duration) -> Self {
        Self {
            mode,
            max_ahead_secs: i64::try_from(max_ahead.as_secs()).unwrap_or(i64::MAX),
        }
    }

    /// The configured mode.
    pub(crate) fn mode(&self) -> AuthMode {
        self.mode
    }

    /// Checks the route before the body is read: with a path token configured the bare path is
    /// 404 and a wrong token 401; without one, a token in the path is 404.
    pub fn check_route(
        &self,
        keys: &CallbackKeys,
        path_token: Option<&str>,
    ) -> Result<RouteCheck, CallbackAuthError> {
        match (&keys.path_token, path_token) {
            (None, None) => Ok(RouteCheck {
                token_checked: false,
            }),
            (None, Some(_)) | (Some(_), None) => Err(CallbackAuthError::NotFound),
            (Some(expected), Some(given)) => {
                if expected.ct_eq(given.as_bytes()) {
                    Ok(RouteCheck {
                        token_checked: true,
                    })
                } else {
                    Err(CallbackAuthError::WrongPathToken)
                }
            }
        }
    }

    /// Checks a `Sign`/`T` pair in the query string before the body is read, so that a caller
    /// who cannot sign never makes us read or parse a body. Passes when the query carries no pair
    /// (the body may, and [`Self::verify`] checks it) or when no SignKey is configured.
    pub fn check_query(
        &self,
        keys: &CallbackKeys,
        query: Option<&str>,
        now: i64,
    ) -> Result<(), CallbackAuthError> {
        let (AuthMode::Keys, Some(sign_keys)) = (self.mode, &keys.sign_keys) else {
            return Ok(());
        };
        match query.map(query_sign_and_t) {
            Some((Some(sign), Some(t))) => self.check_sign(sign_keys, &sign, &t, now),
            _ => Ok(()),
        }
    }

    /// Authenticates a parsed callback. `query` is the request's raw query string (the fallback
    /// location of `Sign`/`T`); `now` is Unix seconds.
    pub fn verify(
        &self,
        keys: &CallbackKeys,
        route: RouteCheck,
        callback: Callback,
        query: Option<&str>,
        now: i64,
    ) -> Result<CallbackAuth, CallbackAuthError> {
        let method = match (self.mode, &keys.sign_keys, route.token_checked) {
            (AuthMode::None, _, _) => AuthMethod::Unauthenticated,
            (AuthMode::Keys, None, true) => AuthMethod::PathToken,
            (AuthMode::Keys, None, false) => return Err(CallbackAuthError::NotConfigured),
            (AuthMode::Keys, Some(sign_keys), token_checked) => {
                let (sign, t) = sign_and_t(&callback, query)?;
                self.check_sign(sign_keys, &sign, &t, now)?;
                if token_checked {
                    AuthMethod::SignAndPathToken
                } else {
                    AuthMethod::Sign
                }
            }
        };
        Ok(CallbackAuth { callback, method })
    }

    fn check_sign(
        &self,
        keys: &SecretList,
        sign: &str,
        t: &str,
        now: i64,
    ) -> Result<(), CallbackAuthError> {
        let mut given = [0u8; 16];
        hex::decode_to_slice(sign.trim(), &mut given)
            .map_err(|_| CallbackAuthError::MalformedSign)?;
        let expiry: i64 = t.parse().map_err(|_| CallbackAuthError::BadTime)?;
        let matched = keys.iter().fold(false, |found, key| {
            let mut digest = Md5::new();
            digest.update(key.expose().as_bytes());
            digest.update(t.as_bytes());
            found | bool::from(digest.finalize().as_slice().ct_eq(&given))
        });
        if !matched {
            return Err(CallbackAuthError::BadSign);
        }
        if expiry < now {
            return Err(CallbackAuthError::Expired);
        }
        if expiry > now.saturating_add(self.max_ahead_secs) {
            return Err(CallbackAuthError::TooFarAhead);
        }
        Ok(())
    }
}

/// `Sign` and the text of `T`: from the body's top level if either is there, else the query.
/// A part that is absent is [`CallbackAuthError::MissingSign`]; a `T` that is not a whole number
/// is [`CallbackAuthError::BadTime`] and a `Sign` that is not text [`CallbackAuthError::MalformedSign`],
/// `T` first, so the answer names the part to fix.
fn sign_and_t(
    callback: &Callback,
    query: Option<&str>,
) -> Result<(String, String), CallbackAuthError> {
    let body = callback.body();
    let (sign, t) = if body.contains_key("Sign") || body.contains_key("T") {
        let t = body
            .get("T")
            .map(|_| {
                callback
                    .t()
                    .map(|t| t.text)
                    .ok_or(CallbackAuthError::BadTime)
            })
            .transpose()?;
        let sign = body
            .get("Sign")
            .map(|sign| {
                sign.as_str()
                    .map(str::to_owned)
                    .ok_or(CallbackAuthError::MalformedSign)
            })
            .transpose()?;
        (sign, t)
    } else {
        let (sign, t) = query_sign_and_t(query.unwrap_or(""));
        if t.as_deref().is_some_and(|t| t.parse::<i64>().is_err()) {
            return Err(CallbackAuthError::BadTime);
        }
        (sign, t)
    };
    match (sign, t) {
        (Some(sign), Some(t)) => Ok((sign, t)),
        (None, None) => Err(CallbackAuthError::MissingSign("Sign/T")),
        (None, Some(_)) => Err(CallbackAuthError::MissingSign("Sign")),
        (Some(_), None) => Err(CallbackAuthError::MissingSign("T")),
    }
}

/// `Sign` and `T` from a query string, each when present.
fn query_sign_and_t(query: &str) -> (Option<String>, Option<String>) {
    let mut sign = None;
    let mut t = None;
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "Sign" | "sign" => sign = Some(value.into_owned()),
            "T" | "t" => t = Some(value.into_owned()),
            _ => {}
        }
    }
    (sign, t)
}

/// `Sign` for a callback key and expiry, as VOD computes it (lower-case hex). For tests and the
/// local simulator.
pub fn sign_for(key: &Secret, t: i64) -> String {
    let mut digest = Md5::new();
    digest.update(key.expose().as_bytes());
    digest.update(t.to_string().as_bytes());
    hex::encode(digest.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vod::callback::parse;

    const NOW: i64 = 1_700_000_000;

    fn keys(pairs: &[(&str, &str)]) -> CallbackKeys {
        let get = |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        CallbackKeys::new(
            get("VOD_CALLBACK_KEYS").map(|v| SecretList::parse(v).unwrap()),
            get("VOD_CALLBACK_TOKEN").map(Secret::new),
        )
        .unwrap()
    }

    fn verifier() -> CallbackVerifier {
        CallbackVerifier::new(AuthMode::Keys, DEFAULT_MAX_AHEAD)
    }

    fn body(sign: Option<&str>, t: Option<serde_json::Value>) -> Callback {
        let mut value = serde_json::json!({"EventType": "FileDeleted", "FileDeleteEvent": {"FileIdSet": ["1"]}});
        if let Some(sign) = sign {
            value["Sign"] = sign.into();
        }
        if let Some(t) = t {
            value["T"] = t;
        }
        parse(value.to_string().as_bytes()).unwrap()
    }

    fn check(
        keys: &CallbackKeys,
        callback: Callback,
        query: Option<&str>,
    ) -> Result<AuthMethod, CallbackAuthError> {
        let v = verifier();
        let route = v.check_route(keys, None)?;
        v.verify(keys, route, callback, query, NOW)
            .map(|auth| auth.method())
    }

    #[test]
    fn research_vector() {
        let key = Secret::new("VodCallbackKey123");
        assert_eq!(
            sign_for(&key, 1_700_000_600),
            "3ba1987f207256fd7eac2f3bd50d0243"
        );
    }

    #[test]
    fn sign_and_t_in_the_body() {
        let k = keys(&[("VOD_CALLBACK_KEYS", "VodCallbackKey123")]);
        let t = NOW + 600;
        let sign = sign_for(&Secret::new("VodCallbackKey123"), t);
        assert_eq!(
            check(&k, body(Some(&sign), Some(t.into())), None),
            Ok(AuthMethod::Sign)
        );
        // Upper-case hex and a string T are accepted too.
        let upper = sign.to_ascii_uppercase();
        assert_eq!(
            check(&k, body(Some(&upper), Some(t.to_string().into())), None),
            Ok(AuthMethod::Sign)
        );
    }

    #[test]
    fn wrong_missing_expired_and_far_future() {
        let k = keys(&[("VOD_CALLBACK_KEYS", "VodCallbackKey123")]);
        let key = Secret::new("VodCallbackKey123");
        let good_t = NOW + 600;
        let wrong = sign_for(&Secret::new("OtherKey"), good_t);
        assert_eq!(
            check(&k, body(Some(&wrong), Some(good_t.into())), None),
            Err(CallbackAuthError::BadSign)
        );
        assert_eq!(
            check(&k, body(None, None), None),
            Err(CallbackAuthError::MissingSign("Sign/T"))
        );
        assert_eq!(
            check(&k, body(Some(&sign_for(&key, good_t)), None), None),
            Err(CallbackAuthError::MissingSign("T"))
        );
        assert_eq!(
            check(&k, body(None, Some(good_t.into())), None),
            Err(CallbackAuthError::MissingSign("Sign"))
        );
        assert_eq!(
            check(&k, body(Some("zz"), Some(good_t.into())), None),
            Err(CallbackAuthError::MalformedSign)
        );
        // Sign for one T does not cover another.
        assert_eq!(
            check(
                &k,
                body(Some(&sign_for(&key, good_t)), Some((good_t + 1).into())),
                None
            ),
            Err(CallbackAuthError::BadSign)
        );
        let past = NOW - 1;
        assert_eq!(
            check(
                &k,
                body(Some(&sign_for(&key, past)), Some(past.into())),
                None
            ),
            Err(CallbackAuthError::Expired)
        );
        assert!(check(&k, body(Some(&sign_for(&key, NOW)), Some(NOW.into())), None).is_ok());
        let edge = NOW + 1200;
        assert!(
            check(
                &k,
                body(Some(&sign_for(&key, edge)), Some(edge.into())),
                None
            )
            .is_ok()
        );
        let far = NOW + 1201;
        assert_eq!(
            check(&k, body(Some(&sign_for(&key, far)), Some(far.into())), None),
            Err(CallbackAuthError::TooFarAhead)
        );
    }

    #[test]
    fn a_t_that_is_not_a_whole_number_is_named_not_missing() {
        let k = keys(&[("VOD_CALLBACK_KEYS", "VodCallbackKey123")]);
        let key = Secret::new("VodCallbackKey123");
        let sign = sign_for(&key, NOW + 600);
        for t in [
            serde_json::json!("abc"),
            serde_json::json!("1700000600.0"),
            serde_json::json!(1_700_000_600.0),
            serde_json::json!(true),
        ] {
            assert_eq!(
                check(&k, body(Some("zz"), Some(t.clone())), None),
                Err(CallbackAuthError::BadTime),
                "{t}"
            );
            assert_eq!(
                check(&k, body(Some(&sign), Some(t.clone())), None),
                Err(CallbackAuthError::BadTime),
                "{t}"
            );
        }
        let query = format!("Sign={sign}&T=1700000600.0");
        assert_eq!(
            check(&k, body(None, None), Some(&query)),
            Err(CallbackAuthError::BadTime)
        );
        assert_eq!(
            check(&k, body(None, None), Some(&format!("Sign={sign}"))),
            Err(CallbackAuthError::MissingSign("T"))
        );
        let text = CallbackAuthError::BadTime.to_string();
        assert!(text.starts_with("T "), "{text}");
    }

    #[test]
    fn rotated_keys_all_verify() {
        let k = keys(&[("VOD_CALLBACK_KEYS", "NewKey1,OldKey0")]);
        let t = NOW + 600;
        for key in ["NewKey1", "OldKey0"] {
            let sign = sign_for(&Secret::new(key), t);
            assert_eq!(
                check(&k, body(Some(&sign), Some(t.into())), None),
                Ok(AuthMethod::Sign)
            );
        }
    }

    #[test]
    fn query_string_fallback() {
        let k = keys(&[("VOD_CALLBACK_KEYS", "VodCallbackKey123")]);
        let t = NOW + 600;
        let sign = sign_for(&Secret::new("VodCallbackKey123"), t);
        let query = format!("Sign={sign}&T={t}");
        assert_eq!(
            check(&k, body(None, None), Some(&query)),
            Ok(AuthMethod::Sign)
        );
        // The body wins when it has Sign/T: a valid query cannot rescue a bad body.
        assert_eq!(
            check(&k, body(Some("00"), Some(t.into())), Some(&query)),
            Err(CallbackAuthError::MalformedSign)
        );
    }

    #[test]
    fn path_token() {
        let k = keys(&[("VOD_CALLBACK_TOKEN", "a-long-random-path-token")]);
        let v = verifier();
        assert_eq!(
            v.check_route(&k, None).err(),
            Some(CallbackAuthError::NotFound)
        );
        assert_eq!(
            v.check_route(&k, Some("a-long-random-path-tokeN")).err(),
            Some(CallbackAuthError::WrongPathToken)
        );
        let route = v.check_route(&k, Some("a-long-random-path-token")).unwrap();
        let auth = v.verify(&k, route, body(None, None), None, NOW).unwrap();
        assert_eq!(auth.method(), AuthMethod::PathToken);
        // Without a token configured, a token path does not exist.
        let sign_only = keys(&[("VOD_CALLBACK_KEYS", "K")]);
        assert_eq!(
            verifier().check_route(&sign_only, Some("x")).err(),
            Some(CallbackAuthError::NotFound)
        );
    }

    #[test]
    fn both_configured_both_must_pass() {
        let k = keys(&[
            ("VOD_CALLBACK_KEYS", "K1"),
            ("VOD_CALLBACK_TOKEN", "a-long-random-path-token"),
        ]);
        let v = verifier();
        let t = NOW + 60;
        let route = v.check_route(&k, Some("a-long-random-path-token")).unwrap();
        assert_eq!(
            v.verify(&k, route, body(None, None), None, NOW).err(),
            Some(CallbackAuthError::MissingSign("Sign/T"))
        );
        let route = v.check_route(&k, Some("a-long-random-path-token")).unwrap();
        let signed = body(Some(&sign_for(&Secret::new("K1"), t)), Some(t.into()));
        assert_eq!(
            v.verify(&k, route, signed, None, NOW).unwrap().method(),
            AuthMethod::SignAndPathToken
        );
    }

    #[test]
    fn key_formats() {
        let list = |v: &str| Some(SecretList::parse(v).unwrap());
        for bad in ["has space", &"k".repeat(33)] {
            let err = CallbackKeys::new(list(bad), None).unwrap_err();
            assert_eq!(err, CallbackKeysError::SignKey);
        }
        for bad in ["short", "has/slash/in/the/token"] {
            let err = CallbackKeys::new(None, Some(Secret::new(bad))).unwrap_err();
            assert_eq!(err, CallbackKeysError::PathToken);
        }
    }

    #[test]
    fn unauthenticated_mode_accepts_anything() {
        let none = keys(&[]);
        let v = CallbackVerifier::new(AuthMode::None, DEFAULT_MAX_AHEAD);
        let route = v.check_route(&none, None).unwrap();
        let auth = v.verify(&none, route, body(None, None), None, NOW).unwrap();
        assert_eq!(auth.method(), AuthMethod::Unauthenticated);
    }

    #[test]
    fn a_query_pair_is_checked_before_any_body() {
        let k = keys(&[("VOD_CALLBACK_KEYS", "Key1")]);
        let t = NOW + 600;
        let good = format!("Sign={}&T={t}", sign_for(&Secret::new("Key1"), t));
        let v = verifier();
        assert_eq!(v.check_query(&k, Some(&good), NOW), Ok(()));
        assert_eq!(v.check_query(&k, None, NOW), Ok(()));
        assert_eq!(v.check_query(&k, Some("x=1&Sign=00"), NOW), Ok(()));
        assert_eq!(
            v.check_query(&k, Some(&format!("Sign={}&T={t}", "0".repeat(32))), NOW),
            Err(CallbackAuthError::BadSign)
        );
        assert_eq!(
            v.check_query(&k, Some(&good), t + 1),
            Err(CallbackAuthError::Expired)
        );
        let token_only = keys(&[("VOD_CALLBACK_TOKEN", "a-long-random-path-token")]);
        assert_eq!(v.check_query(&token_only, Some("Sign=00&T=1"), NOW), Ok(()));
    }
}
