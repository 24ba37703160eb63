//! Unit tests of `publish::output`, kept beside its files so that each stays short.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::drift::{folders_unmoved, stats_in};
use super::kept::{clock_in, record_output_stat, recorded_output_stat, OutputStat};
use super::listing::{Listed, Look};
use super::swap::same_file;
use super::*;

#[test]
fn a_committed_site_replaces_the_old_one_and_hand_edits_are_drift() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("output");
    let lock = BuildLock::acquire(&out).unwrap();
    let s = Staging::new(&out, &lock, check_drift(&out, "output"), None).unwrap();
    s.write("index.html", b"one").unwrap();
    s.write("kb/a/index.html", b"a").unwrap();
    assert!(s.write("../escape", b"x").is_err());
    let pages = BTreeMap::from([("kb/a".to_string(), "kb/a/".to_string())]);
    s.commit(&out, pages.clone()).unwrap();
    assert_eq!(std::fs::read(out.join("index.html")).unwrap(), b"one");
    assert!(drift(&out, "output").is_empty());
    let previous = previous_build(&out).unwrap();
    assert_eq!(previous.pages, pages);
    assert_eq!(previous.files["index.html"], version::sha256_hex(b"one"));

    std::fs::write(out.join("index.html"), b"defaced").unwrap();
    std::fs::remove_file(out.join("kb/a/index.html")).unwrap();
    std::fs::write(out.join("extra.html"), b"x").unwrap();
    let details: Vec<String> = drift(&out, "output")
        .into_iter()
        .map(|f| f.detail)
        .collect();
    assert_eq!(details.len(), 3, "{details:?}");
    assert!(details[0].contains("output/index.html was changed"));
    assert!(details[1].contains("output/kb/a/index.html was removed"));
    assert!(details[2].contains("output/extra.html was added"));

    let s = Staging::new(&out, &lock, check_drift(&out, "output"), None).unwrap();
    s.write("index.html", b"two").unwrap();
    s.commit(&out, BTreeMap::new()).unwrap();
    assert_eq!(std::fs::read(out.join("index.html")).unwrap(), b"two");
    assert!(!out.join("extra.html").exists());
    assert!(previous_build(&out).unwrap().pages.is_empty());
    drop(lock);
    let leftovers: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".imprimatur"))
        .collect();
    // The replaced site was edited by hand: not kept as a generation to build on.
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn inodes(dir: &Path) -> BTreeMap<PathBuf, (u64, i64, i64)> {
    use std::os::unix::fs::MetadataExt;
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(|e| e.ok())
        .map(|e| {
            let m = e.metadata().unwrap();
            (e.into_path(), (m.ino(), m.mtime(), m.mtime_nsec()))
        })
        .collect()
}

/// A build of `out` that writes `files` (path, text): how many it rewrote, and the swap.
fn build_files(out: &Path, lock: &BuildLock, files: &[(&str, &str)]) -> (usize, Swap) {
    let s = Staging::new(out, lock, check_drift(out, "output"), None).unwrap();
    for (rel, bytes) in files {
        s.write(rel, bytes.as_bytes()).unwrap();
    }
    let n = s.rewritten();
    (n, s.commit(out, BTreeMap::new()).unwrap().1)
}

#[test]
fn a_rebuild_writes_only_changed_files_and_an_unchanged_one_touches_nothing() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("output");
    let lock = BuildLock::acquire(&out).unwrap();
    let build = |files: &[(&str, &str)]| build_files(&out, &lock, files);
    let one = [
        ("index.html", "home"),
        ("kb/a/index.html", "a"),
        ("kb/b/index.html", "b"),
    ];
    assert_eq!(build(&one), (3, Swap::Swapped));
    // The first build leaves a twin beside output/: each of its files, linked.
    let twin = root.path().join(".imprimatur-prev-output");
    for (rel, _) in one {
        assert!(same_file(&out.join(rel), &twin.join(rel)), "{rel}");
    }
    let before = inodes(&out);
    assert_eq!(build(&one), (0, Swap::Unchanged));
    assert_eq!(inodes(&out), before, "nothing in output/ was touched");
    assert_eq!(build(&one), (0, Swap::Unchanged));
    assert_eq!(inodes(&out), before, "nothing in output/ was touched");

    // b goes offline, a changes: the generation kept beside holds neither's old bytes.
    let two = [("index.html", "home"), ("kb/a/index.html", "a2")];
    assert_eq!(build(&two), (1, Swap::Swapped));
    assert_eq!(std::fs::read(out.join("index.html")).unwrap(), b"home");
    assert!(!out.join("kb/b").exists());
    let prev = root.path().join(".imprimatur-prev-output");
    assert!(!prev.join("kb/b").exists());
    assert!(!prev.join("kb/a/index.html").exists());
    assert_eq!(std::fs::read(prev.join("index.html")).unwrap(), b"home");
    // The next build starts from that generation; a2 is in output/, so nothing is new.
    assert_eq!(build(&two), (0, Swap::Unchanged));
    // A hand edit of the kept generation (a new file there): a build that changes
    // nothing never looks at that generation...
    std::fs::remove_file(prev.join("index.html")).unwrap();
    std::fs::write(prev.join("index.html"), b"defaced").unwrap();
    assert_eq!(build(&two), (0, Swap::Unchanged));
    assert_eq!(std::fs::read(out.join("index.html")).unwrap(), b"home");
    // ...and a change, which stages in it, replaces the file that is not output/'s by
    // output/'s, and writes only the new file.
    let three = [("index.html", "home"), ("kb/a/index.html", "a3")];
    assert_eq!(build(&three), (1, Swap::Swapped));
    assert_eq!(std::fs::read(out.join("index.html")).unwrap(), b"home");
    assert_eq!(std::fs::read(out.join("kb/a/index.html")).unwrap(), b"a3");
    assert!(drift(&out, "output").is_empty());
}

