//! Who may make a page public, told through the real binary: keys are made, versions submitted
//! and approved step by step, and every record that should not count — wrong reviewer, bad key,
//! forged or tampered signature, future date, malformed file — is shown to change nothing and
//! to be reported with its reason.

use base64::Engine as _;
use curve25519_dalek::Scalar;
use ed25519_dalek::SigningKey;
use imprimatur::trust::record::{Kind, Record};
use serde_json::{json, Value};
use sha2::{Digest, Sha512};

use crate::util::{public_base64, sha256_hex, stderr, stdout, strings, write_secret_key, TestSite};

const SUBMITTED: &str = "2026-11-20T09:00:00Z";
const SIGNED: &str = "2026-11-20T10:00:00Z";
const NOW: &str = "2026-11-20T12:00:00Z";

/// Technical review by two engineers, then legal review by one lawyer.
const TWO_STEPS: &str = "\
title: Knowledge Base
contributors: [group:writers]
managers: [carol]
reject_comment_required: true
steps:
  - name: technical
    approvers: [group:engineering]
    min_approvals: 2
  - name: legal
    approvers: [group:legal]
    min_approvals: 1
";

/// One approval by an engineer publishes.
const ONE_STEP: &str = "\
contributors: [group:writers]
steps:
  - name: technical
    approvers: [group:engineering]
    min_approvals: 1
";

const PAGE: &str = "kb/install";

fn cast(site: &mut TestSite) -> &mut TestSite {
    site.reviewer("wanda", &["writers"])
        .reviewer("alice", &["engineering"])
        .reviewer("bob", &["engineering"])
        .reviewer("erin", &["engineering"])
        .reviewer("dave", &["legal"])
        .reviewer("carol", &["leads"])
}

/// The two-step knowledge base with `kb/install` submitted by wanda.
fn kb_in_review() -> TestSite {
    let mut site = TestSite::new();
    cast(&mut site).policy("kb", TWO_STEPS).page(
        "kb/install.md",
        "Install the agent",
        "Run `agent install`.\n",
    );
    site.sign("wanda", Kind::Submit, PAGE, &[], SUBMITTED);
    site
}

/// The one-step knowledge base with `kb/install` submitted by wanda: any counted approval by
/// alice or bob publishes it.
fn one_step_in_review() -> TestSite {
    let mut site = TestSite::new();
    site.reviewer("wanda", &["writers"])
        .reviewer("alice", &["engineering"])
        .reviewer("bob", &["engineering"])
        .policy("kb", ONE_STEP)
        .page(
            "kb/install.md",
            "Install the agent",
            "Run `agent install`.\n",
        );
    site.sign("wanda", Kind::Submit, PAGE, &[], SUBMITTED);
    site
}

fn approve_technical(site: &TestSite, reviewer: &str, signed_at: &str) -> Record {
    Record {
        step: Some("technical".into()),
        ..site.record_for(reviewer, Kind::Approve, PAGE, signed_at)
    }
}

fn record_files(site: &TestSite) -> Vec<String> {
    site.files_under("approvals/records")
        .into_iter()
        .map(|(path, _)| path)
        .collect()
}

fn finding<'a>(status: &'a Value, kind: &str, file: &str) -> Option<&'a Value> {
    status["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == kind && f["file"] == file)
}

fn invalid_record<'a>(status: &'a Value, file: &str) -> Option<&'a Value> {
    status["invalid_records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["file"] == file)
}

// --- 1. keygen → submit → approve → published ---------------------------------------------

#[test]
fn keygen_writes_a_private_key_prints_its_public_half_last_and_never_overwrites() {
    let site = TestSite::new();
    let made = site.cmd(&["keygen", "--out", "alice.pem"]).success();
    let public = stdout(&made).lines().last().unwrap().to_string();
    let key = imprimatur::trust::keyfile::load(&site.path().join("alice.pem")).unwrap();
    assert_eq!(public, public_base64(&key));
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&public)
        .unwrap();
    assert_eq!(raw.len(), 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(site.path().join("alice.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the secret key file is private");
    }
    assert!(site
        .read("alice.pem")
        .starts_with("-----BEGIN PRIVATE KEY-----\n"));

    let before = site.read("alice.pem");
    let again = site.cmd(&["keygen", "--out", "alice.pem"]).code(1);
    assert!(stderr(&again).contains("alice.pem"), "{}", stderr(&again));
    assert!(stderr(&again).contains("overwrite"), "{}", stderr(&again));
    assert_eq!(site.read("alice.pem"), before, "the old key is kept");

    let other = site.cmd(&["keygen", "--out", "bob.pem"]).success();
    assert_ne!(stdout(&other).lines().last().unwrap(), public);
}

