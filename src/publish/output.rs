//! Writing the public site. A build locks the folder holding `output/`, removes the staging
//! folders a killed build left there, writes into a fresh staging folder and swaps it in at
//! the end, so a failed or killed build leaves the previous complete site in place (SPEC §7).
//! The staged site carries its own manifest, [`MARKER`]: the files written with their hashes
//! and the pages that were live. Swapped in with the site, it marks the folder as a build's
//! (a non-empty folder without it is never replaced), tells the next build which pages went
//! offline, and lets it find hand edits (`output_drift`), even after a kill at any moment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::atomic::{self, ReadErrorKind};
use crate::error::{Error, Result};
use crate::site::Finding;
use crate::trust::review::FindingKind;
use crate::trust::version;

/// The build manifest inside `output/`, written last into the staging folder.
pub const MARKER: &str = ".imprimatur-build.json";
/// The lock file beside `output/`, held for a whole build and removed at its end.
const LOCK: &str = ".imprimatur-lock";
/// What the staging folders beside `output/` are called: `.imprimatur-build-<random>`
/// while a build writes, `.imprimatur-old-<name>-<pid>` for a moment while swapping.
const STAGING_PREFIXES: &[&[u8]] = &[b".imprimatur-build-", b".imprimatur-old-"];

/// What a build published: the contents of [`MARKER`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildManifest {
    /// Every file written, by `/`-separated path relative to `output/` → SHA-256 hex.
    pub files: BTreeMap<String, String>,
    /// The pages that were live: page id → URL relative to `output/` (`kb/install/`).
    pub pages: BTreeMap<String, String>,
}

/// The manifest of the build that wrote `output_dir`, if one did (and it is readable).
pub fn previous_build(output_dir: &Path) -> Option<BuildManifest> {
    read_marker(output_dir).ok().flatten()
}

/// `Ok(None)` when there is no marker; `Err(why)` when there is one that can't be used.
fn read_marker(output_dir: &Path) -> std::result::Result<Option<BuildManifest>, String> {
    match atomic::read_beneath(output_dir, Path::new(MARKER), version::MAX_FILE_BYTES) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| format!("{MARKER} is not a build manifest: {e}")),
        Err(e) if matches!(e.kind, ReadErrorKind::Missing) => Ok(None),
        Err(e) => Err(format!("{MARKER} {}", e.kind)),
    }
}

/// One build at a time in the folder holding `output/`: an exclusive `flock` on a lock file
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

