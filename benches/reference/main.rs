//! A bare reference server for `benches/load.sh`: the ceiling that `sign` is measured against.
//!
//! `sign` answers `POST /v1/upload-signature` on axum and tokio, and most of its work per
//! request is its own choice: claims and policy checks, attribution, rate limit and quota hooks,
//! key rotation, the request log line, the error envelope. This server keeps only what no
//! implementation on the same stack can skip: the same axum + tokio (the same crates, locked by
//! the same Cargo.lock), the bearer token's HS256 MAC checked with HMAC-SHA256, and the upload
//! signature itself (HMAC-SHA1 over a query-string plaintext, then base64 of mac ‖ plaintext).
//! `load.sh` loads it and `sign` side by side in one run and reports `sign`'s requests/s as a
//! fraction of this server's, a number that says how close `sign` is to "axum + tokio + the
//! unavoidable crypto" and that holds up better on a busy machine than either rate alone.
//!
//! Not a product: it checks the token's MAC only (no `alg`, expiry or scope), logs nothing, and
//! has no other route. It serves plain HTTP on `0.0.0.0:$PORT` and reads `VOD_SECRET_ID`,
//! `VOD_SECRET_KEY` and `JWT_HS256_SECRET` (one secret) like `sign`.
//!
//! ```sh
//! cargo build --release --example reference-server
//! ```

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::post;
use axum::serve::ListenerExt;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha1::Sha1;
use sha2::Sha256;

/// How long a signature is valid: `sign`'s default (`SIGN_VALIDITY_SECONDS`).
const VALIDITY_SECS: u64 = 7_200;

struct Keys {
    secret_id: String,
    secret_key: Vec<u8>,
    jwt_secret: Vec<u8>,
}

#[tokio::main]
async fn main() {
    let keys = Arc::new(Keys {
        secret_id: var("VOD_SECRET_ID"),
        secret_key: var("VOD_SECRET_KEY").into_bytes(),
        jwt_secret: var("JWT_HS256_SECRET").into_bytes(),
    });
    let port: u16 = var("PORT").parse().expect("PORT must be a port number");
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", port))
        .await
        .expect("bind 0.0.0.0:$PORT")
        // As `sign` does: answers are written whole.
        .tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
    let app = Router::new()
        .route("/v1/upload-signature", post(upload_signature))
        .with_state(keys);
    axum::serve(listener, app).await.expect("serve");
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} must be set"))
}

/// The body is read, as `sign` reads it, and not looked at.
async fn upload_signature(
    State(keys): State<Arc<Keys>>,
    headers: HeaderMap,
    _body: Bytes,
) -> Result<Json<Value>, StatusCode> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or(StatusCode::UNAUTHORIZED)?;
    if !hs256_mac_ok(token, &keys.jwt_secret) {
        return Err(StatusCode::UNAUTHORIZED);
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let plaintext = format!(
        "secretId={}&currentTimeStamp={now}&expireTime={}&random={}",
        keys.secret_id,
        now + VALIDITY_SECS,
        rand::random::<u32>()
    );
    let mut mac = Hmac::<Sha1>::new_from_slice(&keys.secret_key).expect("HMAC takes any key");
    mac.update(plaintext.as_bytes());
    let mut signed = mac.finalize().into_bytes().to_vec();
    signed.extend_from_slice(plaintext.as_bytes());
    Ok(Json(json!({
        "code": 0,
        "message": "ok",
        "data": { "signature": STANDARD.encode(signed) },
    })))
}

/// Whether `token` is `header.payload.signature` with a valid HMAC-SHA256 over
/// `header.payload`; `verify_slice` compares in constant time.
fn hs256_mac_ok(token: &str, secret: &[u8]) -> bool {
    let Some((signing_input, signature)) = token.rsplit_once('.') else {
        return false;
    };
    if signing_input.matches('.').count() != 1 {
        return false;
    }
    let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(signing_input.as_bytes());
    mac.verify_slice(&signature).is_ok()
}
