//! Rendering the live versions into the public site (SPEC §7): Markdown to HTML, the template
//! contexts (site, space, navigation, page with its badge and approval history), search index
//! and sitemap. Only pages with a live version ever reach this module, so everything it
//! writes is about published versions only. Pages render in parallel; output is sorted.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::error::Result;
use crate::publish::links::{LinkSource, PublishedLinks};
use crate::publish::markdown::{self, LinkResolution, MarkdownOptions, TocEntry};
use crate::site::config::{HistoryComments, SiteConfig};
use crate::site::{Evaluation, PageEvaluation};
use crate::time;
use crate::trust::keyring::Keyring;
use crate::trust::policy::Policy;
use crate::trust::record::Kind;
use crate::trust::review::{
    LiveVersion, RecordNote, ReviewState, Status, VerifiedRecord, Versions,
};

/// One published page, with what navigation and indexes need of it.
pub struct PublishedPage<'a> {
    pub eval: &'a PageEvaluation,
    pub live: &'a LiveVersion,
    /// The live version's checked bytes.
    pub content: &'a crate::site::LiveContent,
    pub url: &'a str,
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub weight: i64,
    pub tags: &'a [String],
    /// The folder of the page inside its space ("" for pages at the space's top).
    pub section: String,
}

/// The published part of a site, grouped by space, in navigation order.
pub struct PublishedSite<'a> {
    pub spaces: Vec<PublishedSpace<'a>>,
    pub links: PublishedLinks,
}

pub struct PublishedSpace<'a> {
    pub policy: &'a Policy,
    pub url: String,
    pub sections: Vec<Section<'a>>,
    pub page_count: usize,
}

pub struct Section<'a> {
    pub folder: String,
    pub title: String,
    pub anchor: String,
    pub pages: Vec<PublishedPage<'a>>,
}

/// One page as a view shows it: the page, the version shown, its bytes and its URL.
pub type Shown<'a> = (
    &'a PageEvaluation,
    &'a LiveVersion,
    &'a crate::site::LiveContent,
    &'a str,
);

impl<'a> PublishedSite<'a> {
    /// The published site: every page with a live version, at its URL.
    pub fn collect(
        eval: &'a Evaluation,
        policies: &'a BTreeMap<String, Policy>,
    ) -> PublishedSite<'a> {
        PublishedSite::collect_from(
            eval.pages.iter().filter_map(|p| {
                p.live()
                    .map(|l| (p, &l.version, &*l.content, l.url.as_str()))
            }),
            policies,
        )
    }

    /// A site of exactly the pages given (the drafts view gives every page's current version).
    pub fn collect_from(
        shown: impl Iterator<Item = Shown<'a>>,
        policies: &'a BTreeMap<String, Policy>,
    ) -> PublishedSite<'a> {
        let mut links = PublishedLinks::default();
        let mut by_space: BTreeMap<&str, BTreeMap<String, Vec<PublishedPage<'a>>>> =
            BTreeMap::new();
        for (p, live, content, url) in shown {
            links.pages.insert(p.page.id.clone(), url.to_string());
            if p.page.bundle {
                links
                    .assets
                    .insert(p.page.id.clone(), content.assets.iter().cloned().collect());
            }
            let section = p
                .page
                .path
                .rsplit_once('/')
                .map_or(String::new(), |(d, _)| d.to_string());
            by_space
                .entry(p.page.space.as_str())
                .or_default()
                .entry(section.clone())
                .or_default()
                .push(PublishedPage {
                    eval: p,
                    live,
                    content,
                    url,
                    title: &content.front.title,
                    description: content.front.description.as_deref(),
                    weight: content.front.weight,
                    tags: &content.front.tags,
                    section,
                });
        }
        let mut spaces = Vec::new();
        for (space, sections) in by_space {
            let policy = &policies[space];
            let mut sections: Vec<Section> = sections
                .into_iter()
                .map(|(folder, mut pages)| {
                    pages.sort_by(|a, b| {
                        (a.weight, a.title, a.url).cmp(&(b.weight, b.title, b.url))
                    });
                    let title = if folder.is_empty() {
                        policy.title.clone()
                    } else {
                        folder_title(&folder)
                    };
                    let anchor = if folder.is_empty() {
                        "overview".to_string()
                    } else {
                        markdown::slugify(&folder)
                    };
                    Section {
                        folder,
                        title,
                        anchor,
                        pages,
                    }
                })
                .collect();
            // The space's own top-level pages first, then folders by their lightest page.
            sections.sort_by(|a, b| {
                let key = |s: &Section| {
                    (
                        !s.folder.is_empty(),
                        s.pages.iter().map(|p| p.weight).min(),
                        s.folder.clone(),
                    )
                };
                key(a).cmp(&key(b))
            });
            let page_count = sections.iter().map(|s| s.pages.len()).sum();
            spaces.push(PublishedSpace {
                policy,
                url: format!("{}/", policy.publish_to),
                sections,
                page_count,
            });
        }
        spaces.sort_by(|a, b| (&a.policy.title, &a.url).cmp(&(&b.policy.title, &b.url)));
        PublishedSite { spaces, links }
    }
}

