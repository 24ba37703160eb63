//! Passkeys as reviewer keys (SPEC §3a, §4a): a legal reviewer approves with a passkey — the
//! browser's assertion is made here as a browser makes it (authenticator data, client data,
//! an ES256 signature from a P-256 key generated in the test) — and the page is published,
//! its log shows the passkey, and on a governed site its proof carries the envelope and the
//! audit proves it. The same record with its envelope changed counts nowhere.

use base64::Engine as _;
use imprimatur::trust::record::{Kind, Record, RecordFileParsed};
use imprimatur::trust::webauthn::Envelope;
use p256::ecdsa::signature::Signer as _;
use p256::pkcs8::EncodePublicKey as _;
use sha2::{Digest, Sha256};

use crate::governance::{key, new_root, pin_of, sign_governance};
use crate::util::{findings_of, page_entry, TestSite};

const PAGE: &str = "kb/install";
const SUBMITTED: &str = "2026-11-20T09:00:00Z";
const APPROVED: &str = "2026-11-20T10:00:00Z";
const NOW: &str = "2026-11-21T12:00:00Z";
const RP_ID: &str = "review.example.com";
const ORIGIN: &str = "https://review.example.com";

pub(crate) const LEGAL_STEP: &str = "\
contributors: [group:writers]
steps:
  - name: legal
    approvers: [group:legal]
    min_approvals: 1
";

/// Dana's passkey: a P-256 key, as a phone would make it at registration.
fn passkey() -> p256::ecdsa::SigningKey {
    let seed: [u8; 32] = Sha256::digest(b"imprimatur test passkey dana").into();
    p256::ecdsa::SigningKey::from_slice(&seed).unwrap()
}

/// The site's keyring with dana added: her only key is the passkey.
fn add_dana(site: &mut TestSite, origins: &str) {
    let spki = passkey().verifying_key().to_public_key_der().unwrap();
    let keyring = site.read("approvals/keyring.yaml");
    site.file(
        "approvals/keyring.yaml",
        format!(
            "{keyring}  - id: dana\n    name: Dana Example\n    groups: [legal]\n    keys:\n      - id: dana-passkey\n        webauthn:\n          alg: ES256\n          public_key: {}\n          rp_id: {RP_ID}\n          origins: {origins}\n          credential_id: NaUYMmK-a4GFKInRyJKC2Q\n",
            base64::engine::general_purpose::STANDARD.encode(spki.as_bytes())
        ),
    );
}

/// What the review page gets back from `navigator.credentials.get` with the record's signed
/// bytes hashed as the challenge, written as a record file.
fn approval_signed_in_a_browser(record: &Record) -> RecordFileParsed {
    signed_in_a_browser(record, &passkey(), RP_ID, ORIGIN)
}

/// `record` signed as a browser at `origin` has `key` sign it for relying party `rp_id`
/// (SPEC §4a).
fn signed_in_a_browser(
    record: &Record,
    key: &p256::ecdsa::SigningKey,
    rp_id: &str,
    origin: &str,
) -> RecordFileParsed {
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(record.signed_bytes()));
    let client_data_json = format!(
        "{{\"type\":\"webauthn.get\",\"challenge\":\"{challenge}\",\"origin\":\"{origin}\",\"crossOrigin\":false}}"
    )
    .into_bytes();
    let mut authenticator_data = Sha256::digest(rp_id).to_vec();
    authenticator_data.push(0x05); // user present, user verified
    authenticator_data.extend_from_slice(&[0, 0, 0, 0]); // a synced passkey counts nothing
    let mut message = authenticator_data.clone();
    message.extend_from_slice(&Sha256::digest(&client_data_json));
    let signature: p256::ecdsa::Signature = key.sign(&message);
    RecordFileParsed {
        record: record.clone().into(),
        signature: signature.to_der().as_bytes().to_vec(),
        webauthn: Some(
            Envelope {
                authenticator_data,
                client_data_json,
            }
            .into(),
        ),
    }
}

