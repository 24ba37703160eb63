//! What a governed site's public proofs disclose (SPEC §4a, issue 31): a reviewer's comment is a
//! note for reviewers, so a comment reaches `output/` only where the approval history shows it
//! (`history.comments: public`, the live version's records) — not even inside `proof.json`,
//! where the records are shown for anyone to check — and the audit still proves the page from
//! the redacted records. A record signed before comments
//! were committed can't be redacted: its page's proof is incomplete, and the audit says so.

use imprimatur::trust::record::{Kind, Record};

use crate::governance::{key, new_root, pin_of, sign_governance, ONE_STEP};
use crate::util::{findings_of, TestSite};

const PAGE: &str = "kb/install";
const SUBMITTED: &str = "2026-11-20T09:00:00Z";
const REJECTED: &str = "2026-11-20T10:00:00Z";
const RESUBMITTED: &str = "2026-11-20T11:00:00Z";
const APPROVED: &str = "2026-11-20T12:00:00Z";
const NOW: &str = "2026-11-21T12:00:00Z";

/// The rejection's words: they quote a price that was never published.
const SECRET: &str = "Step 3 quotes the unreleased enterprise price of 4,200 EUR";

/// `kb/install`: the first version rejected by alice with `SECRET`, the edited one approved
/// and live. `legacy_rejection` signs the rejection as records were signed before comments
/// were committed (the comment itself in the signed bytes). Then governed by a root of two
/// admins (ada, bo). Returns the site, its pin, and the rejection's record file.
fn rejected_then_approved(legacy_rejection: bool) -> (TestSite, String, String) {
    let mut site = TestSite::new();
    site.reviewer("wanda", &["writers"])
        .reviewer("alice", &["engineering"])
        .policy("kb", ONE_STEP)
        .page(
            "kb/install.md",
            "Install the agent",
            "Enterprise: 4,200 EUR.\n",
        );
    site.sign("wanda", Kind::Submit, PAGE, &[], SUBMITTED);
    let rejection = if legacy_rejection {
        let record = Record {
            step: Some("technical".into()),
            comment: Some(SECRET.into()),
            ..site.record_for("alice", Kind::Reject, PAGE, REJECTED)
        };
        site.write_record_signed_by("kb/install/legacy-reject", &record, "alice")
    } else {
        site.sign(
            "alice",
            Kind::Reject,
            PAGE,
            &["--step", "technical", "--comment", SECRET],
            REJECTED,
        )
    };
    site.page(
        "kb/install.md",
        "Install the agent",
        "Run `agent install`.\n",
    );
    site.sign("wanda", Kind::Submit, PAGE, &[], RESUBMITTED);
    site.sign(
        "alice",
        Kind::Approve,
        PAGE,
        &["--step", "technical", "--comment", "Fixed"],
        APPROVED,
    );
    new_root(&site, "2", &["ada", "bo"]);
    site.imprimatur(&["root", "sign", "--key", &key("ada")])
        .run();
    site.imprimatur(&["root", "sign", "--key", &key("bo")])
        .run();
    let pin = pin_of(&site);
    sign_governance(&site, &pin, "ada");
    sign_governance(&site, &pin, "bo");
    (site, pin, rejection)
}

/// `imprimatur audit output --trust-root PIN`, expecting `code` and `needle` on stdout.
fn audit(site: &TestSite, pin: &str, code: i32, needle: &str) {
    let output = site.path().join("output");
    site.imprimatur(&["audit", output.to_str().unwrap(), "--trust-root", pin])
        .exits(code)
        .stdout_has(needle)
        .run();
}

fn proof(site: &TestSite) -> serde_json::Value {
    serde_json::from_str(&site.read("output/kb/install/proof.json")).unwrap()
}

