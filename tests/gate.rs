//! The gate, tried as an attacker and as a hurried reviewer would (issue 7): a reviewer signs
//! only the version in review, the commands refuse what the build would not count, a newest
//! version that can't be served takes its page offline instead of bringing an older one back,
//! rollback and takedown are signed acts, and two pages can't share one URL. Each story runs
//! the real binary and looks at `output/` and the reports.

use imprimatur::trust::record::Kind;
use serde_json::Value;

use crate::util::{findings_of, page_entry, TestSite};

const DAY1: &str = "2026-11-01T09:00:00Z";
const DAY1_LATER: &str = "2026-11-01T10:00:00Z";
const DAY2: &str = "2026-11-02T09:00:00Z";
const DAY2_LATER: &str = "2026-11-02T10:00:00Z";
const DAY3: &str = "2026-11-03T09:00:00Z";
const DAY4: &str = "2026-11-04T09:00:00Z";
const NOW: &str = "2026-11-05T12:00:00Z";
const PAGE: &str = "kb/install";
const SOURCE: &str = "content/kb/install.md";

/// One approval by an engineer publishes; carol is a manager, lena a publisher.
const POLICY: &str = "\
title: Knowledge Base
contributors: [group:writers]
managers: [carol]
publishers: [lena]
steps:
  - name: technical
    approvers: [group:engineering]
    min_approvals: 1
";

fn kb_site(policy: &str) -> TestSite {
    let mut site = TestSite::new();
    site.reviewer("wanda", &["writers"])
        .reviewer("alice", &["engineering"])
        .reviewer("bob", &["engineering"])
        .reviewer("lena", &["leads"])
        .reviewer("carol", &["managers"])
        .policy("kb", policy);
    site
}

fn write_page(site: &mut TestSite, words: &str) -> String {
    site.page("kb/install.md", "Install the agent", &format!("{words}\n"));
    site.version_of(PAGE).to_string()
}

/// Writes the page with `words`, and has it submitted by wanda and approved by alice.
fn approved_version(site: &mut TestSite, words: &str, submit_at: &str, approve_at: &str) -> String {
    let version = write_page(site, words);
    site.sign("wanda", Kind::Submit, PAGE, &[], submit_at);
    site.sign(
        "alice",
        Kind::Approve,
        PAGE,
        &["--step", "technical"],
        approve_at,
    );
    version
}

fn build(site: &TestSite, now: &str) -> Value {
    site.cmd(&["build", "--now", now]).success();
    serde_json::from_str(&site.read("reports/status.json")).unwrap()
}

/// Every output file whose bytes contain `needle`.
fn output_with(site: &TestSite, needle: &str) -> Vec<String> {
    site.all_output_files()
        .into_iter()
        .filter(|(_, bytes)| String::from_utf8_lossy(bytes).contains(needle))
        .map(|(path, _)| path)
        .collect()
}

fn record_count(site: &TestSite) -> usize {
    site.files_under("approvals/records").len()
}

#[test]
fn a_reviewer_approves_the_version_in_review_not_an_edit_made_after_the_submit() {
    let mut site = kb_site(POLICY);
    let reviewed = write_page(&mut site, "The reviewed words.");
    site.sign("wanda", Kind::Submit, PAGE, &[], DAY1);
    let edited = write_page(&mut site, "Words nobody reviewed.");
    site.imprimatur(&["approve", PAGE, "--step", "technical"])
        .by("alice")
        .at(DAY2)
        .exits(1)
        .stderr_has(&reviewed)
        .stderr_has(&edited)
        .stderr_has("--version")
        .stderr_has(SOURCE)
        .signs_nothing()
        .run();

    // Naming the reviewed version explicitly approves exactly that version.
    site.sign(
        "alice",
        Kind::Approve,
        PAGE,
        &["--step", "technical", "--version", &reviewed],
        DAY2,
    );
    let status = build(&site, NOW);
    assert_eq!(
        page_entry(&status, PAGE)["published_version"],
        reviewed.as_str()
    );
    assert_eq!(page_entry(&status, PAGE)["status"], "outdated");
    assert!(!output_with(&site, "The reviewed words.").is_empty());
    assert_eq!(
        output_with(&site, "Words nobody reviewed."),
        Vec::<String>::new()
    );
}

