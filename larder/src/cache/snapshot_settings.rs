//! The builder's snapshot settings ([`CacheBuilder::restore_from`](crate::CacheBuilder::restore_from),
//! [`CacheBuilder::autosave`](crate::CacheBuilder::autosave)): what they hold, their checks,
//! and what `try_build` does with them (restores the file, starts the autosave task).
//!
//! The builder's type parameters carry no serde or `'static` bounds, so each setting keeps
//! the functions it needs, instantiated where those bounds are known: reading the file for
//! `K` and `V`, spawning the task for the cache's whole type.

use std::hash::{BuildHasher, Hash};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::autosave::{self, AutosaveControl, Stop};
use super::handle::{Cache, Inner, WeakCache};
use crate::error::Error;
use crate::expiry::MAX_DURATION;
use crate::snapshot::{self, Restored};

/// Reads and decodes a snapshot file: [`snapshot::read`] for the cache's `K` and `V`.
type ReadFn<K, V> = fn(&Path) -> Result<Option<Restored<K, V>>, Error>;

/// Spawns the autosave task on a runtime: [`spawn_autosave`] for the cache's type.
type SpawnFn<K, V, S> = fn(&tokio::runtime::Handle, WeakCache<K, V, S>, PathBuf, Duration, Stop);

/// The builder's snapshot settings.
pub(super) struct SnapshotSettings<K, V, S> {
    restore_from: Option<(PathBuf, ReadFn<K, V>)>,
    autosave: Option<Autosave<K, V, S>>,
    /// `autosave` was set before `hasher`, which changes the cache's type and so drops it:
    /// `try_build` says so rather than build a cache that never saves.
    autosave_dropped: bool,
}

struct Autosave<K, V, S> {
    path: PathBuf,
    every: Duration,
    spawn: SpawnFn<K, V, S>,
}

impl<K, V, S> Default for SnapshotSettings<K, V, S> {
    fn default() -> Self {
        Self {
            restore_from: None,
            autosave: None,
            autosave_dropped: false,
        }
    }
}

impl<K, V, S> SnapshotSettings<K, V, S> {
    pub(super) fn restore_from(&mut self, path: &Path)
    where
        K: DeserializeOwned,
        V: DeserializeOwned,
    {
        self.restore_from = Some((path.to_path_buf(), snapshot::read::<K, V>));
    }

    pub(super) fn autosave(&mut self, path: &Path, every: Duration)
    where
        K: Hash + Eq + Serialize + Send + Sync + 'static,
        V: Clone + Serialize + Send + Sync + 'static,
        S: BuildHasher + Send + Sync + 'static,
    {
        self.autosave = Some(Autosave {
            path: path.to_path_buf(),
            every,
            spawn: spawn_autosave::<K, V, S>,
        });
        self.autosave_dropped = false;
    }

    /// The settings for a cache of another hasher: all but autosave, which is remembered as
    /// dropped.
    pub(super) fn with_hasher<S2>(self) -> SnapshotSettings<K, V, S2> {
        SnapshotSettings {
            restore_from: self.restore_from,
            autosave: None,
            autosave_dropped: self.autosave_dropped || self.autosave.is_some(),
        }
    }

    /// Whether a file is to be restored, and how often the cache autosaves, for `Debug` (no
    /// path: it may name a user or a secret).
    pub(super) fn describe(&self) -> (bool, Option<Duration>) {
        (
            self.restore_from.is_some(),
            self.autosave.as_ref().map(|a| a.every),
        )
    }

    /// Checks the settings, then reads the file to restore (blocking), so that a cache is
    /// built only once everything that can fail has succeeded. A disabled cache (`enabled`
    /// false) has its settings checked, but reads no file and gets no autosave.
    pub(super) fn open(self, enabled: bool) -> Result<Opened<K, V, S>, Error> {
        if self.autosave_dropped {
            return Err(Error::config(
                "autosave must be set after hasher, which resets it",
            ));
        }
        let autosave = match self.autosave {
            Some(autosave) => {
                if autosave.every.is_zero() || autosave.every > MAX_DURATION {
                    return Err(Error::config(format!(
                        "autosave's interval must be above zero and at most 100 years, got {:?}",
                        autosave.every
                    )));
                }
                let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
                    Error::config("autosave needs a tokio runtime: build the cache inside one")
                })?;
                Some((autosave, runtime))
            }
            None => None,
        };
        let autosave = autosave.filter(|_| enabled);
        let restored = match self.restore_from {
            Some((path, read)) if enabled => read(&path)?,
            _ => None,
        };
        Ok(Opened { restored, autosave })
    }
}

/// The settings checked and the file read: what is left to do once the cache is assembled.
pub(super) struct Opened<K, V, S> {
    restored: Option<Restored<K, V>>,
    autosave: Option<(Autosave<K, V, S>, tokio::runtime::Handle)>,
}

impl<K, V, S> Opened<K, V, S>
where
    K: Hash + Eq,
    V: Clone,
    S: BuildHasher,
{
    /// The cache of `inner`, with the snapshot's entries, and its autosave task started.
    pub(super) fn start(self, mut inner: Inner<K, V, S>) -> Cache<K, V, S> {
        let stop = self.autosave.as_ref().map(|_| {
            let (control, stop) = AutosaveControl::new();
            inner.autosave = Some(control);
            stop
        });
        let cache = Cache::from_parts(inner);
        // Restored first: the first autosave must not find the cache still empty.
        let _report = snapshot::apply(&cache.inner().engine, self.restored);
        if let (Some((autosave, runtime)), Some(stop)) = (self.autosave, stop) {
            (autosave.spawn)(
                &runtime,
                cache.downgrade(),
                autosave.path,
                autosave.every,
                stop,
            );
        }
        cache
    }
}

/// Starts the autosave task of `cache` on `runtime`. The task holds the cache only while it
/// saves, so that dropping its last handle ends it.
fn spawn_autosave<K, V, S>(
    runtime: &tokio::runtime::Handle,
    cache: WeakCache<K, V, S>,
    path: PathBuf,
    every: Duration,
    stop: Stop,
) where
    K: Hash + Eq + Serialize + Send + Sync + 'static,
    V: Clone + Serialize + Send + Sync + 'static,
    S: BuildHasher + Send + Sync + 'static,
{
    let save = move || {
        let cache = cache.upgrade()?;
        let path = path.clone();
        Some(async move {
            // A failed save leaves the previous file whole; the next one tries again.
            let _ = cache.save(path).await;
        })
    };
    // Detached: it ends by itself when the cache is closed or dropped.
    drop(runtime.spawn(autosave::run(save, every, stop)));
}