#[test]
fn a_file_made_a_piece_at_a_time_is_kept_replaced_and_hashed_as_one_written_whole() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("output");
    let lock = BuildLock::acquire(&out).unwrap();
    // `index.html` written whole, `big.json` handed over in pieces of 7 bytes.
    let made = AtomicUsize::new(0);
    let build = |big: &str, home: &str| {
        made.store(0, Ordering::Relaxed);
        let s = Staging::new(&out, &lock, check_drift(&out, "output"), None).unwrap();
        s.write("index.html", home.as_bytes()).unwrap();
        s.write_with("big.json", &|w| {
            made.fetch_add(1, Ordering::Relaxed);
            big.as_bytes().chunks(7).try_for_each(|c| w.write_all(c))
        })
        .unwrap();
        let n = s.rewritten();
        let (manifest, swap) = s.commit(&out, BTreeMap::new()).unwrap();
        assert_eq!(
            manifest.files["big.json"],
            version::sha256_hex(big.as_bytes())
        );
        assert_eq!(std::fs::read_to_string(out.join("big.json")).unwrap(), big);
        (n, swap)
    };
    let v1 = "v1 ".repeat(50_000);
    assert_eq!(build(&v1, "home"), (2, Swap::Swapped));
    // The same bytes again: output/ holds them, nothing is written.
    let before = inodes(&out);
    assert_eq!(build(&v1, "home"), (0, Swap::Unchanged));
    assert_eq!(inodes(&out), before);
    // Only the home page changes: the big file is output/'s, linked, not made again.
    assert_eq!(build(&v1, "home 2"), (1, Swap::Swapped));
    // The kept generation holds other bytes under the big file's name: they are replaced
    // by a new file, never written through.
    let prev = root.path().join(".imprimatur-prev-output");
    let kept = prev.join("big.json");
    let _ = std::fs::remove_file(&kept);
    std::fs::write(&kept, "defaced").unwrap();
    let v2 = "v2 ".repeat(50_000);
    assert_eq!(build(&v2, "home 2"), (1, Swap::Swapped));
    assert!(drift(&out, "output").is_empty());
    // output/ held other bytes: they were made once, beside it, and moved in, readable
    // as a file written whole is; nothing is left beside output/.
    assert_eq!(made.load(Ordering::Relaxed), 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |rel: &str| out.join(rel).metadata().unwrap().permissions().mode();
        assert_eq!(mode("big.json"), mode("index.html"));
    }
    let beside: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(".imprimatur-build-"))
        .collect();
    assert!(beside.is_empty(), "{beside:?}");
    // The same bytes once more: made once, found to be output/'s, and dropped.
    assert_eq!(build(&v2, "home 2"), (0, Swap::Unchanged));
    assert_eq!(made.load(Ordering::Relaxed), 1);
    // A path outside the site is refused before anything is made.
    let s = Staging::new(&out, &lock, check_drift(&out, "output"), None).unwrap();
    assert!(s.write_with("../x.json", &|w| w.write_all(b"x")).is_err());
    assert!(s.write_with("/etc/x.json", &|w| w.write_all(b"x")).is_err());
}

