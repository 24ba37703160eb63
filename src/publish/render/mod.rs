//! Rendering the live versions into the public site (SPEC §7): the published site collected
//! from the judgement (spaces, sections, pages at their URLs) and each page's Markdown made
//! HTML here; the files of the site, one job to a file below (see the list of modules). Only
//! pages with a live version reach the published view, so everything it writes is about
//! published versions only. Pages render in parallel; output is sorted.

use std::collections::BTreeMap;

use crate::error::Result;
use crate::publish::links::{LinkSource, PublishedLinks};
use crate::publish::markdown::{self, LinkResolution, MarkdownOptions, TocEntry};
use crate::site::config::SiteConfig;
use crate::site::{Evaluation, PageEvaluation};
use crate::trust::policy::Policy;
use crate::trust::review::LiveVersion;

// The renderer and its files, by job: the pages, the indexes (home, spaces), the sitemap,
// the search index's entries, the Atom feeds, the redirects of aliases, the drafts view; and the view models the templates see.
mod drafts;
mod feed;
mod indexes;
mod not_found;
mod pages;
mod redirects;
mod search_index;
mod sitemap;
mod views;

pub use drafts::{submit_command, DraftBanner, Drafts};
pub use not_found::NOT_FOUND_PAGE;
pub use pages::{broken_links_of, Progress, Renderer, Sink};
pub use redirects::previous_urls;
pub use search_index::{is_search_file, search_text, SearchEntry, SearchIndex};
pub use sitemap::sitemap;
pub use views::{
    badge, breadcrumbs, history, nav, nav_window, newer_state, space_context, NavSection,
    PageContext, SiteContext, SpaceLink, SpaceSummary,
};

#[cfg(test)]
mod tests;

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
