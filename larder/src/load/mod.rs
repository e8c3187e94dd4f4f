//! The load protocol: the one way a miss becomes a load, whoever asks.
//!
//! Every loading call goes through here: the `get_with` family, `refresh`, the background
//! refreshes of stale-while-revalidate and refresh-ahead, `warmup`, `get_many_with`,
//! `BatchLoader`, `DataLoader` and `#[cached]`. Each describes itself with a
//! [`LoadOptions`]; [`LoadPath`] joins or leads the key's flight (the registry in `flight/`),
//! runs the loader, stores what it yields in the engine, and hands the outcome to every
//! caller. [`settle`] is the one function that turns a load's outcome into a caller's result
//! or a retry.
//!
//! Start at `path.rs` (joining, leading, waiting), then `settle.rs` (outcomes to results),
//! `options.rs` (what each kind of call wants), `batch.rs` (one batch call for many keys),
//! `batch_result.rs` (what a batch function returns), `yielded.rs` (what a loader yields:
//! a value, its TTL and, for tagged loads, its tags) and `loads.rs` (what a cache keeps for loading: the flights, the counters, the negative
//! entries). This module uses the engine and the flights; it never knows the `Cache` type.

mod batch;
mod batch_result;
mod loads;
mod options;
mod path;
mod settle;
mod yielded;

pub(crate) use batch::{BatchFailure, Timed, call_batch, default_ttl};
pub use batch_result::BatchResult;
pub(crate) use loads::Loads;
pub(crate) use options::{LoadOptions, OnClosed};
pub(crate) use path::{Joined, LoadPath};
pub(crate) use settle::{Loaded, Next, settle};
pub(crate) use yielded::Yielded;
