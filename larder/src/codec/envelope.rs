//! The envelope: its settings ([`Envelope`]), writing and reading its header, and the lz4
//! compression of large bodies. The layout is in the module docs.

use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, ErrorKind};

const MAGIC: &[u8; 2] = b"LD";
/// The version written.
const VERSION: u8 = 2;
/// The first version's header: no schema tag.
const HEADER_V1: usize = 13;
const HEADER_V2: usize = 17;
/// Flag bit 0: the body is lz4-compressed, its decompressed length in front.
const COMPRESSED: u8 = 1;
/// Flag bit 1 (version 2): the header carries a schema tag.
const TAGGED: u8 = 2;
/// lz4 turns one byte into at most 255: a longer claim is a lie.
#[cfg(feature = "lz4")]
const MAX_LZ4_RATIO: usize = 255;
/// The default cap on a compressed value's decompressed length.
const DEFAULT_MAX_DECOMPRESSED: usize = 64 << 20;

/// How [`Codec::pack_with`](super::Codec::pack_with) wraps a value and what
/// [`Codec::unpack_with`](super::Codec::unpack_with) accepts: an optional schema tag, and the
/// largest value a compressed body may decompress to. [`Envelope::new`] (no tag, 64 MiB) is
/// what [`pack`](super::Codec::pack) and [`unpack`](super::Codec::unpack) use.
///
/// # Examples
///
/// ```
/// use larder::ErrorKind;
/// use larder::codec::{Codec, Envelope, Postcard};
///
/// let v1 = Envelope::new().schema(1);
/// let bytes = Postcard.pack_with(&(7u64, "ada"), &v1).unwrap();
/// let err = Postcard.unpack_with::<(u64, String)>(&bytes, &Envelope::new().schema(2)).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Codec); // written for another schema
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Envelope {
    schema: Option<u32>,
    max_decompressed_len: usize,
}

impl Default for Envelope {
    fn default() -> Self {
        Self::new()
    }
}

impl Envelope {
    /// No schema tag; compressed values decompress to at most 64 MiB.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(larder::codec::Envelope::new(), Default::default());
    /// ```
    pub const fn new() -> Self {
        Self {
            schema: None,
            max_decompressed_len: DEFAULT_MAX_DECOMPRESSED,
        }
    }

    /// Tags the values written with `tag`, and reads only values with that tag: give each
    /// stored type a number, and change it when the type changes. A value written with
    /// another tag, or none, is a [`Codec`](crate::ErrorKind::Codec) error.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::codec::{Codec, Envelope, Postcard};
    /// let users = Envelope::new().schema(3);
    /// let bytes = Postcard.pack_with(&42u32, &users).unwrap();
    /// assert_eq!(Postcard.unpack_with::<u32>(&bytes, &users).unwrap(), 42);
    /// assert!(Postcard.unpack::<u32>(&bytes).is_err()); // read without the tag
    /// ```
    #[must_use]
    pub const fn schema(mut self, tag: u32) -> Self {
        self.schema = Some(tag);
        self
    }

    /// The largest value a compressed body may decompress to (default 64 MiB). A body
    /// claiming more, or more than 255 times its own length, is a
    /// [`Codec`](crate::ErrorKind::Codec) error, refused before anything is allocated.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::codec::{Codec, Envelope, Postcard};
    /// let small = Envelope::new().max_decompressed_len(1 << 20);
    /// assert_eq!(Postcard.unpack_with::<u8>(&Postcard.pack(&1u8).unwrap(), &small).unwrap(), 1);
    /// ```
    #[must_use]
    pub const fn max_decompressed_len(mut self, bytes: usize) -> Self {
        self.max_decompressed_len = bytes;
        self
    }
}

