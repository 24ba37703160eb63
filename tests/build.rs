//! Publishing only approved versions, told through `imprimatur build`: drafts, pending,
//! rejected, scheduled and other-audience versions leave no trace in `output/`; an edited page
//! keeps its approved text live from the store; a failed build keeps the old site; the same
//! inputs give the same bytes; and the public site has the shape SPEC §7 promises.

use imprimatur::trust::record::Kind;
use serde_json::Value;

use crate::util::{findings_of, page_entry, stderr, strings, TestSite};

const SUBMITTED: &str = "2026-11-20T09:00:00Z";
const APPROVED: &str = "2026-11-20T10:00:00Z";
const NOW: &str = "2026-11-20T12:00:00Z";
const TOMORROW: &str = "2026-11-21T12:00:00Z";

/// One technical approval by an engineer publishes; carol manages the space.
const KB_POLICY: &str = "\
title: Knowledge Base
contributors: [group:writers]
managers: [carol]
steps:
  - name: technical
    approvers: [group:engineering]
    min_approvals: 1
";

/// A site with the knowledge base's policy and its cast: wanda writes, alice reviews.
fn kb_site() -> TestSite {
    let mut site = TestSite::new();
    site.reviewer("wanda", &["writers"])
        .reviewer("alice", &["engineering"])
        .reviewer("carol", &["leads"])
        .policy("kb", KB_POLICY);
    site
}

/// A page file's bytes with the given front-matter lines.
fn page_text(front: &str, body: &str) -> String {
    format!("---\n{front}\n---\n\n{body}")
}

fn submit(site: &TestSite, page: &str) {
    site.sign("wanda", Kind::Submit, page, &[], SUBMITTED);
}

fn approve(site: &TestSite, page: &str) {
    site.sign(
        "alice",
        Kind::Approve,
        page,
        &[
            "--step",
            "technical",
            "--role",
            "Technical reviewer",
            "--comment",
            "Looks right",
        ],
        APPROVED,
    );
}

/// Submitted by wanda and approved by alice: live from `APPROVED` on.
fn publish(site: &TestSite, page: &str) {
    submit(site, page);
    approve(site, page);
}

fn build(site: &TestSite, now: &str) {
    site.cmd(&["build", "--now", now]).success();
}

fn status_file(site: &TestSite) -> Value {
    serde_json::from_str(&site.read("reports/status.json")).expect("status.json is JSON")
}

/// Every file under `output/` whose path or bytes contain `needle` (case-insensitive).
fn output_mentions(site: &TestSite, needle: &str) -> Vec<String> {
    let needle = needle.to_lowercase();
    site.all_output_files()
        .into_iter()
        .filter(|(path, bytes)| {
            path.to_lowercase().contains(&needle)
                || String::from_utf8_lossy(bytes)
                    .to_lowercase()
                    .contains(&needle)
        })
        .map(|(path, _)| path)
        .collect()
}

fn store_blob(version: &str) -> String {
    let hex = version.strip_prefix("sha256:").expect("a version");
    format!("approvals/store/{}/{}", &hex[..2], &hex[2..])
}

/// Output and reports, every file with its bytes: what two builds must agree on.
fn snapshot(site: &TestSite) -> Vec<(String, Vec<u8>)> {
    let mut files = site.files_under("output");
    files.extend(site.files_under("reports"));
    files
}

fn assert_same_files(a: &[(String, Vec<u8>)], b: &[(String, Vec<u8>)], what: &str) {
    let names = |f: &[(String, Vec<u8>)]| f.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
    assert_eq!(names(a), names(b), "{what}: the same files");
    for ((path, x), (_, y)) in a.iter().zip(b) {
        assert!(x == y, "{what}: {path} differs");
    }
}

