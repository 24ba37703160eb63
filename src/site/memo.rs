//! What one judgement of a site may lend the next judgement of the same folder: the pages and
//! records read last time, and the signatures that verified.
//!
//! `serve` keeps a [`Memo`] for as long as it runs, so that a save re-reads and re-verifies
//! only what changed. What it holds in memory is never written to disk, so nobody who can
//! write to the repository can forge an entry. Reuse is decided so that it can only ever
//! repeat what a fresh judgement would conclude from the same bytes:
//! - a file is reused only while its inode, size, modification and change times are all
//!   unchanged (the change time can't be set back from user space), and never after the
//!   watcher named its path;
//! - a signature is remembered by a hash over the public key, the signature and the exact
//!   signed bytes, and only after it verified strictly. The other conditions of SPEC §4 (key
//!   owner, revocation, `signed_at`, the build's clock) are checked again every time.
//!
//! `build` also lends itself what earlier runs kept in the cache folder — the signatures that
//! verified, and what it read of pages and records — through `crate::cache`, which says who
//! can write each kept file and why they can't make it say anything a fresh run would not.
//! The memo is where those meet the site's own types (pages, record files).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;

use super::content::Page;
use super::RecordFile;
use crate::cache::inputs::{Clock, Kept, Now, PageRead, Place, RecordBytes};
use crate::cache::verified::{signature_id, Digests, VerifiedCache};
use crate::cache::Tagger;
use crate::fs::Fingerprint;
use crate::trust::record::VerifiedSignatures;

/// What one load read, keyed by absolute path. A load takes the previous one out of the memo,
/// looks files up in it from many threads without a lock, and puts back what it read itself,
/// so that files that disappeared are forgotten.
pub(crate) struct Files<T>(HashMap<PathBuf, (Fingerprint, T)>);

impl<T> Default for Files<T> {
    fn default() -> Self {
        Files(HashMap::new())
    }
}

impl<T> Files<T> {
    pub(crate) fn get(&self, path: &Path, fingerprint: Fingerprint) -> Option<&T> {
        match self.0.get(path) {
            Some((seen, value)) if *seen == fingerprint => Some(value),
            _ => None,
        }
    }

    /// Whether there is nothing to reuse, so that a first load need not look files up.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn forget(&mut self, changed: &Path) {
        self.0.retain(|path, _| !path.starts_with(changed));
    }
}

impl<T> FromIterator<(PathBuf, Fingerprint, T)> for Files<T> {
    fn from_iter<I: IntoIterator<Item = (PathBuf, Fingerprint, T)>>(iter: I) -> Self {
        Files(iter.into_iter().map(|(p, f, v)| (p, (f, v))).collect())
    }
}

/// See the module documentation.
#[derive(Default)]
pub(crate) struct Memo {
    pages: Mutex<Files<Arc<Page>>>,
    records: Mutex<Files<RecordFile>>,
    signatures: Mutex<Digests>,
    persisted: Option<VerifiedCache>,
    /// Whether pages and records read are kept for a later load (`serve`); a one-shot build
    /// keeps only signatures, and copies nothing else.
    once: bool,
    /// Whether a build keeps what it read of pages and records in the cache folder, for the
    /// next build ([`inputs`]).
    keeps_inputs: bool,
    /// What is being written to the cache folder, on threads of its own.
    saving: Saving,
}

impl Memo {
    /// A memo that also knows the signatures earlier runs on this site verified.
    /// For one load only (a build): what it keeps is the signatures, for later runs.
    pub(crate) fn with_cache(cache: Option<VerifiedCache>) -> Memo {
        Memo {
            persisted: cache,
            once: true,
            ..Memo::default()
        }
    }

    /// A build's memo: the signatures earlier builds of the site at `site_root` verified, and
    /// what they read of its pages and records ([`inputs`]), from the cache folder. An error
    /// only for a cache key in the environment that is not one ([`secret`]).
    pub(crate) fn for_build(site_root: &Path) -> crate::Result<Memo> {
        Ok(Memo {
            keeps_inputs: true,
            ..Memo::with_cache(VerifiedCache::open(site_root)?)
        })
    }

