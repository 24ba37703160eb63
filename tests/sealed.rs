//! Nothing kept between runs bends the gate (issue 31), told as an attacker tries it: whoever
//! can write the cache folder, or what a CI restores beside `output/`, can't make a garbage
//! signature count; deleting a rejection's or a takedown's file un-says nothing, a build says
//! so and `--strict` fails; and a pull request that deletes or edits a record is caught by
//! `verify --since` against git's history, where no earlier build exists.

use ed25519_dalek::Signature;
use imprimatur::trust::record::{Kind, Record};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::util::{findings_of, needs, page_entry, stdout, TestSite, Tool, TEST_CACHE_KEY};

const SUBMITTED: &str = "2026-11-20T09:00:00Z";
const APPROVED: &str = "2026-11-20T10:00:00Z";
const REJECTED: &str = "2026-11-20T10:30:00Z";
const APPROVED_AGAIN: &str = "2026-11-20T11:00:00Z";
const NOW: &str = "2026-11-20T12:00:00Z";
const LATER: &str = "2026-11-20T14:00:00Z";

/// Two engineers must approve; carol manages the space.
const TWO_ENGINEERS: &str = "\
title: Knowledge Base
contributors: [group:writers]
managers: [carol]
steps:
  - name: technical
    approvers: [group:engineering]
    min_approvals: 2
";

fn site() -> TestSite {
    let mut site = TestSite::new();
    site.reviewer("wanda", &["writers"])
        .reviewer("alice", &["engineering"])
        .reviewer("bob", &["engineering"])
        .reviewer("dave", &["engineering"])
        .reviewer("carol", &["leads"])
        .policy("kb", TWO_ENGINEERS)
        .page("kb/install.md", "Install", "Secret words of the draft.\n");
    site
}

fn status_file(site: &TestSite) -> Value {
    serde_json::from_str(&site.read("reports/status.json")).expect("status.json is JSON")
}

fn approval(site: &TestSite, reviewer: &str, at: &str) -> Record {
    Record {
        step: Some("technical".into()),
        ..site.record_for(reviewer, Kind::Approve, "kb/install", at)
    }
}

/// The HMAC-SHA256 tags of `site::memo`'s verified cache, made as whoever writes the cache
/// folder would make them: under a key of their own choosing.
fn tag(key: &[u8; 32], public: &[u8], signature: &[u8], signed: &[u8]) -> [u8; 32] {
    use hmac::{KeyInit, Mac};
    let mut id = Sha256::new();
    for part in [public, signature, signed] {
        id.update((part.len() as u64).to_be_bytes());
        id.update(part);
    }
    let id: [u8; 32] = id.finalize().into();
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
    mac.update(b"imprimatur-verified-v2\n");
    mac.update(&(id.len() as u64).to_be_bytes());
    mac.update(&id);
    mac.finalize().into_bytes().into()
}

