//! A whole site, loaded and judged at one instant. `Site::load` reads the config, keyring,
//! policies, pages and records (configuration errors stop here, exit 1); `Site::evaluate`
//! verifies every record, runs the review engine for every page in parallel, and fetches the
//! bytes of each live version, hash-checked. Everything after this — rendering, reports —
//! reads the `Evaluation` and never re-decides what is approved.

pub(crate) mod budget;
pub(crate) mod config;
pub mod content;
pub(crate) mod counted;
pub(crate) mod memo;
pub(crate) mod restore;
pub(crate) mod since;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;

use self::content::{FrontMatter, InvalidPage, Page};
use self::memo::Memo;
use crate::cache::inputs::{Clock, Keep, Kept, RecordBytes};
use crate::error::{Error, Result};
use crate::fs::Fingerprint;
use crate::site::config::SiteConfig;
use crate::time::{self, Instant};
use crate::trust::governance::{self, Governance};
use crate::trust::keyring::Keyring;
use crate::trust::policy::{self, Policy};
use crate::trust::record::{self, RecordFileParsed};
use crate::trust::review::{
    self, FindingKind, LiveVersion, Liveness, Offline, PageInput, PageReview, Status,
    VerifiedRecord, VersionMeta,
};
use crate::trust::store::{Store, StoreError, VersionFiles};
use crate::trust::version::Version;

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

/// One file under `approvals/records/`, parsed or not.
#[derive(Clone)]
pub struct RecordFile {
    pub file: String,
    pub parsed: std::result::Result<RecordFileParsed, String>,
}

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

/// A version's parsed front matter, with where its bytes are.
#[derive(Debug, Clone)]
pub struct LiveContent {
    pub bytes: content::VersionSource,
    pub front: FrontMatter,
    /// The paths of the bundle's files other than `index.md` (none for a file page).
    pub assets: Vec<String>,
    /// Where the Markdown body starts, after the front matter.
    body_start: usize,
}

/// A version's bytes, read and checked ([`LiveContent::load`]).
pub struct LoadedContent {
    pub files: Arc<VersionFiles>,
    body_start: usize,
}

impl LoadedContent {
    /// The Markdown body (front matter removed).
    pub fn body(&self) -> &str {
        std::str::from_utf8(&self.files.markdown[self.body_start..])
            .expect("parse_page checked UTF-8 of these very bytes")
    }
}

impl LiveContent {
    /// Parses `files`, the bytes `bytes` hands out.
    pub(crate) fn parse(
        files: &VersionFiles,
        bytes: content::VersionSource,
    ) -> std::result::Result<LiveContent, String> {
        let (front, body) = content::parse_page(&files.markdown)?;
        // Here, where every version's bytes are first read, so a page over its rendering
        // budget is judged as one that can't be a page: offline, a finding, the rest built.
        // A page read back from the last build's memo was checked when it was read.
        self::budget::check(body).map_err(|e| format!("it can't be rendered: {e}"))?;
        let body_start = files.markdown.len() - body.len();
        Ok(LiveContent {
            front,
            body_start,
            assets: files.assets.iter().map(|(path, _)| path.clone()).collect(),
            bytes,
        })
    }

    /// The bytes of the version: the very bytes that were parsed (hashed again if they were
    /// read again), or an error naming the file.
    pub fn load(&self) -> Result<LoadedContent> {
        Ok(LoadedContent {
            files: self.bytes.get()?,
            body_start: self.body_start,
        })
    }
}

/// A page's live version, ready to publish: its review, its checked bytes, and its URL.
#[derive(Debug, Clone)]
pub struct Live {
    pub version: LiveVersion,
    pub content: Arc<LiveContent>,
    /// Where it is published, relative to the output root (`kb/install/`).
    pub url: String,
}

impl AsRef<LiveVersion> for Live {
    fn as_ref(&self) -> &LiveVersion {
        &self.version
    }
}

/// What the build decided about one page: the one value its status, its output, its reports
/// and its notifications are all derived from.
#[derive(Debug, Clone)]
pub enum Judgement {
    /// Its space has no policy: nothing of it is published (`no_policy`).
    NoPolicy,
    /// Replayed against its space's policy; `review.live` says what is published.
    Reviewed(Box<PageReview<Live>>),
}

