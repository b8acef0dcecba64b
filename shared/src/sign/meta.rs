//! `meta` from the token instead of the request (`SIGN_META_CLAIM`).
//!
//! A request's `meta` is the caller's claim, not a fact: any signed-in user may name someone
//! else's post, and the event comes back sealed with it. An app that cannot check
//! `uploader.sub` against `meta` later can have its identity provider put the `meta` into the
//! token instead; then the token decides and a `meta` in the request is refused.

use serde_json::Value;

use crate::attribution::Meta;
use crate::platform::config::Env;

/// Why the `meta` of a request could not be taken from the token (both 403 `param_not_allowed`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetaClaimError {
    /// The request sent a `meta` of its own.
    #[error("meta is taken from the token's {0} claim on this deployment; do not send it")]
    Sent(String),
    /// The claim is there but is not a valid `meta`.
    #[error(
        "the token's {0} claim is not a valid meta (a string of 1 to {max} characters of \
         A-Z, a-z, 0-9, '-' or '_')",
        max = crate::attribution::MAX_META_CHARS
    )]
    Invalid(String),
}

/// The claim `meta` comes from (`SIGN_META_CLAIM`), if configured.
pub(super) fn claim_name(env: &Env) -> Option<String> {
    env.non_empty("SIGN_META_CLAIM").map(str::to_owned)
}

/// The `meta` of a request whose token carries `claim` (the value of the claim `name`): the
/// claim's value, none without the claim; a `meta` the request `sent` is refused.
pub(super) fn from_claim(
    name: &str,
    claim: Option<&Value>,
    sent: Option<&Meta>,
) -> Result<Option<Meta>, MetaClaimError> {
    if sent.is_some() {
        return Err(MetaClaimError::Sent(name.to_owned()));
    }
    match claim {
        None => Ok(None),
        Some(Value::String(value)) => Meta::parse(value)
            .map(Some)
            .map_err(|_| MetaClaimError::Invalid(name.to_owned())),
        Some(_) => Err(MetaClaimError::Invalid(name.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_token_decides_and_a_sent_meta_is_refused() {
        let meta = |v: &str| Meta::parse(v).unwrap();
        assert_eq!(
            from_claim("post", Some(&json!("post_1")), None),
            Ok(Some(meta("post_1")))
        );
        assert_eq!(from_claim("post", None, None), Ok(None));
        let sent = meta("post_2");
        assert_eq!(
            from_claim("post", Some(&json!("post_1")), Some(&sent)),
            Err(MetaClaimError::Sent("post".into()))
        );
        assert_eq!(
            from_claim("post", None, Some(&sent)),
            Err(MetaClaimError::Sent("post".into()))
        );
        for bad in [
            json!("a.b"),
            json!(""),
            json!(7),
            json!(["x"]),
            json!("x".repeat(65)),
        ] {
            assert_eq!(
                from_claim("post", Some(&bad), None),
                Err(MetaClaimError::Invalid("post".into())),
                "{bad}"
            );
        }
    }
}
