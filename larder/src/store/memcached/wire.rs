//! The memcached commands the store uses, on one pooled connection, with memcached's answers
//! turned into ours (a miss is `None`, `NOT_STORED` is `false`, a multi-get's hits are
//! matched to the keys asked, failures are [`Error`]s).
//!
//! All but the multi-get (the classic `get k1 k2 …`) are meta commands (memcached 1.6+): `mg`
//! with flags reads, checks and touches, `ms` sets, adds (`ME`) and compares-and-sets (`C`),
//! `md` deletes (and compares-and-deletes, with `C`), `ma` increments.

use async_memcached::{
    AsciiProtocol, Error as McError, ErrorKind as McKind, MetaProtocol, MetaValue, Status,
};

use super::pool::Conn;
use crate::error::{Error, ErrorKind};

/// The largest value sent: no Memcached keeps a larger item (its `-I` goes up to 1 GiB). A
/// larger one is refused before anything is sent, because from 2 GiB on Memcached cannot read
/// the length of an `ms`, answers `CLIENT_ERROR` without skipping the value, and then runs the
/// value's bytes as commands.
const MAX_VALUE_LEN: usize = 1 << 30;

/// What memcached's own arithmetic (`ma`) made of a counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sum {
    /// Its new value.
    Value(u64),
    /// There is no such key.
    Missing,
    /// Its value is not an unsigned decimal number (a negative counter, or not a number):
    /// it was left as it was.
    NotUnsigned,
}

/// A counter as read for a compare-and-set: its bytes, its CAS token, its seconds left
/// (`-1`: no expiry).
pub(super) struct Counter {
    pub(super) value: Vec<u8>,
    pub(super) cas: u64,
    pub(super) ttl_left: i64,
}

