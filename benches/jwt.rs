//! Bearer-token verification through `JwtVerifier::verify`, one benchmark per accepted algorithm.
//!
//! The asymmetric keys are generated here (aws-lc-rs, as in tests/jwt.rs) and published as a JWKS
//! by a local server started before the measurements. The verifier downloads it once
//! (`prefetch`), so the measured loop is verification from the cache: shape checks, header
//! parse, key lookup, signature, claims.

use std::hint::black_box;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256,
};
use axum::Router;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use tokio::runtime::Runtime;
use vodgate::auth::jwt::{Hs256Keys, JwtSettings, JwtVerifier};
use vodgate::platform::secret::SecretList;

const ISSUER: &str = "https://issuer.test";
const AUDIENCE: &str = "vodgate-sign";
const HS256_SECRET: &str = "benchmark-hs256-secret-with-32+-bytes";

/// The private keys whose public halves the JWKS serves.
struct Keys {
    rsa: RsaKeyPair,
    ec: EcdsaKeyPair,
    ed: Ed25519KeyPair,
}

impl Keys {
    fn generate() -> Self {
        Self {
            rsa: RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key"),
            ec: EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("P-256 key"),
            ed: Ed25519KeyPair::generate().expect("Ed25519 key"),
        }
    }

    fn jwks(&self) -> String {
        let rsa = self.rsa.public_key();
        let point = self.ec.public_key().as_ref();
        json!({"keys": [
            {"kty": "RSA", "kid": "rsa-1", "use": "sig", "alg": "RS256",
             "n": b64(rsa.modulus().big_endian_without_leading_zero()),
             "e": b64(rsa.exponent().big_endian_without_leading_zero())},
            {"kty": "EC", "kid": "ec-1", "crv": "P-256",
             "x": b64(&point[1..33]), "y": b64(&point[33..65])},
            {"kty": "OKP", "kid": "ed-1", "crv": "Ed25519", "alg": "EdDSA",
             "x": b64(self.ed.public_key())},
        ]})
        .to_string()
    }

    /// `Authorization` header values, one per algorithm, for a caller allowed to upload.
    fn headers(&self) -> [(&'static str, String); 4] {
        let random = SystemRandom::new();
        let hs256 = |input: &[u8]| {
            let key = hmac::Key::new(hmac::HMAC_SHA256, HS256_SECRET.as_bytes());
            hmac::sign(&key, input).as_ref().to_vec()
        };
        let rs256 = |input: &[u8]| {
            let mut signature = vec![0; self.rsa.public_modulus_len()];
            self.rsa
                .sign(&RSA_PKCS1_SHA256, &random, input, &mut signature)
                .expect("RSA signature");
            signature
        };
        let es256 = |input: &[u8]| {
            let signature = self.ec.sign(&random, input).expect("ECDSA signature");
            signature.as_ref().to_vec()
        };
        let eddsa = |input: &[u8]| self.ed.sign(input).as_ref().to_vec();
        [
            (
                "HS256",
                bearer(json!({"alg": "HS256", "typ": "JWT"}), hs256),
            ),
            (
                "RS256",
                bearer(json!({"alg": "RS256", "typ": "JWT", "kid": "rsa-1"}), rs256),
            ),
            (
                "ES256",
                bearer(json!({"alg": "ES256", "typ": "JWT", "kid": "ec-1"}), es256),
            ),
            (
                "EdDSA",
                bearer(json!({"alg": "EdDSA", "typ": "JWT", "kid": "ed-1"}), eddsa),
            ),
        ]
    }
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `Bearer <token>` with typical identity-provider claims, valid for an hour.
fn bearer(header: serde_json::Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let claims = json!({
        "sub": "user-42", "iss": ISSUER, "aud": AUDIENCE,
        "iat": now, "exp": now + 3_600, "scope": "openid profile vod:upload",
    });
    let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let signature = sign(input.as_bytes());
    format!("Bearer {input}.{}", b64(signature))
}

/// Serves `jwks` on a local port and returns a verifier that has downloaded it.
fn verifier(runtime: &Runtime, jwks: String) -> JwtVerifier {
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local address");
        let app = Router::new().route("/jwks.json", get(move || async move { jwks }));
        tokio::spawn(async move { axum::serve(listener, app).await });
        let verifier = JwtVerifier::new(JwtSettings {
            jwks_url: Some(format!("http://{addr}/jwks.json")),
            issuer: Some(ISSUER.to_owned()),
            audience: Some(AUDIENCE.to_owned()),
            leeway_secs: 30,
            upload_scope: Some("vod:upload".to_owned()),
        })
        .expect("valid settings");
        verifier.prefetch().await;
        verifier
    })
}

fn jwt(c: &mut Criterion) {
    let runtime = Runtime::new().expect("tokio runtime");
    let keys = Keys::generate();
    let verifier = verifier(&runtime, keys.jwks());
    let hs256 = Hs256Keys::new(&SecretList::parse(HS256_SECRET).expect("secret"));

    for (alg, header) in keys.headers() {
        let caller = runtime
            .block_on(verifier.verify(Some(&header), Some(&hs256)))
            .unwrap_or_else(|e| panic!("{alg} token refused: {e}"));
        assert_eq!(caller.sub, "user-42");
        c.bench_function(&format!("jwt/verify/{alg}"), |b| {
            b.to_async(&runtime)
                .iter(|| verifier.verify(Some(black_box(header.as_str())), Some(&hs256)));
        });
    }
}

criterion_group!(benches, jwt);
criterion_main!(benches);
