//! Hooks: user code called before and after a cache's or a store's operations, as aiocache's
//! plugins are.
//!
//! [`Hooks`] has two methods, [`before`](Hooks::before) and [`after`](Hooks::after), both
//! with defaults that do nothing. They are told of every get, set, delete and load as a
//! [`Call`] (which operation, on which key), and `after` also of its [`Outcome`] and how long
//! it took. Set them on a cache with [`CacheBuilder::hooks`](crate::CacheBuilder::hooks), and
//! on any store, larder's or your own, by wrapping it in
//! [`store::Hooked`](crate::store::Hooked).
//!
//! A hook that panics is contained: the panic is caught, counted
//! ([`Stats::hook_panics`](crate::Stats::hook_panics),
//! [`Hooked::hook_panics`](crate::store::Hooked::hook_panics)), and the operation goes on as if
//! the hook had returned. A cache without hooks pays one predictable branch per lookup for
//! them, nothing else.
//!
//! A tiered cache (`tier::Tiered`, feature `tier`) has no hooks of its own: it is made of
//! parts that have them. Give its L1 hooks with `CacheBuilder::hooks` (they see L1's lookups,
//! its fills, and each load the tier runs, L2 read included, as `Op::Load`), and wrap its L2
//! in `Hooked` (they see the tier's reads and writes of the store, by their L2 keys).
//!
//! One file per role: `call.rs` (what a hook is told), `traits.rs` (the trait), `runner.rs`
//! (how larder calls them: timing, panics caught and counted).
//!
//! # Examples
//!
//! A hit ratio, as aiocache's `HitMissRatioPlugin`:
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use std::time::Duration;
//! use larder::Cache;
//! use larder::hooks::{Call, Hooks, Op, Outcome};
//!
//! #[derive(Default)]
//! struct HitRatio { hits: AtomicU64, total: AtomicU64 }
//!
//! impl Hooks for HitRatio {
//!     fn after(&self, call: &Call<'_>, outcome: Outcome, _elapsed: Duration) {
//!         if call.op == Op::Get {
//!             self.total.fetch_add(1, Ordering::Relaxed);
//!             if outcome == Outcome::Hit {
//!                 self.hits.fetch_add(1, Ordering::Relaxed);
//!             }
//!         }
//!     }
//! }
//!
//! let ratio = Arc::new(HitRatio::default());
//! let cache = Cache::builder().hooks(Arc::clone(&ratio)).build();
//! cache.insert("a", 1);
//! assert_eq!(cache.get("a"), Some(1));
//! assert_eq!(cache.get("b"), None);
//! assert_eq!(ratio.hits.load(Ordering::Relaxed), 1);
//! assert_eq!(ratio.total.load(Ordering::Relaxed), 2);
//! ```

mod call;
mod runner;
mod traits;

pub use call::{Call, HookKey, Op, Outcome};
pub(crate) use runner::HookRunner;
pub use traits::Hooks;
