//! The [`Store`] conformance suite: the behaviour every store of larder's has, as checks a
//! store of yours can run. larder runs it on `MemoryStore`, `RedisStore`, `MemcachedStore`
//! and `DiskStore`.
//!
//! [`run_all`] runs every check, in order, on a [`Harness`]; each check is also a function of
//! its own, for a store that cannot do everything (one without counters skips
//! [`increment`]). Every check panics, as `assert!` does, at the first behaviour that
//! differs, with a message saying what was expected: call them from a test.
//!
//! What a store must do to pass:
//! - `get` of a missing key is `None`; `set` stores and overwrites; `add` stores only when
//!   the key is absent; `delete` and `exists` say whether the key was there;
//! - `get_many` answers in the order of its keys, `None` for a missing one; `set_many` stores
//!   every pair;
//! - a zero TTL is already expired; `expire` reports whether the key was there, and
//!   `Ttl::Never` persists it; with a clock the harness can move, a TTL runs out on time;
//! - `increment` counts from 0, adds negative steps, keeps counters as decimal ASCII and
//!   fails with [`ErrorKind::Codec`] on a value that is not one;
//! - any bytes (all 256 values, 1 MiB) come back as they went in;
//! - 64 concurrent sets and gets each see their own value;
//! - `clear` empties the store's namespace and nothing else;
//! - after `close`, operations fail with [`ErrorKind::Closed`].
//!
//! The store's namespace must be empty when the suite starts: give each run a namespace of
//! its own ([`unique`]) on a server that other tests share.

// A conformance failure is a test failure: the checks panic, as `assert!` does.
#![allow(clippy::panic)]

use std::fmt;
use std::time::Duration;

use futures_util::future::join_all;

use crate::store::Store;
use crate::{Error, ErrorKind, Ttl};

/// A store under test, a second store of the same backend in another namespace (to check
/// that `clear` stays in its own), and, when the test controls the store's clock, a way to
/// let time pass for it.
///
/// # Examples
///
/// ```
/// use larder::store::MemoryStore;
/// use larder::test_util::conformance::Harness;
/// use larder::{Cache, Clock};
///
/// // Both stores on one cache with a mock clock: the suite can then check that TTLs run out.
/// let (clock, mock) = Clock::mock();
/// let shared = Cache::builder().clock(clock).build();
/// let harness = Harness::new(
///     MemoryStore::with_cache("ns", shared.clone()),
///     MemoryStore::with_cache("other", shared),
/// )
/// .with_time(move |elapsed| mock.advance(elapsed));
/// # drop(harness);
/// ```
pub struct Harness<S> {
    store: S,
    sibling: S,
    advance: Option<Advance>,
}

/// Lets `Duration` pass on the store's clock.
type Advance = Box<dyn Fn(Duration) + Send + Sync>;

impl<S: Store> Harness<S> {
    /// A harness of `store`, the store under test, and `sibling`, a store of the same backend
    /// (the same server, file or cache) in another namespace. Both namespaces must be empty.
    /// Without [`with_time`](Self::with_time), TTLs are checked only as far as no time
    /// passes (a zero TTL, `expire`).
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::store::MemoryStore;
    /// use larder::test_util::conformance::Harness;
    ///
    /// let harness = Harness::new(MemoryStore::new("ns"), MemoryStore::new("other"));
    /// # drop(harness);
    /// ```
    pub fn new(store: S, sibling: S) -> Self {
        Self {
            store,
            sibling,
            advance: None,
        }
    }

    /// Lets the suite move the store's clock forward: `advance(d)` must make `d` pass for
    /// the store's TTLs (a [`MockClock`](crate::MockClock)'s `advance`, for a store on a
    /// [`Clock`](crate::Clock)). The suite then checks that a TTL runs out on time.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::store::MemoryStore;
    /// use larder::test_util::conformance::Harness;
    /// use larder::{Cache, Clock};
    ///
    /// let (clock, mock) = Clock::mock();
    /// let shared = Cache::builder().clock(clock).build();
    /// let harness = Harness::new(
    ///     MemoryStore::with_cache("ns", shared.clone()),
    ///     MemoryStore::with_cache("other", shared),
    /// )
    /// .with_time(move |elapsed| mock.advance(elapsed));
    /// # drop(harness);
    /// ```
    pub fn with_time(mut self, advance: impl Fn(Duration) + Send + Sync + 'static) -> Self {
        self.advance = Some(Box::new(advance));
        self
    }
}

