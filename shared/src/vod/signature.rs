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
//! documented limits, so holding a value means VOD would accept its parameters.
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
//! VOD rejects a signature whose validity (`expireTime − currentTimeStamp`) exceeds
//! [`MAX_VALIDITY_SECS`]. It does so at upload time, on the user's device, long after the signature
//! left this service. The official Python and Go samples use ten years; a signature copied from
//! them looks fine here and fails for the user. Refusing in [`UploadSignatureParamsBuilder::build`]
//! turns that into an error where it can be fixed.
//!
//! # Float timestamps
//!
//! Timestamps are whole seconds. JavaScript's `Date.now() / 1000` without truncation yields values
//! like `1571215095.5`, which Tencent's own checker tool accepts but the upload rejects as "invalid
//! signature" (vod-js-sdk-v6 issue #13). The builder takes `u64`, so it cannot produce one, and
//! [`inspect`] reports it in signatures minted elsewhere.

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde::{Deserialize, Serialize};
use sha1::Sha1;

/// Longest validity VOD accepts: `expireTime − currentTimeStamp` ≤ 7 776 000 s (90 days).
pub const MAX_VALIDITY_SECS: u64 = 7_776_000;

/// Longest `secretId` the builder accepts, in bytes.
const MAX_SECRET_ID_BYTES: usize = 128;
/// Longest `procedure` (task-flow template name) the builder accepts, in characters.
const MAX_PROCEDURE_CHARS: usize = 128;
/// VOD's documented limit on `sourceContext`, in characters.
const MAX_SOURCE_CONTEXT_CHARS: usize = 250;
/// VOD's documented limit on `sessionContext`, in characters.
const MAX_SESSION_CONTEXT_CHARS: usize = 1000;
/// Longest `storageRegion` the builder accepts, in characters.
const MAX_STORAGE_REGION_CHARS: usize = 32;
/// Range VOD documents for `taskPriority`.
const TASK_PRIORITY_RANGE: std::ops::RangeInclusive<i8> = -10..=10;
/// How far `currentTimeStamp` may lie ahead of the inspector's clock before it is reported.
const MAX_CLOCK_SKEW_SECS: u64 = 300;
/// Length of the raw HMAC-SHA1 digest that opens a decoded signature.
const MAC_LEN: usize = 20;

/// Bytes escaped in values: everything except the RFC 3986 unreserved set.
const VALUE_ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

type HmacSha1 = Hmac<Sha1>;

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

/// Why upload-signature parameters were refused. Messages name the parameter by its VOD key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// `secretId` is empty.
    #[error("secretId must not be empty")]
    SecretIdEmpty,
    /// `secretId` is longer than 128 bytes.
    #[error("secretId must be at most 128 bytes, got {0}")]
    SecretIdTooLong(usize),
    /// `secretId` holds a space, a control character or non-ASCII.
    #[error("secretId must be printable ASCII without spaces, found {character:?} at byte {index}")]
    SecretIdInvalidCharacter {
        /// The offending character.
        character: char,
        /// Its byte offset in the secretId.
        index: usize,
    },
    /// `currentTimeStamp` is zero.
    #[error("currentTimeStamp must be a positive number of seconds since the Unix epoch, got 0")]
    CurrentTimeZero,
    /// `expireTime` is not after `currentTimeStamp`.
    #[error(
        "expireTime must be after currentTimeStamp, got expireTime {expire_time} and currentTimeStamp {current_time}"
    )]
    ExpireNotAfterCurrent {
        /// The `currentTimeStamp` given.
        current_time: u64,
        /// The `expireTime` given.
        expire_time: u64,
    },
    /// `expireTime − currentTimeStamp` exceeds [`MAX_VALIDITY_SECS`].
    #[error(
        "expireTime - currentTimeStamp must be at most 7776000 s (VOD's 90-day maximum), got {0} s"
    )]
    ValidityTooLong(u64),
    /// `taskPriority` is outside -10..=10.
    #[error("taskPriority must be between -10 and 10, got {0}")]
    TaskPriorityOutOfRange(i8),
    /// `taskNotifyMode` text is not one of the three modes.
    #[error("taskNotifyMode must be one of Finish, Change or None, got {0:?}")]
    TaskNotifyModeInvalid(String),
    /// `procedure` is empty.
    #[error("procedure must not be empty (leave it unset for no task flow)")]
    ProcedureEmpty,
    /// `procedure` is longer than 128 characters.
    #[error("procedure must be at most 128 characters, got {0}")]
    ProcedureTooLong(usize),
    /// `procedure` holds a control character.
    #[error("procedure must not contain control characters")]
    ProcedureControlCharacter,
    /// A task-flow option was set without `procedure`.
    #[error(
        "{0} is only meaningful with procedure (a task flow); set procedure or leave {0} unset"
    )]
    RequiresProcedure(&'static str),
    /// `sourceContext` is longer than 250 characters.
    #[error("sourceContext must be at most 250 characters, got {0}")]
    SourceContextTooLong(usize),
    /// `sessionContext` is longer than 1000 characters.
    #[error("sessionContext must be at most 1000 characters, got {0}")]
    SessionContextTooLong(usize),
    /// `storageRegion` is empty.
    #[error("storageRegion must not be empty (leave it unset for the account default)")]
    StorageRegionEmpty,
    /// `storageRegion` is longer than 32 characters.
    #[error("storageRegion must be at most 32 characters, got {0}")]
    StorageRegionTooLong(usize),
    /// `storageRegion` holds a character outside `a-z`, `0-9` and `-`.
    #[error("storageRegion must contain only a-z, 0-9 and '-' (e.g. ap-chongqing), found {0:?}")]
    StorageRegionInvalidCharacter(char),
}

/// Checked parameters of one upload signature. Built with [`UploadSignatureParams::builder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSignatureParams {
    secret_id: String,
    current_time: u64,
    expire_time: u64,
    random: u32,
    class_id: Option<u64>,
    procedure: Option<String>,
    task_priority: Option<i8>,
    task_notify_mode: Option<TaskNotifyMode>,
    source_context: Option<String>,
    session_context: Option<String>,
    one_time_valid: bool,
    vod_sub_app_id: Option<u64>,
    storage_region: Option<String>,
}

/// Collects optional parameters; [`UploadSignatureParamsBuilder::build`] checks them all.
#[derive(Debug, Clone)]
pub struct UploadSignatureParamsBuilder {
    params: UploadSignatureParams,
}

impl UploadSignatureParams {
    /// Starts a builder with the four required parameters: the CAM SecretId, the signing time and
    /// the expiry (Unix seconds), and a random number (make it unique for one-time signatures).
    pub fn builder(
        secret_id: impl Into<String>,
        current_time: u64,
        expire_time: u64,
        random: u32,
    ) -> UploadSignatureParamsBuilder {
        UploadSignatureParamsBuilder {
            params: Self {
                secret_id: secret_id.into(),
                current_time,
                expire_time,
                random,
                class_id: None,
                procedure: None,
                task_priority: None,
                task_notify_mode: None,
                source_context: None,
                session_context: None,
                one_time_valid: false,
                vod_sub_app_id: None,
                storage_region: None,
            },
        }
    }

    /// `secretId`: the CAM SecretId whose SecretKey signs.
    pub fn secret_id(&self) -> &str {
        &self.secret_id
    }

    /// `currentTimeStamp`: when the signature was made, in Unix seconds.
    pub fn current_time(&self) -> u64 {
        self.current_time
    }

    /// `expireTime`: when the signature stops working, in Unix seconds.
    pub fn expire_time(&self) -> u64 {
        self.expire_time
    }

    /// `random`: an unsigned 32-bit nonce.
    pub fn random(&self) -> u32 {
        self.random
    }

    /// `classId`: the media category, if set.
    pub fn class_id(&self) -> Option<u64> {
        self.class_id
    }

    /// `procedure`: the task-flow template run after upload, if set.
    pub fn procedure(&self) -> Option<&str> {
        self.procedure.as_deref()
    }

    /// `taskPriority`: the task-flow priority, if set.
    pub fn task_priority(&self) -> Option<i8> {
        self.task_priority
    }

    /// `taskNotifyMode`: which task-flow callbacks to send, if set.
    pub fn task_notify_mode(&self) -> Option<TaskNotifyMode> {
        self.task_notify_mode
    }

