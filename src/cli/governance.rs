//! `imprimatur governance status|sign`, `imprimatur root new|sign` and
//! `imprimatur keyring revoke`: the admins' commands (docs/trust-root.md). They prepare and
//! sign changes to who may sign; none of them publishes anything.

use std::io::Write;
use std::path::Path;

use super::{print, EXIT_FINDINGS, EXIT_OK};
use crate::error::{Error, Result};
use crate::time::{self, Instant};
use crate::trust::governance;
use crate::trust::keyring::decode_public_key;
use crate::trust::root::{self, Root, SignatureEntry};

/// `imprimatur governance status`: what changed since the signed state, and who must sign.
/// Exit 0 when the governed files are accepted, 3 when they are not.
pub fn governance_status(site_root: &Path, out: &mut dyn Write) -> Result<i32> {
    let pin = root::current_pin()?;
    let Some(s) = governance::status(site_root, pin.as_ref())? else {
        print(
            out,
            "governance: unsigned (no approvals/root/): the keyring, policies, imprimatur.yaml and themes are trusted as they are\n",
        )?;
        return Ok(EXIT_OK);
    };
    let r = &s.trusted.root;
    let mut text = format!(
        "root: {} (version {}, {} of {} admins must sign: {}){}\n",
        r.file,
        r.version,
        r.threshold,
        r.admins.len(),
        r.admins
            .iter()
            .map(|a| a.id.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        if s.trusted.pinned {
            " pinned".to_string()
        } else {
            format!(
                "; WARNING: trust root not pinned (the first root is {})",
                s.trusted.chain[0].pin()
            )
        }
    );
    match &s.signed {
        None => text.push_str("signed state: none (approvals/governance.yaml is missing)\n"),
        Some(g) => text.push_str(&format!(
            "signed state: version {} ({}), signed by {}\n",
            g.version,
            g.manifest,
            root::list(&s.signers)
        )),
    }
    if s.changes.is_empty() && s.signed.is_some() {
        text.push_str("changed since: nothing\n");
    } else {
        text.push_str("changed since the signed state:\n");
        for c in &s.changes {
            text.push_str(&format!("  {c}\n"));
        }
        if s.signed.is_none() {
            for p in s.current.keys() {
                text.push_str(&format!("  {p} (unsigned)\n"));
            }
        }
    }
    let accepted = s.accepted();
    if accepted {
        text.push_str("accepted: the governed files are signed by enough admins\n");
    } else {
        let needed = if s.changes.is_empty() && s.signed.is_some() {
            r.missing(&s.signers)
        } else {
            r.admins.iter().map(|a| a.id.clone()).collect()
        };
        text.push_str(&format!(
            "NOT accepted: builds fail until {} admin(s) sign (imprimatur governance sign --key FILE); can sign: {}\n",
            r.threshold,
            needed.join(", ")
        ));
    }
    print(out, &text)?;
    Ok(if accepted { EXIT_OK } else { EXIT_FINDINGS })
}

/// `imprimatur governance sign --key FILE`: add this admin's signature over the governed
/// files as they are now.
pub fn governance_sign(site_root: &Path, key_file: &Path, out: &mut dyn Write) -> Result<i32> {
    let key = crate::trust::keyfile::load(key_file)?;
    let pin = root::current_pin()?;
    let state = governance::sign(site_root, pin.as_ref(), &key)?;
    let status = governance::status(site_root, pin.as_ref())?
        .expect("signing needs a root, so there is one");
    let mut text = format!(
        "signed governance version {} ({}) in {}: {} of {} signature(s)\n",
        state.version,
        state.manifest,
        governance::FILE,
        status.signers.len(),
        status.trusted.root.threshold
    );
    if !status.accepted() {
        text.push_str(&format!(
            "still needed: {} more, from: {}\n",
            status.trusted.root.threshold as usize
                - status
                    .signers
                    .len()
                    .min(status.trusted.root.threshold as usize),
            status.missing().join(", ")
        ));
    }
    print(out, &text)?;
    Ok(EXIT_OK)
}

/// `imprimatur root new --threshold N --admin ID=PUBLIC_KEY...`: writes the next root file,
/// unsigned. The previous root's admins and the new root's admins then `root sign` it.
pub fn root_new(
    site_root: &Path,
    threshold: u64,
    admins: &[String],
    out: &mut dyn Write,
) -> Result<i32> {
    let mut list = Vec::new();
    for a in admins {
        let (id, key) = a
            .split_once('=')
            .ok_or_else(|| Error::Usage(format!("--admin '{a}': expected ID=PUBLIC_KEY")))?;
        decode_public_key(key).map_err(|m| Error::Usage(format!("--admin {id}: {m}")))?;
        list.push((id.to_string(), key.trim().to_string()));
    }
    let chain = root::load_chain(site_root)?.unwrap_or_default();
    let version = chain.len() as u64 + 1;
    let file = format!("{}/{version}.yaml", root::ROOT_DIR);
    let text = root::root_text(version, threshold, &list, &[]);
    Root::parse(&file, text.as_bytes())?;
    crate::fs::write_file(&site_root.join(&file), text.as_bytes())?;
    let who = if version == 1 {
        format!("{threshold} of its own admins")
    } else {
        format!(
            "{} admin(s) of root version {} and {threshold} of its own",
            chain[chain.len() - 1].threshold,
            version - 1
        )
    };
    print(
        out,
        &format!("wrote {file} (unsigned): it counts once {who} sign it (imprimatur root sign --key FILE)\n"),
    )?;
    Ok(EXIT_OK)
}

/// `imprimatur root sign --key FILE`: signs the newest root, as an admin of it and/or of the
/// root before it. Prints the pin once the root verifies.
pub fn root_sign(site_root: &Path, key_file: &Path, out: &mut dyn Write) -> Result<i32> {
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
    let mut report = format!("signed {} as {}\n", newest.file, ids.join(", "));
    let chain = root::load_chain(site_root)?.expect("just written");
    match root::verify_chain(chain, None) {
        Ok(t) => report.push_str(&format!(
            "the root chain verifies; pin the first root with --trust-root {} (this root's own hash: {})\n",
            t.chain[0].pin(),
            t.root.pin()
        )),
        Err(e) => report.push_str(&format!("not complete yet: {e}\n")),
    }
    print(out, &report)?;
    Ok(EXIT_OK)
}

/// `imprimatur keyring revoke KEY --seal [--at TIME]`: sets the key's `revoked_at` and seals
/// the records it made that count now, in `approvals/keyring.yaml`. Admins then sign the
/// change (`governance sign`); until then builds fail closed.
pub fn keyring_revoke(
    site_root: &Path,
    key_id: &str,
    seal: bool,
    at: Instant,
    out: &mut dyn Write,
) -> Result<i32> {
    let site = crate::site::Site::load_ungoverned(site_root)?;
    let Some(key) = site.keyring.keys.get(key_id) else {
        return Err(Error::Refused(format!("no key '{key_id}' in the keyring")));
    };
    let mut hashes = Vec::new();
    if seal {
        for f in &site.records {
            let Ok(parsed) = &f.parsed else { continue };
            if parsed.record.key != key.id || parsed.record.signed_at >= at {
                continue;
            }
            if crate::trust::record::check(parsed, &site.keyring, &at).is_ok() {
                hashes.push(format!(
                    "sha256:{}",
                    crate::trust::version::sha256_hex(&parsed.record.signed_bytes())
                ));
            }
        }
        hashes.sort();
        hashes.dedup();
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
    print(
        out,
        &format!(
            "revoked key '{key_id}' at {}{} in approvals/keyring.yaml; builds fail closed until the admins sign it: imprimatur governance sign --key FILE\n",
            time::format_utc(&at),
            if seal {
                format!(", sealing its {} counted record(s)", hashes.len())
            } else {
                String::new()
            }
        ),
    )?;
    Ok(EXIT_OK)
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
            if indent(l) == col && l.trim_start().starts_with("public_key:") {
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
        "found no block-style entry '- id: {key_id}' with a public_key: edit it by hand"
    ))
}

/// `imprimatur audit DIR`: a published site checked offline against its proofs. Exit 0 when
/// every page verifies and every other file is accounted for, 3 naming each page or file
/// (stray, missing or changed) that is not (`TAMPERED`), and each page whose proof withholds
/// records and so proves nothing (`UNPROVABLE`).
pub fn audit(dir: &Path, out: &mut dyn Write) -> Result<i32> {
    let pin = root::current_pin()?;
    if !dir.is_dir() {
        return Err(Error::Usage(format!("{}: not a folder", dir.display())));
    }
    let audit = match crate::publish::audit::audit(dir, pin.as_ref()) {
        Ok(a) => a,
        Err(e @ (Error::Governance(_) | Error::Config { .. })) => {
            print(out, &format!("audit failed: {e}\n"))?;
            return Ok(EXIT_FINDINGS);
        }
        Err(e) => return Err(e),
    };
    let mut text = String::new();
    for p in &audit.problems {
        text.push_str(&format!("TAMPERED {p}\n"));
    }
    for p in &audit.unprovable {
        text.push_str(&format!("UNPROVABLE {p}\n"));
    }
    let failed = audit.problems.len() + audit.unprovable.len();
    text.push_str(&format!(
        "audited {} page(s) against root version {}{}: {}\n",
        audit.pages,
        audit.root_version,
        if audit.pinned {
            " (pinned)"
        } else {
            "; WARNING: trust root not pinned (pass --trust-root sha256:...)"
        },
        if failed == 0 {
            "every page is the approved version, approved as its policy requires, and every \
             other file is accounted for"
                .to_string()
        } else {
            format!("{failed} problem(s)")
        }
    ));
    print(out, &text)?;
    Ok(if failed == 0 { EXIT_OK } else { EXIT_FINDINGS })
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
}
