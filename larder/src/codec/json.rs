//! [`Json`]: feature `json`.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::traits::Codec;
use crate::error::{Error, ErrorKind};

/// JSON, through serde_json: readable by other languages; feature `json`.
///
/// # Examples
///
/// ```
/// use larder::codec::{Codec, Json};
/// assert_eq!(Json.encode(&[1, 2]).unwrap(), b"[1,2]");
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "json")))]
#[derive(Debug, Clone, Copy, Default)]
pub struct Json;

impl Codec for Json {
    const ID: u8 = 2;
    const NAME: &'static str = "JSON";

    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, Error> {
        serde_json::to_vec(value)
            .map_err(|e| Error::with_source(ErrorKind::Codec, "JSON cannot encode it", e))
    }

    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, Error> {
        // serde_json refuses anything but whitespace after the value.
        serde_json::from_slice(bytes)
            .map_err(|e| Error::with_source(ErrorKind::Codec, "corrupt: not JSON of this type", e))
    }
}
