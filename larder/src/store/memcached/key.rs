//! Memcached keys: `namespace:generation:key`, or `namespace:generation:#<SHA-256 hex>` for a
//! key memcached cannot take as it is.
//!
//! Memcached's text protocol takes keys of at most 250 bytes of printable ASCII, without
//! spaces or control characters. A caller's key that fits is kept (readable with memcached's
//! own tools); any other key (too long, with a space, a control character or a non-ASCII
//! character, or one that starts with `#`) is replaced by `#` and the 64 hex digits of its
//! SHA-256, under the same namespace and generation. Keys that are kept never start with `#`,
//! so the two forms cannot meet; SHA-256 makes two replaced keys meeting out of reach even
//! for keys chosen by an adversary.

use sha2::{Digest, Sha256};

use crate::Error;

/// Memcached's longest key.
pub(super) const MAX_KEY_LEN: usize = 250;
/// The longest namespace: with a 20-digit generation and a hashed key, a key stays under
/// [`MAX_KEY_LEN`].
pub(super) const MAX_NAMESPACE_LEN: usize = 128;
/// The first byte of a replaced key.
const HASHED: char = '#';

/// Whether memcached's text protocol takes `b` inside a key.
fn is_key_byte(b: u8) -> bool {
    (0x21..=0x7e).contains(&b)
}

/// Checks that `namespace` can be the first part of every key.
///
/// `:` is refused so that `namespace:generation:` never reads two ways (the namespaces `a`
/// and `a:7` would otherwise share keys).
pub(super) fn check_namespace(namespace: &str) -> Result<(), Error> {
    let fits = !namespace.is_empty()
        && namespace.len() <= MAX_NAMESPACE_LEN
        && namespace.bytes().all(|b| is_key_byte(b) && b != b':');
    if fits {
        Ok(())
    } else {
        Err(Error::config(format!(
            "a Memcached namespace is 1 to {MAX_NAMESPACE_LEN} printable ASCII characters, \
             without spaces or ':'"
        )))
    }
}

/// The key holding `namespace`'s generation number. It has one `:`, the keys of values have
/// two, so it is never one of theirs.
pub(super) fn generation_key(namespace: &str) -> String {
    format!("{namespace}:gen")
}

/// The memcached key of the caller's `key` in `namespace` at `generation`.
pub(super) fn encode(namespace: &str, generation: u64, key: &str) -> String {
    use std::fmt::Write as _;
    // One allocation, sized for the key kept or hashed (`#` and 64 hex digits).
    let mut out = String::with_capacity(namespace.len() + 22 + key.len().max(65));
    let _ = write!(out, "{namespace}:{generation}:"); // writing to a String cannot fail
    let kept = out.len() + key.len() <= MAX_KEY_LEN
        && !key.starts_with(HASHED)
        && key.bytes().all(is_key_byte);
    if kept {
        out.push_str(key);
        return out;
    }
    let digest = Sha256::digest(key.as_bytes());
    out.push(HASHED);
    for byte in digest {
        out.push(hex(byte >> 4));
        out.push(hex(byte & 0x0f));
    }
    out
}

fn hex(nibble: u8) -> char {
    char::from(b"0123456789abcdef"[usize::from(nibble & 0x0f)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_keys_are_kept_under_namespace_and_generation() {
        assert_eq!(encode("users", 7, "42"), "users:7:42");
        assert_eq!(encode("users", 7, ""), "users:7:");
        assert_eq!(encode("users", 7, "a:b/c?d"), "users:7:a:b/c?d");
        assert_eq!(generation_key("users"), "users:gen");
    }

    #[test]
    fn keys_memcached_cannot_take_are_hashed() {
        // SHA-256("a b"), a fixed vector: the encoding is stable across processes.
        assert_eq!(
            encode("ns", 1, "a b"),
            "ns:1:#c8687a08aa5d6ed2044328fa6a697ab8e96dc34291e8c2034ae8c38e6fcc6d65"
        );
        for key in [
            "with space",
            "tab\there",
            "new\r\nline",
            "ключ",
            "del\u{7f}",
            "#starts-with-hash",
        ] {
            let encoded = encode("ns", 1, key);
            assert!(encoded.starts_with("ns:1:#"), "{key:?}");
            assert_eq!(encoded.len(), "ns:1:#".len() + 64);
            assert!(encoded.bytes().all(is_key_byte));
        }
        assert_ne!(encode("ns", 1, "a b"), encode("ns", 1, "a  b"));
        assert_ne!(encode("ns", 1, "a b"), encode("ns", 2, "a b"));
    }

    #[test]
    fn only_keys_over_the_limit_are_hashed() {
        let prefix = "ns:1:".len();
        let fits = "x".repeat(MAX_KEY_LEN - prefix);
        assert_eq!(encode("ns", 1, &fits).len(), MAX_KEY_LEN);
        assert!(!encode("ns", 1, &fits).contains('#'));
        let over = "x".repeat(MAX_KEY_LEN - prefix + 1);
        assert!(encode("ns", 1, &over).starts_with("ns:1:#"));
    }

    #[test]
    fn the_longest_namespace_and_generation_still_fit() {
        let ns = "n".repeat(MAX_NAMESPACE_LEN);
        check_namespace(&ns).unwrap();
        assert!(encode(&ns, u64::MAX, &"k".repeat(1_000)).len() <= MAX_KEY_LEN);
    }

    #[test]
    fn namespaces_are_checked() {
        check_namespace("app.users-v2").unwrap();
        for bad in ["", "a b", "a:b", "ключ", "tab\t"] {
            let err = check_namespace(bad).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Config, "{bad:?}");
        }
        assert!(check_namespace(&"n".repeat(MAX_NAMESPACE_LEN + 1)).is_err());
    }
}
