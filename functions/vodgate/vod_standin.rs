//! A local stand-in for VOD's media API, so the dev server (and `vodgate simulate`) can show an
//! upload rejected by a limit without a Tencent Cloud account.
//!
//! Enforcing a limit deletes the media through VOD's `DeleteMedia`; a simulated upload has no
//! media, and the dev keys open no account. So when a dev server has a limit, the placeholder
//! keys and no `VOD_API_ENDPOINT`, it is pointed here: `DeleteMedia` succeeds (and says so on the
//! console), `DescribeMediaInfos` knows no file, anything else is refused. It checks no
//! signature and deletes nothing: it is a prop for the demonstration, never a server to deploy.

use std::net::Ipv4Addr;

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::post;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// Starts the stand-in on a free loopback port; its base URL.
pub async fn start() -> std::io::Result<String> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let addr = listener.local_addr()?;
    let app = Router::new().route("/", post(answer));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{addr}"))
}

async fn answer(headers: HeaderMap, body: String) -> String {
    let action = headers
        .get("x-tc-action")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let params: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let response = match action {
        "DeleteMedia" => {
            println!(
                "   VOD API stand-in: DeleteMedia FileId={} (a real VOD deletes the file and \
                 everything made from it)",
                params["FileId"].as_str().unwrap_or("-")
            );
            json!({"RequestId": "standin"})
        }
        "DescribeMediaInfos" => json!({
            "MediaInfoSet": [],
            "NotExistFileIdSet": params["FileIds"],
            "RequestId": "standin",
        }),
        _ => json!({
            "Error": {"Code": "InvalidAction", "Message": "the local stand-in answers media calls only"},
            "RequestId": "standin",
        }),
    };
    json!({ "Response": response }).to_string()
}
