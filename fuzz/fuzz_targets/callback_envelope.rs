//! Bytes → `callback::parse` → `Envelope::build` and the event id.
//!
//! Invariants: nothing panics; a refused body says why; an accepted body's envelope
//! serialises to JSON that reads back as the same envelope, with an id of the documented form and
//! an event without `Sign`, `T` or `EventHandle`; the id survives re-serialising the body, writing
//! it with every object's keys in reverse order, and new delivery fields; adding a member changes
//! it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use vodgate::vod::callback::{self, Callback, DELIVERY_KEYS};
use vodgate::ingest::envelope::{Envelope, event_id};

fuzz_target!(|data: &[u8]| {
    let callback = match callback::parse(data) {
        Ok(callback) => callback,
        Err(err) => {
            assert!(!err.to_string().is_empty());
            return;
        }
    };
    let _ = format!("{callback:?}");
    let _ = (
        callback.payload(),
        callback.payload_json(),
        callback.contexts(),
    );
    let _ = (callback.sign(), callback.t(), callback.event_handle());

    let envelope = Envelope::build(callback.clone(), None, OffsetDateTime::UNIX_EPOCH);
    let id = event_id(&callback);
    assert_eq!(envelope.id, id);
    let hex = id.strip_prefix("vod_").expect("vod_ prefix");
    assert!(hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
    assert!(
        DELIVERY_KEYS
            .iter()
            .all(|key| !envelope.event.contains_key(*key))
    );
    let json = envelope.to_json();
    let read: Envelope = serde_json::from_str(&json).expect("an envelope reads back");
    assert_eq!(read, envelope);

    let body = Value::Object(callback.body().clone());
    same_event(&callback, &body.to_string());
    same_event(&callback, &reversed(&body));

    let mut redelivered = callback.body().clone();
    redelivered.insert("Sign".into(), "0123456789abcdef0123456789abcdef".into());
    redelivered.insert("T".into(), 4_102_444_800_i64.into());
    redelivered.insert("EventHandle".into(), "fuzz-handle".into());
    same_event(&callback, &Value::Object(redelivered).to_string());

    let added = "\u{0}fuzz-added";
    if !callback.body().contains_key(added) {
        let mut changed = callback.body().clone();
        changed.insert(added.into(), Value::Bool(true));
        if let Ok(changed) = callback::parse(Value::Object(changed).to_string().as_bytes()) {
            assert_ne!(event_id(&changed), id);
        }
    }
});

/// Asserts that `text`, another writing of `callback`'s event, parses to the same event and id.
/// A writing that no longer fits the size limit (numbers can grow when re-printed) is skipped.
fn same_event(callback: &Callback, text: &str) {
    if text.len() > callback::MAX_CALLBACK_BYTES {
        return;
    }
    let again = callback::parse(text.as_bytes()).expect("a re-written body parses");
    assert_eq!(event_id(&again), event_id(callback));
    assert_eq!(again.event_type(), callback.event_type());
    assert_eq!(again.format(), callback.format());
    assert_eq!(again.file_id(), callback.file_id());
    assert_eq!(again.task_id(), callback.task_id());
    assert_eq!(again.contexts(), callback.contexts());
    assert_eq!(
        without_delivery(again.body()),
        without_delivery(callback.body())
    );
}

fn without_delivery(body: &Map<String, Value>) -> Map<String, Value> {
    body.iter()
        .filter(|(key, _)| !DELIVERY_KEYS.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

/// Compact JSON of `value` with the members of every object written in reverse key order.
fn reversed(value: &Value) -> String {
    match value {
        Value::Object(object) => {
            let members: Vec<String> = object
                .iter()
                .rev()
                .map(|(key, value)| format!("{}:{}", Value::from(key.as_str()), reversed(value)))
                .collect();
            format!("{{{}}}", members.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(reversed).collect();
            format!("[{}]", items.join(","))
        }
        scalar => scalar.to_string(),
    }
}
