//! The conformance vectors of `tests/data/vectors.json` (a copy of the contract's
//! `shared/testdata/vectors.json`; `.ci/run` checks the copy still matches), made by an independent
//! implementation, reproduced exactly: the signed bytes and signature of a record, the secret
//! key file, and the versions of a page and of a bundle. Signing bots and auditors are written
//! against these values, so a difference in one byte is a broken contract.

use base64::Engine as _;
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use imprimatur::trust::record;
use imprimatur::trust::version::{self, ManifestEntry, Version};
use serde_json::Value;

use crate::util::TestSite;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/vectors.json");

fn vectors() -> Value {
    let text = std::fs::read_to_string(VECTORS).unwrap_or_else(|e| {
        panic!("{VECTORS}: {e} (the repository's copy of the contract's vectors)")
    });
    serde_json::from_str(&text).unwrap()
}

fn signing() -> Value {
    vectors()["signing"].clone()
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

fn hex_decode(hex: &str) -> Vec<u8> {
    assert!(hex.len().is_multiple_of(2), "odd hex");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

fn b64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

/// The vector's record, written as a record file (YAML) and parsed by the library.
fn vector_record() -> record::RecordFileParsed {
    let yaml = serde_saphyr::to_string(&signing()["record"]).unwrap();
    record::parse(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

fn vector_public_key() -> VerifyingKey {
    let bytes: [u8; 32] = b64(text(&signing()["public_key"])).try_into().unwrap();
    VerifyingKey::from_bytes(&bytes).unwrap()
}

const NOW: &str = "2026-11-21T00:00:00Z";

#[test]
fn the_signed_bytes_of_the_record_are_reproduced_exactly() {
    let v = signing();
    let signed = vector_record().record.signed_bytes();
    assert_eq!(
        String::from_utf8_lossy(&signed),
        text(&v["signed_bytes_text"])
    );
    assert_eq!(signed, text(&v["signed_bytes_text"]).as_bytes());
    assert_eq!(signed, hex_decode(text(&v["signed_bytes_hex"])));
}

#[test]
fn the_record_parses_to_the_vector_fields() {
    let v = signing();
    let r = &v["record"];
    let parsed = vector_record();
    let rec = &parsed.record;
    assert_eq!(rec.kind, record::Kind::Approve);
    assert_eq!(rec.space, text(&r["space"]));
    assert_eq!(rec.content, text(&r["content"]));
    assert_eq!(rec.version.as_str(), text(&r["version"]));
    assert_eq!(rec.step.as_deref(), Some(text(&r["step"])));
    assert_eq!(rec.reviewer, text(&r["reviewer"]));
    assert_eq!(rec.key, text(&r["key"]));
    assert_eq!(
        imprimatur::time::format_utc(&rec.signed_at),
        text(&r["signed_at"])
    );
    assert_eq!(rec.role.as_deref(), Some(text(&r["role"])));
    assert_eq!(rec.comment.as_deref(), Some(text(&r["comment"])));
    assert!(rec.publishes() && !rec.discards() && !rec.overrides());
    assert_eq!(parsed.signature.to_vec(), b64(text(&r["signature"])));
}

#[test]
fn the_signature_verifies_strictly_and_signing_reproduces_it() {
    let v = signing();
    let parsed = vector_record();
    let signature = Signature::from_slice(&parsed.signature).unwrap();
    vector_public_key()
        .verify_strict(&parsed.record.signed_bytes(), &signature)
        .expect("the vector signature verifies strictly");

    // ed25519 is deterministic: the seed signs the same bytes into the same signature.
    let seed: [u8; 32] = hex_decode(text(&v["secret_seed_hex"])).try_into().unwrap();
    let key = SigningKey::from_bytes(&seed);
    assert_eq!(key.verifying_key(), vector_public_key());
    assert_eq!(
        parsed.record.sign(&key).to_bytes().to_vec(),
        b64(text(&v["record"]["signature"]))
    );
}

#[test]
fn the_record_counts_against_a_keyring_holding_the_vector_key() {
    let keyring = imprimatur::trust::keyring::Keyring::parse(&format!(
        "reviewers:\n  - id: alice\n    name: Alice Example\n    keys:\n      - id: alice-2026\n        public_key: {}\n",
        text(&signing()["public_key"])
    ))
    .unwrap();
    let now = imprimatur::time::parse_rfc3339(NOW).unwrap();
    let parsed = vector_record();
    assert_eq!(record::check(&parsed, &keyring, &now), Ok(()));

    // One changed byte anywhere in the signed fields and it no longer verifies.
    let mut changed = parsed.clone();
    let record = std::sync::Arc::make_mut(&mut changed.record);
    record.comment = Some(record.comment.take().unwrap().replace('✓', "✔"));
    let why = record::check(&changed, &keyring, &now).unwrap_err();
    assert!(why.contains("signature does not verify"), "{why}");
}

#[test]
fn the_record_file_written_by_the_library_round_trips() {
    let parsed = vector_record();
    let signature = Signature::from_slice(&parsed.signature).unwrap();
    let yaml = parsed.record.to_yaml(&signature);
    assert!(
        yaml.contains(text(&signing()["record"]["signature"])),
        "{yaml}"
    );
    let again = record::parse(&yaml).unwrap();
    assert_eq!(again.record, parsed.record);
    assert_eq!(again.signature, parsed.signature);
}

#[test]
fn the_secret_key_pem_loads_and_its_public_half_is_the_public_key() {
    let v = signing();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alice.pem");
    std::fs::write(&path, text(&v["secret_key_pem"])).unwrap();
    // a secret key file others may read is refused (docs/ssh-keys.md)
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let key = imprimatur::trust::keyfile::load(&path).unwrap();
    assert_eq!(
        imprimatur::trust::keyfile::public_base64(&key),
        text(&v["public_key"])
    );
    assert_eq!(
        key.to_bytes().to_vec(),
        hex_decode(text(&v["secret_seed_hex"]))
    );
}

#[test]
fn the_page_version_is_the_sha256_of_its_bytes() {
    let v = signing();
    let version = Version::of_bytes(text(&v["page_bytes"]).as_bytes());
    assert_eq!(version.as_str(), text(&v["page_version"]));
    assert_eq!(Version::parse(text(&v["page_version"])), Some(version));
}

/// The vector bundle's files, `.DS_Store` included (it must be left out of the manifest).
fn write_vector_bundle(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let b = &vectors()["bundle"]["files"];
    let files: Vec<(String, Vec<u8>)> = vec![
        ("img/shot.png".into(), (0u8..=255).collect()),
        ("index.md".into(), text(&b["index.md"]).as_bytes().to_vec()),
        (
            "notes.txt".into(),
            text(&b["notes.txt"]).as_bytes().to_vec(),
        ),
    ];
    std::fs::create_dir_all(dir.join("img")).unwrap();
    for (path, bytes) in &files {
        std::fs::write(dir.join(path), bytes).unwrap();
    }
    std::fs::write(dir.join(".DS_Store"), b"ignored (leading dot)").unwrap();
    std::fs::create_dir_all(dir.join(".git")).unwrap();
    std::fs::write(dir.join(".git/HEAD"), b"hidden folders too").unwrap();
    files
}

#[test]
fn the_bundle_version_is_the_hash_of_its_manifest() {
    let b = &vectors()["bundle"];
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("screens");
    let files = write_vector_bundle(&bundle);

    let (version, read) = imprimatur::site::content::read_bundle(&bundle).unwrap();
    assert_eq!(version.as_str(), text(&b["version"]));
    assert_eq!(read.markdown, files[1].1);
    assert_eq!(read.assets, vec![files[0].clone(), files[2].clone()]);

    let entries: Vec<ManifestEntry> = files
        .iter()
        .map(|(path, bytes)| ManifestEntry {
            path: path.clone(),
            hex: version::sha256_hex(bytes),
        })
        .collect();
    let manifest = version::manifest_text(&entries);
    assert_eq!(manifest, text(&b["manifest_text"]));
    assert_eq!(Version::of_bytes(manifest.as_bytes()), version);
}

#[test]
fn the_store_keeps_the_bundle_manifest_under_the_bundle_version() {
    let b = &vectors()["bundle"];
    let dir = tempfile::tempdir().unwrap();
    let files = write_vector_bundle(&dir.path().join("screens"));
    let store = imprimatur::trust::store::Store::new(dir.path().join("store"));
    let version = store.put_version(&files, true).unwrap();
    assert_eq!(version.as_str(), text(&b["version"]));
    assert_eq!(
        store.get_blob(version.hex()).unwrap(),
        text(&b["manifest_text"]).as_bytes()
    );
    let back = store.get_version(&version).unwrap();
    assert_eq!(back.markdown, files[1].1);
    assert_eq!(back.assets, vec![files[0].clone(), files[2].clone()]);
}

#[test]
fn the_binary_verifies_the_vector_record_in_a_site() {
    let v = signing();
    let mut site = TestSite::new();
    site.file(
        "approvals/keyring.yaml",
        format!(
            "reviewers:\n  - id: alice\n    name: Alice Example\n    groups: [engineering]\n    keys:\n      - id: alice-2026\n        public_key: {}\n",
            text(&v["public_key"])
        ),
    )
    .policy(
        "kb",
        "contributors: [alice]\npublishers: [alice]\nsteps:\n  - {name: technical, approvers: [group:engineering], min_approvals: 1}\n",
    )
    .file("content/kb/install.md", text(&v["page_bytes"]))
    .file(
        "approvals/records/vector.yaml",
        serde_saphyr::to_string(&v["record"]).unwrap(),
    );
    assert_eq!(
        site.version_of("kb/install").as_str(),
        text(&v["page_version"])
    );

    let out = site
        .cmd(&["log", "kb/install", "--format", "json", "--now", NOW])
        .success();
    let log: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let entries = log["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{log:#}");
    let e = &entries[0];
    assert_eq!(e["file"], "approvals/records/vector.yaml");
    assert_eq!(e["reviewer"], "alice");
    assert_eq!(e["key"], "alice-2026");
    assert_eq!(e["comment"], v["record"]["comment"]);
    assert_eq!(e["counted"], false, "nothing was submitted");
    // Its signature verified: it is out of turn, not invalid.
    assert_eq!(e["finding"], "out_of_turn", "{e:#}");

    let status = site.status_json(NOW);
    assert_eq!(
        status["invalid_records"],
        serde_json::json!([]),
        "{status:#}"
    );
    assert_eq!(status["pages"][0]["current_version"], v["page_version"]);
}

/// docs/workflow.md adds an optional `assign` field (on a submit) and an `assign` record kind;
/// `tests/data/workflow-vectors.json` (made by `scripts/workflow-vectors.py` with Python's
/// cryptography) pins their signed bytes and signatures. A nested mapping of lists is signed
/// as JCS: keys sorted at every level, lists in the order written.
#[test]
fn the_workflow_records_reproduce_their_independent_vectors() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/workflow-vectors.json"
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let seed: [u8; 32] = hex_decode(text(&v["secret_seed_hex"])).try_into().unwrap();
    let key = SigningKey::from_bytes(&seed);
    assert_eq!(
        base64::engine::general_purpose::STANDARD.encode(key.verifying_key().to_bytes()),
        text(&v["public_key"])
    );
    let vectors = v["records"].as_array().unwrap();
    assert_eq!(vectors.len(), 2);
    for vector in vectors {
        let yaml = serde_saphyr::to_string(&vector["record"]).unwrap();
        let parsed = record::parse(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
        let signed = parsed.record.signed_bytes();
        assert_eq!(
            String::from_utf8_lossy(&signed),
            text(&vector["signed_bytes_text"])
        );
        assert_eq!(signed, hex_decode(text(&vector["signed_bytes_hex"])));
        let signature = Signature::from_slice(&parsed.signature).unwrap();
        key.verifying_key()
            .verify_strict(&signed, &signature)
            .expect("the vector's signature verifies");
        assert_eq!(
            parsed.record.sign(&key).to_bytes().to_vec(),
            parsed.signature,
            "ed25519 is deterministic: the same signature"
        );
        // Written back as imprimatur writes records, it parses to the same signed bytes.
        let written = parsed.record.to_yaml(&signature);
        let again = record::parse(&written).unwrap_or_else(|e| panic!("{e}\n{written}"));
        assert_eq!(again.record, parsed.record, "{written}");
    }
}

/// `tests/data/trust-root-vectors.json`, made by `scripts/trust-root-vectors.py` with Python's
/// `cryptography` from docs/trust-root.md alone: root files, their pins and rotation
/// signatures, the governance manifest, its signed bytes and signatures, and a seal.
#[test]
fn the_trust_root_formats_reproduce_their_independent_vectors() {
    use imprimatur::trust::governance::{self, SignedState};
    use imprimatur::trust::root::{self, Root, SignatureEntry};
    use std::collections::BTreeMap;

    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/trust-root-vectors.json"
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let admin_key = |name: &str| {
        let seed = v["admins"][name]["seed_byte"].as_u64().unwrap() as u8;
        SigningKey::from_bytes(&[seed; 32])
    };
    let mut roots = Vec::new();
    for r in v["roots"].as_array().unwrap() {
        let parsed = Root::parse(text(&r["file"]), text(&r["text"]).as_bytes()).unwrap();
        assert_eq!(
            String::from_utf8(parsed.signed_bytes()).unwrap(),
            text(&r["signed_bytes"])
        );
        assert_eq!(parsed.pin(), text(&r["pin"]));
        let mut sigs = Vec::new();
        for (who, sig) in r["signatures"].as_object().unwrap() {
            assert_eq!(
                root::sign_base64(&admin_key(who), &parsed.signed_bytes()),
                text(sig),
                "{who}"
            );
            sigs.push(SignatureEntry {
                key: who.clone(),
                signature: text(sig).to_string(),
            });
        }
        let admins: Vec<(String, String)> = parsed
            .admins
            .iter()
            .map(|a| (a.id.clone(), a.encoded.clone()))
            .collect();
        let written = root::root_text(parsed.version, parsed.threshold, &admins, &sigs);
        assert_eq!(
            written,
            text(&r["text"]),
            "the root file as imprimatur writes it"
        );
        roots.push(parsed);
    }
    let pin = root::Pin::parse(text(&v["roots"][0]["pin"])).unwrap();
    let trusted = root::verify_chain(roots, Some(&pin)).unwrap();
    assert_eq!(trusted.root.version, 2);

    let g = &v["governance"];
    let files: BTreeMap<String, String> = g["files"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, h)| (k.clone(), text(h).to_string()))
        .collect();
    assert_eq!(governance::manifest_text(&files), text(&g["manifest"]));
    assert_eq!(governance::manifest_hash(&files), text(&g["manifest_hash"]));
    let version = g["version"].as_u64().unwrap();
    let signed = governance::signed_bytes(text(&g["manifest_hash"]), version);
    assert_eq!(
        String::from_utf8(signed.clone()).unwrap(),
        text(&g["signed_bytes"])
    );
    for (who, sig) in g["signatures"].as_object().unwrap() {
        assert_eq!(
            root::sign_base64(&admin_key(who), &signed),
            text(sig),
            "{who}"
        );
    }
    let state = SignedState::parse(text(&g["text"]).as_bytes()).unwrap();
    assert_eq!(state.to_text(), text(&g["text"]));
    let signers = trusted
        .root
        .signers(&state.signed_bytes(), &state.signatures);
    assert_eq!(signers.into_iter().collect::<Vec<_>>(), ["cy", "di"]);

    let s = &v["seal"];
    let mut yaml = String::new();
    for (k, val) in s["record"].as_object().unwrap() {
        yaml.push_str(&format!("{k}: {val}\n"));
    }
    yaml.push_str(&format!(
        "signature: \"{}\"\n",
        base64::engine::general_purpose::STANDARD.encode([0u8; 64])
    ));
    let parsed = record::parse(&yaml).unwrap();
    let bytes = parsed.record.signed_bytes();
    assert_eq!(
        String::from_utf8(bytes.clone()).unwrap(),
        text(&s["signed_bytes"])
    );
    assert_eq!(
        format!("sha256:{}", version::sha256_hex(&bytes)),
        text(&s["seal"])
    );
}

/// `tests/data/vectors-v2.json` (a copy of the contract's `shared/testdata/vectors-v2.json`;
/// `.ci/run` checks the copy still matches), made with Python's `cryptography` from SPEC §4a:
/// a rejection whose comment is committed, the same record redacted as a proof shows it, and
/// one with its comment changed. Its `webauthn` cases are
/// [`passkey_signatures_reproduce_their_independent_vectors`].
#[test]
fn comment_commitments_reproduce_their_independent_vectors() {
    use record::Origin;

    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/vectors-v2.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let c = &v["comment_commitment"];
    let public_key = text(&c["public_key"]);
    let keyring = imprimatur::trust::keyring::Keyring::parse(&format!(
        "reviewers:\n  - id: dana\n    name: Dana Example\n    keys:\n      - id: dana-2026\n        public_key: {public_key}\n",
    ))
    .unwrap();
    let now = imprimatur::time::parse_rfc3339(NOW).unwrap();
    let read = |name: &str, origin: Origin| {
        let yaml = serde_saphyr::to_string(&c[name]).unwrap();
        record::parse_from(&yaml, origin)
            .and_then(|parsed| record::check(&parsed, &keyring, &now).map(|()| parsed))
    };
    let signed_bytes = hex_decode(text(&c["signed_bytes_hex"]));

    // The whole record counts, read from either origin; its digest is the salted comment's,
    // and the comment and salt are not in the signed bytes.
    let r = &c["record"];
    let full = read("record", Origin::Records).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(full.record.signed_bytes(), signed_bytes);
    assert_eq!(
        record::comment_digest(&b64(text(&r["comment_salt"])), text(&r["comment"])),
        text(&r["comment_digest"])
    );
    assert_eq!(full.record.comment.as_deref(), Some(text(&r["comment"])));
    assert!(read("record", Origin::Proof).is_ok());

    // Redacted, it counts in a proof, over the same signed bytes, and is exactly what
    // imprimatur's own redaction of the whole record gives.
    assert!(c["redacted_counts"].as_bool().unwrap());
    let redacted = read("redacted_record", Origin::Proof).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(redacted.record.signed_bytes(), signed_bytes);
    assert_eq!(Some(&*redacted.record), full.record.redacted().as_ref());
    // ... but not under approvals/records/, where the build must see the comment.
    let why = read("redacted_record", Origin::Records).unwrap_err();
    assert!(why.starts_with("comment: missing"), "{why}");

    // A changed comment no longer matches the digest its reviewer signed: it counts nowhere.
    assert!(!c["tampered_comment_counts"].as_bool().unwrap());
    for origin in [Origin::Records, Origin::Proof] {
        let why = read("tampered_comment", origin).unwrap_err();
        assert!(
            why.starts_with("comment_digest: does not match"),
            "{origin:?}: {why}"
        );
    }
}

/// The `webauthn` cases of `tests/data/vectors-v2.json` (SPEC §3a, §4a): each key, written as
/// a keyring entry, loads; each record counts exactly when the vector says it does — read from
/// `approvals/records/`, or from a proof when its comment is redacted — and a record that
/// counts keeps counting when imprimatur writes it back (the envelope goes with it).
#[test]
fn passkey_signatures_reproduce_their_independent_vectors() {
    use record::Origin;

    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/vectors-v2.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let w = &v["webauthn"];
    let now = imprimatur::time::parse_rfc3339(NOW).unwrap();
    let cases = w["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 16);
    let (mut counted, mut refused) = (0, 0);
    for case in cases {
        let name = text(&case["name"]);
        let key = &case["key"];
        let k = &key["webauthn"];
        assert_eq!(k["rp_id"], w["rp_id"], "{name}");
        let keyring = imprimatur::trust::keyring::Keyring::parse(&format!(
            "reviewers:\n  - id: {}\n    name: Dana Example\n    keys:\n      - id: {}\n        webauthn:\n          alg: {}\n          public_key: {}\n          rp_id: {}\n          origins: {}\n          credential_id: {}\n",
            text(&case["record"]["reviewer"]),
            text(&key["id"]),
            text(&k["alg"]),
            text(&k["public_key"]),
            text(&k["rp_id"]),
            k["origins"],
            text(&k["credential_id"]),
        ))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            keyring.keys[text(&key["id"])].public_key.kind(),
            format!("passkey ({})", text(&k["alg"])),
            "{name}"
        );
        let origin = if case["record"].get("comment").is_some() {
            Origin::Records
        } else {
            Origin::Proof
        };
        let yaml = serde_saphyr::to_string(&case["record"]).unwrap();
        let verdict = record::parse_from(&yaml, origin)
            .and_then(|parsed| record::check(&parsed, &keyring, &now).map(|()| parsed));
        let counts = case["counts"].as_bool().unwrap();
        match verdict {
            Ok(parsed) => {
                assert!(counts, "{name}: counted, the vector says it does not");
                assert!(parsed.webauthn.is_some(), "{name}");
                let again = record::parse_from(&parsed.to_yaml(), origin).unwrap();
                assert_eq!(again.webauthn, parsed.webauthn, "{name}");
                assert_eq!(record::check(&again, &keyring, &now), Ok(()), "{name}");
                assert_eq!(again.id(), parsed.id(), "{name}");
                counted += 1;
            }
            Err(why) => {
                assert!(
                    !counts,
                    "{name}: refused ({why}), the vector says it counts"
                );
                // Refused for the reason the vector is about, not for another.
                let because = [
                    ("origin not listed", "origin 'https://"),
                    ("UV flag clear", "flag UV clear"),
                    ("rp id of another site", "another relying party"),
                    ("challenge over other bytes", "the challenge is not"),
                    ("a registration", "not \"webauthn.get\""),
                    ("changed after signing", "the challenge is not"),
                ];
                let needle = because
                    .iter()
                    .find(|(n, _)| name.contains(n))
                    .unwrap_or_else(|| panic!("{name}: no reason known for this case"))
                    .1;
                assert!(why.contains(needle), "{name}: {why}");
                refused += 1;
            }
        }
    }
    assert_eq!((counted, refused), (4, 12));
}
