//! Writing the public site. A build locks the folder holding `output/`, removes the staging
//! folders a killed build left there, writes into a staging folder and swaps it in at the
//! end, so a failed or killed build leaves the previous complete site in place (SPEC §7).
//!
//! Two generations, so a rebuild rewrites only what changed: after a swap the replaced site
//! is kept beside `output/` as [`PREVIOUS`], trimmed to the files it shares byte for byte
//! with the new one (nothing of a page that went offline stays behind). The next build takes
//! that folder as its staging folder once it renders a file whose bytes the intact `output/`
//! lacks, compares each file it renders with the bytes already there (read, never trusted
//! from a manifest), writes only those that differ, links output/'s own files for the rest,
//! and deletes what it did not render. A build whose every file and page equals the intact
//! `output/` makes no staging folder and swaps nothing: no file of `output/` is touched.
//! Beside the kept files lie what the next build may skip work with: the stat of every
//! folder and file of `output/` (so the drift check lists and reads only what moved, see
//! [`OutputStat`]), the kept generation's own listing with the stat of each folder (so the
//! build taking it over lists only the folders that moved, see `listing`: a file slipped
//! into a folder moves its stat, and is found and deleted) and the render memo
//! (`render_memo`): a page or the
//! search index whose inputs did not change is kept (`Staging::reuse`) without being
//! rendered, when the intact `output/` holds the very bytes the memo names.
//! The staged site carries its own manifest, [`MARKER`]: the files written with their hashes
//! and the pages that were live. Swapped in with the site, it marks the folder as a build's
//! (a non-empty folder without it is never replaced), tells the next build which pages went
//! offline, and lets it find hand edits (`output_drift`), even after a kill at any moment.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::cache::render_memo::{self, GroupMemo, PageMemo, RenderMemo};
use crate::cache::Tagger;
use crate::error::{Error, Result};
use crate::fs::Fingerprint;
use crate::fs::{self, ReadErrorKind, Tee};
use crate::site::Finding;
use crate::trust::review::FindingKind;
use crate::trust::version::{self, Sha256Writer};
use tempfile::NamedTempFile;

mod listing;
use listing::{settled, Listed, Look};

/// Writes the bytes of one file, a piece at a time (see [`Staging::write_with`]).
pub type Fill<'a> = dyn Fn(&mut dyn std::io::Write) -> std::io::Result<()> + Sync + 'a;

/// The build manifest inside `output/`, written last into the staging folder.
pub const MARKER: &str = ".imprimatur-build.json";
/// The lock file beside `output/`, held for a whole build and removed at its end.
const LOCK: &str = ".imprimatur-lock";
/// What the staging folders beside `output/` are called: `.imprimatur-build-<random>`
/// while a build writes, `.imprimatur-old-<name>-<pid>` for a moment while swapping.
const STAGING_PREFIXES: &[&[u8]] = &[b".imprimatur-build-", b".imprimatur-old-"];
/// The previous generation beside `output/`: `.imprimatur-prev-<name>`, only ever a subset
/// of the site in `output/` (see the module comment).
pub const PREVIOUS: &str = ".imprimatur-prev-";
/// In the kept generation: what each file of `output/` looked like on disk after the last
/// build (inode, size, modification and change time) with its hash, so that the next build's
/// drift check reads only files whose metadata moved. The change time can't be set back from
/// user space, so no edit keeps all of it. Never part of a site.
const OUTPUT_STAT: &str = ".imprimatur-output-stat.bin";
/// In the kept generation: its own listing, each folder with the stat it was listed at (see
/// `listing`), so that the build taking it over lists only the folders that moved since.
/// Never part of a site.
const KEPT_STAT: &str = ".imprimatur-kept-stat.bin";
/// What a kept generation holds at its top besides files of the site: removed when it is
/// taken over.
const KEPT_CACHES: [&str; 4] = [MARKER, OUTPUT_STAT, KEPT_STAT, render_memo::FILE];
/// Test hook: a build aborts the process (as a kill would) after writing this many files.
/// The most a build reads of one file of the last build's `output/` to patch it (a piece of the
/// search index; the biggest is a few MB at 100,000 pages): beyond, it makes the file anew.
const BEFORE_LIMIT: u64 = 256 << 20;
const ABORT_AFTER_WRITES: &str = "IMPRIMATUR_TEST_ABORT_AFTER_WRITES";

/// What a build published: the contents of [`MARKER`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildManifest {
    /// Every file written, by `/`-separated path relative to `output/` → SHA-256 hex.
    pub files: BTreeMap<String, String>,
    /// The pages that were live: page id → URL relative to `output/` (`kb/install/`).
    pub pages: BTreeMap<String, String>,
}

impl BuildManifest {
    /// The bytes of [`MARKER`]: pretty JSON and a newline. `audit` derives the marker of a
    /// published folder again with it.
    pub fn write_to(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        serde_json::to_writer_pretty(&mut *w, self)?;
        w.write_all(b"\n")
    }
}

/// The manifest of the build that wrote `output_dir`, if one did (and it is readable).
pub fn previous_build(output_dir: &Path) -> Option<BuildManifest> {
    read_marker(output_dir).ok().flatten()
}