#[test]
fn a_cache_folder_written_by_an_attacker_makes_no_garbage_signature_count() {
    let site = site();
    // Two approvals and a submission "signed" with 64 bytes of garbage: no key made them.
    let garbage = Signature::from_bytes(&[0x5a; 64]);
    let submit = site.record_for("wanda", Kind::Submit, "kb/install", SUBMITTED);
    let records = [
        submit,
        approval(&site, "alice", APPROVED),
        approval(&site, "bob", APPROVED_AGAIN),
    ];
    for (i, record) in records.iter().enumerate() {
        site.write(
            &format!("approvals/records/forged-{i}.yaml"),
            record.to_yaml(&garbage).as_bytes(),
        );
    }
    // The attacker restores a cache folder that says those signatures verified: a key of
    // their own in `verified.key`, and tags under it in `verified-<site>.bin`.
    let forged_key = [0x42u8; 32];
    let cache = tempfile::tempdir().unwrap();
    std::fs::write(cache.path().join("verified.key"), forged_key).unwrap();
    let mut tags: Vec<[u8; 32]> = records
        .iter()
        .map(|r| {
            let public = site.signing_key(&r.reviewer).verifying_key().to_bytes();
            tag(&forged_key, &public, &garbage.to_bytes(), &r.signed_bytes())
        })
        .collect();
    tags.sort();
    let root = std::fs::canonicalize(site.path()).unwrap();
    let name = crate::util::sha256_hex(root.as_os_str().as_encoded_bytes());
    std::fs::write(
        cache.path().join(format!("verified-{}.bin", &name[..32])),
        tags.concat(),
    )
    .unwrap();

    // Built by a CI that holds its secret, and on a writer's machine with the key file in
    // their configuration folder: neither is in the folder the attacker wrote.
    let config = tempfile::tempdir().unwrap();
    let ci = [
        ("IMPRIMATUR_CACHE_DIR", cache.path().display().to_string()),
        ("IMPRIMATUR_CACHE_KEY", TEST_CACHE_KEY.to_string()),
    ];
    let laptop = [
        ("IMPRIMATUR_CACHE_DIR", cache.path().display().to_string()),
        ("XDG_CONFIG_HOME", config.path().display().to_string()),
    ];
    for env in [&ci[..], &laptop[..]] {
        let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_imprimatur"));
        cmd.env("NO_COLOR", "1").env_remove("IMPRIMATUR_CACHE_KEY");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.args(["build", "--now", NOW, "--site"])
            .arg(site.path())
            .assert()
            .success();
        assert!(
            !site.exists("output/kb/install/index.html"),
            "a garbage signature counted through a forged cache ({env:?})"
        );
        let status = status_file(&site);
        assert_eq!(
            findings_of(&status, "invalid_record").len(),
            3,
            "{status:#}"
        );
        assert_eq!(page_entry(&status, "kb/install")["status"], "draft");
    }
    // The writer's key file was made private, in their configuration folder.
    use std::os::unix::fs::PermissionsExt;
    let key = config.path().join("imprimatur/cache.key");
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // A CI secret that is not one is an error, not a silent cold build.
    site.cmd_env(
        &["build", "--now", NOW],
        &[("IMPRIMATUR_CACHE_KEY".into(), "not-hex".into())],
    )
    .code(1)
    .stderr(predicates::str::contains(
        "IMPRIMATUR_CACHE_KEY: value: must be 64 hex digits",
    ));
}

/// wanda submits, alice approves, bob rejects, dave approves after him: two approvals, but
/// the rejection stands between them.
fn approved_rejected_approved() -> (TestSite, String) {
    let site = site();
    site.sign("wanda", Kind::Submit, "kb/install", &[], SUBMITTED);
    site.sign(
        "alice",
        Kind::Approve,
        "kb/install",
        &["--step", "technical"],
        APPROVED,
    );
    let rejection = site.sign(
        "bob",
        Kind::Reject,
        "kb/install",
        &["--step", "technical", "--comment", "Step 3 is wrong"],
        REJECTED,
    );
    // The signing commands refuse to approve a rejected version; dave signs by hand.
    site.write_record_signed_by(
        "kb/install/dave-approves",
        &approval(&site, "dave", APPROVED_AGAIN),
        "dave",
    );
    (site, rejection)
}

#[test]
fn deleting_a_rejection_after_a_build_counted_it_publishes_nothing_and_fails_strict() {
    let (site, rejection) = approved_rejected_approved();
    site.cmd(&["build", "--now", NOW]).success();
    assert!(!site.exists("output/kb/install/index.html"));
    assert_eq!(
        page_entry(&status_file(&site), "kb/install")["status"],
        "rejected"
    );

    // The rejection's file is deleted: it still counts, and every judgement says it is gone.
    std::fs::remove_file(site.path().join(&rejection)).unwrap();
    let out = site.cmd(&["build", "--now", LATER, "--strict"]).code(3);
    assert!(!site.exists("output/kb/install/index.html"));
    assert!(!stdout(&out).is_empty());
    let status = status_file(&site);
    assert_eq!(page_entry(&status, "kb/install")["status"], "rejected");
    let removed = findings_of(&status, "record_removed");
    assert_eq!(removed.len(), 1, "{status:#}");
    assert_eq!(removed[0]["file"], rejection.as_str());
    assert_eq!(removed[0]["page"], "kb/install");
    assert!(removed[0]["detail"]
        .as_str()
        .unwrap()
        .contains("reject by 'bob'"));
    // status and verify agree with the build.
    assert_eq!(site.page_status(LATER, "kb/install")["status"], "rejected");
    site.cmd(&["verify", "--now", LATER])
        .code(3)
        .stdout(predicates::str::contains("record_removed"));
    // Nothing of the draft was published by any of it.
    for (path, bytes) in site.all_output_files() {
        assert!(
            !String::from_utf8_lossy(&bytes).contains("Secret words"),
            "{path}"
        );
    }

    // Put back, all is as before: no finding, and the gate passes again.
    site.cmd(&["build", "--now", LATER]).success();
    let kept = site
        .files_under(".")
        .into_iter()
        .find(|(p, _)| p.contains(".imprimatur-records-output"))
        .map(|(_, b)| b);
    assert!(
        kept.is_some(),
        "the counted records are kept beside output/"
    );
}

