//! Limits VOD does not have: size, duration and container of an upload, and what a review's
//! `block` does. Pure: no I/O, no clock.
//!
//! A VOD upload signature has no parameter for any of these, so whoever holds one can upload
//! anything of any size. vodgate can still make the limits real, after the fact: every
//! `NewFileUpload` of an upload it signed carries the file's metadata, and the events side holds
//! the API key pair that deletes media (`crate::ingest::enforce`). The same rules, from the same
//! variables, also refuse early what a client declares (`fileSize`, `fileType` on the signing
//! routes), which is advisory: a client can lie, the check after upload cannot be lied to.
//!
//! Containers are matched against the tokens of VOD's `MetaData.Container`, which is ffprobe's
//! demuxer list: an MP4 reports `mov,mp4,m4a,3gp,3g2,mj2`, a WebM `matroska,webm`. So a name is
//! allowed together with its whole demuxer family ([`FAMILIES`]), and a declared `fileType` is
//! checked by the same family rule, so that what passes at signing also passes after upload.
//! The order of the checks (size, then duration, then container) decides which one a file that
//! breaks several is rejected for.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::{Value, json};

use crate::platform::config::{ConfigError, Env};

/// ffprobe demuxers that report one container for several names, each with the file extensions
/// that name them. A name in an allow-list admits its whole family.
const FAMILIES: &[&[&str]] = &[
    &["mov", "mp4", "m4a", "3gp", "3g2", "mj2", "m4v", "qt"],
    &["matroska", "webm", "mkv"],
    &["mpegts", "ts", "m2ts", "mts"],
    &["asf", "wmv", "wma"],
    &["mpeg", "mpg", "vob"],
];

/// What a review's `block` does to the upload (`REVIEW_BLOCK_ACTION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BlockAction {
    /// Record the verdict (`review`); the media stays.
    #[default]
    Keep,
    /// Delete the media and reject the upload (`blocked_by_review`).
    Delete,
}

/// Why an upload is rejected, in the order the checks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectCode {
    TooLarge,
    TooLong,
    FormatNotAllowed,
    BlockedByReview,
}

impl RejectCode {
    /// The code as `error.code` and the rejection envelope spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TooLarge => "too_large",
            Self::TooLong => "too_long",
            Self::FormatNotAllowed => "format_not_allowed",
            Self::BlockedByReview => "blocked_by_review",
        }
    }
}

/// A broken limit: which, the limit and the actual value (as JSON, for the rejection envelope),
/// and a sentence naming both.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub code: RejectCode,
    pub limit: Value,
    pub actual: Value,
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// What is known of a file for the checks; `None` where VOD said nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FileMetadata<'a> {
    pub size: Option<u64>,
    pub duration_seconds: Option<f64>,
    pub container: Option<&'a str>,
}

/// The verdict on a file's metadata.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Within every limit that applies.
    Within,
    /// The first limit broken.
    Breaks(Violation),
    /// A limit applies but the metadata it needs is missing; what is missing, for the log.
    Unknown(Vec<&'static str>),
}

/// The deployment's limits: all off by default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UploadLimits {
    max_bytes: Option<u64>,
    max_duration_seconds: Option<u64>,
    /// The configured names, lower case, as written (for messages).
    allowed_containers: Vec<String>,
    /// The configured names with their families: what a container token must be one of.
    admitted: BTreeSet<String>,
    block_action: BlockAction,
}

