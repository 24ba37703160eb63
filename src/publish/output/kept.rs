//! The kept generation and its stat cache: what a build leaves beside `output/` for the next
//! one besides files of the site (the stat of every folder and file of `output/`, the kept
//! generation's own listing, the render memo), and how the next build takes it over, listing
//! only the folders whose stat moved.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::files::{remove_old, walk, walk_on_threads};
use super::listing::{self, settled, Listed, Look};
use super::{previous_path, BuildManifest, Listing, KEPT_CACHES, KEPT_STAT, MARKER, OUTPUT_STAT};
use crate::cache::render_memo::{self, RenderMemo};
use crate::cache::Tagger;
use crate::error::{Error, Result};
use crate::fs::Fingerprint;

/// What a build leaves in the kept generation for the next one, besides files of the site.
pub(super) struct KeptState {
    pub(super) render_memo: MemoFile,
    /// Files of the new `output/` that are the very files of the old one, untouched by this
    /// build, each with the stat the drift check found them at (which a stat taken now would
    /// give: only a change moves it, and a change would move it again).
    pub(super) untouched: BTreeMap<String, Fingerprint>,
    /// A listing of the new `output/`'s folders (each with the stat it was listed at), from
    /// which only the folders that moved since are listed again to record its stat.
    pub(super) output_listed: Listed,
    /// The folders of the new `output/` this build changed, when known: only they are
    /// looked at again (see `listing::Look`); else every folder is.
    pub(super) output_touched: Option<HashSet<String>>,
    /// The kept generation's listing to keep in it ([`KEPT_STAT`]), when known; else it is
    /// listed.
    pub(super) kept_listed: Option<Listed>,
}

/// The render memo for the next build: the bytes of the file read (empty: none), or a memo
/// to write (serialized only once the site is in place, beside the recording of its stat).
pub(super) enum MemoFile {
    Read(Vec<u8>),
    Made(RenderMemo, Tagger),
}

impl MemoFile {
    /// Replaces [`render_memo::FILE`] in `kept` (only a cache: an error leaves it out).
    pub(super) fn write_into(self, kept: &Path) {
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
    pub(super) fn record(self, output_dir: &Path, manifest: &BuildManifest, kept: &Path) {
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
pub(super) struct OutputStat {
    /// Every folder of `output/` (`""` for itself), its stat taken before it was listed;
    /// `None` when it changed too recently for its stat to vouch for its listing.
    pub(super) dirs: BTreeMap<String, Option<Fingerprint>>,
    /// Every other entry of those folders but [`MARKER`], with its stat and hash when the
    /// file is one the build wrote and it did not change too recently.
    pub(super) files: BTreeMap<String, Option<(Fingerprint, String)>>,
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
pub(super) fn record_output_stat(
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
pub(super) fn record_kept_stat(kept: &Path, listed: Option<Listed>, since: (i64, i64)) {
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
pub(super) fn write_cache<T: Serialize>(kept: &Path, name: &str, value: &T) {
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
pub(super) fn clock_in(dir: &Path) -> Option<(i64, i64)> {
    let probe = tempfile::NamedTempFile::new_in(dir).ok()?;
    clock_past(probe.as_file())
}

/// Waits until the filesystem clock, as `file`'s change time shows it, is past its reading
/// when called; returns the new reading (`None` if it does not move within a second).
pub(super) fn clock_past(file: &std::fs::File) -> Option<(i64, i64)> {
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
pub(super) fn recorded_output_stat(output_dir: &Path) -> OutputStat {
    let path = previous_path(output_dir).join(OUTPUT_STAT);
    std::fs::read(path)
        .ok()
        .and_then(|b| postcard::from_bytes(&b).ok())
        .unwrap_or_default()
}

/// The regular files of a previous generation taken over as the staging folder, by
/// `/`-separated path, and its listing. Anything else in it (a link, a FIFO) is removed,
/// never followed, so every later write lands inside the folder. Only the folders whose stat
/// moved since the listing kept in it ([`KEPT_STAT`]) are listed; where that can't be done
/// (no such listing, a name that is not UTF-8), every folder is.
pub(super) fn take_over(
    dir: &Path,
    listing: Listing,
) -> Result<(BTreeSet<String>, Listed, Vec<String>)> {
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
pub(super) fn take_over_listing_all(dir: &Path, listing: Listing) -> Result<BTreeSet<String>> {
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
