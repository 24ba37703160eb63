//! The gate against a malicious pull request, told through the real binary: whatever an
//! attacker writes under `content/`, `approvals/records/` and `approvals/store/` (symlinks,
//! FIFOs, odd file names, huge files), no byte of an unapproved version is published, the page
//! goes offline with a finding, and the build neither panics, hangs nor deletes a folder.
#![cfg(unix)]

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use imprimatur::trust::record::{Kind, Record};
use imprimatur::trust::version::Version;
use serde_json::Value;

use crate::util::{findings_of, sha256_hex, stderr, TestSite};

const SUBMITTED: &str = "2026-11-20T09:00:00Z";
const NOW: &str = "2026-11-20T12:00:00Z";

/// Wanda's submissions are approved and published at once (she is exempt): one `submit`
/// makes a page live, which keeps these stories short.
const KB_POLICY: &str = "\
title: Knowledge Base
contributors: [group:writers]
exempt: [group:writers]
steps:
  - name: technical
    approvers: [group:engineering]
    min_approvals: 1
";

/// Generous for a debug build on two busy cores; a hang never ends.
const NO_HANG_SECONDS: u64 = 60;

fn kb_site() -> TestSite {
    let mut site = TestSite::new();
    site.reviewer("wanda", &["writers"])
        .reviewer("alice", &["engineering"])
        .policy("kb", KB_POLICY);
    site
}

/// Submitted by the exempt wanda through the real `submit`: live, its bytes in the store.
fn publish(site: &TestSite, page: &str) {
    site.sign("wanda", Kind::Submit, page, &[], SUBMITTED);
}

/// `build --now NOW` (which must succeed, and not hang), then `reports/status.json`.
fn build(site: &TestSite) -> Value {
    site.cmd_within(NO_HANG_SECONDS, &["build", "--now", NOW])
        .success();
    serde_json::from_str(&site.read("reports/status.json")).expect("status.json is JSON")
}

/// The `invalid_page` finding about `page`, which must exist.
fn invalid_page<'a>(status: &'a Value, page: &str) -> &'a Value {
    findings_of(status, "invalid_page")
        .into_iter()
        .find(|f| f["page"] == page)
        .unwrap_or_else(|| panic!("no invalid_page finding about {page}: {status:#}"))
}

