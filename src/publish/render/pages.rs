//! Every file of a rendered site, from one judged site: the home page, space indexes, pages
//! with their assets, search index, sitemap and theme files. `build` renders them all into a
//! staging folder; `serve` renders one on request, by its path, with the same functions, so
//! the preview and the published site can't differ by a byte.
//!
//! Two views: `Published` (only live versions; what `output/` holds) and `Drafts` (every
//! page at its current version, each under a banner saying it is not approved, `noindex`, no
//! sitemap) for previews, which never reach `output/`.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;

use super::drafts::{DraftBanner, Drafts};
use super::search_index::search_entry;
use super::{
    PublishedPage, PublishedSite, PublishedSpace, SearchEntry, SiteContext, SpaceLink, SpaceSummary,
};
use crate::cache::render_memo::{self, GroupMemo, PageMemo};
use crate::error::{Error, Result};
use crate::publish::markdown::LinkResolution;
use crate::publish::output::Fill;
use crate::publish::theme::Theme;
use crate::site::{Evaluation, Finding, Site};
use crate::trust::review::{FindingKind, Status};
use crate::trust::version::hash_part;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// What `build` publishes: live versions only.
    Published,
    /// Every page at its current version, marked as not approved: for previews only.
    Drafts,
}

/// Where rendered files go: a staging folder, or memory. A sink that [`Sink::remembers`]
/// keeps what a build rendered for the next one (`render_memo`), and may offer it back.
pub trait Sink: Sync {
    fn write(&self, rel: &str, bytes: &[u8]) -> Result<()>;

    /// [`Sink::write`] of the bytes `fill` writes, for a file too big to hold at once.
    fn write_with(&self, rel: &str, fill: &Fill) -> Result<()> {
        let mut bytes = Vec::new();
        fill(&mut bytes).map_err(|e| Error::io(rel, e))?;
        self.write(rel, &bytes)
    }

    /// Whether pages and groups of files are offered by the digest of their inputs.
    fn remembers(&self) -> bool {
        false
    }

    /// What the last build remembered of the page at `rel`, if anything.
    fn recall(&self, _rel: &str) -> Option<&PageMemo> {
        None
    }

    /// Keeps the file `rel` as the last build rendered it from inputs with this digest, if
    /// the sink can vouch that it did and still holds those bytes; `false`: render it.
    fn reuse(&self, _rel: &str, _inputs: &str) -> bool {
        false
    }

    /// [`Sink::write`] of a page, with what it was rendered from.
    fn write_rendered(&self, rel: &str, _memo: Option<PageMemo>, bytes: &[u8]) -> Result<()> {
        self.write(rel, bytes)
    }

    /// Keeps a group of files made from inputs with this digest, as [`Sink::reuse`] does a
    /// page: the number of files kept, or `None`.
    fn reuse_group(&self, _name: &str, _inputs: &str) -> Option<usize> {
        None
    }

    /// Remembers the files of a group, each already written or kept, with the digest of its
    /// inputs and its inputs one by one (`parts`, sorted by name, each with its digest).
    fn remember_group(
        &self,
        _name: &str,
        _inputs: Option<String>,
        _files: &[String],
        _parts: Vec<(String, [u8; 32])>,
    ) {
    }

    /// What the last build remembered of the group `name`, if the sink still holds every
    /// file of it: what a group is patched from when only some of its inputs changed.
    fn group_before(&self, _name: &str) -> Option<&GroupMemo> {
        None
    }

    /// The bytes of a file of [`Sink::group_before`], if they are still exactly those of
    /// hash `hash`.
    fn read_before(&self, _rel: &str, _hash: &str) -> Option<Vec<u8>> {
        None
    }

    /// Keeps a file of [`Sink::group_before`] with the bytes of hash `hash` as it is, as if
    /// written again: `false` when it can't.
    fn keep_before(&self, _rel: &str, _hash: &str) -> bool {
        false
    }
}

/// The whole context of `page.html`: what a page's bytes are a function of, with the theme.
#[derive(Serialize)]
pub(super) struct PageTemplate<'a> {
    site: SiteContext<'a, SpaceLink>,
    space: SpaceRef<'a>,
    /// Left out of the digest of a page's inputs, which takes the page's [`NavDigests::page`]
    /// and its section and URL instead (what `nav` makes it from).
    #[serde(skip_serializing_if = "Option::is_none")]
    nav: Option<Vec<super::NavSection>>,
    page: super::PageContext<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    noindex: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    draft: Option<DraftBanner>,
}

