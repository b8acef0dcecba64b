//! A global cap on the signatures one caller may hold open: `SIGN_QUOTA=COUNT/WINDOW` (e.g.
//! `100/1h`), counted in a DynamoDB table shared by every instance.
//!
//! [`crate::sign::rate_limit`] smooths bursts cheaply, but per instance: under Lambda a caller spread
//! over N warm instances gets N times its rate. An upload signature is a credential that stays
//! usable until it expires, so "how many can one user hold at once" is worth bounding globally.
//! Each issued signature adds one to the caller's counter for the current fixed window (an
//! `UpdateItem` with `ADD`, conditional on the counter being under the cap), so the check and the
//! increment are one atomic step however many instances race. A full window is a 429 with
//! `Retry-After` until the window ends.
//!
//! If the table cannot be reached within [`QUOTA_TIMEOUT`] (or throttles), what happens is the
//! deployment's choice, `SIGN_QUOTA_ON_ERROR`: `open` (the default) issues the signature anyway,
//! because the quota is an abuse control and an outage of it should not stop every upload (the
//! rate limiter still bounds each instance meanwhile); `closed` answers 503, for a deployment
//! where the cap matters more than availability. Every signature issued uncounted is logged and
//! counted in the `SignaturesUncounted` metric, so an open quota cannot fail unnoticed.
//!
//! Items are `{ id: "quota#<window>#<sub>", issued: N, expiresAt }`; `expiresAt` (the window's
//! end plus an hour) is meant to be the table's TTL attribute, so old windows clean themselves up.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::platform::config::{ConfigError, Env};

/// How long a quota check may hold up a signature before it is skipped.
pub(crate) const QUOTA_TIMEOUT: Duration = Duration::from_secs(1);

/// How long after its window a counter is kept (through the table's TTL).
const KEEP_AFTER_WINDOW_SECS: u64 = 3600;

/// The metric of a signature issued while the quota could not count it.
const UNCOUNTED_METRIC: &str = "SignaturesUncounted";

/// The quota in force and where it is counted.
#[derive(Debug, Clone)]
pub struct SignQuota {
    limit: u32,
    window_secs: u64,
    client: aws_sdk_dynamodb::Client,
    table: String,
    on_error: OnError,
}

/// What a signature does when its quota cannot be checked (`SIGN_QUOTA_ON_ERROR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// Issued uncounted (logged, counted in a metric): the default.
    Open,
    /// Refused with 503.
    Closed,
}

/// Why the quota refused a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaRefused {
    /// The caller's window is full.
    Exceeded(QuotaExceeded),
    /// The table did not answer and `SIGN_QUOTA_ON_ERROR=closed`.
    Unavailable,
}

/// The caller's window is full: retry after this long (the window's end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaExceeded {
    pub limit: u32,
    pub retry_after: Duration,
}

impl SignQuota {
    /// From `SIGN_QUOTA` (`off`, the default, or `COUNT/WINDOW` with WINDOW like `1h`, `30m`,
    /// `3600s`) and `SIGN_QUOTA_TABLE` (the DynamoDB table, required when a quota is set). Makes
    /// no network call.
    pub async fn from_env(env: &Env) -> Result<Option<Self>, ConfigError> {
        let Some((limit, window_secs)) = parse(env)? else {
            return Ok(None);
        };
        let table = env.non_empty("SIGN_QUOTA_TABLE").ok_or_else(|| {
            ConfigError::missing(
                "SIGN_QUOTA_TABLE",
                "SIGN_QUOTA is counted in a DynamoDB table shared by all instances; name it here \
                 (for a per-instance limit, use SIGN_RATE_LIMIT)",
            )
        })?;
        let on_error = on_error(env)?;
        let sdk = crate::platform::aws::sdk_config().await;
        Ok(Some(
            Self::new(
                aws_sdk_dynamodb::Client::new(&sdk),
                table.to_owned(),
                limit,
                window_secs,
            )
            .on_error(on_error),
        ))
    }

    /// Sets what a signature does when the table cannot be reached (default [`OnError::Open`]).
    pub fn on_error(mut self, on_error: OnError) -> Self {
        self.on_error = on_error;
        self
    }

    /// A quota of `limit` signatures per caller per `window_secs`, counted in `table`.
    pub fn new(
        client: aws_sdk_dynamodb::Client,
        table: String,
        limit: u32,
        window_secs: u64,
    ) -> Self {
        Self {
            limit,
            window_secs,
            client,
            table,
            on_error: OnError::Open,
        }
    }

