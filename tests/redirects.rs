//! Moving a page keeps every link to it (issue 37): an `aliases:` entry in the approved
//! version's front matter writes a redirect page at the old URL and a line of `_redirects`,
//! served by `imprimatur serve` too; a URL the previous build served that now serves nothing
//! is `url_removed` (fails `--strict`); an alias that takes a live page's URL, or another
//! alias, is a `url_conflict`; a draft's aliases publish nothing.

use imprimatur::trust::record::Kind;
use serde_json::Value;

use crate::serve::Server;
use crate::util::{findings_of, page_entry, TestSite};

// Before `serve`'s fixed `--now` (tests/serve.rs), so the server sees the same site.
const DAY1: &str = "2026-11-01T09:00:00Z";
const DAY1_LATER: &str = "2026-11-01T10:00:00Z";
const DAY2: &str = "2026-11-02T09:00:00Z";
const DAY2_LATER: &str = "2026-11-02T10:00:00Z";
const DAY3: &str = "2026-11-03T09:00:00Z";
const DAY3_LATER: &str = "2026-11-03T10:00:00Z";
const NOW: &str = "2026-11-05T12:00:00Z";
const PAGE: &str = "kb/install";

const POLICY: &str = "\
title: Knowledge Base
contributors: [group:writers]
steps:
  - name: technical
    approvers: [group:engineering]
    min_approvals: 1
";

fn kb_site() -> TestSite {
    let mut site = TestSite::new();
    site.reviewer("wanda", &["writers"])
        .reviewer("alice", &["engineering"])
        .policy("kb", POLICY);
    site
}

/// Writes `content/<id>.md` with `front` (YAML lines after the title) and `body`.
fn write(site: &mut TestSite, id: &str, title: &str, front: &str, body: &str) {
    site.file(
        &format!("content/{id}.md"),
        format!("---\ntitle: {title}\n{front}---\n\n{body}\n"),
    );
}

/// Submitted by wanda, approved by alice.
fn approve(site: &TestSite, id: &str, submit_at: &str, approve_at: &str) {
    site.sign("wanda", Kind::Submit, id, &[], submit_at);
    site.sign(
        "alice",
        Kind::Approve,
        id,
        &["--step", "technical"],
        approve_at,
    );
}

fn report_of(site: &TestSite) -> Value {
    serde_json::from_str(&site.read("reports/status.json")).unwrap()
}

#[test]
fn a_page_whose_slug_changes_keeps_its_old_url_working_through_its_alias() {
    let mut site = kb_site();
    write(
        &mut site,
        PAGE,
        "Install the agent",
        "",
        "Run the installer.",
    );
    approve(&site, PAGE, DAY1, DAY1_LATER);
    site.cmd(&["build", "--strict", "--now", NOW]).success();
    assert!(site
        .read("output/kb/install/index.html")
        .contains("Run the installer."));
    assert!(!site.exists("output/_redirects"));

    // Renamed (a new slug), with its old URL as an alias, and approved again.
    write(
        &mut site,
        PAGE,
        "Install the agent",
        "slug: setup-agent\naliases: [kb/install/]\n",
        "Run the installer.",
    );
    approve(&site, PAGE, DAY2, DAY2_LATER);
    site.cmd(&["build", "--strict", "--now", NOW]).success();
    let status = report_of(&site);
    assert!(findings_of(&status, "url_removed").is_empty(), "{status:#}");
    assert!(
        findings_of(&status, "went_offline").is_empty(),
        "{status:#}"
    );
    assert!(site
        .read("output/kb/setup-agent/index.html")
        .contains("Run the installer."));

    // The old URL holds the redirect page: to the new URL, canonical there, not indexed.
    let redirect = site.read("output/kb/install/index.html");
    assert!(!redirect.contains("Run the installer."), "{redirect}");
    for part in [
        r#"<meta http-equiv="refresh" content="0; url=../../kb/setup-agent/">"#,
        r#"<link rel="canonical" href="https://help.example.com/kb/setup-agent/">"#,
        r#"<meta name="robots" content="noindex">"#,
        r#"<a href="../../kb/setup-agent/">Install the agent</a>"#,
    ] {
        assert!(redirect.contains(part), "{part} not in {redirect}");
    }
    assert_eq!(
        site.read("output/_redirects"),
        "/kb/install/ /kb/setup-agent/ 301\n"
    );
    // The redirect is not a page: not in the sitemap.
    assert!(!site.read("output/sitemap.xml").contains("kb/install/"));

    // `serve` answers the old URL with the same redirect page, and `_redirects`.
    let server = Server::start(&site);
    let (code, served) = server.text("kb/install/");
    assert_eq!((code, served.as_str()), (200, redirect.as_str()));
    assert_eq!(
        server.text("_redirects"),
        (200, "/kb/install/ /kb/setup-agent/ 301\n".to_string())
    );
    let (code, page) = server.text("kb/setup-agent/");
    assert_eq!(code, 200);
    assert!(page.contains("Run the installer."));
}

