//! The admins' changes to who may sign (docs/trust-root.md): writing the next trust root,
//! signing it, and revoking a key in the keyring (sealing the records it made that count).
//! They write the governed files safely and report what they did; the CLI prints it. None of
//! them publishes anything, and the admins then sign the change (`trust::governance::sign`).

use std::path::Path;

use crate::error::{Error, Result};
use crate::time::{self, Instant};
use crate::trust::keyring::decode_public_key;
use crate::trust::root::{self, Root, SignatureEntry};

/// The root file `new_root` wrote, unsigned.
#[derive(Debug, Clone)]
pub struct NewRoot {
    /// Relative to the site root.
    pub file: String,
    pub version: u64,
    pub threshold: u64,
    /// How many admins of the root before it must sign it too (none for the first root).
    pub previous_threshold: Option<u64>,
}

/// `root new --threshold N --admin ID=PUBLIC_KEY|KEY_FILE...`: writes the next root file,
/// unsigned.
/// The previous root's admins and the new root's admins then sign it (`sign_root`).
pub fn new_root(site_root: &Path, threshold: u64, admins: &[String]) -> Result<NewRoot> {
    let mut list = Vec::new();
    for a in admins {
        let (id, key) = a.split_once('=').ok_or_else(|| {
            Error::Usage(format!(
                "--admin '{a}': expected ID=PUBLIC_KEY or ID=KEY_FILE"
            ))
        })?;
        let key = match decode_public_key(key) {
            Ok(_) => key.trim().to_string(),
            // Not a key itself: a file holding one (a .pub, a PEM public key, the base64
            // keygen printed, or the admin's secret key file, whose public half is read).
            Err(m) => {
                let file = Path::new(key);
                if !file.is_file() {
                    return Err(Error::Usage(format!(
                        "--admin {id}: '{key}' is neither a public key ({m}) nor a key file"
                    )));
                }
                use base64::Engine as _;
                let public = crate::trust::keyfile::read_public(file)?;
                base64::engine::general_purpose::STANDARD.encode(public.as_bytes())
            }
        };
        list.push((id.to_string(), key));
    }
    let chain = root::load_chain(site_root)?.unwrap_or_default();
    let version = chain.len() as u64 + 1;
    let file = format!("{}/{version}.yaml", root::ROOT_DIR);
    let text = root::root_text(version, threshold, &list, &[]);
    Root::parse(&file, text.as_bytes())?;
    crate::fs::write_file(&site_root.join(&file), text.as_bytes())?;
    Ok(NewRoot {
        file,
        version,
        threshold,
        previous_threshold: (version > 1).then(|| chain[chain.len() - 1].threshold),
    })
}

/// What `sign_root` signed, and whether the chain verifies now.
#[derive(Debug, Clone)]
pub struct SignedRoot {
    pub file: String,
    /// The admin ids the key signed as (in the newest root and/or the one before it).
    pub ids: Vec<String>,
    /// Once the chain verifies: the first root's pin and the newest root's own hash; until
    /// then, why it does not verify yet.
    pub verified: std::result::Result<(String, String), String>,
}

/// `root sign --key FILE`: signs the newest root, as an admin of it and/or of the root
/// before it.
pub fn sign_root(site_root: &Path, key_file: &Path) -> Result<SignedRoot> {
    let key = crate::trust::keyfile::load(key_file)?;
    let public = key.verifying_key();
    let Some(chain) = root::load_chain(site_root)? else {
        return Err(Error::Refused(format!(
            "no {}/: write one with imprimatur root new",
            root::ROOT_DIR
        )));
    };
    let newest = chain.last().expect("a chain is never empty");
    let previous = chain.len().checked_sub(2).map(|i| &chain[i]);
    let message = newest.signed_bytes();
    let mut ids: Vec<String> = Vec::new();
    for r in std::iter::once(newest).chain(previous) {
        if let Some(a) = r.admin_for(&public) {
            if !ids.contains(&a.id) {
                ids.push(a.id.clone());
            }
        }
    }
    if ids.is_empty() {
        return Err(Error::Refused(format!(
            "this key is an admin of neither {} nor the root before it",
            newest.file
        )));
    }
    let mut signatures = newest.signatures.clone();
    let signature = root::sign_base64(&key, &message);
    for id in &ids {
        // One entry per id: the entry must verify under the key that id has in either root.
        signatures.retain(|e| {
            !(e.key == *id
                && root::decode_signature(&e.signature)
                    .is_some_and(|s| public.verify_strict(&message, &s).is_ok()))
        });
        signatures.push(SignatureEntry {
            key: id.clone(),
            signature: signature.clone(),
        });
    }
    let admins: Vec<(String, String)> = newest
        .admins
        .iter()
        .map(|a| (a.id.clone(), a.encoded.clone()))
        .collect();
    let text = root::root_text(newest.version, newest.threshold, &admins, &signatures);
    crate::fs::write_file(&site_root.join(&newest.file), text.as_bytes())?;
    let file = newest.file.clone();
    let chain = root::load_chain(site_root)?.expect("just written");
    let verified = match root::verify_chain(chain, None) {
        Ok(t) => Ok((t.chain[0].pin(), t.root.pin())),
        Err(e) => Err(e.to_string()),
    };
    Ok(SignedRoot {
        file,
        ids,
        verified,
    })
}

