//! Signing with the SSH key a reviewer already has (docs/ssh-keys.md): OpenSSH key files made
//! by the real `ssh-keygen`, plain and encrypted; PKCS#8 files made by the real `openssl`,
//! plain and encrypted; and a real `ssh-agent` started by the test. Every record they sign is
//! counted by `verify` and `build`, exactly like one signed with an `imprimatur keygen` key.
//!
//! The tests that run OpenSSH's tools (`ssh-keygen`, `ssh-agent`, `ssh-add`) or `openssl` ask
//! `util::needs` first: skipped with one line on stderr when one is missing, failed under
//! `IMPRIMATUR_REQUIRE_TOOLS=1` (`bash .ci/run`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use imprimatur::trust::record::Kind;
use imprimatur::trust::sshkey;

use crate::util::{needs, stderr, stdout, TestSite, Tool};

const SUBMITTED: &str = "2026-11-20T09:00:00Z";
const SIGNED: &str = "2026-11-20T10:00:00Z";
const NOW: &str = "2026-11-20T12:00:00Z";
const PAGE: &str = "kb/install";
const PASS: &str = "correct horse battery staple";

/// One approval by an engineer publishes.
const ONE_STEP: &str = "\
contributors: [group:writers]
steps:
  - name: technical
    approvers: [group:engineering]
    min_approvals: 1
";

/// `kb/install` submitted by wanda (an imprimatur keygen-style key); alice, an engineer, is in
/// the keyring with `alice_key` (a base64 key or an `ssh-ed25519` line).
fn kb_in_review(alice_key: &str) -> TestSite {
    let mut site = TestSite::new();
    // erin stands in for alice until the keyring gets her key
    site.reviewer("wanda", &["writers"])
        .reviewer("erin", &["engineering"])
        .policy("kb", ONE_STEP)
        .page(
            "kb/install.md",
            "Install the agent",
            "Run `agent install`.\n",
        );
    site.sign("wanda", Kind::Submit, PAGE, &[], SUBMITTED);
    set_alice(&site, alice_key);
    site
}