/// The texts of the proof's records.
fn proof_records(site: &TestSite) -> Vec<String> {
    proof(site)["records"]
        .as_object()
        .unwrap()
        .values()
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

/// The files of `output/` that hold `needle`.
fn output_files_holding(site: &TestSite, needle: &str) -> Vec<String> {
    site.all_output_files()
        .into_iter()
        .filter(|(_, bytes)| String::from_utf8_lossy(bytes).contains(needle))
        .map(|(path, _)| path)
        .collect()
}

#[test]
fn a_rejection_comment_appears_nowhere_in_output_and_the_approval_still_proves() {
    let (mut site, pin, rejection) = rejected_then_approved(false);
    // The comment is in the record the reviewers read, committed: its digest is signed.
    let record = site.read(&rejection);
    assert!(record.contains(SECRET), "{record}");
    assert!(record.contains("comment_digest: \"sha256:"), "{record}");

    site.imprimatur(&["build", "--trust-root", &pin, "--strict"])
        .at(NOW)
        .run();
    assert_eq!(
        output_files_holding(&site, SECRET),
        Vec::<String>::new(),
        "the rejection's words reached output/"
    );
    // The rejection is in the proof all the same — without its words, with its digest — and
    // so is the approval: every record of the review that made the page live.
    let records = proof_records(&site);
    assert_eq!(records.len(), 4, "{records:#?}");
    let rejected = records
        .iter()
        .find(|t| t.contains("kind: \"reject\""))
        .expect("the rejection is in the proof");
    assert!(rejected.contains("comment_digest: \"sha256:"), "{rejected}");
    assert!(!rejected.contains("comment:"), "{rejected}");
    assert!(!rejected.contains("comment_salt:"), "{rejected}");
    assert_eq!(proof(&site).get("withheld"), None);
    audit(
        &site,
        &pin,
        0,
        "every page is the approved version, approved as its policy requires",
    );

    // A redacted record proves nothing under approvals/records/: the build must see the
    // comment it committed to. Put the proof's redacted approval where the signed one was.
    let approval = records
        .iter()
        .find(|t| t.contains("kind: \"approve\""))
        .unwrap()
        .clone();
    let file = site
        .files_under("approvals/records")
        .into_iter()
        .map(|(path, _)| path)
        .find(|path| path.ends_with("-approve-alice.yaml"))
        .unwrap();
    site.file(&file, &approval);
    let status = site.status_json(NOW);
    let invalid = findings_of(&status, "invalid_record");
    assert_eq!(invalid.len(), 1, "{status:#}");
    assert!(
        invalid[0]["detail"]
            .as_str()
            .unwrap()
            .starts_with("comment: missing"),
        "{status:#}"
    );
    // The approval as signed, counted by the last build, still stands (`tests/sealed.rs`)...
    assert_eq!(
        findings_of(&status, "record_removed").len(),
        1,
        "{status:#}"
    );
    assert_eq!(
        crate::util::page_entry(&status, PAGE)["status"],
        "published",
        "{status:#}"
    );
    // ...and without it, as in a checkout no build has run in, the redacted one alone
    // publishes nothing.
    std::fs::remove_file(site.path().join(".imprimatur-records-output")).unwrap();
    let status = site.status_json(NOW);
    assert_eq!(
        findings_of(&status, "invalid_record").len(),
        1,
        "{status:#}"
    );
    assert_eq!(
        crate::util::page_entry(&status, PAGE)["status"],
        "pending",
        "{status:#}"
    );
}

#[test]
fn with_public_comments_the_proof_shows_the_live_versions_and_still_proves() {
    let (mut site, pin, _) = rejected_then_approved(false);
    let config = site.read("imprimatur.yaml");
    site.file(
        "imprimatur.yaml",
        format!("{config}history: {{comments: public}}\n"),
    );
    sign_governance(&site, &pin, "ada");
    sign_governance(&site, &pin, "bo");
    site.imprimatur(&["build", "--trust-root", &pin, "--strict"])
        .at(NOW)
        .run();
    // Where the approval history shows a comment, the proof shows it: the live version's
    // approval, whole, with its salt (anyone can check it against the signed digest) ...
    let records = proof_records(&site);
    let approval = records
        .iter()
        .find(|t| t.contains("kind: \"approve\""))
        .unwrap();
    assert!(approval.contains("comment: \"Fixed\""), "{approval}");
    assert!(approval.contains("comment_salt: \""), "{approval}");
    assert!(site.read("output/kb/install/index.html").contains("Fixed"));
    // ... and the history never shows an earlier version's comment, public or not (it may
    // quote what was never published): nor does the proof.
    assert_eq!(output_files_holding(&site, SECRET), Vec::<String>::new());
    audit(&site, &pin, 0, "every page is the approved version");
}

#[test]
fn a_legacy_record_that_signs_its_comment_is_withheld_and_the_page_is_unprovable() {
    let (site, pin, rejection) = rejected_then_approved(true);
    // A notice, not a defect: what is live is approved, so --strict still passes.
    let out = site
        .imprimatur(&["build", "--trust-root", &pin, "--strict"])
        .at(NOW)
        .stdout_has("proof_incomplete")
        .run();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(stdout.contains(&rejection), "{stdout}");
    assert!(site.exists("output/kb/install/index.html"));
    assert_eq!(output_files_holding(&site, SECRET), Vec::<String>::new());
    assert_eq!(proof(&site)["withheld"], serde_json::json!([rejection]));

    let status = site.status_json(NOW);
    let incomplete = findings_of(&status, "proof_incomplete");
    assert_eq!(incomplete.len(), 1, "{status:#}");
    assert_eq!(incomplete[0]["page"], PAGE);
    assert_eq!(incomplete[0]["file"], rejection.as_str());

    audit(
        &site,
        &pin,
        3,
        "UNPROVABLE kb/install/: proof.json withholds",
    );
    audit(&site, &pin, 3, &rejection);
}
