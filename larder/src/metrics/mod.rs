//! Metrics through the [`metrics`](https://docs.rs/metrics) facade (feature `metrics`): every
//! [`Stats`](crate::Stats) and [`TierStats`](crate::tier::TierStats) counter, and a histogram
//! of load durations, for whatever recorder the application installs (for example
//! `metrics-exporter-prometheus`).
//!
//! # Hits pay nothing
//!
//! A cache already counts everything in its [`stats`](crate::Cache::stats). Nothing here is
//! done per lookup: a [`MetricsPublisher`] reads each registered source's stats when you call
//! [`publish`](MetricsPublisher::publish) (before rendering a scrape, say) or on an interval
//! ([`publish_every`](MetricsPublisher::publish_every)), and sets the facade's counters to
//! them with `absolute`, and its gauges with `set`. Only loads, the slow path, record a
//! sample each into `larder_load_duration_seconds`, as they finish.
//!
//! Any type can be published this way: implement [`MetricsSource`] for it and register it.
//!
//! # Metrics
//!
//! Every metric is labelled with the cache's [name](crate::CacheBuilder::name), as
//! `cache="users"` (`cache=""` for an unnamed cache, which Prometheus shows as no label). A
//! tier is labelled with its L1 cache's name, and also publishes its L1's `larder_cache_*`.
//! A `#[cached]` function's caches are published under the function's name.
//!
//! | metric | type | from |
//! |---|---|---|
//! | `larder_cache_hits_total` | counter | [`Stats::hits`](crate::Stats::hits) |
//! | `larder_cache_misses_total` | counter | [`Stats::misses`](crate::Stats::misses) |
//! | `larder_cache_size` | gauge | [`Stats::size`](crate::Stats::size) (live entries) |
//! | `larder_cache_weighted_size` | gauge | [`Stats::weighted_size`](crate::Stats::weighted_size) |
//! | `larder_cache_loads_total` | counter | [`Stats::loads`](crate::Stats::loads) |
//! | `larder_cache_load_errors_total` | counter | [`Stats::load_errors`](crate::Stats::load_errors) |
//! | `larder_cache_coalesced_total` | counter | [`Stats::coalesced`](crate::Stats::coalesced) |
//! | `larder_cache_load_time_seconds` | gauge | [`Stats::total_load_nanos`](crate::Stats::total_load_nanos), in seconds (a gauge, since the facade's counters are integers; it only grows) |
//! | `larder_cache_refreshes_total` | counter | [`Stats::refreshes`](crate::Stats::refreshes) |
//! | `larder_cache_stale_served_total` | counter | [`Stats::stale_served`](crate::Stats::stale_served) |
//! | `larder_cache_batches_total` | counter | [`Stats::batches`](crate::Stats::batches) |
//! | `larder_cache_batched_keys_total` | counter | [`Stats::batched_keys`](crate::Stats::batched_keys) |
//! | `larder_cache_evictions_total` | counter | [`Stats::evictions`](crate::Stats::evictions) |
//! | `larder_cache_expirations_total` | counter | [`Stats::expirations`](crate::Stats::expirations) |
//! | `larder_cache_hook_panics_total` | counter | [`Stats::hook_panics`](crate::Stats::hook_panics) |
//! | `larder_load_duration_seconds` | histogram | each loader or batch-function call, recorded when it ends (on the cache's [`Clock`](crate::Clock)) |
//! | `larder_tier_l1_hits_total` | counter | [`TierStats::l1_hits`](crate::tier::TierStats::l1_hits) |
//! | `larder_tier_l2_hits_total` | counter | [`TierStats::l2_hits`](crate::tier::TierStats::l2_hits) |
//! | `larder_tier_l2_misses_total` | counter | [`TierStats::l2_misses`](crate::tier::TierStats::l2_misses) |
//! | `larder_tier_l2_errors_total` | counter | [`TierStats::l2_errors`](crate::tier::TierStats::l2_errors) |
//! | `larder_tier_l2_timeouts_total` | counter | [`TierStats::l2_timeouts`](crate::tier::TierStats::l2_timeouts) |
//! | `larder_tier_l2_skipped_total` | counter | [`TierStats::l2_skipped`](crate::tier::TierStats::l2_skipped) |
//! | `larder_tier_l2_write_errors_total` | counter | [`TierStats::l2_write_errors`](crate::tier::TierStats::l2_write_errors) |
//! | `larder_tier_breaker_state` | gauge | [`TierStats::breaker`](crate::tier::TierStats::breaker): 0 closed, 1 half-open, 2 open |
//! | `larder_tier_breaker_trips_total` | counter | [`TierStats::breaker_trips`](crate::tier::TierStats::breaker_trips) |
//! | `larder_tier_lease_waits_total` | counter | [`TierStats::lease_waits`](crate::tier::TierStats::lease_waits) |
//! | `larder_tier_lease_timeouts_total` | counter | [`TierStats::lease_timeouts`](crate::tier::TierStats::lease_timeouts) |
//! | `larder_tier_invalidations_sent_total` | counter | [`TierStats::invalidations_sent`](crate::tier::TierStats::invalidations_sent) |
//! | `larder_tier_invalidations_received_total` | counter | [`TierStats::invalidations_received`](crate::tier::TierStats::invalidations_received) |
//! | `larder_tier_write_behind_drops_total` | counter | [`TierStats::write_behind_drops`](crate::tier::TierStats::write_behind_drops) |
//! | `larder_tier_pending_invalidations` | gauge | [`TierStats::pending_invalidations`](crate::tier::TierStats::pending_invalidations) |
//!
//! Counters are set with the facade's `absolute`, which recorders such as the Prometheus
//! exporter treat as "at least": after [`Cache::reset_stats`](crate::Cache::reset_stats), a
//! published counter stays where it was until the cache's count passes it again. Don't reset
//! the stats of a cache whose metrics are published.
//!
//! # Names
//!
//! Name every cache you publish. Two caches with one name, or two unnamed ones, publish to
//! the same series: a counter then shows the larger of their counts, not their sum, and a
//! gauge whichever was written last. A publisher keeps the sources registered with it alive
//! as long as it lives (there is no unregistering): for caches made and dropped while the
//! program runs (one per tenant, say), give each group its own publisher and drop it with
//! them.
//!
//! # Stores
//!
//! A tier publishes its L2 store's counters under its L1's name. Any other store
//! registered as [`StoreMetrics::new(name, store)`](StoreMetrics) publishes its
//! [`StoreStats`](crate::store::StoreStats), labelled `store="{name}"` and
//! `backend="{backend}"`:
//!
//! | metric | type | from |
//! |---|---|---|
//! | `larder_store_gets_total` | counter | keys asked for |
//! | `larder_store_hits_total` / `larder_store_misses_total` | counter | keys found / not found |
//! | `larder_store_sets_total` | counter | keys written |
//! | `larder_store_deletes_total` | counter | calls of `delete` |
//! | `larder_store_errors_total` / `larder_store_timeouts_total` | counter | failed operations |
//! | `larder_store_operation_duration_seconds_bucket` | counter, `class`, `le` | cumulative latency buckets (`class`: `read`, `write`, `removal`) |
//! | `larder_store_operation_duration_seconds_count` / `_sum` | counter / gauge | operations and their total seconds, by `class` |
//!
//! # Examples
//!
//! ```
//! use larder::Cache;
//! use larder::metrics::MetricsPublisher;
//!
//! let users: Cache<u64, String> = Cache::builder().name("users").build();
//! let publisher = MetricsPublisher::new();
//! publisher.register(users.clone());
//! users.insert(1, "ada".to_string());
//! users.get(&1);
//! // With a recorder installed (`metrics::set_global_recorder`), this sets
//! // larder_cache_hits_total{cache="users"} to 1, and the others.
//! publisher.publish();
//! ```

mod cache;
mod emit;
mod publisher;
mod source;
mod store;
#[cfg(feature = "tier")]
mod tier;

pub use publisher::{MetricsPublisher, PublishTask};
pub use source::MetricsSource;
pub use store::StoreMetrics;
