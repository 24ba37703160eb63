//! Governance (docs/trust-root.md §3): the files that decide whose signature counts and what
//! every page looks like — `imprimatur.yaml`, the keyring, the policies, the themes folder —
//! count only when a threshold of the trusted root's admins signed their exact bytes. One
//! manifest covers them all; `approvals/governance.yaml` holds it and the signatures. This is
//! checked before any governed file is parsed, so an unsigned change publishes nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use ed25519_dalek::SigningKey;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::trust::root::{self, Pin, SignatureEntry, TrustedRoot};
use crate::trust::version::{is_hex64, sha256_hex};
use crate::yaml;

pub const FILE: &str = "approvals/governance.yaml";
/// First line of the manifest text (what `manifest` hashes).
pub const MANIFEST_HEADER: &str = "imprimatur-governance-manifest-v1\n";
/// Domain separation: governance signatures can never be records' or roots'.
pub const SIGNING_PREFIX: &[u8] = b"imprimatur-governance-v1\n";

/// The governed files: these single files, and every file under these folders.
pub const GOVERNED_FILES: &[&str] = &["imprimatur.yaml", "approvals/keyring.yaml"];
pub const GOVERNED_DIRS: &[&str] = &["approvals/policies", "themes"];
/// A derived manifest entry: the hash of the keyring's public form (no e-mail addresses,
/// [`public_keyring_text`]), which proofs publish; admins sign it with the files.
pub const PUBLIC_KEYRING: &str = "approvals/keyring.yaml#public";
/// The manifest entry for the public form of `imprimatur.yaml` ([`public_settings_text`]): what
/// the public site is rendered with, and nothing of where reviews, notifications or mail go.
pub const PUBLIC_SETTINGS: &str = "imprimatur.yaml#public";
/// The top-level settings of `imprimatur.yaml` that shape the files a build generates, and so
/// are published (under `/_proof/imprimatur.yaml`) for `audit` to render them again.
pub const PUBLIC_SETTING_KEYS: &[&str] = &[
    "title",
    "base_url",
    "theme",
    "audiences",
    "markdown",
    "history",
    "notices",
];

/// The public form of `imprimatur.yaml`'s text `config`: its [`PUBLIC_SETTING_KEYS`] (those it
/// sets), as canonical JSON — which is YAML, so the site config reader reads it. Everything
/// else (the review server's URL, notification channels, mail hosts) stays private. `Err`
/// names what can't be read.
pub fn public_settings_text(config: &str) -> std::result::Result<String, String> {
    let value: serde_json::Value = crate::yaml::from_str(config, &crate::yaml::ADMIN)
        .map_err(|e| format!("{}: {}", e.field, e.message))?;
    let serde_json::Value::Object(all) = value else {
        return Err("not a mapping of settings".into());
    };
    // serde_json's map is sorted by key: the text is the same for the same settings.
    let public: serde_json::Map<String, serde_json::Value> = all
        .into_iter()
        .filter(|(k, _)| PUBLIC_SETTING_KEYS.contains(&k.as_str()))
        .collect();
    let mut text = serde_json::to_string_pretty(&public).map_err(|e| e.to_string())?;
    text.push('\n');
    Ok(text)
}