/// Rewrites the keyring: wanda as she is, alice with `alice_key` (and `extra` keys).
fn set_alice(site: &TestSite, alice_key: &str) {
    let yaml = format!(
        "reviewers:\n  - id: wanda\n    name: Wanda Writer\n    groups: [writers]\n    keys:\n      - id: wanda-key\n        public_key: {}\n  - id: alice\n    name: Alice Example\n    groups: [engineering]\n    keys:\n      - id: alice-ssh\n        public_key: {alice_key}\n",
        site.public_key("wanda")
    );
    std::fs::write(site.path().join("approvals/keyring.yaml"), yaml).unwrap();
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn run_tool(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (bash .ci/run installs openssh-client)"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `ssh-keygen -t ed25519` into `<site>/<name>` (passphrase `pass`, maybe empty; `cipher`
/// for `-Z`); returns the key file and its public line.
fn ssh_keygen(site: &TestSite, name: &str, pass: &str, cipher: Option<&str>) -> (PathBuf, String) {
    let file = site.path().join(name);
    let mut cmd = Command::new("ssh-keygen");
    cmd.args([
        "-q",
        "-t",
        "ed25519",
        "-C",
        &format!("{name}@test"),
        "-N",
        pass,
        "-f",
    ])
    .arg(&file);
    if let Some(c) = cipher {
        cmd.args(["-Z", c]);
    }
    run_tool(&mut cmd);
    let public = std::fs::read_to_string(format!("{}.pub", file.display())).unwrap();
    (file, public.trim().to_string())
}

fn approve_with(site: &TestSite, key_args: &[&str], env: &[(String, String)]) -> String {
    let mut args = vec!["approve", PAGE, "--step", "technical"];
    args.extend_from_slice(key_args);
    let out = site.imprimatur(&args).at(SIGNED).env(env).run();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The record counts: `verify` is clean and the page is published.
fn counted(site: &TestSite, record: &str) {
    assert!(site.exists(record), "{record}");
    assert!(site.read(record).contains("reviewer: \"alice\""));
    assert!(site.read(record).contains("key: \"alice-ssh\""));
    site.imprimatur(&["verify"]).at(NOW).run();
    site.imprimatur(&["build"]).at(NOW).run();
    assert_eq!(site.page_status(NOW, PAGE)["status"], "published");
}

fn pass_env(pass: &str) -> Vec<(String, String)> {
    vec![("IMPRIMATUR_KEY_PASSPHRASE".into(), pass.into())]
}

#[test]
fn an_unencrypted_openssh_key_signs_records_the_build_counts() {
    let Some(_) = needs(Tool::OpenSsh) else {
        return;
    };
    let probe = TestSite::new();
    let (key, line) = ssh_keygen(&probe, "id_ed25519", "", None);
    let site = kb_in_review(&line);
    site.imprimatur(&["build"]).at(NOW).run();
    assert_eq!(site.page_status(NOW, PAGE)["status"], "pending");
    let record = approve_with(&site, &["--key", key.to_str().unwrap()], &[]);
    counted(&site, &record);
}

#[test]
fn an_encrypted_openssh_key_takes_its_passphrase_from_the_environment() {
    let Some(_) = needs(Tool::OpenSsh) else {
        return;
    };
    for cipher in [None, Some("aes256-gcm@openssh.com")] {
        let probe = TestSite::new();
        let (key, line) = ssh_keygen(&probe, "id_ed25519", PASS, cipher);
        let site = kb_in_review(&line);
        let key = key.to_str().unwrap();
        site.imprimatur(&["approve", PAGE, "--step", "technical", "--key", key])
            .at(SIGNED)
            .exits(1)
            .stderr_has("the key is encrypted; set IMPRIMATUR_KEY_PASSPHRASE")
            .signs_nothing()
            .run();
        site.imprimatur(&["approve", PAGE, "--step", "technical", "--key", key])
            .at(SIGNED)
            .env(&pass_env("wrong horse"))
            .exits(1)
            .stderr_has("wrong passphrase")
            .signs_nothing()
            .run();
        let record = approve_with(&site, &["--key", key], &pass_env(PASS));
        counted(&site, &record);
    }
}

#[test]
fn pkcs8_keys_made_by_openssl_sign_plain_and_encrypted() {
    let Some(_) = needs(Tool::OpenSsl) else {
        return;
    };
    let site = TestSite::new();
    let plain = site.path().join("plain.pem");
    let encrypted = site.path().join("encrypted.pem");
    run_tool(
        Command::new("openssl")
            .args(["genpkey", "-algorithm", "ed25519", "-out"])
            .arg(&plain),
    );
    run_tool(
        Command::new("openssl")
            .args([
                "pkcs8",
                "-topk8",
                "-v2",
                "aes-256-cbc",
                "-passout",
                &format!("pass:{PASS}"),
                "-in",
            ])
            .arg(&plain)
            .arg("-out")
            .arg(&encrypted),
    );
    chmod(&plain, 0o600);
    chmod(&encrypted, 0o600);
    assert!(std::fs::read_to_string(&encrypted)
        .unwrap()
        .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    let public = imprimatur::trust::keyfile::public_base64(
        &imprimatur::trust::keyfile::load(&plain).unwrap(),
    );

    // the encrypted file, with its passphrase
    let site = kb_in_review(&public);
    let enc = encrypted.to_str().unwrap();
    site.imprimatur(&["approve", PAGE, "--step", "technical", "--key", enc])
        .at(SIGNED)
        .env(&pass_env("not it"))
        .exits(1)
        .stderr_has("cannot decrypt the PKCS#8 key")
        .signs_nothing()
        .run();
    let record = approve_with(&site, &["--key", enc], &pass_env(PASS));
    counted(&site, &record);

    // the plain file of the same key, in another site
    let other = kb_in_review(&public);
    let record = approve_with(&other, &["--key", plain.to_str().unwrap()], &[]);
    counted(&other, &record);
}

#[test]
fn a_key_file_others_may_read_is_refused_as_ssh_refuses_it() {
    let Some(_) = needs(Tool::OpenSsh) else {
        return;
    };
    let probe = TestSite::new();
    let (key, line) = ssh_keygen(&probe, "id_ed25519", "", None);
    let site = kb_in_review(&line);
    chmod(&key, 0o644);
    site.imprimatur(&[
        "approve",
        PAGE,
        "--step",
        "technical",
        "--key",
        key.to_str().unwrap(),
    ])
    .at(SIGNED)
    .exits(1)
    .stderr_has("id_ed25519: mode 0644 lets others read this secret key")
    .signs_nothing()
    .run();
    chmod(&key, 0o640);
    site.imprimatur(&["whoami", "--key", key.to_str().unwrap()])
        .exits(1)
        .stderr_has("mode 0640")
        .run();
    // the same key, made private, signs
    chmod(&key, 0o600);
    let record = approve_with(&site, &["--key", key.to_str().unwrap()], &[]);
    counted(&site, &record);
}

#[test]
fn an_ssh_public_key_in_the_keyring_verifies_records_of_the_same_key_in_a_pem_file() {
    let mut site = TestSite::new();
    site.reviewer("wanda", &["writers"])
        .reviewer("alice", &["engineering"])
        .policy("kb", ONE_STEP)
        .page(
            "kb/install.md",
            "Install the agent",
            "Run `agent install`.\n",
        );
    site.sign("wanda", Kind::Submit, PAGE, &[], SUBMITTED);
    let line = sshkey::public_line(&site.signing_key("alice").verifying_key(), "alice@laptop");
    set_alice(&site, &line);
    let record = site.sign(
        "alice",
        Kind::Approve,
        PAGE,
        &["--step", "technical"],
        SIGNED,
    );
    counted(&site, &record);

    // the same key listed in both spellings is one key listed twice
    let twice = format!(
        "{line}\n      - id: alice-b64\n        public_key: {}",
        site.public_key("alice")
    );
    set_alice(&site, &twice);
    site.imprimatur(&["verify"])
        .at(NOW)
        .exits(1)
        .stderr_has("the same public key is already listed as key 'alice-ssh'")
        .run();
}

#[test]
fn whoami_names_the_reviewer_a_key_speaks_for() {
    let Some(_) = needs(Tool::OpenSsh) else {
        return;
    };
    let probe = TestSite::new();
    let (key, line) = ssh_keygen(&probe, "id_ed25519", "", None);
    let site = kb_in_review(&line);
    let key = key.to_str().unwrap();
    let fingerprint = run_tool(Command::new("ssh-keygen").args(["-lf", key]));
    let fingerprint = fingerprint.split_whitespace().nth(1).unwrap().to_string();

    let out = site.imprimatur(&["whoami", "--key", key]).run();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("reviewer: alice (Alice Example)"), "{text}");
    assert!(text.contains("key: alice-ssh"), "{text}");
    assert!(
        text.contains(&format!("fingerprint: {fingerprint}")),
        "{text}"
    );

    let out = site
        .imprimatur(&["whoami", "--key", key, "--format", "json"])
        .run();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["reviewer"], "alice");
    assert_eq!(json["key"], "alice-ssh");
    assert_eq!(json["in_keyring"], true);
    assert_eq!(json["fingerprint"], fingerprint.as_str());

    // wanda's PKCS#8 file too; a stranger's key is not in the keyring
    site.imprimatur(&["whoami", "--key", "keys/wanda.pem"])
        .stdout_has("reviewer: wanda (Wanda Writer)")
        .run();
    let (stranger, stranger_line) = ssh_keygen(&probe, "stranger", "", None);
    let out = site
        .imprimatur(&["whoami", "--key", stranger.to_str().unwrap()])
        .exits(1)
        .stderr_has("this key is not in approvals/keyring.yaml")
        .run();
    let text = String::from_utf8(out.stdout).unwrap();
    let bare_line = stranger_line.rsplit_once(' ').unwrap().0;
    assert!(
        text.contains(&format!("ssh_public_key: {bare_line}")),
        "{text}"
    );
}

#[test]
fn keygen_ssh_writes_a_pair_that_ssh_keygen_reads() {
    let Some(_) = needs(Tool::OpenSsh) else {
        return;
    };
    let site = TestSite::new();
    let out = site.cmd(&["keygen", "--ssh", "--out", "id_new"]).success();
    let printed = stdout(&out).lines().last().unwrap().to_string();
    assert!(printed.starts_with("ssh-ed25519 AAAA"), "{printed}");
    let derived = run_tool(
        Command::new("ssh-keygen")
            .args(["-y", "-f"])
            .arg(site.path().join("id_new")),
    );
    assert_eq!(
        derived.split_whitespace().nth(1),
        printed.split_whitespace().nth(1)
    );
    assert_eq!(site.read("id_new.pub").trim(), printed);
    let again = site.cmd(&["keygen", "--ssh", "--out", "id_new"]).failure();
    assert!(stderr(&again).contains("refusing to overwrite"));
}

/// A real `ssh-agent` on a socket of its own, killed when the test ends (even by a panic).
struct Agent {
    child: Child,
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Agent {
    fn start() -> Agent {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("agent.sock");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("ssh-agent runs");
        let started = Instant::now();
        while !socket.exists() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "ssh-agent did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Agent {
            child,
            socket,
            _dir: dir,
        }
    }

    fn env(&self) -> Vec<(String, String)> {
        vec![("SSH_AUTH_SOCK".into(), self.socket.display().to_string())]
    }

    fn add(&self, key: &Path) {
        run_tool(
            Command::new("ssh-add")
                .arg("-q")
                .arg(key)
                .env("SSH_AUTH_SOCK", &self.socket),
        );
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_running_ssh_agent_signs_records_the_build_counts() {
    let Some(_) = needs(Tool::OpenSsh) else {
        return;
    };
    let probe = TestSite::new();
    let (key, line) = ssh_keygen(&probe, "id_ed25519", PASS, None);
    let (other, _) = ssh_keygen(&probe, "id_other", "", None);
    let site = kb_in_review(&line);
    let agent = Agent::start();

    site.imprimatur(&["approve", PAGE, "--step", "technical", "--agent"])
        .at(SIGNED)
        .env(&agent.env())
        .exits(1)
        .stderr_has("holds no ed25519 key")
        .signs_nothing()
        .run();

    // The agent holds the encrypted key already unlocked (ssh-add asked once), and a key the
    // keyring does not know: the one it knows is chosen.
    let unlocked = probe.path().join("unlocked");
    std::fs::copy(&key, &unlocked).unwrap();
    run_tool(
        Command::new("ssh-keygen")
            .args(["-p", "-q", "-P", PASS, "-N", "", "-f"])
            .arg(&unlocked),
    );
    agent.add(&other);
    agent.add(&unlocked);
    site.imprimatur(&["whoami", "--agent"])
        .env(&agent.env())
        .stdout_has("reviewer: alice (Alice Example)")
        .run();
    let record = approve_with(&site, &["--agent"], &agent.env());
    counted(&site, &record);
}

#[test]
fn an_agent_holding_two_known_keys_must_be_told_which() {
    let Some(_) = needs(Tool::OpenSsh) else {
        return;
    };
    let probe = TestSite::new();
    let (alice, alice_line) = ssh_keygen(&probe, "id_alice", "", None);
    let (second, second_line) = ssh_keygen(&probe, "id_second", "", None);
    let site = kb_in_review(&format!(
        "{alice_line}\n      - id: alice-second\n        public_key: {second_line}"
    ));
    let agent = Agent::start();
    agent.add(&alice);
    agent.add(&second);
    site.imprimatur(&["approve", PAGE, "--step", "technical", "--agent"])
        .at(SIGNED)
        .env(&agent.env())
        .exits(1)
        .stderr_has("several of the ssh-agent's keys could sign; name one with --agent-key")
        .signs_nothing()
        .run();
    site.imprimatur(&[
        "approve",
        PAGE,
        "--step",
        "technical",
        "--agent",
        "--agent-key",
        "SHA256:nope",
    ])
    .at(SIGNED)
    .env(&agent.env())
    .exits(1)
    .stderr_has("no ed25519 key of the ssh-agent has that fingerprint")
    .signs_nothing()
    .run();
    let fingerprint = run_tool(Command::new("ssh-keygen").arg("-lf").arg(&alice));
    let fingerprint = fingerprint.split_whitespace().nth(1).unwrap();
    let record = approve_with(
        &site,
        &["--agent", "--agent-key", fingerprint],
        &agent.env(),
    );
    counted(&site, &record);
    // by comment too
    site.imprimatur(&["whoami", "--agent", "--agent-key", "id_second@test"])
        .env(&agent.env())
        .stdout_has("key: alice-second")
        .run();
}

#[test]
fn inbox_and_status_mine_know_the_reviewer_by_the_agents_key() {
    let Some(_) = needs(Tool::OpenSsh) else {
        return;
    };
    let probe = TestSite::new();
    let (alice, alice_line) = ssh_keygen(&probe, "id_alice", "", None);
    let (stranger, _) = ssh_keygen(&probe, "id_stranger", "", None);
    let mut site = kb_in_review(&alice_line);
    let agent = Agent::start();

    // An agent holding only a key the keyring does not know speaks for nobody.
    agent.add(&stranger);
    site.imprimatur(&["inbox", "--agent"])
        .at(SIGNED)
        .env(&agent.env())
        .exits(1)
        .stderr_has("ssh-agent")
        .run();

    // With alice's key loaded: her inbox holds the page wanda submitted, as with --reviewer.
    agent.add(&alice);
    site.imprimatur(&["inbox", "--agent"])
        .at(SIGNED)
        .env(&agent.env())
        .stdout_has("1 page(s) wait on alice")
        .stdout_has("kb/install  step technical")
        .run();

    // Her pages: the one whose draft names her as author, the same as by her key file.
    site.file(
        "content/kb/install.md",
        "---\ntitle: Install the agent\nauthor: alice\n---\n\nRun `agent install` now.\n",
    );
    let mine = |args: &[&str], env: &[(String, String)]| -> String {
        let out = site
            .imprimatur(&[&["status", "--mine"], args].concat())
            .at(SIGNED)
            .env(env)
            .run();
        String::from_utf8(out.stdout).unwrap()
    };
    let by_agent = mine(&["--agent"], &agent.env());
    assert!(by_agent.contains("kb/install"), "{by_agent}");
    assert_eq!(by_agent, mine(&["--key", alice.to_str().unwrap()], &[]));
    // --agent-key names the key among several; a name the agent lacks is refused.
    site.imprimatur(&["status", "--mine", "--agent", "--agent-key", "SHA256:nope"])
        .at(SIGNED)
        .env(&agent.env())
        .exits(1)
        .stderr_has("no ed25519 key of the ssh-agent has that fingerprint")
        .run();
    // --agent without --mine means nothing to status; --agent-key beside a key file or a
    // reviewer id is refused, not ignored.
    for args in [
        &["status", "--agent"][..],
        &[
            "status",
            "--mine",
            "--key",
            "k.pem",
            "--agent-key",
            "id_alice@test",
        ],
        &[
            "inbox",
            "--reviewer",
            "alice",
            "--agent-key",
            "id_alice@test",
        ],
        &[
            "approve",
            PAGE,
            "--step",
            "technical",
            "--key",
            "k.pem",
            "--agent-key",
            "x",
        ],
    ] {
        site.imprimatur(args)
            .at(SIGNED)
            .exits(2)
            .signs_nothing()
            .run();
    }
}

// --- key files that name a KDF cost nobody chose ----------------------------------------------

/// A PKCS#8 PBES2 key file (AES-256-CBC) whose key derivation is `kdf`; the ciphertext is
/// zeros, which never matters: a cost over the limit is refused before anything is derived.
fn pkcs8_with_kdf(kdf: pkcs8::pkcs5::pbes2::Kdf) -> String {
    use pkcs8::der::{asn1::OctetString, EncodePem};
    use pkcs8::pkcs5::{pbes2, EncryptionScheme};
    let params = pbes2::Parameters {
        kdf,
        encryption: pbes2::EncryptionScheme::Aes256Cbc { iv: [0; 16] },
    };
    pkcs8::EncryptedPrivateKeyInfoOwned {
        encryption_algorithm: EncryptionScheme::Pbes2(params),
        encrypted_data: OctetString::new(vec![0u8; 48]).unwrap(),
    }
    .to_pem(pkcs8::LineEnding::LF)
    .unwrap()
}

/// An encrypted OpenSSH ed25519 key file (aes256-ctr, bcrypt-pbkdf) asking for `rounds`.
fn openssh_with_rounds(rounds: u32) -> String {
    use base64::Engine as _;
    fn string(out: &mut Vec<u8>, bytes: &[u8]) {
        out.extend((bytes.len() as u32).to_be_bytes());
        out.extend(bytes);
    }
    let mut kdf_options = Vec::new();
    string(&mut kdf_options, &[7; 16]);
    kdf_options.extend(rounds.to_be_bytes());
    let mut public = Vec::new();
    string(&mut public, b"ssh-ed25519");
    string(&mut public, &[9; 32]);
    let mut blob = b"openssh-key-v1\0".to_vec();
    string(&mut blob, b"aes256-ctr");
    string(&mut blob, b"bcrypt");
    string(&mut blob, &kdf_options);
    blob.extend(1u32.to_be_bytes());
    string(&mut blob, &public);
    string(&mut blob, &[0; 144]);
    let text = base64::engine::general_purpose::STANDARD.encode(blob);
    let lines: Vec<&str> = text
        .as_bytes()
        .chunks(70)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

#[test]
fn a_key_file_naming_a_kdf_cost_over_the_limit_is_refused_at_once_naming_the_parameter() {
    use pkcs8::pkcs5::{pbes2, scrypt};
    let site = TestSite::new();
    // Built by hand: the library's constructor itself refuses this count.
    let mut pbkdf2 = pbes2::Pbkdf2Params::hmac_sha256(2048, &[7; 16]).unwrap();
    pbkdf2.iteration_count = 1 << 31;
    let scrypt_n =
        pbes2::ScryptParams::from_params_and_salt(scrypt::Params::new(24, 8, 1).unwrap(), &[7; 16])
            .unwrap();
    let cases = [
        (
            "pbkdf2.pem",
            pkcs8_with_kdf(pbkdf2.into()),
            "its PBKDF2 iteration count 2147483648 is over the limit of 10000000",
        ),
        (
            "scrypt.pem",
            pkcs8_with_kdf(scrypt_n.into()),
            "its scrypt cost N 16777216 is over the limit of 1048576",
        ),
        (
            "bcrypt",
            openssh_with_rounds(1 << 31),
            "its bcrypt-pbkdf round count 2147483648 is over the limit of 1024",
        ),
    ];
    for (name, text, expected) in cases {
        let file = site.path().join(name);
        std::fs::write(&file, text).unwrap();
        chmod(&file, 0o600);
        // With the passphrase given, today's readers would start deriving: minutes, or all
        // the memory there is. The refusal comes before the passphrase is even wanted.
        let refused = assert_cmd::Command::new(env!("CARGO_BIN_EXE_imprimatur"))
            .current_dir(site.path())
            .env("NO_COLOR", "1")
            .envs(pass_env(PASS))
            .timeout(Duration::from_secs(20))
            .args(["whoami", "--key"])
            .arg(&file)
            .arg("--site")
            .arg(site.path())
            .assert()
            .code(1);
        let err = stderr(&refused);
        assert!(
            err.contains(&format!("{}: {expected}", file.display())),
            "{name}: {err}"
        );
    }
}
