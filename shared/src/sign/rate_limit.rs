//! Per-caller rate limiting: of signature requests (`SIGN_RATE_LIMIT`) and, apart, of reads of
//! uploads (`READ_RATE_LIMIT`).
//!
//! No video platform limits credential issuance per end user; they limit per account, so one
//! abusive user can exhaust an app's upload capacity. A token bucket per `sub` fixes that: the
//! default, 30 signatures a minute with bursts of 60 (`SIGN_RATE_LIMIT=30/60s,burst=60`), is far
//! above what a real client needs (a web upload fetches two to four signatures) and far below
//! what a script would take. Exceeding it is a 429 with `Retry-After`.
//!
//! The buckets live in the memory of one instance. Under Lambda each concurrent instance has its
//! own, so the effective limit is per instance: a caller spread across N warm instances gets up
//! to N times the rate. That still stops a single client hammering in a loop (requests from one
//! client mostly land on the same warm instances) but is not a global quota; a global limit
//! needs a shared store (e.g. a DynamoDB counter per `sub` and window), which costs a write on
//! every request. `SIGN_RATE_LIMIT=off` disables the limiter (benchmarks, or a gateway that
//! already limits).
//!
//! Reads (`GET /v1/uploads/{uploadId}`, `GET /v1/uploads`) have buckets of their own, so a page
//! polling an upload's status can never starve the signatures its uploads need, and signing
//! never spends the polling budget. A page asks far more often than it signs (every second or
//! two while a video processes), so the default is generous: 300 a minute with bursts of 300
//! (`READ_RATE_LIMIT=300/60s,burst=300`), still finite so a looping script is slowed.
//!
//! Memory is bounded whatever the number of callers: each limiter keeps at most
//! `RATE_LIMIT_MAX_CALLERS` buckets (default 100,000, about 15 MB at most), in least-recently-used
//! order, and a new caller beyond the cap takes the place of the caller idle the longest. Every
//! check is O(1) (a hash lookup and a list move under the lock of one of 16 shards), however many
//! callers there are. An evicted caller starts again with a full bucket, which is what an idle
//! caller would have had anyway unless more than the cap of other callers came since its last
//! request.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Mutex;
use std::time::Duration;

use hashlink::LruCache;
use tokio::time::Instant;

use crate::platform::config::{ConfigError, Env};

/// The default of `RATE_LIMIT_MAX_CALLERS`.
pub const DEFAULT_MAX_CALLERS: usize = 100_000;

/// Shards of a limiter with a cap this large or larger; a smaller one is a single LRU list.
const SHARDS: usize = 16;
const SHARDED_FROM: usize = SHARDS * 64;

/// The callers each limiter keeps buckets for: `RATE_LIMIT_MAX_CALLERS`, 1,000 to 10,000,000.
pub fn max_callers(env: &Env) -> Result<usize, ConfigError> {
    env.parse_in(
        "RATE_LIMIT_MAX_CALLERS",
        DEFAULT_MAX_CALLERS,
        1_000..=10_000_000,
        "a whole number of callers",
    )
}

/// A token-bucket limiter keyed by caller, holding at most its cap of buckets.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    /// One hasher for all shards (SipHash with a random key: callers cannot aim at a shard).
    hasher: RandomState,
    shards: Box<[Mutex<LruCache<String, Bucket, RandomState>>]>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// A limit in force (`SIGN_RATE_LIMIT` or `READ_RATE_LIMIT`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateLimit {
    Off,
    /// `count` requests per `window`, bursts up to `burst`.
    Limit {
        count: u32,
        window: Duration,
        burst: u32,
    },
}

/// The signing limit's variable and default.
const SIGN: (&str, &str) = ("SIGN_RATE_LIMIT", "30/60s,burst=60");
/// The read limit's variable and default.
const READ: (&str, &str) = ("READ_RATE_LIMIT", "300/60s,burst=300");

