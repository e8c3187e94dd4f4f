//! Codecs: values as bytes for a [`Store`](crate::store::Store), inside a small versioned
//! envelope so that a reader tells a foreign or old value from a corrupt one.
//!
//! The envelope is 13 bytes before the encoded value:
//!
//! | bytes | field |
//! |---|---|
//! | 0..2 | magic `b"LD"` |
//! | 2 | envelope version (1) |
//! | 3 | codec id (1 postcard, 2 JSON, 3 MessagePack) |
//! | 4 | flags (bit 0: lz4-compressed) |
//! | 5..13 | when it was written, milliseconds since the Unix epoch, little-endian |

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, ErrorKind};

const MAGIC: &[u8; 2] = b"LD";
const VERSION: u8 = 1;
const HEADER: usize = 13;
const COMPRESSED: u8 = 1;

/// Turns values into bytes and back with serde. Each codec has a one-byte id, written in the
/// envelope: a value written by another codec is reported, not misread.
///
/// # Examples
///
/// ```
/// use larder::codec::{Codec, Postcard};
///
/// let bytes = Postcard.pack(&("ada", 36u8)).unwrap();
/// let back: (String, u8) = Postcard.unpack(&bytes).unwrap();
/// assert_eq!(back, ("ada".to_string(), 36));
/// ```
pub trait Codec: Send + Sync + 'static {
    /// Written in the envelope; unique per codec.
    const ID: u8;
    /// A name for error messages.
    const NAME: &'static str;

    /// The bare encoding of `value`, without an envelope.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Codec`] when `value` cannot be encoded.
    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, Error>;

    /// The value of a bare encoding.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Codec`] when `bytes` are not a `T` in this encoding.
    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, Error>;

    /// `value` in an envelope, compressed with lz4 above the threshold under the feature
    /// `lz4`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Codec`] when `value` cannot be encoded.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::codec::{Codec, Postcard};
    /// let bytes = Postcard.pack(&42u32).unwrap();
    /// assert_eq!(&bytes[..2], b"LD");
    /// ```
    fn pack<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, Error> {
        let body = self.encode(value)?;
        let (flags, body) = compress(body);
        let written = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let mut out = Vec::with_capacity(HEADER + body.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&[VERSION, Self::ID, flags]);
        out.extend_from_slice(&written.to_le_bytes());
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// The value in an envelope written by [`pack`](Self::pack).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Codec`], saying which: foreign bytes that are not a larder value, a value
    /// written by a newer larder or with another codec, or a corrupt one. Never a panic.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::ErrorKind;
    /// use larder::codec::{Codec, Postcard};
    /// let err = Postcard.unpack::<u32>(b"plain text").unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Codec);
    /// ```
    fn unpack<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, Error> {
        let Some((header, body)) = bytes.split_at_checked(HEADER) else {
            return Err(codec_error(
                "not a larder value (too short for its envelope)",
            ));
        };
        if &header[..2] != MAGIC {
            return Err(codec_error(
                "not a larder value (no envelope: written by something else)",
            ));
        }
        if header[2] > VERSION {
            return Err(codec_error(format!(
                "written by a newer larder (envelope version {})",
                header[2]
            )));
        }
        if header[3] != Self::ID {
            return Err(codec_error(format!(
                "written with codec #{}, read with {}",
                header[3],
                Self::NAME
            )));
        }
        let body = decompress(header[4], body)?;
        self.decode(&body)
    }
}

fn codec_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Codec, message)
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

fn decompress(flags: u8, body: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, Error> {
    if flags & COMPRESSED == 0 {
        return Ok(std::borrow::Cow::Borrowed(body));
    }
    #[cfg(feature = "lz4")]
    {
        lz4_flex::decompress_size_prepended(body)
            .map(std::borrow::Cow::Owned)
            .map_err(|_| codec_error("corrupt: its lz4 compression does not decode"))
    }
    #[cfg(not(feature = "lz4"))]
    {
        Err(codec_error(
            "compressed with lz4: enable larder's `lz4` feature to read it",
        ))
    }
}

/// [postcard](https://docs.rs/postcard): compact and fast; the default codec.
///
/// # Examples
///
/// ```
/// use larder::codec::{Codec, Postcard};
/// assert_eq!(Postcard.decode::<u8>(&Postcard.encode(&7u8).unwrap()).unwrap(), 7);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Postcard;

impl Codec for Postcard {
    const ID: u8 = 1;
    const NAME: &'static str = "postcard";

    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, Error> {
        postcard::to_stdvec(value)
            .map_err(|e| Error::with_source(ErrorKind::Codec, "postcard cannot encode it", e))
    }

    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, Error> {
        postcard::from_bytes(bytes).map_err(|e| {
            Error::with_source(
                ErrorKind::Codec,
                "corrupt: not a postcard value of this type",
                e,
            )
        })
    }
}

/// JSON, through serde_json: readable by other languages; feature `json`.
///
/// # Examples
///
/// ```
/// use larder::codec::{Codec, Json};
/// assert_eq!(Json.encode(&[1, 2]).unwrap(), b"[1,2]");
/// ```
#[cfg(feature = "json")]
#[cfg_attr(docsrs, doc(cfg(feature = "json")))]
#[derive(Debug, Clone, Copy, Default)]
pub struct Json;

#[cfg(feature = "json")]
impl Codec for Json {
    const ID: u8 = 2;
    const NAME: &'static str = "JSON";

    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, Error> {
        serde_json::to_vec(value)
            .map_err(|e| Error::with_source(ErrorKind::Codec, "JSON cannot encode it", e))
    }

    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, Error> {
        serde_json::from_slice(bytes)
            .map_err(|e| Error::with_source(ErrorKind::Codec, "corrupt: not JSON of this type", e))
    }
}

/// MessagePack, through rmp-serde: compact and cross-language; feature `msgpack`.
///
/// # Examples
///
/// ```
/// use larder::codec::{Codec, MessagePack};
/// let back: String = MessagePack.decode(&MessagePack.encode("hi").unwrap()).unwrap();
/// assert_eq!(back, "hi");
/// ```
#[cfg(feature = "msgpack")]
#[cfg_attr(docsrs, doc(cfg(feature = "msgpack")))]
#[derive(Debug, Clone, Copy, Default)]
pub struct MessagePack;

#[cfg(feature = "msgpack")]
impl Codec for MessagePack {
    const ID: u8 = 3;
    const NAME: &'static str = "MessagePack";

    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, Error> {
        rmp_serde::to_vec_named(value)
            .map_err(|e| Error::with_source(ErrorKind::Codec, "MessagePack cannot encode it", e))
    }

    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, Error> {
        rmp_serde::from_slice(bytes).map_err(|e| {
            Error::with_source(ErrorKind::Codec, "corrupt: not MessagePack of this type", e)
        })
    }
}
