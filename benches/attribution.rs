//! The attribution token and the upload id: creating an upload and sealing it into
//! `sourceContext` (every new upload), verifying a presented upload id (every refresh), and
//! opening a token again (every attributed `events` callback).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use vodgate::attribution::{self, Meta, Upload};
use vodgate::platform::secret::SecretList;

fn attribution(c: &mut Criterion) {
    let keys = SecretList::parse("benchmark-context-key-0123456789").expect("key");
    let meta = Meta::parse("post_42").expect("meta");
    c.bench_function("attribution/create", |b| {
        b.iter(|| Upload::create(&keys, black_box("user-42"), Some(meta.clone())));
    });

    let upload = Upload::create(&keys, "user-42", Some(meta)).expect("created");
    let id = upload.id().as_str().to_owned();
    c.bench_function("attribution/verify", |b| {
        b.iter(|| Upload::verify(&keys, black_box("user-42"), black_box(&id)));
    });

    c.bench_function("attribution/seal", |b| {
        b.iter(|| black_box(&upload).seal(&keys));
    });

    let token = upload.seal(&keys);
    assert_eq!(
        attribution::open(&keys, &token),
        Some(upload.into_attribution())
    );
    c.bench_function("attribution/open", |b| {
        b.iter(|| attribution::open(&keys, black_box(&token)));
    });
}

criterion_group!(benches, attribution);
criterion_main!(benches);
