//! `keyring add` (issue 36): reviewers and their keys go into `approvals/keyring.yaml` from
//! key files — a keygen secret key, the base64 line keygen prints, an OpenSSH `.pub` — so
//! nobody pastes base64; a key or key id the keyring already holds is refused, naming whose
//! it is; `root new --admin ID=FILE` reads admins' keys the same way.

use crate::util::TestSite;

const NOW: &str = "2026-11-21T09:00:00Z";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn reviewers_and_keys_are_added_from_key_files_and_the_added_key_signs() {
    let mut site = TestSite::new();
    site.policy(
        "kb",
        "contributors: [group:writers]\nsteps:\n  - {name: technical, approvers: [group:engineering], min_approvals: 1}\n",
    );
    // TestSite's own reviewers would be rewritten over; this keyring is keyring add's alone.
    site.write("approvals/keyring.yaml", b"reviewers: []\n");
    std::fs::create_dir_all(site.path().join("keys")).unwrap();
    site.imprimatur(&["keygen", "--out", "keys/wendy.pem"])
        .run();
    let raj = site
        .imprimatur(&["keygen", "--out", "keys/raj.pem"])
        .run()
        .stdout;
    let raj_public = text(&raj).lines().last().unwrap().to_string();
    site.write("keys/raj.b64", format!("{raj_public}\n").as_bytes());
    site.imprimatur(&["keygen", "--ssh", "--out", "keys/raj-ssh"])
        .run();

    site.imprimatur(&[
        "keyring",
        "add",
        "wendy",
        "--name",
        "Wendy Writer",
        "--email",
        "wendy@acme.example",
        "--groups",
        "writers",
        "--public-key-file",
        "keys/wendy.pem",
    ])
    .at(NOW)
    .stdout_has("added reviewer 'wendy' with key 'wendy-2026' to approvals/keyring.yaml")
    .run();
    site.imprimatur(&[
        "keyring",
        "add",
        "raj",
        "--name",
        "Raj",
        "--groups",
        "engineering",
        "--public-key-file",
        "keys/raj.b64",
    ])
    .at(NOW)
    .run();
    site.imprimatur(&[
        "keyring",
        "add",
        "raj",
        "--public-key-file",
        "keys/raj-ssh.pub",
        "--key-id",
        "raj-laptop",
    ])
    .at(NOW)
    .stdout_has("added key 'raj-laptop' to reviewer 'raj' in approvals/keyring.yaml")
    .run();
    let keyring = site.read("approvals/keyring.yaml");
    assert!(
        keyring.contains(&format!("public_key: \"{raj_public}\"")),
        "{keyring}"
    );

    // The keys added sign records that count.
    site.page("kb/install.md", "Install", "Run it.\n");
    site.imprimatur(&["submit", "kb/install", "--key", "keys/wendy.pem"])
        .at(NOW)
        .run();
    site.imprimatur(&[
        "approve",
        "kb/install",
        "--step",
        "technical",
        "--key",
        "keys/raj-ssh",
    ])
    .at("2026-11-21T10:00:00Z")
    .run();
    let status = site.status_json("2026-11-21T10:00:00Z");
    assert_eq!(
        crate::util::page_entry(&status, "kb/install")["status"],
        "published",
        "{status:#}"
    );

    // Refusals name what is in the way, and write nothing.
    site.imprimatur(&["keygen", "--out", "keys/new.pem"]).run();
    let before = site.read("approvals/keyring.yaml");
    for (args, needle, code) in [
        (
            vec![
                "raj",
                "--public-key-file",
                "keys/raj.pem",
                "--key-id",
                "raj-2",
            ],
            "this public key is already there, as key 'raj-2026' of reviewer 'raj'",
            1,
        ),
        (
            vec![
                "eli",
                "--name",
                "Eli",
                "--public-key-file",
                "keys/wendy.pem",
            ],
            "this public key is already there, as key 'wendy-2026' of reviewer 'wendy'",
            1,
        ),
        (
            vec!["raj", "--public-key-file", "keys/raj-ssh.pub"],
            "a key 'raj-2026' is already there (of reviewer 'raj'); pass --key-id ID",
            1,
        ),
        (
            vec!["eli", "--public-key-file", "keys/new.pem"],
            "reviewer 'eli' is not in approvals/keyring.yaml yet: --name is required",
            2,
        ),
        (
            vec![
                "raj",
                "--groups",
                "legal",
                "--public-key-file",
                "keys/new.pem",
                "--key-id",
                "x",
            ],
            "reviewer 'raj' is already there with groups engineering, not legal",
            1,
        ),
        (
            vec![
                "eli",
                "--name",
                "Eli",
                "--public-key-file",
                "approvals/keyring.yaml",
            ],
            "approvals/keyring.yaml: a keyring, not one key",
            1,
        ),
    ] {
        let mut full = vec!["keyring", "add"];
        full.extend(args);
        site.imprimatur(&full)
            .at(NOW)
            .exits(code)
            .stderr_has(needle)
            .run();
        assert_eq!(site.read("approvals/keyring.yaml"), before);
    }
}

#[test]
fn root_new_reads_admins_keys_from_files() {
    let site = TestSite::new();
    std::fs::create_dir_all(site.path().join("keys")).unwrap();
    let ada = site
        .imprimatur(&["keygen", "--out", "keys/ada.pem"])
        .run()
        .stdout;
    let ada = text(&ada).lines().last().unwrap().to_string();
    site.write("ada.pub", format!("{ada}\n").as_bytes());
    site.imprimatur(&["keygen", "--ssh", "--out", "keys/bo"])
        .run();
    site.imprimatur(&[
        "root",
        "new",
        "--threshold",
        "2",
        "--admin",
        "ada=ada.pub",
        "--admin",
        "bo=keys/bo.pub",
    ])
    .stdout_has("wrote approvals/root/1.yaml (unsigned)")
    .run();
    assert!(site.read("approvals/root/1.yaml").contains(&ada));
    site.imprimatur(&["root", "sign", "--key", "keys/ada.pem"])
        .stdout_has("signed approvals/root/1.yaml as ada")
        .run();
    site.imprimatur(&["root", "sign", "--key", "keys/bo"])
        .stdout_has("the root chain verifies")
        .run();
    site.imprimatur(&[
        "root",
        "new",
        "--threshold",
        "1",
        "--admin",
        "cy=nothing.pub",
    ])
    .exits(2)
    .stderr_has("--admin cy: 'nothing.pub' is neither a public key (not valid base64")
    .run();
}