/// One page, judged.
pub struct PageEvaluation {
    /// Shared with the site's list of pages, not copied.
    pub page: Arc<Page>,
    /// The page's verified records; the review's indices point into this.
    pub records: Vec<VerifiedRecord>,
    pub judgement: Judgement,
}

impl PageEvaluation {
    /// Front matter of the current draft (its error, if it has none usable).
    pub fn front(&self) -> std::result::Result<&FrontMatter, &String> {
        self.page.content.as_ref().map(|c| &c.front)
    }

    pub fn review(&self) -> Option<&PageReview<Live>> {
        match &self.judgement {
            Judgement::Reviewed(r) => Some(r),
            Judgement::NoPolicy => None,
        }
    }

    /// What is published of the page in this build, if anything.
    pub fn live(&self) -> Option<&Live> {
        self.review().and_then(|r| r.live.live())
    }

    pub fn status(&self) -> Status {
        self.review().map_or(Status::Draft, PageReview::status)
    }

    fn take_offline(&mut self, why: Offline) {
        if let Judgement::Reviewed(r) = &mut self.judgement {
            r.live = Liveness::Offline(why);
        }
    }
}

pub struct Evaluation {
    pub now: Instant,
    pub pages: Vec<PageEvaluation>,
    pub invalid_records: Vec<(String, String)>,
    pub findings: Vec<Finding>,
    /// Which records counted, for the build to keep ([`counted::write`]).
    pub(crate) counted: counted::Next,
}

impl Evaluation {
    pub fn page(&self, id: &str) -> Option<&PageEvaluation> {
        self.pages
            .binary_search_by(|p| p.page.id.as_str().cmp(id))
            .ok()
            .map(|i| &self.pages[i])
    }

    /// Pages that were live in the previous build (`previous`: page id → URL) and are
    /// offline now for a reason nobody signed: a defect, a missing policy, a deleted source,
    /// deleted records. A takedown or an expiry is not one. Each is a `went_offline` finding,
    /// which fails `--strict`, so a space can't be emptied quietly.
    pub fn went_offline(&self, previous: &BTreeMap<String, String>) -> Vec<Finding> {
        let invalid: BTreeMap<&str, &str> = self
            .findings
            .iter()
            .filter(|f| f.kind == FindingKind::InvalidPage)
            .filter_map(|f| Some((f.page.as_deref()?, f.detail.as_str())))
            .collect();
        let mut findings = Vec::new();
        for (id, url) in previous {
            let why = match (self.page(id), invalid.get(id.as_str())) {
                (None, Some(detail)) => format!("the page is invalid: {detail}"),
                (None, None) => "its source is gone from content/ (take a page down with `imprimatur unpublish` before deleting it)".to_string(),
                (Some(p), _) => match &p.judgement {
                    Judgement::NoPolicy => format!("space '{}' has no policy", p.page.space),
                    Judgement::Reviewed(r) => match &r.live {
                        Liveness::Live(_) => continue,
                        Liveness::Offline(o) if !o.is_defect() => continue,
                        Liveness::Offline(o) => offline_reason(o),
                        Liveness::Never => {
                            "none of its counted records publishes a version any more".into()
                        }
                    },
                },
            };
            findings.push(Finding {
                kind: FindingKind::WentOffline,
                page: Some(id.clone()),
                detail: format!(
                    "was live at {url} in the previous build and is offline now: {why}"
                ),
                file: self.page(id).map(|p| p.page.source.clone()),
            });
        }
        findings
    }
}

/// A record that does not count: an `invalid_record` finding, and a line of the status
/// report's `invalid_records`.
fn report_invalid(
    findings: &mut Vec<Finding>,
    invalid: &mut Vec<(String, String)>,
    file: String,
    why: String,
) {
    findings.push(Finding {
        kind: FindingKind::InvalidRecord,
        page: None,
        detail: why.clone(),
        file: Some(file.clone()),
    });
    invalid.push((file, why));
}

fn offline_reason(o: &Offline) -> String {
    match o {
        Offline::TakenDown { by, at } => {
            format!("taken down by '{by}' at {}", time::format_utc(at))
        }
        Offline::Expired { version, .. } => format!("version {} expired", version.short()),
        Offline::Unavailable { version } => {
            format!("the bytes of version {} can't be served", version.short())
        }
        Offline::UrlConflict { url, owner } => format!("its URL {url} belongs to {owner}"),
        Offline::BadUrl { url, why } => format!("its URL {url} can't be used: {why}"),
    }
}

