//! A whole site, loaded and judged at one instant. `Site::load` reads the config, keyring,
//! policies, pages and records (configuration errors stop here, exit 1); `Site::evaluate`
//! verifies every record, runs the review engine for every page in parallel, and fetches the
//! bytes of each live version, hash-checked. Everything after this — rendering, reports —
//! reads the `Evaluation` and never re-decides what is approved.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;

use crate::config::SiteConfig;
use crate::content::{self, FrontMatter, InvalidPage, Page};
use crate::error::{Error, Result};
use crate::keyring::Keyring;
use crate::policy::{self, Policy};
use crate::record::{self, RecordFileParsed};
use crate::review::{self, FindingKind, PageInput, PageReview, VerifiedRecord, VersionMeta};
use crate::store::{Store, StoreError, VersionFiles};
use crate::time::{self, Instant};
use crate::version::Version;

pub struct Site {
    pub config: SiteConfig,
    pub keyring: Keyring,
    pub policies: BTreeMap<String, Policy>,
    pub pages: Vec<Page>,
    /// What stands in `content/` where a page would, but has no version: never published.
    pub invalid_pages: Vec<InvalidPage>,
    pub records: Vec<RecordFile>,
    pub store: Store,
}

/// One file under `approvals/records/`, parsed or not.
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
    /// `stale`, `escalation` and `review_due` are reminders about people, not defects.
    pub fn is_defect(&self) -> bool {
        !matches!(
            self.kind,
            FindingKind::Stale | FindingKind::Escalation | FindingKind::ReviewDue
        )
    }
}

/// The bytes of a live version, with its parsed front matter and body.
#[derive(Debug, Clone)]
pub struct LiveContent {
    pub files: Arc<VersionFiles>,
    pub front: FrontMatter,
    /// Where the Markdown body starts in `files.markdown`, after the front matter.
    body_start: usize,
}

impl LiveContent {
    fn parse(files: Arc<VersionFiles>) -> std::result::Result<LiveContent, String> {
        let (front, body) = content::parse_page(&files.markdown)?;
        let body_start = files.markdown.len() - body.len();
        Ok(LiveContent {
            front,
            body_start,
            files,
        })
    }

    /// The Markdown body (front matter removed).
    pub fn body(&self) -> &str {
        std::str::from_utf8(&self.files.markdown[self.body_start..])
            .expect("parse_page checked UTF-8")
    }
}

/// One page, judged.
pub struct PageEvaluation {
    pub page: Page,
    pub policy: Option<String>,
    /// Front matter of the current draft (its error, if it has none usable).
    pub front: std::result::Result<FrontMatter, String>,
    /// The page's verified records; `review` indices point into this.
    pub records: Vec<VerifiedRecord>,
    pub review: Option<PageReview>,
    pub live: Option<LiveContent>,
    /// Where the live version is published, relative to the output root (`kb/install/`).
    pub url: Option<String>,
}

pub struct Evaluation {
    pub now: Instant,
    pub audiences: Vec<String>,
    pub pages: Vec<PageEvaluation>,
    pub invalid_records: Vec<(String, String)>,
    pub findings: Vec<Finding>,
}

impl Site {
    pub fn load(root: &std::path::Path) -> Result<Site> {
        let config = SiteConfig::load(root)?;
        let keyring = Keyring::load(&config.keyring_file())?;
        let policies = policy::load_all(&config.policies_dir(), &keyring)?;
        let content::Scan {
            pages,
            invalid: invalid_pages,
        } = content::scan(&config.content_dir(), &config.root)?;
        let records = load_records(&config)?;
        let store = Store::new(config.store_dir());
        Ok(Site {
            config,
            keyring,
            policies,
            pages,
            invalid_pages,
            records,
            store,
        })
    }

    pub fn page(&self, id: &str) -> Option<&Page> {
        self.pages
            .binary_search_by(|p| p.id.as_str().cmp(id))
            .ok()
            .map(|i| &self.pages[i])
    }