/// The detail of the `invalid_page` finding about `page`, which must exist.
fn invalid_detail(status: &Value, page: &str) -> String {
    invalid_page(status, page)["detail"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Nothing under `output/<prefix>`, and `kb/other` (published beside it) still there.
fn assert_offline_and_the_rest_built(site: &TestSite, prefix: &str) {
    let files = output_paths(site);
    assert!(!files.iter().any(|f| f.starts_with(prefix)), "{files:?}");
    assert!(
        files.contains(&"kb/other/index.html".to_string()),
        "{files:?}"
    );
}

/// Entries of the site root named like the build's own (`.imprimatur-*`): none may stay.
fn leftovers(site: &TestSite) -> Vec<String> {
    std::fs::read_dir(site.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        // The previous generation, kept to build on, and the records builds counted are no
        // leftovers (tests of them below, and in tests/sealed.rs).
        .filter(|n| {
            n.starts_with(".imprimatur")
                && !n.starts_with(".imprimatur-prev-")
                && !n.starts_with(".imprimatur-records-")
        })
        .collect()
}

fn page_ids(status: &Value) -> Vec<String> {
    status["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect()
}

/// Every file under `output/`, by path relative to it (symlinks and FIFOs are never read).
fn output_paths(site: &TestSite) -> Vec<String> {
    let out = site.path().join("output");
    let mut paths = Vec::new();
    for entry in walk(&out) {
        let rel = entry.strip_prefix(&out).unwrap();
        paths.push(String::from_utf8_lossy(rel.as_os_str().as_bytes()).into_owned());
    }
    paths.sort();
    paths
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            found.extend(walk(&entry.path()));
        } else {
            found.push(entry.path());
        }
    }
    found
}

/// The version of a bundle holding `files` (SPEC §2), computed here from the bytes.
fn bundle_version(files: &[(&str, &[u8])]) -> Version {
    let mut files = files.to_vec();
    files.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut manifest = String::from("imprimatur-bundle-v1\n");
    for (path, bytes) in files {
        manifest.push_str(&format!("{} {path}\n", sha256_hex(bytes)));
    }
    Version::of_bytes(manifest.as_bytes())
}

/// A `submit` record of `version` by wanda, signed here: it publishes `version` at once.
fn submit_by_hand(site: &TestSite, page: &str, version: Version) -> String {
    let record = Record {
        kind: Kind::Submit,
        space: page.split('/').next().unwrap().to_string(),
        content: page.to_string(),
        version,
        step: None,
        reviewer: "wanda".into(),
        key: site.key_id("wanda"),
        signed_at: imprimatur::time::parse_signed_at(SUBMITTED).unwrap(),
        role: None,
        comment: None,
        comment_salt: None,
        comment_digest: None,
        discard: None,
        publish: None,
        override_: None,
        assign: None,
    };
    let name = format!("by-hand-{}", page.replace('/', "-"));
    site.write_record_signed_by(&name, &record, "wanda")
}

/// A bundle `kb/guide` (index.md and two images), published and built.
fn published_bundle() -> TestSite {
    let mut site = kb_site();
    site.page(
        "kb/guide/index.md",
        "Guide",
        "![one](z1.png) ![two](z2.png)\n",
    )
    .file("content/kb/guide/z1.png", b"PNG one")
    .file("content/kb/guide/z2.png", b"PNG two")
    .page("kb/other.md", "Other", "Still here.\n");
    publish(&site, "kb/guide");
    publish(&site, "kb/other");
    let status = build(&site);
    assert!(site.exists("output/kb/guide/z2.png"), "{status:#}");
    site
}

// --- 1. a bundle's version pins exactly what is published ------------------------------------

#[test]
fn a_bundle_file_name_with_a_newline_can_not_forge_a_manifest_line() {
    let site = published_bundle();
    let approved = site.version_of("kb/guide");
    // The attacker's folder: no z2.png, but a file whose *name* carries the z2.png manifest
    // line. Its manifest text was byte for byte the approved one, so it had the same version.
    let forged_name = format!("z1.png\n{} z2.png", sha256_hex(b"PNG two"));
    std::fs::remove_file(site.path().join("content/kb/guide/z2.png")).unwrap();
    std::fs::rename(
        site.path().join("content/kb/guide/z1.png"),
        site.path().join("content/kb/guide").join(&forged_name),
    )
    .unwrap();
    let forged = imprimatur::site::content::read_bundle(&site.path().join("content/kb/guide"));
    assert!(
        forged.as_ref().map(|(v, _)| v != &approved).unwrap_or(true),
        "two different folders must never share a version"
    );

    let status = build(&site);
    let finding = invalid_page(&status, "kb/guide");
    assert_eq!(finding["file"], "content/kb/guide");
    let detail = finding["detail"].as_str().unwrap();
    assert!(detail.contains("control character"), "{detail}");
    assert!(detail.contains("z1.png"), "names the file: {detail}");
    assert!(!page_ids(&status).contains(&"kb/guide".to_string()));
    assert_offline_and_the_rest_built(&site, "kb/guide");
}

#[test]
fn a_bundle_whose_index_md_is_a_symlink_is_an_invalid_page_and_goes_offline() {
    let mut site = published_bundle();
    // The same text, one hop away: the reviewer could read one file, the build another.
    site.page(
        "kb/_private/guide.md",
        "Guide",
        "![one](z1.png) ![two](z2.png)\n",
    );
    std::fs::remove_file(site.path().join("content/kb/guide/index.md")).unwrap();
    site.symlink("../_private/guide.md", "content/kb/guide/index.md");

    let status = build(&site);
    let detail = invalid_detail(&status, "kb/guide");
    assert!(detail.contains("content/kb/guide/index.md"), "{detail}");
    assert!(detail.contains("symbolic link"), "{detail}");
    assert_offline_and_the_rest_built(&site, "kb/guide");
}

#[test]
fn a_symlink_anywhere_inside_a_bundle_takes_the_page_offline_with_a_finding() {
    let mut site = published_bundle();
    site.file("content/kb/_shared/logo.png", b"PNG shared");
    site.symlink(
        "../../../_shared/logo.png",
        "content/kb/guide/img/brand/logo.png",
    );

    let status = build(&site);
    let detail = invalid_detail(&status, "kb/guide");
    assert!(
        detail.contains("content/kb/guide/img/brand/logo.png"),
        "{detail}"
    );
    assert!(detail.contains("symbolic link"), "{detail}");
    assert_offline_and_the_rest_built(&site, "kb/guide");
}

#[test]
fn a_dangling_index_md_symlink_still_makes_a_bundle_so_its_files_never_become_pages() {
    let mut site = kb_site();
    site.page("kb/guide/part.md", "Part", "Inside a bundle, not a page.\n");
    site.symlink("/nonexistent/index.md", "content/kb/guide/index.md");

    let status = build(&site);
    assert!(!page_ids(&status).contains(&"kb/guide/part".to_string()));
    let detail = invalid_detail(&status, "kb/guide");
    assert!(detail.contains("symbolic link"), "{detail}");
}

#[test]
fn a_single_file_page_that_is_a_symlink_is_not_a_page_and_is_reported() {
    let mut site = kb_site();
    site.page("kb/_drafts/secret.md", "Secret", "SECRET-TEXT\n")
        .page("kb/other.md", "Other", "Still here.\n");
    site.symlink("_drafts/secret.md", "content/kb/linked.md");
    publish(&site, "kb/other");

    let status = build(&site);
    assert!(!page_ids(&status).contains(&"kb/linked".to_string()));
    let finding = invalid_page(&status, "kb/linked");
    assert_eq!(finding["file"], "content/kb/linked.md");
    assert!(finding["detail"]
        .as_str()
        .unwrap()
        .contains("symbolic link"));
    // Signing commands don't see it either.
    let refused = site
        .cmd(&["submit", "kb/linked", "--key", &site.key_file("wanda")])
        .code(1);
    assert!(
        stderr(&refused).contains("kb/linked"),
        "{}",
        stderr(&refused)
    );
    assert!(output_paths(&site).contains(&"kb/other/index.html".to_string()));
}

// --- 2. one bad page never stops the build ----------------------------------------------------

#[test]
fn a_page_id_used_by_a_file_and_a_bundle_takes_both_offline_and_the_rest_still_builds() {
    let mut site = kb_site();
    site.page("kb/x.md", "X as a file", "File.\n")
        .page("kb/ok.md", "OK", "Fine.\n");
    publish(&site, "kb/x");
    publish(&site, "kb/ok");
    build(&site);
    assert!(site.exists("output/kb/x/index.html"));
    // The attacker adds a bundle with the same id.
    site.page("kb/x/index.md", "X as a bundle", "Bundle.\n");

    let status = build(&site);
    let mut collisions: Vec<&str> = findings_of(&status, "invalid_page")
        .into_iter()
        .filter(|f| f["page"] == "kb/x")
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    collisions.sort();
    assert_eq!(collisions, ["content/kb/x", "content/kb/x.md"]);
    assert!(!site.exists("output/kb/x/index.html"));
    assert!(site.exists("output/kb/ok/index.html"));
}

#[test]
fn file_names_that_are_not_utf8_or_hold_control_characters_are_invalid_pages() {
    let mut site = kb_site();
    site.page("kb/ok.md", "OK", "Fine.\n");
    publish(&site, "kb/ok");
    let kb = site.path().join("content/kb");
    let page = b"---\ntitle: Odd\n---\n\nOdd.\n";
    std::fs::write(kb.join(std::ffi::OsStr::from_bytes(b"caf\xe9.md")), page).unwrap();
    std::fs::write(kb.join(std::ffi::OsStr::from_bytes(b"caf\xe8.md")), page).unwrap();
    std::fs::write(kb.join("tab\there.md"), page).unwrap();
    std::fs::create_dir_all(kb.join("del\x7fdir")).unwrap();
    std::fs::write(kb.join("del\x7fdir/index.md"), page).unwrap();

    let status = build(&site);
    let mut files: Vec<String> = findings_of(&status, "invalid_page")
        .iter()
        .map(|f| f["file"].as_str().unwrap().to_string())
        .collect();
    files.sort();
    assert_eq!(files.len(), 4, "one finding each: {status:#}");
    assert!(
        files.iter().all(|f| !f.chars().any(char::is_control)),
        "{files:?}"
    );
    assert_eq!(page_ids(&status), ["kb/ok"]);
    assert!(site.exists("output/kb/ok/index.html"));
}

#[test]
fn a_bundle_file_name_with_a_backslash_is_an_invalid_page_not_a_failed_build() {
    let mut site = kb_site();
    site.page("kb/shots/index.md", "Shots", "Images.\n")
        .file("content/kb/shots/img\\a.png", b"PNG")
        .page("kb/ok.md", "OK", "Fine.\n");
    publish(&site, "kb/ok");
    // Submitted by a tool that hashed the folder as it was (`submit` itself refuses it).
    let version = bundle_version(&[
        ("img\\a.png", b"PNG"),
        ("index.md", &site.read_bytes("content/kb/shots/index.md")),
    ]);
    submit_by_hand(&site, "kb/shots", version);

    let status = build(&site);
    assert!(invalid_detail(&status, "kb/shots").contains("img\\a.png"));
    assert!(site.exists("output/kb/ok/index.html"));
    assert!(!site.exists("output/kb/shots"));
}

#[test]
fn a_page_or_bundle_file_over_the_size_limit_is_an_invalid_page() {
    let mut site = kb_site();
    site.page("kb/big.md", "Big", "Then a lot of zeros.\n")
        .page("kb/shots/index.md", "Shots", "Images.\n")
        .file("content/kb/shots/huge.bin", b"")
        .page("kb/ok.md", "OK", "Fine.\n");
    publish(&site, "kb/ok");
    // Sparse: 65 MiB that take no disk and no time to make.
    for rel in ["content/kb/big.md", "content/kb/shots/huge.bin"] {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(site.path().join(rel))
            .unwrap();
        file.set_len(65 << 20).unwrap();
    }

    let status = build(&site);
    for page in ["kb/big", "kb/shots"] {
        let detail = invalid_detail(&status, page);
        assert!(detail.contains("larger than"), "{detail}");
    }
    assert_eq!(page_ids(&status), ["kb/ok"]);
}

// --- 4. content is read without following links, regular files only --------------------------

#[test]
fn a_fifo_named_like_a_page_or_inside_a_bundle_is_reported_and_never_hangs_the_build() {
    let mut site = kb_site();
    site.page("kb/ok.md", "OK", "Fine.\n")
        .page("kb/shots/index.md", "Shots", "Images.\n");
    publish(&site, "kb/ok");
    site.fifo("content/kb/pipe.md")
        .fifo("content/kb/shots/img/pipe.png")
        .fifo("content/kb/piped/index.md");

    let status = build(&site);
    for page in ["kb/pipe", "kb/shots", "kb/piped"] {
        let detail = invalid_detail(&status, page);
        assert!(detail.contains("not a regular file"), "{detail}");
    }
    assert_eq!(page_ids(&status), ["kb/ok"]);
}

// --- 3. the store is read safely -------------------------------------------------------------

/// Writes `bytes` into the store at its hash, as `submit` would; returns the hex.
fn store_blob(site: &TestSite, bytes: &[u8]) -> String {
    let hex = sha256_hex(bytes);
    let path = site.path().join(blob_path(&hex));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
    hex
}

fn blob_path(hex: &str) -> String {
    format!("approvals/store/{}/{}", &hex[..2], &hex[2..])
}

/// The detail of the `store_corrupt` finding about `page`, which must exist.
fn store_corrupt(status: &Value, page: &str) -> String {
    findings_of(status, "store_corrupt")
        .into_iter()
        .find(|f| f["page"] == page)
        .unwrap_or_else(|| panic!("no store_corrupt finding about {page}: {status:#}"))["detail"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_stored_bundle_manifest_that_is_not_canonical_is_store_corrupt_and_never_published() {
    let mut site = kb_site();
    site.page("kb/ok.md", "OK", "Fine.\n");
    publish(&site, "kb/ok");
    let index = b"---\ntitle: Stored\n---\n\nSTORED-TEXT\n";
    let index_hex = store_blob(&site, index);
    let png_hex = store_blob(&site, b"PNG");
    let line = |hex: &str, path: &str| format!("{hex} {path}\n");
    let header = "imprimatur-bundle-v1\n";
    let manifests = [
        // unsorted
        format!(
            "{header}{}{}",
            line(&png_hex, "z.png"),
            line(&index_hex, "index.md")
        ),
        // a path listed twice
        format!(
            "{header}{}{}{}",
            line(&index_hex, "index.md"),
            line(&png_hex, "z.png"),
            line(&png_hex, "z.png")
        ),
        // no index.md
        format!("{header}{}", line(&png_hex, "z.png")),
        // a control character in a path
        format!(
            "{header}{}{}",
            line(&index_hex, "index.md"),
            line(&png_hex, "z\r.png")
        ),
        // a file and a folder of one name
        format!(
            "{header}{}{}{}",
            line(&png_hex, "img"),
            line(&png_hex, "img/a.png"),
            line(&index_hex, "index.md")
        ),
        // upper-case hex
        format!("{header}{}", line(&index_hex.to_uppercase(), "index.md")),
        // no final newline
        format!("{header}{index_hex} index.md"),
    ];
    for (i, manifest) in manifests.iter().enumerate() {
        let page = format!("kb/m{i}");
        // The draft moved on: the approved version can only come from the store.
        site.page(&format!("{page}/index.md"), "Draft", "DRAFT\n");
        let hex = store_blob(&site, manifest.as_bytes());
        submit_by_hand(
            &site,
            &page,
            Version::parse(&format!("sha256:{hex}")).unwrap(),
        );
    }

    let status = build(&site);
    for i in 0..manifests.len() {
        let detail = store_corrupt(&status, &format!("kb/m{i}"));
        assert!(detail.contains("manifest"), "{detail}");
    }
    let files = output_paths(&site);
    assert!(!files.iter().any(|f| f.starts_with("kb/m")), "{files:?}");
    assert!(files.contains(&"kb/ok/index.html".to_string()));
}

/// `kb/guide` published through `submit` (its bytes in the store), then edited, so the live
/// version can only be served from the store. Returns the site and that version's blob.
fn live_from_the_store() -> (TestSite, String) {
    let mut site = kb_site();
    site.page("kb/guide.md", "Guide", "APPROVED-TEXT\n");
    publish(&site, "kb/guide");
    let hex = site.version_of("kb/guide").hex().to_string();
    site.page("kb/guide.md", "Guide", "EDITED-TEXT, not approved\n");
    let status = build(&site);
    assert!(
        site.read("output/kb/guide/index.html")
            .contains("APPROVED-TEXT"),
        "{status:#}"
    );
    (site, hex)
}

#[test]
fn a_blob_reached_through_a_symlink_at_any_component_is_never_read() {
    // The link may be the blob, its fan-out folder or approvals/store itself; each points at
    // an exact copy of the approved bytes, so only the link itself is wrong.
    for link in ["blob", "fan-out folder", "store folder"] {
        let (site, hex) = live_from_the_store();
        let elsewhere = tempfile::tempdir().unwrap();
        let (moved, target) = match link {
            "blob" => (blob_path(&hex), elsewhere.path().join("blob")),
            "fan-out folder" => (
                format!("approvals/store/{}", &hex[..2]),
                elsewhere.path().join("fan"),
            ),
            _ => (
                "approvals/store".to_string(),
                elsewhere.path().join("store"),
            ),
        };
        std::fs::rename(site.path().join(&moved), &target).unwrap();
        site.symlink(&target, &moved);

        let status = build(&site);
        let detail = store_corrupt(&status, "kb/guide");
        assert!(detail.contains("symbolic link"), "{link}: {detail}");
        assert!(!site.exists("output/kb/guide"), "{link}");
    }
}

#[test]
fn a_fifo_or_a_folder_in_place_of_a_blob_is_store_corrupt_and_never_hangs_the_build() {
    for what in ["fifo", "folder"] {
        let (site, hex) = live_from_the_store();
        std::fs::remove_file(site.path().join(blob_path(&hex))).unwrap();
        if what == "fifo" {
            site.fifo(blob_path(&hex));
        } else {
            std::fs::create_dir(site.path().join(blob_path(&hex))).unwrap();
        }

        let status = build(&site);
        let detail = store_corrupt(&status, "kb/guide");
        assert!(detail.contains("not a regular file"), "{what}: {detail}");
        assert!(!site.exists("output/kb/guide"), "{what}");
    }
}

// --- 8. signing commands never write through a link ------------------------------------------

#[test]
fn submit_refuses_to_write_a_record_through_a_symlinked_records_folder() {
    for link in ["approvals/records/kb", "approvals/records/kb/guide"] {
        let mut site = kb_site();
        site.page("kb/guide/install.md", "Install", "Text.\n");
        let elsewhere = tempfile::tempdir().unwrap();
        site.symlink(elsewhere.path(), link);

        let refused = site
            .cmd(&[
                "submit",
                "kb/guide/install",
                "--key",
                &site.key_file("wanda"),
                "--now",
                SUBMITTED,
            ])
            .code(1);
        let err = stderr(&refused);
        assert!(err.contains(link), "names {link}: {err}");
        assert!(err.contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
    }
}

#[test]
fn submit_refuses_to_store_a_version_through_a_symlinked_store_folder() {
    for which in ["store", "fan-out"] {
        let mut site = kb_site();
        site.page("kb/install.md", "Install", "Text.\n");
        let hex = site.version_of("kb/install").hex().to_string();
        let link = match which {
            "store" => "approvals/store".to_string(),
            _ => format!("approvals/store/{}", &hex[..2]),
        };
        let elsewhere = tempfile::tempdir().unwrap();
        site.symlink(elsewhere.path(), &link);

        let refused = site
            .cmd(&[
                "submit",
                "kb/install",
                "--key",
                &site.key_file("wanda"),
                "--now",
                SUBMITTED,
            ])
            .code(1);
        let err = stderr(&refused);
        assert!(err.contains(&link), "{which}: names {link}: {err}");
        assert!(err.contains("symbolic link"), "{which}: {err}");
        assert_eq!(
            std::fs::read_dir(elsewhere.path()).unwrap().count(),
            0,
            "{which}"
        );
        assert!(site.files_under("approvals/records").is_empty(), "{which}");
    }
}

// --- 5. themes and reports --------------------------------------------------------------------

#[test]
fn a_theme_file_or_folder_that_is_a_symlink_or_a_fifo_fails_the_build_naming_it() {
    for (what, path) in [
        ("a linked template", "themes/default/templates/page.html"),
        ("a linked theme folder", "themes/default"),
        ("a linked static folder", "themes/default/static"),
        ("a FIFO static file", "themes/default/static/x.css"),
    ] {
        let mut site = kb_site();
        site.page("kb/ok.md", "OK", "Fine.\n");
        publish(&site, "kb/ok");
        build(&site);
        let before = site.read("output/kb/ok/index.html");
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(elsewhere.path().join("templates")).unwrap();
        std::fs::write(
            elsewhere.path().join("page.html"),
            "LINKED {{ page.title }}",
        )
        .unwrap();
        match what {
            "a FIFO static file" => {
                site.fifo(path);
            }
            "a linked template" => {
                site.symlink(elsewhere.path().join("page.html"), path);
            }
            _ => {
                site.symlink(elsewhere.path(), path);
            }
        }

        let failed = site
            .cmd_within(NO_HANG_SECONDS, &["build", "--now", NOW])
            .code(1);
        let err = stderr(&failed);
        assert!(err.contains(path), "{what}: names {path}: {err}");
        assert_eq!(site.read("output/kb/ok/index.html"), before, "{what}");
    }
}

#[test]
fn report_files_are_never_written_through_a_symlink() {
    let mut site = kb_site();
    site.page("kb/ok.md", "OK", "Fine.\n");
    publish(&site, "kb/ok");
    let elsewhere = tempfile::tempdir().unwrap();
    let victim = elsewhere.path().join("victim.txt");
    std::fs::write(&victim, "KEEP ME").unwrap();
    site.symlink(&victim, "reports/status.json");
    site.symlink(&victim, "reports/summary.md");

    build(&site);
    site.cmd(&["status", "--now", NOW]).success();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "KEEP ME");
    for report in ["reports/status.json", "reports/summary.md"] {
        let meta = std::fs::symlink_metadata(site.path().join(report)).unwrap();
        assert!(meta.is_file(), "{report} is a regular file now");
    }
}

// --- 6. output and reports are safe targets ---------------------------------------------------

/// A site with one published page, then the given extra lines in `imprimatur.yaml`.
fn site_with_config(extra: &str) -> TestSite {
    let mut site = kb_site();
    site.page("kb/ok.md", "OK", "Fine.\n");
    publish(&site, "kb/ok");
    site.file(
        "imprimatur.yaml",
        format!("title: Example Help Center\nbase_url: https://help.example.com/\n{extra}"),
    );
    site
}

#[test]
fn output_set_to_git_is_refused_and_git_is_kept() {
    let mut site = site_with_config("output: .git\n");
    site.file(".git/HEAD", "ref: refs/heads/main\n")
        .file(".git/config", "[core]\n");
    let failed = site.cmd(&["build", "--now", NOW]).code(1);
    let err = stderr(&failed);
    assert!(err.contains("imprimatur.yaml: output"), "{err}");
    assert_eq!(site.read(".git/HEAD"), "ref: refs/heads/main\n");
    assert_eq!(site.read(".git/config"), "[core]\n");
}

#[test]
fn output_or_reports_that_resolve_onto_site_input_or_outside_the_site_are_refused() {
    let outside = tempfile::tempdir().unwrap();
    // (lines of imprimatur.yaml, the field refused, a link made in the site and its target)
    type Case<'a> = (&'a str, &'a str, Option<(&'a str, std::path::PathBuf)>);
    let cases: Vec<Case> = vec![
        ("output: imprimatur.yaml\n", "output", None),
        ("output: www\n", "output", Some(("www", "content".into()))),
        ("output: www\n", "output", Some(("www", ".".into()))),
        (
            "output: www\n",
            "output",
            Some(("www", "approvals/records".into())),
        ),
        (
            "output: www\n",
            "output",
            Some(("www", outside.path().to_path_buf())),
        ),
        ("reports: r\n", "reports", Some(("r", "approvals".into()))),
        (
            "reports: r\n",
            "reports",
            Some(("r", "themes/default".into())),
        ),
        ("reports: r\n", "reports", Some(("r", "output/r".into()))),
        (
            "output: pub\nreports: r\n",
            "reports",
            Some(("r", "pub".into())),
        ),
        ("output: o/site\nreports: o\n", "reports", None),
    ];
    for (config, field, link) in cases {
        let site = site_with_config(config);
        std::fs::create_dir_all(site.path().join("themes/default")).unwrap();
        std::fs::create_dir_all(site.path().join("output/r")).unwrap();
        std::fs::create_dir_all(site.path().join("pub")).unwrap();
        if let Some((name, target)) = &link {
            site.symlink(target, name);
        }
        let before = site.files_under("content").len() + site.files_under("approvals").len();
        let failed = site.cmd(&["build", "--now", NOW]).code(1);
        let err = stderr(&failed);
        assert!(
            err.contains(&format!("imprimatur.yaml: {field}")),
            "{config} {link:?}: {err}"
        );
        assert_eq!(
            site.files_under("content").len() + site.files_under("approvals").len(),
            before,
            "{config} {link:?}"
        );
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
        assert!(site.exists("imprimatur.yaml"));
    }
}

#[test]
fn an_output_folder_linked_inside_the_site_is_built_where_it_points() {
    let site = site_with_config("");
    std::fs::create_dir_all(site.path().join("public")).unwrap();
    site.symlink("public", "output");
    build(&site);
    build(&site);
    let meta = std::fs::symlink_metadata(site.path().join("output")).unwrap();
    assert!(meta.file_type().is_symlink(), "the link is kept");
    assert!(site.exists("public/kb/ok/index.html"));
}

#[test]
fn a_non_empty_folder_that_no_build_wrote_is_never_replaced() {
    for (config, folder) in [("", "output"), ("output: keys\n", "keys")] {
        let mut site = site_with_config(config);
        site.file(&format!("{folder}/mine.txt"), "MINE");
        let failed = site.cmd(&["build", "--now", NOW]).code(1);
        let err = stderr(&failed);
        assert!(err.contains(folder), "names {folder}: {err}");
        assert!(err.contains("no imprimatur build wrote"), "{err}");
        assert_eq!(site.read(&format!("{folder}/mine.txt")), "MINE");
    }
    // An empty folder is fine, and so is a folder an earlier build wrote.
    let site = site_with_config("");
    std::fs::create_dir_all(site.path().join("output")).unwrap();
    build(&site);
    build(&site);
    assert!(site.exists("output/kb/ok/index.html"));
}

#[test]
fn the_build_manifest_travels_inside_output_so_a_kill_after_the_swap_is_no_drift() {
    let mut site = site_with_config("");
    build(&site);
    let reports_before = site.files_under("reports");
    site.page("kb/new.md", "New", "New page.\n");
    publish(&site, "kb/new");
    build(&site);
    assert!(site.exists("output/kb/new/index.html"));
    // A kill right after the swap: output/ is the new site, reports/ still the old ones.
    std::fs::remove_dir_all(site.path().join("reports")).unwrap();
    for (rel, bytes) in &reports_before {
        site.file(rel, bytes);
    }
    let status = site.status_json(NOW);
    assert!(
        findings_of(&status, "output_drift").is_empty(),
        "{status:#}"
    );
    let status = build(&site);
    assert!(
        findings_of(&status, "output_drift").is_empty(),
        "{status:#}"
    );

    // The manifest inside output/ names what was written and which pages were live.
    let manifest: Value =
        serde_json::from_str(&site.read("output/.imprimatur-build.json")).unwrap();
    assert_eq!(manifest["pages"]["kb/new"], "kb/new/");
    assert_eq!(manifest["pages"]["kb/ok"], "kb/ok/");
    assert_eq!(
        manifest["files"]["kb/new/index.html"],
        sha256_hex(&site.read_bytes("output/kb/new/index.html"))
    );
    assert!(manifest["files"].get(".imprimatur-build.json").is_none());
}

// --- 7. leftovers of a killed build -----------------------------------------------------------

#[test]
fn staging_folders_left_by_a_killed_build_are_removed_by_the_next_build() {
    let mut site = site_with_config("");
    build(&site);
    site.file(".imprimatur-build-Ab12Cd/kb/ok/index.html", "half a site")
        .file(".imprimatur-old-output-4242/index.html", "an old site")
        .file("keep/.imprimatur-build-x/index.html", "not beside output");
    build(&site);
    assert!(!site.exists(".imprimatur-build-Ab12Cd"));
    assert!(!site.exists(".imprimatur-old-output-4242"));
    assert!(site.exists("keep/.imprimatur-build-x/index.html"));
    assert_eq!(leftovers(&site), Vec::<String>::new());
}

/// The files under `output/` with their hashes, and the manifest the build put inside it:
/// a whole site is exactly what its manifest lists.
fn output_and_its_manifest(site: &TestSite) -> (Vec<(String, String)>, Value) {
    let out = site.path().join("output");
    let mut files: Vec<(String, String)> = walk(&out)
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&out).unwrap().to_string_lossy().into_owned();
            (rel, sha256_hex(&std::fs::read(&p).unwrap()))
        })
        .filter(|(rel, _)| rel != ".imprimatur-build.json")
        .collect();
    files.sort();
    let manifest: Value =
        serde_json::from_str(&site.read("output/.imprimatur-build.json")).unwrap();
    (files, manifest)
}