/// `Ok(None)` when there is no marker; `Err(why)` when there is one that can't be used.
fn read_marker(output_dir: &Path) -> std::result::Result<Option<BuildManifest>, String> {
    match fs::read_beneath(output_dir, Path::new(MARKER), version::MAX_FILE_BYTES) {
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
/// folder of someone's files is never deleted because `output:` named it. `has_manifest`:
/// the drift check, under the same lock, just read a [`MARKER`] there (not read again).
fn check_replaceable(output_dir: &Path, has_manifest: bool) -> Result<()> {
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
    if has_manifest {
        return Ok(());
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
///
/// A file whose bytes the intact `output/` holds already is only listed while rendering; the
/// staging folder is made (the kept generation taken over) when the first file with new bytes
/// is written, or at the commit. A build that changes nothing never makes one.
pub struct Staging<'lock> {
    /// Where the staging folder is made (the folder holding `output/`).
    output_dir: PathBuf,
    folder: std::sync::OnceLock<Folder>,
    /// Held while the folder is being made, so that it is made once.
    making: Mutex<()>,
    written: Mutex<BTreeMap<String, String>>,
    /// Files whose bytes `output/` holds: made one file with it at the commit (if any).
    from_output: Mutex<Vec<String>>,
    /// Files whose bytes differed from what the staging folder held, and were written.
    rewritten: AtomicUsize,
    /// Whether `output/` is as its build wrote it (its files by hash are then `previous`'s).
    output_intact: bool,
    /// The manifest inside `output/` (intact or not), to compare the new one with.
    previous: Option<BuildManifest>,
    /// Whether the kept stat of `output/`'s files held for every file (nothing to record),
    /// and then those stats.
    stat_current: bool,
    output_known: OutputKnown,
    /// What the last build's render memo vouched for (tag checked), and its file's bytes.
    rendered_before: RenderMemo,
    rendered_before_bytes: Vec<u8>,
    /// The same, for this build, kept for the next one: what was rendered anew, and the
    /// pages kept as they were (their entries move over at the commit).
    rendered_now: Mutex<RenderMemo>,
    reused_pages: Mutex<Vec<String>>,
    tagger: Option<Tagger>,
    abort_after: Option<usize>,
    _lock: &'lock BuildLock,
}

/// What the drift check found of the intact `output/` (else empty): the stat of each file,
/// when every one held, and the listing recorded after its build (see [`Drift`]).
#[derive(Default)]
struct OutputKnown {
    stats: BTreeMap<String, Fingerprint>,
    listed: Listed,
}

/// How a folder is listed: top-level folders shared out among the threads of the pool, or
/// among threads of its own.
#[derive(Debug, Clone, Copy)]
enum Listing {
    Parallel,
    OwnThreads,
}

/// The staging folder, once made: the kept generation taken over, or a new empty folder.
struct Folder {
    dir: tempfile::TempDir,
    /// Regular files it held when taken over from [`PREVIOUS`].
    existing: BTreeSet<String>,
    /// Its listing when taken over (empty when it was made empty, or listed without stats).
    listed: Listed,
    /// Paths in it that this build wrote, linked or removed (see [`touched_folders`]).
    touched: Mutex<Vec<String>>,
}

impl Folder {
    /// Notes that the build wrote, linked or removed `rel` in the folder.
    fn touch(&self, rel: &str) {
        let mut touched = self.touched.lock().expect("no writer panics");
        touched.push(rel.to_string());
    }

    /// A folder next to `output_dir` (same filesystem, so the swap is a rename): the previous
    /// generation when one is kept, else an empty folder. `Listing::OwnThreads` when called by a
    /// thread of the pool that holds a lock other threads of it wait on (see
    /// [`Staging::folder`]).
    fn make(output_dir: &Path, listing: Listing) -> Result<Folder> {
        let parent = parent_of(output_dir);
        let dir = tempfile::Builder::new()
            .prefix(".imprimatur-build-")
            .tempdir_in(parent)
            .map_err(|e| Error::io(parent, e))?;
        let previous = previous_path(output_dir);
        let mut existing = BTreeSet::new();
        let mut listed = Listed::default();
        let mut removed = Vec::new();
        match std::fs::symlink_metadata(&previous) {
            // Renamed over the empty staging folder: from now on a kill leaves a
            // `.imprimatur-build-*` folder, which the next build sweeps.
            Ok(meta) if meta.is_dir() => {
                if std::fs::rename(&previous, dir.path()).is_ok() {
                    (existing, listed, removed) = take_over(dir.path(), listing)?;
                } else {
                    remove_old(&previous)?;
                }
            }
            Ok(_) => remove_old(&previous)?,
            Err(_) => {}
        }
        Ok(Folder {
            dir,
            existing,
            listed,
            touched: Mutex::new(removed),
        })
    }
}

/// What a commit did to `output/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Swap {
    /// The new site is in place.
    Swapped,
    /// `output/` already held exactly this site: nothing in it was touched.
    Unchanged,
}

impl<'lock> Staging<'lock> {
    /// Staging for the next `output_dir`, after `drift` checked it. Refuses when `output_dir`
    /// is a folder that no build wrote. `tagger` authenticates the render memo kept for the
    /// next build (without one, every page is rendered: nothing kept between runs is trusted).
    pub fn new(
        output_dir: &Path,
        lock: &'lock BuildLock,
        drift: Drift,
        tagger: Option<Tagger>,
    ) -> Result<Staging<'lock>> {
        check_replaceable(output_dir, drift.manifest.is_some())?;
        let output_intact = drift.intact();
        let (rendered_before, rendered_before_bytes) = match &tagger {
            Some(tagger) if output_intact => {
                let path = previous_path(output_dir).join(render_memo::FILE);
                let bytes = std::fs::read(path).unwrap_or_default();
                (RenderMemo::from_bytes(&bytes, tagger), bytes)
            }
            _ => (RenderMemo::default(), Vec::new()),
        };
        let abort_after = std::env::var(ABORT_AFTER_WRITES)
            .ok()
            .and_then(|n| n.parse().ok());
        Ok(Staging {
            output_dir: output_dir.to_path_buf(),
            folder: std::sync::OnceLock::new(),
            making: Mutex::new(()),
            written: Mutex::new(BTreeMap::new()),
            from_output: Mutex::new(Vec::new()),
            rewritten: AtomicUsize::new(0),
            output_intact,
            previous: drift.manifest,
            stat_current: output_intact && drift.stat_current,
            output_known: match output_intact {
                true => OutputKnown {
                    stats: drift.stats,
                    listed: drift.recorded,
                },
                false => OutputKnown::default(),
            },
            rendered_before,
            rendered_before_bytes,
            rendered_now: Mutex::new(RenderMemo::default()),
            reused_pages: Mutex::new(Vec::new()),
            tagger,
            abort_after,
            _lock: lock,
        })
    }

    /// The hash of `output/`'s file `rel`, when `output/` is intact and has one.
    fn output_file(&self, rel: &str) -> Option<&String> {
        let previous = self.previous.as_ref().filter(|_| self.output_intact)?;
        previous.files.get(rel)
    }

    /// The staging folder, made on first use.
    fn folder(&self) -> Result<&Folder> {
        if let Some(folder) = self.folder.get() {
            return Ok(folder);
        }
        let _making = self.making.lock().expect("no maker panics");
        if let Some(folder) = self.folder.get() {
            return Ok(folder);
        }
        let t = crate::timings::phase("take over the kept generation");
        // Listed without the thread pool: a pool thread that waits inside a parallel listing
        // may take up another page whose write waits on `making`, which this thread holds.
        let folder = Folder::make(&self.output_dir, Listing::OwnThreads)?;
        drop(t);
        Ok(self.folder.get_or_init(|| folder))
    }

    /// Writes `rel` (a `/`-separated path checked to stay inside the site), unless the
    /// intact `output/` or the staging folder already holds exactly these bytes there.
    /// Thread-safe.
    pub fn write(&self, rel: &str, bytes: &[u8]) -> Result<()> {
        self.place(rel, Bytes::Whole(bytes))
    }

    /// [`Staging::write`] of the bytes `fill` writes, never held all at once (the whole
    /// search index is 170 MB at 100,000 pages). When `output/` has the file, they are made
    /// once into a file beside it while hashed, then dropped if they are `output/`'s or moved
    /// in; when only the staging folder has it, hashed to compare, and made again into the
    /// file if they differ; when neither has it, made into the file once.
    pub fn write_with(&self, rel: &str, fill: &Fill) -> Result<()> {
        self.place(rel, Bytes::Made(fill))
    }

    /// What [`Staging::write`] and [`Staging::write_with`] do, either way the bytes come.
    fn place(&self, rel: &str, bytes: Bytes) -> Result<()> {
        if !version::is_safe_relative_path(rel) {
            return Err(Error::Refused(format!(
                "refusing to write '{rel}' outside output/"
            )));
        }
        // The hash, once known without making the file.
        let mut known = match bytes {
            Bytes::Whole(whole) => Some(version::sha256_hex(whole)),
            Bytes::Made(_) => None,
        };
        let hash = |known: &mut Option<String>| -> Result<String> {
            if let Some(hash) = known {
                return Ok(hash.clone());
            }
            let hash = bytes.hash(rel)?;
            *known = Some(hash.clone());
            Ok(hash)
        };
        // A writer's bytes that output/ has a file to compare with are made once, into a file
        // beside output/ while they are hashed (the search index is 17 MB at 10,000 pages,
        // and any page added changes it): dropped when they are output/'s, else moved in.
        let mut aside = None;
        if let (Bytes::Made(fill), Some(_)) = (bytes, self.output_file(rel)) {
            let (file, hash) = make_aside(&self.output_dir, rel, fill)?;
            known = Some(hash);
            aside = Some(file);
        }
        if let Some(in_output) = self.output_file(rel) {
            let hash = hash(&mut known)?;
            if *in_output == hash {
                self.lock(&self.from_output).push(rel.to_string());
                return self.note_written(rel, hash);
            }
        }
        let folder = self.folder()?;
        let path = folder.dir.path().join(rel);
        if folder.existing.contains(rel) {
            let hash = hash(&mut known)?;
            let same = match bytes {
                Bytes::Whole(whole) => std::fs::read(&path).is_ok_and(|old| old == whole),
                Bytes::Made(_) => file_sha256(&path).is_ok_and(|old| old == hash),
            };
            if same {
                return self.note_written(rel, hash);
            }
            // A new file, never a write through whatever the old path now is.
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        }
        let made = match (bytes, aside) {
            (Bytes::Whole(whole), _) => {
                write_new(folder.dir.path(), &path, whole)?;
                known.expect("whole bytes are hashed first")
            }
            (Bytes::Made(_), Some(file)) => {
                move_new(folder.dir.path(), &path, file)?;
                known.expect("bytes made aside are hashed")
            }
            (Bytes::Made(fill), None) => {
                let mut made = None;
                write_new_by(folder.dir.path(), &path, &mut |file| {
                    let mut out = std::io::BufWriter::with_capacity(
                        1 << 16,
                        Tee {
                            into: file,
                            copy: Sha256Writer::default(),
                        },
                    );
                    fill(&mut out)?;
                    let teed = out.into_inner().map_err(|e| e.into_error())?;
                    made = Some(teed.copy.hex());
                    Ok(())
                })?;
                let made = made.expect("a written file was hashed");
                if known.is_some_and(|hash| hash != made) {
                    return Err(Error::Refused(format!(
                        "'{rel}' came out different when made twice from the same inputs"
                    )));
                }
                made
            }
        };
        folder.touch(rel);
        self.count_rewritten();
        self.note_written(rel, made)
    }

    /// One more file whose bytes were new (the test hook `ABORT_AFTER_WRITES` kills the
    /// build here).
    fn count_rewritten(&self) {
        let n = self.rewritten.fetch_add(1, Ordering::Relaxed) + 1;
        if self.abort_after.is_some_and(|limit| n >= limit) {
            std::process::abort();
        }
    }

    /// Remembers that `rel` is part of the new site, with the hash of its bytes.
    fn note_written(&self, rel: &str, hash: String) -> Result<()> {
        if self
            .lock(&self.written)
            .insert(rel.to_string(), hash)
            .is_some()
        {
            return Err(Error::Refused(format!(
                "two outputs were written to '{rel}'"
            )));
        }
        Ok(())
    }

    fn lock<'m, T>(&self, m: &'m Mutex<T>) -> std::sync::MutexGuard<'m, T> {
        m.lock().expect("no writer panics while holding the lock")
    }

    /// Whether pages are offered by the digest of their inputs (only with a key to vouch for
    /// what is kept for the next build).
    pub fn remembers(&self) -> bool {
        self.tagger.is_some()
    }

    /// What the last build remembered of the page whose HTML is at `rel`, if its memo held.
    pub fn recall(&self, rel: &str) -> Option<&PageMemo> {
        self.rendered_before.pages.get(rel)
    }

    /// Keeps `rel` as the last build rendered it, when that build's render memo says it was
    /// rendered from inputs with digest `inputs` into HTML that the intact `output/` still
    /// holds. Else `false`, and the page is rendered and written as any other.
    pub fn reuse(&self, rel: &str, inputs: &str) -> bool {
        let Some(memo) = self.rendered_before.pages.get(rel) else {
            return false;
        };
        if memo.inputs != inputs || !self.reuse_file(rel, &memo.html) {
            return false;
        }
        self.lock(&self.reused_pages).push(rel.to_string());
        true
    }

    /// Keeps every file of the group `name` as the last build wrote it, when it was made from
    /// inputs with digest `inputs` and the intact `output/` holds each of its files: how many;
    /// else `None` (and nothing of the group is kept).
    pub fn reuse_group(&self, name: &str, inputs: &str) -> Option<usize> {
        let memo = self.rendered_before.groups.get(name)?;
        if memo.inputs != inputs || !memo.files.iter().all(|(rel, h)| self.reusable(rel, h)) {
            return None;
        }
        // All or nothing: a file another output took already fails the build when the
        // group is written instead.
        if !memo.files.iter().all(|(rel, h)| self.reuse_file(rel, h)) {
            return None;
        }
        self.lock_now()
            .groups
            .insert(name.to_string(), memo.clone());
        Some(memo.files.len())
    }

    /// Whether `rel` can be kept with the bytes of hash `hash`: the intact `output/` holds
    /// them (by its manifest, which the drift check held the files to).
    fn reusable(&self, rel: &str, hash: &str) -> bool {
        version::is_safe_relative_path(rel)
            && self.output_file(rel).map(String::as_str) == Some(hash)
    }

    /// Keeps `rel` (see [`Staging::reusable`]): listed as written, made one file with
    /// `output/`'s at the commit.
    fn reuse_file(&self, rel: &str, hash: &str) -> bool {
        if !self.reusable(rel, hash) {
            return false;
        }
        let mut written = self.lock(&self.written);
        if written.contains_key(rel) {
            // Two outputs at one path: let `write` refuse it.
            return false;
        }
        written.insert(rel.to_string(), hash.to_string());
        drop(written);
        self.lock(&self.from_output).push(rel.to_string());
        true
    }

    /// [`Staging::write`] of a page, remembering what it was rendered from (`memo`, whose
    /// `html` is filled in here).
    pub fn write_rendered(&self, rel: &str, memo: Option<PageMemo>, bytes: &[u8]) -> Result<()> {
        self.write(rel, bytes)?;
        if let (Some(mut memo), Some(hash)) = (memo, self.written_sha256(rel)) {
            memo.html = hash;
            self.lock_now().pages.insert(rel.to_string(), memo);
        }
        Ok(())
    }

    /// Remembers the group `name`, its files (each written with [`Staging::write`] or kept
    /// with [`Staging::keep_before`]), the digest of the inputs they were made from and those
    /// inputs one by one (`parts`), for [`Staging::reuse_group`] and
    /// [`Staging::group_before`] next time.
    pub fn remember_group(
        &self,
        name: &str,
        inputs: Option<String>,
        files: &[String],
        parts: Vec<(String, [u8; 32])>,
    ) {
        let Some(inputs) = inputs else { return };
        let files = files
            .iter()
            .filter_map(|rel| Some((rel.clone(), self.written_sha256(rel)?)))
            .collect();
        let memo = GroupMemo {
            inputs,
            files,
            parts,
        };
        self.lock_now().groups.insert(name.to_string(), memo);
    }

    /// What the last build remembered of the group `name` (see [`Staging::remember_group`]),
    /// when the intact `output/` still holds every one of its files: what a build patches
    /// instead of making the group anew.
    pub fn group_before(&self, name: &str) -> Option<&GroupMemo> {
        let memo = self.rendered_before.groups.get(name)?;
        memo.files
            .iter()
            .all(|(rel, hash)| self.reusable(rel, hash))
            .then_some(memo)
    }

    /// The bytes of the intact `output/`'s file `rel` when they are exactly those of hash
    /// `hash` (read without following a link, at most [`BEFORE_LIMIT`] bytes); else `None`.
    pub fn read_before(&self, rel: &str, hash: &str) -> Option<Vec<u8>> {
        if !self.reusable(rel, hash) {
            return None;
        }
        let bytes = crate::fs::read_beneath(&self.output_dir, Path::new(rel), BEFORE_LIMIT).ok()?;
        (version::sha256_hex(&bytes) == hash).then_some(bytes)
    }

    /// Keeps `output/`'s file `rel` with the bytes of hash `hash` as part of the new site (see
    /// [`Staging::reuse_file`]): `false` when it can't.
    pub fn keep_before(&self, rel: &str, hash: &str) -> bool {
        self.reuse_file(rel, hash)
    }
    fn lock_now(&self) -> std::sync::MutexGuard<'_, RenderMemo> {
        self.rendered_now
            .lock()
            .expect("no writer panics while holding the lock")
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

    /// How many files were written so far because their bytes were new (in neither the
    /// previous generation nor `output/`).
    pub fn rewritten(&self) -> usize {
        self.rewritten.load(Ordering::Relaxed)
    }

    /// Deletes what the previous generation held and this build did not write, writes the
    /// build manifest ([`MARKER`]: what was written, and `pages`, the live pages by id → URL)
    /// into the staged site, then puts it in place of `output_dir` in one step — unless the
    /// intact `output/` already holds this very manifest, when nothing is swapped (and no
    /// staging folder was ever made). Returns that manifest.
    pub fn commit(
        self,
        output_dir: &Path,
        pages: BTreeMap<String, String>,
    ) -> Result<(BuildManifest, Swap)> {
        let render_memo = match self.tagger {
            Some(tagger) => {
                let mut now = self.rendered_now.into_inner().expect("no writer panicked");
                let reused = self.reused_pages.into_inner().expect("no writer panicked");
                let mut before = self.rendered_before;
                // Nothing was rendered anew: the file that was read says it all already
                // (each page is kept at most once: a second output at its path is refused).
                if now.pages.is_empty()
                    && !reused.is_empty()
                    && reused.len() == before.pages.len()
                    && now.groups == before.groups
                {
                    MemoFile::Read(self.rendered_before_bytes)
                } else {
                    for rel in reused {
                        if let Some(memo) = before.pages.remove(&rel) {
                            now.pages.insert(rel, memo);
                        }
                    }
                    MemoFile::Made(now, tagger)
                }
            }
            None => MemoFile::Read(Vec::new()),
        };
        let files = self.written.into_inner().expect("no writer panicked");
        let manifest = BuildManifest { files, pages };
        let unchanged = self.output_intact && self.previous.as_ref() == Some(&manifest);
        let kept = KeptState {
            render_memo,
            untouched: BTreeMap::new(),
            output_listed: Listed::default(),
            output_touched: None,
            kept_listed: None,
        };
        let folder = match self.folder.into_inner() {
            Some(folder) => folder,
            None if unchanged => {
                // Every file is output/'s own: nothing to stage, nothing to swap.
                // Only what moved is kept again: the stat when the drift check found it out
                // of date, the memo when a page was rendered anew (the file read is in place).
                let dir = previous_path(output_dir);
                let _ = std::fs::create_dir(&dir);
                rayon::join(
                    || {
                        if !self.stat_current {
                            let _ = std::fs::remove_file(dir.join(OUTPUT_STAT));
                            if let Some(since) = clock_in(&dir) {
                                record_output_stat(
                                    output_dir,
                                    &manifest,
                                    &dir,
                                    &BTreeMap::new(),
                                    &self.output_known.listed,
                                    Look::Every,
                                    since,
                                );
                            }
                        }
                    },
                    || {
                        if let memo @ MemoFile::Made(..) = kept.render_memo {
                            memo.write_into(&dir);
                        }
                    },
                );
                return Ok((manifest, Swap::Unchanged));
            }
            None => Folder::make(output_dir, Listing::Parallel)?,
        };
        commit_in(
            folder,
            output_dir,
            self.output_known,
            manifest,
            self.from_output.into_inner().expect("no writer panicked"),
            self.previous.filter(|_| self.output_intact),
            kept,
        )
    }
}

