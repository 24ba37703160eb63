//! The trust root (docs/trust-root.md §1–2): who the site's admins are, how many of them must
//! sign, and how that changes. Root files `approvals/root/<N>.yaml` form a chain; a reader
//! pins one by the SHA-256 of its bytes (`--trust-root`), and every later root counts only
//! when a threshold of the previous root's admins and a threshold of its own signed it (TUF
//! rotation). Whoever can write the repository can write root files; only the pin, kept
//! outside it, says which one is real.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::OnceLock;

use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::trust::keyring::decode_public_key;
use crate::trust::version::{is_hex64, sha256_hex};
use crate::yaml;

/// Domain separation: a root's signed bytes can never be a record's or governance's.
pub const SIGNING_PREFIX: &[u8] = b"imprimatur-root-v1\n";
pub const ROOT_DIR: &str = "approvals/root";
pub const PIN_ENV: &str = "IMPRIMATUR_TRUST_ROOT";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoot {
    imprimatur: u64,
    version: u64,
    threshold: u64,
    admins: Vec<RawAdmin>,
    #[serde(default)]
    signatures: Vec<SignatureEntry>,
}

#[derive(Deserialize, Serialize, Clone)]
#[serde(deny_unknown_fields)]
struct RawAdmin {
    id: String,
    public_key: String,
}

/// One admin's signature: `key` names the admin (by id, in the root whose admins it counts for).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SignatureEntry {
    pub key: String,
    pub signature: String,
}

#[derive(Debug, Clone)]
pub struct Admin {
    pub id: String,
    pub public_key: VerifyingKey,
    /// The key as written in the root file: what the root's signature covers.
    pub encoded: String,
}

/// One root file, parsed (not yet trusted).
#[derive(Debug, Clone)]
pub struct Root {
    pub file: String,
    pub version: u64,
    pub threshold: u64,
    pub admins: Vec<Admin>,
    pub signatures: Vec<SignatureEntry>,
    /// Hex SHA-256 of the file's bytes: what a pin names.
    pub sha256: String,
    pub bytes: Vec<u8>,
}

impl Root {
    pub fn parse(file: &str, bytes: &[u8]) -> Result<Root> {
        let text =
            std::str::from_utf8(bytes).map_err(|_| Error::config(file, "", "not UTF-8 text"))?;
        let raw: RawRoot = yaml::from_str(text, &yaml::ADMIN)
            .map_err(|e| Error::config(file, e.field, e.message))?;
        if raw.imprimatur != 1 {
            return Err(Error::config(file, "imprimatur", "must be 1"));
        }
        let mut ids = BTreeSet::new();
        let mut keys = BTreeSet::new();
        let mut admins = Vec::new();
        for (i, a) in raw.admins.into_iter().enumerate() {
            let public_key = decode_public_key(&a.public_key)
                .map_err(|m| Error::config(file, format!("admins[{i}].public_key"), m))?;
            if !ids.insert(a.id.clone()) || a.id.is_empty() {
                return Err(Error::config(
                    file,
                    format!("admins[{i}].id"),
                    format!("admin id '{}' is empty or appears twice", a.id),
                ));
            }
            if !keys.insert(public_key.to_bytes()) {
                return Err(Error::config(
                    file,
                    format!("admins[{i}].public_key"),
                    "the same public key is listed twice",
                ));
            }
            admins.push(Admin {
                id: a.id,
                public_key,
                encoded: a.public_key.trim().to_string(),
            });
        }
        if raw.threshold < 1 || raw.threshold > admins.len() as u64 {
            return Err(Error::config(
                file,
                "threshold",
                format!(
                    "must be between 1 and the number of admins ({})",
                    admins.len()
                ),
            ));
        }
        Ok(Root {
            file: file.to_string(),
            version: raw.version,
            threshold: raw.threshold,
            admins,
            signatures: raw.signatures,
            sha256: sha256_hex(bytes),
            bytes: bytes.to_vec(),
        })
    }