/// Site-root entries a build may have left behind (`.imprimatur-build-*`, `.imprimatur-old-*`).
fn staging_leftovers(site: &TestSite) -> Vec<String> {
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

// --- 1. nothing unpublished reaches output/ --------------------------------------------------

#[test]
fn no_byte_of_a_draft_pending_rejected_scheduled_or_other_audience_version_reaches_output() {
    let mut site = kb_site();
    const SECRET: &str = "ZEBRA-SECRET-7731";
    // Six pages that must not be published (one a bundle with an image), each with the
    // secret, a unique title and a path holding "lurk".
    site.page(
        "kb/lurk-draft.md",
        "Quokka Draft Title",
        &format!("{SECRET} in a draft.\n"),
    )
    .page(
        "kb/lurk-rejected.md",
        "Quokka Rejected Title",
        &format!("{SECRET} in a rejected version.\n"),
    )
    .page(
        "kb/lurk-pending.md",
        "Quokka Pending Title",
        &format!("{SECRET} in a pending version.\n"),
    )
    .file(
        "content/kb/lurk-scheduled.md",
        page_text(
            "title: Quokka Scheduled Title\npublish_at: 2026-11-21T09:00:00Z",
            &format!("{SECRET} in a scheduled version.\n"),
        ),
    )
    .file(
        "content/kb/lurk-internal.md",
        page_text(
            "title: Quokka Internal Title\naudience: [internal]",
            &format!("{SECRET} for internal readers.\n"),
        ),
    )
    .page(
        "kb/lurk-bundle/index.md",
        "Quokka Bundle Title",
        &format!("{SECRET} in a pending bundle.\n"),
    )
    .file(
        "content/kb/lurk-bundle/img/secret.png",
        format!("PNG {SECRET}"),
    )
    // The published page links to each of them, every way Markdown can.
    .page(
        "kb/guide/visible.md",
        "Visible Guide",
        "VISIBLE-TEXT-4242\n\n\
         - See [the first](../lurk-draft.md) here.\n\
         - See [the second](../lurk-rejected.md) here.\n\
         - See [the third](../lurk-pending.md#part) here.\n\
         - See [the fourth](../lurk-scheduled.md) here.\n\
         - See [the fifth](../lurk-internal.md) here.\n\
         - See [the sixth][ref] here.\n\
         - See ![the seventh](../lurk-bundle/img/secret.png) here.\n\
         - See [the eighth](../lurk-bundle/index.md) here.\n\n\
         [ref]: ../lurk-draft.md\n",
    );
    for page in [
        "kb/lurk-rejected",
        "kb/lurk-pending",
        "kb/lurk-scheduled",
        "kb/lurk-bundle",
    ] {
        submit(&site, page);
    }
    site.sign(
        "alice",
        Kind::Reject,
        "kb/lurk-rejected",
        &["--step", "technical", "--comment", "No"],
        APPROVED,
    );
    approve(&site, "kb/lurk-scheduled");
    publish(&site, "kb/lurk-internal");
    publish(&site, "kb/guide/visible");
    let hidden_versions: Vec<String> = [
        "kb/lurk-draft",
        "kb/lurk-rejected",
        "kb/lurk-pending",
        "kb/lurk-scheduled",
        "kb/lurk-internal",
        "kb/lurk-bundle",
    ]
    .iter()
    .map(|id| site.version_of(id).hex().to_string())
    .collect();

    build(&site, NOW);

    // The control: the published page is there, with its text and in every index.
    assert!(site
        .read("output/kb/guide/visible/index.html")
        .contains("VISIBLE-TEXT-4242"));
    let visible = output_mentions(&site, "Visible Guide");
    for file in [
        "output/kb/guide/visible/index.html",
        "output/kb/index.html",
        "output/search-index.json",
        "output/search-index/p-0.js",
    ] {
        assert!(visible.iter().any(|f| f == file), "{file}: {visible:?}");
    }
    // The word is in the search piece of its first three letters, and nowhere else there.
    let pieces = output_mentions(&site, "\"visible\":");
    assert_eq!(pieces, ["output/search-index/t-vis.js"]);
    {}
    // Nothing of the others: text, titles, ids, paths, slugs, versions.
    for needle in [SECRET, "Quokka", "lurk"] {
        assert_eq!(
            output_mentions(&site, needle),
            Vec::<String>::new(),
            "{needle}"
        );
    }
    for hex in &hidden_versions {
        assert_eq!(output_mentions(&site, &hex[..12]), Vec::<String>::new());
    }
    let search: Value = serde_json::from_str(&site.read("output/search-index.json")).unwrap();
    let urls: Vec<&str> = search["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["url"].as_str().unwrap())
        .collect();
    assert_eq!(urls, ["kb/guide/visible/"]);

    // Each link is plain text, and reported.
    let html = site.read("output/kb/guide/visible/index.html");
    for text in [
        "the first",
        "the second",
        "the third",
        "the fourth",
        "the fifth",
        "the sixth",
        "the seventh",
        "the eighth",
    ] {
        assert!(
            html.contains(&format!("See {text} here.")),
            "{text}: {html}"
        );
        assert!(!html.contains(&format!(">{text}</a>")), "{text} is no link");
    }
    let status = status_file(&site);
    let broken: Vec<&str> = findings_of(&status, "broken_link")
        .iter()
        .inspect(|f| assert_eq!(f["page"], "kb/guide/visible"))
        .map(|f| f["detail"].as_str().unwrap())
        .collect();
    for dest in [
        "'../lurk-draft.md'",
        "'../lurk-rejected.md'",
        "'../lurk-pending.md#part'",
        "'../lurk-scheduled.md'",
        "'../lurk-internal.md'",
        "'../lurk-bundle/img/secret.png'",
        "'../lurk-bundle/index.md'",
    ] {
        assert!(
            broken.iter().any(|d| d.contains(dest)),
            "broken_link for {dest}: {broken:#?}"
        );
    }

    // The reports (outside output/) do know each page, and why it is not live.
    for (id, state) in [
        ("kb/lurk-draft", "draft"),
        ("kb/lurk-rejected", "rejected"),
        ("kb/lurk-pending", "pending"),
        ("kb/lurk-scheduled", "scheduled"),
        ("kb/lurk-bundle", "pending"),
    ] {
        let p = page_entry(&status, id);
        assert_eq!(p["status"], state, "{id}");
        assert_eq!(p["url"], Value::Null, "{id}");
        assert_eq!(p["published_version"], Value::Null, "{id}");
    }
    let internal = page_entry(&status, "kb/lurk-internal");
    assert_eq!(internal["current_state"], "published");
    assert_eq!(internal["url"], Value::Null);
    assert_eq!(internal["published_version"], Value::Null);
}

#[test]
fn raw_html_links_and_images_to_an_unpublished_page_do_not_name_it_either() {
    let mut site = kb_site();
    site.page("kb/lurk-plans.md", "Quokka Plans", "ZEBRA-SECRET-7731\n")
        .page(
            "kb/visible.md",
            "Visible",
            "Raw <a href=\"lurk-plans.md\">plans</a> and <a href=\"../kb/lurk-plans.md\">more</a>.\n\n\
             ![diagram](lurk-plans.md)\n",
        );
    publish(&site, "kb/visible");
    build(&site, NOW);
    assert!(site.exists("output/kb/visible/index.html"));
    assert_eq!(output_mentions(&site, "lurk"), Vec::<String>::new());
}

// --- 2. approved, then edited; the store serves the approved bytes ------------------------

/// `kb/install` approved with APPROVED-TEXT-1, then edited (title and slug too) and not yet
/// approved.
/// Returns (approved version, edited version).
fn approved_then_edited() -> (TestSite, String, String) {
    let mut site = kb_site();
    site.page("kb/install.md", "Install the agent", "APPROVED-TEXT-1\n");
    publish(&site, "kb/install");
    let approved = site.version_of("kb/install").to_string();
    site.file(
        "content/kb/install.md",
        page_text(
            "title: Quokka Renamed\nslug: quokka-moved",
            "EDITED-TEXT-2\n",
        ),
    );
    let edited = site.version_of("kb/install").to_string();
    (site, approved, edited)
}

#[test]
fn an_edited_page_keeps_its_approved_version_live_from_the_store_and_is_reported_outdated() {
    let (site, approved, edited) = approved_then_edited();
    assert_ne!(approved, edited);
    // content/ no longer holds the approved bytes: only the store does.
    assert!(!site
        .read("content/kb/install.md")
        .contains("APPROVED-TEXT-1"));
    assert!(site
        .read(&store_blob(&approved))
        .contains("APPROVED-TEXT-1"));

    build(&site, NOW);
    let html = site.read("output/kb/install/index.html");
    assert!(html.contains("APPROVED-TEXT-1"), "{html}");
    assert!(html.contains("Install the agent"));
    // A public build shows customers the published page and nothing of the edit (the
    // "Outdated" badge is for internal audiences and `notices: internal`: tests/theme.rs);
    // the reports below say it is outdated.
    assert!(html.contains("badge--published"), "{html}");
    assert!(!html.contains("Outdated"), "{html}");
    assert!(
        html.contains(&approved[7..19]),
        "the approved short version"
    );
    for needle in ["EDITED-TEXT-2", "Quokka", &edited[7..19]] {
        assert_eq!(
            output_mentions(&site, needle),
            Vec::<String>::new(),
            "{needle}"
        );
    }

    let status = status_file(&site);
    let p = page_entry(&status, "kb/install");
    assert_eq!(p["status"], "outdated");
    assert_eq!(p["current_state"], "draft");
    assert_eq!(p["published_version"], approved.as_str());
    assert_eq!(p["current_version"], edited.as_str());
    assert_eq!(p["url"], "kb/install/", "the approved slug");
    assert!(!site.exists("output/kb/quokka-moved"));
    assert_eq!(status["findings"], serde_json::json!([]));
}

#[test]
fn a_corrupt_store_blob_unpublishes_the_page_and_is_reported() {
    let (site, approved, _) = approved_then_edited();
    build(&site, NOW);
    assert!(site.exists("output/kb/install/index.html"));

    site_write(
        &site,
        &store_blob(&approved),
        "---\ntitle: Install the agent\n---\n\nTAMPERED-TEXT-3\n",
    );
    build(&site, NOW);
    assert!(!site.exists("output/kb/install/index.html"));
    for needle in ["TAMPERED-TEXT-3", "APPROVED-TEXT-1", "EDITED-TEXT-2"] {
        assert_eq!(
            output_mentions(&site, needle),
            Vec::<String>::new(),
            "{needle}"
        );
    }
    let status = status_file(&site);
    let corrupt = findings_of(&status, "store_corrupt");
    assert_eq!(corrupt.len(), 1, "{status:#}");
    assert_eq!(corrupt[0]["page"], "kb/install");
    assert!(
        corrupt[0]["detail"]
            .as_str()
            .unwrap()
            .contains(&store_blob(&approved)),
        "{}",
        corrupt[0]
    );
    let p = page_entry(&status, "kb/install");
    assert_eq!(p["published_version"], Value::Null);
    assert_eq!(p["url"], Value::Null);
    // A defect: --strict fails on it.
    site.cmd(&["build", "--now", NOW, "--strict"]).code(3);
}

#[test]
fn a_missing_store_blob_unpublishes_the_page_and_is_reported() {
    let (site, approved, _) = approved_then_edited();
    std::fs::remove_file(site.path().join(store_blob(&approved))).unwrap();
    build(&site, NOW);
    assert!(!site.exists("output/kb/install/index.html"));
    assert_eq!(
        output_mentions(&site, "APPROVED-TEXT-1"),
        Vec::<String>::new()
    );
    let status = status_file(&site);
    let missing = findings_of(&status, "store_missing");
    assert_eq!(missing.len(), 1, "{status:#}");
    assert_eq!(missing[0]["page"], "kb/install");
    assert!(findings_of(&status, "store_corrupt").is_empty());
    assert_eq!(page_entry(&status, "kb/install")["url"], Value::Null);
}

fn site_write(site: &TestSite, rel: &str, text: &str) {
    std::fs::write(site.path().join(rel), text).unwrap();
}

// --- 3. reproducible -------------------------------------------------------------------------

/// A site with a bit of everything: sections, a bundle, an outdated page, a pending page, a
/// broken link, tags and a description.
fn varied_site() -> TestSite {
    let mut site = kb_site();
    site.file(
        "content/kb/getting-started/install.md",
        page_text(
            "title: Install the agent\ndescription: Set it up\ntags: [agent, linux]\nweight: 2",
            "## Requirements\n\nSee [the FAQ](../faq.md) and [a draft](../draft.md).\n",
        ),
    )
    .page(
        "kb/getting-started/configure.md",
        "Configure",
        "Edit `agent.yaml`.\n",
    )
    .page("kb/faq.md", "FAQ", "Questions.\n")
    .page("kb/draft.md", "Draft", "Not yet.\n")
    .page("kb/pending.md", "Pending", "In review.\n")
    .page("kb/shots/index.md", "Screenshots", "![Shot](img/a.png)\n")
    .file("content/kb/shots/img/a.png", b"\x89PNG fake image\x00\x01");
    for page in [
        "kb/getting-started/install",
        "kb/getting-started/configure",
        "kb/faq",
        "kb/shots",
    ] {
        publish(&site, page);
    }
    submit(&site, "kb/pending");
    site.page("kb/faq.md", "FAQ", "Questions, edited.\n");
    site
}

#[test]
fn two_builds_of_the_same_inputs_and_now_are_byte_identical() {
    let site = varied_site();
    build(&site, NOW);
    let first = snapshot(&site);
    for report in [
        "reports/status.json",
        "reports/desync.json",
        "reports/outdated.json",
        "reports/notifications.json",
        "reports/summary.md",
        "reports/index.html",
    ] {
        assert!(first.iter().any(|(p, _)| p == report), "{report} written");
    }
    assert!(first.len() > 15, "a real site: {}", first.len());

    build(&site, NOW);
    assert_same_files(&first, &snapshot(&site), "second build");

    // A copy of the site in another folder, with SOURCE_DATE_EPOCH for --now: the same bytes.
    let copy = TestSite::new();
    for dir in ["content", "approvals"] {
        for (rel, bytes) in site.files_under(dir) {
            let path = copy.path().join(&rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        }
    }
    let epoch = imprimatur::time::parse_rfc3339(NOW).unwrap().timestamp();
    assert_cmd::Command::new(env!("CARGO_BIN_EXE_imprimatur"))
        .current_dir(copy.path())
        .env("NO_COLOR", "1")
        .env("SOURCE_DATE_EPOCH", epoch.to_string())
        .args(["build", "--site"])
        .arg(copy.path())
        .assert()
        .success();
    assert_same_files(
        &first,
        &snapshot(&copy),
        "SOURCE_DATE_EPOCH build elsewhere",
    );

    // A later time is a different build (the reports say when).
    build(&site, TOMORROW);
    assert_ne!(
        site.read_bytes("reports/status.json"),
        first_bytes(&first, "reports/status.json")
    );
}

fn first_bytes(files: &[(String, Vec<u8>)], rel: &str) -> Vec<u8> {
    files.iter().find(|(p, _)| p == rel).unwrap().1.clone()
}

// --- 4. a failed build keeps the previous site ------------------------------------------------

#[test]
fn a_build_failing_half_way_leaves_the_previous_output_and_reports_untouched() {
    let mut site = kb_site();
    site.file(
        "content/kb/owned.md",
        page_text("title: Owned\nowner:\n  name: Platform", "Owned text.\n"),
    )
    .page("kb/no-owner.md", "No owner", "Orphan text.\n")
    .file(
        "content/kb/other.md",
        page_text("title: Other\nowner:\n  name: Support", "Other text.\n"),
    );
    for page in ["kb/owned", "kb/no-owner", "kb/other"] {
        publish(&site, page);
    }
    build(&site, NOW);
    let before = snapshot(&site);
    assert!(site.exists("output/kb/no-owner/index.html"));

    // A theme override that fails while rendering one page only (the others have an owner).
    site.file(
        "themes/default/templates/page.html",
        "OWNER {{ page.extra.owner.name }}\n",
    );
    // Something new that the failed build would have published.
    site.file(
        "content/kb/new.md",
        page_text("title: Brand new\nowner:\n  name: Docs", "NEW-TEXT\n"),
    );
    publish(&site, "kb/new");
    let failed = site.cmd(&["build", "--now", TOMORROW]).code(1);
    let err = stderr(&failed);
    assert!(err.contains("page.html"), "names the template: {err}");
    assert!(err.contains("kb/no-owner"), "names the page: {err}");
    assert!(!err.contains("kb/owned"), "{err}");

    assert_same_files(&before, &snapshot(&site), "after a failed build");
    assert_eq!(staging_leftovers(&site), Vec::<String>::new());

    // Fixed, the next build goes through and uses the override.
    site.file(
        "themes/default/templates/page.html",
        "OWNER {% if page.extra.owner %}{{ page.extra.owner.name }}{% else %}nobody{% endif %}\n",
    );
    build(&site, TOMORROW);
    assert_eq!(site.read("output/kb/owned/index.html"), "OWNER Platform\n");
    assert_eq!(site.read("output/kb/no-owner/index.html"), "OWNER nobody\n");
    assert_eq!(site.read("output/kb/new/index.html"), "OWNER Docs\n");
    assert_eq!(staging_leftovers(&site), Vec::<String>::new());
}

#[test]
fn a_broken_theme_override_fails_before_anything_is_replaced() {
    let mut site = kb_site();
    site.page("kb/install.md", "Install", "Text.\n");
    publish(&site, "kb/install");
    build(&site, NOW);
    let before = snapshot(&site);
    site.file(
        "themes/default/templates/page.html",
        "{% if page.title %}unclosed",
    );
    let failed = site.cmd(&["build", "--now", NOW]).code(1);
    assert!(stderr(&failed).contains("page.html"), "{}", stderr(&failed));
    assert_same_files(&before, &snapshot(&site), "after a failed build");
    assert_eq!(staging_leftovers(&site), Vec::<String>::new());
}

// --- 4b. incremental output: only what changed is written, the swap stays whole -------------

/// Every entry under `output/` with its inode and modification time (to the nanosecond).
fn inodes_of_output(site: &TestSite) -> Vec<(String, u64, i64, i64)> {
    use std::os::unix::fs::MetadataExt;
    let out = site.path().join("output");
    let mut all: Vec<_> = walkdir::WalkDir::new(&out)
        .into_iter()
        .map(|e| {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            let rel = e.path().strip_prefix(&out).unwrap().display().to_string();
            (rel, m.ino(), m.mtime(), m.mtime_nsec())
        })
        .collect();
    all.sort();
    all
}

#[test]
fn a_rebuild_with_nothing_changed_rewrites_no_file_of_output() {
    let mut site = kb_site();
    site.page("kb/install.md", "Install", "Install words.\n")
        .page("kb/guide/setup.md", "Setup", "Setup words.\n");
    publish(&site, "kb/install");
    publish(&site, "kb/guide/setup");
    build(&site, NOW);
    let before = inodes_of_output(&site);
    assert!(before.len() > 8, "{before:?}");
    for _ in 0..2 {
        let run = site.cmd(&["build", "--now", NOW]).success();
        assert!(
            crate::util::stdout(&run).contains("unchanged"),
            "{}",
            crate::util::stdout(&run)
        );
        assert_eq!(
            inodes_of_output(&site),
            before,
            "no file of output/ was touched"
        );
    }
    // One page edited but not approved: its page now says so; its new text is nowhere.
    site.page("kb/install.md", "Install", "Unapproved words.\n");
    build(&site, NOW);
    assert!(output_mentions(&site, "Unapproved").is_empty());
    // A new approved page is written; the pages that did not change keep their bytes.
    let old_setup = site.read("output/kb/guide/setup/index.html");
    site.page("kb/new.md", "New page", "New words.\n");
    publish(&site, "kb/new");
    let run = site.cmd(&["build", "--now", NOW]).success();
    assert!(crate::util::stdout(&run).contains("rewritten"));
    assert!(site.read("output/kb/new/index.html").contains("New words."));
    assert_eq!(site.read("output/kb/guide/setup/index.html"), old_setup);
    assert!(!site
        .read("output/kb/install/index.html")
        .contains("Unapproved"));
}

/// What a build of a copy of `site` (without its output, kept generation or reports) writes
/// from scratch, with nothing cached: every file of its `output/`.
fn fresh_build(site: &TestSite) -> Vec<(String, Vec<u8>)> {
    let copy = tempfile::tempdir().unwrap();
    for entry in walkdir::WalkDir::new(site.path()).min_depth(1) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(site.path()).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        // What builds keep is left behind, but for the records they counted: those are what
        // the site has said, not a cache (`tests/sealed.rs`).
        if top == "output"
            || top == "reports"
            || (top.starts_with(".imprimatur") && !top.starts_with(".imprimatur-records-"))
        {
            continue;
        }
        let to = copy.path().join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&to).unwrap();
        } else {
            std::fs::copy(entry.path(), &to).unwrap();
        }
    }
    assert_cmd::Command::new(env!("CARGO_BIN_EXE_imprimatur"))
        .env("NO_COLOR", "1")
        .env("IMPRIMATUR_CACHE_DIR", "off")
        .args(["build", "--now", NOW, "--site"])
        .arg(copy.path())
        .assert()
        .success();
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(copy.path().join("output")).sort_by_file_name() {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let rel = entry.path().strip_prefix(copy.path()).unwrap();
            files.push((
                rel.display().to_string(),
                std::fs::read(entry.path()).unwrap(),
            ));
        }
    }
    files.sort();
    files
}