impl<S> fmt::Debug for Harness<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Harness")
            .field("with_time", &self.advance.is_some())
            .finish_non_exhaustive()
    }
}

/// Runs every check of the suite on the harness's stores, in this order: [`get_and_set`],
/// [`add`], [`delete_and_exists`], [`get_many_and_set_many`], [`ttl`], [`increment`],
/// [`bytes`], [`concurrent`], [`clear`] and [`close`] (which closes the store under test).
///
/// # Panics
///
/// At the first behaviour that differs from larder's stores', saying what was expected.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use larder::store::MemoryStore;
/// use larder::test_util::conformance::{Harness, run_all};
/// use larder::{Cache, Clock};
///
/// let (clock, mock) = Clock::mock();
/// let shared = Cache::builder().clock(clock).build();
/// let harness = Harness::new(
///     MemoryStore::with_cache("ns", shared.clone()),
///     MemoryStore::with_cache("other", shared),
/// )
/// .with_time(move |elapsed| mock.advance(elapsed));
/// run_all(harness).await;
/// # }
/// ```
pub async fn run_all<S: Store>(harness: Harness<S>) {
    let Harness {
        store,
        sibling,
        advance,
    } = harness;
    get_and_set(&store).await;
    add(&store).await;
    delete_and_exists(&store).await;
    get_many_and_set_many(&store).await;
    ttl(&store, advance.as_deref()).await;
    increment(&store).await;
    bytes(&store).await;
    concurrent(&store).await;
    clear(&store, &sibling).await;
    close(&store).await;
}

/// The value of an operation that must succeed.
#[track_caller]
fn ok<T>(what: &str, result: Result<T, Error>) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("{what} failed: {error:?}"),
    }
}

/// `get` misses an absent key; `set` stores a value and overwrites it. Uses the key `k`.
///
/// # Panics
///
/// When the store does not behave so.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// larder::test_util::conformance::get_and_set(&larder::store::MemoryStore::new("ns")).await;
/// # }
/// ```
pub async fn get_and_set<S: Store>(store: &S) {
    assert_eq!(
        ok("get", store.get("k").await),
        None,
        "get of an absent key"
    );
    ok("set", store.set("k", b"one", Ttl::Never).await);
    let got = ok("get", store.get("k").await);
    assert_eq!(got.as_deref(), Some(&b"one"[..]), "get after set");
    ok("set", store.set("k", b"two", Ttl::Never).await);
    let got = ok("get", store.get("k").await);
    assert_eq!(got.as_deref(), Some(&b"two"[..]), "get after an overwrite");
}

/// `add` stores only when the key is absent, and says whether it stored. Uses the keys
/// `added` and `fresh`.
///
/// # Panics
///
/// When the store does not behave so.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// larder::test_util::conformance::add(&larder::store::MemoryStore::new("ns")).await;
/// # }
/// ```
pub async fn add<S: Store>(store: &S) {
    ok("set", store.set("added", b"one", Ttl::Never).await);
    let stored = ok("add", store.add("added", b"three", Ttl::Never).await);
    assert!(!stored, "add stored over a present key");
    let got = ok("get", store.get("added").await);
    assert_eq!(
        got.as_deref(),
        Some(&b"one"[..]),
        "add changed a present key"
    );
    assert!(
        ok("add", store.add("fresh", b"x", Ttl::Never).await),
        "add did not store an absent key"
    );
    let got = ok("get", store.get("fresh").await);
    assert_eq!(got.as_deref(), Some(&b"x"[..]), "get after add");
}

/// `delete` removes a key and says whether it was there; `exists` says whether a key is
/// present. Uses the key `deleted`.
///
/// # Panics
///
/// When the store does not behave so.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// larder::test_util::conformance::delete_and_exists(&larder::store::MemoryStore::new("ns")).await;
/// # }
/// ```
pub async fn delete_and_exists<S: Store>(store: &S) {
    ok("set", store.set("deleted", b"d", Ttl::Never).await);
    assert!(
        ok("exists", store.exists("deleted").await),
        "exists after set"
    );
    assert!(
        ok("delete", store.delete("deleted").await),
        "delete of a present key said it was absent"
    );
    assert!(
        !ok("delete", store.delete("deleted").await),
        "delete of an absent key said it was present"
    );
    assert!(
        !ok("exists", store.exists("deleted").await),
        "exists after delete"
    );
    assert_eq!(
        ok("get", store.get("deleted").await),
        None,
        "get after delete"
    );
}

