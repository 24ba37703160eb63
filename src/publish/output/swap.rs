//! The swap into place: once every file is staged, the commit links `output/`'s unchanged
//! files into the staging folder, deletes what the build did not write, writes the manifest
//! and exchanges the staging folder with `output/` in one step; the replaced site is trimmed
//! and kept beside it as the next build's staging folder.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::files::{remove_empty_dirs, remove_old, write_new};
use super::kept::KeptState;
use super::staging::{Folder, OutputKnown, Swap};
use super::{previous_path, read_marker, BuildManifest, MARKER};
use crate::error::{Error, Result};
use crate::fs;
use crate::fs::Fingerprint;
use crate::trust::version;

/// `output_dir` may be replaced when it does not exist, is empty, or holds [`MARKER`]: a
/// folder of someone's files is never deleted because `output:` named it. `has_manifest`:
/// the drift check, under the same lock, just read a [`MARKER`] there (not read again).
pub(super) fn check_replaceable(output_dir: &Path, has_manifest: bool) -> Result<()> {
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

/// The rest of [`Staging::commit`], once there is a staging folder: makes each file listed
/// `from_output` one file with `output/`'s, deletes what the folder held and the build did not
/// write, writes the manifest, and swaps (or, when `old`, the manifest of the intact
/// `output/`, is this one, keeps the folder as the next generation).
pub(super) fn commit_in(
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
pub(super) fn touched_folders(paths: &[String]) -> HashSet<String> {
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
pub(super) fn copy_from(output_dir: &Path, staged: &Path, rel: &str) -> Result<()> {
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
pub(super) fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::symlink_metadata(a), std::fs::symlink_metadata(b)) {
        (Ok(x), Ok(y)) => x.is_file() && y.is_file() && x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// Fills the empty folder `twin` with a link to each file of `output_dir` that `manifest`
/// lists (only a head start for the next build, which takes over and checks the folder as it
/// does any kept generation: a file that can't be linked is left out). Each top-level folder
/// on a thread of the pool. Done before `output/`'s stat is recorded: a link moves the
/// change time of the file it links.
pub(super) fn link_twin(output_dir: &Path, manifest: &BuildManifest, twin: &Path) {
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
pub(super) fn keep_as_previous(staged: &Path, output_dir: &Path) {
    if std::fs::rename(staged, previous_path(output_dir)).is_err() {
        let _ = remove_old(staged);
    }
}

/// After a swap, `old` holds the replaced site: trims it to the files whose bytes the new
/// site has too (by both manifests; the next build reads every file before reusing it), so
/// nothing of a page that went offline stays beside `output/`.
pub(super) fn trim_to_shared(
    old: &Path,
    old_manifest: &BuildManifest,
    new: &BuildManifest,
) -> Result<()> {
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
pub(super) fn swap_in(
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

pub(super) fn aside_path(output_dir: &Path) -> PathBuf {
    let name = output_dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    output_dir.with_file_name(format!(".imprimatur-old-{name}-{}", std::process::id()))
}