#[test]
fn a_rebuild_that_reuses_what_it_rendered_before_writes_the_bytes_a_fresh_build_writes() {
    let mut site = kb_site();
    site.policy("api", &KB_POLICY.replace("Knowledge Base", "API"))
        .page(
            "kb/install.md",
            "Install",
            "Install words. Then [authenticate](../api/auth.md).\n",
        )
        .page("kb/guide/setup.md", "Setup", "Setup words.\n")
        .page("api/intro.md", "Intro", "Intro words.\n")
        .page("api/auth.md", "Auth", "Auth words.\n");
    publish(&site, "kb/install");
    publish(&site, "kb/guide/setup");
    publish(&site, "api/intro");
    build(&site, NOW);
    assert!(
        site.exists(".imprimatur-prev-output/.imprimatur-render-memo.bin"),
        "the build kept what it rendered"
    );
    assert_eq!(findings_of(&status_file(&site), "broken_link").len(), 1);
    let same = |site: &TestSite, after: &str| {
        assert_same_files(&site.all_output_files(), &fresh_build(site), after)
    };
    same(&site, "the first build");
    // The link's target is published in another space: nothing else of the linking page
    // changes, but its Markdown renders anew, and the broken link is gone from the report.
    publish(&site, "api/auth");
    build(&site, NOW);
    let install = site.read("output/kb/install/index.html");
    assert!(install.contains("api/auth/\""), "{install}");
    assert_eq!(findings_of(&status_file(&site), "broken_link").len(), 0);
    same(&site, "publishing a page another links to");
    site.page("kb/install.md", "Install", "Unapproved words.\n");
    build(&site, NOW);
    same(&site, "an edit nobody approved");
    site.page("kb/new.md", "New page", "New words.\n");
    publish(&site, "kb/new");
    build(&site, NOW);
    same(&site, "a new approved page");
    // Only the words of a page change, approved: the search index has them.
    site.page(
        "kb/guide/setup.md",
        "Setup",
        "Setup words, now with zeppelins.\n",
    );
    publish(&site, "kb/guide/setup");
    build(&site, NOW);
    assert!(site.read("output/search-index.json").contains("zeppelins"));
    same(&site, "an approved edit of a page's words");
    let page_template = String::from_utf8(
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("themes/default/templates/page.html"),
        )
        .unwrap(),
    )
    .unwrap();
    site.file(
        "themes/default/templates/page.html",
        page_template.replace("</article>", "<p>THEME-MARK-77</p></article>"),
    );
    build(&site, NOW);
    assert!(site
        .read("output/kb/install/index.html")
        .contains("THEME-MARK-77"));
    same(&site, "a changed template");
    std::fs::remove_file(site.path().join("content/kb/guide/setup.md")).unwrap();
    build(&site, NOW);
    assert!(!site.exists("output/kb/guide/setup/index.html"));
    same(&site, "a page whose source is deleted");
    // The rebuild took the page's words out of the index it patched: nothing of it is left.
    for (path, bytes) in site.files_under("output/search-index") {
        let text = String::from_utf8(bytes).unwrap();
        assert!(!text.contains("zeppelins"), "{path}: {text}");
    }
}