#[test]
fn a_page_approved_in_both_steps_is_published_and_status_follows_every_approval() {
    let mut site = TestSite::new();
    site.reviewer_from_keygen("wanda", &["writers"]);
    site.reviewer_from_keygen("alice", &["engineering"]);
    site.reviewer_from_keygen("bob", &["engineering"]);
    site.reviewer_from_keygen("erin", &["engineering"]);
    site.reviewer_from_keygen("dave", &["legal"]);
    site.reviewer("carol", &["leads"])
        .policy("kb", TWO_STEPS)
        .page(
            "kb/install.md",
            "Install the agent",
            "Run `agent install`.\n",
        );
    let version = site.version_of(PAGE).to_string();
    assert_eq!(
        version,
        format!(
            "sha256:{}",
            sha256_hex(&site.read_bytes("content/kb/install.md"))
        )
    );

    let draft = site.page_status(NOW, PAGE);
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["current_state"], "draft");
    assert_eq!(draft["current_version"], version.as_str());
    assert_eq!(draft["title"], "Install the agent");
    assert_eq!(draft["published_version"], Value::Null);
    assert_eq!(draft["url"], Value::Null);
    assert_eq!(draft["step"], Value::Null);
    assert_eq!(draft["pending_since"], Value::Null);
    assert_eq!(strings(&draft["waiting_on"]), Vec::<String>::new());

    // The writer submits: technical review waits on every engineer (not on carol, a manager).
    let submit = site.sign(
        "wanda",
        Kind::Submit,
        "content/kb/install.md",
        &[],
        SUBMITTED,
    );
    assert!(
        submit.starts_with("approvals/records/kb/install/"),
        "{submit}"
    );
    let hex = &version["sha256:".len()..];
    assert_eq!(
        site.read_bytes(&format!("approvals/store/{}/{}", &hex[..2], &hex[2..])),
        site.read_bytes("content/kb/install.md"),
        "submit keeps the version's bytes in the store"
    );
    let p = site.page_status(NOW, PAGE);
    assert_eq!(p["status"], "pending");
    assert_eq!(p["current_state"], "pending");
    assert_eq!(p["step"], "technical");
    assert_eq!(strings(&p["waiting_on"]), ["alice", "bob", "erin"]);
    assert_eq!(p["pending_since"], SUBMITTED);
    assert_eq!(p["published_version"], Value::Null);
    assert_eq!(p["url"], Value::Null);

    // First engineer: one of two approvals.
    site.sign(
        "alice",
        Kind::Approve,
        PAGE,
        &["--step", "technical", "--role", "Technical reviewer"],
        "2026-11-20T10:00:00Z",
    );
    let p = site.page_status(NOW, PAGE);
    assert_eq!(p["status"], "pending");
    assert_eq!(p["step"], "technical");
    assert_eq!(strings(&p["waiting_on"]), ["bob", "erin"]);
    assert_eq!(p["pending_since"], SUBMITTED);

    // Second engineer: technical passes, legal is next.
    site.sign(
        "bob",
        Kind::Approve,
        PAGE,
        &["--step", "technical"],
        "2026-11-20T10:30:00Z",
    );
    let p = site.page_status(NOW, PAGE);
    assert_eq!(p["status"], "pending");
    assert_eq!(p["step"], "legal");
    assert_eq!(strings(&p["waiting_on"]), ["dave"]);
    assert_eq!(p["pending_since"], SUBMITTED, "still the submit time");
    assert_eq!(p["published_version"], Value::Null);

    // Legal approves: the last step passes and the version goes live.
    site.sign(
        "dave",
        Kind::Approve,
        PAGE,
        &["--step", "legal"],
        "2026-11-20T11:00:00Z",
    );
    let status = site.status_json(NOW);
    assert_eq!(status["now"], NOW);
    assert_eq!(status["invalid_records"], json!([]));
    assert_eq!(status["findings"], json!([]));
    let p = &status["pages"][0];
    assert_eq!(p["id"], PAGE);
    assert_eq!(p["space"], "kb");
    assert_eq!(p["status"], "published");
    assert_eq!(p["current_state"], "published");
    assert_eq!(p["published_version"], version.as_str());
    assert_eq!(p["current_version"], version.as_str());
    assert_eq!(p["url"], "kb/install/");
    assert_eq!(p["step"], Value::Null);
    assert_eq!(p["pending_since"], Value::Null);
    assert_eq!(strings(&p["waiting_on"]), Vec::<String>::new());

    // status writes the same object to reports/status.json.
    let written: Value = serde_json::from_str(&site.read("reports/status.json")).unwrap();
    assert_eq!(written, status);
    // ... and the text table says the same.
    let table = stdout(&site.cmd(&["status", "--now", NOW]).success());
    let row = table.lines().find(|l| l.starts_with(PAGE)).unwrap();
    assert!(
        row.contains("published") && row.contains("kb/install/"),
        "{table}"
    );
}

// --- 2. a reviewer outside the step -------------------------------------------------------

