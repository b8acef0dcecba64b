//! `SIGN_QUOTA` against DynamoDB (moto): the cap holds across instances, because every instance
//! counts in the same table with one conditional update; a table that cannot be reached lets
//! signatures through (logged) rather than stopping uploads.

mod common;

use common::{FlakyProxy, Link, Spawned, aws_config, aws_env, create_events_table, moto_endpoint};
use serde_json::Value;

const JWT_SECRET: &str = "quota-jwt-secret-0123456789abcdef";

fn start_sign(endpoint: &str, table: &str) -> (Spawned, String) {
    start_sign_with(endpoint, table, &[])
}

fn start_sign_with(endpoint: &str, table: &str, extra: &[(&str, &str)]) -> (Spawned, String) {
    let mut env: Vec<(&str, String)> = aws_env(endpoint);
    env.extend([
        ("PORT", "0".to_owned()),
        ("VOD_SECRET_ID", "AKIDquota".to_owned()),
        ("VOD_SECRET_KEY", "quota-vod-secret-key".to_owned()),
        (
            "VODGATE_CONTEXT_KEY",
            "quota-context-key-0123456789abcdef".to_owned(),
        ),
        ("JWT_HS256_SECRET", JWT_SECRET.to_owned()),
        ("SIGN_RATE_LIMIT", "off".to_owned()),
        ("SIGN_QUOTA", "3/1h".to_owned()),
        ("SIGN_QUOTA_TABLE", table.to_owned()),
        ("VODGATE_METRICS", "emf".to_owned()),
    ]);
    env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let mut server = Spawned::start(env!("CARGO_BIN_EXE_sign"), &env);
    let base = server.wait_listening();
    (server, base)
}

async fn ask(http: &reqwest::Client, base: &str, sub: &str) -> (u16, Option<u64>, Value) {
    ask_at(http, &format!("{base}/v1/upload-signature"), sub, "{}").await
}

async fn ask_at(
    http: &reqwest::Client,
    url: &str,
    sub: &str,
    body: &str,
) -> (u16, Option<u64>, Value) {
    let response = http
        .post(url)
        .bearer_auth(common::upload_token(JWT_SECRET, sub))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (
        status,
        retry_after,
        serde_json::from_str(&response.text().await.unwrap()).unwrap(),
    )
}

#[tokio::test]
async fn the_quota_is_global_across_instances() {
    let endpoint = moto_endpoint();
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws_config(endpoint).await);
    let table = "vodgate-quota-global";
    create_events_table(&dynamodb, table).await;
    let (_one, first) = start_sign(endpoint, table);
    let (_two, second) = start_sign(endpoint, table);
    let http = reqwest::Client::new();

    // Three signatures for alice, spread over both instances, then a 429 from either.
    for base in [&first, &second, &first] {
        let (status, _, body) = ask(&http, base, "alice").await;
        assert_eq!(status, 200, "{body}");
    }
    for base in [&second, &first] {
        let (status, retry_after, body) = ask(&http, base, "alice").await;
        assert_eq!(status, 429, "{body}");
        assert_eq!(body["error"], "rate_limited");
        assert!(body["message"].as_str().unwrap().contains("at most 3"));
        let retry_after = retry_after.expect("Retry-After");
        assert!((1..=3600).contains(&retry_after), "{retry_after}");
    }
    // Bob has his own count.
    let (status, _, _) = ask(&http, &second, "bob").await;
    assert_eq!(status, 200);

    // One counter item per caller and window, expiring after the window.
    let items = dynamodb.scan().table_name(table).send().await.unwrap();
    let items = items.items();
    assert_eq!(items.len(), 2, "{items:?}");
    for item in items {
        let id = item["id"].as_s().unwrap();
        assert!(id.starts_with("quota#"), "{id}");
        let issued = item["issued"].as_n().unwrap();
        assert_eq!(issued, if id.ends_with("#alice") { "3" } else { "1" });
        let expires: u64 = item["expiresAt"].as_n().unwrap().parse().unwrap();
        assert!(expires > common::now() + 3600, "{expires}");
    }
}

#[tokio::test]
async fn an_unreachable_quota_table_does_not_stop_uploads() {
    let endpoint = moto_endpoint();
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws_config(endpoint).await);
    let table = "vodgate-quota-outage";
    create_events_table(&dynamodb, table).await;
    let proxy = FlakyProxy::start(endpoint).await;
    let (server, base) = start_sign(&proxy.url(), table);
    let http = reqwest::Client::new();

    for link in [Link::Down, Link::Stalled] {
        proxy.set(link);
        let started = std::time::Instant::now();
        let (status, _, body) = ask(&http, &base, "carol").await;
        assert_eq!(status, 200, "{link:?}: {body}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(3),
            "{link:?}: {:?}",
            started.elapsed()
        );
    }
    assert!(
        server.logs().contains("SIGN_QUOTA could not be checked"),
        "{}",
        server.logs()
    );
    let uncounted = server
        .stdout()
        .lines()
        .filter(|line| line.contains("\"SignaturesUncounted\":1"))
        .count();
    assert_eq!(uncounted, 2, "{}", server.stdout());

    // Back up: counting resumes.
    proxy.set(Link::Up);
    for _ in 0..3 {
        assert_eq!(ask(&http, &base, "carol").await.0, 200);
    }
    assert_eq!(ask(&http, &base, "carol").await.0, 429);
}

#[tokio::test]
async fn creating_an_upload_and_refreshing_it_spend_the_quota() {
    let endpoint = moto_endpoint();
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws_config(endpoint).await);
    let table = "vodgate-quota-uploads";
    create_events_table(&dynamodb, table).await;
    let (_server, base) = start_sign(endpoint, table);
    let http = reqwest::Client::new();

    let (status, _, created) = ask_at(&http, &format!("{base}/v1/uploads"), "dave", "").await;
    assert_eq!(status, 201, "{created}");
    let refresh = serde_json::json!({"uploadId": created["data"]["uploadId"]}).to_string();
    let signature_route = format!("{base}/v1/upload-signature");
    for _ in 0..2 {
        let (status, _, body) = ask_at(&http, &signature_route, "dave", &refresh).await;
        assert_eq!(status, 200, "{body}");
    }
    // Three signatures: the quota is spent, for refreshes and creations alike.
    for (url, body) in [
        (signature_route, refresh.as_str()),
        (format!("{base}/v1/uploads"), ""),
    ] {
        let (status, retry_after, body) = ask_at(&http, &url, "dave", body).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (429, Some("rate_limited")),
            "{url}: {body}"
        );
        assert!(body["message"].as_str().unwrap().contains("at most 3"));
        assert!(retry_after.is_some());
    }
}

#[tokio::test]
async fn a_closed_quota_refuses_what_it_cannot_count() {
    let endpoint = moto_endpoint();
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws_config(endpoint).await);
    let table = "vodgate-quota-closed";
    create_events_table(&dynamodb, table).await;
    let proxy = FlakyProxy::start(endpoint).await;
    let (server, base) = start_sign_with(&proxy.url(), table, &[("SIGN_QUOTA_ON_ERROR", "closed")]);
    let http = reqwest::Client::new();

    for link in [Link::Down, Link::Stalled] {
        proxy.set(link);
        let (status, _, body) = ask(&http, &base, "erin").await;
        assert_eq!(
            (status, body["error"].as_str()),
            (503, Some("unavailable")),
            "{link:?}: {body}"
        );
    }
    assert!(!server.stdout().contains("SignaturesUncounted"));
    proxy.set(Link::Up);
    assert_eq!(ask(&http, &base, "erin").await.0, 200);
}
