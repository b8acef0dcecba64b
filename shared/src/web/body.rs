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

/// Refuses a JSON document that repeats a key in any object: serde keeps the last value, so
/// `{"procedure":"A","procedure":"B"}` would mean something other than what a reviewer, a WAF or
/// another parser reads. A document that is not JSON at all passes: its parser names that error.
pub(crate) fn refuse_duplicate_keys(json: &[u8]) -> Result<(), ApiError> {
    use serde::de::IgnoredAny;
    if serde_json::from_slice::<IgnoredAny>(json).is_err() {
        return Ok(());
    }
    serde_json::from_slice::<unique::Unique>(json).map_err(|error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("the JSON body repeats a key: {error}"),
        )
    })?;
    Ok(())
}

/// A walk over a JSON document that fails on the first key repeated within one object.
mod unique {
    use std::collections::HashSet;
    use std::fmt;

    use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

    /// Longest key echoed back in the error.
    const MAX_ECHO_CHARS: usize = 64;

    pub(super) struct Unique;

    impl<'de> Deserialize<'de> for Unique {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(Walk)
        }
    }

    struct Walk;

    impl<'de> Visitor<'de> for Walk {
        type Value = Unique;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any JSON value")
        }

        fn visit_bool<E>(self, _: bool) -> Result<Unique, E> {
            Ok(Unique)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Unique, E> {
            Ok(Unique)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Unique, E> {
            Ok(Unique)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Unique, E> {
            Ok(Unique)
        }
        fn visit_str<E>(self, _: &str) -> Result<Unique, E> {
            Ok(Unique)
        }
        fn visit_unit<E>(self) -> Result<Unique, E> {
            Ok(Unique)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Unique, A::Error> {
            while seq.next_element::<Unique>()?.is_some() {}
            Ok(Unique)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
            let mut seen = HashSet::new();
            while let Some(key) = map.next_key::<String>()? {
                if seen.contains(&key) {
                    let shown: String = key.chars().take(MAX_ECHO_CHARS).collect();
                    return Err(de::Error::custom(format_args!("{shown:?}")));
                }
                map.next_value::<Unique>()?;
                seen.insert(key);
            }
            Ok(Unique)
        }
    }
}

/// A request body for unit tests, sent a chunk at a time like a client on a network.
#[cfg(test)]
pub(super) mod testing {
    use std::pin::Pin;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Poll};

    use bytes::Bytes;
    use http_body::{Body, Frame};

    /// Sends `chunks` chunks of `size` bytes, then ends, or with `stall` never sends another byte
    /// (a client that stops sending). `sent` counts the bytes handed out.
    pub(in crate::web) struct Trickle {
        chunks: usize,
        size: usize,
        stall: bool,
        pub(in crate::web) sent: Arc<AtomicUsize>,
    }

    impl Trickle {
        pub(in crate::web) fn new(chunks: usize, size: usize, stall: bool) -> Self {
            Self {
                chunks,
                size,
                stall,
                sent: Arc::default(),
            }
        }
    }

    impl Body for Trickle {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            if self.chunks == 0 {
                return if self.stall {
                    Poll::Pending
                } else {
                    Poll::Ready(None)
                };
            }
            self.chunks -= 1;
            self.sent.fetch_add(self.size, Ordering::Relaxed);
            Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b'x'; self.size])))))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use axum::body::Body;
    use tokio::time::Instant;

    use super::testing::Trickle;
    use super::*;

    #[tokio::test]
    async fn a_body_up_to_the_limit_is_read_whole() {
        let bytes = read_body(Body::new(Trickle::new(3, 100, false)), 300)
            .await
            .unwrap();
        assert_eq!(bytes.len(), 300);
    }

    /// A body whose stream fails, as when the client's connection resets.
    struct Broken;

    impl http_body::Body for Broken {
        type Data = bytes::Bytes;
        type Error = std::io::Error;

        fn poll_frame(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, std::io::Error>>>
        {
            std::task::Poll::Ready(Some(Err(std::io::Error::other("connection reset"))))
        }
    }

    #[tokio::test]
    async fn a_broken_stream_is_a_bad_request() {
        let error = read_body(Body::new(Broken), 300).await.unwrap_err();
        assert_eq!(
            (error.status, error.reason),
            (StatusCode::BAD_REQUEST, "bad_request")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_still_sending_is_drained_up_to_a_bound_then_answered_413() {
        let endless = Trickle::new(usize::MAX, 64 * 1024, false);
        let sent = endless.sent.clone();
        let started = Instant::now();
        let error = read_body(Body::new(endless), 1000).await.unwrap_err();
        assert_eq!(
            (error.status, error.reason),
            (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
        );
        let sent = sent.load(Ordering::Relaxed);
        assert!(
            (DRAIN_BYTES..=DRAIN_BYTES + 64 * 1024).contains(&sent),
            "{sent}"
        );
        assert_eq!(
            started.elapsed(),
            Duration::ZERO,
            "bounded by bytes, not time"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_stops_sending_is_answered_413_after_the_drain_time() {
        let started = Instant::now();
        let error = read_body(Body::new(Trickle::new(2, 600, true)), 1000)
            .await
            .unwrap_err();
        assert_eq!(error.status, StatusCode::PAYLOAD_TOO_LARGE);
        let waited = started.elapsed();
        assert!(
            (DRAIN_TIME..DRAIN_TIME + Duration::from_millis(2)).contains(&waited),
            "{waited:?}"
        );
    }

    #[test]
    fn a_repeated_key_at_any_depth_is_refused() {
        for body in [
            r#"{"procedure":"A","procedure":"B"}"#,
            r#"{"a":{"b":1,"b":2}}"#,
            r#"[{"x":1},{"y":1,"y":1}]"#,
            r#"{"meta":"a","me\u0074a":"b"}"#,
        ] {
            let error = refuse_duplicate_keys(body.as_bytes()).unwrap_err();
            assert_eq!(
                (error.status, error.reason),
                (StatusCode::BAD_REQUEST, "bad_request")
            );
        }
        for body in [
            r#"{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}"#,
            "",
            "not json",
            r#"{"a":1,"a":"#,
        ] {
            assert!(refuse_duplicate_keys(body.as_bytes()).is_ok(), "{body}");
        }
    }
}
