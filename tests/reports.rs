//! Reports, notifications and the CI gate, told through one site with a page in every status
//! and every kind of finding: what `status.json`, `desync.json`, `outdated.json` and
//! `notifications.json` say about it, who is told what, which commands fail CI, and what
//! `imprimatur log` shows of each record.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use imprimatur::trust::record::{Kind, Record};
use serde_json::{json, Value};

use crate::util::{stdout, TestSite};

const NOW: &str = "2026-11-20T12:00:00Z";

/// Two steps in order; reminders after 7 (escalation) and 14 (stale) days.
const KB_POLICY: &str = "\
title: Knowledge Base
contributors: [group:writers]
managers: [carol]
escalate_after_days: 7
stale_after_days: 14
steps:
  - name: technical
    approvers: [group:engineering]
    min_approvals: 1
  - name: legal
    approvers: [group:legal]
    min_approvals: 1
";

/// Manual publishing; approvals are due again after 30 days, and stay live meanwhile.
const REL_POLICY: &str = "\
title: Release Notes
contributors: [group:writers]
managers: [carol]
publishers: [carol]
auto_publish: false
approval_expires_days: 30
on_expiry: flag
steps:
  - name: technical
    approvers: [group:engineering]
    min_approvals: 1
";

/// Approvals expire after 30 days, and the page goes offline.
const ARCH_POLICY: &str = "\
title: Archive
contributors: [group:writers]
managers: [carol]
approval_expires_days: 30
on_expiry: unpublish
steps:
  - name: technical
    approvers: [group:engineering]
    min_approvals: 1
";

/// The spec's fields of a `status.json` page (SPEC §9).
const PAGE_FIELDS: [&str; 11] = [
    "id",
    "space",
    "status",
    "title",
    "current_version",
    "current_state",
    "published_version",
    "step",
    "waiting_on",
    "pending_since",
    "url",
];

const DEFECTS: [&str; 7] = [
    "invalid_record",
    "out_of_turn",
    "broken_link",
    "store_missing",
    "output_drift",
    "orphan_record",
    "no_policy",
];

fn cast(site: &mut TestSite) -> &mut TestSite {
    site.reviewer("wanda", &["writers"])
        .reviewer("erin", &["writers", "engineering"])
        .reviewer("alice", &["engineering"])
        .reviewer("bob", &["engineering"])
        .reviewer("dave", &["legal"])
        .reviewer("carol", &["leads"])
}

fn submit(site: &TestSite, who: &str, page: &str, at: &str) {
    site.sign(who, Kind::Submit, page, &[], at);
}

fn approve(site: &TestSite, who: &str, page: &str, step: &str, at: &str) {
    site.sign(who, Kind::Approve, page, &["--step", step], at);
}

/// wanda submits at `<day>T09`, alice approves technical at 10, dave legal at 11.
fn through_kb_review(site: &TestSite, page: &str, day: &str) {
    submit(site, "wanda", page, &format!("{day}T09:00:00Z"));
    approve(
        site,
        "alice",
        page,
        "technical",
        &format!("{day}T10:00:00Z"),
    );
    approve(site, "dave", page, "legal", &format!("{day}T11:00:00Z"));
}

fn blob_of(version: &str) -> String {
    let hex = version.strip_prefix("sha256:").unwrap();
    format!("approvals/store/{}/{}", &hex[..2], &hex[2..])
}

/// One site, one page in every status and every finding kind. `versions` holds each page's
/// current version, and `kb/outdated@live` and `kb/lost@live` the versions approved before
/// their edits.
struct Everything {
    site: TestSite,
    versions: BTreeMap<String, String>,
}

impl Everything {
    fn v(&self, key: &str) -> &str {
        &self.versions[key]
    }
}

