//! The content-addressed store (`approvals/store/`, SPEC §2). Every submitted version is kept
//! here, so a page's approved bytes can still be published after its draft moved on. Nothing
//! read from the store is trusted until its hash matches its address.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::version::{self, ManifestEntry, Version};

#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// Why a version's bytes could not be taken from the store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: blob missing from the store")]
    Missing { path: String },
    #[error("{path}: blob does not match its hash (corrupt or tampered)")]
    Corrupt { path: String },
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
    pub fn put(&self, bytes: &[u8]) -> Result<String> {
        let hex = version::sha256_hex(bytes);
        if self.get_blob(&hex).is_ok() {
            return Ok(hex);
        }
        let path = self.blob_path(&hex);
        let parent = path.parent().expect("blob paths have a parent");
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        let mut tmp = tempfile::NamedTempFile::new_in(parent).map_err(|e| Error::io(parent, e))?;
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

    /// Reads one blob and checks it against its address.
    pub fn get_blob(&self, hex: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.blob_path(hex);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::Missing {
                    path: self.display(hex),
                })
            }
            Err(e) => {
                return Err(StoreError::Unreadable {
                    path: self.display(hex),
                    message: e.to_string(),
                })
            }
        };
        if version::sha256_hex(&bytes) != hex {
            return Err(StoreError::Corrupt {
                path: self.display(hex),
            });
        }
        Ok(bytes)
    }

    /// Reads a whole version. A blob that parses as a bundle manifest is a bundle; every
    /// file it lists is read and hash-checked too.
    pub fn get_version(&self, version: &Version) -> Result<VersionFiles, StoreError> {
        let first = self.get_blob(version.hex())?;
        let Some(entries) = version::parse_manifest(&first) else {
            return Ok(VersionFiles {
                markdown: first,
                assets: Vec::new(),
            });
        };
        let mut markdown = None;
        let mut assets = Vec::new();
        for entry in entries {
            let bytes = self.get_blob(&entry.hex)?;
            if entry.path == "index.md" {
                markdown = Some(bytes);
            } else {
                assets.push((entry.path, bytes));
            }
        }
        let markdown = markdown.ok_or_else(|| StoreError::Corrupt {
            path: self.display(version.hex()),
        })?;
        Ok(VersionFiles { markdown, assets })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
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
}
