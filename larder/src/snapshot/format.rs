//! The snapshot file's layout: a fixed header, then the body, one record per entry. Integers
//! are little-endian.
//!
//! | bytes | field |
//! |---|---|
//! | 0..8 | magic `b"\x89LDSNAP\n"` (a high byte and a newline, so that a file mangled as text is told apart) |
//! | 8..10 | format version (1) |
//! | 10..12 | flags (none defined: any set bit is refused) |
//! | 12..20 | when the snapshot was taken: wall-clock nanoseconds since the Unix epoch |
//! | 20..28 | the number of records |
//! | 28..36 | the body's length in bytes |
//! | 36..44 | xxh3-64 of the body |
//! | 44..52 | xxh3-64 of bytes 0..44 |
//! | 52.. | the body: each record is postcard's `(key, value, remaining TTL)`, the TTL an `Option<u64>` of nanoseconds (`None`: no TTL) |
//!
//! A reader checks, in order: the magic, the version (before the header's checksum, which a
//! later version may move), the flags, the header's checksum, the body's length, the body's
//! checksum, and then every record, refusing bytes left over. Nothing is decoded into a cache
//! until all of it has passed.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use xxhash_rust::xxh3::{Xxh3Default, xxh3_64};

use crate::error::{Error, ErrorKind};
use crate::expiry::{Nanos, saturating_nanos};

const MAGIC: [u8; 8] = *b"\x89LDSNAP\n";
/// The version written, and the only one read.
const VERSION: u16 = 1;
/// The header's length, body excluded.
pub(crate) const HEADER_LEN: usize = 52;
/// Where the header's own checksum starts: it covers the bytes before.
const HEADER_CHECKED: usize = 44;

/// A streaming checksum of the body, as [`Header::body_checksum`] holds it.
pub(crate) type BodyHasher = Xxh3Default;

/// One entry as a snapshot holds it: key, value, and what was left of its TTL when saved.
pub(crate) type Record<K, V> = (K, V, Option<Nanos>);

/// The fixed part of a snapshot file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    /// Wall-clock time of the save, since the Unix epoch.
    pub(crate) saved_at: Duration,
    pub(crate) entries: u64,
    pub(crate) body_len: u64,
    pub(crate) body_checksum: u64,
}

impl Header {
    pub(crate) fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut out = [0; HEADER_LEN];
        out[0..8].copy_from_slice(&MAGIC);
        out[8..10].copy_from_slice(&VERSION.to_le_bytes());
        // 10..12: no flags.
        out[12..20].copy_from_slice(&saturating_nanos(self.saved_at).to_le_bytes());
        out[20..28].copy_from_slice(&self.entries.to_le_bytes());
        out[28..36].copy_from_slice(&self.body_len.to_le_bytes());
        out[36..44].copy_from_slice(&self.body_checksum.to_le_bytes());
        let checksum = xxh3_64(&out[..HEADER_CHECKED]);
        out[HEADER_CHECKED..].copy_from_slice(&checksum.to_le_bytes());
        out
    }

    /// The header at the start of `file`, checked; `file` is the whole file, whose length
    /// must be the header's plus the body's.
    pub(crate) fn parse(file: &[u8]) -> Result<Header, Error> {
        let magic_len = file.len().min(MAGIC.len());
        if file[..magic_len] != MAGIC[..magic_len] {
            return Err(invalid(
                "not a larder snapshot (its first bytes are not the magic)",
            ));
        }
        if file.len() < HEADER_LEN {
            return Err(invalid(format!(
                "truncated: {} bytes, shorter than the {HEADER_LEN}-byte header",
                file.len()
            )));
        }
        let version = u16::from_le_bytes([file[8], file[9]]);
        if version != VERSION {
            return Err(invalid(format!(
                "format version {version}, and this larder reads only version {VERSION}"
            )));
        }
        let flags = u16::from_le_bytes([file[10], file[11]]);
        if flags != 0 {
            return Err(invalid(format!("unknown flags {flags:#06x}")));
        }
        if xxh3_64(&file[..HEADER_CHECKED]) != u64_at(file, HEADER_CHECKED) {
            return Err(invalid("corrupt header (checksum mismatch)"));
        }
        let header = Header {
            saved_at: Duration::from_nanos(u64_at(file, 12)),
            entries: u64_at(file, 20),
            body_len: u64_at(file, 28),
            body_checksum: u64_at(file, 36),
        };
        let body_len = (file.len() - HEADER_LEN) as u64;
        if body_len < header.body_len {
            return Err(invalid(format!(
                "truncated: the body has {body_len} of its {} bytes",
                header.body_len
            )));
        }
        if body_len > header.body_len {
            return Err(invalid(format!(
                "{} bytes after the end of the body",
                body_len - header.body_len
            )));
        }
        Ok(header)
    }
}

/// Appends one record to `buf`.
pub(crate) fn encode_record<K: Serialize, V: Serialize>(
    buf: &mut Vec<u8>,
    key: &K,
    value: &V,
    remaining: Option<Nanos>,
) -> Result<(), Error> {
    let taken = std::mem::take(buf);
    *buf = postcard::to_extend(&(key, value, remaining), taken).map_err(|e| {
        Error::with_source(
            ErrorKind::Codec,
            "a key or value cannot be encoded for a snapshot",
            e,
        )
    })?;
    Ok(())
}

/// Every record of a whole snapshot `file`, after every check of the module docs.
pub(crate) fn decode<K, V>(file: &[u8]) -> Result<(Header, Vec<Record<K, V>>), Error>
where
    K: DeserializeOwned,
    V: DeserializeOwned,
{
    let header = Header::parse(file)?;
    let body = &file[HEADER_LEN..];
    if xxh3_64(body) != header.body_checksum {
        return Err(invalid("corrupt body (checksum mismatch)"));
    }
    // Every record takes at least a byte (its TTL's tag), so the body bounds the count.
    let capacity = usize::try_from(header.entries)
        .unwrap_or(usize::MAX)
        .min(body.len());
    let mut records = Vec::with_capacity(capacity);
    let mut rest = body;
    for i in 0..header.entries {
        let (record, after) = postcard::take_from_bytes::<Record<K, V>>(rest).map_err(|e| {
            Error::with_source(
                ErrorKind::Codec,
                format!(
                    "snapshot file: record {i} of {} does not decode as this cache's key and \
                     value types",
                    header.entries
                ),
                e,
            )
        })?;
        records.push(record);
        rest = after;
    }
    if !rest.is_empty() {
        return Err(invalid(format!(
            "{} bytes after its {} records (written for other types?)",
            rest.len(),
            header.entries
        )));
    }
    Ok((header, records))
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// A file that is not a snapshot this larder can read.
fn invalid(what: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Codec, format!("snapshot file: {what}"))
}