#[test]
fn the_kept_generation_is_taken_over_by_its_kept_listing_and_a_file_slipped_in_is_found() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("output");
    let lock = BuildLock::acquire(&out).unwrap();
    let build = |files: &[(&str, &str)]| build_files(&out, &lock, files);
    let prev = root.path().join(".imprimatur-prev-output");
    let kept_listing = || {
        let bytes = std::fs::read(prev.join(KEPT_STAT)).unwrap();
        postcard::from_bytes::<Listed>(&bytes).unwrap()
    };
    let one = [
        ("index.html", "home"),
        ("kb/a/index.html", "a"),
        ("kb/b/index.html", "b"),
    ];
    assert_eq!(build(&one), (3, Swap::Swapped));
    // The twin's listing is kept in it, each folder but its top with a stat.
    let mut twin = kept_listing();
    twin.entries
        .retain(|rel, _| !rel.starts_with(".imprimatur-"));
    assert_eq!(
        twin.dirs.keys().collect::<Vec<_>>(),
        ["", "kb", "kb/a", "kb/b"]
    );
    assert!(twin.dirs[""].is_none() && twin.dirs["kb/a"].is_some());
    let (existing, listed) = {
        // A look at the twin as a build taking it over has it: the listing kept is what
        // a fresh listing finds.
        let since = clock_in(root.path()).unwrap();
        let mut fresh = listing::list(&prev, &Listed::default(), since, Listing::Parallel).unwrap();
        // Besides the caches the generation holds at its top.
        fresh
            .entries
            .retain(|rel, _| !rel.starts_with(".imprimatur-"));
        (fresh.entries.clone(), fresh)
    };
    assert_eq!(twin.entries, existing);
    assert_eq!(
        twin.dirs.keys().collect::<Vec<_>>(),
        listed.dirs.keys().collect::<Vec<_>>()
    );

    // A changes: after the swap the old output/ is kept, with the listing recorded for it.
    let two = [
        ("index.html", "home"),
        ("kb/a/index.html", "a2"),
        ("kb/b/index.html", "b"),
    ];
    assert_eq!(build(&two), (1, Swap::Swapped));
    assert!(kept_listing().dirs["kb/b"].is_some());
    // A file slipped into a folder of the kept generation whose listing was kept: that
    // folder's stat moved, so the build taking it over lists it, and the file is not
    // published (nor left in the generation kept after).
    std::fs::write(prev.join("kb/b/stray.html"), b"not approved").unwrap();
    std::fs::create_dir(prev.join("kb/b/deeper")).unwrap();
    std::fs::write(prev.join("kb/b/deeper/stray.html"), b"not approved").unwrap();
    let three = [
        ("index.html", "home 3"),
        ("kb/a/index.html", "a2"),
        ("kb/b/index.html", "b"),
    ];
    assert_eq!(build(&three), (1, Swap::Swapped));
    assert!(drift(&out, "output").is_empty());
    let published: Vec<_> = walkdir::WalkDir::new(&out)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            e.path()
                .strip_prefix(&out)
                .unwrap()
                .to_string_lossy()
                .to_string()
        })
        .collect();
    assert_eq!(published.len(), 4, "{published:?}");
    assert!(!out.join("kb/b/stray.html").exists());
    assert!(!out.join("kb/b/deeper").exists());
    // A listing kept that does not match the generation beside it is listed anew.
    std::fs::write(prev.join(KEPT_STAT), b"not a listing").unwrap();
    std::fs::write(prev.join("kb/b/stray.html"), b"not approved").unwrap();
    let four = [
        ("index.html", "home 4"),
        ("kb/a/index.html", "a2"),
        ("kb/b/index.html", "b"),
    ];
    assert_eq!(build(&four), (1, Swap::Swapped));
    assert!(!out.join("kb/b/stray.html").exists());
    assert!(drift(&out, "output").is_empty());
}

#[test]
fn a_rebuild_records_the_stat_a_fresh_look_at_output_finds() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("output");
    let lock = BuildLock::acquire(&out).unwrap();
    let build = |files: &[(&str, &str)]| build_files(&out, &lock, files).1;
    let fresh = || {
        let dir = tempfile::tempdir().unwrap();
        let manifest = previous_build(&out).unwrap();
        let since = clock_in(dir.path()).unwrap();
        let nothing = Listed::default();
        record_output_stat(
            &out,
            &manifest,
            dir.path(),
            &BTreeMap::new(),
            &nothing,
            Look::Every,
            since,
        );
        let bytes = std::fs::read(dir.path().join(OUTPUT_STAT)).unwrap();
        postcard::from_bytes::<OutputStat>(&bytes).unwrap()
    };
    let as_json = |stat: &OutputStat| serde_json::to_string(stat).unwrap();
    let one = [
        ("index.html", "home"),
        ("kb/a/index.html", "a"),
        ("kb/b/index.html", "b"),
    ];
    assert_eq!(build(&one), Swap::Swapped);
    assert_eq!(build(&one), Swap::Unchanged);
    assert!(check_drift(&out, "output").stat_current);
    // One file changes, one is added: the other two are output/'s very files, and the
    // stat recorded for them without looking is the one a look finds.
    let two = [
        ("index.html", "home"),
        ("kb/a/index.html", "a2"),
        ("kb/b/index.html", "b"),
        ("kb/c/index.html", "c"),
    ];
    assert_eq!(build(&two), Swap::Swapped);
    let recorded = recorded_output_stat(&out);
    assert_eq!(recorded.files.len(), 4);
    assert!(recorded.files.values().all(Option::is_some));
    assert_eq!(as_json(&recorded), as_json(&fresh()));
    assert!(check_drift(&out, "output").stat_current);

    // An edit of a file whose stat was reused moves that stat: the next check reads the
    // file and finds the edit (as it would had the edit come before the stat was
    // recorded, leaving the reused stat stale).
    std::fs::write(out.join("kb/b/index.html"), b"B").unwrap();
    let found = check_drift(&out, "output");
    assert_eq!(found.findings.len(), 1, "{:?}", found.findings);
    assert!(found.findings[0]
        .detail
        .contains("kb/b/index.html was changed"));
}

