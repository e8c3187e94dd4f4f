//! Helpers shared by the loading tests (each test file includes this with `mod common;`).

#![allow(dead_code)] // each test file uses its own part

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// How long [`counted`]'s loader takes, on tokio's paused clock.
pub(crate) const LOAD: Duration = Duration::from_millis(50);
/// No test may take longer than this (virtual) time: a hang fails instead of blocking.
pub(crate) const NO_HANG: Duration = Duration::from_secs(60);

/// A loader that counts its runs in `calls` and takes [`LOAD`] to produce `value`.
pub(crate) fn counted(
    calls: &Arc<AtomicUsize>,
    value: u64,
) -> impl Future<Output = u64> + Send + 'static {
    let calls = Arc::clone(calls);
    async move {
        calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(LOAD).await;
        value
    }
}
