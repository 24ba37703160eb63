//! Public approval proofs (docs/trust-root.md §5): a governed site publishes, beside every
//! page, `proof.json` — its approved source, the records that made it live, the keys that
//! signed them — and once under `/_proof/` the root chain, the governance signatures, the
//! public keyring and the policies of published spaces. `imprimatur audit` checks a published
//! folder against them offline, with nothing from the repository.
//!
//! A proof discloses nothing private: a comment is in a proof only where the page's approval
//! history shows it (`history.comments: public`, a record of the live version). Elsewhere a
//! record whose comment is committed (SPEC §4a) is shown without its comment and salt, and a
//! record that signs its comment itself is withheld — the proof is then incomplete
//! (`proof_incomplete`), and `audit` names the page unprovable until the record is signed anew.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::site::config::HistoryComments;
use crate::site::{Evaluation, Finding, Live, PageEvaluation, Site};
use crate::time::{self, Instant};
use crate::trust::governance::{self, Governance, PUBLIC_KEYRING};
use crate::trust::record::{self, Record};
use crate::trust::review::{FindingKind, VerifiedRecord};
use crate::trust::version::{sha256_hex, Version};

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
    /// The page's counted records up to the instant the version went live: file → text,
    /// committed comments left out unless the site's comments are public.
    pub records: BTreeMap<String, String>,
    /// Those of them left out whole: they sign a comment the site keeps hidden (records signed
    /// before comments were committed, SPEC §4a). The proof can't be replayed without them:
    /// `audit` names the page unprovable.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub withheld: Vec<String>,
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
        let bytes = crate::fs::read_beneath(&site.config.root, Path::new(&policy.file), 1 << 20)
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
        let mut withheld = Vec::new();
        let mut signers = BTreeMap::new();
        for (r, shown) in proof_records(p, live, site.config.history_comments) {
            if shown == Shown::Withheld {
                withheld.push(r.file.clone());
                continue;
            }
            let bytes = crate::fs::read_beneath(&site.config.root, Path::new(&r.file), 1 << 20)
                .map_err(|e| {
                    Error::Refused(format!("{}: {}", r.file, e.describe(&site.config.root)))
                })?;
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let text = match shown {
                Shown::Redacted => redacted(&r.file, &text)?,
                _ => text,
            };
            records.insert(r.file.clone(), text);
            if let Some(k) = keys.get(&r.record.key) {
                signers.insert(k.id.clone(), k.public_key.encoded());
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
            withheld,
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

/// How a record appears in a page's proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    /// As its file is: comments are public, or it has none worth hiding.
    Whole,
    /// Without its committed comment and salt; its signature still verifies (SPEC §4a).
    Redacted,
    /// Left out: it signs its comment itself, which the site keeps hidden.
    Withheld,
}

impl Shown {
    /// How `record` is shown in the proof of a page whose live version is `live`: its comment
    /// only where the page's approval history shows it (`HistoryComments::shows`).
    fn of(record: &Record, comments: HistoryComments, live: &Version) -> Shown {
        // A blank comment hides nothing, and shown whole it can't pass for a given one when
        // the audit replays a policy that requires comments (`Record::comment_for_policy`).
        let private = record
            .comment
            .as_deref()
            .is_some_and(|c| !c.trim().is_empty());
        let public = comments.shows(&record.version, live);
        let committed = record.comment_digest.is_some();
        match (public, private, committed) {
            (true, _, _) | (_, false, _) => Shown::Whole,
            (false, true, true) => Shown::Redacted,
            (false, true, false) => Shown::Withheld,
        }
    }
}

/// The records a page's proof names, each with how it is shown: every counted record of the
/// page up to the moment this version went live (the review that made it live may have resumed
/// from an earlier version's steps). Nothing signed later (newer drafts in review) is published.
fn proof_records<'a>(
    p: &'a PageEvaluation,
    live: &'a Live,
    comments: HistoryComments,
) -> impl Iterator<Item = (&'a VerifiedRecord, Shown)> + 'a {
    p.records
        .iter()
        .filter(move |r| r.record.signed_at <= live.version.published_at)
        .map(move |r| (r, Shown::of(&r.record, comments, &live.version.version)))
}

/// The record file `text` without its committed comment and salt, written as imprimatur
/// writes records: the same fields, so the same signed bytes.
fn redacted(file: &str, text: &str) -> Result<String> {
    let parsed = record::parse(text)
        .map_err(|why| Error::Refused(format!("{file}: changed while building: {why}")))?;
    let record = parsed
        .record
        .redacted()
        .ok_or_else(|| Error::Refused(format!("{file}: changed while building")))?;
    // The same signature and, for a passkey's, the same envelope: only the comment goes.
    Ok(record::RecordFileParsed {
        record: record.into(),
        ..parsed
    }
    .to_yaml())
}

/// A `proof_incomplete` notice for every record a live page's proof withholds (governed sites
/// only: the others publish no proofs). The page stays published: what is live is approved.
pub fn incomplete(site: &Site, eval: &Evaluation) -> Vec<Finding> {
    if !matches!(site.governance, Governance::Signed(_)) {
        return Vec::new();
    }
    let comments = site.config.history_comments;
    eval.pages
        .iter()
        .filter_map(|p| Some((p, p.live()?)))
        .flat_map(|(p, live)| {
            proof_records(p, live, comments)
                .filter(|(_, shown)| *shown == Shown::Withheld)
                .map(|(r, _)| Finding {
                    kind: FindingKind::ProofIncomplete,
                    page: Some(p.page.id.clone()),
                    detail: format!(
                        "its proof.json withholds this {} record: it signs its comment itself, which this site keeps hidden (history.comments), so `imprimatur audit` can't prove the page until the record is replaced by one that commits its comment (the signing commands write comments so, SPEC §4a)",
                        r.record.kind
                    ),
                    file: Some(r.file.clone()),
                })
        })
        .collect()
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

/// Publishes every [`is_generator_input`] of the signed state under `/_proof/`: the theme's
/// files exactly as signed, and of `imprimatur.yaml` only its public form
/// (`governance::public_settings_text`, whose hash the admins signed too): where reviews,
/// notifications and mail go is nobody's business on the public site. Not part of any
/// page's `trust`: pages do not rest on them, the generated files do.
fn write_generator_inputs(
    site: &Site,
    signed: &governance::SignedState,
    staging: &crate::publish::output::Staging<'_>,
) -> Result<()> {
    let root = &site.config.root;
    let config = crate::site::config::CONFIG_FILE;
    let text = crate::yaml::read_file(&root.join(config), &crate::yaml::ADMIN)
        .map_err(|e| Error::io(root.join(config), e))?;
    let public =
        governance::public_settings_text(&text).map_err(|why| Error::config(config, "", why))?;
    if signed.files.get(governance::PUBLIC_SETTINGS) != Some(&sha256_hex(public.as_bytes())) {
        return Err(Error::Governance(format!(
            "{}: the signed state has no hash of the public settings of {config} (or another one): admins must sign it again with this version (imprimatur governance sign)",
            governance::FILE
        )));
    }
    staging.write(&format!("{DIR}/{config}"), public.as_bytes())?;
    for (rel, hash) in &signed.files {
        if rel == config || !is_generator_input(rel, &site.config.theme) {
            continue;
        }
        let bytes =
            crate::fs::read_beneath(root, Path::new(rel), crate::trust::version::MAX_FILE_BYTES)
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
    use crate::trust::record::Kind;
    use crate::trust::version::Version;

    #[test]
    fn a_proof_shows_a_comment_only_where_the_history_does() {
        let live = Version::of_bytes(b"v2");
        let record = |comment: Option<&str>, committed: bool| Record {
            kind: Kind::Reject,
            space: "kb".into(),
            content: "kb/install".into(),
            version: live.clone(),
            step: Some("technical".into()),
            reviewer: "alice".into(),
            key: "alice-2026".into(),
            signed_at: time::parse_signed_at("2026-11-20T10:00:00Z").unwrap(),
            role: None,
            comment: comment.map(str::to_string),
            comment_salt: committed.then(|| "ZGVmZ2hpamtsbW5vcHFycw==".into()),
            comment_digest: committed.then(|| format!("{}", Version::of_bytes(b"digest"))),
            discard: None,
            publish: None,
            override_: None,
            assign: None,
        };
        let earlier = |r: Record| Record {
            version: Version::of_bytes(b"v1"),
            ..r
        };
        use HistoryComments::{Hidden, Public};
        for (name, r, comments, shown) in [
            ("no comment", record(None, false), Hidden, Shown::Whole),
            (
                "a blank legacy comment",
                record(Some(" "), false),
                Hidden,
                Shown::Whole,
            ),
            (
                "a blank committed comment",
                record(Some(""), true),
                Hidden,
                Shown::Whole,
            ),
            (
                "a committed comment",
                record(Some("quote"), true),
                Hidden,
                Shown::Redacted,
            ),
            (
                "a legacy comment",
                record(Some("quote"), false),
                Hidden,
                Shown::Withheld,
            ),
            (
                "a committed comment, public",
                record(Some("quote"), true),
                Public,
                Shown::Whole,
            ),
            (
                "a legacy comment, public",
                record(Some("quote"), false),
                Public,
                Shown::Whole,
            ),
            (
                "a committed comment on an earlier version, public",
                earlier(record(Some("quote"), true)),
                Public,
                Shown::Redacted,
            ),
            (
                "a legacy comment on an earlier version, public",
                earlier(record(Some("quote"), false)),
                Public,
                Shown::Withheld,
            ),
            (
                "no comment on an earlier version, public",
                earlier(record(None, false)),
                Public,
                Shown::Whole,
            ),
        ] {
            assert_eq!(Shown::of(&r, comments, &live), shown, "{name}");
        }
    }

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
