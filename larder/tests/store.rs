//! The `Store` conformance suite, run against every store: the same behaviour over memory
//! (and, as they arrive, Redis, Memcached and disk).

#![allow(clippy::unwrap_used)] // the suite is shared by tests: a failed operation fails the test

use std::sync::Arc;
use std::time::Duration;

use larder::{Cache, Clock, ErrorKind, MemoryStore, MockClock, Store, Ttl};

/// A store under test, a second store of the same backend in another namespace, and a way
/// to let time pass for it (`None` for a server's own clock, which tests do not wait out).
struct Harness<S> {
    store: S,
    sibling: S,
    advance: Option<Box<dyn Fn(Duration)>>,
}

async fn conformance<S: Store>(h: Harness<S>) {
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

fn memory() -> Harness<MemoryStore> {
    let (clock, mock): (Clock, MockClock) = Clock::mock();
    let shared: Cache<String, Arc<[u8]>> = Cache::builder().clock(clock).build();
    Harness {
        store: MemoryStore::with_cache("ns", shared.clone()),
        sibling: MemoryStore::with_cache("other", shared),
        advance: Some(Box::new(move |d| mock.advance(d))),
    }
}

#[tokio::test]
async fn memory_store_conforms() {
    conformance(memory()).await;
}

#[tokio::test]
async fn memory_store_debug_shows_no_bytes() {
    let store = MemoryStore::new("secret-ns");
    store.set("k", b"password123", Ttl::Never).await.unwrap();
    let debug = format!("{store:?}");
    assert!(!debug.contains("password123"));
}

/// The Redis server the gate started (`scripts/services.sh`), or `None` outside the gate. In
/// CI a missing server is a failure, not a skip.
#[cfg(feature = "redis")]
fn redis_url() -> Option<String> {
    match std::env::var("LARDER_REDIS_URL") {
        Ok(url) => Some(url),
        Err(_) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("LARDER_REDIS_URL is not set: scripts/test starts Redis")
        }
        Err(_) => None,
    }
}

/// A namespace no other test uses.
#[cfg(feature = "redis")]
fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn redis_store_conforms() {
    use larder::RedisStore;
    let Some(url) = redis_url() else { return };
    let ns = unique("conform");
    let store = RedisStore::connect(&url, &ns).await.unwrap();
    let sibling = RedisStore::connect(&url, &format!("{ns}-other"))
        .await
        .unwrap();
    conformance(Harness {
        store,
        sibling,
        advance: None,
    })
    .await;
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn redis_ttls_are_set_and_persisted_on_the_server() {
    use larder::RedisStore;
    let Some(url) = redis_url() else { return };
    let ns = unique("ttl");
    let store = RedisStore::connect(&url, &ns).await.unwrap();
    store
        .set("k", b"v", Ttl::After(Duration::from_secs(100)))
        .await
        .unwrap();
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("{ns}:k");
    let pttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!((90_000..=100_000).contains(&pttl), "SET PX: {pttl} ms left");
    assert!(store.expire("k", Ttl::Never).await.unwrap());
    let pttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(pttl, -1, "persisted");
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_concurrent_gets_are_coalesced_and_answer_each_key() {
    use larder::RedisStore;
    let Some(url) = redis_url() else { return };
    let store = Arc::new(
        RedisStore::connect(&url, &unique("coalesce"))
            .await
            .unwrap(),
    );
    for i in 0..100u32 {
        store
            .set(&i.to_string(), &i.to_le_bytes(), Ttl::Never)
            .await
            .unwrap();
    }
    let tasks: Vec<_> = (0..1_000u32)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { (i, store.get(&(i % 150).to_string()).await.unwrap()) })
        })
        .collect();
    for task in tasks {
        let (i, got) = task.await.unwrap();
        let k = i % 150;
        let expected = (k < 100).then(|| k.to_le_bytes().to_vec());
        assert_eq!(got, expected, "key {k}");
    }
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn redis_errors_hide_the_url_and_name_their_kind() {
    use larder::RedisStore;
    let err = RedisStore::connect("not a url with a secret-password", "ns")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(!format!("{err} {err:?}").contains("secret-password"));
    // Nothing listens on port 1: Backend (refused) or Timeout, never a hang or a panic.
    let err = RedisStore::connect("redis://:secret-password@127.0.0.1:1", "ns")
        .await
        .unwrap_err();
    assert!(matches!(
        err.kind(),
        ErrorKind::Backend | ErrorKind::Timeout
    ));
    assert!(!format!("{err} {err:?}").contains("secret-password"));
}

/// A Redis server of the test's own, restartable, persisting every write (appendfsync
/// always), on a loopback port.
#[cfg(feature = "redis")]
struct OwnRedis {
    port: u16,
    dir: std::path::PathBuf,
    child: Option<std::process::Child>,
}

#[cfg(feature = "redis")]
impl OwnRedis {
    fn start(port: u16) -> Self {
        let dir = std::env::temp_dir().join(unique("larder-redis"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut server = Self {
            port,
            dir,
            child: None,
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let child = std::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server (scripts/test installs it)");
        self.child = Some(child);
        // Until it listens (a setup wait, bounded; not a test of timing).
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[cfg(feature = "redis")]
impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_reconnects_after_a_restart_and_loses_no_acknowledged_write() {
    use larder::RedisStore;
    // Only where the gate runs servers (it installed redis-server).
    if redis_url().is_none() {
        return;
    }
    let mut server = OwnRedis::start(16390);
    let url = format!("redis://127.0.0.1:{}", server.port);
    let store = RedisStore::connect(&url, "reconnect")
        .await
        .unwrap()
        .with_timeout(Some(Duration::from_millis(500)));
    store.set("before", b"1", Ttl::Never).await.unwrap();

    server.stop();
    // While it is down: a typed error within the timeout, not a hang.
    let down = tokio::time::timeout(Duration::from_secs(5), store.get("before")).await;
    let err = down.expect("answers within its timeout").unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Backend | ErrorKind::Timeout),
        "{err:?}"
    );

    server.spawn();
    // The connection manager reconnects by itself; the first calls may still fail.
    let mut back = None;
    for _ in 0..100 {
        if let Ok(value) = store.get("before").await {
            back = Some(value);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        back.expect("reconnected").as_deref(),
        Some(&b"1"[..]),
        "the write acknowledged before the restart survived it"
    );
    store.set("after", b"2", Ttl::Never).await.unwrap();
    assert_eq!(
        store.get("after").await.unwrap().as_deref(),
        Some(&b"2"[..])
    );
}
