//! Batching, DataLoader style: concurrent misses collapsed into one call of a batch function.
//!
//! Start at `loader.rs` ([`BatchLoader`]: gathering misses into batches and dispatching them),
//! then `run.rs` (one batch: calling the batch function and handing each key's result to its
//! waiters). Every key of a batch is an ordinary flight in the cache's registry, so batch
//! loads and `get_with` loads of the same key coalesce. `dataloader.rs` is the per-request
//! [`DataLoader`]; `result.rs` the shapes a batch function may return; `many.rs` the
//! multi-key reads of `Cache`.

#[cfg(feature = "tokio")]
mod dataloader;
#[cfg(feature = "tokio")]
mod loader;
mod many;
mod result;
mod run;

#[cfg(feature = "tokio")]
pub use dataloader::{DataLoader, DataLoaderBuilder};
#[cfg(feature = "tokio")]
pub use loader::{BatchLoader, BatchLoaderBuilder};
pub use result::BatchResult;