    /// A reading of the clock of the filesystem that holds the folder `dir` (the one `build`
    /// writes to), taken before pages and records are read: what may be kept of them for the
    /// next build is settled against it. `None` when nothing is kept.
    pub(crate) fn clock(&self, dir: &Path) -> Option<Clock> {
        match self.keeps_inputs && self.persisted.is_some() {
            true => Clock::read_in(dir),
            false => None,
        }
    }

    /// What the last build kept of the page files it read, for this one (see [`inputs`]).
    pub(crate) fn kept_pages(&self, clock: Option<Clock>) -> Option<Kept<PageRead>> {
        Some(Kept::load(
            self.place("pages", b"imprimatur-kept-pages-v1")?,
            clock?,
        ))
    }

    /// What the last build kept of the record files it read, for this one.
    pub(crate) fn kept_records(&self, clock: Option<Clock>) -> Option<Kept<RecordBytes>> {
        Some(Kept::load(
            self.place("records", b"imprimatur-kept-records-v1")?,
            clock?,
        ))
    }

    fn place(&self, kind: &str, domain: &'static [u8]) -> Option<Place> {
        let cache = self.persisted.as_ref().filter(|_| self.keeps_inputs)?;
        Some(cache.place(kind, domain))
    }

    /// Writes `kept` with what this build read (`now`) to the cache folder, beside the work
    /// that follows; waited for by [`Memo::save_cache`] or when the memo is dropped.
    pub(crate) fn save_later<T>(&self, kept: Kept<T>, now: Vec<Now<T>>)
    where
        T: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
    {
        let saving = std::thread::Builder::new()
            .name("imprimatur-keep".into())
            .spawn(move || kept.save(now));
        if let Ok(handle) = saving {
            self.saving.push(handle);
        }
    }

    /// Whether a load should keep the pages and records it read for a later load.
    pub(crate) fn keeps_files(&self) -> bool {
        !self.once
    }

    /// The key of the cache outside the site, to authenticate other state kept between runs;
    /// `None` when the cache is off (then nothing kept between runs is trusted).
    pub(crate) fn tagger(&self) -> Option<Tagger> {
        self.persisted.as_ref().map(VerifiedCache::tagger)
    }

    /// Remembers, for later runs, every signature that verified in this one (those alone:
    /// the cache holds what the site still has). Errors are ignored: it is only a cache.
    pub(crate) fn save_cache(&self) {
        if let Some(cache) = &self.persisted {
            cache.save(&self.signatures.lock().expect("memo lock"));
        }
        self.saving.wait();
    }

    /// The pages the last load read, for this load to reuse; [`Memo::keep_pages`] puts back
    /// what it read.
    pub(crate) fn take_pages(&self) -> Files<Arc<Page>> {
        std::mem::take(&mut *self.pages.lock().expect("memo lock"))
    }

    pub(crate) fn keep_pages(&self, files: Files<Arc<Page>>) {
        *self.pages.lock().expect("memo lock") = files;
    }

    pub(crate) fn take_records(&self) -> Files<RecordFile> {
        std::mem::take(&mut *self.records.lock().expect("memo lock"))
    }

    pub(crate) fn keep_records(&self, files: Files<RecordFile>) {
        *self.records.lock().expect("memo lock") = files;
    }

    /// Whether this exact signature over these exact bytes verified before under this key.
    pub(crate) fn verified(&self, public_key: &[u8], signature: &[u8], signed: &[u8]) -> bool {
        let id = signature_id(public_key, signature, signed);
        if self.signatures.lock().expect("memo lock").contains(&id) {
            return true;
        }
        let known = self.persisted.as_ref().is_some_and(|c| c.knows(&id));
        if known {
            self.signatures.lock().expect("memo lock").insert(id);
        }
        known
    }

    pub(crate) fn keep_verified(&self, public_key: &[u8], signature: &[u8], signed: &[u8]) {
        let id = signature_id(public_key, signature, signed);
        self.signatures.lock().expect("memo lock").insert(id);
    }

    /// Drops whatever was read at or beneath `path` (the watcher saw it change), whatever
    /// its fingerprint says.
    pub(crate) fn forget(&self, path: &Path) {
        self.pages.lock().expect("memo lock").forget(path);
        self.records.lock().expect("memo lock").forget(path);
    }
}