/// The keyring without e-mail addresses or notification settings, in one canonical text:
/// what `/_proof/keyring.yaml` publishes and an auditor parses as a keyring.
pub fn public_keyring_text(keyring: &crate::trust::keyring::Keyring) -> String {
    use crate::trust::keyring::PublicKey;
    let q = |s: &str| serde_json::to_string(s).expect("a string serializes");
    let t = |i: &crate::time::Instant| q(&crate::time::format_utc(i));
    let mut out = String::from("reviewers:\n");
    if keyring.reviewers.is_empty() {
        return "reviewers: []\n".into();
    }
    for r in keyring.reviewers.values() {
        out.push_str(&format!("  - id: {}\n    name: {}\n", q(&r.id), q(&r.name)));
        let groups: Vec<String> = r.groups.iter().map(|g| q(g)).collect();
        out.push_str(&format!("    groups: [{}]\n", groups.join(", ")));
        let keys: Vec<_> = keyring
            .keys
            .values()
            .filter(|k| k.reviewer == r.id)
            .collect();
        if keys.is_empty() {
            out.push_str("    keys: []\n");
            continue;
        }
        out.push_str("    keys:\n");
        for k in keys {
            out.push_str(&format!("      - id: {}\n", q(&k.id)));
            match &k.public_key {
                PublicKey::Ed25519(_) => out.push_str(&format!(
                    "        public_key: {}\n",
                    q(&k.public_key.encoded())
                )),
                PublicKey::WebAuthn(w) => {
                    let origins: Vec<String> = w.origins.iter().map(|o| q(o)).collect();
                    out.push_str(&format!(
                        "        webauthn:\n          alg: {}\n          public_key: {}\n          rp_id: {}\n          origins: [{}]\n          credential_id: {}\n",
                        q(w.alg.as_str()),
                        q(&k.public_key.encoded()),
                        q(&w.rp_id),
                        origins.join(", "),
                        q(&w.credential_id)
                    ))
                }
            }
            for (field, v) in [
                ("not_before", &k.not_before),
                ("not_after", &k.not_after),
                ("revoked_at", &k.revoked_at),
            ] {
                if let Some(v) = v {
                    out.push_str(&format!("        {field}: {}\n", t(v)));
                }
            }
            if k.compromised {
                out.push_str("        compromised: true\n");
            }
            if let Some(seal) = &k.sealed {
                let list: Vec<String> = seal.iter().map(|h| q(h)).collect();
                out.push_str(&format!("        sealed: [{}]\n", list.join(", ")));
            }
        }
    }
    out
}

