//! Black-box tests for `vodgate::auth::jwt`: adversarial tokens built by hand (attack classes from the
//! research notes, §6.5), positive controls, and JWKS fetching against a local server.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256,
};
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vodgate::auth::jwt::{
    AuthError, Caller, Hs256Keys, JwtSettings, JwtSettingsError, JwtVerifier, MAX_TOKEN_BYTES,
};
use vodgate::platform::secret::SecretList;
use vodgate::sign::SignError;
use vodgate::web::ApiError;

const ISSUER: &str = "https://issuer.test";
const AUDIENCE: &str = "vodgate-sign";
const SCOPE: &str = "vod:upload";
const CURRENT_SECRET: &str = "current-hs256-secret-with-at-least-32-bytes!";
const OLD_SECRET: &str = "previous-hs256-secret-still-accepted-32+bytes";

// ---------------------------------------------------------------------------------------------
// Keys and token construction

struct TestKeys {
    rsa: RsaKeyPair,
    rsa2: RsaKeyPair,
    attacker_rsa: RsaKeyPair,
    ec: EcdsaKeyPair,
    ed: Ed25519KeyPair,
}

fn keys() -> &'static TestKeys {
    static KEYS: OnceLock<TestKeys> = OnceLock::new();
    KEYS.get_or_init(|| TestKeys {
        rsa: RsaKeyPair::generate(KeySize::Rsa2048).unwrap(),
        rsa2: RsaKeyPair::generate(KeySize::Rsa2048).unwrap(),
        attacker_rsa: RsaKeyPair::generate(KeySize::Rsa2048).unwrap(),
        ec: EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap(),
        ed: Ed25519KeyPair::generate().unwrap(),
    })
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn rsa_jwk(kid: &str, key: &RsaKeyPair) -> Value {
    let public = key.public_key();
    json!({
        "kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
        "n": b64(public.modulus().big_endian_without_leading_zero()),
        "e": b64(public.exponent().big_endian_without_leading_zero()),
    })
}

fn ec_jwk(kid: &str) -> Value {
    let point = keys().ec.public_key().as_ref().to_vec();
    json!({"kty": "EC", "kid": kid, "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..65])})
}

fn ed_jwk(kid: &str) -> Value {
    json!({"kty": "OKP", "kid": kid, "crv": "Ed25519", "alg": "EdDSA", "x": b64(keys().ed.public_key())})
}

fn default_jwks() -> String {
    json!({"keys": [rsa_jwk("rsa-1", &keys().rsa), ec_jwk("ec-1"), ed_jwk("ed-1")]}).to_string()
}

enum Signer<'a> {
    Hmac(&'a [u8]),
    Rsa(&'a RsaKeyPair),
    Ec,
    Ed,
    Raw(Vec<u8>),
}

impl Signer<'_> {
    fn sign(&self, input: &[u8]) -> Vec<u8> {
        match self {
            Self::Hmac(secret) => hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), input)
                .as_ref()
                .to_vec(),
            Self::Rsa(key) => {
                let mut signature = vec![0; key.public_modulus_len()];
                key.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    input,
                    &mut signature,
                )
                .unwrap();
                signature
            }
            Self::Ec => keys()
                .ec
                .sign(&SystemRandom::new(), input)
                .unwrap()
                .as_ref()
                .to_vec(),
            Self::Ed => keys().ed.sign(input).as_ref().to_vec(),
            Self::Raw(bytes) => bytes.clone(),
        }
    }
}

/// Encodes raw JSON text (so duplicates and odd types survive) and signs it.
fn token(header: &str, payload: &str, signer: &Signer) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let signature = signer.sign(input.as_bytes());
    format!("{input}.{}", b64(signature))
}

fn claims() -> Value {
    json!({
        "sub": "user-42", "iss": ISSUER, "aud": AUDIENCE,
        "exp": now() + 300, "iat": now(), "scope": "openid vod:upload",
    })
}

fn claims_with(changes: Value) -> String {
    let mut claims = claims();
    for (key, value) in changes.as_object().unwrap() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(key);
        } else {
            claims[key] = value.clone();
        }
    }
    claims.to_string()
}

const HS: &str = r#"{"alg":"HS256","typ":"JWT"}"#;
const RS: &str = r#"{"alg":"RS256","typ":"JWT","kid":"rsa-1"}"#;

fn hs256(payload: &str) -> String {
    token(HS, payload, &Signer::Hmac(CURRENT_SECRET.as_bytes()))
}

fn rs256(payload: &str) -> String {
    token(RS, payload, &Signer::Rsa(&keys().rsa))
}

// ---------------------------------------------------------------------------------------------
// A local JWKS server with a request counter

#[derive(Clone)]
struct JwksServer {
    body: Arc<Mutex<String>>,
    hits: Arc<AtomicUsize>,
    /// The status and `Cache-Control` of the JWKS answers.
    answer: Arc<Mutex<(StatusCode, Option<&'static str>)>>,
}

impl JwksServer {
    fn new(body: String) -> Self {
        Self {
            body: Arc::new(Mutex::new(body)),
            hits: Arc::new(AtomicUsize::new(0)),
            answer: Arc::new(Mutex::new((StatusCode::OK, None))),
        }
    }

    fn set_answer(&self, status: StatusCode, cache_control: Option<&'static str>) {
        *self.answer.lock().unwrap() = (status, cache_control);
    }

