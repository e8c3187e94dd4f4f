//! One store type over every backend, and the URL that picks it: [`AnyStore`] and
//! [`from_url`].
//!
//! `url.rs` parses a store URL (no I/O), `open.rs` connects the store it names, `store.rs` is
//! the enum, `ops.rs` its `Store` implementation, which hands every call to the store inside.

mod open;
mod ops;
mod store;
mod url;

pub use open::from_url;
pub use store::AnyStore;
