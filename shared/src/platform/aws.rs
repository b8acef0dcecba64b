//! The one place AWS SDK configuration is built.
//!
//! It follows the standard chain (region, credentials, and `AWS_ENDPOINT_URL` so the same binary
//! runs against a local emulator such as moto) and bounds every call with explicit timeouts, so a
//! slow AWS endpoint costs a request a known time rather than the function's whole budget.
//!
//! The configuration is loaded once per process and shared: `events` with a Secrets Manager
//! secret and an AWS sink needs it twice during a cold start, and the chain it walks (environment,
//! profile files, then the instance metadata service when nothing else answers) is not free.
//! Everything it reads comes from the process environment, which does not change while we run.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use tokio::sync::OnceCell;

static SDK_CONFIG: OnceCell<SdkConfig> = OnceCell::const_new();

/// The shared SDK configuration, loaded on first use. Only called when an AWS service is
/// configured.
pub(crate) async fn sdk_config() -> SdkConfig {
    SDK_CONFIG.get_or_init(load).await.clone()
}

async fn load() -> SdkConfig {
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