    /// Prefix + canonical JSON (JCS) of everything but the signatures.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let admins: Vec<serde_json::Value> = self
            .admins
            .iter()
            .map(|a| serde_json::json!({"id": a.id, "public_key": a.encoded}))
            .collect();
        let body = serde_json::json!({
            "admins": admins,
            "imprimatur": 1,
            "threshold": self.threshold,
            "version": self.version,
        });
        let mut bytes = SIGNING_PREFIX.to_vec();
        serde_json::to_writer(&mut bytes, &body).expect("JSON values serialize");
        bytes
    }

    /// The distinct admins of this root whose signature in `entries` verifies (strictly)
    /// over `message`.
    pub fn signers(&self, message: &[u8], entries: &[SignatureEntry]) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for e in entries {
            let Some(admin) = self.admins.iter().find(|a| a.id == e.key) else {
                continue;
            };
            let Some(sig) = decode_signature(&e.signature) else {
                continue;
            };
            if admin.public_key.verify_strict(message, &sig).is_ok() {
                out.insert(admin.id.clone());
            }
        }
        out
    }

    pub fn admin_for(&self, public_key: &VerifyingKey) -> Option<&Admin> {
        self.admins.iter().find(|a| a.public_key == *public_key)
    }

    /// Admins of this root who have not signed yet, for messages.
    pub fn missing(&self, signed: &BTreeSet<String>) -> Vec<String> {
        self.admins
            .iter()
            .filter(|a| !signed.contains(&a.id))
            .map(|a| a.id.clone())
            .collect()
    }

    pub fn pin(&self) -> String {
        format!("sha256:{}", self.sha256)
    }
}

pub fn decode_signature(text: &str) -> Option<Signature> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()?;
    let bytes: [u8; 64] = bytes.as_slice().try_into().ok()?;
    Some(Signature::from_bytes(&bytes))
}

pub fn sign_base64(key: &SigningKey, message: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(key.sign(message).to_bytes())
}

/// The root file's text for `admins`, `threshold`, `version` and `signatures`, every string
/// double-quoted (as records are) so that YAML 1.1 readers sign the same text.
pub fn root_text(
    version: u64,
    threshold: u64,
    admins: &[(String, String)],
    signatures: &[SignatureEntry],
) -> String {
    let q = |s: &str| serde_json::to_string(s).expect("a string serializes");
    let mut t = format!("imprimatur: 1\nversion: {version}\nthreshold: {threshold}\nadmins:\n");
    for (id, key) in admins {
        t.push_str(&format!("  - id: {}\n    public_key: {}\n", q(id), q(key)));
    }
    t.push_str(&signatures_text(signatures));
    t
}

pub fn signatures_text(signatures: &[SignatureEntry]) -> String {
    let q = |s: &str| serde_json::to_string(s).expect("a string serializes");
    if signatures.is_empty() {
        return "signatures: []\n".into();
    }
    let mut t = String::from("signatures:\n");
    for s in signatures {
        t.push_str(&format!(
            "  - key: {}\n    signature: {}\n",
            q(&s.key),
            q(&s.signature)
        ));
    }
    t
}

/// A pin: the SHA-256 of one root file's bytes, given outside the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin(String);

impl Pin {
    pub fn parse(text: &str) -> std::result::Result<Pin, String> {
        let hex = text.trim().strip_prefix("sha256:").unwrap_or(text.trim());
        if !is_hex64(hex) {
            return Err(format!(
                "trust root '{text}' is not sha256: followed by 64 lowercase hex digits"
            ));
        }
        Ok(Pin(hex.to_string()))
    }

    pub fn hex(&self) -> &str {
        &self.0
    }
}

static PIN_FLAG: OnceLock<Pin> = OnceLock::new();

/// `--trust-root` from the command line; it wins over `IMPRIMATUR_TRUST_ROOT`.
pub fn set_pin(pin: Pin) {
    let _ = PIN_FLAG.set(pin);
}