/// `getting-started/first-steps` → `First steps` (the last folder, words capitalised once).
fn folder_title(folder: &str) -> String {
    let last = folder.rsplit('/').next().unwrap_or(folder);
    let words = last.replace(['-', '_'], " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `../` once per URL segment: from a page's folder back to the output root.
pub fn root_prefix(url: &str) -> String {
    "../".repeat(url.split('/').filter(|s| !s.is_empty()).count())
}

/// `site` in every template. Pages get the spaces without their page counts ([`SpaceLink`]),
/// so that a page's bytes do not change when a page is added to or removed from any space.
#[derive(Serialize)]
pub struct SiteContext<'a, S = SpaceSummary> {
    pub title: &'a str,
    pub base_url: &'a str,
    pub root: String,
    pub spaces: &'a [S],
}

/// A space as `page.html` sees it in `site.spaces`.
#[derive(Serialize, Clone)]
pub struct SpaceLink {
    pub id: String,
    pub title: String,
    pub url: String,
}

#[derive(Serialize, Clone)]
pub struct SpaceSummary {
    pub id: String,
    pub title: String,
    pub url: String,
    pub page_count: usize,
}

#[derive(Serialize)]
pub struct SpaceContext {
    pub id: String,
    pub title: String,
    pub url: String,
    pub page_count: usize,
    pub groups: Vec<GroupContext>,
}

#[derive(Serialize)]
pub struct GroupContext {
    pub title: String,
    pub anchor: String,
    pub pages: Vec<GroupPage>,
}

#[derive(Serialize)]
pub struct GroupPage {
    pub title: String,
    pub url: String,
    pub description: Option<String>,
    pub tags: Vec<String>,
}

#[derive(Serialize)]
pub struct NavSection {
    pub title: String,
    pub url: String,
    pub current: bool,
    pub pages: Vec<NavPage>,
}

#[derive(Serialize)]
pub struct NavPage {
    pub title: String,
    pub url: String,
    pub current: bool,
}

#[derive(Serialize)]
pub struct Badge {
    pub label: &'static str,
    pub class: &'static str,
}

#[derive(Serialize)]
pub struct Crumb {
    pub title: String,
    pub url: String,
}

/// One signed event of a published page's approval history.
#[derive(Serialize)]
pub struct HistoryEntry {
    pub kind: &'static str,
    /// What happened, for people: `Submitted`, `Resubmitted`, `Approved`, `Rejected`, ...
    pub label: &'static str,
    pub reviewer: String,
    pub reviewer_name: String,
    /// The role the signer gave; not on records of an earlier version.
    pub role: Option<String>,
    pub step: Option<String>,
    /// Only with `history: {comments: public}`, and only on records of the live version.
    pub comment: Option<String>,
    pub signed_at: String,
    pub key: String,
    /// The version the record was signed for, and its first 12 hex digits.
    pub version: String,
    pub short_version: String,
    /// Signed for an earlier version than the live one: a version that was never published
    /// (rejected, or replaced by a resubmission). The entry names its hash, never its text.
    pub earlier: bool,
}

#[derive(Serialize)]
pub struct PageContext<'a> {
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub html: String,
    pub toc: Vec<TocEntry>,
    pub status: Status,
    pub badge: Badge,
    pub version: String,
    pub short_version: String,
    pub approved_at: String,
    pub published_at: String,
    pub url: &'a str,
    pub tags: &'a [String],
    pub extra: &'a BTreeMap<String, serde_json::Value>,
    pub breadcrumbs: Vec<Crumb>,
    pub history: Vec<HistoryEntry>,
    /// When the live version is not the page's current one, where the current version
    /// stands (see [`newer_state`]); `None` when the page is up to date.
    pub newer: Option<&'static str>,
}

