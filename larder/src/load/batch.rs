//! One batch: the batch function called once for the keys of several loads, its result
//! matched with the keys, and each key's result handed to that key's waiters (and stored).

use std::future::{Future, poll_fn};
use std::hash::{BuildHasher, Hash};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::Poll;

use futures_util::FutureExt;

use super::batch_result::BatchResult;
use super::path::LoadPath;
use crate::Ttl;
use crate::error::{Error, ErrorKind};
use crate::flight::Leader;
use crate::observe::{LoadScope, Outcome};
use crate::sync::Ordering;

/// Why a batch gave no values.
pub(crate) enum BatchFailure<E> {
    /// The batch function's own error.
    Loader(E),
    /// Its result did not match the keys.
    Shape(Error),
}

/// A batch's values aligned with its keys, each with the TTL to store it for.
pub(crate) type Timed<V> = Vec<Option<(V, Ttl)>>;

/// Values that take the cache's default TTL.
pub(crate) fn default_ttl<V>(values: Vec<Option<V>>) -> Timed<V> {
    values
        .into_iter()
        .map(|v| v.map(|v| (v, Ttl::Default)))
        .collect()
}

/// Calls `batch_fn` with `keys` and matches its result with them.
pub(crate) async fn call_batch<K, V, E, R, Fut>(
    batch_fn: impl FnOnce(Vec<K>) -> Fut,
    keys: Vec<K>,
) -> Result<Vec<Option<V>>, BatchFailure<E>>
where
    K: Clone,
    Fut: Future<Output = Result<R, E>>,
    R: BatchResult<K, V>,
{
    let result = batch_fn(keys.clone()).await.map_err(BatchFailure::Loader)?;
    let values = result.into_aligned(&keys).map_err(BatchFailure::Shape)?;
    // Checked for every `BatchResult`, the user's own included: a short result would leave
    // the trailing keys' loads unfinished, and their callers retrying batch after batch.
    if values.len() != keys.len() {
        return Err(BatchFailure::Shape(Error::new(
            ErrorKind::BatchShape,
            format!(
                "the batch result gave {} values for {} keys",
                values.len(),
                keys.len()
            ),
        )));
    }
    Ok(values)
}

impl<K, V, S> LoadPath<'_, K, V, S>
where
    K: Hash + Eq + Clone,
    V: Clone,
    S: BuildHasher,
{
    /// Runs one batch for `leaders` (one per key, deduplicated by the registry): `batch`
    /// yields the values aligned with the keys. Every leader is finished: with its value
    /// (stored), `None`, the batch's error, or a cache-side error if the result did not match
    /// the keys or the batch function panicked. If `close` cancels every load of the batch,
    /// the batch function is dropped.
    pub(crate) async fn run_batch<E, Fut>(
        &self,
        leaders: Vec<Leader<K, V>>,
        batch: impl FnOnce(Vec<K>) -> Fut,
    ) where
        E: Send + Sync + 'static,
        Fut: Future<Output = Result<Timed<V>, BatchFailure<E>>>,
    {
        if leaders.is_empty() {
            return;
        }
        let keys: Vec<K> = leaders.iter().map(|l| l.key().clone()).collect();
        let counters = &self.loads().counters;
        counters.batches.fetch_add(1, Ordering::Relaxed);
        counters
            .batched_keys
            .fetch_add(keys.len() as u64, Ordering::Relaxed);
        let scope = LoadScope::batch(self.loads().name(), keys.len());
        // A panic is caught so that it reaches the waiters as an error: were the loads only
        // abandoned, each waiter would retry into a new batch that panics again.
        let mut call = std::pin::pin!(AssertUnwindSafe(batch(keys)).catch_unwind());
        let result = self
            .timed(
                &scope,
                poll_fn(|cx| {
                    // `all` stops at the first live load, which keeps the waker of this task.
                    if leaders.iter().all(|leader| leader.cancelled(cx)) {
                        return Poll::Ready(None);
                    }
                    call.as_mut().poll(cx).map(Some)
                }),
            )
            .await;
        let Some(result) = result else {
            // Every load was cancelled by `close`: dropping the leaders is all.
            scope.finish(Outcome::Cancelled);
            return;
        };
        scope.finish(match &result {
            Ok(Ok(_)) => Outcome::Value,
            Ok(Err(_)) => Outcome::Error,
            Err(_panic) => Outcome::Panicked,
        });
        match result {
            Ok(Ok(values)) => {
                for (leader, value) in leaders.into_iter().zip(values) {
                    match value {
                        Some((value, ttl)) => self.finish_with_value(leader, value, ttl),
                        None => self.finish_absent(leader),
                    }
                }
            }
            Ok(Err(BatchFailure::Loader(error))) => {
                self.count_load_error();
                let error = Arc::new(error);
                for leader in leaders {
                    self.finish_with_error(leader, Arc::clone(&error));
                }
            }
            Ok(Err(BatchFailure::Shape(error))) => {
                self.count_load_error();
                for leader in leaders {
                    leader.break_with(error.clone());
                }
            }
            Err(_panic) => {
                self.count_load_error();
                let error = Error::new(ErrorKind::Loader, "the batch function panicked");
                for leader in leaders {
                    leader.break_with(error.clone());
                }
            }
        }
    }
}