/// The files a build keeps in the cache folder of what it read (`pages-*.bin`,
/// `records-*.bin`), by name, with their stat: to tell whether a build wrote them again.
fn kept_inputs(cache: &std::path::Path) -> Vec<(String, std::time::SystemTime, u64)> {
    use std::os::unix::fs::MetadataExt;
    let mut kept: Vec<_> = std::fs::read_dir(cache)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            name.starts_with("pages-") || name.starts_with("records-")
        })
        .map(|e| {
            let meta = e.metadata().unwrap();
            let name = e.file_name().to_string_lossy().to_string();
            (name, meta.modified().unwrap(), meta.ino())
        })
        .collect();
    kept.sort();
    kept
}

#[test]
fn a_rebuild_reads_again_every_file_that_changed_since_the_last_even_at_the_same_size() {
    let mut site = kb_site();
    site.page("kb/install.md", "Install", "Approved words AAAA.\n")
        .page("kb/setup.md", "Setup", "Setup words.\n");
    publish(&site, "kb/install");
    publish(&site, "kb/setup");
    let cache = tempfile::tempdir().unwrap();
    let env = [(
        "IMPRIMATUR_CACHE_DIR".to_string(),
        cache.path().display().to_string(),
    )];
    let build = |site: &TestSite| {
        site.cmd_env(&["build", "--now", NOW], &env).success();
    };
    // Files written in the filesystem clock's current tick are not kept (they could change
    // again within it unseen): let it move on, as it has for files checked out a while ago.
    let settle = || std::thread::sleep(std::time::Duration::from_millis(50));
    settle();
    build(&site);
    let kept = kept_inputs(cache.path());
    assert_eq!(kept.len(), 2, "what the build read is kept: {kept:?}");
    assert!(site
        .read("output/kb/install/index.html")
        .contains("Approved words AAAA."));

    // Nothing changed: what was kept is used, and not written again.
    build(&site);
    assert_eq!(kept_inputs(cache.path()), kept);

    // The page rewritten in place with as many bytes, at once: the new version is read, and
    // it is nobody's approved version, so none of its words are published.
    let approved = site.version_of("kb/install");
    site.page("kb/install.md", "Install", "Unapproved words BB.\n");
    assert_ne!(site.version_of("kb/install"), approved);
    build(&site);
    assert!(output_mentions(&site, "Unapproved").is_empty());
    let status = status_file(&site);
    let install = page_entry(&status, "kb/install");
    assert_eq!(install["status"], "outdated", "{install:#}");
    assert_eq!(
        install["current_version"],
        site.version_of("kb/install").as_str()
    );

    // A record overwritten in place with as many bytes of nonsense: read again, and it no
    // longer counts as a file; the approval it held, counted by the last build, still does
    // and is reported as gone (`tests/sealed.rs`).
    let records = site.files_under("approvals/records");
    let (approval, bytes) = records
        .iter()
        .find(|(path, bytes)| {
            let text = String::from_utf8_lossy(bytes);
            path.contains("setup") && text.contains("approve")
        })
        .expect("the approval of kb/setup");
    std::fs::write(site.path().join(approval), vec![b'#'; bytes.len()]).unwrap();
    build(&site);
    assert!(site.exists("output/kb/setup/index.html"));
    let status = status_file(&site);
    assert!(
        findings_of(&status, "record_removed")
            .iter()
            .any(|f| f["file"] == approval.as_str()),
        "{status:#}"
    );
    assert!(
        findings_of(&status, "invalid_record")
            .iter()
            .any(|f| f["file"] == approval.as_str()),
        "{status:#}"
    );

    // Whoever writes the kept files without the cache's key: they are not used. The build
    // reads every file and publishes what a build without a cache publishes.
    for (name, _, _) in kept_inputs(cache.path()) {
        std::fs::write(cache.path().join(&name), b"forged entries").unwrap();
    }
    build(&site);
    assert_same_files(
        &site.all_output_files(),
        &fresh_build(&site),
        "kept files that don't verify",
    );
}