/// A rendered page body, with what the search index and reports need.
pub struct RenderedBody {
    pub html: String,
    pub toc: Vec<TocEntry>,
    pub text: String,
    pub unpublished_links: Vec<String>,
}

/// Calls `f` with the page's link resolver: links resolve relative to the page's source
/// file, and point from the page's URL back to the output root.
fn with_links<T>(
    page: &PublishedPage,
    links: &PublishedLinks,
    f: impl FnOnce(&dyn Fn(&str) -> LinkResolution) -> T,
) -> T {
    let root = root_prefix(page.url);
    let source = LinkSource {
        id: &page.eval.page.id,
        bundle: page.eval.page.bundle,
        root: &root,
    };
    f(&|dest| links.resolve(&source, dest))
}

/// [`with_links`], and the page's Markdown body: read again and checked when the bytes are
/// not held (an error naming the file when they changed since they were judged).
fn with_body_and_links<T>(
    page: &PublishedPage,
    links: &PublishedLinks,
    f: impl FnOnce(&str, &dyn Fn(&str) -> LinkResolution) -> T,
) -> Result<T> {
    let loaded = page.content.load()?;
    Ok(with_links(page, links, |resolve| f(loaded.body(), resolve)))
}

pub fn render_body(
    page: &PublishedPage,
    links: &PublishedLinks,
    config: &SiteConfig,
) -> Result<RenderedBody> {
    Ok(render_body_recording(page, links, config)?.0)
}

/// [`render_body`], and every link destination the Markdown asked to resolve, in order: with
/// the same Markdown, the same answers for those give the same body ([`link_resolutions`]).
pub fn render_body_recording(
    page: &PublishedPage,
    links: &PublishedLinks,
    config: &SiteConfig,
) -> Result<(RenderedBody, Vec<String>)> {
    let options = MarkdownOptions {
        raw_html_allowed: config.raw_html_allowed,
    };
    let asked = std::cell::RefCell::new(Vec::new());
    let r = with_body_and_links(page, links, |body, resolve| {
        markdown::render(body, &options, &|dest: &str| {
            asked.borrow_mut().push(dest.to_string());
            resolve(dest)
        })
    })?
    .map_err(|over| over_budget(page, over))?;
    let body = RenderedBody {
        html: r.html,
        toc: r.toc,
        text: r.text,
        unpublished_links: r.unpublished_links,
    };
    Ok((body, asked.into_inner()))
}

/// How each of `dests`, written in the page's Markdown, resolves in this build.
pub fn link_resolutions(
    page: &PublishedPage,
    links: &PublishedLinks,
    dests: &[String],
) -> Vec<LinkResolution> {
    with_links(page, links, |resolve| {
        dests.iter().map(|d| resolve(d)).collect()
    })
}

