//! The attribution token: sealing the caller into `sourceContext` (every `sign` request) and
//! opening it again (every attributed `events` callback).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use vodgate::attribution::{self, Attribution, Meta, UploadId};
use vodgate::platform::secret::SecretList;

fn attribution(c: &mut Criterion) {
    let keys = SecretList::parse("benchmark-context-key-0123456789").expect("key");
    let who = Attribution {
        sub: "user-42".to_owned(),
        upload_id: UploadId::random(),
        meta: Some(Meta::parse("post_42").expect("meta")),
    };
    c.bench_function("attribution/seal", |b| {
        b.iter(|| attribution::seal(&keys, black_box(&who)));
    });

    let token = attribution::seal(&keys, &who).expect("sealed");
    assert_eq!(attribution::open(&keys, &token), Some(who));
    c.bench_function("attribution/open", |b| {
        b.iter(|| attribution::open(&keys, black_box(&token)));
    });
}

criterion_group!(benches, attribution);
criterion_main!(benches);
