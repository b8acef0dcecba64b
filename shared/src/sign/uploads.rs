//! The read side of uploads: `GET /v1/uploads/{uploadId}` (one upload's status) and
//! `GET /v1/uploads` (the caller's uploads, newest first).
//!
//! The events function keeps one record per upload in the uploads store; these routes only read
//! it. Who may read what follows from the upload id itself: [`Upload::verify`] proves the id the
//! caller's from its tag, before the store is asked anything, so another caller's id, a forged or
//! malformed one and a v1 id all get the same `404 not_found` as an id that never existed, and
//! cost no store read. An id of the caller's that no event has reached yet is `waiting`, from the
//! id alone: creating an upload writes nothing, so "no record" is the expected state of a fresh
//! upload, not an error.
//!
//! A page polls these routes while a video processes, far more often than it signs, so reads
//! spend their own per-caller budget (`READ_RATE_LIMIT`), never the signing one
//! (`SIGN_RATE_LIMIT`, `SIGN_QUOTA`). Without `UPLOADS_STORE` there is nothing to read: both
//! routes answer `501 not_configured`, while creating and refreshing uploads (stateless) work as
//! before.

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tokio::time::Instant;

use super::policy::PolicyError;
use super::{SignError, SignKeys, SignState};
use crate::attribution::{Meta, Upload, UploadIdError};
use crate::ingest::uploads::{self, MAX_PAGE, UploadsStore};
use crate::web::CallerSub;

/// `limit` when the listing does not say.
pub(crate) const DEFAULT_PAGE: usize = 20;

/// What `GET /v1/uploads` answers.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Listed {
    uploads: Vec<uploads::Upload>,
    next_cursor: Option<String>,
}

/// The parameters of a listing.
#[derive(Debug, PartialEq, Eq)]
struct ListQuery {
    limit: usize,
    cursor: Option<String>,
}

impl ListQuery {
    /// `limit` (1..=100, default 20) and `cursor` (an earlier page's `nextCursor`; empty is the
    /// first page), each at most once; anything else is refused.
    fn parse(query: &str) -> Result<Self, PolicyError> {
        let bad = |message: String| PolicyError::BadRequest(message);
        let (mut limit, mut cursor) = (None, None);
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let slot = match key.as_ref() {
                "limit" => &mut limit,
                "cursor" => &mut cursor,
                other => {
                    let other: String = other.chars().take(40).collect();
                    return Err(bad(format!(
                        "unknown parameter {other:?}; accepted: limit, cursor"
                    )));
                }
            };
            if slot.replace(value.into_owned()).is_some() {
                return Err(bad(format!("parameter {key} appears more than once")));
            }
        }
        let limit = match limit {
            None => DEFAULT_PAGE,
            Some(text) => text
                .parse()
                .ok()
                .filter(|n| (1..=MAX_PAGE).contains(n))
                .ok_or_else(|| {
                    bad(format!(
                        "limit must be a whole number from 1 to {MAX_PAGE} (default \
                         {DEFAULT_PAGE})"
                    ))
                })?,
        };
        Ok(Self {
            limit,
            cursor: cursor.filter(|c| !c.is_empty()),
        })
    }
}

/// `GET /v1/uploads/{uploadId}`.
pub(super) async fn get_upload(
    State(state): State<Arc<SignState>>,
    id: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    // A path that does not decode names no upload: the same 404 as any unknown id.
    let id = id.map(|Path(id)| id).unwrap_or_default();
    read(&state, request, |keys, sub, store| async move {
        let upload = find(&keys, &sub, &store, &id).await?;
        Ok(crate::web::ok(upload))
    })
    .await
}

/// `GET /v1/uploads?limit=&cursor=`.
pub(super) async fn list_uploads(
    State(state): State<Arc<SignState>>,
    request: Request,
) -> Response {
    let query = request.uri().query().unwrap_or("").to_owned();
    read(&state, request, |_, sub, store| async move {
        let query = ListQuery::parse(&query)?;
        let page = store
            .list(&sub, query.limit, query.cursor.as_deref())
            .await
            .map_err(SignError::Store)?;
        Ok(crate::web::ok(Listed {
            uploads: page.uploads,
            next_cursor: page.next_cursor,
        }))
    })
    .await
}

/// What every read does around its own work: authenticate, spend the caller's read budget,
/// require a store; then the answer, with the caller's `sub` for the log line.
async fn read<F, Fut>(state: &SignState, request: Request, work: F) -> Response
where
    F: FnOnce(Arc<SignKeys>, String, UploadsStore) -> Fut,
    Fut: Future<Output = Result<Response, SignError>>,
{
    let (keys, caller) = match state.authenticate(request.headers()).await {
        Ok(authenticated) => authenticated,
        Err(error) => return error.into_response(),
    };
    let answer = async {
        if let Some(limiter) = &state.read_limiter {
            limiter
                .check(&caller.sub, Instant::now())
                .map_err(SignError::ReadsLimited)?;
        }
        let store = state.uploads.clone().ok_or(SignError::NotConfigured)?;
        work(keys, caller.sub.clone(), store).await
    }
    .await;
    let mut response = answer.unwrap_or_else(IntoResponse::into_response);
    response.extensions_mut().insert(CallerSub(caller.sub));
    response
}

/// The caller's upload `id` as the API shows it: proven theirs first (no store read otherwise),
/// then its record, or `waiting` when no event has reached it yet.
async fn find(
    keys: &SignKeys,
    sub: &str,
    store: &UploadsStore,
    id: &str,
) -> Result<uploads::Upload, SignError> {
    let upload = Upload::verify(&keys.context, sub, id).map_err(SignError::UnknownUpload)?;
    let id = upload.id().as_str();
    match store.get(id).await.map_err(SignError::Store)? {
        None => Ok(uploads::Upload::waiting(
            id,
            upload.meta().map(Meta::as_str),
        )),
        Some(record) if record.owner == sub => Ok(record.to_upload()),
        // Unreachable without the context key (the id's tag binds it to `sub`, and only a token
        // sealed under the key names an owner); answered as any foreign id, never shown.
        Some(_) => {
            tracing::warn!("an upload record's owner differs from the owner its id proves");
            Err(SignError::UnknownUpload(UploadIdError::NotTheCallers))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> Result<ListQuery, String> {
        ListQuery::parse(query).map_err(|e| e.to_string())
    }

    #[test]
    fn a_listing_takes_limit_and_cursor_and_nothing_else() {
        assert_eq!(
            parse(""),
            Ok(ListQuery {
                limit: 20,
                cursor: None
            })
        );
        assert_eq!(
            parse("limit=100&cursor=abc"),
            Ok(ListQuery {
                limit: 100,
                cursor: Some("abc".into())
            })
        );
        assert_eq!(parse("cursor=").map(|q| q.cursor), Ok(None));
        for bad in [
            "limit=0",
            "limit=101",
            "limit=-1",
            "limit=x",
            "limit=",
            "limit=1&limit=2",
            "cursor=a&cursor=b",
            "page=2",
        ] {
            let error = parse(bad).unwrap_err();
            assert!(
                error.contains("limit") || error.contains("cursor") || error.contains("page"),
                "{bad}: {error}"
            );
        }
    }
}
