//! The bytes of a tier's entry in its store: a small header, then the codec's bytes.
//!
//! ```text
//! 0xA1                      format 1
//! u64 LE                    expires at, Unix milliseconds (u64::MAX: never)
//! u64 LE                    when its load started, Unix microseconds (the tag epoch)
//! u8                        number of tags, then each tag as u16 LE length + UTF-8
//! ...                       the value, as the tier's codec packed it
//! ```
//!
//! The expiry lets a reader fill its L1 for no longer than the entry has left in L2; the
//! epoch and tags let it tell an entry a tag invalidation has made stale.

use std::time::Duration;

use crate::{Error, ErrorKind, Tag};

const FORMAT: u8 = 0xA1;
const NEVER: u64 = u64::MAX;

/// An entry's header, as read from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    /// Unix time at which the entry expires; `None`: never.
    pub(crate) expires_at: Option<Duration>,
    pub(crate) epoch: u64,
    pub(crate) tags: Vec<Tag>,
}

/// Encodes an entry: `header` then `value` (the codec's bytes).
pub(crate) fn write(header: &Header, value: &[u8]) -> Result<Vec<u8>, Error> {
    if header.tags.len() > usize::from(u8::MAX) {
        return Err(Error::new(
            ErrorKind::Config,
            "an entry of a tiered cache carries at most 255 tags",
        ));
    }
    let tag_bytes: usize = header.tags.iter().map(|t| 2 + t.len()).sum();
    let mut out = Vec::with_capacity(18 + tag_bytes + value.len());
    out.push(FORMAT);
    let expires = header.expires_at.map_or(NEVER, |at| {
        u64::try_from(at.as_millis()).unwrap_or(NEVER - 1)
    });
    out.extend_from_slice(&expires.to_le_bytes());
    out.extend_from_slice(&header.epoch.to_le_bytes());
    out.push(header.tags.len() as u8); // checked above
    for tag in &header.tags {
        let len = u16::try_from(tag.len())
            .map_err(|_| Error::new(ErrorKind::Config, "a tag is longer than 65,535 bytes"))?;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(tag.as_bytes());
    }
    out.extend_from_slice(value);
    Ok(out)
}

/// Splits stored bytes into the header and the value's bytes; a typed error for bytes the
/// tier did not write (another program's value under the tier's keys, a truncated write).
pub(crate) fn read(bytes: &[u8]) -> Result<(Header, &[u8]), Error> {
    let mut at = Reader { bytes, at: 0 };
    if at.take(1)? != [FORMAT] {
        return Err(foreign("it does not start with the tier's format byte"));
    }
    let expires = at.u64()?;
    let epoch = at.u64()?;
    let count = at.take(1)?[0];
    let mut tags = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let len = u16::from_le_bytes(at.take(2)?.try_into().expect("2 bytes"));
        let tag = std::str::from_utf8(at.take(usize::from(len))?)
            .map_err(|_| foreign("a tag is not UTF-8"))?;
        tags.push(Tag::from(tag));
    }
    let header = Header {
        expires_at: (expires != NEVER).then(|| Duration::from_millis(expires)),
        epoch,
        tags,
    };
    Ok((header, &bytes[at.at..]))
}

fn foreign(why: &str) -> Error {
    Error::new(
        ErrorKind::Codec,
        format!("not an entry of a tiered cache: {why}"),
    )
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| foreign("it is truncated"))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn u64(&mut self) -> Result<u64, Error> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip() {
        let header = Header {
            expires_at: Some(Duration::from_millis(1_700_000_000_123)),
            epoch: 7,
            tags: vec!["user:1".into(), "".into()],
        };
        let bytes = write(&header, b"value").unwrap();
        let (read_header, value) = read(&bytes).unwrap();
        assert_eq!(read_header, header);
        assert_eq!(value, b"value");

        let never = Header {
            expires_at: None,
            epoch: 0,
            tags: vec![],
        };
        let bytes = write(&never, b"").unwrap();
        assert_eq!(read(&bytes).unwrap(), (never, &b""[..]));
    }

    #[test]
    fn foreign_and_truncated_bytes_are_codec_errors() {
        let header = Header {
            expires_at: None,
            epoch: 1,
            tags: vec!["t".into()],
        };
        let bytes = write(&header, b"v").unwrap();
        for cut in 0..bytes.len() - 1 {
            let err = read(&bytes[..cut]).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Codec, "cut at {cut}");
        }
        assert_eq!(read(b"hello").unwrap_err().kind(), ErrorKind::Codec);
        let too_many = Header {
            tags: vec![Tag::from("t"); 256],
            ..header
        };
        assert_eq!(write(&too_many, b"").unwrap_err().kind(), ErrorKind::Config);
    }
}
