//! The SQS sink: each event becomes one message whose body is the envelope JSON.
//!
//! Consumers filter without parsing bodies through the `eventType` and `fileId` message
//! attributes. On a FIFO queue (URL ending in `.fifo`) the record's `id` is the
//! `MessageDeduplicationId`, so a redelivery within SQS's 5-minute window is dropped by SQS, and
//! the message group is the file id (else the event type), so one file's events stay in order
//! while different files flow in parallel. A standard queue cannot deduplicate: consumers dedupe
//! by `id`. SQS never tells us whether a message was a duplicate, so a store is always
//! [`Stored::New`].
//!
//! SQS counts the body plus every attribute's name, type and value against the queue's
//! `MaximumMessageSize` (at most 1 MiB; 256 KiB was the long-standing default, so many queues
//! have it). A message over 256 KiB makes us read the queue's real limit, once per sink; one over
//! the limit is sent as base64 of the gzipped envelope with `contentEncoding=gzip`. The same
//! encoding carries an envelope holding characters SQS does not allow in a body (control
//! characters, U+FFFE, U+FFFF), which SQS would otherwise refuse (a retry that fails forever) or
//! replace with U+FFFD (a silently altered event).

use std::sync::Arc;

use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{MessageAttributeValue, QueueAttributeName};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use tokio::sync::OnceCell;

use super::{Record, SinkError, Stored, Unavailable, aws_error, compress};

/// SQS's default (and historical maximum) message size, and what we assume when the queue's own
/// limit cannot be read.
const DEFAULT_MAX_MESSAGE_SIZE: usize = 262_144;

/// The message group when neither the file id nor the event type is a valid group id.
const FALLBACK_GROUP: &str = "vodgate";

/// Events as messages on an SQS queue.
#[derive(Debug, Clone)]
pub struct SqsSink {
    client: aws_sdk_sqs::Client,
    queue_url: String,
    fifo: bool,
    max_message_size: Arc<OnceCell<usize>>,
}

impl SqsSink {
    /// A sink sending to `queue_url` with `client`; FIFO when the URL ends in `.fifo`. Makes no
    /// network call.
    pub fn new(client: aws_sdk_sqs::Client, queue_url: String) -> Self {
        Self {
            client,
            fifo: queue_url.ends_with(".fifo"),
            queue_url,
            max_message_size: Arc::new(OnceCell::new()),
        }
    }

    /// The queue URL.
    pub(crate) fn queue_url(&self) -> &str {
        &self.queue_url
    }

    /// Sends `record` as one message, compressed if it would not fit otherwise.
    pub(super) async fn store(&self, record: Record<'_>) -> Result<Stored, SinkError> {
        // SQS refuses an empty attribute value, so an empty one is left out like a missing one.
        let mut attributes: Vec<(&str, &str)> = [
            ("eventType", Some(record.event_type)),
            ("fileId", record.file_id),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name, value.filter(|v| !v.is_empty())?)))
        .collect();
        let group = group_id(&record);
        let envelope = record.envelope_json;
        let plain_size = message_size(&envelope, &attributes);
        if is_valid_body(&envelope) && self.fits(plain_size).await {
            return self.send(record.id, group, envelope, &attributes).await;
        }
        let body = BASE64.encode(compress(&envelope)?);
        attributes.push(("contentEncoding", "gzip"));
        let size = message_size(&body, &attributes);
        if !self.fits(size).await {
            return Err(SinkError::TooLarge(size));
        }
        tracing::info!(
            id = record.id,
            plain_size,
            size,
            "envelope sent gzip-compressed (too large, or holding characters SQS refuses)"
        );
        self.send(record.id, group, body, &attributes).await
    }

    async fn send(
        &self,
        id: &str,
        group: &str,
        body: String,
        attributes: &[(&str, &str)],
    ) -> Result<Stored, SinkError> {
        let mut request = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body);
        for &(name, value) in attributes {
            let value = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| {
                    SinkError::unavailable(Unavailable::Failed, DisplayErrorContext(e).to_string())
                })?;
            request = request.message_attributes(name, value);
        }
        if self.fifo {
            request = request.message_group_id(group).message_deduplication_id(id);
        }
        request.send().await.map_err(|e| aws_error("SQS", e))?;
        Ok(Stored::New)
    }

    /// Whether a message of `size` bytes fits the queue. Only a message over the default limit
    /// costs a lookup of the queue's own, once per sink.
    async fn fits(&self, size: usize) -> bool {
        size <= DEFAULT_MAX_MESSAGE_SIZE || size <= self.max_message_size().await
    }

    /// The queue's `MaximumMessageSize`, read once. If it cannot be read, the default is assumed
    /// (and kept): an envelope then gets compressed when it need not be, which costs consumers
    /// nothing they do not already handle.
    async fn max_message_size(&self) -> usize {
        *self
            .max_message_size
            .get_or_init(|| async {
                let result = self
                    .client
                    .get_queue_attributes()
                    .queue_url(&self.queue_url)
                    .attribute_names(QueueAttributeName::MaximumMessageSize)
                    .send()
                    .await;
                let size = match result {
                    Ok(output) => output
                        .attributes()
                        .and_then(|a| a.get(&QueueAttributeName::MaximumMessageSize))
                        .and_then(|v| v.parse().ok()),
                    Err(error) => {
                        tracing::warn!(
                            error = %DisplayErrorContext(error),
                            "cannot read the queue's MaximumMessageSize; assuming 262144"
                        );
                        None
                    }
                };
                size.unwrap_or(DEFAULT_MAX_MESSAGE_SIZE)
            })
            .await
    }
}

