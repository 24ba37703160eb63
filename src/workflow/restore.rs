//! `imprimatur restore`: an earlier version's bytes, taken from the store and checked against
//! the version hash, written back into `content/` as the page's current draft ("restored
//! versions behave like new drafts"). It signs nothing: publishing the old bytes again
//! without review stays the signed `publish --version` (rollback), and reviewing them again
//! is a `submit`. It never loses work nobody kept: when the page's current bytes are in no
//! record and not in the store, it refuses unless forced. It writes only below `content/`,
//! through no symbolic link, each file replaced atomically.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::site::content::{page_id_from_arg, read_bundle};
use crate::site::Site;
use crate::time::Instant;
use crate::trust::version::{self, Version};

/// What a restore did.
#[derive(Debug, Clone)]
pub struct Restored {
    pub page: String,
    /// The file or bundle folder written, relative to the site root.
    pub source: String,
    pub version: Version,
    /// The version the page held before (now kept only where records or the store keep it).
    pub previous: Version,
    /// The restored version's review state (`published`, `approved`, `rejected`, ...).
    pub state: String,
    /// Files removed from the bundle folder because the restored version does not have them.
    pub removed: Vec<String>,
}

pub fn restore(
    site: &Site,
    now: Instant,
    page_arg: &str,
    version: &str,
    force: bool,
) -> Result<Restored> {
    let id = page_id_from_arg(page_arg);
    let wanted = Version::parse(version).ok_or_else(|| {
        Error::Usage(format!(
            "--version: '{version}' is not sha256: followed by 64 hex digits"
        ))
    })?;
    let page = site.page(&id).ok_or_else(|| {
        Error::Refused(format!(
            "no page '{id}' in content/ (looked for content/{id}.md and content/{id}/index.md)"
        ))
    })?;
    let history = crate::site::history::page_history(site, now, &id)?;
    let Some(entry) = history
        .versions
        .iter()
        .find(|v| v.version == wanted.as_str())
    else {
        return Err(Error::Refused(format!(
            "{id}: no record names version {wanted}; `imprimatur history {id}` lists the versions that can be restored"
        )));
    };
    if wanted == page.version {
        return Err(Error::Refused(format!(
            "{}: already holds version {wanted}; nothing to restore",
            page.source
        )));
    }
    let current_known = history
        .versions
        .iter()
        .any(|v| v.version == page.version.as_str() && (v.submitted_by.is_some() || v.stored))
        || site.records.iter().any(|f| {
            f.parsed
                .as_ref()
                .is_ok_and(|p| p.record.content == id && p.record.version == page.version)
        })
        || site.store.get_version(&page.version).is_ok();
    if !current_known && !force {
        return Err(Error::Refused(format!(
            "{}: its current bytes (version {}) are unsaved work: no record names them and the store does not hold them. Submit the page first to keep them, or pass --force to overwrite them",
            page.source,
            page.version.short()
        )));
    }
    let files = site.store.get_version(&wanted).map_err(|e| {
        Error::Refused(format!(
            "{id}: the bytes of version {} can't be restored: {e}",
            wanted.short()
        ))
    })?;
    let first = site
        .store
        .get_blob(wanted.hex())
        .map_err(|e| Error::Refused(e.to_string()))?;
    let bundle = version::is_manifest(&first);
    if bundle != page.bundle {
        let shape = |b: bool| if b { "a bundle" } else { "a single file" };
        return Err(Error::Refused(format!(
            "{id}: version {} is {}, but the page is {} now ({}); move it aside first",
            wanted.short(),
            shape(bundle),
            shape(page.bundle),
            page.source
        )));
    }
    let root = &site.config.root;
    let source = root.join(&page.source);
    let rel = Path::new(&page.source)
        .strip_prefix("content")
        .map_err(|_| Error::UnsafePath {
            path: source.clone(),
            why: "is not inside content/".into(),
        })?
        .to_path_buf();
    let content = site.config.content_dir();
    let mut removed = Vec::new();
    if bundle {
        let dir = crate::fs::real_dir(&content, &rel)?;
        let mut wanted_files: Vec<(String, Vec<u8>)> = files.assets.clone();
        wanted_files.push(("index.md".into(), files.markdown.clone()));
        let extra = bundle_files_not_in(&dir, &wanted_files)?;
        for (path, bytes) in &wanted_files {
            let target = inside(&dir, path)?;
            let parent = Path::new(path).parent().unwrap_or(Path::new(""));
            crate::fs::real_dir(&dir, parent)?;
            crate::fs::write_file(&target, bytes)?;
        }
        for path in extra {
            let target = inside(&dir, &path)?;
            std::fs::remove_file(&target).map_err(|e| Error::io(&target, e))?;
            removed.push(format!("{}/{path}", page.source));
        }
        let (now_version, _) = read_bundle(&dir)?;
        check_written(&page.source, &now_version, &wanted)?;
    } else {
        let parent = rel.parent().unwrap_or(Path::new(""));
        let dir = crate::fs::real_dir(&content, parent)?;
        let name = rel.file_name().ok_or_else(|| Error::UnsafePath {
            path: source.clone(),
            why: "has no file name".into(),
        })?;
        let target = dir.join(name);
        crate::fs::write_file(&target, &files.markdown)?;
        check_written(&page.source, &Version::of_bytes(&files.markdown), &wanted)?;
    }
    Ok(Restored {
        page: id,
        source: page.source.clone(),
        version: wanted,
        previous: page.version.clone(),
        state: entry.state.clone(),
        removed,
    })
}

/// `dir/rel` for a safe relative path (the store's manifests are checked canonical; this
/// checks again before a write).
fn inside(dir: &Path, rel: &str) -> Result<PathBuf> {
    if !version::is_safe_relative_path(rel) {
        return Err(Error::UnsafePath {
            path: dir.join(rel),
            why: "is not a plain relative path inside the bundle".into(),
        });
    }
    Ok(dir.join(rel))
}

/// The files of the bundle folder (as a version counts them: names starting with `.` left
/// out) that the restored version does not have. A symbolic link or anything that is not a
/// file or folder refuses the restore before anything is written.
fn bundle_files_not_in(dir: &Path, keep: &[(String, Vec<u8>)]) -> Result<Vec<String>> {
    let mut extra = Vec::new();
    let walker = crate::fs::walk_by_name(dir)
        .min_depth(1)
        .into_iter()
        .filter_entry(|e| !e.file_name().as_encoded_bytes().starts_with(b"."));
    for entry in walker {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(dir).to_path_buf();
            Error::io(path, e.into())
        })?;
        let kind = entry.file_type();
        if kind.is_symlink() || !(kind.is_file() || kind.is_dir()) {
            return Err(Error::UnsafePath {
                path: entry.path().to_path_buf(),
                why: "is a symbolic link or not a regular file; nothing restored".into(),
            });
        }
        if kind.is_dir() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(dir)
            .expect("walked below dir")
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        if !keep.iter().any(|(path, _)| *path == rel) {
            extra.push(rel);
        }
    }
    Ok(extra)
}

fn check_written(source: &str, got: &Version, wanted: &Version) -> Result<()> {
    if got == wanted {
        return Ok(());
    }
    Err(Error::Refused(format!(
        "{source}: after the restore the page is version {got}, not {wanted} (was it changed meanwhile?)"
    )))
}