impl Site {
    pub fn load(root: &std::path::Path) -> Result<Site> {
        Site::load_with(root, None)
    }

    /// [`Site::load`], reusing what `memo` holds of an earlier load of the same folder and
    /// keeping what this one reads (see [`memo`]). The judgement is the same either way.
    pub(crate) fn load_with(root: &std::path::Path, memo: Option<Arc<Memo>>) -> Result<Site> {
        // Fail closed: nothing governed (config, keyring, policies, themes) is parsed before
        // a threshold of the trusted root's admins is known to have signed its bytes.
        let governance = {
            let _t = crate::timings::phase("governance");
            governance::verify(root, crate::trust::root::current_pin()?.as_ref())?
        };
        Site::load_governed(root, memo, governance, record::Origin::Records)
    }

    /// The site as its files say, governance not checked: only for commands that prepare a
    /// change for admins to sign (`keyring revoke`), and publish or sign nothing themselves.
    pub(crate) fn load_ungoverned(root: &std::path::Path) -> Result<Site> {
        Site::load_governed(root, None, Governance::Unsigned, record::Origin::Records)
    }

    /// A site `audit` made of one page's proof, its records written under `approvals/records/`
    /// as the proof shows them: a committed comment may have been left out (SPEC §4a). Only
    /// the audit's replay reads records so; a build never does.
    pub(crate) fn load_proof_replay(root: &std::path::Path) -> Result<Site> {
        Site::load_governed(root, None, Governance::Unsigned, record::Origin::Proof)
    }

