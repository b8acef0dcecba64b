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
use vodgate::vod::api::{EventConfig, EventConfigChange, Mode, Switch};
use vodgate::vod::callback_auth::CallbackKeys;
use vodgate::web::serve::BoxError;

use crate::failure::Failure;

#[derive(clap::Args)]
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
    /// PUSH: VOD posts each event to --url. PULL: events wait for `vodgate pull` (or the
    /// pull function).
    #[arg(long, value_name = "PUSH|PULL")]
    mode: Option<Mode>,
    /// The v3.0 callback URL (the deployment's CallbackUrl output); "" clears it.
    #[arg(long)]
    url: Option<String>,
    /// Set VOD's SignKey to the current (first) key of VOD_CALLBACK_KEYS.
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
    let api = vodgate::ingest::vod_api(env)?;
    let source = SecretsManager::from_env(env).await?;
    let keys = Keys::load(env, source, |keys: &KeySet| Ok(keys.clone()))
        .await?
        .current()
        .await;
    let credentials = vodgate::ingest::api_credentials(&keys)?;
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
        if let Some(url) = self.url.as_deref().filter(|u| !u.is_empty()) {
            let parsed = reqwest::Url::parse(url).map_err(|e| format!("--url: {e}"))?;
            if !matches!(parsed.scheme(), "https" | "http") {
                return Err("--url must be an http(s) URL".into());
            }
        }
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