#[derive(Serialize)]
struct SpaceRef<'a> {
    id: &'a str,
    title: &'a str,
    url: &'a str,
}

use crate::progress::Phase;
/// Whoever watches a build: the pages it is about to render (`Phase::Render`), and each one
/// rendered, from many threads.
pub use crate::progress::Progress;

/// What rendering one page yields besides its HTML.
pub struct PageResult<'a> {
    pub search: SearchEntry<'a>,
    pub sitemap: (String, Option<String>),
    pub broken: Vec<Finding>,
}

/// A site ready to render, file by file.
pub struct Renderer<'a> {
    pub(super) site: &'a Site,
    pub(super) theme: &'a Theme,
    pub(super) view: View,
    pub(super) published: PublishedSite<'a>,
    pub(super) summaries: Vec<SpaceSummary>,
    /// The same spaces, without page counts, for pages.
    pub(super) space_links: Vec<SpaceLink>,
    /// What each page's sidebar is made from (see [`NavDigests`]).
    pub(super) nav: NavDigests,
    /// Each page, as (space, section, page) indices, in navigation order.
    pub(super) jobs: Vec<(usize, usize, usize)>,
    /// The drafts banner by page id (without its `review_url`).
    pub(super) banners: BTreeMap<String, DraftBanner>,
    /// Whether drafts link to `_review/` beside them (only when served).
    pub(super) review_links: bool,
    /// Whether published pages say where a newer version stands
    /// ([`SiteConfig::detailed_notices`](crate::site::config::SiteConfig::detailed_notices)).
    pub(super) detailed_notices: bool,
}

impl<'a> Renderer<'a> {
    pub fn published(site: &'a Site, eval: &'a Evaluation, theme: &'a Theme) -> Renderer<'a> {
        let published = PublishedSite::collect(eval, &site.policies);
        Renderer::new(
            site,
            theme,
            View::Published,
            published,
            BTreeMap::new(),
            false,
        )
    }

    pub fn drafts(
        site: &'a Site,
        eval: &'a Evaluation,
        drafts: &'a Drafts,
        banners: BTreeMap<String, DraftBanner>,
        theme: &'a Theme,
        review_links: bool,
    ) -> Renderer<'a> {
        let published = PublishedSite::collect_from(
            drafts
                .pages
                .iter()
                .map(|(i, shown, content, url)| (&eval.pages[*i], shown, &**content, url.as_str())),
            &site.policies,
        );
        Renderer::new(site, theme, View::Drafts, published, banners, review_links)
    }

