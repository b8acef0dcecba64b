use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;

use super::*;

fn jwks_settings(url: &str) -> JwtSettings {
    JwtSettings {
        jwks_url: Some(url.to_owned()),
        issuer: Some("https://issuer.example".to_owned()),
        audience: Some("vodgate".to_owned()),
        ..JwtSettings::default()
    }
}

fn settings_error(settings: JwtSettings) -> JwtSettingsError {
    match JwtVerifier::new(settings) {
        Ok(_) => panic!("settings were accepted"),
        Err(error) => error,
    }
}

#[test]
fn leeway_is_capped() {
    let settings = |leeway_secs| JwtSettings {
        leeway_secs,
        ..JwtSettings::default()
    };
    assert!(JwtVerifier::new(settings(60)).is_ok());
    let error = settings_error(settings(61));
    assert_eq!(error, JwtSettingsError::LeewayTooLarge(61));
    assert_eq!(error.var(), "JWT_LEEWAY_SECONDS");
}

#[test]
fn jwks_url_must_parse() {
    let error = settings_error(jwks_settings("not a url"));
    assert_eq!(error, JwtSettingsError::JwksUrlInvalid);
    assert_eq!(error.var(), "JWT_JWKS_URL");
    assert_eq!(
        settings_error(jwks_settings("/relative/jwks.json")),
        JwtSettingsError::JwksUrlInvalid
    );
}

#[test]
fn jwks_url_must_be_https_unless_loopback() {
    for url in [
        "http://idp.example/jwks.json",
        "http://10.0.0.1/jwks.json",
        "http://localhost.evil.example/jwks.json",
        "http://[::2]/jwks.json",
        "ftp://127.0.0.1/jwks.json",
        "file:///etc/jwks.json",
    ] {
        assert_eq!(
            settings_error(jwks_settings(url)),
            JwtSettingsError::JwksUrlNotHttps,
            "{url}"
        );
    }
    for url in [
        "https://idp.example/.well-known/jwks.json",
        "http://127.0.0.1:8080/jwks.json",
        "http://127.1.2.3/jwks.json",
        "http://[::1]:9000/jwks.json",
        "http://LOCALHOST/jwks.json",
    ] {
        assert!(JwtVerifier::new(jwks_settings(url)).is_ok(), "{url}");
    }
}

#[test]
fn jwks_url_must_not_carry_credentials() {
    let error = settings_error(jwks_settings("https://user:pw@idp.example/jwks.json"));
    assert_eq!(error, JwtSettingsError::JwksUrlCredentials);
    assert!(!error.to_string().contains("pw"));
}

#[test]
fn jwks_requires_issuer_and_audience() {
    let mut settings = jwks_settings("https://idp.example/jwks.json");
    settings.issuer = None;
    let error = settings_error(settings);
    assert_eq!(error, JwtSettingsError::IssuerRequired);
    assert_eq!(error.var(), "JWT_ISSUER");

    let mut settings = jwks_settings("https://idp.example/jwks.json");
    settings.audience = None;
    let error = settings_error(settings);
    assert_eq!(error, JwtSettingsError::AudienceRequired);
    assert_eq!(error.var(), "JWT_AUDIENCE");
}

#[test]
fn issuer_and_audience_must_not_be_blank() {
    let mut settings = jwks_settings("https://idp.example/jwks.json");
    settings.issuer = Some(" ".to_owned());
    assert_eq!(
        settings_error(settings),
        JwtSettingsError::Blank("JWT_ISSUER")
    );
    let settings = JwtSettings {
        audience: Some(String::new()),
        ..JwtSettings::default()
    };
    assert_eq!(
        settings_error(settings),
        JwtSettingsError::Blank("JWT_AUDIENCE")
    );
}