/// The links of a published page whose targets are not published, without rendering HTML.
pub fn unpublished_links(page: &PublishedPage, links: &PublishedLinks) -> Result<Vec<String>> {
    with_body_and_links(page, links, markdown::unpublished_links)?
        .map_err(|over| over_budget(page, over))
}

/// A page over its rendering budget that reached the renderer. Never for a judged page (its
/// bytes were checked against the same budget when read, and made it an `invalid_page`), so
/// this is a defect, and stops the build rather than publish a site without it.
fn over_budget(page: &PublishedPage, over: crate::site::budget::OverBudget) -> crate::error::Error {
    crate::error::Error::InvalidPage {
        why: format!("{}: it can't be rendered: {over}", page.eval.page.source),
    }
}

pub fn badge(status: Status) -> Badge {
    match status {
        Status::Outdated => Badge {
            label: "Outdated",
            class: "outdated",
        },
        Status::Expired => Badge {
            label: "Expired",
            class: "expired",
        },
        _ => Badge {
            label: "Published",
            class: "published",
        },
    }
}

/// The approval history of a published page: the records that counted for its live version
/// (approvals carried over from an earlier version by a resumed review included), and before
/// them the path that led to it — each earlier submission and the rejection or retraction
/// that ended it — back to the previous approved version or publication. Records of earlier
/// versions name their version's hash, step, reviewer, key, time and kind; never a comment,
/// which may quote text that was never published, nor a role. Comments of the live version's records appear
/// only with `history: {comments: public}`.
pub fn history(
    page: &PublishedPage,
    keyring: &Keyring,
    comments: HistoryComments,
) -> Vec<HistoryEntry> {
    let live = page.live;
    let records = &page.eval.records;
    let Some(review) = page.eval.review() else {
        return entries(live, records, &live.history, keyring, comments);
    };
    let mut chosen: BTreeSet<usize> = live.history.iter().copied().collect();
    chosen.extend(path_before(
        live,
        records,
        &review.order,
        &review.notes,
        &review.versions,
    ));
    // The engine's replay order: by signing time, then file name.
    let position: BTreeMap<usize, usize> = review
        .order
        .iter()
        .enumerate()
        .map(|(pos, &i)| (i, pos))
        .collect();
    let mut ordered: Vec<usize> = chosen.into_iter().collect();
    ordered.sort_by_key(|i| position.get(i).copied().unwrap_or(usize::MAX));
    entries(live, records, &ordered, keyring, comments)
}

/// The counted submits, rejections and retractions before the live version's first submit,
/// back to the previous approved version or publication: the rounds of review that ended
/// without an approval on the way to the live version.
fn path_before(
    live: &LiveVersion,
    records: &[VerifiedRecord],
    order: &[usize],
    notes: &[RecordNote],
    versions: &Versions,
) -> Vec<usize> {
    let counted: BTreeSet<usize> = notes
        .iter()
        .filter(|n| n.counted)
        .map(|n| n.index)
        .collect();
    let first_submit = order.iter().position(|&i| {
        let r = &records[i].record;
        live.history.contains(&i) && r.kind == Kind::Submit && r.version == live.version
    });
    let Some(start) = first_submit else {
        return Vec::new();
    };
    let mut path = Vec::new();
    for &i in order[..start].iter().rev() {
        if !counted.contains(&i) {
            continue;
        }
        let r = &records[i].record;
        let approved_earlier = r.version != live.version
            && versions
                .get(&r.version)
                .is_some_and(|v| v.approval().is_some());
        if matches!(r.kind, Kind::Publish | Kind::Unpublish) || approved_earlier {
            break;
        }
        if matches!(r.kind, Kind::Submit | Kind::Reject | Kind::Retract) {
            path.push(i);
        }
    }
    path
}