    pub(super) fn new(
        site: &'a Site,
        theme: &'a Theme,
        view: View,
        published: PublishedSite<'a>,
        banners: BTreeMap<String, DraftBanner>,
        review_links: bool,
    ) -> Renderer<'a> {
        let summaries: Vec<SpaceSummary> = published
            .spaces
            .iter()
            .map(|s| SpaceSummary {
                id: s.policy.space.clone(),
                title: s.policy.title.clone(),
                url: s.url.clone(),
                page_count: s.page_count,
            })
            .collect();
        let space_links = summaries
            .iter()
            .map(|s| SpaceLink {
                id: s.id.clone(),
                title: s.title.clone(),
                url: s.url.clone(),
            })
            .collect();
        let nav = NavDigests::of(&published.spaces);
        let mut jobs = Vec::new();
        for (si, space) in published.spaces.iter().enumerate() {
            for (ci, section) in space.sections.iter().enumerate() {
                for pi in 0..section.pages.len() {
                    jobs.push((si, ci, pi));
                }
            }
        }
        Renderer {
            site,
            theme,
            view,
            published,
            summaries,
            space_links,
            nav,
            jobs,
            banners,
            review_links,
            detailed_notices: site.config.detailed_notices(&site.config.audiences),
        }
    }

    /// Renders for these audiences (`build --audience`) rather than the site's own: what a
    /// page's notice may tell depends on whether they are public.
    pub fn for_audiences(mut self, audiences: &[String]) -> Self {
        self.detailed_notices = self.site.config.detailed_notices(audiences);
        self
    }

    pub fn page_count(&self) -> usize {
        self.jobs.len()
    }

    pub fn space_count(&self) -> usize {
        self.published.spaces.len()
    }

    pub(super) fn job(&self, j: usize) -> (&PublishedSpace<'a>, &PublishedPage<'a>) {
        let (si, ci, pi) = self.jobs[j];
        let space = &self.published.spaces[si];
        (space, &space.sections[ci].pages[pi])
    }

    /// Page ids and URLs of every page rendered, for the build's marker.
    pub fn live_urls(&self) -> BTreeMap<String, String> {
        (0..self.jobs.len())
            .map(|j| {
                let (_, page) = self.job(j);
                (page.eval.page.id.clone(), page.url.to_string())
            })
            .collect()
    }

    /// `site` for the home page and space indexes (spaces with their page counts).
    pub(super) fn site_context(&self, root: String) -> SiteContext<'_> {
        self.site_context_with(root, &self.summaries)
    }

    /// `site` for pages (spaces without page counts).
    pub(super) fn page_site_context(&self, root: String) -> SiteContext<'_, SpaceLink> {
        self.site_context_with(root, &self.space_links)
    }

    pub(super) fn site_context_with<'s, S>(
        &'s self,
        root: String,
        spaces: &'s [S],
    ) -> SiteContext<'s, S> {
        let config = &self.site.config;
        SiteContext {
            title: &config.title,
            base_url: &config.base_url,
            root,
            spaces,
        }
    }

    /// Renders every file into `sink`, pages in parallel; returns the number of files.
    pub fn render_all(&self, sink: &dyn Sink, progress: &dyn Progress) -> Result<RenderedSite> {
        let pages = self.render_pages(sink, progress)?;
        self.render_indexes(sink, pages)
    }

    /// The first half of [`Renderer::render_all`]: every page (and its assets), in parallel.
    pub fn render_pages(
        &self,
        sink: &dyn Sink,
        progress: &dyn Progress,
    ) -> Result<RenderedPages<'_>> {
        progress.begin(Phase::Render, Some(self.jobs.len() as u64));
        let _t = crate::timings::phase("render pages");
        let results: Vec<(PageResult, usize)> = (0..self.jobs.len())
            .into_par_iter()
            .map(|j| {
                let result = self.page_into(j, sink)?;
                let (_, page) = self.job(j);
                let mut files = 1;
                for (asset, bytes) in self.assets(j)? {
                    sink.write(&format!("{}{asset}", page.url), &bytes)?;
                    files += 1;
                }
                progress.advance(Phase::Render);
                Ok((result, files))
            })
            .collect::<Result<_>>()?;
        progress.end(Phase::Render, &[(self.jobs.len() as u64, "pages")]);
        Ok(RenderedPages { results })
    }

    /// Every file the build generates from the published pages' facts, the site settings and
    /// the theme — the home page, `404.html`, each space's index, the sitemap, the feeds, the
    /// redirect pages and `_redirects`, the theme's static files and the search index — by
    /// path, each made by the function the build writes it with.
    /// Not the pages and their assets (each vouched for by its proof). What `audit` derives
    /// again from a published folder's proofs and compares byte for byte.
    pub fn generated_files(&self) -> Result<Vec<(String, Vec<u8>)>> {
        let mut files = vec![
            ("index.html".to_string(), self.home()?.into_bytes()),
            (
                super::NOT_FOUND_PAGE.to_string(),
                self.not_found()?.into_bytes(),
            ),
        ];
        for (s, space) in self.published.spaces.iter().enumerate() {
            files.push((
                format!("{}index.html", space.url),
                self.space(s)?.into_bytes(),
            ));
        }
        if self.view == View::Published {
            files.push(("sitemap.xml".to_string(), self.sitemap()));
        }
        files.extend(self.feeds()?);
        files.extend(self.redirect_files()?);
        for (rel, bytes) in self.theme.static_files() {
            files.push((format!("static/{rel}"), bytes.clone()));
        }
        files.extend(self.search_files()?);
        Ok(files)
    }

    /// One file by its path relative to the site root (`kb/install/index.html`,
    /// `kb/install/` for short), or `None` when the site has no such file. The search
    /// index's files are not among them: they are made all at once ([`Renderer::search_files`],
    /// see [`is_search_file`]).
    pub fn file(&self, path: &str) -> Result<Option<Vec<u8>>> {
        let path = if path.is_empty() || path.ends_with('/') {
            format!("{path}index.html")
        } else {
            path.to_string()
        };
        if path == "index.html" {
            return Ok(Some(self.home()?.into_bytes()));
        }
        if path == super::NOT_FOUND_PAGE {
            return Ok(Some(self.not_found()?.into_bytes()));
        }
        if path == "sitemap.xml" {
            if self.view != View::Published {
                return Ok(None);
            }
            return Ok(Some(self.sitemap()));
        }
        if let Some(feed) = self.feed(&path)? {
            return Ok(Some(feed));
        }
        if let Some(redirect) = self.redirect_file(&path)? {
            return Ok(Some(redirect));
        }
        if let Some(rel) = path.strip_prefix("static/") {
            return Ok(self
                .theme
                .static_files()
                .iter()
                .find(|(r, _)| r == rel)
                .map(|(_, b)| b.clone()));
        }
        for (s, space) in self.published.spaces.iter().enumerate() {
            if path == format!("{}index.html", space.url) {
                return Ok(Some(self.space(s)?.into_bytes()));
            }
        }
        for j in 0..self.jobs.len() {
            let (_, page) = self.job(j);
            let Some(rest) = path.strip_prefix(page.url) else {
                continue;
            };
            if rest == "index.html" {
                return Ok(Some(self.page(j)?.0.into_bytes()));
            }
            if let Some((_, bytes)) = self.assets(j)?.into_iter().find(|(a, _)| *a == rest) {
                return Ok(Some(bytes));
            }
        }
        Ok(None)
    }

    /// The files of page `j`'s bundle besides its Markdown, by path: read again and checked
    /// when its bytes are not held.
    pub(super) fn assets(&self, j: usize) -> Result<Vec<(String, Vec<u8>)>> {
        let (_, page) = self.job(j);
        if page.content.assets.is_empty() {
            return Ok(Vec::new());
        }
        let loaded = page.content.load()?;
        Ok(loaded
            .files
            .assets
            .iter()
            .filter(|(asset, _)| asset != "index.html")
            .cloned()
            .collect())
    }

    /// One page's HTML, and what the indexes need of it.
    pub fn page(&self, j: usize) -> Result<(String, PageResult<'_>)> {
        let (space, page) = self.job(j);
        let body = super::render_body(page, &self.published.links, &self.site.config)?;
        let template = self.page_template(j, body.html, body.toc, true);
        let html = self.render_page(j, &template)?;
        let result = PageResult {
            search: search_entry(space, page, super::search_text(&body.text).into(), None),
            sitemap: self.sitemap_entry(j),
            broken: broken_links(page, body.unpublished_links),
        };
        Ok((html, result))
    }

    /// Renders page `j` into `sink`. A sink that remembers is offered the page by the digest
    /// of its inputs first: Markdown is rendered only when its inputs changed since the last
    /// build (or the page's HTML must be rendered again), templates only when any input of
    /// the page changed.
    pub(super) fn page_into(&self, j: usize, sink: &dyn Sink) -> Result<PageResult<'_>> {
        let (space, page) = self.job(j);
        let rel = format!("{}index.html", page.url);
        if !sink.remembers() {
            let (html, result) = self.page(j)?;
            sink.write(&rel, html.as_bytes())?;
            return Ok(result);
        }
        let links = &self.published.links;
        let config = &self.site.config;
        let recalled = sink
            .recall(&rel)
            .filter(|m| m.markdown == self.markdown_key(page, &m.dests));
        // What the Markdown yielded last time (borrowed), or now.
        let fresh = match recalled {
            Some(_) => None,
            None => {
                let (body, dests) = super::render_body_recording(page, links, config)?;
                let memo = PageMemo {
                    inputs: String::new(),
                    html: String::new(),
                    markdown: self.markdown_key(page, &dests),
                    dests,
                    text: super::search_text(&body.text).into(),
                    unpublished: body.unpublished_links.clone(),
                };
                Some((body, memo))
            }
        };
        let memo = match (&fresh, recalled) {
            (Some((_, memo)), _) | (None, Some(memo)) => memo,
            (None, None) => unreachable!("a page's Markdown is recalled or rendered"),
        };
        let mut template = self.page_template(j, String::new(), Vec::new(), false);
        let inputs = self.inputs_digest(j, &memo.markdown, &template);
        let result = PageResult {
            search: search_entry(space, page, memo.text.clone(), Some(memo.markdown.clone())),
            sitemap: self.sitemap_entry(j),
            broken: broken_links(page, memo.unpublished.clone()),
        };
        if sink.reuse(&rel, &inputs) {
            return Ok(result);
        }
        let (body, memo) = match fresh {
            Some(fresh) => fresh,
            None => (super::render_body(page, links, config)?, memo.clone()),
        };
        template.page.html = body.html;
        template.page.toc = body.toc;
        template.nav = Some(super::nav(space, page));
        let html = self.render_page(j, &template)?;
        let memo = PageMemo { inputs, ..memo };
        sink.write_rendered(&rel, Some(memo), html.as_bytes())?;
        Ok(result)
    }

    /// The context of `page.html` for page `j`, with its rendered Markdown, and its
    /// navigation when `with_nav` (a digest of the inputs leaves it out).
    pub(super) fn page_template(
        &self,
        j: usize,
        html: String,
        toc: Vec<crate::publish::markdown::TocEntry>,
        with_nav: bool,
    ) -> PageTemplate<'_> {
        let (space, page) = self.job(j);
        let site = self.site;
        // A public build shows an outdated page as the published page it is: its readers
        // learn nothing of newer versions nobody published (SiteConfig::detailed_notices).
        let (status, newer) = match page.eval.status() {
            Status::Outdated if !self.detailed_notices => (Status::Published, None),
            status => (status, super::newer_state(page)),
        };
        let live = page.live;
        let content = page.content;
        let ctx_page = super::PageContext {
            title: page.title,
            description: page.description,
            html,
            toc,
            status,
            badge: super::badge(status),
            version: live.version.to_string(),
            short_version: live.version.short().to_string(),
            approved_at: crate::time::format_human(&live.approved_at),
            published_at: crate::time::format_human(&live.published_at),
            url: page.url,
            tags: page.tags,
            extra: &content.front.extra,
            breadcrumbs: super::breadcrumbs(space, page),
            history: super::history(page, &site.keyring, site.config.history_comments),
            newer,
        };
        let (noindex, draft) = self.view_of(Some(page));
        PageTemplate {
            site: self.page_site_context(super::root_prefix(page.url)),
            space: SpaceRef {
                id: &space.policy.space,
                title: &space.policy.title,
                url: &space.url,
            },
            nav: with_nav.then(|| super::nav(space, page)),
            page: ctx_page,
            noindex,
            draft,
        }
    }

    /// The key of everything a page's Markdown renders from: this program, its bytes (the
    /// version), where it sits (id, bundle or not, its way back to the root), whether raw
    /// HTML is allowed, and how each link destination it asks for resolves now. Given the
    /// same bytes the Markdown asks for the same destinations, so the destinations the last
    /// rendering asked for are enough.
    pub(super) fn markdown_key(&self, page: &PublishedPage, dests: &[String]) -> String {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        let mut part = |bytes: &[u8]| hash_part(&mut h, bytes);
        part(b"imprimatur-markdown-inputs-v1");
        part(render_memo::program_id());
        part(page.live.version.as_str().as_bytes());
        part(page.eval.page.id.as_bytes());
        part(&[u8::from(page.eval.page.bundle)]);
        part(page.url.as_bytes());
        part(&[u8::from(self.site.config.raw_html_allowed)]);
        let resolved = super::link_resolutions(page, &self.published.links, dests);
        for (dest, resolution) in dests.iter().zip(resolved) {
            part(dest.as_bytes());
            match &resolution {
                LinkResolution::Keep => part(b"keep"),
                LinkResolution::Unpublished => part(b"unpublished"),
                LinkResolution::Rewrite(to) => {
                    part(b"rewrite");
                    part(to.as_bytes());
                }
            }
        }
        render_memo::hex(&h.finalize())
    }

    /// SHA-256 of the theme, the key of the page's Markdown inputs and the rest of its
    /// template context (`template`, without the rendered Markdown): equal digests render to
    /// equal bytes.
    pub(super) fn inputs_digest(
        &self,
        j: usize,
        markdown: &str,
        template: &PageTemplate,
    ) -> String {
        use sha2::Digest;
        let (si, ci, pi) = self.jobs[j];
        let (_, page) = self.job(j);
        let mut h = crate::trust::version::Sha256Writer::default();
        h.0.update(b"imprimatur-page-inputs-v3\n");
        h.0.update(render_memo::program_id());
        h.0.update(self.theme.digest());
        for part in [
            markdown.as_bytes(),
            &self.nav.page(si, ci, pi),
            page.section.as_bytes(),
            page.url.as_bytes(),
        ] {
            hash_part(&mut h.0, part);
        }
        serde_json::to_writer(&mut h, template).expect("a page context serializes");
        h.hex()
    }

    pub(super) fn render_page(&self, j: usize, template: &PageTemplate) -> Result<String> {
        let (_, page) = self.job(j);
        let failed = |source: crate::publish::theme::ThemeError| Error::Render {
            page: page.eval.page.id.clone(),
            source: source.into(),
        };
        let ctx = tera::Context::from_serialize(template).map_err(|e| {
            failed(crate::publish::theme::ThemeError::Render {
                template: "page.html".into(),
                message: e.to_string(),
            })
        })?;
        self.theme.render("page.html", &ctx).map_err(failed)
    }
}