    fn load_governed(
        root: &std::path::Path,
        memo: Option<Arc<Memo>>,
        governance: Governance,
        origin: record::Origin,
    ) -> Result<Site> {
        let config = SiteConfig::load(root)?;
        let keyring = Keyring::load(&config.keyring_file())?;
        let policies = policy::load_all(&config.policies_dir(), &keyring)?;
        check_spaces_publish_apart(&policies)?;
        // Side by side: each begins by listing its folder on one thread.
        let t = crate::timings::phase("read pages and records");
        // What is kept of them for the next build is settled against this reading, taken
        // where the build writes (see `cache::inputs`).
        let output_parent = config.output_dir.parent().unwrap_or(&config.root);
        let clock = memo.as_deref().and_then(|m| m.clock(output_parent));
        let (scan, records) = rayon::join(
            || content::scan(&config.content_dir(), &config.root, memo.as_deref(), clock),
            || load_records(&config, memo.as_deref(), clock, origin),
        );
        let content::Scan {
            pages,
            invalid: invalid_pages,
        } = scan?;
        let records = records?;
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

    pub fn page(&self, id: &str) -> Option<&Page> {
        self.pages
            .binary_search_by(|p| p.id.as_str().cmp(id))
            .ok()
            .map(|i| &*self.pages[i])
    }

    /// Judges every page at `now` for `audiences`, in named stages: verify records → judge
    /// pages (in parallel) → resolve URLs → reminders. Pure apart from reading the store.
    pub fn evaluate(&self, now: Instant, audiences: &[String]) -> Evaluation {
        self.evaluate_records(&self.records, now, audiences)
    }

    /// [`Site::evaluate`] of `records`, which the caller took out of the site to free them
    /// once judged (a build of 100,000 pages: ~80 MB that nothing after the judgement reads).
    pub fn evaluate_records(
        &self,
        records: &[RecordFile],
        now: Instant,
        audiences: &[String],
    ) -> Evaluation {
        let mut findings = Vec::new();
        let t = crate::timings::phase("verify records");
        let (mut by_page, mut invalid_records, on_disk) =
            self.verify_records(records, now, &mut findings);
        let mut counted = self.put_back_removed(
            on_disk,
            now,
            &mut by_page,
            &mut invalid_records,
            &mut findings,
        );
        drop(t);
        let _t = crate::timings::phase("judge pages");
        findings.extend(self.invalid_pages());
        findings.extend(self.orphans(&by_page));
        findings.extend(self.spaces_without_policy());

        // Each page takes its own records (moved, not copied).
        let per_page: Vec<(&Arc<Page>, Vec<VerifiedRecord>)> = self
            .pages
            .iter()
            .map(|p| (p, by_page.remove(&p.id).unwrap_or_default()))
            .collect();
        let judged: Vec<(PageEvaluation, Vec<Finding>)> = per_page
            .into_par_iter()
            .map(|(page, records)| self.judge_page(Arc::clone(page), records, now, audiences))
            .collect();
        let mut pages = Vec::with_capacity(judged.len());
        // Records the policy refused (outside the signer's authority, out of turn) did not
        // count: they are not kept as counted.
        let mut refused: std::collections::HashSet<String> = std::collections::HashSet::new();
        for (p, f) in judged {
            pages.push(p);
            refused.extend(
                f.iter()
                    .filter(|f| {
                        matches!(f.kind, FindingKind::InvalidRecord | FindingKind::OutOfTurn)
                    })
                    .filter_map(|f| f.file.clone()),
            );
            findings.extend(f);
        }
        counted.settle(&refused, records, &self.counted);
        findings.extend(resolve_urls(&mut pages, &self.policies));
        for p in &pages {
            if let (Some(review), Some(policy)) = (p.review(), self.policies.get(&p.page.space)) {
                findings.extend(reminders(&p.page.id, review, policy));
            }
        }
        findings.sort();
        invalid_records.sort();
        Evaluation {
            now,
            pages,
            invalid_records,
            findings,
            counted,
        }
    }

    /// Stage one: every record checked against SPEC §4, grouped by page. Records that fail
    /// are findings (and the `invalid_records` list of the status report). Also the id of
    /// each record that counts, with its index in `records`.
    #[allow(clippy::type_complexity)]
    fn verify_records(
        &self,
        records: &[RecordFile],
        now: Instant,
        findings: &mut Vec<Finding>,
    ) -> (
        BTreeMap<String, Vec<VerifiedRecord>>,
        Vec<(String, String)>,
        Vec<(record::RecordId, usize)>,
    ) {
        #[allow(clippy::type_complexity)]
        let checked: Vec<
            std::result::Result<(VerifiedRecord, record::RecordId), (String, String)>,
        > = records
            .par_iter()
            .map(|f| match &f.parsed {
                Err(why) => Err((f.file.clone(), why.clone())),
                Ok(parsed) => {
                    match record::check_with(
                        parsed,
                        &self.keyring,
                        &now,
                        self.memo.as_deref().map(|m| m as _),
                    ) {
                        Ok(id) => Ok((
                            VerifiedRecord {
                                file: f.file.clone(),
                                record: parsed.record.clone(),
                            },
                            id,
                        )),
                        Err(why) => Err((f.file.clone(), why)),
                    }
                }
            })
            .collect();
        let mut by_page: BTreeMap<String, Vec<VerifiedRecord>> = BTreeMap::new();
        let mut invalid = Vec::new();
        let mut ids = Vec::with_capacity(checked.len());
        for (i, c) in checked.into_iter().enumerate() {
            match c {
                Ok((v, id)) => {
                    ids.push((id, i));
                    by_page.entry(v.record.content.clone()).or_default().push(v)
                }
                Err((file, why)) => report_invalid(findings, &mut invalid, file, why),
            }
        }
        (by_page, invalid, ids)
    }

    /// Stage one and a half: the records an earlier build counted whose file is gone (or no
    /// longer counts) are judged from the copy kept beside `output/`, as if their file were
    /// there, and reported (`record_removed`); see [`counted`]. `on_disk`: the ids of the
    /// records whose file counts now. Returns what the build keeps for the next one.
    fn put_back_removed(
        &self,
        on_disk: Vec<(record::RecordId, usize)>,
        now: Instant,
        by_page: &mut BTreeMap<String, Vec<VerifiedRecord>>,
        invalid: &mut Vec<(String, String)>,
        findings: &mut Vec<Finding>,
    ) -> counted::Next {
        let counted = &self.counted;
        if let Some(why) = &counted.unreadable {
            let why = format!(
                "the records earlier builds counted can't be read: {why}. A record whose file was deleted before this build can't be found this once; this build keeps what it counts now"
            );
            report_invalid(findings, invalid, counted.shown.clone(), why);
        }
        if counted.entries.is_empty() {
            return counted::Next {
                on_disk,
                ..counted::Next::default()
            };
        }
        let now_ids: std::collections::HashSet<record::RecordId> =
            on_disk.iter().map(|(id, _)| *id).collect();
        let page_exists =
            |id: &str| self.page(id).is_some() || self.invalid_pages.iter().any(|p| p.id == id);
        let check = |p: &RecordFileParsed| record::check_with(p, &self.keyring, &now, None);
        let mut kept = Vec::new();
        for (i, entry, judged) in counted::missing(counted, &now_ids, &page_exists, &check) {
            match judged {
                counted::Missing::Carried => kept.push((i, entry.file)),
                counted::Missing::PutBack(parsed) => {
                    let r = &parsed.record;
                    findings.push(Finding {
                        kind: FindingKind::RecordRemoved,
                        page: Some(r.content.clone()),
                        detail: format!(
                            "the {} by '{}' of version {} ({}), counted by an earlier build, is gone from {}: it still counts. Put its file back (`git log --diff-filter=D -- {}` names the commit that deleted it); a decision is withdrawn by a new record, never by deleting one",
                            r.kind,
                            r.reviewer,
                            r.version.short(),
                            time::format_utc(&r.signed_at),
                            self.config.display_path(&self.config.records_dir()),
                            entry.file
                        ),
                        file: Some(entry.file.clone()),
                    });
                    by_page
                        .entry(r.content.clone())
                        .or_default()
                        .push(VerifiedRecord {
                            file: entry.file.clone(),
                            record: parsed.record.clone(),
                        });
                    kept.push((i, entry.file));
                }
                counted::Missing::Invalid(why) => {
                    let file = format!("{} ({})", counted.shown, entry.file);
                    let why =
                        format!("kept as counted by an earlier build, but does not count: {why}");
                    report_invalid(findings, invalid, file, why);
                }
            }
        }
        counted::Next {
            on_disk,
            kept,
            changed: false,
        }
    }

    /// Pages in `content/` whose bytes no version can pin (SPEC §2): offline, reported.
    fn invalid_pages(&self) -> impl Iterator<Item = Finding> + '_ {
        self.invalid_pages.iter().map(|p| Finding {
            kind: FindingKind::InvalidPage,
            page: Some(p.id.clone()),
            detail: p.why.clone(),
            file: Some(p.source.clone()),
        })
    }

