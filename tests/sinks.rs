//! The SQS and DynamoDB sinks against a local AWS endpoint (moto), and against no endpoint at all.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName, QueueAttributeName};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::{aws_config, moto_endpoint};
use vodgate::ingest::sink::{
    DynamoDbSink, Record, Sink, SinkError, Sinks, SqsSink, Stored, Unavailable, gunzip,
};

const FILE_ID: &str = "5285890781763144364";
const RECEIVED_AT_UNIX: i64 = 1_795_884_060;

fn unique(prefix: &str) -> String {
    format!("{prefix}-{:016x}", rand::random::<u64>())
}

fn event_id() -> String {
    format!("vod_{:032x}", rand::random::<u128>())
}

fn record<'a>(id: &'a str, envelope: &'a str) -> Record<'a> {
    Record {
        id,
        event_type: "NewFileUpload",
        kind: "upload.completed",
        file_id: Some(FILE_ID),
        uploader_sub: Some("user-42"),
        received_at: "2026-11-28T16:41:00Z",
        received_at_unix: RECEIVED_AT_UNIX,
        envelope_json: envelope.to_owned(),
    }
}

fn envelope(id: &str) -> String {
    serde_json::json!({
        "id": id,
        "type": "NewFileUpload",
        "event": {"EventType": "NewFileUpload", "FileUploadEvent": {"FileId": FILE_ID}}
    })
    .to_string()
}

/// A JSON envelope of about `bytes` bytes that compresses well (like real callbacks).
fn big_envelope(id: &str, bytes: usize) -> String {
    let entry = r#"{"Definition":100030,"Url":"https://example.vod2.myqcloud.com/x/f0.mp4","Size":1048576},"#;
    let entries = entry.repeat(bytes / entry.len() + 1);
    format!(
        r#"{{"id":"{id}","streams":[{}]}}"#,
        entries.trim_end_matches(',')
    )
}

/// A JSON envelope of about `bytes` bytes that gzip cannot shrink much (random text).
fn incompressible_envelope(id: &str, bytes: usize) -> String {
    let noise: Vec<u8> = (0..bytes * 3 / 4).map(|_| rand::random::<u8>()).collect();
    format!(r#"{{"id":"{id}","noise":"{}"}}"#, BASE64.encode(noise))
}

// ---------------------------------------------------------------------------------------------
// SQS

async fn sqs() -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&aws_config(moto_endpoint()).await)
}

async fn create_queue(
    client: &aws_sdk_sqs::Client,
    name: &str,
    attributes: &[(QueueAttributeName, &str)],
) -> String {
    let mut request = client.create_queue().queue_name(name);
    for (key, value) in attributes {
        request = request.attributes(key.clone(), *value);
    }
    request
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned()
}

async fn receive_all(client: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<Message> {
    let mut messages = Vec::new();
    loop {
        let output = client
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        let batch = output.messages();
        if batch.is_empty() {
            return messages;
        }
        messages.extend(batch.iter().cloned());
    }
}

fn string_attribute<'m>(message: &'m Message, name: &str) -> Option<&'m str> {
    message.message_attributes()?.get(name)?.string_value()
}

#[tokio::test]
async fn sqs_standard_queue_gets_the_envelope_and_its_attributes() {
    let client = sqs().await;
    let queue_url = create_queue(&client, &unique("events"), &[]).await;
    let sink = Sink::from(SqsSink::new(client.clone(), queue_url.clone()));
    assert_eq!(sink.describe(), format!("sqs:{queue_url}"));

    let id = event_id();
    let envelope = envelope(&id);
    assert_eq!(
        sink.store(record(&id, &envelope)).await.unwrap(),
        Stored::New
    );
    let no_file = Record {
        file_id: None,
        ..record(&id, &envelope)
    };
    assert_eq!(sink.store(no_file).await.unwrap(), Stored::New);

    let messages = receive_all(&client, &queue_url).await;
    assert_eq!(messages.len(), 2, "a standard queue cannot deduplicate");
    for message in &messages {
        assert_eq!(message.body(), Some(envelope.as_str()));
        assert_eq!(
            string_attribute(message, "eventType"),
            Some("NewFileUpload")
        );
        assert_eq!(string_attribute(message, "contentEncoding"), None);
    }
    let file_ids: Vec<_> = messages
        .iter()
        .map(|m| string_attribute(m, "fileId"))
        .collect();
    assert!(file_ids.contains(&Some(FILE_ID)) && file_ids.contains(&None));
}