/// Links of every page of `published` to pages it does not show, without rendering templates.
pub fn broken_links_of(published: &PublishedSite) -> Result<Vec<Finding>> {
    let pages: Vec<&PublishedPage> = published
        .spaces
        .iter()
        .flat_map(|s| s.sections.iter())
        .flat_map(|s| s.pages.iter())
        .collect();
    let found: Vec<Vec<Finding>> = pages
        .par_iter()
        .map(|page| {
            Ok(broken_links(
                page,
                super::unpublished_links(page, &published.links)?,
            ))
        })
        .collect::<Result<_>>()?;
    Ok(found.into_iter().flatten().collect())
}

pub struct RenderedSite {
    pub files: usize,
}

/// The pages of a site rendered by [`Renderer::render_pages`], what the rest is made from.
pub struct RenderedPages<'r> {
    pub(super) results: Vec<(PageResult<'r>, usize)>,
}

impl RenderedPages<'_> {
    /// The links to pages not published that the pages hold (`broken_link` findings).
    pub fn broken(&self) -> Vec<Finding> {
        self.results
            .iter()
            .flat_map(|(r, _)| r.broken.iter().cloned())
            .collect()
    }
}

/// What `super::nav` makes each page's sidebar from besides the page's own section and URL,
/// as SHA-256 digests: per space, its URL and each section's folder, title and anchor (every
/// sidebar shows them); per page, its title and URL (shown in the sidebars of the pages around
/// it). A page's digest takes its space's and those of the pages its sidebar lists, so a page
/// added to a section renders again only the pages whose sidebar changes, not the whole space.
pub(super) struct NavDigests {
    spaces: Vec<[u8; 32]>,
    /// By space, section and page.
    pages: Vec<Vec<Vec<[u8; 32]>>>,
}

