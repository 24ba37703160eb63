//! Public approval proofs (docs/trust-root.md §5): a governed site publishes, beside every
//! page, `proof.json` — its approved source, the records that made it live, the keys that
//! signed them — and once under `/_proof/` the root chain, the governance signatures, the
//! public keyring and the policies of published spaces. `imprimatur audit` checks a published
//! folder against them offline, with nothing from the repository.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::site::{Evaluation, Site};
use crate::time::{self, Instant};
use crate::trust::governance::{self, Governance, PUBLIC_KEYRING};
use crate::trust::version::sha256_hex;

pub const DIR: &str = "_proof";
pub const FORMAT: u64 = 1;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proof {
    pub imprimatur_proof: u64,
    pub page: String,
    /// The page's source path inside its space folder (`install.md`, `guide/index.md`).
    pub source_path: String,
    pub url: String,
    pub version: String,
    pub built_at: String,
    pub audiences: Vec<String>,
    /// The published HTML's SHA-256: checked by `audit` against the file, signed by nothing.
    pub html_sha256: String,
    /// The approved Markdown, base64.
    pub markdown: String,
    /// A bundle's other files (published beside the page), by path, with their SHA-256.
    pub assets: BTreeMap<String, String>,
    /// The page's counted records up to the instant the version went live: file → text.
    pub records: BTreeMap<String, String>,
    /// The keys that signed them: key id → base64 public key.
    pub keys: BTreeMap<String, String>,
    pub policy: String,
    /// `/_proof/` files this proof rests on, with their SHA-256.
    pub trust: BTreeMap<String, String>,
}

/// Writes every live page's proof and the shared `/_proof/` files into `sink`. Sites
/// without governance publish none: nothing would vouch for their keyring.
pub fn write_all(
    site: &Site,
    eval: &Evaluation,
    live_urls: &BTreeMap<String, String>,
    staging: &crate::publish::output::Staging<'_>,
    now: Instant,
    audiences: &[String],
) -> Result<()> {
    let Governance::Signed(status) = &site.governance else {
        return Ok(());
    };
    let signed = status
        .signed
        .as_ref()
        .expect("accepted governance has a signed state");
    refuse_rollback(site, signed)?;
    let mut trust: BTreeMap<String, String> = BTreeMap::new();
    let mut shared = |rel: String, bytes: &[u8]| -> Result<()> {
        staging.write(&rel, bytes)?;
        trust.insert(rel, sha256_hex(bytes));
        Ok(())
    };
    for r in &status.trusted.chain {
        shared(format!("{DIR}/root/{}.yaml", r.version), &r.bytes)?;
    }
    shared(format!("{DIR}/governance.yaml"), &signed.bytes)?;
    let keyring = governance::public_keyring_text(&site.keyring);
    if signed.files.get(PUBLIC_KEYRING) != Some(&sha256_hex(keyring.as_bytes())) {
        return Err(Error::Governance(format!(
            "{}: the signed state has no hash of the public keyring (or another one): admins must sign it again with this version (imprimatur governance sign)",
            governance::FILE
        )));
    }
    shared(format!("{DIR}/keyring.yaml"), keyring.as_bytes())?;
    write_generator_inputs(site, signed, staging)?;
    let spaces: BTreeSet<&str> = eval
        .pages
        .iter()
        .filter(|p| live_urls.contains_key(&p.page.id))
        .map(|p| p.page.space.as_str())
        .collect();
    for space in &spaces {
        let policy = &site.policies[*space];
        let bytes =
            crate::atomic::read_beneath(&site.config.root, Path::new(&policy.file), 1 << 20)
                .map_err(|e| {
                    Error::Governance(format!(
                        "{}: {}",
                        policy.file,
                        e.describe(&site.config.root)
                    ))
                })?;
        shared(format!("{DIR}/policies/{space}.yaml"), &bytes)?;
    }
    let keys = &site.keyring.keys;
    for p in &eval.pages {
        let (Some(url), Some(live)) = (live_urls.get(&p.page.id), p.live()) else {
            continue;
        };
        let html = format!("{url}index.html");
        let html_sha256 = staging.written_sha256(&html).ok_or_else(|| {
            Error::Refused(format!("{}: no page was written at {html}", p.page.id))
        })?;
        let mut records = BTreeMap::new();
        let mut signers = BTreeMap::new();
        // Every counted record of the page up to the moment this version went live: the
        // review that made it live may have resumed from an earlier version's steps. Nothing
        // signed later (newer drafts in review) is published.
        for r in p
            .records
            .iter()
            .filter(|r| r.record.signed_at <= live.version.published_at)
        {
            let bytes = crate::atomic::read_beneath(&site.config.root, Path::new(&r.file), 1 << 20)
                .map_err(|e| {
                    Error::Refused(format!("{}: {}", r.file, e.describe(&site.config.root)))
                })?;
            records.insert(r.file.clone(), String::from_utf8_lossy(&bytes).into_owned());
            if let Some(k) = keys.get(&r.record.key) {
                signers.insert(
                    k.id.clone(),
                    base64::engine::general_purpose::STANDARD.encode(k.public_key.to_bytes()),
                );
            }
        }
        let loaded = live.content.load()?;
        let files = &loaded.files;
        let source_path = p
            .page
            .source
            .strip_prefix(&format!("content/{}/", p.page.space))
            .unwrap_or(&p.page.source);
        let source_path = if p.page.bundle {
            format!("{source_path}/index.md")
        } else {
            source_path.to_string()
        };
        let proof = Proof {
            imprimatur_proof: FORMAT,
            page: p.page.id.clone(),
            source_path,
            url: url.clone(),
            version: live.version.version.to_string(),
            built_at: time::format_utc(&now),
            audiences: audiences.to_vec(),
            html_sha256,
            markdown: base64::engine::general_purpose::STANDARD.encode(&files.markdown),
            assets: files
                .assets
                .iter()
                .map(|(path, bytes)| (path.clone(), sha256_hex(bytes)))
                .collect(),
            records,
            keys: signers,
            policy: format!("{DIR}/policies/{}.yaml", p.page.space),
            trust: trust.clone(),
        };
        let mut json = serde_json::to_string_pretty(&proof).expect("a proof serializes");
        json.push('\n');
        staging.write(&format!("{url}proof.json"), json.as_bytes())?;
    }
    Ok(())
}

