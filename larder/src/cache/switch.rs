//! The kill switch: `LARDER_DISABLE` in the environment, read when a cache is built.
//!
//! A disabled cache is assembled as a cache of capacity 0 (nothing is ever stored, so a
//! lookup misses without any check of its own) whose loads still go through single-flight;
//! see [`CacheBuilder::enabled`](super::CacheBuilder::enabled).

use std::ffi::OsStr;

/// The environment variable that disables every cache built while it is on.
pub(super) const DISABLE_VAR: &str = "LARDER_DISABLE";

/// Whether `LARDER_DISABLE` is on now: see [`is_on`].
pub(super) fn disabled_by_env() -> bool {
    std::env::var_os(DISABLE_VAR).is_some_and(|value| is_on(&value))
}

/// Whether a value of `LARDER_DISABLE` turns the switch on: `1`, `true`, `yes` or `on`,
/// ignoring ASCII case and surrounding whitespace. Anything else (empty, `0`, `false`, a
/// value that is not UTF-8) leaves caches on.
fn is_on(value: &OsStr) -> bool {
    let Some(value) = value.to_str() else {
        return false;
    };
    let value = value.trim();
    ["1", "true", "yes", "on"]
        .iter()
        .any(|on| value.eq_ignore_ascii_case(on))
}

#[cfg(test)]
mod tests {
    use super::is_on;
    use std::ffi::OsStr;

    #[test]
    fn the_values_that_turn_the_switch_on() {
        for on in ["1", "true", "TRUE", "Yes", "on", " 1 ", "On\n"] {
            assert!(is_on(OsStr::new(on)), "{on:?}");
        }
        for off in ["", "0", "false", "no", "off", "2", "disable", "1 1", "tru"] {
            assert!(!is_on(OsStr::new(off)), "{off:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_value_that_is_not_utf8_leaves_caches_on() {
        use std::os::unix::ffi::OsStrExt;
        assert!(!is_on(OsStr::from_bytes(&[b'1', 0xff])));
    }
}
