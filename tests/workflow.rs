//! Workflow parity (docs/workflow.md), told through the real binary: a writer assigns who
//! reviews, a manager re-assigns, approvals need comments where a space says so, an edit
//! cancels a review, every version of a page is listed and an earlier one restored into
//! `content/`, the whole site's records are audited (filters, CSV), and a writer submits
//! all their changed pages in one go and sees their own pages.

use imprimatur::trust::record::Kind;
use serde_json::Value;

use crate::util::{findings_of, page_entry, strings, TestSite};

const DAY1: &str = "2026-11-02T09:00:00Z";
const DAY2: &str = "2026-11-03T09:00:00Z";
const DAY3: &str = "2026-11-04T09:00:00Z";
const DAY4: &str = "2026-11-05T09:00:00Z";
const NOW: &str = "2026-11-20T12:00:00Z";
const PAGE: &str = "kb/install";

/// One technical step; carol manages the space.
const KB: &str = "\
contributors: [group:writers]
managers: [carol]
steps:
  - name: technical
    approvers: [group:engineering]
    min_approvals: 1
";

fn site_with(policy: &str) -> TestSite {
    let mut site = TestSite::new();
    site.reviewer("wanda", &["writers"])
        .reviewer("walt", &["writers"])
        .reviewer("raj", &["engineering"])
        .reviewer("eli", &["engineering"])
        .reviewer("bob", &["engineering"])
        .reviewer("dave", &["legal"])
        .reviewer("carol", &["leads"])
        .policy("kb", policy)
        .page(
            "kb/install.md",
            "Install the agent",
            "Run `agent install`.\n",
        );
    site
}

fn json_of(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).expect("the command prints JSON")
}

// --- 1. assigned reviewers --------------------------------------------------------------------

#[test]
fn assigned_reviewers_alone_review_all_must_approve_and_a_manager_re_assigns() {
    let site = site_with(KB);
    let out = site
        .imprimatur(&["submit", PAGE, "--assign", "technical=raj,eli"])
        .by("wanda")
        .at(DAY1)
        .run();
    let record = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        site.read(&record)
            .contains("assign:\n  technical:\n  - \"eli\"\n  - \"raj\"\n"),
        "{}",
        site.read(&record)
    );
    let entry = site.page_status(NOW, PAGE);
    assert_eq!(strings(&entry["waiting_on"]), ["eli", "raj"]);

    site.imprimatur(&["approve", PAGE, "--step", "technical"])
        .story("bob is an engineer, but not assigned")
        .by("bob")
        .at(DAY2)
        .exits(1)
        .stderr_has("'bob' is not assigned to step 'technical'")
        .signs_nothing()
        .run();
    site.sign("raj", Kind::Approve, PAGE, &["--step", "technical"], DAY2);
    let entry = site.page_status(NOW, PAGE);
    assert_eq!(entry["status"], "pending", "one of two assignees approved");
    assert_eq!(strings(&entry["waiting_on"]), ["eli"]);

    site.imprimatur(&["assign", PAGE, "--step", "technical", "bob,raj"])
        .story("a writer may not re-assign")
        .by("wanda")
        .at(DAY3)
        .exits(1)
        .stderr_has("only a manager")
        .signs_nothing()
        .run();
    site.imprimatur(&["assign", PAGE, "--step", "technical", "bob,raj"])
        .by("carol")
        .at(DAY3)
        .run();
    let entry = site.page_status(NOW, PAGE);
    assert_eq!(
        strings(&entry["waiting_on"]),
        ["bob"],
        "raj's approval stays; eli is no longer asked"
    );
    site.imprimatur(&["approve", PAGE, "--step", "technical"])
        .by("eli")
        .at(DAY4)
        .exits(1)
        .stderr_has("not assigned")
        .signs_nothing()
        .run();
    site.sign("bob", Kind::Approve, PAGE, &["--step", "technical"], DAY4);
    assert_eq!(site.page_status(NOW, PAGE)["status"], "published");
    site.imprimatur(&["log", PAGE])
        .at(NOW)
        .stdout_has("step 'technical' assigned to bob, raj by 'carol'")
        .run();
}

