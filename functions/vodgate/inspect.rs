//! `vodgate inspect`: why VOD refuses an upload signature.
//!
//! VOD answers a bad signature with one generic error. Decoding it locally shows every parameter
//! and each thing VOD would object to (expired, a missing field, a wrong HMAC when the key is
//! given), which is usually the whole diagnosis.

use vodgate::vod::signature::{self, MacCheck};
use vodgate::web::serve::BoxError;

use crate::dev;
use crate::failure::Failure;

#[derive(clap::Args)]
pub struct Args {
    /// The signature, as the sign function returned it (base64).
    signature: String,
    /// The VOD SecretKey to check the HMAC with.
    #[arg(long, env = "VOD_SECRET_KEY", hide_env_values = true)]
    key: Option<String>,
}

/// Prints the report; a signature VOD would refuse (a problem, or an HMAC that does not match the
/// given key) is a failure, so scripts can tell.
pub fn run(args: &Args) -> Result<(), BoxError> {
    let report = signature::inspect(
        &args.signature,
        args.key.as_deref().map(str::as_bytes),
        dev::unix_now(),
    );
    match report.mac {
        MacCheck::Valid => println!("HMAC: valid for the given key"),
        MacCheck::Invalid => println!("HMAC: DOES NOT MATCH the given key"),
        MacCheck::NotChecked => println!("HMAC: not checked (pass --key or set VOD_SECRET_KEY)"),
    }
    if !report.params.is_empty() {
        println!("parameters:");
        for (name, value) in &report.params {
            println!("  {name} = {value:?}");
        }
    }
    if report.problems.is_empty() {
        println!("problems: none");
    } else {
        println!("problems:");
        for problem in &report.problems {
            println!("  - {problem}");
        }
    }
    match (report.mac, report.problems.len()) {
        (MacCheck::Invalid, _) => Err(Failure::new("the HMAC does not match the given key")
            .hint("check --key (or VOD_SECRET_KEY) is the SecretKey the sign function used")
            .into()),
        (_, 0) => Ok(()),
        (_, n) => Err(Failure::new(format!(
            "VOD would refuse this signature: {n} problem(s) above"
        ))
        .hint("fix what the problems name in the sign function's configuration, then sign again")
        .into()),
    }
}
