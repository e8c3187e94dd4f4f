//! What a batch function may return: a map by key, or values aligned with the keys.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};

use crate::error::{Error, ErrorKind};

/// The result of a batch function, turned into one optional value per requested key.
///
/// Implemented for `HashMap<K, V>` and for `Vec<V>`. In a map, a key missing from the map has
/// no value. A `Vec` holds one value per key, in the order of the keys; a `Vec` of another
/// length is an error of kind [`BatchShape`](ErrorKind::BatchShape) for every waiter, never a
/// silent `None`.
///
/// # Examples
///
/// ```
/// use larder::batch::BatchResult;
/// use std::collections::HashMap;
///
/// let found = HashMap::from([(1, "one")]);
/// assert_eq!(found.into_aligned(&[1, 2]).unwrap(), [Some("one"), None]);
///
/// let aligned = vec!["one", "two"];
/// assert_eq!(aligned.into_aligned(&[1, 2]).unwrap(), [Some("one"), Some("two")]);
/// assert!(vec!["one"].into_aligned(&[1, 2]).is_err());
/// ```
pub trait BatchResult<K, V> {
    /// One entry per key of `keys`, in order: the key's value, or `None` if it has none.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::BatchShape`] when the result cannot be matched with `keys`.
    fn into_aligned(self, keys: &[K]) -> Result<Vec<Option<V>>, Error>;
}

impl<K, V, H> BatchResult<K, V> for HashMap<K, V, H>
where
    K: Hash + Eq,
    H: BuildHasher,
{
    fn into_aligned(mut self, keys: &[K]) -> Result<Vec<Option<V>>, Error> {
        Ok(keys.iter().map(|k| self.remove(k)).collect())
    }
}

impl<K, V> BatchResult<K, V> for Vec<V> {
    fn into_aligned(self, keys: &[K]) -> Result<Vec<Option<V>>, Error> {
        if self.len() != keys.len() {
            return Err(Error::new(
                ErrorKind::BatchShape,
                format!(
                    "the batch function returned {} values for {} keys",
                    self.len(),
                    keys.len()
                ),
            ));
        }
        Ok(self.into_iter().map(Some).collect())
    }
}
