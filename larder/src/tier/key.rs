//! [`TierKey`]: how a tiered cache's keys become L2 keys and back, and the layout of every key
//! a tier writes in its store.

/// A key a [`Tiered`](super::Tiered) cache can write to a shared store and read back from an
/// invalidation: a stable, reversible string form.
///
/// The encoding is part of the data other processes see, so it is fixed:
/// - strings are written as they are;
/// - integers in decimal, `bool` as `true`/`false`, `char` as itself, `()` as nothing;
/// - a tuple joins its parts with `:`, each part with `%` written `%25` and `:` written `%3A`,
///   so that a part's own colons cannot be confused with the separator.
///
/// Implement it for your own key types with the same care: `decode(encode(k)) == Some(k)`.
///
/// A `#[cached(store = ..)]` function's key is its arguments (one as itself, several as a
/// tuple), so they must be tier keys too.
///
/// # Examples
///
/// ```
/// use larder::tier::TierKey;
///
/// let mut out = String::new();
/// ("user".to_string(), 42u64).encode(&mut out);
/// assert_eq!(out, "user:42");
/// assert_eq!(<(String, u64)>::decode("user:42"), Some(("user".to_string(), 42)));
///
/// let mut out = String::new();
/// ("a:b".to_string(), 7u8).encode(&mut out);
/// assert_eq!(out, "a%3Ab:7");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tier key: it has no stable string form for a shared store",
    note = "strings, integers, `bool`, `char` and tuples of them (up to 6) are tier keys; \
            implement `larder::tier::TierKey` for your own type",
    note = "a `#[cached(store = ..)]` function's key is its arguments (one as itself, \
            several as a tuple); `key = ..` picks another"
)]
pub trait TierKey: Sized {
    /// Appends this key's encoding to `out`.
    fn encode(&self, out: &mut String);

    /// The key whose encoding is `encoded`, or `None` if no key encodes to it.
    fn decode(encoded: &str) -> Option<Self>;
}

impl TierKey for String {
    fn encode(&self, out: &mut String) {
        out.push_str(self);
    }

    fn decode(encoded: &str) -> Option<Self> {
        Some(encoded.to_owned())
    }
}

impl TierKey for std::sync::Arc<str> {
    fn encode(&self, out: &mut String) {
        out.push_str(self);
    }

    fn decode(encoded: &str) -> Option<Self> {
        Some(encoded.into())
    }
}

/// The key of a function without arguments: the empty string.
impl TierKey for () {
    fn encode(&self, _out: &mut String) {}

    fn decode(encoded: &str) -> Option<Self> {
        encoded.is_empty().then_some(())
    }
}

macro_rules! parsed_keys {
    ($($t:ty),*) => {$(
        impl TierKey for $t {
            fn encode(&self, out: &mut String) {
                use std::fmt::Write;
                // Writing to a String cannot fail.
                let _ = write!(out, "{self}");
            }

            fn decode(encoded: &str) -> Option<Self> {
                let value: $t = encoded.parse().ok()?;
                // Only the canonical form: "007" is not the key 7's encoding.
                let mut canonical = String::new();
                value.encode(&mut canonical);
                (canonical == encoded).then_some(value)
            }
        }
    )*};
}

parsed_keys!(
    u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, bool, char
);

/// Appends `part`'s encoding to `out`, escaped for a tuple.
fn encode_part<T: TierKey>(part: &T, out: &mut String) {
    let mut raw = String::new();
    part.encode(&mut raw);
    for c in raw.chars() {
        match c {
            '%' => out.push_str("%25"),
            ':' => out.push_str("%3A"),
            c => out.push(c),
        }
    }
}

/// The part whose escaped encoding is `escaped`.
fn decode_part<T: TierKey>(escaped: &str) -> Option<T> {
    let mut raw = String::with_capacity(escaped.len());
    let mut rest = escaped;
    while let Some(at) = rest.find('%') {
        raw.push_str(&rest[..at]);
        match rest.get(at..at + 3)? {
            "%25" => raw.push('%'),
            "%3A" => raw.push(':'),
            _ => return None,
        }
        rest = &rest[at + 3..];
    }
    raw.push_str(rest);
    T::decode(&raw)
}

macro_rules! tuple_keys {
    ($n:literal; $($t:ident $i:tt),*) => {
        impl<$($t: TierKey),*> TierKey for ($($t,)*) {
            fn encode(&self, out: &mut String) {
                let mut first = true;
                $(
                    if !std::mem::take(&mut first) {
                        out.push(':');
                    }
                    encode_part(&self.$i, out);
                )*
            }

            fn decode(encoded: &str) -> Option<Self> {
                let mut parts = encoded.split(':');
                let key = ($(decode_part::<$t>(parts.next()?)?,)*);
                parts.next().is_none().then_some(key)
            }
        }
    };
}

tuple_keys!(1; A 0);
tuple_keys!(2; A 0, B 1);
tuple_keys!(3; A 0, B 1, C 2);
tuple_keys!(4; A 0, B 1, C 2, D 3);
tuple_keys!(5; A 0, B 1, C 2, D 3, E 4);
tuple_keys!(6; A 0, B 1, C 2, D 3, E 4, G 5);

/// The keys a tier writes in its store, all under one prefix (inside the store's own
/// namespace): `v{version}`, or `{scope}/v{version}` for a tier with a
/// [`scope`](super::TieredBuilder::scope). Bumping the version leaves every older entry
/// unread; tiers of different scopes share a store without reading each other's keys.
/// - `{prefix}:{key}`: an entry;
/// - `{prefix}!tag:{tag}`: when a tag was last invalidated (Unix microseconds);
/// - `{prefix}!lease:{key}`: a load's lease.
///
/// A scope is written with `%`, `:` and `!` escaped (`%25`, `%3A`, `%21`), so that the first
/// `:` or `!` of any key ends its prefix: no scope's prefix is another's, nor an unscoped
/// one's (those have no `/`).
#[derive(Debug, Clone)]
pub(crate) struct KeyLayout {
    /// The prefix of every key the tier writes, and what it watches.
    prefix: String,
}