#[test]
fn scope_must_be_a_whole_word() {
    let string = |s: &str| Value::String(s.to_owned());
    let ok = |scope: Option<Value>, scp: Option<Value>| {
        check_scope(scope.as_ref(), scp.as_ref(), "vod:upload")
    };
    assert_eq!(ok(Some(string("vod:upload")), None), Ok(()));
    assert_eq!(ok(Some(string("openid vod:upload profile")), None), Ok(()));
    assert_eq!(
        ok(None, Some(serde_json::json!(["a", "vod:upload"]))),
        Ok(())
    );
    assert_eq!(ok(None, Some(string("a vod:upload"))), Ok(()));
    for denied in [
        ok(None, None),
        ok(Some(string("vod:uploader")), None),
        ok(Some(string("vod:upload:all")), None),
        ok(Some(string("xvod:upload")), None),
        ok(Some(string("VOD:UPLOAD")), None),
        ok(Some(string("vod:upload,other")), None),
        ok(Some(string("")), None),
        ok(None, Some(serde_json::json!(["vod:upload openid"]))),
        ok(None, Some(serde_json::json!([]))),
    ] {
        assert_eq!(denied, Err(AuthError::InsufficientScope));
    }
    assert_eq!(
        ok(Some(serde_json::json!(["vod:upload"])), None),
        Err(AuthError::BadClaim("scope"))
    );
    assert_eq!(
        ok(None, Some(serde_json::json!(["vod:upload", 1]))),
        Err(AuthError::BadClaim("scp"))
    );
    assert_eq!(
        check_scope(Some(&string("a  b")), None, ""),
        Err(AuthError::InsufficientScope)
    );
}

#[test]
fn bearer_header_parsing() {
    assert_eq!(bearer_token(None), Err(AuthError::Missing));
    assert_eq!(bearer_token(Some("")), Err(AuthError::Missing));
    assert_eq!(bearer_token(Some("Bearer")), Err(AuthError::Missing));
    assert_eq!(bearer_token(Some("Bearer   ")), Err(AuthError::Missing));
    assert_eq!(bearer_token(Some("Basic abc")), Err(AuthError::NotBearer));
    assert_eq!(bearer_token(Some("Bearerabc")), Err(AuthError::NotBearer));
    assert_eq!(bearer_token(Some("bearer a.b.c")), Ok("a.b.c"));
    assert_eq!(bearer_token(Some(" BEARER\t a.b.c ")), Ok("a.b.c"));
    let long = format!("Bearer {}", "a".repeat(MAX_TOKEN_BYTES + 1));
    assert_eq!(bearer_token(Some(&long)), Err(AuthError::TooLong));
}

proptest! {
    #[test]
    fn header_and_shape_checks_never_panic(header in any::<String>()) {
        if let Ok(token) = bearer_token(Some(&header)) {
            prop_assert!(!token.is_empty() && token.len() <= MAX_TOKEN_BYTES);
            let _ = parse_shape(token);
        }
        let _ = parse_shape(&header);
    }

    #[test]
    fn a_bearer_token_is_returned_as_sent(
        scheme in "(?i:bearer)",
        token in "[A-Za-z0-9._~+/=-]{1,300}",
        blanks in "[ \t]{1,3}",
    ) {
        let header = format!("{blanks}{scheme}{blanks}{token}{blanks}");
        prop_assert_eq!(bearer_token(Some(&header)), Ok(token.as_str()));
    }

    #[test]
    fn well_shaped_tokens_yield_their_algorithm(
        alg in prop::sample::select(vec!["HS256", "RS256", "ES256", "EdDSA", "none", "HS384"]),
        kid in proptest::option::of("[ -~]{0,20}"),
        payload in crate::vod::callback::tests::json_value(),
    ) {
        let mut header = serde_json::json!({"alg": alg});
        if let Some(kid) = &kid {
            header["kid"] = Value::from(kid.as_str());
        }
        let payload = serde_json::json!({"data": payload});
        let token = format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(payload.to_string()),
        );
        match parse_shape(&token) {
            Ok(parsed) => {
                prop_assert_eq!(format!("{:?}", parsed.alg), alg);
                prop_assert_eq!(parsed.kid, kid);
            }
            Err(error) => {
                prop_assert!(["none", "HS384"].contains(&alg));
                prop_assert_eq!(error, AuthError::UnsupportedAlgorithm);
            }
        }
    }
}

#[test]
fn an_extra_claim_is_read_once_and_never_twice() {
    let read = |payload: &str| shape::read_claim(payload.as_bytes(), "post");
    assert_eq!(read(r#"{"sub":"a","post":"p1"}"#), Ok(Some("p1".into())));
    assert_eq!(read(r#"{"sub":"a","nested":{"post":1}}"#), Ok(None));
    assert_eq!(
        read(r#"{"post":"p1","sub":"a","post":"p2"}"#),
        Err(AuthError::Malformed)
    );
}
