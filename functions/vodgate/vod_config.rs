//! `vodgate vod-config`: show or change VOD's event configuration.
//!
//! Pointing VOD at a deployment (push mode, the callback URL, the SignKey, which events to send)
//! otherwise means the Tencent console or hand-signed API calls. This command acts on the real
//! account, so it reads the process environment without dev defaults: `--sign-key` can only send
//! a key the operator configured (in the environment or the `VODGATE_SECRET_ARN` secret), never a
//! generated dev key.

use clap::Subcommand;
use vodgate::platform::config::Env;
use vodgate::platform::keys::{KeySet, Keys, SecretsManager};
use vodgate::vod::api::{ApiCredentials, EventConfig, EventConfigChange, Mode, Switch, VodApi};
use vodgate::vod::callback_auth::CallbackKeys;
use vodgate::web::serve::BoxError;

use crate::failure::Failure;

#[derive(clap::Args)]
#[command(after_help = "\
Reads VOD_SECRET_ID/VOD_SECRET_KEY (or VODGATE_SECRET_ARN) from the environment, never dev keys.

Examples:
  vodgate vod-config show
  vodgate vod-config set --mode PUSH --url \"$CALLBACK_URL\" --sign-key
  vodgate vod-config set --upload-media-complete ON")]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the current event configuration.
    Show,
    /// Change what is given; everything else stays as it is.
    Set(SetArgs),
}

#[derive(clap::Args)]
struct SetArgs {
    /// PUSH (VOD posts to --url) or PULL (`vodgate pull` fetches)
    #[arg(long, value_name = "PUSH|PULL")]
    mode: Option<Mode>,
    /// The v3.0 callback URL, a full https URL; "" clears it
    #[arg(long, value_parser = parse_url)]
    url: Option<String>,
    /// Set VOD's SignKey to the first key of VOD_CALLBACK_KEYS
    #[arg(long)]
    sign_key: bool,
    /// NewFileUpload events.
    #[arg(long, value_name = "ON|OFF")]
    upload_media_complete: Option<Switch>,
    /// FileDeleted events.
    #[arg(long, value_name = "ON|OFF")]
    delete_media_complete: Option<Switch>,
    /// PersistenceComplete events.
    #[arg(long, value_name = "ON|OFF")]
    persistence_complete: Option<Switch>,
}

/// Runs `args` against VOD. `env` is the process environment without dev defaults.
pub async fn run(args: Args, env: &Env) -> Result<(), BoxError> {
    let (api, keys, credentials) = account(env).await.map_err(|e| {
        Failure::new(e.to_string()).hint(
            "export VOD_SECRET_ID and VOD_SECRET_KEY (your Tencent Cloud API key pair), or \
             VODGATE_SECRET_ARN; vod-config acts on the real account and never uses dev keys",
        )
    })?;
    match args.command {
        Command::Show => {
            print_config(api.describe_event_config(&credentials).await?);
            Ok(())
        }
        Command::Set(set) => {
            let change = set.change(&keys)?;
            let request_id = api.modify_event_config(&credentials, &change).await?;
            println!(
                "updated (RequestId {request_id}); `vodgate vod-config show` prints the result"
            );
            Ok(())
        }
    }
}

/// The VOD API, the keys in force and the API credentials among them.
async fn account(env: &Env) -> Result<(VodApi, KeySet, ApiCredentials), BoxError> {
    let api = vodgate::ingest::vod_api(env)?;
    let source = SecretsManager::from_env(env).await?;
    let keys = Keys::load(env, source, |keys: &KeySet| Ok(keys.clone()))
        .await?
        .current()
        .await;
    let credentials = vodgate::ingest::api_credentials(&keys)?;
    Ok((api, (*keys).clone(), credentials))
}

fn print_config(config: EventConfig) {
    let mut rows = vec![
        ("Mode", config.mode),
        ("NotificationUrl", config.notification_url),
        (
            "UploadMediaCompleteEventSwitch",
            config.upload_media_complete_event_switch,
        ),
        (
            "DeleteMediaCompleteEventSwitch",
            config.delete_media_complete_event_switch,
        ),
        (
            "PersistenceCompleteEventSwitch",
            config.persistence_complete_event_switch,
        ),
    ];
    rows.extend(config.other.iter().map(|(k, v)| {
        (
            k.as_str(),
            Some(v.as_str().map_or_else(|| v.to_string(), str::to_owned)),
        )
    }));
    for (name, value) in rows {
        println!("{name:<32} {}", value.as_deref().unwrap_or("-"));
    }
    println!("(VOD never returns the SignKey; `set --sign-key` sets it from VOD_CALLBACK_KEYS)");
}

impl SetArgs {
    /// The change these flags ask for, checked before anything is sent to VOD.
    fn change(self, keys: &KeySet) -> Result<EventConfigChange, BoxError> {
        let sign_key = if self.sign_key {
            // The same rule the events function holds SignKeys to (letters and digits, ≤ 32).
            let list = keys.list("VOD_CALLBACK_KEYS")?.ok_or_else(|| {
                Failure::new("--sign-key: VOD_CALLBACK_KEYS is not set")
                    .hint("export VOD_CALLBACK_KEYS=<the SignKey> (letters and digits, ≤ 32)")
            })?;
            CallbackKeys::new(Some(list.clone()), None)
                .map_err(|e| format!("VOD_CALLBACK_KEYS: {e}"))?;
            Some(list.current().clone())
        } else {
            None
        };
        let change = EventConfigChange {
            mode: self.mode,
            notification_url: self.url,
            upload_media_complete_event_switch: self.upload_media_complete,
            delete_media_complete_event_switch: self.delete_media_complete,
            persistence_complete_event_switch: self.persistence_complete,
            sign_key,
        };
        if change.is_empty() {
            return Err(Failure::new("nothing to change")
                .hint(
                    "give --mode, --url, --sign-key or a switch (`vodgate vod-config set --help`)",
                )
                .into());
        }
        Ok(change)
    }
}

/// `--url`: empty (to clear it), or a full http(s) URL with a host.
fn parse_url(url: &str) -> Result<String, String> {
    if url.is_empty() {
        return Ok(String::new());
    }
    let expected = "a full https URL is expected, such as \
                    https://abc.execute-api.ap-guangzhou.amazonaws.com/v1/vod/events";
    match reqwest::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "https" | "http") && parsed.host().is_some() => {
            Ok(url.to_owned())
        }
        Ok(_) => Err(expected.to_owned()),
        Err(e) => Err(format!("{e}; {expected}")),
    }
}
