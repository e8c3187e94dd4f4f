//! [`Writer`]: one write transaction's tables, and the bookkeeping every change does: the
//! expiry index row and the size total ([`entry_size`]) follow each entry.

use redb::{ReadableTable, Table, WriteTransaction};

use super::recency::Recency;
use super::tables::{
    BYTES_KEY, ENTRIES, EXPIRY, META, NEVER, backend, decode, decode_lossy, encode, entry_size,
};
use crate::error::Error;

/// One write transaction's tables, and the running size total.
pub(super) struct Writer<'a> {
    /// The file's recency, which forgets what is removed.
    pub(super) recency: &'a Recency,
    pub(super) entries: Table<'a, (&'static [u8], &'static [u8]), &'static [u8]>,
    pub(super) expiry: Table<'a, (u64, &'static [u8], &'static [u8]), ()>,
    pub(super) meta: Table<'a, &'static str, u64>,
    pub(super) bytes: u64,
    /// Whether anything changed: a transaction that changed nothing is not committed.
    pub(super) dirty: bool,
}

impl<'a> Writer<'a> {
    pub(super) fn new(recency: &'a Recency, txn: &'a WriteTransaction) -> Result<Self, Error> {
        let meta = txn.open_table(META).map_err(backend)?;
        let bytes = meta
            .get(BYTES_KEY)
            .map_err(backend)?
            .map_or(0, |v| v.value());
        Ok(Self {
            recency,
            entries: txn.open_table(ENTRIES).map_err(backend)?,
            expiry: txn.open_table(EXPIRY).map_err(backend)?,
            meta,
            bytes,
            dirty: false,
        })
    }

    /// The expiry and value of `key` if present and not expired.
    pub(super) fn live_record(
        &self,
        ns: &[u8],
        key: &[u8],
        now: u64,
    ) -> Result<Option<(u64, Vec<u8>)>, Error> {
        let Some(record) = self.entries.get((ns, key)).map_err(backend)? else {
            return Ok(None);
        };
        let (at, value) = decode(record.value())?;
        Ok((at > now).then(|| (at, value.to_vec())))
    }

    /// The expiry of `key`, if present (expired or not); the value is not copied.
    pub(super) fn expires_at(&self, ns: &[u8], key: &[u8]) -> Result<Option<u64>, Error> {
        let record = self.entries.get((ns, key)).map_err(backend)?;
        record
            .map(|r| decode(r.value()).map(|(at, _)| at))
            .transpose()
    }

    /// Whether `key` is present (expired or not; readable or not).
    pub(super) fn contains(&self, ns: &[u8], key: &[u8]) -> Result<bool, Error> {
        Ok(self.entries.get((ns, key)).map_err(backend)?.is_some())
    }

    /// Whether `key` is present and not expired.
    pub(super) fn is_live(&self, ns: &[u8], key: &[u8], now: u64) -> Result<bool, Error> {
        Ok(self.expires_at(ns, key)?.is_some_and(|at| at > now))
    }

    /// Stores `value` under `key` until `at`, replacing what was there (and its index row),
    /// even a corrupt record.
    pub(super) fn put(
        &mut self,
        ns: &[u8],
        key: &[u8],
        value: &[u8],
        at: u64,
    ) -> Result<(), Error> {
        let old = {
            let old = self
                .entries
                .insert((ns, key), encode(at, value).as_slice())
                .map_err(backend)?;
            old.map(|record| decode_lossy(record.value()))
        };
        if let Some((old_at, old_len)) = old {
            self.unindex(old_at, ns, key)?;
            self.bytes = self.bytes.saturating_sub(entry_size(ns, key, old_len));
        }
        if at != NEVER {
            self.expiry.insert((at, ns, key), ()).map_err(backend)?;
        }
        self.bytes = self.bytes.saturating_add(entry_size(ns, key, value.len()));
        self.dirty = true;
        Ok(())
    }

    /// Removes `key` and its index row; its expiry if it was there (expired or not; a corrupt
    /// record, removed too, counts as never expiring).
    pub(super) fn remove(&mut self, ns: &[u8], key: &[u8]) -> Result<Option<u64>, Error> {
        let old = {
            let old = self.entries.remove((ns, key)).map_err(backend)?;
            old.map(|record| decode_lossy(record.value()))
        };
        let Some((at, len)) = old else {
            return Ok(None);
        };
        self.unindex(at, ns, key)?;
        self.bytes = self.bytes.saturating_sub(entry_size(ns, key, len));
        self.recency.forget(ns, key);
        self.dirty = true;
        Ok(Some(at.unwrap_or(NEVER)))
    }

    /// Removes the index row of an entry expiring `at` (`None`: unknown, a corrupt record's,
    /// whose row, if any, the sweep drops when it comes due).
    fn unindex(&mut self, at: Option<u64>, ns: &[u8], key: &[u8]) -> Result<(), Error> {
        if let Some(at) = at.filter(|&at| at != NEVER) {
            self.expiry.remove((at, ns, key)).map_err(backend)?;
        }
        Ok(())
    }

    /// Removes up to `limit` entries expired at `now`, oldest expiry first; how many.
    pub(super) fn remove_expired(&mut self, now: u64, limit: usize) -> Result<u64, Error> {
        let due = {
            let end = (now.saturating_add(1), &[][..], &[][..]);
            let range = self
                .expiry
                .range::<(u64, &[u8], &[u8])>(..end)
                .map_err(backend)?;
            let mut due = Vec::new();
            for item in range.take(limit) {
                let (row, _) = item.map_err(backend)?;
                let (at, ns, key) = row.value();
                due.push((at, ns.to_vec(), key.to_vec()));
            }
            due
        };
        let mut removed = 0;
        for (at, ns, key) in due {
            // Expired, or corrupt (its row says it expires, and it cannot be read).
            let expired = self
                .entries
                .get((ns.as_slice(), key.as_slice()))
                .map_err(backend)?
                .is_some_and(|record| {
                    decode_lossy(record.value())
                        .0
                        .is_none_or(|entry_at| entry_at <= now)
                });
            if expired {
                self.remove(&ns, &key)?;
                removed += 1;
            }
            // A row whose entry expires at another time (or is gone) was stale: it goes too.
            let row = (at, ns.as_slice(), key.as_slice());
            if self.expiry.remove(row).map_err(backend)?.is_some() {
                self.dirty = true;
            }
        }
        Ok(removed)
    }
}
