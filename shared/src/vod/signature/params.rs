//! The checked parameters of one upload signature and the exact plaintext they sign.
//!
//! A value of [`UploadSignatureParams`] exists only after [`UploadSignatureParamsBuilder::build`]
//! has checked every limit, so signing cannot fail; the plaintext is written into one buffer
//! because it is built on every `sign` request.

use std::fmt::{self, Write as _};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::limits::{
    self, ParamError, TASK_PRIORITY, check_procedure, check_secret_id, check_session_context,
    check_source_context, check_storage_region,
};
use super::{TaskNotifyMode, key, mac_and_encode};

/// Bytes escaped in values: everything except the RFC 3986 unreserved set.
const VALUE_ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

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
        let text_len: usize = [
            Some(self.secret_id.as_str()),
            self.procedure.as_deref(),
            self.source_context.as_deref(),
            self.session_context.as_deref(),
            self.storage_region.as_deref(),
        ]
        .into_iter()
        .flatten()
        .map(str::len)
        .sum();
        // Keys and numbers fit in 256 bytes; an escaped byte takes at most three.
        let mut out = String::with_capacity(256 + 3 * text_len);
        pair(&mut out, key::SECRET_ID, encode(&self.secret_id));
        pair(&mut out, key::CURRENT_TIME_STAMP, self.current_time);
        pair(&mut out, key::EXPIRE_TIME, self.expire_time);
        pair(&mut out, key::RANDOM, self.random);
        if let Some(class_id) = self.class_id {
            pair(&mut out, key::CLASS_ID, class_id);
        }
        if let Some(procedure) = &self.procedure {
            pair(&mut out, key::PROCEDURE, encode(procedure));
        }
        if let Some(priority) = self.task_priority {
            pair(&mut out, key::TASK_PRIORITY, priority);
        }
        if let Some(mode) = self.task_notify_mode {
            pair(&mut out, key::TASK_NOTIFY_MODE, mode.as_str());
        }
        if let Some(context) = &self.source_context {
            pair(&mut out, key::SOURCE_CONTEXT, encode(context));
        }
        if let Some(context) = &self.session_context {
            pair(&mut out, key::SESSION_CONTEXT, encode(context));
        }
        if self.one_time_valid {
            pair(&mut out, key::ONE_TIME_VALID, 1);
        }
        if let Some(sub_app_id) = self.vod_sub_app_id {
            pair(&mut out, key::VOD_SUB_APP_ID, sub_app_id);
        }
        if let Some(region) = &self.storage_region {
            pair(&mut out, key::STORAGE_REGION, encode(region));
        }
        out
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
        limits::check_window(p.current_time, p.expire_time)?;
        if let Some(procedure) = &p.procedure {
            check_procedure(procedure)?;
        }
        let with_procedure = |key: &'static str| match p.procedure {
            Some(_) => Ok(()),
            None => Err(ParamError::RequiresProcedure(key)),
        };
        if let Some(priority) = p.task_priority {
            with_procedure(key::TASK_PRIORITY)?;
            TASK_PRIORITY.check(i128::from(priority))?;
        }
        if p.task_notify_mode.is_some() {
            with_procedure(key::TASK_NOTIFY_MODE)?;
        }
        if let Some(context) = &p.source_context {
            check_source_context(context)?;
        }
        if let Some(context) = &p.session_context {
            with_procedure(key::SESSION_CONTEXT)?;
            check_session_context(context)?;
        }
        if let Some(region) = &p.storage_region {
            check_storage_region(region)?;
        }
        Ok(self.params)
    }
}

/// Appends `name=value`, preceded by `&` unless it is the first pair.
fn pair(out: &mut String, name: &str, value: impl fmt::Display) {
    if !out.is_empty() {
        out.push('&');
    }
    out.push_str(name);
    out.push('=');
    // Writing into a `String` cannot fail.
    let _ = write!(out, "{value}");
}

/// Percent-encodes a value over the RFC 3986 unreserved set; never emits a literal `+`. Lazy: the
/// escaped bytes are written straight into the plaintext.
pub(super) fn encode(value: &str) -> impl fmt::Display + '_ {
    utf8_percent_encode(value, VALUE_ENCODE_SET)
}
