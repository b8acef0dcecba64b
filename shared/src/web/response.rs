//! The JSON envelope every answer uses, success or failure.
//!
//! `{"code":0,"message":"ok","data":{…}}` on success and
//! `{"code":<status>,"error":"<stable_reason>","message":"<for humans>"}` on failure: the shape
//! Tencent's sample clients already read. `error` is a stable snake_case string clients can branch
//! on; `message` may change wording. Use cases turn their own errors into [`ApiError`] once, at the
//! edge of their router.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The stable reason of an error response, left in response extensions for the log line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ErrorReason(pub(crate) &'static str);

/// An error as the client sees it: status, stable reason, human message.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) reason: &'static str,
    pub(crate) message: String,
    pub(crate) www_authenticate: Option<HeaderValue>,
}

impl ApiError {
    pub(crate) fn new(
        status: StatusCode,
        reason: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            reason,
            message: message.into(),
            www_authenticate: None,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable reason clients branch on (the envelope's `error`).
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: u16,
    error: &'a str,
    message: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.status.as_u16(),
            error: self.reason,
            message: &self.message,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(challenge) = self.www_authenticate {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, challenge);
        }
        response.extensions_mut().insert(ErrorReason(self.reason));
        response
    }
}

#[derive(Serialize)]
struct OkBody<T> {
    code: u16,
    message: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<T>,
}

/// `200 {"code":0,"message":"ok","data":…}`.
pub(crate) fn ok<T: Serialize>(data: T) -> Response {
    axum::Json(OkBody {
        code: 0,
        message: "ok",
        data: Some(data),
    })
    .into_response()
}

/// `201 {"code":0,"message":"ok","data":…}`: the request created something.
pub(crate) fn created<T: Serialize>(data: T) -> Response {
    (StatusCode::CREATED, ok(data)).into_response()
}

/// `200 {"code":0,"message":"ok"}`.
pub(crate) fn ok_empty() -> Response {
    axum::Json(OkBody::<()> {
        code: 0,
        message: "ok",
        data: None,
    })
    .into_response()
}