    /// Judges every page at `now` for `audience`. Pure apart from reading the store.
    pub fn evaluate(&self, now: Instant, audiences: &[String]) -> Evaluation {
        let mut invalid_records = Vec::new();
        let mut findings = Vec::new();
        let checked: Vec<std::result::Result<VerifiedRecord, (String, String)>> = self
            .records
            .par_iter()
            .map(|f| match &f.parsed {
                Err(why) => Err((f.file.clone(), why.clone())),
                Ok(parsed) => match record::check(parsed, &self.keyring, &now) {
                    Ok(()) => Ok(VerifiedRecord {
                        file: f.file.clone(),
                        record: parsed.record.clone(),
                    }),
                    Err(why) => Err((f.file.clone(), why)),
                },
            })
            .collect();
        let mut by_page: BTreeMap<String, Vec<VerifiedRecord>> = BTreeMap::new();
        for c in checked {
            match c {
                Ok(v) => by_page.entry(v.record.content.clone()).or_default().push(v),
                Err((file, why)) => {
                    findings.push(Finding {
                        kind: FindingKind::InvalidRecord,
                        page: None,
                        detail: why.clone(),
                        file: Some(file.clone()),
                    });
                    invalid_records.push((file, why));
                }
            }
        }
        for p in &self.invalid_pages {
            findings.push(Finding {
                kind: FindingKind::InvalidPage,
                page: Some(p.id.clone()),
                detail: p.why.clone(),
                file: Some(p.source.clone()),
            });
        }
        let page_ids: BTreeSet<&str> = self.pages.iter().map(|p| p.id.as_str()).collect();
        for (id, records) in &by_page {
            if !page_ids.contains(id.as_str()) {
                for r in records {
                    findings.push(Finding {
                        kind: FindingKind::OrphanRecord,
                        page: Some(id.clone()),
                        detail: format!(
                            "a {} record about a page that is not in content/",
                            r.record.kind
                        ),
                        file: Some(r.file.clone()),
                    });
                }
            }
        }
        let spaces_without_policy: BTreeSet<&str> = self
            .pages
            .iter()
            .map(|p| p.space.as_str())
            .filter(|s| !self.policies.contains_key(*s))
            .collect();
        for space in spaces_without_policy {
            findings.push(Finding {
                kind: FindingKind::NoPolicy,
                page: None,
                detail: format!("space '{space}' has no approvals/policies/{space}.yaml: none of its pages is published"),
                file: None,
            });
        }

        // Each page takes its own records (moved, not copied).
        let per_page: Vec<(&Page, Vec<VerifiedRecord>)> = self
            .pages
            .iter()
            .map(|p| (p, by_page.remove(&p.id).unwrap_or_default()))
            .collect();
        let evaluated: Vec<(PageEvaluation, Vec<Finding>)> = per_page
            .into_par_iter()
            .map(|(page, records)| self.evaluate_page(page.clone(), records, now, audiences))
            .collect();
        let mut pages = Vec::with_capacity(evaluated.len());
        for (p, f) in evaluated {
            pages.push(p);
            findings.extend(f);
        }
        // Two live pages may not share a URL: the one with the greater id stays offline.
        let mut taken: BTreeMap<String, String> = BTreeMap::new();
        for p in &mut pages {
            let Some(url) = p.url.clone() else { continue };
            if let Some(owner) = taken.get(&url) {
                findings.push(Finding {
                    kind: FindingKind::InvalidPage,
                    page: Some(p.page.id.clone()),
                    detail: format!("its URL {url} is already taken by page {owner}; not published (change its slug)"),
                    file: Some(p.page.source.clone()),
                });
                p.url = None;
                p.live = None;
            } else {
                taken.insert(url, p.page.id.clone());
            }
        }
        for p in &pages {
            if let (Some(review), Some(policy)) = (
                &p.review,
                p.policy.as_ref().and_then(|s| self.policies.get(s)),
            ) {
                findings.extend(reminders(&p.page.id, review, policy));
            }
        }
        findings.sort();
        invalid_records.sort();
        Evaluation {
            now,
            audiences: audiences.to_vec(),
            pages,
            invalid_records,
            findings,
        }
    }

    /// Judges one page alone (what the signing commands check before they sign).
    pub fn evaluate_one(&self, id: &str, now: Instant) -> Option<PageEvaluation> {
        let page = self.page(id)?.clone();
        let records = self
            .records
            .iter()
            .filter_map(|f| f.parsed.as_ref().ok().map(|p| (f, p)))
            .filter(|(_, p)| {
                p.record.content == id && record::check(p, &self.keyring, &now).is_ok()
            })
            .map(|(f, p)| VerifiedRecord {
                file: f.file.clone(),
                record: p.record.clone(),
            })
            .collect();
        Some(
            self.evaluate_page(page, records, now, &self.config.audiences)
                .0,
        )
    }

