//! A whole site, loaded and judged at one instant. `Site::load` reads the config, keyring,
//! policies, pages and records (configuration errors stop here, exit 1); `Site::evaluate`
//! verifies every record, runs the review engine for every page in parallel, and fetches the
//! bytes of each live version, hash-checked. Everything after this — rendering, reports —
//! reads the `Evaluation` and never re-decides what is approved.
//!
//! This file loads; the judgement's stages are in `evaluate`, what they produce (`Judgement`,
//! `Live`, `Evaluation`) in `judgement`, and where each live page is published in `urls`.

pub(crate) mod budget;
pub(crate) mod config;
pub mod content;
pub(crate) use crate::cache::counted;
mod evaluate;
pub(crate) mod history;
mod judgement;
pub(crate) mod memo;
pub(crate) mod since;
mod urls;

use std::collections::BTreeMap;
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;

use self::content::{InvalidPage, Page};
use self::memo::Memo;
use crate::cache::inputs::{Clock, Keep, Kept, RecordBytes};
use crate::error::{Error, Result};
use crate::fs::Fingerprint;
use crate::progress::{Phase, Progress, Unwatched};
use crate::site::config::SiteConfig;
use crate::trust::governance::{self, Governance};
use crate::trust::keyring::Keyring;
use crate::trust::policy::{self, Policy};
use crate::trust::record;
use crate::trust::review::FindingKind;
use crate::trust::store::Store;

pub use self::judgement::{
    Evaluation, Judgement, Live, LiveContent, LoadedContent, PageEvaluation,
};
use self::urls::check_spaces_publish_apart;
pub use self::urls::page_url;
pub(crate) use self::urls::url_keeper;

pub struct Site {
    /// What vouches for the governed files below (checked before any of them was parsed).
    pub governance: Governance,
    pub config: SiteConfig,
    pub keyring: Keyring,
    pub policies: BTreeMap<String, Policy>,
    pub pages: Vec<Arc<Page>>,
    /// What stands in `content/` where a page would, but has no version: never published.
    pub invalid_pages: Vec<InvalidPage>,
    pub records: Vec<RecordFile>,
    pub store: Store,
    /// The records earlier builds counted, kept beside `output/` ([`counted`]).
    pub(crate) counted: counted::Counted,
    /// What an earlier judgement of this folder lends this one (`serve`), if anything.
    memo: Option<Arc<Memo>>,
}

pub use crate::trust::record::RecordFile;

/// Something a person should look at. `page` is the page id it is about, if any.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub page: Option<String>,
    pub detail: String,
    /// The file at fault, when there is one (a record, a blob, an output file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

impl Finding {
    /// Findings that fail `--strict` and `verify`: something is wrong or out of sync.
    /// `stale`, `escalation` and `review_due` are reminders about people, not defects; nor is
    /// `proof_incomplete`: what is published is approved, only its public proof falls short.
    pub fn is_defect(&self) -> bool {
        !matches!(
            self.kind,
            FindingKind::Stale
                | FindingKind::Escalation
                | FindingKind::ReviewDue
                | FindingKind::ReviewCancelled
                | FindingKind::ProofIncomplete
        )
    }
}

impl Site {
    pub fn load(root: &std::path::Path) -> Result<Site> {
        Site::load_with(root, None, &Unwatched)
    }

    /// [`Site::load`], telling `progress` of the read (`status`, `verify`).
    pub fn load_watched(root: &std::path::Path, progress: &dyn Progress) -> Result<Site> {
        Site::load_with(root, None, progress)
    }

    /// [`Site::load`], reusing what `memo` holds of an earlier load of the same folder and
    /// keeping what this one reads (see [`memo`]). The judgement is the same either way.
    pub(crate) fn load_with(
        root: &std::path::Path,
        memo: Option<Arc<Memo>>,
        progress: &dyn Progress,
    ) -> Result<Site> {
        // Fail closed: nothing governed (config, keyring, policies, themes) is parsed before
        // a threshold of the trusted root's admins is known to have signed its bytes.
        let governance = {
            let _t = crate::timings::phase("governance");
            governance::verify(root, crate::trust::root::current_pin()?.as_ref())?
        };
        Site::load_governed(root, memo, governance, record::Origin::Records, progress)
    }

    /// The site as its files say, governance not checked: only for commands that prepare a
    /// change for admins to sign (`keyring revoke`), and publish or sign nothing themselves.
    pub(crate) fn load_ungoverned(root: &std::path::Path) -> Result<Site> {
        Site::load_governed(
            root,
            None,
            Governance::Unsigned,
            record::Origin::Records,
            &Unwatched,
        )
    }

