//! Listing a generation's folders (`output/`, or the kept one beside it) without listing again
//! what a listing recorded earlier still says.
//!
//! A folder's change time moves whenever an entry is added to it, removed or renamed, and it
//! can't be set back from user space: a folder whose stat is the one recorded with a listing
//! still holds exactly that listing, provided the stat was *settled* when it was recorded (its
//! change time older than a reading of the filesystem's clock taken before the stat, so that
//! a change in the same tick of that clock, which may be several milliseconds long, would
//! still have moved it). A [`Listed`] holds only such pairs: each folder's stat taken before
//! its listing, and `None` where it was not settled.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::Listing;
use crate::fs::Fingerprint;

/// The folders under a root and what each held when listed.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Listed {
    /// Every folder by `/`-separated path (`""` for the root) → its stat taken before it was
    /// listed, when settled (see the module comment); `None` otherwise.
    pub(super) dirs: BTreeMap<String, Option<Fingerprint>>,
    /// Every other entry of those folders → whether it was a regular file.
    pub(super) entries: BTreeMap<String, bool>,
}

/// Which folders [`list`] takes a stat of.
#[derive(Clone, Copy)]
pub(super) enum Look<'a> {
    /// Every folder.
    Every,
    /// Only these (and the root, and any `prior` has no settled stat for); every other keeps
    /// `prior`'s stat and listing as they are: still a true pair, since whatever changed
    /// the folder since moved its stat, and whoever looks next lists it. For a caller that
    /// knows which folders it changed itself (missing one only costs the next look a listing).
    Only(&'a HashSet<String>),
}

/// Lists every folder under `root` (and `root` itself) with its stat taken first. A folder
/// whose stat is the settled one `prior` recorded is not listed: its entries are `prior`'s.
/// The root is always listed. Stats are settled against `since`, a reading of the
/// filesystem's clock taken before this call. Fails on a name that is not UTF-8, or a folder
/// that can't be listed or is no longer one.
pub(super) fn list(
    root: &Path,
    prior: &Listed,
    since: (i64, i64),
    listing: Listing,
) -> std::io::Result<Listed> {
    list_looking(root, prior, Look::Every, since, listing)
}

/// [`list`], taking the stat of the folders `look` says.
pub(super) fn list_looking(
    root: &Path,
    prior: &Listed,
    look: Look,
    since: (i64, i64),
    listing: Listing,
) -> std::io::Result<Listed> {
    // A recorded path that could step outside the root voids the whole record.
    let empty = Listed::default();
    let prior = match prior
        .dirs
        .keys()
        .chain(prior.entries.keys())
        .all(|rel| rel.is_empty() || rel.split('/').all(|c| !matches!(c, "" | "." | "..")))
    {
        true => prior,
        false => &empty,
    };
    let index = children(prior);
    let mut out = Listed::default();
    let top = visit(root, "", prior, &index, look, since, &mut out)?;
    let below = |share: Vec<String>| -> std::io::Result<Listed> {
        let mut out = Listed::default();
        let mut stack = share;
        while let Some(rel) = stack.pop() {
            stack.extend(visit(root, &rel, prior, &index, look, since, &mut out)?);
        }
        Ok(out)
    };
    let parts: Vec<std::io::Result<Listed>> = match listing {
        Listing::Parallel => top.into_par_iter().map(|d| below(vec![d])).collect(),
        Listing::OwnThreads => {
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
            let mut shares: Vec<Vec<String>> = (0..threads).map(|_| Vec::new()).collect();
            for (n, dir) in top.into_iter().enumerate() {
                shares[n % threads].push(dir);
            }
            std::thread::scope(|scope| {
                let listers: Vec<_> = shares
                    .into_iter()
                    .map(|share| scope.spawn(|| below(share)))
                    .collect();
                listers
                    .into_iter()
                    .map(|l| l.join().expect("a lister does not panic"))
                    .collect()
            })
        }
    };
    for part in parts {
        let mut part = part?;
        out.dirs.append(&mut part.dirs);
        out.entries.append(&mut part.entries);
    }
    Ok(out)
}