fn entries(
    live: &LiveVersion,
    records: &[VerifiedRecord],
    ordered: &[usize],
    keyring: &Keyring,
    comments: HistoryComments,
) -> Vec<HistoryEntry> {
    let mut submitted = false;
    ordered
        .iter()
        .map(|&i| {
            let r = &records[i].record;
            let earlier = r.version != live.version;
            let label = match r.kind {
                Kind::Submit if submitted => "Resubmitted",
                Kind::Submit => "Submitted",
                Kind::Approve if r.overrides() => "Approved by override",
                Kind::Approve => "Approved",
                Kind::Reject if r.discards() => "Rejected and discarded",
                Kind::Reject => "Rejected",
                Kind::Publish => "Published",
                Kind::Unpublish => "Unpublished",
                Kind::Retract => "Retracted",
                Kind::Assign => "Reviewers assigned",
            };
            submitted |= r.kind == Kind::Submit;
            let public = comments.shows(&r.version, &live.version);
            HistoryEntry {
                kind: r.kind.as_str(),
                label,
                reviewer: r.reviewer.clone(),
                reviewer_name: keyring.name_of(&r.reviewer),
                // A role is words the signer chose, as a comment is: of an earlier version,
                // only the hash, step, reviewer, key, time and kind.
                role: r.role.clone().filter(|_| !earlier),
                step: r.step.clone(),
                comment: r.comment.clone().filter(|_| public),
                signed_at: time::format_human(&r.signed_at),
                key: r.key.clone(),
                version: r.version.to_string(),
                short_version: r.version.short().to_string(),
                earlier,
            }
        })
        .collect()
}

/// Where the page's current version stands when it is not the live one, for the "Outdated"
/// notice: `pending` (in review), `rejected` (rejected or discarded), `scheduled` (approved,
/// `publish_at` to come), `approved` (approved, or published for another audience, but not
/// live here) or `draft` (not submitted, or withdrawn). Only a state: nothing of the newer
/// version's text, title or schedule.
pub fn newer_state(page: &PublishedPage) -> Option<&'static str> {
    let review = page.eval.review()?;
    if review.current == page.live.version {
        return None;
    }
    Some(match review.current_state {
        ReviewState::Pending => "pending",
        ReviewState::Rejected | ReviewState::Discarded => "rejected",
        ReviewState::Scheduled => "scheduled",
        ReviewState::Approved | ReviewState::Published => "approved",
        ReviewState::Draft | ReviewState::Retracted => "draft",
    })
}

