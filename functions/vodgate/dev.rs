//! Local development defaults for the `vodgate` tool.
//!
//! A newcomer runs one command and gets both functions on 127.0.0.1:8080 with no configuration.
//! That needs keys, so the first run generates random ones and keeps them in the state directory
//! (see `state`; readable only by the owner) and says where; later runs, `vodgate token` and
//! `vodgate simulate` read the same file and so agree with the running server. Anything already
//! set in the environment wins over these defaults. VOD credentials cannot be invented: without
//! real ones, placeholders let the server run (signatures are well-formed, VOD will refuse them)
//! and a warning says so; half a pair is refused rather than completed with a placeholder.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use vodgate::platform::config::Env;
use vodgate::platform::secret::Secret;
use vodgate::web::serve::BoxError;

use crate::failure::Failure;
use crate::state::StateDir;

/// The placeholder VOD SecretId used when none is configured.
pub const PLACEHOLDER_SECRET_ID: &str = "AKIDvodgateDevPlaceholder";
/// The placeholder VOD SecretKey that goes with it.
pub const PLACEHOLDER_SECRET_KEY: &str = "vodgate-dev-placeholder-secret-key";
/// The `sub` of dev tokens.
pub const DEV_SUB: &str = "dev-user";

/// The process environment with the dev defaults filled in where nothing is set, and the dev keys
/// behind them, read from `state` (created there, with a note on stderr, on first use).
pub fn dev_env(mut env: Env, state: &StateDir) -> Result<(Env, DevKeys), BoxError> {
    check_vod_credentials(&env)?;
    let (keys, created) = DevKeys::load_or_create(state.path())?;
    if created {
        eprintln!(
            "note: new dev keys in {state}; a server started with other keys refuses this tool's \
             tokens and callbacks"
        );
    }
    keys.apply_defaults(&mut env, state);
    env.set_default("CORS_ALLOWED_ORIGINS", "*");
    Ok((env, keys))
}

/// Refuses half a VOD key pair: signing with a real id and a placeholder key (or the reverse)
/// makes signatures VOD refuses, and nothing would say why.
fn check_vod_credentials(env: &Env) -> Result<(), Failure> {
    let set = |name| env.non_empty(name).is_some();
    let (missing, given) = match (set("VOD_SECRET_ID"), set("VOD_SECRET_KEY")) {
        (true, false) => ("VOD_SECRET_KEY", "VOD_SECRET_ID"),
        (false, true) => ("VOD_SECRET_ID", "VOD_SECRET_KEY"),
        _ => return Ok(()),
    };
    Err(
        Failure::new(format!("{given} is set but {missing} is not")).hint(format!(
            "export both (your Tencent Cloud API key pair), or unset {given} to sign with the \
             dev placeholders"
        )),
    )
}

/// Generated keys, persisted between runs.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DevKeys {
    jwt_secret: String,
    context_key: String,
    callback_key: String,
    /// Signs webhook deliveries (`whsec_…`); added to key files written before webhooks.
    #[serde(default)]
    webhook_secret: Option<String>,
}

impl DevKeys {
    /// Reads `dir/dev-keys.json`, creating it with fresh random keys on first use; `true` when
    /// it was created now.
    pub fn load_or_create(dir: &Path) -> io::Result<(Self, bool)> {
        if let Some(mut keys) = Self::load(dir)? {
            if keys.webhook_secret.is_none() {
                keys.webhook_secret = Some(random_webhook_secret());
                write_private(&keys_path(dir), &serde_json::to_vec_pretty(&keys)?)?;
            }
            return Ok((keys, false));
        }
        let keys = Self {
            jwt_secret: random_key(),
            context_key: random_key(),
            callback_key: random_alnum(32),
            webhook_secret: Some(random_webhook_secret()),
        };
        fs::create_dir_all(dir)?;
        write_private(&keys_path(dir), &serde_json::to_vec_pretty(&keys)?)?;
        Ok((keys, true))
    }

