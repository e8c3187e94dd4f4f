//! Batching, DataLoader style: concurrent misses collapsed into one call of a batch function.
//!
//! Start at `loader.rs` ([`BatchLoader`]: gathering misses into batches and dispatching them).
//! Every key of a batch is an ordinary load of the cache, joined and led through the load
//! protocol (`crate::load`, which also runs the batch call and hands each key its result),
//! so batch loads and `get_with` loads of the same key coalesce. `dataloader.rs` is the
//! per-request [`DataLoader`]. [`Cache::get_many_with`](crate::Cache::get_many_with), the
//! one-shot multi-key load, lives with the cache.
//!
//! # Examples
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use larder::batch::DataLoader;
//!
//! let loader = DataLoader::new(|ids: Vec<u32>| async move {
//!     Ok::<_, String>(ids.iter().map(|id| id * 10).collect::<Vec<_>>())
//! });
//! assert_eq!(loader.load_many([1, 2]).await.unwrap(), [Some(10), Some(20)]);
//! # }
//! ```

#[cfg(feature = "tokio")]
mod dataloader;
#[cfg(feature = "tokio")]
mod loader;

#[cfg(feature = "tokio")]
pub use dataloader::{DataLoader, DataLoaderBuilder};
#[cfg(feature = "tokio")]
pub use loader::{BatchLoader, BatchLoaderBuilder};

pub use crate::load::BatchResult;
