//! Upload policy: the server, not the client, decides what a signature allows.
//!
//! A VOD signature fixes the task flow (`procedure`), category (`classId`), sub-application,
//! storage region and validity of the upload it authorises. Those choices cost money and decide
//! where content lands, so they come from configuration. A client may ask for another
//! `procedure`, `classId`, `storageRegion` or `validitySeconds` only where the deployment
//! allow-lists it; anything else is refused with 403 naming the parameter, and unknown
//! parameters are a 400, so a typo never silently falls back to a default. `sourceContext` and
//! `sessionContext` always belong to the server: they carry the attribution token.
//!
//! Validity defaults to two hours because the Android and iOS SDKs use one signature for a whole
//! publish (a large upload must finish inside it); single-use signatures (`oneTimeValid`) are off
//! by default for the same reason and can be turned on for web-only apps, whose SDK fetches a
//! fresh signature before every step.

use std::collections::BTreeSet;

use crate::attribution::Meta;
use crate::ingest::uploads::limits::is_file_type;
use crate::platform::config::{ConfigError, Env};
use crate::vod::signature::{
    MAX_VALIDITY_SECS, TASK_PRIORITY, TaskNotifyMode, check_procedure as procedure_rule,
    check_storage_region as region_rule,
};

/// Default signature validity: 2 hours.
pub(crate) const DEFAULT_VALIDITY_SECS: u64 = 7_200;

/// The deployment's upload policy, from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadPolicy {
    procedure: Option<String>,
    class_id: Option<u64>,
    sub_app_id: Option<u64>,
    storage_region: Option<String>,
    task_notify_mode: Option<TaskNotifyMode>,
    task_priority: Option<i8>,
    validity_secs: u64,
    one_time_valid: bool,
    allowed_procedures: BTreeSet<String>,
    allowed_class_ids: BTreeSet<u64>,
    allowed_storage_regions: BTreeSet<String>,
    max_client_validity_secs: Option<u64>,
}

/// What one signature will carry, after the policy has ruled on a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub procedure: Option<String>,
    pub class_id: Option<u64>,
    pub sub_app_id: Option<u64>,
    pub storage_region: Option<String>,
    /// Only set together with `procedure`, where VOD gives them meaning.
    pub task_notify_mode: Option<TaskNotifyMode>,
    pub task_priority: Option<i8>,
    pub validity_secs: u64,
    pub one_time_valid: bool,
}

