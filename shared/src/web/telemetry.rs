//! Logging and metrics set-up, identical for every binary.
//!
//! Under Lambda the format and level follow Lambda's advanced logging controls
//! (`AWS_LAMBDA_LOG_FORMAT=JSON`, `AWS_LAMBDA_LOG_LEVEL`), written to stdout without timestamps
//! (CloudWatch adds them), and [`super::metrics`] writes EMF lines beside them. Locally, lines are
//! human-readable on stderr, so stdout stays free for command output.
//!
//! The level (`AWS_LAMBDA_LOG_LEVEL` in Lambda, else `RUST_LOG`; default `info`) applies to
//! vodgate's own code only. Dependencies never log below `info`, whatever is asked: at debug and
//! trace level the Lambda runtime prints raw events, hyper prints headers and the AWS SDK prints
//! request bodies and signing material, and those carry bearer tokens, signatures, callback bodies
//! and secret values. Keeping them out of logs is a rule of construction, not of configuration.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

use crate::platform::config::Env;

/// Our own tracing targets: the library and the three binaries.
const OWN_TARGETS: [&str; 3] = ["vodgate", "sign", "events"];

/// Installs the global subscriber and the metrics writer. Call once, first thing in `main`.
pub fn init(env: &Env) {
    super::metrics::init(env);
    let in_lambda = env.get("AWS_LAMBDA_RUNTIME_API").is_some();
    let requested = env
        .non_empty("AWS_LAMBDA_LOG_LEVEL")
        .filter(|_| in_lambda)
        .or_else(|| env.non_empty("RUST_LOG"))
        .and_then(|level| level.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let filter = filter(requested);
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

/// `requested` for our targets; at most `info` for everything else.
fn filter(requested: LevelFilter) -> EnvFilter {
    let dependencies = requested.min(LevelFilter::INFO);
    OWN_TARGETS.iter().fold(
        EnvFilter::default().add_directive(dependencies.into()),
        |filter, target| match format!("{target}={requested}").parse() {
            Ok(directive) => filter.add_directive(directive),
            Err(_) => filter,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_never_go_below_info() {
        let shown = filter(LevelFilter::TRACE).to_string();
        assert!(shown.contains("vodgate=trace"), "{shown}");
        assert!(!shown.split(',').any(|d| d == "trace"), "{shown}");
        let quiet = filter(LevelFilter::WARN).to_string();
        assert!(quiet.split(',').any(|d| d == "warn"), "{quiet}");
    }
}