#[test]
fn a_reviewer_outside_the_step_can_not_move_it_by_command_or_by_hand() {
    let site = kb_in_review();
    let before = site.page_status(NOW, PAGE);
    let records = record_files(&site);

    // The lawyer tries to approve the technical step: the command refuses.
    let refused = site
        .cmd(&[
            "approve",
            PAGE,
            "--key",
            "keys/dave.pem",
            "--step",
            "technical",
            "--now",
            SIGNED,
        ])
        .code(1);
    let err = stderr(&refused);
    assert!(
        err.contains("'dave'") && err.contains("'technical'"),
        "{err}"
    );
    assert_eq!(record_files(&site), records, "nothing was written");

    // Signed by hand and dropped into approvals/records/: it does not count, and is reported.
    let sneaky = site.write_record_signed_by(
        "dave-approves-technical",
        &approve_technical(&site, "dave", SIGNED),
        "dave",
    );
    let status = site.status_json(NOW);
    let page = status["pages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == PAGE)
        .unwrap();
    assert_eq!(page, &before, "status unchanged");
    let f = finding(&status, "invalid_record", &sneaky).unwrap_or_else(|| {
        panic!("no invalid_record finding naming {sneaky}: {status:#}");
    });
    assert_eq!(f["page"], PAGE);
    let detail = f["detail"].as_str().unwrap();
    assert!(
        detail.contains("dave") && detail.contains("technical"),
        "{detail}"
    );
}

#[test]
fn someone_who_is_not_a_contributor_can_not_submit() {
    let mut site = TestSite::new();
    cast(&mut site)
        .policy("kb", TWO_STEPS)
        .page("kb/install.md", "Install the agent", "Run it.\n");
    let refused = site
        .cmd(&[
            "submit",
            PAGE,
            "--key",
            "keys/alice.pem",
            "--now",
            SUBMITTED,
        ])
        .code(1);
    assert!(
        stderr(&refused).contains("'alice' may not submit"),
        "{}",
        stderr(&refused)
    );
    assert!(record_files(&site).is_empty());
    assert!(
        !site.exists("approvals/store"),
        "nothing stored for a refused submit"
    );

    // By hand: not counted, reported, the page stays a draft.
    let file = site.write_record_signed_by(
        "alice-submits",
        &site.record_for("alice", Kind::Submit, PAGE, SUBMITTED),
        "alice",
    );
    let status = site.status_json(NOW);
    assert!(
        finding(&status, "invalid_record", &file).is_some(),
        "{status:#}"
    );
    assert_eq!(status["pages"][0]["status"], "draft");
    assert_eq!(status["pages"][0]["step"], Value::Null);
}

#[test]
fn the_submitter_is_not_waited_on_and_can_not_approve_their_own_version() {
    const ENGINEERS_REVIEW_EACH_OTHER: &str = "contributors: [group:engineering]\nsteps:\n  - {name: technical, approvers: [group:engineering], min_approvals: 1}\n";
    let mut site = TestSite::new();
    cast(&mut site)
        .policy("kb", ENGINEERS_REVIEW_EACH_OTHER)
        .page("kb/install.md", "Install the agent", "Run it.\n");
    site.sign("alice", Kind::Submit, PAGE, &[], SUBMITTED);
    let before = site.page_status(NOW, PAGE);
    assert_eq!(strings(&before["waiting_on"]), ["bob", "erin"]);

    let own = site.write_record_signed_by(
        "alice-approves-herself",
        &approve_technical(&site, "alice", SIGNED),
        "alice",
    );
    let status = site.status_json(NOW);
    assert_eq!(
        status["pages"][0], before,
        "her own approval changes nothing"
    );
    assert!(
        finding(&status, "invalid_record", &own).is_some(),
        "{status:#}"
    );
    // The approve command refuses to write such a dud in the first place.
    let refused = site
        .cmd(&[
            "approve",
            PAGE,
            "--key",
            &site.key_file("alice"),
            "--step",
            "technical",
            "--now",
            NOW,
        ])
        .failure()
        .code(1);
    assert!(
        stderr(&refused).contains("'alice' submitted this version"),
        "{}",
        stderr(&refused)
    );

    // Where the policy allows self-approval, she is waited on, and her approval counts.
    site.policy(
        "kb",
        &format!("allow_self_approval: true\n{ENGINEERS_REVIEW_EACH_OTHER}"),
    );
    std::fs::remove_file(site.path().join(&own)).unwrap();
    assert_eq!(
        strings(&site.page_status(NOW, PAGE)["waiting_on"]),
        ["alice", "bob", "erin"]
    );
    site.write_record_signed_by(
        "alice-approves-herself",
        &approve_technical(&site, "alice", SIGNED),
        "alice",
    );
    assert_eq!(site.page_status(NOW, PAGE)["status"], "published");
}

// --- 3. invalid keyring and policy files --------------------------------------------------

fn assert_refused_config(site: &TestSite, needles: &[&str]) {
    for args in [
        &["status", "--now", NOW][..],
        &["verify", "--now", NOW][..],
        &["submit", PAGE, "--key", "keys/wanda.pem", "--now", NOW][..],
    ] {
        let out = site.cmd(args).code(1);
        let err = stderr(&out);
        for needle in needles {
            assert!(err.contains(needle), "{args:?}: {needle:?} not in {err}");
        }
    }
}

fn key_b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn site_with_keyring(keyring: &str) -> TestSite {
    let mut site = TestSite::new();
    site.reviewer("wanda", &["writers"])
        .page("kb/install.md", "Install", "x\n")
        .file("approvals/keyring.yaml", keyring);
    site
}

fn good_key(n: u8) -> String {
    public_base64(&SigningKey::from_bytes(&[n; 32]))
}

#[test]
fn a_31_byte_public_key_is_refused_naming_the_entry() {
    let site = site_with_keyring(&format!(
        "reviewers:\n  - id: alice\n    name: Alice\n    keys:\n      - id: alice-2026\n        public_key: {}\n",
        key_b64(&[7u8; 31])
    ));
    assert_refused_config(
        &site,
        &[
            "approvals/keyring.yaml",
            "reviewers[0].keys[0] (alice-2026).public_key",
            "32 bytes",
        ],
    );
}

#[test]
fn a_weak_small_order_public_key_is_refused() {
    let mut weak = [0u8; 32];
    weak[0] = 1; // the identity point
    let site = site_with_keyring(&format!(
        "reviewers:\n  - id: alice\n    name: Alice\n    keys:\n      - id: alice-2026\n        public_key: {}\n",
        key_b64(&weak)
    ));
    assert_refused_config(
        &site,
        &[
            "approvals/keyring.yaml",
            "reviewers[0].keys[0] (alice-2026).public_key",
            "weak",
        ],
    );
}

#[test]
fn a_public_key_listed_twice_is_refused_under_two_reviewers_or_one() {
    let two_reviewers = site_with_keyring(&format!(
        "reviewers:\n  - id: alice\n    name: Alice\n    keys: [{{id: alice-2026, public_key: '{k}'}}]\n  - id: bob\n    name: Bob\n    keys: [{{id: bob-2026, public_key: '{k}'}}]\n",
        k = good_key(1)
    ));
    assert_refused_config(
        &two_reviewers,
        &[
            "approvals/keyring.yaml",
            "reviewers[1].keys[0] (bob-2026).public_key",
            "alice-2026",
        ],
    );
    let one_reviewer = site_with_keyring(&format!(
        "reviewers:\n  - id: alice\n    name: Alice\n    keys:\n      - {{id: alice-2025, public_key: '{k}'}}\n      - {{id: alice-2026, public_key: '{k}'}}\n",
        k = good_key(1)
    ));
    assert_refused_config(
        &one_reviewer,
        &[
            "approvals/keyring.yaml",
            "reviewers[0].keys[1] (alice-2026).public_key",
            "alice-2025",
        ],
    );
}

#[test]
fn a_reviewer_id_or_key_id_listed_twice_is_refused() {
    let site = site_with_keyring(&format!(
        "reviewers:\n  - id: alice\n    name: Alice\n    keys: [{{id: a1, public_key: '{}'}}]\n  - id: alice\n    name: Alice Again\n    keys: [{{id: a2, public_key: '{}'}}]\n",
        good_key(1),
        good_key(2)
    ));
    assert_refused_config(
        &site,
        &["approvals/keyring.yaml", "reviewers[1].id", "'alice'"],
    );
    let site = site_with_keyring(&format!(
        "reviewers:\n  - id: alice\n    name: Alice\n    keys: [{{id: k, public_key: '{}'}}]\n  - id: bob\n    name: Bob\n    keys: [{{id: k, public_key: '{}'}}]\n",
        good_key(1),
        good_key(2)
    ));
    assert_refused_config(
        &site,
        &[
            "approvals/keyring.yaml",
            "reviewers[1].keys[0] (k).id",
            "twice",
        ],
    );
}

fn site_with_policy(policy: &str) -> TestSite {
    let mut site = TestSite::new();
    cast(&mut site)
        .policy("kb", policy)
        .page("kb/install.md", "Install", "x\n");
    site
}

const POLICY_FILE: &str = "approvals/policies/kb.yaml";

#[test]
fn a_policy_with_no_steps_is_refused() {
    let site = site_with_policy("contributors: [group:writers]\nsteps: []\n");
    assert_refused_config(&site, &[POLICY_FILE, "steps"]);
}

#[test]
fn a_policy_step_needing_zero_approvals_is_refused() {
    let site = site_with_policy(
        "contributors: [group:writers]\nsteps:\n  - {name: technical, approvers: [group:engineering], min_approvals: 0}\n",
    );
    assert_refused_config(&site, &[POLICY_FILE, "steps[0] (technical).min_approvals"]);
}

#[test]
fn a_policy_step_needing_more_approvals_than_it_has_eligible_reviewers_is_refused() {
    // legal: only dave may act, no managers.
    let site = site_with_policy(
        "contributors: [group:writers]\nsteps:\n  - {name: technical, approvers: [group:engineering], min_approvals: 3}\n  - {name: legal, approvers: [group:legal], min_approvals: 2}\n",
    );
    assert_refused_config(&site, &[POLICY_FILE, "steps[1] (legal).min_approvals"]);
    // With a manager, two reviewers may act in legal: the same threshold is reachable.
    let site = site_with_policy(
        "contributors: [group:writers]\nmanagers: [carol]\nsteps:\n  - {name: technical, approvers: [group:engineering], min_approvals: 3}\n  - {name: legal, approvers: [group:legal], min_approvals: 2}\n",
    );
    site.cmd(&["status", "--now", NOW]).success();
}

#[test]
fn a_policy_naming_a_step_twice_is_refused() {
    let site = site_with_policy(
        "contributors: [group:writers]\nsteps:\n  - {name: technical, approvers: [group:engineering], min_approvals: 1}\n  - {name: technical, approvers: [group:legal], min_approvals: 1}\n",
    );
    assert_refused_config(&site, &[POLICY_FILE, "steps[1] (technical).name"]);
}

#[test]
fn a_policy_naming_an_unknown_reviewer_is_refused() {
    let site = site_with_policy(
        "contributors: [group:writers]\nsteps:\n  - {name: technical, approvers: [alice, mallory], min_approvals: 1}\n",
    );
    assert_refused_config(
        &site,
        &[POLICY_FILE, "steps[0] (technical).approvers", "'mallory'"],
    );
    let site = site_with_policy(
        "contributors: [group:writers, mallory]\nsteps:\n  - {name: technical, approvers: [alice], min_approvals: 1}\n",
    );
    assert_refused_config(&site, &[POLICY_FILE, "contributors", "'mallory'"]);
}

#[test]
fn a_policy_naming_an_unknown_group_is_refused() {
    let site = site_with_policy(
        "contributors: [group:writers]\nsteps:\n  - {name: technical, approvers: [group:enginering], min_approvals: 1}\n",
    );
    assert_refused_config(
        &site,
        &[
            POLICY_FILE,
            "steps[0] (technical).approvers",
            "'enginering'",
        ],
    );
}

// --- 4. records that do not count (SPEC §4) -----------------------------------------------

/// The record is listed in `invalid_records` with a reason containing every `because`, is a
/// finding, and changed nothing: the page still waits on alice and bob.
fn assert_invalid_and_ignored(site: &TestSite, file: &str, because: &[&str]) {
    let status = site.status_json(NOW);
    let entry = invalid_record(&status, file)
        .unwrap_or_else(|| panic!("{file} not in invalid_records: {status:#}"));
    let reason = entry["reason"].as_str().unwrap();
    for b in because {
        assert!(reason.contains(b), "{b:?} not in the reason: {reason}");
    }
    assert!(
        finding(&status, "invalid_record", file).is_some(),
        "no invalid_record finding for {file}: {status:#}"
    );
    let page = &status["pages"][0];
    assert_eq!(page["status"], "pending", "{status:#}");
    assert_eq!(page["step"], "technical");
    assert_eq!(strings(&page["waiting_on"]), ["alice", "bob"]);
    assert_eq!(page["published_version"], Value::Null);
    // verify agrees: findings, exit 3.
    site.cmd(&["verify", "--now", NOW]).code(3);
}

fn assert_counted(site: &TestSite) {
    let status = site.status_json(NOW);
    assert_eq!(status["invalid_records"], json!([]), "{status:#}");
    let page = &status["pages"][0];
    assert_eq!(page["status"], "published", "{status:#}");
    assert_eq!(page["published_version"], page["current_version"]);
}

#[test]
fn a_record_signed_after_its_key_was_revoked_does_not_count() {
    let mut site = one_step_in_review();
    site.key_option("alice", "revoked_at", "2026-11-20T09:30:00Z");
    let file =
        site.write_record_signed_by("late", &approve_technical(&site, "alice", SIGNED), "alice");
    assert_invalid_and_ignored(&site, &file, &["alice-key", "revoked"]);
}

#[test]
fn a_record_signed_at_the_instant_of_revocation_does_not_count() {
    let mut site = one_step_in_review();
    site.key_option("alice", "revoked_at", SIGNED);
    let file =
        site.write_record_signed_by("at", &approve_technical(&site, "alice", SIGNED), "alice");
    assert_invalid_and_ignored(&site, &file, &["revoked"]);
}

#[test]
fn a_record_signed_before_its_key_was_revoked_still_counts() {
    let mut site = one_step_in_review();
    site.key_option("alice", "revoked_at", "2026-11-20T11:00:00Z");
    site.write_record_signed_by("early", &approve_technical(&site, "alice", SIGNED), "alice");
    assert_counted(&site);
}

#[test]
fn a_record_by_a_compromised_key_does_not_count() {
    let mut site = one_step_in_review();
    site.key_option("alice", "compromised", "true");
    let file =
        site.write_record_signed_by("c", &approve_technical(&site, "alice", SIGNED), "alice");
    assert_invalid_and_ignored(&site, &file, &["alice-key", "compromised"]);
}

#[test]
fn a_record_signed_before_its_key_became_valid_does_not_count() {
    let mut site = one_step_in_review();
    site.key_option("alice", "not_before", "2026-11-20T10:00:01Z");
    let file =
        site.write_record_signed_by("nb", &approve_technical(&site, "alice", SIGNED), "alice");
    assert_invalid_and_ignored(&site, &file, &["alice-key", "not valid before"]);
}

#[test]
fn a_record_signed_at_the_instant_its_key_became_valid_counts() {
    let mut site = one_step_in_review();
    site.key_option("alice", "not_before", SIGNED);
    site.write_record_signed_by("nb", &approve_technical(&site, "alice", SIGNED), "alice");
    assert_counted(&site);
}

#[test]
fn a_record_signed_when_its_key_had_expired_does_not_count() {
    let mut site = one_step_in_review();
    site.key_option("alice", "not_after", "2026-11-20T09:59:59Z");
    let file =
        site.write_record_signed_by("na", &approve_technical(&site, "alice", SIGNED), "alice");
    assert_invalid_and_ignored(&site, &file, &["alice-key", "expired"]);
    // at not_after itself the key is already expired
    let mut site = one_step_in_review();
    site.key_option("alice", "not_after", SIGNED);
    let file =
        site.write_record_signed_by("na", &approve_technical(&site, "alice", SIGNED), "alice");
    assert_invalid_and_ignored(&site, &file, &["expired"]);
}

#[test]
fn a_record_dated_more_than_five_minutes_after_now_does_not_count() {
    let site = one_step_in_review();
    let file = site.write_record_signed_by(
        "future",
        &approve_technical(&site, "alice", "2026-11-20T12:05:01Z"),
        "alice",
    );
    assert_invalid_and_ignored(&site, &file, &["2026-11-20T12:05:01Z", "future"]);
    // The same record is fine for a build a minute later.
    let later = site.page_status("2026-11-20T12:01:00Z", PAGE);
    assert_eq!(later["status"], "published");
}

#[test]
fn a_record_dated_four_minutes_after_now_counts() {
    let site = one_step_in_review();
    site.write_record_signed_by(
        "skewed",
        &approve_technical(&site, "alice", "2026-11-20T12:04:00Z"),
        "alice",
    );
    assert_counted(&site);
}

#[test]
fn a_record_dated_exactly_five_minutes_after_now_counts() {
    let site = one_step_in_review();
    site.write_record_signed_by(
        "skewed",
        &approve_technical(&site, "alice", "2026-11-20T12:05:00Z"),
        "alice",
    );
    assert_counted(&site);
}

#[test]
fn a_record_whose_space_is_not_the_space_of_its_content_does_not_count() {
    let site = one_step_in_review();
    let record = Record {
        space: "docs".into(),
        ..approve_technical(&site, "alice", SIGNED)
    };
    let file = site.write_record_signed_by("elsewhere", &record, "alice");
    assert_invalid_and_ignored(&site, &file, &["space", "'docs'"]);
}

#[test]
fn a_record_about_a_malformed_page_id_does_not_count() {
    let site = one_step_in_review();
    for (name, content) in [
        ("dotdot", "kb/../kb/install"),
        ("dot", "kb/./install"),
        ("empty", "kb//install"),
        ("rooted", "/kb/install"),
    ] {
        let record = Record {
            content: content.into(),
            ..approve_technical(&site, "alice", SIGNED)
        };
        let file = site.write_record_signed_by(name, &record, "alice");
        assert_invalid_and_ignored(&site, &file, &["content"]);
    }
}

#[test]
fn a_record_whose_comment_was_edited_after_signing_does_not_count() {
    let mut site = one_step_in_review();
    let record = Record {
        comment: Some("Looks right".into()),
        ..approve_technical(&site, "alice", SIGNED)
    };
    let file = site.write_record_signed_by("edited", &record, "alice");
    let text = site.read(&file);
    assert!(text.contains("Looks right"));
    site.file(&file, text.replace("Looks right", "Looks right!"));
    assert_invalid_and_ignored(&site, &file, &["signature does not verify"]);
}

#[test]
fn a_record_whose_version_was_edited_after_signing_does_not_count() {
    let mut site = one_step_in_review();
    // Alice approved an older draft; someone points her record at the current version.
    let old = imprimatur::trust::version::Version::of_bytes(b"---\ntitle: Old\n---\n");
    let record = Record {
        version: old.clone(),
        ..approve_technical(&site, "alice", SIGNED)
    };
    let file = site.write_record_signed_by("retargeted", &record, "alice");
    let current = site.version_of(PAGE);
    let text = site.read(&file).replace(old.as_str(), current.as_str());
    site.file(&file, text);
    assert_invalid_and_ignored(&site, &file, &["signature does not verify"]);
}

#[test]
fn a_record_signed_with_another_reviewers_key_does_not_count() {
    let site = one_step_in_review();
    // Bob signs with his own key but claims to be alice.
    let record = Record {
        key: site.key_id("bob"),
        ..approve_technical(&site, "alice", SIGNED)
    };
    let file = site.write_record_signed_by("impostor", &record, "bob");
    assert_invalid_and_ignored(&site, &file, &["bob-key", "'bob'", "'alice'"]);
    // Bob signs with his key but names alice's key id: the signature can't verify.
    let record = approve_technical(&site, "alice", SIGNED);
    let file = site.write_record_signed_by("forged", &record, "bob");
    assert_invalid_and_ignored(&site, &file, &["signature does not verify"]);
}

#[test]
fn a_record_naming_a_key_that_is_not_in_the_keyring_does_not_count() {
    let site = one_step_in_review();
    let record = Record {
        key: "alice-2019".into(),
        ..approve_technical(&site, "alice", SIGNED)
    };
    let file = site.write_record_signed_by("old-key", &record, "alice");
    assert_invalid_and_ignored(&site, &file, &["alice-2019", "not in the keyring"]);
}

#[test]
fn a_malformed_record_file_is_reported_and_ignored() {
    let mut site = one_step_in_review();
    let good = {
        let r = approve_technical(&site, "alice", SIGNED);
        r.to_yaml(&r.sign(site.signing_key("alice")))
    };
    site.file("approvals/records/broken.yaml", "kind: [approve\n");
    assert_invalid_and_ignored(&site, "approvals/records/broken.yaml", &["YAML"]);

    let mut site = one_step_in_review();
    site.file("approvals/records/list.yaml", "- kind: approve\n");
    assert_invalid_and_ignored(&site, "approvals/records/list.yaml", &["mapping"]);

    for (name, from, to, because) in [
        ("unknown-kind", "kind: \"approve\"", "kind: bless", "kind"),
        ("version-2", "imprimatur: 1", "imprimatur: 2", "imprimatur"),
        ("no-reviewer", "reviewer: \"alice\"\n", "", "reviewer"),
        ("no-step", "step: \"technical\"\n", "", "step"),
        (
            "extra-field",
            "key: \"alice-key\"\n",
            "key: \"alice-key\"\nnote: hi\n",
            "note",
        ),
    ] {
        let mut site = one_step_in_review();
        let text = good.replacen(from, to, 1);
        assert_ne!(text, good);
        let file = format!("approvals/records/{name}.yaml");
        site.file(&file, &text);
        assert_invalid_and_ignored(&site, &file, &[because]);
    }
    let mut site = one_step_in_review();
    let signature = good
        .lines()
        .find_map(|l| l.strip_prefix("signature: "))
        .unwrap();
    site.file(
        "approvals/records/short.yaml",
        good.replace(signature, "AAAA"),
    );
    assert_invalid_and_ignored(&site, "approvals/records/short.yaml", &["64 bytes"]);
    // The unmodified record counts: the edits above are what made them invalid.
    let mut site = one_step_in_review();
    site.file("approvals/records/good.yaml", &good);
    assert_counted(&site);
}

#[test]
fn a_record_with_an_explicit_false_flag_is_signed_over_that_field_and_counts() {
    let mut site = one_step_in_review();
    // Signed by another tool that follows SPEC §4 to the letter: every field of the file but
    // `signature`, here including `publish: false`.
    let mut fields: std::collections::BTreeMap<&str, Value> = std::collections::BTreeMap::new();
    for (k, v) in [
        ("imprimatur", json!(1)),
        ("kind", json!("approve")),
        ("space", json!("kb")),
        ("content", json!(PAGE)),
        ("version", json!(site.version_of(PAGE).as_str())),
        ("step", json!("technical")),
        ("reviewer", json!("alice")),
        ("key", json!("alice-key")),
        ("signed_at", json!(SIGNED)),
        ("publish", json!(false)),
    ] {
        fields.insert(k, v);
    }
    let mut signed = b"imprimatur-record-v1\n".to_vec();
    signed.extend(serde_json::to_vec(&fields).unwrap());
    let signature = ed25519_dalek::Signer::sign(site.signing_key("alice"), &signed);
    let yaml = format!(
        "imprimatur: 1\nkind: approve\nspace: kb\ncontent: {PAGE}\nversion: {}\nstep: technical\nreviewer: alice\nkey: alice-key\nsigned_at: {SIGNED}\npublish: false\nsignature: {}\n",
        site.version_of(PAGE),
        key_b64(&signature.to_bytes())
    );
    site.file("approvals/records/other-tool.yaml", yaml);
    assert_counted(&site);
}

/// The 32-byte little-endian group order L of ed25519.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// `a + b` as plain 256-bit little-endian numbers, not reduced: `s + L` is a second spelling
/// of the scalar `s`, which is what a malleable signature is.
fn add_unreduced(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0, "s + L fits in 256 bits because s < L < 2^253");
    out
}

