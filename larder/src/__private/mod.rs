//! What the macros' expansions call. Not a public API: it may change in any release.
//!
//! `#[cached]` writes calls to these items and nothing else of larder, so that the caching
//! logic stays plain, tested Rust here (and in the load protocol it calls):
//! - `backing.rs`: [`Backing`], what a `#[cached]` function needs of its cache, implemented
//!   by `Cache` here and by `Tiered` in `tier.rs`, and the loads of the three return shapes;
//! - `generated.rs`: the cache the macro builds itself (a `static` `CachedFn`), its sync
//!   companions, and [`now`] for `#[invalidates]` on a function that is not async;
//! - `tier.rs`: the tier `#[cached(store = ..)]` builds over a user's store.

mod backing;
mod generated;
#[cfg(feature = "tier")]
mod tier;

pub use backing::{Backing, hit, load_option, load_plain, load_result};
pub use generated::{Immediate, builder, built_cache, cache_of, cached_fn, contains, now, remove};
#[cfg(feature = "tier")]
pub use tier::{TieredFn, clear_tier, tier_builder, tier_of, tiered_fn};

pub use crate::{Cache, CachedFn, KeyRef};
pub use std::borrow::{Borrow, ToOwned};
pub use std::boxed::Box;
pub use std::clone::Clone;
pub use std::option::Option;
pub use std::result::Result;