    /// `sourceContext`: echoed back in the upload-complete callback, if set.
    pub fn source_context(&self) -> Option<&str> {
        self.source_context.as_deref()
    }

    /// `sessionContext`: echoed back in the task-flow callback, if set.
    pub fn session_context(&self) -> Option<&str> {
        self.session_context.as_deref()
    }

    /// `oneTimeValid`: whether the signature works for a single upload only.
    pub fn one_time_valid(&self) -> bool {
        self.one_time_valid
    }

    /// `vodSubAppId`: the VOD sub-application, if set.
    pub fn vod_sub_app_id(&self) -> Option<u64> {
        self.vod_sub_app_id
    }

    /// `storageRegion`: the storage region abbreviation, if set.
    pub fn storage_region(&self) -> Option<&str> {
        self.storage_region.as_deref()
    }

    /// The exact plaintext (`original`) that gets signed: `key=value` pairs joined by `&`, in a
    /// fixed key order, optional keys only when set, values percent-encoded per RFC 3986.
    pub fn plaintext(&self) -> String {
        let mut pairs = vec![
            (key::SECRET_ID, encode(&self.secret_id)),
            (key::CURRENT_TIME_STAMP, self.current_time.to_string()),
            (key::EXPIRE_TIME, self.expire_time.to_string()),
            (key::RANDOM, self.random.to_string()),
        ];
        if let Some(class_id) = self.class_id {
            pairs.push((key::CLASS_ID, class_id.to_string()));
        }
        if let Some(procedure) = &self.procedure {
            pairs.push((key::PROCEDURE, encode(procedure)));
        }
        if let Some(priority) = self.task_priority {
            pairs.push((key::TASK_PRIORITY, priority.to_string()));
        }
        if let Some(mode) = self.task_notify_mode {
            pairs.push((key::TASK_NOTIFY_MODE, mode.as_str().to_owned()));
        }
        if let Some(context) = &self.source_context {
            pairs.push((key::SOURCE_CONTEXT, encode(context)));
        }
        if let Some(context) = &self.session_context {
            pairs.push((key::SESSION_CONTEXT, encode(context)));
        }
        if self.one_time_valid {
            pairs.push((key::ONE_TIME_VALID, "1".to_owned()));
        }
        if let Some(sub_app_id) = self.vod_sub_app_id {
            pairs.push((key::VOD_SUB_APP_ID, sub_app_id.to_string()));
        }
        if let Some(region) = &self.storage_region {
            pairs.push((key::STORAGE_REGION, encode(region)));
        }
        pairs
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The signature for these parameters under `secret_key` (the CAM SecretKey as bytes).
    pub fn sign(&self, secret_key: &[u8]) -> String {
        mac_and_encode(secret_key, &self.plaintext())
    }
}

impl UploadSignatureParamsBuilder {
    /// Sets `classId`, the media category.
    pub fn class_id(mut self, class_id: u64) -> Self {
        self.params.class_id = Some(class_id);
        self
    }

    /// Sets `procedure`, the task-flow template to run after upload.
    pub fn procedure(mut self, procedure: impl Into<String>) -> Self {
        self.params.procedure = Some(procedure.into());
        self
    }

    /// Sets `taskPriority` (-10..=10); requires `procedure`.
    pub fn task_priority(mut self, priority: i8) -> Self {
        self.params.task_priority = Some(priority);
        self
    }

    /// Sets `taskNotifyMode`; requires `procedure`.
    pub fn task_notify_mode(mut self, mode: TaskNotifyMode) -> Self {
        self.params.task_notify_mode = Some(mode);
        self
    }

    /// Sets `sourceContext` (at most 250 characters).
    pub fn source_context(mut self, context: impl Into<String>) -> Self {
        self.params.source_context = Some(context.into());
        self
    }

    /// Sets `sessionContext` (at most 1000 characters); requires `procedure`.
    pub fn session_context(mut self, context: impl Into<String>) -> Self {
        self.params.session_context = Some(context.into());
        self
    }

    /// Sets `oneTimeValid`; `true` emits `oneTimeValid=1`, `false` emits nothing.
    pub fn one_time_valid(mut self, one_time_valid: bool) -> Self {
        self.params.one_time_valid = one_time_valid;
        self
    }

    /// Sets `vodSubAppId`, the VOD sub-application.
    pub fn vod_sub_app_id(mut self, sub_app_id: u64) -> Self {
        self.params.vod_sub_app_id = Some(sub_app_id);
        self
    }

    /// Sets `storageRegion`, e.g. `ap-chongqing`.
    pub fn storage_region(mut self, region: impl Into<String>) -> Self {
        self.params.storage_region = Some(region.into());
        self
    }

    /// Checks every limit and returns the parameters, or the first violation in key order.
    pub fn build(self) -> Result<UploadSignatureParams, ParamError> {
        let p = &self.params;
        check_secret_id(&p.secret_id)?;
        if p.current_time == 0 {
            return Err(ParamError::CurrentTimeZero);
        }
        if p.expire_time <= p.current_time {
            return Err(ParamError::ExpireNotAfterCurrent {
                current_time: p.current_time,
                expire_time: p.expire_time,
            });
        }
        let validity = p.expire_time - p.current_time;
        if validity > MAX_VALIDITY_SECS {
            return Err(ParamError::ValidityTooLong(validity));
        }
        if let Some(procedure) = &p.procedure {
            check_procedure(procedure)?;
        }
        if let Some(priority) = p.task_priority {
            if p.procedure.is_none() {
                return Err(ParamError::RequiresProcedure(key::TASK_PRIORITY));
            }
            if !TASK_PRIORITY_RANGE.contains(&priority) {
                return Err(ParamError::TaskPriorityOutOfRange(priority));
            }
        }
        if p.task_notify_mode.is_some() && p.procedure.is_none() {
            return Err(ParamError::RequiresProcedure(key::TASK_NOTIFY_MODE));
        }
        if let Some(context) = &p.source_context {
            let chars = context.chars().count();
            if chars > MAX_SOURCE_CONTEXT_CHARS {
                return Err(ParamError::SourceContextTooLong(chars));
            }
        }
        if let Some(context) = &p.session_context {
            if p.procedure.is_none() {
                return Err(ParamError::RequiresProcedure(key::SESSION_CONTEXT));
            }
            let chars = context.chars().count();
            if chars > MAX_SESSION_CONTEXT_CHARS {
                return Err(ParamError::SessionContextTooLong(chars));
            }
        }
        if let Some(region) = &p.storage_region {
            check_storage_region(region)?;
        }
        Ok(self.params)
    }
}

fn check_secret_id(secret_id: &str) -> Result<(), ParamError> {
    if secret_id.is_empty() {
        return Err(ParamError::SecretIdEmpty);
    }
    if secret_id.len() > MAX_SECRET_ID_BYTES {
        return Err(ParamError::SecretIdTooLong(secret_id.len()));
    }
    match secret_id
        .char_indices()
        .find(|(_, c)| !c.is_ascii_graphic())
    {
        Some((index, character)) => Err(ParamError::SecretIdInvalidCharacter { character, index }),
        None => Ok(()),
    }
}

fn check_procedure(procedure: &str) -> Result<(), ParamError> {
    if procedure.is_empty() {
        return Err(ParamError::ProcedureEmpty);
    }
    let chars = procedure.chars().count();
    if chars > MAX_PROCEDURE_CHARS {
        return Err(ParamError::ProcedureTooLong(chars));
    }
    if procedure.chars().any(char::is_control) {
        return Err(ParamError::ProcedureControlCharacter);
    }
    Ok(())
}

fn check_storage_region(region: &str) -> Result<(), ParamError> {
    if region.is_empty() {
        return Err(ParamError::StorageRegionEmpty);
    }
    let chars = region.chars().count();
    if chars > MAX_STORAGE_REGION_CHARS {
        return Err(ParamError::StorageRegionTooLong(chars));
    }
    match region
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        Some(character) => Err(ParamError::StorageRegionInvalidCharacter(character)),
        None => Ok(()),
    }
}

