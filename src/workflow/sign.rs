//! The signing commands (`submit`, `approve`, `reject`, `retract`, `publish`, `unpublish`,
//! SPEC §8): find who signs from the key's public half, refuse what the build would not count
//! (by replaying the page with the record through the review engine), sign the
//! exact version with the one signing rule in `record`, and write the record (and, for
//! `submit`, the version's bytes into the store) without ever overwriting a file.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::site::content::{page_id_from_arg, Page};
use crate::site::{Live, Site};
use crate::time::{self, Instant};
use crate::trust::keyfile;
use crate::trust::keyring::Key;
use crate::trust::record::{Assignment, Kind, Record, RecordFileParsed, SALT_LEN};
use crate::trust::review::{Decision, PageReview, VerifiedRecord};
use crate::trust::signer::{KeySource, Signer};
use crate::trust::store::Store;
use crate::trust::version::Version;
use crate::trust::webauthn::Envelope;

/// What a reviewer asks a signing command to sign: parsed once from the command line, with
/// exactly the options each kind of record has (ripgrep's low-args → high-args).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Submit {
        comment: Option<String>,
        /// Who must review which step (`--assign STEP=A,B`), if anyone is named.
        assign: Option<Assignment>,
    },
    Approve {
        step: String,
        role: Option<String>,
        comment: Option<String>,
        /// Approve and publish in one action.
        publish: bool,
        /// A manager's approval of every remaining step.
        override_: bool,
    },
    Reject {
        step: String,
        role: Option<String>,
        comment: Option<String>,
        /// Reject and discard: a resubmission starts over.
        discard: bool,
    },
    Retract,
    Publish,
    Unpublish {
        comment: Option<String>,
    },
    /// A manager names who must review a step of the version in review.
    Assign {
        step: String,
        assignees: Vec<String>,
    },
}

impl Action {
    pub fn kind(&self) -> Kind {
        match self {
            Action::Submit { .. } => Kind::Submit,
            Action::Approve { .. } => Kind::Approve,
            Action::Reject { .. } => Kind::Reject,
            Action::Retract => Kind::Retract,
            Action::Publish => Kind::Publish,
            Action::Unpublish { .. } => Kind::Unpublish,
            Action::Assign { .. } => Kind::Assign,
        }
    }

    /// The record this action signs, about `version` of `page`, by `reviewer` with `key`. A
    /// comment is signed as a commitment under `salt` (SPEC §4a), so that a public proof can
    /// show the record without it.
    fn record(
        &self,
        page: &Page,
        version: Version,
        reviewer: &str,
        key: &str,
        now: Instant,
        salt: [u8; SALT_LEN],
    ) -> Record {
        let mut record = Record {
            kind: self.kind(),
            space: page.space.clone(),
            content: page.id.clone(),
            version,
            step: None,
            reviewer: reviewer.to_string(),
            key: key.to_string(),
            signed_at: now,
            role: None,
            comment: None,
            comment_salt: None,
            comment_digest: None,
            discard: None,
            publish: None,
            override_: None,
            assign: None,
        };
        match self {
            Action::Submit { comment, assign } => {
                record.comment = comment.clone();
                record.assign = assign.clone();
            }
            Action::Unpublish { comment } => {
                record.comment = comment.clone();
            }
            Action::Assign { step, assignees } => {
                record.step = Some(step.clone());
                record.assign = Some([(step.clone(), assignees.clone())].into());
            }
            Action::Approve {
                step,
                role,
                comment,
                publish,
                override_,
            } => {
                record.step = Some(step.clone());
                record.role = role.clone();
                record.comment = comment.clone();
                record.publish = publish.then_some(true);
                record.override_ = override_.then_some(true);
            }
            Action::Reject {
                step,
                role,
                comment,
                discard,
            } => {
                record.step = Some(step.clone());
                record.role = role.clone();
                record.comment = comment.clone();
                record.discard = discard.then_some(true);
            }
            Action::Retract | Action::Publish => {}
        }
        record.commit_comment(salt);
        record
    }
}