impl UploadPolicy {
    /// Reads `VOD_PROCEDURE`, `VOD_CLASS_ID`, `VOD_SUB_APP_ID`, `VOD_STORAGE_REGION`,
    /// `VOD_TASK_NOTIFY_MODE`, `VOD_TASK_PRIORITY`, `SIGN_VALIDITY_SECONDS`, `SIGN_ONE_TIME`,
    /// and the client allow-lists `SIGN_ALLOWED_PROCEDURES`, `SIGN_ALLOWED_CLASS_IDS`,
    /// `SIGN_ALLOWED_STORAGE_REGIONS`, `SIGN_MAX_CLIENT_VALIDITY_SECONDS`.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let procedure = env
            .non_empty("VOD_PROCEDURE")
            .map(|p| check_procedure("VOD_PROCEDURE", p))
            .transpose()?;
        let storage_region = env
            .non_empty("VOD_STORAGE_REGION")
            .map(|r| check_region("VOD_STORAGE_REGION", r))
            .transpose()?;
        let task_priority: Option<i8> =
            env.parse_opt("VOD_TASK_PRIORITY", "an integer from -10 to 10")?;
        if let Some(p) = task_priority
            && !TASK_PRIORITY.contains(i128::from(p))
        {
            return Err(ConfigError::invalid(
                "VOD_TASK_PRIORITY",
                format!("must be {}, got {p}", TASK_PRIORITY.expected()),
            ));
        }
        let validity_secs = check_validity(
            "SIGN_VALIDITY_SECONDS",
            env.parse_or(
                "SIGN_VALIDITY_SECONDS",
                DEFAULT_VALIDITY_SECS,
                "a whole number of seconds",
            )?,
        )?;
        let max_client_validity_secs = env
            .parse_opt(
                "SIGN_MAX_CLIENT_VALIDITY_SECONDS",
                "a whole number of seconds",
            )?
            .map(|v| check_validity("SIGN_MAX_CLIENT_VALIDITY_SECONDS", v))
            .transpose()?;
        Ok(Self {
            procedure,
            class_id: env.parse_opt("VOD_CLASS_ID", "a non-negative integer")?,
            sub_app_id: env.parse_opt("VOD_SUB_APP_ID", "a non-negative integer")?,
            storage_region,
            task_notify_mode: env.parse_opt("VOD_TASK_NOTIFY_MODE", "Finish, Change or None")?,
            task_priority,
            validity_secs,
            one_time_valid: env.flag("SIGN_ONE_TIME", false)?,
            allowed_procedures: env
                .list("SIGN_ALLOWED_PROCEDURES")
                .iter()
                .map(|p| check_procedure("SIGN_ALLOWED_PROCEDURES", p))
                .collect::<Result<_, _>>()?,
            allowed_class_ids: env
                .list("SIGN_ALLOWED_CLASS_IDS")
                .iter()
                .map(|c| {
                    c.parse().map_err(|_| {
                        ConfigError::invalid(
                            "SIGN_ALLOWED_CLASS_IDS",
                            format!("expected comma-separated non-negative integers, got {c:?}"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
            allowed_storage_regions: env
                .list("SIGN_ALLOWED_STORAGE_REGIONS")
                .iter()
                .map(|r| check_region("SIGN_ALLOWED_STORAGE_REGIONS", r))
                .collect::<Result<_, _>>()?,
            max_client_validity_secs,
        })
    }

    /// Rules on a client's request: the configured defaults, overridden only where allowed.
    /// `meta` and `uploadId` name the upload, not what the signature allows: `sign` reads them.
    pub fn decide(&self, request: SignRequest) -> Result<Grant, PolicyError> {
        let procedure = match request.procedure {
            Some(p) if Some(&p) != self.procedure.as_ref() => {
                if !self.allowed_procedures.contains(&p) {
                    return Err(PolicyError::NotAllowed("procedure"));
                }
                Some(p)
            }
            _ => self.procedure.clone(),
        };
        let class_id = match request.class_id {
            Some(c) if Some(c) != self.class_id => {
                if !self.allowed_class_ids.contains(&c) {
                    return Err(PolicyError::NotAllowed("classId"));
                }
                Some(c)
            }
            _ => self.class_id,
        };
        let storage_region = match request.storage_region {
            Some(r) if Some(&r) != self.storage_region.as_ref() => {
                if !self.allowed_storage_regions.contains(&r) {
                    return Err(PolicyError::NotAllowed("storageRegion"));
                }
                Some(r)
            }
            _ => self.storage_region.clone(),
        };
        let validity_secs = match request.validity_seconds {
            Some(v) if v != self.validity_secs => match self.max_client_validity_secs {
                Some(max) if (1..=max).contains(&v) => v,
                _ => return Err(PolicyError::NotAllowed("validitySeconds")),
            },
            _ => self.validity_secs,
        };
        let with_procedure = procedure.is_some();
        Ok(Grant {
            procedure,
            class_id,
            sub_app_id: self.sub_app_id,
            storage_region,
            task_notify_mode: self.task_notify_mode.filter(|_| with_procedure),
            task_priority: self.task_priority.filter(|_| with_procedure),
            validity_secs,
            one_time_valid: self.one_time_valid,
        })
    }
}

/// The parameters a client may send (JSON body or query string; all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignRequest {
    pub procedure: Option<String>,
    pub class_id: Option<u64>,
    pub storage_region: Option<String>,
    pub validity_seconds: Option<u64>,
    pub meta: Option<Meta>,
    /// The upload to refresh, as sent: `sign` checks it against the caller (`Upload::verify`).
    pub upload_id: Option<String>,
    /// The size the client declares for its file, in bytes (advisory: checked against
    /// `UPLOAD_MAX_BYTES` before signing, and the real file after upload).
    pub file_size: Option<u64>,
    /// The extension or container name the client declares for its file (advisory, like
    /// `file_size`, against `UPLOAD_ALLOWED_CONTAINERS`).
    pub file_type: Option<String>,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// 403: the parameter is valid but this deployment does not let clients choose it.
    #[error("{0} is not allowed: this deployment does not let clients choose that value")]
    NotAllowed(&'static str),
    /// 403: the parameter is always set by the server.
    #[error("{0} is set by the server and cannot be sent by clients")]
    ServerOwned(&'static str),
    /// 403: what the client declares about its file breaks an upload limit.
    #[error("{0}")]
    UploadNotAllowed(String),
    /// 400: the request is malformed.
    #[error("{0}")]
    BadRequest(String),
}

impl SignRequest {
    /// Parses an optional JSON object body. An empty body means "all defaults".
    pub fn from_json(body: &[u8]) -> Result<Self, PolicyError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        let object: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body)
            .map_err(|e| PolicyError::BadRequest(format!("the body must be a JSON object: {e}")))?;
        Self::from_fields(object.into_iter().map(|(key, value)| {
            let value = match value {
                serde_json::Value::String(s) => Field::Text(s),
                serde_json::Value::Number(n) => Field::Number(n.as_u64()),
                _ => Field::Other,
            };
            (key, value)
        }))
    }

    /// Parses a query string (`GET`), with the same names as the JSON body.
    pub fn from_query(query: &str) -> Result<Self, PolicyError> {
        Self::from_fields(
            form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), Field::Text(v.into_owned()))),
        )
    }

    fn from_fields(fields: impl Iterator<Item = (String, Field)>) -> Result<Self, PolicyError> {
        let mut request = Self::default();
        let mut seen = BTreeSet::new();
        for (key, value) in fields {
            if !seen.insert(key.clone()) {
                return Err(PolicyError::BadRequest(format!(
                    "parameter {} appears more than once",
                    printable(&key)
                )));
            }
            match key.as_str() {
                "procedure" => {
                    request.procedure = Some(
                        check_procedure("procedure", &value.text("procedure")?)
                            .map_err(|e| PolicyError::BadRequest(e.message))?,
                    )
                }
                "classId" => request.class_id = Some(value.integer("classId")?),
                "storageRegion" => {
                    request.storage_region = Some(
                        check_region("storageRegion", &value.text("storageRegion")?)
                            .map_err(|e| PolicyError::BadRequest(e.message))?,
                    )
                }
                "validitySeconds" => {
                    request.validity_seconds = Some(value.integer("validitySeconds")?)
                }
                "meta" => {
                    request.meta = Some(
                        Meta::parse(&value.text("meta")?)
                            .map_err(|e| PolicyError::BadRequest(e.to_string()))?,
                    )
                }
                "uploadId" => request.upload_id = Some(value.text("uploadId")?),
                "fileSize" => request.file_size = Some(value.integer("fileSize")?),
                "fileType" => {
                    let file_type = value.text("fileType")?;
                    if !is_file_type(&file_type) {
                        return Err(PolicyError::BadRequest(
                            "fileType must be a file extension or container name such as mp4: \
                             1 to 32 of letters, digits, '.', '_' and '-'"
                                .to_owned(),
                        ));
                    }
                    request.file_type = Some(file_type);
                }
                "sourceContext" => return Err(PolicyError::ServerOwned("sourceContext")),
                "sessionContext" => return Err(PolicyError::ServerOwned("sessionContext")),
                _ => {
                    return Err(PolicyError::BadRequest(format!(
                        "unknown parameter {}; accepted: procedure, classId, storageRegion, validitySeconds, meta, uploadId, fileSize, fileType",
                        printable(&key)
                    )));
                }
            }
        }
        Ok(request)
    }
}

enum Field {
    Text(String),
    Number(Option<u64>),
    Other,
}

impl Field {
    fn text(self, name: &str) -> Result<String, PolicyError> {
        match self {
            Self::Text(s) => Ok(s),
            _ => Err(PolicyError::BadRequest(format!("{name} must be a string"))),
        }
    }

