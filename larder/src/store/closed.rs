//! The closed flag a store's handles share, and the error every operation on a closed store
//! fails with: one flag type and one message for every store.

use crate::error::{Error, ErrorKind};
use crate::sync::{AtomicBool, Ordering};

/// Whether a store was closed ([`Store::close`](super::Store::close)). One flag is shared by
/// every handle on the same map, connections or file, so that closing one closes them all.
pub(crate) struct Closed(AtomicBool);

impl Closed {
    /// An open store's flag.
    pub(crate) fn new() -> Self {
        Self(AtomicBool::new(false))
    }

    /// Marks the store closed; closing twice is harmless.
    pub(crate) fn close(&self) {
        self.0.store(true, Ordering::Release);
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// `Ok` while the store is open, else the [`closed`] error.
    pub(crate) fn check(&self) -> Result<(), Error> {
        if self.is_closed() {
            return Err(closed());
        }
        Ok(())
    }
}

/// The error of an operation on a closed store.
pub(crate) fn closed() -> Error {
    Error::new(ErrorKind::Closed, "the store was closed")
}