/// What a key the tier watched names.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Named<'a> {
    /// An entry, by its encoded key.
    Entry(&'a str),
    /// A tag's invalidation record.
    Tag(&'a str),
    /// Something else of the tier's (a lease), or not the tier's at all.
    Other,
}

impl KeyLayout {
    pub(crate) fn new(version: u32) -> Self {
        Self {
            prefix: format!("v{version}"),
        }
    }

    /// The layout of a tier of `version` under `scope`.
    pub(crate) fn scoped(scope: &str, version: u32) -> Self {
        let mut prefix = String::with_capacity(scope.len() + 8);
        for c in scope.chars() {
            match c {
                '%' => prefix.push_str("%25"),
                ':' => prefix.push_str("%3A"),
                '!' => prefix.push_str("%21"),
                c => prefix.push(c),
            }
        }
        prefix.push_str("/v");
        prefix.push_str(&version.to_string());
        Self { prefix }
    }

    /// The prefix every key of this layout starts with.
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    pub(crate) fn entry<K: TierKey>(&self, key: &K) -> String {
        let mut out = String::with_capacity(self.prefix.len() + 16);
        out.push_str(&self.prefix);
        out.push(':');
        key.encode(&mut out);
        out
    }

    pub(crate) fn tag(&self, tag: &str) -> String {
        format!("{}!tag:{tag}", self.prefix)
    }

    /// When the store's namespace was last cleared (Unix microseconds), by any tier in it:
    /// outside every prefix, since a clear takes every prefix's keys with it.
    pub(crate) fn cleared(&self) -> &'static str {
        "!cleared"
    }

    pub(crate) fn lease(&self, entry: &str) -> String {
        // `entry` is `v{n}:{key}`: the lease is `v{n}!lease:{key}`.
        let key = entry.strip_prefix(&self.prefix).unwrap_or(entry);
        format!("{}!lease{key}", self.prefix)
    }

    /// What the store key `key` (without the store's namespace) is, in this layout.
    pub(crate) fn name<'a>(&self, key: &'a str) -> Named<'a> {
        let Some(rest) = key.strip_prefix(self.prefix.as_str()) else {
            return Named::Other;
        };
        if let Some(entry) = rest.strip_prefix(':') {
            Named::Entry(entry)
        } else if let Some(tag) = rest.strip_prefix("!tag:") {
            Named::Tag(tag)
        } else {
            Named::Other
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<K: TierKey + PartialEq + std::fmt::Debug>(key: K) {
        let mut out = String::new();
        key.encode(&mut out);
        assert_eq!(K::decode(&out), Some(key), "{out}");
    }

    #[test]
    fn keys_round_trip() {
        round_trip("plain".to_string());
        round_trip("with:colon%and percent".to_string());
        round_trip(u64::MAX);
        round_trip(-5i32);
        round_trip(('x', true));
        round_trip(("a:b".to_string(), ("c%3A".to_string(), 9u8)));
        round_trip((String::new(), String::new()));
        round_trip(());
    }

    #[test]
    fn only_canonical_forms_decode() {
        assert_eq!(u32::decode("007"), None);
        assert_eq!(u32::decode("+7"), None);
        assert_eq!(<(u8, u8)>::decode("1:2:3"), None);
        assert_eq!(<(String, u8)>::decode("a%zz:1"), None);
        assert_eq!(<(String, u8)>::decode("a%3:1"), None);
    }

    #[test]
    fn the_layout_names_what_it_wrote() {
        let layout = KeyLayout::new(3);
        assert_eq!(layout.entry(&"k:1".to_string()), "v3:k:1");
        assert_eq!(layout.name("v3:k:1"), Named::Entry("k:1"));
        assert_eq!(layout.name(&layout.tag("red")), Named::Tag("red"));
        assert_eq!(layout.lease("v3:k:1"), "v3!lease:k:1");
        assert_eq!(layout.name(&layout.lease("v3:k")), Named::Other);
        assert_eq!(layout.name("v30:k"), Named::Other);
        assert_eq!(layout.name("other"), Named::Other);
    }

    #[test]
    fn scopes_keep_tiers_apart() {
        let user = KeyLayout::scoped("user", 1);
        assert_eq!(user.entry(&7u64), "user/v1:7");
        assert_eq!(user.tag("red"), "user/v1!tag:red");
        assert_eq!(user.lease("user/v1:7"), "user/v1!lease:7");
        assert_eq!(user.name("user/v1:7"), Named::Entry("7"));
        // Escaped: a scope's own `:` or `!` cannot end its prefix early.
        let odd = KeyLayout::scoped("a:b!c%", 2);
        assert_eq!(odd.entry(&1u8), "a%3Ab%21c%25/v2:1");
        // Neither an unscoped tier nor another scope names these keys.
        let plain = KeyLayout::new(1);
        assert_eq!(plain.name("user/v1:7"), Named::Other);
        assert_eq!(
            user.name(&plain.entry(&"user/v1:7".to_string())),
            Named::Other
        );
        let v1 = KeyLayout::scoped("v1", 1);
        assert_eq!(v1.entry(&7u64), "v1/v1:7");
        assert_eq!(plain.name("v1/v1:7"), Named::Other);
        assert_eq!(
            KeyLayout::scoped("user/v1", 1).name("user/v1:7"),
            Named::Other
        );
    }
}