/// A record that counts today and that a revocation at `at` would void: signed by the key at
/// or after `at`. `keyring revoke` names each and refuses without `--force`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voided {
    pub page: String,
    pub kind: String,
    pub step: Option<String>,
    pub signed_at: Instant,
    /// Relative to the site root.
    pub file: String,
}

/// What `revoke_key` did: how many counted records it sealed, and which counted records the
/// revocation voids (signed at or after `at`).
#[derive(Debug, Clone)]
pub struct Revocation {
    pub sealed: usize,
    pub voided: Vec<Voided>,
}

/// `keyring revoke KEY --seal [--at TIME]`: sets the key's `revoked_at` and, with `seal`,
/// seals the records it made before `at` that count at `now`, in `approvals/keyring.yaml`.
/// A record of the key that counts at `now` and was signed at or after `at` stops counting:
/// unless `force`, that is refused, naming each such record. Admins then sign the change;
/// until then builds fail closed.
pub fn revoke_key(
    site_root: &Path,
    key_id: &str,
    seal: bool,
    at: Instant,
    now: Instant,
    force: bool,
) -> Result<Revocation> {
    let site = crate::site::Site::load_ungoverned(site_root)?;
    let Some(key) = site.keyring.keys.get(key_id) else {
        return Err(Error::Refused(format!("no key '{key_id}' in the keyring")));
    };
    // What counts today: a record that passes SPEC §4 at `now` and that the policy did not
    // refuse (an `invalid_record` or `out_of_turn` finding about its file).
    let eval = site.evaluate(now, &site.config.audiences);
    let refused: std::collections::BTreeSet<&str> = eval
        .findings
        .iter()
        .filter(|f| {
            matches!(
                f.kind,
                crate::trust::review::FindingKind::InvalidRecord
                    | crate::trust::review::FindingKind::OutOfTurn
            )
        })
        .filter_map(|f| f.file.as_deref())
        .collect();
    let mut hashes = Vec::new();
    let mut voided = Vec::new();
    for f in &site.records {
        let Ok(parsed) = &f.parsed else { continue };
        let r = &parsed.record;
        if r.key != key.id
            || refused.contains(f.file.as_str())
            || crate::trust::record::check(parsed, &site.keyring, &now).is_err()
        {
            continue;
        }
        if r.signed_at >= at {
            voided.push(Voided {
                page: r.content.clone(),
                kind: r.kind.to_string(),
                step: r.step.clone(),
                signed_at: r.signed_at,
                file: f.file.clone(),
            });
        } else if seal {
            hashes.push(format!(
                "sha256:{}",
                crate::trust::version::sha256_hex(&r.signed_bytes())
            ));
        }
    }
    hashes.sort();
    hashes.dedup();
    voided.sort_by(|a, b| (a.signed_at, &a.file).cmp(&(b.signed_at, &b.file)));
    if !voided.is_empty() && !force {
        let list: Vec<String> = voided
            .iter()
            .map(|v| {
                format!(
                    "  {} {}{} signed {} ({})",
                    v.page,
                    v.kind,
                    v.step
                        .as_ref()
                        .map(|s| format!(" in step '{s}'"))
                        .unwrap_or_default(),
                    time::format_utc(&v.signed_at),
                    v.file
                )
            })
            .collect();
        return Err(Error::Refused(format!(
            "revoking key '{key_id}' at {} would void {} record(s) it signed at or after that time, which count today:\n{}\nrevoke it at an earlier time that keeps them (--at TIME, before the first), or pass --force to void them",
            time::format_utc(&at),
            voided.len(),
            list.join("\n")
        )));
    }
    let path = site.config.keyring_file();
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let edited = revoke_in_text(
        &text,
        key_id,
        &time::format_utc(&at),
        seal.then_some(&hashes[..]),
    )
    .map_err(|m| Error::config("approvals/keyring.yaml", key_id, m))?;
    let keyring = crate::trust::keyring::Keyring::parse(&edited)?;
    let k = &keyring.keys[key_id];
    if k.revoked_at != Some(at)
        || (seal && k.sealed.as_ref().map(|s| s.len()) != Some(hashes.len()))
    {
        return Err(Error::config(
            "approvals/keyring.yaml",
            key_id,
            "could not edit this entry safely: set revoked_at and sealed by hand",
        ));
    }
    crate::fs::write_file(&path, edited.as_bytes())?;
    Ok(Revocation {
        sealed: hashes.len(),
        voided,
    })
}

