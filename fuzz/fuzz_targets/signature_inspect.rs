//! Text → `signature::inspect`, with and without a key.
//!
//! The first byte picks what the rest is: a signature as received, or a plaintext that the harness
//! signs first (so the parameter checks behind the HMAC are reached). The next eight bytes are the
//! inspector's clock.
//!
//! Invariants: nothing panics; the key changes only the MAC verdict (a keyed and an unkeyed
//! inspection find the same plaintext, parameters and other problems); a signature made by
//! `mac_and_encode` with the key inspects as `Valid` with its plaintext intact, under any clock;
//! a clean inspection lists the four required parameters once each and no literal `+`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vodgate::vod::signature::{MacCheck, Problem, inspect, mac_and_encode};

const KEY: &[u8] = b"fuzz-secret-key";
const REQUIRED: [&str; 4] = ["secretId", "currentTimeStamp", "expireTime", "random"];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Some((clock, text)) = rest.split_first_chunk::<8>() else {
        return;
    };
    let now = u64::from_le_bytes(*clock);
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    if mode % 2 == 0 {
        check(text, now);
    } else if !text.is_empty() {
        let signature = mac_and_encode(KEY, text);
        let inspection = check(&signature, now);
        assert_eq!(inspection.mac, MacCheck::Valid);
        assert_eq!(inspection.plaintext.as_deref(), Some(text));
    }
});

fn check(signature: &str, now: u64) -> vodgate::vod::signature::Inspection {
    let unkeyed = inspect(signature, None, now);
    let keyed = inspect(signature, Some(KEY), now);
    assert_eq!(unkeyed.mac, MacCheck::NotChecked);
    assert_ne!(keyed.mac, MacCheck::NotChecked);
    assert!(!unkeyed.problems.contains(&Problem::MacMismatch));
    assert!(!unkeyed.is_ok());
    let mut other_problems = keyed.problems.clone();
    other_problems.retain(|problem| *problem != Problem::MacMismatch);
    assert_eq!(other_problems, unkeyed.problems);
    assert_eq!(keyed.plaintext, unkeyed.plaintext);
    assert_eq!(keyed.params, unkeyed.params);
    let decoded = !matches!(
        keyed.problems.first(),
        Some(Problem::InvalidBase64 | Problem::TooShort(_))
    );
    assert_eq!(
        keyed.problems.contains(&Problem::MacMismatch),
        keyed.mac == MacCheck::Invalid && decoded
    );
    for problem in &keyed.problems {
        assert!(!problem.to_string().is_empty());
    }
    if let Some(plaintext) = &keyed.plaintext {
        let resigned = inspect(&mac_and_encode(KEY, plaintext), Some(KEY), now);
        assert_eq!(resigned.mac, MacCheck::Valid);
        assert_eq!(resigned.params, keyed.params);
        assert_eq!(resigned.problems, unkeyed.problems);
    }
    if keyed.is_ok() {
        let plaintext = keyed
            .plaintext
            .as_deref()
            .expect("a clean signature has a plaintext");
        assert!(!plaintext.contains('+'));
        for required in REQUIRED {
            let count = keyed
                .params
                .iter()
                .filter(|(name, _)| name == required)
                .count();
            assert_eq!(count, 1, "{required}");
        }
    }
    keyed
}