/// `body` (a codec's encoding) in an envelope: compressed when large, tagged when asked.
pub(super) fn wrap(codec: u8, body: Vec<u8>, envelope: &Envelope) -> Vec<u8> {
    let (mut flags, body) = compress(body);
    if envelope.schema.is_some() {
        flags |= TAGGED;
    }
    let written = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let mut out = Vec::with_capacity(HEADER_V2 + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[VERSION, codec, flags]);
    out.extend_from_slice(&written.to_le_bytes());
    out.extend_from_slice(&envelope.schema.unwrap_or(0).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// The body inside an envelope written by `codec` (`name` for errors), decompressed, once
/// the header says it is one `envelope` accepts.
pub(super) fn open<'a>(
    codec: u8,
    name: &str,
    bytes: &'a [u8],
    envelope: &Envelope,
) -> Result<Cow<'a, [u8]>, Error> {
    if bytes.len() < HEADER_V1 {
        return Err(codec_error(
            "not a larder value (too short for its envelope)",
        ));
    }
    if &bytes[..2] != MAGIC {
        return Err(codec_error(
            "not a larder value (no envelope: written by something else)",
        ));
    }
    let (header_len, known_flags) = match bytes[2] {
        1 => (HEADER_V1, COMPRESSED),
        2 => (HEADER_V2, COMPRESSED | TAGGED),
        0 => return Err(codec_error("corrupt: envelope version 0")),
        v => {
            return Err(codec_error(format!(
                "written by a newer larder (envelope version {v})"
            )));
        }
    };
    let Some((header, body)) = bytes.split_at_checked(header_len) else {
        return Err(codec_error(
            "not a larder value (too short for its envelope)",
        ));
    };
    if header[3] != codec {
        return Err(codec_error(format!(
            "written with codec #{}, read with {name}",
            header[3]
        )));
    }
    let flags = header[4];
    if flags & !known_flags != 0 {
        return Err(codec_error(format!(
            "written by a newer larder (unknown flags {flags:#04x})"
        )));
    }
    let schema = (flags & TAGGED != 0).then(|| {
        let mut tag = [0; 4];
        tag.copy_from_slice(&header[13..17]);
        u32::from_le_bytes(tag)
    });
    if schema != envelope.schema {
        return Err(codec_error(format!(
            "written for schema {}, read for schema {}",
            describe(schema),
            describe(envelope.schema)
        )));
    }
    decompress(flags, body, envelope.max_decompressed_len)
}

fn describe(schema: Option<u32>) -> String {
    schema.map_or_else(|| "(none)".to_string(), |tag| format!("#{tag}"))
}

pub(super) fn codec_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Codec, message)
}

/// The error for bytes left after a decoded value: another type's value, or a changed type's.
pub(super) fn leftover(name: &str, left: usize) -> Error {
    codec_error(format!(
        "corrupt or another type: {left} bytes left after the {name} value"
    ))
}

#[cfg(feature = "lz4")]
fn compress(body: Vec<u8>) -> (u8, Vec<u8>) {
    /// Values smaller than this are stored as they are: compressing them saves little.
    const COMPRESS_ABOVE: usize = 1024;
    if body.len() > COMPRESS_ABOVE {
        (COMPRESSED, lz4_flex::compress_prepend_size(&body))
    } else {
        (0, body)
    }
}

#[cfg(not(feature = "lz4"))]
fn compress(body: Vec<u8>) -> (u8, Vec<u8>) {
    (0, body)
}

fn decompress(flags: u8, body: &[u8], max: usize) -> Result<Cow<'_, [u8]>, Error> {
    if flags & COMPRESSED == 0 {
        return Ok(Cow::Borrowed(body));
    }
    #[cfg(feature = "lz4")]
    {
        let Some((claimed, compressed)) = body.split_first_chunk::<4>() else {
            return Err(codec_error("corrupt: too short for its lz4 length"));
        };
        // The length is the writer's word: checked before it sizes an allocation.
        let claimed = usize::try_from(u32::from_le_bytes(*claimed)).unwrap_or(usize::MAX);
        let limit = max.min(compressed.len().saturating_mul(MAX_LZ4_RATIO));
        if claimed > limit {
            return Err(codec_error(format!(
                "corrupt or too large: {} compressed bytes claim {claimed} (at most {limit} accepted)",
                compressed.len()
            )));
        }
        match lz4_flex::block::decompress(compressed, claimed) {
            Ok(out) if out.len() == claimed => Ok(Cow::Owned(out)),
            _ => Err(codec_error("corrupt: its lz4 compression does not decode")),
        }
    }
    #[cfg(not(feature = "lz4"))]
    {
        let _ = max;
        Err(codec_error(
            "compressed with lz4: enable larder's `lz4` feature to read it",
        ))
    }
}
