//! What a judgement is made of: each page's `Judgement` (a review, or no policy), its live
//! version with the checked bytes and URL, and the whole site's `Evaluation` that rendering,
//! reports and notifications read and never re-decide. `Site::evaluate` (in `evaluate`)
//! makes them.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::content::{FrontMatter, Page};
use crate::error::Result;
use crate::time::{self, Instant};
use crate::trust::review::{
    FindingKind, LiveVersion, Liveness, Offline, PageReview, Status, VerifiedRecord,
};
use crate::trust::store::VersionFiles;

use super::{budget, content, counted, Finding};

/// A version's parsed front matter, with where its bytes are.
#[derive(Debug, Clone)]
pub struct LiveContent {
    pub bytes: content::VersionSource,
    pub front: FrontMatter,
    /// The paths of the bundle's files other than `index.md` (none for a file page).
    pub assets: Vec<String>,
    /// Where the Markdown body starts, after the front matter.
    pub(super) body_start: usize,
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

    pub(super) fn take_offline(&mut self, why: Offline) {
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
        let aliases = self.alias_urls();
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
                // Moved to a new source: an approved alias of a live page keeps its URL.
                (None, None) if aliases.contains(url.as_str()) => continue,
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

    /// The aliases of the live pages (their live versions' `aliases`, each an old URL that
    /// redirects to the page), by alias URL: the page id and the URL it redirects to. An
    /// alias that is the page's own URL is none.
    pub fn aliases(&self) -> BTreeMap<&str, (&str, &str)> {
        let mut aliases = BTreeMap::new();
        for p in &self.pages {
            if let Some(live) = p.live() {
                for alias in &live.content.front.aliases {
                    if *alias != live.url {
                        aliases.insert(alias.as_str(), (p.page.id.as_str(), live.url.as_str()));
                    }
                }
            }
        }
        aliases
    }

    fn alias_urls(&self) -> std::collections::BTreeSet<&str> {
        self.aliases().into_keys().collect()
    }

    /// URLs the previous build served (`previous`: URL → the id of the page it belonged to,
    /// its own URL or an alias of it) that this judgement serves nothing at — no live page and
    /// no alias — while that page is still published: each a `url_removed` finding, which
    /// fails `--strict`, naming the page and where it is now. A page that is not live any more
    /// is not one: its removal is a takedown or an expiry someone signed, or `went_offline`.
    ///
    /// `previous` is read from the last build's folder, which whoever can write `output/` can
    /// write too: a URL added there can only make a spurious finding (a failed strict build),
    /// one removed only a missed warning. Nothing here decides what is published.
    pub fn url_removed(&self, previous: &BTreeMap<String, String>) -> Vec<Finding> {
        let mut served: std::collections::BTreeSet<&str> = self.alias_urls();
        served.extend(
            self.pages
                .iter()
                .filter_map(|p| p.live())
                .map(|l| l.url.as_str()),
        );
        let mut findings = Vec::new();
        for (url, id) in previous {
            if served.contains(url.as_str()) {
                continue;
            }
            let Some(live) = self.page(id).and_then(PageEvaluation::live) else {
                continue;
            };
            findings.push(Finding {
                kind: FindingKind::UrlRemoved,
                page: Some(id.clone()),
                detail: format!(
                    "{url} was live in the previous build and serves nothing now; the page is at {} (add `aliases: [{url}]` to its front matter to keep the old URL working)",
                    live.url
                ),
                file: self.page(id).map(|p| p.page.source.clone()),
            });
        }
        findings
    }
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
