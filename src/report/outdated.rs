//! `reports/outdated.json`: every live version that differs from its draft — what readers
//! see while writers have moved on — with how long it has been so and where the draft stands.

use serde::Serialize;

use crate::site::Evaluation;
use crate::time;
use crate::trust::review::ReviewState;

#[derive(Debug, Clone, Serialize)]
pub struct OutdatedPage {
    pub id: String,
    pub space: String,
    pub title: Option<String>,
    pub url: Option<String>,
    pub published_version: String,
    pub live_since: String,
    pub current_version: String,
    pub current_state: ReviewState,
    /// When the draft that differs was submitted, if it was (`null`: never submitted).
    pub draft_submitted_at: Option<String>,
    /// Whole days the draft has been waiting since its submit, if submitted.
    pub outdated_days: Option<i64>,
    /// Whole days the live version has been live.
    pub live_days: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct OutdatedReport {
    pub now: String,
    pub pages: Vec<OutdatedPage>,
}

pub fn outdated(eval: &Evaluation) -> OutdatedReport {
    let now = eval.now;
    let pages = eval
        .pages
        .iter()
        .filter_map(|p| {
            let review = p.review()?;
            let live = p.live()?;
            let (url, live) = (&live.url, &live.version);
            if live.version == p.page.version {
                return None;
            }
            let submitted = review.versions.get(&p.page.version).map(|v| v.submitted_at);
            Some(OutdatedPage {
                id: p.page.id.clone(),
                space: p.page.space.clone(),
                title: p.front().ok().map(|f| f.title.clone()),
                url: Some(url.clone()),
                published_version: live.version.to_string(),
                live_since: time::format_utc(&live.published_at),
                current_version: p.page.version.to_string(),
                current_state: review.current_state,
                draft_submitted_at: submitted.as_ref().map(time::format_utc),
                outdated_days: submitted.map(|s| (now - s).num_days()),
                live_days: (now - live.published_at).num_days(),
            })
        })
        .collect();
    OutdatedReport {
        now: time::format_utc(&now),
        pages,
    }
}
