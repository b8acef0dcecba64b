//! The event configuration: `DescribeEventConfig` and `ModifyEventConfig` (`vodgate vod-config`).

use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use super::{ApiCredentials, Budget, Empty, Ignored, VodApi, VodApiError};
use crate::platform::secret::Secret;

/// The budget of the configuration calls (`vod-config`), which have no deadline of their own.
const CONFIG_CALL: Duration = Duration::from_secs(10);
const CONFIG_CALLS_TOTAL: Duration = Duration::from_secs(30);

/// `Mode` of the event configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Mode {
    /// Normal callback: VOD POSTs each event to `NotificationUrl`.
    Push,
    /// Reliable callback: events wait in a queue for `PullEvents`.
    Pull,
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_uppercase().as_str() {
            "PUSH" => Ok(Self::Push),
            "PULL" => Ok(Self::Pull),
            _ => Err(format!("expected PUSH or PULL, got {s:?}")),
        }
    }
}

/// An event switch of the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Switch {
    On,
    Off,
}

impl FromStr for Switch {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_uppercase().as_str() {
            "ON" => Ok(Self::On),
            "OFF" => Ok(Self::Off),
            _ => Err(format!("expected ON or OFF, got {s:?}")),
        }
    }
}

/// `DescribeEventConfig`'s answer. Fields VOD adds later are kept in `other`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventConfig {
    pub mode: Option<String>,
    pub notification_url: Option<String>,
    pub upload_media_complete_event_switch: Option<String>,
    pub delete_media_complete_event_switch: Option<String>,
    pub persistence_complete_event_switch: Option<String>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// A `ModifyEventConfig` request: only the fields set are sent, so the rest stay as they are.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventConfigChange {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// The v3.0 callback URL; an empty string clears it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload_media_complete_event_switch: Option<Switch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_media_complete_event_switch: Option<Switch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistence_complete_event_switch: Option<Switch>,
    /// The callback key (`Sign = MD5(SignKey + T)`); never printed.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "expose_secret"
    )]
    pub sign_key: Option<Secret>,
}

impl EventConfigChange {
    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        self.mode.is_none()
            && self.notification_url.is_none()
            && self.upload_media_complete_event_switch.is_none()
            && self.delete_media_complete_event_switch.is_none()
            && self.persistence_complete_event_switch.is_none()
            && self.sign_key.is_none()
    }
}

fn expose_secret<S: Serializer>(secret: &Option<Secret>, serializer: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(secret) => serializer.serialize_str(secret.expose()),
        None => serializer.serialize_none(),
    }
}

impl VodApi {
    /// `DescribeEventConfig`.
    pub async fn describe_event_config(
        &self,
        credentials: &ApiCredentials,
    ) -> Result<EventConfig, VodApiError> {
        let budget = Budget::within(CONFIG_CALL, CONFIG_CALLS_TOTAL);
        let (config, _) = self
            .call(credentials, "DescribeEventConfig", &Empty {}, budget)
            .await?;
        Ok(config)
    }

    /// `ModifyEventConfig`; returns VOD's request id.
    pub async fn modify_event_config(
        &self,
        credentials: &ApiCredentials,
        change: &EventConfigChange,
    ) -> Result<String, VodApiError> {
        let budget = Budget::within(CONFIG_CALL, CONFIG_CALLS_TOTAL);
        let (Ignored {}, request_id) = self
            .call(credentials, "ModifyEventConfig", change, budget)
            .await?;
        Ok(request_id)
    }
}
