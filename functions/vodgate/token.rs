//! `vodgate token`: a dev JWT the local server accepts.
//!
//! Tokens are signed with the same `JWT_HS256_SECRET` the server verifies with (the generated dev
//! secret unless one is exported), so a token minted here works against `vodgate serve` started
//! from the same directory. The banner and `vodgate simulate` mint theirs here too.

use vodgate::platform::config::Env;
use vodgate::platform::secret::SecretList;
use vodgate::sign;
use vodgate::web::serve::BoxError;

use crate::dev;

#[derive(clap::Args)]
pub struct Args {
    /// The token's subject: the uploader that events are attributed to.
    #[arg(long, default_value = dev::DEV_SUB)]
    sub: String,
    /// Scopes, space-separated (default: UPLOAD_SCOPE or vod:upload).
    #[arg(long)]
    scope: Option<String>,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 86_400)]
    ttl: u64,
}

pub fn run(args: Args, env: &Env) -> Result<(), BoxError> {
    println!("{}", mint(env, &args.sub, args.scope, args.ttl)?);
    Ok(())
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