    /// Records about pages that are not in `content/` (an invalid page is there: its records
    /// are not orphans).
    fn orphans(&self, by_page: &BTreeMap<String, Vec<VerifiedRecord>>) -> Vec<Finding> {
        let page_ids: BTreeSet<&str> = self
            .pages
            .iter()
            .map(|p| p.id.as_str())
            .chain(self.invalid_pages.iter().map(|p| p.id.as_str()))
            .collect();
        by_page
            .iter()
            .filter(|(id, _)| !page_ids.contains(id.as_str()))
            .flat_map(|(id, records)| {
                records.iter().map(move |r| Finding {
                    kind: FindingKind::OrphanRecord,
                    page: Some(id.clone()),
                    detail: format!(
                        "a {} record about a page that is not in content/",
                        r.record.kind
                    ),
                    file: Some(r.file.clone()),
                })
            })
            .collect()
    }

    fn spaces_without_policy(&self) -> Vec<Finding> {
        let spaces: BTreeSet<&str> = self
            .pages
            .iter()
            .map(|p| p.space.as_str())
            .filter(|s| !self.policies.contains_key(*s))
            .collect();
        spaces
            .into_iter()
            .map(|space| Finding {
                kind: FindingKind::NoPolicy,
                page: None,
                detail: format!("space '{space}' has no approvals/policies/{space}.yaml: none of its pages is published"),
                file: None,
            })
            .collect()
    }

