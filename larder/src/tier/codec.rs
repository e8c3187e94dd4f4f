//! A tier's value codec: the user's [`Codec`] behind two boxed functions, so that
//! `Tiered<K, V>` does not name it.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;
use crate::codec::Codec;

type Encode<V> = Box<dyn Fn(&V) -> Result<Vec<u8>, Error> + Send + Sync>;
type Decode<V> = Box<dyn Fn(&[u8]) -> Result<V, Error> + Send + Sync>;

pub(crate) struct ValueCodec<V> {
    encode: Encode<V>,
    decode: Decode<V>,
}

impl<V> ValueCodec<V>
where
    V: Serialize + DeserializeOwned + 'static,
{
    /// Values packed by `codec`, in its versioned envelope.
    pub(crate) fn new(codec: impl Codec) -> Self {
        let codec = std::sync::Arc::new(codec);
        let decoder = codec.clone();
        Self {
            encode: Box::new(move |value| codec.pack(value)),
            decode: Box::new(move |bytes| decoder.unpack(bytes)),
        }
    }
}

impl<V> ValueCodec<V> {
    pub(crate) fn encode(&self, value: &V) -> Result<Vec<u8>, Error> {
        (self.encode)(value)
    }

    pub(crate) fn decode(&self, bytes: &[u8]) -> Result<V, Error> {
        (self.decode)(bytes)
    }
}