    fn evaluate_page(
        &self,
        page: Page,
        records: Vec<VerifiedRecord>,
        now: Instant,
        audiences: &[String],
    ) -> (PageEvaluation, Vec<Finding>) {
        let mut findings = Vec::new();
        let front = content::parse_page(&page.files.markdown).map(|(f, _)| f);
        if let Err(why) = &front {
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
                policy: None,
                front,
                records,
                review: None,
                live: None,
                url: None,
            };
            return (eval, findings);
        };
        // Each version's bytes are fetched at most once: from the draft when it is that
        // version, else from the store, checked against the version hash.
        type Fetched = std::result::Result<LiveContent, FetchError>;
        let fetched: RefCell<BTreeMap<Version, Fetched>> = RefCell::new(BTreeMap::new());
        let fetch = |v: &Version| -> Option<VersionMeta> {
            let mut cache = fetched.borrow_mut();
            let entry = cache.entry(v.clone()).or_insert_with(|| {
                let files = if *v == page.version {
                    Arc::clone(&page.files)
                } else {
                    Arc::new(self.store.get_version(v).map_err(FetchError::Store)?)
                };
                LiveContent::parse(files).map_err(FetchError::Page)
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
        for v in &review.unavailable {
            let (kind, why) = match cache.get(v) {
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
                detail: format!("approved version {} can't be published: {why}", v.short()),
                file: None,
            });
        }
        let live = review
            .live
            .as_ref()
            .and_then(|l| cache.remove(&l.version))
            .and_then(|r| r.ok());
        let url = live
            .as_ref()
            .map(|l| page_url(policy, &page.path, l.front.slug.as_deref()));
        let eval = PageEvaluation {
            page,
            policy: Some(policy.space.clone()),
            front,
            records,
            review: Some(review),
            live,
            url,
        };
        (eval, findings)
    }
}

/// `<publish_to>/<folders of the page>/<slug or last segment>/`.
pub fn page_url(policy: &Policy, page_path: &str, slug: Option<&str>) -> String {
    let (dirs, last) = match page_path.rsplit_once('/') {
        Some((d, l)) => (Some(d), l),
        None => (None, page_path),
    };
    let last = slug.unwrap_or(last);
    match dirs {
        Some(d) => format!("{}/{d}/{last}/", policy.publish_to),
        None => format!("{}/{last}/", policy.publish_to),
    }
}

/// Why an approved version's bytes can't be used.
enum FetchError {
    Store(StoreError),
    Page(String),
}

/// `stale`, `escalation` and `review_due` (SPEC §5): reminders that only notify and report.
fn reminders(page: &str, review: &PageReview, policy: &Policy) -> Vec<Finding> {
    let mut out = Vec::new();
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
    if let (Some(live), Some(days)) = (&review.live, policy.approval_expires_days) {
        if live.approval_expired() {
            out.push(Finding {
                kind: FindingKind::ReviewDue,
                page: Some(page.to_string()),
                detail: format!(
                    "the live version {} was approved {} (more than {days} days ago): review it again",
                    live.version.short(),
                    time::format_utc(&live.approved_at)
                ),
                file: None,
            });
        }
    }
    if let Some(days) = policy.approval_expires_days {
        if review.live.is_none() && review.status == review::Status::Expired {
            out.push(Finding {
                kind: FindingKind::ReviewDue,
                page: Some(page.to_string()),
                detail: format!("the approval expired (approval_expires_days: {days}) or expires_at passed; the page is offline"),
                file: None,
            });
        }
    }
    out
}

/// Reads every `*.yaml`/`*.yml` under `approvals/records/`, in parallel, sorted by path.
fn load_records(config: &SiteConfig) -> Result<Vec<RecordFile>> {
    let dir = config.records_dir();
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut paths = Vec::new();
    for entry in walkdir::WalkDir::new(&dir).sort_by_file_name() {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(&dir).to_path_buf();
            Error::io(path, e.into())
        })?;
        let name = entry.file_name().to_string_lossy();
        if entry.file_type().is_file()
            && !name.starts_with('.')
            && (name.ends_with(".yaml") || name.ends_with(".yml"))
        {
            paths.push(entry.into_path());
        }
    }
    paths
        .par_iter()
        .map(|path| {
            let file = config.display_path(path);
            let parsed = match std::fs::read(path) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(text) => record::parse(&text),
                    Err(_) => Err("not UTF-8 text".into()),
                },
                Err(e) => return Err(Error::io(path, e)),
            };
            Ok(RecordFile { file, parsed })
        })
        .collect()
}
