//! Batching, DataLoader style: concurrent misses collapsed into one call of a batch function.
//!
//! [`BatchLoader`] gathers a cache's misses into batches and dispatches them. Every key of a
//! batch is an ordinary load of the cache, joined and led like any other, and gets its own
//! result from the batch call. So batch loads and `get_with` loads of the same key coalesce.
//! [`DataLoader`] is the per-request variant.
//! [`Cache::get_many_with`](crate::Cache::get_many_with), the one-shot multi-key load, is a
//! method of the cache.
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
