//! Reading a signature made anywhere: what it grants and everything wrong with it.
//!
//! Minting refuses bad parameters up front; a signature that reaches [`inspect`] may come from a
//! legacy sample, a client's own code or an attacker, so nothing in it is trusted and every
//! problem is collected instead of stopping at the first.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::Mac;
use percent_encoding::percent_decode_str;

use super::limits::{
    self, CLASS_ID, IntRange, ParamError, RANDOM, TASK_PRIORITY, VOD_SUB_APP_ID,
    check_session_context, check_source_context,
};
use super::{MAC_LEN, TaskNotifyMode, key, keyed_mac};

/// How far `currentTimeStamp` may lie ahead of the inspector's clock before it is reported.
const MAX_CLOCK_SKEW_SECS: u64 = 300;

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
    /// A value breaks one of VOD's documented limits.
    #[error(transparent)]
    Param(#[from] ParamError),
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
    /// `oneTimeValid` is neither `0` nor `1`.
    #[error("oneTimeValid {0:?} is neither 0 nor 1")]
    InvalidOneTimeValid(String),
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
/// Rules that [`super::UploadSignatureParamsBuilder::build`] adds as this service's own policy (task-flow
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
    let limit = match name {
        key::SECRET_ID if value.is_empty() => Err(ParamError::SecretIdEmpty),
        key::CURRENT_TIME_STAMP => {
            found.current_time = parse_timestamp(name, value, problems);
            Ok(())
        }
        key::EXPIRE_TIME => {
            found.expire_time = parse_timestamp(name, value, problems);
            Ok(())
        }
        key::RANDOM => return check_int(&RANDOM, value, problems),
        key::CLASS_ID => return check_int(&CLASS_ID, value, problems),
        key::VOD_SUB_APP_ID => return check_int(&VOD_SUB_APP_ID, value, problems),
        key::TASK_PRIORITY => return check_int(&TASK_PRIORITY, value, problems),
        key::TASK_NOTIFY_MODE => value.parse::<TaskNotifyMode>().map(drop),
        key::ONE_TIME_VALID if value != "0" && value != "1" => {
            problems.push(Problem::InvalidOneTimeValid(value.to_owned()));
            Ok(())
        }
        key::SOURCE_CONTEXT => check_source_context(value),
        key::SESSION_CONTEXT => check_session_context(value),
        _ => Ok(()),
    };
    if let Err(violation) = limit {
        problems.push(violation.into());
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

/// Checks that `value` is a decimal integer (optional leading `-`, then digits) within `limit`.
fn check_int(limit: &IntRange, value: &str, problems: &mut Vec<Problem>) {
    let digits = value.strip_prefix('-').unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        problems.push(Problem::NotAnInteger {
            key: limit.key(),
            value: value.to_owned(),
        });
        return;
    }
    // Digits too many for i128 are out of every range here.
    if !value.parse::<i128>().is_ok_and(|n| limit.contains(n)) {
        problems.push(limit.violation(value.to_owned()).into());
    }
}

/// Checks the validity window and where `now` falls in it.
fn check_window(current_time: u64, expire_time: u64, now: u64, problems: &mut Vec<Problem>) {
    if let Err(violation) = limits::check_window(current_time, expire_time) {
        problems.push(violation.into());
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