/// Replaces the record file's signature with `signature`.
fn resign(site: &mut TestSite, file: &str, signature: &[u8; 64]) {
    let text = site.read(file);
    let old = text
        .lines()
        .find_map(|l| l.strip_prefix("signature: "))
        .unwrap()
        .to_string();
    site.file(file, text.replace(&old, &key_b64(signature)));
}

#[test]
fn a_signature_with_a_malleable_s_does_not_count() {
    let mut site = one_step_in_review();
    let record = approve_technical(&site, "alice", SIGNED);
    let good = record.sign(site.signing_key("alice")).to_bytes();
    let file = site.write_record_signed_by("malleable", &record, "alice");
    // S + L is the same signature in the group, but a second spelling of it.
    let mut twin = good;
    let s: [u8; 32] = good[32..].try_into().unwrap();
    twin[32..].copy_from_slice(&add_unreduced(&s, &L));
    assert_ne!(twin, good);
    resign(&mut site, &file, &twin);
    assert_invalid_and_ignored(&site, &file, &["signature does not verify"]);
}

#[test]
fn a_signature_with_a_small_order_r_does_not_count_although_plain_verify_accepts_it() {
    let mut site = one_step_in_review();
    let record = approve_technical(&site, "alice", SIGNED);
    let key = site.signing_key("alice").clone();
    let file = site.write_record_signed_by("small-order-r", &record, "alice");

    // R = the identity point (small order), s = k·a: [s]B = R + [k]A holds, so plain verify
    // accepts this signature; verify_strict must not.
    let mut r = [0u8; 32];
    r[0] = 1;
    let a_bytes: [u8; 32] = {
        let h = Sha512::digest(key.to_bytes());
        let mut a: [u8; 32] = h[..32].try_into().unwrap();
        a[0] &= 248;
        a[31] &= 127;
        a[31] |= 64;
        a
    };
    let message = record.signed_bytes();
    let k = {
        let mut h = Sha512::new();
        h.update(r);
        h.update(key.verifying_key().to_bytes());
        h.update(&message);
        Scalar::from_bytes_mod_order_wide(&h.finalize().into())
    };
    let s = (k * Scalar::from_bytes_mod_order(a_bytes)).to_bytes();
    let mut forged = [0u8; 64];
    forged[..32].copy_from_slice(&r);
    forged[32..].copy_from_slice(&s);
    let signature = ed25519_dalek::Signature::from_bytes(&forged);
    use ed25519_dalek::Verifier as _;
    assert!(
        key.verifying_key().verify(&message, &signature).is_ok(),
        "the forged signature passes plain verify (else this test proves nothing)"
    );
    assert!(key
        .verifying_key()
        .verify_strict(&message, &signature)
        .is_err());
    resign(&mut site, &file, &forged);
    assert_invalid_and_ignored(&site, &file, &["signature does not verify"]);
}