/// The derived entries of the manifest for the governed files as they are now.
fn derived_entries(site_root: &Path) -> Result<BTreeMap<String, String>> {
    let path = site_root.join("approvals/keyring.yaml");
    let mut out = BTreeMap::new();
    if path.exists() {
        let keyring = crate::trust::keyring::Keyring::load(&path)?;
        out.insert(
            PUBLIC_KEYRING.to_string(),
            sha256_hex(public_keyring_text(&keyring).as_bytes()),
        );
    }
    let config = site_root.join("imprimatur.yaml");
    if config.exists() {
        let text = crate::yaml::read_file(&config, &crate::yaml::ADMIN)
            .map_err(|e| crate::error::Error::io(&config, e))?;
        let public = public_settings_text(&text)
            .map_err(|why| crate::error::Error::config("imprimatur.yaml", "", why))?;
        out.insert(PUBLIC_SETTINGS.to_string(), sha256_hex(public.as_bytes()));
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGovernance {
    imprimatur: u64,
    version: u64,
    manifest: String,
    files: Vec<String>,
    #[serde(default)]
    signatures: Vec<SignatureEntry>,
}

/// `approvals/governance.yaml`, parsed: the signed state of the governed files.
#[derive(Debug, Clone)]
pub struct SignedState {
    pub version: u64,
    /// path → hex SHA-256, as signed.
    pub files: BTreeMap<String, String>,
    pub manifest: String,
    pub signatures: Vec<SignatureEntry>,
    pub bytes: Vec<u8>,
}

/// The manifest text of `files` (path → hex): header, then `<hex> <path>\n` in path byte order.
pub fn manifest_text(files: &BTreeMap<String, String>) -> String {
    let mut text = String::from(MANIFEST_HEADER);
    for (path, hex) in files {
        text.push_str(hex);
        text.push(' ');
        text.push_str(path);
        text.push('\n');
    }
    text
}

pub fn manifest_hash(files: &BTreeMap<String, String>) -> String {
    format!("sha256:{}", sha256_hex(manifest_text(files).as_bytes()))
}

/// What admins sign: prefix + JCS of `{"imprimatur":1,"manifest":…,"version":…}`.
pub fn signed_bytes(manifest: &str, version: u64) -> Vec<u8> {
    let body = serde_json::json!({"imprimatur": 1, "manifest": manifest, "version": version});
    let mut bytes = SIGNING_PREFIX.to_vec();
    serde_json::to_writer(&mut bytes, &body).expect("JSON values serialize");
    bytes
}

/// The governed files as they are on disk now (path → hex SHA-256). A symbolic link or
/// anything but a regular file or folder among them is refused: it could point anywhere.
pub fn current_files(site_root: &Path) -> Result<BTreeMap<String, String>> {
    let mut files = BTreeMap::new();
    let mut add = |rel: &str| -> Result<()> {
        if rel.contains(|c: char| crate::trust::version::is_control(c)) {
            return Err(Error::Governance(format!(
                "{rel:?}: a governed file name may not hold control characters"
            )));
        }
        let bytes = crate::fs::read_beneath(site_root, Path::new(rel), 64 << 20)
            .map_err(|e| Error::Governance(format!("{rel}: {}", e.describe(site_root))))?;
        files.insert(rel.to_string(), sha256_hex(&bytes));
        Ok(())
    };
    for f in GOVERNED_FILES {
        match std::fs::symlink_metadata(site_root.join(f)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            _ => add(f)?,
        }
    }
    for d in GOVERNED_DIRS {
        let dir = site_root.join(d);
        if !dir.exists() && std::fs::symlink_metadata(&dir).is_err() {
            continue;
        }
        for entry in crate::fs::walk_by_name(&dir) {
            let entry = entry
                .map_err(|e| Error::Governance(format!("{d}: {}", std::io::Error::from(e))))?;
            let ft = entry.file_type();
            let rel = entry
                .path()
                .strip_prefix(site_root)
                .unwrap_or(entry.path())
                .to_string_lossy()
                .replace('\\', "/");
            if ft.is_symlink() {
                return Err(Error::Governance(format!(
                    "{rel}: a symbolic link among the governed files (admins sign bytes, not links)"
                )));
            }
            if ft.is_file() {
                add(&rel)?;
            } else if !ft.is_dir() {
                return Err(Error::Governance(format!(
                    "{rel}: neither a file nor a folder, among the governed files"
                )));
            }
        }
    }
    Ok(files)
}

impl SignedState {
    pub fn load(site_root: &Path) -> Result<Option<SignedState>> {
        let bytes =
            match crate::fs::read_beneath(site_root, Path::new(FILE), yaml::ADMIN.max_bytes as u64)
            {
                Ok(b) => b,
                Err(_) if std::fs::symlink_metadata(site_root.join(FILE)).is_err() => {
                    return Ok(None)
                }
                Err(e) => {
                    return Err(Error::Governance(format!(
                        "{FILE}: {}",
                        e.describe(site_root)
                    )))
                }
            };
        SignedState::parse(&bytes).map(Some)
    }

    pub fn parse(bytes: &[u8]) -> Result<SignedState> {
        let text =
            std::str::from_utf8(bytes).map_err(|_| Error::config(FILE, "", "not UTF-8 text"))?;
        let raw: RawGovernance = yaml::from_str(text, &yaml::ADMIN)
            .map_err(|e| Error::config(FILE, e.field, e.message))?;
        if raw.imprimatur != 1 {
            return Err(Error::config(FILE, "imprimatur", "must be 1"));
        }
        let mut files = BTreeMap::new();
        for (i, line) in raw.files.iter().enumerate() {
            let (hex, path) = line
                .split_once(' ')
                .filter(|(h, p)| is_hex64(h) && !p.is_empty())
                .ok_or_else(|| {
                    Error::config(FILE, format!("files[{i}]"), "must be '<64 hex> <path>'")
                })?;
            if files.insert(path.to_string(), hex.to_string()).is_some() {
                return Err(Error::config(
                    FILE,
                    format!("files[{i}]"),
                    format!("'{path}' is listed twice"),
                ));
            }
        }
        let manifest = manifest_hash(&files);
        if manifest != raw.manifest {
            return Err(Error::config(
                FILE,
                "manifest",
                format!(
                    "is {}, but the files listed hash to {manifest}",
                    raw.manifest
                ),
            ));
        }
        Ok(SignedState {
            version: raw.version,
            files,
            manifest,
            signatures: raw.signatures,
            bytes: bytes.to_vec(),
        })
    }

    pub fn signed_bytes(&self) -> Vec<u8> {
        signed_bytes(&self.manifest, self.version)
    }

    pub fn to_text(&self) -> String {
        let q = |s: &str| serde_json::to_string(s).expect("a string serializes");
        let mut t = format!(
            "imprimatur: 1\nversion: {}\nmanifest: {}\nfiles:\n",
            self.version,
            q(&self.manifest)
        );
        for (path, hex) in &self.files {
            t.push_str(&format!("  - {}\n", q(&format!("{hex} {path}"))));
        }
        t.push_str(&root::signatures_text(&self.signatures));
        t
    }
}

/// One governed file that differs from the signed state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Added(String),
    Changed(String),
    Removed(String),
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::Added(p) => write!(f, "{p} (added)"),
            Change::Changed(p) => write!(f, "{p} (changed)"),
            Change::Removed(p) => write!(f, "{p} (removed)"),
        }
    }
}