#[test]
fn a_newest_version_that_can_not_be_served_takes_the_page_offline_instead_of_an_older_one() {
    let mut site = kb_site(POLICY);
    approved_version(&mut site, "The old words.", DAY1, DAY1_LATER);
    let newest = approved_version(&mut site, "The newest words.", DAY2, DAY2_LATER);
    write_page(&mut site, "A draft after both.");
    let status = build(&site, NOW);
    assert_eq!(
        page_entry(&status, PAGE)["published_version"],
        newest.as_str()
    );

    // The newest approved blob disappears from the store (a bad merge, or on purpose).
    let hex = newest.strip_prefix("sha256:").unwrap();
    std::fs::remove_file(
        site.path()
            .join(format!("approvals/store/{}/{}", &hex[..2], &hex[2..])),
    )
    .unwrap();
    let status = build(&site, NOW);
    let page = page_entry(&status, PAGE);
    assert_eq!(page["published_version"], Value::Null);
    assert_eq!(page["url"], Value::Null);
    assert_ne!(page["status"], "published");
    assert_ne!(page["status"], "outdated");
    assert_eq!(findings_of(&status, "store_missing").len(), 1, "{status:#}");
    assert_eq!(output_with(&site, "The old words."), Vec::<String>::new());
    assert_eq!(
        output_with(&site, "The newest words."),
        Vec::<String>::new()
    );
}

#[test]
fn an_expired_newest_version_does_not_bring_back_the_older_one() {
    // Approvals expire after a year: well after this story ends.
    let mut site = kb_site(&format!("{POLICY}approval_expires_days: 365\n"));
    approved_version(&mut site, "The old words.", DAY1, DAY1_LATER);
    site.file(
        SOURCE,
        "---\ntitle: Install the agent\nexpires_at: 2026-11-04T00:00:00Z\n---\n\nThe limited offer.\n",
    );
    site.sign("wanda", Kind::Submit, PAGE, &[], DAY2);
    site.sign(
        "alice",
        Kind::Approve,
        PAGE,
        &["--step", "technical"],
        DAY2_LATER,
    );
    let status = build(&site, DAY3);
    assert_eq!(page_entry(&status, PAGE)["status"], "published");

    let status = build(&site, NOW);
    assert_eq!(page_entry(&status, PAGE)["status"], "expired");
    assert_eq!(page_entry(&status, PAGE)["published_version"], Value::Null);
    assert!(
        findings_of(&status, "review_due").is_empty(),
        "an end the writer chose is not a review that is due"
    );
    assert_eq!(output_with(&site, "The old words."), Vec::<String>::new());
    assert_eq!(
        output_with(&site, "The limited offer."),
        Vec::<String>::new()
    );
}

#[test]
fn the_signing_commands_refuse_every_record_the_build_would_not_count() {
    let mut site = kb_site(POLICY);
    site.reviewer("eve", &["writers", "engineering"]);
    write_page(&mut site, "Words.");
    site.page("kb/never.md", "Never submitted", "Nobody asked.\n");
    site.page("kb/own.md", "Eve's own page", "Mine.\n");
    site.sign("wanda", Kind::Submit, PAGE, &[], DAY1);
    site.sign("eve", Kind::Submit, "kb/own", &[], DAY1);

    let cases: &[(&str, &[&str], &str)] = &[
        (
            "a retract by someone who is neither the submitter nor a manager",
            &["retract", PAGE, "--key", "keys/bob.pem"],
            "retract",
        ),
        (
            "an approval of a version nobody submitted",
            &[
                "approve",
                "kb/never",
                "--key",
                "keys/alice.pem",
                "--step",
                "technical",
            ],
            "submit",
        ),
        (
            "a second submit of the version in review",
            &["submit", PAGE, "--key", "keys/wanda.pem"],
            "already in review",
        ),
        (
            "a self-approval where the policy forbids it",
            &[
                "approve",
                "kb/own",
                "--key",
                "keys/eve.pem",
                "--step",
                "technical",
            ],
            "'eve' submitted this version",
        ),
        (
            "a publish record by someone who is not a publisher",
            &["publish", PAGE, "--key", "keys/bob.pem"],
            "not a publisher",
        ),
        (
            "a publish record of a version nobody approved",
            &["publish", PAGE, "--key", "keys/lena.pem"],
            "not approved",
        ),
        (
            "an unpublish by someone who is not a publisher",
            &["unpublish", PAGE, "--key", "keys/wanda.pem"],
            "not a publisher",
        ),
        (
            "an unpublish of a page with nothing published",
            &["unpublish", PAGE, "--key", "keys/carol.pem"],
            "nothing is published",
        ),
        (
            "an override by someone who is not a manager",
            &[
                "approve",
                PAGE,
                "--key",
                "keys/alice.pem",
                "--step",
                "technical",
                "--override",
            ],
            "not a manager",
        ),
    ];
    for (story, args, needle) in cases {
        site.imprimatur(args)
            .story(story)
            .at(DAY2)
            .exits(1)
            .stderr_has(needle)
            .signs_nothing()
            .run();
    }

    // Once approved, a second approval changes nothing, so it is refused too.
    site.sign("alice", Kind::Approve, PAGE, &["--step", "technical"], DAY2);
    site.imprimatur(&["approve", PAGE, "--step", "technical"])
        .by("bob")
        .at(DAY3)
        .exits(1)
        .stderr_has("already approved")
        .signs_nothing()
        .run();
}

