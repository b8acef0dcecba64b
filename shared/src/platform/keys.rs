//! Key sources: where the service's secrets come from, and how they stay fresh.
//!
//! Locally every key is an environment variable. In AWS, one Secrets Manager secret (a JSON
//! object whose keys are the same variable names) overrides them, so keys live in one audited
//! place and rotate without a deploy. The secret is fetched at start and again once its TTL has
//! passed; if a refresh fails, or yields a secret that no longer makes a valid configuration, the
//! last good keys keep serving and a warning is logged; from the [`QUIET_FAILURES`]th failure in
//! a row on it is an ERROR, and every failure counts in the `SecretRefreshFailures` metric, so
//! stale keys cannot serve unnoticed. A field present but blank in the secret is an error, not a
//! silent fall back to the environment's value. Nothing here is an AWS client unless
//! `VODGATE_SECRET_ARN` is set.
//!
//! This is a small cache written on purpose: the official `aws_secretsmanager_caching` crate
//! re-enables the SDK's legacy TLS stack through its default features and needs the extra
//! `DescribeSecret` permission on every refresh.
//!
//! Each function turns a [`KeySet`] into the keys it actually uses (parsed lists, decoding keys)
//! once per fetch, not once per request: [`Keys<T>`] holds that derived value.
//!
//! Several parts of one function read the same secret: the events function its own keys, the
//! webhook secret and the database password (once for the sink, once for the uploads store). They
//! load at the same cold start and fall due for refresh together, so one fetch serves every reader
//! of a secret for [`SHARED_FOR`] (at most half its TTL): one GetSecretValue per cold start,
//! not one per part. Fetches of a secret also wait for one already in flight rather than start
//! another. The value is kept for that purpose by secret id, process-wide, like the AWS SDK
//! configuration ([`crate::platform::aws`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock, Mutex, RwLock};
use std::time::Duration;

use tokio::time::Instant;

use crate::platform::config::{ConfigError, Env};
use crate::platform::secret::{Secret, SecretList};

/// Every variable a secret may hold. Any subset may be present; secret values win over env.
pub(crate) const SECRET_NAMES: [&str; 8] = [
    "VOD_SECRET_ID",
    "VOD_SECRET_KEY",
    "JWT_HS256_SECRET",
    "VODGATE_CONTEXT_KEY",
    "VOD_CALLBACK_KEYS",
    "VOD_CALLBACK_TOKEN",
    "WEBHOOK_SECRET",
    "DATABASE_PASSWORD",
];

/// The shortest entry each key list accepts, wherever it is read (every function, pull mode and
/// the dev tool alike), and why.
const MIN_ENTRY_LEN: [(&str, usize, &str); 2] = [
    (
        "VODGATE_CONTEXT_KEY",
        32,
        "each key must be at least 32 bytes: a weaker one can be searched offline from any \
         signature, which clients can read (`openssl rand -base64 32` makes one)",
    ),
    (
        "VOD_CALLBACK_KEYS",
        24,
        "each SignKey must be at least 24 characters (VOD allows up to 32 letters and digits; \
         `openssl rand -hex 16` makes one)",
    ),
];

const DEFAULT_TTL: Duration = Duration::from_secs(300);
const FETCH_TIMEOUT: Duration = Duration::from_secs(3);
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(30);
/// How long one fetch of a secret serves its other readers (at most half the TTL), so keys are
/// at most the TTL plus this old.
const SHARED_FOR: Duration = Duration::from_secs(30);

/// A secret's last fetch (when, and its value), shared by every reader of that secret.
type LastFetch = Arc<tokio::sync::Mutex<Option<(Instant, Arc<Secret>)>>>;

/// The last fetch of each secret this process reads, by secret id.
static LAST_FETCHES: LazyLock<Mutex<HashMap<String, LastFetch>>> = LazyLock::new(Mutex::default);
/// Refresh failures in a row logged as warnings before they become errors.
const QUIET_FAILURES: u32 = 3;