/// The rest of [`Staging::commit`], once there is a staging folder: makes each file listed
/// `from_output` one file with `output/`'s, deletes what the folder held and the build did not
/// write, writes the manifest, and swaps (or, when `old`, the manifest of the intact
/// `output/`, is this one, keeps the folder as the next generation).
fn commit_in(
    folder: Folder,
    output_dir: &Path,
    output_known: OutputKnown,
    manifest: BuildManifest,
    from_output: Vec<String>,
    old: Option<BuildManifest>,
    mut kept: KeptState,
) -> Result<(BuildManifest, Swap)> {
    let root = folder.dir.path();
    let t = crate::timings::phase("link output/'s files");
    // In parallel: after a cold build the kept generation is empty, and the first build
    // that changes anything links every file (the kernel's link and mkdir of separate
    // folders run side by side).
    // Each file already one with output/'s, with the stat the drift check found it at, is
    // left untouched: that stat is still its stat once it is in place.
    let untouched = from_output
        .par_iter()
        .map(|rel| -> Result<Option<(String, Fingerprint)>> {
            let to = root.join(rel);
            if folder.existing.contains(rel) {
                // The drift check just found output/'s file with the stat it records (when
                // it could): only the kept file needs a look.
                let same = match output_known.stats.get(rel) {
                    Some(stat) => std::fs::symlink_metadata(&to)
                        .is_ok_and(|m| m.is_file() && stat.same_file(&m))
                        .then_some(Some(*stat)),
                    None => same_file(&to, &output_dir.join(rel)).then_some(None),
                };
                if let Some(stat) = same {
                    return Ok(stat.map(|stat| (rel.clone(), stat)));
                }
                // A new file, never a write through whatever the old path now is.
                std::fs::remove_file(&to).map_err(|e| Error::io(&to, e))?;
            }
            copy_from(output_dir, root, rel)?;
            folder.touch(rel);
            Ok(None)
        })
        .filter_map(Result::transpose)
        .collect::<Result<BTreeMap<String, Fingerprint>>>()?;
    kept.untouched = untouched;
    let stale: Vec<&String> = folder
        .existing
        .iter()
        .filter(|rel| !manifest.files.contains_key(*rel))
        .collect();
    for rel in &stale {
        let path = root.join(rel);
        std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        folder.touch(rel);
    }
    remove_empty_dirs(root, stale.iter().map(|r| r.as_str()));
    drop(t);
    let _t = crate::timings::phase("manifest, swap");
    let marker = root.join(MARKER);
    let _ = std::fs::remove_file(&marker);
    // Straight into the file: it lists every file of the site (20 MB at 100,000 pages).
    let write_marker = || -> std::io::Result<()> {
        let file = std::fs::File::create_new(&marker)?;
        let mut out = std::io::BufWriter::with_capacity(1 << 16, file);
        manifest.write_to(&mut out)?;
        std::io::Write::flush(&mut out)
    };
    write_marker().map_err(|e| Error::io(&marker, e))?;
    let staged = folder.dir.keep();
    if old.as_ref() == Some(&manifest) {
        // output/ stays; the staging folder is kept, as it was taken over and then changed
        // (the folders this build changed have moved since, and are listed by the next).
        // output/ stays as it was: nothing in it was changed by this build.
        kept.output_listed = output_known.listed;
        kept.output_touched = Some(HashSet::new());
        kept.kept_listed = Some(folder.listed);
        kept.record(output_dir, &manifest, &staged);
        keep_as_previous(&staged, output_dir);
        return Ok((manifest, Swap::Unchanged));
    }
    // The staging folder becomes output/, and output/ the kept generation: each with the
    // listing it had.
    kept.output_touched = Some(touched_folders(
        &folder.touched.into_inner().expect("no writer panicked"),
    ));
    kept.output_listed = folder.listed;
    kept.kept_listed = Some(output_known.listed);
    if let Err(e) = swap_in(&staged, output_dir, old.as_ref(), &manifest, kept) {
        let _ = std::fs::remove_dir_all(&staged);
        return Err(e);
    }
    Ok((manifest, Swap::Swapped))
}