/// The pin this process runs under: `--trust-root`, else `IMPRIMATUR_TRUST_ROOT`, else none.
pub fn current_pin() -> Result<Option<Pin>> {
    if let Some(p) = PIN_FLAG.get() {
        return Ok(Some(p.clone()));
    }
    match std::env::var(PIN_ENV) {
        Ok(v) if !v.trim().is_empty() => Pin::parse(&v)
            .map(Some)
            .map_err(|m| Error::Usage(format!("{PIN_ENV}: {m}"))),
        _ => Ok(None),
    }
}

/// The root chain's newest root, verified from the pin (or, unpinned, from `1.yaml`).
#[derive(Debug, Clone)]
pub struct TrustedRoot {
    pub root: Root,
    /// Every root from the first trusted one to the newest, in order.
    pub chain: Vec<Root>,
    pub pinned: bool,
}

/// The root files under `approvals/root/`, in version order; `None` when the folder is absent
/// (a site without governance). Files must be `1.yaml`, `2.yaml`, … with no gap.
pub fn load_chain(site_root: &Path) -> Result<Option<Vec<Root>>> {
    let dir = site_root.join(ROOT_DIR);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&dir, e)),
    };
    let mut versions = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(&dir, e))?;
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with('.') {
            continue;
        }
        let n = name
            .strip_suffix(".yaml")
            .and_then(|n| n.parse::<u64>().ok())
            .filter(|n| *n >= 1 && name == format!("{n}.yaml"))
            .ok_or_else(|| {
                Error::Governance(format!(
                    "{ROOT_DIR}/{name}: root files are named <version>.yaml (1.yaml, 2.yaml, ...)"
                ))
            })?;
        versions.push(n);
    }
    versions.sort_unstable();
    let mut roots = Vec::new();
    for (i, n) in versions.iter().enumerate() {
        let file = format!("{ROOT_DIR}/{n}.yaml");
        if *n != i as u64 + 1 {
            return Err(Error::Governance(format!(
                "{file}: the root chain has a gap: version {} is missing",
                i + 1
            )));
        }
        let rel = Path::new(&file);
        let bytes = crate::fs::read_beneath(site_root, rel, yaml::ADMIN.max_bytes as u64)
            .map_err(|e| Error::Governance(format!("{file}: {}", e.describe(site_root))))?;
        let root = Root::parse(&file, &bytes)?;
        if root.version != *n {
            return Err(Error::config(
                &file,
                "version",
                format!("is {}, the file name says {n}", root.version),
            ));
        }
        roots.push(root);
    }
    if roots.is_empty() {
        return Ok(None);
    }
    Ok(Some(roots))
}

/// Verifies the chain from the pinned root (or from `1.yaml` when unpinned) to the newest.
/// Every root must carry a threshold of its own admins' signatures; every root after the
/// first trusted one also a threshold of the previous root's admins'.
pub fn verify_chain(roots: Vec<Root>, pin: Option<&Pin>) -> Result<TrustedRoot> {
    let start = match pin {
        Some(p) => roots
            .iter()
            .position(|r| r.sha256 == p.hex())
            .ok_or_else(|| {
                Error::Governance(format!(
                    "trust root sha256:{} names no root file in {ROOT_DIR}/ (versions 1 to {}): refusing to trust any of them",
                    p.hex(),
                    roots.len()
                ))
            })?,
        None => 0,
    };
    let chain: Vec<Root> = roots.into_iter().skip(start).collect();
    for (i, root) in chain.iter().enumerate() {
        let message = root.signed_bytes();
        let own = root.signers(&message, &root.signatures);
        if (own.len() as u64) < root.threshold {
            return Err(Error::Governance(format!(
                "{}: signed by {} of the {} admins it names it needs ({}); missing: {}",
                root.file,
                own.len(),
                root.threshold,
                list(&own),
                root.missing(&own).join(", ")
            )));
        }
        if i > 0 {
            let previous = &chain[i - 1];
            let old = previous.signers(&message, &root.signatures);
            if (old.len() as u64) < previous.threshold {
                return Err(Error::Governance(format!(
                    "{}: a new root needs {} signature(s) of the previous root's admins ({}), it has {} ({}); missing: {}",
                    root.file,
                    previous.threshold,
                    previous.file,
                    old.len(),
                    list(&old),
                    previous.missing(&old).join(", ")
                )));
            }
        }
    }
    let root = chain.last().expect("a chain is never empty").clone();
    Ok(TrustedRoot {
        root,
        chain,
        pinned: pin.is_some(),
    })
}

