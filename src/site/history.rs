//! The versions of one page (`imprimatur history PAGE`): every version its records name, and
//! its current bytes, oldest first — each with its review state, who submitted and approved
//! it, when it was live (from the signed publications), whether it is live now, and whether
//! the store holds its bytes (what `imprimatur restore` needs). Derived from the one
//! evaluation of the page; nothing here decides anything. It sits on the site floor because
//! `restore` (in `workflow/`) needs it as much as the report does; `report::history` prints it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Site;
use crate::error::{Error, Result};
use crate::time::{self, Instant};
use crate::trust::record::Kind;
use crate::trust::review::{Outcome, Publication};
use crate::trust::version::Version;

#[derive(Debug, Clone, Serialize)]
pub struct PageHistory {
    pub page: String,
    pub status: String,
    pub current_version: String,
    pub versions: Vec<VersionEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VersionEntry {
    pub version: String,
    /// The page's bytes in `content/` are this version.
    pub current: bool,
    /// `draft` (never counted as submitted), `pending`, `replaced`, `rejected`, `discarded`,
    /// `retracted`, `cancelled`, `approved` or `published`.
    pub state: String,
    pub live_now: bool,
    /// The bytes are in `approvals/store/` and hash-check (it can be restored).
    pub stored: bool,
    pub submitted_by: Option<String>,
    pub submitted_at: Option<String>,
    pub approvals: Vec<Approval>,
    pub approved_at: Option<String>,
    /// When it was published, and until when (another publication or a takedown); `until`
    /// is `null` while it is the newest publication.
    pub published: Vec<Period>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Approval {
    pub reviewer: String,
    pub step: String,
    pub signed_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Period {
    pub from: String,
    pub until: Option<String>,
}

pub fn page_history(site: &Site, now: Instant, page_arg: &str) -> Result<PageHistory> {
    let id = super::content::page_id_from_arg(page_arg);
    let p = site
        .evaluate_one(&id, now, None)
        .ok_or_else(|| Error::Refused(format!("no page '{id}' in content/")))?;
    // Every version a verified record names, first seen first; the current bytes last when
    // no record names them.
    let mut first_seen: BTreeMap<Version, (Instant, String)> = BTreeMap::new();
    for r in &p.records {
        let key = (r.record.signed_at, r.file.clone());
        first_seen
            .entry(r.record.version.clone())
            .and_modify(|seen| *seen = (*seen).clone().min(key.clone()))
            .or_insert(key);
    }
    let mut order: Vec<(Version, Option<(Instant, String)>)> = first_seen
        .into_iter()
        .map(|(v, seen)| (v, Some(seen)))
        .collect();
    if !order.iter().any(|(v, _)| *v == p.page.version) {
        order.push((p.page.version.clone(), None));
    }
    order.sort_by(|a, b| match (&a.1, &b.1) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });

    let review = p.review();
    let live = p.live().map(|l| l.version.version.clone());
    let counted: std::collections::BTreeSet<usize> = review
        .map(|r| {
            r.notes
                .iter()
                .filter(|n| n.counted)
                .map(|n| n.index)
                .collect()
        })
        .unwrap_or_default();
    let publications: &[Publication] = review.map_or(&[], |r| &r.publications);
    let versions = order
        .into_iter()
        .map(|(v, _)| {
            let vr = review.and_then(|r| r.versions.get(&v));
            let state = match vr.map(|r| &r.outcome) {
                None => "draft",
                Some(Outcome::Pending) => "pending",
                Some(Outcome::Replaced) => "replaced",
                Some(Outcome::Rejected { discard: true, .. }) => "discarded",
                Some(Outcome::Rejected { .. }) => "rejected",
                Some(Outcome::Retracted) => "retracted",
                Some(Outcome::Cancelled) => "cancelled",
                Some(Outcome::Approved { .. }) => "approved",
                Some(Outcome::Published { .. }) => "published",
            };
            let approvals = p
                .records
                .iter()
                .enumerate()
                .filter(|(i, r)| {
                    counted.contains(i) && r.record.kind == Kind::Approve && r.record.version == v
                })
                .map(|(_, r)| Approval {
                    reviewer: r.record.reviewer.clone(),
                    step: r.record.step.clone().unwrap_or_default(),
                    signed_at: time::format_utc(&r.record.signed_at),
                })
                .collect::<Vec<_>>();
            let mut approvals = approvals;
            approvals.sort_by(|a, b| a.signed_at.cmp(&b.signed_at));
            VersionEntry {
                version: v.to_string(),
                current: v == p.page.version,
                state: state.to_string(),
                live_now: live.as_ref() == Some(&v),
                stored: site.store.get_version(&v).is_ok(),
                submitted_by: vr.map(|r| r.submitter.clone()),
                submitted_at: vr.map(|r| time::format_utc(&r.submitted_at)),
                approvals,
                approved_at: vr
                    .and_then(|r| r.approval())
                    .map(|(at, _)| time::format_utc(&at)),
                published: periods(publications, &v),
            }
        })
        .collect();
    Ok(PageHistory {
        page: id,
        status: p.status().to_string(),
        current_version: p.page.version.to_string(),
        versions,
    })
}

/// When `v` was the newest publication: from its publish to the next publication or takedown.
fn periods(publications: &[Publication], v: &Version) -> Vec<Period> {
    let at = |p: &Publication| match p {
        Publication::Publish { at, .. } | Publication::TakeDown { at, .. } => *at,
    };
    publications
        .iter()
        .enumerate()
        .filter(|(_, p)| matches!(p, Publication::Publish { version, .. } if version == v))
        .map(|(i, p)| Period {
            from: time::format_utc(&at(p)),
            until: publications
                .get(i + 1)
                .map(|next| time::format_utc(&at(next))),
        })
        .collect()
}
