//! The file's layout: three redb tables, the record format, and how redb's failures become
//! [`Error`]s.
//!
//! - `larder_entries`: (namespace, key) → record: the expiry (unix millis, 8 little-endian
//!   bytes; `u64::MAX` for none) followed by the value. Namespace and key are separate tuple
//!   elements, so `("a:b", "c")` and `("a", "b:c")` never meet.
//! - `larder_expiry`: the expiry index, (expires_at, namespace, key) → (), one row per entry
//!   that expires, written in the same transaction as the entry.
//! - `larder_meta`: the format version and the entries' total size (the size cap's measure:
//!   see [`entry_size`]).

use redb::{DatabaseError, StorageError, TableDefinition};

use crate::error::{Error, ErrorKind};

pub(super) const ENTRIES: TableDefinition<(&[u8], &[u8]), &[u8]> =
    TableDefinition::new("larder_entries");
pub(super) const EXPIRY: TableDefinition<(u64, &[u8], &[u8]), ()> =
    TableDefinition::new("larder_expiry");
pub(super) const META: TableDefinition<&str, u64> = TableDefinition::new("larder_meta");

/// The version of the layout above, kept in `larder_meta` under `format`.
pub(super) const FORMAT: u64 = 1;
pub(super) const FORMAT_KEY: &str = "format";
pub(super) const BYTES_KEY: &str = "bytes";

/// The expiry of an entry that never expires.
pub(super) const NEVER: u64 = u64::MAX;
/// The bytes in front of a record's value: its expiry.
const HEADER: usize = 8;

/// What an entry counts for under the size cap: its namespace, key and value, the bytes the
/// caller chose. (The record's header, the index row and redb's pages are not counted.)
pub(super) fn entry_size(ns: &[u8], key: &[u8], value_len: usize) -> u64 {
    (ns.len() as u64)
        .saturating_add(key.len() as u64)
        .saturating_add(value_len as u64)
}

/// A (namespace, key) pair.
pub(super) type NsKey = (Vec<u8>, Vec<u8>);
/// A (namespace, key) pair, borrowed: the entries table's key.
pub(super) type NsKeyRef<'a> = (&'a [u8], &'a [u8]);

pub(super) fn encode(at: u64, value: &[u8]) -> Vec<u8> {
    let mut record = Vec::with_capacity(HEADER + value.len());
    record.extend_from_slice(&at.to_le_bytes());
    record.extend_from_slice(value);
    record
}

/// A record's expiry and value.
pub(super) fn decode(record: &[u8]) -> Result<(u64, &[u8]), Error> {
    let (at, value) = record.split_first_chunk::<HEADER>().ok_or_else(|| {
        Error::new(
            ErrorKind::Backend,
            "the file holds a record too short to be one (corrupt)",
        )
    })?;
    Ok((u64::from_le_bytes(*at), value))
}

/// A record's expiry and value length, to take it out of the file: the expiry is `None` for a
/// record too short to hold one (corrupt). Reads report such a record; writes replace or
/// remove it, so that one bad record cannot wedge a key, a namespace or the size cap.
pub(super) fn decode_lossy(record: &[u8]) -> (Option<u64>, usize) {
    match decode(record) {
        Ok((at, value)) => (Some(at), value.len()),
        Err(_) => (None, 0),
    }
}

/// A redb failure.
pub(super) fn backend(error: impl Into<redb::Error>) -> Error {
    Error::with_source(ErrorKind::Backend, "the disk store failed", error.into())
}

/// A table of ours that is not ours: another program's table of the same name.
pub(super) fn foreign(error: redb::TableError) -> Error {
    match error {
        redb::TableError::TableTypeMismatch { .. } => Error::with_source(
            ErrorKind::Backend,
            "the file is a redb database, but not a larder disk store",
            error,
        ),
        other => backend(other),
    }
}

/// Why the file could not be opened: never its path, which may say more than it should.
pub(super) fn open_failed(error: DatabaseError) -> Error {
    let message = match &error {
        DatabaseError::DatabaseAlreadyOpen => {
            "the file is already open (open it once per process, and share it with `with_namespace`)"
        }
        DatabaseError::UpgradeRequired(_) => "the file is a redb database of an older format",
        // redb reports a file that does not start as a redb file as invalid data.
        DatabaseError::Storage(StorageError::Io(e))
            if e.kind() == std::io::ErrorKind::InvalidData =>
        {
            "the file is corrupt, or not a redb database"
        }
        DatabaseError::Storage(StorageError::Corrupted(_)) => {
            "the file is corrupt, or not a redb database"
        }
        DatabaseError::Storage(StorageError::Io(_)) => "cannot read or write the file",
        _ => "cannot open the file as a redb database",
    };
    Error::with_source(ErrorKind::Backend, message, error)
}
