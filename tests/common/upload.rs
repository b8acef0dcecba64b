//! One upload as the black-box tests see it: what vodgate sealed into its signature, and the
//! events VOD sends about it, as VOD sends them (unsigned: [`super::signed`] or [`deliver`] signs).

use std::path::Path;

use serde_json::{Value, json};
use vodgate::attribution::{self, Attribution, Meta, UploadId};
use vodgate::ingest::sink::SqliteSink;
use vodgate::platform::secret::SecretList;

use super::{callback_fixture, signed};

/// The task of the procedure events (`processing`), as in the fixtures.
pub const TASK_ID: &str = "1500000001-procedurev2-2e7f0c4b1f3a9d6e8c5b";

/// One upload vodgate signed: its id, its attribution token and its VOD file.
pub struct TestUpload {
    pub id: String,
    pub token: String,
    pub file_id: String,
}

impl TestUpload {
    /// A new upload of `sub` (with `meta`), its token sealed with `context_key`, and a random
    /// file id.
    pub fn new(context_key: &str, sub: &str, meta: Option<&str>) -> Self {
        let upload_id = UploadId::random();
        let token = attribution::seal(
            &SecretList::parse(context_key).unwrap(),
            &Attribution {
                sub: sub.into(),
                upload_id: upload_id.clone(),
                meta: meta.map(|meta| Meta::parse(meta).unwrap()),
            },
        )
        .unwrap();
        Self {
            id: upload_id.as_str().to_owned(),
            token,
            file_id: format!("52858907842{:08}", rand::random::<u32>() % 100_000_000),
        }
    }

    /// Its `NewFileUpload`, carrying the token as `SourceContext`.
    pub fn uploaded(&self) -> Value {
        let mut body = callback_fixture("new_file_upload.json");
        let event = &mut body["FileUploadEvent"];
        event["FileId"] = self.file_id.clone().into();
        event["MediaBasicInfo"]["SourceInfo"]["SourceContext"] = self.token.clone().into();
        body
    }

    /// Its procedure (task [`TASK_ID`]) in `PROCESSING`.
    pub fn processing(&self) -> Value {
        let mut body = callback_fixture("procedure_change_processing.json");
        let event = &mut body["ProcedureStateChangeEvent"];
        event["TaskId"] = TASK_ID.into();
        event["FileId"] = self.file_id.clone().into();
        event["SessionContext"] = self.token.clone().into();
        body
    }

    /// Its procedure's `FINISH`, with outputs ready.
    pub fn finished(&self) -> Value {
        let mut body = callback_fixture("procedure_finish_ready.json");
        let event = &mut body["ProcedureStateChangeEvent"];
        event["FileId"] = self.file_id.clone().into();
        event["SessionContext"] = self.token.clone().into();
        body
    }

    /// A review of the file with `suggestion` (label `Porn`) and `session_context`.
    pub fn reviewed(&self, suggestion: &str, session_context: &str) -> Value {
        let mut body = callback_fixture("review_audio_video.json");
        let event = &mut body["ReviewAudioVideoCompleteEvent"];
        event["Input"]["FileId"] = self.file_id.clone().into();
        event["SessionContext"] = session_context.into();
        event["Output"]["Suggestion"] = suggestion.into();
        event["Output"]["Label"] = "Porn".into();
        body
    }

    /// `FileDeleted` naming the file.
    pub fn deleted(&self) -> Value {
        json!({"EventType": "FileDeleted", "FileDeleteEvent": {
            "FileIdSet": [self.file_id],
            "FileDeleteResultInfo": [{"FileId": self.file_id,
                "DeleteParts": [{"Type": "OriginalFiles", "Definition": 0}]}]}})
    }
}

/// Delivers `body` to the events function at `base` as VOD would (signed with callback key
/// `key`); the HTTP status.
pub async fn deliver(base: &str, body: &Value, key: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{base}/v1/vod/events"))
        .body(signed(body.clone(), key, 600).to_string())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Every envelope of the SQLite sink at `db`, oldest first.
pub fn stored_envelopes(db: &Path) -> Vec<Value> {
    SqliteSink::open(db)
        .unwrap()
        .list(0, 100_000)
        .unwrap()
        .into_iter()
        .map(|e| serde_json::from_str(&e.envelope).unwrap())
        .collect()
}
