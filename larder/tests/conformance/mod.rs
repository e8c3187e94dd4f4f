//! The `Store` conformance suite, run against every store: the same behaviour over memory,
//! Redis, Memcached and disk. Each store's test file includes it with `mod conformance;`.

#![allow(clippy::unwrap_used)] // the suite is shared by tests: a failed operation fails the test
#![allow(dead_code)] // each test file uses its own part

use std::sync::Arc;
use std::time::Duration;

use larder::store::Store;
use larder::{Error, ErrorKind, Ttl};

/// A store under test, a second store of the same backend in another namespace, and a way
/// to let time pass for it (`None` for a server's own clock, which tests do not wait out).
pub(crate) struct Harness<S> {
    pub(crate) store: S,
    pub(crate) sibling: S,
    pub(crate) advance: Option<Box<dyn Fn(Duration)>>,
}

pub(crate) async fn conformance<S: Store>(h: Harness<S>) {
    let Harness {
        store,
        sibling,
        advance,
    } = h;
    // Miss, set, overwrite.
    assert_eq!(store.get("k").await.unwrap(), None);
    store.set("k", b"one", Ttl::Never).await.unwrap();
    assert_eq!(store.get("k").await.unwrap().as_deref(), Some(&b"one"[..]));
    store.set("k", b"two", Ttl::Never).await.unwrap();
    assert_eq!(store.get("k").await.unwrap().as_deref(), Some(&b"two"[..]));
    // add only when absent.
    assert!(!store.add("k", b"three", Ttl::Never).await.unwrap());
    assert!(store.add("fresh", b"x", Ttl::Never).await.unwrap());
    // delete and exists.
    assert!(store.exists("k").await.unwrap());
    assert!(store.delete("k").await.unwrap());
    assert!(!store.delete("k").await.unwrap());
    assert!(!store.exists("k").await.unwrap());
    // get_many / set_many, in order.
    store
        .set_many(&[("a", b"1"), ("b", b"2")], Ttl::Never)
        .await
        .unwrap();
    let many = store.get_many(&["b", "missing", "a"]).await.unwrap();
    assert_eq!(many, [Some(b"2".to_vec()), None, Some(b"1".to_vec())]);
    // TTL expiry, and expire.
    store
        .set("kept", b"k", Ttl::After(Duration::from_secs(10)))
        .await
        .unwrap();
    assert!(store.expire("kept", Ttl::Never).await.unwrap());
    assert!(!store.expire("nothing", Ttl::Never).await.unwrap());
    store
        .set("zero", b"z", Ttl::After(Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(
        store.get("zero").await.unwrap(),
        None,
        "a zero TTL is already expired"
    );
    if let Some(advance) = &advance {
        store
            .set("short", b"s", Ttl::After(Duration::from_secs(10)))
            .await
            .unwrap();
        advance(Duration::from_secs(10));
        assert_eq!(store.get("short").await.unwrap(), None);
        assert!(store.exists("kept").await.unwrap(), "persisted by expire");
    }
    // increment.
    assert_eq!(store.increment("n", 5).await.unwrap(), 5);
    assert_eq!(store.increment("n", -2).await.unwrap(), 3);
    store.set("text", b"abc", Ttl::Never).await.unwrap();
    let err = store.increment("text", 1).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Codec);
    // Binary and large values come back byte for byte.
    let binary: Vec<u8> = (0..=255).collect();
    store.set("bin", &binary, Ttl::Never).await.unwrap();
    assert_eq!(store.get("bin").await.unwrap(), Some(binary));
    let big = vec![0xA5; 1 << 20];
    store.set("big", &big, Ttl::Never).await.unwrap();
    assert_eq!(store.get("big").await.unwrap(), Some(big));
    // Concurrent sets and gets from 64 tasks.
    let store = Arc::new(store);
    let tasks: Vec<_> = (0..64u32)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let key = format!("task{i}");
                store.set(&key, &i.to_le_bytes(), Ttl::Never).await.unwrap();
                store.get(&key).await.unwrap()
            })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        assert_eq!(task.await.unwrap(), Some((i as u32).to_le_bytes().to_vec()));
    }
    // clear is limited to the namespace.
    sibling.set("a", b"theirs", Ttl::Never).await.unwrap();
    store.clear().await.unwrap();
    assert_eq!(store.get("a").await.unwrap(), None);
    assert_eq!(store.get("task1").await.unwrap(), None);
    assert_eq!(
        sibling.get("a").await.unwrap().as_deref(),
        Some(&b"theirs"[..])
    );
    // close.
    store.close().await.unwrap();
    assert_eq!(store.get("a").await.unwrap_err().kind(), ErrorKind::Closed);
}

/// The address of a server the gate started (`scripts/services.sh`) from the environment
/// variable `var`, or `None` outside the gate. In CI a missing server is a failure, not a
/// skip.
pub(crate) fn service(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(value) => Some(value),
        Err(_) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{var} is not set: scripts/test starts the servers")
        }
        Err(_) => None,
    }
}

/// Asserts that `err` is how a store reports a server that is down or silent: `Backend` or
/// `Timeout`, never another kind.
pub(crate) fn assert_unavailable(err: &Error) {
    assert!(
        matches!(err.kind(), ErrorKind::Backend | ErrorKind::Timeout),
        "{err:?}"
    );
}

/// A namespace no other test uses.
pub(crate) fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