#[test]
fn a_submit_assigning_someone_who_may_not_review_the_step_is_refused() {
    let site = site_with(KB);
    for (assign, why) in [
        (
            "technical=raj,dave",
            "'dave' may not be assigned to step 'technical'",
        ),
        ("security=raj", "step 'security' is not a step"),
        ("technical=raj,raj", "names 'raj' twice"),
        ("technical", "is not STEP=ID,ID"),
    ] {
        site.imprimatur(&["submit", PAGE, "--assign", assign])
            .by("wanda")
            .at(DAY1)
            .exits(if why.contains("twice") || why.contains("STEP=") {
                2
            } else {
                1
            })
            .stderr_has(why)
            .signs_nothing()
            .run();
    }
    site.imprimatur(&["submit", PAGE, "--assign", "technical=raj"])
        .by("wanda")
        .at(DAY1)
        .run();
    assert_eq!(strings(&site.page_status(NOW, PAGE)["waiting_on"]), ["raj"]);
}

// --- 2. approval comments ---------------------------------------------------------------------

#[test]
fn where_the_policy_asks_for_approval_comments_an_approval_without_one_is_refused() {
    let site = site_with(&format!("approve_comment_required: true\n{KB}"));
    site.sign("wanda", Kind::Submit, PAGE, &[], DAY1);
    site.imprimatur(&["approve", PAGE, "--step", "technical"])
        .by("raj")
        .at(DAY2)
        .exits(1)
        .stderr_has("an approval needs a comment")
        .signs_nothing()
        .run();
    site.sign(
        "raj",
        Kind::Approve,
        PAGE,
        &["--step", "technical", "--comment", "Ran it on Ubuntu 24.04"],
        DAY2,
    );
    assert_eq!(site.page_status(NOW, PAGE)["status"], "published");
}

// --- 3. an edit cancels the review --------------------------------------------------------------

#[test]
fn an_edit_cancels_the_review_where_the_space_wants_it_and_nobody_can_approve_the_old_bytes() {
    let site = site_with(&format!("edit_cancels_review: true\n{KB}"));
    site.sign("wanda", Kind::Submit, PAGE, &[], DAY1);
    let submitted = site.version_of(PAGE);
    let mut site = site;
    site.page(
        "kb/install.md",
        "Install the agent",
        "Run `agent install --now`.\n",
    );
    let status = site.status_json(NOW);
    let entry = page_entry(&status, PAGE);
    assert_eq!(entry["status"], "draft");
    assert_eq!(entry["cancelled_review"], submitted.as_str());
    assert_eq!(entry["waiting_on"], serde_json::json!([]));
    let cancelled = findings_of(&status, "review_cancelled");
    assert_eq!(cancelled.len(), 1, "{status:#}");
    assert!(cancelled[0]["detail"]
        .as_str()
        .unwrap()
        .contains("was cancelled"));
    site.imprimatur(&[
        "approve",
        PAGE,
        "--step",
        "technical",
        "--version",
        submitted.as_str(),
    ])
    .by("raj")
    .at(DAY2)
    .exits(1)
    .stderr_has("was cancelled when the page was edited")
    .signs_nothing()
    .run();
    // The notice is not a defect: verify stays clean.
    site.imprimatur(&["verify"]).at(NOW).run();
    // Submitting the edit starts a new review.
    site.sign("wanda", Kind::Submit, PAGE, &[], DAY2);
    let entry = site.page_status(NOW, PAGE);
    assert_eq!(entry["status"], "pending");
    assert!(entry.get("cancelled_review").is_none(), "{entry:#}");
}

// --- 4. history and restore ---------------------------------------------------------------------