impl RateLimit {
    /// The signing limit: `SIGN_RATE_LIMIT`, `off` or `COUNT/WINDOW[,burst=N]` with WINDOW like
    /// `60s`, `1m`, `1h`. Default `30/60s,burst=60`.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Self::from_var(env, SIGN)
    }

    /// The limit on reads of uploads: `READ_RATE_LIMIT`, same syntax. Default `300/60s,burst=300`.
    pub fn reads_from_env(env: &Env) -> Result<Self, ConfigError> {
        Self::from_var(env, READ)
    }

    fn from_var(env: &Env, (var, default): (&'static str, &str)) -> Result<Self, ConfigError> {
        let raw = env.non_empty(var).unwrap_or(default);
        Self::parse(raw).ok_or_else(|| {
            ConfigError::invalid(
                var,
                format!("expected off or COUNT/WINDOW[,burst=N] such as {default}, got {raw:?}"),
            )
        })
    }

    fn parse(raw: &str) -> Option<Self> {
        if raw.eq_ignore_ascii_case("off") {
            return Some(Self::Off);
        }
        let (rate, burst) = match raw.split_once(',') {
            Some((rate, burst)) => (rate, Some(burst.trim().strip_prefix("burst=")?)),
            None => (raw, None),
        };
        let (count, window) = rate.trim().split_once('/')?;
        let count: u32 = count.trim().parse().ok().filter(|c| *c > 0)?;
        let window = parse_window(window.trim())?;
        let burst = match burst {
            Some(b) => b.parse().ok().filter(|b| *b > 0)?,
            None => count,
        };
        Some(Self::Limit {
            count,
            window,
            burst,
        })
    }

    /// A limiter for this setting, keeping at most `max_callers` buckets; `None` when off.
    pub fn limiter(self, max_callers: usize) -> Option<RateLimiter> {
        let Self::Limit {
            count,
            window,
            burst,
        } = self
        else {
            return None;
        };
        let max_callers = max_callers.max(1);
        let shards = if max_callers >= SHARDED_FROM {
            SHARDS
        } else {
            1
        };
        let per_shard = max_callers.div_ceil(shards);
        Some(RateLimiter {
            per_second: f64::from(count) / window.as_secs_f64(),
            burst: f64::from(burst),
            hasher: RandomState::new(),
            shards: (0..shards)
                .map(|_| Mutex::new(LruCache::with_hasher(per_shard, RandomState::new())))
                .collect(),
        })
    }
}

/// A window such as `60s`, `1m` or `1h`: a positive whole number and a unit.
pub(crate) fn parse_window(window: &str) -> Option<Duration> {
    let (number, unit) = window.split_at(window.find(|c: char| !c.is_ascii_digit())?);
    let number: u64 = number.parse().ok().filter(|n| *n > 0)?;
    let seconds = match unit {
        "s" => number,
        "m" => number.checked_mul(60)?,
        "h" => number.checked_mul(3600)?,
        _ => return None,
    };
    Some(Duration::from_secs(seconds))
}

impl RateLimiter {
    /// Takes one token from `key`'s bucket, or says how long until one is available. A caller
    /// without a bucket gets a full one, in place of the longest idle caller if at the cap.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let shard = (self.hasher.hash_one(key) as usize) % self.shards.len();
        let mut buckets = self.shards[shard].lock().unwrap_or_else(|p| p.into_inner());
        if !buckets.contains_key(key) {
            buckets.insert(
                key.to_owned(),
                Bucket {
                    tokens: self.burst,
                    at: now,
                },
            );
        }
        let Some(bucket) = buckets.get_mut(key) else {
            return Ok(());
        };
        bucket.tokens = refill(bucket, now, self.per_second, self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.per_second,
            ))
        }
    }
}