pub fn space_context(space: &PublishedSpace) -> SpaceContext {
    SpaceContext {
        id: space.policy.space.clone(),
        title: space.policy.title.clone(),
        url: space.url.clone(),
        page_count: space.page_count,
        groups: space
            .sections
            .iter()
            .map(|s| GroupContext {
                title: s.title.clone(),
                anchor: s.anchor.clone(),
                pages: s
                    .pages
                    .iter()
                    .map(|p| GroupPage {
                        title: p.title.to_string(),
                        url: p.url.to_string(),
                        description: p.description.map(String::from),
                        tags: p.tags.to_vec(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// At most this many pages of the current section in a page's sidebar: the ones around the
/// page itself. The section's title links to its full list on the space's index page.
pub const NAV_PAGES: usize = 40;

/// Where the pages shown of a section of `len` pages start and end, for its page at `at`:
/// [`NAV_PAGES`] around it (fewer only when the section has fewer).
pub fn nav_window(len: usize, at: usize) -> std::ops::Range<usize> {
    let start = at
        .saturating_sub(NAV_PAGES / 2)
        .min(len.saturating_sub(NAV_PAGES));
    start..(start + NAV_PAGES).min(len)
}

/// The sidebar of one page: every section of its space, only the current one expanded, and
/// that one to at most [`NAV_PAGES`] pages around the current page (see [`nav_window`]), so a
/// page's size does not grow with the size of its space or its section (a sidebar of every
/// page of a 1,000-page section made 100,000 pages weigh 24 GB).
pub fn nav(space: &PublishedSpace, current: &PublishedPage) -> Vec<NavSection> {
    space
        .sections
        .iter()
        .map(|s| {
            let is_current = s.folder == current.section;
            let shown = if is_current {
                let at = s
                    .pages
                    .iter()
                    .position(|p| p.url == current.url)
                    .unwrap_or(0);
                &s.pages[nav_window(s.pages.len(), at)]
            } else {
                &[][..]
            };
            NavSection {
                title: s.title.clone(),
                url: format!("{}#{}", space.url, s.anchor),
                current: is_current,
                pages: shown
                    .iter()
                    .map(|p| NavPage {
                        title: p.title.to_string(),
                        url: p.url.to_string(),
                        current: p.url == current.url,
                    })
                    .collect(),
            }
        })
        .collect()
}

pub fn breadcrumbs(space: &PublishedSpace, page: &PublishedPage) -> Vec<Crumb> {
    let mut crumbs = vec![
        Crumb {
            title: "Home".into(),
            url: String::new(),
        },
        Crumb {
            title: space.policy.title.clone(),
            url: space.url.clone(),
        },
    ];
    if let Some(s) = space
        .sections
        .iter()
        .find(|s| s.folder == page.section && !s.folder.is_empty())
    {
        crumbs.push(Crumb {
            title: s.title.clone(),
            url: format!("{}#{}", space.url, s.anchor),
        });
    }
    crumbs
}

#[derive(Clone, Serialize)]
pub struct SearchEntry<'a> {
    pub title: &'a str,
    pub url: &'a str,
    pub space: &'a str,
    pub description: Option<&'a str>,
    pub tags: &'a [String],
    pub text: std::sync::Arc<str>,
    /// The key of the Markdown inputs `text` was made from, when known (the render memo's):
    /// the search index's inputs are digested by it instead of by every page's text.
    #[serde(skip)]
    pub text_key: Option<String>,
}

#[derive(Serialize)]
pub struct SearchIndex<'e, 'a> {
    pub pages: &'e [SearchEntry<'a>],
}

/// How much of a page's text goes into the search index: enough to find it by its opening,
/// small enough that the index of a 10,000-page site still loads in a browser.
pub const SEARCH_TEXT_CHARS: usize = 1500;

pub fn search_text(text: &str) -> String {
    match text.char_indices().nth(SEARCH_TEXT_CHARS) {
        Some((cut, _)) => text[..cut].to_string(),
        None => text.to_string(),
    }
}

/// `sitemap.xml` with absolute URLs; `entries` are (URL relative to the root, last change).
pub fn sitemap(base_url: &str, entries: &[(String, Option<String>)]) -> String {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
    for (url, lastmod) in entries {
        xml.push_str("  <url><loc>");
        xml.push_str(&escape_xml(&format!("{base_url}{url}")));
        xml.push_str("</loc>");
        if let Some(m) = lastmod {
            xml.push_str("<lastmod>");
            xml.push_str(m);
            xml.push_str("</lastmod>");
        }
        xml.push_str("</url>\n");
    }
    xml.push_str("</urlset>\n");
    xml
}

fn escape_xml(text: &str) -> String {
    crate::escape::xml(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_titles_and_sitemaps() {
        assert_eq!(root_prefix(""), "");
        assert_eq!(root_prefix("kb/"), "../");
        assert_eq!(root_prefix("kb/guide/install/"), "../../../");
        assert_eq!(folder_title("guides/getting-started"), "Getting started");
        let xml = sitemap(
            "https://h.example/",
            &[("kb/a&b/".into(), Some("2026-11-20".into()))],
        );
        assert!(
            xml.contains("<loc>https://h.example/kb/a&amp;b/</loc><lastmod>2026-11-20</lastmod>")
        );
        assert_eq!(
            search_text(&"é".repeat(2000)).chars().count(),
            SEARCH_TEXT_CHARS
        );
    }
}