/// Percent-encodes a value over the RFC 3986 unreserved set; never emits a literal `+`.
fn encode(value: &str) -> String {
    utf8_percent_encode(value, VALUE_ENCODE_SET).to_string()
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
    let mut bytes = mac.finalize().into_bytes().to_vec();
    bytes.extend_from_slice(plaintext.as_bytes());
    STANDARD.encode(bytes)
}

/// Result of checking the HMAC inside a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacCheck {
    /// The HMAC matches the embedded plaintext under the given key.
    Valid,
    /// The HMAC does not match, or the signature was too malformed to check.
    Invalid,
    /// No key was given.
    NotChecked,
}

/// One thing wrong with a signature, as found by [`inspect`]. `Display` is one sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The text is not standard, padded Base64.
    #[error("not valid Base64")]
    InvalidBase64,
    /// The decoded bytes cannot hold a 20-byte HMAC and a non-empty plaintext.
    #[error("decoded length {0} bytes is shorter than the 20-byte HMAC plus a plaintext")]
    TooShort(usize),
    /// The bytes after the HMAC are not UTF-8.
    #[error("plaintext is not UTF-8")]
    PlaintextNotUtf8,
    /// The HMAC does not match the plaintext under the given key.
    #[error("HMAC does not match: wrong SecretKey or the plaintext was altered")]
    MacMismatch,
    /// A `&`-separated segment has no `=`.
    #[error("parameter {0:?} has no '=' (expected key=value)")]
    MalformedPair(String),
    /// A `%` is not followed by two hex digits.
    #[error("bad percent-encoding in value of {0} (expected %XX with two hex digits)")]
    BadPercentEncoding(String),
    /// A value decodes to bytes that are not UTF-8.
    #[error("value of {0} is not UTF-8 after percent-decoding")]
    ValueNotUtf8(String),
    /// A value holds a literal `+`.
    #[error("literal '+' in value of {0} (form-style encoding; VOD may decode it as a space)")]
    LiteralPlus(String),
    /// A key appears more than once.
    #[error("duplicate parameter {0}")]
    DuplicateParameter(String),
    /// A key outside the current scheme.
    #[error("unknown parameter {0} (legacy or unsupported key)")]
    UnknownParameter(String),
    /// One of the four required keys is absent.
    #[error("missing required parameter {0}")]
    MissingParameter(&'static str),
    /// `secretId` is present but empty.
    #[error("secretId is empty")]
    EmptySecretId,
    /// A timestamp is not a whole number of seconds.
    #[error("{key} {value:?} is not an integer number of seconds (VOD rejects float timestamps)")]
    TimestampNotInteger {
        /// `currentTimeStamp` or `expireTime`.
        key: &'static str,
        /// The decoded value.
        value: String,
    },
    /// A numeric parameter is not a decimal integer.
    #[error("{key} {value:?} is not a decimal integer")]
    NotAnInteger {
        /// The parameter's key.
        key: &'static str,
        /// The decoded value.
        value: String,
    },
    /// A numeric parameter is outside its documented range.
    #[error("{key} must be {expected}, got {value}")]
    OutOfRange {
        /// The parameter's key.
        key: &'static str,
        /// The decoded value.
        value: String,
        /// The documented range, in words.
        expected: &'static str,
    },
    /// `taskNotifyMode` is not one of the three modes.
    #[error("taskNotifyMode {0:?} is not one of Finish, Change or None")]
    InvalidTaskNotifyMode(String),
    /// `oneTimeValid` is neither `0` nor `1`.
    #[error("oneTimeValid {0:?} is neither 0 nor 1")]
    InvalidOneTimeValid(String),
    /// `sourceContext` exceeds 250 characters.
    #[error("sourceContext is {0} characters, longer than VOD's 250-character limit")]
    SourceContextTooLong(usize),
    /// `sessionContext` exceeds 1000 characters.
    #[error("sessionContext is {0} characters, longer than VOD's 1000-character limit")]
    SessionContextTooLong(usize),
    /// `expireTime` is not after `currentTimeStamp`.
    #[error("expireTime {expire_time} is not after currentTimeStamp {current_time}")]
    ExpireNotAfterCurrent {
        /// The decoded `currentTimeStamp`.
        current_time: u64,
        /// The decoded `expireTime`.
        expire_time: u64,
    },
    /// The validity exceeds [`MAX_VALIDITY_SECS`].
    #[error("validity {0} s exceeds VOD's 90-day maximum")]
    ValidityTooLong(u64),
    /// `currentTimeStamp` lies more than 300 s ahead of the inspector's clock.
    #[error(
        "currentTimeStamp {current_time} is {ahead} s in the future (more than 300 s ahead of now)"
    )]
    InFuture {
        /// The decoded `currentTimeStamp`.
        current_time: u64,
        /// Seconds ahead of the inspector's clock.
        ahead: u64,
    },
    /// The inspector's clock is at or past `expireTime`.
    #[error("signature expired {ago} s ago (expireTime {expire_time})")]
    Expired {
        /// The decoded `expireTime`.
        expire_time: u64,
        /// Seconds since expiry.
        ago: u64,
    },
}

/// What [`inspect`] found in a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// Whether the embedded HMAC matches.
    pub mac: MacCheck,
    /// The embedded plaintext, if the signature decoded that far and it is UTF-8.
    pub plaintext: Option<String>,
    /// Percent-decoded key/value pairs in plaintext order (values decoded lossily if malformed).
    pub params: Vec<(String, String)>,
    /// Everything found wrong, in the order found.
    pub problems: Vec<Problem>,
}

impl Inspection {
    /// True when the HMAC was checked and matches, and nothing else is wrong.
    pub fn is_ok(&self) -> bool {
        self.mac == MacCheck::Valid && self.problems.is_empty()
    }
}

/// Decodes and checks a signature without trusting it: Base64, length, HMAC (in constant time,
/// when `secret_key` is given), the plaintext's encoding, keys and VOD's documented limits, and
/// the validity window against `now` (Unix seconds). Never panics; every finding is a [`Problem`].
///
/// Rules that [`UploadSignatureParamsBuilder::build`] adds as this service's own policy (task-flow
/// options only with `procedure`, `secretId` and `storageRegion` character sets) are not checked:
/// VOD accepts signatures that break them.
pub fn inspect(signature: &str, secret_key: Option<&[u8]>, now: u64) -> Inspection {
    let mut inspection = Inspection {
        mac: if secret_key.is_some() {
            MacCheck::Invalid
        } else {
            MacCheck::NotChecked
        },
        plaintext: None,
        params: Vec::new(),
        problems: Vec::new(),
    };
    let Ok(decoded) = STANDARD.decode(signature.trim()) else {
        inspection.problems.push(Problem::InvalidBase64);
        return inspection;
    };
    let (mac, plaintext) = match decoded.split_at_checked(MAC_LEN) {
        Some((mac, plaintext)) if !plaintext.is_empty() => (mac, plaintext),
        _ => {
            inspection.problems.push(Problem::TooShort(decoded.len()));
            return inspection;
        }
    };
    if let Some(secret_key) = secret_key {
        let mut expected = keyed_mac(secret_key);
        expected.update(plaintext);
        if expected.verify_slice(mac).is_ok() {
            inspection.mac = MacCheck::Valid;
        } else {
            inspection.problems.push(Problem::MacMismatch);
        }
    }
    let Ok(plaintext) = std::str::from_utf8(plaintext) else {
        inspection.problems.push(Problem::PlaintextNotUtf8);
        return inspection;
    };
    inspection.plaintext = Some(plaintext.to_owned());
    check_plaintext(plaintext, now, &mut inspection);
    inspection
}

/// Parses the query string into `inspection.params` and records every problem in it.
fn check_plaintext(plaintext: &str, now: u64, inspection: &mut Inspection) {
    let problems = &mut inspection.problems;
    let mut found = Found::default();
    let mut seen: Vec<String> = Vec::new();
    for segment in plaintext.split('&') {
        let Some((raw_key, raw_value)) = segment.split_once('=') else {
            problems.push(Problem::MalformedPair(segment.to_owned()));
            continue;
        };
        let name = percent_decode_str(raw_key).decode_utf8_lossy().into_owned();
        let value = decode_value(&name, raw_value, problems);
        let duplicate = seen.contains(&name);
        if duplicate {
            problems.push(Problem::DuplicateParameter(name.clone()));
        } else {
            seen.push(name.clone());
        }
        match key::KNOWN.iter().find(|known| **known == name) {
            None => problems.push(Problem::UnknownParameter(name.clone())),
            Some(known) => {
                if let (false, Ok(value)) = (duplicate, &value) {
                    check_value(known, value, &mut found, problems);
                }
            }
        }
        let value = match value {
            Ok(value) | Err(value) => value,
        };
        inspection.params.push((name, value));
    }
    for required in key::REQUIRED {
        if !seen.iter().any(|name| name == required) {
            problems.push(Problem::MissingParameter(required));
        }
    }
    if let (Some(current_time), Some(expire_time)) = (found.current_time, found.expire_time) {
        check_window(current_time, expire_time, now, problems);
    }
}

