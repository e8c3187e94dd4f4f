//! `rediss://`: `RedisStore` over TLS against the gate's TLS redis-server (its certificate
//! signed by a CA the gate makes with openssl: `LARDER_REDIS_TLS_URL`, `LARDER_REDIS_TLS_CA`).
//! A round trip (the conformance suite), `from_url` with `ca=`, a watch over TLS, and a
//! certificate nobody here trusts refused with a `Config` error.

#![cfg(feature = "redis-tls")]
#![allow(clippy::unwrap_used)] // a failed operation fails the test
#![allow(clippy::disallowed_types)] // a std Mutex records what the watch reports

mod conformance;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use conformance::{Harness, run_all, service, unique};
use larder::store::{AnyStore, Invalidation, RedisStore, Store, from_url};
use larder::{ErrorKind, Ttl};

/// A CA that signed nothing the gate runs.
const OTHER_CA: &str = "-----BEGIN CERTIFICATE-----
MIIBmTCCAT+gAwIBAgIUeoxIcGuANHCxIOIbJQR7+08rVaEwCgYIKoZIzj0EAwIw
ITEfMB0GA1UEAwwWbm90IHRoZSBsYXJkZXIgdGVzdCBDQTAgFw0yNjEyMDQyMDIx
NTZaGA8yMTI2MTExMDIwMjE1NlowITEfMB0GA1UEAwwWbm90IHRoZSBsYXJkZXIg
dGVzdCBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABGHYtKZSRqmyLb295qzI
bGpubg9jbGmfNDjuH2Uzhm8K0e7vNSNL4sBfZQmua7C1+3EzoZC+yQj6Q+bC7Fi/
iuWjUzBRMB0GA1UdDgQWBBR2qqRpsGN02WA39bltMXvSEIRJUjAfBgNVHSMEGDAW
gBR2qqRpsGN02WA39bltMXvSEIRJUjAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49
BAMCA0gAMEUCIG1mZQ2U/IovnaO6NBpb/HhHGyF0cDbFKTQtWgHX7IIfAiEAhavt
YYGJj55gJsW+HVzKq7jhmp1fYQJjFiGhxr/cVIY=
-----END CERTIFICATE-----
";

/// The TLS server's URL and its CA's PEM, or `None` (skipped) without the gate's servers.
fn tls_server() -> Option<(String, String, Vec<u8>)> {
    let url = service("LARDER_REDIS_TLS_URL")?;
    let ca_path = service("LARDER_REDIS_TLS_CA")?;
    let pem = std::fs::read(&ca_path).unwrap();
    Some((url, ca_path, pem))
}

#[tokio::test]
async fn a_tls_store_trusting_the_gates_ca_conforms() {
    let Some((url, _, ca)) = tls_server() else {
        return;
    };
    let ns = unique("tls");
    let store = RedisStore::connect_tls(&url, &ns, &ca).await.unwrap();
    let sibling = RedisStore::connect_tls(&url, &format!("{ns}-other"), &ca)
        .await
        .unwrap();
    run_all(Harness::new(store, sibling)).await;
}

#[tokio::test]
async fn from_url_rediss_with_a_ca_file_round_trips() {
    let Some((url, ca_path, _)) = tls_server() else {
        return;
    };
    let ns = unique("tls-url");
    let store = from_url(&format!(
        "{url}?namespace={ns}&ca={ca_path}&ttl=1h&coalesce=false"
    ))
    .await
    .unwrap();
    assert!(matches!(store, AnyStore::Redis(_)));
    assert_eq!(store.default_ttl(), Some(Duration::from_secs(3600)));
    store.set("k", b"over tls", Ttl::Default).await.unwrap();
    assert_eq!(
        store.get("k").await.unwrap().as_deref(),
        Some(&b"over tls"[..])
    );
    store.clear().await.unwrap();
}

#[tokio::test]
async fn a_certificate_signed_by_another_ca_is_a_config_error() {
    let Some((url, _, _)) = tls_server() else {
        return;
    };
    let err = RedisStore::connect_tls(&url, "ns", OTHER_CA.as_bytes())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err:?}");
    assert!(err.to_string().contains("certificate"), "{err}");
    // The system's roots do not know the gate's CA either.
    let err = RedisStore::connect(&url, "ns").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err:?}");
}

#[tokio::test]
async fn a_bad_ca_file_is_a_config_error() {
    let Some((url, _, _)) = tls_server() else {
        return;
    };
    let err = from_url(&format!("{url}?ca=/nonexistent/ca.pem"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err:?}");
    let err = RedisStore::connect_tls(&url, "ns", b"not a certificate")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_over_tls_reports_writes() {
    let Some((url, _, ca)) = tls_server() else {
        return;
    };
    let ns = unique("tls-watch");
    let store = RedisStore::connect_tls(&url, &ns, &ca).await.unwrap();
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = {
        let seen = Arc::clone(&seen);
        Arc::new(move |report: Invalidation| {
            if let Invalidation::Keys(keys) = report {
                seen.lock().unwrap().extend(keys);
            }
        })
    };
    let watch = store.watch("", sink).await.unwrap().expect("Redis watches");
    store.set("k", b"v", Ttl::Never).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !seen.lock().unwrap().iter().any(|k| k == "k") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no report within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    drop(watch);
    store.clear().await.unwrap();
}