impl UploadLimits {
    /// Reads `UPLOAD_MAX_BYTES` (bytes, or with a unit: `500MB`, `2GiB`),
    /// `UPLOAD_MAX_DURATION_SECONDS`, `UPLOAD_ALLOWED_CONTAINERS` (comma-separated names) and
    /// `REVIEW_BLOCK_ACTION` (`keep`, the default, or `delete`).
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let max_bytes = env
            .non_empty("UPLOAD_MAX_BYTES")
            .map(|raw| {
                parse_bytes(raw).ok_or_else(|| {
                    ConfigError::invalid(
                        "UPLOAD_MAX_BYTES",
                        format!(
                            "expected a positive number of bytes, optionally with a unit \
                             (KB, MB, GB, KiB, MiB, GiB), got {raw:?}"
                        ),
                    )
                })
            })
            .transpose()?;
        let max_duration_seconds = env
            .non_empty("UPLOAD_MAX_DURATION_SECONDS")
            .map(|_| {
                env.parse_in(
                    "UPLOAD_MAX_DURATION_SECONDS",
                    1,
                    1..=u64::from(u32::MAX),
                    "a whole number of seconds",
                )
            })
            .transpose()?;
        let mut allowed_containers = Vec::new();
        for name in env.list("UPLOAD_ALLOWED_CONTAINERS") {
            let name = name.to_ascii_lowercase();
            if !is_name(&name) {
                return Err(ConfigError::invalid(
                    "UPLOAD_ALLOWED_CONTAINERS",
                    format!(
                        "expected comma-separated container names such as mp4,mov,webm \
                         (1-32 of a-z 0-9 _), got {name:?}"
                    ),
                ));
            }
            if !allowed_containers.contains(&name) {
                allowed_containers.push(name);
            }
        }
        let admitted = allowed_containers
            .iter()
            .flat_map(|name| family(name))
            .collect();
        let block_action = match env
            .non_empty("REVIEW_BLOCK_ACTION")
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("keep") => BlockAction::Keep,
            Some("delete") => BlockAction::Delete,
            Some(other) => {
                return Err(ConfigError::invalid(
                    "REVIEW_BLOCK_ACTION",
                    format!("expected keep or delete, got {other:?}"),
                ));
            }
        };
        Ok(Self {
            max_bytes,
            max_duration_seconds,
            allowed_containers,
            admitted,
            block_action,
        })
    }

    /// Whether anything may ever be deleted: a limit is set, or a `block` deletes. Only then do
    /// the events need VOD's API key pair.
    pub fn enforces(&self) -> bool {
        self.limits_files() || self.block_action == BlockAction::Delete
    }

    /// Whether a file's metadata is checked at all.
    pub fn limits_files(&self) -> bool {
        self.max_bytes.is_some()
            || self.max_duration_seconds.is_some()
            || !self.allowed_containers.is_empty()
    }

    /// What a review's `block` does.
    pub fn block_action(&self) -> BlockAction {
        self.block_action
    }

    /// The metadata the limits need that `file` lacks (a size or duration of 0 counts as
    /// missing: VOD reports 0 before it has probed the file).
    pub fn missing(&self, file: &FileMetadata<'_>) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if self.max_bytes.is_some() && file.size.is_none_or(|s| s == 0) {
            missing.push("Size");
        }
        if self.max_duration_seconds.is_some() && file.duration_seconds.is_none_or(|d| d <= 0.0) {
            missing.push("Duration");
        }
        if !self.allowed_containers.is_empty() && file.container.is_none_or(str::is_empty) {
            missing.push("Container");
        }
        missing
    }

    /// Checks a file's metadata: size, then duration, then container. A limit whose value is
    /// missing is not checked; if no other limit is broken, the verdict is `Unknown`.
    pub fn check(&self, file: &FileMetadata<'_>) -> Verdict {
        if let (Some(limit), Some(size)) = (self.max_bytes, file.size)
            && size > limit
        {
            return Verdict::Breaks(too_large(size, limit, "the file"));
        }
        if let (Some(limit), Some(duration)) = (self.max_duration_seconds, file.duration_seconds)
            && duration > limit as f64
        {
            return Verdict::Breaks(Violation {
                code: RejectCode::TooLong,
                limit: json!(limit),
                actual: json!(duration),
                message: format!(
                    "the video lasts {duration} s, over the limit of {limit} s \
                     (UPLOAD_MAX_DURATION_SECONDS)"
                ),
            });
        }
        if let Some(container) = file.container.filter(|c| !c.is_empty())
            && !self.allowed_containers.is_empty()
        {
            let admitted = container
                .split(',')
                .map(|token| token.trim().to_ascii_lowercase())
                .any(|token| self.admitted.contains(&token));
            if !admitted {
                return Verdict::Breaks(self.format_not_allowed(container, "the file's container"));
            }
        }
        match self.missing(file) {
            missing if missing.is_empty() => Verdict::Within,
            missing => Verdict::Unknown(missing),
        }
    }

    /// Checks what a client declares before uploading: `fileSize` in bytes, `fileType` an
    /// extension (with or without its dot) or a container name.
    pub fn check_declared(
        &self,
        file_size: Option<u64>,
        file_type: Option<&str>,
    ) -> Result<(), Violation> {
        if let (Some(limit), Some(size)) = (self.max_bytes, file_size)
            && size > limit
        {
            return Err(too_large(size, limit, "fileSize"));
        }
        if let Some(file_type) = file_type
            && !self.allowed_containers.is_empty()
        {
            let name = file_type
                .trim()
                .trim_start_matches('.')
                .to_ascii_lowercase();
            if !self.admitted.contains(&name) {
                return Err(self.format_not_allowed(file_type, "fileType"));
            }
        }
        Ok(())
    }

    fn format_not_allowed(&self, actual: &str, what: &str) -> Violation {
        let allowed = self.allowed_containers.join(",");
        Violation {
            code: RejectCode::FormatNotAllowed,
            limit: json!(self.allowed_containers),
            actual: json!(actual),
            message: format!(
                "{what} {actual:?} is not an allowed format ({allowed}; UPLOAD_ALLOWED_CONTAINERS)"
            ),
        }
    }
}

