//! Durations as people write them in configuration: `"30s"`, `"5m"`, `"250ms"`, `"1h30m"`.
//! Read by store URLs (`store::from_url`) and, under the `serde` feature, by `config`.

use std::time::Duration;

/// Every unit, longest spelling first where one is a prefix of another, with its length.
const UNITS: [(&str, Duration); 12] = [
    ("ns", Duration::from_nanos(1)),
    ("us", Duration::from_micros(1)),
    ("µs", Duration::from_micros(1)),
    ("ms", Duration::from_millis(1)),
    ("sec", Duration::from_secs(1)),
    ("s", Duration::from_secs(1)),
    ("min", Duration::from_secs(60)),
    ("m", Duration::from_secs(60)),
    ("h", Duration::from_secs(3600)),
    ("d", Duration::from_secs(86_400)),
    ("w", Duration::from_secs(7 * 86_400)),
    ("y", Duration::from_secs(365 * 86_400)),
];

/// What a duration's text should look like, for error messages.
pub(crate) const EXPECTED: &str =
    "a duration such as \"250ms\", \"30s\", \"5m\", \"1h30m\" (units ns, us, ms, s, m, h, d, w, y)";

/// The duration `text` writes: one or more `<integer><unit>` parts (`"1h30m"`), spaces
/// allowed between them; `"0"` alone is zero. `None` when it is not one, or overflows.
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = text;
    let mut total = Duration::ZERO;
    let mut parts = 0;
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return None;
        }
        let number: u64 = rest[..digits].parse().ok()?;
        rest = rest[digits..].trim_start();
        let (unit, size) = UNITS.iter().find(|(unit, _)| {
            rest.starts_with(unit) && !rest[unit.len()..].starts_with(|c: char| c.is_alphabetic())
        })?;
        let number = u32::try_from(number).ok();
        let part = match number {
            Some(n) => size.checked_mul(n)?,
            None => return None,
        };
        total = total.checked_add(part)?;
        rest = rest[unit.len()..].trim_start();
        parts += 1;
    }
    (parts > 0).then_some(total)
}

/// At most 40 characters of `text`, for an error message that quotes a bad value.
pub(crate) fn shorten(text: &str) -> &str {
    match text.char_indices().nth(40) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_people_write() {
        let cases = [
            ("250ms", Duration::from_millis(250)),
            ("30s", Duration::from_secs(30)),
            ("5m", Duration::from_secs(300)),
            ("5min", Duration::from_secs(300)),
            ("1h30m", Duration::from_secs(5400)),
            ("1h 30m", Duration::from_secs(5400)),
            ("2d", Duration::from_secs(172_800)),
            ("10us", Duration::from_micros(10)),
            (" 7 s ", Duration::from_secs(7)),
            ("0", Duration::ZERO),
            ("0s", Duration::ZERO),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_duration(text), Some(expected), "{text}");
        }
    }

    #[test]
    fn refuses_the_rest() {
        for text in [
            "",
            "s",
            "30",
            "5 parsecs",
            "1.5s",
            "-1s",
            "30ss",
            "1m2",
            "99999999999h",
            "5x",
        ] {
            assert_eq!(parse_duration(text), None, "{text}");
        }
    }
}