// --- 5. signing commands refuse clearly ---------------------------------------------------

/// The command exits 1 with every needle on stderr, and writes no record and no blob.
fn assert_sign_refused(site: &TestSite, args: &[&str], needles: &[&str]) {
    let records = record_files(site);
    let store = site.files_under("approvals/store");
    let out = site.cmd(args).code(1);
    let err = stderr(&out);
    for needle in needles {
        assert!(err.contains(needle), "{args:?}: {needle:?} not in {err}");
    }
    assert_eq!(stdout(&out), "", "{args:?} printed a record path");
    assert_eq!(record_files(site), records, "{args:?} wrote a record");
    assert_eq!(
        site.files_under("approvals/store"),
        store,
        "{args:?} stored"
    );
}

#[test]
fn signing_with_a_key_that_is_not_in_the_keyring_is_refused_showing_its_public_key() {
    let site = kb_in_review();
    let stranger = SigningKey::from_bytes(&[42u8; 32]);
    write_secret_key(&site.path().join("keys/stranger.pem"), &stranger);
    for args in [
        &["submit", PAGE, "--key", "keys/stranger.pem", "--now", NOW][..],
        &[
            "approve",
            PAGE,
            "--key",
            "keys/stranger.pem",
            "--step",
            "technical",
            "--now",
            NOW,
        ][..],
    ] {
        assert_sign_refused(
            &site,
            args,
            &[
                "keys/stranger.pem",
                "approvals/keyring.yaml",
                &public_base64(&stranger),
            ],
        );
    }
}

