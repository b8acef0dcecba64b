use super::*;

/// The CVM `DescribeInstances` body of examples B–E, `\u` escapes literal.
const CVM_BODY: &str =
    r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
const CVM_TIMESTAMP: i64 = 1_551_113_065;
const CVM_CONTENT_TYPE: &str = "application/json; charset=utf-8";
const CVM_HOST: &str = "cvm.tencentcloudapi.com";

struct Vector {
    name: &'static str,
    secret_key: &'static str,
    method: &'static str,
    query: &'static str,
    headers: &'static [(&'static str, &'static str)],
    payload: &'static str,
    timestamp: i64,
    service: &'static str,
    hashed_canonical_request: &'static str,
    signature: &'static str,
}

const CVM_TWO_HEADERS: &[(&str, &str)] = &[("Content-Type", CVM_CONTENT_TYPE), ("Host", CVM_HOST)];
const CVM_THREE_HEADERS: &[(&str, &str)] = &[
    ("Content-Type", CVM_CONTENT_TYPE),
    ("Host", CVM_HOST),
    ("X-TC-Action", "DescribeInstances"),
];

/// tencent-vod.md §5.4, examples A–E.
const OFFICIAL: [Vector; 5] = [
    Vector {
        name: "A",
        secret_key: "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        method: "GET",
        query: "Limit=10&Offset=0",
        headers: &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Host", CVM_HOST),
        ],
        payload: "",
        timestamp: 1_539_084_154,
        service: "cvm",
        hashed_canonical_request: "91c9c192c14460df6c1ffc69e34e6c5e90708de2a6d282cccf957dbf1aa7f3a7",
        signature: "5da7a33f6993f0614b047e5df4582db9e9bf4672ba50567dba16c6ccf174c474",
    },
    Vector {
        name: "B",
        secret_key: "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        method: "POST",
        query: "",
        headers: CVM_TWO_HEADERS,
        payload: CVM_BODY,
        timestamp: CVM_TIMESTAMP,
        service: "cvm",
        hashed_canonical_request: "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031",
        signature: "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168",
    },
    Vector {
        name: "C",
        secret_key: "Gu5t9xGARNpq86cd98joQYCN3*******",
        method: "POST",
        query: "",
        headers: CVM_TWO_HEADERS,
        payload: CVM_BODY,
        timestamp: CVM_TIMESTAMP,
        service: "cvm",
        hashed_canonical_request: "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031",
        signature: "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c",
    },
    Vector {
        name: "D",
        secret_key: "Gu5t9xGARNpq86cd98joQYCN3*******",
        method: "POST",
        query: "",
        headers: CVM_THREE_HEADERS,
        payload: CVM_BODY,
        timestamp: CVM_TIMESTAMP,
        service: "cvm",
        hashed_canonical_request: "7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84",
        signature: "be4f67d323c78ab9acb7395e43c0dbcf822a9cfac32fea2449a7bc7726b770a3",
    },
    Vector {
        name: "E",
        secret_key: "********************************",
        method: "POST",
        query: "",
        headers: CVM_THREE_HEADERS,
        payload: CVM_BODY,
        timestamp: CVM_TIMESTAMP,
        service: "cvm",
        hashed_canonical_request: "7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84",
        signature: "10b1a37a7301a02ca19a647ad722d5e43b4b3cff309d421d85b46093f6ab6c4f",
    },
];

const VOD_KEY: &str = "TESTSECRETKEY0123456789abcdefABCD";
const VOD_ID: &str = "AKIDTESTSECRETID0123456789";

fn vod_headers(action: &'static str) -> [(&'static str, &'static str); 3] {
    [
        ("Content-Type", "application/json; charset=utf-8"),
        ("Host", "vod.tencentcloudapi.com"),
        ("X-TC-Action", action),
    ]
}

fn request(vector: &Vector) -> Request<'_> {
    Request {
        method: vector.method,
        query: vector.query,
        headers: vector.headers,
        payload: vector.payload.as_bytes(),
    }
}

