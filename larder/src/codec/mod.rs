//! Codecs: values as bytes for a [`Store`](crate::store::Store), inside a small versioned envelope
//! so that a reader tells a foreign, old, corrupt or differently typed value from its own.
//!
//! The envelope is a header before the encoded value. Version 2 (written since the schema
//! tag) is 17 bytes; version 1 (13 bytes, no tag) is still read, as an untagged value:
//!
//! | bytes | field |
//! |---|---|
//! | 0..2 | magic `b"LD"` |
//! | 2 | envelope version (2; 1 is still read) |
//! | 3 | codec id (1 postcard, 2 JSON, 3 MessagePack) |
//! | 4 | flags (bit 0: lz4-compressed; bit 1, version 2 only: schema-tagged; other bits: refused) |
//! | 5..13 | when it was written, milliseconds since the Unix epoch, little-endian |
//! | 13..17 | version 2 only: the schema tag, little-endian (0 when untagged) |
//!
//! A compressed body starts with its decompressed length (4 bytes, little-endian). That
//! length is checked before anything is allocated: never more than
//! [`Envelope::max_decompressed_len`] (64 MiB by default), nor 255 times the compressed
//! length (lz4's best ratio).
//!
//! The schema tag ([`Envelope::schema`]) is yours: give each stored type a number and change
//! it when the type changes. A value is read only with the tag it was written with (an
//! untagged value only without one), so a value of an old shape is a
//! [`Codec`](crate::ErrorKind::Codec) error, which a cache in front of the store can treat as
//! a miss. Every codec also refuses bytes left over after the value.
//!
//! Files: `traits.rs` the [`Codec`] trait, `envelope.rs` the header and its settings,
//! `postcard.rs`, `json.rs`, `msgpack.rs` one codec each.

mod envelope;
#[cfg(feature = "json")]
mod json;
#[cfg(feature = "msgpack")]
mod msgpack;
mod postcard;
mod traits;

pub use envelope::Envelope;
#[cfg(feature = "json")]
pub use json::Json;
#[cfg(feature = "msgpack")]
pub use msgpack::MessagePack;
pub use postcard::Postcard;
pub use traits::Codec;
