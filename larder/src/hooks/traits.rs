//! The [`Hooks`] trait.

use std::sync::Arc;
use std::time::Duration;

use super::call::{Call, Outcome};

/// Code run before and after each get, set, delete and load of a cache or a store (aiocache's
/// plugins). Both methods do nothing by default: implement the ones you need.
///
/// Hooks run on the caller's task, inline with the operation, and what they cost adds to it:
/// keep them short, and never block or call the same cache from them. A hook that panics is
/// contained: the panic is caught and counted, and the operation carries on, its result
/// unchanged. `after` runs once the operation has its outcome; an operation whose future is
/// dropped before (a cancelled call), or a load whose loader panics, has no `after`.
///
/// `Arc<H>` is a hook as `H` is, so a hook can be shared and read elsewhere (see the example).
///
/// # Examples
///
/// Timings, as aiocache's `TimingPlugin` (see `examples/hooks_timing.rs` for a fuller one):
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::time::Duration;
/// use larder::Cache;
/// use larder::hooks::{Call, Hooks, Op, Outcome};
///
/// #[derive(Default)]
/// struct SetTime { calls: AtomicU64, nanos: AtomicU64 }
///
/// impl Hooks for SetTime {
///     fn after(&self, call: &Call<'_>, _outcome: Outcome, elapsed: Duration) {
///         if call.op == Op::Set {
///             self.calls.fetch_add(1, Ordering::Relaxed);
///             self.nanos.fetch_add(elapsed.as_nanos() as u64, Ordering::Relaxed);
///         }
///     }
/// }
///
/// let timing = Arc::new(SetTime::default());
/// let cache = Cache::builder().hooks(Arc::clone(&timing)).build();
/// cache.insert(1, "one");
/// cache.insert(2, "two");
/// assert_eq!(timing.calls.load(Ordering::Relaxed), 2);
/// ```
pub trait Hooks: Send + Sync + 'static {
    /// Called before `call` runs.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::hooks::{Call, HookKey, Hooks, Op};
    ///
    /// struct Log;
    /// impl Hooks for Log {
    ///     fn before(&self, call: &Call<'_>) {
    ///         println!("{} {:?}", call.op.as_str(), call.key);
    ///     }
    /// }
    /// Log.before(&Call::new(Op::Get, HookKey::Str("k")));
    /// ```
    fn before(&self, call: &Call<'_>) {
        let _ = call;
    }

    /// Called after `call` ended with `outcome`, `elapsed` after it started (the time of the
    /// operation alone: `before` not counted).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use larder::hooks::{Call, HookKey, Hooks, Op, Outcome};
    ///
    /// struct Slow;
    /// impl Hooks for Slow {
    ///     fn after(&self, call: &Call<'_>, outcome: Outcome, elapsed: Duration) {
    ///         if elapsed > Duration::from_millis(100) {
    ///             eprintln!("slow {}: {outcome:?} in {elapsed:?}", call.op.as_str());
    ///         }
    ///     }
    /// }
    /// Slow.after(&Call::new(Op::Set, HookKey::Hash(1)), Outcome::Done, Duration::ZERO);
    /// ```
    fn after(&self, call: &Call<'_>, outcome: Outcome, elapsed: Duration) {
        let _ = (call, outcome, elapsed);
    }
}

impl<H: Hooks + ?Sized> Hooks for Arc<H> {
    fn before(&self, call: &Call<'_>) {
        (**self).before(call);
    }

    fn after(&self, call: &Call<'_>, outcome: Outcome, elapsed: Duration) {
        (**self).after(call, outcome, elapsed);
    }
}

impl<H: Hooks + ?Sized> Hooks for Box<H> {
    fn before(&self, call: &Call<'_>) {
        (**self).before(call);
    }

    fn after(&self, call: &Call<'_>, outcome: Outcome, elapsed: Duration) {
        (**self).after(call, outcome, elapsed);
    }
}