    /// A site `audit` made of one page's proof, its records written under `approvals/records/`
    /// as the proof shows them: a committed comment may have been left out (SPEC §4a). Only
    /// the audit's replay reads records so; a build never does.
    pub(crate) fn load_proof_replay(root: &std::path::Path) -> Result<Site> {
        Site::load_governed(
            root,
            None,
            Governance::Unsigned,
            record::Origin::Proof,
            &Unwatched,
        )
    }

    fn load_governed(
        root: &std::path::Path,
        memo: Option<Arc<Memo>>,
        governance: Governance,
        origin: record::Origin,
        progress: &dyn Progress,
    ) -> Result<Site> {
        let config = SiteConfig::load(root)?;
        let keyring = Keyring::load(&config.keyring_file())?;
        let policies = policy::load_all(&config.policies_dir(), &keyring)?;
        check_spaces_publish_apart(&policies)?;
        // Side by side: each begins by listing its folder on one thread.
        let t = crate::timings::phase("read pages and records");
        progress.begin(Phase::Read, None);
        // What is kept of them for the next build is settled against this reading, taken
        // where the build writes (see `memo::inputs`).
        let output_parent = config.output_dir.parent().unwrap_or(&config.root);
        let clock = memo.as_deref().and_then(|m| m.clock(output_parent));
        let (scan, records) = rayon::join(
            || {
                let (dir, root) = (&config.content_dir(), &config.root);
                content::scan(dir, root, memo.as_deref(), clock, progress)
            },
            || load_records(&config, memo.as_deref(), clock, origin),
        );
        let content::Scan {
            pages,
            invalid: invalid_pages,
        } = scan?;
        let records = records?;
        progress.end(
            Phase::Read,
            &[
                (pages.len() as u64, "pages"),
                (records.len() as u64, "records"),
            ],
        );
        drop(t);
        let store = Store::new(config.store_dir());
        let counted = {
            let shown = config.display_path(&counted::path_for(&config.output_dir));
            counted::Counted::load(&config.output_dir, shown)
        };
        Ok(Site {
            counted,
            governance,
            config,
            keyring,
            policies,
            pages,
            invalid_pages,
            records,
            store,
            memo,
        })
    }

    /// The refusal for a page argument that names no page: with the nearest page id, when
    /// one is near (`kb/instal`, `install` → `kb/install`).
    pub fn unknown_page(&self, id: &str) -> Error {
        let ids = self.pages.iter().map(|p| p.id.as_str());
        let hint = match content::nearest_id(ids, id) {
            Some(near) => format!("; did you mean '{near}'?"),
            None => String::new(),
        };
        Error::Refused(format!(
            "no page '{id}' in content/{hint} (`imprimatur status` lists every page)"
        ))
    }

    pub fn page(&self, id: &str) -> Option<&Page> {
        self.pages
            .binary_search_by(|p| p.id.as_str().cmp(id))
            .ok()
            .map(|i| &*self.pages[i])
    }

    /// The trusted root's admins (ids, sorted), or `None` on a site without a root: whom the
    /// top rungs of an escalation ladder notify.
    pub fn admins(&self) -> Option<Vec<String>> {
        match &self.governance {
            Governance::Unsigned => None,
            Governance::Signed(s) => {
                let mut ids: Vec<String> =
                    s.trusted.root.admins.iter().map(|a| a.id.clone()).collect();
                ids.sort();
                Some(ids)
            }
        }
    }
}

