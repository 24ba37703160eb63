//! What one judgement of a site may lend the next judgement of the same folder, in memory
//! only: the pages and records read last time, and the signatures that verified.
//!
//! `serve` keeps a [`Memo`] for as long as it runs, so that a save re-reads and re-verifies
//! only what changed. Nothing here is ever written to disk, so nobody who can write to the
//! repository can forge an entry. Reuse is decided so that it can only ever repeat what a
//! fresh judgement would conclude from the same bytes:
//! - a file is reused only while its inode, size, modification and change times are all
//!   unchanged (the change time can't be set back from user space), and never after the
//!   watcher named its path;
//! - a signature is remembered by a hash over the public key, the signature and the exact
//!   signed bytes, and only after it verified strictly. The other conditions of SPEC §4 (key
//!   owner, revocation, `signed_at`, the build's clock) are checked again every time.

use std::collections::{HashMap, HashSet};
use std::fs::Metadata;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::content::Page;
use super::RecordFile;

/// Who a file on disk is, as far as reuse goes (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fingerprint {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Fingerprint {
    /// From metadata read without following a link (`lstat`).
    pub(crate) fn of(meta: &Metadata) -> Fingerprint {
        use std::os::unix::fs::MetadataExt;
        Fingerprint {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

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
    pages: Mutex<Files<Page>>,
    records: Mutex<Files<RecordFile>>,
    signatures: Mutex<HashSet<[u8; 32]>>,
}

impl Memo {
    /// The pages the last load read, for this load to reuse; [`Memo::keep_pages`] puts back
    /// what it read.
    pub(crate) fn take_pages(&self) -> Files<Page> {
        std::mem::take(&mut *self.pages.lock().expect("memo lock"))
    }

    pub(crate) fn keep_pages(&self, files: Files<Page>) {
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
        self.signatures.lock().expect("memo lock").contains(&id)
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

/// Length-prefixed, so that no two different triples hash the same input.
fn signature_id(public_key: &[u8], signature: &[u8], signed: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in [public_key, signature, signed] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.finalize().into()
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
    fn a_signature_is_remembered_for_its_exact_key_signature_and_bytes() {
        let memo = Memo::default();
        memo.keep_verified(b"key", b"sig", b"bytes");
        assert!(memo.verified(b"key", b"sig", b"bytes"));
        assert!(!memo.verified(b"key", b"sig", b"bytes!"));
        assert!(!memo.verified(b"ke", b"ysig", b"bytes"));
        assert!(!memo.verified(b"other", b"sig", b"bytes"));
    }
}
