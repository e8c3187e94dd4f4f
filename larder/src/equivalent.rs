//! [`Equivalent`]: how a lookup compares a borrowed form of a key with the stored keys.

use std::borrow::Borrow;

/// A type that can stand for a key `K` in a lookup, compared without building a `K`.
///
/// Every lookup of [`Cache`](crate::Cache) (`get`, `peek`, `contains_key`, `remove`, `ttl`,
/// `expire`, `get_with_by_ref`) takes `&Q` where `Q: Hash + Equivalent<K>`. A blanket impl
/// covers every `Q` that `K` borrows as (`&str` for `String`, `[u8]` for `Vec<u8>`, `K`
/// itself), so ordinary lookups need nothing more. For a composite key, such as a
/// `(String, String)`, use [`KeyRef`] (pairs and triples), or write a borrowed twin and
/// implement `Equivalent` for it: the lookup then allocates nothing. This is the same contract as hashbrown's and indexmap's trait of this
/// name, defined here so that no dependency's type is in larder's API.
///
/// # Contract
///
/// `q.equivalent(k)` must agree with `K`'s `Eq`, and a `Q` equivalent to a `K` must hash to
/// the same value (feed the hasher the same calls): a lookup finds the entry by `Q`'s hash.
/// A tuple struct deriving `Hash` hashes as the tuple of its fields, and `&str` as `String`.
///
/// # Examples
///
/// ```
/// use larder::{Cache, Equivalent};
///
/// /// `(tenant, user)`, borrowed.
/// #[derive(Hash)]
/// struct UserRef<'a>(&'a str, &'a str);
///
/// impl Equivalent<(String, String)> for UserRef<'_> {
///     fn equivalent(&self, key: &(String, String)) -> bool {
///         self.0 == key.0 && self.1 == key.1
///     }
/// }
///
/// let cache = Cache::new(10);
/// cache.insert(("acme".to_string(), "ada".to_string()), 7);
/// assert_eq!(cache.get(&UserRef("acme", "ada")), Some(7)); // no String built
/// assert!(!cache.contains_key(&UserRef("acme", "bob")));
/// ```
pub trait Equivalent<K: ?Sized> {
    /// Whether `self` stands for `key`.
    fn equivalent(&self, key: &K) -> bool;
}

impl<Q, K> Equivalent<K> for Q
where
    Q: Eq + ?Sized,
    K: Borrow<Q> + ?Sized,
{
    #[inline]
    fn equivalent(&self, key: &K) -> bool {
        *self == *key.borrow()
    }
}

/// A borrowed form of a tuple key, ready for lookups: `KeyRef((a, b))` stands for any
/// `(KA, KB)` where `KA: Borrow<A>` and `KB: Borrow<B>`, so a `(String, String)` key is
/// probed with `KeyRef(("acme", "ada"))` without building a `String`.
///
/// A plain `(&str, &str)` cannot be that `Q` itself: the blanket impl of [`Equivalent`] needs
/// `(String, String): Borrow<(&str, &str)>`, which cannot exist, and no other impl may overlap
/// it. `KeyRef` hashes exactly as the owned tuple does (`Borrow` promises equal hashes).
/// Implemented for pairs and triples.
///
/// # Examples
///
/// ```
/// use larder::{Cache, KeyRef};
///
/// let cache = Cache::new(10);
/// cache.insert(("acme".to_string(), "ada".to_string()), 7);
/// assert_eq!(cache.get(&KeyRef(("acme", "ada"))), Some(7));
/// let ids: Cache<(String, u32, Vec<u8>), u8> = Cache::new(10);
/// ids.insert(("a".into(), 1, vec![2]), 3);
/// assert_eq!(ids.remove(&KeyRef(("a", &1, &[2u8][..]))), Some(3));
/// ```
#[derive(Debug, Clone, Copy, Hash)]
pub struct KeyRef<T>(pub T);

impl<A, B, KA, KB> Equivalent<(KA, KB)> for KeyRef<(&A, &B)>
where
    A: Eq + ?Sized,
    B: Eq + ?Sized,
    KA: Borrow<A>,
    KB: Borrow<B>,
{
    #[inline]
    fn equivalent(&self, key: &(KA, KB)) -> bool {
        *self.0.0 == *key.0.borrow() && *self.0.1 == *key.1.borrow()
    }
}

impl<A, B, C, KA, KB, KC> Equivalent<(KA, KB, KC)> for KeyRef<(&A, &B, &C)>
where
    A: Eq + ?Sized,
    B: Eq + ?Sized,
    C: Eq + ?Sized,
    KA: Borrow<A>,
    KB: Borrow<B>,
    KC: Borrow<C>,
{
    #[inline]
    fn equivalent(&self, key: &(KA, KB, KC)) -> bool {
        *self.0.0 == *key.0.borrow() && *self.0.1 == *key.1.borrow() && *self.0.2 == *key.2.borrow()
    }
}
