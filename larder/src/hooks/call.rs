//! What a hook is told of an operation: [`Call`] (the operation and its key) and, once it has
//! ended, its [`Outcome`].

use crate::error::ErrorKind;

/// An operation a hook is told of.
///
/// # Examples
///
/// ```
/// use larder::hooks::Op;
///
/// assert_eq!(Op::Get.as_str(), "get");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// A lookup: `Cache::get` and the lookup the `get_with` family starts with; a store's
    /// `get`, and each key of its `get_many`.
    Get,
    /// A write: `Cache::insert` and its variants; a store's `set`, and each key of its
    /// `set_many`.
    Set,
    /// A removal: `Cache::remove`; a store's `delete`.
    Delete,
    /// A cache's loader run for a missing key by the caller leading its load (the callers
    /// that wait for it are not told of it again).
    Load,
}

impl Op {
    /// The operation's name in lower case: `"get"`, `"set"`, `"delete"`, `"load"`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(larder::hooks::Op::Load.as_str(), "load");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Get => "get",
            Op::Set => "set",
            Op::Delete => "delete",
            Op::Load => "load",
        }
    }
}

/// The key of a [`Call`].
///
/// A store's keys are strings, and a hook sees them as they were passed (without the store's
/// namespace). An in-process [`Cache`](crate::Cache) takes keys of any type, looked up by a
/// borrowed form of any other type (`get(&str)` on a cache of `String`s), so its hooks see
/// the key's hash, by the cache's own hasher: the same for a key and every borrowed form of
/// it, and never the key itself.
///
/// # Examples
///
/// ```
/// use larder::hooks::HookKey;
///
/// let key = HookKey::Str("user:42");
/// assert_eq!(key.as_str(), Some("user:42"));
/// assert_eq!(HookKey::Hash(7).as_str(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HookKey<'a> {
    /// A store's key, without the namespace.
    Str(&'a str),
    /// An in-process cache's key, hashed with the cache's hasher.
    Hash(u64),
}

impl<'a> HookKey<'a> {
    /// The key as a string, when it is one (a store's).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(larder::hooks::HookKey::Str("k").as_str(), Some("k"));
    /// ```
    pub fn as_str(&self) -> Option<&'a str> {
        match *self {
            HookKey::Str(key) => Some(key),
            HookKey::Hash(_) => None,
        }
    }
}

/// One operation, as a hook's [`before`](super::Hooks::before) and
/// [`after`](super::Hooks::after) see it.
///
/// # Examples
///
/// ```
/// use larder::hooks::{Call, HookKey, Op};
///
/// let call = Call::new(Op::Get, HookKey::Str("k"));
/// assert_eq!((call.op, call.key), (Op::Get, HookKey::Str("k")));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Call<'a> {
    /// Which operation.
    pub op: Op,
    /// On which key.
    pub key: HookKey<'a>,
}

impl<'a> Call<'a> {
    /// A call of `op` on `key`: for tests of hooks; larder makes the calls its hooks see.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::hooks::{Call, HookKey, Op};
    ///
    /// assert_eq!(Call::new(Op::Set, HookKey::Hash(1)).op, Op::Set);
    /// ```
    pub fn new(op: Op, key: HookKey<'a>) -> Self {
        Self { op, key }
    }
}

/// How an operation ended, as [`after`](super::Hooks::after) is told.
///
/// | operation | `Hit` | `Miss` | `Done` | `Failed` |
/// |---|---|---|---|---|
/// | get | found a value | found none | | the store failed |
/// | set | | | stored | the store failed |
/// | delete | removed a value | there was none | | the store failed |
/// | load | | the loader yielded no value | the loader yielded a value | the loader failed |
///
/// # Examples
///
/// ```
/// use larder::ErrorKind;
/// use larder::hooks::Outcome;
///
/// assert!(Outcome::Failed(Some(ErrorKind::Timeout)).is_failure());
/// assert!(!Outcome::Miss.is_failure());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// A get found a value, or a delete removed one.
    Hit,
    /// A get found nothing, a delete had nothing to remove, or a loader yielded no value.
    Miss,
    /// A set stored its value, or a loader yielded one.
    Done,
    /// The operation failed: with a store's error's kind, or `None` for a loader's own error.
    Failed(Option<ErrorKind>),
}

impl Outcome {
    /// Whether the operation failed.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(larder::hooks::Outcome::Failed(None).is_failure());
    /// ```
    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::Failed(_))
    }
}
