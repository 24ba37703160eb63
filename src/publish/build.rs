//! `imprimatur build` (SPEC §7, §8), top to bottom: load the site → judge every page at one
//! `now` → collect what is live → render every file into a staging folder (`renderer`) → swap
//! the staging folder in for `output/` → reports. Any error before the swap leaves the
//! previous `output/` untouched; the whole build holds the lock beside `output/`.
//!
//! The reports are a floor above publishing (`report/`): the build is handed them as a
//! [`Reporting`] by whoever calls it (`cli::build`), and makes and writes them in its own
//! order (after the commit, beside the manifest's copy, under the lock), never naming them.
//!
//! `build --drafts --output DIR` renders the drafts view instead, for a pull request's
//! preview: never into the public output folder, and without touching reports.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cache::render_memo::{GroupMemo, PageMemo};
use crate::error::{Error, Result};
use crate::publish::output::{self, Staging};
use crate::publish::render::{self, DraftBanner, Drafts, Progress, PublishedSite, Renderer, Sink};
use crate::publish::theme::Theme;
use crate::site::memo::Memo;
use crate::site::{Evaluation, Finding, Site};
use crate::time::Instant;

pub struct BuildRequest<'a> {
    pub site_root: &'a Path,
    pub now: Instant,
    /// Publish for this audience instead of `imprimatur.yaml`'s `audiences`.
    pub audience: Option<&'a str>,
    /// Told of each phase — read, verify, render — and of each item done (the CLI shows it).
    pub progress: &'a dyn Progress,
}

/// The reports of a build (SPEC §8), made by the floor above publishing (`report/`).
pub trait Reporting: Sync {
    /// The status report of the judgement, which the build's summary carries.
    type Status;
    /// The report files, made and not yet in place.
    type Made: Send;

    /// The status report of `eval` with the build's own findings, and the report files made
    /// from it (written beside their places, not yet put there).
    fn make(
        &self,
        site: &Site,
        eval: &Evaluation,
        extra_findings: &[Finding],
    ) -> (Self::Status, Result<Self::Made>);

    /// Puts the report files `made` in place, once the site is.
    fn write(&self, site: &Site, made: Self::Made) -> Result<()>;

    /// The banner over each page of the drafts view, by page id, from the status report of
    /// `eval` alone (`review_url` left for the renderer).
    fn draft_banners(&self, eval: &Evaluation) -> BTreeMap<String, DraftBanner>;
}

/// What a build did: counts for people, and the full report.
pub struct BuildSummary<Status> {
    pub pages_published: usize,
    pub spaces_published: usize,
    pub files_written: usize,
    /// Of those, the files whose bytes were new (the rest were already in place).
    pub files_rewritten: usize,
    /// Whether `output/` was replaced; `false` when it already held exactly this site.
    pub output_replaced: bool,
    pub output_dir: String,
    pub reports_dir: String,
    pub report: Status,
}

impl Sink for Staging<'_> {
    fn write(&self, rel: &str, bytes: &[u8]) -> Result<()> {
        Staging::write(self, rel, bytes)
    }

    fn write_with(&self, rel: &str, fill: &output::Fill) -> Result<()> {
        Staging::write_with(self, rel, fill)
    }

    fn remembers(&self) -> bool {
        Staging::remembers(self)
    }

    fn recall(&self, rel: &str) -> Option<&PageMemo> {
        Staging::recall(self, rel)
    }

    fn reuse(&self, rel: &str, inputs: &str) -> bool {
        Staging::reuse(self, rel, inputs)
    }

    fn write_rendered(&self, rel: &str, memo: Option<PageMemo>, bytes: &[u8]) -> Result<()> {
        Staging::write_rendered(self, rel, memo, bytes)
    }

    fn reuse_group(&self, name: &str, inputs: &str) -> Option<usize> {
        Staging::reuse_group(self, name, inputs)
    }

    fn remember_group(
        &self,
        name: &str,
        inputs: Option<String>,
        files: &[String],
        parts: Vec<(String, [u8; 32])>,
    ) {
        Staging::remember_group(self, name, inputs, files, parts)
    }

    fn group_before(&self, name: &str) -> Option<&GroupMemo> {
        Staging::group_before(self, name)
    }

    fn read_before(&self, rel: &str, hash: &str) -> Option<Vec<u8>> {
        Staging::read_before(self, rel, hash)
    }

    fn keep_before(&self, rel: &str, hash: &str) -> bool {
        Staging::keep_before(self, rel, hash)
    }
}

