//! [`Postcard`], the default codec.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::envelope::leftover;
use super::traits::Codec;
use crate::error::{Error, ErrorKind};

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
        ::postcard::to_stdvec(value)
            .map_err(|e| Error::with_source(ErrorKind::Codec, "postcard cannot encode it", e))
    }

    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, Error> {
        // postcard stops where the value ends: what follows would go unnoticed (a struct
        // that lost a field reads the old one's prefix).
        let (value, rest) = ::postcard::take_from_bytes(bytes).map_err(|e| {
            Error::with_source(
                ErrorKind::Codec,
                "corrupt: not a postcard value of this type",
                e,
            )
        })?;
        if !rest.is_empty() {
            return Err(leftover(Self::NAME, rest.len()));
        }
        Ok(value)
    }
}