pub(crate) fn list(ids: &BTreeSet<String>) -> String {
    if ids.is_empty() {
        "nobody".into()
    } else {
        ids.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn b64(k: &SigningKey) -> String {
        base64::engine::general_purpose::STANDARD.encode(k.verifying_key().to_bytes())
    }

    /// A root of `admins` (id, key) with `threshold`, signed by `signers`.
    fn root(
        version: u64,
        threshold: u64,
        admins: &[(&str, &SigningKey)],
        signers: &[(&str, &SigningKey)],
    ) -> Root {
        let list: Vec<(String, String)> = admins
            .iter()
            .map(|(i, k)| (i.to_string(), b64(k)))
            .collect();
        let file = format!("{ROOT_DIR}/{version}.yaml");
        let unsigned =
            Root::parse(&file, root_text(version, threshold, &list, &[]).as_bytes()).unwrap();
        let msg = unsigned.signed_bytes();
        let sigs: Vec<SignatureEntry> = signers
            .iter()
            .map(|(i, k)| SignatureEntry {
                key: i.to_string(),
                signature: sign_base64(k, &msg),
            })
            .collect();
        Root::parse(
            &file,
            root_text(version, threshold, &list, &sigs).as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn a_rotation_counts_only_with_both_thresholds() {
        let (a, b, c, d) = (key(1), key(2), key(3), key(4));
        let r1 = root(1, 2, &[("a", &a), ("b", &b)], &[("a", &a), ("b", &b)]);
        // new admins c, d; signed by both old and both new
        let good = root(
            2,
            2,
            &[("c", &c), ("d", &d)],
            &[("a", &a), ("b", &b), ("c", &c), ("d", &d)],
        );
        let pin = Pin::parse(&r1.pin()).unwrap();
        let t = verify_chain(vec![r1.clone(), good], Some(&pin)).unwrap();
        assert_eq!(t.root.version, 2);
        // forged: only the new admins signed
        let forged = root(2, 2, &[("c", &c), ("d", &d)], &[("c", &c), ("d", &d)]);
        let err = verify_chain(vec![r1.clone(), forged], Some(&pin))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("previous root's admins") && err.contains("missing: a, b"),
            "{err}"
        );
        // under threshold: one old admin
        let under = root(
            2,
            2,
            &[("c", &c), ("d", &d)],
            &[("a", &a), ("c", &c), ("d", &d)],
        );
        assert!(verify_chain(vec![r1.clone(), under], Some(&pin)).is_err());
        // a pin naming nothing in the chain fails closed
        let other = Pin::parse(&format!("sha256:{}", "0".repeat(64))).unwrap();
        let err = verify_chain(vec![r1], Some(&other))
            .unwrap_err()
            .to_string();
        assert!(err.contains("names no root file"), "{err}");
    }

    #[test]
    fn a_root_needs_its_own_threshold_and_sane_fields() {
        let (a, b) = (key(1), key(2));
        let r = root(1, 2, &[("a", &a), ("b", &b)], &[("a", &a)]);
        assert!(verify_chain(vec![r], None)
            .unwrap_err()
            .to_string()
            .contains("missing: b"));
        let bad = root_text(1, 3, &[("a".into(), b64(&a))], &[]);
        assert!(Root::parse("r", bad.as_bytes())
            .unwrap_err()
            .to_string()
            .contains("threshold"));
    }
}
