//! The view models: what the templates see of the site, a space, the navigation and a page
//! (its badge, breadcrumbs and approval history), built from the published site.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{PublishedPage, PublishedSpace};
use crate::publish::markdown::TocEntry;
use crate::site::config::HistoryComments;
use crate::time;
use crate::trust::keyring::Keyring;
use crate::trust::record::Kind;
use crate::trust::review::{
    LiveVersion, RecordNote, ReviewState, Status, VerifiedRecord, Versions,
};

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
pub(super) fn path_before(
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

pub(super) fn entries(
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
