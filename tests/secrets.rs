//! Keys from AWS Secrets Manager, against a local AWS endpoint (moto).

mod common;

use std::time::Duration;

use common::{Spawned, advance_clock, aws_config, aws_env, moto_endpoint, now, upload_token};
use serde_json::json;
use vodgate::platform::config::{ConfigError, Env};
use vodgate::platform::keys::{
    KeySet, Keys, SecretFormatError, SecretReadError, SecretsManager, StartError,
};
use vodgate::vod::signature::{MacCheck, inspect};

/// The secret's TTL in the cache tests, read through tokio's clock: no real delay reaches it, and
/// [`advance_clock`] skips past it.
const TTL: Duration = Duration::from_secs(60);
const PAST_TTL: Duration = Duration::from_secs(61);

async fn client() -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&aws_config(moto_endpoint()).await)
}

async fn create_secret(
    client: &aws_sdk_secretsmanager::Client,
    value: serde_json::Value,
) -> String {
    let name = format!("vodgate-test-{}", rand::random::<u64>());
    client
        .create_secret()
        .name(&name)
        .secret_string(value.to_string())
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_owned()
}

fn vod_key(keys: &KeySet) -> Result<String, ConfigError> {
    Ok(keys.require("VOD_SECRET_KEY")?.expose().to_owned())
}