/// Every folder that holds one of `paths` (a file's, `/`-separated), up to the top (`""`):
/// those a write, link or removal of them changed, and those where a folder for them may
/// have been made or removed.
fn touched_folders(paths: &[String]) -> HashSet<String> {
    let mut folders = HashSet::from([String::new()]);
    for path in paths {
        let mut at = path.as_str();
        while let Some((parent, _)) = at.rsplit_once('/') {
            if !folders.insert(parent.to_string()) {
                break;
            }
            at = parent;
        }
    }
    folders
}

/// Puts the file `rel` of the intact `output_dir` into `staged`: a hard link (no bytes
/// copied), or a copy where links fail. Neither generation is ever written in place (a
/// changed file is always a new file), so sharing an inode is safe; a hand edit in place of
/// one shows in the other as `output_drift`, and an edited `output/` is replaced whole.
fn copy_from(output_dir: &Path, staged: &Path, rel: &str) -> Result<()> {
    let from = output_dir.join(rel);
    let to = staged.join(rel);
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    // `link` never follows a link at `from`: what is linked must be a regular file.
    if std::fs::hard_link(&from, &to).is_ok() {
        if std::fs::symlink_metadata(&to).is_ok_and(|m| m.is_file()) {
            return Ok(());
        }
        remove_old(&to)?;
    }
    let bytes = fs::read_beneath(output_dir, Path::new(rel), u64::MAX)
        .map_err(|e| Error::Refused(format!("can't reuse {}: {}", from.display(), e.kind)))?;
    write_new(staged, &to, &bytes)
}

