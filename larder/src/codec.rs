//! Codecs: serde values to bytes and back, in a versioned envelope, for the stores.
//!
//! [`Codec`] is the trait; [`Postcard`] the default format, `Json` and `MessagePack` behind
//! their features; lz4 compression behind `lz4`.

#[cfg(feature = "json")]
pub use crate::store::Json;
#[cfg(feature = "msgpack")]
pub use crate::store::MessagePack;
pub use crate::store::{Codec, Postcard};