/// Decodes one raw value: `Ok` when well formed, `Err` with a lossy decoding when not.
fn decode_value(name: &str, raw: &str, problems: &mut Vec<Problem>) -> Result<String, String> {
    if raw.contains('+') {
        problems.push(Problem::LiteralPlus(name.to_owned()));
    }
    if !is_well_percent_encoded(raw) {
        problems.push(Problem::BadPercentEncoding(name.to_owned()));
        return Err(percent_decode_str(raw).decode_utf8_lossy().into_owned());
    }
    match percent_decode_str(raw).decode_utf8() {
        Ok(value) => Ok(value.into_owned()),
        Err(_) => {
            problems.push(Problem::ValueNotUtf8(name.to_owned()));
            Err(percent_decode_str(raw).decode_utf8_lossy().into_owned())
        }
    }
}

/// True when every `%` is followed by two hex digits.
fn is_well_percent_encoded(raw: &str) -> bool {
    let mut bytes = raw.bytes();
    while let Some(byte) = bytes.next() {
        if byte == b'%' {
            let high = bytes.next();
            let low = bytes.next();
            let hex = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_hexdigit());
            if !(hex(high) && hex(low)) {
                return false;
            }
        }
    }
    true
}

/// The timestamps found while checking values, for the validity-window checks.
#[derive(Default)]
struct Found {
    current_time: Option<u64>,
    expire_time: Option<u64>,
}

/// Checks one decoded value of a known key against VOD's documented rules.
fn check_value(name: &'static str, value: &str, found: &mut Found, problems: &mut Vec<Problem>) {
    match name {
        key::SECRET_ID if value.is_empty() => problems.push(Problem::EmptySecretId),
        key::CURRENT_TIME_STAMP => found.current_time = parse_timestamp(name, value, problems),
        key::EXPIRE_TIME => found.expire_time = parse_timestamp(name, value, problems),
        key::RANDOM => check_int(
            name,
            value,
            0..=i128::from(u32::MAX),
            "an unsigned 32-bit integer (0 to 4294967295)",
            problems,
        ),
        key::CLASS_ID | key::VOD_SUB_APP_ID => check_int(
            name,
            value,
            0..=i128::from(u64::MAX),
            "an unsigned 64-bit integer",
            problems,
        ),
        key::TASK_PRIORITY => check_int(
            name,
            value,
            i128::from(*TASK_PRIORITY_RANGE.start())..=i128::from(*TASK_PRIORITY_RANGE.end()),
            "between -10 and 10",
            problems,
        ),
        key::TASK_NOTIFY_MODE if value.parse::<TaskNotifyMode>().is_err() => {
            problems.push(Problem::InvalidTaskNotifyMode(value.to_owned()));
        }
        key::ONE_TIME_VALID if value != "0" && value != "1" => {
            problems.push(Problem::InvalidOneTimeValid(value.to_owned()));
        }
        key::SOURCE_CONTEXT => {
            let chars = value.chars().count();
            if chars > MAX_SOURCE_CONTEXT_CHARS {
                problems.push(Problem::SourceContextTooLong(chars));
            }
        }
        key::SESSION_CONTEXT => {
            let chars = value.chars().count();
            if chars > MAX_SESSION_CONTEXT_CHARS {
                problems.push(Problem::SessionContextTooLong(chars));
            }
        }
        _ => {}
    }
}

/// A timestamp must be plain decimal digits that fit in `u64`.
fn parse_timestamp(name: &'static str, value: &str, problems: &mut Vec<Problem>) -> Option<u64> {
    let parsed = value
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| value.parse::<u64>().ok())
        .flatten();
    if parsed.is_none() {
        problems.push(Problem::TimestampNotInteger {
            key: name,
            value: value.to_owned(),
        });
    }
    parsed
}

/// Checks that `value` is a decimal integer (optional leading `-`, then digits) within `range`.
fn check_int(
    name: &'static str,
    value: &str,
    range: std::ops::RangeInclusive<i128>,
    expected: &'static str,
    problems: &mut Vec<Problem>,
) {
    let digits = value.strip_prefix('-').unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        problems.push(Problem::NotAnInteger {
            key: name,
            value: value.to_owned(),
        });
        return;
    }
    // Digits too many for i128 are out of every range here.
    let in_range = value.parse::<i128>().is_ok_and(|n| range.contains(&n));
    if !in_range {
        problems.push(Problem::OutOfRange {
            key: name,
            value: value.to_owned(),
            expected,
        });
    }
}