#[test]
fn deleting_a_managers_takedown_keeps_the_page_offline_and_says_why() {
    let mut site = TestSite::new();
    site.reviewer("wanda", &["writers"])
        .reviewer("alice", &["engineering"])
        .reviewer("carol", &["leads"])
        .policy(
            "kb",
            &TWO_ENGINEERS.replace("min_approvals: 2", "min_approvals: 1"),
        )
        .page("kb/install.md", "Install", "Words.\n");
    site.sign("wanda", Kind::Submit, "kb/install", &[], SUBMITTED);
    site.sign(
        "alice",
        Kind::Approve,
        "kb/install",
        &["--step", "technical"],
        APPROVED,
    );
    site.cmd(&["build", "--now", NOW]).success();
    assert!(site.exists("output/kb/install/index.html"));
    let takedown = site.sign(
        "carol",
        Kind::Unpublish,
        "kb/install",
        &["--comment", "Legal hold"],
        NOW,
    );
    site.cmd(&["build", "--now", NOW]).success();
    assert!(!site.exists("output/kb/install/index.html"));

    std::fs::remove_file(site.path().join(&takedown)).unwrap();
    site.cmd(&["build", "--now", LATER, "--strict"]).code(3);
    assert!(
        !site.exists("output/kb/install/index.html"),
        "a deleted takedown revived the page"
    );
    let status = status_file(&site);
    assert_eq!(page_entry(&status, "kb/install")["status"], "unpublished");
    let removed = findings_of(&status, "record_removed");
    assert_eq!(removed.len(), 1, "{status:#}");
    assert_eq!(removed[0]["file"], takedown.as_str());
}

/// The file of counted records as `site::counted` writes it (SPEC-like layout in its module
/// documentation), with `entries` (record text, path) in it.
fn counted_file(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut parsed: Vec<([u8; 32], &str, &str)> = entries
        .iter()
        .map(|(text, file)| {
            let id = imprimatur::trust::record::parse(text)
                .map(|p| p.id().0)
                .unwrap_or([0xee; 32]);
            (id, *file, *text)
        })
        .collect();
    parsed.sort();
    let magic = b"imprimatur-counted-records-v2\n";
    let mut bytes = magic.to_vec();
    bytes.extend((parsed.len() as u64).to_be_bytes());
    let mut offset = (magic.len() + 8 + 48 * parsed.len()) as u64;
    for (id, file, text) in &parsed {
        bytes.extend(id);
        bytes.extend(offset.to_be_bytes());
        bytes.extend((file.len() as u32).to_be_bytes());
        bytes.extend((text.len() as u32).to_be_bytes());
        offset += (file.len() + text.len()) as u64;
    }
    for (_, file, text) in &parsed {
        bytes.extend(file.as_bytes());
        bytes.extend(text.as_bytes());
    }
    bytes
}

