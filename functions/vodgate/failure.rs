//! How the tool ends: exit 0 on success, 1 when a command failed or found a problem, 2 on a
//! usage error (clap's own exit, with its usage text), and on failure two lines on stderr:
//!
//! ```text
//! error: what happened
//! hint: what to do
//! ```
//!
//! The hint comes only when there is something to do. Commands attach their own with
//! [`Failure::hint`]; configuration errors from the library get a general one here.

use std::error::Error;
use std::fmt;
use std::process::ExitCode;

use vodgate::platform::config::ConfigError;
use vodgate::platform::keys::StartError;
use vodgate::web::serve::BoxError;

/// A failure a command describes itself: what happened and, when there is one, what to do.
#[derive(Debug)]
pub struct Failure {
    what: String,
    hint: Option<String>,
}

impl Failure {
    pub fn new(what: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            hint: None,
        }
    }

    /// What the user can do about it.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)
    }
}

impl Error for Failure {}

/// The exit code for a command's result, after writing `error:` and `hint:` for a failure.
pub fn exit(result: Result<(), BoxError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let (what, hint) = describe(error.as_ref());
            eprintln!("error: {what}");
            if let Some(hint) = hint {
                eprintln!("hint: {hint}");
            }
            ExitCode::FAILURE
        }
    }
}

/// The `error:` and `hint:` lines of `error`.
fn describe(error: &(dyn Error + 'static)) -> (String, Option<String>) {
    if let Some(failure) = error.downcast_ref::<Failure>() {
        return (failure.what.clone(), failure.hint.clone());
    }
    let config = error.downcast_ref::<ConfigError>().is_some()
        || matches!(
            error.downcast_ref::<StartError>(),
            Some(StartError::Config(_))
        );
    let hint = config.then(|| {
        "fix that variable in the environment (README, Configuration, says what each takes); \
         unset it to use the dev default"
            .to_owned()
    });
    (error.to_string(), hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_carry_their_hint_and_other_errors_their_text() {
        let failure: BoxError = Box::new(Failure::new("it broke").hint("fix it"));
        assert_eq!(
            describe(failure.as_ref()),
            ("it broke".to_owned(), Some("fix it".to_owned()))
        );
        let plain: BoxError = "plain words".into();
        assert_eq!(describe(plain.as_ref()), ("plain words".to_owned(), None));
    }
}
