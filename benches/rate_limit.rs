//! The per-caller token bucket `sign` consults on every request when `SIGN_RATE_LIMIT` is on,
//! with one caller, with a million callers held, and with a new caller at every check (each one
//! evicting the longest idle). The last two print the memory the million buckets take.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tokio::time::Instant;
use vodgate::platform::config::Env;
use vodgate::sign::rate_limit::{RateLimit, RateLimiter};

const MILLION: usize = 1_000_000;

/// A limiter high enough never to refuse, so every check takes the allow path.
fn limiter(max_callers: usize) -> RateLimiter {
    RateLimit::from_env(&Env::from_pairs([("SIGN_RATE_LIMIT", "1000000/1s")]))
        .expect("valid limit")
        .limiter(max_callers)
        .expect("limiter on")
}

/// The process's resident memory, in bytes (Linux).
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn rate_limit(c: &mut Criterion) {
    let one = limiter(MILLION);
    c.bench_function("rate_limit/check/one_caller", |b| {
        b.iter(|| one.check(black_box("user-42"), Instant::now()));
    });

    let before = resident_bytes();
    let many = limiter(MILLION);
    let callers: Vec<String> = (0..MILLION).map(|i| format!("user-{i:07}")).collect();
    let strings = resident_bytes();
    for caller in &callers {
        assert_eq!(many.check(caller, Instant::now()), Ok(()));
    }
    let held = resident_bytes().saturating_sub(strings);
    eprintln!(
        "rate_limit: {MILLION} buckets held in {:.1} MiB ({} bytes per caller; the callers' own \
         strings took {:.1} MiB more)",
        held as f64 / (1024.0 * 1024.0),
        held / MILLION as u64,
        strings.saturating_sub(before) as f64 / (1024.0 * 1024.0),
    );
    let mut next = callers.iter().cycle();
    c.bench_function("rate_limit/check/1M_callers_held", |b| {
        b.iter(|| many.check(black_box(next.next().expect("endless")), Instant::now()));
    });

    // At the cap: every check is a caller never seen, evicting the longest idle one.
    let mut fresh = (MILLION..).map(|i| format!("user-{i:07}"));
    c.bench_function("rate_limit/check/new_caller_at_1M_cap", |b| {
        b.iter_batched(
            || fresh.next().expect("endless"),
            |caller| many.check(black_box(&caller), Instant::now()),
            criterion::BatchSize::SmallInput,
        );
    });
}

criterion_group!(benches, rate_limit);
criterion_main!(benches);