    /// Counts one signature for `sub` at unix time `now`, or refuses it if the caller's window is
    /// full. A table that cannot be reached counts nothing, and refuses nothing unless
    /// `SIGN_QUOTA_ON_ERROR=closed`.
    pub async fn take(&self, sub: &str, now: u64) -> Result<(), QuotaRefused> {
        let window = now / self.window_secs;
        let window_end = (window + 1) * self.window_secs;
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(format!("quota#{window}#{sub}")))
            .update_expression("ADD issued :one SET expiresAt = if_not_exists(expiresAt, :exp)")
            .condition_expression("attribute_not_exists(issued) OR issued < :limit")
            .set_expression_attribute_values(Some(HashMap::from([
                (":one".to_owned(), AttributeValue::N("1".to_owned())),
                (
                    ":limit".to_owned(),
                    AttributeValue::N(self.limit.to_string()),
                ),
                (
                    ":exp".to_owned(),
                    AttributeValue::N((window_end + KEEP_AFTER_WINDOW_SECS).to_string()),
                ),
            ])))
            .send();
        match tokio::time::timeout(QUOTA_TIMEOUT, update).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(SdkError::ServiceError(e)))
                if matches!(e.err(), UpdateItemError::ConditionalCheckFailedException(_)) =>
            {
                Err(QuotaRefused::Exceeded(QuotaExceeded {
                    limit: self.limit,
                    retry_after: Duration::from_secs(window_end.saturating_sub(now).max(1)),
                }))
            }
            Ok(Err(error)) => self.unchecked(&DisplayErrorContext(error).to_string()),
            Err(_) => self.unchecked(&format!("no answer within {} s", QUOTA_TIMEOUT.as_secs())),
        }
    }

    /// The answer when the table could not count a signature.
    fn unchecked(&self, cause: &str) -> Result<(), QuotaRefused> {
        match self.on_error {
            OnError::Open => {
                tracing::warn!(
                    cause,
                    "SIGN_QUOTA could not be checked; the signature is issued uncounted"
                );
                crate::web::metrics::record_counts("sign", &[(UNCOUNTED_METRIC, 1)]);
                Ok(())
            }
            OnError::Closed => {
                tracing::warn!(
                    cause,
                    "SIGN_QUOTA could not be checked; refused (SIGN_QUOTA_ON_ERROR=closed)"
                );
                Err(QuotaRefused::Unavailable)
            }
        }
    }
}

/// `SIGN_QUOTA_ON_ERROR`: `open` (the default) or `closed`.
fn on_error(env: &Env) -> Result<OnError, ConfigError> {
    match env.non_empty("SIGN_QUOTA_ON_ERROR") {
        None => Ok(OnError::Open),
        Some(raw) if raw.eq_ignore_ascii_case("open") => Ok(OnError::Open),
        Some(raw) if raw.eq_ignore_ascii_case("closed") => Ok(OnError::Closed),
        Some(raw) => Err(ConfigError::invalid(
            "SIGN_QUOTA_ON_ERROR",
            format!("expected open or closed, got {raw:?}"),
        )),
    }
}

/// `SIGN_QUOTA` as (count, window seconds); `None` when off or unset.
fn parse(env: &Env) -> Result<Option<(u32, u64)>, ConfigError> {
    let Some(raw) = env.non_empty("SIGN_QUOTA") else {
        return Ok(None);
    };
    if raw.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let invalid = || {
        ConfigError::invalid(
            "SIGN_QUOTA",
            format!("expected off or COUNT/WINDOW such as 100/1h, got {raw:?}"),
        )
    };
    let (count, window) = raw.split_once('/').ok_or_else(invalid)?;
    let count: u32 = count
        .trim()
        .parse()
        .ok()
        .filter(|c| *c > 0)
        .ok_or_else(invalid)?;
    let window = crate::sign::rate_limit::parse_window(window.trim()).ok_or_else(invalid)?;
    Ok(Some((count, window.as_secs())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(raw: &str) -> Result<Option<(u32, u64)>, ConfigError> {
        parse(&Env::from_pairs([("SIGN_QUOTA", raw)]))
    }

    #[test]
    fn parses_settings() {
        assert_eq!(parse(&Env::default()), Ok(None));
        assert_eq!(parsed("off"), Ok(None));
        assert_eq!(parsed("100/1h"), Ok(Some((100, 3600))));
        assert_eq!(parsed(" 5 / 30m "), Ok(Some((5, 1800))));
        for bad in ["100", "0/1h", "-1/1h", "10/0s", "10/1d", "ten/1h", "10/h"] {
            let err = parsed(bad).unwrap_err();
            assert_eq!(err.var, "SIGN_QUOTA", "{bad}");
        }
    }

    #[test]
    fn on_error_is_open_or_closed() {
        let read = |raw: &str| on_error(&Env::from_pairs([("SIGN_QUOTA_ON_ERROR", raw)]));
        assert_eq!(on_error(&Env::default()), Ok(OnError::Open));
        assert_eq!(read("open"), Ok(OnError::Open));
        assert_eq!(read("CLOSED"), Ok(OnError::Closed));
        assert_eq!(read("shut").unwrap_err().var, "SIGN_QUOTA_ON_ERROR");
    }

    #[tokio::test]
    async fn a_quota_needs_its_table() {
        let err = SignQuota::from_env(&Env::from_pairs([("SIGN_QUOTA", "10/1h")]))
            .await
            .unwrap_err();
        assert_eq!(err.var, "SIGN_QUOTA_TABLE");
        assert!(
            SignQuota::from_env(&Env::from_pairs([("SIGN_QUOTA_TABLE", "t")]))
                .await
                .unwrap()
                .is_none()
        );
    }
}
