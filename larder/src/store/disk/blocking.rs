//! Running the blocking half ([`Db`]) on tokio: a blocking thread per operation, writes
//! queued for the file's one writer in async code, and a task's failure as an [`Error`].

use std::sync::Arc;

use super::db::Db;
use crate::error::{Error, ErrorKind};
use crate::store::closed::closed;
use crate::store::remote::outside_runtime;

/// Runs `op` on a blocking thread of the current runtime; a `write` first queues for the
/// file's one writer. Either then waits for one of the file's
/// [`MAX_BLOCKING`](super::db::MAX_BLOCKING) slots.
///
/// Both waits are async, under the caller's timeout. A blocking task cannot be stopped once
/// spawned, so a caller that timed out on a stalled disk leaves its task behind, holding
/// its slot: with every slot so held, later operations time out waiting for one, and spawn
/// nothing, instead of growing tokio's blocking pool (up to 512 threads) and its queue
/// without limit. They succeed again as the stalled tasks end.
pub(super) async fn blocking<T, F>(db: Arc<Db>, write: bool, op: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnOnce(&Db) -> Result<T, Error> + Send + 'static,
{
    let permit = if write {
        let writers = Arc::clone(&db.writers);
        let permit = writers.acquire_owned().await.map_err(|_| closed())?;
        Some(permit)
    } else {
        None
    };
    // The writer first: a write waiting for it holds no slot that a read could use.
    let slot = Arc::clone(&db.slots)
        .acquire_owned()
        .await
        .map_err(|_| closed())?;
    #[cfg(test)]
    let counted = Counted::start(&db);
    // The permits go with the work: if the caller stops waiting, the next writer still
    // waits for this one to end, and the slot stays taken until the thread is free.
    let task = runtime()?.spawn_blocking(move || {
        #[cfg(test)]
        let _counted = counted;
        let _permits = (permit, slot);
        op(&db)
    });
    task.await.map_err(join_failed)?
}

/// One blocking task of a file, counted in `Db::blocking_tasks` from its spawn until it ends,
/// or is dropped unrun (tests only).
#[cfg(test)]
struct Counted(Arc<Db>);

#[cfg(test)]
impl Counted {
    fn start(db: &Arc<Db>) -> Self {
        db.blocking_tasks
            .fetch_add(1, crate::sync::Ordering::SeqCst);
        Self(Arc::clone(db))
    }
}

#[cfg(test)]
impl Drop for Counted {
    fn drop(&mut self) {
        self.0
            .blocking_tasks
            .fetch_sub(1, crate::sync::Ordering::SeqCst);
    }
}

/// The tokio runtime this is called in, or a `Config` error rather than tokio's panic.
pub(super) fn runtime() -> Result<tokio::runtime::Handle, Error> {
    tokio::runtime::Handle::try_current().map_err(|_| outside_runtime(BACKEND))
}

/// This store's name in errors.
pub(super) const BACKEND: &str = "the disk store";

/// A blocking task that panicked (a bug, or redb meeting a corrupt file) or was cancelled
/// (its runtime shutting down). The `JoinError` is not kept as the source: its `Display`
/// and `Debug` carry the panic's message, which may quote what the task held.
pub(super) fn join_failed(error: tokio::task::JoinError) -> Error {
    let message = if error.is_panic() {
        "the disk store's blocking task panicked"
    } else {
        "the disk store's blocking task was cancelled"
    };
    Error::new(ErrorKind::Backend, message)
}
