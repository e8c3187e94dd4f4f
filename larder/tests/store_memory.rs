//! `MemoryStore`: the conformance suite and what is particular to it.

#![allow(clippy::unwrap_used)] // a failed operation fails the test

mod conformance;

use std::sync::Arc;

use conformance::{Harness, conformance};
use larder::store::{MemoryStore, Store};
use larder::{Cache, Clock, MockClock, Ttl};

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