/// Reads every `*.yaml`/`*.yml` under `approvals/records/`, in parallel, sorted by path. A
/// record is read only from a regular file reached without following a link, and only up to
/// the record size limit: anything else is a record that does not parse, with the reason (an
/// `invalid_record` finding), never a hang, a file read whole, or a stopped build.
fn load_records(
    config: &SiteConfig,
    memo: Option<&Memo>,
    clock: Option<Clock>,
    origin: record::Origin,
) -> Result<Vec<RecordFile>> {
    let dir = config.records_dir();
    let unreadable = |path: &std::path::Path, why: String| RecordFile {
        file: config.display_path(path),
        parsed: Err(why),
    };
    match std::fs::symlink_metadata(&dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&dir, e)),
        Ok(meta) if meta.file_type().is_symlink() => {
            let why = "is a symbolic link: no record is read through a link".to_string();
            return Ok(vec![unreadable(&dir, why)]);
        }
        Ok(meta) if !meta.is_dir() => return Ok(vec![unreadable(&dir, "is not a folder".into())]),
        Ok(_) => {}
    }
    let mut paths = Vec::new();
    for entry in crate::fs::walk_by_name(&dir) {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(&dir).to_path_buf();
            Error::io(path, e.into())
        })?;
        // The kind is what the listing said (`d_type`), no `stat` per file.
        let name = entry.file_name().as_encoded_bytes();
        if !entry.file_type().is_dir()
            && !name.starts_with(b".")
            && (name.ends_with(b".yaml") || name.ends_with(b".yml"))
        {
            paths.push(entry.into_path());
        }
    }
    let limit = crate::yaml::RECORD.max_bytes as u64;
    let previous = memo.map(Memo::take_records).unwrap_or_default();
    // Opened once for all the records: each is then one `openat2` below it. Where the records
    // folder can't be reached without a link, every read below takes the long way from the
    // site root and says so, record by record, as it always did.
    let records_rel = dir.strip_prefix(&config.root).unwrap_or(&dir);
    let beneath = crate::fs::Beneath::open(&config.root)
        .and_then(|root| root.folder(records_rel))
        .ok();
    let read = |path: &std::path::Path| match &beneath {
        Some(records) => records.read_with_metadata(path.strip_prefix(&dir).unwrap_or(path), limit),
        None => {
            let rel = path.strip_prefix(&config.root).unwrap_or(path);
            crate::fs::Beneath::open(&config.root)
                .and_then(|root| root.read_with_metadata(rel, limit))
        }
    };
    // What the last build read (a build: see `memo::inputs`).
    let kept = memo.and_then(|m| m.kept_records(clock));
    let parse = |bytes: &[u8]| match std::str::from_utf8(bytes) {
        Ok(text) => record::parse_from(text, origin),
        Err(_) => Err("not UTF-8 text".into()),
    };
    let mut files: Vec<(RecordFile, Option<Fingerprint>, Keep<RecordBytes>)> = paths
        .par_iter()
        .map(|path| {
            let file = |parsed| RecordFile {
                file: config.display_path(path),
                parsed,
            };
            // Not followed: the fingerprint of the entry itself, whatever it is. Looked up only
            // when an earlier load left something to reuse; otherwise the file that is read
            // says who it is (`fstat`), which saves a `stat` per record on a first load.
            let seen = match memo {
                Some(_) if !(previous.is_empty() && kept.as_ref().is_none_or(Kept::is_empty)) => {
                    match &beneath {
                        Some(records) => {
                            records.fingerprint(path.strip_prefix(&dir).unwrap_or(path))
                        }
                        None => std::fs::symlink_metadata(path)
                            .ok()
                            .map(|m| Fingerprint::of(&m)),
                    }
                }
                _ => None,
            };
            if let Some(file) = seen.and_then(|f| previous.get(path, f)) {
                return (file.clone(), seen, Keep::Nothing);
            }
            if let Some((f, bytes)) = seen.and_then(|f| Some((f, kept.as_ref()?.get(path, f)?))) {
                return (file(parse(bytes)), seen, Keep::Reused(f));
            }
            match read(path) {
                Ok((bytes, meta)) => {
                    let read = Fingerprint::of(&meta);
                    let parsed = parse(&bytes);
                    let keep = match kept.as_ref().is_some_and(|k| k.may_keep(&read)) {
                        true => Keep::Read(read, RecordBytes::from(bytes)),
                        false => Keep::Nothing,
                    };
                    (file(parsed), seen.or(memo.map(|_| read)), keep)
                }
                Err(e) => (
                    file(Err(format!("the file {}", e.kind))),
                    seen,
                    Keep::Nothing,
                ),
            }
        })
        .collect();
    drop(previous);
    if let (Some(memo), Some(kept)) = (memo, kept) {
        let now = paths
            .iter()
            .zip(&mut files)
            .filter_map(|(path, (_, _, keep))| std::mem::take(keep).now(path.clone()))
            .collect();
        memo.save_later(kept, now);
    }
    if let Some(memo) = memo.filter(|m| m.keeps_files()) {
        let kept = paths
            .into_iter()
            .zip(&files)
            .filter_map(|(path, (file, f, _))| Some((path, (*f)?, file.clone())));
        memo.keep_records(kept.collect());
    }
    let files = files.into_iter().map(|(file, _, _)| file).collect();
    Ok(files)
}
