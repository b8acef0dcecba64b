//! The per-caller token bucket `sign` consults on every request when `SIGN_RATE_LIMIT` is on.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tokio::time::Instant;
use vodgate::platform::config::Env;
use vodgate::sign::rate_limit::{RateLimit, RateLimiter};

/// A limiter high enough never to refuse, so every check takes the allow path.
fn limiter() -> RateLimiter {
    RateLimit::from_env(&Env::from_pairs([("SIGN_RATE_LIMIT", "1000000/1s")]))
        .expect("valid limit")
        .limiter()
        .expect("limiter on")
}

fn rate_limit(c: &mut Criterion) {
    let one = limiter();
    c.bench_function("rate_limit/check/one_caller", |b| {
        b.iter(|| one.check(black_box("user-42"), Instant::now()));
    });

    let many = limiter();
    let callers: Vec<String> = (0..10_000).map(|i| format!("user-{i}")).collect();
    for caller in &callers {
        assert_eq!(many.check(caller, Instant::now()), Ok(()));
    }
    let mut next = callers.iter().cycle();
    c.bench_function("rate_limit/check/10k_callers", |b| {
        b.iter(|| many.check(black_box(next.next().expect("endless")), Instant::now()));
    });
}

criterion_group!(benches, rate_limit);
criterion_main!(benches);