#[test]
fn signing_with_a_revoked_key_is_refused() {
    let mut site = kb_in_review();
    site.key_option("alice", "revoked_at", "2026-11-20T09:30:00Z");
    assert_sign_refused(
        &site,
        &[
            "approve",
            PAGE,
            "--key",
            "keys/alice.pem",
            "--step",
            "technical",
            "--now",
            NOW,
        ],
        &["alice-key", "revoked"],
    );
}

#[test]
fn approving_in_a_step_that_does_not_exist_is_refused() {
    let site = kb_in_review();
    assert_sign_refused(
        &site,
        &[
            "approve",
            PAGE,
            "--key",
            "keys/alice.pem",
            "--step",
            "techincal",
            "--now",
            NOW,
        ],
        &["'techincal'", POLICY_FILE, "technical, legal"],
    );
}

#[test]
fn a_rejection_without_a_comment_is_refused_where_the_policy_needs_one() {
    let site = kb_in_review();
    for extra in [&[][..], &["--comment", "  "][..]] {
        let mut args = vec![
            "reject",
            PAGE,
            "--key",
            "keys/alice.pem",
            "--step",
            "technical",
            "--now",
            NOW,
        ];
        args.extend_from_slice(extra);
        assert_sign_refused(&site, &args, &["--comment", "reject_comment_required"]);
    }
    // With a comment it is signed, and counts: the version is rejected.
    site.sign(
        "alice",
        Kind::Reject,
        PAGE,
        &["--step", "technical", "--comment", "Step 3 is wrong"],
        SIGNED,
    );
    let p = site.page_status(NOW, PAGE);
    assert_eq!(p["status"], "rejected");
    assert_eq!(p["current_state"], "rejected");
}