/// `get_many` answers in the order of its keys, with `None` for a missing one, after
/// `set_many` stored every pair. Uses the keys `a`, `b` and `missing`.
///
/// # Panics
///
/// When the store does not behave so.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// larder::test_util::conformance::get_many_and_set_many(&larder::store::MemoryStore::new("ns")).await;
/// # }
/// ```
pub async fn get_many_and_set_many<S: Store>(store: &S) {
    ok(
        "set_many",
        store
            .set_many(&[("a", b"1"), ("b", b"2")], Ttl::Never)
            .await,
    );
    let many = ok("get_many", store.get_many(&["b", "missing", "a"]).await);
    assert_eq!(
        many,
        [Some(b"2".to_vec()), None, Some(b"1".to_vec())],
        "get_many of [b, missing, a]"
    );
    assert_eq!(
        ok("get_many", store.get_many(&[]).await),
        Vec::<Option<Vec<u8>>>::new()
    );
}

/// TTLs: a zero TTL is already expired; `expire` says whether the key was there, and
/// `Ttl::Never` persists a key. With `advance` (see [`Harness::with_time`]), a 10 s TTL
/// runs out after 10 s and a persisted key stays. Uses the keys `kept`, `nothing`, `zero`
/// and `short`.
///
/// # Panics
///
/// When the store does not behave so.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use larder::store::MemoryStore;
/// use larder::{Cache, Clock};
///
/// let (clock, mock) = Clock::mock();
/// let store = MemoryStore::with_cache("ns", Cache::builder().clock(clock).build());
/// larder::test_util::conformance::ttl(&store, Some(&|d| mock.advance(d))).await;
/// # }
/// ```
pub async fn ttl<S: Store>(store: &S, advance: Option<&(dyn Fn(Duration) + Send + Sync)>) {
    let ten = Ttl::After(Duration::from_secs(10));
    ok("set", store.set("kept", b"k", ten).await);
    assert!(
        ok("expire", store.expire("kept", Ttl::Never).await),
        "expire of a present key said it was absent"
    );
    assert!(
        !ok("expire", store.expire("nothing", Ttl::Never).await),
        "expire of an absent key said it was present"
    );
    ok(
        "set",
        store.set("zero", b"z", Ttl::After(Duration::ZERO)).await,
    );
    assert_eq!(
        ok("get", store.get("zero").await),
        None,
        "a zero TTL is already expired"
    );
    if let Some(advance) = advance {
        ok("set", store.set("short", b"s", ten).await);
        advance(Duration::from_secs(10));
        assert_eq!(
            ok("get", store.get("short").await),
            None,
            "a 10 s TTL, 10 s later"
        );
        assert!(
            ok("exists", store.exists("kept").await),
            "a key persisted by expire(Ttl::Never) expired"
        );
    }
}

/// `increment` counts from 0 on an absent key, adds negative steps, and fails with
/// [`ErrorKind::Codec`] on a value that is not a decimal ASCII integer. Uses the keys `n`
/// and `text`.
///
/// # Panics
///
/// When the store does not behave so.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// larder::test_util::conformance::increment(&larder::store::MemoryStore::new("ns")).await;
/// # }
/// ```
pub async fn increment<S: Store>(store: &S) {
    assert_eq!(ok("increment", store.increment("n", 5).await), 5, "0 + 5");
    assert_eq!(ok("increment", store.increment("n", -2).await), 3, "5 - 2");
    let got = ok("get", store.get("n").await);
    assert_eq!(
        got.as_deref(),
        Some(&b"3"[..]),
        "a counter is decimal ASCII"
    );
    ok("set", store.set("text", b"abc", Ttl::Never).await);
    match store.increment("text", 1).await {
        Err(error) => assert_eq!(error.kind(), ErrorKind::Codec, "{error:?}"),
        Ok(n) => panic!("increment of \"abc\" gave {n}, not a Codec error"),
    }
}

