//! Running the blocking half ([`Db`]) on tokio: a blocking thread per operation, writes
//! queued for the file's one writer in async code, and a task's failure as an [`Error`].

use std::sync::Arc;

use super::db::Db;
use crate::error::{Error, ErrorKind};
use crate::store::closed::closed;
use crate::store::remote::outside_runtime;

/// Runs `op` on a blocking thread of the current runtime; a `write` first queues for the
/// file's one writer.
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
    // The permit goes with the work: if the caller stops waiting, the next writer still
    // waits for this one to end.
    let task = runtime()?.spawn_blocking(move || {
        let _permit = permit;
        op(&db)
    });
    task.await.map_err(join_failed)?
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