/// Checks the validity window and where `now` falls in it.
fn check_window(current_time: u64, expire_time: u64, now: u64, problems: &mut Vec<Problem>) {
    if expire_time <= current_time {
        problems.push(Problem::ExpireNotAfterCurrent {
            current_time,
            expire_time,
        });
    } else if expire_time - current_time > MAX_VALIDITY_SECS {
        problems.push(Problem::ValidityTooLong(expire_time - current_time));
    }
    if current_time > now.saturating_add(MAX_CLOCK_SKEW_SECS) {
        problems.push(Problem::InFuture {
            current_time,
            ahead: current_time - now,
        });
    }
    if now >= expire_time {
        problems.push(Problem::Expired {
            expire_time,
            ago: now - expire_time,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KEY: &[u8] = b"IamSecretKey";

    const V1_PLAINTEXT: &str =
        "secretId=IamSecretId&currentTimeStamp=1571215095&expireTime=1886575095&random=220625";
    const V1_SIGNATURE: &str = "aG6ZX3aZf+6tg/yRDZdRSNtM39lzZWNyZXRJZD1JYW1TZWNyZXRJZCZjdXJyZW50VGltZVN0YW1wPTE1NzEyMTUwOTUmZXhwaXJlVGltZT0xODg2NTc1MDk1JnJhbmRvbT0yMjA2MjU=";
    const V1_HMAC: &str = "686e995f76997feead83fc910d975148db4cdfd9";

    const V2_PLAINTEXT: &str = "secretId=IamSecretId&currentTimeStamp=1700000000&expireTime=1700086400&random=3735928559&procedure=LongVideoPreset&taskNotifyMode=Finish&sourceContext=%7B%22uid%22%3A%22u+1%22%2C%22n%22%3A%22%E6%B5%8B%E8%AF%95%22%7D&sessionContext=a+b%26c%3Dd&oneTimeValid=1&vodSubAppId=1500000001&storageRegion=ap-chongqing";
    const V2_SIGNATURE: &str = "kS33wXTQ6/2wtwk+p8+YhdDFgUZzZWNyZXRJZD1JYW1TZWNyZXRJZCZjdXJyZW50VGltZVN0YW1wPTE3MDAwMDAwMDAmZXhwaXJlVGltZT0xNzAwMDg2NDAwJnJhbmRvbT0zNzM1OTI4NTU5JnByb2NlZHVyZT1Mb25nVmlkZW9QcmVzZXQmdGFza05vdGlmeU1vZGU9RmluaXNoJnNvdXJjZUNvbnRleHQ9JTdCJTIydWlkJTIyJTNBJTIydSsxJTIyJTJDJTIybiUyMiUzQSUyMiVFNiVCNSU4QiVFOCVBRiU5NSUyMiU3RCZzZXNzaW9uQ29udGV4dD1hK2IlMjZjJTNEZCZvbmVUaW1lVmFsaWQ9MSZ2b2RTdWJBcHBJZD0xNTAwMDAwMDAxJnN0b3JhZ2VSZWdpb249YXAtY2hvbmdxaW5n";
    const V2_HMAC: &str = "912df7c174d0ebfdb0b7093ea7cf9885d0c58146";

    const V3_PLAINTEXT: &str = "secretId=IamSecretId&currentTimeStamp=1700000000&expireTime=1700086400&random=3735928559&procedure=LongVideoPreset&taskNotifyMode=Finish&sourceContext=%7B%22uid%22%3A%22u%201%22%2C%22n%22%3A%22%E6%B5%8B%E8%AF%95%22%7D&sessionContext=a%20b%26c%3Dd&oneTimeValid=1&vodSubAppId=1500000001&storageRegion=ap-chongqing";
    const V3_SIGNATURE: &str = "qDMUAb0++Px8adFIZStD+kA+WkFzZWNyZXRJZD1JYW1TZWNyZXRJZCZjdXJyZW50VGltZVN0YW1wPTE3MDAwMDAwMDAmZXhwaXJlVGltZT0xNzAwMDg2NDAwJnJhbmRvbT0zNzM1OTI4NTU5JnByb2NlZHVyZT1Mb25nVmlkZW9QcmVzZXQmdGFza05vdGlmeU1vZGU9RmluaXNoJnNvdXJjZUNvbnRleHQ9JTdCJTIydWlkJTIyJTNBJTIydSUyMDElMjIlMkMlMjJuJTIyJTNBJTIyJUU2JUI1JThCJUU4JUFGJTk1JTIyJTdEJnNlc3Npb25Db250ZXh0PWElMjBiJTI2YyUzRGQmb25lVGltZVZhbGlkPTEmdm9kU3ViQXBwSWQ9MTUwMDAwMDAwMSZzdG9yYWdlUmVnaW9uPWFwLWNob25ncWluZw==";
    const V3_HMAC: &str = "a8331401bd3ef8fc7c69d148652b43fa403e5a41";

    const SOURCE_CONTEXT: &str = r#"{"uid":"u 1","n":"测试"}"#;
    const SESSION_CONTEXT: &str = "a b&c=d";
    /// Inside the V2/V3 validity window.
    const V3_NOW: u64 = 1_700_000_100;

    fn v3_builder() -> UploadSignatureParamsBuilder {
        UploadSignatureParams::builder("IamSecretId", 1_700_000_000, 1_700_086_400, 3_735_928_559)
            .procedure("LongVideoPreset")
            .task_notify_mode(TaskNotifyMode::Finish)
            .source_context(SOURCE_CONTEXT)
            .session_context(SESSION_CONTEXT)
            .one_time_valid(true)
            .vod_sub_app_id(1_500_000_001)
            .storage_region("ap-chongqing")
    }

    /// Minimal valid builder: required keys only, one hour of validity.
    fn base() -> UploadSignatureParamsBuilder {
        UploadSignatureParams::builder("AKIDexample", 1_700_000_000, 1_700_003_600, 42)
    }

    fn decode(signature: &str) -> Vec<u8> {
        STANDARD.decode(signature).unwrap()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// The params `inspect` should decode from a signature of `p`.
    fn expected_params(p: &UploadSignatureParams) -> Vec<(String, String)> {
        let mut out = vec![
            ("secretId".to_owned(), p.secret_id().to_owned()),
            ("currentTimeStamp".to_owned(), p.current_time().to_string()),
            ("expireTime".to_owned(), p.expire_time().to_string()),
            ("random".to_owned(), p.random().to_string()),
        ];
        let mut push = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                out.push((k.to_owned(), v));
            }
        };
        push("classId", p.class_id().map(|v| v.to_string()));
        push("procedure", p.procedure().map(str::to_owned));
        push("taskPriority", p.task_priority().map(|v| v.to_string()));
        push(
            "taskNotifyMode",
            p.task_notify_mode().map(|m| m.to_string()),
        );
        push("sourceContext", p.source_context().map(str::to_owned));
        push("sessionContext", p.session_context().map(str::to_owned));
        push("oneTimeValid", p.one_time_valid().then(|| "1".to_owned()));
        push("vodSubAppId", p.vod_sub_app_id().map(|v| v.to_string()));
        push("storageRegion", p.storage_region().map(str::to_owned));
        out
    }

    // --- Known-answer vectors ---

    #[test]
    fn v3_through_builder_matches_byte_for_byte() {
        let params = v3_builder().build().unwrap();
        assert_eq!(params.plaintext(), V3_PLAINTEXT);
        assert_eq!(params.sign(KEY), V3_SIGNATURE);
        let bytes = decode(V3_SIGNATURE);
        assert_eq!(hex::encode(&bytes[..20]), V3_HMAC);
        assert_eq!(&bytes[20..], V3_PLAINTEXT.as_bytes());
    }

    #[test]
    fn v1_and_v2_through_mac_and_encode() {
        assert_eq!(mac_and_encode(KEY, V1_PLAINTEXT), V1_SIGNATURE);
        assert_eq!(hex::encode(&decode(V1_SIGNATURE)[..20]), V1_HMAC);
        assert_eq!(mac_and_encode(KEY, V2_PLAINTEXT), V2_SIGNATURE);
        assert_eq!(hex::encode(&decode(V2_SIGNATURE)[..20]), V2_HMAC);
    }

    #[test]
    fn builder_refuses_v1_ten_year_validity() {
        let err =
            UploadSignatureParams::builder("IamSecretId", 1_571_215_095, 1_886_575_095, 220_625)
                .build()
                .unwrap_err();
        assert_eq!(err, ParamError::ValidityTooLong(315_360_000));
    }

    #[test]
    fn v2_parameters_rebuild_to_v3_plaintext_without_plus() {
        let inspection = inspect(V2_SIGNATURE, Some(KEY), V3_NOW);
        let value = |k: &str| {
            inspection
                .params
                .iter()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        // Form-style decoding ('+' as space) recovers V2's intended values.
        let form = |k: &str| value(k).replace('+', " ");
        let params = UploadSignatureParams::builder(
            value("secretId"),
            value("currentTimeStamp").parse().unwrap(),
            value("expireTime").parse().unwrap(),
            value("random").parse().unwrap(),
        )
        .procedure(value("procedure"))
        .task_notify_mode(value("taskNotifyMode").parse().unwrap())
        .source_context(form("sourceContext"))
        .session_context(form("sessionContext"))
        .one_time_valid(value("oneTimeValid") == "1")
        .vod_sub_app_id(value("vodSubAppId").parse().unwrap())
        .storage_region(value("storageRegion"))
        .build()
        .unwrap();
        assert_eq!(params.source_context(), Some(SOURCE_CONTEXT));
        assert_eq!(params.session_context(), Some(SESSION_CONTEXT));
        assert_eq!(params.plaintext(), V3_PLAINTEXT);
        assert!(!params.plaintext().contains('+'));
    }

    // --- Limits enforced by build() ---

    #[test]
    fn validity_of_exactly_ninety_days_is_accepted_one_more_second_refused() {
        let start = 1_700_000_000;
        let ok = UploadSignatureParams::builder("id", start, start + MAX_VALIDITY_SECS, 1).build();
        assert!(ok.is_ok());
        let err = UploadSignatureParams::builder("id", start, start + MAX_VALIDITY_SECS + 1, 1)
            .build()
            .unwrap_err();
        assert_eq!(err, ParamError::ValidityTooLong(MAX_VALIDITY_SECS + 1));
    }

    #[test]
    fn expire_time_must_be_after_current_time() {
        for expire in [1_699_999_999, 1_700_000_000] {
            let err = UploadSignatureParams::builder("id", 1_700_000_000, expire, 1)
                .build()
                .unwrap_err();
            assert_eq!(
                err,
                ParamError::ExpireNotAfterCurrent {
                    current_time: 1_700_000_000,
                    expire_time: expire
                }
            );
        }
        let ok = UploadSignatureParams::builder("id", 1_700_000_000, 1_700_000_001, 1).build();
        assert!(ok.is_ok());
    }

    #[test]
    fn current_time_zero_is_refused() {
        let err = UploadSignatureParams::builder("id", 0, 10, 1)
            .build()
            .unwrap_err();
        assert_eq!(err, ParamError::CurrentTimeZero);
    }

    #[test]
    fn random_takes_the_whole_u32_range() {
        for random in [0, u32::MAX] {
            let params = UploadSignatureParams::builder("id", 1, 2, random)
                .build()
                .unwrap();
            assert!(params.plaintext().ends_with(&format!("&random={random}")));
        }
    }

    #[test]
    fn secret_id_must_be_non_empty_printable_ascii_up_to_128_bytes() {
        let build = |id: &str| UploadSignatureParams::builder(id, 1, 2, 1).build();
        assert_eq!(build("").unwrap_err(), ParamError::SecretIdEmpty);
        assert!(build(&"A".repeat(128)).is_ok());
        assert_eq!(
            build(&"A".repeat(129)).unwrap_err(),
            ParamError::SecretIdTooLong(129)
        );
        assert_eq!(
            build("AKID x").unwrap_err(),
            ParamError::SecretIdInvalidCharacter {
                character: ' ',
                index: 4
            }
        );
        assert!(matches!(
            build("AKID\n").unwrap_err(),
            ParamError::SecretIdInvalidCharacter {
                character: '\n',
                ..
            }
        ));
        assert!(matches!(
            build("AKIDé").unwrap_err(),
            ParamError::SecretIdInvalidCharacter {
                character: 'é', ..
            }
        ));
    }

    #[test]
    fn task_priority_bounds() {
        let with = |p: i8| base().procedure("flow").task_priority(p).build();
        assert!(with(-10).is_ok());
        assert!(with(10).is_ok());
        assert_eq!(
            with(-11).unwrap_err(),
            ParamError::TaskPriorityOutOfRange(-11)
        );
        assert_eq!(
            with(11).unwrap_err(),
            ParamError::TaskPriorityOutOfRange(11)
        );
        assert_eq!(
            with(11).unwrap_err().to_string(),
            "taskPriority must be between -10 and 10, got 11"
        );
    }

    #[test]
    fn task_options_require_procedure() {
        assert_eq!(
            base().task_priority(0).build().unwrap_err(),
            ParamError::RequiresProcedure("taskPriority")
        );
        assert_eq!(
            base()
                .task_notify_mode(TaskNotifyMode::Change)
                .build()
                .unwrap_err(),
            ParamError::RequiresProcedure("taskNotifyMode")
        );
        assert_eq!(
            base().session_context("s").build().unwrap_err(),
            ParamError::RequiresProcedure("sessionContext")
        );
        let ok = base()
            .procedure("flow")
            .task_priority(0)
            .task_notify_mode(TaskNotifyMode::None)
            .session_context("s")
            .build();
        assert!(ok.is_ok());
    }

    #[test]
    fn procedure_must_be_non_empty_short_and_without_control_characters() {
        assert_eq!(
            base().procedure("").build().unwrap_err(),
            ParamError::ProcedureEmpty
        );
        assert!(base().procedure("测".repeat(128)).build().is_ok());
        assert_eq!(
            base().procedure("测".repeat(129)).build().unwrap_err(),
            ParamError::ProcedureTooLong(129)
        );
        assert_eq!(
            base().procedure("a\u{7}b").build().unwrap_err(),
            ParamError::ProcedureControlCharacter
        );
    }

    #[test]
    fn source_context_limit_counts_characters_not_bytes() {
        let at_limit = "测".repeat(250);
        assert_eq!(at_limit.len(), 750);
        assert!(base().source_context(at_limit).build().is_ok());
        assert_eq!(
            base().source_context("测".repeat(251)).build().unwrap_err(),
            ParamError::SourceContextTooLong(251)
        );
    }

    #[test]
    fn session_context_limit_counts_characters_not_bytes() {
        let with = |s: String| base().procedure("flow").session_context(s).build();
        assert!(with("测".repeat(1000)).is_ok());
        assert_eq!(
            with("测".repeat(1001)).unwrap_err(),
            ParamError::SessionContextTooLong(1001)
        );
    }

    #[test]
    fn storage_region_format() {
        let with = |r: &str| base().storage_region(r).build();
        assert!(with("ap-chongqing").is_ok());
        assert!(with(&"a".repeat(32)).is_ok());
        assert_eq!(with("").unwrap_err(), ParamError::StorageRegionEmpty);
        assert_eq!(
            with(&"a".repeat(33)).unwrap_err(),
            ParamError::StorageRegionTooLong(33)
        );
        assert_eq!(
            with("AP-Chongqing").unwrap_err(),
            ParamError::StorageRegionInvalidCharacter('A')
        );
        assert_eq!(
            with("ap_chongqing").unwrap_err(),
            ParamError::StorageRegionInvalidCharacter('_')
        );
    }

    #[test]
    fn class_id_and_sub_app_id_take_any_u64() {
        let params = base().class_id(u64::MAX).vod_sub_app_id(0).build().unwrap();
        assert!(
            params
                .plaintext()
                .contains(&format!("&classId={}", u64::MAX))
        );
        assert!(params.plaintext().ends_with("&vodSubAppId=0"));
    }

    #[test]
    fn one_time_valid_false_emits_nothing() {
        let params = base().one_time_valid(false).build().unwrap();
        assert!(!params.plaintext().contains("oneTimeValid"));
        let params = base().one_time_valid(true).build().unwrap();
        assert!(params.plaintext().ends_with("&oneTimeValid=1"));
    }

    #[test]
    fn task_notify_mode_parses_exactly_and_round_trips_through_serde() {
        for mode in [
            TaskNotifyMode::Finish,
            TaskNotifyMode::Change,
            TaskNotifyMode::None,
        ] {
            assert_eq!(mode.as_str().parse::<TaskNotifyMode>(), Ok(mode));
            assert_eq!(mode.to_string(), mode.as_str());
            let json = serde_json::to_string(&mode).unwrap();
            assert_eq!(json, format!("\"{}\"", mode.as_str()));
            assert_eq!(serde_json::from_str::<TaskNotifyMode>(&json).unwrap(), mode);
        }
        assert_eq!(
            "finish".parse::<TaskNotifyMode>(),
            Err(ParamError::TaskNotifyModeInvalid("finish".to_owned()))
        );
    }

    // --- Encoding ---

    #[test]
    fn values_are_percent_encoded_over_the_rfc3986_unreserved_set() {
        let cases = [
            ("a b", "a%20b"),
            ("a+b", "a%2Bb"),
            ("a&b", "a%26b"),
            ("a=b", "a%3Db"),
            ("a~b-c_d.e", "a~b-c_d.e"),
            ("é", "%C3%A9"),
            ("测", "%E6%B5%8B"),
            ("*'()!", "%2A%27%28%29%21"),
        ];
        for (raw, encoded) in cases {
            let params = base().source_context(raw).build().unwrap();
            assert!(
                params
                    .plaintext()
                    .ends_with(&format!("&sourceContext={encoded}")),
                "{raw:?} gave {}",
                params.plaintext()
            );
        }
    }

    // --- inspect ---

    #[test]
    fn inspect_good_signature_with_right_key() {
        let params = v3_builder().build().unwrap();
        let inspection = inspect(&params.sign(KEY), Some(KEY), V3_NOW);
        assert!(inspection.is_ok(), "{inspection:?}");
        assert_eq!(inspection.mac, MacCheck::Valid);
        assert_eq!(inspection.plaintext.as_deref(), Some(V3_PLAINTEXT));
        assert_eq!(
            inspection.params,
            pairs(&[
                ("secretId", "IamSecretId"),
                ("currentTimeStamp", "1700000000"),
                ("expireTime", "1700086400"),
                ("random", "3735928559"),
                ("procedure", "LongVideoPreset"),
                ("taskNotifyMode", "Finish"),
                ("sourceContext", SOURCE_CONTEXT),
                ("sessionContext", SESSION_CONTEXT),
                ("oneTimeValid", "1"),
                ("vodSubAppId", "1500000001"),
                ("storageRegion", "ap-chongqing"),
            ])
        );
    }

    #[test]
    fn inspect_tolerates_surrounding_whitespace() {
        let inspection = inspect(&format!("  {V3_SIGNATURE}\r\n"), Some(KEY), V3_NOW);
        assert!(inspection.is_ok(), "{inspection:?}");
    }

    #[test]
    fn inspect_wrong_key() {
        let inspection = inspect(V3_SIGNATURE, Some(b"NotTheKey"), V3_NOW);
        assert_eq!(inspection.mac, MacCheck::Invalid);
        assert_eq!(inspection.problems, vec![Problem::MacMismatch]);
        assert_eq!(
            inspection.problems[0].to_string(),
            "HMAC does not match: wrong SecretKey or the plaintext was altered"
        );
        assert!(!inspection.is_ok());
        // The plaintext is still readable: the signature is self-describing.
        assert_eq!(inspection.plaintext.as_deref(), Some(V3_PLAINTEXT));
    }

    #[test]
    fn inspect_without_key_is_not_checked_and_not_ok() {
        let inspection = inspect(V3_SIGNATURE, None, V3_NOW);
        assert_eq!(inspection.mac, MacCheck::NotChecked);
        assert!(inspection.problems.is_empty());
        assert!(!inspection.is_ok());
    }

    #[test]
    fn inspect_expired() {
        let inspection = inspect(V3_SIGNATURE, Some(KEY), 1_700_090_000);
        assert_eq!(inspection.mac, MacCheck::Valid);
        assert_eq!(
            inspection.problems,
            vec![Problem::Expired {
                expire_time: 1_700_086_400,
                ago: 3600
            }]
        );
        assert_eq!(
            inspection.problems[0].to_string(),
            "signature expired 3600 s ago (expireTime 1700086400)"
        );
    }

    #[test]
    fn inspect_current_time_in_the_future() {
        let within_skew = inspect(V3_SIGNATURE, Some(KEY), 1_700_000_000 - 300);
        assert!(within_skew.is_ok(), "{within_skew:?}");
        let inspection = inspect(V3_SIGNATURE, Some(KEY), 1_700_000_000 - 301);
        assert_eq!(
            inspection.problems,
            vec![Problem::InFuture {
                current_time: 1_700_000_000,
                ahead: 301
            }]
        );
    }

    #[test]
    fn inspect_v1_has_valid_mac_but_exceeds_ninety_days() {
        let inspection = inspect(V1_SIGNATURE, Some(KEY), 1_571_215_100);
        assert_eq!(inspection.mac, MacCheck::Valid);
        assert_eq!(
            inspection.problems,
            vec![Problem::ValidityTooLong(315_360_000)]
        );
        assert_eq!(
            inspection.problems[0].to_string(),
            "validity 315360000 s exceeds VOD's 90-day maximum"
        );
    }

    #[test]
    fn inspect_expire_not_after_current() {
        let signature = mac_and_encode(
            KEY,
            "secretId=id&currentTimeStamp=1700000000&expireTime=1700000000&random=1",
        );
        let inspection = inspect(&signature, Some(KEY), 1_700_000_000);
        assert_eq!(
            inspection.problems,
            vec![
                Problem::ExpireNotAfterCurrent {
                    current_time: 1_700_000_000,
                    expire_time: 1_700_000_000
                },
                Problem::Expired {
                    expire_time: 1_700_000_000,
                    ago: 0
                },
            ]
        );
    }

    #[test]
    fn inspect_float_timestamp() {
        let signature = mac_and_encode(
            KEY,
            "secretId=id&currentTimeStamp=1571215095.5&expireTime=1571301495&random=1",
        );
        let inspection = inspect(&signature, Some(KEY), 1_571_215_100);
        assert_eq!(inspection.mac, MacCheck::Valid);
        assert_eq!(
            inspection.problems,
            vec![Problem::TimestampNotInteger {
                key: "currentTimeStamp",
                value: "1571215095.5".to_owned()
            }]
        );
        assert_eq!(
            inspection.problems[0].to_string(),
            "currentTimeStamp \"1571215095.5\" is not an integer number of seconds (VOD rejects float timestamps)"
        );
    }

    #[test]
    fn inspect_garbage_base64() {
        for garbage in ["not base64!", "qDMUAb0", "qDMU Ab0+", "-_-_"] {
            let inspection = inspect(garbage, Some(KEY), V3_NOW);
            assert_eq!(
                inspection.problems,
                vec![Problem::InvalidBase64],
                "{garbage:?}"
            );
            assert_eq!(inspection.mac, MacCheck::Invalid);
            assert!(inspection.plaintext.is_none());
            assert_eq!(inspection.problems[0].to_string(), "not valid Base64");
        }
    }

    #[test]
    fn inspect_too_short() {
        for len in [0, 1, 20] {
            let signature = STANDARD.encode(vec![7u8; len]);
            let inspection = inspect(&signature, Some(KEY), V3_NOW);
            assert_eq!(inspection.problems, vec![Problem::TooShort(len)]);
            assert!(
                inspection.problems[0]
                    .to_string()
                    .contains("shorter than the 20-byte HMAC")
            );
        }
    }

    #[test]
    fn inspect_non_utf8_plaintext() {
        let plaintext = [b"secretId=".as_slice(), &[0xff, 0xfe]].concat();
        let mut mac = keyed_mac(KEY);
        mac.update(&plaintext);
        let mut bytes = mac.finalize().into_bytes().to_vec();
        bytes.extend_from_slice(&plaintext);
        let inspection = inspect(&STANDARD.encode(bytes), Some(KEY), V3_NOW);
        assert_eq!(inspection.mac, MacCheck::Valid);
        assert_eq!(inspection.problems, vec![Problem::PlaintextNotUtf8]);
        assert!(inspection.plaintext.is_none());
    }

    #[test]
    fn inspect_unknown_legacy_key() {
        let signature = mac_and_encode(
            KEY,
            "secretId=id&currentTimeStamp=1700000000&expireTime=1700003600&random=1&isTranscode=1",
        );
        let inspection = inspect(&signature, Some(KEY), V3_NOW);
        assert_eq!(
            inspection.problems,
            vec![Problem::UnknownParameter("isTranscode".to_owned())]
        );
        assert_eq!(
            inspection.problems[0].to_string(),
            "unknown parameter isTranscode (legacy or unsupported key)"
        );
    }

    #[test]
    fn inspect_v2_reports_literal_plus() {
        let inspection = inspect(V2_SIGNATURE, Some(KEY), V3_NOW);
        assert_eq!(inspection.mac, MacCheck::Valid);
        assert_eq!(
            inspection.problems,
            vec![
                Problem::LiteralPlus("sourceContext".to_owned()),
                Problem::LiteralPlus("sessionContext".to_owned()),
            ]
        );
        assert_eq!(
            inspection.problems[0].to_string(),
            "literal '+' in value of sourceContext (form-style encoding; VOD may decode it as a space)"
        );
        // '+' is decoded as a literal '+', not as a space.
        assert!(
            inspection
                .params
                .contains(&("sessionContext".to_owned(), "a+b&c=d".to_owned()))
        );
    }

    #[test]
    fn inspect_missing_required_parameter() {
        let signature = mac_and_encode(
            KEY,
            "secretId=id&currentTimeStamp=1700000000&expireTime=1700003600",
        );
        let inspection = inspect(&signature, Some(KEY), V3_NOW);
        assert_eq!(
            inspection.problems,
            vec![Problem::MissingParameter("random")]
        );
        assert_eq!(
            inspection.problems[0].to_string(),
            "missing required parameter random"
        );
    }

    #[test]
    fn inspect_duplicate_parameter() {
        let signature = mac_and_encode(
            KEY,
            "secretId=id&currentTimeStamp=1700000000&expireTime=1700003600&random=1&random=2",
        );
        let inspection = inspect(&signature, Some(KEY), V3_NOW);
        assert_eq!(
            inspection.problems,
            vec![Problem::DuplicateParameter("random".to_owned())]
        );
        assert_eq!(inspection.params.len(), 5);
    }

    #[test]
    fn inspect_value_rules() {
        let plaintext = format!(
            "secretId=&currentTimeStamp=1700000000&expireTime=1700003600&random=4294967296\
             &classId=x&taskPriority=11&taskNotifyMode=finish&oneTimeValid=2\
             &sourceContext={}&sessionContext={}&procedure=%zz&storageRegion=%FF&junk",
            "a".repeat(251),
            "b".repeat(1001)
        );
        let inspection = inspect(&mac_and_encode(KEY, &plaintext), Some(KEY), V3_NOW);
        assert_eq!(inspection.mac, MacCheck::Valid);
        assert_eq!(
            inspection.problems,
            vec![
                Problem::EmptySecretId,
                Problem::OutOfRange {
                    key: "random",
                    value: "4294967296".to_owned(),
                    expected: "an unsigned 32-bit integer (0 to 4294967295)"
                },
                Problem::NotAnInteger {
                    key: "classId",
                    value: "x".to_owned()
                },
                Problem::OutOfRange {
                    key: "taskPriority",
                    value: "11".to_owned(),
                    expected: "between -10 and 10"
                },
                Problem::InvalidTaskNotifyMode("finish".to_owned()),
                Problem::InvalidOneTimeValid("2".to_owned()),
                Problem::SourceContextTooLong(251),
                Problem::SessionContextTooLong(1001),
                Problem::BadPercentEncoding("procedure".to_owned()),
                Problem::ValueNotUtf8("storageRegion".to_owned()),
                Problem::MalformedPair("junk".to_owned()),
            ]
        );
        assert_eq!(
            inspection.problems[3].to_string(),
            "taskPriority must be between -10 and 10, got 11"
        );
        // Every key=value pair is listed, malformed ones decoded lossily; "junk" is not a pair.
        assert_eq!(inspection.params.len(), 12);
    }

    // --- Properties ---

    fn text(max: usize) -> impl Strategy<Value = String> {
        proptest::collection::vec(any::<char>(), 0..=max).prop_map(|c| c.into_iter().collect())
    }

    fn procedure_text() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            any::<char>().prop_filter("no controls", |c| !c.is_control()),
            1..=128,
        )
        .prop_map(|c| c.into_iter().collect())
    }

    prop_compose! {
        fn valid_params()(
            secret_id in "[!-~]{1,128}",
            current_time in 1..=u64::MAX - MAX_VALIDITY_SECS,
            validity in 1..=MAX_VALIDITY_SECS,
            random in any::<u32>(),
            class_id in proptest::option::of(any::<u64>()),
            procedure in proptest::option::of(procedure_text()),
            task_priority in proptest::option::of(-10i8..=10),
            task_notify_mode in proptest::option::of(prop_oneof![
                Just(TaskNotifyMode::Finish),
                Just(TaskNotifyMode::Change),
                Just(TaskNotifyMode::None),
            ]),
            source_context in proptest::option::of(text(250)),
            session_context in proptest::option::of(text(1000)),
            one_time_valid in any::<bool>(),
            vod_sub_app_id in proptest::option::of(any::<u64>()),
            storage_region in proptest::option::of("[a-z0-9-]{1,32}"),
        ) -> UploadSignatureParams {
            let mut b = UploadSignatureParams::builder(secret_id, current_time, current_time + validity, random)
                .one_time_valid(one_time_valid);
            if let Some(v) = class_id { b = b.class_id(v); }
            if let Some(v) = source_context { b = b.source_context(v); }
            if let Some(v) = vod_sub_app_id { b = b.vod_sub_app_id(v); }
            if let Some(v) = storage_region { b = b.storage_region(v); }
            if let Some(procedure) = procedure {
                b = b.procedure(procedure);
                if let Some(v) = task_priority { b = b.task_priority(v); }
                if let Some(v) = task_notify_mode { b = b.task_notify_mode(v); }
                if let Some(v) = session_context { b = b.session_context(v); }
            }
            b.build().unwrap()
        }
    }

    proptest! {
        #[test]
        fn signed_params_inspect_clean_and_round_trip(
            params in valid_params(),
            key in proptest::collection::vec(any::<u8>(), 0..100),
            offset in any::<u64>(),
        ) {
            let plaintext = params.plaintext();
            prop_assert!(!plaintext.contains('+'));
            let window = params.expire_time() - params.current_time();
            let now = params.current_time() + offset % window;
            let inspection = inspect(&params.sign(&key), Some(&key), now);
            prop_assert!(inspection.is_ok(), "{:?}", inspection);
            prop_assert_eq!(inspection.plaintext.as_deref(), Some(plaintext.as_str()));
            prop_assert_eq!(inspection.params, expected_params(&params));
        }

        #[test]
        fn inspect_never_panics_on_arbitrary_text(
            signature in any::<String>(),
            key in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
            now in any::<u64>(),
        ) {
            let _ = inspect(&signature, key.as_deref(), now);
        }

        #[test]
        fn inspect_never_panics_on_arbitrary_bytes(
            bytes in proptest::collection::vec(any::<u8>(), 0..300),
            now in any::<u64>(),
        ) {
            let _ = inspect(&STANDARD.encode(&bytes), Some(KEY), now);
        }

        #[test]
        fn inspect_never_panics_on_signed_query_like_text(
            plaintext in "[a-zA-Z0-9%&=+.\\-]{0,200}",
            now in any::<u64>(),
        ) {
            let _ = inspect(&mac_and_encode(KEY, &plaintext), Some(KEY), now);
        }

        #[test]
        fn encoding_emits_only_unreserved_bytes_and_escapes(value in any::<String>()) {
            let encoded = encode(&value);
            prop_assert!(is_unreserved_or_escaped(&encoded), "{:?}", encoded);
            prop_assert!(!encoded.contains('+'));
            let decoded = percent_decode_str(&encoded).decode_utf8();
            prop_assert_eq!(decoded.as_deref(), Ok(value.as_str()));
        }

        #[test]
        fn minted_plaintext_is_key_value_pairs_of_escaped_values(params in valid_params()) {
            let plaintext = params.plaintext();
            for pair in plaintext.split('&') {
                let (name, value) = pair.split_once('=').expect("key=value");
                prop_assert!(key::KNOWN.contains(&name), "{}", name);
                prop_assert!(is_unreserved_or_escaped(value), "{}={}", name, value);
            }
        }

        #[test]
        fn inspected_params_rebuild_the_minted_params(
            params in valid_params(),
            key in proptest::collection::vec(any::<u8>(), 0..100),
        ) {
            let inspection = inspect(&params.sign(&key), Some(&key), params.current_time());
            prop_assert_eq!(inspection.mac, MacCheck::Valid);
            prop_assert_eq!(rebuild(&inspection.params), params);
        }
    }

    /// Whether every byte is in the RFC 3986 unreserved set or part of a `%XX` escape with
    /// upper-case hex digits, as `encode` writes them.
    fn is_unreserved_or_escaped(text: &str) -> bool {
        let upper_hex = |b: u8| b.is_ascii_digit() || (b'A'..=b'F').contains(&b);
        let mut bytes = text.bytes();
        while let Some(byte) = bytes.next() {
            let ok = match byte {
                b'%' => bytes.next().is_some_and(upper_hex) && bytes.next().is_some_and(upper_hex),
                b => b.is_ascii_alphanumeric() || b"-_.~".contains(&b),
            };
            if !ok {
                return false;
            }
        }
        true
    }

    /// Parameters rebuilt through the builder from an inspection's decoded pairs.
    fn rebuild(pairs: &[(String, String)]) -> UploadSignatureParams {
        let value = |name: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
        };
        let number = |name: &str| value(name).map(|v| v.parse::<u64>().expect("a number"));
        let mut b = UploadSignatureParams::builder(
            value(key::SECRET_ID).expect("secretId"),
            number(key::CURRENT_TIME_STAMP).expect("currentTimeStamp"),
            number(key::EXPIRE_TIME).expect("expireTime"),
            value(key::RANDOM).expect("random").parse().expect("a u32"),
        )
        .one_time_valid(value(key::ONE_TIME_VALID) == Some("1"));
        if let Some(v) = number(key::CLASS_ID) {
            b = b.class_id(v);
        }
        if let Some(v) = value(key::PROCEDURE) {
            b = b.procedure(v);
        }
        if let Some(v) = value(key::TASK_PRIORITY) {
            b = b.task_priority(v.parse().expect("an i8"));
        }
        if let Some(v) = value(key::TASK_NOTIFY_MODE) {
            b = b.task_notify_mode(v.parse().expect("a mode"));
        }
        if let Some(v) = value(key::SOURCE_CONTEXT) {
            b = b.source_context(v);
        }
        if let Some(v) = value(key::SESSION_CONTEXT) {
            b = b.session_context(v);
        }
        if let Some(v) = number(key::VOD_SUB_APP_ID) {
            b = b.vod_sub_app_id(v);
        }
        if let Some(v) = value(key::STORAGE_REGION) {
            b = b.storage_region(v);
        }
        b.build()
            .expect("inspected params of a minted signature build")
    }
}
