//! Body and query → `callback::parse` → `CallbackVerifier::verify` with VOD callback keys: the
//! part of the `events` function that faces the internet before anything is stored.
//!
//! Input: a mode byte, a time byte, then `<body> NUL <query>`. The mode picks whether the harness
//! leaves the request as is, or puts a correct `Sign` (MD5 of the key and the text of `T`, VOD's
//! documented formula, computed here independently) in the body or the query, under a key the
//! verifier holds or one it does not. The time byte places a harness-made `T` around the
//! accepted window.
//!
//! Invariants: nothing panics; a refusal is about `Sign`/`T` (never the route, never the
//! configuration, which the harness gets right); a `Sign` made with a key outside
//! the list never passes; a correct `Sign` passes exactly when `now ≤ T ≤ now + 20 min`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use md5::{Digest, Md5};
use serde_json::Value;
use vodgate::vod::callback::{self, Callback};
use vodgate::platform::secret::SecretList;
use vodgate::vod::callback_auth::{
    AuthMethod, AuthMode, CallbackAuthError, CallbackKeys, CallbackVerifier, DEFAULT_MAX_AHEAD,
};

const CURRENT: &str = "fuzzKeyCurrent";
const PREVIOUS: &str = "fuzzKeyPrevious";
const FOREIGN: &str = "fuzzKeyForeign";
const NOW: i64 = 1_700_000_000;
const MAX_AHEAD: i64 = 20 * 60;

fuzz_target!(|data: &[u8]| {
    let [mode, time, rest @ ..] = data else {
        return;
    };
    let mut parts = rest.splitn(2, |&b| b == 0);
    let body = parts.next().unwrap_or_default();
    let Ok(query) = std::str::from_utf8(parts.next().unwrap_or_default()) else {
        return;
    };
    let Ok(callback) = callback::parse(body) else {
        return;
    };
    let key = [CURRENT, PREVIOUS, FOREIGN][usize::from(*mode / 3 % 3)];
    let harness_t = NOW + (i64::from(*time) - 64) * 30;
    match mode % 3 {
        0 => {
            let _ = verify(callback, Some(query));
        }
        1 => {
            let (t_text, t_unix) = match callback.t() {
                Some(t) => (t.text, t.unix),
                None => (harness_t.to_string(), harness_t),
            };
            let mut body = callback.body().clone();
            if !body.contains_key("T") || callback.t().is_none() {
                body.insert("T".into(), Value::from(t_unix));
            }
            body.insert("Sign".into(), Value::from(sign(key, &t_text)));
            let text = Value::Object(body).to_string();
            let Ok(signed) = callback::parse(text.as_bytes()) else {
                return;
            };
            expect(verify(signed, Some(query)), key, t_unix);
        }
        _ => {
            let query = format!(
                "{query}&T={harness_t}&Sign={}",
                sign(key, &harness_t.to_string())
            );
            let delivery_in_body = ["Sign", "T"]
                .iter()
                .any(|k| callback.body().contains_key(*k));
            let result = verify(callback, Some(&query));
            if !delivery_in_body {
                expect(result, key, harness_t);
            }
        }
    }
});

fn sign(key: &str, t: &str) -> String {
    hex::encode(Md5::new().chain_update(key).chain_update(t).finalize())
}

fn verify(callback: Callback, query: Option<&str>) -> Result<AuthMethod, CallbackAuthError> {
    let list = SecretList::parse(&format!("{CURRENT},{PREVIOUS}")).expect("valid list");
    let keys = CallbackKeys::new(Some(list), None).expect("valid keys");
    let verifier = CallbackVerifier::new(AuthMode::Keys, DEFAULT_MAX_AHEAD);
    let route = verifier
        .check_route(&keys, None)
        .expect("no path token configured");
    let result = verifier
        .verify(&keys, route, callback, query, NOW)
        .map(|auth| auth.method());
    if let Err(error) = &result {
        assert!(
            matches!(
                error,
                CallbackAuthError::MissingSign(_)
                    | CallbackAuthError::MalformedSign
                    | CallbackAuthError::BadSign
                    | CallbackAuthError::BadTime
                    | CallbackAuthError::Expired
                    | CallbackAuthError::TooFarAhead
            ),
            "{error:?}"
        );
    }
    result
}

/// A correct `Sign` for `t` under `key` passes exactly when `key` is held and `t` is in the window.
fn expect(result: Result<AuthMethod, CallbackAuthError>, key: &str, t: i64) {
    let expected = if key == FOREIGN {
        Err(CallbackAuthError::BadSign)
    } else if t < NOW {
        Err(CallbackAuthError::Expired)
    } else if t > NOW + MAX_AHEAD {
        Err(CallbackAuthError::TooFarAhead)
    } else {
        Ok(AuthMethod::Sign)
    };
    assert_eq!(result, expected, "key {key}, T {t}");
}
