//! Configuration: every environment variable is read here, once, at start.
//!
//! Functions take an [`Env`] (a snapshot of the process environment, or pairs in tests) instead of
//! calling `std::env` themselves, so tests configure a function without touching global state and
//! a bad value fails start-up with one line naming the variable. Values of secret variables never
//! appear in those lines.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

/// A snapshot of environment variables.
#[derive(Clone, Default)]
pub struct Env(BTreeMap<String, String>);

impl Env {
    /// The process environment. Variables whose name or value is not UTF-8 are skipped.
    pub fn from_process() -> Self {
        Self(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        )
    }

    /// An environment holding exactly `pairs`.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// The value of `name`, if set (possibly empty).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The value of `name` if set and not blank.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }

    /// Sets `name` unless it is already set.
    pub fn set_default(&mut self, name: &str, value: impl Into<String>) {
        self.0
            .entry(name.to_owned())
            .or_insert_with(|| value.into());
    }

    /// Parses `name` with `FromStr`, or returns `default` when unset or blank. `expected`
    /// describes a valid value for the error message.
    pub(crate) fn parse_or<T: FromStr>(
        &self,
        name: &'static str,
        default: T,
        expected: &str,
    ) -> Result<T, ConfigError> {
        match self.non_empty(name) {
            None => Ok(default),
            Some(raw) => raw.parse().map_err(|_| {
                ConfigError::invalid(name, format!("expected {expected}, got {raw:?}"))
            }),
        }
    }

    /// Parses `name` like [`Env::parse_or`] and checks that the value lies in `range`, so every
    /// bounded setting is refused with the same words.
    pub(crate) fn parse_in<T>(
        &self,
        name: &'static str,
        default: T,
        range: RangeInclusive<T>,
        expected: &str,
    ) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + fmt::Display,
    {
        let value = self.parse_or(name, default, expected)?;
        if !range.contains(&value) {
            return Err(ConfigError::invalid(
                name,
                format!(
                    "must be between {} and {}, got {value}",
                    range.start(),
                    range.end()
                ),
            ));
        }
        Ok(value)
    }

    /// A whole number of seconds in `range` (`default` when unset), as a [`Duration`].
    pub(crate) fn seconds_in(
        &self,
        name: &'static str,
        default: Duration,
        range: RangeInclusive<u64>,
    ) -> Result<Duration, ConfigError> {
        self.parse_in(name, default.as_secs(), range, "a whole number of seconds")
            .map(Duration::from_secs)
    }

    /// Parses an optional value of `name`.
    pub(crate) fn parse_opt<T: FromStr>(
        &self,
        name: &'static str,
        expected: &str,
    ) -> Result<Option<T>, ConfigError> {
        self.non_empty(name)
            .map(|raw| {
                raw.parse().map_err(|_| {
                    ConfigError::invalid(name, format!("expected {expected}, got {raw:?}"))
                })
            })
            .transpose()
    }

    /// A boolean: `true|false|1|0|on|off|yes|no`.
    pub(crate) fn flag(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.non_empty(name).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("true" | "1" | "on" | "yes") => Ok(true),
            Some("false" | "0" | "off" | "no") => Ok(false),
            Some(raw) => Err(ConfigError::invalid(
                name,
                format!("expected true or false, got {raw:?}"),
            )),
        }
    }

    /// A comma-separated list of non-blank items; empty when unset.
    pub(crate) fn list(&self, name: &str) -> Vec<String> {
        self.non_empty(name)
            .map(|raw| {
                raw.split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// A configuration problem, reported as one line naming the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {var}: {message}")]
pub struct ConfigError {
    pub(crate) var: &'static str,
    pub(crate) message: String,
}

impl ConfigError {
    pub(crate) fn invalid(var: &'static str, message: impl Into<String>) -> Self {
        Self {
            var,
            message: message.into(),
        }
    }

    pub(crate) fn missing(var: &'static str, hint: &str) -> Self {
        Self::invalid(var, format!("is required ({hint})"))
    }
}

/// The TCP port for plain-HTTP mode (`PORT`, default 9000: Tencent SCF web functions' port).
pub(crate) fn port(env: &Env) -> Result<u16, ConfigError> {
    env.parse_or("PORT", 9000, "a TCP port number (0-65535)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_name_the_variable() {
        let env = Env::from_pairs([("PORT", "eighty")]);
        let err = port(&env).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration: PORT: expected a TCP port number (0-65535), got \"eighty\""
        );
        assert_eq!(port(&Env::default()), Ok(9000));
    }

    #[test]
    fn bounded_values_say_their_bounds() {
        let env = Env::from_pairs([("T", "61"), ("U", "5")]);
        let err = env
            .seconds_in("T", Duration::from_secs(10), 1..=60)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration: T: must be between 1 and 60, got 61"
        );
        assert_eq!(
            env.seconds_in("U", Duration::ZERO, 1..=60),
            Ok(Duration::from_secs(5))
        );
        assert_eq!(
            env.seconds_in("V", Duration::from_secs(7), 1..=60),
            Ok(Duration::from_secs(7))
        );
    }

    #[test]
    fn flags_and_lists() {
        let env = Env::from_pairs([("A", "On"), ("B", "nah"), ("L", " a, ,b ,")]);
        assert_eq!(env.flag("A", false), Ok(true));
        assert!(env.flag("B", false).is_err());
        assert_eq!(env.flag("C", true), Ok(true));
        assert_eq!(env.list("L"), ["a", "b"]);
        assert!(env.list("missing").is_empty());
    }

    #[test]
    fn debug_shows_names_only() {
        let env = Env::from_pairs([("VOD_SECRET_KEY", "s3cret")]);
        assert_eq!(format!("{env:?}"), "{\"VOD_SECRET_KEY\"}");
    }
}
