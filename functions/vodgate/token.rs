//! `vodgate token`: a dev JWT the local server accepts.
//!
//! Tokens are signed with the same `JWT_HS256_SECRET` the server verifies with (the dev secret of
//! the state directory unless one is exported), so a token minted here works against a
//! `vodgate serve` using the same state directory. The banner and `vodgate simulate` mint theirs
//! here too, with the same default lifetime, and a token the server would refuse (an empty `sub`,
//! no lifetime) is refused here instead of printed.

use vodgate::platform::config::Env;
use vodgate::platform::secret::SecretList;
use vodgate::sign;
use vodgate::web::serve::BoxError;

use crate::dev;
use crate::timefmt;

/// How long a dev token lasts unless told: the banner's and `vodgate token`'s.
pub const DEFAULT_TTL: &str = "7d";

#[derive(clap::Args)]
#[command(after_help = "\
Examples:
  export TOKEN=$(vodgate token)
  vodgate token --sub alice --ttl 1h
  curl -s -X POST -H \"Authorization: Bearer $(vodgate token)\" http://127.0.0.1:8080/v1/uploads")]
pub struct Args {
    /// The uploader events are attributed to (1 to 128 bytes)
    #[arg(long, default_value = dev::DEV_SUB, value_parser = parse_sub)]
    sub: String,
    /// Scopes, space-separated (default: UPLOAD_SCOPE or vod:upload).
    #[arg(long)]
    scope: Option<String>,
    /// Lifetime: 30m, 1h, 7d (s, m, h, d), or seconds
    #[arg(long, default_value = DEFAULT_TTL, value_parser = timefmt::parse_duration)]
    ttl: u64,
}

pub fn run(args: Args, env: &Env) -> Result<(), BoxError> {
    println!("{}", mint(env, &args.sub, args.scope, args.ttl)?);
    Ok(())
}

/// The default lifetime in seconds.
pub fn default_ttl() -> u64 {
    timefmt::parse_duration(DEFAULT_TTL).unwrap_or(86_400)
}

/// An HS256 token for `sub` with `scope` (default: the scope the sign function requires),
/// valid for `ttl` seconds, signed with the current `JWT_HS256_SECRET`.
pub fn mint(env: &Env, sub: &str, scope: Option<String>, ttl: u64) -> Result<String, BoxError> {
    let secrets = SecretList::parse(env.get("JWT_HS256_SECRET").unwrap_or(""))
        .map_err(|e| format!("JWT_HS256_SECRET {e}"))?;
    let scope = scope.unwrap_or_else(|| {
        env.non_empty("UPLOAD_SCOPE")
            .unwrap_or(sign::DEFAULT_UPLOAD_SCOPE)
            .to_owned()
    });
    Ok(dev::mint_token(secrets.current(), sub, &scope, ttl)?)
}

/// A `sub` the sign function accepts: not empty, at most 128 bytes, no control characters.
fn parse_sub(sub: &str) -> Result<String, String> {
    if sub.is_empty() {
        return Err("must not be empty: the sign function refuses a token without a sub".into());
    }
    if sub.chars().any(char::is_control) {
        return Err("must not hold control characters: the sign function refuses them".into());
    }
    if sub.len() > vodgate::attribution::MAX_SUB_BYTES {
        return Err(format!(
            "is {} bytes; the sign function accepts at most {}",
            sub.len(),
            vodgate::attribution::MAX_SUB_BYTES
        ));
    }
    Ok(sub.to_owned())
}
