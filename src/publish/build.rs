//! `imprimatur build` (SPEC §7, §8), top to bottom: load the site → judge every page at one
//! `now` → collect what is live → render pages in parallel into a staging folder → home,
//! space indexes, search index, sitemap, theme files → swap the staging folder in for
//! `output/` → reports. Any error before the swap leaves the previous `output/` untouched;
//! the whole build holds the lock beside `output/`.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::publish::output::{self, Staging};
use crate::publish::render::{
    self, PublishedPage, PublishedSite, PublishedSpace, SearchEntry, SiteContext, SpaceSummary,
};
use crate::publish::theme::Theme;
use crate::report::StatusReport;
use crate::site::{Finding, Site};
use crate::time::Instant;
use crate::trust::review::FindingKind;

pub struct BuildRequest<'a> {
    pub site_root: &'a std::path::Path,
    pub now: Instant,
    /// Publish for this audience instead of `imprimatur.yaml`'s `audiences`.
    pub audience: Option<&'a str>,
    /// Told how many pages will be rendered, and of each one done (the CLI draws a bar).
    pub progress: &'a dyn Progress,
}

/// Whoever watches a build: the pages it is about to render, and each one rendered. Pages
/// render in parallel, so `rendered` is called from many threads.
pub trait Progress: Sync {
    fn rendering(&self, _pages: usize) {}
    fn rendered(&self) {}
    fn done(&self) {}
}

/// What a build did: counts for people, and the full report.
pub struct BuildSummary {
    pub pages_published: usize,
    pub spaces_published: usize,
    pub files_written: usize,
    pub output_dir: String,
    pub reports_dir: String,
    pub report: StatusReport,
}

/// What rendering one page yields besides its files.
struct PageResult<'a> {
    search: SearchEntry<'a>,
    sitemap: (String, Option<String>),
    broken: Vec<Finding>,
    files: usize,
}

pub fn build(req: &BuildRequest) -> Result<BuildSummary> {
    let site = Site::load(req.site_root)?;
    let config = &site.config;
    // One build at a time writes beside output/; leftovers of killed builds go first.
    let lock = output::BuildLock::acquire(&config.output_dir)?;
    let audiences = match req.audience {
        Some(a) => vec![a.to_string()],
        None => config.audiences.clone(),
    };
    let eval = site.evaluate(req.now, &audiences);
    let theme = Theme::load(&config.root, &config.theme)?;
    let published = PublishedSite::collect(&eval, &site.policies);

    let output_name = config.display_path(&config.output_dir);
    let mut extra_findings = output::drift(&config.output_dir, &output_name);
    if req.audience.is_none() {
        // A build for another audience publishes other pages on purpose.
        extra_findings.extend(went_offline(config, &eval));
    }

    let staging = Staging::new(&config.output_dir, &lock)?;
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
    let site_context = |root: String| SiteContext {
        title: &config.title,
        base_url: &config.base_url,
        root,
        spaces: &summaries,
    };

    let jobs: Vec<(&PublishedSpace, &PublishedPage)> = published
        .spaces
        .iter()
        .flat_map(|space| {
            space
                .sections
                .iter()
                .flat_map(move |s| s.pages.iter().map(move |p| (space, p)))
        })
        .collect();
    req.progress.rendering(jobs.len());
    let results: Vec<PageResult> = jobs
        .par_iter()
        .map(|(space, page)| {
            let result = render_page(
                &site,
                &theme,
                &staging,
                &published,
                space,
                page,
                &site_context,
            );
            req.progress.rendered();
            result
        })
        .collect::<Result<_>>()?;
    req.progress.done();

    let mut files_written = results.iter().map(|r| r.files).sum::<usize>();
    let mut write = |rel: &str, bytes: &[u8]| -> Result<()> {
        files_written += 1;
        staging.write(rel, bytes)
    };
    for space in &published.spaces {
        let mut ctx = tera::Context::new();
        ctx.insert("site", &site_context(render::root_prefix(&space.url)));
        ctx.insert("space", &render::space_context(space));
        let html = theme
            .render("space.html", &ctx)
            .map_err(|e| Error::Render {
                page: format!("space {}", space.policy.space),
                source: e,
            })?;
        write(&format!("{}index.html", space.url), html.as_bytes())?;
    }
    let mut ctx = tera::Context::new();
    ctx.insert("site", &site_context(String::new()));
    let home = theme
        .render("index.html", &ctx)
        .map_err(|e| Error::Render {
            page: "home page".into(),
            source: e,
        })?;
    write("index.html", home.as_bytes())?;

    let mut search = Vec::with_capacity(results.len());
    let mut sitemap = vec![(String::new(), None)];
    sitemap.extend(published.spaces.iter().map(|s| (s.url.clone(), None)));
    for r in results {
        search.push(r.search);
        sitemap.push(r.sitemap);
        extra_findings.extend(r.broken);
    }
    search.sort_by(|a, b| a.url.cmp(b.url));
    sitemap.sort();
    let index = serde_json::to_string(&render::SearchIndex { pages: search })
        .expect("the search index serializes");
    write("search-index.json", index.as_bytes())?;
    write(
        "search-index.js",
        render::search_index_script(&index).as_bytes(),
    )?;
    write(
        "sitemap.xml",
        render::sitemap(&config.base_url, &sitemap).as_bytes(),
    )?;
    for (rel, bytes) in theme.static_files() {
        write(&format!("static/{rel}"), bytes)?;
    }
    let live = jobs
        .iter()
        .map(|(_, page)| (page.eval.page.id.clone(), page.url.to_string()))
        .collect();
    let written = staging.commit(&config.output_dir, live)?;
    // Kept in its old shape for tools that read it (README); drift is judged from the
    // manifest inside output/, which can't fall out of step with the site.
    let mut files_json =
        serde_json::to_string_pretty(&serde_json::json!({ "files": written.files }))
            .expect("a manifest serializes");
    files_json.push('\n');
    crate::atomic::write_file(
        &config.reports_dir.join("output-manifest.json"),
        files_json.as_bytes(),
    )?;

    let report = StatusReport::from_evaluation(&eval, &extra_findings);
    crate::report::write_build_reports(&site, &eval, &report)?;
    drop(lock);
    Ok(BuildSummary {
        pages_published: jobs.len(),
        spaces_published: published.spaces.len(),
        files_written,
        output_dir: output_name,
        reports_dir: config.display_path(&config.reports_dir),
        report,
    })
}

