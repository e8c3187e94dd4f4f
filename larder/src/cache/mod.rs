//! [`Cache`]: the in-process cache, one file per role.
//!
//! `handle.rs` holds the type, its state and the operations that load nothing; `builder.rs`
//! its settings (validated, then assembled); `load.rs` the `get_with` family, `load_ref.rs` its
//! borrowing members (`get_with_by_ref`, `get_with_local`); `refresh.rs`
//! `refresh` and the background refreshes (stale-while-revalidate, refresh-ahead), whose
//! settings and XFetch draw are in `revalidation.rs`;
//! `many.rs` the multi-key reads; `compare.rs` the compare-and-swap writes `MemoryStore`'s
//! read-modify-writes are made of; `tags.rs` tagged inserts and loads and `invalidate_tag`;
//! `inspect.rs` `peek`, `ttl`, `expire` and `insert_many`; `entry.rs` the entry API; `iter.rs` the lazy `Iter`;
//! `warmup.rs` and `close.rs` what their names say; `switch.rs` the kill switch
//! (`LARDER_DISABLE`); `hooked.rs` the operations of a cache with hooks
//! (`CacheBuilder::hooks`), off the path of one without;
//! `snapshot.rs` `save` and `restore`, `snapshot_settings.rs` the builder's `restore_from` and
//! `autosave`, and `autosave.rs` the autosave task (feature `snapshot`). Every
//! load goes through the load protocol (`crate::load`); the cache's fields are private to
//! this module.

#[cfg(feature = "snapshot")]
mod autosave;
mod builder;
mod close;
mod compare;
mod entry;
mod handle;
mod hooked;
mod inspect;
mod iter;
mod load;
mod load_ref;
mod many;
mod refresh;
mod revalidation;
#[cfg(feature = "snapshot")]
mod snapshot;
#[cfg(feature = "snapshot")]
mod snapshot_settings;
mod switch;
mod tags;
mod warmup;

pub use builder::CacheBuilder;
pub use close::CloseMode;
pub use entry::{Computed, Entry, EntrySelector, Op};
pub use handle::Cache;
pub use iter::Iter;
pub use warmup::WarmupReport;
#[cfg(feature = "tier")]
pub(crate) use warmup::{WARMUP_CONCURRENCY, Warmed};
