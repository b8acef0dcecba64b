//! Logging set-up, identical for both functions.
//!
//! Under Lambda the format and level follow Lambda's advanced logging controls
//! (`AWS_LAMBDA_LOG_FORMAT=JSON`, `AWS_LAMBDA_LOG_LEVEL`), written to stdout without timestamps
//! (CloudWatch adds them). Locally, lines are human-readable on stderr, so stdout stays free for
//! command output. In both, the libraries that can print request or response bodies at debug
//! and trace level (the Lambda runtime prints raw events, the AWS SDK prints secret values) are
//! held at `info`, whatever `RUST_LOG` asks for: bodies carry tokens, signatures and keys.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

use crate::config::Env;

const QUIET_TARGETS: [&str; 10] = [
    "lambda_runtime",
    "lambda_runtime_api_client",
    "lambda_http",
    "aws_smithy_runtime",
    "aws_smithy_http_client",
    "aws_config",
    "aws_sdk_secretsmanager",
    "hyper",
    "h2",
    "reqwest",
];

/// Installs the global subscriber. Call once, first thing in `main`.
pub fn init(env: &Env) {
    let in_lambda = env.get("AWS_LAMBDA_RUNTIME_API").is_some();
    let level = env
        .non_empty("AWS_LAMBDA_LOG_LEVEL")
        .filter(|_| in_lambda)
        .or_else(|| env.non_empty("RUST_LOG"))
        .unwrap_or("info");
    let mut filter = EnvFilter::builder()
        .with_default_directive(LevelFilter::INFO.into())
        .parse_lossy(level.to_ascii_lowercase());
    for target in QUIET_TARGETS {
        if let Ok(directive) = format!("{target}=info").parse() {
            filter = filter.add_directive(directive);
        }
    }
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let json = in_lambda
        && env
            .get("AWS_LAMBDA_LOG_FORMAT")
            .is_some_and(|f| f.eq_ignore_ascii_case("json"));
    let result = match (in_lambda, json) {
        (true, true) => builder
            .json()
            .with_current_span(false)
            .without_time()
            .with_writer(std::io::stdout)
            .try_init(),
        (true, false) => builder
            .with_target(false)
            .without_time()
            .with_ansi(false)
            .with_writer(std::io::stdout)
            .try_init(),
        (false, _) => builder
            .with_target(false)
            .with_ansi(false)
            .with_writer(std::io::stderr)
            .try_init(),
    };
    // Already installed (tests call `init` more than once): the first subscriber stays.
    drop(result);
}
