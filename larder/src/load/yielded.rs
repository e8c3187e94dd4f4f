//! [`Yielded`]: what a loader's future yields, as the load protocol takes it.

use crate::Ttl;
use crate::tags::Tag;

/// A loaded value with its TTL and, for the loaders that have them, its tags.
pub(crate) trait Yielded<V> {
    /// Whether the loader yields tags. Its load then takes a ticket when it begins, so that a
    /// tag invalidated while it runs keeps the value out of the cache (`crate::tags`).
    const TAGGED: bool;

    fn into_parts(self) -> (V, Ttl, Vec<Tag>);
}

/// An untagged load: the value is stored without tags (the key loses any it had).
impl<V> Yielded<V> for (V, Ttl) {
    const TAGGED: bool = false;

    fn into_parts(self) -> (V, Ttl, Vec<Tag>) {
        (self.0, self.1, Vec::new())
    }
}

/// A tagged load: the value is stored with these tags, unless one was invalidated while it
/// loaded.
impl<V> Yielded<V> for (V, Ttl, Vec<Tag>) {
    const TAGGED: bool = true;

    fn into_parts(self) -> (V, Ttl, Vec<Tag>) {
        self
    }
}