#[test]
fn a_page_of_a_long_section_lists_forty_pages_around_itself_in_its_sidebar() {
    let mut site = kb_site();
    for n in 0..45 {
        let id = format!("kb/long/page-{n:02}");
        site.page(
            &format!("{id}.md"),
            &format!("Long page {n:02}"),
            "Words.\n",
        );
        publish(&site, &id);
    }
    build(&site, NOW);
    // The pages numbered below 46 that a page's sidebar lists.
    fn listed(site: &TestSite, page: &str) -> Vec<usize> {
        let html = site.read(&format!("output/kb/long/{page}/index.html"));
        (0..46)
            .filter(|n| html.contains(&format!(">Long page {n:02}</a>")))
            .collect()
    }
    assert_eq!(listed(&site, "page-00"), (0..40).collect::<Vec<_>>());
    assert_eq!(listed(&site, "page-44"), (5..45).collect::<Vec<_>>());
    assert_eq!(listed(&site, "page-22"), (2..42).collect::<Vec<_>>());
    // The space's index still lists every page of the section.
    let index = site.read("output/kb/index.html");
    assert!((0..45).all(|n| index.contains(&format!("Long page {n:02}"))));
    // A page added at the end moves the sidebars that list the section's last pages; a
    // rebuild that keeps the pages whose sidebar did not move writes what a fresh build does.
    site.page("kb/long/page-45.md", "Long page 45", "Words.\n");
    publish(&site, "kb/long/page-45");
    build(&site, NOW);
    assert_eq!(listed(&site, "page-00"), (0..40).collect::<Vec<_>>());
    assert_eq!(listed(&site, "page-22"), (2..42).collect::<Vec<_>>());
    assert_eq!(listed(&site, "page-26"), (6..46).collect::<Vec<_>>());
    assert_eq!(listed(&site, "page-44"), (6..46).collect::<Vec<_>>());
    assert_same_files(
        &site.all_output_files(),
        &fresh_build(&site),
        "a page added",
    );
    // A title changed in the middle moves the page to the end of the section (pages are
    // listed by title): out of the first pages' sidebars, into the last ones'.
    site.page("kb/long/page-20.md", "Renamed twenty", "Words.\n");
    publish(&site, "kb/long/page-20");
    build(&site, NOW);
    let first = site.read("output/kb/long/page-01/index.html");
    assert!(!first.contains(">Long page 20</a>") && !first.contains(">Renamed twenty</a>"));
    assert!(site
        .read("output/kb/long/page-44/index.html")
        .contains(">Renamed twenty</a>"));
    assert_same_files(
        &site.all_output_files(),
        &fresh_build(&site),
        "a title changed",
    );
}

#[test]
fn a_render_memo_changed_beside_output_counts_for_nothing() {
    let mut site = kb_site();
    site.page("kb/install.md", "Install", "Install words.\n");
    publish(&site, "kb/install");
    build(&site, NOW);
    // Someone who can write beside output/ puts other HTML in place of the page, makes the
    // manifest inside output/ agree with it (so output/ looks as its build wrote it), and
    // points the kept render memo at it, leaving the memo's tag as it was.
    let page = "output/kb/install/index.html";
    let old_hash = crate::util::sha256_hex(&site.read_bytes(page));
    let forged = site
        .read(page)
        .replace("Install words.", "FORGED-WORDS-5150");
    let forged_hash = crate::util::sha256_hex(forged.as_bytes());
    std::fs::remove_file(site.path().join(page)).unwrap();
    site.file(page, &forged);
    let marker = "output/.imprimatur-build.json";
    site.file(marker, site.read(marker).replace(&old_hash, &forged_hash));
    let memo = ".imprimatur-prev-output/.imprimatur-render-memo.bin";
    // The memo is binary (postcard): its hashes are replaced as bytes, the rest kept as is.
    let kept = site.read_bytes(memo);
    let at = kept
        .windows(old_hash.len())
        .position(|w| w == old_hash.as_bytes());
    assert!(at.is_some(), "the memo holds the page's hash");
    let mut forged_memo = kept.clone();
    let mut from = 0;
    while let Some(i) = forged_memo[from..]
        .windows(old_hash.len())
        .position(|w| w == old_hash.as_bytes())
    {
        let i = from + i;
        forged_memo[i..i + old_hash.len()].copy_from_slice(forged_hash.as_bytes());
        from = i + old_hash.len();
    }
    std::fs::write(site.path().join(memo), &forged_memo).unwrap();
    let verify = site.cmd(&["verify", "--now", NOW, "--format", "json"]);
    assert!(
        !crate::util::stdout(&verify).contains("output_drift"),
        "output/ agrees with its manifest"
    );

    build(&site, NOW);
    assert!(output_mentions(&site, "FORGED-WORDS-5150").is_empty());
    assert!(site.read(page).contains("Install words."));
    assert_same_files(
        &site.all_output_files(),
        &fresh_build(&site),
        "after the build",
    );
}