/// v1 published (raj), v2 submitted and pending, and then an unsaved edit v3 in content/.
fn three_versions() -> (TestSite, [String; 3]) {
    let mut site = site_with(KB);
    site.sign("wanda", Kind::Submit, PAGE, &[], DAY1);
    site.sign("raj", Kind::Approve, PAGE, &["--step", "technical"], DAY1);
    let v1 = site.version_of(PAGE).to_string();
    site.page("kb/install.md", "Install the agent", "Version two.\n");
    site.sign("wanda", Kind::Submit, PAGE, &[], DAY2);
    let v2 = site.version_of(PAGE).to_string();
    site.page("kb/install.md", "Install the agent", "Unsaved third.\n");
    let v3 = site.version_of(PAGE).to_string();
    (site, [v1, v2, v3])
}

#[test]
fn history_lists_every_version_with_its_state_approvers_and_live_times() {
    let (site, [v1, v2, v3]) = three_versions();
    let out = site
        .imprimatur(&["history", PAGE, "--format", "json"])
        .at(NOW)
        .run();
    let h = json_of(&out);
    let versions = h["versions"].as_array().unwrap();
    let ids: Vec<&str> = versions
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [v1.as_str(), v2.as_str(), v3.as_str()], "oldest first");
    assert_eq!(versions[0]["state"], "published");
    assert_eq!(versions[0]["live_now"], true);
    assert_eq!(versions[0]["approvals"][0]["reviewer"], "raj");
    assert_eq!(versions[0]["published"][0]["from"], DAY1);
    assert_eq!(versions[0]["published"][0]["until"], Value::Null);
    assert_eq!(versions[1]["state"], "pending");
    assert_eq!(versions[1]["submitted_by"], "wanda");
    assert_eq!(versions[1]["stored"], true);
    assert_eq!(versions[2]["state"], "draft");
    assert_eq!(versions[2]["current"], true);
    assert_eq!(versions[2]["stored"], false);
    site.imprimatur(&["history", PAGE])
        .at(NOW)
        .stdout_has("published, live now")
        .stdout_has("approved by raj in technical at 2026-11-02T09:00:00Z")
        .stdout_has("draft, current, not in the store")
        .run();
}

#[test]
fn restore_writes_an_earlier_version_back_and_never_overwrites_unsaved_work_unless_forced() {
    let (site, [v1, _v2, v3]) = three_versions();
    let unsaved = site.read("content/kb/install.md");
    site.imprimatur(&["restore", PAGE, "--version", &v1])
        .at(NOW)
        .exits(1)
        .stderr_has("unsaved work")
        .run();
    assert_eq!(
        site.read("content/kb/install.md"),
        unsaved,
        "nothing written"
    );
    let unknown = format!("sha256:{}", "0".repeat(64));
    site.imprimatur(&["restore", PAGE, "--version", &unknown])
        .at(NOW)
        .exits(1)
        .stderr_has("no record names version")
        .run();
    site.imprimatur(&["restore", PAGE, "--version", &v1, "--force"])
        .at(NOW)
        .stdout_has("restored content/kb/install.md to version")
        .stdout_has(&format!("imprimatur publish kb/install --version {v1}"))
        .signs_nothing()
        .run();
    assert_eq!(site.version_of(PAGE).to_string(), v1);
    assert_ne!(v1, v3);
    // The restored bytes behave like a draft of an approved version: v2 is still in review,
    // v1 is live, and the page is now the live bytes again.
    let entry = site.page_status(NOW, PAGE);
    assert_eq!(entry["status"], "published");
    assert_eq!(entry["review_version"], _v2.as_str());
    // Now the current bytes are known (v1 is in the records): restoring v2 needs no --force.
    site.imprimatur(&["restore", PAGE, "--version", &_v2])
        .at(NOW)
        .run();
    assert_eq!(site.version_of(PAGE).to_string(), _v2);
}