#[tokio::test]
async fn sqs_fifo_queue_drops_a_redelivery_and_groups_by_file() {
    let client = sqs().await;
    let queue_url = create_queue(
        &client,
        &format!("{}.fifo", unique("events")),
        &[(QueueAttributeName::FifoQueue, "true")],
    )
    .await;
    let sink = SqsSink::new(client.clone(), queue_url.clone());

    let id = event_id();
    let envelope = envelope(&id);
    for _ in 0..2 {
        assert_eq!(
            Sink::from(sink.clone())
                .store(record(&id, &envelope))
                .await
                .unwrap(),
            Stored::New
        );
    }
    let messages = receive_all(&client, &queue_url).await;
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert_eq!(message.body(), Some(envelope.as_str()));
    let system = message.attributes().unwrap();
    assert_eq!(
        system.get(&MessageSystemAttributeName::MessageGroupId),
        Some(&FILE_ID.to_owned())
    );
    assert_eq!(
        system.get(&MessageSystemAttributeName::MessageDeduplicationId),
        Some(&id)
    );
}

#[tokio::test]
async fn sqs_oversize_envelope_is_sent_gzipped() {
    let client = sqs().await;
    let queue_url = create_queue(
        &client,
        &unique("events"),
        &[(QueueAttributeName::MaximumMessageSize, "262144")],
    )
    .await;
    let sink = Sink::from(SqsSink::new(client.clone(), queue_url.clone()));

    let id = event_id();
    let envelope = big_envelope(&id, 300 * 1024);
    assert!(envelope.len() > 300 * 1024);
    assert_eq!(
        sink.store(record(&id, &envelope)).await.unwrap(),
        Stored::New
    );

    let messages = receive_all(&client, &queue_url).await;
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert_eq!(string_attribute(message, "contentEncoding"), Some("gzip"));
    assert_eq!(
        string_attribute(message, "eventType"),
        Some("NewFileUpload")
    );
    let packed = BASE64.decode(message.body().unwrap()).unwrap();
    assert_eq!(gunzip(&packed).unwrap(), envelope.as_bytes());
}

#[tokio::test]
async fn sqs_queue_allowing_larger_messages_gets_them_plain() {
    let client = sqs().await;
    let queue_url = create_queue(
        &client,
        &unique("events"),
        &[(QueueAttributeName::MaximumMessageSize, "1048576")],
    )
    .await;
    let sink = Sink::from(SqsSink::new(client.clone(), queue_url.clone()));

    for _ in 0..2 {
        let id = event_id();
        let envelope = big_envelope(&id, 300 * 1024);
        assert_eq!(
            sink.store(record(&id, &envelope)).await.unwrap(),
            Stored::New
        );
        let messages = receive_all(&client, &queue_url).await;
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].body(), Some(envelope.as_str()));
        assert_eq!(string_attribute(&messages[0], "contentEncoding"), None);
    }
}

#[tokio::test]
async fn sqs_envelope_too_large_even_compressed_is_refused() {
    let client = sqs().await;
    let queue_url = create_queue(
        &client,
        &unique("events"),
        &[(QueueAttributeName::MaximumMessageSize, "262144")],
    )
    .await;
    let sink = Sink::from(SqsSink::new(client.clone(), queue_url.clone()));

    let id = event_id();
    let envelope = incompressible_envelope(&id, 400 * 1024);
    let error = sink.store(record(&id, &envelope)).await.unwrap_err();
    assert!(
        matches!(error, SinkError::TooLarge(size) if size > 262_144),
        "{error}"
    );
    assert!(receive_all(&client, &queue_url).await.is_empty());

    // Through the sinks of EVENT_SINK, the marker goes in its place, under the same id.
    let sinks = Sinks::from(sink);
    let marker = || format!(r#"{{"id":"{id}","event":null,"truncated":true}}"#);
    let written = sinks.store(record(&id, &envelope), &marker).await.unwrap();
    assert!(written.truncated);
    assert_eq!(written.stored, Stored::New);
    let received = receive_all(&client, &queue_url).await;
    assert_eq!(received.len(), 1);
    let body: serde_json::Value = serde_json::from_str(received[0].body().unwrap()).unwrap();
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["truncated"], true);
}

#[tokio::test]
async fn sqs_body_with_characters_sqs_refuses_is_sent_gzipped() {
    let client = sqs().await;
    let queue_url = create_queue(&client, &unique("events"), &[]).await;
    let sink = Sink::from(SqsSink::new(client.clone(), queue_url.clone()));

    let id = event_id();
    let envelope = format!("{{\"id\":\"{id}\",\"title\":\"odd \u{FFFF} title\"}}");
    assert_eq!(
        sink.store(record(&id, &envelope)).await.unwrap(),
        Stored::New
    );
    let messages = receive_all(&client, &queue_url).await;
    assert_eq!(
        string_attribute(&messages[0], "contentEncoding"),
        Some("gzip")
    );
    let packed = BASE64.decode(messages[0].body().unwrap()).unwrap();
    assert_eq!(gunzip(&packed).unwrap(), envelope.as_bytes());
}

// ---------------------------------------------------------------------------------------------
// DynamoDB

async fn dynamodb() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&aws_config(moto_endpoint()).await)
}

async fn create_table(client: &aws_sdk_dynamodb::Client) -> String {
    let table = unique("events");
    common::create_events_table(client, &table).await;
    table
}