#[test]
fn a_publisher_rolls_back_and_takes_a_page_down_with_signed_records() {
    let mut site = kb_site(POLICY);
    let first = approved_version(&mut site, "The first words.", DAY1, DAY1_LATER);
    let second = approved_version(&mut site, "The second words.", DAY2, DAY2_LATER);
    assert_eq!(
        page_entry(&build(&site, NOW), PAGE)["published_version"],
        second.as_str()
    );

    // Rollback: lena re-publishes the first version.
    site.sign("lena", Kind::Publish, PAGE, &["--version", &first], DAY3);
    let status = build(&site, NOW);
    assert_eq!(
        page_entry(&status, PAGE)["published_version"],
        first.as_str()
    );
    assert_eq!(page_entry(&status, PAGE)["status"], "outdated");
    assert!(!output_with(&site, "The first words.").is_empty());
    assert_eq!(
        output_with(&site, "The second words."),
        Vec::<String>::new()
    );

    // Takedown: carol takes the page offline; nothing of it stays in output/.
    site.sign(
        "carol",
        Kind::Unpublish,
        PAGE,
        &["--comment", "Wrong product"],
        DAY4,
    );
    let status = build(&site, NOW);
    assert_eq!(page_entry(&status, PAGE)["status"], "unpublished");
    assert_eq!(page_entry(&status, PAGE)["published_version"], Value::Null);
    assert_eq!(output_with(&site, "The first words."), Vec::<String>::new());
    assert_eq!(
        output_with(&site, "Install the agent"),
        Vec::<String>::new()
    );
    assert!(
        findings_of(&status, "went_offline").is_empty(),
        "a signed takedown is not a defect"
    );

    let log = site.cmd(&["log", PAGE, "--now", NOW]).success();
    let log = String::from_utf8_lossy(&log.get_output().stdout).to_string();
    assert!(log.contains("rollback"), "{log}");
    assert!(log.contains("taken offline by 'carol'"), "{log}");

    // Publishing again after the takedown brings it back.
    site.sign(
        "lena",
        Kind::Publish,
        PAGE,
        &["--version", &second],
        "2026-11-05T09:00:00Z",
    );
    let status = build(&site, NOW);
    assert_eq!(
        page_entry(&status, PAGE)["published_version"],
        second.as_str()
    );
    assert_eq!(page_entry(&status, PAGE)["status"], "published");
}

