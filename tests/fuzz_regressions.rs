//! Inputs found by the fuzz targets in `fuzz/`, kept as tests once fixed.
//!
//! Each test names the target that found the input and the invariant it broke.

use serde_json::Value;
use time::macros::datetime;
use vodgate::ingest::envelope::{Envelope, event_id};
use vodgate::vod::callback;

/// `callback_envelope`, crash-2a7314821cf7e3730fe85e8514587b5229ada0e2 (reduced): a number that
/// serde_json's default float parser rounds 1 ulp off. The envelope's JSON then read back as a
/// different number, and the body, re-serialised and parsed again, got a different event id, so a
/// re-delivery passing through a JSON round trip (PULL) would not deduplicate. Fixed by enabling
/// serde_json's `float_roundtrip` feature in the library's own dependencies.
const IMPRECISE_FLOATS: [&str; 2] = [
    "6371555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555574",
    "1.0715660391465826e-75",
];

#[test]
fn floats_keep_their_value_and_the_event_its_id_through_a_json_round_trip() {
    for number in IMPRECISE_FLOATS {
        let body = format!(r#"{{"EventType":"NewFileUpload","FileUploadEvent":{{"V":{number}}}}}"#);
        let callback = callback::parse(body.as_bytes()).expect("parses");
        let envelope = Envelope::build(callback.clone(), None, datetime!(2026-11-28 16:41:00 UTC));
        let read: Envelope = serde_json::from_str(&envelope.to_json()).expect("reads back");
        assert_eq!(read, envelope, "{number}");

        let again = Value::Object(callback.body().clone()).to_string();
        let reparsed = callback::parse(again.as_bytes()).expect("parses again");
        assert_eq!(event_id(&reparsed), event_id(&callback), "{number}");
    }
}

/// The test above passes in any test build, because a dev-dependency (jsonschema) enables
/// `float_roundtrip` for tests; the functions are built without dev-dependencies. So the feature
/// must be requested in `[dependencies]` itself, which this checks.
#[test]
fn the_library_itself_requests_float_roundtrip() {
    let manifest = include_str!("../Cargo.toml");
    let dependencies = manifest
        .split("\n[dependencies]\n")
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .expect("a [dependencies] table");
    let serde_json = dependencies
        .lines()
        .find(|line| line.starts_with("serde_json ="))
        .expect("serde_json in [dependencies]");
    assert!(serde_json.contains("\"float_roundtrip\""), "{serde_json}");
}