impl VerifiedSignatures for Memo {
    fn seen(&self, public_key: &[u8], signature: &[u8], signed: &[u8]) -> bool {
        self.verified(public_key, signature, signed)
    }

    fn remember(&self, public_key: &[u8], signature: &[u8], signed: &[u8]) {
        self.keep_verified(public_key, signature, signed)
    }
}

/// Threads writing to the cache folder: waited for before they are forgotten, so that a
/// build never leaves a file half written there (a temporary file, never the one read).
#[derive(Default)]
struct Saving(Mutex<Vec<std::thread::JoinHandle<()>>>);

impl Saving {
    fn push(&self, handle: std::thread::JoinHandle<()>) {
        self.0.lock().expect("memo lock").push(handle);
    }

    fn wait(&self) {
        let handles = std::mem::take(&mut *self.0.lock().expect("memo lock"));
        for handle in handles {
            let _ = handle.join();
        }
    }
}

impl Drop for Saving {
    fn drop(&mut self) {
        self.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fingerprint_of(path: &Path) -> Fingerprint {
        Fingerprint::of(&std::fs::symlink_metadata(path).unwrap())
    }

    #[test]
    fn a_file_is_reused_only_while_its_fingerprint_holds_and_no_event_named_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a");
        std::fs::write(&path, "one").unwrap();
        let first = fingerprint_of(&path);
        let mut files: Files<u32> = [(path.clone(), first, 1)].into_iter().collect();
        assert_eq!(files.get(&path, first), Some(&1));

        // Rewritten with bytes of the same length: the change time moves.
        std::thread::sleep(std::time::Duration::from_millis(5));
        std::fs::write(&path, "two").unwrap();
        assert_eq!(files.get(&path, fingerprint_of(&path)), None);

        // Named by the watcher: forgotten whatever the fingerprint says.
        files.forget(dir.path());
        assert_eq!(files.get(&path, first), None);
    }

    #[test]
    fn a_load_takes_what_the_last_one_kept_and_nothing_older() {
        let memo = Memo::default();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a");
        std::fs::write(&path, "one").unwrap();
        let f = fingerprint_of(&path);
        let mut first: Files<RecordFile> = Files::default();
        first.0.insert(
            path.clone(),
            (
                f,
                RecordFile {
                    file: "a".into(),
                    parsed: Err("x".into()),
                },
            ),
        );
        memo.keep_records(first);
        assert!(memo.take_records().get(&path, f).is_some());
        // The load that took it kept nothing: the next one finds nothing.
        memo.keep_records(Files::default());
        assert!(memo.take_records().get(&path, f).is_none());
    }

    #[test]
    fn the_cache_between_runs_holds_only_tags_made_with_its_own_key() {
        let dir = tempfile::tempdir().unwrap();
        let site = tempfile::tempdir().unwrap();
        let open = || {
            let cache_dir = dir.path().to_path_buf();
            VerifiedCache::open_in(&cache_dir, site.path(), [3; 32]).unwrap()
        };
        let first = Memo::with_cache(Some(open()));
        assert!(!first.verified(b"key", b"sig", b"bytes"));
        first.keep_verified(b"key", b"sig", b"bytes");
        first.save_cache();
        let second = Memo::with_cache(Some(open()));
        assert!(second.verified(b"key", b"sig", b"bytes"));
        assert!(!second.verified(b"key", b"sig", b"bytes!"));
        // Whoever writes the file without the key: the raw id, or a tag under another key.
        let file = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().ends_with(".bin"))
            .unwrap();
        let forged = signature_id(b"key", b"sig", b"forged");
        std::fs::write(&file, forged).unwrap();
        let third = Memo::with_cache(Some(open()));
        assert!(!third.verified(b"key", b"sig", b"forged"));
        assert!(!third.verified(b"key", b"sig", b"bytes"));
    }

    #[test]
    fn a_signature_is_remembered_for_its_exact_key_signature_and_bytes() {
        let memo = Memo::default();
        memo.keep_verified(b"key", b"sig", b"bytes");
        assert!(memo.verified(b"key", b"sig", b"bytes"));
        assert!(!memo.verified(b"key", b"sig", b"bytes!"));
        assert!(!memo.verified(b"ke", b"ysig", b"bytes"));
        assert!(!memo.verified(b"other", b"sig", b"bytes"));
    }
}
