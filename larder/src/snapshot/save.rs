//! Writing a snapshot of an engine: its live entries, shard by shard, streamed into a
//! [`Replacement`] of the file, with the header written last.

use std::hash::{BuildHasher, Hash};
use std::path::Path;

use serde::Serialize;

use super::file::Replacement;
use super::format::{BodyHasher, HEADER_LEN, Header, encode_record};
use super::report::SaveReport;
use crate::engine::Engine;
use crate::error::{Error, ErrorKind};

/// Writes a snapshot of `engine`'s live entries to `path`, replacing the file there at once
/// when it is complete, or leaving it untouched on any error. Blocking: file I/O and fsync.
///
/// Each shard is encoded under its read lock, into a buffer written out once the lock is
/// released, so that a save holds no lock while it waits for the disk, and holds at most one
/// shard's encoding in memory.
pub(crate) fn save<K, V, S>(engine: &Engine<K, V, S>, path: &Path) -> Result<SaveReport, Error>
where
    K: Hash + Eq + Serialize,
    V: Clone + Serialize,
    S: BuildHasher,
{
    // Read before the entries: each entry's remaining TTL is measured at or after this time,
    // so a restore that counts the time elapsed since then can shorten a TTL by the time the
    // save took, never lengthen it.
    let saved_at = engine.settings().clock.unix_time();
    let mut file = Replacement::create(path).map_err(write_failed)?;
    file.write_all(&[0; HEADER_LEN]).map_err(write_failed)?;
    let mut checksum = BodyHasher::new();
    let (mut entries, mut body_len) = (0u64, 0u64);
    let mut buf = Vec::new();
    for index in 0..engine.shard_count() {
        buf.clear();
        engine.export_shard(index, |key, value, remaining| {
            entries += 1;
            encode_record(&mut buf, key, value, remaining)
        })?;
        checksum.update(&buf);
        body_len += buf.len() as u64;
        file.write_all(&buf).map_err(write_failed)?;
    }
    let header = Header {
        saved_at,
        entries,
        body_len,
        body_checksum: checksum.digest(),
    };
    file.write_at_start(&header.to_bytes())
        .map_err(write_failed)?;
    file.commit().map_err(write_failed)?;
    Ok(SaveReport {
        entries: usize::try_from(entries).unwrap_or(usize::MAX),
        bytes: HEADER_LEN as u64 + body_len,
    })
}

fn write_failed(error: std::io::Error) -> Error {
    // The path is not in the message: it may name a user or a secret.
    Error::with_source(ErrorKind::Backend, "cannot write the snapshot file", error)
}
