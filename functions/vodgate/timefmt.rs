//! Times and durations as people read and type them.
//!
//! Raw Unix seconds in a report make the reader do arithmetic to learn whether a signature has
//! expired; "expires in 1 h 58 min, at 2026-12-02 10:20:00 UTC" answers at a glance. The same
//! short units are accepted where a command takes a duration (`--ttl 1h`, `--since 10m`), as the
//! server's own settings accept them (`SIGN_RATE_LIMIT=30/1m`).

use time::OffsetDateTime;

/// Seconds in each unit a duration may be written in.
const UNITS: [(&str, u64); 4] = [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)];

/// `unix` as `2026-12-02 10:20:00 UTC`, or the raw number if it is out of range.
pub fn date(unix: i64) -> String {
    match OffsetDateTime::from_unix_timestamp(unix) {
        Ok(at) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second()
        ),
        Err(_) => unix.to_string(),
    }
}

/// `secs` as its two largest units: `45 s`, `12 min`, `1 h 58 min`, `3 d 4 h`.
pub fn duration(secs: u64) -> String {
    let (days, hours, minutes) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60);
    match (days, secs / 3600, secs / 60) {
        (0, 0, 0) => format!("{secs} s"),
        (0, 0, _) => format!("{minutes} min"),
        (0, _, _) if minutes == 0 => format!("{hours} h"),
        (0, _, _) => format!("{hours} h {minutes} min"),
        _ if hours == 0 => format!("{days} d"),
        _ => format!("{days} d {hours} h"),
    }
}

/// `unix` relative to `now`: "in 1 h 58 min, at …" or "2 min ago, at …" ("0 s ago" for now).
pub fn relative(unix: i64, now: i64) -> String {
    let at = date(unix);
    let apart = unix.abs_diff(now);
    if unix > now {
        format!("in {}, at {at}", duration(apart))
    } else {
        format!("{} ago, at {at}", duration(apart))
    }
}

/// Parses a positive duration: a whole number with a unit (`90s`, `30m`, `1h`, `7d`), or bare
/// seconds (`3600`).
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let scale = match unit {
        "" => Some(1),
        unit => UNITS.iter().find(|(u, _)| *u == unit).map(|(_, s)| *s),
    };
    let secs = number
        .parse::<u64>()
        .ok()
        .zip(scale)
        .and_then(|(n, scale)| n.checked_mul(scale));
    match secs {
        Some(0) => Err("must be more than zero".to_owned()),
        Some(secs) => Ok(secs),
        None => Err(format!(
            "expected a whole number with s, m, h or d (such as 30m, 1h, 7d), got {text:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_their_two_largest_units() {
        assert_eq!(duration(45), "45 s");
        assert_eq!(duration(720), "12 min");
        assert_eq!(duration(7080), "1 h 58 min");
        assert_eq!(duration(7200), "2 h");
        assert_eq!(duration(3 * 86_400 + 4 * 3600 + 5), "3 d 4 h");
        assert_eq!(duration(86_400), "1 d");
        assert_eq!(date(1_795_891_260), "2026-11-28 18:41:00 UTC");
        assert_eq!(
            relative(1_000 + 7080, 1_000),
            format!("in 1 h 58 min, at {}", date(8080))
        );
        assert_eq!(relative(880, 1_000), format!("2 min ago, at {}", date(880)));
    }

    #[test]
    fn durations_parse_with_units_or_as_seconds() {
        assert_eq!(parse_duration("1h"), Ok(3600));
        assert_eq!(parse_duration("30m"), Ok(1800));
        assert_eq!(parse_duration("7d"), Ok(604_800));
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("3600"), Ok(3600));
        for bad in [
            "0",
            "0h",
            "h",
            "1.5h",
            "-1h",
            "1w",
            "",
            "99999999999999999999d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_duration("0m").unwrap_err(), "must be more than zero");
    }
}
