//! The signing commands (`submit`, `approve`, `reject`, `retract`, `publish`, SPEC §8): find
//! who signs from the key's public half, refuse what the policy would never count, sign the
//! page's exact version with the one signing rule in `record`, and write the record (and, for
//! `submit`, the version's bytes into the store) without ever overwriting a file.

use std::path::{Path, PathBuf};

use crate::content::page_id_from_arg;
use crate::error::{Error, Result};
use crate::keyfile;
use crate::record::{Kind, Record};
use crate::site::Site;
use crate::store::Store;
use crate::time::{self, Instant};
use crate::version::Version;

pub struct SignRequest<'a> {
    pub site_root: &'a Path,
    pub kind: Kind,
    pub page: &'a str,
    pub key_file: &'a Path,
    pub step: Option<&'a str>,
    pub role: Option<&'a str>,
    pub comment: Option<&'a str>,
    pub discard: bool,
    pub publish: bool,
    pub override_: bool,
    /// Sign this version instead of the page's current one (e.g. the version in review).
    pub version: Option<&'a str>,
    pub now: Instant,
}

/// Signs and writes one record; returns its path relative to the site root.
pub fn sign(req: &SignRequest) -> Result<String> {
    let site = Site::load(req.site_root)?;
    let id = page_id_from_arg(req.page);
    let page = site.page(&id).ok_or_else(|| {
        Error::Refused(format!(
            "no page '{id}' in content/ (looked for content/{id}.md and content/{id}/index.md)"
        ))
    })?;
    let policy = site.policies.get(&page.space).ok_or_else(|| {
        Error::Refused(format!(
            "space '{}' has no policy (approvals/policies/{}.yaml)",
            page.space, page.space
        ))
    })?;
    let secret = keyfile::load(req.key_file)?;
    let public = secret.verifying_key();
    let key = site.keyring.key_for_public(&public).ok_or_else(|| {
        Error::Refused(format!(
            "{}: this key is not in approvals/keyring.yaml (its public key is {})",
            req.key_file.display(),
            keyfile::public_base64(&secret)
        ))
    })?;
    if let Some(why) = key.unusable_at(&req.now) {
        return Err(Error::Refused(format!("{}: {why}", req.key_file.display())));
    }
    let who = key.reviewer.as_str();
    let version = match req.version {
        Some(text) => Version::parse(text).ok_or_else(|| {
            Error::Usage(format!(
                "--version: '{text}' is not sha256: followed by 64 hex digits"
            ))
        })?,
        None => page.version.clone(),
    };

    // Refuse what the build would not count, with the reason, rather than write a dud.
    match req.kind {
        Kind::Submit if !policy.may_submit(who) => {
            return Err(Error::Refused(format!(
                "'{who}' may not submit in space '{}' (not a contributor, exempt contributor or manager in {})",
                policy.space, policy.file
            )))
        }
        Kind::Approve | Kind::Reject => {
            let step = req.step.unwrap_or_default();
            let names: Vec<&str> = policy.steps.iter().map(|s| s.name.as_str()).collect();
            let (index, _) = policy.step(step).ok_or_else(|| {
                Error::Refused(format!("step '{step}' does not exist in {} (steps: {})", policy.file, names.join(", ")))
            })?;
            if !policy.may_act_in(index, who) {
                return Err(Error::Refused(format!(
                    "'{who}' may not act in step '{step}' of {} (not an approver of it or a manager)",
                    policy.file
                )));
            }
            if req.override_ && !policy.managers.contains(who) {
                return Err(Error::Refused(format!("--override: '{who}' is not a manager in {}", policy.file)));
            }
            if req.publish && !policy.may_publish(who) {
                return Err(Error::Refused(format!("--publish: '{who}' is not a publisher or manager in {}", policy.file)));
            }
            if req.kind == Kind::Reject
                && policy.reject_comment_required
                && req.comment.is_none_or(|c| c.trim().is_empty())
            {
                return Err(Error::Refused(format!(
                    "a rejection needs --comment in space '{}' (reject_comment_required)",
                    policy.space
                )));
            }
        }
        Kind::Publish if !policy.may_publish(who) => {
            return Err(Error::Refused(format!("'{who}' is not a publisher or manager in {}", policy.file)))
        }
        _ => {}
    }

    if matches!(req.kind, Kind::Approve | Kind::Reject) && !policy.allow_self_approval {
        let submitter = site
            .evaluate_one(&page.id, req.now)
            .and_then(|e| e.review)
            .and_then(|r| r.versions.get(&version).map(|v| v.submitter.clone()));
        if submitter.as_deref() == Some(who) {
            return Err(Error::Refused(format!(
                "'{who}' submitted this version of {} and may not review it (allow_self_approval is false in {})",
                page.id, policy.file
            )));
        }
    }
    if req.kind == Kind::Submit && version != page.version {
        return Err(Error::Refused(format!(
            "--version: a submit stores the page's current bytes, which are version {}, not {version}",
            page.version
        )));
    }
    if req.kind == Kind::Submit {
        let stored =
            Store::new(site.config.store_dir()).put_version(&page.store_files(), page.bundle)?;
        // The record names `page.version`; what the store now holds must be exactly that.
        if stored != page.version {
            return Err(Error::Refused(format!(
                "{}: the stored bytes hash to {stored}, not to the page's version {}; nothing signed",
                page.source, page.version
            )));
        }
    }
    let record = Record {
        kind: req.kind,
        space: page.space.clone(),
        content: page.id.clone(),
        version,
        step: req
            .step
            .filter(|_| matches!(req.kind, Kind::Approve | Kind::Reject))
            .map(String::from),
        reviewer: who.to_string(),
        key: key.id.clone(),
        signed_at: req.now,
        role: req.role.map(String::from),
        comment: req.comment.map(String::from),
        discard: req.discard.then_some(true),
        publish: req.publish.then_some(true),
        override_: req.override_.then_some(true),
    };
    let text = record.to_yaml(&record.sign(&secret));
    let dir = site.config.records_dir().join(&page.id);
    // Records signed in the same second are replayed in file-path order (SPEC §5), so the
    // name carries a sequence number after the time: creation order survives a tie.
    let sequence = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0) + 1;
    let stem = format!(
        "{}-{sequence:04}-{}-{}",
        time::format_utc(&req.now).replace([':', '-'], ""),
        req.kind,
        who
    );
    let path = write_new(&dir, &stem, text.as_bytes())?;
    Ok(site.config.display_path(&path))
}