pub struct SignRequest<'a> {
    pub site_root: &'a Path,
    pub action: Action,
    pub page: &'a str,
    /// The key file, or the ssh-agent (docs/ssh-keys.md).
    pub key: &'a KeySource,
    /// Sign this version instead of the one the action defaults to.
    pub version: Option<&'a str>,
    pub now: Instant,
    /// Sign an approve or reject even when it repeats the reviewer's counted decision.
    pub force: bool,
}

/// Signs and writes one record; returns its path relative to the site root.
pub fn sign(req: &SignRequest) -> Result<String> {
    let site = Site::load(req.site_root)?;
    let signer = Signer::open(req.key, &site.keyring)?;
    sign_in(&site, &signer, req)
}

/// `sign` on a site already loaded, with the key already opened (`submit --changed` signs many
/// pages of one site, asking for a passphrase once).
pub fn sign_in(site: &Site, signer: &Signer, req: &SignRequest) -> Result<String> {
    let public = signer.public_key();
    let key = site.keyring.key_for_public(&public).ok_or_else(|| {
        Error::Refused(format!(
            "{}: this key is not in approvals/keyring.yaml (its public key is {}, fingerprint {})",
            signer.name(),
            keyfile::public_base64_of(&public),
            crate::trust::sshkey::fingerprint(&public)
        ))
    })?;
    let prepared = prepare(site, key, signer.name(), &req.ask())?;
    let signature = signer.sign(&prepared.record.signed_bytes())?;
    finish(site, prepared, signature.to_bytes().to_vec(), None, req.now)
}

/// What a signing command asks, whoever signs it and however (a key file, the ssh-agent, a
/// passkey in a browser).
#[derive(Debug, Clone)]
pub struct Ask<'a> {
    pub action: &'a Action,
    pub page: &'a str,
    /// Sign this version instead of the one the action defaults to.
    pub version: Option<&'a str>,
    pub now: Instant,
    /// Sign an approve or reject even when it repeats the reviewer's counted decision.
    pub force: bool,
}

impl SignRequest<'_> {
    pub fn ask(&self) -> Ask<'_> {
        Ask {
            action: &self.action,
            page: self.page,
            version: self.version,
            now: self.now,
            force: self.force,
        }
    }
}

/// A record every rule allows, not yet signed, and where its file goes: the first half of
/// signing, shared by the CLI, `serve --key` and the team server's passkeys (which sign it in
/// the reviewer's browser, between [`prepare`] and [`finish`]).
#[derive(Debug, Clone)]
pub struct Prepared {
    pub record: Record,
    dir: PathBuf,
    stem: String,
}