#[test]
fn a_page_moved_without_an_alias_is_url_removed_and_fails_strict_until_one_is_approved() {
    let mut site = kb_site();
    write(
        &mut site,
        PAGE,
        "Install the agent",
        "",
        "Run the installer.",
    );
    approve(&site, PAGE, DAY1, DAY1_LATER);
    site.cmd(&["build", "--strict", "--now", NOW]).success();

    write(
        &mut site,
        PAGE,
        "Install the agent",
        "slug: setup-agent\n",
        "Run the installer.",
    );
    approve(&site, PAGE, DAY2, DAY2_LATER);
    // `verify` says so without building (against the build in output/), then the build.
    site.cmd(&["verify", "--now", NOW]).code(3);
    site.cmd(&["build", "--strict", "--now", NOW]).code(3);
    let status = report_of(&site);
    let removed = findings_of(&status, "url_removed");
    assert_eq!(removed.len(), 1, "{status:#}");
    assert_eq!(removed[0]["page"], PAGE);
    let detail = removed[0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("kb/install/") && detail.contains("kb/setup-agent/"),
        "{detail}"
    );
    assert!(detail.contains("aliases"), "{detail}");
    assert!(!site.exists("output/kb/install/index.html"));
    // The published page moved all the same.
    assert_eq!(page_entry(&status, PAGE)["status"], "published");

    // The fix: the old URL as an alias, approved; the strict build passes again.
    write(
        &mut site,
        PAGE,
        "Install the agent",
        "slug: setup-agent\naliases: [/kb/install]\n",
        "Run the installer.",
    );
    approve(&site, PAGE, DAY3, DAY3_LATER);
    site.cmd(&["build", "--strict", "--now", NOW]).success();
    assert!(findings_of(&report_of(&site), "url_removed").is_empty());
    assert!(site
        .read("output/kb/install/index.html")
        .contains("http-equiv=\"refresh\""));

    // Dropping the alias later breaks the link again: the old redirect is remembered.
    write(
        &mut site,
        PAGE,
        "Install the agent",
        "slug: setup-agent\n",
        "Run the installer!",
    );
    approve(&site, PAGE, "2026-11-04T09:00:00Z", "2026-11-04T10:00:00Z");
    site.cmd(&["build", "--strict", "--now", NOW]).code(3);
    let removed = findings_of(&report_of(&site), "url_removed")
        .iter()
        .map(|f| f["detail"].as_str().unwrap().to_string())
        .collect::<Vec<_>>();
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert!(removed[0].starts_with("kb/install/ "), "{removed:?}");
}

#[test]
fn an_alias_that_takes_a_live_pages_url_or_another_alias_is_a_url_conflict() {
    let mut site = kb_site();
    write(
        &mut site,
        PAGE,
        "Install the agent",
        "",
        "Run the installer.",
    );
    write(
        &mut site,
        "kb/other",
        "Other",
        "aliases: [kb/install/]\n",
        "Other words.",
    );
    approve(&site, PAGE, DAY1, DAY1_LATER);
    approve(&site, "kb/other", DAY1, DAY1_LATER);
    site.cmd(&["build", "--now", NOW]).success();
    let status = report_of(&site);
    let conflicts = findings_of(&status, "url_conflict");
    assert_eq!(conflicts.len(), 1, "{status:#}");
    assert_eq!(conflicts[0]["page"], "kb/other");
    assert!(conflicts[0]["detail"]
        .as_str()
        .unwrap()
        .contains("kb/install/"));
    // The page keeps its URL; the page claiming it is not published.
    assert!(site
        .read("output/kb/install/index.html")
        .contains("Run the installer."));
    assert!(!site.exists("output/kb/other/index.html"));
    assert!(!site.exists("output/_redirects"));

    // Two pages claiming one old URL: neither is published, nothing redirects there.
    write(
        &mut site,
        "kb/other",
        "Other",
        "aliases: [kb/old/]\n",
        "Other words.",
    );
    write(
        &mut site,
        "kb/third",
        "Third",
        "aliases: [kb/old/]\n",
        "Third words.",
    );
    approve(&site, "kb/other", DAY2, DAY2_LATER);
    approve(&site, "kb/third", DAY2, DAY2_LATER);
    site.cmd(&["build", "--now", NOW]).success();
    let status = report_of(&site);
    let pages: Vec<&Value> = findings_of(&status, "url_conflict")
        .iter()
        .map(|f| &f["page"])
        .collect();
    assert_eq!(pages, ["kb/other", "kb/third"], "{status:#}");
    assert!(!site.exists("output/kb/old/index.html"));

    // With one claimant the alias is published.
    write(&mut site, "kb/third", "Third", "", "Third words.");
    approve(&site, "kb/third", DAY3, DAY3_LATER);
    site.cmd(&["build", "--now", NOW]).success();
    assert!(findings_of(&report_of(&site), "url_conflict").is_empty());
    assert_eq!(site.read("output/_redirects"), "/kb/old/ /kb/other/ 301\n");
}

