//! `vodgate inspect`: why VOD refuses an upload signature, and whose upload it is.
//!
//! VOD answers a bad signature with one generic error. Decoding it locally shows every parameter
//! and each thing VOD would object to (expired, a missing field, a wrong HMAC when the key is
//! known, the dev placeholder `secretId`), which is usually the whole diagnosis. The attribution
//! token in `sourceContext`/`sessionContext` is decoded too, and its MAC checked under the local
//! context key: a token that does not hold means the events of that upload would be stored with
//! no uploader, which VOD would never mention. Times read as dates and durations.

use std::io::Read as _;

use vodgate::attribution;
use vodgate::platform::config::Env;
use vodgate::platform::secret::SecretList;
use vodgate::vod::signature::{self, Inspection, MacCheck};
use vodgate::web::serve::BoxError;

use crate::dev::{self, DevKeys};
use crate::failure::Failure;
use crate::state::StateDir;
use crate::timefmt;

#[derive(clap::Args)]
#[command(after_help = "\
Exit status: 0 when VOD would accept the signature, 1 when it would not (the report says why).
Without --key, the HMAC is checked with the dev placeholder key when the signature names the dev
placeholder secretId (no other key can have made it), else with VOD_SECRET_KEY if set.

Examples:
  vodgate inspect \"$SIGNATURE\"
  vodgate inspect \"$SIGNATURE\" --key \"$VOD_SECRET_KEY\"
  curl -s -X POST -H \"Authorization: Bearer $TOKEN\" http://127.0.0.1:8080/v1/uploads \\
    | jq -r .data.signature | vodgate inspect -")]
pub struct Args {
    /// The signature (base64) as the sign function returned it, or - for stdin
    #[arg(value_name = "SIGNATURE|-")]
    signature: String,
    /// The VOD SecretKey to check the HMAC with (default: see below)
    #[arg(long)]
    key: Option<String>,
}

/// The key the HMAC is checked with, and how the report names it.
struct MacKey<'a> {
    key: &'a str,
    name: &'static str,
}

/// Prints the report; a signature VOD would refuse (a problem, or an HMAC that does not match the
/// key) is a failure, so scripts can tell. `env` is the process environment: an exported
/// `VODGATE_CONTEXT_KEY` wins over the dev key of `state`.
pub fn run(args: &Args, env: &Env, state: &StateDir) -> Result<(), BoxError> {
    let signature = read_signature(&args.signature)?;
    let now = dev::unix_now();
    let placeholder = param(&signature::inspect(&signature, None, now), "secretId")
        == Some(dev::PLACEHOLDER_SECRET_ID);
    let mac_key = match (&args.key, placeholder, env.non_empty("VOD_SECRET_KEY")) {
        (Some(key), _, _) => Some(MacKey {
            key,
            name: "the given key",
        }),
        (None, true, _) => Some(MacKey {
            key: dev::PLACEHOLDER_SECRET_KEY,
            name: "the dev placeholder key",
        }),
        (None, false, Some(key)) => Some(MacKey {
            key,
            name: "VOD_SECRET_KEY",
        }),
        (None, false, None) => None,
    };
    let report = signature::inspect(&signature, mac_key.as_ref().map(|k| k.key.as_bytes()), now);
    let context_keys = context_keys(env, state)?;

    match (&report.mac, &mac_key) {
        (MacCheck::Valid, Some(key)) => println!("HMAC: valid for {}", key.name),
        (MacCheck::Invalid, Some(key)) => println!("HMAC: DOES NOT MATCH {}", key.name),
        _ => println!("HMAC: not checked (pass --key or set VOD_SECRET_KEY)"),
    }
    let mut problems: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    if !report.params.is_empty() {
        println!("parameters:");
    }
    for (name, value) in &report.params {
        println!("  {name} = {value:?}");
        let note = match name.as_str() {
            "secretId" if placeholder => {
                problems.push(
                    "secretId is the dev placeholder: VOD refuses it (the server runs without \
                     VOD_SECRET_ID/VOD_SECRET_KEY)"
                        .to_owned(),
                );
                Some("the dev PLACEHOLDER, not a real SecretId".to_owned())
            }
            "currentTimeStamp" => time_note(value, now, "signed"),
            "expireTime" => time_note(value, now, "expires"),
            "sourceContext" | "sessionContext" => {
                let (note, problem) = token_note(value, context_keys.as_ref());
                problems.extend(problem.map(|p| format!("{name}: {p}")));
                Some(note)
            }
            _ => None,
        };
        if let Some(note) = note {
            println!("      {note}");
        }
    }
    if problems.is_empty() {
        println!("problems: none");
    } else {
        println!("problems:");
        for problem in &problems {
            println!("  - {problem}");
        }
    }
    verdict(&report, mac_key.as_ref(), problems.len())
}

