//! The drift check: before a build replaces `output/`, it compares `output/` with the manifest
//! its build left there. Every file changed, added or removed by hand is an `output_drift`
//! finding; an intact `output/` is what the staging area may reuse files from.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use super::files::walk;
use super::kept::{recorded_output_stat, OutputStat};
use super::listing::Listed;
use super::{read_marker, BuildManifest, MARKER};
use crate::fs;
use crate::fs::Fingerprint;
use crate::site::Finding;
use crate::trust::review::FindingKind;
use crate::trust::version;

/// What the drift check found: the findings, and what the build goes on with.
pub struct Drift {
    /// `output_drift` findings: `output/` is not as its build wrote it.
    pub findings: Vec<Finding>,
    /// The manifest inside `output/`, if it has a readable one.
    pub manifest: Option<BuildManifest>,
    /// Whether the kept stat of `output/` held for every entry (see [`OutputStat`]).
    pub(super) stat_current: bool,
    /// Then, the stat of each file of `output/`, as found.
    pub(super) stats: BTreeMap<String, Fingerprint>,
    /// The listing of `output/` recorded after its build (each folder with the stat it was
    /// listed at): once `output/` is the kept generation, what the next build takes it over by.
    pub(super) recorded: Listed,
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
pub(super) fn stats_in(output_dir: &Path) -> impl Fn(&str) -> Option<Fingerprint> + Sync + '_ {
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
pub(super) fn folders_unmoved(
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
