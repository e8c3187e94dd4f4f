//! Reading a snapshot ([`read`]: the whole file, checked and decoded before anything is
//! stored) and storing its entries in an engine ([`apply`]), their TTLs shortened by the wall
//! time since the save.

use std::hash::{BuildHasher, Hash};
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use serde::de::DeserializeOwned;

use super::file::read_if_exists;
use super::format::{Record, decode};
use super::report::RestoreReport;
use crate::engine::Engine;
use crate::error::{Error, ErrorKind};
use crate::expiry::saturating_nanos;

/// A snapshot read and decoded whole, not yet stored anywhere.
#[derive(Debug)]
pub(crate) struct Restored<K, V> {
    /// Wall-clock time of the save, since the Unix epoch.
    saved_at: Duration,
    records: Vec<Record<K, V>>,
}

/// The snapshot at `path`, or `None` if there is no file there. Blocking: reads the file.
pub(crate) fn read<K, V>(path: &Path) -> Result<Option<Restored<K, V>>, Error>
where
    K: DeserializeOwned,
    V: DeserializeOwned,
{
    let Some(file) = read_if_exists(path).map_err(|e| {
        // The path is not in the message: it may name a user or a secret.
        Error::with_source(ErrorKind::Backend, "cannot read the snapshot file", e)
    })?
    else {
        return Ok(None);
    };
    let (header, records) = decode(&file)?;
    Ok(Some(Restored {
        saved_at: header.saved_at,
        records,
    }))
}

/// Stores `restored`'s entries in `engine`, each replacing any entry of its key. A TTL is
/// what was left of it at the save, less the wall time elapsed since by the engine's clock;
/// entries whose TTL ran out meanwhile are dropped. A clock set back since the save counts as
/// no time elapsed.
pub(crate) fn apply<K, V, S>(
    engine: &Engine<K, V, S>,
    restored: Option<Restored<K, V>>,
) -> RestoreReport
where
    K: Hash + Eq,
    V: Clone,
    S: BuildHasher,
{
    let mut report = RestoreReport {
        restored: 0,
        expired: 0,
        saved_at: None,
    };
    let Some(Restored { saved_at, records }) = restored else {
        return report;
    };
    report.saved_at = UNIX_EPOCH.checked_add(saved_at);
    let now = engine.settings().clock.unix_time();
    let elapsed = saturating_nanos(now.saturating_sub(saved_at));
    for (key, value, remaining) in records {
        match remaining {
            None => engine.insert_restored(key, value, None),
            Some(left) if left > elapsed => {
                engine.insert_restored(key, value, Some(left - elapsed))
            }
            Some(_) => {
                report.expired += 1;
                continue;
            }
        }
        report.restored += 1;
    }
    report
}