/// Edits the block-style keyring entry of key `key_id`: replaces `revoked_at` and `sealed`
/// and appends the new values at the end of the entry. Flow-style entries are refused.
fn revoke_in_text(
    text: &str,
    key_id: &str,
    at: &str,
    seal: Option<&[String]>,
) -> std::result::Result<String, String> {
    let lines: Vec<&str> = text.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let is_id = |l: &str| {
        let t = l.trim_start().trim_start_matches("- ").trim();
        t.strip_prefix("id:").is_some_and(|v| {
            let v = v.trim().trim_matches(|c| c == '"' || c == '\'');
            v == key_id
        })
    };
    for (i, line) in lines.iter().enumerate() {
        if !is_id(line) {
            continue;
        }
        // The column the entry's fields start at: `id`'s own column.
        let col = line.find("id:").expect("matched id:");
        let mut end = i + 1;
        let mut has_public = false;
        while end < lines.len() {
            let l = lines[end];
            if l.trim().is_empty() || l.trim_start().starts_with('#') {
                end += 1;
                continue;
            }
            if indent(l) < col
                || (indent(l) == col.saturating_sub(2) && l.trim_start().starts_with("- "))
            {
                break;
            }
            // An ed25519 key's `public_key`, or a passkey's `webauthn:` block (SPEC §3a).
            let t = l.trim_start();
            if indent(l) == col && (t.starts_with("public_key:") || t.starts_with("webauthn:")) {
                has_public = true;
            }
            end += 1;
        }
        if !has_public {
            continue;
        }
        let mut out: Vec<String> = lines[..=i].iter().map(|l| l.to_string()).collect();
        let mut skipping = false;
        for l in &lines[i + 1..end] {
            let field = indent(l) == col;
            if field {
                let t = l.trim_start();
                skipping = t.starts_with("revoked_at:") || t.starts_with("sealed:");
                if skipping {
                    continue;
                }
            } else if skipping && indent(l) > col {
                continue;
            }
            out.push(l.to_string());
        }
        while out.last().is_some_and(|l| l.trim().is_empty()) {
            out.pop();
        }
        let pad = " ".repeat(col);
        out.push(format!("{pad}revoked_at: \"{at}\""));
        if let Some(hashes) = seal {
            if hashes.is_empty() {
                out.push(format!("{pad}sealed: []"));
            } else {
                out.push(format!("{pad}sealed:"));
                for h in hashes {
                    out.push(format!("{pad}  - \"{h}\""));
                }
            }
        }
        let trailing_blank = lines[i + 1..end]
            .iter()
            .rev()
            .take_while(|l| l.trim().is_empty())
            .count();
        for _ in 0..trailing_blank {
            out.push(String::new());
        }
        out.extend(lines[end..].iter().map(|l| l.to_string()));
        let mut s = out.join("\n");
        s.push('\n');
        return Ok(s);
    }
    Err(format!(
        "found no block-style entry '- id: {key_id}' with a public_key or webauthn: edit it by hand"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoking_edits_only_the_keys_entry() {
        let text = "reviewers:\n  - id: alice\n    name: Alice\n    keys:\n      - id: alice\n        public_key: AAA\n        revoked_at: 2020-01-01T00:00:00Z\n        sealed:\n          - sha256:old\n      - id: alice-2\n        public_key: BBB\n  - id: bob\n    name: Bob\n";
        let out = revoke_in_text(
            text,
            "alice",
            "2026-01-01T00:00:00Z",
            Some(&["sha256:x".into()]),
        )
        .unwrap();
        assert_eq!(
            out,
            "reviewers:\n  - id: alice\n    name: Alice\n    keys:\n      - id: alice\n        public_key: AAA\n        revoked_at: \"2026-01-01T00:00:00Z\"\n        sealed:\n          - \"sha256:x\"\n      - id: alice-2\n        public_key: BBB\n  - id: bob\n    name: Bob\n"
        );
        assert!(revoke_in_text(text, "carol", "t", None).is_err());
    }

    #[test]
    fn revoking_a_passkey_adds_the_field_after_its_webauthn_block() {
        let text = "reviewers:\n  - id: dana\n    name: Dana\n    keys:\n      - id: dana-phone\n        webauthn:\n          alg: ES256\n          public_key: AAA\n          origins: [\"https://r.example\"]\n  - id: bob\n    name: Bob\n";
        let out = revoke_in_text(text, "dana-phone", "2026-01-01T00:00:00Z", None).unwrap();
        assert_eq!(
            out,
            "reviewers:\n  - id: dana\n    name: Dana\n    keys:\n      - id: dana-phone\n        webauthn:\n          alg: ES256\n          public_key: AAA\n          origins: [\"https://r.example\"]\n        revoked_at: \"2026-01-01T00:00:00Z\"\n  - id: bob\n    name: Bob\n"
        );
    }
}
