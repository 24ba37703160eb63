//! The drafts view: every page at its current version, under a banner with its review
//! state, `noindex`, for previews that never reach `output/`. Of two pages on one URL, the
//! first by id keeps it.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::pages::{Renderer, View};
use super::PublishedPage;
use crate::site::{Evaluation, LiveContent, Site};
use crate::trust::review::LiveVersion;

/// The current versions the drafts view shows, owned here because no review made them live.
pub struct Drafts {
    pub(super) pages: Vec<(usize, LiveVersion, std::sync::Arc<LiveContent>, String)>,
}

impl Drafts {
    /// Every page of a space with a policy whose current bytes parse, at the URL its current
    /// front matter gives; of pages on one URL, the one `site::url_keeper` names, if any.
    pub fn collect(site: &Site, eval: &Evaluation) -> Drafts {
        let mut candidates = Vec::new();
        let mut claims: BTreeMap<String, Vec<(usize, bool)>> = BTreeMap::new();
        for (i, p) in eval.pages.iter().enumerate() {
            let Some(policy) = site.policies.get(&p.page.space) else {
                continue;
            };
            let Ok(content) = p.page.content.clone() else {
                continue;
            };
            let Ok(url) =
                crate::site::page_url(policy, &p.page.path, content.front.slug.as_deref())
            else {
                continue;
            };
            let own = crate::site::page_url(policy, &p.page.path, None).is_ok_and(|u| u == url);
            claims.entry(url.clone()).or_default().push((i, own));
            candidates.push((i, content, url));
        }
        let space_indexes: BTreeSet<String> = site
            .policies
            .values()
            .map(|p| format!("{}/", p.publish_to))
            .collect();
        let mut pages = Vec::new();
        for (i, content, url) in candidates {
            let keeper = crate::site::url_keeper(&claims[&url], space_indexes.contains(&url));
            if keeper != Some(i) {
                continue;
            }
            let p = &eval.pages[i];
            let shown = LiveVersion {
                version: p.page.version.clone(),
                approved_at: eval.now,
                published_at: eval.now,
                review_due_at: None,
                history: Vec::new(),
            };
            pages.push((i, shown, content, url));
        }
        Drafts { pages }
    }
}

/// The banner over a page in the drafts view: its review state, from the status report
/// (made a floor above, by `report/`: see `publish::build::Reporting`).
#[derive(Clone, Serialize)]
pub struct DraftBanner {
    pub status: String,
    pub state: String,
    pub step: Option<String>,
    pub step_number: Option<usize>,
    pub step_count: Option<usize>,
    pub waiting_on: Vec<String>,
    pub published_version: Option<String>,
    /// `../../_review/<id>/` from the page, when the review pages are served beside it.
    pub review_url: Option<String>,
    /// A version of the page is in review: the banner offers its review page.
    pub in_review: bool,
    /// Nobody submitted the current version, and none is in review: the command that does
    /// (`imprimatur submit <page> --key YOUR-KEY.pem`), which the banner offers instead.
    pub submit_command: Option<String>,
}

/// The command that submits `page` for review, as the drafts banner offers it.
pub fn submit_command(page: &str) -> String {
    format!("imprimatur submit {page} --key YOUR-KEY.pem")
}

impl<'a> Renderer<'a> {
    /// `draft` and `noindex` for templates: absent in the published view, so its bytes are
    /// exactly what they were before drafts existed.
    pub(super) fn insert_view(&self, ctx: &mut tera::Context, page: Option<&PublishedPage>) {
        let (noindex, draft) = self.view_of(page);
        if let Some(noindex) = noindex {
            ctx.insert("noindex", &noindex);
        }
        if let Some(draft) = draft {
            ctx.insert("draft", &draft);
        }
    }

    /// What [`Renderer::insert_view`] inserts: nothing in the published view.
    pub(super) fn view_of(
        &self,
        page: Option<&PublishedPage>,
    ) -> (Option<bool>, Option<DraftBanner>) {
        if self.view != View::Drafts {
            return (None, None);
        }
        let banner = page.map(|page| {
            let id = page.eval.page.id.as_str();
            let mut banner = self
                .banners
                .get(id)
                .cloned()
                .unwrap_or_else(|| DraftBanner {
                    status: "draft".into(),
                    state: "draft".into(),
                    step: None,
                    step_number: None,
                    step_count: None,
                    waiting_on: Vec::new(),
                    published_version: None,
                    review_url: None,
                    in_review: false,
                    submit_command: Some(submit_command(id)),
                });
            banner.review_url = self
                .review_links
                .then(|| format!("{}../_review/{id}", super::root_prefix(page.url)));
            banner
        });
        (Some(true), banner)
    }
}
