//! Snapshots of an in-process cache's entries in a file (async-cache's `backup=`), for
//! [`Cache::save`](crate::Cache::save), [`Cache::restore`](crate::Cache::restore) and the
//! builder's `restore_from` and `autosave`, which live in `cache/`.
//!
//! `format.rs` is the file's layout (header, records, checks), pure bytes; `file.rs` the
//! atomic replacement of a file and the reading of one that may be missing; `save.rs` streams
//! an engine's live entries into a file; `restore.rs` reads one whole and stores its entries,
//! their TTLs shortened by the wall time since the save; `report.rs` the public reports.

mod file;
mod format;
mod report;
mod restore;
mod save;

pub use report::{RestoreReport, SaveReport};
pub(crate) use restore::{Restored, apply, read};
pub(crate) use save::save;

#[cfg(test)]
mod tests;