/// Where the governed files stand against the trusted root.
#[derive(Debug, Clone)]
pub struct Status {
    pub trusted: TrustedRoot,
    pub signed: Option<SignedState>,
    pub current: BTreeMap<String, String>,
    pub changes: Vec<Change>,
    /// Admins of the trusted root whose signature over the signed state verifies.
    pub signers: BTreeSet<String>,
}

impl Status {
    pub fn accepted(&self) -> bool {
        self.signed.is_some()
            && self.changes.is_empty()
            && self.signers.len() as u64 >= self.trusted.root.threshold
    }

    pub fn missing(&self) -> Vec<String> {
        self.trusted.root.missing(&self.signers)
    }

    /// Why the governed files can't be trusted, naming the files and the missing signatures.
    pub fn refusal(&self) -> Option<String> {
        if self.accepted() {
            return None;
        }
        let root = &self.trusted.root;
        let mut why = match &self.signed {
            None => format!(
                "{FILE} is missing: the governed files are not signed by the admins of {}",
                root.file
            ),
            Some(_) if !self.changes.is_empty() => format!(
                "the governed files differ from the signed state in {FILE}: {}",
                self.changes
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Some(s) => format!(
                "{FILE} (version {}) is signed by {} of the {} admins of {} it needs ({})",
                s.version,
                self.signers.len(),
                root.threshold,
                root.file,
                root::list(&self.signers)
            ),
        };
        let can_sign = if self.signed.is_some() && self.changes.is_empty() {
            self.missing()
        } else {
            root.admins.iter().map(|a| a.id.clone()).collect()
        };
        why.push_str(&format!(
            "; needs {} admin signature(s) over the files as they are, missing: {} (imprimatur governance sign --key FILE); nothing was published",
            root.threshold,
            can_sign.join(", ")
        ));
        Some(why)
    }
}

/// What the build trusts, once governance has been checked.
#[derive(Debug, Clone)]
pub enum Governance {
    /// No `approvals/root/`: nobody signs the governed files (a site as before).
    Unsigned,
    /// The governed files are signed by a threshold of the trusted root's admins.
    Signed(Box<Status>),
}

impl Governance {
    pub fn pinned(&self) -> bool {
        matches!(self, Governance::Signed(s) if s.trusted.pinned)
    }

