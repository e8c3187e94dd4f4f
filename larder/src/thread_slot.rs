//! A small, reusable index per thread, so hot counters can give each thread a slot of its own.
//!
//! A slot with a single writer can be bumped with a plain load and store instead of a locked
//! read-modify-write: on x86 that saves the most expensive instruction of a cache hit, and the
//! count stays exact. Indices are handed out lowest first and returned when a thread exits, so
//! a pool of long-lived workers keeps small indices however many short-lived threads come and
//! go.
// The registry is process-global bookkeeping touched only when a thread first counts and when
// it exits; it is not part of any cache's concurrency, so shuttle need not see it.
#![allow(clippy::disallowed_types)]

use std::cell::Cell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What a thread with no slot of its own (or one that is exiting) gets: shared, so counters
/// must use an atomic add for it.
pub(crate) const SHARED: usize = usize::MAX;

static NEXT: AtomicUsize = AtomicUsize::new(0);
static FREED: Mutex<Vec<usize>> = Mutex::new(Vec::new());

thread_local! {
    static INDEX: Cell<usize> = const { Cell::new(UNCLAIMED) };
    static RELEASE: Release = const { Release(Cell::new(SHARED)) };
}

/// What a thread that has not counted yet holds. Like [`SHARED`], it is past any counter's
/// slots, so [`cached`] alone tells a counter's fast path to fall back.
const UNCLAIMED: usize = usize::MAX - 1;

/// Gives the thread's index back when the thread exits.
struct Release(Cell<usize>);

impl Drop for Release {
    fn drop(&mut self) {
        let index = self.0.replace(SHARED);
        // Anything the exiting thread still counts (from other thread-local destructors)
        // goes to the shared slot, since this index may be reused at once.
        let _ = INDEX.try_with(|i| i.set(SHARED));
        if index != SHARED {
            FREED
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(index);
        }
    }
}

/// This thread's index as it stands, without claiming one: unique among live threads, or a
/// value no slice of slots reaches ([`SHARED`], or not yet claimed). A counter's hot path
/// indexes its slots with this, and calls [`current`] only when that fails.
#[inline]
pub(crate) fn cached() -> usize {
    // A const-initialised `Cell` has no destructor, so the key is never torn down.
    INDEX.with(Cell::get)
}

/// This thread's index: unique among live threads, or [`SHARED`]. Claims one on first use.
#[inline]
pub(crate) fn current() -> usize {
    INDEX
        .try_with(|i| {
            let index = i.get();
            if index == UNCLAIMED { claim(i) } else { index }
        })
        .unwrap_or(SHARED)
}

#[cold]
fn claim(cell: &Cell<usize>) -> usize {
    let reused = FREED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .pop();
    let index = reused.unwrap_or_else(|| NEXT.fetch_add(1, Ordering::Relaxed));
    // Registering the release can fail only while the thread is being torn down.
    let index = match RELEASE.try_with(|r| r.0.set(index)) {
        Ok(()) => index,
        Err(_) => SHARED,
    };
    cell.set(index);
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_are_unique_among_live_threads_and_reused() {
        let mine = current();
        assert_eq!(current(), mine, "stable within a thread");
        assert_eq!(cached(), mine, "cached once claimed");
        let unclaimed = std::thread::spawn(cached).join().unwrap();
        assert!(unclaimed >= UNCLAIMED, "a fresh thread has no index yet");
        let other = std::thread::spawn(current).join().unwrap();
        assert_ne!(other, mine);
        // The exited thread's index is free again (another test thread may take it first,
        // so only uniqueness against our own is asserted here).
        let again = std::thread::spawn(current).join().unwrap();
        assert_ne!(again, mine);
    }
}
