use super::events::{ConfirmEventsBody, PullEventsBody};
use super::*;

const VOD_KEY: &str = "TESTSECRETKEY0123456789abcdefABCD";
const VOD_ID: &str = "AKIDTESTSECRETID0123456789";

fn vector_client() -> VodApi {
    VodApi::new(
        Endpoint::parse(DEFAULT_ENDPOINT).unwrap(),
        Some(1_500_000_001),
    )
    .unwrap()
    .with_clock(|| 1_700_000_000)
}

fn header<'a>(headers: &'a [(&'static str, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
        .unwrap()
}

#[test]
fn requests_reproduce_the_vod_vectors() {
    let api = vector_client();
    let credentials = ApiCredentials::new(VOD_ID, Secret::new(VOD_KEY));
    let (body, headers) = api.signed_request(&credentials, "PullEvents", &Empty {});
    assert_eq!(body, r#"{"SubAppId":1500000001}"#);
    assert!(
        header(&headers, "Authorization").ends_with(
            "Signature=a095cfafbc0165d8da1e9262b5a0fb543844f19d760d9fddf91f0d98173b6eed"
        )
    );
    assert_eq!(header(&headers, "Host"), "vod.tencentcloudapi.com");
    assert_eq!(header(&headers, "X-TC-Version"), "2018-07-17");
    assert_eq!(header(&headers, "X-TC-Timestamp"), "1700000000");
    assert_eq!(header(&headers, "Content-Type"), CONTENT_TYPE);

    let handles = ["EventHandle1".to_owned(), "EventHandle2".to_owned()];
    let (body, headers) = api.signed_request(
        &credentials,
        "ConfirmEvents",
        &ConfirmEventsBody {
            event_handles: &handles,
        },
    );
    assert_eq!(
        body,
        r#"{"EventHandles":["EventHandle1","EventHandle2"],"SubAppId":1500000001}"#
    );
    assert!(
        header(&headers, "Authorization").ends_with(
            "Signature=1fbf6ec19afba7cb823cfd6f64ceaa55048a0ebf472c5e79022908ff10d5328b"
        )
    );
}

#[test]
fn no_sub_app_no_region_header() {
    let api = VodApi::new(Endpoint::parse("http://127.0.0.1:9999").unwrap(), None).unwrap();
    let credentials = ApiCredentials::new(VOD_ID, Secret::new(VOD_KEY));
    let (body, headers) = api.signed_request(&credentials, "PullEvents", &Empty {});
    assert_eq!(body, "{}");
    assert_eq!(header(&headers, "Host"), "127.0.0.1:9999");
    assert!(headers.iter().all(|(n, _)| *n != "X-TC-Region"));
}

#[test]
fn config_change_sends_only_what_is_set_and_hides_the_key() {
    let change = EventConfigChange {
        mode: Some(Mode::Pull),
        upload_media_complete_event_switch: Some(Switch::On),
        sign_key: Some(Secret::new("VodCallbackKey123")),
        ..EventConfigChange::default()
    };
    let api = vector_client();
    let credentials = ApiCredentials::new(VOD_ID, Secret::new(VOD_KEY));
    let (body, _) = api.signed_request(&credentials, "ModifyEventConfig", &change);
    assert_eq!(
        body,
        r#"{"Mode":"PULL","UploadMediaCompleteEventSwitch":"ON","SignKey":"VodCallbackKey123","SubAppId":1500000001}"#
    );
    assert!(!format!("{change:?}").contains("VodCallbackKey123"));
    assert!(EventConfigChange::default().is_empty() && !change.is_empty());
}

#[test]
fn errors_are_decoded_from_http_200_bodies() {
    let body = br#"{"Response":{"Error":{"Code":"RequestLimitExceeded","Message":"too fast"},"RequestId":"r-1"}}"#;
    let error = decode::<Ignored>("PullEvents", 200, body).unwrap_err();
    assert_eq!(error.code(), Some("RequestLimitExceeded"));
    assert!(error.is_retryable());
    assert_eq!(
        error.to_string(),
        "VOD PullEvents: RequestLimitExceeded: too fast (RequestId r-1)"
    );
    let auth = br#"{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"bad"},"RequestId":"r-2"}}"#;
    let error = decode::<Ignored>("PullEvents", 200, auth).unwrap_err();
    assert!(!error.is_retryable() && !error.is_invalid_parameter());
    let expired = br#"{"Response":{"Error":{"Code":"InvalidParameterValue","Message":"handle expired"},"RequestId":"r-3"}}"#;
    assert!(
        decode::<Ignored>("ConfirmEvents", 200, expired)
            .unwrap_err()
            .is_invalid_parameter()
    );
    for code in [
        "InternalError",
        "InternalError.DBError",
        "RequestLimitExceeded.UinLimitExceeded",
    ] {
        let body = format!(
            r#"{{"Response":{{"Error":{{"Code":"{code}","Message":""}},"RequestId":"r"}}}}"#
        );
        assert!(
            decode::<Ignored>("PullEvents", 200, body.as_bytes())
                .unwrap_err()
                .is_retryable(),
            "{code}"
        );
    }
}

#[test]
fn statuses_and_garbage() {
    let error = decode::<Ignored>("PullEvents", 502, b"<html>bad gateway</html>").unwrap_err();
    assert!(matches!(error, VodApiError::Status { status: 502, .. }) && error.is_retryable());
    let error = decode::<Ignored>("PullEvents", 403, b"").unwrap_err();
    assert!(!error.is_retryable());
    let error = decode::<Ignored>("PullEvents", 200, b"{\"secret\":1}").unwrap_err();
    assert!(matches!(error, VodApiError::Decode { .. }));
    assert!(
        !error.to_string().contains("secret"),
        "never quotes the body"
    );
}

#[test]
fn pull_events_shapes() {
    let fixture = include_str!("../../../../tests/fixtures/callbacks/pull_events_response.json");
    let (body, request_id): (PullEventsBody, String) =
        decode("PullEvents", 200, fixture.as_bytes()).unwrap();
    assert_eq!(request_id, "335bdaa3-db0e-46ce-9946-51941d9cb0f5");
    assert_eq!(body.event_set.unwrap().len(), 2);
    let (empty, _): (PullEventsBody, String) =
        decode("PullEvents", 200, br#"{"Response":{"RequestId":"x"}}"#).unwrap();
    assert!(empty.event_set.is_none());
    let (nulls, _): (PullEventsBody, String) = decode(
        "PullEvents",
        200,
        br#"{"Response":{"EventSet":[null,{"EventType":"X"}],"RequestId":"x"}}"#,
    )
    .unwrap();
    assert_eq!(nulls.event_set.unwrap().len(), 2);
}

#[test]
fn describe_keeps_unknown_fields() {
    let body = br#"{"Response":{"Mode":"PUSH","NotificationUrl":"https://x/y","UploadMediaCompleteEventSwitch":"ON","DeleteMediaCompleteEventSwitch":"OFF","NewSwitch":"ON","RequestId":"r"}}"#;
    let (config, _): (EventConfig, String) = decode("DescribeEventConfig", 200, body).unwrap();
    assert_eq!(config.mode.as_deref(), Some("PUSH"));
    assert_eq!(config.other["NewSwitch"], "ON");
    assert!(config.persistence_complete_event_switch.is_none());
}

#[test]
fn endpoints() {
    assert_eq!(
        Endpoint::parse("https://vod.tencentcloudapi.com/")
            .unwrap()
            .host,
        "vod.tencentcloudapi.com"
    );
    assert_eq!(
        Endpoint::parse("http://localhost:8080").unwrap().host,
        "localhost:8080"
    );
    for bad in [
        "http://vod.tencentcloudapi.com",
        "ftp://x",
        "not a url",
        "https://u:p@x",
    ] {
        assert!(Endpoint::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn backoff_grows_and_is_capped() {
    let policy = RetryPolicy {
        attempts: 5,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_millis(300),
    };
    for _ in 0..50 {
        let first = policy.delay(1);
        assert!((50..=100).contains(&first.as_millis()), "{first:?}");
        let third = policy.delay(3);
        assert!((150..=300).contains(&third.as_millis()), "{third:?}");
        assert!(policy.delay(40) <= Duration::from_millis(300));
    }
}

#[test]
fn modes_and_switches_parse() {
    assert_eq!("pull".parse::<Mode>(), Ok(Mode::Pull));
    assert_eq!("PUSH".parse::<Mode>(), Ok(Mode::Push));
    assert!("both".parse::<Mode>().is_err());
    assert_eq!("on".parse::<Switch>(), Ok(Switch::On));
    assert!("maybe".parse::<Switch>().is_err());
}

#[test]
fn credentials_never_print() {
    let credentials = ApiCredentials::new("AKID1", Secret::new("k"));
    assert_eq!(format!("{credentials:?}"), "ApiCredentials([REDACTED])");
}
