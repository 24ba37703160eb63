//! File helpers of the staging area and the swap: listing a folder on many threads, making a
//! new file (never writing through an old one, clearing what an older layout left in the way),
//! removing what is left over.

use std::collections::BTreeSet;
use std::path::Path;

use rayon::prelude::*;
use tempfile::NamedTempFile;

use super::{parent_of, Fill};
use crate::error::{Error, Result};
use crate::fs::Tee;
use crate::trust::version::Sha256Writer;

/// Every entry under `dir`, not `dir` itself, links not followed (as `WalkDir` lists them):
/// its top-level folders are listed side by side, since an output is a few folders of
/// thousands of pages each. In no particular order; an entry's `depth()` counts from the
/// folder it was listed in, so compare paths instead.
pub(super) fn walk(dir: &Path) -> Vec<walkdir::Result<walkdir::DirEntry>> {
    top_level(dir)
        .into_par_iter()
        .flat_map_iter(with_below)
        .collect()
}

/// [`walk`] on threads of its own instead of the pool's: top-level folders shared out among
/// as many threads as there are cores (called with a lock held that the pool's threads may
/// wait on, see [`Staging::folder`]).
pub(super) fn walk_on_threads(dir: &Path) -> Vec<walkdir::Result<walkdir::DirEntry>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut shares: Vec<Vec<walkdir::Result<walkdir::DirEntry>>> =
        (0..threads).map(|_| Vec::new()).collect();
    for (n, entry) in top_level(dir).into_iter().enumerate() {
        shares[n % threads].push(entry);
    }
    std::thread::scope(|scope| {
        let listers: Vec<_> = shares
            .into_iter()
            .map(|share| scope.spawn(|| share.into_iter().flat_map(with_below).collect::<Vec<_>>()))
            .collect();
        listers
            .into_iter()
            .flat_map(|l| l.join().expect("a lister does not panic"))
            .collect()
    })
}

/// The entries directly in `dir`.
pub(super) fn top_level(dir: &Path) -> Vec<walkdir::Result<walkdir::DirEntry>> {
    walkdir::WalkDir::new(dir)
        .min_depth(1)
        .max_depth(1)
        .into_iter()
        .collect()
}

/// `entry`, then everything under it when it is a folder (links not followed).
pub(super) fn with_below(
    entry: walkdir::Result<walkdir::DirEntry>,
) -> impl Iterator<Item = walkdir::Result<walkdir::DirEntry>> {
    let below = match &entry {
        Ok(e) if e.file_type().is_dir() => Some(walkdir::WalkDir::new(e.path()).min_depth(1)),
        _ => None,
    };
    std::iter::once(entry).chain(below.into_iter().flatten())
}

/// Creates `path` (inside `root`) with `bytes`, making its folders; a folder or file in the
/// way, left from another generation's layout, is removed first.
pub(super) fn write_new(root: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    write_new_by(root, path, &mut |file| {
        std::io::Write::write_all(file, bytes)
    })
}

/// [`write_new`] of what `fill` writes into the new file (called again if the first try
/// failed).
pub(super) fn write_new_by(
    root: &Path,
    path: &Path,
    fill: &mut dyn FnMut(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<()> {
    make_new(root, path, &mut |path| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)?;
        fill(&mut file)
    })
}

/// The bytes `fill` writes, made into a new file beside `output_dir` (named as a staging
/// folder is, so the next build sweeps it if this one is killed) while they are hashed: the
/// file and the hex SHA-256.
pub(super) fn make_aside(
    output_dir: &Path,
    rel: &str,
    fill: &Fill,
) -> Result<(NamedTempFile, String)> {
    let parent = parent_of(output_dir);
    let mut builder = tempfile::Builder::new();
    // Readable as any file the build makes (the umask applies), not only by its owner.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut file = builder
        .prefix(".imprimatur-build-")
        .tempfile_in(parent)
        .map_err(|e| Error::io(parent, e))?;
    let mut out = std::io::BufWriter::with_capacity(
        1 << 16,
        Tee {
            into: file.as_file_mut(),
            copy: Sha256Writer::default(),
        },
    );
    fill(&mut out).map_err(|e| Error::io(rel, e))?;
    let teed = out
        .into_inner()
        .map_err(|e| Error::io(rel, e.into_error()))?;
    let hash = teed.copy.hex();
    Ok((file, hash))
}

/// Moves `file` (made by [`make_aside`]) to the new `path` inside `root`, as [`write_new`]
/// would have made it: never onto anything already there.
pub(super) fn move_new(root: &Path, path: &Path, file: NamedTempFile) -> Result<()> {
    let mut file = Some(file);
    make_new(root, path, &mut |path| {
        let made = file
            .take()
            .ok_or_else(|| std::io::Error::other("moved once"))?;
        match made.persist_noclobber(path) {
            Ok(_) => Ok(()),
            Err(e) => {
                file = Some(e.file);
                Err(e.error)
            }
        }
    })
}

/// Makes the new `path` inside `root` with `create`, its folders first; when that fails, a
/// folder or file in the way (left from another generation's layout) is removed and
/// `create` is called once more.
pub(super) fn make_new(
    root: &Path,
    path: &Path,
    make: &mut dyn FnMut(&Path) -> std::io::Result<()>,
) -> Result<()> {
    let mut create = |path: &Path| -> std::io::Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        make(path)
    };
    if create(path).is_ok() {
        return Ok(());
    }
    // Something of the old layout is in the way: clear the path, then try once more.
    let mut at = path;
    while let Some(parent) = at.parent() {
        if parent == root || !parent.starts_with(root) {
            break;
        }
        if std::fs::symlink_metadata(parent).is_ok_and(|m| !m.is_dir()) {
            remove_old(parent)?;
        }
        at = parent;
    }
    if std::fs::symlink_metadata(path).is_ok() {
        remove_old(path)?;
    }
    create(path).map_err(|e| Error::io(path, e))
}

/// Removes the folders left empty by deleting `removed` files (deepest first).
pub(super) fn remove_empty_dirs<'a>(root: &Path, removed: impl Iterator<Item = &'a str>) {
    let mut dirs = BTreeSet::new();
    for rel in removed {
        let mut at = Path::new(rel);
        while let Some(parent) = at.parent() {
            if parent.as_os_str().is_empty() {
                break;
            }
            dirs.insert(parent.to_path_buf());
            at = parent;
        }
    }
    for dir in dirs.iter().rev() {
        // Fails, as it should, for a folder that still holds something.
        let _ = std::fs::remove_dir(root.join(dir));
    }
}

pub(super) fn remove_old(path: &Path) -> Result<()> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| Error::io(path, e))?;
    let result = if meta.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    result.map_err(|e| Error::io(path, e))
}