/// Checks what `ask` asks of `key` (who is named `who` in messages) on `site` as the build
/// would judge it, and builds the unsigned record. Nothing is written.
pub fn prepare(site: &Site, key: &Key, who: &str, ask: &Ask) -> Result<Prepared> {
    let id = page_id_from_arg(ask.page);
    let page =
        site.page(&id)
            .ok_or_else(|| match site.invalid_pages.iter().find(|p| p.id == id) {
                Some(invalid) => Error::Refused(format!(
                    "{}: the page is invalid, so it has no version to sign: {}",
                    invalid.source, invalid.why
                )),
                None => Error::Refused(format!(
            "no page '{id}' in content/ (looked for content/{id}.md and content/{id}/index.md)"
        )),
            })?;
    if !site.policies.contains_key(&page.space) {
        return Err(Error::Refused(format!(
            "space '{}' has no policy (approvals/policies/{}.yaml)",
            page.space, page.space
        )));
    }
    if let Some(why) = key.unusable_at(&ask.now) {
        return Err(Error::Refused(format!("{who}: {why}")));
    }
    let judged = site
        .evaluate_one(&page.id, ask.now, None)
        .expect("the page exists");
    let review = judged.review().expect("the space has a policy");
    let version = version_to_sign(ask, page, review)?;
    // The build can't tell when the page was edited; the signing commands can: nothing is
    // decided any more on a review an edit cancelled.
    let cancelled = review
        .cancelled
        .as_ref()
        .filter(|c| c.version == version || ask.version.is_none());
    if let Some(c) = cancelled {
        if kind_acts_in_review(ask.action.kind()) {
            return Err(Error::Refused(format!(
                "{}: the review of version {} was cancelled when the page was edited (edit_cancels_review in approvals/policies/{}.yaml); submit the page again to start a new review",
                page.id,
                c.version.short(),
                page.space
            )));
        }
    }
    refuse_repeat(ask, page, review, &version, &key.reviewer)?;

    let kind = ask.action.kind();
    // Fresh for every record: the same comment never gives the same digest twice.
    let mut salt = [0u8; SALT_LEN];
    getrandom::fill(&mut salt)
        .map_err(|e| Error::Refused(format!("cannot read the system's randomness: {e}")))?;
    let record = ask
        .action
        .record(page, version, &key.reviewer, &key.id, ask.now, salt);
    let dir = site.config.records_dir().join(&page.id);
    // Records signed in the same second are replayed in file-path order (SPEC §5), so the
    // name carries a sequence number after the time: creation order survives a tie.
    let sequence = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0) + 1;
    let stem = format!(
        "{}-{sequence:04}-{}-{}",
        time::format_utc(&ask.now).replace([':', '-'], ""),
        kind,
        record.reviewer
    );
    let prepared = Prepared { record, dir, stem };
    prepared.counts_in(site, ask.now)?;
    Ok(prepared)
}

impl Prepared {
    /// The build's verdict before the record exists: the page replayed with it, through the
    /// same engine and the same `Policy::authorize`. Refuses what would not count.
    fn counts_in(&self, site: &Site, now: Instant) -> Result<()> {
        let record = &self.record;
        let candidate = VerifiedRecord {
            file: site
                .config
                .display_path(&self.dir.join(format!("{}.yaml", self.stem))),
            record: record.clone().into(),
        };
        let replayed = site
            .evaluate_one(&record.content, now, Some(candidate))
            .ok_or_else(|| Error::Refused(format!("no page '{}' in content/", record.content)))?;
        let index = replayed.records.len() - 1;
        let verdict = replayed
            .review()
            .and_then(|r| r.notes.iter().find(|n| n.index == index))
            .expect("the engine notes every record");
        if !verdict.counted {
            return Err(Error::Refused(format!(
                "{}: the build would not count this {} of version {}: {}",
                record.content,
                record.kind,
                record.version.short(),
                verdict.note
            )));
        }
        Ok(())
    }
}

/// The second half of signing: attaches `signature` (and a passkey's `webauthn` envelope),
/// checks the record with the build's own verifier and, on `site` as it is now, that it still
/// counts, then writes it (and, for `submit`, the version's bytes into the store). Returns
/// the record's path relative to the site root.
pub fn finish(
    site: &Site,
    prepared: Prepared,
    signature: Vec<u8>,
    webauthn: Option<Envelope>,
    now: Instant,
) -> Result<String> {
    let parsed = RecordFileParsed {
        record: prepared.record.clone().into(),
        signature,
        webauthn: webauthn.map(Into::into),
    };
    crate::trust::record::check(&parsed, &site.keyring, &now).map_err(|why| {
        Error::Refused(format!(
            "{}: the build would not verify this record: {why}",
            prepared.record.content
        ))
    })?;
    prepared.counts_in(site, now)?;
    let record = &prepared.record;
    if record.kind == Kind::Submit {
        let page = site
            .page(&record.content)
            .ok_or_else(|| Error::Refused(format!("no page '{}' in content/", record.content)))?;
        let stored =
            Store::new(site.config.store_dir()).put_version(&page.store_files()?, page.bundle)?;
        // The record names `page.version`; what the store now holds must be exactly that.
        if stored != record.version {
            return Err(Error::Refused(format!(
                "{}: the stored bytes hash to {stored}, not to the page's version {}; nothing signed",
                page.source, record.version
            )));
        }
    }
    let path = write_new(&prepared.dir, &prepared.stem, parsed.to_yaml().as_bytes())?;
    Ok(site.config.display_path(&path))
}