#[test]
fn a_build_killed_at_any_moment_leaves_a_whole_site_and_the_next_build_cleans_up() {
    let mut site = site_with_config("");
    // Enough pages for a build to take a while (checking signatures is slow in debug
    // builds); submitted by hand-signed records, which is fast.
    for i in 0..60 {
        let id = format!("kb/many/p{i:03}");
        site.page(&format!("{id}.md"), &format!("Page {i}"), "Some text.\n");
        let record = site.record_for("wanda", Kind::Submit, &id, SUBMITTED);
        site.write_record_signed_by(&format!("many-{i:03}"), &record, "wanda");
    }
    let started = std::time::Instant::now();
    build(&site);
    let took = started.elapsed();
    let (old_files, _) = output_and_its_manifest(&site);
    site.page("kb/new.md", "New", "New page.\n");
    publish(&site, "kb/new");

    // Kills spread over a build's duration on this machine, the last ones around the swap.
    let mut saw_old = false;
    for percent in [0, 20, 50, 80, 92, 98, 104] {
        let mut child = site.spawn(&["build", "--now", NOW]);
        std::thread::sleep(took * percent / 100);
        let _ = child.kill();
        let _ = child.wait();
        let delay_ms = (took * percent / 100).as_millis();
        let (files, manifest) = output_and_its_manifest(&site);
        let listed: Vec<(String, String)> = manifest["files"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        assert_eq!(files, listed, "killed after {delay_ms} ms: a whole site");
        let new_live = manifest["pages"].get("kb/new").is_some();
        assert_eq!(site.exists("output/kb/new/index.html"), new_live);
        if !new_live {
            assert_eq!(files, old_files, "killed after {delay_ms} ms: the old site");
            saw_old = true;
        }
    }
    assert!(saw_old, "at least the kill at 0 ms came before the swap");

    let status = build(&site);
    assert!(
        findings_of(&status, "output_drift").is_empty(),
        "{status:#}"
    );
    assert!(site.exists("output/kb/new/index.html"));
    assert_eq!(leftovers(&site), Vec::<String>::new());
}

#[test]
fn a_second_build_waits_until_the_first_releases_the_lock_beside_output() {
    let site = site_with_config("");
    build(&site);
    let lock = imprimatur::BuildLock::acquire(&site.path().join("output")).unwrap();
    let mut second = site.spawn(&["build", "--now", NOW]);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(
        second.try_wait().unwrap().is_none(),
        "the second build waits for the lock"
    );
    drop(lock);
    assert!(second.wait().unwrap().success());
    assert!(site.exists("output/kb/ok/index.html"));
    assert_eq!(leftovers(&site), Vec::<String>::new());
}

// --- names the filesystem can't hold ----------------------------------------------------------

#[test]
fn a_name_too_long_for_the_filesystem_takes_its_page_offline_and_the_rest_builds() {
    let mut site = kb_site();
    let long = "a".repeat(300);
    site.page("kb/other.md", "Other", "Still here.\n").file(
        "content/kb/slugged.md",
        format!("---\ntitle: Slugged\nslug: {long}\n---\n\nText.\n"),
    );
    publish(&site, "kb/other");
    publish(&site, "kb/slugged");
    // A stored bundle whose manifest names a 300-byte file: canonical in every other way.
    let index_hex = store_blob(&site, b"---\ntitle: Stored\n---\n\nSTORED\n");
    let png_hex = store_blob(&site, b"PNG");
    let manifest = format!("imprimatur-bundle-v1\n{index_hex} index.md\n{png_hex} {long}.png\n");
    let hex = store_blob(&site, manifest.as_bytes());
    site.page("kb/stored/index.md", "Draft", "DRAFT\n");
    submit_by_hand(
        &site,
        "kb/stored",
        Version::parse(&format!("sha256:{hex}")).unwrap(),
    );

    let status = build(&site);
    let slugged = invalid_detail(&status, "kb/slugged");
    assert!(slugged.contains("255"), "{slugged}");
    let stored = store_corrupt(&status, "kb/stored");
    assert!(stored.contains("255"), "{stored}");
    let files = output_paths(&site);
    assert!(
        !files
            .iter()
            .any(|f| f.contains("aaaaaaaa") || f.starts_with("kb/stored")),
        "{files:?}"
    );
    assert!(
        files.contains(&"kb/other/index.html".to_string()),
        "{files:?}"
    );
}

// --- a page that costs more than it weighs ----------------------------------------------------

/// Publishes `kb/heavy` (with `body`) beside `kb/other`, builds, and returns the
/// `invalid_page` finding's detail about `kb/heavy`: the rest must be built.
fn heavy_page_detail(body: &str) -> String {
    let mut site = kb_site();
    site.page("kb/other.md", "Other", "Still here.\n")
        .page("kb/heavy.md", "Heavy", body);
    publish(&site, "kb/other");
    publish(&site, "kb/heavy");
    let status = build(&site);
    assert_offline_and_the_rest_built(&site, "kb/heavy");
    invalid_detail(&status, "kb/heavy")
}

#[test]
fn a_page_of_wide_tables_completed_line_by_line_is_over_its_budget_and_goes_offline() {
    // Each short line under a 362-column header becomes a row of 362 cells: 46 KB of such
    // tables once took a build to 2.1 GB.
    let table = format!(
        "{}|\n{}|\n{}\n",
        "|h".repeat(362),
        "|-".repeat(362),
        "a\n".repeat(200)
    );
    let detail = heavy_page_detail(&table.repeat(16));
    assert!(
        detail.contains("a table of 362 columns × 139 rows is over the limit of 50000 table cells"),
        "{detail}"
    );
}

#[test]
fn raw_html_nested_past_the_limit_is_over_its_budget_before_the_sanitizer_sees_it() {
    // 50,000 of these once took 16 s to sanitize, growing with the square of the depth.
    let detail = heavy_page_detail(&"<ul><li>".repeat(5_000));
    assert!(
        detail.contains("nest 513 deep, over the limit of 512"),
        "{detail}"
    );
}

#[test]
fn a_page_of_more_links_than_the_limit_goes_offline_and_its_links_are_resolved_in_linear_time() {
    let links: String = (0..12_000).map(|i| format!("[l](gone-{i}.md)\n")).collect();
    let detail = heavy_page_detail(&links);
    assert!(
        detail.contains("over 10000 links and images, the limit for one page"),
        "{detail}"
    );
}