impl NavDigests {
    fn of(spaces: &[PublishedSpace]) -> NavDigests {
        use sha2::Digest;
        let space = |space: &PublishedSpace| {
            let mut h = sha2::Sha256::new();
            let mut part = |bytes: &[u8]| hash_part(&mut h, bytes);
            part(b"imprimatur-nav-space-v2");
            part(space.url.as_bytes());
            for s in &space.sections {
                for field in [&s.folder, &s.title, &s.anchor] {
                    part(field.as_bytes());
                }
            }
            h.finalize().into()
        };
        let page = |page: &PublishedPage| {
            let mut h = sha2::Sha256::new();
            hash_part(&mut h, page.title.as_bytes());
            hash_part(&mut h, page.url.as_bytes());
            h.finalize().into()
        };
        NavDigests {
            spaces: spaces.iter().map(space).collect(),
            pages: spaces
                .par_iter()
                .map(|s| {
                    s.sections
                        .iter()
                        .map(|c| c.pages.iter().map(page).collect())
                        .collect()
                })
                .collect(),
        }
    }

    /// The digest of the sidebar of page `pi` of section `ci` of space `si`.
    fn page(&self, si: usize, ci: usize, pi: usize) -> [u8; 32] {
        use sha2::Digest;
        let listed = &self.pages[si][ci];
        let mut h = sha2::Sha256::new();
        hash_part(&mut h, b"imprimatur-nav-v2");
        h.update(self.spaces[si]);
        h.update((ci as u64).to_be_bytes());
        for digest in &listed[super::nav_window(listed.len(), pi)] {
            h.update(digest);
        }
        h.finalize().into()
    }
}

fn broken_links(page: &PublishedPage, unpublished: Vec<String>) -> Vec<Finding> {
    unpublished
        .into_iter()
        .map(|dest| Finding {
            kind: FindingKind::BrokenLink,
            page: Some(page.eval.page.id.clone()),
            detail: format!("link to '{dest}' points at nothing published in this build; rendered as plain text"),
            file: Some(page.eval.page.source.clone()),
        })
        .collect()
}
