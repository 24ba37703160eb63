//! The content scan's and the front matter's unit tests: front matter fields and the error
//! naming a bad one, page ids from paths and from the command line, and what a scan finds.

use super::*;
use crate::progress::Unwatched;
use crate::time;

#[test]
fn front_matter_fields_and_unknown_keys() {
    let page = b"---\ntitle: Install\ndescription: d\nslug: setup\nweight: 3\ntags: [a, b]\naudience: [internal]\npublish_at: 2026-12-01T09:00:00Z\nproduct: agent\n---\n\nBody\n";
    let (fm, body) = parse_page(page).unwrap();
    assert_eq!(fm.title, "Install");
    assert_eq!(fm.slug.as_deref(), Some("setup"));
    assert_eq!(fm.weight, 3);
    assert_eq!(fm.tags, vec!["a", "b"]);
    assert_eq!(fm.audience, Some(vec!["internal".to_string()]));
    assert_eq!(
        time::format_utc(&fm.publish_at.unwrap()),
        "2026-12-01T09:00:00Z"
    );
    assert_eq!(fm.extra["product"], serde_json::json!("agent"));
    assert_eq!(body, "\nBody\n");
}

#[test]
fn bad_front_matter_names_the_field() {
    for (page, needle) in [
        (&b"no fence"[..], "first line"),
        (b"---\ntitle: x\n", "closing"),
        (b"---\ndescription: x\n---\n", "title"),
        (b"---\ntitle: x\npublish_at: tomorrow\n---\n", "publish_at"),
        (b"---\ntitle: x\nslug: a/b\n---\n", "slug"),
        (b"---\ntitle: x\nweight: heavy\n---\n", "weight"),
        (b"\xff\xfe", "UTF-8"),
    ] {
        let err = parse_page(page).unwrap_err();
        assert!(err.contains(needle), "{err}");
    }
}

#[test]
fn page_ids_and_arguments() {
    assert!(is_valid_page_id("kb/install"));
    for bad in ["kb", "/kb/x", "kb//x", "kb/../x", "kb/./x", ""] {
        assert!(!is_valid_page_id(bad), "{bad}");
    }
    assert_eq!(page_id_from_arg("content/kb/install.md"), "kb/install");
    assert_eq!(page_id_from_arg("./content/kb/shots/index.md"), "kb/shots");
    assert_eq!(page_id_from_arg("content/kb/shots/"), "kb/shots");
    assert_eq!(page_id_from_arg("kb/install"), "kb/install");
}

/// Writes `bytes` at `rel` below `dir`, making its folders.
fn write_under(dir: &Path, rel: &str, bytes: &[u8]) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn scan_finds_files_and_bundles_and_skips_private_names() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("content");
    let write = |p: &str, b: &[u8]| write_under(&c, p, b);
    write("kb/a.md", b"---\ntitle: A\n---\n");
    write("kb/_drafts/b.md", b"x");
    write("kb/.hidden.md", b"x");
    write("kb/guide/c.md", b"x");
    write("kb/shots/index.md", b"x");
    write("kb/shots/img/p.png", b"png");
    write("kb/shots/nested/index.md", b"belongs to the bundle");
    write("top.md", b"not in a space");
    let found = scan(&c, dir.path(), None, None, &Unwatched).unwrap();
    assert!(found.invalid.is_empty(), "{:?}", found.invalid);
    let pages = found.pages;
    let ids: Vec<_> = pages.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, vec!["kb/a", "kb/guide/c", "kb/shots"]);
    let shots = &pages[2];
    assert!(shots.bundle);
    assert_eq!(shots.source, "content/kb/shots");
    assert_eq!(shots.files().unwrap().assets.len(), 2);
    assert_eq!(pages[0].version, Version::of_bytes(b"---\ntitle: A\n---\n"));
}

