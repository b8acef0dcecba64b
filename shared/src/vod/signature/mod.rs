//! Client-upload signatures for Tencent Cloud VOD ("客户端上传签名").
//!
//! A browser or app uploads straight to VOD and proves it may do so with a signature this service
//! mints. The signature is `Base64(HMAC-SHA1(SecretKey, original) ‖ original)`, where `original` is
//! a query string such as `secretId=…&currentTimeStamp=…&expireTime=…&random=…`.
//!
//! # Self-describing
//!
//! The plaintext travels *inside* the signature: VOD Base64-decodes it, recomputes the HMAC over
//! the embedded bytes and only then parses the parameters. Anyone can read what a signature grants;
//! only the holder of the SecretKey can make one. That is why parameter order does not matter to
//! VOD, and why [`inspect`] can explain any signature, ours or one minted by a legacy sample,
//! without knowing how it was built.
//!
//! There are two layers. [`mac_and_encode`] is the raw construction with no checks, for test
//! vectors and tools. [`UploadSignatureParams`] is the checked way in: its builder enforces VOD's
//! documented limits, so holding a value means VOD would accept its parameters. The limits are
//! written once, in the `limits` submodule, for the builder, [`inspect`] and the `sign` policy.
//!
//! # Why RFC 3986 percent-encoding
//!
//! VOD's docs say values must be URL-encoded but not how, and the official samples disagree: PHP
//! and Python form-encode a space as `+`, Node writes `%20`, and nothing says whether VOD's parser
//! turns `+` into a space. The HMAC covers the exact bytes, so either style verifies; what differs
//! is the value VOD reads back out of `sourceContext` or `sessionContext`. We percent-encode every
//! byte outside the RFC 3986 unreserved set (`A–Z a–z 0–9 - _ . ~`), so a literal `+` never
//! appears and form-style and RFC-style decoders read the same value.
//!
//! # Why the builder refuses more than 90 days
//!
//! VOD rejects a signature whose validity (`expireTime − currentTimeStamp`) exceeds 90 days
//! (7 776 000 s). It does so at upload time, on the user's device, long after the signature left
//! this service. The official Python and Go samples use ten years; a signature copied from
//! them looks fine here and fails for the user. Refusing in [`UploadSignatureParamsBuilder::build`]
//! turns that into an error where it can be fixed.
//!
//! # Float timestamps
//!
//! Timestamps are whole seconds. JavaScript's `Date.now() / 1000` without truncation yields values
//! like `1571215095.5`, which Tencent's own checker tool accepts but the upload rejects as "invalid
//! signature" (vod-js-sdk-v6 issue #13). The builder takes `u64`, so it cannot produce one, and
//! [`inspect`] reports it in signatures minted elsewhere.

mod inspect;
mod limits;
mod params;

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha1::Sha1;

pub use inspect::{Inspection, MacCheck, Problem, inspect};
pub use limits::ParamError;
pub(crate) use limits::{
    MAX_VALIDITY_SECS, TASK_PRIORITY, check_procedure, check_secret_id, check_storage_region,
};
pub use params::{UploadSignatureParams, UploadSignatureParamsBuilder};

type HmacSha1 = Hmac<Sha1>;

/// Length of the raw HMAC-SHA1 digest that opens a decoded signature.
const MAC_LEN: usize = 20;

/// The parameter names VOD reads from the plaintext, in the order this module emits them.
mod key {
    pub const SECRET_ID: &str = "secretId";
    pub const CURRENT_TIME_STAMP: &str = "currentTimeStamp";
    pub const EXPIRE_TIME: &str = "expireTime";
    pub const RANDOM: &str = "random";
    pub const CLASS_ID: &str = "classId";
    pub const PROCEDURE: &str = "procedure";
    pub const TASK_PRIORITY: &str = "taskPriority";
    pub const TASK_NOTIFY_MODE: &str = "taskNotifyMode";
    pub const SOURCE_CONTEXT: &str = "sourceContext";
    pub const SESSION_CONTEXT: &str = "sessionContext";
    pub const ONE_TIME_VALID: &str = "oneTimeValid";
    pub const VOD_SUB_APP_ID: &str = "vodSubAppId";
    pub const STORAGE_REGION: &str = "storageRegion";

    /// Every key of the current signature scheme; anything else is legacy or unsupported.
    pub const KNOWN: [&str; 13] = [
        SECRET_ID,
        CURRENT_TIME_STAMP,
        EXPIRE_TIME,
        RANDOM,
        CLASS_ID,
        PROCEDURE,
        TASK_PRIORITY,
        TASK_NOTIFY_MODE,
        SOURCE_CONTEXT,
        SESSION_CONTEXT,
        ONE_TIME_VALID,
        VOD_SUB_APP_ID,
        STORAGE_REGION,
    ];

    /// Keys every signature must carry.
    pub const REQUIRED: [&str; 4] = [SECRET_ID, CURRENT_TIME_STAMP, EXPIRE_TIME, RANDOM];
}

/// Which task-flow callbacks VOD sends when `procedure` is set (`taskNotifyMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskNotifyMode {
    /// One `ProcedureStateChanged` notification when the whole task flow ends (VOD's default).
    Finish,
    /// A notification on every sub-task status change.
    Change,
    /// No task-flow callback.
    None,
}

impl TaskNotifyMode {
    /// The value as written in the signature plaintext.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Finish => "Finish",
            Self::Change => "Change",
            Self::None => "None",
        }
    }
}

impl fmt::Display for TaskNotifyMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TaskNotifyMode {
    type Err = ParamError;

    /// Parses exactly `Finish`, `Change` or `None` (case-sensitive, as VOD compares them).
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "Finish" => Ok(Self::Finish),
            "Change" => Ok(Self::Change),
            "None" => Ok(Self::None),
            other => Err(ParamError::TaskNotifyModeInvalid(other.to_owned())),
        }
    }
}

/// A MAC keyed with `secret_key`.
fn keyed_mac(secret_key: &[u8]) -> HmacSha1 {
    // HMAC takes keys of any length (longer ones are hashed first), so `new_from_slice` always
    // returns `Ok` for HMAC-SHA1; no input can reach the `expect`.
    HmacSha1::new_from_slice(secret_key).expect("HMAC-SHA1 accepts keys of any length")
}

/// The raw construction: `Base64(HMAC-SHA1(secret_key, plaintext) ‖ plaintext)`, standard
/// alphabet with padding. Performs no validation; use [`UploadSignatureParams::sign`] to mint.
pub fn mac_and_encode(secret_key: &[u8], plaintext: &str) -> String {
    let mut mac = keyed_mac(secret_key);
    mac.update(plaintext.as_bytes());
    let mut bytes = Vec::with_capacity(MAC_LEN + plaintext.len());
    bytes.extend_from_slice(&mac.finalize().into_bytes());
    bytes.extend_from_slice(plaintext.as_bytes());
    STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests;