#[test]
fn restore_puts_a_bundle_back_file_for_file_and_removes_files_it_did_not_have() {
    let mut site = site_with(KB);
    site.file(
        "content/kb/dash/index.md",
        "---\ntitle: Dashboard\n---\n\n![x](img/a.png)\n",
    )
    .file("content/kb/dash/img/a.png", b"first picture")
    .file(
        "content/kb/dash/.editor-state",
        b"hidden, not part of a version",
    );
    site.sign("wanda", Kind::Submit, "kb/dash", &[], DAY1);
    site.sign(
        "raj",
        Kind::Approve,
        "kb/dash",
        &["--step", "technical"],
        DAY1,
    );
    let v1 = site.version_of("kb/dash").to_string();
    site.file("content/kb/dash/img/a.png", b"second picture")
        .file("content/kb/dash/img/b.png", b"a new picture")
        .file(
            "content/kb/dash/index.md",
            "---\ntitle: Dashboard\n---\n\n![x](img/b.png)\n",
        );
    site.sign("wanda", Kind::Submit, "kb/dash", &[], DAY2);
    site.imprimatur(&["restore", "content/kb/dash", "--version", &v1])
        .at(NOW)
        .stdout_has("removed content/kb/dash/img/b.png")
        .run();
    assert_eq!(site.version_of("kb/dash").to_string(), v1);
    assert_eq!(site.read("content/kb/dash/img/a.png"), "first picture");
    assert!(!site.exists("content/kb/dash/img/b.png"));
    assert!(
        site.exists("content/kb/dash/.editor-state"),
        "hidden files are left alone"
    );
}

#[cfg(unix)]
#[test]
fn restore_refuses_a_bundle_holding_a_symbolic_link_and_writes_nothing_through_it() {
    let mut site = site_with(KB);
    site.file(
        "content/kb/dash/index.md",
        "---\ntitle: Dashboard\n---\n\nOne.\n",
    );
    site.sign("wanda", Kind::Submit, "kb/dash", &[], DAY1);
    let v1 = site.version_of("kb/dash").to_string();
    site.file(
        "content/kb/dash/index.md",
        "---\ntitle: Dashboard\n---\n\nTwo.\n",
    );
    site.sign("wanda", Kind::Submit, "kb/dash", &[], DAY2);
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), b"outside").unwrap();
    site.symlink(
        outside.path().join("secret.txt"),
        "content/kb/dash/notes.txt",
    );
    site.imprimatur(&["restore", "kb/dash", "--version", &v1])
        .at(NOW)
        .exits(1)
        .run();
    assert_eq!(
        std::fs::read(outside.path().join("secret.txt")).unwrap(),
        b"outside"
    );
    assert!(site.read("content/kb/dash/index.md").contains("Two."));
    // Without the link the same restore works.
    std::fs::remove_file(site.path().join("content/kb/dash/notes.txt")).unwrap();
    site.imprimatur(&["restore", "kb/dash", "--version", &v1])
        .at(NOW)
        .run();
    assert!(site.read("content/kb/dash/index.md").contains("One."));
}

// --- 5. the site-wide audit trail ---------------------------------------------------------------

fn audited_site() -> TestSite {
    let mut site = site_with(KB);
    site.policy("api", KB)
        .page("api/auth.md", "Authentication", "Tokens.\n");
    site.sign("wanda", Kind::Submit, PAGE, &[], DAY1);
    site.sign(
        "raj",
        Kind::Approve,
        PAGE,
        &[
            "--step",
            "technical",
            "--comment",
            "Fine, \"really\",\nship it",
        ],
        DAY2,
    );
    site.sign("walt", Kind::Submit, "api/auth", &[], DAY3);
    // A tampered record: it does not count, and the trail says so.
    let forged = imprimatur::trust::record::Record {
        step: Some("technical".into()),
        ..site.record_for("eli", Kind::Approve, "api/auth", DAY4)
    };
    site.write_record_signed_by("api/forged", &forged, "bob");
    site
}

