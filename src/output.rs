//! Writing the public site. A build writes into a fresh staging folder beside `output/` and
//! swaps it in at the end, so a failed or killed build leaves the previous complete site in
//! place (SPEC §7). It also keeps a manifest of what it wrote (outside `output/`), so the next
//! build can tell when someone changed the public site by hand (`output_drift`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::review::FindingKind;
use crate::site::Finding;
use crate::version;

/// Files being written for the next `output/`, and their hashes.
pub struct Staging {
    dir: tempfile::TempDir,
    written: Mutex<BTreeMap<String, String>>,
}

impl Staging {
    /// A staging folder next to `output_dir` (same filesystem, so the swap is a rename).
    pub fn new(output_dir: &Path) -> Result<Staging> {
        let parent = output_dir.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        let dir = tempfile::Builder::new()
            .prefix(".imprimatur-build-")
            .tempdir_in(parent)
            .map_err(|e| Error::io(parent, e))?;
        Ok(Staging {
            dir,
            written: Mutex::new(BTreeMap::new()),
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

    /// Puts the staged site in place of `output_dir` in one step and records its manifest.
    pub fn commit(self, output_dir: &Path, manifest_file: &Path) -> Result<()> {
        let written = self.written.into_inner().expect("no writer panicked");
        let staged = self.dir.keep();
        if let Err(e) = swap_in(&staged, output_dir) {
            let _ = std::fs::remove_dir_all(&staged);
            return Err(e);
        }
        let manifest = Manifest { files: written };
        let mut json = serde_json::to_string_pretty(&manifest).expect("a manifest serializes");
        json.push('\n');
        crate::atomic::write_file(manifest_file, json.as_bytes())
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Manifest {
    files: BTreeMap<String, String>,
}

/// Replaces `output_dir` by `staged`. On Linux both folders are exchanged atomically; the old
/// site is then deleted from where the staging folder was.
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
            return remove_old(staged);
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
    remove_old(&aside)
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

/// Compares `output_dir` with the manifest of the build that wrote it: every file changed,
/// added or removed since is an `output_drift` finding. No manifest, no findings.
pub fn drift(output_dir: &Path, manifest_file: &Path, output_name: &str) -> Vec<Finding> {
    let Ok(text) = std::fs::read_to_string(manifest_file) else {
        return Vec::new();
    };
    let Ok(manifest) = serde_json::from_str::<Manifest>(&text) else {
        return vec![Finding {
            kind: FindingKind::OutputDrift,
            page: None,
            detail: "the manifest of the last build is unreadable; output/ can't be checked".into(),
            file: Some(crate::config::display_relative(
                output_dir.parent().unwrap_or(output_dir),
                manifest_file,
            )),
        }];
    };
    let mut found: BTreeMap<String, String> = BTreeMap::new();
    if output_dir.is_dir() {
        for entry in walkdir::WalkDir::new(output_dir)
            .min_depth(1)
            .into_iter()
            .flatten()
        {
            if entry.file_type().is_file() || entry.file_type().is_symlink() {
                let rel = crate::config::display_relative(output_dir, entry.path());
                let hash = std::fs::read(entry.path())
                    .map(|b| version::sha256_hex(&b))
                    .unwrap_or_default();
                found.insert(rel, hash);
            }
        }
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
        let manifest = root.path().join("reports/output-manifest.json");
        let s = Staging::new(&out).unwrap();
        s.write("index.html", b"one").unwrap();
        s.write("kb/a/index.html", b"a").unwrap();
        assert!(s.write("../escape", b"x").is_err());
        s.commit(&out, &manifest).unwrap();
        assert_eq!(std::fs::read(out.join("index.html")).unwrap(), b"one");
        assert!(drift(&out, &manifest, "output").is_empty());

        std::fs::write(out.join("index.html"), b"defaced").unwrap();
        std::fs::remove_file(out.join("kb/a/index.html")).unwrap();
        std::fs::write(out.join("extra.html"), b"x").unwrap();
        let details: Vec<String> = drift(&out, &manifest, "output")
            .into_iter()
            .map(|f| f.detail)
            .collect();
        assert_eq!(details.len(), 3, "{details:?}");
        assert!(details[0].contains("output/index.html was changed"));
        assert!(details[1].contains("output/kb/a/index.html was removed"));
        assert!(details[2].contains("output/extra.html was added"));

        let s = Staging::new(&out).unwrap();
        s.write("index.html", b"two").unwrap();
        s.commit(&out, &manifest).unwrap();
        assert_eq!(std::fs::read(out.join("index.html")).unwrap(), b"two");
        assert!(!out.join("extra.html").exists());
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
        {
            let s = Staging::new(&out).unwrap();
            s.write("index.html", b"new").unwrap();
            // dropped without commit: a failed build
        }
        assert_eq!(std::fs::read(out.join("index.html")).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1);
    }
}