fn refill(bucket: &Bucket, now: Instant, per_second: f64, burst: f64) -> f64 {
    let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
    (bucket.tokens + elapsed * per_second).min(burst)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(raw: &str) -> RateLimit {
        RateLimit::from_env(&Env::from_pairs([("SIGN_RATE_LIMIT", raw)])).unwrap()
    }

    #[test]
    fn parses_settings() {
        assert_eq!(
            RateLimit::from_env(&Env::default()).unwrap(),
            RateLimit::Limit {
                count: 30,
                window: Duration::from_secs(60),
                burst: 60
            }
        );
        assert_eq!(limit("OFF"), RateLimit::Off);
        assert_eq!(
            limit("5/1m"),
            RateLimit::Limit {
                count: 5,
                window: Duration::from_secs(60),
                burst: 5
            }
        );
        assert_eq!(
            limit("100/1h, burst=10"),
            RateLimit::Limit {
                count: 100,
                window: Duration::from_secs(3600),
                burst: 10
            }
        );
        for bad in [
            "30",
            "0/60s",
            "30/0s",
            "30/60",
            "30/60d",
            "30/60s,burst=0",
            "30/60s,max=5",
            "x/60s",
        ] {
            let err =
                RateLimit::from_env(&Env::from_pairs([("SIGN_RATE_LIMIT", bad)])).unwrap_err();
            assert_eq!(err.var, "SIGN_RATE_LIMIT", "{bad}");
            let err = RateLimit::reads_from_env(&Env::from_pairs([("READ_RATE_LIMIT", bad)]))
                .unwrap_err();
            assert_eq!(err.var, "READ_RATE_LIMIT", "{bad}");
        }
    }

    #[test]
    fn reads_have_their_own_generous_default_and_setting() {
        let signing = Env::from_pairs([("SIGN_RATE_LIMIT", "1/1h")]);
        assert_eq!(
            RateLimit::reads_from_env(&signing).unwrap(),
            RateLimit::Limit {
                count: 300,
                window: Duration::from_secs(60),
                burst: 300
            }
        );
        let reads = Env::from_pairs([("READ_RATE_LIMIT", "off")]);
        assert_eq!(RateLimit::reads_from_env(&reads).unwrap(), RateLimit::Off);
        assert_ne!(RateLimit::from_env(&reads).unwrap(), RateLimit::Off);
    }

    #[test]
    fn bursts_then_refills_at_the_rate() {
        let limiter = limit("1/1s,burst=3").limiter(DEFAULT_MAX_CALLERS).unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check("alice", t0), Ok(()));
        }
        let wait = limiter.check("alice", t0).unwrap_err();
        assert!((0.99..=1.01).contains(&wait.as_secs_f64()), "{wait:?}");
        // Another caller has a bucket of their own.
        assert_eq!(limiter.check("bob", t0), Ok(()));
        assert_eq!(
            limiter.check("alice", t0 + Duration::from_millis(1_001)),
            Ok(())
        );
        assert!(
            limiter
                .check("alice", t0 + Duration::from_millis(1_002))
                .is_err()
        );
    }

    fn buckets(limiter: &RateLimiter) -> usize {
        limiter.shards.iter().map(|s| s.lock().unwrap().len()).sum()
    }

    #[test]
    fn at_the_cap_a_new_caller_takes_the_place_of_the_longest_idle() {
        let limiter = limit("1/1h,burst=1").limiter(3).unwrap();
        let t0 = Instant::now();
        for caller in ["a", "b", "c"] {
            assert_eq!(limiter.check(caller, t0), Ok(()));
        }
        // a is active again (refused), so b is now the longest idle.
        assert!(limiter.check("a", t0).is_err());
        assert_eq!(limiter.check("d", t0), Ok(()));
        assert_eq!(buckets(&limiter), 3);
        assert!(limiter.check("a", t0).is_err(), "a kept its empty bucket");
        assert!(limiter.check("c", t0).is_err(), "c kept its empty bucket");
        assert_eq!(
            limiter.check("b", t0),
            Ok(()),
            "b was evicted: a full bucket again"
        );
        assert_eq!(buckets(&limiter), 3);
    }

    #[test]
    fn memory_stays_bounded_under_many_callers() {
        let limiter = limit("1/1s,burst=1").limiter(2_000).unwrap();
        assert_eq!(limiter.shards.len(), SHARDS);
        let t0 = Instant::now();
        for i in 0..20_000 {
            assert_eq!(limiter.check(&i.to_string(), t0), Ok(()));
        }
        assert!(buckets(&limiter) <= 2_000 + SHARDS, "{}", buckets(&limiter));
    }

    #[test]
    fn the_cap_is_configured() {
        let cap = |raw: &str| max_callers(&Env::from_pairs([("RATE_LIMIT_MAX_CALLERS", raw)]));
        assert_eq!(max_callers(&Env::default()), Ok(DEFAULT_MAX_CALLERS));
        assert_eq!(cap("5000"), Ok(5_000));
        assert_eq!(cap("10").unwrap_err().var, "RATE_LIMIT_MAX_CALLERS");
    }
}
