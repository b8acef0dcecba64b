//! Reading a request body within a size limit and a deadline.
//!
//! Handlers take the raw body and read it here, rather than through axum's `Bytes` extractor or
//! a body-limit layer, so that every refusal (too large, too slow, a broken stream) is answered in
//! the JSON envelope with a stable reason, and so that a too-large body is partly drained before
//! the answer instead of reset under it.

use axum::http::StatusCode;

use super::ApiError;

/// How much of an oversized body is still read (and discarded) before answering 413, and for how
/// long. Answering while the client is still sending makes the kernel reset the connection, and
/// the reset can destroy the 413 before the client reads it; reading a bounded remainder first
/// (nginx's "lingering close") lets well-behaved clients see the answer.
const DRAIN_BYTES: usize = 2 * 1024 * 1024;
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(2);

/// The error a plain-HTTP request body gives once its deadline has passed (see
/// [`crate::web::serve::ServerLimits`]).
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive before its deadline")]
pub(crate) struct BodyTimeout;

/// Reads a request body up to `limit` bytes: 413 beyond it, 408 if it arrives too slowly (plain
/// HTTP only), 400 if the stream fails.
pub(crate) async fn read_body(
    mut body: axum::body::Body,
    limit: usize,
) -> Result<bytes::Bytes, ApiError> {
    use http_body_util::BodyExt as _;
    let mut collected = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(error) => {
                return Err(if error.into_inner().is::<BodyTimeout>() {
                    ApiError::new(
                        StatusCode::REQUEST_TIMEOUT,
                        "request_timeout",
                        "the request body did not arrive in time",
                    )
                } else {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "bad_request",
                        "the request body could not be read",
                    )
                });
            }
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers carry no body bytes
        };
        if collected.len() + data.len() > limit {
            let mut drained = collected.len() + data.len();
            let drain = async {
                while drained <= DRAIN_BYTES
                    && let Some(Ok(frame)) = body.frame().await
                {
                    drained += frame.data_ref().map_or(0, bytes::Bytes::len);
                }
            };
            let _ = tokio::time::timeout(DRAIN_TIME, drain).await;
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the request body must be at most {limit} bytes"),
            ));
        }
        collected.extend_from_slice(&data);
    }
    Ok(collected.freeze())
}
