//! Compile-time checks of the auto traits and derives the public types promise (DESIGN.md):
//! if one of them regresses, this file stops compiling.

use std::fmt::Debug;
use std::sync::Arc;

use larder::{Cache, CacheBuilder, Clock, Error, MockClock, Policy, RemovalCause, Stats, Ttl};

fn send_sync<T: Send + Sync>() {}
fn clone<T: Clone>() {}
fn plain_value<T: Copy + Eq + Debug>() {}
fn clone_debug<T: Clone + Debug>() {}
fn static_error<T: std::error::Error + Send + Sync + 'static>() {}

type Blob = Arc<Vec<u8>>;

#[test]
fn cache_and_builder_are_send_and_sync() {
    send_sync::<Cache<String, Blob>>();
    send_sync::<CacheBuilder<String, Blob>>();
    send_sync::<Cache<u64, String>>();
}

#[test]
fn tag_is_a_shareable_value() {
    send_sync::<larder::Tag>();
    clone_debug::<larder::Tag>();
}

#[test]
fn cache_is_clone_and_debug() {
    clone::<Cache<String, Blob>>();
    clone_debug::<Cache<String, Blob>>();
}

#[test]
fn policy_ttl_and_removal_cause_are_copy_eq_debug() {
    plain_value::<Policy>();
    plain_value::<Ttl>();
    plain_value::<RemovalCause>();
}

#[test]
fn stats_is_clone_and_debug() {
    clone_debug::<Stats>();
}

#[test]
fn clocks_can_be_shared_between_threads() {
    send_sync::<Clock>();
    send_sync::<MockClock>();
    clone_debug::<Clock>();
    clone_debug::<MockClock>();
}

#[test]
fn error_is_a_shareable_std_error() {
    static_error::<Error>();
    clone::<Error>();
    static_error::<larder::LoadError<std::io::Error>>();
    clone::<larder::LoadError<std::io::Error>>();
}

fn send<T: Send>(_: &T) {}

#[test]
fn loading_futures_are_send() {
    // Built, checked, dropped unpolled: spawning them on a multi-threaded runtime needs Send.
    let cache: Cache<String, Blob> = Cache::new(10);
    let get_with = cache.get_with("k".to_string(), async { Blob::default() });
    send(&get_with);
    let try_get_with =
        cache.try_get_with("k".to_string(), async { Ok::<_, String>(Blob::default()) });
    send(&try_get_with);
    let optionally = cache.optionally_get_with("k".to_string(), async { None });
    send(&optionally);
    let with_ttl = cache.get_with_ttl("k".to_string(), async {
        (Blob::default(), larder::Ttl::Default)
    });
    send(&with_ttl);
    let with_tags = cache.get_with_tags("k".to_string(), async {
        (Blob::default(), vec![larder::Tag::from("t")])
    });
    send(&with_tags);
    let try_with_tags = cache.try_get_with_tags("k".to_string(), async {
        Ok::<_, String>((Blob::default(), Vec::new()))
    });
    send(&try_with_tags);
    // refresh and warmup take loaders that need not be 'static; their futures are Send too.
    let local = Blob::default();
    let refresh = cache.refresh("k".to_string(), async { local.clone() });
    send(&refresh);
    let warmup = cache.warmup([("k".to_string(), async { Ok::<_, String>(local.clone()) })]);
    send(&warmup);
    let close = cache.close(larder::CloseMode::Wait);
    send(&close);
    // The key borrowed, the loader borrowing: Send when what they borrow is Sync.
    let by_ref = cache.get_with_by_ref("k", async { Blob::default() });
    send(&by_ref);
    let try_by_ref = cache.try_get_with_by_ref("k", async { Ok::<_, String>(Blob::default()) });
    send(&try_by_ref);
    let with_local = cache.get_with_local("k".to_string(), async { local.clone() });
    send(&with_local);
    let try_with_local =
        cache.try_get_with_local("k".to_string(), async { Ok::<_, String>(local.clone()) });
    send(&try_with_local);
}

#[test]
fn entry_types_and_the_iterator_are_send_and_sync() {
    send_sync::<larder::Iter<'static, String, Blob>>();
    send_sync::<larder::EntrySelector<'static, String, Blob, larder::DefaultHashBuilder>>();
    send_sync::<larder::Entry<String, Blob>>();
    clone_debug::<larder::Entry<String, Blob>>();
    send_sync::<larder::Computed<Blob>>();
    clone_debug::<larder::Computed<Blob>>();
    clone_debug::<larder::Op<Blob>>();
}

#[cfg(feature = "snapshot")]
#[test]
fn snapshot_futures_are_send() {
    // Built, checked, dropped unpolled: nothing touches the file.
    let cache: Cache<String, String> = Cache::new(10);
    let save = cache.save("unused.snapshot");
    send(&save);
    let restore = cache.restore("unused.snapshot");
    send(&restore);
    clone_debug::<larder::SaveReport>();
    clone_debug::<larder::RestoreReport>();
    send_sync::<larder::SaveReport>();
    send_sync::<larder::RestoreReport>();
}

#[test]
fn a_watch_and_its_reports_can_be_shared_between_threads() {
    use larder::store::{Invalidation, InvalidationSink, MemoryStore, Store, Watch};
    send_sync::<Watch>();
    send_sync::<Invalidation>();
    clone_debug::<Invalidation>();
    send_sync::<InvalidationSink>();
    let store = MemoryStore::new("ns");
    let sink: InvalidationSink = Arc::new(|_| {});
    // Every store's, since the trait says so: checked here on the default.
    let watch = store.watch("p", sink);
    send(&watch);
}