#[test]
fn of_two_pages_claiming_one_url_the_page_whose_own_path_gives_it_keeps_it() {
    let mut site = kb_site(POLICY);
    site.page("kb/setup.md", "Set up", "The setup page's own words.\n");
    site.file(
        "content/kb/install.md",
        "---\ntitle: Install\nslug: setup\n---\n\nThe slug claimant's words.\n",
    );
    for page in ["kb/setup", PAGE] {
        site.sign("wanda", Kind::Submit, page, &[], DAY1);
        site.sign(
            "alice",
            Kind::Approve,
            page,
            &["--step", "technical"],
            DAY1_LATER,
        );
    }
    site.cmd(&["build", "--strict", "--now", NOW]).code(3);
    let status: Value = serde_json::from_str(&site.read("reports/status.json")).unwrap();
    assert_eq!(page_entry(&status, "kb/setup")["url"], "kb/setup/");
    let loser = page_entry(&status, PAGE);
    assert_eq!(loser["url"], Value::Null);
    assert_eq!(loser["published_version"], Value::Null);
    assert_ne!(loser["status"], "published", "status agrees with output/");
    let conflicts = findings_of(&status, "url_conflict");
    assert_eq!(conflicts.len(), 1, "{status:#}");
    assert_eq!(conflicts[0]["page"], PAGE);

    assert!(
        site.read("output/kb/setup/index.html")
            .contains("The setup page&#39;s own words.")
            || site
                .read("output/kb/setup/index.html")
                .contains("The setup page's own words.")
    );
    assert_eq!(
        output_with(&site, "The slug claimant"),
        Vec::<String>::new()
    );
    // The outbox and the summary tell the same story as status.json.
    let outbox = site.read("reports/notifications.json");
    assert!(!outbox.contains("'kb/install' is live"), "{outbox}");
    let summary = site.read("reports/summary.md");
    assert!(summary.contains("url_conflict"), "{summary}");
}

#[test]
fn a_slug_naming_a_file_of_the_site_itself_is_a_finding_and_the_rest_builds() {
    let mut site = kb_site(POLICY);
    site.file(
        "content/kb/install.md",
        "---\ntitle: Install\nslug: index.html\n---\n\nHijack the index.\n",
    );
    site.page("kb/fine.md", "Fine", "A fine page.\n");
    for page in [PAGE, "kb/fine"] {
        site.sign("wanda", Kind::Submit, page, &[], DAY1);
        site.sign(
            "alice",
            Kind::Approve,
            page,
            &["--step", "technical"],
            DAY1_LATER,
        );
    }
    let status = build(&site, NOW);
    assert_eq!(page_entry(&status, "kb/fine")["url"], "kb/fine/");
    assert_eq!(page_entry(&status, PAGE)["url"], Value::Null);
    let invalid = findings_of(&status, "invalid_page");
    assert!(invalid.iter().any(|f| f["page"] == PAGE), "{status:#}");
    assert_eq!(
        output_with(&site, "Hijack the index."),
        Vec::<String>::new()
    );
}

#[test]
fn an_expired_approval_is_renewed_by_submitting_the_same_bytes_again() {
    let mut site = kb_site(&format!(
        "{POLICY}approval_expires_days: 10\non_expiry: unpublish\n"
    ));
    let version = approved_version(
        &mut site,
        "Words that need a yearly look.",
        DAY1,
        DAY1_LATER,
    );
    let day12 = "2026-11-12T09:00:00Z";
    let status = build(&site, day12);
    assert_eq!(page_entry(&status, PAGE)["status"], "expired");
    let due = findings_of(&status, "review_due");
    assert_eq!(due.len(), 1, "{status:#}");
    assert!(due[0]["detail"].as_str().unwrap().contains("re-certified"));
    assert_eq!(output_with(&site, "a yearly look"), Vec::<String>::new());

    // Nothing in the page changed: the writer submits the same bytes again.
    site.sign("wanda", Kind::Submit, PAGE, &[], day12);
    let status = build(&site, "2026-11-12T10:00:00Z");
    assert_eq!(page_entry(&status, PAGE)["current_state"], "pending");
    site.sign(
        "bob",
        Kind::Approve,
        PAGE,
        &["--step", "technical"],
        "2026-11-12T11:00:00Z",
    );
    let status = build(&site, "2026-11-12T12:00:00Z");
    assert_eq!(page_entry(&status, PAGE)["status"], "published");
    assert_eq!(
        page_entry(&status, PAGE)["published_version"],
        version.as_str()
    );
    assert!(!output_with(&site, "a yearly look").is_empty());
}

#[test]
fn a_renamed_policy_file_can_not_quietly_empty_a_space() {
    let mut site = kb_site(POLICY);
    approved_version(&mut site, "Live words.", DAY1, DAY1_LATER);
    site.cmd(&["build", "--strict", "--now", NOW]).success();

    std::fs::rename(
        site.path().join("approvals/policies/kb.yaml"),
        site.path().join("approvals/policies/kb.yaml.bak"),
    )
    .unwrap();
    site.cmd(&["build", "--strict", "--now", NOW]).code(3);
    let status: Value = serde_json::from_str(&site.read("reports/status.json")).unwrap();
    let gone = findings_of(&status, "went_offline");
    assert_eq!(gone.len(), 1, "{status:#}");
    assert_eq!(gone[0]["page"], PAGE);
    assert!(gone[0]["detail"].as_str().unwrap().contains("no policy"));
    assert_eq!(output_with(&site, "Live words."), Vec::<String>::new());
    // verify says the same without building.
    site.cmd(&["verify", "--now", NOW]).code(3);
}

