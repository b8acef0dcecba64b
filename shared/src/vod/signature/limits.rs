//! VOD's limits on upload-signature parameters, each written once.
//!
//! Three callers need the same rules and must never drift apart: minting
//! ([`super::UploadSignatureParamsBuilder::build`]) stops at the first violation, [`super::inspect`]
//! reports every one it finds in a signature made elsewhere, and the `sign` policy checks its
//! configuration and client requests against them before anything is minted. So each rule is one
//! function or one constant here, and every violation is one [`ParamError`] variant.

use std::ops::RangeInclusive;

use super::key;

/// Longest validity VOD accepts: `expireTime − currentTimeStamp` ≤ 7 776 000 s (90 days).
pub(crate) const MAX_VALIDITY_SECS: u64 = 7_776_000;

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

/// A numeric parameter's documented range, with the words that describe it in errors.
pub(crate) struct IntRange {
    key: &'static str,
    range: RangeInclusive<i128>,
    expected: &'static str,
}

/// `taskPriority`: -10 to 10.
pub(crate) const TASK_PRIORITY: IntRange = IntRange {
    key: key::TASK_PRIORITY,
    range: -10..=10,
    expected: "between -10 and 10",
};
/// `random`: any `u32`.
pub(super) const RANDOM: IntRange = IntRange {
    key: key::RANDOM,
    range: 0..=u32::MAX as i128,
    expected: "an unsigned 32-bit integer (0 to 4294967295)",
};
/// `classId`: any `u64`.
pub(super) const CLASS_ID: IntRange = IntRange {
    key: key::CLASS_ID,
    range: 0..=u64::MAX as i128,
    expected: "an unsigned 64-bit integer",
};
/// `vodSubAppId`: any `u64`.
pub(super) const VOD_SUB_APP_ID: IntRange = IntRange {
    key: key::VOD_SUB_APP_ID,
    range: 0..=u64::MAX as i128,
    expected: "an unsigned 64-bit integer",
};

impl IntRange {
    pub(super) fn key(&self) -> &'static str {
        self.key
    }

    /// The range in words, e.g. "between -10 and 10".
    pub(crate) fn expected(&self) -> &'static str {
        self.expected
    }

    pub(crate) fn contains(&self, value: i128) -> bool {
        self.range.contains(&value)
    }

    /// The error for `value` (as written) lying outside the range.
    pub(super) fn violation(&self, value: String) -> ParamError {
        ParamError::OutOfRange {
            key: self.key,
            value,
            expected: self.expected,
        }
    }

    pub(super) fn check(&self, value: i128) -> Result<(), ParamError> {
        if self.contains(value) {
            Ok(())
        } else {
            Err(self.violation(value.to_string()))
        }
    }
}

/// Why upload-signature parameters break VOD's limits. Messages name the parameter by its VOD key
/// and say what was expected.
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
    /// `expireTime − currentTimeStamp` exceeds 7 776 000 s (90 days).
    #[error(
        "expireTime - currentTimeStamp must be at most 7776000 s (VOD's 90-day maximum), got {0} s"
    )]
    ValidityTooLong(u64),
    /// A numeric parameter (`random`, `classId`, `taskPriority`, `vodSubAppId`) is outside its
    /// documented range.
    #[error("{key} must be {expected}, got {value}")]
    OutOfRange {
        /// The parameter's key.
        key: &'static str,
        /// The value as given.
        value: String,
        /// The documented range, in words.
        expected: &'static str,
    },
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

/// `secretId`: 1 to 128 bytes of printable ASCII without spaces (this service's rule; VOD itself
/// only needs it non-empty).
pub(crate) fn check_secret_id(secret_id: &str) -> Result<(), ParamError> {
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

/// The validity window: `expireTime` after `currentTimeStamp`, by at most [`MAX_VALIDITY_SECS`].
pub(super) fn check_window(current_time: u64, expire_time: u64) -> Result<(), ParamError> {
    if expire_time <= current_time {
        return Err(ParamError::ExpireNotAfterCurrent {
            current_time,
            expire_time,
        });
    }
    let validity = expire_time - current_time;
    if validity > MAX_VALIDITY_SECS {
        return Err(ParamError::ValidityTooLong(validity));
    }
    Ok(())
}

/// `procedure`: 1 to 128 characters without control characters.
pub(crate) fn check_procedure(procedure: &str) -> Result<(), ParamError> {
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

/// `storageRegion`: 1 to 32 of `a-z`, `0-9` and `-`.
pub(crate) fn check_storage_region(region: &str) -> Result<(), ParamError> {
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

/// `sourceContext`: at most 250 characters (not bytes).
pub(super) fn check_source_context(context: &str) -> Result<(), ParamError> {
    let chars = context.chars().count();
    if chars > MAX_SOURCE_CONTEXT_CHARS {
        return Err(ParamError::SourceContextTooLong(chars));
    }
    Ok(())
}

/// `sessionContext`: at most 1000 characters (not bytes).
pub(super) fn check_session_context(context: &str) -> Result<(), ParamError> {
    let chars = context.chars().count();
    if chars > MAX_SESSION_CONTEXT_CHARS {
        return Err(ParamError::SessionContextTooLong(chars));
    }
    Ok(())
}