async fn scan(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Vec<HashMap<String, AttributeValue>> {
    client
        .scan()
        .table_name(table)
        .send()
        .await
        .unwrap()
        .items()
        .to_vec()
}

fn s<'i>(item: &'i HashMap<String, AttributeValue>, name: &str) -> &'i str {
    item[name].as_s().unwrap()
}

#[tokio::test]
async fn dynamodb_stores_once_and_a_redelivery_is_a_duplicate() {
    let client = dynamodb().await;
    let table = create_table(&client).await;
    let sink = Sink::from(DynamoDbSink::new(client.clone(), table.clone(), 7));
    assert_eq!(sink.describe(), format!("dynamodb:{table}"));

    let id = event_id();
    let envelope = envelope(&id);
    assert_eq!(
        sink.store(record(&id, &envelope)).await.unwrap(),
        Stored::New
    );
    assert_eq!(
        sink.store(record(&id, &envelope)).await.unwrap(),
        Stored::Duplicate
    );

    let items = scan(&client, &table).await;
    assert_eq!(items.len(), 1);
    let item = &items[0];
    assert_eq!(s(item, "id"), id);
    assert_eq!(s(item, "eventType"), "NewFileUpload");
    assert_eq!(s(item, "fileId"), FILE_ID);
    assert_eq!(s(item, "uploaderSub"), "user-42");
    assert_eq!(s(item, "receivedAt"), "2026-11-28T16:41:00Z");
    assert_eq!(s(item, "envelope"), envelope);
    assert_eq!(
        item["expiresAt"].as_n().unwrap().parse::<i64>().unwrap(),
        RECEIVED_AT_UNIX + 7 * 86_400
    );
    assert!(!item.contains_key("envelopeGz"));

    // Optional attributes are omitted, not stored empty.
    let bare_id = event_id();
    let bare = Record {
        file_id: None,
        uploader_sub: None,
        ..record(&bare_id, &envelope)
    };
    assert_eq!(sink.store(bare).await.unwrap(), Stored::New);
    let items = scan(&client, &table).await;
    let item = items.iter().find(|i| s(i, "id") == bare_id).unwrap();
    assert!(!item.contains_key("fileId") && !item.contains_key("uploaderSub"));
}

#[tokio::test]
async fn dynamodb_oversize_envelope_is_stored_gzipped() {
    let client = dynamodb().await;
    let table = create_table(&client).await;
    let sink = Sink::from(DynamoDbSink::new(client.clone(), table.clone(), 30));

    let id = event_id();
    let envelope = big_envelope(&id, 500 * 1024);
    assert_eq!(
        sink.store(record(&id, &envelope)).await.unwrap(),
        Stored::New
    );
    let items = scan(&client, &table).await;
    assert_eq!(items.len(), 1);
    assert!(!items[0].contains_key("envelope"));
    let packed = items[0]["envelopeGz"].as_b().unwrap().as_ref();
    assert_eq!(gunzip(packed).unwrap(), envelope.as_bytes());

    let id = event_id();
    let envelope = incompressible_envelope(&id, 500 * 1024);
    let error = sink.store(record(&id, &envelope)).await.unwrap_err();
    assert!(matches!(error, SinkError::TooLarge(_)), "{error}");
    assert_eq!(scan(&client, &table).await.len(), 1);
}

#[tokio::test]
async fn dynamodb_missing_table_is_unavailable() {
    let sink = Sink::from(DynamoDbSink::new(dynamodb().await, unique("absent"), 30));
    let id = event_id();
    let envelope = envelope(&id);
    let error = sink.store(record(&id, &envelope)).await.unwrap_err();
    assert_eq!(
        error.unavailable_kind(),
        Some(Unavailable::Refused),
        "{error}"
    );
    assert!(!error.to_string().contains(&envelope));
}

// ---------------------------------------------------------------------------------------------
// No endpoint at all

/// An endpoint where nothing listens: a port that was just bound and released.
fn closed_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

async fn assert_unavailable_quickly(sink: Sink) {
    let id = event_id();
    let envelope = envelope(&id);
    let started = Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(15), sink.store(record(&id, &envelope)))
        .await
        .expect("store must give up within 15 s");
    let error = result.unwrap_err();
    assert_eq!(
        error.unavailable_kind(),
        Some(Unavailable::Unreachable),
        "{error}"
    );
    assert!(!error.to_string().contains(&envelope));
    eprintln!("{}: {error} after {:?}", sink.describe(), started.elapsed());
}

#[tokio::test]
async fn unreachable_sqs_is_unavailable() {
    let config = aws_config(&closed_endpoint()).await;
    let queue_url = format!("{}/123456789012/events", closed_endpoint());
    assert_unavailable_quickly(SqsSink::new(aws_sdk_sqs::Client::new(&config), queue_url).into())
        .await;
}

#[tokio::test]
async fn unreachable_dynamodb_is_unavailable() {
    let config = aws_config(&closed_endpoint()).await;
    let sink = DynamoDbSink::new(aws_sdk_dynamodb::Client::new(&config), "events".into(), 30);
    assert_unavailable_quickly(sink.into()).await;
}
