//! Where push mode's callback authentication comes from: the environment and the secret.

use crate::platform::config::{ConfigError, Env};
use crate::platform::keys::KeySet;
use crate::vod::callback_auth::{
    AuthMode, CallbackKeys, CallbackKeysError, CallbackVerifier, DEFAULT_MAX_AHEAD,
};

/// `VOD_CALLBACK_KEYS` (VOD's SignKeys, comma-separated for rotation) and `VOD_CALLBACK_TOKEN`
/// (the secret path token), from the environment or the secret.
pub fn callback_keys(keys: &KeySet) -> Result<CallbackKeys, ConfigError> {
    CallbackKeys::new(
        keys.list("VOD_CALLBACK_KEYS")?,
        keys.get("VOD_CALLBACK_TOKEN").cloned(),
    )
    .map_err(|error| {
        let var = match error {
            CallbackKeysError::SignKey => "VOD_CALLBACK_KEYS",
            CallbackKeysError::PathToken => "VOD_CALLBACK_TOKEN",
        };
        ConfigError::invalid(var, error.to_string())
    })
}

/// Reads `VOD_CALLBACK_AUTH` (unset or `none`) and `VOD_CALLBACK_MAX_AHEAD_SECONDS`
/// (60..=86400, default 1200), and checks that `keys` configure some authentication unless
/// `none` was chosen; `none` together with keys is refused as contradictory.
pub fn verifier(env: &Env, keys: &CallbackKeys) -> Result<CallbackVerifier, ConfigError> {
    let mode = match env.non_empty("VOD_CALLBACK_AUTH") {
        None => AuthMode::Keys,
        Some(v) if v.eq_ignore_ascii_case("none") => AuthMode::None,
        Some(v) => {
            return Err(ConfigError::invalid(
                "VOD_CALLBACK_AUTH",
                format!(
                    "the only accepted value is none (to run without callback authentication), got {v:?}"
                ),
            ));
        }
    };
    match (mode, keys.any()) {
        (AuthMode::Keys, false) => {
            return Err(ConfigError::missing(
                "VOD_CALLBACK_KEYS",
                "set VOD_CALLBACK_KEYS (VOD's SignKey) and/or VOD_CALLBACK_TOKEN, or VOD_CALLBACK_AUTH=none to accept unauthenticated callbacks",
            ));
        }
        (AuthMode::None, true) => {
            return Err(ConfigError::invalid(
                "VOD_CALLBACK_AUTH",
                "is none, but VOD_CALLBACK_KEYS or VOD_CALLBACK_TOKEN is set; unset one or the other",
            ));
        }
        _ => {}
    }
    let max_ahead = env.seconds_in(
        "VOD_CALLBACK_MAX_AHEAD_SECONDS",
        DEFAULT_MAX_AHEAD,
        60..=86_400,
    )?;
    Ok(CallbackVerifier::new(mode, max_ahead))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(pairs: &[(&str, &str)]) -> Result<CallbackKeys, ConfigError> {
        callback_keys(&KeySet::from_env(&Env::from_pairs(pairs.iter().copied())))
    }

    #[test]
    fn configuration_rules() {
        let none = keys(&[]).unwrap();
        let err = verifier(&Env::default(), &none).unwrap_err();
        assert_eq!(err.var, "VOD_CALLBACK_KEYS");
        let explicit = verifier(&Env::from_pairs([("VOD_CALLBACK_AUTH", "none")]), &none).unwrap();
        assert_eq!(explicit.mode(), AuthMode::None);
        let with_keys = keys(&[("VOD_CALLBACK_KEYS", "KKKKKKKKKKKKKKKKKKKKKKKK")]).unwrap();
        let err = verifier(
            &Env::from_pairs([("VOD_CALLBACK_AUTH", "none")]),
            &with_keys,
        )
        .unwrap_err();
        assert_eq!(err.var, "VOD_CALLBACK_AUTH");
        let err =
            verifier(&Env::from_pairs([("VOD_CALLBACK_AUTH", "off")]), &with_keys).unwrap_err();
        assert_eq!(err.var, "VOD_CALLBACK_AUTH");
        let err = verifier(
            &Env::from_pairs([("VOD_CALLBACK_MAX_AHEAD_SECONDS", "59")]),
            &with_keys,
        )
        .unwrap_err();
        assert_eq!(err.var, "VOD_CALLBACK_MAX_AHEAD_SECONDS");
        for (var, value) in [
            ("VOD_CALLBACK_KEYS", "has space"),
            ("VOD_CALLBACK_KEYS", &"k".repeat(33)),
            ("VOD_CALLBACK_TOKEN", "short"),
            ("VOD_CALLBACK_TOKEN", "has/slash/in/the/token"),
        ] {
            assert_eq!(keys(&[(var, value)]).unwrap_err().var, var);
        }
    }
}
