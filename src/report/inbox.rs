//! What waits on a reviewer (`imprimatur inbox`, and `serve`'s `/_review/` queue): every page
//! whose version in review needs them in an open step, oldest first, with the step, how long
//! it has waited, who submitted it, and where to review it. Derived from the status report,
//! so it agrees with `status` on who a page waits on.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Serialize;

use crate::report::StatusReport;
use crate::site::{Evaluation, Site};
use crate::time::{self, Instant};

/// A page id as a URL path: every byte but letters, digits, `-`, `_`, `.`, `~` and the `/`
/// between segments percent-encoded.
const PAGE_ID_IN_URL: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// `review_url` + the page id: where `imprimatur serve` shows the page's review.
pub fn review_link(review_url: &str, page_id: &str) -> String {
    format!(
        "{review_url}{}",
        utf8_percent_encode(page_id, PAGE_ID_IN_URL)
    )
}

/// Where a page's review is, for a link in a report, the dashboard or a notification: under
/// the site's `review_url` when it set one. Else there is no address to give: `imprimatur
/// serve` runs on the reader's own machine, and a loopback URL in a mail would point at
/// whoever opens it, so the text says how to open the review instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewLink {
    Url(String),
    /// `/_review/<page id>`, under whatever address the reader's `imprimatur serve` prints.
    Serve(String),
}

impl ReviewLink {
    pub fn of(review_url: Option<&str>, page_id: &str) -> ReviewLink {
        match review_url {
            Some(base) => ReviewLink::Url(review_link(base, page_id)),
            None => ReviewLink::Serve(review_link("/_review/", page_id)),
        }
    }

    /// The address to link, when there is one.
    pub fn url(&self) -> Option<&str> {
        match self {
            ReviewLink::Url(url) => Some(url),
            ReviewLink::Serve(_) => None,
        }
    }
}

impl std::fmt::Display for ReviewLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReviewLink::Url(url) => f.write_str(url),
            ReviewLink::Serve(path) => {
                write!(f, "open it with `imprimatur serve` (then {path})")
            }
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct InboxItem {
    pub page: String,
    pub title: Option<String>,
    pub space: String,
    /// The open step this reviewer acts in (the first, when they are in several); the
    /// page's current step when no reviewer was asked for.
    pub step: String,
    pub version: String,
    pub waiting_on: Vec<String>,
    pub submitted_by: String,
    pub waiting_since: String,
    /// How long it has waited at the build's `now`: `3d 4h`.
    pub age: String,
    /// `review_url` + the page id; `null` where the site set no `review_url` (the text then
    /// says how to open the review with `imprimatur serve`).
    pub review_url: Option<String>,
    #[serde(skip)]
    pub review: ReviewLink,
}

/// Pages in review, oldest first; with `reviewer`, only those waiting on them.
pub fn in_review(
    site: &Site,
    eval: &Evaluation,
    report: &StatusReport,
    reviewer: Option<&str>,
) -> Vec<InboxItem> {
    let mut items: Vec<(Instant, InboxItem)> = Vec::new();
    for status in &report.pages {
        let Some(p) = eval.page(&status.id) else {
            continue;
        };
        let Some(r) = p.review().and_then(|r| r.in_review.as_ref()) else {
            continue;
        };
        let step = match reviewer {
            Some(who) => match r.step_waiting_on(who) {
                Some(step) => step.to_string(),
                None => continue,
            },
            None => r.step.clone(),
        };
        items.push((
            r.submitted_at,
            InboxItem {
                page: status.id.clone(),
                title: status.title.clone(),
                space: status.space.clone(),
                step,
                version: r.version.to_string(),
                waiting_on: r.waiting_on.clone(),
                submitted_by: r.submitter.clone(),
                waiting_since: time::format_utc(&r.submitted_at),
                age: age(eval.now - r.submitted_at),
                review_url: ReviewLink::of(site.config.review_url.as_deref(), &status.id)
                    .url()
                    .map(str::to_string),
                review: ReviewLink::of(site.config.review_url.as_deref(), &status.id),
            },
        ));
    }
    items.sort_by(|a, b| (a.0, &a.1.page).cmp(&(b.0, &b.1.page)));
    items.into_iter().map(|(_, item)| item).collect()
}

/// `2d 5h`, `3h 10m`, `4m`; never negative.
pub fn age(d: chrono::TimeDelta) -> String {
    let minutes = d.num_minutes().max(0);
    let (days, hours, mins) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {mins}m")
    } else {
        format!("{mins}m")
    }
}

/// The text `imprimatur inbox` prints.
pub fn to_text(reviewer: &str, items: &[InboxItem]) -> String {
    if items.is_empty() {
        return format!("nothing waits on {reviewer}\n");
    }
    let mut out = format!(
        "{} page(s) wait on {reviewer}, oldest first:\n",
        items.len()
    );
    for i in items {
        out.push_str(&format!(
            "  {page}  step {step}  waiting {age} (since {since})  submitted by {by}\n    {title}\n    review: {url}\n",
            page = i.page,
            step = i.step,
            age = i.age,
            since = i.waiting_since,
            by = i.submitted_by,
            title = i.title.as_deref().unwrap_or("(no title)"),
            url = i.review,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn review_links_append_the_page_id_percent_encoded_but_its_slashes() {
        let base = "http://127.0.0.1:1111/_review/";
        assert_eq!(
            review_link(base, "kb/getting-started/install"),
            "http://127.0.0.1:1111/_review/kb/getting-started/install"
        );
        assert_eq!(
            review_link(base, "kb/a b#c?d\"é"),
            "http://127.0.0.1:1111/_review/kb/a%20b%23c%3Fd%22%C3%A9"
        );
    }

    #[test]
    fn without_a_review_url_a_link_says_how_to_open_the_review_not_a_loopback_address() {
        let unset = ReviewLink::of(None, "kb/a b");
        assert_eq!(unset.url(), None);
        assert_eq!(
            unset.to_string(),
            "open it with `imprimatur serve` (then /_review/kb/a%20b)"
        );
        let set = ReviewLink::of(Some("https://review.example/r/"), "kb/a");
        assert_eq!(set.url(), Some("https://review.example/r/kb/a"));
        assert_eq!(set.to_string(), "https://review.example/r/kb/a");
    }

    #[test]
    fn ages_read_at_a_glance() {
        let m = chrono::TimeDelta::minutes;
        assert_eq!(age(m(4)), "4m");
        assert_eq!(age(m(190)), "3h 10m");
        assert_eq!(age(m(2 * 1440 + 5 * 60 + 7)), "2d 5h");
        assert_eq!(age(m(-5)), "0m");
    }
}