/// A `fileType` a client may send: 1-32 of letters, digits, `.`, `_`, `-`.
pub fn is_file_type(text: &str) -> bool {
    (1..=32).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn too_large(size: u64, limit: u64, what: &str) -> Violation {
    Violation {
        code: RejectCode::TooLarge,
        limit: json!(limit),
        actual: json!(size),
        message: format!(
            "{what} is {size} bytes, over the limit of {limit} bytes (UPLOAD_MAX_BYTES)"
        ),
    }
}

/// `name` with every name ffprobe reports in one container with it.
fn family(name: &str) -> Vec<String> {
    FAMILIES
        .iter()
        .find(|family| family.contains(&name))
        .map_or_else(
            || vec![name.to_owned()],
            |family| family.iter().map(|n| (*n).to_owned()).collect(),
        )
}

fn is_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Bytes, with an optional decimal (`KB`, `MB`, `GB`, `TB`) or binary (`KiB` … `TiB`) unit;
/// `None` for anything else, zero or an overflow.
fn parse_bytes(raw: &str) -> Option<u64> {
    let raw = raw.trim();
    let digits = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (number, unit) = raw.split_at(digits);
    let number: u64 = number.parse().ok()?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => return None,
    };
    number.checked_mul(factor).filter(|bytes| *bytes > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(pairs: &[(&str, &str)]) -> UploadLimits {
        UploadLimits::from_env(&Env::from_pairs(pairs.iter().copied())).unwrap()
    }

    const MP4: &str = "mov,mp4,m4a,3gp,3g2,mj2";

    #[test]
    fn off_by_default() {
        let off = limits(&[]);
        assert!(!off.enforces());
        let file = FileMetadata {
            size: Some(u64::MAX),
            duration_seconds: Some(1e9),
            container: Some("avi"),
        };
        assert_eq!(off.check(&file), Verdict::Within);
        assert_eq!(off.check(&FileMetadata::default()), Verdict::Within);
        assert_eq!(off.check_declared(Some(u64::MAX), Some("exe")), Ok(()));
        assert!(limits(&[("REVIEW_BLOCK_ACTION", "DELETE")]).enforces());
        assert!(!limits(&[("REVIEW_BLOCK_ACTION", "keep")]).enforces());
    }

    #[test]
    fn checks_run_in_order_and_name_limit_and_value() {
        let l = limits(&[
            ("UPLOAD_MAX_BYTES", "100MB"),
            ("UPLOAD_MAX_DURATION_SECONDS", "60"),
            ("UPLOAD_ALLOWED_CONTAINERS", "mp4, WebM"),
        ]);
        let all_bad = FileMetadata {
            size: Some(100_000_001),
            duration_seconds: Some(61.5),
            container: Some("avi"),
        };
        let Verdict::Breaks(v) = l.check(&all_bad) else {
            panic!("breaks")
        };
        assert_eq!(v.code, RejectCode::TooLarge);
        assert_eq!(
            (v.limit, v.actual),
            (json!(100_000_000), json!(100_000_001))
        );
        assert_eq!(
            v.message,
            "the file is 100000001 bytes, over the limit of 100000000 bytes (UPLOAD_MAX_BYTES)"
        );
        let long = FileMetadata {
            size: Some(100_000_000),
            ..all_bad
        };
        let Verdict::Breaks(v) = l.check(&long) else {
            panic!("breaks")
        };
        assert_eq!(v.code, RejectCode::TooLong);
        assert!(v.message.contains("61.5 s, over the limit of 60 s"), "{v}");
        let wrong = FileMetadata {
            duration_seconds: Some(60.0),
            ..long
        };
        let Verdict::Breaks(v) = l.check(&wrong) else {
            panic!("breaks")
        };
        assert_eq!(v.code, RejectCode::FormatNotAllowed);
        assert_eq!(v.limit, json!(["mp4", "webm"]));
        assert_eq!(v.actual, json!("avi"));
        for container in [MP4, "matroska,webm", "MOV"] {
            let fine = FileMetadata {
                container: Some(container),
                ..wrong
            };
            assert_eq!(l.check(&fine), Verdict::Within, "{container}");
        }
    }

    #[test]
    fn missing_metadata_is_unknown_unless_another_limit_is_broken() {
        let l = limits(&[
            ("UPLOAD_MAX_BYTES", "1000"),
            ("UPLOAD_ALLOWED_CONTAINERS", "mp4"),
        ]);
        assert_eq!(
            l.check(&FileMetadata::default()),
            Verdict::Unknown(vec!["Size", "Container"])
        );
        let zero = FileMetadata {
            size: Some(0),
            container: Some(MP4),
            ..FileMetadata::default()
        };
        assert_eq!(l.check(&zero), Verdict::Unknown(vec!["Size"]));
        let wrong_format = FileMetadata {
            container: Some("flv"),
            ..FileMetadata::default()
        };
        assert!(matches!(l.check(&wrong_format), Verdict::Breaks(_)));
    }

    #[test]
    fn declared_values_follow_the_same_rules() {
        let l = limits(&[
            ("UPLOAD_MAX_BYTES", "1KiB"),
            ("UPLOAD_ALLOWED_CONTAINERS", "mp4"),
        ]);
        assert_eq!(l.check_declared(Some(1024), Some(".MOV")), Ok(()));
        assert_eq!(l.check_declared(None, Some("m4v")), Ok(()));
        let err = l.check_declared(Some(1025), None).unwrap_err();
        assert_eq!(
            err.message,
            "fileSize is 1025 bytes, over the limit of 1024 bytes (UPLOAD_MAX_BYTES)"
        );
        let err = l.check_declared(None, Some("webm")).unwrap_err();
        assert_eq!(err.code, RejectCode::FormatNotAllowed);
        assert_eq!(
            err.message,
            "fileType \"webm\" is not an allowed format (mp4; UPLOAD_ALLOWED_CONTAINERS)"
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (var, value) in [
            ("UPLOAD_MAX_BYTES", "0"),
            ("UPLOAD_MAX_BYTES", "-5"),
            ("UPLOAD_MAX_BYTES", "10 parsecs"),
            ("UPLOAD_MAX_BYTES", "99999999999TB"),
            ("UPLOAD_MAX_DURATION_SECONDS", "0"),
            ("UPLOAD_MAX_DURATION_SECONDS", "1.5"),
            ("UPLOAD_ALLOWED_CONTAINERS", "mp4,video/mp4"),
            ("REVIEW_BLOCK_ACTION", "remove"),
        ] {
            let err = UploadLimits::from_env(&Env::from_pairs([(var, value)])).unwrap_err();
            assert_eq!(err.var, var, "{value}");
        }
        assert_eq!(parse_bytes("2GiB"), Some(2 << 30));
        assert_eq!(parse_bytes("500 MB"), Some(500_000_000));
        assert_eq!(parse_bytes("12"), Some(12));
    }

    #[test]
    fn file_types_a_client_may_send() {
        assert!(is_file_type("mp4") && is_file_type(".tar.gz"));
        assert!(!is_file_type("") && !is_file_type("video/mp4") && !is_file_type(&"a".repeat(33)));
    }
}
