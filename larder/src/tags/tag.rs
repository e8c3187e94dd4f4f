//! [`Tag`]: the name of a group of entries, for [`Cache::invalidate_tag`](crate::Cache::invalidate_tag).

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// A tag: a name shared by a group of entries, so that one call removes them all
/// ([`Cache::invalidate_tag`](crate::Cache::invalidate_tag)).
///
/// A tag is a string behind an `Arc`: cloning it is cheap, so an entry's tags and the cache's
/// index of them share one allocation. Build one from a `&str` or a `String`; a `Tag`
/// dereferences to `str`, so `&tag` goes wherever a `&str` does.
///
/// # Examples
///
/// ```
/// use larder::{Cache, Tag};
///
/// let user = Tag::from(format!("user:{}", 7));
/// assert_eq!(user.as_str(), "user:7");
///
/// let cache = Cache::new(100);
/// cache.insert_with_tags("profile:7", "Ada", [user.clone(), Tag::from("profiles")]);
/// assert_eq!(cache.invalidate_tag(&user), 1);
/// assert!(cache.is_empty());
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag(Arc<str>);

impl Tag {
    /// The tag's text.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(larder::Tag::from("orders").as_str(), "orders");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Tag {
    fn from(tag: &str) -> Self {
        Self(Arc::from(tag))
    }
}

impl From<String> for Tag {
    fn from(tag: String) -> Self {
        Self(Arc::from(tag))
    }
}

impl From<&String> for Tag {
    fn from(tag: &String) -> Self {
        Self::from(tag.as_str())
    }
}

impl From<Arc<str>> for Tag {
    fn from(tag: Arc<str>) -> Self {
        Self(tag)
    }
}

impl From<&Tag> for Tag {
    fn from(tag: &Tag) -> Self {
        tag.clone()
    }
}

impl Deref for Tag {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Tag {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

// Hash, Eq and Ord are those of the text, so a `&str` finds a `Tag` in a map.
impl Borrow<str> for Tag {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