#[tokio::test]
async fn secret_wins_over_env_and_refreshes_after_ttl() {
    let client = client().await;
    let arn = create_secret(&client, json!({"VOD_SECRET_KEY": "from-secret-1"})).await;
    let env = Env::from_pairs([("VOD_SECRET_KEY", "from-env")]);
    let source = SecretsManager::new(client.clone(), arn.clone(), TTL);
    let keys = Keys::load(&env, Some(source), vod_key).await.unwrap();
    assert_eq!(*keys.current().await, "from-secret-1");

    client
        .put_secret_value()
        .secret_id(&arn)
        .secret_string(json!({"VOD_SECRET_KEY": "from-secret-2"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(
        *keys.current().await,
        "from-secret-1",
        "fresh until the TTL passes"
    );
    advance_clock(PAST_TTL).await;
    assert_eq!(*keys.current().await, "from-secret-2");
}

/// The parts of one function that read the same secret at a cold start (its keys, the webhook
/// secret, the database password) share one fetch: the second reader, just after the first, gets
/// the value the first fetched even though the secret has changed since; a reader after the
/// sharing window (30 s, half of [`TTL`], on tokio's clock) fetches again.
#[tokio::test]
async fn readers_of_one_secret_share_a_fetch() {
    let client = client().await;
    let arn = create_secret(&client, json!({"VOD_SECRET_KEY": "fetched-once"})).await;
    let env = Env::default();
    let load = || {
        let source = SecretsManager::new(client.clone(), arn.clone(), TTL);
        Keys::load(&env, Some(source), vod_key)
    };
    let first = load().await.unwrap();
    client
        .put_secret_value()
        .secret_id(&arn)
        .secret_string(json!({"VOD_SECRET_KEY": "fetched-again"}).to_string())
        .send()
        .await
        .unwrap();
    let second = load().await.unwrap();
    assert_eq!(*first.current().await, "fetched-once");
    assert_eq!(
        *second.current().await,
        "fetched-once",
        "one fetch served both"
    );

    advance_clock(Duration::from_secs(31)).await;
    let third = load().await.unwrap();
    assert_eq!(*third.current().await, "fetched-again");
    assert_eq!(
        *first.current().await,
        "fetched-once",
        "fresh until its TTL"
    );
}

#[tokio::test]
async fn failed_refresh_keeps_serving_the_last_good_keys() {
    let client = client().await;
    let arn = create_secret(&client, json!({"VOD_SECRET_KEY": "good"})).await;
    let source = SecretsManager::new(client.clone(), arn.clone(), TTL);
    let keys = Keys::load(&Env::default(), Some(source), vod_key)
        .await
        .unwrap();

    // The secret becomes unusable: first malformed, then gone altogether.
    client
        .put_secret_value()
        .secret_id(&arn)
        .secret_string("not json")
        .send()
        .await
        .unwrap();
    advance_clock(PAST_TTL).await;
    assert_eq!(*keys.current().await, "good");
    client
        .delete_secret()
        .secret_id(&arn)
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    advance_clock(PAST_TTL).await;
    assert_eq!(*keys.current().await, "good");
}

#[tokio::test]
async fn unreadable_secret_fails_start_with_a_clear_error() {
    let client = client().await;
    let missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:absent-AbCdEf";
    let source = SecretsManager::new(client.clone(), missing.to_owned(), Duration::from_secs(60));
    let error = Keys::load(&Env::default(), Some(source), vod_key)
        .await
        .err()
        .unwrap();
    assert!(
        matches!(error, StartError::Fetch(SecretReadError::Service(_))),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .starts_with("VODGATE_SECRET_ARN: could not read the secret")
    );

    let arn = create_secret(&client, json!({"VOD_SECRET_KEY": 42})).await;
    let source = SecretsManager::new(client, arn, Duration::from_secs(60));
    let error = Keys::load(&Env::default(), Some(source), vod_key)
        .await
        .err()
        .unwrap();
    assert!(
        matches!(
            error,
            StartError::Fetch(SecretReadError::Format(SecretFormatError::NotAString(
                "VOD_SECRET_KEY"
            )))
        ),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("VOD_SECRET_KEY must be a JSON string"),
        "{error}"
    );
    assert!(!error.to_string().contains("42"));
}

#[tokio::test]
async fn sign_binary_reads_its_keys_from_the_secret() {
    let client = client().await;
    let arn = create_secret(
        &client,
        json!({
            "VOD_SECRET_ID": "AKIDfromsecret",
            "VOD_SECRET_KEY": "vod-key-from-secret",
            "JWT_HS256_SECRET": "jwt-from-secret-0123456789abcdef",
            "VODGATE_CONTEXT_KEY": "ctx-from-secret-0123456789abcdefghij"
        }),
    )
    .await;
    let mut env: Vec<(&str, String)> = aws_env(moto_endpoint());
    env.extend([
        ("PORT", "0".to_owned()),
        ("VODGATE_SECRET_ARN", arn),
        (
            "VOD_SECRET_KEY",
            "env-key-that-the-secret-overrides".to_owned(),
        ),
    ]);
    let mut server = Spawned::start(env!("CARGO_BIN_EXE_sign"), &env);
    let base = server.wait_listening();

    let response = reqwest::Client::new()
        .post(format!("{base}/v1/upload-signature"))
        .bearer_auth(upload_token(
            "jwt-from-secret-0123456789abcdef",
            "secret-user",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    let report = inspect(
        body["data"]["signature"].as_str().unwrap(),
        Some(b"vod-key-from-secret"),
        now(),
    );
    assert_eq!(report.mac, MacCheck::Valid);
    assert!(
        report
            .params
            .contains(&("secretId".to_owned(), "AKIDfromsecret".to_owned()))
    );
    let logs = server.logs();
    assert!(!logs.contains("vod-key-from-secret") && !logs.contains("jwt-from-secret"));

    // A secret that cannot be read stops start-up with one clear line.
    let mut env = aws_env(moto_endpoint());
    env.push((
        "VODGATE_SECRET_ARN",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf".to_owned(),
    ));
    let mut failing = Spawned::start(env!("CARGO_BIN_EXE_sign"), &env);
    assert_eq!(failing.wait_exit(), 1);
    assert!(
        failing
            .logs()
            .contains("VODGATE_SECRET_ARN: could not read the secret"),
        "{}",
        failing.logs()
    );
}

#[tokio::test]
async fn a_blank_field_stops_start_and_failing_refreshes_become_errors_and_a_metric() {
    let client = client().await;
    let jwt = "jwt-from-secret-0123456789abcdef";
    let keys = |vod_key: &str| {
        json!({
            "VOD_SECRET_ID": "AKIDfromsecret",
            "VOD_SECRET_KEY": vod_key,
            "JWT_HS256_SECRET": jwt,
            "VODGATE_CONTEXT_KEY": "ctx-from-secret-0123456789abcdefghij"
        })
    };
    let start = |arn: String| {
        let mut env: Vec<(&str, String)> = aws_env(moto_endpoint());
        env.extend([
            ("PORT", "0".to_owned()),
            ("VODGATE_SECRET_ARN", arn),
            ("VODGATE_SECRET_TTL_SECONDS", "1".to_owned()),
            ("VODGATE_METRICS", "emf".to_owned()),
            (
                "VOD_SECRET_KEY",
                "env-key-a-blank-field-must-not-fall-back-to".to_owned(),
            ),
        ]);
        Spawned::start(env!("CARGO_BIN_EXE_sign"), &env)
    };

    let mut blank = start(create_secret(&client, keys("")).await);
    assert_eq!(blank.wait_exit(), 1);
    assert!(
        blank.logs().contains("VOD_SECRET_KEY is blank"),
        "{}",
        blank.logs()
    );

    let arn = create_secret(&client, keys("vod-key-from-secret")).await;
    let mut server = start(arn.clone());
    let base = server.wait_listening();
    client
        .put_secret_value()
        .secret_id(&arn)
        .secret_string(keys(" ").to_string())
        .send()
        .await
        .unwrap();
    let http = reqwest::Client::new();
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let response = http
            .post(format!("{base}/v1/upload-signature"))
            .bearer_auth(upload_token(jwt, "stale-user"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "the last good keys keep serving");
    }
    let logs = server.logs();
    assert!(
        logs.contains("WARN") && logs.contains("secret refresh failed"),
        "{logs}"
    );
    assert!(
        logs.contains("ERROR") && logs.contains("secret refresh keeps failing"),
        "{logs}"
    );
    let counted = server
        .stdout()
        .lines()
        .filter(|line| line.contains("\"SecretRefreshFailures\":1"))
        .count();
    assert!(counted >= 3, "{}", server.stdout());
}