/// The command's outcome: a mismatched HMAC first (the likeliest cause), then any problem.
fn verdict(report: &Inspection, key: Option<&MacKey<'_>>, problems: usize) -> Result<(), BoxError> {
    match (report.mac, key, problems) {
        (MacCheck::Invalid, Some(key), _) => {
            let hint = if key.key == dev::PLACEHOLDER_SECRET_KEY {
                "the signature names the dev placeholder secretId but another key made it"
            } else {
                "check the key (--key, or VOD_SECRET_KEY) is the SecretKey the sign function used"
            };
            Err(
                Failure::new(format!("the HMAC does not match {}", key.name))
                    .hint(hint)
                    .into(),
            )
        }
        (_, _, 0) => Ok(()),
        (_, _, n) => Err(Failure::new(format!(
            "{n} problem(s) above: VOD would refuse this signature, or its events would have no \
             uploader"
        ))
        .hint("fix what the problems name in the sign function's configuration, then sign again")
        .into()),
    }
}

/// The signature text: the argument, or stdin for `-`.
fn read_signature(arg: &str) -> Result<String, BoxError> {
    if arg != "-" {
        return Ok(arg.to_owned());
    }
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| Failure::new(format!("cannot read the signature from stdin: {e}")))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(Failure::new("stdin held no signature")
            .hint("pipe the signature in, or give it as the argument")
            .into());
    }
    Ok(text.to_owned())
}

/// The context keys attribution tokens are checked with: `VODGATE_CONTEXT_KEY`, else the dev
/// key of the state directory, else none.
fn context_keys(env: &Env, state: &StateDir) -> Result<Option<(SecretList, String)>, BoxError> {
    if let Some(keys) = env.non_empty("VODGATE_CONTEXT_KEY") {
        let list = SecretList::parse(keys).map_err(|e| format!("VODGATE_CONTEXT_KEY {e}"))?;
        return Ok(Some((list, "VODGATE_CONTEXT_KEY".to_owned())));
    }
    let Some(keys) = DevKeys::load(state.path())? else {
        return Ok(None);
    };
    let list = SecretList::parse(keys.context_key()).map_err(|e| format!("dev keys: {e}"))?;
    Ok(Some((
        list,
        format!("the dev context key of {}", state.path().display()),
    )))
}

/// What an attribution token says and whether its MAC holds; the problem, if any.
fn token_note(token: &str, keys: Option<&(SecretList, String)>) -> (String, Option<String>) {
    let Some((keys, name)) = keys else {
        let note = format!(
            "{}; MAC not checked: no VODGATE_CONTEXT_KEY and no dev keys",
            token_fields(token)
        );
        return (note, None);
    };
    match attribution::open(keys, token) {
        Some(who) => (
            format!(
                "attribution token: sub={}, uploadId={}, meta={}; MAC holds under {name}",
                who.sub,
                who.upload_id.as_str(),
                who.meta.as_ref().map_or("-", |m| m.as_str()),
            ),
            None,
        ),
        None => (
            format!("{}; MAC DOES NOT HOLD under {name}", token_fields(token)),
            Some(format!(
                "the attribution token does not open under {name}: the upload's events would be \
                 stored with uploader null"
            )),
        ),
    }
}

/// The fields a token claims, read without trusting it.
fn token_fields(token: &str) -> String {
    let mut parts = token.splitn(5, '.');
    match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some(version @ ("v1" | "v2")), Some(_mac), Some(id), Some(meta), Some(sub)) => format!(
            "{version} attribution token claiming sub={sub}, upload {id}, meta={}",
            if meta.is_empty() { "-" } else { meta }
        ),
        _ => "not an attribution token (v1./v2.)".to_owned(),
    }
}

/// "signed 2 min ago, at …" / "expires in 1 h 58 min, at …" for a Unix time parameter.
fn time_note(value: &str, now: u64, what: &str) -> Option<String> {
    let unix: i64 = value.parse().ok()?;
    let now = i64::try_from(now).ok()?;
    let when = timefmt::relative(unix, now);
    Some(match what {
        "expires" if unix < now => format!("expired {when}"),
        _ => format!("{what} {when}"),
    })
}

fn param<'a>(report: &'a Inspection, name: &str) -> Option<&'a str> {
    report
        .params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_read_without_trusting_them() {
        let keys = (SecretList::parse("k").unwrap(), "the key".to_owned());
        let (note, problem) = token_note("v1.bad.mac.x.y", Some(&keys));
        assert!(note.contains("claiming sub=y"), "{note}");
        assert!(note.contains("DOES NOT HOLD under the key"), "{note}");
        assert!(problem.unwrap().contains("uploader null"));
        let (note, problem) = token_note("free text", None);
        assert!(note.starts_with("not an attribution token"), "{note}");
        assert!(problem.is_none());
        assert_eq!(
            time_note("1000", 400, "expires").unwrap(),
            format!("expires in 10 min, at {}", timefmt::date(1000))
        );
        assert!(
            time_note("100", 400, "expires")
                .unwrap()
                .starts_with("expired 5 min ago")
        );
    }
}
