use percent_encoding::percent_decode_str;
use proptest::prelude::*;

use super::params::encode;
use super::*;

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
    let err = UploadSignatureParams::builder("IamSecretId", 1_571_215_095, 1_886_575_095, 220_625)
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
        ParamError::OutOfRange {
            key: "taskPriority",
            value: "-11".to_owned(),
            expected: "between -10 and 10"
        }
    );
    assert_eq!(
        with(11).unwrap_err(),
        ParamError::OutOfRange {
            key: "taskPriority",
            value: "11".to_owned(),
            expected: "between -10 and 10"
        }
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
        vec![Problem::Param(ParamError::ValidityTooLong(315_360_000))]
    );
    assert_eq!(
        inspection.problems[0].to_string(),
        "expireTime - currentTimeStamp must be at most 7776000 s (VOD's 90-day maximum), got 315360000 s"
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
            Problem::Param(ParamError::ExpireNotAfterCurrent {
                current_time: 1_700_000_000,
                expire_time: 1_700_000_000
            }),
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
            Problem::Param(ParamError::SecretIdEmpty),
            Problem::Param(ParamError::OutOfRange {
                key: "random",
                value: "4294967296".to_owned(),
                expected: "an unsigned 32-bit integer (0 to 4294967295)"
            }),
            Problem::NotAnInteger {
                key: "classId",
                value: "x".to_owned()
            },
            Problem::Param(ParamError::OutOfRange {
                key: "taskPriority",
                value: "11".to_owned(),
                expected: "between -10 and 10"
            }),
            Problem::Param(ParamError::TaskNotifyModeInvalid("finish".to_owned())),
            Problem::InvalidOneTimeValid("2".to_owned()),
            Problem::Param(ParamError::SourceContextTooLong(251)),
            Problem::Param(ParamError::SessionContextTooLong(1001)),
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
        let encoded = encode(&value).to_string();
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