/// Writes `<dir>/<stem>.yaml` (or `<stem>-2.yaml`, ...) without replacing any existing file.
///
/// `dir` is `<site>/approvals/records/<page id>`, and a pull request may have put a symbolic
/// link anywhere under `approvals/records/`: every folder from `records` down is checked (and
/// made when missing), and a link refuses the write. The site root is the first folder on the
/// way that holds `imprimatur.yaml` and `approvals/records`, so folders of the page id (which
/// come from content/ names) can never pose as it.
fn write_new(dir: &Path, stem: &str, bytes: &[u8]) -> Result<PathBuf> {
    let parts: Vec<std::path::Component> = dir.components().collect();
    let is_root = |i: usize| {
        parts.get(i).map(|c| c.as_os_str()) == Some("approvals".as_ref())
            && parts.get(i + 1).map(|c| c.as_os_str()) == Some("records".as_ref())
            && parts[..i]
                .iter()
                .collect::<PathBuf>()
                .join(crate::config::CONFIG_FILE)
                .is_file()
    };
    let dir = match (0..parts.len()).find(|&i| is_root(i)) {
        Some(i) => {
            let approvals: PathBuf = parts[..=i].iter().collect();
            let below: PathBuf = parts[i + 1..].iter().collect();
            crate::atomic::real_dir(&approvals, &below)?
        }
        None => {
            let parent = dir.parent().unwrap_or(Path::new("."));
            let name = dir.file_name().map(PathBuf::from).unwrap_or_default();
            crate::atomic::real_dir(parent, &name)?
        }
    };
    let dir = dir.as_path();
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
    std::io::Write::write_all(&mut tmp, bytes).map_err(|e| Error::io(dir, e))?;
    for n in 1.. {
        let name = if n == 1 {
            format!("{stem}.yaml")
        } else {
            format!("{stem}-{n}.yaml")
        };
        let path = dir.join(name);
        match tmp.persist_noclobber(&path) {
            Ok(_) => return Ok(path),
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => tmp = e.file,
            Err(e) => return Err(Error::io(&path, e.error)),
        }
    }
    unreachable!("the loop returns")
}