#[test]
fn signing_a_page_that_does_not_exist_is_refused() {
    let site = kb_in_review();
    assert_sign_refused(
        &site,
        &[
            "submit",
            "kb/uninstall",
            "--key",
            "keys/wanda.pem",
            "--now",
            NOW,
        ],
        &["'kb/uninstall'", "content/"],
    );
    assert_sign_refused(
        &site,
        &[
            "approve",
            "content/kb/nope.md",
            "--key",
            "keys/alice.pem",
            "--step",
            "technical",
            "--now",
            NOW,
        ],
        &["'kb/nope'"],
    );
}

// --- 6. verify ----------------------------------------------------------------------------

#[test]
fn verify_passes_a_clean_site_and_fails_one_with_an_invalid_record() {
    let mut site = kb_in_review();
    site.sign(
        "alice",
        Kind::Approve,
        PAGE,
        &["--step", "technical"],
        SIGNED,
    );
    let clean = site.cmd(&["verify", "--now", NOW]).code(0);
    assert!(stdout(&clean).contains("0 invalid"), "{}", stdout(&clean));

    // verify --format json prints the status.json object.
    let verified: Value = serde_json::from_slice(
        &site
            .cmd(&["verify", "--format", "json", "--now", NOW])
            .code(0)
            .get_output()
            .stdout,
    )
    .unwrap();
    assert_eq!(verified, site.status_json(NOW));
    for key in ["now", "pages", "invalid_records", "findings"] {
        assert!(verified.get(key).is_some(), "{key} missing: {verified:#}");
    }

    let record = Record {
        comment: Some("fine".into()),
        ..approve_technical(&site, "bob", "2026-11-20T10:30:00Z")
    };
    let file = site.write_record_signed_by("bob", &record, "bob");
    let text = site.read(&file).replace("fine", "fine by me");
    site.file(&file, text);
    let failed = site.cmd(&["verify", "--now", NOW]).code(3);
    assert!(stdout(&failed).contains("1 invalid"), "{}", stdout(&failed));
    assert!(stdout(&failed).contains(&file), "{}", stdout(&failed));
    let verified: Value = serde_json::from_slice(
        &site
            .cmd(&["verify", "--format", "json", "--now", NOW])
            .code(3)
            .get_output()
            .stdout,
    )
    .unwrap();
    assert!(invalid_record(&verified, &file).is_some(), "{verified:#}");
    assert_eq!(verified, site.status_json(NOW));
}

// --- 7. log -------------------------------------------------------------------------------

