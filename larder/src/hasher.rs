//! The default hasher.

use std::hash::BuildHasher;

/// The cache's default hasher: fast, and seeded randomly per cache.
///
/// It is hashbrown's default, foldhash, wrapped so that no dependency's type is part of
/// larder's API. It resists accidental collisions, not a determined attacker: if keys come
/// from untrusted input and you fear hash flooding, pass
/// `std::collections::hash_map::RandomState` to
/// [`CacheBuilder::hasher`](crate::CacheBuilder::hasher).
///
/// # Examples
///
/// ```
/// use larder::{Cache, DefaultHashBuilder};
/// let cache: Cache<u64, u64, DefaultHashBuilder> = Cache::builder().max_capacity(8).build();
/// cache.insert(1, 1);
/// # assert_eq!(cache.get(&1), Some(1));
/// ```
#[derive(Clone, Default)]
pub struct DefaultHashBuilder(hashbrown::DefaultHashBuilder);

impl BuildHasher for DefaultHashBuilder {
    type Hasher = <hashbrown::DefaultHashBuilder as BuildHasher>::Hasher;

    #[inline]
    fn build_hasher(&self) -> Self::Hasher {
        self.0.build_hasher()
    }
}

impl std::fmt::Debug for DefaultHashBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DefaultHashBuilder")
    }
}
