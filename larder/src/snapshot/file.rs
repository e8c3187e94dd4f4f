//! The file work: replacing a file atomically (a temporary file in the same directory,
//! written, synced, renamed over the target, then the directory synced), and reading a file
//! that may not exist yet.

use std::fs::{self, File, OpenOptions};
use std::hash::BuildHasher;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// A file being written in place of `target`, which is untouched until
/// [`commit`](Self::commit) renames it over. Dropped uncommitted (an error, a panic), it
/// removes its temporary file; a process killed mid-way leaves it behind, next to the target.
#[derive(Debug)]
pub(crate) struct Replacement {
    out: BufWriter<File>,
    /// After `out`: fields drop in order, so the file is closed before it is removed.
    temp: TempPath,
    target: PathBuf,
}

impl Replacement {
    /// A new, empty temporary file beside `target`, readable and writable by its owner only
    /// (mode 0600 on Unix: a snapshot holds the cached values).
    pub(crate) fn create(target: &Path) -> io::Result<Self> {
        let name = target
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
        // Unique among saves running at once, in this process (a random word) or in another
        // (the pid); `create_new` refuses to share one anyway.
        let random = std::collections::hash_map::RandomState::new().hash_one(target);
        let temp = parent_dir(target).join(format!(
            ".{}.{}-{random:016x}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&temp)?;
        Ok(Self {
            out: BufWriter::with_capacity(1 << 16, file),
            temp: TempPath {
                path: temp,
                keep: false,
            },
            target: target.to_path_buf(),
        })
    }

    pub(crate) fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)
    }

    /// Overwrites the start of the file with `bytes` (a header written last).
    pub(crate) fn write_at_start(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.seek(SeekFrom::Start(0))?;
        self.out.write_all(bytes)
    }

    /// Makes the file durable, then puts it in the target's place in one step (`rename`), and
    /// makes that durable too. Until the rename, the target is what it was; after it, the new
    /// file whole.
    pub(crate) fn commit(self) -> io::Result<()> {
        let Self {
            out,
            mut temp,
            target,
        } = self;
        let file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.sync_all()?;
        // Closed before the rename, which some systems refuse for an open file.
        drop(file);
        fs::rename(&temp.path, &target)?;
        temp.keep = true;
        sync_dir(parent_dir(&target))
    }
}

/// The contents of the file at `path`, or `None` if there is none.
pub(crate) fn read_if_exists(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// A temporary file's path, removed on drop unless kept.
#[derive(Debug)]
struct TempPath {
    path: PathBuf,
    keep: bool,
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if !self.keep {
            // Nothing to do if it fails: the file is a leftover, never the snapshot.
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// The directory a file is in: `.` for a bare file name.
fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Makes a rename in `dir` durable. Unix only: elsewhere a directory cannot be opened as a
/// file, and the rename's durability is left to the system.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}
