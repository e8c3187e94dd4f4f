//! [`HookRunner`]: how larder calls a cache's or a store's hooks: each call timed, each panic
//! caught and counted.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use super::call::{Call, Outcome};
use super::traits::Hooks;
use crate::sync::{Arc, AtomicU64, Ordering};

/// A cache's or a store's hooks, with the count of their panics.
pub(crate) struct HookRunner {
    hooks: Box<dyn Hooks>,
    panics: AtomicU64,
}

impl HookRunner {
    pub(crate) fn new(hooks: impl Hooks) -> Arc<Self> {
        Arc::new(Self {
            hooks: Box::new(hooks),
            panics: AtomicU64::new(0),
        })
    }

    /// How many times a hook panicked.
    pub(crate) fn panics(&self) -> u64 {
        self.panics.load(Ordering::Relaxed)
    }

    /// Runs `hook`, catching and counting a panic.
    fn contain(&self, hook: impl FnOnce(&dyn Hooks)) {
        // The hooks are shared: nothing of theirs is left half-changed by larder, and what a
        // panicking hook left of its own state is its own affair, as with a poisoned lock.
        if catch_unwind(AssertUnwindSafe(|| hook(&*self.hooks))).is_err() {
            self.panics.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Runs the synchronous operation `op` between the hooks; `outcome` says how it ended.
    pub(crate) fn around<T>(
        &self,
        call: Call<'_>,
        op: impl FnOnce() -> T,
        outcome: impl FnOnce(&T) -> Outcome,
    ) -> T {
        self.before(call);
        let start = Instant::now();
        let result = op();
        self.after(call, outcome(&result), start.elapsed());
        result
    }

    /// Runs the operation `op` between the hooks; `outcome` says how it ended.
    pub(crate) async fn around_async<T>(
        &self,
        call: Call<'_>,
        op: impl Future<Output = T>,
        outcome: impl FnOnce(&T) -> Outcome,
    ) -> T {
        self.before(call);
        let start = Instant::now();
        let result = op.await;
        self.after(call, outcome(&result), start.elapsed());
        result
    }

    /// Tells the hooks a call begins (each key of a multi-key operation).
    pub(crate) fn before(&self, call: Call<'_>) {
        self.contain(|hooks| hooks.before(&call));
    }

    /// Tells the hooks a call ended with `outcome`, `elapsed` after it began.
    pub(crate) fn after(&self, call: Call<'_>, outcome: Outcome, elapsed: std::time::Duration) {
        self.contain(|hooks| hooks.after(&call, outcome, elapsed));
    }
}

impl std::fmt::Debug for HookRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookRunner")
            .field("panics", &self.panics())
            .finish_non_exhaustive()
    }
}