/// Which version a record is about. `submit` signs the page's bytes; `approve`, `reject` and
/// `retract` act on the version in review, and refuse when the page has changed since it was
/// submitted, unless `--version` names the version meant; `unpublish` names what is live.
fn version_to_sign(req: &Ask, page: &Page, review: &PageReview<Live>) -> Result<Version> {
    let kind = req.action.kind();
    if let Some(text) = req.version {
        let v = Version::parse(text).ok_or_else(|| {
            Error::Usage(format!(
                "--version: '{text}' is not sha256: followed by 64 hex digits"
            ))
        })?;
        if kind == Kind::Submit && v != page.version {
            return Err(Error::Refused(format!(
                "--version: a submit stores the page's current bytes, which are version {}, not {v}",
                page.version
            )));
        }
        return Ok(v);
    }
    match (kind, &review.in_review) {
        (k, Some(r)) if kind_acts_in_review(k) && r.version != page.version => {
            Err(Error::Refused(format!(
                "{}: the version in review is {} (submitted by '{}' at {}), but {} has changed since: its bytes are now version {}.\n\
                 To {} the version in review, pass --version {}; to have the edit reviewed, submit it first.",
                page.id,
                r.version,
                r.submitter,
                time::format_utc(&r.submitted_at),
                page.source,
                page.version,
                kind,
                r.version
            )))
        }
        (Kind::Unpublish, _) => Ok(review
            .live
            .live()
            .map_or_else(|| page.version.clone(), |l| l.version.version.clone())),
        _ => Ok(page.version.clone()),
    }
}

/// An approve or reject that repeats the decision the reviewer already has counted in that
/// step of the version in review would be a second, redundant record (the engine counts each
/// reviewer once): refused, unless `--force` asks for it (to sign a new comment or role).
/// A manager's override is never a repeat: it approves every remaining step.
fn refuse_repeat(
    req: &Ask,
    page: &Page,
    review: &PageReview<Live>,
    version: &Version,
    reviewer: &str,
) -> Result<()> {
    let (step, decision, verb) = match req.action {
        Action::Approve {
            step,
            override_: false,
            ..
        } => (step, Decision::Approve, "approved"),
        Action::Reject { step, .. } => (step, Decision::Reject, "rejected"),
        _ => return Ok(()),
    };
    if req.force {
        return Ok(());
    }
    let repeated = review
        .in_review
        .as_ref()
        .filter(|r| &r.version == version)
        .and_then(|r| {
            r.decided
                .iter()
                .find(|d| &d.step == step && d.reviewer == reviewer && d.decision == decision)
        });
    match repeated {
        Some(d) => Err(Error::Refused(format!(
            "{}: '{reviewer}' already {verb} at {} (version {}, step '{step}'): nothing to sign; --force signs it again",
            page.id,
            time::format_utc(&d.signed_at),
            version.short(),
        ))),
        None => Ok(()),
    }
}

/// The kinds that act on the version in review.
fn kind_acts_in_review(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Approve | Kind::Reject | Kind::Retract | Kind::Assign
    )
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
                .join(crate::site::config::CONFIG_FILE)
                .is_file()
    };
    let dir = match (0..parts.len()).find(|&i| is_root(i)) {
        Some(i) => {
            let approvals: PathBuf = parts[..=i].iter().collect();
            let below: PathBuf = parts[i + 1..].iter().collect();
            crate::fs::real_dir(&approvals, &below)?
        }
        None => {
            let parent = dir.parent().unwrap_or(Path::new("."));
            let name = dir.file_name().map(PathBuf::from).unwrap_or_default();
            crate::fs::real_dir(parent, &name)?
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
