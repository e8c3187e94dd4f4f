//! Feature `tracing`: every store operation runs in a span with OpenTelemetry's attribute
//! names, and no span ever holds a key or a value. A small subscriber collects the spans.

#![allow(clippy::unwrap_used)] // a failed operation fails the test
#![allow(clippy::disallowed_types)] // a std Mutex holds the collected spans

mod conformance;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use larder::Ttl;
use larder::store::{MemoryStore, Store};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// One span: its name and its fields as text.
#[derive(Debug, Clone)]
struct Span {
    name: &'static str,
    fields: BTreeMap<String, String>,
}

impl Span {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

/// A subscriber that keeps every span it is told of, with every field recorded on it.
#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<Span>>>);

impl Collector {
    fn spans(&self) -> Vec<Span> {
        self.0.lock().unwrap().clone()
    }

    /// The spans of `op`.
    fn of(&self, op: &str) -> Vec<Span> {
        let spans = self.spans().into_iter();
        spans
            .filter(|s| s.field("db.operation.name") == Some(op))
            .collect()
    }
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

impl Subscriber for Collector {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, attributes: &Attributes<'_>) -> Id {
        let mut span = Span {
            name: attributes.metadata().name(),
            fields: BTreeMap::new(),
        };
        attributes.record(&mut Fields(&mut span.fields));
        let mut spans = self.0.lock().unwrap();
        spans.push(span);
        Id::from_u64(spans.len() as u64)
    }

    fn record(&self, id: &Id, values: &Record<'_>) {
        let mut spans = self.0.lock().unwrap();
        let index = usize::try_from(id.into_u64() - 1).unwrap();
        values.record(&mut Fields(&mut spans[index].fields));
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, _: &Event<'_>) {}

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// Asserts that no span holds `secret` in any field.
fn assert_never_holds(collector: &Collector, secret: &str) {
    for span in collector.spans() {
        for (name, value) in &span.fields {
            assert!(!value.contains(secret), "{name} = {value} in {span:?}");
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn every_memory_store_operation_has_a_span_without_keys_or_values() {
    let collector = Collector::default();
    let _default = tracing::subscriber::set_default(collector.clone());
    let store = MemoryStore::new("traced");
    store
        .set("key-secret", b"value-secret", Ttl::Never)
        .await
        .unwrap();
    store.get("key-secret").await.unwrap();
    store
        .get_many(&["key-secret", "other-secret"])
        .await
        .unwrap();
    store.delete("key-secret").await.unwrap();

    for op in ["SET", "GET", "GET_MANY", "DELETE"] {
        let spans = collector.of(op);
        assert_eq!(spans.len(), 1, "{op}: {:?}", collector.spans());
        let span = &spans[0];
        assert_eq!(span.name, "larder.store");
        assert_eq!(span.field("db.system.name"), Some("memory"));
        assert_eq!(span.field("otel.kind"), Some("client"));
        assert_eq!(span.field("server.address"), None, "in this process");
    }
    assert_eq!(
        collector.of("GET")[0].field("db.response.returned_rows"),
        Some("1")
    );
    let many = &collector.of("GET_MANY")[0];
    assert_eq!(many.field("db.operation.batch.size"), Some("2"));
    assert_eq!(many.field("db.response.returned_rows"), Some("1"));
    assert_never_holds(&collector, "secret");
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_operation_records_its_error_type() {
    let collector = Collector::default();
    let _default = tracing::subscriber::set_default(collector.clone());
    let store = MemoryStore::new("traced");
    store.close().await.unwrap();
    assert!(store.increment("n", 1).await.is_err());
    let span = &collector.of("INCREMENT")[0];
    assert_eq!(span.field("error.type"), Some("closed"));
    assert_eq!(span.field("otel.status_code"), Some("ERROR"));
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "current_thread")]
async fn a_redis_store_names_its_server_but_never_its_password() {
    let Some(url) = conformance::service("LARDER_REDIS_URL") else {
        return;
    };
    let collector = Collector::default();
    let _default = tracing::subscriber::set_default(collector.clone());
    let store = larder::store::RedisStore::connect(&url, &conformance::unique("traced"))
        .await
        .unwrap();
    store
        .set("key-secret", b"value-secret", Ttl::Never)
        .await
        .unwrap();
    assert!(store.get("key-secret").await.unwrap().is_some());
    let info = redis::IntoConnectionInfo::into_connection_info(url.as_str()).unwrap();
    let redis::ConnectionAddr::Tcp(host, port) = info.addr() else {
        panic!("the gate's Redis is on TCP");
    };
    for op in ["SET", "GET"] {
        let span = &collector.of(op)[0];
        assert_eq!(span.field("db.system.name"), Some("redis"));
        assert_eq!(span.field("server.address"), Some(host.as_str()));
        assert_eq!(span.field("server.port"), Some(port.to_string().as_str()));
    }
    assert_never_holds(&collector, "secret");
}

#[cfg(feature = "memcached")]
#[tokio::test(flavor = "current_thread")]
async fn a_memcached_store_on_one_server_names_it() {
    let Some(servers) = conformance::service("LARDER_MEMCACHED_ADDRS") else {
        return;
    };
    let first = servers.split(',').next().unwrap().to_string();
    let collector = Collector::default();
    let _default = tracing::subscriber::set_default(collector.clone());
    let store = larder::store::MemcachedStore::connect(&[first.as_str()], "traced")
        .await
        .unwrap();
    store.get("key-secret").await.unwrap();
    let span = &collector.of("GET")[0];
    assert_eq!(span.field("db.system.name"), Some("memcached"));
    let (host, port) = first.rsplit_once(':').unwrap();
    assert_eq!(span.field("server.address"), Some(host));
    assert_eq!(span.field("server.port"), Some(port));
    assert_eq!(span.field("db.response.returned_rows"), Some("0"));
    assert_never_holds(&collector, "secret");
}