    /// Judges one page alone (`log`, and the signing commands' check of the record they are
    /// about to write, passed as `extra`). URL conflicts with other pages are not judged.
    pub fn evaluate_one(
        &self,
        id: &str,
        now: Instant,
        extra: Option<VerifiedRecord>,
    ) -> Option<PageEvaluation> {
        let at = self
            .pages
            .binary_search_by(|p| p.id.as_str().cmp(id))
            .ok()?;
        let page = Arc::clone(&self.pages[at]);
        let records = self
            .records
            .iter()
            .filter_map(|f| f.parsed.as_ref().ok().map(|p| (f, p)))
            .filter(|(_, p)| {
                p.record.content == id
                    && record::check_with(
                        p,
                        &self.keyring,
                        &now,
                        self.memo.as_deref().map(|m| m as _),
                    )
                    .is_ok()
            })
            .map(|(f, p)| VerifiedRecord {
                file: f.file.clone(),
                record: p.record.clone(),
            })
            .chain(extra)
            .collect();
        Some(
            self.judge_page(page, records, now, &self.config.audiences)
                .0,
        )
    }

    fn judge_page(
        &self,
        page: Arc<Page>,
        records: Vec<VerifiedRecord>,
        now: Instant,
        audiences: &[String],
    ) -> (PageEvaluation, Vec<Finding>) {
        let mut findings = Vec::new();
        if let Err(why) = &page.content {
            findings.push(Finding {
                kind: FindingKind::InvalidPage,
                page: Some(page.id.clone()),
                detail: format!("{}: {why}", page.source),
                file: Some(page.source.clone()),
            });
        }
        let Some(policy) = self.policies.get(&page.space) else {
            let eval = PageEvaluation {
                page,
                records,
                judgement: Judgement::NoPolicy,
            };
            return (eval, findings);
        };
        // Each version's bytes are fetched at most once: from the draft when it is that
        // version, else from the store, checked against the version hash.
        type Fetched = std::result::Result<Arc<LiveContent>, FetchError>;
        let fetched: RefCell<BTreeMap<Version, Fetched>> = RefCell::new(BTreeMap::new());
        let fetch = |v: &Version| -> Option<VersionMeta> {
            let mut cache = fetched.borrow_mut();
            let entry = cache.entry(v.clone()).or_insert_with(|| {
                if *v == page.version {
                    return page.content.clone().map_err(FetchError::Page);
                }
                let files = Arc::new(self.store.get_version(v).map_err(FetchError::Store)?);
                // Held where the page's own bytes are (`serve`), else read again when wanted.
                let bytes = match page.bytes.is_held() {
                    true => content::VersionSource::held(Arc::clone(&files)),
                    false => content::VersionSource::in_store(&self.store, v),
                };
                LiveContent::parse(&files, bytes)
                    .map(Arc::new)
                    .map_err(FetchError::Page)
            });
            entry.as_ref().ok().map(|c| VersionMeta {
                publish_at: c.front.publish_at,
                expires_at: c.front.expires_at,
                audience: c.front.audience.clone(),
            })
        };
        let review = review::evaluate(&PageInput {
            current: &page.version,
            records: &records,
            policy,
            now,
            audiences,
            meta: &fetch,
        });
        for note in &review.notes {
            if let Some(kind) = note.finding {
                findings.push(Finding {
                    kind,
                    page: Some(page.id.clone()),
                    detail: note.note.clone(),
                    file: Some(records[note.index].file.clone()),
                });
            }
        }
        let mut cache = fetched.into_inner();
        let review = review.map_live(|live| match live {
            Liveness::Live(version) => {
                let Some(Ok(content)) = cache.remove(&version.version) else {
                    unreachable!("the engine chose a version whose bytes it read")
                };
                match page_url(policy, &page.path, content.front.slug.as_deref()) {
                    Ok(url) => Liveness::Live(Live {
                        version,
                        content,
                        url,
                    }),
                    Err((url, why)) => {
                        findings.push(Finding {
                            kind: FindingKind::InvalidPage,
                            page: Some(page.id.clone()),
                            detail: format!("its URL {url} can't be used: {why}; not published"),
                            file: Some(page.source.clone()),
                        });
                        Liveness::Offline(Offline::BadUrl { url, why })
                    }
                }
            }
            Liveness::Offline(Offline::Unavailable { version }) => {
                let (kind, why) = match cache.get(&version) {
                    Some(Err(FetchError::Store(e @ StoreError::Missing { .. }))) => {
                        (FindingKind::StoreMissing, e.to_string())
                    }
                    Some(Err(FetchError::Store(e))) => (FindingKind::StoreCorrupt, e.to_string()),
                    Some(Err(FetchError::Page(why))) => (FindingKind::InvalidPage, why.clone()),
                    _ => (FindingKind::StoreMissing, "unavailable".into()),
                };
                findings.push(Finding {
                    kind,
                    page: Some(page.id.clone()),
                    detail: format!(
                        "the published version {} can't be served: {why}; the page is offline (an older version does not come back)",
                        version.short()
                    ),
                    file: None,
                });
                Liveness::Offline(Offline::Unavailable { version })
            }
            Liveness::Offline(why) => Liveness::Offline(why),
            Liveness::Never => Liveness::Never,
        });
        let eval = PageEvaluation {
            page,
            records,
            judgement: Judgement::Reviewed(Box::new(review)),
        };
        (eval, findings)
    }
}

