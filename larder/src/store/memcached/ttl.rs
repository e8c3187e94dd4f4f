//! Memcached's expiry times ("exptime"): what a [`Ttl`] becomes on the wire.
//!
//! Memcached reads an exptime of 0 as "never", up to 30 days (2,592,000 s) as seconds from
//! now, and anything larger as an absolute unix time. It counts whole seconds, so a TTL with
//! a fraction of a second rounds up (a 1 ms TTL is 1 s, never 0, which would mean "never").
//! The server parses the exptime as a signed 32-bit number: absolute times past 2038-01-19
//! are clamped to that date, and when that date is less than 30 days away (or past), a TTL
//! over 30 days becomes 30 days, the longest the server can still keep.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::Ttl;
use crate::store::remote::lifetime;

/// The longest TTL memcached takes as seconds from now (30 days).
pub(super) const MAX_RELATIVE_SECS: u64 = MAX_RELATIVE as u64;

/// [`MAX_RELATIVE_SECS`] as an exptime.
const MAX_RELATIVE: u32 = 60 * 60 * 24 * 30;

/// The largest exptime the server parses (`i32::MAX`, 2038-01-19 as a unix time).
const MAX_EXPTIME: u32 = i32::MAX as u32;

/// What a TTL becomes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Exptime {
    /// Already expired (a zero TTL): what was there goes, nothing new is stored.
    Expired,
    /// The exptime to send: 0 never expires, up to 30 days seconds from now, beyond that a
    /// unix time.
    Set(u32),
}

impl Exptime {
    /// The meta-protocol flag for this exptime (`T<exptime>`); `None` when already expired.
    pub(super) fn flag(self) -> Option<String> {
        match self {
            Exptime::Expired => None,
            Exptime::Set(t) => Some(format!("T{t}")),
        }
    }
}

/// The exptime of `ttl` for a store whose default TTL is `default`, at unix time `now`
/// (seconds).
pub(super) fn exptime(ttl: Ttl, default: Option<Duration>, now: u64) -> Exptime {
    let Some(d) = lifetime(ttl, default) else {
        return Exptime::Set(0);
    };
    if d.is_zero() {
        return Exptime::Expired;
    }
    let secs = d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0));
    if secs <= MAX_RELATIVE_SECS {
        // At most 2,592,000: fits.
        return Exptime::Set(u32::try_from(secs).unwrap_or(MAX_RELATIVE));
    }
    let at = now.saturating_add(secs).min(u64::from(MAX_EXPTIME));
    if at.saturating_sub(now) < MAX_RELATIVE_SECS {
        // 2038-01-19 is sooner than 30 days from now, or past (Memcached would store the
        // value already expired): 30 days is the longest it can keep.
        return Exptime::Set(MAX_RELATIVE);
    }
    Exptime::Set(u32::try_from(at).unwrap_or(MAX_EXPTIME))
}

/// The exptime that keeps an item's remaining lifetime, from the `t` flag of a meta get:
/// `-1` (no expiry) or seconds left.
pub(super) fn remaining(ttl_left: i64, now: u64) -> u32 {
    let Ok(secs) = u64::try_from(ttl_left) else {
        return 0;
    };
    // Expiring within the second: keep it for that second (0 would mean never).
    match exptime(Ttl::After(Duration::from_secs(secs.max(1))), None, now) {
        Exptime::Set(t) => t,
        Exptime::Expired => 1,
    }
}

/// The current unix time, in seconds.
pub(super) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn after(d: Duration) -> Exptime {
        exptime(Ttl::After(d), None, NOW)
    }

    #[test]
    fn never_and_default_without_a_default_are_zero() {
        assert_eq!(exptime(Ttl::Never, None, NOW), Exptime::Set(0));
        assert_eq!(
            exptime(Ttl::Never, Some(Duration::from_secs(5)), NOW),
            Exptime::Set(0)
        );
        assert_eq!(exptime(Ttl::Default, None, NOW), Exptime::Set(0));
    }

    #[test]
    fn default_uses_the_store_default() {
        let default = Some(Duration::from_secs(300));
        assert_eq!(exptime(Ttl::Default, default, NOW), Exptime::Set(300));
        assert_eq!(
            exptime(Ttl::Default, Some(Duration::ZERO), NOW),
            Exptime::Expired
        );
    }

    #[test]
    fn zero_is_already_expired() {
        assert_eq!(after(Duration::ZERO), Exptime::Expired);
        assert_eq!(Exptime::Expired.flag(), None);
    }

    #[test]
    fn fractions_round_up_never_to_zero() {
        assert_eq!(after(Duration::from_nanos(1)), Exptime::Set(1));
        assert_eq!(after(Duration::from_millis(999)), Exptime::Set(1));
        assert_eq!(after(Duration::from_millis(1_000)), Exptime::Set(1));
        assert_eq!(after(Duration::from_millis(1_001)), Exptime::Set(2));
        assert_eq!(
            after(Duration::from_secs(60)).flag().as_deref(),
            Some("T60")
        );
    }

    #[test]
    fn up_to_thirty_days_is_relative_beyond_is_absolute() {
        let thirty_days = Duration::from_secs(MAX_RELATIVE_SECS);
        assert_eq!(after(thirty_days), Exptime::Set(2_592_000));
        let just_over = thirty_days + Duration::from_millis(1);
        assert_eq!(after(just_over), Exptime::Set(1_702_592_001));
        let forty_days = Duration::from_secs(40 * 86_400);
        assert_eq!(after(forty_days), Exptime::Set(1_703_456_000));
    }

    #[test]
    fn absolute_times_are_clamped_to_what_the_server_parses() {
        assert_eq!(after(Duration::MAX), Exptime::Set(2_147_483_647));
        assert_eq!(
            after(Duration::from_secs(100 * 365 * 86_400)),
            Exptime::Set(2_147_483_647)
        );
    }

    #[test]
    fn near_and_past_2038_long_ttls_are_thirty_days_never_already_expired() {
        let y2038 = u64::from(MAX_EXPTIME);
        let forty_days = Duration::from_secs(40 * 86_400);
        let at = |now| exptime(Ttl::After(forty_days), None, now);
        // Further than 30 days from 2038-01-19: clamped to it, still over 30 days away.
        assert_eq!(at(y2038 - 35 * 86_400), Exptime::Set(MAX_EXPTIME));
        // Closer: 2038-01-19 would be sooner than 30 days, the longest relative TTL.
        assert_eq!(at(y2038 - 86_400), Exptime::Set(2_592_000));
        // Past it: 2038-01-19 is in the past, and Memcached would store the value expired.
        assert_eq!(at(y2038), Exptime::Set(2_592_000));
        assert_eq!(at(y2038 + 10), Exptime::Set(2_592_000));
        assert_eq!(remaining(40 * 86_400, y2038 + 10), 2_592_000);
        // Short TTLs are relative, whatever the date.
        assert_eq!(
            exptime(Ttl::After(Duration::from_secs(60)), None, u64::MAX),
            Exptime::Set(60)
        );
    }

    #[test]
    fn remaining_lifetimes_are_kept() {
        assert_eq!(remaining(-1, NOW), 0);
        assert_eq!(remaining(0, NOW), 1);
        assert_eq!(remaining(42, NOW), 42);
        let forty_days = 40 * 86_400;
        assert_eq!(
            remaining(forty_days, NOW),
            1_703_456_000,
            "past 30 days: absolute"
        );
    }
}
