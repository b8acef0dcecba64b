//! VOD callbacks, per fixture in tests/fixtures/callbacks/: parsing the body, building the stored
//! envelope (which computes the id and takes the parsed body; the copy it is given is made outside
//! the measurement), the id alone, and the envelope's JSON.
//!
//! `pull_events_response.json` is a PullEvents answer, not a callback: each event in its
//! `EventSet` is measured as the body VOD would push for it.

use std::hint::black_box;
use std::path::Path;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use serde_json::Value;
use time::OffsetDateTime;
use vodgate::ingest::envelope::{Envelope, event_id};
use vodgate::vod::callback;

/// Every fixture body, by name, in file-name order.
fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/callbacks");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixture directory")
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    files.sort();
    let mut bodies = Vec::new();
    for file in files {
        let name = file
            .file_stem()
            .and_then(|stem| stem.to_str())
            .expect("UTF-8 file name")
            .to_owned();
        let text = std::fs::read(&file).expect("fixture");
        if name == "pull_events_response" {
            let response: Value = serde_json::from_slice(&text).expect("JSON");
            let events = response["Response"]["EventSet"]
                .as_array()
                .expect("EventSet");
            for (index, event) in events.iter().enumerate() {
                bodies.push((format!("{name}[{index}]"), event.to_string().into_bytes()));
            }
        } else {
            bodies.push((name, text));
        }
    }
    bodies
}

fn callbacks(c: &mut Criterion) {
    let received_at = OffsetDateTime::now_utc();
    for (name, body) in fixtures() {
        let parsed = callback::parse(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
        let envelope = Envelope::build(parsed.clone(), None, received_at);
        let mut group = c.benchmark_group(format!("callback/{name}"));
        group.bench_function("parse", |b| b.iter(|| callback::parse(black_box(&body))));
        group.bench_function("envelope", |b| {
            b.iter_batched(
                || parsed.clone(),
                |parsed| Envelope::build(black_box(parsed), None, received_at),
                BatchSize::SmallInput,
            );
        });
        group.bench_function("event_id", |b| b.iter(|| event_id(black_box(&parsed))));
        group.bench_function("to_json", |b| b.iter(|| black_box(&envelope).to_json()));
        group.finish();
    }
}

criterion_group!(benches, callbacks);
criterion_main!(benches);
