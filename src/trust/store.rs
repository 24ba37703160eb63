//! The content-addressed store (`approvals/store/`, SPEC §2). Every submitted version is kept
//! here, so a page's approved bytes can still be published after its draft moved on. Nothing
//! read from the store is trusted until its hash matches its address.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::fs::{self, ReadErrorKind};
use crate::trust::version::{self, ManifestEntry, Version};

#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// Why a version's bytes could not be taken from the store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: blob missing from the store")]
    Missing { path: String },
    /// The blob does not match its hash, is not a canonical manifest, is over a size limit,
    /// or is reached through a symbolic link or is no regular file: `why` says which.
    #[error("{path}: {why}")]
    Corrupt { path: String, why: String },
    #[error("{path}: cannot read blob: {message}")]
    Unreadable { path: String, message: String },
}

/// A version's bytes: the page text and, for a bundle, every file of the bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionFiles {
    /// The Markdown source (`index.md` of a bundle).
    pub markdown: Vec<u8>,
    /// Bundle files other than `index.md`, by relative path, sorted.
    pub assets: Vec<(String, Vec<u8>)>,
}

impl Store {
    pub fn new(dir: impl Into<PathBuf>) -> Store {
        Store { dir: dir.into() }
    }

    pub fn blob_path(&self, hex: &str) -> PathBuf {
        self.dir.join(&hex[..2]).join(&hex[2..])
    }

    fn display(&self, hex: &str) -> String {
        format!("approvals/store/{}/{}", &hex[..2], &hex[2..])
    }

    /// Stores `bytes` under their hash; an existing good copy is left alone, a corrupt one
    /// is replaced. Written through a temporary file and a rename, so a reader never sees half.
    /// Refuses when `approvals/store` or the fan-out folder is a symbolic link.
    pub fn put(&self, bytes: &[u8]) -> Result<String> {
        let hex = version::sha256_hex(bytes);
        if self.get_blob(&hex).is_ok() {
            return Ok(hex);
        }
        let path = self.blob_path(&hex);
        let (base, rel) = self.blob_beneath(&hex);
        let parent = fs::real_dir(&base, rel.parent().unwrap_or(Path::new("")))?;
        let mut tmp =
            tempfile::NamedTempFile::new_in(&parent).map_err(|e| Error::io(&parent, e))?;
        std::io::Write::write_all(&mut tmp, bytes).map_err(|e| Error::io(&path, e))?;
        tmp.persist(&path).map_err(|e| Error::io(&path, e.error))?;
        Ok(hex)
    }

    /// Stores a version: one blob for a single file, the manifest plus every file for a bundle.
    pub fn put_version(&self, files: &[(String, Vec<u8>)], bundle: bool) -> Result<Version> {
        if !bundle {
            let (_, bytes) = &files[0];
            let hex = self.put(bytes)?;
            return Ok(Version::parse(&format!("sha256:{hex}")).expect("hex from sha256"));
        }
        let mut entries = Vec::with_capacity(files.len());
        for (path, bytes) in files {
            entries.push(ManifestEntry {
                path: path.clone(),
                hex: self.put(bytes)?,
            });
        }
        let hex = self.put(version::manifest_text(&entries).as_bytes())?;
        Ok(Version::parse(&format!("sha256:{hex}")).expect("hex from sha256"))
    }

    /// The files that hold `version`: its blob, and for a bundle each file's blob the manifest
    /// names (what a commit of a `submit` must carry besides the record).
    pub fn blob_paths_of(&self, version: &Version) -> Vec<PathBuf> {
        let mut paths = vec![self.blob_path(version.hex())];
        if let Ok(bytes) = self.get_blob(version.hex()) {
            if version::is_manifest(&bytes) {
                if let Ok(entries) = version::parse_manifest(&bytes) {
                    paths.extend(entries.iter().map(|e| self.blob_path(&e.hex)));
                }
            }
        }
        paths
    }

