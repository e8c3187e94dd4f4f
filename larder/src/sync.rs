//! The one place the crate takes locks, atomics and `Arc` from.
//!
//! Everything concurrent (the engine's shards, later the flight and batch cores) imports these
//! names from here, so a `--cfg larder_shuttle` build swaps them for shuttle's checked versions
//! and the interleaving tests exercise the real code. `clippy.toml` bans the std and
//! parking_lot types everywhere else.
#![allow(clippy::disallowed_types)]

#[cfg(not(all(test, larder_shuttle)))]
mod imp {
    pub(crate) use std::sync::Arc;
    pub(crate) use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};

    pub(crate) type ReadGuard<'a, T> = parking_lot::RwLockReadGuard<'a, T>;
    pub(crate) type WriteGuard<'a, T> = parking_lot::RwLockWriteGuard<'a, T>;
    pub(crate) type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;

    /// A mutex with parking_lot's speed and no poisoning.
    #[derive(Debug, Default)]
    pub(crate) struct Mutex<T>(parking_lot::Mutex<T>);

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Self(parking_lot::Mutex::new(value))
        }
        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            self.0.lock()
        }
    }

    /// A reader-writer lock with parking_lot's speed and no poisoning.
    #[derive(Debug, Default)]
    pub(crate) struct RwLock<T>(parking_lot::RwLock<T>);

    impl<T> RwLock<T> {
        pub(crate) fn new(value: T) -> Self {
            Self(parking_lot::RwLock::new(value))
        }
        pub(crate) fn read(&self) -> ReadGuard<'_, T> {
            self.0.read()
        }
        pub(crate) fn write(&self) -> WriteGuard<'_, T> {
            self.0.write()
        }
        pub(crate) fn try_write(&self) -> Option<WriteGuard<'_, T>> {
            self.0.try_write()
        }
    }
}

#[cfg(all(test, larder_shuttle))]
mod imp {
    pub(crate) use shuttle::sync::Arc;
    pub(crate) use shuttle::sync::atomic::{
        AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering,
    };

    pub(crate) type ReadGuard<'a, T> = shuttle::sync::RwLockReadGuard<'a, T>;
    pub(crate) type WriteGuard<'a, T> = shuttle::sync::RwLockWriteGuard<'a, T>;
    pub(crate) type MutexGuard<'a, T> = shuttle::sync::MutexGuard<'a, T>;

    /// shuttle's mutex behind the production surface; poisoning is looked through.
    #[derive(Debug, Default)]
    pub(crate) struct Mutex<T>(shuttle::sync::Mutex<T>);

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Self(shuttle::sync::Mutex::new(value))
        }
        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        }
    }

    /// shuttle's lock behind the same surface as the production one. A panic while holding
    /// it is a test failure anyway, so poisoning is looked through.
    #[derive(Debug, Default)]
    pub(crate) struct RwLock<T>(shuttle::sync::RwLock<T>);

    impl<T> RwLock<T> {
        pub(crate) fn new(value: T) -> Self {
            Self(shuttle::sync::RwLock::new(value))
        }
        pub(crate) fn read(&self) -> ReadGuard<'_, T> {
            self.0
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        }
        pub(crate) fn write(&self) -> WriteGuard<'_, T> {
            self.0
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        }
        pub(crate) fn try_write(&self) -> Option<WriteGuard<'_, T>> {
            self.0.try_write().ok()
        }
    }
}

pub(crate) use imp::*;