#[test]
fn deleting_a_live_page_is_reported_unless_it_was_taken_down_first() {
    let mut site = kb_site(POLICY);
    approved_version(&mut site, "Live words.", DAY1, DAY1_LATER);
    site.page("kb/other.md", "Other", "Other words.\n");
    site.sign("wanda", Kind::Submit, "kb/other", &[], DAY1);
    site.sign(
        "alice",
        Kind::Approve,
        "kb/other",
        &["--step", "technical"],
        DAY1_LATER,
    );
    build(&site, NOW);

    // Deleted without a signed takedown: went_offline, which fails --strict.
    std::fs::remove_file(site.path().join(SOURCE)).unwrap();
    site.cmd(&["build", "--strict", "--now", NOW]).code(3);
    let status: Value = serde_json::from_str(&site.read("reports/status.json")).unwrap();
    let gone = findings_of(&status, "went_offline");
    assert_eq!(gone.len(), 1, "{status:#}");
    assert_eq!(gone[0]["page"], PAGE);
    // Reported once: the build after it starts from what is live now.
    let status = build(&site, NOW);
    assert!(
        findings_of(&status, "went_offline").is_empty(),
        "{status:#}"
    );

    // Taken down first, then deleted: nothing to report.
    site.sign("carol", Kind::Unpublish, "kb/other", &[], DAY2);
    let status = build(&site, NOW);
    assert!(
        findings_of(&status, "went_offline").is_empty(),
        "{status:#}"
    );
    std::fs::remove_file(site.path().join("content/kb/other.md")).unwrap();
    let status = build(&site, NOW);
    assert!(
        findings_of(&status, "went_offline").is_empty(),
        "{status:#}"
    );
}

#[test]
fn submitting_an_invalid_page_says_why_it_is_invalid() {
    let mut site = kb_site(POLICY);
    site.file(
        "content/kb/guide/index.md",
        "---\ntitle: Guide\n---\n\nText.\n",
    );
    std::os::unix::fs::symlink(
        "/etc/hostname",
        site.path().join("content/kb/guide/img.png"),
    )
    .unwrap();
    site.imprimatur(&["submit", "kb/guide"])
        .by("wanda")
        .at(DAY1)
        .exits(1)
        .stderr_has("invalid")
        .stderr_has("img.png")
        .signs_nothing()
        .run();
    assert_eq!(record_count(&site), 0);
}

#[test]
fn record_files_are_never_read_through_links_from_fifos_or_whole_when_huge() {
    let mut site = kb_site(POLICY);
    approved_version(&mut site, "Live words.", DAY1, DAY1_LATER);
    let records = site.path().join("approvals/records");
    // A link to a record elsewhere (here: to a real one, so only the link itself is wrong).
    let real = site.files_under("approvals/records")[0].0.clone();
    std::os::unix::fs::symlink(site.path().join(&real), records.join("linked.yaml")).unwrap();
    // A FIFO: reading it would wait forever.
    site.fifo("approvals/records/pipe.yaml");
    // A sparse 2 GiB file: reading it whole would exhaust memory.
    let huge = std::fs::File::create(records.join("huge.yaml")).unwrap();
    huge.set_len(2 << 30).unwrap();

    site.cmd_within(60, &["build", "--now", NOW]).success();
    let status: Value = serde_json::from_str(&site.read("reports/status.json")).unwrap();
    let reason = |name: &str| -> String {
        status["invalid_records"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["file"] == format!("approvals/records/{name}"))
            .unwrap_or_else(|| panic!("{name} not reported: {status:#}"))["reason"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(reason("linked.yaml").contains("symbolic link"));
    assert!(reason("pipe.yaml").contains("not a regular file"));
    assert!(reason("huge.yaml").contains("larger than the limit of 65536 bytes (64 KiB)"));
    assert_eq!(
        page_entry(&status, PAGE)["status"],
        "published",
        "the rest builds"
    );
}