/// The folder `rel` of `root` into `out`, from `prior` when its stat is the one recorded
/// there; returns its folders.
fn visit(
    root: &Path,
    rel: &str,
    prior: &Listed,
    index: &Children,
    look: Look,
    since: (i64, i64),
    out: &mut Listed,
) -> std::io::Result<Vec<String>> {
    let from_prior = |stat: Fingerprint, out: &mut Listed| {
        out.dirs.insert(rel.to_string(), Some(stat));
        let mut folders = Vec::new();
        for (child, kind) in index.get(rel).into_iter().flatten() {
            match kind {
                None => folders.push(child.to_string()),
                Some(regular) => {
                    out.entries.insert(child.to_string(), *regular);
                }
            }
        }
        folders
    };
    if let (Look::Only(these), Some(Some(stat))) = (look, prior.dirs.get(rel)) {
        if !rel.is_empty() && !these.contains(rel) {
            return Ok(from_prior(*stat, out));
        }
    }
    let path = if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(rel)
    };
    // Before the listing: a change after this shows in the next look's stat.
    let meta = std::fs::symlink_metadata(&path)?;
    if !meta.is_dir() {
        return Err(std::io::Error::other(format!(
            "{} is not a folder",
            path.display()
        )));
    }
    let stat = Fingerprint::of(&meta);
    if !rel.is_empty() && prior.dirs.get(rel) == Some(&Some(stat)) {
        // Settled when recorded, so settled now.
        return Ok(from_prior(stat, out));
    }
    let mut folders = Vec::new();
    out.dirs.insert(rel.to_string(), settled(stat, since));
    for entry in std::fs::read_dir(&path)? {
        let entry = entry?;
        let name = entry.file_name().into_string().map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, "a name is not UTF-8")
        })?;
        let child = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let kind = entry.file_type()?;
        if kind.is_dir() {
            folders.push(child);
        } else {
            out.entries.insert(child, kind.is_file());
        }
    }
    Ok(folders)
}

/// `prior`'s entries by folder: each with `None` for a folder, else whether it was a regular
/// file.
type Children<'p> = HashMap<&'p str, Vec<(&'p str, Option<bool>)>>;

fn children(prior: &Listed) -> Children<'_> {
    let mut index: Children = HashMap::new();
    fn parent(rel: &str) -> &str {
        rel.rsplit_once('/').map_or("", |(p, _)| p)
    }
    for rel in prior.dirs.keys().filter(|rel| !rel.is_empty()) {
        index.entry(parent(rel)).or_default().push((rel, None));
    }
    for (rel, regular) in &prior.entries {
        index
            .entry(parent(rel))
            .or_default()
            .push((rel, Some(*regular)));
    }
    index
}