    /// Reads `dir/dev-keys.json`, if there is one.
    pub fn load(dir: &Path) -> io::Result<Option<Self>> {
        let path = keys_path(dir);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{} is not valid ({e}); delete it to generate new dev keys",
                        path.display()
                    ),
                )
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
        }
    }

    /// Fills every unset variable the local server needs.
    pub fn apply_defaults(&self, env: &mut Env, state: &StateDir) {
        env.set_default("JWT_HS256_SECRET", self.jwt_secret.clone());
        env.set_default("VODGATE_CONTEXT_KEY", self.context_key.clone());
        env.set_default("VOD_SECRET_ID", PLACEHOLDER_SECRET_ID);
        env.set_default("VOD_SECRET_KEY", PLACEHOLDER_SECRET_KEY);
        env.set_default("VOD_CALLBACK_KEYS", self.callback_key.clone());
        if let Some(secret) = &self.webhook_secret {
            env.set_default("WEBHOOK_SECRET", secret.clone());
        }
        env.set_default("EVENT_SINK", state.sqlite_store());
        // The uploads' records live next to the events, in the same file.
        env.set_default("UPLOADS_STORE", state.sqlite_store());
    }

    /// The dev attribution key (`VODGATE_CONTEXT_KEY` unless one is exported).
    pub fn context_key(&self) -> &str {
        &self.context_key
    }

    /// The dev callback SignKey.
    pub fn callback_key(&self) -> Secret {
        Secret::new(self.callback_key.as_str())
    }
}

/// A `NewFileUpload` callback as VOD sends it for a client upload whose signature carried
/// `source_context`, about `file_id`, naming the task flow `procedure_task_id` starts (none when
/// empty), signed with `callback_key` and expiring ten minutes from `now`.
pub fn sample_upload_callback(
    source_context: &str,
    file_id: &str,
    procedure_task_id: &str,
    callback_key: &Secret,
    now: i64,
) -> serde_json::Value {
    let t = now + 600;
    serde_json::json!({
        "EventType": "NewFileUpload",
        "FileUploadEvent": {
            "FileId": file_id,
            "MediaBasicInfo": {
                "Name": "simulated.mp4",
                "Type": "mp4",
                "Category": "Video",
                "Status": "Normal",
                "StorageRegion": "ap-chongqing",
                "MediaUrl": format!("https://1500000001.vod2.myqcloud.com/simulated/{file_id}/v.mp4"),
                "SourceInfo": { "SourceType": "Upload", "SourceContext": source_context }
            },
            "ProcedureTaskId": procedure_task_id,
            "MetaData": {
                "Size": 7_700_180, "Duration": 60, "Width": 640, "Height": 480,
                "Container": "mov,mp4,m4a,3gp,3g2,mj2"
            }
        },
        "Sign": vodgate::vod::callback_auth::sign_for(callback_key, t),
        "T": t
    })
}

/// A task flow's `ProcedureStateChanged` callback as VOD sends it: `PROCESSING`, or a `FINISH`
/// that went well (one successful transcode). It carries `session_context` when the signature
/// did (VOD echoes it only then), and is signed like [`sample_upload_callback`].
pub fn sample_task_flow_callback(
    status: &str,
    task_id: &str,
    file_id: &str,
    session_context: Option<&str>,
    callback_key: &Secret,
    now: i64,
) -> serde_json::Value {
    let t = now + 600;
    let transcode = if status == "FINISH" {
        serde_json::json!({
            "Status": "SUCCESS", "ErrCode": 0, "ErrCodeExt": "", "Message": "SUCCESS",
            "Input": { "Definition": 100030 },
            "Output": {
                "Url": format!("https://1500000001.vod2.myqcloud.com/simulated/{file_id}/v.f100030.mp4"),
                "Definition": 100030, "Size": 4_189_073, "Duration": 60.0,
                "Width": 1280, "Height": 720, "Bitrate": 552_218
            }
        })
    } else {
        serde_json::json!({
            "Status": "PROCESSING", "ErrCode": 0, "Message": "", "Input": { "Definition": 100030 }
        })
    };
    let mut event = serde_json::json!({
        "TaskId": task_id,
        "Status": status,
        "ErrCode": 0,
        "Message": "",
        "FileId": file_id,
        "FileName": "simulated.mp4",
        "MediaProcessResultSet": [{ "Type": "Transcode", "TranscodeTask": transcode }],
        "TasksNotifyMode": "Change"
    });
    if let Some(context) = session_context {
        event["SessionContext"] = context.into();
    }
    serde_json::json!({
        "EventType": "ProcedureStateChanged",
        "ProcedureStateChangeEvent": event,
        "Sign": vodgate::vod::callback_auth::sign_for(callback_key, t),
        "T": t
    })
}

