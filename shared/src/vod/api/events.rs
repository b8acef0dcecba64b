//! The reliable-callback queue: `PullEvents` and `ConfirmEvents`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{ApiCredentials, Budget, Empty, Ignored, MAX_BATCH, VodApi, VodApiError};

/// What `PullEvents` returned.
#[derive(Debug, Clone, Default)]
pub(crate) struct PulledEvents {
    /// The `EventContent` objects, each with its `EventHandle`; null entries are dropped.
    pub(crate) events: Vec<Map<String, Value>>,
    /// Entries that were not objects (VOD documents `EventSet` items as possibly null).
    pub(crate) skipped: usize,
    /// VOD's id for the call.
    pub(crate) request_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct PullEventsBody {
    #[serde(default)]
    pub(super) event_set: Option<Vec<Value>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ConfirmEventsBody<'a> {
    pub(super) event_handles: &'a [String],
}

impl VodApi {
    /// `PullEvents`: up to 16 events, waiting up to 5 s (server side) when the queue is empty.
    pub(crate) async fn pull_events(
        &self,
        credentials: &ApiCredentials,
        budget: Budget,
    ) -> Result<PulledEvents, VodApiError> {
        let (body, request_id): (PullEventsBody, String) = self
            .call(credentials, "PullEvents", &Empty {}, budget)
            .await?;
        let mut pulled = PulledEvents {
            request_id,
            ..PulledEvents::default()
        };
        for event in body.event_set.unwrap_or_default() {
            match event {
                Value::Object(event) => pulled.events.push(event),
                _ => pulled.skipped += 1,
            }
        }
        Ok(pulled)
    }

    /// `ConfirmEvents` for at most [`MAX_BATCH`] handles; returns VOD's request id.
    pub(crate) async fn confirm_events(
        &self,
        credentials: &ApiCredentials,
        handles: &[String],
        budget: Budget,
    ) -> Result<String, VodApiError> {
        if handles.len() > MAX_BATCH {
            return Err(VodApiError::Decode {
                action: "ConfirmEvents",
                detail: format!("{} handles, over the limit of {MAX_BATCH}", handles.len()),
            });
        }
        let body = ConfirmEventsBody {
            event_handles: handles,
        };
        let (Ignored {}, request_id) = self
            .call(credentials, "ConfirmEvents", &body, budget)
            .await?;
        Ok(request_id)
    }
}