/// `flock(LOCK_EX)` on `path` (never through a link), retried until the file locked is the
/// one still at `path` (the holder removes it when done).
#[cfg(target_os = "linux")]
fn lock_linux(path: &Path) -> Result<std::fs::File> {
    use rustix::fs::{flock, openat, FlockOperation, Mode, OFlags, CWD};
    use std::os::unix::fs::MetadataExt;
    loop {
        let flags = OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = openat(CWD, path, flags, Mode::from_raw_mode(0o644))
            .map_err(|e| Error::io(path, e.into()))?;
        loop {
            match flock(&fd, FlockOperation::LockExclusive) {
                Ok(()) => break,
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(Error::io(path, e.into())),
            }
        }
        let file = std::fs::File::from(fd);
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
fn lock_portable(path: &Path) -> Result<std::fs::File> {
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
fn sweep_leftovers(parent: &Path) -> Result<()> {
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

fn parent_of(output_dir: &Path) -> &Path {
    match output_dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// `output_dir` may be replaced when it does not exist, is empty, or holds [`MARKER`]: a
/// folder of someone's files is never deleted because `output:` named it.
fn check_replaceable(output_dir: &Path) -> Result<()> {
    let refuse = |why: &str| Error::UnsafePath {
        path: output_dir.to_path_buf(),
        why: why.into(),
    };
    let meta = match std::fs::symlink_metadata(output_dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(output_dir, e)),
    };
    if meta.file_type().is_symlink() {
        return Err(refuse("is a symbolic link; refusing to replace it"));
    }
    if !meta.is_dir() {
        return Err(refuse(
            "is not a folder, and no imprimatur build wrote it: refusing to replace it",
        ));
    }
    let mut entries = std::fs::read_dir(output_dir).map_err(|e| Error::io(output_dir, e))?;
    if entries.next().is_none() {
        return Ok(());
    }
    match read_marker(output_dir) {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(refuse(&format!(
            "is not empty and no imprimatur build wrote it (it has no {MARKER}): refusing to \
             replace it; move its files away, or set another `output:` in imprimatur.yaml"
        ))),
        Err(why) => Err(refuse(&format!(
            "is not empty and no imprimatur build wrote it ({why}): refusing to replace it"
        ))),
    }
}

/// Files being written for the next `output/`, and their hashes. Only made under the
/// [`BuildLock`], which must outlive it.
pub struct Staging<'lock> {
    dir: tempfile::TempDir,
    written: Mutex<BTreeMap<String, String>>,
    _lock: &'lock BuildLock,
}

impl<'lock> Staging<'lock> {
    /// A staging folder next to `output_dir` (same filesystem, so the swap is a rename).
    /// Refuses when `output_dir` is a folder that no build wrote.
    pub fn new(output_dir: &Path, lock: &'lock BuildLock) -> Result<Staging<'lock>> {
        check_replaceable(output_dir)?;
        let parent = parent_of(output_dir);
        let dir = tempfile::Builder::new()
            .prefix(".imprimatur-build-")
            .tempdir_in(parent)
            .map_err(|e| Error::io(parent, e))?;
        Ok(Staging {
            dir,
            written: Mutex::new(BTreeMap::new()),
            _lock: lock,
        })
    }

    /// Writes `rel` (a `/`-separated path checked to stay inside the site). Thread-safe.
    pub fn write(&self, rel: &str, bytes: &[u8]) -> Result<()> {
        if !version::is_safe_relative_path(rel) {
            return Err(Error::Refused(format!(
                "refusing to write '{rel}' outside output/"
            )));
        }
        let path = self.dir.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
        let mut written = self
            .written
            .lock()
            .expect("no writer panics while holding the lock");
        if written
            .insert(rel.to_string(), version::sha256_hex(bytes))
            .is_some()
        {
            return Err(Error::Refused(format!(
                "two outputs were written to '{rel}'"
            )));
        }
        Ok(())
    }

    /// The hex SHA-256 of a file this staging already holds (proofs name the HTML they
    /// vouch for).
    pub fn written_sha256(&self, rel: &str) -> Option<String> {
        self.written
            .lock()
            .expect("no writer panics while holding the lock")
            .get(rel)
            .cloned()
    }

    /// Writes the build manifest ([`MARKER`]: what was written, and `pages`, the live pages
    /// by id → URL) into the staged site, then puts it in place of `output_dir` in one step.
    /// Returns that manifest.
    pub fn commit(
        self,
        output_dir: &Path,
        pages: BTreeMap<String, String>,
    ) -> Result<BuildManifest> {
        let files = self.written.into_inner().expect("no writer panicked");
        let manifest = BuildManifest { files, pages };
        let mut json = serde_json::to_string_pretty(&manifest).expect("a manifest serializes");
        json.push('\n');
        let marker = self.dir.path().join(MARKER);
        std::fs::write(&marker, json).map_err(|e| Error::io(&marker, e))?;
        let staged = self.dir.keep();
        if let Err(e) = swap_in(&staged, output_dir) {
            let _ = std::fs::remove_dir_all(&staged);
            return Err(e);
        }
        Ok(manifest)
    }
}

/// Replaces `output_dir` by `staged`. On Linux both folders are exchanged atomically; the old
/// site is then deleted from where the staging folder was (if that fails, the next build
/// sweeps it: the new site is in place either way).
fn swap_in(staged: &Path, output_dir: &Path) -> Result<()> {
    let exists = std::fs::symlink_metadata(output_dir).is_ok();
    if !exists {
        return std::fs::rename(staged, output_dir).map_err(|e| Error::io(output_dir, e));
    }
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{renameat_with, RenameFlags, CWD};
        if renameat_with(CWD, staged, CWD, output_dir, RenameFlags::EXCHANGE).is_ok() {
            // `staged` now holds the previous site.
            let _ = remove_old(staged);
            return Ok(());
        }
    }
    // Without an atomic exchange: move the old site aside, move the new one in, and put the
    // old one back if that fails.
    let aside = aside_path(output_dir);
    std::fs::rename(output_dir, &aside).map_err(|e| Error::io(output_dir, e))?;
    if let Err(e) = std::fs::rename(staged, output_dir) {
        let _ = std::fs::rename(&aside, output_dir);
        return Err(Error::io(output_dir, e));
    }
    let _ = remove_old(&aside);
    Ok(())
}

fn aside_path(output_dir: &Path) -> PathBuf {
    let name = output_dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    output_dir.with_file_name(format!(".imprimatur-old-{name}-{}", std::process::id()))
}

fn remove_old(path: &Path) -> Result<()> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| Error::io(path, e))?;
    let result = if meta.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    result.map_err(|e| Error::io(path, e))
}

/// Compares `output_dir` with the manifest inside it (of the build that wrote it): every file
/// changed, added or removed since is an `output_drift` finding. No manifest, no findings.
/// Files are read without following links (a link is a changed file).
pub fn drift(output_dir: &Path, output_name: &str) -> Vec<Finding> {
    let manifest = match read_marker(output_dir) {
        Ok(Some(manifest)) => manifest,
        Ok(None) => return Vec::new(),
        Err(why) => {
            return vec![Finding {
                kind: FindingKind::OutputDrift,
                page: None,
                detail: format!("{output_name}/{why}; {output_name}/ can't be checked"),
                file: Some(format!("{output_name}/{MARKER}")),
            }]
        }
    };
    let mut found: BTreeMap<String, String> = BTreeMap::new();
    for entry in walkdir::WalkDir::new(output_dir)
        .min_depth(1)
        .into_iter()
        .flatten()
    {
        if entry.file_type().is_dir() || (entry.depth() == 1 && entry.file_name() == MARKER) {
            continue;
        }
        let rel = crate::site::config::display_relative(output_dir, entry.path());
        let inner = entry
            .path()
            .strip_prefix(output_dir)
            .unwrap_or(entry.path());
        let hash = atomic::read_beneath(output_dir, inner, u64::MAX)
            .map(|b| version::sha256_hex(&b))
            .unwrap_or_default();
        found.insert(rel, hash);
    }
    let mut findings = Vec::new();
    let mut drift = |rel: &str, what: &str| {
        findings.push(Finding {
            kind: FindingKind::OutputDrift,
            page: None,
            detail: format!("{output_name}/{rel} was {what} by hand since the last build"),
            file: Some(format!("{output_name}/{rel}")),
        })
    };
    for (rel, hash) in &manifest.files {
        match found.get(rel) {
            None => drift(rel, "removed"),
            Some(h) if h != hash => drift(rel, "changed"),
            _ => {}
        }
    }
    for rel in found.keys().filter(|r| !manifest.files.contains_key(*r)) {
        drift(rel, "added");
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_committed_site_replaces_the_old_one_and_hand_edits_are_drift() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("output");
        let lock = BuildLock::acquire(&out).unwrap();
        let s = Staging::new(&out, &lock).unwrap();
        s.write("index.html", b"one").unwrap();
        s.write("kb/a/index.html", b"a").unwrap();
        assert!(s.write("../escape", b"x").is_err());
        let pages = BTreeMap::from([("kb/a".to_string(), "kb/a/".to_string())]);
        s.commit(&out, pages.clone()).unwrap();
        assert_eq!(std::fs::read(out.join("index.html")).unwrap(), b"one");
        assert!(drift(&out, "output").is_empty());
        let previous = previous_build(&out).unwrap();
        assert_eq!(previous.pages, pages);
        assert_eq!(previous.files["index.html"], version::sha256_hex(b"one"));

        std::fs::write(out.join("index.html"), b"defaced").unwrap();
        std::fs::remove_file(out.join("kb/a/index.html")).unwrap();
        std::fs::write(out.join("extra.html"), b"x").unwrap();
        let details: Vec<String> = drift(&out, "output")
            .into_iter()
            .map(|f| f.detail)
            .collect();
        assert_eq!(details.len(), 3, "{details:?}");
        assert!(details[0].contains("output/index.html was changed"));
        assert!(details[1].contains("output/kb/a/index.html was removed"));
        assert!(details[2].contains("output/extra.html was added"));

        let s = Staging::new(&out, &lock).unwrap();
        s.write("index.html", b"two").unwrap();
        s.commit(&out, BTreeMap::new()).unwrap();
        assert_eq!(std::fs::read(out.join("index.html")).unwrap(), b"two");
        assert!(!out.join("extra.html").exists());
        assert!(previous_build(&out).unwrap().pages.is_empty());
        drop(lock);
        let leftovers: Vec<_> = std::fs::read_dir(root.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".imprimatur"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn an_abandoned_staging_leaves_the_old_site_alone() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("output");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("index.html"), b"old").unwrap();
        std::fs::write(out.join(MARKER), b"{\"files\": {}, \"pages\": {}}").unwrap();
        {
            let lock = BuildLock::acquire(&out).unwrap();
            let s = Staging::new(&out, &lock).unwrap();
            s.write("index.html", b"new").unwrap();
            // dropped without commit: a failed build
        }
        assert_eq!(std::fs::read(out.join("index.html")).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_folder_no_build_wrote_is_never_replaced() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("output");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("mine.txt"), b"mine").unwrap();
        let lock = BuildLock::acquire(&out).unwrap();
        let err = Staging::new(&out, &lock).err().unwrap().to_string();
        assert!(err.contains("no imprimatur build wrote it"), "{err}");
        std::fs::write(out.join(MARKER), b"not json").unwrap();
        assert!(Staging::new(&out, &lock).is_err());
        assert!(previous_build(&out).is_none());
        assert_eq!(std::fs::read(out.join("mine.txt")).unwrap(), b"mine");
    }
}
