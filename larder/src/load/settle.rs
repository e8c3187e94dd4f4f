//! [`settle`]: the one place where a load's outcome becomes a caller's result, or a retry.

use crate::LoadError;
use crate::error::Error;
use crate::flight::Outcome;

use super::options::{LoadOptions, OnClosed};

/// What a loading call ends with: a value, no value (a loader's `None`, a key a batch had
/// no value for), or an error.
pub(crate) type Loaded<V, E> = Result<Option<V>, LoadError<E>>;

/// What a caller does with the outcome of a load it joined (or was answered with at once).
#[derive(Debug)]
pub(crate) enum Next<V, E> {
    /// Return this.
    Return(Loaded<V, E>),
    /// Load again: the leader went away (its future dropped, its loader panicked), or the
    /// outcome is one this caller cannot return (an error of another type, "no value" for a
    /// caller that needs a value, a cache-side failure for a caller that cannot fail).
    Retry,
    /// The cache was closed, and this caller runs its own loader, storing nothing.
    RunUncached,
}

/// Turns `outcome` into what a caller with `options` does next.
pub(crate) fn settle<V, E>(outcome: Outcome<V>, options: LoadOptions) -> Next<V, E>
where
    E: Send + Sync + 'static,
{
    let fails = options.on_closed == OnClosed::Fail;
    match outcome {
        Outcome::Value(value) => Next::Return(Ok(Some(value))),
        Outcome::Absent if options.absent_ok => Next::Return(Ok(None)),
        Outcome::Failed(error) => match error.downcast::<E>() {
            Ok(error) => Next::Return(Err(LoadError::Loader(error))),
            Err(_) => Next::Retry,
        },
        Outcome::Closed if fails => Next::Return(Err(LoadError::Cache(Error::closed()))),
        Outcome::Closed => Next::RunUncached,
        Outcome::Broken(error) if fails => Next::Return(Err(LoadError::Cache(error))),
        Outcome::Absent | Outcome::Abandoned | Outcome::Broken(_) => Next::Retry,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{Next, settle};
    use crate::ErrorKind;
    use crate::error::Error;
    use crate::flight::Outcome;
    use crate::load::LoadOptions;

    fn next(outcome: Outcome<u8>, options: LoadOptions) -> Next<u8, String> {
        settle(outcome, options)
    }

    #[test]
    fn values_and_own_errors_are_returned_to_everyone() {
        for options in [
            LoadOptions::VALUE,
            LoadOptions::FALLIBLE,
            LoadOptions::BATCH,
        ] {
            assert!(matches!(
                next(Outcome::Value(1), options),
                Next::Return(Ok(Some(1)))
            ));
            let failed = Outcome::Failed(Arc::new("down".to_string()));
            assert!(matches!(next(failed, options), Next::Return(Err(_))));
        }
    }

    #[test]
    fn what_a_caller_cannot_return_is_retried() {
        let other_type = Outcome::Failed(Arc::new(7u32));
        assert!(matches!(
            next(other_type, LoadOptions::FALLIBLE),
            Next::Retry
        ));
        assert!(matches!(
            next(Outcome::Absent, LoadOptions::VALUE),
            Next::Retry
        ));
        assert!(matches!(
            next(Outcome::Abandoned, LoadOptions::BATCH),
            Next::Retry
        ));
        let broken = Outcome::Broken(Error::new(ErrorKind::BatchShape, "short"));
        assert!(matches!(next(broken, LoadOptions::VALUE), Next::Retry));
    }

    #[test]
    fn absence_answers_only_the_callers_that_can_return_it() {
        assert!(matches!(
            next(Outcome::Absent, LoadOptions::OPTIONAL),
            Next::Return(Ok(None))
        ));
        assert!(matches!(
            next(Outcome::Absent, LoadOptions::BATCH),
            Next::Return(Ok(None))
        ));
    }

    #[test]
    fn a_closed_cache_fails_fallible_callers_and_runs_the_others_uncached() {
        match next(Outcome::Closed, LoadOptions::FALLIBLE) {
            Next::Return(Err(e)) => assert_eq!(e.kind(), ErrorKind::Closed),
            _ => panic!("a fallible caller gets the Closed error"),
        }
        assert!(matches!(
            next(Outcome::Closed, LoadOptions::VALUE),
            Next::RunUncached
        ));
        let broken = Outcome::Broken(Error::new(ErrorKind::BatchShape, "short"));
        match next(broken, LoadOptions::BATCH) {
            Next::Return(Err(e)) => assert_eq!(e.kind(), ErrorKind::BatchShape),
            _ => panic!("a batch caller gets the batch's error"),
        }
    }
}