    fn integer(self, name: &str) -> Result<u64, PolicyError> {
        let bad = || PolicyError::BadRequest(format!("{name} must be a non-negative integer"));
        match self {
            Self::Number(Some(n)) => Ok(n),
            Self::Text(s) => s.parse().map_err(|_| bad()),
            _ => Err(bad()),
        }
    }
}

/// A parameter name fit for an error message: bounded, quoted, escaped.
fn printable(key: &str) -> String {
    let short: String = key.chars().take(40).collect();
    format!("{short:?}")
}

/// VOD's `procedure` rule, worded for whoever set `var` (an operator or, for `procedure`, a client).
fn check_procedure(var: &'static str, value: &str) -> Result<String, ConfigError> {
    procedure_rule(value)
        .map(|()| value.to_owned())
        .map_err(|_| {
            ConfigError::invalid(
                var,
                "a procedure (task-flow template name) must be 1 to 128 characters without control characters",
            )
        })
}

/// VOD's `storageRegion` rule, worded like [`check_procedure`].
fn check_region(var: &'static str, value: &str) -> Result<String, ConfigError> {
    region_rule(value).map(|()| value.to_owned()).map_err(|_| {
        ConfigError::invalid(
            var,
            "a storage region looks like ap-chongqing: 1 to 32 of a-z, 0-9 and '-'",
        )
    })
}

fn check_validity(var: &'static str, secs: u64) -> Result<u64, ConfigError> {
    if (1..=MAX_VALIDITY_SECS).contains(&secs) {
        Ok(secs)
    } else {
        Err(ConfigError::invalid(
            var,
            format!(
                "must be between 1 and {MAX_VALIDITY_SECS} seconds (VOD's 90-day maximum), got {secs}"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(pairs: &[(&str, &str)]) -> UploadPolicy {
        UploadPolicy::from_env(&Env::from_pairs(pairs.iter().copied())).unwrap()
    }

    #[test]
    fn defaults_are_two_hours_reusable_no_procedure() {
        let grant = policy(&[]).decide(SignRequest::default()).unwrap();
        assert_eq!(grant.validity_secs, 7_200);
        assert!(!grant.one_time_valid);
        assert_eq!(grant.procedure, None);
    }

    #[test]
    fn notify_mode_and_priority_only_with_a_procedure() {
        let p = policy(&[
            ("VOD_TASK_NOTIFY_MODE", "Change"),
            ("VOD_TASK_PRIORITY", "3"),
        ]);
        let grant = p.decide(SignRequest::default()).unwrap();
        assert_eq!((grant.task_notify_mode, grant.task_priority), (None, None));
        let p = policy(&[
            ("VOD_PROCEDURE", "Review"),
            ("VOD_TASK_NOTIFY_MODE", "Change"),
            ("VOD_TASK_PRIORITY", "3"),
        ]);
        let grant = p.decide(SignRequest::default()).unwrap();
        assert_eq!(grant.task_notify_mode, Some(TaskNotifyMode::Change));
        assert_eq!(grant.task_priority, Some(3));
    }

    #[test]
    fn client_choices_need_allow_lists() {
        let p = policy(&[("VOD_PROCEDURE", "Default")]);
        for (request, param) in [
            (r#"{"procedure":"Other"}"#, "procedure"),
            (r#"{"classId":7}"#, "classId"),
            (r#"{"storageRegion":"ap-singapore"}"#, "storageRegion"),
            (r#"{"validitySeconds":60}"#, "validitySeconds"),
        ] {
            let request = SignRequest::from_json(request.as_bytes()).unwrap();
            assert_eq!(p.decide(request), Err(PolicyError::NotAllowed(param)));
        }
        let same = SignRequest::from_json(br#"{"procedure":"Default"}"#).unwrap();
        assert_eq!(
            p.decide(same).unwrap().procedure.as_deref(),
            Some("Default")
        );
    }

    #[test]
    fn allow_listed_choices_pass() {
        let p = policy(&[
            ("SIGN_ALLOWED_PROCEDURES", "A, B"),
            ("SIGN_ALLOWED_CLASS_IDS", "1,2"),
            ("SIGN_ALLOWED_STORAGE_REGIONS", "ap-singapore"),
            ("SIGN_MAX_CLIENT_VALIDITY_SECONDS", "86400"),
        ]);
        let request = SignRequest::from_query(
            "procedure=B&classId=2&storageRegion=ap-singapore&validitySeconds=600&meta=post_1&uploadId=x",
        )
        .unwrap();
        assert_eq!(request.meta.as_ref().unwrap().as_str(), "post_1");
        assert_eq!(request.upload_id.as_deref(), Some("x"));
        let declared = SignRequest::from_json(br#"{"fileSize":"1024","fileType":".mp4"}"#).unwrap();
        assert_eq!(declared.file_size, Some(1024));
        assert_eq!(declared.file_type.as_deref(), Some(".mp4"));
        let grant = p.decide(request).unwrap();
        assert_eq!(grant.procedure.as_deref(), Some("B"));
        assert_eq!(grant.class_id, Some(2));
        assert_eq!(grant.storage_region.as_deref(), Some("ap-singapore"));
        assert_eq!(grant.validity_secs, 600);
        let too_long = SignRequest::from_json(br#"{"validitySeconds":86401}"#).unwrap();
        assert_eq!(
            p.decide(too_long),
            Err(PolicyError::NotAllowed("validitySeconds"))
        );
    }

    #[test]
    fn server_owned_and_unknown_parameters() {
        assert_eq!(
            SignRequest::from_json(br#"{"sourceContext":"x"}"#),
            Err(PolicyError::ServerOwned("sourceContext"))
        );
        assert_eq!(
            SignRequest::from_query("sessionContext=x"),
            Err(PolicyError::ServerOwned("sessionContext"))
        );
        for bad in [
            &br#"{"procedur":"x"}"#[..],
            br#"{"classId":-1}"#,
            br#"{"classId":"x"}"#,
            br#"{"meta":"a.b"}"#,
            br#"{"procedure":5}"#,
            br#"{"uploadId":7}"#,
            br#"{"fileSize":-1}"#,
            br#"{"fileType":"video/mp4"}"#,
            br#"[1]"#,
            b"not json",
        ] {
            assert!(
                matches!(SignRequest::from_json(bad), Err(PolicyError::BadRequest(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(matches!(
            SignRequest::from_query("meta=a&meta=b"),
            Err(PolicyError::BadRequest(_))
        ));
        assert_eq!(SignRequest::from_json(b"  "), Ok(SignRequest::default()));
    }

    #[test]
    fn config_errors_name_the_variable() {
        for (var, value) in [
            ("VOD_TASK_PRIORITY", "11"),
            ("VOD_TASK_NOTIFY_MODE", "finish"),
            ("SIGN_VALIDITY_SECONDS", "7776001"),
            ("SIGN_VALIDITY_SECONDS", "0"),
            ("VOD_STORAGE_REGION", "AP_X"),
            ("SIGN_ALLOWED_CLASS_IDS", "1,x"),
            ("SIGN_ONE_TIME", "maybe"),
        ] {
            let err = UploadPolicy::from_env(&Env::from_pairs([(var, value)])).unwrap_err();
            assert_eq!(err.var, var);
        }
    }
}
