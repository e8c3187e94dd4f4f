//! A [`Policy`]'s name: parsed from configuration (`FromStr`, and `Deserialize` under the
//! `serde` feature), written back by `Display`.

use std::fmt;
use std::str::FromStr;

use super::Policy;
use crate::error::Error;

/// Every policy with the names it is known by; the first is the one `Display` writes.
const NAMES: [(Policy, &[&str]); 4] = [
    (Policy::S3Fifo, &["s3fifo", "s3-fifo", "s3_fifo"]),
    (Policy::Lru, &["lru"]),
    (Policy::Lfu, &["lfu"]),
    (Policy::Fifo, &["fifo"]),
];

/// The names a policy may be given, for error messages.
const VALID: &str = "s3fifo (or s3-fifo), lru, lfu, fifo";

impl FromStr for Policy {
    type Err = Error;

    /// The policy named `name`, in any case: `s3fifo` (also `s3-fifo`, `s3_fifo`), `lru`,
    /// `lfu` or `fifo`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for any other name; the message lists
    /// the valid ones.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::{ErrorKind, Policy};
    ///
    /// assert_eq!("LRU".parse::<Policy>()?, Policy::Lru);
    /// assert_eq!("s3-fifo".parse::<Policy>()?, Policy::S3Fifo);
    /// let err = "arc".parse::<Policy>().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Config);
    /// assert!(err.to_string().contains("lru, lfu, fifo"));
    /// # Ok::<(), larder::Error>(())
    /// ```
    fn from_str(name: &str) -> Result<Self, Error> {
        parse(name).map_err(Error::config)
    }
}

impl fmt::Display for Policy {
    /// The policy's name as [`FromStr`] reads it: `s3fifo`, `lru`, `lfu` or `fifo`.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::Policy;
    /// assert_eq!(Policy::S3Fifo.to_string(), "s3fifo");
    /// assert_eq!(Policy::Lru.to_string().parse::<Policy>()?, Policy::Lru);
    /// # Ok::<(), larder::Error>(())
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = NAMES
            .iter()
            .find(|(policy, _)| policy == self)
            .map_or("unknown", |(_, names)| names[0]);
        f.write_str(name)
    }
}

/// The policy named `name` (any case), or the message saying it is none.
pub(crate) fn parse(name: &str) -> Result<Policy, String> {
    let trimmed = name.trim();
    NAMES
        .iter()
        .find(|(_, names)| names.iter().any(|n| n.eq_ignore_ascii_case(trimmed)))
        .map(|(policy, _)| *policy)
        .ok_or_else(|| {
            format!(
                "unknown eviction policy {:?}: expected one of {VALID}",
                shorten(trimmed)
            )
        })
}

/// At most 32 characters of a bad name, so an error never carries a page of input.
fn shorten(name: &str) -> &str {
    match name.char_indices().nth(32) {
        Some((at, _)) => &name[..at],
        None => name,
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Policy {
    /// A policy from its name, as [`FromStr`] reads it (any case).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(feature = "toml")] {
    /// use larder::Policy;
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Settings { policy: Policy }
    ///
    /// let settings: Settings = toml::from_str(r#"policy = "Lfu""#).unwrap();
    /// assert_eq!(settings.policy, Policy::Lfu);
    /// assert!(toml::from_str::<Settings>(r#"policy = "arc""#).is_err());
    /// # }
    /// ```
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Name;
        impl serde::de::Visitor<'_> for Name {
            type Value = Policy;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "an eviction policy's name: {VALID}")
            }
            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Policy, E> {
                parse(name).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_policy_reads_back_its_display() {
        for (policy, names) in NAMES {
            assert_eq!(policy.to_string().parse::<Policy>().unwrap(), policy);
            for name in names {
                assert_eq!(name.to_uppercase().parse::<Policy>().unwrap(), policy);
            }
        }
    }

    #[test]
    fn a_long_bad_name_is_cut_in_the_error() {
        let err = "x".repeat(1000).parse::<Policy>().unwrap_err();
        assert!(err.to_string().len() < 200);
    }
}