#[test]
fn hashed_payload_of_the_cvm_body() {
    assert_eq!(
        sha256_hex(CVM_BODY.as_bytes()),
        "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    );
    assert_eq!(
        sha256_hex(b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn official_examples_a_to_e() {
    for vector in &OFFICIAL {
        let (canonical, _) = canonical_request(&request(vector));
        assert_eq!(
            sha256_hex(canonical.as_bytes()),
            vector.hashed_canonical_request,
            "example {}: HashedCanonicalRequest",
            vector.name
        );
        let signed = sign(
            "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
            &Secret::new(vector.secret_key),
            vector.service,
            vector.timestamp,
            &request(vector),
        );
        assert_eq!(
            signed.signature, vector.signature,
            "example {}: Signature",
            vector.name
        );
    }
}

#[test]
fn derived_keys_of_examples_a_b_e() {
    let e = signing_keys(&Secret::new(OFFICIAL[4].secret_key), "2019-02-25", "cvm");
    assert_eq!(
        hex::encode(e.secret_date),
        "da98fb70dcf6b112dc21038d1eeeb3a95c74b4dcb12c1131f864f6066bd02be0"
    );
    assert_eq!(
        hex::encode(e.secret_service),
        "8d70cbefb03939f929db64d32dc2ba89b1095620119fe3e050e2b18c5bd2752f"
    );
    assert_eq!(
        hex::encode(e.secret_signing),
        "b596b923aad85185e2d1f6659d2a062e0a86731226e021e61bfe06f7ed05f5af"
    );
    let b = signing_keys(&Secret::new(OFFICIAL[1].secret_key), "2019-02-25", "cvm");
    assert_eq!(
        hex::encode(b.secret_signing),
        "ac658d5dde49e9bfdd14e04e062f66b05d9f637d44b8a8d845327d4a77f666b1"
    );
    let a = signing_keys(&Secret::new(OFFICIAL[0].secret_key), "2018-10-09", "cvm");
    assert_eq!(
        hex::encode(a.secret_signing),
        "39c4cf287fdff993dc407e649450ae4a0f1e1fd75aedb08d8160e47372e9b62d"
    );
}

#[test]
fn canonical_headers_block_of_examples_d_and_e() {
    let (canonical, signed_headers) = canonical_request(&request(&OFFICIAL[4]));
    assert_eq!(signed_headers, "content-type;host;x-tc-action");
    assert!(canonical.contains(
        "\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\nx-tc-action:describeinstances\n\ncontent-type;host;x-tc-action\n"
    ));
}

#[test]
fn authorization_header_of_example_e() {
    let signed = sign(
        "AKID********************************",
        &Secret::new(OFFICIAL[4].secret_key),
        "cvm",
        CVM_TIMESTAMP,
        &request(&OFFICIAL[4]),
    );
    assert_eq!(
        signed.authorization,
        "TC3-HMAC-SHA256 Credential=AKID********************************/2019-02-25/cvm/tc3_request, \
         SignedHeaders=content-type;host;x-tc-action, \
         Signature=10b1a37a7301a02ca19a647ad722d5e43b4b3cff309d421d85b46093f6ab6c4f"
    );
}

#[test]
fn vod_pull_and_confirm_vectors() {
    for (action, body, expected) in [
        (
            "PullEvents",
            r#"{"SubAppId":1500000001}"#,
            "a095cfafbc0165d8da1e9262b5a0fb543844f19d760d9fddf91f0d98173b6eed",
        ),
        (
            "ConfirmEvents",
            r#"{"EventHandles":["EventHandle1","EventHandle2"],"SubAppId":1500000001}"#,
            "1fbf6ec19afba7cb823cfd6f64ceaa55048a0ebf472c5e79022908ff10d5328b",
        ),
    ] {
        let headers = vod_headers(action);
        let signed = sign(
            VOD_ID,
            &Secret::new(VOD_KEY),
            "vod",
            1_700_000_000,
            &Request {
                method: "POST",
                query: "",
                headers: &headers,
                payload: body.as_bytes(),
            },
        );
        assert_eq!(signed.signature, expected, "{action}");
        assert!(signed.authorization.starts_with(&format!(
            "{ALGORITHM} Credential={VOD_ID}/2023-11-14/vod/tc3_request, "
        )));
    }
}

#[test]
fn header_order_and_case_do_not_matter_but_values_do() {
    let body = br#"{"SubAppId":1500000001}"#;
    let sign_with = |headers: &[(&str, &str)]| {
        sign(
            VOD_ID,
            &Secret::new(VOD_KEY),
            "vod",
            1_700_000_000,
            &Request {
                method: "POST",
                query: "",
                headers,
                payload: body,
            },
        )
        .signature
    };
    let reference = sign_with(&vod_headers("PullEvents"));
    assert_eq!(
        sign_with(&[
            ("x-tc-action", "pullevents"),
            ("HOST", " vod.tencentcloudapi.com "),
            ("content-type", "application/json; charset=utf-8"),
        ]),
        reference
    );
    assert_ne!(
        sign_with(&[
            ("Content-Type", "application/json"),
            ("Host", "vod.tencentcloudapi.com"),
            ("X-TC-Action", "PullEvents"),
        ]),
        reference,
        "the content type is signed byte for byte"
    );
}

#[test]
fn date_is_utc_and_never_panics() {
    assert_eq!(utc_date(1_700_000_000), "2023-11-14");
    assert_eq!(utc_date(1_551_139_199), "2019-02-25");
    assert_eq!(utc_date(1_551_139_200), "2019-02-26");
    assert_eq!(utc_date(i64::MAX), "1970-01-01");
}

#[test]
fn debug_never_prints_key_material() {
    let keys = signing_keys(&Secret::new(VOD_KEY), "2023-11-14", "vod");
    assert_eq!(format!("{keys:?}"), "SigningKeys([REDACTED])");
    let signed = sign(
        VOD_ID,
        &Secret::new(VOD_KEY),
        "vod",
        1_700_000_000,
        &Request {
            method: "POST",
            query: "",
            headers: &vod_headers("PullEvents"),
            payload: b"{}",
        },
    );
    let printed = format!("{signed:?}");
    assert!(!printed.contains(&signed.signature) && !printed.contains(VOD_ID));
}
