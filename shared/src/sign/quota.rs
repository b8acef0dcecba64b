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
//! If the table cannot be reached within [`QUOTA_TIMEOUT`], the signature is issued anyway and the
//! failure logged: the quota is an abuse control, and an outage of it should not stop every
//! upload. The rate limiter still bounds each instance meanwhile.
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

/// The quota in force and where it is counted.
#[derive(Debug, Clone)]
pub struct SignQuota {
    limit: u32,
    window_secs: u64,
    client: aws_sdk_dynamodb::Client,
    table: String,
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
        let sdk = crate::platform::aws::sdk_config().await;
        Ok(Some(Self::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            table.to_owned(),
            limit,
            window_secs,
        )))
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
        }
    }

    /// Counts one signature for `sub` at unix time `now`, or refuses it if the caller's window is
    /// full. A table that cannot be reached counts nothing and refuses nothing (logged).
    pub async fn take(&self, sub: &str, now: u64) -> Result<(), QuotaExceeded> {
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
                Err(QuotaExceeded {
                    limit: self.limit,
                    retry_after: Duration::from_secs(window_end.saturating_sub(now).max(1)),
                })
            }
            Ok(Err(error)) => {
                tracing::warn!(
                    error = %DisplayErrorContext(error),
                    "SIGN_QUOTA could not be checked; the signature is issued uncounted"
                );
                Ok(())
            }
            Err(_) => {
                tracing::warn!(
                    "SIGN_QUOTA could not be checked within {} s; the signature is issued uncounted",
                    QUOTA_TIMEOUT.as_secs()
                );
                Ok(())
            }
        }
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
