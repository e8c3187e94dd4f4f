//! Autosave: the task that saves a cache's snapshot every so often, and the control the cache
//! keeps to stop it, with one last save, on `close`. Which cache and file it saves is the
//! caller's closure (`snapshot_settings.rs` spawns it).

use std::future::Future;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::sync::Mutex;

/// A request to stop, answered once the last save is done.
type Finish = oneshot::Sender<()>;

/// What a cache keeps of its autosave task. Dropped with the cache's last handle, it ends the
/// task, without a last save.
#[derive(Debug)]
pub(super) struct AutosaveControl {
    stop: Mutex<Option<oneshot::Sender<Finish>>>,
}

/// The task's end of the control.
#[derive(Debug)]
pub(super) struct Stop(oneshot::Receiver<Finish>);

impl AutosaveControl {
    pub(super) fn new() -> (Self, Stop) {
        let (stop, stopped) = oneshot::channel();
        let control = Self {
            stop: Mutex::new(Some(stop)),
        };
        (control, Stop(stopped))
    }

    /// Has the task save once more and end, and returns when it has: at once if it was
    /// already asked, or is gone (its runtime shut down). Dropping the future does not stop
    /// that last save.
    pub(super) async fn finish(&self) {
        let Some(stop) = self.stop.lock().take() else {
            return;
        };
        let (finish, finished) = oneshot::channel();
        if stop.send(finish).is_ok() {
            // An error means the task was dropped mid-save: there is nothing more to wait for.
            let _ = finished.await;
        }
    }
}

/// The task: `every` after the previous save ended (or the start), runs `save`; on a stop
/// request, runs it once more and ends. `save` returns `None` once the cache is gone, which
/// ends the task too, as does the control's drop. Saves are awaited one at a time, so they
/// never overlap.
pub(super) async fn run<F, Fut>(mut save: F, every: Duration, stop: Stop)
where
    F: FnMut() -> Option<Fut>,
    Fut: Future<Output = ()>,
{
    let Stop(mut stop) = stop;
    loop {
        match tokio::time::timeout(every, &mut stop).await {
            Err(_elapsed) => match save() {
                Some(saving) => saving.await,
                None => return,
            },
            Ok(Ok(finish)) => {
                if let Some(saving) = save() {
                    saving.await;
                }
                let _ = finish.send(());
                return;
            }
            // The control was dropped: the cache is gone.
            Ok(Err(_)) => return,
        }
    }
}