fn render_page<'a>(
    site: &Site,
    theme: &Theme,
    staging: &Staging<'_>,
    published: &PublishedSite,
    space: &'a PublishedSpace<'a>,
    page: &'a PublishedPage<'a>,
    site_context: &dyn Fn(String) -> SiteContext<'a>,
) -> Result<PageResult<'a>> {
    let id = &page.eval.page.id;
    let body = render::render_body(page, &published.links, &site.config);
    let status = page.eval.status();
    let live = page.live;
    let content = page.content;
    let ctx_page = render::PageContext {
        title: page.title,
        description: page.description,
        html: body.html,
        toc: body.toc,
        status,
        badge: render::badge(status),
        version: live.version.to_string(),
        short_version: live.version.short().to_string(),
        approved_at: crate::time::format_human(&live.approved_at),
        published_at: crate::time::format_human(&live.published_at),
        url: page.url,
        tags: page.tags,
        extra: &content.front.extra,
        breadcrumbs: render::breadcrumbs(space, page),
        history: render::history(page, &site.keyring, site.config.history_comments),
        newer: render::newer_state(page),
    };
    let mut ctx = tera::Context::new();
    ctx.insert("site", &site_context(render::root_prefix(page.url)));
    ctx.insert(
        "space",
        &serde_json::json!({"id": space.policy.space, "title": space.policy.title, "url": space.url}),
    );
    ctx.insert("nav", &render::nav(space, page));
    ctx.insert("page", &ctx_page);
    let html = theme.render("page.html", &ctx).map_err(|e| Error::Render {
        page: id.clone(),
        source: e,
    })?;
    // Only the live version's bytes are written: its HTML and its own assets, beside it.
    staging.write(&format!("{}index.html", page.url), html.as_bytes())?;
    let mut files = 1;
    for (asset, bytes) in &content.files.assets {
        if asset != "index.html" {
            staging.write(&format!("{}{asset}", page.url), bytes)?;
            files += 1;
        }
    }
    let broken = broken_links(page, body.unpublished_links);
    Ok(PageResult {
        search: SearchEntry {
            title: page.title,
            url: page.url,
            space: &space.policy.title,
            description: page.description,
            tags: page.tags,
            text: render::search_text(&body.text),
        },
        sitemap: (
            page.url.to_string(),
            Some(live.published_at.format("%Y-%m-%d").to_string()),
        ),
        broken,
        files,
    })
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

/// Pages the build in `output/` published that this judgement leaves offline for a reason
/// nobody signed (`went_offline`).
fn went_offline(
    config: &crate::site::config::SiteConfig,
    eval: &crate::site::Evaluation,
) -> Vec<Finding> {
    output::previous_build(&config.output_dir)
        .map(|previous| eval.went_offline(&previous.pages))
        .unwrap_or_default()
}

/// The findings a build adds to the review's, without building: links to pages that are not
/// published (from the Markdown alone, no templates) and hand edits of `output/`. `verify`
/// and `status` report them, so they agree with what `build` would say.
pub fn check_without_building(site: &Site, eval: &crate::site::Evaluation) -> Vec<Finding> {
    let config = &site.config;
    let mut findings = output::drift(&config.output_dir, &config.display_path(&config.output_dir));
    findings.extend(went_offline(config, eval));
    let published = PublishedSite::collect(eval, &site.policies);
    let pages: Vec<&PublishedPage> = published
        .spaces
        .iter()
        .flat_map(|s| s.sections.iter())
        .flat_map(|s| s.pages.iter())
        .collect();
    let broken: Vec<Vec<Finding>> = pages
        .par_iter()
        .map(|page| broken_links(page, render::unpublished_links(page, &published.links)))
        .collect();
    findings.extend(broken.into_iter().flatten());
    findings
}