/// `kb/install` submitted by wanda; dana (legal, a passkey) is the one approver it needs.
/// Returns the site and dana's approval, signed but not yet written.
fn submitted_for_legal() -> (TestSite, RecordFileParsed) {
    let mut site = TestSite::new();
    site.reviewer("wanda", &["writers"])
        .reviewer("ada", &["admins"])
        .reviewer("bo", &["admins"])
        .policy("kb", LEGAL_STEP)
        .page(
            "kb/install.md",
            "Install the agent",
            "Run `agent install`.\n",
        );
    add_dana(&mut site, &format!("[\"{ORIGIN}\"]"));
    site.sign("wanda", Kind::Submit, PAGE, &[], SUBMITTED);
    let record = Record {
        step: Some("legal".into()),
        key: "dana-passkey".into(),
        ..site.record_for("dana", Kind::Approve, PAGE, APPROVED)
    };
    let approval = approval_signed_in_a_browser(&record);
    (site, approval)
}

#[test]
fn a_page_approved_with_a_passkey_is_published_and_a_changed_envelope_counts_nowhere() {
    let (mut site, approval) = submitted_for_legal();
    let file = "approvals/records/kb/install/approve-dana.yaml";

    // The approval with one byte of its authenticator data changed (the signature counter):
    // the signature no longer verifies, the record is invalid and the page stays in review.
    let mut changed = approval.clone();
    let mut envelope = (*changed.webauthn.take().unwrap()).clone();
    envelope.authenticator_data[36] ^= 1;
    changed.webauthn = Some(envelope.into());
    site.file(file, changed.to_yaml());
    let status = site.status_json(NOW);
    let invalid = findings_of(&status, "invalid_record");
    assert_eq!(invalid.len(), 1, "{status:#}");
    let detail = invalid[0]["detail"].as_str().unwrap();
    assert!(
        detail.contains(
            "key 'dana-passkey' is a passkey: the passkey signature (ES256) does not verify"
        ),
        "{detail}"
    );
    assert_eq!(page_entry(&status, PAGE)["status"], "pending", "{status:#}");
    site.imprimatur(&["build"]).at(NOW).run();
    assert!(!site.exists("output/kb/install/index.html"));

    // Without the envelope at all, the passkey's signature is not a signature of any kind.
    let bare = RecordFileParsed {
        webauthn: None,
        ..approval.clone()
    };
    let text = bare.to_yaml();
    assert!(!text.contains("webauthn"), "{text}");
    site.file(file, text);
    site.imprimatur(&["verify"])
        .at(NOW)
        .exits(3)
        .stdout_has("signature: an ed25519 signature is 64 bytes, this one is")
        .run();

    // As the browser returned it, it counts: the page is published.
    let text = approval.to_yaml();
    assert!(
        text.contains("\nwebauthn:\n  authenticator_data: \"")
            && text.contains("\n  client_data_json: \""),
        "{text}"
    );
    site.file(file, &text);
    let status = site.status_json(NOW);
    assert_eq!(
        findings_of(&status, "invalid_record").len(),
        0,
        "{status:#}"
    );
    assert_eq!(
        page_entry(&status, PAGE)["status"],
        "published",
        "{status:#}"
    );
    site.imprimatur(&["verify"]).at(NOW).run();
    site.imprimatur(&["build"]).at(NOW).run();
    assert!(site
        .read("output/kb/install/index.html")
        .contains("agent install"));

    // The trail shows which key signed, and that it is a passkey.
    site.imprimatur(&["log", PAGE])
        .at(NOW)
        .stdout_has("dana (dana-passkey, passkey)")
        .run();
    let out = site
        .cmd(&["log", PAGE, "--format", "json", "--now", NOW])
        .success();
    let log: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let dana = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["reviewer"] == "dana")
        .unwrap_or_else(|| panic!("{log:#}"));
    assert_eq!(dana["counted"], true, "{dana:#}");
    assert_eq!(dana["passkey"], true, "{dana:#}");
    let wanda = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["reviewer"] == "wanda")
        .unwrap();
    assert_eq!(wanda.get("passkey"), None, "{wanda:#}");
}

