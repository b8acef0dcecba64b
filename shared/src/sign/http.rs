//! What the routes that mint signatures add to every answer, whatever the handler decides.
//!
//! A signature is a credential for hours, so no answer of such a route may be kept by a browser,
//! a CDN or a proxy (`Cache-Control: no-store`, errors included: the next answer may be a
//! signature). And axum serves `HEAD` through the `GET` handler, which would mint a signature,
//! spend the caller's rate limit and quota, then drop the body: these routes refuse `HEAD` before
//! anything runs.

use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::map_response;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;

use crate::web::ApiError;

/// The methods a minting route answers, for `Allow` on its refused `HEAD`.
const ALLOW: &str = "GET, POST";

/// Wraps a minting route: `HEAD` is 405, other methods it does not serve are the usual JSON 405,
/// and every answer carries `Cache-Control: no-store`.
pub(super) fn minting<S>(route: MethodRouter<S>) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    route
        .head(refuse_head)
        .fallback(crate::web::method_not_allowed)
        .layer(map_response(no_store))
}

async fn refuse_head() -> Response {
    let mut response = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "HEAD is not served here: the answer would be a signature; use GET or POST",
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(ALLOW));
    response
}

async fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