pub fn build<R: Reporting>(req: &BuildRequest, reports: &R) -> Result<BuildSummary<R::Status>> {
    // Signatures that verified in earlier builds of this site are not verified again (an
    // HMAC-keyed cache outside the site, under a secret kept elsewhere: see `cache`).
    let _t = crate::timings::phase("build");
    let memo = Arc::new(Memo::for_build(req.site_root)?);
    let mut site = Site::load_with(req.site_root, Some(memo.clone()), req.progress)?;
    // Nothing after the judgement reads the record files: freed as soon as it is made.
    let records = std::mem::take(&mut site.records);
    let config = &site.config;
    // One build at a time writes beside output/; leftovers of killed builds go first.
    let lock = output::BuildLock::acquire(&config.output_dir)?;
    let audiences = config.audiences_for(req.audience);
    let output_name = config.display_path(&config.output_dir);
    // Side by side: the judgement reads the site; the drift check reads output/, then the
    // render memo kept beside it is read and the theme loaded. A hand-edited output/ is
    // always replaced, even when the build's own files are the same.
    let (eval, prepared) = rayon::join(
        || site.evaluate_records(&records, req.now, &audiences, req.progress),
        || {
            let drift = {
                let _t = crate::timings::phase("drift");
                output::check_drift(&config.output_dir, &output_name)
            };
            let _t = crate::timings::phase("staging, theme");
            let findings = drift.findings.clone();
            let previous_pages = drift.manifest.as_ref().map(|m| m.pages.clone());
            let staging = Staging::new(&config.output_dir, &lock, drift, memo.tagger());
            let theme = Theme::load(&config.root, &config.theme);
            (findings, previous_pages, staging, theme)
        },
    );
    // The records that counted are kept beside output/, so that deleting one's file can't
    // un-say it (`site::counted`): before anything is published on their strength.
    {
        let _t = crate::timings::phase("keep counted records");
        crate::cache::counted::write(&config.output_dir, &site.counted, &eval.counted, &records)?;
    }
    drop_aside(records);
    let (drift_findings, previous_pages, staging, theme) = prepared;
    if theme.is_err() || staging.is_err() {
        // What verified is kept all the same (below, it is saved beside collecting the site).
        memo.save_cache();
    }
    let theme = theme?;
    let staging = staging?;
    let t = crate::timings::phase("save cache, collect the site");
    let (_, renderer) = rayon::join(
        || memo.save_cache(),
        || Renderer::published(&site, &eval, &theme).for_audiences(&audiences),
    );
    drop(t);

    let mut extra_findings = drift_findings;
    if req.audience.is_none() {
        // A build for another audience publishes other pages on purpose.
        if let Some(previous) = &previous_pages {
            extra_findings.extend(eval.went_offline(previous));
            extra_findings.extend(url_removed(config, &eval, previous));
        }
    }

    let t = crate::timings::phase("render");
    let pages = renderer.render_pages(&staging, req.progress)?;
    extra_findings.extend(pages.broken());
    let rendered = renderer.render_indexes(&staging, pages)?;
    let t_proofs = crate::timings::phase("proofs");
    // Governed sites publish a proof beside every page, and the trust root under /_proof/.
    crate::publish::proof::write_all(
        &site,
        &eval,
        &renderer.live_urls(),
        &staging,
        req.now,
        &audiences,
    )?;
    extra_findings.extend(crate::publish::proof::incomplete(&site, &eval));
    drop(t_proofs);
    let files_rewritten = staging.rewritten();
    let t_commit = crate::timings::phase("commit output");
    let (written, swap) = staging.commit(&config.output_dir, renderer.live_urls())?;
    drop(t_commit);
    // The reports of the judgement, made once the site is in place and what made it is
    // freed: beside the search index or the commit, they made the build's peak memory.
    let (report, made) = {
        let _t = crate::timings::phase("make reports");
        reports.make(&site, &eval, &extra_findings)
    };
    drop(t);
    let _t = crate::timings::phase("write reports");
    let made = made?;
    // Side by side: the copy of the manifest and the reports of the judgement.
    let (manifest_copy, reports_written) = rayon::join(
        || {
            // Kept in its old shape for tools that read it (README); drift is judged from the
            // manifest inside output/, which can't fall out of step with the site.
            #[derive(serde::Serialize)]
            struct Copy<'a> {
                files: &'a std::collections::BTreeMap<String, String>,
            }
            crate::fs::write_file_with(&config.reports_dir.join("output-manifest.json"), &|w| {
                serde_json::to_writer_pretty(
                    &mut *w,
                    &Copy {
                        files: &written.files,
                    },
                )?;
                w.write_all(b"\n")
            })
        },
        || reports.write(&site, made),
    );
    manifest_copy?;
    reports_written?;
    drop(lock);
    let summary = BuildSummary {
        pages_published: renderer.page_count(),
        spaces_published: renderer.space_count(),
        files_written: rendered.files,
        files_rewritten,
        output_replaced: swap == output::Swap::Swapped,
        output_dir: output_name,
        reports_dir: config.display_path(&config.reports_dir),
        report,
    };
    drop(renderer);
    drop_aside((site, eval, written));
    Ok(summary)
}