/// Every byte value, and a 1 MiB value, come back as they went in. Uses the keys `bin` and
/// `big`.
///
/// # Panics
///
/// When the store does not behave so.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// larder::test_util::conformance::bytes(&larder::store::MemoryStore::new("ns")).await;
/// # }
/// ```
pub async fn bytes<S: Store>(store: &S) {
    let binary: Vec<u8> = (0..=255).collect();
    ok("set", store.set("bin", &binary, Ttl::Never).await);
    assert!(
        ok("get", store.get("bin").await) == Some(binary),
        "the 256 byte values did not come back as they went in"
    );
    let big = vec![0xA5; 1 << 20];
    ok("set", store.set("big", &big, Ttl::Never).await);
    assert!(
        ok("get", store.get("big").await) == Some(big),
        "a 1 MiB value did not come back as it went in"
    );
}

/// 64 concurrent `set`-then-`get`s, each of its own key, each see their own value. Uses the
/// keys `task0` to `task63`.
///
/// # Panics
///
/// When the store does not behave so.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// larder::test_util::conformance::concurrent(&larder::store::MemoryStore::new("ns")).await;
/// # }
/// ```
pub async fn concurrent<S: Store>(store: &S) {
    let calls = (0..64u32).map(|i| async move {
        let key = format!("task{i}");
        ok("set", store.set(&key, &i.to_le_bytes(), Ttl::Never).await);
        (i, ok("get", store.get(&key).await))
    });
    for (i, got) in join_all(calls).await {
        assert_eq!(got, Some(i.to_le_bytes().to_vec()), "task{i}'s own value");
    }
}

/// `clear` removes every key of `store`'s namespace, and none of `sibling`'s, a store of
/// the same backend in another namespace. Uses the keys `a` and `cleared`.
///
/// # Panics
///
/// When the store does not behave so.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use larder::Cache;
/// use larder::store::MemoryStore;
///
/// let shared = Cache::builder().build();
/// let (ns, other) = (MemoryStore::with_cache("ns", shared.clone()), MemoryStore::with_cache("other", shared));
/// larder::test_util::conformance::clear(&ns, &other).await;
/// # }
/// ```
pub async fn clear<S: Store>(store: &S, sibling: &S) {
    ok("set", store.set("a", b"ours", Ttl::Never).await);
    ok("set", store.set("cleared", b"c", Ttl::Never).await);
    ok("set", sibling.set("a", b"theirs", Ttl::Never).await);
    ok("clear", store.clear().await);
    assert_eq!(ok("get", store.get("a").await), None, "a key after clear");
    assert_eq!(
        ok("get", store.get("cleared").await),
        None,
        "a key after clear"
    );
    let theirs = ok("get", sibling.get("a").await);
    assert_eq!(
        theirs.as_deref(),
        Some(&b"theirs"[..]),
        "clear removed a key of another namespace"
    );
}

/// `close` succeeds, and later operations fail with [`ErrorKind::Closed`]. Closes `store`.
///
/// # Panics
///
/// When the store does not behave so.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// larder::test_util::conformance::close(&larder::store::MemoryStore::new("ns")).await;
/// # }
/// ```
pub async fn close<S: Store>(store: &S) {
    ok("close", store.close().await);
    match store.get("a").await {
        Err(error) => assert_eq!(error.kind(), ErrorKind::Closed, "{error:?}"),
        Ok(got) => panic!("get after close answered {got:?}, not a Closed error"),
    }
}

/// Asserts that `err` is how a store reports a server that is down or silent:
/// [`ErrorKind::Backend`] or [`ErrorKind::Timeout`], never another kind.
///
/// # Panics
///
/// When `err` is of another kind.
///
/// # Examples
///
/// ```
/// use larder::{Error, ErrorKind};
/// use larder::test_util::conformance::assert_unavailable;
///
/// assert_unavailable(&Error::new(ErrorKind::Timeout, "no answer within 5 s"));
/// ```
#[track_caller]
pub fn assert_unavailable(err: &Error) {
    assert!(
        matches!(err.kind(), ErrorKind::Backend | ErrorKind::Timeout),
        "not how a store reports a server that is down: {err:?}"
    );
}

/// A namespace no other call of this process has had: `{prefix}-{process id}-{n}`, for
/// tests sharing one server.
///
/// # Examples
///
/// ```
/// use larder::test_util::conformance::unique;
///
/// let (a, b) = (unique("users"), unique("users"));
/// assert!(a.starts_with("users-") && a != b);
/// ```
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
