//! `imprimatur status` narrowed: to the pages named (`status PAGE...`, in every format), and
//! to what the build for one audience would publish (`status --audience NAME`).

use imprimatur::trust::record::Kind;
use serde_json::Value;

use crate::util::{findings_of, page_entry, stdout, TestSite};

const SUBMITTED: &str = "2026-11-20T09:00:00Z";
const APPROVED: &str = "2026-11-20T10:00:00Z";
const NOW: &str = "2026-11-20T12:00:00Z";

const KB_POLICY: &str = "\
title: Knowledge Base
contributors: [group:writers]
steps:
  - name: technical
    approvers: [group:engineering]
    min_approvals: 1
";

/// Three approved pages — for everyone, for staff only, for both — and a page waiting on
/// alice, which the first links to; wanda writes, alice approves.
fn site() -> TestSite {
    let mut site = TestSite::new();
    site.reviewer("wanda", &["writers"])
        .reviewer("alice", &["engineering"])
        .policy("kb", KB_POLICY)
        // A link to a page not published: a finding about kb/everyone.
        .page("kb/everyone.md", "Everyone", "See [soon](waiting.md).\n")
        .file(
            "content/kb/staff.md",
            "---\ntitle: Staff\naudience: [internal]\n---\n\nWords.\n",
        )
        .file(
            "content/kb/both.md",
            "---\ntitle: Both\naudience: [internal, public]\n---\n\nWords.\n",
        )
        .page("kb/waiting.md", "Waiting", "Words.\n");
    for page in ["kb/everyone", "kb/staff", "kb/both"] {
        site.sign("wanda", Kind::Submit, page, &[], SUBMITTED);
        site.sign(
            "alice",
            Kind::Approve,
            page,
            &["--step", "technical"],
            APPROVED,
        );
    }
    site.sign("wanda", Kind::Submit, "kb/waiting", &[], SUBMITTED);
    site
}

fn json(site: &TestSite, args: &[&str]) -> Value {
    let mut all = vec!["status", "--now", NOW, "--format", "json"];
    all.extend(args);
    serde_json::from_str(&stdout(&site.cmd(&all).success())).expect("status --format json")
}

fn ids(report: &Value) -> Vec<&str> {
    report["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect()
}

#[test]
fn status_of_one_page_shows_that_page_alone_in_json_and_text() {
    let site = site();
    let all = json(&site, &[]);
    assert_eq!(
        ids(&all),
        ["kb/both", "kb/everyone", "kb/staff", "kb/waiting"]
    );
    assert!(
        all["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["page"] == "kb/everyone"),
        "{all:#}"
    );

    // The finding about kb/everyone does not come along with kb/waiting.
    let one = json(&site, &["kb/waiting"]);
    assert_eq!(ids(&one), ["kb/waiting"]);
    assert!(
        one["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["page"] == "kb/waiting"),
        "{one:#}"
    );
    assert_eq!(page_entry(&one, "kb/waiting")["waiting_on"][0], "alice");
    // A path names the page as its id does; two pages, two rows.
    let two = json(&site, &["content/kb/everyone.md", "kb/waiting"]);
    assert_eq!(ids(&two), ["kb/everyone", "kb/waiting"]);
    assert!(!findings_of(&two, "broken_link").is_empty(), "{two:#}");

    let text = stdout(&site.cmd(&["status", "--now", NOW, "kb/waiting"]).success());
    assert!(text.contains("kb/waiting"), "{text}");
    for other in ["kb/everyone", "kb/both", "kb/staff"] {
        assert!(!text.contains(other), "{other} in: {text}");
    }
    // reports/status.json still holds the whole site.
    let file: Value = serde_json::from_str(&site.read("reports/status.json")).unwrap();
    assert_eq!(ids(&file).len(), 4);
}

#[test]
fn status_of_a_page_that_does_not_exist_names_it_and_the_nearest_page() {
    let site = site();
    for format in ["text", "json"] {
        site.imprimatur(&["status", "kb/waitng", "--format", format])
            .at(NOW)
            .exits(1)
            .stderr_has("no page 'kb/waitng' in content/; did you mean 'kb/waiting'? (`imprimatur status` lists every page)")
            .run();
    }
    site.imprimatur(&["status", "zzz"])
        .at(NOW)
        .exits(1)
        .stderr_has("no page 'zzz' in content/ (`imprimatur status` lists every page)")
        .run();
}

#[test]
fn status_for_an_audience_shows_what_its_build_publishes() {
    let site = site();
    let public = json(&site, &[]);
    assert_eq!(page_entry(&public, "kb/everyone")["url"], "kb/everyone/");
    assert_eq!(page_entry(&public, "kb/staff")["url"], Value::Null);

    let internal = json(&site, &["--audience", "internal"]);
    assert_eq!(page_entry(&internal, "kb/staff")["url"], "kb/staff/");
    assert_eq!(page_entry(&internal, "kb/both")["url"], "kb/both/");
    assert_eq!(page_entry(&internal, "kb/everyone")["url"], Value::Null);
    assert_eq!(
        page_entry(&internal, "kb/staff")["status"],
        page_entry(&public, "kb/everyone")["status"],
    );

    // Beside the public build in output/, the pages that build published and this one does not
    // are not reported gone offline: a build for another audience leaves them out on purpose.
    site.cmd(&["build", "--now", NOW]).success();
    let beside_public = json(&site, &["--audience", "internal"]);
    assert!(
        findings_of(&beside_public, "went_offline").is_empty(),
        "{beside_public:#}"
    );

    // It agrees with the build for that audience, page by page.
    site.cmd(&["build", "--now", NOW, "--audience", "internal"])
        .success();
    let built: Value = serde_json::from_str(&site.read("reports/status.json")).unwrap();
    for id in ["kb/everyone", "kb/staff", "kb/both", "kb/waiting"] {
        for field in ["status", "url"] {
            assert_eq!(
                page_entry(&built, id)[field],
                page_entry(&internal, id)[field],
                "{id} {field}"
            );
        }
    }

    let text = stdout(
        &site
            .cmd(&["status", "--now", NOW, "--audience", "internal", "kb/staff"])
            .success(),
    );
    assert!(
        text.starts_with("as the build for audience 'internal' sees it:\n"),
        "{text}"
    );
    assert!(text.contains("kb/staff/"), "{text}");
}