#[test]
fn a_build_killed_while_writing_leaves_the_previous_site_whole_and_the_next_one_recovers() {
    let mut site = kb_site();
    site.page("kb/install.md", "Install", "Install words.\n")
        .page("kb/other.md", "Other", "Other words.\n");
    publish(&site, "kb/install");
    build(&site, NOW);
    // A second generation, so the killed build starts from a kept one.
    publish(&site, "kb/other");
    build(&site, NOW);
    let before = snapshot(&site);

    site.page("kb/fresh.md", "Fresh", "FRESH-WORDS-5150\n");
    publish(&site, "kb/fresh");
    let abort = [(
        "IMPRIMATUR_TEST_ABORT_AFTER_WRITES".to_string(),
        "1".to_string(),
    )];
    site.cmd_env(&["build", "--now", NOW], &abort).failure();
    assert_same_files(&before, &snapshot(&site), "after a killed build");
    assert!(output_mentions(&site, "FRESH-WORDS-5150").is_empty());
    let verify = site.cmd(&["verify", "--now", NOW, "--format", "json"]);
    assert!(
        !crate::util::stdout(&verify).contains("output_drift"),
        "output/ is exactly what its build wrote"
    );

    // Killed later, a build leaves the reports it made beside reports/ (each is written
    // there as soon as it is made, and renamed into place once the site is).
    site.file("reports/.imprimatur-report-kXy3Qz", "STALE-REPORT");

    build(&site, NOW);
    assert!(site
        .read("output/kb/fresh/index.html")
        .contains("FRESH-WORDS-5150"));
    assert!(site
        .read("output/kb/other/index.html")
        .contains("Other words."));
    assert_eq!(staging_leftovers(&site), Vec::<String>::new());
    let reports: Vec<String> = std::fs::read_dir(site.path().join("reports"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert_eq!(reports, Vec::<String>::new(), "no staged report is left");
    assert!(site.read("reports/status.json").contains("kb/fresh"));
}

#[test]
fn a_record_changed_after_a_build_counted_it_is_invalid_and_the_decision_it_held_stands() {
    let mut site = kb_site();
    site.page("kb/install.md", "Install", "Install words.\n");
    publish(&site, "kb/install");
    build(&site, NOW);
    assert!(site.exists("output/kb/install/index.html"));
    // The approval's comment is changed after a build verified (and cached) its signature,
    // its digest with it (SPEC §4a), so that only the signature can tell.
    let records = site.files_under("approvals/records");
    let (path, bytes) = records
        .iter()
        .find(|(_, b)| String::from_utf8_lossy(b).contains("Looks right"))
        .expect("the approval");
    let text = String::from_utf8_lossy(bytes).into_owned();
    let signed = imprimatur::trust::record::parse(&text).unwrap().record;
    let salt = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        signed
            .comment_salt
            .as_deref()
            .expect("the comment is committed"),
    )
    .unwrap();
    let digest = signed.comment_digest.as_deref().unwrap();
    let changed = text.replace("Looks right", "Looks wrong").replace(
        digest,
        &imprimatur::trust::record::comment_digest(&salt, "Looks wrong"),
    );
    site.file(path, changed);
    build(&site, NOW);
    // The changed bytes do not count, whatever the cache of verified signatures holds; the
    // approval as signed, kept by the build that counted it, still does, and is reported
    // as gone from its file (`tests/sealed.rs` tells that story whole).
    assert!(site.exists("output/kb/install/index.html"));
    let status = status_file(&site);
    let removed = findings_of(&status, "record_removed");
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0]["file"], path.as_str());
    let invalid = findings_of(&status_file(&site), "invalid_record")
        .into_iter()
        .map(|f| f["detail"].as_str().unwrap().to_string())
        .collect::<Vec<_>>();
    assert!(
        invalid
            .iter()
            .any(|d| d.contains("signature does not verify")),
        "{invalid:?}"
    );
}

// --- 5. scheduled and expiring ----------------------------------------------------------------

#[test]
fn a_scheduled_page_goes_live_at_publish_at_and_an_expiring_one_goes_offline_at_expires_at() {
    let mut site = kb_site();
    site.file(
        "content/kb/launch.md",
        page_text(
            "title: Launch\npublish_at: 2026-11-21T00:00:00Z",
            "LAUNCH-TEXT\n",
        ),
    )
    .file(
        "content/kb/gone.md",
        page_text(
            "title: Gone\nexpires_at: 2026-11-20T11:00:00Z",
            "GONE-TEXT\n",
        ),
    )
    .file(
        "content/kb/offer.md",
        page_text(
            "title: Offer\nexpires_at: 2026-11-21T00:00:00Z",
            "OFFER-TEXT\n",
        ),
    );
    for page in ["kb/launch", "kb/gone", "kb/offer"] {
        publish(&site, page);
    }

    build(&site, NOW);
    assert!(!site.exists("output/kb/launch/index.html"));
    assert_eq!(output_mentions(&site, "LAUNCH-TEXT"), Vec::<String>::new());
    assert!(!site.exists("output/kb/gone/index.html"));
    assert_eq!(output_mentions(&site, "GONE-TEXT"), Vec::<String>::new());
    assert!(site
        .read("output/kb/offer/index.html")
        .contains("OFFER-TEXT"));
    let status = status_file(&site);
    assert_eq!(page_entry(&status, "kb/launch")["status"], "scheduled");
    assert_eq!(
        page_entry(&status, "kb/launch")["current_state"],
        "scheduled"
    );
    assert_eq!(page_entry(&status, "kb/gone")["status"], "expired");
    assert_eq!(page_entry(&status, "kb/gone")["url"], Value::Null);
    assert_eq!(page_entry(&status, "kb/offer")["status"], "published");

    build(&site, TOMORROW);
    assert!(site
        .read("output/kb/launch/index.html")
        .contains("LAUNCH-TEXT"));
    assert!(site
        .read("output/sitemap.xml")
        .contains("/kb/launch/</loc>"));
    assert!(!site.exists("output/kb/offer/index.html"));
    assert_eq!(output_mentions(&site, "OFFER-TEXT"), Vec::<String>::new());
    let status = status_file(&site);
    assert_eq!(page_entry(&status, "kb/launch")["status"], "published");
    assert_eq!(page_entry(&status, "kb/launch")["url"], "kb/launch/");
    assert_eq!(page_entry(&status, "kb/offer")["status"], "expired");
}

#[test]
fn an_older_version_stays_live_until_the_newer_approved_one_is_due() {
    let mut site = kb_site();
    site.page("kb/release.md", "Release", "V1-TEXT\n");
    publish(&site, "kb/release");
    let v1 = site.version_of("kb/release").to_string();
    site.file(
        "content/kb/release.md",
        page_text(
            "title: Release\npublish_at: 2026-11-21T00:00:00Z",
            "V2-TEXT\n",
        ),
    );
    site.sign(
        "wanda",
        Kind::Submit,
        "kb/release",
        &[],
        "2026-11-20T10:30:00Z",
    );
    site.sign(
        "alice",
        Kind::Approve,
        "kb/release",
        &["--step", "technical"],
        "2026-11-20T11:00:00Z",
    );
    let v2 = site.version_of("kb/release").to_string();

    build(&site, NOW);
    let html = site.read("output/kb/release/index.html");
    assert!(html.contains("V1-TEXT"), "{html}");
    assert_eq!(output_mentions(&site, "V2-TEXT"), Vec::<String>::new());
    let status = status_file(&site);
    let p = page_entry(&status, "kb/release");
    assert_eq!(p["published_version"], v1.as_str());
    assert_eq!(p["current_state"], "scheduled");

    build(&site, TOMORROW);
    let html = site.read("output/kb/release/index.html");
    assert!(html.contains("V2-TEXT"), "{html}");
    assert_eq!(output_mentions(&site, "V1-TEXT"), Vec::<String>::new());
    let status = status_file(&site);
    let p = page_entry(&status, "kb/release");
    assert_eq!(p["published_version"], v2.as_str());
    assert_eq!(p["status"], "published");
}

