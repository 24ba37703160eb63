//! A site in a temporary folder and the real `imprimatur` binary run against it: the fixture
//! every integration test tells its story with. Each `TestSite` owns its own folder, so tests
//! run in parallel; keys are made in the test (never read from the repository).

// Helpers here serve every test module of the binary (trust, vectors, build, reports); not
// each of them uses every helper.
#![allow(dead_code)]

pub mod cdp;
pub mod remote;
mod run;
mod tools;

use std::path::{Path, PathBuf};

use assert_cmd::assert::Assert;
use assert_cmd::Command;
use base64::Engine as _;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::SigningKey;
use imprimatur::trust::record::{Kind, Record};
use imprimatur::trust::version::Version;
use sha2::{Digest, Sha256};

pub use tools::{needs, Tool};

/// A reviewer of the test site: their keyring entry and secret key.
struct TestReviewer {
    id: String,
    groups: Vec<String>,
    key: SigningKey,
    /// Extra lines of the key's keyring entry (`revoked_at`, `compromised`, ...).
    key_options: Vec<(String, String)>,
    /// Extra lines of the reviewer's own entry (`notify`, ...).
    options: Vec<(String, String)>,
}

pub struct TestSite {
    dir: tempfile::TempDir,
    reviewers: Vec<TestReviewer>,
}

impl Default for TestSite {
    fn default() -> Self {
        Self::new()
    }
}

impl TestSite {
    /// `imprimatur.yaml`, an empty keyring, and empty `content/` and `approvals/` folders.
    pub fn new() -> TestSite {
        let site = TestSite {
            dir: tempfile::tempdir().expect("a temp dir"),
            reviewers: Vec::new(),
        };
        site.write(
            "imprimatur.yaml",
            b"title: Example Help Center\nbase_url: https://help.example.com/\n",
        );
        std::fs::create_dir_all(site.path().join("content")).unwrap();
        std::fs::create_dir_all(site.path().join("approvals/records")).unwrap();
        std::fs::create_dir_all(site.path().join("approvals/policies")).unwrap();
        site.write_keyring();
        site
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    // --- the cast -------------------------------------------------------------------------

    /// Adds a reviewer with a fresh key (seeded from the id, so distinct per reviewer), writes
    /// the secret to `keys/<id>.pem` and rewrites `approvals/keyring.yaml`.
    pub fn reviewer(&mut self, id: &str, groups: &[&str]) -> &mut Self {
        let seed: [u8; 32] = Sha256::digest(format!("imprimatur test key {id}")).into();
        self.add_reviewer(id, groups, SigningKey::from_bytes(&seed))
    }

    /// Adds a reviewer whose key is made by the real `imprimatur keygen --out keys/<id>.pem`;
    /// returns the public key it printed last.
    pub fn reviewer_from_keygen(&mut self, id: &str, groups: &[&str]) -> String {
        std::fs::create_dir_all(self.path().join("keys")).unwrap();
        let out = self.cmd(&["keygen", "--out", &self.key_file(id)]).success();
        let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        let public = stdout.lines().last().expect("keygen prints").to_string();
        let key = imprimatur::trust::keyfile::load(&self.path().join(self.key_file(id))).unwrap();
        self.reviewers.push(TestReviewer {
            id: id.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            key,
            key_options: Vec::new(),
            options: Vec::new(),
        });
        self.write_keyring();
        public
    }

    fn add_reviewer(&mut self, id: &str, groups: &[&str], key: SigningKey) -> &mut Self {
        write_secret_key(&self.path().join(self.key_file(id)), &key);
        self.reviewers.push(TestReviewer {
            id: id.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            key,
            key_options: Vec::new(),
            options: Vec::new(),
        });
        self.write_keyring();
        self
    }

    /// Sets a field of the reviewer's key entry in the keyring, e.g. `("revoked_at", "2026-…Z")`.
    pub fn key_option(&mut self, id: &str, field: &str, value: &str) -> &mut Self {
        let r = self.reviewer_mut(id);
        r.key_options.retain(|(f, _)| f != field);
        r.key_options.push((field.into(), value.into()));
        self.write_keyring();
        self
    }

    /// Sets a field of the reviewer's own keyring entry, e.g. `("notify", "false")`.
    pub fn reviewer_option(&mut self, id: &str, field: &str, value: &str) -> &mut Self {
        let r = self.reviewer_mut(id);
        r.options.retain(|(f, _)| f != field);
        r.options.push((field.into(), value.into()));
        self.write_keyring();
        self
    }

    fn reviewer_mut(&mut self, id: &str) -> &mut TestReviewer {
        self.reviewers
            .iter_mut()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("no reviewer {id} in this test site"))
    }