/// Names a page's URL may not use: they are the site's own files and folders at the root,
/// or would be replaced by the page's `index.html`.
const RESERVED_AT_ROOT: &[&str] = &[
    "index.html",
    "sitemap.xml",
    "search-index.json",
    "search-index.js",
    "search-index",
    "static",
    "robots.txt",
    "404.html",
    "_drafts",
    "_review",
];

/// `<publish_to>/<folders of the page>/<slug or last segment>/`, or why it can't be used:
/// every segment must be a plain name (no control characters, no `.`/`..`, no hidden
/// names, not `index.html`), and the first one none of the site's own root names.
pub fn page_url(
    policy: &Policy,
    page_path: &str,
    slug: Option<&str>,
) -> std::result::Result<String, (String, String)> {
    let (dirs, last) = match page_path.rsplit_once('/') {
        Some((d, l)) => (Some(d), l),
        None => (None, page_path),
    };
    let last = slug.unwrap_or(last);
    let url = match dirs {
        Some(d) => format!("{}/{d}/{last}/", policy.publish_to),
        None => format!("{}/{last}/", policy.publish_to),
    };
    // Checked before anything else: a name the filesystem can't hold would fail the whole
    // build when written (`File name too long`), not just this page.
    if let Some(why) = crate::trust::version::name_too_long(url.trim_end_matches('/')) {
        let shown: String = url.chars().take(64).collect();
        return Err((format!("{}…", shown.escape_debug()), why));
    }
    let segments: Vec<&str> = url.trim_end_matches('/').split('/').collect();
    for (i, segment) in segments.iter().enumerate() {
        let why = if segment.is_empty() || *segment == "." || *segment == ".." {
            Some("an empty, '.' or '..' segment".to_string())
        } else if segment.chars().any(|c| c.is_control()) {
            Some("a control character".into())
        } else if segment.starts_with('.') || segment.contains('\\') {
            Some(format!(
                "'{}' is hidden or holds a backslash",
                segment.escape_debug()
            ))
        } else if *segment == "index.html" || (i == 0 && RESERVED_AT_ROOT.contains(segment)) {
            Some(format!("'{segment}' is reserved for the site's own files"))
        } else {
            None
        };
        if let Some(why) = why {
            return Err((url.escape_debug().to_string(), why));
        }
    }
    Ok(url)
}

/// Two live pages may not share a URL (SPEC §7): the page whose own path gives the URL keeps
/// it, pages that claim it through `slug` go offline (`url_conflict`). Where no page owns it
/// by its path, or a space's index is there, every claimant goes offline: nobody chose a winner.
fn resolve_urls(pages: &mut [PageEvaluation], policies: &BTreeMap<String, Policy>) -> Vec<Finding> {
    let mut claims: BTreeMap<String, Vec<(usize, bool)>> = BTreeMap::new();
    for (i, p) in pages.iter().enumerate() {
        if let Some(live) = p.live() {
            let own =
                page_url(&policies[&p.page.space], &p.page.path, None).is_ok_and(|u| u == live.url);
            claims.entry(live.url.clone()).or_default().push((i, own));
        }
    }
    let space_index: BTreeMap<String, &str> = policies
        .values()
        .map(|p| (format!("{}/", p.publish_to), p.space.as_str()))
        .collect();
    let mut findings = Vec::new();
    for (url, claimants) in claims {
        let owners: Vec<usize> = claimants.iter().filter(|c| c.1).map(|c| c.0).collect();
        let (keeper, owner) = if let Some(space) = space_index.get(&url) {
            (None, format!("the index of space '{space}'"))
        } else if claimants.len() == 1 {
            continue;
        } else if owners.len() == 1 {
            (
                Some(owners[0]),
                format!("page {}", pages[owners[0]].page.id),
            )
        } else {
            (
                None,
                "no page by its own path (several claim it)".to_string(),
            )
        };
        for (i, _) in claimants.into_iter().filter(|c| Some(c.0) != keeper) {
            let p = &mut pages[i];
            findings.push(Finding {
                kind: FindingKind::UrlConflict,
                page: Some(p.page.id.clone()),
                detail: format!(
                    "its URL {url} belongs to {owner}; not published (change its slug)"
                ),
                file: Some(p.page.source.clone()),
            });
            p.take_offline(Offline::UrlConflict {
                url: url.clone(),
                owner: owner.clone(),
            });
        }
    }
    findings
}

