//! The [`Codec`] trait: a bare encoding, and the envelope around it.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::envelope::{Envelope, open, wrap};
use crate::error::Error;

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
    /// [`ErrorKind::Codec`](crate::ErrorKind::Codec) when `value` cannot be encoded.
    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, Error>;

    /// The value of a bare encoding, which must be all of `bytes`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Codec`](crate::ErrorKind::Codec) when `bytes` are not a `T` in this
    /// encoding, or bytes are left over after it.
    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, Error>;

    /// `value` in an envelope with no schema tag, compressed with lz4 above the threshold
    /// (feature `lz4`): [`pack_with`](Self::pack_with) and [`Envelope::new`].
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Codec`](crate::ErrorKind::Codec) when `value` cannot be encoded.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::codec::{Codec, Postcard};
    /// let bytes = Postcard.pack(&42u32).unwrap();
    /// assert_eq!(&bytes[..2], b"LD");
    /// ```
    fn pack<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, Error> {
        self.pack_with(value, &Envelope::new())
    }

    /// `value` in an envelope as `envelope` says (its schema tag).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Codec`](crate::ErrorKind::Codec) when `value` cannot be encoded.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::codec::{Codec, Envelope, Postcard};
    /// let bytes = Postcard.pack_with(&42u32, &Envelope::new().schema(1)).unwrap();
    /// assert_eq!(&bytes[..2], b"LD");
    /// ```
    fn pack_with<T: Serialize + ?Sized>(
        &self,
        value: &T,
        envelope: &Envelope,
    ) -> Result<Vec<u8>, Error> {
        Ok(wrap(Self::ID, self.encode(value)?, envelope))
    }

    /// The value in an envelope written by [`pack`](Self::pack) (untagged):
    /// [`unpack_with`](Self::unpack_with) and [`Envelope::new`].
    ///
    /// # Errors
    ///
    /// As [`unpack_with`](Self::unpack_with).
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
        self.unpack_with(bytes, &Envelope::new())
    }

    /// The value in an envelope, if `envelope` accepts it: the same schema tag (or none on
    /// both sides), and a compressed body within its size limit.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Codec`](crate::ErrorKind::Codec), saying which: not a larder value
    /// (foreign bytes), written by a newer larder, written with another codec or for another
    /// schema, a compressed body claiming too much, or corrupt (which includes a value of
    /// another type, or bytes left after it). Never a panic.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::codec::{Codec, Envelope, Postcard};
    /// let v2 = Envelope::new().schema(2);
    /// let bytes = Postcard.pack_with(&7u8, &v2).unwrap();
    /// assert_eq!(Postcard.unpack_with::<u8>(&bytes, &v2).unwrap(), 7);
    /// ```
    fn unpack_with<T: DeserializeOwned>(
        &self,
        bytes: &[u8],
        envelope: &Envelope,
    ) -> Result<T, Error> {
        let body = open(Self::ID, Self::NAME, bytes, envelope)?;
        self.decode(&body)
    }
}
