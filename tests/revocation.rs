//! Revocation that warns (issue 36): `keyring revoke` revokes as of now by default, names the
//! records that count today and that a revocation would void, and refuses without `--force`;
//! a space left with nobody who can sign a step is a `step_unreachable` finding that fails
//! `verify` and `build --strict`.

use crate::util::{findings_of, TestSite};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const SUBMITTED: &str = "2026-12-07T09:00:00Z";
const LEFT: &str = "2026-12-07T09:30:00Z";
const APPROVED: &str = "2026-12-07T10:00:00Z";
const NOW: &str = "2026-12-07T12:00:00Z";

/// Wendy writes; Raj is the only engineer, and approves her page.
fn approved_by_raj() -> TestSite {
    let mut site = TestSite::new();
    site.reviewer("wendy", &["writers"])
        .reviewer("raj", &["engineering"])
        .policy("kb", crate::governance::ONE_STEP)
        .page("kb/install.md", "Install", "Run the installer.\n");
    site.imprimatur(&["submit", "kb/install"])
        .by("wendy")
        .at(SUBMITTED)
        .run();
    site.imprimatur(&["approve", "kb/install", "--step", "technical"])
        .by("raj")
        .at(APPROVED)
        .run();
    site
}

#[test]
fn revoking_as_of_a_time_before_a_counted_approval_names_it_and_writes_nothing() {
    let site = approved_by_raj();
    let keyring = site.read("approvals/keyring.yaml");
    let out = site
        .imprimatur(&["keyring", "revoke", "raj-key", "--seal", "--at", LEFT])
        .at(NOW)
        .exits(1)
        .stderr_has("revoking key 'raj-key' at 2026-12-07T09:30:00Z would void 1 record(s)")
        .stderr_has("kb/install approve in step 'technical' signed 2026-12-07T10:00:00Z (approvals/records/kb/install/")
        .stderr_has("or pass --force to void them")
        .run();
    assert!(text(&out.stdout).is_empty());
    assert_eq!(
        site.read("approvals/keyring.yaml"),
        keyring,
        "written anyway"
    );

    // With --force the approval is voided, said so, and nothing is sealed: it was signed
    // after the revocation (what the issue saw as "sealing its 0 counted record(s)").
    site.imprimatur(&[
        "keyring", "revoke", "raj-key", "--seal", "--at", LEFT, "--force",
    ])
    .at(NOW)
    .stdout_has("at 2026-12-07T09:30:00Z, sealing its 0 counted record(s)")
    .stdout_has(
        "voided (--force): 1 record(s) signed at or after 2026-12-07T09:30:00Z no longer count",
    )
    .run();
    let status = site.status_json(NOW);
    assert_eq!(
        crate::util::page_entry(&status, "kb/install")["published_version"],
        serde_json::Value::Null
    );
}

#[test]
fn revoking_as_of_now_seals_the_approval_that_counts_and_it_keeps_counting() {
    let site = approved_by_raj();
    let out = site
        .imprimatur(&["keyring", "revoke", "raj-key", "--seal"])
        .at(NOW)
        .run();
    assert_eq!(
        text(&out.stdout),
        "revoked key 'raj-key' at 2026-12-07T12:00:00Z, sealing its 1 counted record(s) in approvals/keyring.yaml\n"
    );
    assert!(text(&out.stderr).is_empty(), "{}", text(&out.stderr));
    let keyring = site.read("approvals/keyring.yaml");
    assert!(
        keyring.contains("revoked_at: \"2026-12-07T12:00:00Z\""),
        "{keyring}"
    );
    // The default is the invocation's clock: SOURCE_DATE_EPOCH stands for --now.
    let site = approved_by_raj();
    site.imprimatur(&["keyring", "revoke", "raj-key"])
        .env(&[("SOURCE_DATE_EPOCH".into(), "1796644800".into())])
        .stdout_has("revoked key 'raj-key' at 2026-12-07T12:00:00Z in")
        .run();
    let status = site.status_json(NOW);
    assert!(
        crate::util::page_entry(&status, "kb/install")["published_version"].is_string(),
        "{status:#}"
    );
}

#[test]
fn a_step_nobody_can_sign_any_more_is_a_finding_that_fails_the_gate() {
    let site = approved_by_raj();
    let status = site.status_json(NOW);
    assert!(
        findings_of(&status, "step_unreachable").is_empty(),
        "{status:#}"
    );
    site.imprimatur(&["verify"]).at(NOW).run();

    site.imprimatur(&["keyring", "revoke", "raj-key", "--seal"])
        .at(NOW)
        .run();
    let status = site.status_json(NOW);
    let found = findings_of(&status, "step_unreachable");
    assert_eq!(found.len(), 1, "{status:#}");
    let detail = found[0]["detail"].as_str().unwrap();
    assert_eq!(
        detail,
        "space 'kb', step 'technical': nobody who can sign today can complete it: it needs 1 approval(s) from distinct reviewers and 0 of its approvers can sign (raj: key 'raj-key' was revoked at 2026-12-07T12:00:00Z); the space has no manager to override it. Add or restore a reviewer who may act in this step in approvals/keyring.yaml (imprimatur keyring add), or change the step in approvals/policies/kb.yaml"
    );
    assert_eq!(found[0]["file"], "approvals/policies/kb.yaml");

    // The page stays published (Raj's approval was sealed), but the gate fails.
    site.imprimatur(&["verify"])
        .at(NOW)
        .exits(3)
        .stdout_has("step_unreachable")
        .run();
    site.imprimatur(&["verify", "--format", "json"])
        .at(NOW)
        .exits(3)
        .stdout_has("\"kind\": \"step_unreachable\"")
        .run();
    site.imprimatur(&["build", "--strict"])
        .at(NOW)
        .exits(3)
        .run();
    site.imprimatur(&["build"])
        .at(NOW)
        .stdout_has("step_unreachable")
        .run();
    let report: serde_json::Value =
        serde_json::from_str(&site.read("reports/status.json")).unwrap();
    assert_eq!(findings_of(&report, "step_unreachable").len(), 1);
    site.imprimatur(&["status"])
        .at(NOW)
        .stdout_has("step_unreachable")
        .run();
}