#[test]
fn the_drift_check_lists_no_folder_whose_stat_held_and_still_finds_every_edit() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("output");
    let lock = BuildLock::acquire(&out).unwrap();
    let build = || {
        let s = Staging::new(&out, &lock, check_drift(&out, "output"), None).unwrap();
        s.write("index.html", b"home").unwrap();
        s.write("kb/a/index.html", b"aaaa").unwrap();
        s.write("kb/b/c/index.html", b"cccc").unwrap();
        s.commit(&out, BTreeMap::new()).unwrap().1
    };
    assert_eq!(build(), Swap::Swapped);
    let recorded = recorded_output_stat(&out);
    assert_eq!(
        recorded.dirs.keys().collect::<Vec<_>>(),
        ["", "kb", "kb/a", "kb/b", "kb/b/c"]
    );
    assert!(folders_unmoved(&recorded, &stats_in(&out)));
    let clean = check_drift(&out, "output");
    assert!(clean.intact() && clean.stat_current);
    assert_eq!(build(), Swap::Unchanged);

    // A file added deep down moves its folder's stat: that folder is listed again.
    std::fs::write(out.join("kb/b/c/extra.html"), b"x").unwrap();
    assert!(!folders_unmoved(
        &recorded_output_stat(&out),
        &stats_in(&out)
    ));
    let found = check_drift(&out, "output");
    assert_eq!(found.findings.len(), 1, "{:?}", found.findings);
    assert!(found.findings[0]
        .detail
        .contains("kb/b/c/extra.html was added"));
    // Removed again: output/ is as built, and the stat is recorded anew.
    std::fs::remove_file(out.join("kb/b/c/extra.html")).unwrap();
    let again = check_drift(&out, "output");
    assert!(again.intact() && !again.stat_current);
    assert_eq!(build(), Swap::Unchanged);
    assert!(check_drift(&out, "output").stat_current);

    // Bytes changed in place, same length, modification time set back: the change time
    // still moved, so the file is read.
    let path = out.join("kb/a/index.html");
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    std::fs::write(&path, b"AAAA").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    assert!(folders_unmoved(
        &recorded_output_stat(&out),
        &stats_in(&out)
    ));
    let found = check_drift(&out, "output");
    assert_eq!(found.findings.len(), 1, "{:?}", found.findings);
    assert!(found.findings[0]
        .detail
        .contains("kb/a/index.html was changed"));
    assert!(!found.stat_current);
}

#[test]
fn an_abandoned_staging_leaves_the_old_site_alone() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("output");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("index.html"), b"old").unwrap();
    std::fs::write(out.join(MARKER), b"{\"files\": {}, \"pages\": {}}").unwrap();
    {
        let lock = BuildLock::acquire(&out).unwrap();
        let s = Staging::new(&out, &lock, check_drift(&out, "output"), None).unwrap();
        s.write("index.html", b"new").unwrap();
        // dropped without commit: a failed build
    }
    assert_eq!(std::fs::read(out.join("index.html")).unwrap(), b"old");
    assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1);
}

#[test]
fn a_folder_no_build_wrote_is_never_replaced() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("output");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("mine.txt"), b"mine").unwrap();
    let lock = BuildLock::acquire(&out).unwrap();
    let err = Staging::new(&out, &lock, check_drift(&out, "output"), None)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("no imprimatur build wrote it"), "{err}");
    std::fs::write(out.join(MARKER), b"not json").unwrap();
    assert!(Staging::new(&out, &lock, check_drift(&out, "output"), None).is_err());
    assert!(previous_build(&out).is_none());
    assert_eq!(std::fs::read(out.join("mine.txt")).unwrap(), b"mine");
}
