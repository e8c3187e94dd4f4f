//! Durations in configuration, written as people write them (`"30s"`, `"5m"`, `"250ms"`,
//! `"1h30m"`): serde's side of `crate::humane`.

use std::fmt;
use std::time::Duration;

use serde::Deserializer;
use serde::de::Visitor;

use crate::humane::{EXPECTED, parse_duration, shorten};

/// An optional duration field: absent is `None`; present, a string such as `"30s"`.
pub(super) fn option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    d.deserialize_str(Text).map(Some)
}

struct Text;

impl Visitor<'_> for Text {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EXPECTED)
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Duration, E> {
        parse_duration(text)
            .ok_or_else(|| E::custom(format!("{:?} is not {EXPECTED}", shorten(text))))
    }
}

/// The duration in `text`, or an error naming `what` (a setting, an environment variable).
pub(super) fn parse_named(what: &str, text: &str) -> Result<Duration, crate::Error> {
    parse_duration(text).ok_or_else(|| {
        crate::Error::new(
            crate::ErrorKind::Config,
            format!("{what}: {:?} is not {EXPECTED}", shorten(text)),
        )
    })
}
