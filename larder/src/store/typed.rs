//! [`TypedStore`]: values instead of bytes over any [`Store`], aiocache style.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Store;
use crate::codec::{Codec, Envelope, Postcard};
use crate::{Error, Ttl};

/// A [`Store`] that keeps serde values, encoded by a [`Codec`], postcard by default, in a
/// versioned envelope: `set("user:42", &user, ttl)`, `get::<User>("user:42")`.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
/// use larder::Ttl;
/// use larder::store::{MemoryStore, TypedStore};
///
/// let users = TypedStore::new(MemoryStore::new("users"));
/// users.set("42", &("ada", 36u8), Ttl::Never).await?;
/// let user: Option<(String, u8)> = users.get("42").await?;
/// assert_eq!(user, Some(("ada".to_string(), 36)));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct TypedStore<S, C = Postcard> {
    store: S,
    codec: C,
    envelope: Envelope,
}

impl<S: Store> TypedStore<S> {
    /// `store` with the postcard codec.
    ///
    /// # Examples
    ///
    /// ```
    /// let typed = larder::store::TypedStore::new(larder::store::MemoryStore::new("ns"));
    /// # drop(typed);
    /// ```
    pub fn new(store: S) -> Self {
        Self::with_codec(store, Postcard)
    }
}

impl<S: Store, C: Codec> TypedStore<S, C> {
    /// `store` with another codec.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::codec::Postcard;
    /// use larder::store::{MemoryStore, TypedStore};
    /// let typed = TypedStore::with_codec(MemoryStore::new("ns"), Postcard);
    /// # drop(typed);
    /// ```
    pub fn with_codec(store: S, codec: C) -> Self {
        Self {
            store,
            codec,
            envelope: Envelope::new(),
        }
    }

    /// The same store writing and reading values in `envelope`: a schema tag for the type
    /// it keeps (a value written for another schema, or before tags, reads as a
    /// [`Codec`](crate::ErrorKind::Codec) error), a cap on decompressed sizes.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// use larder::codec::Envelope;
    /// use larder::store::{MemoryStore, TypedStore};
    /// use larder::{ErrorKind, Ttl};
    ///
    /// let old = TypedStore::new(MemoryStore::new("users")).with_envelope(Envelope::new().schema(1));
    /// old.set("42", &(42u64, "ada", true), Ttl::Never).await?;
    /// let new = TypedStore::with_codec(old.store().clone(), larder::codec::Postcard)
    ///     .with_envelope(Envelope::new().schema(2));
    /// let err = new.get::<(u64, String)>("42").await.unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Codec); // an old shape: treat as a miss
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn with_envelope(mut self, envelope: Envelope) -> Self {
        self.envelope = envelope;
        self
    }

    /// The value of `key`, decoded.
    ///
    /// # Errors
    ///
    /// The store's errors, and [`ErrorKind::Codec`](crate::ErrorKind::Codec) for bytes that
    /// are not a `V` written by this codec for this store's schema tag: foreign bytes, a value
    /// from a newer larder or of another schema, or a corrupt one.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// let typed = larder::store::TypedStore::new(larder::store::MemoryStore::new("ns"));
    /// assert_eq!(typed.get::<u32>("missing").await?, None);
    /// # Ok(()) }
    /// ```
    pub async fn get<V: DeserializeOwned>(&self, key: &str) -> Result<Option<V>, Error> {
        match self.store.get(key).await? {
            Some(bytes) => self.codec.unpack_with(&bytes, &self.envelope).map(Some),
            None => Ok(None),
        }
    }

    /// Stores `value` for `ttl`, encoded.
    ///
    /// # Errors
    ///
    /// The store's errors, and [`ErrorKind::Codec`](crate::ErrorKind::Codec) when `value`
    /// cannot be encoded.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// use std::time::Duration;
    /// let typed = larder::store::TypedStore::new(larder::store::MemoryStore::new("ns"));
    /// typed.set("k", &vec![1, 2, 3], Duration::from_secs(60).into()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn set<V: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &V,
        ttl: Ttl,
    ) -> Result<(), Error> {
        let bytes = self.codec.pack_with(value, &self.envelope)?;
        self.store.set(key, &bytes, ttl).await
    }

    /// The byte-level store underneath, for `delete`, `exists`, `expire`, `clear`…
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
    /// use larder::store::Store;
    /// let typed = larder::store::TypedStore::new(larder::store::MemoryStore::new("ns"));
    /// assert!(!typed.store().delete("k").await?);
    /// # Ok(()) }
    /// ```
    pub fn store(&self) -> &S {
        &self.store
    }
}
