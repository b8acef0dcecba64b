//! Logging and metrics set-up, identical for every binary.
//!
//! Under Lambda the format and level follow Lambda's advanced logging controls
//! (`AWS_LAMBDA_LOG_FORMAT=JSON`, `AWS_LAMBDA_LOG_LEVEL`), written to stdout without timestamps
//! (CloudWatch adds them), and [`super::metrics`] writes EMF lines beside them. Locally, lines are
//! human-readable on stderr, so stdout stays free for command output.
//!
//! The level (`AWS_LAMBDA_LOG_LEVEL` in Lambda, else `RUST_LOG`; default `info`) applies to
//! vodgate's own code only. A level that does not parse stops start-up naming the variable (a
//! silent `info` would hide the debug lines someone asked for); logging is still set up at `info`
//! first, so that the refusal itself is logged. The other process-wide setting every binary needs
//! before its first outbound call, `VODGATE_HTTPS_PROXY` ([`crate::platform::outbound`]), is
//! read here too, and refused the same way. Dependencies never log below `info`, whatever is asked: at debug and
//! trace level the Lambda runtime prints raw events, hyper prints headers and the AWS SDK prints
//! request bodies and signing material, and those carry bearer tokens, signatures, callback bodies
//! and secret values. Keeping them out of logs is a rule of construction, not of configuration.

use std::sync::OnceLock;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::registry::Registry;
use tracing_subscriber::util::SubscriberInitExt;

use crate::platform::config::{ConfigError, Env};

/// Our own tracing targets: the library and the three binaries.
const OWN_TARGETS: [&str; 3] = ["vodgate", "sign", "events"];

/// The first process-wide setting that did not parse, kept for [`super::serve::main`] to refuse
/// start-up with.
static INVALID_SETTING: OnceLock<ConfigError> = OnceLock::new();

/// The process-wide setting (log level, outbound proxy) that did not parse, if any.
pub(crate) fn invalid_setting() -> Option<&'static ConfigError> {
    INVALID_SETTING.get()
}

/// Installs the global subscriber and the metrics writer. Call once, first thing in `main`.
pub fn init(env: &Env) {
    super::metrics::init(env);
    let in_lambda = env.get("AWS_LAMBDA_RUNTIME_API").is_some();
    let requested = level(env, in_lambda).unwrap_or_else(|error| {
        let _ = INVALID_SETTING.set(error);
        LevelFilter::INFO
    });
    if let Err(error) = crate::platform::outbound::init(env) {
        let _ = INVALID_SETTING.set(error);
    }
    let json = in_lambda
        && env
            .get("AWS_LAMBDA_LOG_FORMAT")
            .is_some_and(|f| f.eq_ignore_ascii_case("json"));
    let lines = tracing_subscriber::fmt::layer();
    let lines: Box<dyn Layer<Registry> + Send + Sync> = match (in_lambda, json) {
        (true, true) => lines
            .json()
            .with_current_span(false)
            .without_time()
            .with_writer(std::io::stdout)
            .boxed(),
        (true, false) => lines
            .with_target(false)
            .without_time()
            .with_ansi(false)
            .with_writer(std::io::stdout)
            .boxed(),
        (false, _) => lines
            .with_target(false)
            .with_ansi(false)
            .with_writer(std::io::stderr)
            .boxed(),
    };
    let result = tracing_subscriber::registry()
        .with(lines.with_filter(filter(requested)))
        .try_init();
    // Already installed (tests call `init` more than once): the first subscriber stays.
    drop(result);
}

/// The level asked for: `AWS_LAMBDA_LOG_LEVEL` under Lambda (whose `FATAL` is our `error`), else
/// `RUST_LOG`, else `info`.
fn level(env: &Env, in_lambda: bool) -> Result<LevelFilter, ConfigError> {
    let (name, raw) = match env.non_empty("AWS_LAMBDA_LOG_LEVEL").filter(|_| in_lambda) {
        Some(raw) => ("AWS_LAMBDA_LOG_LEVEL", raw),
        None => match env.non_empty("RUST_LOG") {
            Some(raw) => ("RUST_LOG", raw),
            None => return Ok(LevelFilter::INFO),
        },
    };
    if name == "AWS_LAMBDA_LOG_LEVEL" && raw.eq_ignore_ascii_case("fatal") {
        return Ok(LevelFilter::ERROR);
    }
    raw.parse().map_err(|_| {
        ConfigError::invalid(
            name,
            format!(
                "expected one of off, error, warn, info, debug, trace (it sets vodgate's own \
                 level; dependencies log at info at most), got {raw:?}"
            ),
        )
    })
}

/// `requested` for our targets; at most `info` for everything else.
fn filter(requested: LevelFilter) -> Targets {
    let dependencies = requested.min(LevelFilter::INFO);
    Targets::new()
        .with_default(dependencies)
        .with_targets(OWN_TARGETS.map(|target| (target, requested)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_level_that_does_not_parse_names_its_variable() {
        let level_of =
            |pairs: &[(&str, &str)], lambda| level(&Env::from_pairs(pairs.iter().copied()), lambda);
        assert_eq!(level_of(&[], false), Ok(LevelFilter::INFO));
        assert_eq!(
            level_of(&[("RUST_LOG", "DEBUG")], false),
            Ok(LevelFilter::DEBUG)
        );
        assert_eq!(
            level_of(&[("RUST_LOG", "verbose")], false).unwrap_err().var,
            "RUST_LOG"
        );
        let directive = level_of(&[("RUST_LOG", "vodgate=debug")], false);
        assert_eq!(directive.unwrap_err().var, "RUST_LOG");
        let lambda = [("AWS_LAMBDA_LOG_LEVEL", "FATAL"), ("RUST_LOG", "nonsense")];
        assert_eq!(level_of(&lambda, true), Ok(LevelFilter::ERROR));
        let bad = level_of(&[("AWS_LAMBDA_LOG_LEVEL", "LOUD")], true).unwrap_err();
        assert_eq!(bad.var, "AWS_LAMBDA_LOG_LEVEL");
    }

    #[test]
    fn dependencies_never_go_below_info() {
        use tracing::Level;
        let loud = filter(LevelFilter::TRACE);
        assert!(loud.would_enable("vodgate::ingest::store", &Level::TRACE));
        assert!(loud.would_enable("events", &Level::TRACE));
        assert!(!loud.would_enable("hyper::proto", &Level::DEBUG));
        assert!(loud.would_enable("hyper::proto", &Level::INFO));
        let quiet = filter(LevelFilter::WARN);
        assert!(!quiet.would_enable("aws_config", &Level::INFO));
        assert!(!quiet.would_enable("vodgate", &Level::INFO));
        assert!(quiet.would_enable("vodgate", &Level::WARN));
    }
}
