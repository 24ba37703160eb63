//! `imprimatur governance status|sign`, `imprimatur root new|sign` and
//! `imprimatur keyring revoke`: the admins' commands (docs/trust-root.md). They prepare and
//! sign changes to who may sign; none of them publishes anything.

use std::io::Write;
use std::path::Path;

use super::{check_notifications, print, EXIT_FINDINGS, EXIT_OK};
use crate::error::{Error, Result};
use crate::time::{self, Instant};
use crate::trust::governance;
use crate::trust::root;

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
    let r = crate::workflow::governance::new_root(site_root, threshold, admins)?;
    let who = match r.previous_threshold {
        None => format!("{} of its own admins", r.threshold),
        Some(previous) => format!(
            "{previous} admin(s) of root version {} and {} of its own",
            r.version - 1,
            r.threshold
        ),
    };
    print(
        out,
        &format!(
            "wrote {} (unsigned): it counts once {who} sign it (imprimatur root sign --key FILE)\n",
            r.file
        ),
    )?;
    Ok(EXIT_OK)
}

/// `imprimatur root sign --key FILE`: signs the newest root, as an admin of it and/or of the
/// root before it. Prints the pin once the root verifies.
pub fn root_sign(site_root: &Path, key_file: &Path, out: &mut dyn Write) -> Result<i32> {
    let r = crate::workflow::governance::sign_root(site_root, key_file)?;
    let mut report = format!("signed {} as {}\n", r.file, r.ids.join(", "));
    match &r.verified {
        Ok((first, own)) => report.push_str(&format!(
            "the root chain verifies; pin the first root with --trust-root {first} (this root's own hash: {own})\n"
        )),
        Err(e) => report.push_str(&format!("not complete yet: {e}\n")),
    }
    print(out, &report)?;
    Ok(EXIT_OK)
}

/// `imprimatur keyring revoke KEY --seal [--at TIME] [--force]`: sets the key's `revoked_at`
/// (default: now) and seals the records it made before then that count, in
/// `approvals/keyring.yaml`; refuses, naming them, when records that count today would stop
/// counting, unless `--force`. Admins then sign the change (`governance sign`); until then
/// builds fail closed.
pub fn keyring_revoke(
    site_root: &Path,
    key_id: &str,
    seal: bool,
    at: Instant,
    now: Instant,
    force: bool,
    out: &mut dyn Write,
) -> Result<i32> {
    check_notifications(site_root)?;
    let r = crate::workflow::governance::revoke_key(site_root, key_id, seal, at, now, force)?;
    let mut text = format!(
        "revoked key '{key_id}' at {}{} in approvals/keyring.yaml\n",
        time::format_utc(&at),
        if seal {
            format!(", sealing its {} counted record(s)", r.sealed)
        } else {
            String::new()
        }
    );
    if !r.voided.is_empty() {
        text.push_str(&format!(
            "voided (--force): {} record(s) signed at or after {} no longer count: {}\n",
            r.voided.len(),
            time::format_utc(&at),
            r.voided
                .iter()
                .map(|v| v.file.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if root::load_chain(site_root)?.is_some() {
        text.push_str(
            "builds fail closed until the admins sign it: imprimatur governance sign --key FILE\n",
        );
    }
    print(out, &text)?;
    Ok(EXIT_OK)
}

/// The operands of `imprimatur keyring add`.
pub struct KeyringAdd<'a> {
    pub id: &'a str,
    pub name: Option<&'a str>,
    pub email: Option<&'a str>,
    pub groups: &'a [String],
    pub public_key_file: &'a Path,
    pub key_id: Option<&'a str>,
}

/// `imprimatur keyring add ID --name N --email E --groups a,b --public-key-file F [--key-id K]`:
/// the reviewer (or another key of theirs) into `approvals/keyring.yaml`, the key read from a
/// file. On a governed site the admins then sign the change.
pub fn keyring_add(
    site_root: &Path,
    args: &KeyringAdd,
    now: Instant,
    out: &mut dyn Write,
) -> Result<i32> {
    use chrono::Datelike;
    let public_key = crate::trust::keyfile::read_public(args.public_key_file)?;
    let key_id = match args.key_id {
        Some(k) => k.to_string(),
        None => format!("{}-{}", args.id, now.year()),
    };
    let added = crate::workflow::keyring::add_key(
        site_root,
        &crate::workflow::keyring::NewKey {
            reviewer: args.id,
            name: args.name,
            email: args.email,
            groups: args.groups,
            key_id: &key_id,
            public_key,
        },
    )?;
    let mut text = if added.new_reviewer {
        format!(
            "added reviewer '{}' with key '{key_id}' to {}\n",
            args.id, added.file
        )
    } else {
        format!(
            "added key '{key_id}' to reviewer '{}' in {}\n",
            args.id, added.file
        )
    };
    if root::load_chain(site_root)?.is_some() {
        text.push_str(
            "builds fail closed until the admins sign it: imprimatur governance sign --key FILE\n",
        );
    }
    print(out, &text)?;
    Ok(EXIT_OK)
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