#[test]
fn log_without_a_page_audits_every_record_of_the_site_and_filters_it() {
    let site = audited_site();
    let all = json_of(&site.imprimatur(&["log", "--format", "json"]).at(NOW).run());
    let entries = all["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 4, "{all:#}");
    let forged = entries
        .iter()
        .find(|e| e["file"] == "approvals/records/api/forged.yaml")
        .unwrap();
    assert_eq!(forged["counted"], false);
    assert_eq!(forged["finding"], "invalid_record");
    assert!(forged["note"]
        .as_str()
        .unwrap()
        .contains("signature does not verify"));

    let pages = |args: &[&str]| -> Vec<(String, String)> {
        let mut full = vec!["log", "--format", "json"];
        full.extend_from_slice(args);
        json_of(&site.imprimatur(&full).at(NOW).run())["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["page"].as_str().unwrap().to_string(),
                    e["kind"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let kb = || ("kb/install".to_string(), "submit".to_string());
    let kb_approve = || ("kb/install".to_string(), "approve".to_string());
    let api = || ("api/auth".to_string(), "submit".to_string());
    let api_forged = || ("api/auth".to_string(), "approve".to_string());
    assert_eq!(pages(&["--space", "kb"]), [kb(), kb_approve()]);
    assert_eq!(pages(&["--reviewer", "walt"]), [api()]);
    assert_eq!(pages(&["--kind", "approve"]), [kb_approve(), api_forged()]);
    assert_eq!(
        pages(&["--since", DAY2, "--until", DAY3]),
        [kb_approve(), api()]
    );
    assert_eq!(pages(&["--space", "api", "--kind", "submit"]), [api()]);
    site.imprimatur(&["log", "--kind", "bless"])
        .at(NOW)
        .exits(2)
        .stderr_has("not one of submit")
        .run();
    site.imprimatur(&["log", "--since", "yesterday"])
        .at(NOW)
        .exits(2)
        .stderr_has("--since")
        .run();
    site.imprimatur(&["log"])
        .at(NOW)
        .stdout_has("4 record(s), 3 counted, 1 not")
        .stdout_has("api/auth  approve eli")
        .run();
}

#[test]
fn log_as_csv_quotes_commas_quotes_and_line_breaks() {
    let site = audited_site();
    let out = site
        .imprimatur(&["log", "--format", "csv", "--reviewer", "raj"])
        .at(NOW)
        .run();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("\"Fine, \"\"really\"\",\nship it\""),
        "RFC 4180 quoting: {text}"
    );
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header[..4], ["signed_at", "page", "space", "kind"]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(&rows[0][col("comment")], "Fine, \"really\",\nship it");
    assert_eq!(&rows[0][col("counted")], "true");
    assert_eq!(&rows[0][col("page")], "kb/install");
}

// --- 6. submit --changed and status --mine ------------------------------------------------------

#[test]
fn submit_changed_submits_what_was_never_submitted_and_says_what_it_skipped() {
    let mut site = site_with(KB);
    site.policy("legal", "contributors: [group:legal]\nsteps:\n  - {name: legal, approvers: [group:legal], min_approvals: 1}\n")
        .page("kb/new.md", "New", "Never submitted.\n")
        .page("kb/pending.md", "Pending", "In review.\n")
        .page("kb/live.md", "Live", "Published.\n")
        .page("legal/terms.md", "Terms", "Not wanda's space.\n");
    site.sign("wanda", Kind::Submit, "kb/pending", &[], DAY1);
    site.sign("wanda", Kind::Submit, "kb/live", &[], DAY1);
    site.sign(
        "raj",
        Kind::Approve,
        "kb/live",
        &["--step", "technical"],
        DAY1,
    );
    let before = site.files_under("approvals/records").len();
    site.imprimatur(&["submit", "--changed"])
        .by("wanda")
        .at(DAY2)
        .stdout_has("submitted kb/install (")
        .stdout_has("submitted kb/new (")
        .stdout_has("skipped   kb/pending: its current version is in review")
        .stdout_has("skipped   kb/live: its current version is already published")
        .stdout_has("skipped   space legal: 'wanda' may not submit in space 'legal'")
        .stdout_has("2 submitted, 3 skipped")
        .run();
    assert_eq!(site.files_under("approvals/records").len(), before + 2);
    let status = site.status_json(NOW);
    assert_eq!(page_entry(&status, "kb/new")["status"], "pending");
    assert_eq!(page_entry(&status, "legal/terms")["status"], "draft");
    // Run again: nothing left to submit.
    site.imprimatur(&["submit", "--changed"])
        .by("wanda")
        .at(DAY3)
        .stdout_has("0 submitted")
        .signs_nothing()
        .run();
    site.imprimatur(&["submit", "--changed", "kb/new"])
        .by("wanda")
        .at(DAY3)
        .exits(2)
        .run();
}

#[test]
fn status_mine_shows_a_writer_the_pages_they_submitted_or_author() {
    let mut site = site_with(KB);
    site.page("kb/walts.md", "Walt's", "By walt.\n").file(
        "content/kb/authored.md",
        "---\ntitle: Authored\nauthor: wanda\n---\n\nNot submitted yet.\n",
    );
    site.sign("wanda", Kind::Submit, PAGE, &[], DAY1);
    site.sign("walt", Kind::Submit, "kb/walts", &[], DAY1);
    let mine = json_of(
        &site
            .imprimatur(&["status", "--mine", "--format", "json"])
            .by("wanda")
            .at(NOW)
            .run(),
    );
    let ids: Vec<&str> = mine["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["kb/authored", "kb/install"]);
    site.imprimatur(&["status", "--mine"])
        .by("walt")
        .at(NOW)
        .stdout_has("kb/walts")
        .stdout_lacks("kb/install")
        .run();
    site.imprimatur(&["status", "--mine"])
        .by("raj")
        .at(NOW)
        .stdout_has("no pages of 'raj'")
        .run();
    // The report on disk is still the whole site's.
    let on_disk: Value = serde_json::from_str(&site.read("reports/status.json")).unwrap();
    assert_eq!(on_disk["pages"].as_array().unwrap().len(), 3);
}

// --- 7. a decision signed twice ---------------------------------------------------------------

/// Two approvals needed: raj's first approval counts; his second would change nothing, so it is
/// refused (exit 1, like every refusal) and no second record is written — unless he asks for
/// it with `--force`. A rejection repeated is refused alike.
#[test]
fn approving_again_what_you_already_approved_is_refused_unless_forced() {
    let site = site_with(&KB.replace(
        "min_approvals: 1",
        "min_approvals: 2\n    rejections_to_fail: 2",
    ));
    site.sign("wanda", Kind::Submit, PAGE, &[], DAY1);
    site.sign("raj", Kind::Approve, PAGE, &["--step", "technical"], DAY2);
    site.imprimatur(&["approve", PAGE, "--step", "technical"])
        .story("raj approves the same version in the same pending step again")
        .by("raj")
        .at(DAY3)
        .exits(1)
        .stderr_has("'raj' already approved at 2026-11-03T09:00:00Z")
        .stderr_has("nothing to sign; --force signs it again")
        .signs_nothing()
        .run();
    let records = site.files_under("approvals/records").len();
    site.sign(
        "raj",
        Kind::Approve,
        PAGE,
        &[
            "--step",
            "technical",
            "--force",
            "--comment",
            "Checked again",
        ],
        DAY3,
    );
    assert_eq!(site.files_under("approvals/records").len(), records + 1);
    let entry = site.page_status(NOW, PAGE);
    assert_eq!(entry["status"], "pending", "raj still counts once");
    assert_eq!(strings(&entry["waiting_on"]), ["bob", "eli"]);

    // A changed decision is no repeat; the same one again is.
    site.sign(
        "bob",
        Kind::Reject,
        PAGE,
        &["--step", "technical", "--comment", "no"],
        DAY3,
    );
    site.imprimatur(&[
        "reject",
        PAGE,
        "--step",
        "technical",
        "--comment",
        "still no",
    ])
    .by("bob")
    .at(DAY4)
    .exits(1)
    .stderr_has("'bob' already rejected at 2026-11-04T09:00:00Z")
    .signs_nothing()
    .run();
    site.sign("bob", Kind::Approve, PAGE, &["--step", "technical"], DAY4);
    assert_eq!(site.page_status(NOW, PAGE)["status"], "published");
}
