//! Writing the public site. A build locks the folder holding `output/`, removes the staging
//! folders a killed build left there, writes into a staging folder and swaps it in at the
//! end, so a failed or killed build leaves the previous complete site in place (SPEC §7).
//!
//! Two generations, so a rebuild rewrites only what changed: after a swap the replaced site
//! is kept beside `output/` as [`PREVIOUS`], trimmed to the files it shares byte for byte
//! with the new one (nothing of a page that went offline stays behind). The next build takes
//! that folder as its staging folder once it renders a file whose bytes the intact `output/`
//! lacks, compares each file it renders with the bytes already there (read, never trusted
//! from a manifest), writes only those that differ, links output/'s own files for the rest,
//! and deletes what it did not render. A build whose every file and page equals the intact
//! `output/` makes no staging folder and swaps nothing: no file of `output/` is touched.
//! Beside the kept files lie what the next build may skip work with: the stat of every
//! folder and file of `output/` (so the drift check lists and reads only what moved, see
//! [`OutputStat`]), the kept generation's own listing with the stat of each folder (so the
//! build taking it over lists only the folders that moved, see `listing`: a file slipped
//! into a folder moves its stat, and is found and deleted) and the render memo
//! (`render_memo`): a page or the
//! search index whose inputs did not change is kept (`Staging::reuse`) without being
//! rendered, when the intact `output/` holds the very bytes the memo names.
//! The staged site carries its own manifest, [`MARKER`]: the files written with their hashes
//! and the pages that were live. Swapped in with the site, it marks the folder as a build's
//! (a non-empty folder without it is never replaced), tells the next build which pages went
//! offline, and lets it find hand edits (`output_drift`), even after a kill at any moment.

//!
//! The stages, in the order a build goes through them:
//! 1. [`lock`]: one build at a time beside `output/` ([`BuildLock`]), leftovers swept;
//! 2. [`drift`]: is `output/` as its build wrote it ([`check_drift`])?
//! 3. [`staging`]: the files of the next site written, or kept ([`Staging`]);
//! 4. [`swap`]: the staged site committed and swapped into place ([`Swap`]);
//! 5. [`kept`]: what is kept beside `output/` for the next build (its stat, the render memo),
//!    and how that build takes it over, with [`listing`] and the file helpers of [`files`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cache::render_memo;
use crate::fs::{self, ReadErrorKind};
use crate::trust::version;

mod lock;
pub use lock::BuildLock;

mod drift;
pub use drift::{check_drift, drift};

mod staging;
pub use staging::{Staging, Swap};

mod swap;

mod files;
mod kept;
mod listing;

#[cfg(test)]
mod tests;

/// Writes the bytes of one file, a piece at a time (see [`Staging::write_with`]).
pub type Fill<'a> = dyn Fn(&mut dyn std::io::Write) -> std::io::Result<()> + Sync + 'a;

/// The build manifest inside `output/`, written last into the staging folder.
pub const MARKER: &str = ".imprimatur-build.json";
/// The lock file beside `output/`, held for a whole build and removed at its end.
const LOCK: &str = ".imprimatur-lock";
/// What the staging folders beside `output/` are called: `.imprimatur-build-<random>`
/// while a build writes, `.imprimatur-old-<name>-<pid>` for a moment while swapping.
const STAGING_PREFIXES: &[&[u8]] = &[b".imprimatur-build-", b".imprimatur-old-"];
/// The previous generation beside `output/`: `.imprimatur-prev-<name>`, only ever a subset
/// of the site in `output/` (see the module comment).
pub const PREVIOUS: &str = ".imprimatur-prev-";
/// In the kept generation: what each file of `output/` looked like on disk after the last
/// build (inode, size, modification and change time) with its hash, so that the next build's
/// drift check reads only files whose metadata moved. The change time can't be set back from
/// user space, so no edit keeps all of it. Never part of a site.
const OUTPUT_STAT: &str = ".imprimatur-output-stat.bin";
/// In the kept generation: its own listing, each folder with the stat it was listed at (see
/// `listing`), so that the build taking it over lists only the folders that moved since.
/// Never part of a site.
const KEPT_STAT: &str = ".imprimatur-kept-stat.bin";
/// What a kept generation holds at its top besides files of the site: removed when it is
/// taken over.
const KEPT_CACHES: [&str; 4] = [MARKER, OUTPUT_STAT, KEPT_STAT, render_memo::FILE];
/// The most a build reads of one file of the last build's `output/` to patch it (a piece of the
/// search index; the biggest is a few MB at 100,000 pages): beyond, it makes the file anew.
const BEFORE_LIMIT: u64 = 256 << 20;

/// What a build published: the contents of [`MARKER`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildManifest {
    /// Every file written, by `/`-separated path relative to `output/` → SHA-256 hex.
    pub files: BTreeMap<String, String>,
    /// The pages that were live: page id → URL relative to `output/` (`kb/install/`).
    pub pages: BTreeMap<String, String>,
}

impl BuildManifest {
    /// The bytes of [`MARKER`]: pretty JSON and a newline. `audit` derives the marker of a
    /// published folder again with it.
    pub fn write_to(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        serde_json::to_writer_pretty(&mut *w, self)?;
        w.write_all(b"\n")
    }
}

/// The manifest of the build that wrote `output_dir`, if one did (and it is readable).
pub fn previous_build(output_dir: &Path) -> Option<BuildManifest> {
    read_marker(output_dir).ok().flatten()
}

/// `Ok(None)` when there is no marker; `Err(why)` when there is one that can't be used.
fn read_marker(output_dir: &Path) -> std::result::Result<Option<BuildManifest>, String> {
    match fs::read_beneath(output_dir, Path::new(MARKER), version::MAX_FILE_BYTES) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| format!("{MARKER} is not a build manifest: {e}")),
        Err(e) if matches!(e.kind, ReadErrorKind::Missing) => Ok(None),
        Err(e) => Err(format!("{MARKER} {}", e.kind)),
    }
}

fn parent_of(output_dir: &Path) -> &Path {
    match output_dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// How a folder is listed: top-level folders shared out among the threads of the pool, or
/// among threads of its own.
#[derive(Debug, Clone, Copy)]
enum Listing {
    Parallel,
    OwnThreads,
}

/// `.imprimatur-prev-<name>` beside `output_dir`.
fn previous_path(output_dir: &Path) -> PathBuf {
    let name = output_dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    parent_of(output_dir).join(format!("{PREVIOUS}{name}"))
}