/// Frees `value` on a thread of its own: the judgement and the site of 10,000 pages are
/// millions of allocations, ~40 ms of a rebuild's one thread at its very end. A process that
/// exits first does not wait for it (its memory goes back all at once).
fn drop_aside<T: Send + 'static>(value: T) {
    // Without a thread to be had, `value` goes down here with the closure that holds it.
    let _ = std::thread::Builder::new().spawn(move || drop(value));
}

/// What a drafts build did.
pub struct DraftsSummary {
    pub pages: usize,
    pub files: usize,
    pub output_dir: PathBuf,
}

/// `imprimatur build --drafts --output DIR`: every page at its current version, each marked
/// as a draft and `noindex`, no sitemap, into `DIR` (replaced atomically, as `output/` is).
/// Refuses the site's public output folder, and any folder holding site input.
pub fn build_drafts(
    site_root: &Path,
    now: Instant,
    dir: &Path,
    progress: &dyn Progress,
    reports: &impl Reporting,
) -> Result<DraftsSummary> {
    let site = Site::load_watched(site_root, progress)?;
    let config = &site.config;
    let dir = if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| Error::io(".", e))?
            .join(dir)
    };
    crate::site::config::check_drafts_dir(config, &dir)?;
    let lock = output::BuildLock::acquire(&dir)?;
    let eval = site.evaluate_watched(now, &config.audiences, progress);
    let theme = Theme::load(&config.root, &config.theme)?;
    let banners = reports.draft_banners(&eval);
    let drafts = Drafts::collect(&site, &eval);
    let renderer = Renderer::drafts(&site, &eval, &drafts, banners, &theme, false);
    let drift = output::check_drift(&dir, "");
    let staging = Staging::new(&dir, &lock, drift, None)?;
    let rendered = renderer.render_all(&staging, progress)?;
    staging.commit(&dir, renderer.live_urls())?;
    drop(lock);
    Ok(DraftsSummary {
        pages: renderer.page_count(),
        files: rendered.files,
        output_dir: dir,
    })
}

/// Pages the build in `output/` published that this judgement leaves offline for a reason
/// nobody signed (`went_offline`), and URLs it served that now serve nothing (`url_removed`).
fn went_offline(
    config: &crate::site::config::SiteConfig,
    eval: &crate::site::Evaluation,
) -> Vec<Finding> {
    output::previous_build(&config.output_dir)
        .map(|previous| {
            let mut findings = eval.went_offline(&previous.pages);
            findings.extend(url_removed(config, eval, &previous.pages));
            findings
        })
        .unwrap_or_default()
}

/// URLs the build in `output/` served — its pages' (`previous`: id → URL) and its
/// `_redirects`' — that this judgement serves nothing at while their page is still published
/// (`url_removed`). Read from `output/`, which an attacker may write: at worst a spurious
/// finding or a missed one, never a published byte (see `render::redirects`).
fn url_removed(
    config: &crate::site::config::SiteConfig,
    eval: &crate::site::Evaluation,
    previous: &BTreeMap<String, String>,
) -> Vec<Finding> {
    let urls = render::previous_urls(&config.output_dir, previous, &config.base_url);
    eval.url_removed(&urls)
}

/// The findings a build adds to the review's, without building: links to pages that are not
/// published (from the Markdown alone, no templates), hand edits of `output/` and proofs that
/// must withhold a record (`proof_incomplete`). `verify`
/// and `status` report them, so they agree with what `build` would say. For another
/// `audience` than the config's, as a build for it, nothing is `went_offline` or
/// `url_removed` against `output/`: that build publishes other pages on purpose.
pub fn check_without_building(
    site: &Site,
    eval: &crate::site::Evaluation,
    audience: Option<&str>,
) -> Result<Vec<Finding>> {
    let config = &site.config;
    let mut findings = output::drift(&config.output_dir, &config.display_path(&config.output_dir));
    if audience.is_none() {
        findings.extend(went_offline(config, eval));
    }
    let published = PublishedSite::collect(eval, &site.policies);
    findings.extend(render::broken_links_of(&published)?);
    findings.extend(crate::publish::proof::incomplete(site, eval));
    Ok(findings)
}