    fn set_body(&self, body: String) {
        *self.body.lock().unwrap() = body;
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    async fn serve_on(&self, listener: tokio::net::TcpListener) {
        async fn jwks(State(server): State<JwksServer>) -> impl IntoResponse {
            server.hits.fetch_add(1, Ordering::SeqCst);
            let body = server.body.lock().unwrap().clone();
            let (status, cache_control) = *server.answer.lock().unwrap();
            let mut response =
                (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
            if let Some(value) = cache_control {
                response
                    .headers_mut()
                    .insert(header::CACHE_CONTROL, value.parse().unwrap());
            }
            response
        }
        async fn moved() -> impl IntoResponse {
            (StatusCode::FOUND, [(header::LOCATION, "/jwks.json")])
        }
        async fn broken() -> impl IntoResponse {
            (StatusCode::INTERNAL_SERVER_ERROR, default_jwks())
        }
        let app = Router::new()
            .route("/jwks.json", get(jwks))
            .route("/moved", get(moved))
            .route("/broken", get(broken))
            .with_state(self.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
    }

    async fn spawn(&self) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        self.serve_on(listener).await;
        addr
    }
}

fn settings(url: String) -> JwtSettings {
    JwtSettings {
        jwks_url: Some(url),
        issuer: Some(ISSUER.to_owned()),
        audience: Some(AUDIENCE.to_owned()),
        leeway_secs: 0,
        upload_scope: Some(SCOPE.to_owned()),
    }
}

struct Fixture {
    verifier: JwtVerifier,
    hs: Hs256Keys,
}

impl Fixture {
    async fn new() -> Self {
        Self::with_leeway(0).await
    }

    async fn with_leeway(leeway_secs: u64) -> Self {
        let server = JwksServer::new(default_jwks());
        let addr = server.spawn().await;
        let mut settings = settings(format!("http://{addr}/jwks.json"));
        settings.leeway_secs = leeway_secs;
        let verifier = JwtVerifier::new(settings).unwrap();
        verifier.prefetch().await;
        let secrets = SecretList::parse(&format!("{CURRENT_SECRET},{OLD_SECRET}")).unwrap();
        Self {
            verifier,
            hs: Hs256Keys::new(&secrets),
        }
    }

    async fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        self.verify_header(&format!("Bearer {token}")).await
    }

    async fn verify_header(&self, header: &str) -> Result<Caller, AuthError> {
        self.verifier.verify(Some(header), Some(&self.hs)).await
    }

    async fn verify_without_hs(&self, token: &str) -> Result<Caller, AuthError> {
        self.verifier
            .verify(Some(&format!("Bearer {token}")), None)
            .await
    }
}

/// Asserts a rejection with exactly `expected`, and that it is a 401/403 (never 503).
#[track_caller]
fn rejected(result: Result<Caller, AuthError>, expected: AuthError) {
    match result {
        Ok(caller) => panic!("accepted as {caller:?}, expected {expected:?}"),
        Err(error) => {
            assert_eq!(error, expected);
            assert!(matches!(seen(&error).1, 401 | 403), "{error:?}");
            let message = error.to_string();
            assert!(message.len() < 80 && !message.contains("eyJ"), "{message}");
        }
    }
}

/// The reason and status a client of `sign` sees for `error`.
fn seen(error: &AuthError) -> (&'static str, u16) {
    let api = ApiError::from(SignError::Auth(error.clone()));
    (api.reason(), api.status().as_u16())
}

#[track_caller]
fn accepted(result: Result<Caller, AuthError>) {
    assert_eq!(
        result,
        Ok(Caller {
            sub: "user-42".to_owned(),
            claim: None,
        })
    );
}

// ---------------------------------------------------------------------------------------------
// Positive controls

#[tokio::test]
async fn valid_tokens_are_accepted() {
    let f = Fixture::new().await;
    let payload = claims().to_string();
    accepted(f.verify(&hs256(&payload)).await);
    accepted(
        f.verify(&token(HS, &payload, &Signer::Hmac(OLD_SECRET.as_bytes())))
            .await,
    );
    accepted(f.verify(&rs256(&payload)).await);
    accepted(
        f.verify(&token(
            r#"{"alg":"ES256","kid":"ec-1"}"#,
            &payload,
            &Signer::Ec,
        ))
        .await,
    );
    accepted(
        f.verify(&token(
            r#"{"alg":"EdDSA","kid":"ed-1"}"#,
            &payload,
            &Signer::Ed,
        ))
        .await,
    );
    // Scope as an `scp` array or string, audience as an array, header-scheme variations.
    let scp = claims_with(json!({"scope": null, "scp": ["openid", SCOPE]}));
    accepted(f.verify(&rs256(&scp)).await);
    let scp = claims_with(json!({"scope": null, "scp": "openid vod:upload"}));
    accepted(f.verify(&hs256(&scp)).await);
    let aud = claims_with(json!({"aud": ["other", AUDIENCE]}));
    accepted(f.verify(&hs256(&aud)).await);
    let nbf = claims_with(json!({"nbf": now() - 10}));
    accepted(f.verify(&hs256(&nbf)).await);
    accepted(
        f.verify_header(&format!("bearer  {}  ", hs256(&payload)))
            .await,
    );
    // A `kid` on an HS256 token is irrelevant: there is no key lookup for HS256.
    accepted(
        f.verify(&token(
            r#"{"alg":"HS256","kid":"anything"}"#,
            &payload,
            &Signer::Hmac(CURRENT_SECRET.as_bytes()),
        ))
        .await,
    );
}

#[tokio::test]
async fn leeway_is_exact() {
    let expired_30s_ago = claims_with(json!({"exp": now() - 30}));
    let strict = Fixture::new().await;
    rejected(
        strict.verify(&hs256(&expired_30s_ago)).await,
        AuthError::Expired,
    );
    let lenient = Fixture::with_leeway(60).await;
    accepted(lenient.verify(&hs256(&expired_30s_ago)).await);
    let expired_120s_ago = claims_with(json!({"exp": now() - 120}));
    let error = lenient.verify(&hs256(&expired_120s_ago)).await.unwrap_err();
    assert_eq!(error, AuthError::Expired);
    assert_eq!(seen(&error), ("token_expired", 401));
    let nbf_soon = claims_with(json!({"nbf": now() + 30}));
    accepted(lenient.verify(&hs256(&nbf_soon)).await);
    rejected(
        strict.verify(&hs256(&nbf_soon)).await,
        AuthError::NotYetValid,
    );
}

// ---------------------------------------------------------------------------------------------
// Adversarial tokens

#[tokio::test]
async fn alg_none_in_every_spelling() {
    let f = Fixture::new().await;
    let payload = claims().to_string();
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#);
        let unsigned = format!("{}.{}.", b64(&header), b64(&payload));
        rejected(f.verify(&unsigned).await, AuthError::Malformed);
        let signed = token(&header, &payload, &Signer::Hmac(CURRENT_SECRET.as_bytes()));
        rejected(f.verify(&signed).await, AuthError::UnsupportedAlgorithm);
    }
    let empty_alg = token(r#"{"alg":""}"#, &payload, &Signer::Raw(vec![1]));
    rejected(f.verify(&empty_alg).await, AuthError::UnsupportedAlgorithm);
}

#[tokio::test]
async fn algorithms_outside_the_allow_list() {
    let f = Fixture::new().await;
    let payload = claims().to_string();
    for alg in [
        "HS384", "HS512", "PS256", "RS384", "RS512", "ES384", "ES512", "Ed25519",
    ] {
        let header = format!(r#"{{"alg":"{alg}","kid":"rsa-1"}}"#);
        let forged = token(&header, &payload, &Signer::Rsa(&keys().rsa));
        rejected(f.verify(&forged).await, AuthError::UnsupportedAlgorithm);
    }
    let numeric = token(r#"{"alg":256}"#, &payload, &Signer::Raw(vec![1]));
    rejected(f.verify(&numeric).await, AuthError::Malformed);
    let no_alg = token(r#"{"kid":"rsa-1"}"#, &payload, &Signer::Rsa(&keys().rsa));
    rejected(f.verify(&no_alg).await, AuthError::Malformed);
}

#[tokio::test]
async fn rsa_public_key_as_hmac_secret() {
    let f = Fixture::new().await;
    let payload = claims().to_string();
    let public = keys().rsa.public_key();
    let spki_der = AsDer::<PublicKeyX509Der>::as_der(public).unwrap();
    let spki_der = spki_der.as_ref().to_vec();
    let pkcs1_der = public.as_ref().to_vec();
    let body = STANDARD.encode(&spki_der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|line| std::str::from_utf8(line).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        lines.join("\n")
    );
    for secret in [pem.as_bytes(), &spki_der, &pkcs1_der] {
        for header in [HS, r#"{"alg":"HS256","kid":"rsa-1"}"#] {
            let forged = token(header, &payload, &Signer::Hmac(secret));
            // Verifier with the JWKS only: HS256 is not an option at all.
            rejected(
                f.verify_without_hs(&forged).await,
                AuthError::UnsupportedAlgorithm,
            );
            // Verifier with HS256 secrets too: the RSA key is never one of them.
            rejected(f.verify(&forged).await, AuthError::BadSignature);
        }
    }
    // The reverse: an RS256 header over an HMAC made with a configured secret.
    let reverse = token(RS, &payload, &Signer::Hmac(CURRENT_SECRET.as_bytes()));
    rejected(f.verify(&reverse).await, AuthError::BadSignature);
    // Algorithm bound to the key: an ES256 or EdDSA header naming the RSA key's kid.
    let es_on_rsa = token(r#"{"alg":"ES256","kid":"rsa-1"}"#, &payload, &Signer::Ec);
    rejected(f.verify(&es_on_rsa).await, AuthError::UnsupportedAlgorithm);
    let rs_on_ed = token(
        r#"{"alg":"RS256","kid":"ed-1"}"#,
        &payload,
        &Signer::Rsa(&keys().rsa),
    );
    rejected(f.verify(&rs_on_ed).await, AuthError::UnsupportedAlgorithm);
}

#[tokio::test]
async fn tampered_signatures_and_payloads() {
    let f = Fixture::new().await;
    let payload = claims().to_string();
    for good in [hs256(&payload), rs256(&payload)] {
        let (input, signature) = good.rsplit_once('.').unwrap();
        rejected(f.verify(&format!("{input}.")).await, AuthError::Malformed);
        let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
        bytes[10] ^= 0x01;
        rejected(
            f.verify(&format!("{input}.{}", b64(&bytes))).await,
            AuthError::BadSignature,
        );
        let (header, _) = input.split_once('.').unwrap();
        let elevated = claims_with(json!({"sub": "admin"}));
        rejected(
            f.verify(&format!("{header}.{}.{signature}", b64(&elevated)))
                .await,
            AuthError::BadSignature,
        );
    }
    let wrong_secret = token(HS, &payload, &Signer::Hmac(b"guessable"));
    rejected(f.verify(&wrong_secret).await, AuthError::BadSignature);
}

#[tokio::test]
async fn psychic_ecdsa_signature() {
    let f = Fixture::new().await;
    let payload = claims().to_string();
    let zero = token(
        r#"{"alg":"ES256","kid":"ec-1"}"#,
        &payload,
        &Signer::Raw(vec![0; 64]),
    );
    rejected(f.verify(&zero).await, AuthError::BadSignature);
    let short = token(
        r#"{"alg":"ES256","kid":"ec-1"}"#,
        &payload,
        &Signer::Raw(vec![0; 8]),
    );
    rejected(f.verify(&short).await, AuthError::BadSignature);
}

#[tokio::test]
async fn time_claims() {
    let f = Fixture::new().await;
    let cases = [
        (json!({"exp": now() - 120}), AuthError::Expired),
        (json!({"exp": null}), AuthError::MissingClaim("exp")),
        (
            json!({"exp": (now() + 300).to_string()}),
            AuthError::MissingClaim("exp"),
        ),
        (json!({"exp": -1}), AuthError::MissingClaim("exp")),
        (json!({"nbf": now() + 3600}), AuthError::NotYetValid),
        (json!({"nbf": "soon"}), AuthError::BadClaim("nbf")),
    ];
    for (changes, expected) in cases {
        rejected(f.verify(&hs256(&claims_with(changes))).await, expected);
    }
}

#[tokio::test]
async fn subject_issuer_and_audience() {
    let f = Fixture::new().await;
    let cases = [
        (json!({"sub": null}), AuthError::MissingClaim("sub")),
        (json!({"sub": 42}), AuthError::BadClaim("sub")),
        (json!({"sub": ""}), AuthError::BadClaim("sub")),
        (json!({"sub": "u".repeat(129)}), AuthError::BadClaim("sub")),
        (json!({"sub": "user\n42"}), AuthError::BadClaim("sub")),
        // jsonwebtoken's claim pre-parse cannot skip a mistyped array `sub`; still invalid_token.
        (json!({"sub": ["user-42"]}), AuthError::Malformed),
        (json!({"iss": "https://evil.test"}), AuthError::WrongIssuer),
        (
            json!({"iss": ["https://evil.test", ISSUER]}),
            AuthError::BadClaim("iss"),
        ),
        (json!({"iss": [ISSUER]}), AuthError::BadClaim("iss")),
        (json!({"iss": null}), AuthError::MissingClaim("iss")),
        (
            json!({"iss": "https://issuer.test/"}),
            AuthError::WrongIssuer,
        ),
        (json!({"aud": "other-client"}), AuthError::WrongAudience),
        (json!({"aud": ["other-client"]}), AuthError::WrongAudience),
        (json!({"aud": null}), AuthError::MissingClaim("aud")),
        // A mistyped `aud` does not count as present (jsonwebtoken's rule); still invalid_token.
        (json!({"aud": 7}), AuthError::MissingClaim("aud")),
    ];
    for (changes, expected) in cases {
        rejected(
            f.verify(&hs256(&claims_with(changes.clone()))).await,
            expected.clone(),
        );
        rejected(f.verify(&rs256(&claims_with(changes))).await, expected);
    }
    accepted(
        f.verify(&hs256(&claims_with(json!({"sub": "user-42"}))))
            .await,
    );
    let long_ok = claims_with(json!({"sub": "u".repeat(128)}));
    assert!(f.verify(&hs256(&long_ok)).await.is_ok());
}

#[tokio::test]
async fn scope_is_required() {
    let f = Fixture::new().await;
    let cases = [
        (json!({"scope": null}), AuthError::InsufficientScope),
        (
            json!({"scope": "vod:uploader"}),
            AuthError::InsufficientScope,
        ),
        (
            json!({"scope": "openid profile"}),
            AuthError::InsufficientScope,
        ),
        (
            json!({"scope": "vod:upload:admin"}),
            AuthError::InsufficientScope,
        ),
        (
            json!({"scope": null, "scp": ["vod:uploader"]}),
            AuthError::InsufficientScope,
        ),
        (
            json!({"scope": ["vod:upload"]}),
            AuthError::BadClaim("scope"),
        ),
    ];
    for (changes, expected) in cases {
        let error = f.verify(&rs256(&claims_with(changes))).await.unwrap_err();
        if expected == AuthError::InsufficientScope {
            assert_eq!(seen(&error), ("insufficient_scope", 403));
        }
        assert_eq!(error, expected);
    }
}

#[tokio::test]
async fn header_rules() {
    let f = Fixture::new().await;
    let payload = claims().to_string();
    let rsa = Signer::Rsa(&keys().rsa);
    // Unknown critical extension, empty crit, and b64=false.
    for header in [
        r#"{"alg":"RS256","kid":"rsa-1","crit":["exp"],"exp":1}"#,
        r#"{"alg":"RS256","kid":"rsa-1","crit":[]}"#,
        r#"{"alg":"RS256","kid":"rsa-1","crit":["b64"],"b64":false}"#,
    ] {
        rejected(
            f.verify(&token(header, &payload, &rsa)).await,
            AuthError::Malformed,
        );
    }
    // kid as a path, unknown, missing, not a string, oversized.
    let traversal = token(
        r#"{"alg":"RS256","kid":"../../etc/passwd"}"#,
        &payload,
        &rsa,
    );
    rejected(f.verify(&traversal).await, AuthError::UnknownKey);
    let unknown = token(r#"{"alg":"RS256","kid":"rsa-2"}"#, &payload, &rsa);
    rejected(f.verify(&unknown).await, AuthError::UnknownKey);
    let missing = token(r#"{"alg":"RS256"}"#, &payload, &rsa);
    rejected(f.verify(&missing).await, AuthError::MissingKid);
    let empty = token(r#"{"alg":"RS256","kid":""}"#, &payload, &rsa);
    rejected(f.verify(&empty).await, AuthError::MissingKid);
    let numeric = token(r#"{"alg":"RS256","kid":1}"#, &payload, &rsa);
    rejected(f.verify(&numeric).await, AuthError::Malformed);
    let huge = format!(r#"{{"alg":"RS256","kid":"{}"}}"#, "k".repeat(300));
    rejected(
        f.verify(&token(&huge, &payload, &rsa)).await,
        AuthError::UnknownKey,
    );
    // Duplicate header members.
    let twice = token(
        r#"{"alg":"HS256","alg":"RS256","kid":"rsa-1"}"#,
        &payload,
        &rsa,
    );
    rejected(f.verify(&twice).await, AuthError::Malformed);
    let kid_twice = token(r#"{"alg":"RS256","kid":"x","kid":"rsa-1"}"#, &payload, &rsa);
    rejected(f.verify(&kid_twice).await, AuthError::Malformed);
    // Header and payload must be JSON objects.
    let array_header = token(r#"["RS256","rsa-1"]"#, &payload, &rsa);
    rejected(f.verify(&array_header).await, AuthError::Malformed);
    let array_payload = token(RS, r#"[9999999999,null,"user-42",null,null]"#, &rsa);
    rejected(f.verify(&array_payload).await, AuthError::Malformed);
    let not_json = token(RS, "sub=user-42", &rsa);
    rejected(f.verify(&not_json).await, AuthError::Malformed);
}

#[tokio::test]
async fn header_key_sources_are_ignored() {
    let f = Fixture::new().await;
    let payload = claims().to_string();
    let attacker = &keys().attacker_rsa;
    let attacker_jwk = rsa_jwk("attacker", attacker);
    let signer = Signer::Rsa(attacker);
    for (kid, expected) in [
        ("attacker", AuthError::UnknownKey),
        ("rsa-1", AuthError::BadSignature),
    ] {
        let headers = [
            json!({"alg": "RS256", "kid": kid, "jwk": attacker_jwk}),
            json!({"alg": "RS256", "kid": kid, "jku": "https://attacker.test/jwks.json"}),
            json!({"alg": "RS256", "kid": kid, "x5u": "https://attacker.test/cert.pem"}),
            json!({"alg": "RS256", "kid": kid, "x5c": [STANDARD.encode(b"not a certificate")]}),
        ];
        for header in headers {
            let forged = token(&header.to_string(), &payload, &signer);
            rejected(f.verify(&forged).await, expected.clone());
        }
    }
    // An embedded HMAC key (`kty` oct) does not make HS256 acceptable without a configured secret.
    let oct = json!({"alg": "HS256", "jwk": {"kty": "oct", "k": b64(b"attacker")}});
    let forged = token(&oct.to_string(), &payload, &Signer::Hmac(b"attacker"));
    rejected(
        f.verify_without_hs(&forged).await,
        AuthError::UnsupportedAlgorithm,
    );
    rejected(f.verify(&forged).await, AuthError::BadSignature);
}

#[tokio::test]
async fn structure_and_size() {
    let f = Fixture::new().await;
    let payload = claims().to_string();
    let good = hs256(&payload);
    let mut parts = good.split('.');
    let (h, p, s) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    for shape in [
        format!("{h}.{p}.{s}.{s}"),
        format!("{h}.{p}.{s}."),
        format!("{h}.{p}"),
        h.to_owned(),
        format!(".{p}.{s}"),
        format!("{h}..{s}"),
        format!("{h}=.{p}.{s}"),
        format!("{h}.{p}.{s}=="),
        format!("{}.{p}.{s}", h.replace('J', "+")),
        format!(
            "{h}.{p}.{}",
            s.replacen(|c: char| c.is_ascii_alphanumeric(), "/", 1)
        ),
        format!("{h}.{p}.{s} extra"),
        format!("{h}.{p}.{s}\u{e9}"),
        "..".to_owned(),
    ] {
        rejected(f.verify(&shape).await, AuthError::Malformed);
    }
    // Non-canonical base64: a final character with non-zero trailing bits.
    let header = b64(r#"{"alg":"HS256", "typ":"JWT"}"#); // the last character carries 4 unused bits
    assert_eq!(header.len() % 4, 2);
    let mut tweaked = header.clone().into_bytes();
    let last = tweaked.last_mut().unwrap();
    *last = if *last == b'9' { b'8' } else { *last + 1 };
    let input = format!("{}.{}", String::from_utf8(tweaked).unwrap(), b64(&payload));
    let signature = Signer::Hmac(CURRENT_SECRET.as_bytes()).sign(input.as_bytes());
    let noncanonical = format!("{input}.{}", b64(signature));
    rejected(f.verify(&noncanonical).await, AuthError::Malformed);
    // Oversized: rejected before parsing, whatever it contains.
    let padded = claims_with(json!({"pad": "x".repeat(MAX_TOKEN_BYTES)}));
    rejected(f.verify(&hs256(&padded)).await, AuthError::TooLong);
    rejected(f.verify(&"a".repeat(1024 * 1024)).await, AuthError::TooLong);
}

#[tokio::test]
async fn duplicate_claims() {
    let f = Fixture::new().await;
    let exp = now() + 300;
    for payload in [
        format!(
            r#"{{"sub":"user-42","sub":"admin","iss":"{ISSUER}","aud":"{AUDIENCE}","exp":{exp},"scope":"vod:upload"}}"#
        ),
        format!(
            r#"{{"sub":"user-42","iss":"{ISSUER}","aud":"{AUDIENCE}","exp":{exp},"exp":9999999999,"scope":"vod:upload"}}"#
        ),
        format!(
            r#"{{"sub":"user-42","iss":"https://evil.test","iss":"{ISSUER}","aud":"{AUDIENCE}","exp":{exp},"scope":"vod:upload"}}"#
        ),
        format!(
            r#"{{"sub":"user-42","iss":"{ISSUER}","aud":"{AUDIENCE}","exp":{exp},"scope":"none","scope":"vod:upload"}}"#
        ),
    ] {
        rejected(f.verify(&hs256(&payload)).await, AuthError::Malformed);
        rejected(f.verify(&rs256(&payload)).await, AuthError::Malformed);
    }
}

#[tokio::test]
async fn authorization_header_forms() {
    let f = Fixture::new().await;
    let good = hs256(&claims().to_string());
    let missing = f.verifier.verify(None, Some(&f.hs)).await.unwrap_err();
    assert_eq!(missing, AuthError::Missing);
    assert_eq!(seen(&missing), ("missing_token", 401));
    rejected(f.verify_header("").await, AuthError::Missing);
    rejected(f.verify_header("Bearer ").await, AuthError::Missing);
    rejected(f.verify_header("Bearer").await, AuthError::Missing);
    rejected(
        f.verify_header("Basic dXNlcjpwYXNz").await,
        AuthError::NotBearer,
    );
    rejected(
        f.verify_header(&format!("Token {good}")).await,
        AuthError::NotBearer,
    );
    rejected(f.verify_header(&good).await, AuthError::NotBearer);
    rejected(
        f.verify_header(&format!("Bearer {good} {good}")).await,
        AuthError::Malformed,
    );
}

#[tokio::test]
async fn hs256_without_secrets() {
    let f = Fixture::new().await;
    let good = hs256(&claims().to_string());
    rejected(
        f.verify_without_hs(&good).await,
        AuthError::UnsupportedAlgorithm,
    );
    // A verifier with no JWKS refuses asymmetric tokens instead of looking for keys.
    let hs_only = JwtVerifier::new(JwtSettings {
        issuer: Some(ISSUER.to_owned()),
        audience: Some(AUDIENCE.to_owned()),
        upload_scope: Some(SCOPE.to_owned()),
        ..JwtSettings::default()
    })
    .unwrap();
    hs_only.prefetch().await;
    let rs = rs256(&claims().to_string());
    rejected(
        hs_only
            .verify(Some(&format!("Bearer {rs}")), Some(&f.hs))
            .await,
        AuthError::UnsupportedAlgorithm,
    );
    accepted(
        hs_only
            .verify(Some(&format!("Bearer {good}")), Some(&f.hs))
            .await,
    );
}

#[tokio::test]
async fn no_audience_configured_means_aud_is_not_checked() {
    let verifier = JwtVerifier::new(JwtSettings::default()).unwrap();
    let hs = Hs256Keys::new(&SecretList::parse(CURRENT_SECRET).unwrap());
    for changes in [
        json!({"aud": null}),
        json!({"aud": "anyone"}),
        json!({"scope": null}),
    ] {
        let good = hs256(&claims_with(changes));
        accepted(
            verifier
                .verify(Some(&format!("Bearer {good}")), Some(&hs))
                .await,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// JWKS fetching

/// The refetch interval of the JWKS tests, read through tokio's clock: long enough that no real
/// delay reaches it, skipped over with [`common::advance_clock`].
const REFETCH_INTERVAL: Duration = Duration::from_secs(60);
const PAST_INTERVAL: Duration = Duration::from_secs(61);

fn random_kid() -> String {
    let mut bytes = [0u8; 12];
    aws_lc_rs::rand::fill(&mut bytes).unwrap();
    b64(bytes)
}

#[tokio::test]
async fn unknown_kid_flood_fetches_at_most_once_more() {
    let server = JwksServer::new(default_jwks());
    let addr = server.spawn().await;
    let verifier =
        Arc::new(JwtVerifier::new(settings(format!("http://{addr}/jwks.json"))).unwrap());
    verifier.prefetch().await;
    assert_eq!(server.hits(), 1);

    let payload = claims().to_string();
    let forged_tokens: Vec<String> = (0..200)
        .map(|_| {
            let header = format!(r#"{{"alg":"RS256","kid":"{}"}}"#, random_kid());
            token(&header, &payload, &Signer::Rsa(&keys().attacker_rsa))
        })
        .collect();
    let mut tasks = tokio::task::JoinSet::new();
    for forged in forged_tokens {
        let verifier = Arc::clone(&verifier);
        tasks.spawn(async move {
            verifier
                .verify(Some(&format!("Bearer {forged}")), None)
                .await
        });
    }
    let known = rs256(&payload);
    accepted(
        verifier
            .verify(Some(&format!("Bearer {known}")), None)
            .await,
    );
    // No forged token waits for a download of its own: a hang here would be one per token.
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(result) = tasks.join_next().await {
            rejected(result.unwrap(), AuthError::UnknownKey);
        }
    })
    .await
    .expect("the flood is answered without waiting on downloads");
    assert!(server.hits() <= 2, "{} fetches", server.hits());
    accepted(
        verifier
            .verify(Some(&format!("Bearer {known}")), None)
            .await,
    );
}

#[tokio::test]
async fn first_unknown_kid_triggers_a_single_shared_fetch() {
    let server = JwksServer::new(default_jwks());
    let addr = server.spawn().await;
    let verifier =
        Arc::new(JwtVerifier::new(settings(format!("http://{addr}/jwks.json"))).unwrap());
    // No prefetch: concurrent first requests share one download.
    let known = rs256(&claims().to_string());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let verifier = Arc::clone(&verifier);
        let known = known.clone();
        tasks.spawn(async move {
            verifier
                .verify(Some(&format!("Bearer {known}")), None)
                .await
        });
    }
    while let Some(result) = tasks.join_next().await {
        accepted(result.unwrap());
    }
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn rotated_key_is_picked_up_after_the_interval() {
    let server = JwksServer::new(default_jwks());
    let addr = server.spawn().await;
    let verifier = JwtVerifier::new(settings(format!("http://{addr}/jwks.json")))
        .unwrap()
        .with_refetch_interval(REFETCH_INTERVAL);
    verifier.prefetch().await;
    let payload = claims().to_string();
    let new_token = token(
        r#"{"alg":"RS256","kid":"rsa-2"}"#,
        &payload,
        &Signer::Rsa(&keys().rsa2),
    );
    let bearer = format!("Bearer {new_token}");

    server.set_body(
        json!({"keys": [rsa_jwk("rsa-1", &keys().rsa), rsa_jwk("rsa-2", &keys().rsa2)]})
            .to_string(),
    );
    // Within the interval (tokio's clock has not moved) the new key is not fetched yet.
    rejected(
        verifier.verify(Some(&bearer), None).await,
        AuthError::UnknownKey,
    );
    assert_eq!(server.hits(), 1);

    common::advance_clock(PAST_INTERVAL).await;
    accepted(verifier.verify(Some(&bearer), None).await);
    assert_eq!(server.hits(), 2);
    accepted(
        verifier
            .verify(Some(&format!("Bearer {}", rs256(&payload))), None)
            .await,
    );

    // A key dropped from the JWKS stops working after the next refetch.
    server.set_body(json!({"keys": [rsa_jwk("rsa-2", &keys().rsa2)]}).to_string());
    common::advance_clock(PAST_INTERVAL).await;
    let trigger = token(
        r#"{"alg":"RS256","kid":"rsa-3"}"#,
        &payload,
        &Signer::Rsa(&keys().rsa2),
    );
    rejected(
        verifier
            .verify(Some(&format!("Bearer {trigger}")), None)
            .await,
        AuthError::UnknownKey,
    );
    assert_eq!(server.hits(), 3);
    rejected(
        verifier
            .verify(Some(&format!("Bearer {}", rs256(&payload))), None)
            .await,
        AuthError::UnknownKey,
    );
    accepted(verifier.verify(Some(&bearer), None).await);
}

#[tokio::test]
async fn unreachable_jwks_is_unavailable_until_it_comes_up() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let verifier = JwtVerifier::new(settings(format!("http://{addr}/jwks.json")))
        .unwrap()
        .with_refetch_interval(REFETCH_INTERVAL);
    verifier.prefetch().await;
    let payload = claims().to_string();
    let bearer = format!("Bearer {}", rs256(&payload));
    let hs = Hs256Keys::new(&SecretList::parse(CURRENT_SECRET).unwrap());

    let error = verifier.verify(Some(&bearer), Some(&hs)).await.unwrap_err();
    assert_eq!(error, AuthError::JwksUnavailable);
    assert_eq!(seen(&error), ("unavailable", 503));
    // HS256 does not depend on the JWKS; a token without a kid is refused before any lookup.
    accepted(
        verifier
            .verify(Some(&format!("Bearer {}", hs256(&payload))), Some(&hs))
            .await,
    );
    let no_kid = token(r#"{"alg":"RS256"}"#, &payload, &Signer::Rsa(&keys().rsa));
    rejected(
        verifier
            .verify(Some(&format!("Bearer {no_kid}")), None)
            .await,
        AuthError::MissingKid,
    );

    let server = JwksServer::new(default_jwks());
    server
        .serve_on(tokio::net::TcpListener::bind(addr).await.unwrap())
        .await;
    common::advance_clock(PAST_INTERVAL).await;
    accepted(verifier.verify(Some(&bearer), None).await);
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn failed_refetches_keep_the_old_keys() {
    let server = JwksServer::new(default_jwks());
    let addr = server.spawn().await;
    let verifier = JwtVerifier::new(settings(format!("http://{addr}/jwks.json")))
        .unwrap()
        .with_refetch_interval(REFETCH_INTERVAL);
    verifier.prefetch().await;
    let payload = claims().to_string();
    let old = format!("Bearer {}", rs256(&payload));
    let new = format!(
        "Bearer {}",
        token(
            r#"{"alg":"RS256","kid":"rsa-2"}"#,
            &payload,
            &Signer::Rsa(&keys().rsa2)
        )
    );
    let with_new_key =
        json!({"keys": [rsa_jwk("rsa-1", &keys().rsa), rsa_jwk("rsa-2", &keys().rsa2)]});

    let mut oversized = with_new_key.clone();
    oversized["padding"] = "x".repeat(300 * 1024).into();
    let bad_bodies = [
        oversized.to_string(),
        "<html>not json</html>".to_owned(),
        json!({"keys": []}).to_string(),
        json!({"keys": [{"kty": "oct", "kid": "rsa-2", "k": b64(b"secret")}]}).to_string(),
    ];
    for (index, body) in bad_bodies.into_iter().enumerate() {
        server.set_body(body);
        common::advance_clock(PAST_INTERVAL).await;
        rejected(
            verifier.verify(Some(&new), None).await,
            AuthError::UnknownKey,
        );
        assert_eq!(server.hits(), index + 2);
        accepted(verifier.verify(Some(&old), None).await);
    }
    server.set_body(with_new_key.to_string());
    common::advance_clock(PAST_INTERVAL).await;
    accepted(verifier.verify(Some(&new), None).await);
}

/// A key the identity provider removed stops working within the maximum age (plus the refetch
/// interval) even if no unknown `kid` ever asks for a refetch; a shorter `Cache-Control: max-age`
/// wins; while the JWKS does not answer, the cached keys keep serving.
#[tokio::test]
async fn cached_keys_expire_unless_the_jwks_is_down() {
    const MAX_AGE: Duration = Duration::from_secs(600);
    let server = JwksServer::new(default_jwks());
    let addr = server.spawn().await;
    let verifier = JwtVerifier::new(settings(format!("http://{addr}/jwks.json")))
        .unwrap()
        .with_refetch_interval(Duration::from_secs(10))
        .with_jwks_max_age(MAX_AGE);
    verifier.prefetch().await;
    let payload = claims().to_string();
    let removed = format!("Bearer {}", rs256(&payload));
    let kept = format!(
        "Bearer {}",
        token(r#"{"alg":"ES256","kid":"ec-1"}"#, &payload, &Signer::Ec)
    );
    let without_rsa = json!({"keys": [ec_jwk("ec-1"), ed_jwk("ed-1")]}).to_string();

    // Removed from a JWKS that answers: refused once the set is older than its maximum age.
    server.set_body(without_rsa.clone());
    common::advance_clock(MAX_AGE - Duration::from_secs(1)).await;
    accepted(verifier.verify(Some(&removed), None).await);
    assert_eq!(server.hits(), 1);
    common::advance_clock(Duration::from_secs(11)).await;
    rejected(
        verifier.verify(Some(&removed), None).await,
        AuthError::UnknownKey,
    );
    accepted(verifier.verify(Some(&kept), None).await);
    assert_eq!(server.hits(), 2);

    // The JWKS says max-age=60: a key it adds, then removes, is gone 70 s later.
    server.set_body(default_jwks());
    server.set_answer(StatusCode::OK, Some("public, max-age=60"));
    common::advance_clock(MAX_AGE).await;
    accepted(verifier.verify(Some(&removed), None).await);
    server.set_body(without_rsa);
    common::advance_clock(Duration::from_secs(70)).await;
    rejected(
        verifier.verify(Some(&removed), None).await,
        AuthError::UnknownKey,
    );
    assert_eq!(server.hits(), 4);

    // The JWKS is down: what is cached keeps serving, however old, and it is asked again.
    server.set_answer(StatusCode::SERVICE_UNAVAILABLE, None);
    common::advance_clock(MAX_AGE * 3).await;
    accepted(verifier.verify(Some(&kept), None).await);
    accepted(verifier.verify(Some(&kept), None).await);
    assert_eq!(
        server.hits(),
        5,
        "at most one download per refetch interval"
    );
    common::advance_clock(Duration::from_secs(11)).await;
    accepted(verifier.verify(Some(&kept), None).await);
    assert_eq!(server.hits(), 6);
}

/// Serves one response per connection from raw bytes, for cases axum would not produce.
async fn raw_server(response: Vec<u8>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let response = Arc::new(response);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let response = Arc::clone(&response);
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request).await;
                let _ = stream.write_all(&response).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    addr
}

/// A chunked response without `Content-Length`, so only the running cap can stop it.
fn chunked_response(body: &[u8]) -> Vec<u8> {
    let mut response =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec();
    for chunk in body.chunks(16 * 1024) {
        response.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        response.extend_from_slice(chunk);
        response.extend_from_slice(b"\r\n");
    }
    response.extend_from_slice(b"0\r\n\r\n");
    response
}

#[tokio::test]
async fn oversized_chunked_jwks_is_refused() {
    let bearer = format!("Bearer {}", rs256(&claims().to_string()));
    let mut body = default_jwks().into_bytes();
    body.pop();
    body.extend_from_slice(format!(r#","padding":"{}"}}"#, "x".repeat(100 * 1024)).as_bytes());

    // Control: 100 KiB, chunked, is read and used.
    let addr = raw_server(chunked_response(&body)).await;
    let verifier = JwtVerifier::new(settings(format!("http://{addr}/jwks.json"))).unwrap();
    verifier.prefetch().await;
    accepted(verifier.verify(Some(&bearer), None).await);

    // 300 KiB of the same document is refused while reading.
    body.truncate(body.len() - 2);
    body.extend_from_slice(format!(r#"{}"}}"#, "x".repeat(200 * 1024)).as_bytes());
    let addr = raw_server(chunked_response(&body)).await;
    let verifier = JwtVerifier::new(settings(format!("http://{addr}/jwks.json"))).unwrap();
    verifier.prefetch().await;
    assert_eq!(
        verifier.verify(Some(&bearer), None).await,
        Err(AuthError::JwksUnavailable)
    );
}

#[tokio::test]
async fn redirects_and_errors_are_not_followed() {
    let server = JwksServer::new(default_jwks());
    let addr = server.spawn().await;
    let bearer = format!("Bearer {}", rs256(&claims().to_string()));
    for path in ["moved", "broken"] {
        let verifier = JwtVerifier::new(settings(format!("http://{addr}/{path}"))).unwrap();
        verifier.prefetch().await;
        assert_eq!(
            verifier.verify(Some(&bearer), None).await,
            Err(AuthError::JwksUnavailable)
        );
    }
    assert_eq!(server.hits(), 0, "the redirect target must not be fetched");
}

#[test]
fn jwks_url_must_be_https_unless_loopback() {
    let refused = |url: &str| JwtVerifier::new(settings(url.to_owned())).err();
    assert_eq!(
        refused("http://idp.example/.well-known/jwks.json"),
        Some(JwtSettingsError::JwksUrlNotHttps)
    );
    assert_eq!(
        refused("http://192.168.1.10/jwks.json"),
        Some(JwtSettingsError::JwksUrlNotHttps)
    );
    assert_eq!(refused("https://idp.example/.well-known/jwks.json"), None);
    assert_eq!(refused("http://127.0.0.1:1/jwks.json"), None);
    assert_eq!(refused("http://localhost:1/jwks.json"), None);
    assert_eq!(JwtSettingsError::JwksUrlNotHttps.var(), "JWT_JWKS_URL");
}

#[test]
fn secrets_and_keys_never_print() {
    let hs = Hs256Keys::new(&SecretList::parse(CURRENT_SECRET).unwrap());
    let printed = format!("{hs:?}");
    assert!(!printed.contains(CURRENT_SECRET), "{printed}");
    let verifier = JwtVerifier::new(settings("https://idp.example/jwks.json".to_owned())).unwrap();
    let printed = format!("{verifier:?}");
    assert!(printed.contains("idp.example"), "{printed}");
}
