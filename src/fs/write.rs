//! Writing files so that a crash leaves the old file or the new one, never a mix. Writes go to
//! a file beside their target that is renamed over it, and a symbolic link at the target is
//! replaced, never written through; a folder to write into is reached without following a
//! link an attacker may have placed below the trusted base.

use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    write_beside(path, &|w| w.write_all(bytes), false)
}

/// [`write_file`] of what `fill` writes, straight into the file as it is made (reports of
/// tens of megabytes are never held whole).
pub fn write_file_with(
    path: &Path,
    fill: &dyn Fn(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<()> {
    write_beside(path, fill, false)
}

/// Writes into `into` and hands `copy` every byte that went in: the hash or the tag of a
/// file made as it is written, never held whole.
pub(crate) struct Tee<W, C> {
    pub into: W,
    pub copy: C,
}

impl<W: std::io::Write, C: std::io::Write> std::io::Write for Tee<W, C> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.into.write(buf)?;
        self.copy.write_all(&buf[..n])?;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.into.flush()
    }
}

/// [`write_file`], with the bytes on disk before the rename: for state that must survive a
/// crash of the machine, not only of the process (the notification ledger).
pub fn write_file_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    write_beside(path, &|w| w.write_all(bytes), true)
}

/// [`write_file_synced`] of what `fill` writes, straight into the file as it is made.
pub(crate) fn write_file_synced_with(
    path: &Path,
    fill: &dyn Fn(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<()> {
    write_beside(path, fill, true)
}

fn write_beside(
    path: &Path,
    fill: &dyn Fn(&mut dyn std::io::Write) -> std::io::Result<()>,
    sync: bool,
) -> Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".imprimatur-tmp-")
        .tempfile_in(parent)
        .map_err(|e| Error::io(parent, e))?;
    {
        let mut out = std::io::BufWriter::with_capacity(1 << 16, &mut tmp);
        fill(&mut out).map_err(|e| Error::io(path, e))?;
        std::io::Write::flush(&mut out).map_err(|e| Error::io(path, e))?;
    }
    if sync {
        tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    }
    // rename(2) replaces whatever is at `path`, a symbolic link included, without following it.
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    if sync {
        // The rename is durable once the folder is synced; where a folder can't be opened or
        // synced, the write is still atomic.
        if let Ok(dir) = std::fs::File::open(parent) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

/// Makes sure `base/rel` is a folder reached without any symbolic link below `base`, creating
/// the folders that are missing; returns its path. For writers: a record or a blob is never
/// written through a link an attacker placed under `approvals/`.
pub fn real_dir(base: &Path, rel: &Path) -> Result<PathBuf> {
    let mut at = base.to_path_buf();
    for c in rel.components() {
        let Component::Normal(name) = c else {
            return Err(Error::UnsafePath {
                path: base.join(rel),
                why: "is not a plain relative path".into(),
            });
        };
        at.push(name);
        loop {
            match std::fs::symlink_metadata(&at) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(Error::UnsafePath {
                        path: at,
                        why: "is a symbolic link; refusing to write through it".into(),
                    })
                }
                Ok(meta) if meta.is_dir() => break,
                Ok(_) => {
                    return Err(Error::UnsafePath {
                        path: at,
                        why: "is not a folder".into(),
                    })
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    // mkdir(2) never follows a link; if one appeared meanwhile, look again.
                    match std::fs::create_dir(&at) {
                        Ok(()) => break,
                        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                        Err(e) => return Err(Error::io(&at, e)),
                    }
                }
                Err(e) => return Err(Error::io(&at, e)),
            }
        }
    }
    Ok(at)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn real_dir_makes_missing_folders_and_refuses_links() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        let made = real_dir(base, Path::new("a/b/c")).unwrap();
        assert!(made.is_dir());
        std::os::unix::fs::symlink(base.join("a"), base.join("l")).unwrap();
        let err = real_dir(base, Path::new("l/b")).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
        std::fs::write(base.join("a/file"), b"").unwrap();
        let err = real_dir(base, Path::new("a/file/x"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a folder"), "{err}");
    }
}