#[test]
fn bytes_read_again_are_the_judged_version_or_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("content");
    let write = |p: &str, b: &[u8]| write_under(&c, p, b);
    write("kb/a.md", b"---\ntitle: A\n---\n\nApproved body\n");
    write(
        "kb/shots/index.md",
        b"---\ntitle: Shots\n---\n\nSee the picture\n",
    );
    write("kb/shots/p.png", b"approved png");
    // A build holds no bytes: each is read again when wanted, and hashed again.
    let found = scan(
        &c,
        dir.path(),
        Some(&Memo::with_cache(None)),
        None,
        &Unwatched,
    )
    .unwrap();
    let (a, shots) = (&found.pages[0], &found.pages[1]);
    assert!(!a.bytes.is_held() && !shots.bytes.is_held());
    let content = a.content.as_ref().unwrap();
    assert_eq!(content.load().unwrap().body(), "\nApproved body\n");
    assert_eq!(shots.content.as_ref().unwrap().assets, vec!["p.png"]);
    assert_eq!(shots.files().unwrap().assets[0].1, b"approved png");

    // Bytes nobody judged are never handed out as the judged version.
    write("kb/a.md", b"---\ntitle: A\n---\n\nUnapproved body\n");
    write("kb/shots/p.png", b"unapproved png");
    for err in [
        content.load().err().unwrap(),
        a.files().unwrap_err(),
        shots.files().unwrap_err(),
        shots.content.as_ref().unwrap().load().err().unwrap(),
    ] {
        let err = err.to_string();
        assert!(err.contains("changed while this command ran"), "{err}");
        assert!(err.contains("content/kb/a.md") || err.contains("content/kb/shots"));
    }
    // Back to the judged bytes, they are handed out again.
    write("kb/a.md", b"---\ntitle: A\n---\n\nApproved body\n");
    assert_eq!(content.load().unwrap().body(), "\nApproved body\n");

    // `serve` keeps its pages between loads: it holds the bytes it hashed.
    let held = scan(&c, dir.path(), Some(&Memo::default()), None, &Unwatched).unwrap();
    let a = &held.pages[0];
    assert!(a.bytes.is_held());
    write("kb/a.md", b"changed after the load");
    let body = a.content.as_ref().unwrap().load().unwrap();
    assert_eq!(body.body(), "\nApproved body\n");
}

#[test]
fn an_id_two_candidates_share_names_the_other_in_each_finding() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("content");
    for p in ["kb/x.md", "kb/x/index.md", "kb/y.md"] {
        let path = c.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b"---\ntitle: X\n---\n").unwrap();
    }
    let found = scan(&c, dir.path(), None, None, &Unwatched).unwrap();
    let ids: Vec<_> = found.pages.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["kb/y"]);
    let why: Vec<_> = found.invalid.iter().map(|p| p.why.as_str()).collect();
    assert_eq!(
        why,
        [
            "content/kb/x has page id 'kb/x', which content/kb/x.md also has: neither is published",
            "content/kb/x.md has page id 'kb/x', which content/kb/x also has: neither is published",
        ]
    );
}

#[cfg(unix)]
#[test]
fn scan_reports_what_can_not_be_a_page_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("content");
    let write = |p: &str, b: &[u8]| write_under(&c, p, b);
    write("kb/ok.md", b"ok");
    write("kb/x.md", b"file");
    write("kb/x/index.md", b"bundle");
    write("kb/line\nbreak.md", b"x");
    write("kb/shots/index.md", b"x");
    std::os::unix::fs::symlink("../ok.md", c.join("kb/shots/linked.png")).unwrap();
    std::os::unix::fs::symlink("ok.md", c.join("kb/alias.md")).unwrap();
    let found = scan(&c, dir.path(), None, None, &Unwatched).unwrap();
    let ids: Vec<_> = found.pages.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["kb/ok"]);
    let invalid: Vec<(&str, &str)> = found
        .invalid
        .iter()
        .map(|p| (p.id.as_str(), p.source.as_str()))
        .collect();
    assert_eq!(
        invalid,
        [
            ("kb/alias", "content/kb/alias.md"),
            ("kb/line\\nbreak", "content/kb/line\\nbreak.md"),
            ("kb/shots", "content/kb/shots"),
            ("kb/x", "content/kb/x"),
            ("kb/x", "content/kb/x.md"),
        ]
    );
    assert!(found.invalid[2]
        .why
        .contains("linked.png is a symbolic link"));
    assert!(read_bundle(&c.join("kb/shots")).is_err());
}

#[test]
fn a_mistyped_page_id_is_matched_to_the_nearest_page() {
    let ids = ["guides/getting-started", "kb/install", "kb/shots"];
    let near = |given| nearest_id(ids.iter().copied(), given);
    assert_eq!(near("kb/instal"), Some("kb/install"));
    assert_eq!(near("install"), Some("kb/install"));
    assert_eq!(
        near("guides/getting-startd"),
        Some("guides/getting-started")
    );
    assert_eq!(near("zzz/qqq"), None);
    assert_eq!(near(""), None);
}