#[test]
fn an_alias_outside_the_site_is_an_invalid_page_naming_the_field() {
    for bad in [
        "https://evil.example/",
        "//evil.example/x/",
        "kb/../../etc/",
        "kb/old/?q=1",
        "static/x/",
        "/",
    ] {
        let mut site = kb_site();
        write(
            &mut site,
            PAGE,
            "Install the agent",
            &format!("aliases: [\"{bad}\"]\n"),
            "Words.",
        );
        site.cmd(&["build", "--now", NOW]).success();
        let status = report_of(&site);
        let invalid = findings_of(&status, "invalid_page");
        assert_eq!(invalid.len(), 1, "{bad}: {status:#}");
        let detail = invalid[0]["detail"].as_str().unwrap();
        assert!(detail.contains("aliases"), "{bad}: {detail}");
    }
    // A plain path is fine.
    let mut site = kb_site();
    write(
        &mut site,
        PAGE,
        "Install the agent",
        "aliases: [\"/kb/old-install\"]\n",
        "Words.",
    );
    site.cmd(&["build", "--now", NOW]).success();
    assert!(findings_of(&report_of(&site), "invalid_page").is_empty());
}

#[test]
fn a_drafts_aliases_publish_nothing_until_approved() {
    let mut site = kb_site();
    write(
        &mut site,
        PAGE,
        "Install the agent",
        "",
        "Run the installer.",
    );
    approve(&site, PAGE, DAY1, DAY1_LATER);
    // An unreviewed edit adds an alias over a URL: the live version has none.
    write(
        &mut site,
        PAGE,
        "Install the agent",
        "aliases: [kb/pricing/]\n",
        "Run the installer.",
    );
    site.cmd(&["build", "--strict", "--now", NOW]).success();
    assert!(!site.exists("output/kb/pricing/index.html"));
    assert!(!site.exists("output/_redirects"));
    // Once approved, it is.
    approve(&site, PAGE, DAY2, DAY2_LATER);
    site.cmd(&["build", "--strict", "--now", NOW]).success();
    assert!(site.exists("output/kb/pricing/index.html"));
    assert_eq!(
        site.read("output/_redirects"),
        "/kb/pricing/ /kb/install/ 301\n"
    );
}

#[test]
fn a_page_moved_to_a_new_file_with_its_old_url_as_an_alias_is_not_reported_gone() {
    let mut site = kb_site();
    write(
        &mut site,
        PAGE,
        "Install the agent",
        "",
        "Run the installer.",
    );
    approve(&site, PAGE, DAY1, DAY1_LATER);
    site.cmd(&["build", "--strict", "--now", NOW]).success();

    // Without an alias, deleting the old file is `went_offline` (tests/gate.rs).
    std::fs::remove_file(site.path().join("content/kb/install.md")).unwrap();
    write(
        &mut site,
        "kb/setup",
        "Install the agent",
        "",
        "Run the installer.",
    );
    approve(&site, "kb/setup", DAY2, DAY2_LATER);
    site.cmd(&["verify", "--now", NOW]).code(3);
    let out = site.cmd(&["status", "--format", "json", "--now", NOW]);
    let status: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(findings_of(&status, "went_offline").len(), 1, "{status:#}");

    // With the old URL as an approved alias of the new file, the link keeps working.
    write(
        &mut site,
        "kb/setup",
        "Install the agent",
        "aliases: [kb/install/]\n",
        "Run the installer.",
    );
    approve(&site, "kb/setup", DAY3, DAY3_LATER);
    // (Not `--strict`: the old file's records are `orphan_record`s, as for any deleted page.)
    site.cmd(&["build", "--now", NOW]).success();
    let status = report_of(&site);
    assert!(
        findings_of(&status, "went_offline").is_empty(),
        "{status:#}"
    );
    assert!(findings_of(&status, "url_removed").is_empty(), "{status:#}");
    assert_eq!(
        site.read("output/_redirects"),
        "/kb/install/ /kb/setup/ 301\n"
    );
}
