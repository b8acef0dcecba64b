//! `vodgate inspect`: why VOD refuses an upload signature.
//!
//! VOD answers a bad signature with one generic error. Decoding it locally shows every parameter
//! and each thing VOD would object to (expired, a missing field, a wrong HMAC when the key is
//! given), which is usually the whole diagnosis.

use vodgate::vod::signature::{self, MacCheck};

use crate::dev;

#[derive(clap::Args)]
pub struct Args {
    /// The signature, as the sign function returned it (base64).
    signature: String,
    /// The VOD SecretKey to check the HMAC with.
    #[arg(long, env = "VOD_SECRET_KEY", hide_env_values = true)]
    key: Option<String>,
}

pub fn run(args: &Args) {
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
}