impl Conn<'_> {
    /// The server's version (`1.6.18`).
    pub(super) async fn version(&mut self) -> Result<String, Error> {
        let result = self.client()?.version().await;
        result.map_err(|e| self.fail(e))
    }

    /// The value of `key`.
    pub(super) async fn get(&mut self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        match self.meta_get(key, &["v"]).await? {
            // An empty value comes back without data.
            Some(value) => Ok(Some(value.data.unwrap_or_default())),
            None => Ok(None),
        }
    }

    /// The value of each of `keys`, in their order, in one round trip.
    pub(super) async fn get_multi(&mut self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, Error> {
        // The classic `get k1 k2 …`: one command line for the whole batch.
        let result = self.client()?.get_multi(keys).await;
        let hits = match result {
            Ok(hits) => hits
                .into_iter()
                .map(|hit| (hit.key, hit.data.unwrap_or_default()))
                .collect(),
            // No key found at all.
            Err(McError::Protocol(Status::NotFound)) => Vec::new(),
            Err(e) => return Err(self.fail(e)),
        };
        Ok(match_hits(keys, hits))
    }

    /// Whether `key` is there.
    pub(super) async fn exists(&mut self, key: &str) -> Result<bool, Error> {
        Ok(self.meta_get(key, &["s"]).await?.is_some())
    }

    /// Gives `key` the exptime `flag` (`T<exptime>`); whether it was there.
    pub(super) async fn touch(&mut self, key: &str, flag: &str) -> Result<bool, Error> {
        Ok(self.meta_get(key, &["s", flag]).await?.is_some())
    }

    /// A counter's bytes, CAS token and lifetime left.
    pub(super) async fn counter(&mut self, key: &str) -> Result<Option<Counter>, Error> {
        let Some(found) = self.meta_get(key, &["v", "c", "t"]).await? else {
            return Ok(None);
        };
        match (found.cas, found.ttl_remaining) {
            (Some(cas), Some(ttl_left)) => Ok(Some(Counter {
                value: found.data.unwrap_or_default(),
                cas,
                ttl_left,
            })),
            _ => Err(self.unexpected("a meta get without the flags asked for")),
        }
    }

    /// Stores `value` under `key` with the exptime `flag`.
    pub(super) async fn set(&mut self, key: &str, value: &[u8], flag: &str) -> Result<(), Error> {
        self.meta_set(key, value, &[flag]).await.map(drop)
    }

    /// Stores `value` only if `key` is absent; whether it stored.
    pub(super) async fn add(&mut self, key: &str, value: &[u8], flag: &str) -> Result<bool, Error> {
        self.meta_set(key, value, &[flag, "ME"]).await
    }

    /// Stores `value` only if `key` still has the CAS token `cas`; whether it stored.
    pub(super) async fn compare_and_set(
        &mut self,
        key: &str,
        value: &[u8],
        flag: &str,
        cas: u64,
    ) -> Result<bool, Error> {
        let cas = format!("C{cas}");
        self.meta_set(key, value, &[flag, &cas]).await
    }

    /// Stores every `(key, value)` with the exptime `flag`, in one round trip.
    pub(super) async fn set_multi(
        &mut self,
        entries: &[(&str, &[u8])],
        flag: &str,
    ) -> Result<(), Error> {
        for (_, value) in entries {
            check_len(value)?;
        }
        let result = self.client()?.meta_set_multi(entries, Some(&[flag])).await;
        let refused = result.map_err(|e| self.fail(e))?;
        match refused.len() {
            0 => Ok(()),
            n => Err(self.unexpected(&format!("{n} values not stored"))),
        }
    }

    /// Removes `key` only if it holds `expected`; whether it did. The value is read with its
    /// CAS token, and the delete (`md` with `C<cas>`) happens only if the item still has
    /// that token, so an item written in between (another lease, taken after this one
    /// expired) stays. A server without CAS (`-C`, every token 0) deletes unconditionally
    /// once the value matched: the read and the delete are then two steps.
    pub(super) async fn delete_if(&mut self, key: &str, expected: &[u8]) -> Result<bool, Error> {
        let Some(found) = self.meta_get(key, &["v", "c"]).await? else {
            return Ok(false);
        };
        if found.data.as_deref().unwrap_or_default() != expected {
            return Ok(false);
        }
        let Some(cas) = found.cas else {
            return Err(self.unexpected("a meta get without its CAS token"));
        };
        let compare = format!("C{cas}");
        let flags: &[&str] = if cas == 0 { &[] } else { &[&compare] };
        let result = self
            .client()?
            .meta_delete(key, false, None, Some(flags))
            .await;
        match result {
            Ok(_) => Ok(true),
            // Gone meanwhile, or written again (another CAS token).
            Err(McError::Protocol(Status::NotFound | Status::Exists)) => Ok(false),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Removes `key`; whether it was there.
    pub(super) async fn delete(&mut self, key: &str) -> Result<bool, Error> {
        let result = self.client()?.meta_delete(key, false, None, None).await;
        match result {
            Ok(_) => Ok(true),
            Err(McError::Protocol(Status::NotFound)) => Ok(false),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Adds `delta` to the unsigned counter at `key`, modulo 2^64 as memcached does, keeping
    /// its TTL.
    pub(super) async fn add_to(&mut self, key: &str, delta: u64) -> Result<Sum, Error> {
        let result = self
            .client()?
            .meta_increment(key, false, None, Some(delta), Some(&["v"]))
            .await;
        let value = match result {
            Ok(Some(value)) => value,
            Err(McError::Protocol(Status::NotFound)) => return Ok(Sum::Missing),
            // A whole reply line, read: the connection is sound.
            Err(McError::Protocol(Status::Error(McKind::Client(reason))))
                if reason.contains("non-numeric") =>
            {
                return Ok(Sum::NotUnsigned);
            }
            Ok(None) => return Err(self.unexpected("an increment without its value")),
            Err(e) => return Err(self.fail(e)),
        };
        parse_unsigned(value.data.as_deref())
            .map(Sum::Value)
            .ok_or_else(|| self.unexpected("an increment's value is not a number"))
    }

    /// `mg key flags..`: `None` on a miss.
    async fn meta_get(&mut self, key: &str, flags: &[&str]) -> Result<Option<MetaValue>, Error> {
        let result = self.client()?.meta_get(key, false, None, Some(flags)).await;
        result.map_err(|e| self.fail(e))
    }

    /// `ms key flags..`: whether it stored (`false` for `NOT_STORED`, `EXISTS`, `NOT_FOUND`:
    /// an add or a compare-and-set that lost).
    async fn meta_set(&mut self, key: &str, value: &[u8], flags: &[&str]) -> Result<bool, Error> {
        check_len(value)?;
        let result = self
            .client()?
            .meta_set(key, value, false, None, Some(flags))
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(McError::Protocol(Status::NotStored | Status::Exists | Status::NotFound)) => {
                Ok(false)
            }
            Err(e) => Err(self.fail(e)),
        }
    }
}

/// Refuses a value longer than [`MAX_VALUE_LEN`], before anything is sent.
fn check_len(value: &[u8]) -> Result<(), Error> {
    if value.len() > MAX_VALUE_LEN {
        return Err(Error::new(
            ErrorKind::Backend,
            "the value is larger than 1 GiB, more than any Memcached item holds",
        ));
    }
    Ok(())
}

/// The answer to each of `keys` from a multi-get's `hits` (key, value).
///
/// Memcached answers a multi-get in the order asked, once per key asked (twice for a key
/// asked twice), leaving out misses: the hits are matched in one pass, with no hashing when
/// every key is a hit. Answers in another order are matched by key, and a key asked twice
/// but answered once (which another server speaking the protocol might do) gets the answer
/// at both places.
fn match_hits(keys: &[&str], hits: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<Option<Vec<u8>>> {
    let mut hits = hits.into_iter().peekable();
    let mut out: Vec<Option<Vec<u8>>> = keys
        .iter()
        .map(|key| hits.next_if(|(k, _)| k == key.as_bytes()).map(|(_, v)| v))
        .collect();
    let rest: Vec<(Vec<u8>, Vec<u8>)> = hits.collect();
    if !rest.is_empty() {
        // Out of order: by key, each key's answer to its first place.
        let mut by_key: hashbrown::HashMap<Vec<u8>, Vec<u8>> = keys
            .iter()
            .zip(out.iter_mut())
            .filter_map(|(key, value)| value.take().map(|v| (key.as_bytes().to_vec(), v)))
            .collect();
        by_key.extend(rest);
        for (key, value) in keys.iter().zip(out.iter_mut()) {
            *value = by_key.remove(key.as_bytes());
        }
    }
    // A key asked again gets the same answer at its later places.
    fill_repeats(keys, &mut out);
    out
}

/// Gives each unanswered place of `out` the answer its key got at another place (a key
/// asked twice and answered once). Hashes only when some place is unanswered.
fn fill_repeats(keys: &[&str], out: &mut [Option<Vec<u8>>]) {
    let missed: hashbrown::HashSet<&str> = keys
        .iter()
        .zip(out.iter())
        .filter(|(_, value)| value.is_none())
        .map(|(key, _)| *key)
        .collect();
    if missed.is_empty() {
        return;
    }
    let mut answered: hashbrown::HashMap<&str, usize> = hashbrown::HashMap::new();
    for (i, (key, value)) in keys.iter().zip(out.iter()).enumerate() {
        if value.is_some() && missed.contains(key) {
            answered.entry(*key).or_insert(i);
        }
    }
    for (i, key) in keys.iter().enumerate() {
        if out[i].is_none()
            && let Some(&at) = answered.get(key)
        {
            out[i] = out[at].clone();
        }
    }
}

/// An unsigned decimal number as memcached keeps counters (right-padded with spaces after a
/// decrement).
pub(super) fn parse_unsigned(bytes: Option<&[u8]>) -> Option<u64> {
    std::str::from_utf8(bytes?).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_up_to_1_gib_are_sent_larger_ones_refused() {
        // Lengths only: zeroed memory that is never touched costs nothing.
        check_len(&vec![0; MAX_VALUE_LEN]).unwrap();
        let err = check_len(&vec![0; MAX_VALUE_LEN + 1]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Backend);
        assert!(err.to_string().contains("1 GiB"), "{err}");
    }

    #[test]
    fn counters_read_as_memcached_writes_them() {
        assert_eq!(parse_unsigned(Some(b"42")), Some(42));
        assert_eq!(
            parse_unsigned(Some(b"9   ")),
            Some(9),
            "padded by a decrement"
        );
        assert_eq!(parse_unsigned(Some(b"-1")), None);
        assert_eq!(parse_unsigned(None), None);
    }

    fn hits(pairs: &[(&str, &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
        pairs
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect()
    }

    fn answers(values: &[Option<&str>]) -> Vec<Option<Vec<u8>>> {
        values
            .iter()
            .map(|v| v.map(|v| v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn hits_in_the_order_asked_with_misses_left_out() {
        let got = match_hits(&["a", "b", "c"], hits(&[("a", "1"), ("c", "3")]));
        assert_eq!(got, answers(&[Some("1"), None, Some("3")]));
    }

    #[test]
    fn a_key_asked_twice_is_answered_at_both_places() {
        // As memcached does: once per key asked...
        let got = match_hits(
            &["a", "b", "a"],
            hits(&[("a", "1"), ("b", "2"), ("a", "1")]),
        );
        assert_eq!(got, answers(&[Some("1"), Some("2"), Some("1")]));
        // ...or once for both, as another server might.
        let got = match_hits(&["a", "b", "a"], hits(&[("a", "1"), ("b", "2")]));
        assert_eq!(got, answers(&[Some("1"), Some("2"), Some("1")]));
    }

    #[test]
    fn hits_out_of_order_go_to_their_keys_and_strangers_are_ignored() {
        let got = match_hits(
            &["a", "b", "c"],
            hits(&[("c", "3"), ("z", "9"), ("a", "1")]),
        );
        assert_eq!(got, answers(&[Some("1"), None, Some("3")]));
    }

    #[test]
    fn no_hits_is_all_misses() {
        assert_eq!(match_hits(&["a", "b"], Vec::new()), answers(&[None, None]));
    }
}
