//! Leases in a store: [`LeaseToken`], the random token that tells one holder from another, and
//! the default [`Store::lease`] / [`Store::release`], built on `add`, `get` and `delete`, that
//! a store gets unless it does better.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use super::Store;
use crate::Ttl;
use crate::error::Error;

/// The length of a token's bytes: 128 bits as lowercase hexadecimal.
const TOKEN_LEN: usize = 32;

/// An opaque random token identifying one holder of a lease: what
/// [`Store::lease`] hands the caller that took the lease, and what
/// [`Store::release`] compares with the one the store holds before giving it back.
///
/// A token is 128 random bits. They come from the standard library's
/// [`RandomState`]: each token is two SipHash-1-3 outputs under a fresh `RandomState`,
/// whose 128-bit key std draws from the operating system's random source (once per thread,
/// then a new key for each `RandomState`). No dependency is added for it, and a token
/// cannot be guessed from the ones before it; two holders, in one process or in several,
/// get the same token with a chance of about 2^-128. The store holds a token as 32 bytes of
/// lowercase hexadecimal ([`as_bytes`](Self::as_bytes)), readable with a server's own
/// tools.
///
/// `Debug` shows the hexadecimal form: a token is not a secret, only an identity.
///
/// # Examples
///
/// ```
/// use larder::store::LeaseToken;
///
/// let (a, b) = (LeaseToken::random(), LeaseToken::random());
/// assert_ne!(a, b);
/// assert_eq!(a.as_bytes().len(), 32);
/// assert_eq!(a.clone(), a);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct LeaseToken([u8; TOKEN_LEN]);

impl LeaseToken {
    /// A new random token: what a [`Store`] implementation that takes its leases in its
    /// own way stores and hands back from [`Store::lease`].
    ///
    /// # Examples
    ///
    /// ```
    /// let token = larder::store::LeaseToken::random();
    /// assert!(token.as_bytes().iter().all(u8::is_ascii_hexdigit));
    /// ```
    #[must_use]
    pub fn random() -> Self {
        let state = RandomState::new();
        let mut out = [0u8; TOKEN_LEN];
        for (half, chunk) in out.chunks_exact_mut(TOKEN_LEN / 2).enumerate() {
            let mut hasher = state.build_hasher();
            hasher.write_usize(half);
            let bits = hasher.finish();
            for (i, digit) in chunk.iter_mut().enumerate() {
                let nibble = (bits >> (60 - 4 * i)) & 0x0f;
                *digit = b"0123456789abcdef"[nibble as usize];
            }
        }
        Self(out)
    }

    /// The bytes a store keeps for this token: 32 lowercase hexadecimal digits.
    ///
    /// # Examples
    ///
    /// ```
    /// let token = larder::store::LeaseToken::random();
    /// let text = std::str::from_utf8(token.as_bytes()).unwrap();
    /// assert_eq!(text.len(), 32);
    /// ```
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for LeaseToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Hex digits only, so always UTF-8.
        let text = std::str::from_utf8(&self.0).unwrap_or("?");
        f.debug_tuple("LeaseToken").field(&text).finish()
    }
}

/// The TTL a lease of `ttl` is stored with; a zero TTL is refused, since such a lease would
/// be over before anyone could hold it.
pub(crate) fn lease_ttl(ttl: Duration) -> Result<Ttl, Error> {
    if ttl.is_zero() {
        return Err(Error::config("a lease needs a TTL above zero"));
    }
    Ok(Ttl::After(ttl))
}

/// The default [`Store::lease`]: `add` of a new token for `ttl`.
pub(crate) async fn add_lease<S: Store + ?Sized>(
    store: &S,
    key: &str,
    ttl: Duration,
) -> Result<Option<LeaseToken>, Error> {
    let ttl = lease_ttl(ttl)?;
    let token = LeaseToken::random();
    let taken = store.add(key, token.as_bytes(), ttl).await?;
    Ok(taken.then_some(token))
}

/// The default [`Store::release`]: `get`, compare, then `delete`; not atomic (the trait's
/// docs say what can happen between the two).
pub(crate) async fn release_by_get<S: Store + ?Sized>(
    store: &S,
    key: &str,
    token: &LeaseToken,
) -> Result<bool, Error> {
    match store.get(key).await? {
        Some(held) if held == token.as_bytes() => store.delete(key).await,
        _ => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_32_hex_digits_and_differ() {
        let mut seen = hashbrown::HashSet::new();
        for _ in 0..10_000 {
            let token = LeaseToken::random();
            assert_eq!(token.as_bytes().len(), 32);
            assert!(
                token
                    .as_bytes()
                    .iter()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
            );
            assert!(seen.insert(token), "a token came twice");
        }
    }

    #[test]
    fn tokens_from_other_threads_differ_too() {
        let theirs: Vec<LeaseToken> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4).map(|_| s.spawn(LeaseToken::random)).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut all: hashbrown::HashSet<LeaseToken> = theirs.into_iter().collect();
        assert!(all.insert(LeaseToken::random()));
        assert_eq!(all.len(), 5);
    }

    #[test]
    fn the_two_halves_of_a_token_differ() {
        // Two hashes of different inputs under one key: equal halves would mean one input.
        let token = LeaseToken::random();
        assert_ne!(token.as_bytes()[..16], token.as_bytes()[16..]);
    }

    #[test]
    fn debug_shows_the_hex_form() {
        let token = LeaseToken::random();
        let hex = std::str::from_utf8(token.as_bytes()).unwrap();
        assert_eq!(format!("{token:?}"), format!("LeaseToken({hex:?})"));
    }

    #[test]
    fn a_zero_ttl_is_refused_others_kept() {
        let err = lease_ttl(Duration::ZERO).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Config);
        let ttl = Duration::from_nanos(1);
        assert_eq!(lease_ttl(ttl).unwrap(), Ttl::After(ttl));
    }
}