/// Whether `env` still holds the placeholder VOD credentials.
pub fn uses_placeholder_credentials(env: &Env) -> bool {
    env.get("VOD_SECRET_ID") == Some(PLACEHOLDER_SECRET_ID)
}

#[derive(Serialize)]
struct DevClaims<'a> {
    sub: &'a str,
    scope: &'a str,
    iat: u64,
    exp: u64,
}

/// Mints an HS256 JWT for local use.
pub fn mint_token(
    secret: &Secret,
    sub: &str,
    scope: &str,
    ttl_secs: u64,
) -> Result<String, jsonwebtoken::errors::Error> {
    let now = unix_now();
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &DevClaims {
            sub,
            scope,
            iat: now,
            exp: now + ttl_secs,
        },
        &jsonwebtoken::EncodingKey::from_secret(secret.expose().as_bytes())?,
    )
}

/// Seconds since the Unix epoch, by the wall clock: tokens and callbacks carry wall-clock times.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn keys_path(dir: &Path) -> PathBuf {
    dir.join("dev-keys.json")
}

fn random_key() -> String {
    let bytes: [u8; 32] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A Standard Webhooks secret: `whsec_` and the base64 of 32 random bytes.
fn random_webhook_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

fn random_alnum(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..len)
        .map(|_| char::from(ALPHABET[usize::from(rand::random::<u8>()) % 62]))
        .collect()
}

fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(dir: &Path) -> StateDir {
        StateDir::resolve(Some(dir), &Env::default(), dir).unwrap()
    }

    #[test]
    fn keys_persist_between_runs() {
        let dir = tempfile::tempdir().unwrap();
        assert!(DevKeys::load(dir.path()).unwrap().is_none());
        let (first, created) = DevKeys::load_or_create(dir.path()).unwrap();
        assert!(created);
        let (second, created) = DevKeys::load_or_create(dir.path()).unwrap();
        assert!(!created);
        assert_eq!(first.jwt_secret, second.jwt_secret);
        assert_eq!(first.callback_key.len(), 32);
        let mode = fs::metadata(keys_path(dir.path())).unwrap().permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
    }

    #[test]
    fn environment_wins_over_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let (keys, _) = DevKeys::load_or_create(dir.path()).unwrap();
        let mut env = Env::from_pairs([("VOD_SECRET_ID", "AKIDreal")]);
        keys.apply_defaults(&mut env, &state(dir.path()));
        assert_eq!(env.get("VOD_SECRET_ID"), Some("AKIDreal"));
        assert!(!uses_placeholder_credentials(&env));
        assert_eq!(env.get("JWT_HS256_SECRET"), Some(keys.jwt_secret.as_str()));
        let store = format!("sqlite:{}", dir.path().join("events.sqlite").display());
        assert_eq!(env.get("EVENT_SINK"), Some(store.as_str()));
    }

    #[test]
    fn half_a_vod_key_pair_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        for (set, missing) in [
            ("VOD_SECRET_ID", "VOD_SECRET_KEY is not"),
            ("VOD_SECRET_KEY", "VOD_SECRET_ID is not"),
        ] {
            let env = Env::from_pairs([(set, "real")]);
            let error = dev_env(env, &state(dir.path())).err().unwrap();
            assert!(error.to_string().contains(missing), "{error}");
        }
        let both = Env::from_pairs([("VOD_SECRET_ID", "AKIDreal"), ("VOD_SECRET_KEY", "k")]);
        assert!(dev_env(both, &state(dir.path())).is_ok());
    }
}