/// The size SQS counts: the body plus each attribute's name, data type and value.
fn message_size(body: &str, attributes: &[(&str, &str)]) -> usize {
    attributes
        .iter()
        .map(|(name, value)| name.len() + "String".len() + value.len())
        .sum::<usize>()
        + body.len()
}

/// Whether SQS accepts `body` as is: it allows only XML's characters (tab, newline, carriage
/// return, U+0020 to U+D7FF, U+E000 to U+FFFD, U+10000 and above).
fn is_valid_body(body: &str) -> bool {
    !body.chars().any(|c| {
        (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
    })
}

/// The FIFO message group: the file id, else the event type, else a constant, whichever is a
/// valid group id first (1 to 128 printable ASCII characters), so a strange value never makes
/// every retry fail.
fn group_id<'a>(record: &Record<'a>) -> &'a str {
    let valid = |g: &&str| (1..=128).contains(&g.len()) && g.bytes().all(|b| b.is_ascii_graphic());
    record
        .file_id
        .filter(valid)
        .or(Some(record.event_type).filter(valid))
        .unwrap_or(FALLBACK_GROUP)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record<'a>(file_id: Option<&'a str>, event_type: &'a str) -> Record<'a> {
        Record {
            id: "vod_0123456789abcdef0123456789abcdef",
            kind: "upload.completed",
            event_type,
            file_id,
            uploader_sub: None,
            received_at: "2026-11-28T16:41:00Z",
            received_at_unix: 1_795_884_060,
            envelope_json: "{}".to_owned(),
        }
    }

    #[test]
    fn group_id_prefers_the_file_then_the_event_type() {
        assert_eq!(
            group_id(&record(Some("5285890781763144364"), "X")),
            "5285890781763144364"
        );
        assert_eq!(group_id(&record(None, "NewFileUpload")), "NewFileUpload");
        assert_eq!(
            group_id(&record(Some(""), "NewFileUpload")),
            "NewFileUpload"
        );
        assert_eq!(
            group_id(&record(Some("a b"), "NewFileUpload")),
            "NewFileUpload"
        );
        let long = "1".repeat(129);
        assert_eq!(group_id(&record(Some(&long), "")), "vodgate");
    }

    #[test]
    fn counts_attributes_in_the_size() {
        assert_eq!(message_size("abc", &[]), 3);
        assert_eq!(
            message_size("abc", &[("eventType", "NewFileUpload")]),
            3 + 9 + 6 + 13
        );
    }

    #[test]
    fn bodies_with_characters_sqs_refuses_are_detected() {
        assert!(is_valid_body("{\"a\":\"é 日本 \u{1F600}\"}\n\t\r"));
        assert!(!is_valid_body("a\u{0}b"));
        assert!(!is_valid_body("a\u{1b}b"));
        assert!(!is_valid_body("a\u{FFFF}b"));
    }
}