/// Whether the governed file `rel` is an input of the files a build generates (home page,
/// space indexes, search index, sitemap, static files) that a page's proof does not carry:
/// `imprimatur.yaml`, and the templates and static files of the site's theme `theme` (files
/// the theme loader skips, under a name starting with `.`, are not). Published under
/// `/_proof/` at the same path, so that `audit` derives those files again.
pub fn is_generator_input(rel: &str, theme: &str) -> bool {
    if rel == crate::site::config::CONFIG_FILE {
        return true;
    }
    let Some(rest) = rel.strip_prefix(&format!("themes/{theme}/")) else {
        return false;
    };
    (rest.starts_with("templates/") || rest.starts_with("static/"))
        && !rest.split('/').any(|part| part.starts_with('.'))
}

/// Publishes every [`is_generator_input`] of the signed state, exactly as signed, under
/// `/_proof/`. Not part of any page's `trust`: pages do not rest on them, the generated files
/// do. `imprimatur.yaml` becomes public with them (secrets are never in it: notification
/// channels read theirs from the environment).
fn write_generator_inputs(
    site: &Site,
    signed: &governance::SignedState,
    staging: &crate::publish::output::Staging<'_>,
) -> Result<()> {
    let root = &site.config.root;
    for (rel, hash) in &signed.files {
        if !is_generator_input(rel, &site.config.theme) {
            continue;
        }
        let bytes = crate::atomic::read_beneath(
            root,
            Path::new(rel),
            crate::trust::version::MAX_FILE_BYTES,
        )
        .map_err(|e| Error::Governance(format!("{rel}: {}", e.describe(root))))?;
        if sha256_hex(&bytes) != *hash {
            return Err(Error::Governance(format!(
                "{rel}: changed since the admins signed it"
            )));
        }
        staging.write(&format!("{DIR}/{rel}"), &bytes)?;
    }
    Ok(())
}

/// An older signed state than the one the previous build published is a rollback (someone
/// restored a keyring the admins have since replaced, with its old signatures): refused.
fn refuse_rollback(site: &Site, signed: &governance::SignedState) -> Result<()> {
    let previous = site.config.output_dir.join(DIR).join("governance.yaml");
    let Ok(bytes) = std::fs::read(&previous) else {
        return Ok(());
    };
    match governance::SignedState::parse(&bytes) {
        Ok(old) if old.version > signed.version => Err(Error::Governance(format!(
            "{} is version {}, older than version {} that the previous build published ({}): refusing to roll governance back",
            governance::FILE,
            signed.version,
            old.version,
            site.config.display_path(&previous)
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inputs_of_generated_files_are_the_config_and_the_site_theme_templates_and_static() {
        for rel in [
            "imprimatur.yaml",
            "themes/brand/templates/page.html",
            "themes/brand/templates/partials/header.html",
            "themes/brand/static/style.css",
        ] {
            assert!(is_generator_input(rel, "brand"), "{rel}");
        }
        for rel in [
            "approvals/keyring.yaml",
            "approvals/policies/kb.yaml",
            "themes/other/templates/page.html",
            "themes/brand/README.md",
            "themes/brand/static/.DS_Store",
            "themes/brand/templates/.drafts/page.html",
            "themes/brandnew/static/style.css",
        ] {
            assert!(!is_generator_input(rel, "brand"), "{rel}");
        }
    }
}