/// Whether two paths are one file (the same inode), neither a link.
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::symlink_metadata(a), std::fs::symlink_metadata(b)) {
        (Ok(x), Ok(y)) => x.is_file() && y.is_file() && x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// What a build leaves in the kept generation for the next one, besides files of the site.
struct KeptState {
    render_memo: MemoFile,
    /// Files of the new `output/` that are the very files of the old one, untouched by this
    /// build, each with the stat the drift check found them at (which a stat taken now would
    /// give: only a change moves it, and a change would move it again).
    untouched: BTreeMap<String, Fingerprint>,
    /// A listing of the new `output/`'s folders (each with the stat it was listed at), from
    /// which only the folders that moved since are listed again to record its stat.
    output_listed: Listed,
    /// The folders of the new `output/` this build changed, when known: only they are
    /// looked at again (see `listing::Look`); else every folder is.
    output_touched: Option<HashSet<String>>,
    /// The kept generation's listing to keep in it ([`KEPT_STAT`]), when known; else it is
    /// listed.
    kept_listed: Option<Listed>,
}

/// The render memo for the next build: the bytes of the file read (empty: none), or a memo
/// to write (serialized only once the site is in place, beside the recording of its stat).
enum MemoFile {
    Read(Vec<u8>),
    Made(RenderMemo, Tagger),
}

impl MemoFile {
    /// Replaces [`render_memo::FILE`] in `kept` (only a cache: an error leaves it out).
    fn write_into(self, kept: &Path) {
        let path = kept.join(render_memo::FILE);
        let _ = std::fs::remove_file(&path);
        let written = match self {
            MemoFile::Read(bytes) if bytes.is_empty() => return,
            MemoFile::Read(bytes) => std::fs::write(&path, bytes),
            MemoFile::Made(memo, tagger) => std::fs::File::create_new(&path)
                .and_then(|mut file| memo.write_to(&tagger, &mut file)),
        };
        if written.is_err() {
            let _ = std::fs::remove_file(&path);
        }
    }
}

impl KeptState {
    /// Writes [`OUTPUT_STAT`], [`KEPT_STAT`] and [`render_memo::FILE`] into `kept`, replacing
    /// what is there (only caches: an error leaves them out, and the next build reads, lists
    /// and renders more), side by side: the stats once the filesystem clock has moved past
    /// everything the build did, and the memo.
    fn record(self, output_dir: &Path, manifest: &BuildManifest, kept: &Path) {
        let _t = crate::timings::phase("record output/'s stat, the render memo");
        let KeptState {
            render_memo,
            untouched,
            output_listed,
            output_touched,
            kept_listed,
        } = self;
        let look = match &output_touched {
            Some(touched) => Look::Only(touched),
            None => Look::Every,
        };
        rayon::join(
            || {
                for file in [OUTPUT_STAT, KEPT_STAT] {
                    let _ = std::fs::remove_file(kept.join(file));
                }
                let Some(since) = clock_in(kept) else { return };
                rayon::join(
                    || {
                        record_output_stat(
                            output_dir,
                            manifest,
                            kept,
                            &untouched,
                            &output_listed,
                            look,
                            since,
                        )
                    },
                    || record_kept_stat(kept, kept_listed, since),
                );
            },
            || render_memo.write_into(kept),
        );
    }
}

/// What [`OUTPUT_STAT`] holds: `output/` as it stood after its build, so that a drift check
/// can take every folder whose stat did not move as listed, and every file whose stat did
/// not move as hashed.
#[derive(Debug, Default, Serialize, Deserialize)]
struct OutputStat {
    /// Every folder of `output/` (`""` for itself), its stat taken before it was listed;
    /// `None` when it changed too recently for its stat to vouch for its listing.
    dirs: BTreeMap<String, Option<Fingerprint>>,
    /// Every other entry of those folders but [`MARKER`], with its stat and hash when the
    /// file is one the build wrote and it did not change too recently.
    files: BTreeMap<String, Option<(Fingerprint, String)>>,
}

/// Writes [`OUTPUT_STAT`] into `kept` for `output_dir`, whose files `manifest` lists (only a
/// cache: any error leaves it out, and the next drift check lists and reads everything).
/// Folders are listed again only where their stat moved since `listed` (see `listing`).
///
/// A stat vouches for nothing when a change in the same tick of the filesystem's clock
/// would leave it as it is (the clock's tick may be several milliseconds): so the stats are
/// taken only once the clock has moved past everything the build did (`since`, see
/// [`clock_in`]), and any entry whose change time is not older than that is recorded without
/// one.
fn record_output_stat(
    output_dir: &Path,
    manifest: &BuildManifest,
    kept: &Path,
    untouched: &BTreeMap<String, Fingerprint>,
    listed: &Listed,
    look: Look,
    since: (i64, i64),
) {
    let Ok(listed) = listing::list_looking(output_dir, listed, look, since, Listing::Parallel)
    else {
        return;
    };
    let files = listed
        .entries
        .into_par_iter()
        .filter(|(rel, _)| rel != MARKER)
        .map(|(rel, regular)| {
            let stat = match (regular, untouched.get(&rel)) {
                (false, _) => None,
                // The very file the drift check found (the listing says it is one still).
                (true, Some(known)) => settled(*known, since),
                (true, None) => std::fs::symlink_metadata(output_dir.join(&rel))
                    .ok()
                    .filter(std::fs::Metadata::is_file)
                    .and_then(|m| settled(Fingerprint::of(&m), since)),
            };
            let entry = match (stat, manifest.files.get(&rel)) {
                (Some(stat), Some(hash)) => Some((stat, hash.clone())),
                _ => None,
            };
            (rel, entry)
        })
        .collect();
    let stat = OutputStat {
        dirs: listed.dirs,
        files,
    };
    // `postcard`: 2.7 MB at 10,000 pages where JSON took 4.5, and no text to scan.
    write_cache(kept, OUTPUT_STAT, &stat);
}

/// Writes [`KEPT_STAT`] into `kept`: `listed` when known, else a listing of every folder
/// (stats settled against `since`). Its top folder is recorded without a stat: the build
/// writes into it after, and renames it. Only a cache: an error leaves it out, and the build
/// that takes `kept` over lists every folder.
fn record_kept_stat(kept: &Path, listed: Option<Listed>, since: (i64, i64)) {
    let mut listed = match listed {
        Some(listed) => listed,
        None => match listing::list(kept, &Listed::default(), since, Listing::Parallel) {
            Ok(listed) => listed,
            Err(_) => return,
        },
    };
    listed.dirs.insert(String::new(), None);
    write_cache(kept, KEPT_STAT, &listed);
}

/// Writes `value` into the file `name` of `kept` in `postcard`, whole or not at all.
fn write_cache<T: Serialize>(kept: &Path, name: &str, value: &T) {
    // Named as the caches are: a listing of `kept` taken meanwhile (the two stats are
    // recorded side by side) sets it aside with them.
    let made = tempfile::Builder::new()
        .prefix(".imprimatur-cache-")
        .tempfile_in(kept);
    let Ok(mut file) = made else {
        return;
    };
    let mut out = std::io::BufWriter::with_capacity(1 << 16, &mut file);
    let written = postcard::to_io(value, &mut out)
        .map(drop)
        .map_err(std::io::Error::other)
        .and_then(|()| std::io::Write::flush(&mut out));
    drop(out);
    if written.is_ok() {
        let _ = file.persist(kept.join(name));
    }
}

/// A reading of the filesystem clock in `dir` past everything done before the call (see
/// [`clock_past`]), through a file made there for a moment.
fn clock_in(dir: &Path) -> Option<(i64, i64)> {
    let probe = tempfile::NamedTempFile::new_in(dir).ok()?;
    clock_past(probe.as_file())
}

/// Waits until the filesystem clock, as `file`'s change time shows it, is past its reading
/// when called; returns the new reading (`None` if it does not move within a second).
fn clock_past(file: &std::fs::File) -> Option<(i64, i64)> {
    use std::os::unix::fs::MetadataExt;
    let ctime = |f: &std::fs::File| f.metadata().ok().map(|m| (m.ctime(), m.ctime_nsec()));
    let touch = |f: &std::fs::File| f.set_modified(std::time::SystemTime::now()).ok();
    touch(file)?;
    let start = ctime(file)?;
    for _ in 0..1000 {
        std::thread::sleep(std::time::Duration::from_millis(1));
        touch(file)?;
        let now = ctime(file)?;
        if now > start {
            return Some(now);
        }
    }
    None
}

/// What [`record_output_stat`] wrote beside `output_dir`, if anything.
fn recorded_output_stat(output_dir: &Path) -> OutputStat {
    let path = previous_path(output_dir).join(OUTPUT_STAT);
    std::fs::read(path)
        .ok()
        .and_then(|b| postcard::from_bytes(&b).ok())
        .unwrap_or_default()
}

/// `.imprimatur-prev-<name>` beside `output_dir`.
fn previous_path(output_dir: &Path) -> PathBuf {
    let name = output_dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    parent_of(output_dir).join(format!("{PREVIOUS}{name}"))
}

/// The regular files of a previous generation taken over as the staging folder, by
/// `/`-separated path, and its listing. Anything else in it (a link, a FIFO) is removed,
/// never followed, so every later write lands inside the folder. Only the folders whose stat
/// moved since the listing kept in it ([`KEPT_STAT`]) are listed; where that can't be done
/// (no such listing, a name that is not UTF-8), every folder is.
fn take_over(dir: &Path, listing: Listing) -> Result<(BTreeSet<String>, Listed, Vec<String>)> {
    let prior = std::fs::read(dir.join(KEPT_STAT))
        .ok()
        .and_then(|bytes| postcard::from_bytes::<Listed>(&bytes).ok())
        .unwrap_or_default();
    // The folder was just renamed, which set its change time to the filesystem clock's
    // reading (or left it older, where a filesystem does not: then fewer stats are settled).
    let since = std::fs::symlink_metadata(dir).map(|m| Fingerprint::of(&m).ctime());
    if let Ok(listed) = since.and_then(|since| listing::list(dir, &prior, since, listing)) {
        let mut files = BTreeSet::new();
        let mut removed = Vec::new();
        for (rel, &regular) in &listed.entries {
            if regular && !KEPT_CACHES.contains(&rel.as_str()) {
                files.insert(rel.clone());
            } else {
                remove_old(&dir.join(rel))?;
                removed.push(rel.clone());
            }
        }
        return Ok((files, listed, removed));
    }
    let files = take_over_listing_all(dir, listing)?;
    Ok((files, Listed::default(), Vec::new()))
}

/// [`take_over`] by listing every folder, without stats.
fn take_over_listing_all(dir: &Path, listing: Listing) -> Result<BTreeSet<String>> {
    let mut files = BTreeSet::new();
    let mut odd = Vec::new();
    let entries = match listing {
        Listing::Parallel => walk(dir),
        Listing::OwnThreads => walk_on_threads(dir),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e.into()))?;
        let kind = entry.file_type();
        if kind.is_dir() {
            continue;
        }
        let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        match rel.to_str() {
            Some(rel) if kind.is_file() && !KEPT_CACHES.contains(&rel) => {
                files.insert(rel.replace(std::path::MAIN_SEPARATOR, "/"));
            }
            _ => odd.push(entry.into_path()),
        }
    }
    for path in odd {
        remove_old(&path)?;
    }
    Ok(files)
}

/// Every entry under `dir`, not `dir` itself, links not followed (as `WalkDir` lists them):
/// its top-level folders are listed side by side, since an output is a few folders of
/// thousands of pages each. In no particular order; an entry's `depth()` counts from the
/// folder it was listed in, so compare paths instead.
fn walk(dir: &Path) -> Vec<walkdir::Result<walkdir::DirEntry>> {
    top_level(dir)
        .into_par_iter()
        .flat_map_iter(with_below)
        .collect()
}

