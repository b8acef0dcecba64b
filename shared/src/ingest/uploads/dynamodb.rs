//! Uploads in one DynamoDB table.
//!
//! Layout (all attributes strings unless said):
//!
//! | item | `pk` | other attributes |
//! |---|---|---|
//! | an upload | `upload#<uploadId>` | `owner` (the uploader's `sub`), `listKey` (`<updatedAt>#<uploadId>`), `version` (N), `record` (the JSON of the record) |
//! | a file | `file#<FileId>` | `uploadId`, `sub`, `meta` (when set) |
//!
//! The global secondary index `byOwner` (partition `owner`, sort `listKey`, all attributes
//! projected) lists one owner's uploads newest first. It is sparse: file items have no `owner`.
//! File lookups and the read of a record before updating it are strongly consistent reads of the
//! table; listings read the index, which is eventually consistent (a change shows in a listing
//! within about a second).
//!
//! An update reads the record and its `version`, joins, and writes it back on condition that
//! `version` is still what it read (or that the item still does not exist); a writer that lost
//! the race reads again and retries, so no update is lost. A file's mapping is written once
//! (`attribute_not_exists(pk)`): the first upload to claim a `FileId` keeps it.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::{MAX_ATTEMPTS, Unavailable, Update, UploadRecord, UploadRef, UploadsError, backoff};
use crate::ingest::sink::aws_error_parts;

/// The listing index's name (template.yaml creates it).
pub const OWNER_INDEX: &str = "byOwner";

/// Uploads in a DynamoDB table keyed by `pk` (S), with the `byOwner` index.
#[derive(Debug, Clone)]
pub struct DynamoDbUploads {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

type Item = HashMap<String, AttributeValue>;

impl DynamoDbUploads {
    /// The store in `table`, through `client`. Makes no network call.
    pub fn new(client: aws_sdk_dynamodb::Client, table: String) -> Self {
        Self { client, table }
    }

    /// The table name.
    pub(crate) fn table(&self) -> &str {
        &self.table
    }

    pub(super) async fn find_files(
        &self,
        file_ids: &[String],
    ) -> Result<Vec<(String, UploadRef)>, UploadsError> {
        let mut found = Vec::new();
        for file_id in file_ids {
            let Some(item) = self.read(format!("file#{file_id}")).await? else {
                continue;
            };
            let (Some(upload_id), Some(sub)) = (text(&item, "uploadId"), text(&item, "sub")) else {
                continue;
            };
            found.push((
                file_id.clone(),
                UploadRef {
                    upload_id,
                    sub,
                    meta: text(&item, "meta"),
                },
            ));
        }
        Ok(found)
    }

    pub(super) async fn apply(&self, update: &Update, at: i64) -> Result<(), UploadsError> {
        if let Some(file_id) = &update.link_file {
            self.link(file_id, &update.upload).await?;
        }
        let pk = format!("upload#{}", update.upload.upload_id);
        for attempt in 1..=MAX_ATTEMPTS {
            let old = self.read(pk.clone()).await?;
            let version = old
                .as_ref()
                .map(|item| number(item, "version").unwrap_or(0));
            let old = old.map(|item| decode(&item)).transpose()?;
            let Some(new) =
                UploadRecord::merge(old.as_ref(), &update.upload, update.facts.clone(), at)
            else {
                return Ok(());
            };
            let json = serde_json::to_string(&new).map_err(|e| {
                UploadsError::unavailable(Unavailable::Failed, format!("record JSON: {e}"))
            })?;
            let item = Item::from([
                ("pk".to_owned(), AttributeValue::S(pk.clone())),
                ("owner".to_owned(), AttributeValue::S(new.owner.clone())),
                ("listKey".to_owned(), AttributeValue::S(new.list_key())),
                (
                    "version".to_owned(),
                    AttributeValue::N((version.unwrap_or(0) + 1).to_string()),
                ),
                ("record".to_owned(), AttributeValue::S(json)),
            ]);
            let mut put = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item));
            put = match version {
                Some(version) => put
                    .condition_expression("#v = :v")
                    .expression_attribute_names("#v", "version")
                    .expression_attribute_values(":v", AttributeValue::N(version.to_string())),
                None => put.condition_expression("attribute_not_exists(pk)"),
            };
            match put.send().await {
                Ok(_) => return Ok(()),
                Err(error)
                    if error
                        .as_service_error()
                        .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
                {
                    if attempt < MAX_ATTEMPTS {
                        backoff(attempt).await;
                    }
                }
                Err(error) => return Err(dynamodb_error(error)),
            }
        }
        Err(UploadsError::unavailable(
            Unavailable::Busy,
            format!("DynamoDB: the upload kept changing under {MAX_ATTEMPTS} attempts"),
        ))
    }

    pub(super) async fn get(&self, upload_id: &str) -> Result<Option<UploadRecord>, UploadsError> {
        self.read(format!("upload#{upload_id}"))
            .await?
            .map(|item| decode(&item))
            .transpose()
    }

    pub(super) async fn list(
        &self,
        owner_sub: &str,
        limit: usize,
        before: Option<String>,
    ) -> Result<Vec<UploadRecord>, UploadsError> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(OWNER_INDEX)
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .expression_attribute_names("#o", "owner")
            .expression_attribute_values(":o", AttributeValue::S(owner_sub.to_owned()));
        query = match before {
            Some(key) => query
                .key_condition_expression("#o = :o AND #k < :k")
                .expression_attribute_names("#k", "listKey")
                .expression_attribute_values(":k", AttributeValue::S(key)),
            None => query.key_condition_expression("#o = :o"),
        };
        let output = query.send().await.map_err(dynamodb_error)?;
        output.items().iter().map(decode).collect()
    }

    /// Claims `file_id` for `upload` unless another upload already did.
    async fn link(&self, file_id: &str, upload: &UploadRef) -> Result<(), UploadsError> {
        let mut item = Item::from([
            (
                "pk".to_owned(),
                AttributeValue::S(format!("file#{file_id}")),
            ),
            (
                "uploadId".to_owned(),
                AttributeValue::S(upload.upload_id.clone()),
            ),
            ("sub".to_owned(), AttributeValue::S(upload.sub.clone())),
        ]);
        if let Some(meta) = &upload.meta {
            item.insert("meta".to_owned(), AttributeValue::S(meta.clone()));
        }
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(error) => Err(dynamodb_error(error)),
        }
    }

    async fn read(&self, pk: String) -> Result<Option<Item>, UploadsError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk))
            .consistent_read(true)
            .send()
            .await
            .map_err(dynamodb_error)?;
        Ok(output.item)
    }
}

fn text(item: &Item, name: &str) -> Option<String> {
    item.get(name)?.as_s().ok().cloned()
}

fn number(item: &Item, name: &str) -> Option<u64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

fn decode(item: &Item) -> Result<UploadRecord, UploadsError> {
    super::decode(&text(item, "record").unwrap_or_default())
}

fn dynamodb_error<E, R>(error: aws_sdk_dynamodb::error::SdkError<E, R>) -> UploadsError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let (kind, detail) = aws_error_parts("DynamoDB", error);
    UploadsError::unavailable(kind, detail)
}
