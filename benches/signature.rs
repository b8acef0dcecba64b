//! VOD upload signatures: minting one as `sign` does (builder, checks, plaintext, HMAC-SHA1,
//! Base64) and inspecting one as `vodgate inspect` does.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use vodgate::vod::signature::{MacCheck, UploadSignatureParams, inspect};

const SECRET_ID: &str = "AKIDbenchmarkSecretId0123456789abcdef";
const SECRET_KEY: &[u8] = b"benchmark-vod-secret-key-0123456789";
/// An attribution token of typical length, as `sign` seals it into both contexts.
const CONTEXT: &str = "v1.q1mXvYk0Z9jE2oV4cW7sKg.3VyyNri9Z7UR88ByPfjFyg.post_42.user-42";
const NOW: u64 = 1_795_884_060;

/// The parameters `sign` builds for a request with a task flow and a sub-application.
fn mint() -> String {
    UploadSignatureParams::builder(SECRET_ID, NOW, NOW + 7_200, black_box(1_234_567_890))
        .source_context(CONTEXT)
        .one_time_valid(false)
        .procedure("Review")
        .session_context(CONTEXT)
        .vod_sub_app_id(1_500_000_001)
        .build()
        .expect("valid parameters")
        .sign(SECRET_KEY)
}

fn signature(c: &mut Criterion) {
    c.bench_function("signature/mint", |b| b.iter(mint));

    let minted = mint();
    assert_eq!(inspect(&minted, Some(SECRET_KEY), NOW).mac, MacCheck::Valid);
    c.bench_function("signature/inspect", |b| {
        b.iter(|| inspect(black_box(&minted), Some(SECRET_KEY), NOW));
    });
}

criterion_group!(benches, signature);
criterion_main!(benches);