/// [`walk`] on threads of its own instead of the pool's: top-level folders shared out among
/// as many threads as there are cores (called with a lock held that the pool's threads may
/// wait on, see [`Staging::folder`]).
fn walk_on_threads(dir: &Path) -> Vec<walkdir::Result<walkdir::DirEntry>> {
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
fn top_level(dir: &Path) -> Vec<walkdir::Result<walkdir::DirEntry>> {
    walkdir::WalkDir::new(dir)
        .min_depth(1)
        .max_depth(1)
        .into_iter()
        .collect()
}

/// `entry`, then everything under it when it is a folder (links not followed).
fn with_below(
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
fn write_new(root: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    write_new_by(root, path, &mut |file| {
        std::io::Write::write_all(file, bytes)
    })
}

/// [`write_new`] of what `fill` writes into the new file (called again if the first try
/// failed).
fn write_new_by(
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
fn make_aside(output_dir: &Path, rel: &str, fill: &Fill) -> Result<(NamedTempFile, String)> {
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
fn move_new(root: &Path, path: &Path, file: NamedTempFile) -> Result<()> {
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
fn make_new(
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
fn remove_empty_dirs<'a>(root: &Path, removed: impl Iterator<Item = &'a str>) {
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

/// Fills the empty folder `twin` with a link to each file of `output_dir` that `manifest`
/// lists (only a head start for the next build, which takes over and checks the folder as it
/// does any kept generation: a file that can't be linked is left out). Each top-level folder
/// on a thread of the pool. Done before `output/`'s stat is recorded: a link moves the
/// change time of the file it links.
fn link_twin(output_dir: &Path, manifest: &BuildManifest, twin: &Path) {
    let _t = crate::timings::phase("link a twin of output/");
    let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for rel in manifest.files.keys() {
        if version::is_safe_relative_path(rel) {
            let top = rel.split('/').next().unwrap_or(rel);
            groups.entry(top).or_default().push(rel);
        }
    }
    groups.into_par_iter().for_each(|(_, files)| {
        let mut made: Option<&Path> = None;
        for rel in files {
            let to = twin.join(rel);
            let parent = Path::new(rel)
                .parent()
                .filter(|p| !p.as_os_str().is_empty());
            if let Some(parent) = parent {
                if made != Some(parent) {
                    if std::fs::create_dir_all(twin.join(parent)).is_err() {
                        continue;
                    }
                    made = Some(parent);
                }
            }
            let _ = std::fs::hard_link(output_dir.join(rel), to);
        }
    });
}

/// Keeps `staged` as the previous generation of `output_dir` (or deletes it when it can't).
fn keep_as_previous(staged: &Path, output_dir: &Path) {
    if std::fs::rename(staged, previous_path(output_dir)).is_err() {
        let _ = remove_old(staged);
    }
}

/// After a swap, `old` holds the replaced site: trims it to the files whose bytes the new
/// site has too (by both manifests; the next build reads every file before reusing it), so
/// nothing of a page that went offline stays beside `output/`.
fn trim_to_shared(old: &Path, old_manifest: &BuildManifest, new: &BuildManifest) -> Result<()> {
    let gone: Vec<&String> = old_manifest
        .files
        .iter()
        .filter(|(rel, hash)| new.files.get(*rel) != Some(*hash))
        .map(|(rel, _)| rel)
        .collect();
    for rel in &gone {
        if !version::is_safe_relative_path(rel) {
            continue;
        }
        let path = old.join(rel);
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(&path),
            Ok(_) => std::fs::remove_file(&path),
            Err(_) => Ok(()),
        }
        .map_err(|e| Error::io(&path, e))?;
    }
    remove_empty_dirs(old, gone.iter().map(|r| r.as_str()));
    Ok(())
}

/// Replaces `output_dir` by `staged`. On Linux both folders are exchanged atomically; the old
/// site is then deleted from where the staging folder was (if that fails, the next build
/// sweeps it: the new site is in place either way).
fn swap_in(
    staged: &Path,
    output_dir: &Path,
    old_manifest: Option<&BuildManifest>,
    new_manifest: &BuildManifest,
    mut kept: KeptState,
) -> Result<()> {
    let exists = std::fs::symlink_metadata(output_dir).is_ok();
    if !exists {
        std::fs::rename(staged, output_dir).map_err(|e| Error::io(output_dir, e))?;
        // No old site to keep: a generation made of links to the new one's files, so that
        // the first build that changes a file does not make every folder and link itself
        // (it took that build 0.4 s at 10,000 pages, a third of its time).
        let previous = previous_path(output_dir);
        if std::fs::create_dir(&previous).is_ok() {
            link_twin(output_dir, new_manifest, &previous);
            // Its folders were all just made: listed, so that the next build need not.
            kept.kept_listed = None;
            kept.record(output_dir, new_manifest, &previous);
        }
        return Ok(());
    }
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{renameat_with, RenameFlags, CWD};
        if renameat_with(CWD, staged, CWD, output_dir, RenameFlags::EXCHANGE).is_ok() {
            // `staged` now holds the previous site: kept as the next staging folder, trimmed
            // to what the new site shares (an old site without a manifest, or edited by hand,
            // is deleted).
            match old_manifest {
                Some(old) if trim_to_shared(staged, old, new_manifest).is_ok() => {
                    kept.record(output_dir, new_manifest, staged);
                    keep_as_previous(staged, output_dir)
                }
                _ => {
                    let _ = remove_old(staged);
                }
            }
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

/// The bytes of a file to write: whole, or made by a writer a piece at a time.
#[derive(Clone, Copy)]
enum Bytes<'b> {
    Whole(&'b [u8]),
    Made(&'b Fill<'b>),
}

impl Bytes<'_> {
    /// The hex SHA-256 of the bytes (made, and hashed only, for a writer).
    fn hash(&self, rel: &str) -> Result<String> {
        match self {
            Bytes::Whole(whole) => Ok(version::sha256_hex(whole)),
            Bytes::Made(fill) => {
                let mut out = std::io::BufWriter::with_capacity(1 << 16, Sha256Writer::default());
                fill(&mut out).map_err(|e| Error::io(rel, e))?;
                let hashed = out
                    .into_inner()
                    .map_err(|e| Error::io(rel, e.into_error()))?;
                Ok(hashed.hex())
            }
        }
    }
}

/// The hex SHA-256 of the file at `path`, read a block at a time.
fn file_sha256(path: &Path) -> std::io::Result<String> {
    let mut hash = Sha256Writer::default();
    std::io::copy(&mut std::fs::File::open(path)?, &mut hash)?;
    Ok(hash.hex())
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

/// What the drift check found: the findings, and what the build goes on with.
pub struct Drift {
    /// `output_drift` findings: `output/` is not as its build wrote it.
    pub findings: Vec<Finding>,
    /// The manifest inside `output/`, if it has a readable one.
    pub manifest: Option<BuildManifest>,
    /// Whether the kept stat of `output/` held for every entry (see [`OutputStat`]).
    stat_current: bool,
    /// Then, the stat of each file of `output/`, as found.
    stats: BTreeMap<String, Fingerprint>,
    /// The listing of `output/` recorded after its build (each folder with the stat it was
    /// listed at): once `output/` is the kept generation, what the next build takes it over by.
    recorded: Listed,
}

impl Drift {
    /// `output/` is as its build wrote it.
    pub fn intact(&self) -> bool {
        self.findings.is_empty()
    }
}

/// Compares `output_dir` with the manifest inside it (of the build that wrote it): every file
/// changed, added or removed since is an `output_drift` finding. No manifest, no findings.
/// Files are read without following links (a link is a changed file).
pub fn drift(output_dir: &Path, output_name: &str) -> Vec<Finding> {
    check_drift(output_dir, output_name).findings
}

/// [`drift`], with the manifest it read.
///
/// When every folder's stat is what was recorded after the build, no folder is listed: a
/// folder's change time moves whenever an entry is added, removed or renamed in it, and
/// can't be set back from user space, so its listing is the recorded one. A file whose
/// stat is what was recorded holds the bytes recorded with it; any other is read.
pub fn check_drift(output_dir: &Path, output_name: &str) -> Drift {
    let manifest = match read_marker(output_dir) {
        Ok(Some(manifest)) => manifest,
        Ok(None) => {
            return Drift {
                findings: Vec::new(),
                manifest: None,
                stat_current: false,
                stats: BTreeMap::new(),
                recorded: Listed::default(),
            }
        }
        Err(why) => {
            return Drift {
                findings: vec![Finding {
                    kind: FindingKind::OutputDrift,
                    page: None,
                    detail: format!("{output_name}/{why}; {output_name}/ can't be checked"),
                    file: Some(format!("{output_name}/{MARKER}")),
                }],
                manifest: None,
                stat_current: false,
                stats: BTreeMap::new(),
                recorded: Listed::default(),
            }
        }
    };
    let known = recorded_output_stat(output_dir);
    let stat_of = stats_in(output_dir);
    let listed = folders_unmoved(&known, &stat_of);
    let entries: Vec<String> = if listed {
        known.files.keys().cloned().collect()
    } else {
        // Listed without a stat (the listing says what is a folder).
        let marker = output_dir.join(MARKER);
        walk(output_dir)
            .into_iter()
            .flatten()
            .filter(|e| !(e.file_type().is_dir() || e.path() == marker))
            .map(|e| crate::site::config::display_relative(output_dir, e.path()))
            .collect()
    };
    let moved = AtomicUsize::new(0);
    let found: BTreeMap<String, String> = entries
        .into_par_iter()
        .map(|rel| {
            let recorded = known.files.get(&rel).and_then(Option::as_ref);
            let unmoved = recorded.filter(|(stat, _)| stat_of(&rel) == Some(*stat));
            let hash = match unmoved {
                Some((_, hash)) => hash.clone(),
                None => {
                    moved.fetch_add(1, Ordering::Relaxed);
                    fs::read_beneath(output_dir, Path::new(&rel), u64::MAX)
                        .map(|b| version::sha256_hex(&b))
                        .unwrap_or_default()
                }
            };
            (rel, hash)
        })
        .collect();
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
    let stat_current = listed && moved.into_inner() == 0;
    let recorded = Listed {
        dirs: known.dirs,
        entries: known
            .files
            .iter()
            .map(|(rel, stat)| (rel.clone(), stat.is_some()))
            .collect(),
    };
    let stats = match stat_current {
        true => known
            .files
            .into_iter()
            .filter_map(|(rel, stat)| Some((rel, stat?.0)))
            .collect(),
        false => BTreeMap::new(),
    };
    Drift {
        findings,
        manifest: Some(manifest),
        stat_current,
        stats,
        recorded,
    }
}

/// The stat of an entry of `output_dir` by relative path (`.` for the folder itself), not
/// following a link at its end. Taken relative to the folder, opened once: a shorter walk for
/// each. (An inode keeps its kind: one whose stat is a recorded file's or folder's is one.)
fn stats_in(output_dir: &Path) -> impl Fn(&str) -> Option<Fingerprint> + Sync + '_ {
    let opened = fs::Beneath::open(output_dir).ok();
    move |rel: &str| match &opened {
        Some(dir) => dir.fingerprint(Path::new(rel)),
        None => std::fs::symlink_metadata(output_dir.join(rel))
            .ok()
            .map(|m| Fingerprint::of(&m)),
    }
}

/// Whether every folder of the output has the stat recorded after it was listed (so the
/// recorded listing is its listing now).
fn folders_unmoved(
    known: &OutputStat,
    stat_of: &(impl Fn(&str) -> Option<Fingerprint> + Sync),
) -> bool {
    !known.dirs.is_empty()
        && known
            .files
            .keys()
            .all(|rel| version::is_safe_relative_path(rel))
        && known.dirs.par_iter().all(|(rel, stat)| {
            let rel = match rel.is_empty() {
                true => ".",
                false if version::is_safe_relative_path(rel) => rel.as_str(),
                false => return false,
            };
            stat.is_some_and(|stat| stat_of(rel) == Some(stat))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_committed_site_replaces_the_old_one_and_hand_edits_are_drift() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("output");
        let lock = BuildLock::acquire(&out).unwrap();
        let s = Staging::new(&out, &lock, check_drift(&out, "output"), None).unwrap();
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

        let s = Staging::new(&out, &lock, check_drift(&out, "output"), None).unwrap();
        s.write("index.html", b"two").unwrap();
        s.commit(&out, BTreeMap::new()).unwrap();
        assert_eq!(std::fs::read(out.join("index.html")).unwrap(), b"two");
        assert!(!out.join("extra.html").exists());
        assert!(previous_build(&out).unwrap().pages.is_empty());
        drop(lock);
        let leftovers: Vec<_> = std::fs::read_dir(root.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".imprimatur"))
            .collect();
        // The replaced site was edited by hand: not kept as a generation to build on.
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    fn inodes(dir: &Path) -> BTreeMap<PathBuf, (u64, i64, i64)> {
        use std::os::unix::fs::MetadataExt;
        walkdir::WalkDir::new(dir)
            .into_iter()
            .filter_map(|e| e.ok())
            .map(|e| {
                let m = e.metadata().unwrap();
                (e.into_path(), (m.ino(), m.mtime(), m.mtime_nsec()))
            })
            .collect()
    }

    /// A build of `out` that writes `files` (path, text): how many it rewrote, and the swap.
    fn build_files(out: &Path, lock: &BuildLock, files: &[(&str, &str)]) -> (usize, Swap) {
        let s = Staging::new(out, lock, check_drift(out, "output"), None).unwrap();
        for (rel, bytes) in files {
            s.write(rel, bytes.as_bytes()).unwrap();
        }
        let n = s.rewritten();
        (n, s.commit(out, BTreeMap::new()).unwrap().1)
    }

    #[test]
    fn a_rebuild_writes_only_changed_files_and_an_unchanged_one_touches_nothing() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("output");
        let lock = BuildLock::acquire(&out).unwrap();
        let build = |files: &[(&str, &str)]| build_files(&out, &lock, files);
        let one = [
            ("index.html", "home"),
            ("kb/a/index.html", "a"),
            ("kb/b/index.html", "b"),
        ];
        assert_eq!(build(&one), (3, Swap::Swapped));
        // The first build leaves a twin beside output/: each of its files, linked.
        let twin = root.path().join(".imprimatur-prev-output");
        for (rel, _) in one {
            assert!(same_file(&out.join(rel), &twin.join(rel)), "{rel}");
        }
        let before = inodes(&out);
        assert_eq!(build(&one), (0, Swap::Unchanged));
        assert_eq!(inodes(&out), before, "nothing in output/ was touched");
        assert_eq!(build(&one), (0, Swap::Unchanged));
        assert_eq!(inodes(&out), before, "nothing in output/ was touched");

        // b goes offline, a changes: the generation kept beside holds neither's old bytes.
        let two = [("index.html", "home"), ("kb/a/index.html", "a2")];
        assert_eq!(build(&two), (1, Swap::Swapped));
        assert_eq!(std::fs::read(out.join("index.html")).unwrap(), b"home");
        assert!(!out.join("kb/b").exists());
        let prev = root.path().join(".imprimatur-prev-output");
        assert!(!prev.join("kb/b").exists());
        assert!(!prev.join("kb/a/index.html").exists());
        assert_eq!(std::fs::read(prev.join("index.html")).unwrap(), b"home");
        // The next build starts from that generation; a2 is in output/, so nothing is new.
        assert_eq!(build(&two), (0, Swap::Unchanged));
        // A hand edit of the kept generation (a new file there): a build that changes
        // nothing never looks at that generation...
        std::fs::remove_file(prev.join("index.html")).unwrap();
        std::fs::write(prev.join("index.html"), b"defaced").unwrap();
        assert_eq!(build(&two), (0, Swap::Unchanged));
        assert_eq!(std::fs::read(out.join("index.html")).unwrap(), b"home");
        // ...and a change, which stages in it, replaces the file that is not output/'s by
        // output/'s, and writes only the new file.
        let three = [("index.html", "home"), ("kb/a/index.html", "a3")];
        assert_eq!(build(&three), (1, Swap::Swapped));
        assert_eq!(std::fs::read(out.join("index.html")).unwrap(), b"home");
        assert_eq!(std::fs::read(out.join("kb/a/index.html")).unwrap(), b"a3");
        assert!(drift(&out, "output").is_empty());
    }

    #[test]
    fn a_file_made_a_piece_at_a_time_is_kept_replaced_and_hashed_as_one_written_whole() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("output");
        let lock = BuildLock::acquire(&out).unwrap();
        // `index.html` written whole, `big.json` handed over in pieces of 7 bytes.
        let made = AtomicUsize::new(0);
        let build = |big: &str, home: &str| {
            made.store(0, Ordering::Relaxed);
            let s = Staging::new(&out, &lock, check_drift(&out, "output"), None).unwrap();
            s.write("index.html", home.as_bytes()).unwrap();
            s.write_with("big.json", &|w| {
                made.fetch_add(1, Ordering::Relaxed);
                big.as_bytes().chunks(7).try_for_each(|c| w.write_all(c))
            })
            .unwrap();
            let n = s.rewritten();
            let (manifest, swap) = s.commit(&out, BTreeMap::new()).unwrap();
            assert_eq!(
                manifest.files["big.json"],
                version::sha256_hex(big.as_bytes())
            );
            assert_eq!(std::fs::read_to_string(out.join("big.json")).unwrap(), big);
            (n, swap)
        };
        let v1 = "v1 ".repeat(50_000);
        assert_eq!(build(&v1, "home"), (2, Swap::Swapped));
        // The same bytes again: output/ holds them, nothing is written.
        let before = inodes(&out);
        assert_eq!(build(&v1, "home"), (0, Swap::Unchanged));
        assert_eq!(inodes(&out), before);
        // Only the home page changes: the big file is output/'s, linked, not made again.
        assert_eq!(build(&v1, "home 2"), (1, Swap::Swapped));
        // The kept generation holds other bytes under the big file's name: they are replaced
        // by a new file, never written through.
        let prev = root.path().join(".imprimatur-prev-output");
        let kept = prev.join("big.json");
        let _ = std::fs::remove_file(&kept);
        std::fs::write(&kept, "defaced").unwrap();
        let v2 = "v2 ".repeat(50_000);
        assert_eq!(build(&v2, "home 2"), (1, Swap::Swapped));
        assert!(drift(&out, "output").is_empty());
        // output/ held other bytes: they were made once, beside it, and moved in, readable
        // as a file written whole is; nothing is left beside output/.
        assert_eq!(made.load(Ordering::Relaxed), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |rel: &str| out.join(rel).metadata().unwrap().permissions().mode();
            assert_eq!(mode("big.json"), mode("index.html"));
        }
        let beside: Vec<_> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .filter(|n| n.starts_with(".imprimatur-build-"))
            .collect();
        assert!(beside.is_empty(), "{beside:?}");
        // The same bytes once more: made once, found to be output/'s, and dropped.
        assert_eq!(build(&v2, "home 2"), (0, Swap::Unchanged));
        assert_eq!(made.load(Ordering::Relaxed), 1);
        // A path outside the site is refused before anything is made.
        let s = Staging::new(&out, &lock, check_drift(&out, "output"), None).unwrap();
        assert!(s.write_with("../x.json", &|w| w.write_all(b"x")).is_err());
        assert!(s.write_with("/etc/x.json", &|w| w.write_all(b"x")).is_err());
    }

    #[test]
    fn the_kept_generation_is_taken_over_by_its_kept_listing_and_a_file_slipped_in_is_found() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("output");
        let lock = BuildLock::acquire(&out).unwrap();
        let build = |files: &[(&str, &str)]| build_files(&out, &lock, files);
        let prev = root.path().join(".imprimatur-prev-output");
        let kept_listing = || {
            let bytes = std::fs::read(prev.join(KEPT_STAT)).unwrap();
            postcard::from_bytes::<Listed>(&bytes).unwrap()
        };
        let one = [
            ("index.html", "home"),
            ("kb/a/index.html", "a"),
            ("kb/b/index.html", "b"),
        ];
        assert_eq!(build(&one), (3, Swap::Swapped));
        // The twin's listing is kept in it, each folder but its top with a stat.
        let mut twin = kept_listing();
        twin.entries
            .retain(|rel, _| !rel.starts_with(".imprimatur-"));
        assert_eq!(
            twin.dirs.keys().collect::<Vec<_>>(),
            ["", "kb", "kb/a", "kb/b"]
        );
        assert!(twin.dirs[""].is_none() && twin.dirs["kb/a"].is_some());
        let (existing, listed) = {
            // A look at the twin as a build taking it over has it: the listing kept is what
            // a fresh listing finds.
            let since = clock_in(root.path()).unwrap();
            let mut fresh =
                listing::list(&prev, &Listed::default(), since, Listing::Parallel).unwrap();
            // Besides the caches the generation holds at its top.
            fresh
                .entries
                .retain(|rel, _| !rel.starts_with(".imprimatur-"));
            (fresh.entries.clone(), fresh)
        };
        assert_eq!(twin.entries, existing);
        assert_eq!(
            twin.dirs.keys().collect::<Vec<_>>(),
            listed.dirs.keys().collect::<Vec<_>>()
        );

        // A changes: after the swap the old output/ is kept, with the listing recorded for it.
        let two = [
            ("index.html", "home"),
            ("kb/a/index.html", "a2"),
            ("kb/b/index.html", "b"),
        ];
        assert_eq!(build(&two), (1, Swap::Swapped));
        assert!(kept_listing().dirs["kb/b"].is_some());
        // A file slipped into a folder of the kept generation whose listing was kept: that
        // folder's stat moved, so the build taking it over lists it, and the file is not
        // published (nor left in the generation kept after).
        std::fs::write(prev.join("kb/b/stray.html"), b"not approved").unwrap();
        std::fs::create_dir(prev.join("kb/b/deeper")).unwrap();
        std::fs::write(prev.join("kb/b/deeper/stray.html"), b"not approved").unwrap();
        let three = [
            ("index.html", "home 3"),
            ("kb/a/index.html", "a2"),
            ("kb/b/index.html", "b"),
        ];
        assert_eq!(build(&three), (1, Swap::Swapped));
        assert!(drift(&out, "output").is_empty());
        let published: Vec<_> = walkdir::WalkDir::new(&out)
            .into_iter()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                e.path()
                    .strip_prefix(&out)
                    .unwrap()
                    .to_string_lossy()
                    .to_string()
            })
            .collect();
        assert_eq!(published.len(), 4, "{published:?}");
        assert!(!out.join("kb/b/stray.html").exists());
        assert!(!out.join("kb/b/deeper").exists());
        // A listing kept that does not match the generation beside it is listed anew.
        std::fs::write(prev.join(KEPT_STAT), b"not a listing").unwrap();
        std::fs::write(prev.join("kb/b/stray.html"), b"not approved").unwrap();
        let four = [
            ("index.html", "home 4"),
            ("kb/a/index.html", "a2"),
            ("kb/b/index.html", "b"),
        ];
        assert_eq!(build(&four), (1, Swap::Swapped));
        assert!(!out.join("kb/b/stray.html").exists());
        assert!(drift(&out, "output").is_empty());
    }

    #[test]
    fn a_rebuild_records_the_stat_a_fresh_look_at_output_finds() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("output");
        let lock = BuildLock::acquire(&out).unwrap();
        let build = |files: &[(&str, &str)]| build_files(&out, &lock, files).1;
        let fresh = || {
            let dir = tempfile::tempdir().unwrap();
            let manifest = previous_build(&out).unwrap();
            let since = clock_in(dir.path()).unwrap();
            let nothing = Listed::default();
            record_output_stat(
                &out,
                &manifest,
                dir.path(),
                &BTreeMap::new(),
                &nothing,
                Look::Every,
                since,
            );
            let bytes = std::fs::read(dir.path().join(OUTPUT_STAT)).unwrap();
            postcard::from_bytes::<OutputStat>(&bytes).unwrap()
        };
        let as_json = |stat: &OutputStat| serde_json::to_string(stat).unwrap();
        let one = [
            ("index.html", "home"),
            ("kb/a/index.html", "a"),
            ("kb/b/index.html", "b"),
        ];
        assert_eq!(build(&one), Swap::Swapped);
        assert_eq!(build(&one), Swap::Unchanged);
        assert!(check_drift(&out, "output").stat_current);
        // One file changes, one is added: the other two are output/'s very files, and the
        // stat recorded for them without looking is the one a look finds.
        let two = [
            ("index.html", "home"),
            ("kb/a/index.html", "a2"),
            ("kb/b/index.html", "b"),
            ("kb/c/index.html", "c"),
        ];
        assert_eq!(build(&two), Swap::Swapped);
        let recorded = recorded_output_stat(&out);
        assert_eq!(recorded.files.len(), 4);
        assert!(recorded.files.values().all(Option::is_some));
        assert_eq!(as_json(&recorded), as_json(&fresh()));
        assert!(check_drift(&out, "output").stat_current);

        // An edit of a file whose stat was reused moves that stat: the next check reads the
        // file and finds the edit (as it would had the edit come before the stat was
        // recorded, leaving the reused stat stale).
        std::fs::write(out.join("kb/b/index.html"), b"B").unwrap();
        let found = check_drift(&out, "output");
        assert_eq!(found.findings.len(), 1, "{:?}", found.findings);
        assert!(found.findings[0]
            .detail
            .contains("kb/b/index.html was changed"));
    }

    #[test]
    fn the_drift_check_lists_no_folder_whose_stat_held_and_still_finds_every_edit() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("output");
        let lock = BuildLock::acquire(&out).unwrap();
        let build = || {
            let s = Staging::new(&out, &lock, check_drift(&out, "output"), None).unwrap();
            s.write("index.html", b"home").unwrap();
            s.write("kb/a/index.html", b"aaaa").unwrap();
            s.write("kb/b/c/index.html", b"cccc").unwrap();
            s.commit(&out, BTreeMap::new()).unwrap().1
        };
        assert_eq!(build(), Swap::Swapped);
        let recorded = recorded_output_stat(&out);
        assert_eq!(
            recorded.dirs.keys().collect::<Vec<_>>(),
            ["", "kb", "kb/a", "kb/b", "kb/b/c"]
        );
        assert!(folders_unmoved(&recorded, &stats_in(&out)));
        let clean = check_drift(&out, "output");
        assert!(clean.intact() && clean.stat_current);
        assert_eq!(build(), Swap::Unchanged);

        // A file added deep down moves its folder's stat: that folder is listed again.
        std::fs::write(out.join("kb/b/c/extra.html"), b"x").unwrap();
        assert!(!folders_unmoved(
            &recorded_output_stat(&out),
            &stats_in(&out)
        ));
        let found = check_drift(&out, "output");
        assert_eq!(found.findings.len(), 1, "{:?}", found.findings);
        assert!(found.findings[0]
            .detail
            .contains("kb/b/c/extra.html was added"));
        // Removed again: output/ is as built, and the stat is recorded anew.
        std::fs::remove_file(out.join("kb/b/c/extra.html")).unwrap();
        let again = check_drift(&out, "output");
        assert!(again.intact() && !again.stat_current);
        assert_eq!(build(), Swap::Unchanged);
        assert!(check_drift(&out, "output").stat_current);

        // Bytes changed in place, same length, modification time set back: the change time
        // still moved, so the file is read.
        let path = out.join("kb/a/index.html");
        let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
        std::fs::write(&path, b"AAAA").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        assert!(folders_unmoved(
            &recorded_output_stat(&out),
            &stats_in(&out)
        ));
        let found = check_drift(&out, "output");
        assert_eq!(found.findings.len(), 1, "{:?}", found.findings);
        assert!(found.findings[0]
            .detail
            .contains("kb/a/index.html was changed"));
        assert!(!found.stat_current);
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
            let s = Staging::new(&out, &lock, check_drift(&out, "output"), None).unwrap();
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
        let err = Staging::new(&out, &lock, check_drift(&out, "output"), None)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("no imprimatur build wrote it"), "{err}");
        std::fs::write(out.join(MARKER), b"not json").unwrap();
        assert!(Staging::new(&out, &lock, check_drift(&out, "output"), None).is_err());
        assert!(previous_build(&out).is_none());
        assert_eq!(std::fs::read(out.join("mine.txt")).unwrap(), b"mine");
    }
}