    pub fn signing_key(&self, id: &str) -> &SigningKey {
        &self
            .reviewers
            .iter()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("no reviewer {id} in this test site"))
            .key
    }

    /// The keyring id of the reviewer's key.
    pub fn key_id(&self, id: &str) -> String {
        format!("{id}-key")
    }

    /// The reviewer's secret key file, relative to the site (where `cmd` runs).
    pub fn key_file(&self, id: &str) -> String {
        format!("keys/{id}.pem")
    }

    pub fn public_key(&self, id: &str) -> String {
        public_base64(self.signing_key(id))
    }

    fn write_keyring(&self) {
        let mut yaml = String::from("reviewers:\n");
        for r in &self.reviewers {
            yaml.push_str(&format!(
                "  - id: {id}\n    name: {id} Example\n    email: {id}@example.com\n    groups: [{groups}]\n{options}    keys:\n      - id: {key}\n        public_key: {public}\n",
                options = r
                    .options
                    .iter()
                    .map(|(f, v)| format!("    {f}: {v}\n"))
                    .collect::<String>(),
                id = r.id,
                groups = r.groups.join(", "),
                key = self.key_id(&r.id),
                public = public_base64(&r.key),
            ));
            for (field, value) in &r.key_options {
                yaml.push_str(&format!("        {field}: {value}\n"));
            }
        }
        if self.reviewers.is_empty() {
            yaml = "reviewers: []\n".into();
        }
        self.write("approvals/keyring.yaml", yaml.as_bytes());
    }

    // --- the site's files -----------------------------------------------------------------

    pub fn policy(&mut self, space: &str, yaml: &str) -> &mut Self {
        self.write(&format!("approvals/policies/{space}.yaml"), yaml.as_bytes());
        self
    }

    /// Writes `content/<path>` with a front matter holding `title`.
    pub fn page(&mut self, path: &str, title: &str, body: &str) -> &mut Self {
        self.write(
            &format!("content/{path}"),
            format!("---\ntitle: {title}\n---\n\n{body}").as_bytes(),
        );
        self
    }

    pub fn file(&mut self, rel: &str, bytes: impl AsRef<[u8]>) -> &mut Self {
        self.write(rel, bytes.as_ref());
        self
    }

    /// Writes `rel` (its folders made first), as a test's attacker or user would.
    pub fn write(&self, rel: &str, bytes: &[u8]) {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }

    pub fn read(&self, rel: &str) -> String {
        String::from_utf8(self.read_bytes(rel)).unwrap_or_else(|_| panic!("{rel}: not UTF-8"))
    }

    pub fn read_bytes(&self, rel: &str) -> Vec<u8> {
        let path = self.path().join(rel);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.path().join(rel).exists()
    }

    /// Makes `rel` a symbolic link to `target` (taken as is: relative to the link's folder,
    /// or absolute), creating the folders on the way.
    #[cfg(unix)]
    pub fn symlink(&self, target: impl AsRef<Path>, rel: impl AsRef<Path>) -> &Self {
        let link = self.path().join(rel);
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target.as_ref(), &link)
            .unwrap_or_else(|e| panic!("{}: {e}", link.display()));
        self
    }

    /// Makes `rel` a named pipe (FIFO): reading it blocks until someone writes.
    #[cfg(unix)]
    pub fn fifo(&self, rel: impl AsRef<Path>) -> &Self {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .expect("mkfifo runs");
        assert!(made.success(), "mkfifo {}", path.display());
        self
    }

    /// `cmd`, but the binary is killed (and the assertion fails) after `seconds`: for inputs
    /// that could make a build hang.
    pub fn cmd_within(&self, seconds: u64, args: &[&str]) -> Assert {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_imprimatur"));
        cmd.current_dir(self.path())
            .env("NO_COLOR", "1")
            .env("IMPRIMATUR_CACHE_DIR", test_cache_dir())
            .env("IMPRIMATUR_CACHE_KEY", TEST_CACHE_KEY)
            .env_remove("SOURCE_DATE_EPOCH")
            .timeout(std::time::Duration::from_secs(seconds))
            .args(args)
            .arg("--site")
            .arg(self.path());
        cmd.assert()
    }

    /// Starts the real binary (with `--site`) without waiting for it, output discarded: for
    /// tests that kill a build or run two at once.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        self.spawn_env(args, &[])
    }

    /// `spawn` with extra environment variables.
    pub fn spawn_env(&self, args: &[&str], envs: &[(String, String)]) -> std::process::Child {
        std::process::Command::new(env!("CARGO_BIN_EXE_imprimatur"))
            .current_dir(self.path())
            .env("NO_COLOR", "1")
            .env("IMPRIMATUR_CACHE_DIR", test_cache_dir())
            .env("IMPRIMATUR_CACHE_KEY", TEST_CACHE_KEY)
            .env_remove("SOURCE_DATE_EPOCH")
            .envs(envs.iter().map(|(k, v)| (k, v)))
            .args(args)
            .arg("--site")
            .arg(self.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the binary starts")
    }

    /// Every file under `rel` (recursively), by `/`-separated path relative to the site,
    /// sorted. Empty when the folder does not exist.
    pub fn files_under(&self, rel: &str) -> Vec<(String, Vec<u8>)> {
        let mut files = Vec::new();
        collect_files(self.path(), &self.path().join(rel), &mut files);
        files.sort();
        files
    }

    pub fn all_output_files(&self) -> Vec<(String, Vec<u8>)> {
        self.files_under("output")
    }

    /// The current version of a page, computed from `content/` (a `.md` file or a bundle).
    pub fn version_of(&self, page_id: &str) -> Version {
        let file = self.path().join(format!("content/{page_id}.md"));
        if file.is_file() {
            return Version::of_bytes(&std::fs::read(file).unwrap());
        }
        imprimatur::site::content::read_bundle(&self.path().join(format!("content/{page_id}")))
            .unwrap()
            .0
    }

    // --- the binary -----------------------------------------------------------------------

    /// Runs the real binary in the site folder, with `--site <dir>` appended (all commands
    /// but `init`), `NO_COLOR=1` and no `SOURCE_DATE_EPOCH`.
    pub fn cmd(&self, args: &[&str]) -> Assert {
        self.cmd_env(args, &[])
    }

    /// `cmd` with extra environment variables (a notification channel's secrets).
    pub fn cmd_env(&self, args: &[&str], envs: &[(String, String)]) -> Assert {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_imprimatur"));
        cmd.current_dir(self.path())
            .env("NO_COLOR", "1")
            .env("IMPRIMATUR_CACHE_DIR", test_cache_dir())
            .env("IMPRIMATUR_CACHE_KEY", TEST_CACHE_KEY)
            .env_remove("SOURCE_DATE_EPOCH")
            .envs(envs.iter().map(|(k, v)| (k, v)))
            .args(args);
        if args.first() != Some(&"init") {
            cmd.arg("--site").arg(self.path());
        }
        cmd.assert()
    }

    /// `imprimatur <kind> <page> --key keys/<reviewer>.pem --now <now> <extra...>`: must
    /// succeed; returns the record path it printed.
    pub fn sign(
        &self,
        reviewer: &str,
        kind: Kind,
        page: &str,
        extra: &[&str],
        now: &str,
    ) -> String {
        let key = self.key_file(reviewer);
        let mut args = vec![kind.as_str(), page, "--key", &key, "--now", now];
        args.extend_from_slice(extra);
        let out = self.cmd(&args).success();
        let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        let path = stdout
            .lines()
            .last()
            .expect("the record path")
            .trim()
            .to_string();
        assert!(
            path.starts_with("approvals/records/") && self.exists(&path),
            "{kind} printed {path:?}, which is not a record file"
        );
        path
    }

    /// `status --format json --now <now>`: must succeed; the `status.json` object.
    pub fn status_json(&self, now: &str) -> serde_json::Value {
        let out = self
            .cmd(&["status", "--format", "json", "--now", now])
            .success();
        serde_json::from_slice(&out.get_output().stdout).expect("status prints JSON")
    }

    /// One page's entry of `status.json`.
    pub fn page_status(&self, now: &str, id: &str) -> serde_json::Value {
        let status = self.status_json(now);
        status["pages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .unwrap_or_else(|| panic!("no page {id} in status: {status:#}"))
            .clone()
    }

    // --- hand-made records ----------------------------------------------------------------

    /// A record about the page's current version by `reviewer` with their key id, for a test
    /// to adjust (`Record { step: ..., ..site.record_for(...) }`) and sign.
    pub fn record_for(&self, reviewer: &str, kind: Kind, page_id: &str, signed_at: &str) -> Record {
        Record {
            kind,
            space: page_id.split('/').next().unwrap().to_string(),
            content: page_id.to_string(),
            version: self.version_of(page_id),
            step: None,
            reviewer: reviewer.to_string(),
            key: self.key_id(reviewer),
            signed_at: imprimatur::time::parse_signed_at(signed_at).expect("a signed_at"),
            role: None,
            comment: None,
            comment_salt: None,
            comment_digest: None,
            discard: None,
            publish: None,
            override_: None,
            assign: None,
        }
    }

    /// Signs `record` with `key` and writes it as `approvals/records/<name>.yaml`; returns
    /// that path.
    pub fn write_record(&self, name: &str, record: &Record, key: &SigningKey) -> String {
        let rel = format!("approvals/records/{name}.yaml");
        self.write(&rel, record.to_yaml(&record.sign(key)).as_bytes());
        rel
    }

    /// `write_record` with the secret key of the reviewer `signer`.
    pub fn write_record_signed_by(&self, name: &str, record: &Record, signer: &str) -> String {
        self.write_record(name, record, self.signing_key(signer))
    }
}

/// The secret the builds of the tests keep their cache under (a CI's secret, in real life):
/// never the secret of an attacker's test, who writes the cache folder under keys of their own.
pub const TEST_CACHE_KEY: &str = "5e0c2ad27b6f4e1a9c3d8b7a6f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c";

/// The builds' cache of verified signatures, shared by every test (as it is by every build
/// of a user) but kept out of the home folder.
pub fn test_cache_dir() -> std::path::PathBuf {
    std::env::temp_dir().join("imprimatur-test-cache")
}

/// Writes a PKCS#8 PEM secret key file, as `imprimatur keygen` does (mode 0600: imprimatur
/// refuses key files others may read).
pub fn write_secret_key(path: &Path, key: &SigningKey) {
    let pem = key.to_pkcs8_pem(Default::default()).unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, pem.as_bytes()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

pub fn public_base64(key: &SigningKey) -> String {
    base64::engine::general_purpose::STANDARD.encode(key.verifying_key().to_bytes())
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn collect_files(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path: PathBuf = entry.unwrap().path();
        if path.is_dir() {
            collect_files(root, &path, out);
        } else {
            let rel = path.strip_prefix(root).unwrap();
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            out.push((rel, std::fs::read(&path).unwrap()));
        }
    }
}

/// The JSON strings of an array, for compact assertions (`["alice", "bob"]`).
pub fn strings(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_str().expect("a string").to_string())
        .collect()
}

/// The text a command printed on stderr.
pub fn stderr(assert: &Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

/// The text a command printed on stdout.
pub fn stdout(assert: &Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
}

/// The entry of page `id` in a `status.json` object.
pub fn page_entry<'a>(status: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    status["pages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("no page {id} in {status:#}"))
}

/// The findings of one kind in a `status.json` object.
pub fn findings_of<'a>(status: &'a serde_json::Value, kind: &str) -> Vec<&'a serde_json::Value> {
    status["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == kind)
        .collect()
}