#[test]
fn a_page_whose_source_is_deleted_is_no_longer_published() {
    let mut site = kb_site();
    site.page("kb/old.md", "Old page", "OLD-TEXT\n")
        .page("kb/keep.md", "Kept", "Kept.\n");
    publish(&site, "kb/old");
    publish(&site, "kb/keep");
    build(&site, NOW);
    assert!(site.exists("output/kb/old/index.html"));

    std::fs::remove_file(site.path().join("content/kb/old.md")).unwrap();
    build(&site, NOW);
    assert!(!site.exists("output/kb/old/index.html"));
    assert_eq!(output_mentions(&site, "OLD-TEXT"), Vec::<String>::new());
    assert_eq!(output_mentions(&site, "Old page"), Vec::<String>::new());
    assert!(site.exists("output/kb/keep/index.html"));
    let status = status_file(&site);
    let orphans = findings_of(&status, "orphan_record");
    assert_eq!(orphans.len(), 2, "its submit and its approval: {status:#}");
    assert!(orphans.iter().all(|f| f["page"] == "kb/old"));
}

// --- 6. audiences -----------------------------------------------------------------------------

#[test]
fn a_build_publishes_the_versions_meant_for_its_audience() {
    let mut site = kb_site();
    site.page("kb/everyone.md", "Everyone", "PUBLIC-TEXT\n")
        .file(
            "content/kb/staff.md",
            page_text("title: Staff\naudience: [internal]", "INTERNAL-TEXT\n"),
        )
        .file(
            "content/kb/both.md",
            page_text("title: Both\naudience: [internal, public]", "BOTH-TEXT\n"),
        );
    for page in ["kb/everyone", "kb/staff", "kb/both"] {
        publish(&site, page);
    }
    let urls = |site: &TestSite| -> Vec<String> {
        let index: Value = serde_json::from_str(&site.read("output/search-index.json")).unwrap();
        index["pages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["url"].as_str().unwrap().to_string())
            .collect()
    };

    // imprimatur.yaml's default audience: public.
    build(&site, NOW);
    assert_eq!(urls(&site), ["kb/both/", "kb/everyone/"]);
    assert!(!site.exists("output/kb/staff/index.html"));
    assert_eq!(
        output_mentions(&site, "INTERNAL-TEXT"),
        Vec::<String>::new()
    );

    site.cmd(&["build", "--now", NOW, "--audience", "internal"])
        .success();
    assert_eq!(urls(&site), ["kb/both/", "kb/staff/"]);
    assert!(site
        .read("output/kb/staff/index.html")
        .contains("INTERNAL-TEXT"));
    assert!(!site.exists("output/kb/everyone/index.html"));
    assert_eq!(output_mentions(&site, "PUBLIC-TEXT"), Vec::<String>::new());
    let status = status_file(&site);
    assert_eq!(page_entry(&status, "kb/staff")["url"], "kb/staff/");
    assert_eq!(page_entry(&status, "kb/everyone")["url"], Value::Null);

    // imprimatur.yaml's audiences do the same as --audience.
    site.file(
        "imprimatur.yaml",
        "title: Example Help Center\nbase_url: https://help.example.com/\naudiences: [internal]\n",
    );
    build(&site, NOW);
    assert_eq!(urls(&site), ["kb/both/", "kb/staff/"]);
}

// --- 7. bundles -------------------------------------------------------------------------------

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR fake image bytes \xff\xfe";

#[test]
fn a_bundle_publishes_its_approved_assets_beside_it_and_links_reach_them() {
    let mut site = kb_site();
    site.page(
        "kb/shots/index.md",
        "Screenshots",
        "![The console](img/x.png)\n\nSee the [raw shot](img/x.png).\n",
    )
    .file("content/kb/shots/img/x.png", PNG)
    .page(
        "kb/guide.md",
        "Guide",
        "Look at [the screenshot](shots/img/x.png) and [the page](shots/index.md) \
         and [the new one](shots/img/draft-only.png).\n",
    );
    publish(&site, "kb/shots");
    publish(&site, "kb/guide");
    // Added after approval: a new version of the bundle, not approved.
    site.file(
        "content/kb/shots/img/draft-only.png",
        b"DRAFT-ONLY-ASSET-BYTES",
    );

    build(&site, NOW);
    assert_eq!(site.read_bytes("output/kb/shots/img/x.png"), PNG);
    assert!(!site.exists("output/kb/shots/img/draft-only.png"));
    for needle in ["DRAFT-ONLY-ASSET-BYTES", "draft-only"] {
        assert_eq!(
            output_mentions(&site, needle),
            Vec::<String>::new(),
            "{needle}"
        );
    }
    let bundle = site.read("output/kb/shots/index.html");
    assert!(bundle.contains("src=\"img/x.png\""), "{bundle}");
    assert!(bundle.contains("href=\"img/x.png\""), "{bundle}");
    // The bundle changed since, which a public build does not tell its readers.
    assert!(bundle.contains("badge--published"), "{bundle}");
    let guide = site.read("output/kb/guide/index.html");
    assert!(
        guide.contains("href=\"../../kb/shots/img/x.png\">the screenshot</a>"),
        "{guide}"
    );
    assert!(
        guide.contains("href=\"../../kb/shots/\">the page</a>"),
        "{guide}"
    );
    assert!(guide.contains("and the new one."), "{guide}");

    let status = status_file(&site);
    let broken = findings_of(&status, "broken_link");
    assert_eq!(broken.len(), 1, "{status:#}");
    assert_eq!(broken[0]["page"], "kb/guide");
    assert!(broken[0]["detail"]
        .as_str()
        .unwrap()
        .contains("shots/img/draft-only.png"));
    assert_eq!(page_entry(&status, "kb/shots")["status"], "outdated");

    // The files of the site: the bundle's one approved asset, nothing else of content/.
    // The search pieces are checked in their own tests; here only that there are some.
    assert!(site.exists("output/search-index/p-0.js"));
    let files: Vec<String> = site
        .all_output_files()
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| !p.starts_with("output/search-index/"))
        .collect();
    assert_eq!(
        files,
        [
            "output/.imprimatur-build.json",
            "output/404.html",
            "output/feed.xml",
            "output/index.html",
            "output/kb/feed.xml",
            "output/kb/guide/index.html",
            "output/kb/index.html",
            "output/kb/shots/img/x.png",
            "output/kb/shots/index.html",
            "output/search-index.json",
            "output/sitemap.xml",
            "output/static/highlight.css",
            "output/static/live.js",
            "output/static/search.js",
            "output/static/style.css",
        ]
    );
}

// --- 8. the shape of output/ ------------------------------------------------------------------

