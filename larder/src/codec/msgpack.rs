//! [`MessagePack`]: feature `msgpack`.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::envelope::leftover;
use super::traits::Codec;
use crate::error::{Error, ErrorKind};

/// MessagePack, through rmp-serde: compact and cross-language; feature `msgpack`.
///
/// # Examples
///
/// ```
/// use larder::codec::{Codec, MessagePack};
/// let back: String = MessagePack.decode(&MessagePack.encode("hi").unwrap()).unwrap();
/// assert_eq!(back, "hi");
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "msgpack")))]
#[derive(Debug, Clone, Copy, Default)]
pub struct MessagePack;

impl Codec for MessagePack {
    const ID: u8 = 3;
    const NAME: &'static str = "MessagePack";

    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, Error> {
        rmp_serde::to_vec_named(value)
            .map_err(|e| Error::with_source(ErrorKind::Codec, "MessagePack cannot encode it", e))
    }

    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, Error> {
        // rmp-serde stops where the value ends: read through a slice that shows the rest.
        let mut rest = bytes;
        let value = T::deserialize(&mut rmp_serde::Deserializer::new(&mut rest)).map_err(|e| {
            Error::with_source(ErrorKind::Codec, "corrupt: not MessagePack of this type", e)
        })?;
        if !rest.is_empty() {
            return Err(leftover(Self::NAME, rest.len()));
        }
        Ok(value)
    }
}