/// Two spaces published to one folder would write one index twice: refused at load.
fn check_spaces_publish_apart(policies: &BTreeMap<String, Policy>) -> Result<()> {
    let mut seen: BTreeMap<&str, &Policy> = BTreeMap::new();
    for p in policies.values() {
        if let Some(other) = seen.insert(p.publish_to.as_str(), p) {
            return Err(Error::config(
                &p.file,
                "publish_to",
                format!(
                    "'{}' is also the publish_to of {}",
                    p.publish_to, other.file
                ),
            ));
        }
    }
    Ok(())
}

/// Why an approved version's bytes can't be used.
enum FetchError {
    Store(StoreError),
    Page(String),
}

/// `stale`, `escalation` and `review_due` (SPEC §5): reminders that only notify and report;
/// and `review_cancelled` (docs/workflow.md), the notice that an edit ended a review.
fn reminders(page: &str, review: &PageReview<Live>, policy: &Policy) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(c) = &review.cancelled {
        out.push(Finding {
            kind: FindingKind::ReviewCancelled,
            page: Some(page.to_string()),
            detail: format!(
                "the review of version {} (submitted by '{}' at {}, waiting in step '{}') was cancelled: the page was edited (edit_cancels_review); submit it again",
                c.version.short(),
                c.submitter,
                time::format_utc(&c.submitted_at),
                c.step
            ),
            file: None,
        });
    }
    if let Some(r) = &review.in_review {
        if let (Some(_), Some(days)) = (r.escalated_at, policy.escalate_after_days) {
            out.push(Finding {
                kind: FindingKind::Escalation,
                page: Some(page.to_string()),
                detail: format!(
                    "step '{}' has waited since {} (more than {days} days) on {}",
                    r.step,
                    time::format_utc(&r.stage_since),
                    r.waiting_on.join(", ")
                ),
                file: None,
            });
        }
        if let (Some(_), Some(days)) = (r.stale_at, policy.stale_after_days) {
            out.push(Finding {
                kind: FindingKind::Stale,
                page: Some(page.to_string()),
                detail: format!(
                    "version {} has been pending since {} (more than {days} days)",
                    r.version.short(),
                    time::format_utc(&r.submitted_at)
                ),
                file: None,
            });
        }
    }
    let Some(days) = policy.approval_expires_days else {
        return out;
    };
    match &review.live {
        Liveness::Live(live) if live.version.approval_expired() => out.push(Finding {
            kind: FindingKind::ReviewDue,
            page: Some(page.to_string()),
            detail: format!(
                "the live version {} was approved {} (more than {days} days ago): review it again",
                live.version.version.short(),
                time::format_utc(&live.version.approved_at)
            ),
            file: None,
        }),
        // Only an expired approval is a review that is due; a passed `expires_at` is the end
        // the writer chose.
        Liveness::Offline(Offline::Expired { approval: true, .. }) => out.push(Finding {
            kind: FindingKind::ReviewDue,
            page: Some(page.to_string()),
            detail: format!("the approval expired (approval_expires_days: {days}, on_expiry: unpublish); the page is offline until it is re-certified"),
            file: None,
        }),
        _ => {}
    }
    out
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
    // What the last build read (a build: see `cache::inputs`).
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