/// The raw key values, merged from env and the secret.
#[derive(Clone, Debug, Default)]
pub struct KeySet(BTreeMap<&'static str, Secret>);

impl KeySet {
    /// The secret variables found in `env` (blank values count as unset).
    pub fn from_env(env: &Env) -> Self {
        Self(
            SECRET_NAMES
                .iter()
                .filter_map(|&name| Some((name, Secret::new(env.non_empty(name)?))))
                .collect(),
        )
    }

    /// Overlays the fields of a secret's JSON text; unknown fields are ignored (their names are
    /// returned so the caller can warn), non-string values are an error naming the field.
    fn overlay(&mut self, secret_json: &str) -> Result<Vec<String>, SecretFormatError> {
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(secret_json).map_err(|_| SecretFormatError::NotAnObject)?;
        let mut unknown = Vec::new();
        for (field, value) in object {
            let Some(&name) = SECRET_NAMES.iter().find(|&&n| n == field) else {
                unknown.push(field);
                continue;
            };
            let serde_json::Value::String(value) = value else {
                return Err(SecretFormatError::NotAString(name));
            };
            if value.trim().is_empty() {
                return Err(SecretFormatError::Blank(name));
            }
            self.0.insert(name, Secret::new(value.trim()));
        }
        Ok(unknown)
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&Secret> {
        self.0.get(name)
    }

    /// The value of `name`, or a configuration error saying where to put it.
    pub fn require(&self, name: &'static str) -> Result<&Secret, ConfigError> {
        self.get(name).ok_or_else(|| {
            ConfigError::missing(
                name,
                "set it in the environment or in the VODGATE_SECRET_ARN secret",
            )
        })
    }

    /// `name` parsed as a comma-separated rotation list, if present; each entry as long as
    /// [`MIN_ENTRY_LEN`] requires for `name`.
    pub fn list(&self, name: &'static str) -> Result<Option<SecretList>, ConfigError> {
        let Some(secret) = self.get(name) else {
            return Ok(None);
        };
        let list = SecretList::parse(secret.expose())
            .map_err(|e| ConfigError::invalid(name, e.to_string()))?;
        if let Some((_, min, why)) = MIN_ENTRY_LEN.iter().find(|(n, ..)| *n == name)
            && list.iter().any(|entry| entry.expose().len() < *min)
        {
            return Err(ConfigError::invalid(name, *why));
        }
        Ok(Some(list))
    }
}

/// Why a secret's JSON could not be used. Never carries a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretFormatError {
    #[error("the secret must be a JSON object of strings keyed by variable name")]
    NotAnObject,
    #[error("field {0} must be a JSON string")]
    NotAString(&'static str),
    #[error("field {0} is blank: give it a value, or remove it to use the environment's")]
    Blank(&'static str),
}

/// Why a function could not start: bad configuration, or keys that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("VODGATE_SECRET_ARN: could not read the secret: {0}")]
    Fetch(SecretReadError),
}

/// Why the secret could not be read or used. Never carries a secret value.
#[derive(Debug, thiserror::Error)]
pub enum SecretReadError {
    /// Secrets Manager did not answer within the fetch timeout.
    #[error("no answer within {} s", .0.as_secs())]
    Timeout(Duration),
    /// Secrets Manager answered with an error, or could not be reached; the SDK's explanation.
    #[error("{0}")]
    Service(String),
    /// The secret holds binary data instead of a string.
    #[error("the secret has no SecretString (binary secrets are not supported)")]
    Binary,
    /// The secret's string is not the JSON object expected.
    #[error(transparent)]
    Format(#[from] SecretFormatError),
}

/// Where a secret's value is fetched from: one Secrets Manager secret.
#[derive(Clone, Debug)]
pub struct SecretsManager {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    ttl: Duration,
    last: LastFetch,
}

impl SecretsManager {
    /// `secret_id` is the ARN (or name); `ttl` how long a fetched value is fresh.
    pub fn new(client: aws_sdk_secretsmanager::Client, secret_id: String, ttl: Duration) -> Self {
        let last = LAST_FETCHES
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(secret_id.clone())
            .or_default()
            .clone();
        Self {
            client,
            secret_id,
            ttl,
            last,
        }
    }

    /// Built from `VODGATE_SECRET_ARN` / `VODGATE_SECRET_TTL_SECONDS` with the standard AWS
    /// configuration chain (region, credentials, `AWS_ENDPOINT_URL`); `None` when no ARN is set.
    pub async fn from_env(env: &Env) -> Result<Option<Self>, ConfigError> {
        let Some(arn) = env.non_empty("VODGATE_SECRET_ARN") else {
            return Ok(None);
        };
        let ttl = env.seconds_in("VODGATE_SECRET_TTL_SECONDS", DEFAULT_TTL, 1..=86_400)?;
        let sdk = crate::platform::aws::sdk_config().await;
        Ok(Some(Self::new(
            aws_sdk_secretsmanager::Client::new(&sdk),
            arn.to_owned(),
            ttl,
        )))
    }

    /// The secret's value: the last fetch of it, if it is younger than [`SHARED_FOR`] and half
    /// the TTL, else a new one (waiting for one in flight). Failures are not kept.
    async fn fetch(&self) -> Result<Arc<Secret>, SecretReadError> {
        let mut last = self.last.lock().await;
        if let Some((at, value)) = &*last
            && at.elapsed() < SHARED_FOR.min(self.ttl / 2)
        {
            return Ok(value.clone());
        }
        let value = Arc::new(Secret::new(self.get_secret_value().await?));
        *last = Some((Instant::now(), value.clone()));
        Ok(value)
    }

    async fn get_secret_value(&self) -> Result<String, SecretReadError> {
        let call = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send();
        let output = tokio::time::timeout(FETCH_TIMEOUT, call)
            .await
            .map_err(|_| SecretReadError::Timeout(FETCH_TIMEOUT))?
            .map_err(|e| {
                SecretReadError::Service(
                    aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string(),
                )
            })?;
        output
            .secret_string()
            .map(str::to_owned)
            .ok_or(SecretReadError::Binary)
    }
}

/// The keys a function uses, derived from a [`KeySet`], kept fresh from Secrets Manager.
pub struct Keys<T> {
    current: RwLock<Arc<T>>,
    refresh: Option<Refresh<T>>,
}

type Derive<T> = fn(&KeySet) -> Result<T, ConfigError>;

struct Refresh<T> {
    env: KeySet,
    source: SecretsManager,
    derive: Derive<T>,
    due: Mutex<Instant>,
    in_flight: tokio::sync::Mutex<()>,
    /// Refreshes that failed in a row (written under `in_flight`).
    failures: std::sync::atomic::AtomicU32,
}

impl<T> Keys<T> {
    /// Keys that never change (no secret configured).
    pub fn fixed(value: T) -> Self {
        Self {
            current: RwLock::new(Arc::new(value)),
            refresh: None,
        }
    }

    /// Loads keys from `env` and, if configured, the Secrets Manager secret; fails when the secret
    /// cannot be read or the merged keys are not a valid configuration.
    pub async fn load(
        env: &Env,
        source: Option<SecretsManager>,
        derive: Derive<T>,
    ) -> Result<Self, StartError> {
        let env_keys = KeySet::from_env(env);
        let Some(source) = source else {
            return Ok(Self::fixed(derive(&env_keys)?));
        };
        let json = source.fetch().await.map_err(StartError::Fetch)?;
        let value = merge(&env_keys, json.expose(), derive).map_err(|e| match e {
            MergeError::Format(e) => StartError::Fetch(e.into()),
            MergeError::Config(e) => StartError::Config(e),
        })?;
        Ok(Self {
            current: RwLock::new(Arc::new(value)),
            refresh: Some(Refresh {
                due: Mutex::new(Instant::now() + source.ttl),
                env: env_keys,
                source,
                derive,
                in_flight: tokio::sync::Mutex::new(()),
                failures: std::sync::atomic::AtomicU32::new(0),
            }),
        })
    }

    /// The current keys. When the TTL has passed, the first caller refreshes them (bounded by a
    /// short timeout) while concurrent callers keep using the value they have.
    pub async fn current(&self) -> Arc<T> {
        if let Some(refresh) = &self.refresh
            && refresh.is_due()
            && let Ok(_guard) = refresh.in_flight.try_lock()
            && refresh.is_due()
        {
            let refreshed = match refresh.source.fetch().await {
                Ok(json) => merge(&refresh.env, json.expose(), refresh.derive)
                    .map_err(|error| error.to_string()),
                Err(error) => Err(error.to_string()),
            };
            let next = match refreshed {
                Ok(value) => {
                    *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(value);
                    refresh
                        .failures
                        .store(0, std::sync::atomic::Ordering::Relaxed);
                    refresh.source.ttl
                }
                Err(error) => {
                    refresh.failed(&error);
                    RETRY_AFTER_FAILURE.min(refresh.source.ttl)
                }
            };
            *refresh.due.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now() + next;
        }
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }
}

impl<T> Refresh<T> {
    fn is_due(&self) -> bool {
        Instant::now() >= *self.due.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Logs a failed refresh (an ERROR once failures keep coming) and counts it.
    fn failed(&self, error: &str) {
        let in_a_row = self
            .failures
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        if in_a_row >= QUIET_FAILURES {
            tracing::error!(%error, in_a_row, "secret refresh keeps failing; the last good keys are serving, possibly stale");
        } else {
            tracing::warn!(%error, in_a_row, "secret refresh failed; keeping the last good keys");
        }
        crate::platform::emf::record_counts("secrets", &[("SecretRefreshFailures", 1)]);
    }
}

#[derive(Debug, thiserror::Error)]
enum MergeError {
    #[error(transparent)]
    Format(#[from] SecretFormatError),
    #[error(transparent)]
    Config(#[from] ConfigError),
}

fn merge<T>(env: &KeySet, json: &str, derive: Derive<T>) -> Result<T, MergeError> {
    let mut keys = env.clone();
    let unknown = keys.overlay(json)?;
    if !unknown.is_empty() {
        tracing::warn!(fields = ?unknown, "secret has fields vodgate does not use");
    }
    Ok(derive(&keys)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_then_secret_overlay() {
        let env = Env::from_pairs([
            ("VOD_SECRET_ID", "env-id"),
            ("VOD_SECRET_KEY", "env-key"),
            ("OTHER", "x"),
        ]);
        let mut keys = KeySet::from_env(&env);
        assert!(keys.get("OTHER").is_none());
        let unknown = keys
            .overlay(r#"{"VOD_SECRET_KEY":"secret-key","JWT_HS256_SECRET":"a,b","note":"x"}"#)
            .unwrap();
        assert_eq!(unknown, ["note"]);
        assert_eq!(keys.get("VOD_SECRET_ID").unwrap().expose(), "env-id");
        assert_eq!(keys.get("VOD_SECRET_KEY").unwrap().expose(), "secret-key");
        assert_eq!(
            keys.list("JWT_HS256_SECRET")
                .unwrap()
                .unwrap()
                .iter()
                .count(),
            2
        );
    }

    #[test]
    fn a_blank_field_is_an_error_not_the_environments_value() {
        let mut keys = KeySet::from_env(&Env::from_pairs([("VOD_SECRET_KEY", "env-key")]));
        let err = keys.overlay(r#"{"VOD_SECRET_KEY": "  "}"#).unwrap_err();
        assert_eq!(err, SecretFormatError::Blank("VOD_SECRET_KEY"));
        assert!(err.to_string().contains("VOD_SECRET_KEY"), "{err}");
    }

    #[test]
    fn secret_format_errors_never_echo_values() {
        let mut keys = KeySet::default();
        assert_eq!(keys.overlay("[1]"), Err(SecretFormatError::NotAnObject));
        let err = keys.overlay(r#"{"VOD_SECRET_KEY": 12345}"#).unwrap_err();
        assert_eq!(err, SecretFormatError::NotAString("VOD_SECRET_KEY"));
        assert!(!err.to_string().contains("12345"));
    }

    #[test]
    fn missing_key_names_the_variable() {
        let err = KeySet::default().require("VOD_SECRET_KEY").unwrap_err();
        assert_eq!(err.var, "VOD_SECRET_KEY");
    }

    #[test]
    fn weak_context_and_callback_keys_are_refused_naming_the_variable() {
        let list = |name: &'static str, value: &str| {
            KeySet::from_env(&Env::from_pairs([(name, value)])).list(name)
        };
        let strong = "c".repeat(32);
        assert!(list("VODGATE_CONTEXT_KEY", &strong).unwrap().is_some());
        let weak = format!("{strong},{}", "c".repeat(31));
        assert_eq!(
            list("VODGATE_CONTEXT_KEY", &weak).unwrap_err().var,
            "VODGATE_CONTEXT_KEY"
        );
        assert!(
            list("VOD_CALLBACK_KEYS", &"K".repeat(24))
                .unwrap()
                .is_some()
        );
        let err = list("VOD_CALLBACK_KEYS", &"K".repeat(23)).unwrap_err();
        assert_eq!(err.var, "VOD_CALLBACK_KEYS");
        assert!(!err.to_string().contains("KKK"), "{err}");
        assert!(list("JWT_HS256_SECRET", "a,b").unwrap().is_some());
    }
}