#[test]
fn counted_records_forged_beside_output_count_for_nothing_and_are_reported() {
    let site = site();
    site.sign("wanda", Kind::Submit, "kb/install", &[], SUBMITTED);
    site.cmd(&["build", "--now", NOW]).success();
    // Whoever writes beside output/ "keeps" two approvals no key signed, and a line of junk.
    let garbage = Signature::from_bytes(&[0x77; 64]);
    let alice = approval(&site, "alice", APPROVED).to_yaml(&garbage);
    let bob = approval(&site, "bob", APPROVED_AGAIN).to_yaml(&garbage);
    site.write(
        ".imprimatur-records-output",
        &counted_file(&[
            (&alice, "approvals/records/a.yaml"),
            (&bob, "approvals/records/b.yaml"),
            ("junk: [", "approvals/records/c.yaml"),
        ]),
    );
    site.cmd(&["build", "--now", LATER, "--strict"]).code(3);
    assert!(!site.exists("output/kb/install/index.html"));
    let status = status_file(&site);
    assert_eq!(page_entry(&status, "kb/install")["status"], "pending");
    let invalid = findings_of(&status, "invalid_record");
    assert_eq!(invalid.len(), 3, "{status:#}");
    assert!(invalid.iter().all(|f| f["file"]
        .as_str()
        .unwrap()
        .starts_with(".imprimatur-records-output (approvals/records/")));
    // Reported once, then forgotten: the next build is clean.
    site.cmd(&["build", "--now", LATER, "--strict"]).success();

    // A file cut short in its index: the build says it could not read what earlier builds
    // counted.
    let kept = site.read_bytes(".imprimatur-records-output");
    site.write(".imprimatur-records-output", &kept[..50]);
    site.cmd(&["build", "--now", LATER, "--strict"]).code(3);
    let status = status_file(&site);
    assert!(findings_of(&status, "invalid_record")[0]["detail"]
        .as_str()
        .unwrap()
        .contains("the records earlier builds counted can't be read"));
}

/// `git` in the site, as a test's author and committer.
fn git(site: &TestSite, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .current_dir(site.path())
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_pull_request_that_deletes_or_edits_a_record_is_caught_by_verify_since_against_git() {
    let Some(_) = needs(Tool::Git) else {
        return;
    };
    // A docs repository on a shared remote (a local bare repository), its main branch
    // holding the rejection.
    let (site, rejection) = approved_rejected_approved();
    let remote = tempfile::tempdir().unwrap();
    git(&site, &["init", "-q", "-b", "main"]);
    std::process::Command::new("git")
        .args(["init", "-q", "--bare", "-b", "main"])
        .arg(remote.path())
        .status()
        .unwrap();
    git(&site, &["add", "-A"]);
    git(&site, &["commit", "-qm", "Reviewed"]);
    git(
        &site,
        &[
            "remote",
            "add",
            "origin",
            &remote.path().display().to_string(),
        ],
    );
    git(&site, &["push", "-q", "origin", "main"]);
    git(&site, &["fetch", "-q", "origin"]);

    // A pull request branch: no earlier build, nothing kept beside output/.
    git(&site, &["checkout", "-q", "-b", "sneaky"]);
    site.cmd(&["verify", "--now", LATER, "--since", "origin/main"])
        .code(0);
    // Meanwhile main gains a record: not "deleted" by the branch, which forked before it.
    git(&site, &["checkout", "-q", "main"]);
    site.write("approvals/records/later.yaml", b"# a later record\n");
    git(&site, &["add", "-A"]);
    git(&site, &["commit", "-qm", "Later"]);
    git(&site, &["push", "-q", "origin", "main"]);
    git(&site, &["checkout", "-q", "sneaky"]);
    git(&site, &["fetch", "-q", "origin"]);

    // The branch deletes the rejection and edits alice's approval.
    std::fs::remove_file(site.path().join(&rejection)).unwrap();
    let approval = site
        .files_under("approvals/records")
        .into_iter()
        .find(|(p, b)| String::from_utf8_lossy(b).contains("\"alice\"") && p.contains("approve"))
        .unwrap();
    let edited = String::from_utf8(approval.1)
        .unwrap()
        .replace("\"technical\"", "technical");
    site.write(&approval.0, edited.as_bytes());
    git(&site, &["commit", "-qam", "Tidy up"]);

    let out = site
        .cmd(&[
            "verify",
            "--now",
            LATER,
            "--since",
            "origin/main",
            "--format",
            "json",
        ])
        .code(3);
    let report: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let removed = findings_of(&report, "record_removed");
    let files: Vec<&str> = removed
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    let mut expected = vec![rejection.as_str(), approval.0.as_str()];
    expected.sort();
    let mut files_sorted = files.clone();
    files_sorted.sort();
    assert_eq!(files_sorted, expected, "{report:#}");
    assert!(removed.iter().any(|f| f["detail"]
        .as_str()
        .unwrap()
        .starts_with("deleted since origin/main")));
    assert!(!files.contains(&"approvals/records/later.yaml"));

    // A revision git does not know: a clear error, exit 1.
    site.cmd(&["verify", "--since", "no-such-branch"])
        .code(1)
        .stderr(predicates::str::contains(
            "--since no-such-branch: git can't find where this checkout forked",
        ));
}