    /// One line for build and verify output.
    pub fn summary(&self) -> String {
        match self {
            Governance::Unsigned => "governance: unsigned (no approvals/root/): whoever can change the keyring, policies, imprimatur.yaml or themes decides whose signature counts".into(),
            Governance::Signed(s) => {
                let g = s.signed.as_ref().expect("accepted governance has a signed state");
                let mut line = format!(
                    "governance: version {} signed by {} of {} admins ({}) of root version {}",
                    g.version,
                    s.signers.len(),
                    s.trusted.root.threshold,
                    root::list(&s.signers),
                    s.trusted.root.version
                );
                if !s.trusted.pinned {
                    line.push_str(&format!(
                        "; WARNING: trust root not pinned: the root chain was taken from the repository itself (pass --trust-root {} or set {})",
                        s.trusted.chain[0].pin(),
                        root::PIN_ENV
                    ));
                }
                line
            }
        }
    }
}

/// `governance` in `status.json`: absent for a site without a root.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub state: &'static str,
    pub root_version: u64,
    pub version: u64,
    pub manifest: String,
    pub signers: Vec<String>,
    pub pinned: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

impl Governance {
    pub fn report(&self) -> Option<Report> {
        let Governance::Signed(s) = self else {
            return None;
        };
        let g = s.signed.as_ref()?;
        Some(Report {
            state: "signed",
            root_version: s.trusted.root.version,
            version: g.version,
            manifest: g.manifest.clone(),
            signers: s.signers.iter().cloned().collect(),
            pinned: s.trusted.pinned,
            warning: (!s.trusted.pinned).then(|| "trust root not pinned".to_string()),
        })
    }
}

/// The chain and the governed files' state, without judging them.
pub fn status(site_root: &Path, pin: Option<&Pin>) -> Result<Option<Status>> {
    let Some(roots) = root::load_chain(site_root)? else {
        if let Some(p) = pin {
            return Err(Error::Governance(format!(
                "trust root sha256:{} is pinned, but the site has no {}/: refusing to trust it",
                p.hex(),
                root::ROOT_DIR
            )));
        }
        return Ok(None);
    };
    let trusted = root::verify_chain(roots, pin)?;
    let signed = SignedState::load(site_root)?;
    let current = current_files(site_root)?;
    let (changes, signers) = match &signed {
        None => (Vec::new(), BTreeSet::new()),
        Some(s) => (
            diff(&s.files, &current),
            trusted.root.signers(&s.signed_bytes(), &s.signatures),
        ),
    };
    Ok(Some(Status {
        trusted,
        signed,
        current,
        changes,
        signers,
    }))
}

fn diff(signed: &BTreeMap<String, String>, current: &BTreeMap<String, String>) -> Vec<Change> {
    let mut out = Vec::new();
    for (p, h) in current {
        match signed.get(p) {
            None => out.push(Change::Added(p.clone())),
            Some(s) if s != h => out.push(Change::Changed(p.clone())),
            _ => {}
        }
    }
    for p in signed.keys() {
        if !current.contains_key(p) && !p.contains('#') {
            out.push(Change::Removed(p.clone()));
        }
    }
    out
}

/// The check every load of a site makes first: fail closed unless the governed files are
/// exactly what a threshold of the trusted root's admins signed.
pub fn verify(site_root: &Path, pin: Option<&Pin>) -> Result<Governance> {
    match status(site_root, pin)? {
        None => Ok(Governance::Unsigned),
        Some(s) => match s.refusal() {
            Some(why) => Err(Error::Governance(why)),
            None => Ok(Governance::Signed(Box::new(s))),
        },
    }
}

/// Adds `key`'s signature over the governed files as they are now: to the signed state when
/// the files are unchanged, else to a new state (version + 1) that starts with it alone.
/// Returns the state written.
pub fn sign(site_root: &Path, pin: Option<&Pin>, key: &SigningKey) -> Result<SignedState> {
    let Some(s) = status(site_root, pin)? else {
        return Err(Error::Refused(format!(
            "the site has no {}/: create a root first (imprimatur root new)",
            root::ROOT_DIR
        )));
    };
    let public = key.verifying_key();
    let Some(admin) = s.trusted.root.admin_for(&public) else {
        return Err(Error::Refused(format!(
            "this key is not an admin of {} (admins: {})",
            s.trusted.root.file,
            s.trusted
                .root
                .admins
                .iter()
                .map(|a| a.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    let mut desired = s.current.clone();
    desired.extend(derived_entries(site_root)?);
    let mut state = match s.signed {
        Some(old) if old.files == desired => old,
        old => {
            let files = desired;
            SignedState {
                version: old.map_or(1, |o| o.version + 1),
                manifest: manifest_hash(&files),
                files,
                signatures: Vec::new(),
                bytes: Vec::new(),
            }
        }
    };
    state.signatures.retain(|e| e.key != admin.id);
    state.signatures.push(SignatureEntry {
        key: admin.id.clone(),
        signature: root::sign_base64(key, &state.signed_bytes()),
    });
    state.signatures.sort_by(|a, b| a.key.cmp(&b.key));
    let text = state.to_text();
    crate::fs::write_file(&site_root.join(FILE), text.as_bytes())?;
    state.bytes = text.into_bytes();
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_settings_keep_what_renders_and_nothing_of_where_reviews_or_mail_go() {
        let config = "# a comment\ntitle: Help\nbase_url: https://help.example.com/\ntheme: brand\nreview_url: https://review.internal.example/\noutput: public\nhistory: {comments: public}\nnotifications:\n  email: {smtp: \"mail.internal:587\", from: \"Docs <docs@internal>\"}\n";
        let public = public_settings_text(config).unwrap();
        for private in [
            "review.internal",
            "mail.internal",
            "docs@internal",
            "output",
        ] {
            assert!(!public.contains(private), "{private} in {public}");
        }
        assert_eq!(
            public,
            "{\n  \"base_url\": \"https://help.example.com/\",\n  \"history\": {\n    \"comments\": \"public\"\n  },\n  \"theme\": \"brand\",\n  \"title\": \"Help\"\n}\n"
        );
        // The same settings in another order and spelling: the same text.
        let reordered = "theme: \"brand\"\nhistory:\n  comments: public\ntitle: Help\nbase_url: 'https://help.example.com/'\n";
        assert_eq!(public_settings_text(reordered).unwrap(), public);
        assert!(public_settings_text("- a list\n").is_err());
    }

    #[test]
    fn the_manifest_is_sorted_lines_under_a_header_and_round_trips() {
        let files: BTreeMap<String, String> = [
            ("themes/t/a.html".to_string(), "b".repeat(64)),
            ("approvals/keyring.yaml".to_string(), "a".repeat(64)),
        ]
        .into();
        let text = manifest_text(&files);
        assert_eq!(
            text,
            format!(
                "{MANIFEST_HEADER}{} approvals/keyring.yaml\n{} themes/t/a.html\n",
                "a".repeat(64),
                "b".repeat(64)
            )
        );
        let state = SignedState {
            version: 3,
            manifest: manifest_hash(&files),
            files,
            signatures: vec![],
            bytes: vec![],
        };
        let back = SignedState::parse(state.to_text().as_bytes()).unwrap();
        assert_eq!(back.files, state.files);
        assert_eq!(back.version, 3);
        let signed = String::from_utf8(back.signed_bytes()).unwrap();
        assert!(signed
            .starts_with("imprimatur-governance-v1\n{\"imprimatur\":1,\"manifest\":\"sha256:"));
        // a manifest hash that doesn't match its files is refused
        let forged = state
            .to_text()
            .replace(&state.manifest, &format!("sha256:{}", "0".repeat(64)));
        assert!(SignedState::parse(forged.as_bytes())
            .unwrap_err()
            .to_string()
            .contains("hash to"));
    }
}
