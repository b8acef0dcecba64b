//! The one place AWS SDK configuration is built.
//!
//! It follows the standard chain (region, credentials, and `AWS_ENDPOINT_URL` so the same binary
//! runs against a local emulator such as moto) and bounds every call with explicit timeouts, so a
//! slow AWS endpoint costs a request a known time rather than the function's whole budget.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;

/// Loads the shared SDK configuration. Only called when an AWS service is configured.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(3))
                .operation_timeout(Duration::from_secs(8))
                .build(),
        )
        .load()
        .await
}
