//! [`LoadOptions`]: what one kind of loading call wants from the load protocol.

/// How a load treats a value already cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Return it: the caller looked the key up and missed (the `get_with` family), and a load
    /// that finished since then has stored its value.
    UseCached,
    /// Load afresh anyway (`refresh`, refresh-ahead).
    Refresh,
}

/// What a call gets when it would load and the cache is closed, or when the load it joined
/// failed on the cache's side (a batch function's result did not match its keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnClosed {
    /// The cache's error, e.g. `ErrorKind::Closed` (the calls that return errors).
    Fail,
    /// Run the caller's own loader, storing and sharing nothing (the calls that cannot fail).
    RunUncached,
}

/// How one call into the load protocol behaves; one constant per kind of call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LoadOptions {
    pub(crate) mode: Mode,
    /// Whether the caller can return "no value" (a waiter that cannot retries instead, and
    /// a kept "no value" does not answer it).
    pub(crate) absent_ok: bool,
    pub(crate) on_closed: OnClosed,
}

impl LoadOptions {
    /// `get_with`, `get_with_ttl`, `refresh`, and `#[cached]` functions: a value, always.
    pub(crate) const VALUE: Self = Self {
        mode: Mode::UseCached,
        absent_ok: false,
        on_closed: OnClosed::RunUncached,
    };

    /// `optionally_get_with` and `#[cached]` functions returning `Option`.
    pub(crate) const OPTIONAL: Self = Self {
        absent_ok: true,
        ..Self::VALUE
    };

    /// `try_get_with`, `warmup` and background refreshes: a value or an error; a closed cache
    /// is an error.
    pub(crate) const FALLIBLE: Self = Self {
        on_closed: OnClosed::Fail,
        ..Self::VALUE
    };

    /// `BatchLoader`, `DataLoader` and `get_many_with`: a key the batch has no value for is
    /// `None`; a closed cache is an error.
    pub(crate) const BATCH: Self = Self {
        absent_ok: true,
        on_closed: OnClosed::Fail,
        mode: Mode::UseCached,
    };

    /// These options, loading afresh even when a value is cached.
    pub(crate) const fn refreshing(self) -> Self {
        Self {
            mode: Mode::Refresh,
            ..self
        }
    }
}