/// The site is made once (it takes a few dozen signatures) and copied into a fresh folder
/// for every test, so tests stay independent and may build, sign and edit as they like.
fn everything() -> Everything {
    type Made = (Vec<(String, Vec<u8>)>, BTreeMap<String, String>);
    static MADE: OnceLock<Made> = OnceLock::new();
    let (files, versions) = MADE.get_or_init(|| {
        let e = make_everything();
        let files = ["content", "approvals", "output", "reports"]
            .iter()
            .flat_map(|dir| e.site.files_under(dir))
            .collect();
        (files, e.versions)
    });
    let mut site = TestSite::new();
    cast(&mut site);
    for (rel, bytes) in files {
        let path = site.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    Everything {
        site,
        versions: versions.clone(),
    }
}

fn make_everything() -> Everything {
    let mut site = TestSite::new();
    cast(&mut site)
        .policy("kb", KB_POLICY)
        .policy("rel", REL_POLICY)
        .policy("arch", ARCH_POLICY);
    for (id, title) in [
        ("kb/draft", "A draft"),
        ("kb/pending", "A pending page"),
        ("kb/stuck", "A stuck page"),
        ("kb/rejected", "A rejected page"),
        ("kb/published", "A published page"),
        ("kb/outdated", "An outdated page"),
        ("kb/lost", "A lost page"),
        ("kb/gone", "A deleted page"),
        ("rel/notes", "Release notes"),
        ("rel/manual", "Manual release"),
        ("arch/legacy", "Legacy"),
        ("misc/note", "No policy here"),
    ] {
        site.page(&format!("{id}.md"), title, &format!("The text of {id}.\n"));
    }
    site.file(
        "content/kb/scheduled.md",
        "---\ntitle: A scheduled page\npublish_at: 2026-12-01T00:00:00Z\n---\n\nSoon.\n",
    )
    .file(
        "content/kb/expired.md",
        "---\ntitle: An expired page\nexpires_at: 2026-11-15T00:00:00Z\n---\n\nOld.\n",
    )
    .page(
        "kb/links.md",
        "A page with links",
        "See [the published one](published.md) and [the draft](draft.md).\n",
    );

    // Pending at technical, submitted by erin, an engineer herself.
    submit(&site, "erin", "kb/pending", "2026-11-19T09:00:00Z");
    // Pending at technical for 19 days: escalated and stale.
    submit(&site, "wanda", "kb/stuck", "2026-11-01T09:00:00Z");
    // Rejected in technical.
    submit(&site, "wanda", "kb/rejected", "2026-11-18T09:00:00Z");
    site.sign(
        "alice",
        Kind::Reject,
        "kb/rejected",
        &["--step", "technical", "--comment", "Wrong port"],
        "2026-11-18T10:00:00Z",
    );
    through_kb_review(&site, "kb/scheduled", "2026-11-18");
    through_kb_review(&site, "kb/expired", "2026-11-10");
    through_kb_review(&site, "kb/links", "2026-11-18");

    // Published, with an out-of-turn approval, one by a reviewer outside the step, and a
    // forged one.
    submit(&site, "wanda", "kb/published", "2026-11-18T09:00:00Z");
    // Signed by hand: `approve` refuses to write a record the build would not count.
    let early = Record {
        step: Some("legal".into()),
        ..site.record_for(
            "dave",
            Kind::Approve,
            "kb/published",
            "2026-11-18T09:30:00Z",
        )
    };
    site.write_record_signed_by(
        "kb/published/20261118T093000Z-0002-approve-dave",
        &early,
        "dave",
    );
    let by_dave = Record {
        step: Some("technical".into()),
        ..site.record_for(
            "dave",
            Kind::Approve,
            "kb/published",
            "2026-11-18T09:45:00Z",
        )
    };
    site.write_record_signed_by("dave-technical", &by_dave, "dave");
    let forged = Record {
        step: Some("technical".into()),
        ..site.record_for(
            "alice",
            Kind::Approve,
            "kb/published",
            "2026-11-18T09:50:00Z",
        )
    };
    site.write_record_signed_by("forged", &forged, "bob");
    approve(
        &site,
        "alice",
        "kb/published",
        "technical",
        "2026-11-18T10:00:00Z",
    );
    approve(
        &site,
        "dave",
        "kb/published",
        "legal",
        "2026-11-18T11:00:00Z",
    );

    // Live, then edited and resubmitted: outdated, the edit pending.
    through_kb_review(&site, "kb/outdated", "2026-11-10");
    let outdated_live = site.version_of("kb/outdated").to_string();
    site.page("kb/outdated.md", "An outdated page", "Edited text.\n");
    submit(&site, "wanda", "kb/outdated", "2026-11-19T09:00:00Z");

    // Live, then edited, and the approved bytes lost from the store.
    through_kb_review(&site, "kb/lost", "2026-11-10");
    let lost_live = site.version_of("kb/lost").to_string();
    site.page("kb/lost.md", "A lost page", "Edited, never submitted.\n");
    std::fs::remove_file(site.path().join(blob_of(&lost_live))).unwrap();

    // A record about a page deleted since.
    submit(&site, "wanda", "kb/gone", "2026-11-18T09:00:00Z");
    std::fs::remove_file(site.path().join("content/kb/gone.md")).unwrap();

    // Release notes: published by hand 50 days ago, approval due again (flag: stays live).
    submit(&site, "wanda", "rel/notes", "2026-10-01T09:00:00Z");
    approve(
        &site,
        "alice",
        "rel/notes",
        "technical",
        "2026-10-01T10:00:00Z",
    );
    site.sign(
        "carol",
        Kind::Publish,
        "rel/notes",
        &[],
        "2026-10-01T11:00:00Z",
    );
    // Approved, waiting for a publish record.
    submit(&site, "wanda", "rel/manual", "2026-11-19T09:00:00Z");
    approve(
        &site,
        "alice",
        "rel/manual",
        "technical",
        "2026-11-19T10:00:00Z",
    );
    // Archive: approved 50 days ago, expired and offline.
    submit(&site, "wanda", "arch/legacy", "2026-10-01T09:00:00Z");
    approve(
        &site,
        "alice",
        "arch/legacy",
        "technical",
        "2026-10-01T10:00:00Z",
    );

    let mut versions = BTreeMap::new();
    for (rel, _) in site.files_under("content") {
        let id = rel
            .strip_prefix("content/")
            .unwrap()
            .strip_suffix(".md")
            .unwrap()
            .to_string();
        versions.insert(id.clone(), site.version_of(&id).to_string());
    }
    versions.insert("kb/outdated@live".into(), outdated_live);
    versions.insert("kb/lost@live".into(), lost_live);

    // A first build, and a hand edit of its output: drift for the next build to find.
    site.cmd(&["build", "--now", NOW]).success();
    site.file("output/kb/published/index.html", "DEFACED");
    Everything { site, versions }
}

fn read_json(site: &TestSite, rel: &str) -> Value {
    serde_json::from_str(&site.read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn by_id(status: &Value) -> BTreeMap<String, Value> {
    status["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap().to_string(), p.clone()))
        .collect()
}

fn kinds(findings: &Value) -> BTreeSet<String> {
    findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap().to_string())
        .collect()
}

/// The one notification of `event` about `page`.
fn notification<'a>(outbox: &'a Value, event: &str, page: &str) -> &'a Value {
    let found: Vec<&Value> = outbox["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["event"] == event && n["page"] == page)
        .collect();
    assert_eq!(found.len(), 1, "one {event} about {page}: {outbox:#}");
    found[0]
}

fn recipients(n: &Value) -> Vec<(String, String)> {
    n["to"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["reviewer"].as_str().unwrap().to_string(),
                r["email"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn to(ids: &[&str]) -> Vec<(String, String)> {
    ids.iter()
        .map(|id| (id.to_string(), format!("{id}@example.com")))
        .collect()
}

// --- 1. every status, every finding ---------------------------------------------------------

#[test]
fn status_json_gives_every_page_its_status_state_step_and_who_it_waits_on() {
    let e = everything();
    let site = &e.site;
    site.cmd(&["build", "--now", NOW]).success();
    let status = read_json(site, "reports/status.json");
    assert_eq!(status["now"], NOW);
    let pages = by_id(&status);
    assert_eq!(
        pages.keys().collect::<Vec<_>>(),
        [
            "arch/legacy",
            "kb/draft",
            "kb/expired",
            "kb/links",
            "kb/lost",
            "kb/outdated",
            "kb/pending",
            "kb/published",
            "kb/rejected",
            "kb/scheduled",
            "kb/stuck",
            "misc/note",
            "rel/manual",
            "rel/notes",
        ]
    );
    for (id, page) in &pages {
        for field in PAGE_FIELDS {
            assert!(page.get(field).is_some(), "{id} has {field}: {page:#}");
        }
    }

    let nothing_live = |id: &str, status: &str, state: &str, title: &str| {
        json!({"id": id, "space": id.split('/').next().unwrap(), "status": status,
            "title": title, "current_version": e.v(id), "current_state": state,
            "published_version": null, "step": null, "waiting_on": [],
            "pending_since": null, "url": null})
    };
    let live = |id: &str, status: &str, title: &str| {
        json!({"id": id, "space": id.split('/').next().unwrap(), "status": status,
            "title": title, "current_version": e.v(id), "current_state": "published",
            "published_version": e.v(id), "step": null, "waiting_on": [],
            "pending_since": null, "url": format!("{id}/")})
    };
    let expected = [
        nothing_live("kb/draft", "draft", "draft", "A draft"),
        json!({"id": "kb/pending", "space": "kb", "status": "pending", "title": "A pending page",
            "current_version": e.v("kb/pending"), "current_state": "pending",
            "published_version": null, "step": "technical", "waiting_on": ["alice", "bob"],
            "pending_since": "2026-11-19T09:00:00Z", "url": null}),
        json!({"id": "kb/stuck", "space": "kb", "status": "pending", "title": "A stuck page",
            "current_version": e.v("kb/stuck"), "current_state": "pending",
            "published_version": null, "step": "technical",
            "waiting_on": ["alice", "bob", "erin"],
            "pending_since": "2026-11-01T09:00:00Z", "url": null}),
        nothing_live("kb/rejected", "rejected", "rejected", "A rejected page"),
        nothing_live("kb/scheduled", "scheduled", "scheduled", "A scheduled page"),
        nothing_live("rel/manual", "approved", "approved", "Manual release"),
        live("kb/published", "published", "A published page"),
        live("kb/links", "published", "A page with links"),
        json!({"id": "kb/outdated", "space": "kb", "status": "outdated",
            "title": "An outdated page", "current_version": e.v("kb/outdated"),
            "current_state": "pending", "published_version": e.v("kb/outdated@live"),
            "step": "technical", "waiting_on": ["alice", "bob", "erin"],
            "pending_since": "2026-11-19T09:00:00Z", "url": "kb/outdated/"}),
        // expires_at has passed: offline.
        nothing_live("kb/expired", "expired", "published", "An expired page"),
        // approval_expires_days with on_expiry: flag: still live, marked expired.
        live("rel/notes", "expired", "Release notes"),
        // approval_expires_days with on_expiry: unpublish: offline.
        nothing_live("arch/legacy", "expired", "published", "Legacy"),
        nothing_live("misc/note", "draft", "draft", "No policy here"),
    ];
    for want in expected {
        let id = want["id"].as_str().unwrap();
        let got = &pages[id];
        for field in PAGE_FIELDS {
            assert_eq!(got[field], want[field], "{id}.{field}: {got:#}");
        }
    }
    // The lost page: its approved bytes are gone, so nothing is live.
    let lost = &pages["kb/lost"];
    assert_eq!(lost["published_version"], Value::Null);
    assert_eq!(lost["url"], Value::Null);
    assert_eq!(lost["current_version"], e.v("kb/lost"));
    assert_eq!(lost["current_state"], "draft");
}

#[test]
fn findings_cover_every_kind_and_desync_lists_exactly_the_defects() {
    let e = everything();
    let site = &e.site;
    site.cmd(&["build", "--now", NOW]).success();
    let status = read_json(site, "reports/status.json");
    let findings = status["findings"].as_array().unwrap();
    let find =
        |kind: &str| -> Vec<&Value> { findings.iter().filter(|f| f["kind"] == kind).collect() };

    assert_eq!(
        kinds(&status["findings"]),
        [
            "broken_link",
            "escalation",
            "invalid_record",
            "no_policy",
            "orphan_record",
            "out_of_turn",
            "output_drift",
            "review_due",
            "stale",
            "store_missing",
        ]
        .into_iter()
        .map(String::from)
        .collect::<BTreeSet<_>>()
    );

    // invalid_record: the forged signature (also in invalid_records) and the lawyer acting in
    // the technical step.
    let invalid = find("invalid_record");
    assert_eq!(invalid.len(), 2, "{invalid:#?}");
    let forged = invalid
        .iter()
        .find(|f| f["file"] == "approvals/records/forged.yaml")
        .expect("the forged record");
    assert_eq!(forged["page"], Value::Null);
    let outsider = invalid
        .iter()
        .find(|f| f["file"] == "approvals/records/dave-technical.yaml")
        .expect("dave in the technical step");
    assert_eq!(outsider["page"], "kb/published");
    assert!(outsider["detail"].as_str().unwrap().contains("technical"));
    let records = status["invalid_records"].as_array().unwrap();
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0]["file"], "approvals/records/forged.yaml");
    assert!(!records[0]["reason"].as_str().unwrap().is_empty());

    let out_of_turn = find("out_of_turn");
    assert_eq!(out_of_turn.len(), 1);
    assert_eq!(out_of_turn[0]["page"], "kb/published");
    assert!(out_of_turn[0]["file"]
        .as_str()
        .unwrap()
        .starts_with("approvals/records/kb/published/20261118T093000Z"));

    let broken = find("broken_link");
    assert_eq!(broken.len(), 1);
    assert_eq!(broken[0]["page"], "kb/links");
    assert!(broken[0]["detail"].as_str().unwrap().contains("'draft.md'"));

    let missing = find("store_missing");
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0]["page"], "kb/lost");
    assert!(missing[0]["detail"]
        .as_str()
        .unwrap()
        .contains(&blob_of(e.v("kb/lost@live"))));

    let drift = find("output_drift");
    assert_eq!(drift.len(), 1);
    assert_eq!(drift[0]["file"], "output/kb/published/index.html");

    let orphan = find("orphan_record");
    assert_eq!(orphan.len(), 1);
    assert_eq!(orphan[0]["page"], "kb/gone");

    let no_policy = find("no_policy");
    assert_eq!(no_policy.len(), 1);
    assert!(no_policy[0]["detail"].as_str().unwrap().contains("'misc'"));

    let stale = find("stale");
    assert_eq!(stale.len(), 1);
    assert_eq!(stale[0]["page"], "kb/stuck");
    let escalation = find("escalation");
    assert_eq!(escalation.len(), 1);
    assert_eq!(escalation[0]["page"], "kb/stuck");
    let due: BTreeSet<&str> = find("review_due")
        .iter()
        .map(|f| f["page"].as_str().unwrap())
        .collect();
    assert_eq!(due, ["arch/legacy", "rel/notes"].into_iter().collect());

    // desync.json: exactly the defects, in the same order.
    let desync = read_json(site, "reports/desync.json");
    assert_eq!(desync["now"], NOW);
    let defects: Vec<&Value> = findings
        .iter()
        .filter(|f| DEFECTS.contains(&f["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        desync["findings"]
            .as_array()
            .unwrap()
            .iter()
            .collect::<Vec<_>>(),
        defects
    );
    assert_eq!(
        kinds(&desync["findings"]),
        DEFECTS
            .into_iter()
            .map(String::from)
            .collect::<BTreeSet<_>>()
    );
}

#[test]
fn outdated_json_lists_exactly_the_live_pages_whose_draft_moved_on() {
    let e = everything();
    let site = &e.site;
    site.cmd(&["build", "--now", NOW]).success();
    let outdated = read_json(site, "reports/outdated.json");
    assert_eq!(outdated["now"], NOW);
    let pages = outdated["pages"].as_array().unwrap();
    assert_eq!(pages.len(), 1, "{outdated:#}");
    let p = &pages[0];
    assert_eq!(p["id"], "kb/outdated");
    assert_eq!(p["space"], "kb");
    assert_eq!(p["url"], "kb/outdated/");
    assert_eq!(p["published_version"], e.v("kb/outdated@live"));
    assert_eq!(p["current_version"], e.v("kb/outdated"));
    assert_eq!(p["current_state"], "pending");
    assert_eq!(p["live_since"], "2026-11-10T11:00:00Z");
    assert_eq!(p["draft_submitted_at"], "2026-11-19T09:00:00Z");
}

#[test]
fn notifications_tell_each_person_what_they_must_hear_now() {
    let e = everything();
    let site = &e.site;
    site.cmd(&["build", "--now", NOW]).success();
    let outbox = read_json(site, "reports/notifications.json");
    let all = outbox["notifications"].as_array().unwrap();
    assert!(!all.is_empty());
    for n in all {
        let fields: BTreeSet<&str> = n.as_object().unwrap().keys().map(String::as_str).collect();
        for field in [
            "id", "event", "page", "version", "step", "to", "reason", "since",
        ] {
            assert!(fields.contains(field), "{field} in {n:#}");
        }
        assert!(!n["id"].as_str().unwrap().is_empty());
        assert!(imprimatur::time::parse_signed_at(n["since"].as_str().unwrap()).is_some());
        for r in n["to"].as_array().unwrap() {
            assert!(
                r.get("reviewer").is_some() && r.get("email").is_some(),
                "{r}"
            );
        }
    }
    let ids: BTreeSet<&str> = all.iter().map(|n| n["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), all.len(), "ids are unique");

    // review_requested: only the current step's waiting_on — not erin (she submitted it), not
    // dave (the next step), not carol (a manager).
    let asked = notification(&outbox, "review_requested", "kb/pending");
    assert_eq!(recipients(asked), to(&["alice", "bob"]));
    assert_eq!(asked["version"], e.v("kb/pending"));
    assert_eq!(asked["step"], "technical");
    assert_eq!(asked["since"], "2026-11-19T09:00:00Z");
    let asked = notification(&outbox, "review_requested", "kb/outdated");
    assert_eq!(recipients(asked), to(&["alice", "bob", "erin"]));
    assert_eq!(
        asked["version"],
        e.v("kb/outdated"),
        "the version in review"
    );

    // Escalation: upwards, to the next step's approvers and the managers.
    let escalation = notification(&outbox, "escalation", "kb/stuck");
    assert_eq!(recipients(escalation), to(&["carol", "dave"]));
    assert_eq!(escalation["step"], "technical");
    assert_eq!(escalation["version"], e.v("kb/stuck"));
    assert_eq!(escalation["since"], "2026-11-08T09:00:00Z");
    // Stale: to the managers.
    let stale = notification(&outbox, "stale", "kb/stuck");
    assert_eq!(recipients(stale), to(&["carol"]));
    assert_eq!(stale["since"], "2026-11-15T09:00:00Z");
    assert_eq!(
        recipients(notification(&outbox, "review_requested", "kb/stuck")),
        to(&["alice", "bob", "erin"])
    );

    // Rejected: the submitter, with the comment.
    let rejected = notification(&outbox, "rejected", "kb/rejected");
    assert_eq!(recipients(rejected), to(&["wanda"]));
    assert_eq!(rejected["step"], "technical");
    assert!(rejected["reason"].as_str().unwrap().contains("Wrong port"));
    assert_eq!(rejected["since"], "2026-11-18T10:00:00Z");

    // Approved, waiting for a publish record: the submitter and who may publish.
    let approved = notification(&outbox, "approved", "rel/manual");
    assert_eq!(recipients(approved), to(&["carol", "wanda"]));
    assert_eq!(approved["since"], "2026-11-19T10:00:00Z");

    // Published: the submitter.
    let published = notification(&outbox, "published", "kb/published");
    assert_eq!(recipients(published), to(&["wanda"]));
    assert_eq!(published["version"], e.v("kb/published"));
    assert_eq!(published["since"], "2026-11-18T11:00:00Z");
    let published = notification(&outbox, "published", "kb/outdated");
    assert_eq!(published["version"], e.v("kb/outdated@live"));

    // Nobody is asked to review what is not in review.
    let requested: BTreeSet<&str> = all
        .iter()
        .filter(|n| n["event"] == "review_requested")
        .map(|n| n["page"].as_str().unwrap())
        .collect();
    assert_eq!(
        requested,
        ["kb/outdated", "kb/pending", "kb/stuck"]
            .into_iter()
            .collect()
    );
}

// --- 2. stable notification ids -------------------------------------------------------------

#[test]
fn notification_ids_stay_the_same_while_nothing_changes_and_follow_the_review() {
    let mut site = TestSite::new();
    cast(&mut site)
        .policy("kb", KB_POLICY)
        .page("kb/install.md", "Install", "Text.\n")
        .page("kb/stuck.md", "Stuck", "Text.\n");
    submit(&site, "wanda", "kb/install", "2026-11-19T09:00:00Z");
    submit(&site, "wanda", "kb/stuck", "2026-11-01T09:00:00Z");

    site.cmd(&["build", "--now", NOW]).success();
    let first = site.read("reports/notifications.json");
    // Later, nothing changed: the same outbox, byte for byte.
    site.cmd(&["build", "--now", "2026-11-20T18:00:00Z"])
        .success();
    assert_eq!(site.read("reports/notifications.json"), first);
    let first: Value = serde_json::from_str(&first).unwrap();
    let asked = notification(&first, "review_requested", "kb/install").clone();
    assert_eq!(recipients(&asked), to(&["alice", "bob", "erin"]));
    let stuck_ids: Vec<Value> = first["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["page"] == "kb/stuck")
        .map(|n| n["id"].clone())
        .collect();
    assert_eq!(stuck_ids.len(), 3, "review_requested, escalation, stale");

    // Technical passes: a new request (to legal), with a new id; the old one is gone.
    approve(
        &site,
        "alice",
        "kb/install",
        "technical",
        "2026-11-20T13:00:00Z",
    );
    site.cmd(&["build", "--now", "2026-11-20T14:00:00Z"])
        .success();
    let second = read_json(&site, "reports/notifications.json");
    let asked_legal = notification(&second, "review_requested", "kb/install");
    assert_eq!(asked_legal["step"], "legal");
    assert_eq!(recipients(asked_legal), to(&["dave"]));
    assert_ne!(asked_legal["id"], asked["id"]);
    let ids: Vec<&Value> = second["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["id"])
        .collect();
    assert!(!ids.contains(&&asked["id"]));
    // The untouched page keeps its ids.
    let still: Vec<Value> = second["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["page"] == "kb/stuck")
        .map(|n| n["id"].clone())
        .collect();
    assert_eq!(still, stuck_ids);
}

// --- 3. the CI gate and --format json ---------------------------------------------------------

fn clean_site() -> TestSite {
    let mut site = TestSite::new();
    cast(&mut site)
        .policy("kb", KB_POLICY)
        .page("kb/install.md", "Install", "Text.\n");
    through_kb_review(&site, "kb/install", "2026-11-18");
    site
}

#[test]
fn strict_build_and_verify_exit_3_on_findings_and_0_without() {
    let site = clean_site();
    site.cmd(&["build", "--now", NOW, "--strict"]).code(0);
    site.cmd(&["verify", "--now", NOW]).code(0);
    site.cmd(&["status", "--now", NOW]).code(0);

    // A record by someone outside the step: an invalid record.
    let record = Record {
        step: Some("legal".into()),
        ..site.record_for("bob", Kind::Approve, "kb/install", "2026-11-19T10:00:00Z")
    };
    site.write_record_signed_by("bob-legal", &record, "bob");
    site.cmd(&["build", "--now", NOW]).code(0);
    let strict = site.cmd(&["build", "--now", NOW, "--strict"]).code(3);
    assert!(
        stdout(&strict).contains("invalid_record"),
        "{}",
        stdout(&strict)
    );
    assert!(
        site.exists("output/kb/install/index.html"),
        "output written"
    );
    assert!(site.exists("reports/desync.json"), "reports written");
    let verify = site.cmd(&["verify", "--now", NOW]).code(3);
    assert!(stdout(&verify).contains("approvals/records/bob-legal.yaml"));
    site.cmd(&["status", "--now", NOW]).code(0);

    // Reminders are not defects: a stale page alone passes the gate.
    std::fs::remove_file(site.path().join("approvals/records/bob-legal.yaml")).unwrap();
    let mut site = site;
    site.page("kb/stuck.md", "Stuck", "Text.\n");
    submit(&site, "wanda", "kb/stuck", "2026-11-01T09:00:00Z");
    site.cmd(&["build", "--now", NOW, "--strict"]).code(0);
    site.cmd(&["verify", "--now", NOW]).code(0);
    let status = read_json(&site, "reports/status.json");
    assert_eq!(
        kinds(&status["findings"]),
        ["escalation", "stale"]
            .into_iter()
            .map(String::from)
            .collect()
    );
}

#[test]
fn verify_exits_3_on_a_broken_link_like_strict_build() {
    let mut site = clean_site();
    site.page("kb/install.md", "Install", "See [the FAQ](faq.md).\n")
        .page("kb/faq.md", "FAQ", "Questions.\n");
    through_kb_review(&site, "kb/install", "2026-11-19");
    site.cmd(&["build", "--now", NOW, "--strict"]).code(3);
    site.cmd(&["verify", "--now", NOW]).code(3);
}

#[test]
fn format_json_prints_the_status_json_object_on_build_status_and_verify() {
    let e = everything();
    let site = &e.site;
    let json_of = |args: &[&str], code: i32| -> Value {
        let out = site.cmd(args).code(code);
        serde_json::from_slice(&out.get_output().stdout)
            .unwrap_or_else(|err| panic!("{args:?} prints JSON: {err}"))
    };

    let built = json_of(&["build", "--now", NOW, "--format", "json"], 0);
    assert_eq!(built, read_json(site, "reports/status.json"));
    assert!(kinds(&built["findings"]).contains("output_drift"));
    assert_eq!(built["pages"].as_array().unwrap().len(), 14);

    let strict = json_of(&["build", "--now", NOW, "--format", "json", "--strict"], 3);
    assert_eq!(strict["pages"], built["pages"]);

    let status = json_of(&["status", "--now", NOW, "--format", "json"], 0);
    assert_eq!(status, read_json(site, "reports/status.json"));
    assert_eq!(status["pages"], built["pages"]);
    assert_eq!(status["invalid_records"], built["invalid_records"]);

    let verified = json_of(&["verify", "--now", NOW, "--format", "json"], 3);
    assert_eq!(verified["now"], NOW);
    assert_eq!(verified["pages"], built["pages"]);
    assert_eq!(verified["invalid_records"], built["invalid_records"]);
    assert!(kinds(&verified["findings"]).contains("invalid_record"));
}

// --- 4. the human reports ---------------------------------------------------------------------

#[test]
fn the_dashboard_and_summary_name_the_queue_who_it_waits_on_and_the_findings() {
    let e = everything();
    let site = &e.site;
    site.cmd(&["build", "--now", NOW]).success();
    let summary = site.read("reports/summary.md");
    let html = site.read("reports/index.html");
    for (name, text) in [("summary.md", &summary), ("index.html", &html)] {
        for needle in [
            "kb/pending",
            "kb/stuck",
            "alice, bob",
            "kb/outdated",
            "broken_link",
            "store_missing",
            "output_drift",
            "invalid_record",
            "escalation",
        ] {
            assert!(text.contains(needle), "{name} mentions {needle}:\n{text}");
        }
    }
    let queue_row = summary
        .lines()
        .find(|l| l.starts_with("| `kb/pending`"))
        .unwrap_or_else(|| panic!("a queue row for kb/pending:\n{summary}"));
    assert!(queue_row.contains("technical (1/2)"), "{queue_row}");
    assert!(queue_row.contains("| alice, bob |"), "{queue_row}");
    assert!(queue_row.contains("by erin"), "{queue_row}");

    // Nothing of reports/ is inside output/.
    let reports: Vec<(String, Vec<u8>)> = site.files_under("reports");
    assert!(reports.len() >= 6);
    for (path, bytes) in site.all_output_files() {
        for (report, report_bytes) in &reports {
            let name = report.rsplit('/').next().unwrap();
            assert!(
                !path.ends_with(&format!("/{name}")) || name == "index.html",
                "{path} looks like {report}"
            );
            assert_ne!(&bytes, report_bytes, "{path} is a copy of {report}");
        }
        let text = String::from_utf8_lossy(&bytes);
        for needle in [
            "kb/pending",
            "waiting_on",
            "invalid_records",
            "A pending page",
        ] {
            assert!(!text.contains(needle), "{path} contains {needle}");
        }
    }
}

// --- 5. the audit log -------------------------------------------------------------------------

#[test]
fn log_lists_every_record_of_a_page_counted_or_not_with_the_reason() {
    let e = everything();
    let site = &e.site;
    let out = site
        .cmd(&["log", "kb/published", "--format", "json", "--now", NOW])
        .success();
    let log: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(log["page"], "kb/published");
    assert_eq!(log["status"], "published");
    assert_eq!(log["current_version"], e.v("kb/published"));
    let entries = log["entries"].as_array().unwrap();
    let record_files: Vec<String> = site
        .files_under("approvals/records")
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| {
            p.starts_with("approvals/records/kb/published/")
                || !p["approvals/records/".len()..].contains('/')
        })
        .collect();
    assert_eq!(entries.len(), record_files.len(), "{log:#}");
    assert_eq!(entries.len(), 6);

    let summary: Vec<(&str, &str, bool, Option<&str>)> = entries
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap(),
                e["reviewer"].as_str().unwrap(),
                e["counted"].as_bool().unwrap(),
                e["finding"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("submit", "wanda", true, None),
            ("approve", "dave", false, Some("out_of_turn")),
            ("approve", "dave", false, Some("invalid_record")),
            ("approve", "alice", false, Some("invalid_record")),
            ("approve", "alice", true, None),
            ("approve", "dave", true, None),
        ]
    );
    let signed: Vec<&str> = entries
        .iter()
        .map(|e| e["signed_at"].as_str().unwrap())
        .collect();
    assert_eq!(
        signed,
        [
            "2026-11-18T09:00:00Z",
            "2026-11-18T09:30:00Z",
            "2026-11-18T09:45:00Z",
            "2026-11-18T09:50:00Z",
            "2026-11-18T10:00:00Z",
            "2026-11-18T11:00:00Z",
        ]
    );
    assert_eq!(entries[2]["file"], "approvals/records/dave-technical.yaml");
    assert_eq!(entries[3]["file"], "approvals/records/forged.yaml");
    for e in entries {
        assert!(!e["note"].as_str().unwrap().is_empty(), "a reason: {e}");
        for field in ["file", "key", "version", "step", "role", "comment"] {
            assert!(e.get(field).is_some(), "{field} in {e}");
        }
    }
    assert!(
        entries[1]["note"].as_str().unwrap().contains("technical"),
        "{}",
        entries[1]
    );
    assert!(
        entries[2]["note"].as_str().unwrap().contains("'dave'"),
        "{}",
        entries[2]
    );
}

// --- 6. plain text for pipes ------------------------------------------------------------------

#[test]
fn text_output_has_no_colour_codes_when_not_on_a_terminal_or_with_no_color() {
    let e = everything();
    let site = &e.site;
    let run = |args: &[&str], no_color: bool| -> String {
        let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_imprimatur"));
        cmd.current_dir(site.path())
            .env_remove("SOURCE_DATE_EPOCH")
            .env_remove("CLICOLOR_FORCE")
            .args(args)
            .arg("--site")
            .arg(site.path());
        if no_color {
            cmd.env("NO_COLOR", "1");
        } else {
            cmd.env_remove("NO_COLOR");
        }
        String::from_utf8(cmd.assert().get_output().stdout.clone()).unwrap()
    };
    for no_color in [false, true] {
        for args in [
            &["status", "--now", NOW][..],
            &["build", "--now", NOW],
            &["verify", "--now", NOW],
            &["log", "kb/published", "--now", NOW],
        ] {
            let out = run(args, no_color);
            assert!(!out.is_empty(), "{args:?} prints");
            assert!(
                !out.contains('\x1b'),
                "{args:?} (NO_COLOR={no_color}): {out:?}"
            );
        }
    }
    // The table still says everything.
    let table = run(&["status", "--now", NOW], false);
    let row = table
        .lines()
        .find(|l| l.starts_with("kb/pending "))
        .unwrap();
    assert!(
        row.contains("pending") && row.contains("alice, bob"),
        "{row}"
    );
    assert!(table.contains("store_missing"), "{table}");
}

// --- waiting_on: everyone a step still needs (SPEC §9) --------------------------------------

/// A step needs two approvals, one of them alice's: until two are certain, every engineer
/// hears of the review, not only alice; once bob approved, alice alone is asked.
#[test]
fn a_step_short_of_approvals_asks_every_undecided_approver_not_only_the_required_one() {
    let mut site = TestSite::new();
    site.reviewer("wanda", &["writers"])
        .reviewer("alice", &["engineering"])
        .reviewer("bob", &["engineering"])
        .reviewer("erin", &["engineering"])
        .reviewer("carol", &[])
        .policy(
            "kb",
            "title: Knowledge Base\ncontributors: [group:writers]\nmanagers: [carol]\nsteps:\n  - name: technical\n    approvers: [group:engineering]\n    min_approvals: 2\n    required: [alice]\n",
        )
        .page("kb/install.md", "Install the agent", "Words.\n");
    site.sign(
        "wanda",
        Kind::Submit,
        "kb/install",
        &[],
        "2026-11-19T09:00:00Z",
    );

    site.cmd(&["build", "--now", NOW]).success();
    let asked = |site: &TestSite| {
        let status = read_json(site, "reports/status.json");
        let waiting =
            crate::util::strings(&crate::util::page_entry(&status, "kb/install")["waiting_on"]);
        let outbox = read_json(site, "reports/notifications.json");
        (
            waiting,
            recipients(notification(&outbox, "review_requested", "kb/install")),
        )
    };
    let (waiting, told) = asked(&site);
    assert_eq!(waiting, ["alice", "bob", "erin"], "status.json");
    assert_eq!(told, to(&["alice", "bob", "erin"]), "notifications.json");
    assert_eq!(
        crate::util::strings(&site.page_status(NOW, "kb/install")["waiting_on"]),
        ["alice", "bob", "erin"],
        "status --format json"
    );

    // bob approves: his and alice's approvals make two, so only alice is still asked.
    site.sign(
        "bob",
        Kind::Approve,
        "kb/install",
        &["--step", "technical"],
        "2026-11-19T10:00:00Z",
    );
    site.cmd(&["build", "--now", NOW]).success();
    let (waiting, told) = asked(&site);
    assert_eq!(waiting, ["alice"], "status.json");
    assert_eq!(told, to(&["alice"]), "notifications.json");
}