#[test]
fn log_lists_every_record_of_a_page_counted_or_not_and_why() {
    let mut site = TestSite::new();
    cast(&mut site)
        .policy("kb", TWO_STEPS)
        .page("kb/install.md", "Install the agent", "Run it.\n");
    // An approval signed before anything was submitted.
    let early = site.write_record_signed_by(
        "early",
        &approve_technical(&site, "alice", "2026-11-20T08:00:00Z"),
        "alice",
    );
    let submit = site.sign("wanda", Kind::Submit, PAGE, &[], SUBMITTED);
    let approve = site.sign(
        "alice",
        Kind::Approve,
        PAGE,
        &["--step", "technical", "--comment", "Tested on\ntwo distros"],
        SIGNED,
    );
    let outsider = site.write_record_signed_by(
        "dave-technical",
        &approve_technical(&site, "dave", "2026-11-20T10:15:00Z"),
        "dave",
    );
    let tampered = {
        let record = Record {
            comment: Some("ok".into()),
            ..approve_technical(&site, "bob", "2026-11-20T10:30:00Z")
        };
        let file = site.write_record_signed_by("bob-tampered", &record, "bob");
        let text = site
            .read(&file)
            .replace("comment: \"ok\"", "comment: \"okay\"");
        site.file(&file, text);
        file
    };
    // Signed by hand: `approve` refuses to write a record the build would not count.
    let too_soon = site.write_record_signed_by(
        "dave-too-soon",
        &Record {
            step: Some("legal".into()),
            ..site.record_for("dave", Kind::Approve, PAGE, "2026-11-20T10:45:00Z")
        },
        "dave",
    );

    let log: Value = serde_json::from_slice(
        &site
            .cmd(&["log", PAGE, "--format", "json", "--now", NOW])
            .success()
            .get_output()
            .stdout,
    )
    .unwrap();
    assert_eq!(log["page"], PAGE);
    assert_eq!(log["status"], "pending");
    assert_eq!(log["current_version"], site.version_of(PAGE).as_str());
    let entries = log["entries"].as_array().unwrap();
    let files: Vec<&str> = entries
        .iter()
        .map(|e| e["file"].as_str().unwrap())
        .collect();
    assert_eq!(
        files,
        [&early, &submit, &approve, &outsider, &tampered, &too_soon].map(String::as_str),
        "every record, in signed_at order"
    );
    let expect = [
        (false, Some("out_of_turn"), "submit"),
        (true, None, "submitted"),
        (true, None, "1 of 2"),
        (false, Some("invalid_record"), "may not act"),
        (false, Some("invalid_record"), "signature does not verify"),
        (false, Some("out_of_turn"), "technical"),
    ];
    for (entry, (counted, finding, note)) in entries.iter().zip(expect) {
        assert_eq!(entry["counted"], counted, "{entry:#}");
        assert_eq!(entry["finding"], json!(finding), "{entry:#}");
        assert!(
            entry["note"].as_str().unwrap().contains(note),
            "{note:?}: {entry:#}"
        );
    }
    assert_eq!(entries[2]["reviewer"], "alice");
    assert_eq!(entries[2]["kind"], "approve");
    assert_eq!(entries[2]["step"], "technical");
    assert_eq!(entries[2]["comment"], "Tested on\ntwo distros");
    assert_eq!(entries[2]["signed_at"], SIGNED);
    assert_eq!(entries[2]["key"], "alice-key");

    let text = stdout(
        &site
            .cmd(&["log", "content/kb/install.md", "--now", NOW])
            .success(),
    );
    assert!(text.starts_with("kb/install (pending)"), "{text}");
    assert!(!text.contains('\x1b'), "NO_COLOR: {text:?}");
    for (file, mark) in [
        (&early, "[ignored]"),
        (&submit, "[counted]"),
        (&approve, "[counted]"),
        (&outsider, "[ignored]"),
        (&tampered, "[ignored]"),
        (&too_soon, "[ignored]"),
    ] {
        let at = text
            .find(file.as_str())
            .unwrap_or_else(|| panic!("{file} not in {text}"));
        // The entry's header line is the last one before its file line that has a mark.
        let header = text[..at]
            .lines()
            .rev()
            .find(|l| l.contains("[counted]") || l.contains("[ignored]"))
            .unwrap();
        assert!(header.contains(mark), "{file}: {header}");
    }
    assert!(text.contains("signature does not verify"), "{text}");
    assert!(text.contains("comment: Tested on"), "{text}");
    assert_eq!(text.matches("[counted]").count(), 2, "{text}");
    assert_eq!(text.matches("[ignored]").count(), 4, "{text}");
}

#[test]
fn log_of_a_page_that_does_not_exist_is_refused() {
    let site = kb_in_review();
    let out = site.cmd(&["log", "kb/nope", "--now", NOW]).code(1);
    assert!(stderr(&out).contains("'kb/nope'"), "{}", stderr(&out));
}

// --- 8. bundles ---------------------------------------------------------------------------

#[test]
fn a_bundle_is_submitted_as_its_manifest_and_stored_blob_by_blob() {
    let mut site = TestSite::new();
    let png: Vec<u8> = (0u8..=255).rev().collect();
    let index = b"---\ntitle: Screens\n---\n\n![a](img/a.png)\n".to_vec();
    cast(&mut site)
        .policy("kb", TWO_STEPS)
        .file("content/kb/screens/index.md", &index)
        .file("content/kb/screens/img/a.png", &png)
        .file("content/kb/screens/.DS_Store", b"junk");

    let manifest = format!(
        "imprimatur-bundle-v1\n{} img/a.png\n{} index.md\n",
        sha256_hex(&png),
        sha256_hex(&index)
    );
    let version = format!("sha256:{}", sha256_hex(manifest.as_bytes()));

    let file = site.sign("wanda", Kind::Submit, "content/kb/screens/", &[], SUBMITTED);
    let parsed = imprimatur::trust::record::parse(&site.read(&file)).unwrap();
    assert_eq!(parsed.record.version.as_str(), version);
    assert_eq!(parsed.record.content, "kb/screens");
    assert_eq!(parsed.record.space, "kb");
    assert_eq!(parsed.record.kind, Kind::Submit);
    assert_eq!(parsed.record.reviewer, "wanda");

    let blob = |bytes: &[u8]| {
        let hex = sha256_hex(bytes);
        (
            format!("approvals/store/{}/{}", &hex[..2], &hex[2..]),
            bytes.to_vec(),
        )
    };
    let mut expected = vec![blob(manifest.as_bytes()), blob(&png), blob(&index)];
    expected.sort();
    assert_eq!(site.files_under("approvals/store"), expected);

    let p = site.page_status(NOW, "kb/screens");
    assert_eq!(p["current_version"], version.as_str());
    assert_eq!(p["status"], "pending");
    assert_eq!(p["title"], "Screens");
}
