//! TC3-HMAC-SHA256: how every TencentCloud API 3.0 request is signed.
//!
//! The reliable-callback mode calls VOD's API (`PullEvents`, `ConfirmEvents`, `DescribeEventConfig`,
//! `ModifyEventConfig`), and TencentCloud accepts an API call only with this signature in its
//! `Authorization` header. It is a small, fixed algorithm, so it is written here on the `hmac` and
//! `sha2` crates the service already uses rather than pulled in with a third-party SDK; the
//! official worked examples (in the tests below) pin it down byte for byte.
//!
//! 1. `CanonicalRequest = Method \n / \n Query \n CanonicalHeaders \n SignedHeaders \n hex(sha256(payload))`,
//!    where each signed header is `lower(name):lower(trim(value))\n`, sorted by name, so the
//!    headers block ends in a newline.
//! 2. `StringToSign = TC3-HMAC-SHA256 \n Timestamp \n Date/service/tc3_request \n hex(sha256(CanonicalRequest))`,
//!    `Date` being the UTC date of the timestamp (local time would break around midnight).
//! 3. `SecretSigning = HMAC(HMAC(HMAC("TC3" + SecretKey, Date), service), "tc3_request")`, and the
//!    signature is the lowercase hex of `HMAC(SecretSigning, StringToSign)`.
//!
//! Everything here is pure: no clock, no I/O. The caller passes the timestamp and the header
//! values exactly as they will be sent (a `Content-Type` that gains `; charset=utf-8` on the wire
//! but not in the signature fails with `AuthFailure.SignatureFailure`). The derived keys and the
//! signature are key material: [`SigningKeys`] never prints them.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::platform::secret::Secret;

/// The algorithm name, first in `StringToSign` and in `Authorization`.
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";

/// The request as it will be sent, limited to what the signature covers.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `POST` or `GET`.
    pub method: &'a str,
    /// The canonical query string: empty for POST, the URL-encoded query for GET.
    pub query: &'a str,
    /// The signed headers, name and value as sent (any case, any order). Must include
    /// `Content-Type` and `Host`.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body bytes exactly as sent.
    pub payload: &'a [u8],
}

/// The three keys derived from the SecretKey for one date and service.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKeys {
    /// `HMAC("TC3" + SecretKey, Date)`.
    pub secret_date: [u8; 32],
    /// `HMAC(SecretDate, service)`.
    pub secret_service: [u8; 32],
    /// `HMAC(SecretService, "tc3_request")`: the key that signs.
    pub secret_signing: [u8; 32],
}

impl fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKeys([REDACTED])")
    }
}

/// The result of signing: the `Authorization` value and the parts it is made of.
#[derive(Clone, PartialEq, Eq)]
pub struct Signed {
    /// `TC3-HMAC-SHA256 Credential=<id>/<date>/<service>/tc3_request, SignedHeaders=<list>, Signature=<hex>`.
    pub authorization: String,
    /// The signed header names, lowercase, sorted, `;`-separated.
    pub signed_headers: String,
    /// The lowercase hex signature.
    pub signature: String,
}

impl fmt::Debug for Signed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signed")
            .field("signed_headers", &self.signed_headers)
            .finish_non_exhaustive()
    }
}

/// Signs `request` for `service` (`vod`) at `timestamp` (Unix seconds, sent as `X-TC-Timestamp`).
pub fn sign(
    secret_id: &str,
    secret_key: &Secret,
    service: &str,
    timestamp: i64,
    request: &Request<'_>,
) -> Signed {
    let date = utc_date(timestamp);
    let (canonical, signed_headers) = canonical_request(request);
    let to_sign = string_to_sign(timestamp, &date, service, &canonical);
    let keys = signing_keys(secret_key, &date, service);
    let signature = signature(&keys, &to_sign);
    Signed {
        authorization: format!(
            "{ALGORITHM} Credential={secret_id}/{date}/{service}/tc3_request, SignedHeaders={signed_headers}, Signature={signature}"
        ),
        signed_headers,
        signature,
    }
}

/// The UTC date (`YYYY-MM-DD`) of a Unix timestamp. A timestamp outside the years −9999…9999
/// (no real clock) gives `1970-01-01`, and so a signature the server refuses, instead of a panic.
pub fn utc_date(timestamp: i64) -> String {
    let at = OffsetDateTime::from_unix_timestamp(timestamp).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}",
        at.year(),
        u8::from(at.month()),
        at.day()
    )
}

/// Lowercase hex of SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The canonical request and the `SignedHeaders` list.
pub fn canonical_request(request: &Request<'_>) -> (String, String) {
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value.trim().to_ascii_lowercase()))
        .collect();
    headers.sort();
    let canonical_headers: String = headers
        .iter()
        .map(|(name, value)| format!("{name}:{value}\n"))
        .collect();
    let signed_headers = headers
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical = format!(
        "{}\n/\n{}\n{canonical_headers}\n{signed_headers}\n{}",
        request.method,
        request.query,
        sha256_hex(request.payload)
    );
    (canonical, signed_headers)
}

/// `StringToSign` for a canonical request.
pub fn string_to_sign(
    timestamp: i64,
    date: &str,
    service: &str,
    canonical_request: &str,
) -> String {
    format!(
        "{ALGORITHM}\n{timestamp}\n{date}/{service}/tc3_request\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// Derives the signing keys for `date` and `service`.
pub fn signing_keys(secret_key: &Secret, date: &str, service: &str) -> SigningKeys {
    let secret_date = hmac(
        format!("TC3{}", secret_key.expose()).as_bytes(),
        date.as_bytes(),
    );
    let secret_service = hmac(&secret_date, service.as_bytes());
    let secret_signing = hmac(&secret_service, b"tc3_request");
    SigningKeys {
        secret_date,
        secret_service,
        secret_signing,
    }
}

/// The lowercase hex signature of `string_to_sign`.
pub fn signature(keys: &SigningKeys, string_to_sign: &str) -> String {
    hex::encode(hmac(&keys.secret_signing, string_to_sign.as_bytes()))
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
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

    const CVM_TWO_HEADERS: &[(&str, &str)] =
        &[("Content-Type", CVM_CONTENT_TYPE), ("Host", CVM_HOST)];
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
}
