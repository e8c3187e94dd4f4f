//! The cache's operations when it has hooks (`CacheBuilder::hooks`): each one between its
//! hooks' `before` and `after`, off the path of a cache without hooks.

use std::hash::{BuildHasher, Hash};

use super::handle::Cache;
use crate::equivalent::Equivalent;
use crate::hooks::{Call, HookKey, HookRunner, Op, Outcome};

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq,
    V: Clone,
    S: BuildHasher,
{
    /// The call a hook is told of: `op` on `key`, by its hash.
    pub(super) fn hook_call<Q: Hash + ?Sized>(&self, op: Op, key: &Q) -> Call<'static> {
        Call::new(op, HookKey::Hash(self.inner().engine.settings().hash(key)))
    }

    /// [`Cache::get`] with hooks.
    #[cold]
    #[inline(never)]
    pub(super) fn get_hooked<Q>(&self, hooks: &HookRunner, key: &Q) -> Option<V>
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        let call = self.hook_call(Op::Get, key);
        hooks.around(call, || self.inner().engine.get(key), found)
    }

    /// Stores `key`'s `value` with `write`, between the hooks if the cache has any (the key
    /// hashed for them first, as `write` takes it).
    pub(super) fn hooked_set(&self, key: K, value: V, write: impl FnOnce(K, V)) {
        match self.inner().loads.hooks() {
            None => write(key, value),
            Some(hooks) => {
                let call = self.hook_call(Op::Set, &key);
                hooks.around(call, || write(key, value), |()| Outcome::Done);
            }
        }
    }

    /// Runs `remove`, the removal of `key`, between the hooks if the cache has any.
    pub(super) fn hooked_remove<Q>(&self, key: &Q, remove: impl FnOnce() -> Option<V>) -> Option<V>
    where
        Q: Hash + ?Sized,
    {
        match self.inner().loads.hooks() {
            None => remove(),
            Some(hooks) => hooks.around(self.hook_call(Op::Delete, key), remove, found),
        }
    }
}

/// A lookup's or a removal's outcome: whether there was a value.
pub(super) fn found<V>(value: &Option<V>) -> Outcome {
    if value.is_some() {
        Outcome::Hit
    } else {
        Outcome::Miss
    }
}
