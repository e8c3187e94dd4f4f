//! Invalidation across instances: a tier watches its key prefix in its store
//! ([`Store::watch`](crate::store::Store::watch): on Redis, server-assisted client-side
//! caching), and drops its L1 copy of whatever anyone writes there: another instance, another
//! program, `redis-cli`. A report that arrives while a read or load of the key is in flight
//! keeps that result out of L1 (L1's own invalidation rule) and out of L2 (the write
//! generations).
//!
//! While the watch is disconnected, L1 keeps serving what it has, each entry within its L1
//! TTL: that TTL is the staleness bound. Reports missed meanwhile are made up for on
//! reconnecting, when the store reports "everything" and L1 is cleared.

use std::hash::Hash;
use std::sync::{Arc, Weak};
use std::time::Duration;

use super::key::{Named, TierKey};
use super::stats::bump;
use super::tiered::Inner;
use crate::store::{Invalidation, InvalidationSink};

impl<K, V> Inner<K, V>
where
    K: TierKey + Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Applies a report from the store's watch to L1.
    pub(super) fn invalidated(&self, report: Invalidation) {
        bump(&self.counters.invalidations_received);
        match report {
            Invalidation::Keys(keys) => {
                for key in keys {
                    match self.layout.name(&key) {
                        Named::Entry(encoded) => {
                            self.generations.bump(&key);
                            self.written.notify_waiters();
                            if let Some(key) = K::decode(encoded) {
                                self.l1.remove(&key);
                            }
                        }
                        Named::Tag(tag) => {
                            self.generations.bump_all();
                            self.l1.invalidate_tag(tag);
                        }
                        Named::Other => {}
                    }
                }
            }
            // "Everything": a flush, a reconnect, a report queue that overflowed. L1 may
            // have missed anything, so it goes; loads in flight still write their values to
            // L2, which holds nothing older than what they loaded, as far as anyone can tell.
            _ => self.l1.clear(),
        }
    }
}

/// Starts watching `inner`'s prefix on a task of the current runtime: it asks the store
/// until it answers (backing off from 100 ms to 5 s while it cannot be reached), keeps the
/// watch in the tier, and ends when the tier is dropped or the store cannot watch.
pub(super) fn start<K, V>(inner: &Arc<Inner<K, V>>)
where
    K: TierKey + Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let weak = Arc::downgrade(inner);
    runtime.spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            let Some(inner) = weak.upgrade() else {
                return;
            };
            let sink: InvalidationSink = {
                let weak: Weak<Inner<K, V>> = Arc::downgrade(&inner);
                Arc::new(move |report| {
                    if let Some(inner) = weak.upgrade() {
                        inner.invalidated(report);
                    }
                })
            };
            let prefix = inner.layout.prefix().to_owned();
            match inner.l2.store.watch(&prefix, sink).await {
                Ok(Some(watch)) => {
                    let _ = inner.watch.set(watch);
                    return;
                }
                Ok(None) => return, // this store cannot watch: L1 TTLs bound staleness
                Err(_) => {}
            }
            drop(inner);
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    });
}
