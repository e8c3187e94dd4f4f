//! What a save and a restore report: [`SaveReport`], [`RestoreReport`].

use std::time::SystemTime;

/// What [`Cache::save`](crate::Cache::save) wrote.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
/// # let dir = std::env::temp_dir().join(format!("larder-doc-save-report-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).expect("temp dir");
/// let cache = larder::Cache::new(100);
/// cache.insert(1u32, "one".to_string());
/// let report = cache.save(dir.join("cache.snapshot")).await?;
/// assert_eq!(report.entries, 1);
/// assert!(report.bytes > 0);
/// # std::fs::remove_dir_all(&dir).expect("cleanup"); Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SaveReport {
    /// Entries written: the cache's live entries while it was being saved.
    pub entries: usize,
    /// The file's size in bytes.
    pub bytes: u64,
}

/// What [`Cache::restore`](crate::Cache::restore) found in a snapshot file.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), larder::Error> {
/// # let dir = std::env::temp_dir().join(format!("larder-doc-restore-report-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).expect("temp dir");
/// let cache: larder::Cache<u32, String> = larder::Cache::new(100);
/// let report = cache.restore(dir.join("none-yet.snapshot")).await?;
/// assert_eq!(report.saved_at, None); // no file: nothing to restore
/// assert_eq!((report.restored, report.expired), (0, 0));
/// # std::fs::remove_dir_all(&dir).expect("cleanup"); Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RestoreReport {
    /// Entries stored in the cache. A cache smaller than the snapshot keeps what its policy
    /// keeps of them.
    pub restored: usize,
    /// Entries left out because their TTL ran out between the save and the restore, by the
    /// wall clock.
    pub expired: usize,
    /// When the snapshot was saved, by the wall clock of the cache that saved it; `None` when
    /// there was no file.
    pub saved_at: Option<SystemTime>,
}