#[test]
fn a_passkey_counts_only_from_the_origins_its_keyring_entry_lists() {
    let (mut site, approval) = submitted_for_legal();
    site.file(
        "approvals/records/kb/install/approve-dana.yaml",
        approval.to_yaml(),
    );
    assert_eq!(
        page_entry(&site.status_json(NOW), PAGE)["status"],
        "published"
    );
    // The same record, once the keyring no longer lets the review site ask for signatures:
    // a verdict remembered from the first run does not carry over.
    let keyring = site.read("approvals/keyring.yaml");
    site.file(
        "approvals/keyring.yaml",
        keyring.replace(
            &format!("origins: [\"{ORIGIN}\"]"),
            "origins: [\"https://other.example.com\"]",
        ),
    );
    let status = site.status_json(NOW);
    let invalid = findings_of(&status, "invalid_record");
    assert_eq!(invalid.len(), 1, "{status:#}");
    assert!(
        invalid[0]["detail"]
            .as_str()
            .unwrap()
            .contains("origin 'https://review.example.com' is not one of the key's origins"),
        "{status:#}"
    );
}

#[test]
fn a_governed_site_proves_a_page_a_passkey_approved() {
    let (site, approval) = submitted_for_legal();
    site.write(
        "approvals/records/kb/install/approve-dana.yaml",
        approval.to_yaml().as_bytes(),
    );
    new_root(&site, "2", &["ada", "bo"]);
    site.imprimatur(&["root", "sign", "--key", &key("ada")])
        .run();
    site.imprimatur(&["root", "sign", "--key", &key("bo")])
        .run();
    let pin = pin_of(&site);
    sign_governance(&site, &pin, "ada");
    sign_governance(&site, &pin, "bo");
    site.imprimatur(&["build", "--trust-root", &pin, "--strict"])
        .at(NOW)
        .run();
    let proof: serde_json::Value =
        serde_json::from_str(&site.read("output/kb/install/proof.json")).unwrap();
    let records: Vec<&str> = proof["records"]
        .as_object()
        .unwrap()
        .values()
        .map(|t| t.as_str().unwrap())
        .collect();
    let approval_text = records
        .iter()
        .find(|t| t.contains("kind: \"approve\""))
        .unwrap_or_else(|| panic!("{proof:#}"));
    assert!(approval_text.contains("\nwebauthn:\n"), "{approval_text}");
    let spki = passkey().verifying_key().to_public_key_der().unwrap();
    assert_eq!(
        proof["keys"]["dana-passkey"],
        base64::engine::general_purpose::STANDARD.encode(spki.as_bytes()),
        "{proof:#}"
    );
    let output = site.path().join("output");
    site.imprimatur(&["audit", output.to_str().unwrap(), "--trust-root", &pin])
        .stdout_has("every page is the approved version, approved as its policy requires")
        .run();

    // The proof's approval with its envelope changed proves nothing.
    let mut tampered = proof.clone();
    let key = proof["records"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, t)| t.as_str().unwrap().contains("kind: \"approve\""))
        .unwrap()
        .0
        .clone();
    let (authenticator_data, _) = approval.webauthn.as_ref().unwrap().encoded();
    let mut other = approval.webauthn.as_deref().unwrap().clone();
    other.authenticator_data[36] ^= 1;
    let (other_data, _) = other.encoded();
    tampered["records"][&key] = approval_text
        .replace(&authenticator_data, &other_data)
        .into();
    assert_ne!(tampered, proof);
    site.write(
        "output/kb/install/proof.json",
        serde_json::to_string_pretty(&tampered).unwrap().as_bytes(),
    );
    site.imprimatur(&["audit", output.to_str().unwrap(), "--trust-root", &pin])
        .exits(3)
        .stdout_has("does not verify")
        .run();
}