#[test]
fn output_has_home_space_index_pages_sitemap_feeds_search_index_and_theme_files() {
    let mut site = kb_site();
    site.policy(
        "kb",
        &KB_POLICY.replace(
            "title: Knowledge Base\n",
            "title: Knowledge Base\npublish_to: docs\n",
        ),
    )
    .file(
        "content/kb/getting-started/install.md",
        page_text(
            "title: Install the agent\ndescription: Set up the agent\ntags: [agent]",
            "INSTALL-TEXT\n",
        ),
    )
    .page("kb/faq.md", "Frequently asked", "FAQ-TEXT\n")
    .page("kb/pending.md", "Pending page", "PENDING-TEXT\n")
    // Reviewers' comments are hidden from readers unless the site makes them public.
    .file(
        "imprimatur.yaml",
        "title: Example Help Center\nbase_url: https://help.example.com/\nhistory: {comments: public}\n",
    );
    publish(&site, "kb/getting-started/install");
    publish(&site, "kb/faq");
    submit(&site, "kb/pending");
    let version = site.version_of("kb/getting-started/install");

    build(&site, NOW);
    // The search pieces are checked in their own tests; here only that there are some.
    assert!(site.exists("output/search-index/p-0.js"));
    let files: Vec<String> = site
        .all_output_files()
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| !p.starts_with("output/search-index/"))
        .collect();
    assert_eq!(
        files,
        [
            "output/.imprimatur-build.json",
            "output/404.html",
            "output/docs/faq/index.html",
            "output/docs/feed.xml",
            "output/docs/getting-started/install/index.html",
            "output/docs/index.html",
            "output/feed.xml",
            "output/index.html",
            "output/search-index.json",
            "output/sitemap.xml",
            "output/static/highlight.css",
            "output/static/live.js",
            "output/static/search.js",
            "output/static/style.css",
        ]
    );
    assert_eq!(
        site.read_bytes("output/static/style.css"),
        include_bytes!("../themes/default/static/style.css")
    );
    assert_eq!(
        site.read_bytes("output/static/search.js"),
        include_bytes!("../themes/default/static/search.js")
    );

    // Home links the space; the space lists its pages.
    let home = site.read("output/index.html");
    assert!(home.contains("href=\"docs/\""), "{home}");
    assert!(home.contains("Knowledge Base"));
    let space = site.read("output/docs/index.html");
    assert!(
        space.contains("href=\"../docs/getting-started/install/\""),
        "{space}"
    );
    assert!(space.contains("href=\"../docs/faq/\""), "{space}");
    assert!(space.contains("Install the agent") && space.contains("Frequently asked"));

    // Sitemap: absolute URLs from base_url, published pages only.
    let sitemap = site.read("output/sitemap.xml");
    let locs: Vec<&str> = sitemap
        .split("<loc>")
        .skip(1)
        .map(|s| s.split("</loc>").next().unwrap())
        .collect();
    assert_eq!(
        locs,
        [
            "https://help.example.com/",
            "https://help.example.com/docs/",
            "https://help.example.com/docs/faq/",
            "https://help.example.com/docs/getting-started/install/",
        ]
    );

    // Search index: valid JSON, the published pages only.
    let search: Value = serde_json::from_str(&site.read("output/search-index.json")).unwrap();
    let pages = search["pages"].as_array().unwrap();
    let entries: Vec<(&str, &str)> = pages
        .iter()
        .map(|p| (p["url"].as_str().unwrap(), p["title"].as_str().unwrap()))
        .collect();
    assert_eq!(
        entries,
        [
            ("docs/faq/", "Frequently asked"),
            ("docs/getting-started/install/", "Install the agent")
        ]
    );
    assert!(pages[1]["text"].as_str().unwrap().contains("INSTALL-TEXT"));
    assert_eq!(pages[1]["description"], "Set up the agent");
    assert_eq!(strings(&pages[1]["tags"]), ["agent"]);

    // The page: badge, short version, approval history with names, steps, roles, comments.
    let html = site.read("output/docs/getting-started/install/index.html");
    assert!(html.contains("INSTALL-TEXT"));
    assert!(html.contains("badge--published"));
    assert!(html.contains("Published</span>"));
    assert!(
        html.contains(&format!(">{}</code>", &version.hex()[..12])),
        "{html}"
    );
    assert!(html.contains("Submitted</span> by <span class=\"event__who\">wanda Example</span>"));
    assert!(html.contains("Approved</span> by <span class=\"event__who\">alice Example</span>"));
    assert!(html.contains("<dd>technical</dd>"));
    assert!(html.contains("<dd>Technical reviewer</dd>"));
    assert!(html.contains("Looks right"));
    assert!(
        html.contains("<dd>2026-11-20 10:00 UTC</dd>"),
        "when it was approved"
    );
    assert!(html.contains("<code>alice-key</code>"));
    assert_eq!(html.matches("class=\"event event--").count(), 2);
    assert_eq!(output_mentions(&site, "PENDING-TEXT"), Vec::<String>::new());
    assert_eq!(output_mentions(&site, "Pending page"), Vec::<String>::new());
}

// --- 9. theme override ------------------------------------------------------------------------

#[test]
fn a_site_template_replaces_the_built_in_page_template_only() {
    let mut site = kb_site();
    site.page("kb/install.md", "Install the agent", "Text.\n")
        .file(
            "themes/default/templates/page.html",
            "CUSTOM {{ page.title }} {{ page.short_version }}",
        )
        .file("themes/default/static/extra.css", "body { color: red }");
    publish(&site, "kb/install");
    build(&site, NOW);
    let version = site.version_of("kb/install");
    assert_eq!(
        site.read("output/kb/install/index.html"),
        format!("CUSTOM Install the agent {}", &version.hex()[..12])
    );
    let home = site.read("output/index.html");
    assert!(home.starts_with("<!DOCTYPE html>"), "built-in home: {home}");
    assert!(home.contains("href=\"kb/\""));
    let space = site.read("output/kb/index.html");
    assert!(space.starts_with("<!DOCTYPE html>"), "built-in space index");
    assert!(space.contains("Install the agent"));
    assert_eq!(site.read("output/static/extra.css"), "body { color: red }");
    assert!(
        site.exists("output/static/style.css"),
        "built-in static files stay"
    );
}

// --- 10. output drift -------------------------------------------------------------------------

#[test]
fn a_hand_edit_of_output_is_reported_as_drift_and_replaced_by_the_next_build() {
    let mut site = kb_site();
    site.page("kb/install.md", "Install", "Text.\n");
    publish(&site, "kb/install");
    build(&site, NOW);
    let original = site.read_bytes("output/kb/install/index.html");
    let status = status_file(&site);
    assert!(findings_of(&status, "output_drift").is_empty());

    site.file("output/kb/install/index.html", "DEFACED");
    site.file("output/extra.html", "ADDED BY HAND");
    build(&site, NOW);
    let status = status_file(&site);
    let drift: Vec<&str> = findings_of(&status, "output_drift")
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    assert_eq!(drift, ["output/extra.html", "output/kb/install/index.html"]);
    let desync: Value = serde_json::from_str(&site.read("reports/desync.json")).unwrap();
    let desync_files: Vec<&str> = desync["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "output_drift")
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    assert_eq!(desync_files, drift);

    // The hand edits are gone: output/ is what the build made.
    assert_eq!(site.read_bytes("output/kb/install/index.html"), original);
    assert!(!site.exists("output/extra.html"));
    // ... and the next build finds nothing.
    build(&site, NOW);
    assert!(findings_of(&status_file(&site), "output_drift").is_empty());
}

// --- 11. --strict -----------------------------------------------------------------------------

#[test]
fn strict_exits_3_on_findings_and_0_on_a_clean_site_and_writes_everything_either_way() {
    let mut site = kb_site();
    site.page("kb/install.md", "Install", "See [the FAQ](faq.md).\n")
        .page("kb/faq.md", "FAQ", "Questions.\n");
    publish(&site, "kb/install");

    // The FAQ is not published: a broken link.
    site.cmd(&["build", "--now", NOW]).code(0);
    let strict = site.cmd(&["build", "--now", NOW, "--strict"]).code(3);
    assert!(crate::util::stdout(&strict).contains("broken_link"));
    assert!(
        site.exists("output/kb/install/index.html"),
        "output written"
    );
    assert_eq!(findings_of(&status_file(&site), "broken_link").len(), 1);
    for report in [
        "desync.json",
        "outdated.json",
        "notifications.json",
        "summary.md",
        "index.html",
    ] {
        assert!(site.exists(&format!("reports/{report}")), "{report}");
    }

    // Published, the link resolves: clean.
    publish(&site, "kb/faq");
    site.cmd(&["build", "--now", NOW, "--strict"]).code(0);
    assert!(site
        .read("output/kb/install/index.html")
        .contains("href=\"../../kb/faq/\">the FAQ</a>"));
    assert_eq!(status_file(&site)["findings"], serde_json::json!([]));
}