/// `stat`, unless its change time is not older than `since` (see the module comment).
pub(super) fn settled(stat: Fingerprint, since: (i64, i64)) -> Option<Fingerprint> {
    (stat.ctime() < since).then_some(stat)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder to list, `site` in a temporary folder, and a reading of the filesystem
    /// clock past everything done so far (by a file made beside it, not in it).
    fn site() -> (tempfile::TempDir, std::path::PathBuf) {
        let root = tempfile::tempdir().unwrap();
        let site = root.path().join("site");
        std::fs::create_dir(&site).unwrap();
        (root, site)
    }

    fn clock(site: &Path) -> (i64, i64) {
        let probe = tempfile::NamedTempFile::new_in(site.parent().unwrap()).unwrap();
        super::super::kept::clock_past(probe.as_file()).unwrap()
    }

    #[test]
    fn a_folder_whose_stat_held_is_taken_as_listed_and_any_change_is_listed_again() {
        let (_root, r) = site();
        let r = r.as_path();
        for dir in ["a/x", "a/y", "b"] {
            std::fs::create_dir_all(r.join(dir)).unwrap();
        }
        std::fs::write(r.join("a/x/index.html"), b"x").unwrap();
        std::fs::write(r.join("a/y/index.html"), b"y").unwrap();
        std::fs::write(r.join("b/index.html"), b"b").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("/etc/passwd", r.join("b/link")).unwrap();
        let since = clock(r);
        let fresh = list(r, &Listed::default(), since, Listing::Parallel).unwrap();
        assert_eq!(
            fresh.dirs.keys().collect::<Vec<_>>(),
            ["", "a", "a/x", "a/y", "b"]
        );
        assert!(fresh.dirs.values().all(Option::is_some), "{fresh:?}");
        assert!(fresh.entries["a/x/index.html"]);
        #[cfg(unix)]
        assert!(!fresh.entries["b/link"]);

        // Nothing moved: the same listing, whichever threads list it.
        for listing in [Listing::Parallel, Listing::OwnThreads] {
            assert_eq!(list(r, &fresh, clock(r), listing).unwrap(), fresh);
        }
        // A folder recorded without a stat is listed, whatever entries were recorded for it.
        let mut unsettled = fresh.clone();
        unsettled.entries.remove("a/y/index.html");
        unsettled.dirs.insert("a/y".into(), None);
        let again = list(r, &unsettled, clock(r), Listing::Parallel).unwrap();
        assert_eq!(again, fresh);

        // A record naming a path that steps outside counts for nothing: all is listed.
        let mut outside = fresh.clone();
        outside.dirs.insert("a/..".into(), fresh.dirs[""]);
        outside.entries.insert("a/../../x".into(), false);
        assert_eq!(
            list(r, &outside, clock(r), Listing::Parallel).unwrap(),
            fresh
        );

        // Added, removed, and a folder made deep down: each folder that changed is listed.
        std::fs::write(r.join("a/x/extra.html"), b"e").unwrap();
        std::fs::remove_file(r.join("b/index.html")).unwrap();
        std::fs::create_dir(r.join("a/y/z")).unwrap();
        std::fs::write(r.join("a/y/z/deep.html"), b"d").unwrap();
        let moved = list(r, &fresh, clock(r), Listing::Parallel).unwrap();
        let fresh_now = list(r, &Listed::default(), clock(r), Listing::Parallel).unwrap();
        assert_eq!(moved.entries, fresh_now.entries);
        assert_eq!(
            moved.dirs.keys().collect::<Vec<_>>(),
            fresh_now.dirs.keys().collect::<Vec<_>>()
        );
        assert!(moved.entries.contains_key("a/x/extra.html"));
        assert!(moved.entries.contains_key("a/y/z/deep.html"));
        assert!(!moved.entries.contains_key("b/index.html"));
    }

    #[test]
    fn looking_only_at_the_folders_one_changed_keeps_the_rest_as_recorded() {
        let (_root, r) = site();
        let r = r.as_path();
        for dir in ["a", "b"] {
            std::fs::create_dir(r.join(dir)).unwrap();
            std::fs::write(r.join(dir).join("index.html"), b"x").unwrap();
        }
        let before = list(r, &Listed::default(), clock(r), Listing::Parallel).unwrap();
        std::fs::write(r.join("a/new.html"), b"n").unwrap();
        std::fs::write(r.join("b/new.html"), b"n").unwrap();
        let only_a = HashSet::from(["a".to_string()]);
        let after =
            list_looking(r, &before, Look::Only(&only_a), clock(r), Listing::Parallel).unwrap();
        // a was looked at; b kept the pair recorded before, a true pair still: its stat is
        // the old one, which b no longer has, so the next look lists it.
        assert!(after.entries.contains_key("a/new.html"));
        assert!(!after.entries.contains_key("b/new.html"));
        assert_eq!(after.dirs["b"], before.dirs["b"]);
        let next = list(r, &after, clock(r), Listing::Parallel).unwrap();
        assert!(next.entries.contains_key("b/new.html"));
    }

    #[test]
    fn a_folder_changed_in_the_tick_of_its_stat_is_recorded_without_one() {
        let (_root, r) = site();
        let r = r.as_path();
        std::fs::create_dir(r.join("a")).unwrap();
        // The clock read before the change: the change is not older than it.
        let since = clock(r);
        std::fs::write(r.join("a/index.html"), b"a").unwrap();
        let listed = list(r, &Listed::default(), since, Listing::Parallel).unwrap();
        assert_eq!(listed.dirs["a"], None);
        assert!(listed.dirs[""].is_some(), "the root did not change since");
        // A stat without one is never taken as listed: the next look lists it.
        std::fs::write(r.join("a/more.html"), b"m").unwrap();
        let next = list(r, &listed, clock(r), Listing::Parallel).unwrap();
        assert!(next.entries.contains_key("a/more.html"));
    }

    #[test]
    fn a_name_that_is_not_utf8_or_a_folder_gone_fails_the_listing() {
        let (_root, r) = site();
        let r = r.as_path();
        std::fs::create_dir(r.join("a")).unwrap();
        let since = clock(r);
        let listed = list(r, &Listed::default(), since, Listing::Parallel).unwrap();
        // Recorded as a folder that is now a file: its stat can't be the same, and the
        // parent moved, so it is listed again as a file.
        std::fs::remove_dir(r.join("a")).unwrap();
        std::fs::write(r.join("a"), b"file").unwrap();
        let now = list(r, &listed, clock(r), Listing::Parallel).unwrap();
        assert!(now.entries["a"]);
        assert!(!now.dirs.contains_key("a"));
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::ffi::OsStrExt;
            let odd = std::ffi::OsStr::from_bytes(b"\xff.html");
            std::fs::write(r.join(odd), b"x").unwrap();
            assert!(list(r, &now, clock(r), Listing::Parallel).is_err());
        }
    }
}
