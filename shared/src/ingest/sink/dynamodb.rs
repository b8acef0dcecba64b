//! The DynamoDB sink: one item per event, keyed by the record's `id`.
//!
//! `PutItem` is conditional on `attribute_not_exists(id)`, so a redelivered event changes nothing
//! and its `ConditionalCheckFailedException` is reported as [`Stored::Duplicate`]: a success, as
//! VOD must stop retrying. `expiresAt` (epoch seconds) is meant to be the table's TTL attribute,
//! so events are deleted `retention_days` after they were received.
//!
//! An item may hold at most 400 KB (attribute names included). An envelope that would push the
//! item over [`MAX_ITEM_SIZE`] (some margin under it) is stored as gzip bytes in `envelopeGz`
//! instead of as text in `envelope`; exactly one of the two is present.

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;

use super::{Record, SinkError, Stored, aws_error, compress};

/// The largest item we write: DynamoDB's 400 KB limit less a margin for its size accounting.
const MAX_ITEM_SIZE: usize = 380_000;
const SECONDS_PER_DAY: i64 = 86_400;

/// Events as items in a DynamoDB table whose partition key is `id` (S).
#[derive(Debug, Clone)]
pub struct DynamoDbSink {
    client: aws_sdk_dynamodb::Client,
    table: String,
    retention_days: u32,
}

impl DynamoDbSink {
    /// A sink writing to `table` with `client`, keeping events `retention_days` (through the
    /// table's TTL on `expiresAt`). Makes no network call.
    pub fn new(client: aws_sdk_dynamodb::Client, table: String, retention_days: u32) -> Self {
        Self {
            client,
            table,
            retention_days,
        }
    }

    /// The table name.
    pub(crate) fn table(&self) -> &str {
        &self.table
    }

    /// Writes `record` unless an item with its id exists.
    pub(super) async fn store(&self, record: Record<'_>) -> Result<Stored, SinkError> {
        let expires_at = record
            .received_at_unix
            .saturating_add(i64::from(self.retention_days) * SECONDS_PER_DAY);
        let mut item = HashMap::from([
            ("id".to_owned(), AttributeValue::S(record.id.to_owned())),
            (
                "eventType".to_owned(),
                AttributeValue::S(record.event_type.to_owned()),
            ),
            (
                "receivedAt".to_owned(),
                AttributeValue::S(record.received_at.to_owned()),
            ),
            (
                "expiresAt".to_owned(),
                AttributeValue::N(expires_at.to_string()),
            ),
        ]);
        if let Some(file_id) = record.file_id {
            item.insert("fileId".to_owned(), AttributeValue::S(file_id.to_owned()));
        }
        if let Some(sub) = record.uploader_sub {
            item.insert("uploaderSub".to_owned(), AttributeValue::S(sub.to_owned()));
        }
        let base = item_size(&item);
        let envelope = record.envelope_json;
        if base + "envelope".len() + envelope.len() <= MAX_ITEM_SIZE {
            item.insert("envelope".to_owned(), AttributeValue::S(envelope));
        } else {
            let packed = compress(&envelope)?;
            let size = base + "envelopeGz".len() + packed.len();
            if size > MAX_ITEM_SIZE {
                return Err(SinkError::TooLarge(size));
            }
            tracing::info!(
                id = record.id,
                plain_size = envelope.len(),
                size,
                "envelope stored gzip-compressed to fit the item"
            );
            item.insert(
                "envelopeGz".to_owned(),
                AttributeValue::B(Blob::new(packed)),
            );
        }

        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(id)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(Stored::New),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(Stored::Duplicate)
            }
            Err(error) => Err(aws_error("DynamoDB", error)),
        }
    }
}

/// An upper bound of DynamoDB's size for the attributes written here: names plus values (a
/// number's decimal text is longer than its stored form).
fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter()
        .map(|(name, value)| {
            name.len()
                + match value {
                    AttributeValue::S(s) | AttributeValue::N(s) => s.len(),
                    AttributeValue::B(b) => b.as_ref().len(),
                    _ => 0,
                }
        })
        .sum()
}