    /// Reads one blob and checks it against its address. Nothing is read through a symbolic
    /// link (not even `approvals/store` itself or its fan-out folder), nor from anything but a
    /// regular file, nor beyond [`version::MAX_FILE_BYTES`]: such a blob is corrupt.
    pub fn get_blob(&self, hex: &str) -> Result<Vec<u8>, StoreError> {
        if !version::is_hex64(hex) {
            return Err(StoreError::Corrupt {
                path: format!("approvals/store/{hex}"),
                why: "is not a blob address (64 lowercase hex digits)".into(),
            });
        }
        let (base, rel) = self.blob_beneath(hex);
        let bytes = match fs::read_beneath(&base, &rel, version::MAX_FILE_BYTES) {
            Ok(bytes) => bytes,
            Err(e) => {
                let path = self.display(hex);
                return Err(match e.kind {
                    ReadErrorKind::Missing => StoreError::Missing { path },
                    ReadErrorKind::Io(source) => StoreError::Unreadable {
                        path,
                        message: source.to_string(),
                    },
                    kind => StoreError::Corrupt {
                        why: format!("{} {kind}", self.shown(&e.at)),
                        path,
                    },
                });
            }
        };
        if version::sha256_hex(&bytes) != hex {
            return Err(StoreError::Corrupt {
                path: self.display(hex),
                why: "does not match its hash (corrupt or tampered)".into(),
            });
        }
        Ok(bytes)
    }

    /// Reads a whole version. A blob that starts with the manifest header is a bundle, and its
    /// manifest must be canonical; every file it lists is read and hash-checked too.
    pub fn get_version(&self, version: &Version) -> Result<VersionFiles, StoreError> {
        let first = self.get_blob(version.hex())?;
        if !version::is_manifest(&first) {
            return Ok(VersionFiles {
                markdown: first,
                assets: Vec::new(),
            });
        }
        let corrupt = |why: String| StoreError::Corrupt {
            path: self.display(version.hex()),
            why,
        };
        let entries = version::parse_manifest(&first)
            .map_err(|why| corrupt(format!("is not a canonical bundle manifest: {why}")))?;
        let mut markdown = Vec::new();
        let mut assets = Vec::new();
        let mut total: u64 = 0;
        for entry in entries {
            let bytes = self.get_blob(&entry.hex)?;
            total += bytes.len() as u64;
            if total > version::MAX_BUNDLE_BYTES {
                return Err(corrupt(format!(
                    "its bundle manifest lists more than the limit of {} MiB",
                    version::MAX_BUNDLE_BYTES >> 20
                )));
            }
            if entry.path == "index.md" {
                markdown = bytes;
            } else {
                assets.push((entry.path, bytes));
            }
        }
        Ok(VersionFiles { markdown, assets })
    }

    /// A blob as (the folder holding the store, the blob's path below it): reads start from
    /// there, so `approvals/store` itself is opened without following a link.
    fn blob_beneath(&self, hex: &str) -> (PathBuf, PathBuf) {
        let base = match self.dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = self.dir.file_name().unwrap_or(std::ffi::OsStr::new("."));
        (base, Path::new(name).join(&hex[..2]).join(&hex[2..]))
    }

    /// A path inside the store as people see it (`approvals/store/ab`).
    fn shown(&self, at: &Path) -> String {
        match at.strip_prefix(&self.dir) {
            Ok(rel) if rel.as_os_str().is_empty() => "approvals/store".into(),
            Ok(rel) => format!(
                "approvals/store/{}",
                fs::printable(&fs::display_relative(Path::new(""), rel))
            ),
            Err(_) => fs::printable(&at.to_string_lossy()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_bundle_reads_back_and_a_corrupt_blob_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let files = vec![
            ("img/a.png".to_string(), vec![0u8, 1, 2]),
            ("index.md".to_string(), b"---\ntitle: T\n---\n".to_vec()),
        ];
        let v = store.put_version(&files, true).unwrap();
        let back = store.get_version(&v).unwrap();
        assert_eq!(back.markdown, files[1].1);
        assert_eq!(back.assets, vec![files[0].clone()]);

        let single = store
            .put_version(&[("x.md".into(), b"hello".to_vec())], false)
            .unwrap();
        assert_eq!(single, Version::of_bytes(b"hello"));
        std::fs::write(store.blob_path(single.hex()), b"hellO").unwrap();
        assert!(matches!(
            store.get_version(&single),
            Err(StoreError::Corrupt { .. })
        ));
        // put() repairs a corrupt copy
        store.put(b"hello").unwrap();
        assert_eq!(store.get_version(&single).unwrap().markdown, b"hello");
        let missing = Version::of_bytes(b"never stored");
        assert!(matches!(
            store.get_version(&missing),
            Err(StoreError::Missing { .. })
        ));
    }

    #[test]
    fn a_blob_over_the_size_limit_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("store"));
        let hex = store.put(b"small").unwrap();
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(store.blob_path(&hex))
            .unwrap();
        file.set_len(version::MAX_FILE_BYTES + 1).unwrap();
        match store.get_blob(&hex) {
            Err(StoreError::Corrupt { why, .. }) => assert!(why.contains("larger"), "{why}"),
            other => panic!("{other:?}"),
        }
    }
}
