//! The staging area: where a build writes the files of its next `output/`. A file whose bytes
//! the intact `output/` holds already is only listed; the staging folder (the kept generation
//! taken over, or an empty one) is made when the first file with new bytes is written. The
//! render memo of the last build lets pages and groups be kept without being rendered.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::drift::Drift;
use super::files::{make_aside, move_new, remove_old, write_new, write_new_by};
use super::kept::{clock_in, record_output_stat, take_over, KeptState, MemoFile};
use super::listing::{Listed, Look};
use super::lock::BuildLock;
use super::swap::{check_replaceable, commit_in};
use super::{parent_of, previous_path, BuildManifest, Fill, Listing, BEFORE_LIMIT, OUTPUT_STAT};
use crate::cache::render_memo::{self, GroupMemo, PageMemo, RenderMemo};
use crate::cache::Tagger;
use crate::error::{Error, Result};
use crate::fs::Fingerprint;
use crate::fs::Tee;
use crate::trust::version::{self, Sha256Writer};

/// Test hook: a build aborts the process (as a kill would) after writing this many files.
/// Only in builds with the feature `test-hooks`, which the integration tests turn on (the
/// crate is its own dev-dependency with it, see Cargo.toml): never in a release binary.
#[cfg(feature = "test-hooks")]
const ABORT_AFTER_WRITES: &str = "IMPRIMATUR_TEST_ABORT_AFTER_WRITES";

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
    /// The test hook's count (see [`ABORT_AFTER_WRITES`]).
    #[cfg(feature = "test-hooks")]
    abort_after: Option<usize>,
    _lock: &'lock BuildLock,
}

/// What the drift check found of the intact `output/` (else empty): the stat of each file,
/// when every one held, and the listing recorded after its build (see [`Drift`]).
#[derive(Default)]
pub(super) struct OutputKnown {
    pub(super) stats: BTreeMap<String, Fingerprint>,
    pub(super) listed: Listed,
}

/// The staging folder, once made: the kept generation taken over, or a new empty folder.
pub(super) struct Folder {
    pub(super) dir: tempfile::TempDir,
    /// Regular files it held when taken over from [`PREVIOUS`].
    pub(super) existing: BTreeSet<String>,
    /// Its listing when taken over (empty when it was made empty, or listed without stats).
    pub(super) listed: Listed,
    /// Paths in it that this build wrote, linked or removed (see [`touched_folders`]).
    pub(super) touched: Mutex<Vec<String>>,
}

impl Folder {
    /// Notes that the build wrote, linked or removed `rel` in the folder.
    pub(super) fn touch(&self, rel: &str) {
        let mut touched = self.touched.lock().expect("no writer panics");
        touched.push(rel.to_string());
    }

    /// A folder next to `output_dir` (same filesystem, so the swap is a rename): the previous
    /// generation when one is kept, else an empty folder. `Listing::OwnThreads` when called by a
    /// thread of the pool that holds a lock other threads of it wait on (see
    /// [`Staging::folder`]).
    pub(super) fn make(output_dir: &Path, listing: Listing) -> Result<Folder> {
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
            #[cfg(feature = "test-hooks")]
            abort_after: std::env::var(ABORT_AFTER_WRITES)
                .ok()
                .and_then(|n| n.parse().ok()),
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

    /// One more file whose bytes were new.
    fn count_rewritten(&self) {
        self.rewritten.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "test-hooks")]
        self.abort_if_asked();
    }

    /// The test hook [`ABORT_AFTER_WRITES`]: kills the build once that many files were new.
    #[cfg(feature = "test-hooks")]
    fn abort_if_asked(&self) {
        let n = self.rewritten.load(Ordering::Relaxed);
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

/// The bytes of a file to write: whole, or made by a writer a piece at a time.
#[derive(Clone, Copy)]
pub(super) enum Bytes<'b> {
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
pub(super) fn file_sha256(path: &Path) -> std::io::Result<String> {
    let mut hash = Sha256Writer::default();
    std::io::copy(&mut std::fs::File::open(path)?, &mut hash)?;
    Ok(hash.hex())
}
