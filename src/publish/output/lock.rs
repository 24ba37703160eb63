//! The build lock: one build at a time in the folder holding `output/`. Taking it waits for
//! any other build there (an exclusive lock on a file beside `output/`, through the standard
//! library's `File::lock`), then removes the staging folders that killed builds left.

use std::path::{Path, PathBuf};

use super::files::remove_old;
use super::{parent_of, LOCK, STAGING_PREFIXES};
use crate::error::{Error, Result};

/// One build at a time in the folder holding `output/`: an exclusive lock on a lock file
/// there, waited for, held until dropped. Taking it also removes what killed builds left.
pub struct BuildLock {
    path: PathBuf,
    _file: std::fs::File,
}

impl BuildLock {
    /// Waits until no other build holds the lock, then removes leftover staging folders.
    pub fn acquire(output_dir: &Path) -> Result<BuildLock> {
        let parent = parent_of(output_dir);
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        let path = parent.join(LOCK);
        #[cfg(target_os = "linux")]
        let file = lock_linux(&path)?;
        #[cfg(not(target_os = "linux"))]
        let file = lock_portable(&path)?;
        let lock = BuildLock { path, _file: file };
        sweep_leftovers(parent)?;
        Ok(lock)
    }
}

impl Drop for BuildLock {
    /// The lock file is removed while still locked: a build waiting on it then finds that
    /// the path names another file (or none) and locks afresh, so no folder stays behind.
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// An exclusive lock ([`std::fs::File::lock`], a `flock` here) on `path`, opened never
/// through a link, waited for and retried until the file locked is the one still at `path`
/// (the holder removes it when done).
#[cfg(target_os = "linux")]
pub(super) fn lock_linux(path: &Path) -> Result<std::fs::File> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    loop {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .mode(0o644)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        loop {
            match file.lock() {
                Ok(()) => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io(path, e)),
            }
        }
        let locked = file.metadata().map_err(|e| Error::io(path, e))?;
        match std::fs::symlink_metadata(path) {
            Ok(now) if now.dev() == locked.dev() && now.ino() == locked.ino() => return Ok(file),
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(path, e)),
        }
    }
}

/// Without `flock`: the lock file is created exclusively, and a build that finds one fails
/// with a clear message (a killed build's lock file must then be removed by hand).
#[cfg_attr(target_os = "linux", allow(dead_code))]
pub(super) fn lock_portable(path: &Path) -> Result<std::fs::File> {
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(file) => Ok(file),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Error::UnsafePath {
            path: path.to_path_buf(),
            why: "another build is running here (if none is, a killed build left this lock file: remove it)".into(),
        }),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Removes the staging folders that killed builds left beside `output/` (only called with
/// the lock held, so none belongs to a running build). Links are removed, never followed.
pub(super) fn sweep_leftovers(parent: &Path) -> Result<()> {
    let entries = std::fs::read_dir(parent).map_err(|e| Error::io(parent, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(parent, e))?;
        let name = entry.file_name();
        if STAGING_PREFIXES
            .iter()
            .any(|p| name.as_encoded_bytes().starts_with(p))
        {
            remove_old(&entry.path())?;
        }
    }
    Ok(())
}
