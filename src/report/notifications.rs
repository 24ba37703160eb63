//! The notification outbox (`reports/notifications.json`, SPEC §9): who must hear what now.
//! The build only writes the outbox; a sender run after every scheduled build delivers it.
//! Each id is a hash of what the notification is about (event, page, version, step), so it
//! stays the same across builds while nothing changes, and the sender can skip what it sent.
//! `imprimatur notify` (the `notify` folder, a floor above) is that sender; it adds
//! `cancelled`, which only its ledger can know (a request it delivered that is no longer
//! current).

use std::collections::BTreeSet;

use serde::Serialize;

use crate::site::{Evaluation, Live, PageEvaluation, Site};
use crate::time::{self, Instant};
use crate::trust::escalation;
use crate::trust::policy::Policy;
use crate::trust::record::Kind;
use crate::trust::review::{Outcome, PageReview, ReviewState};
use crate::trust::version::sha256_hex;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Recipient {
    pub reviewer: String,
    pub email: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    pub id: String,
    pub event: &'static str,
    pub page: String,
    pub version: String,
    pub step: Option<String>,
    pub to: Vec<Recipient>,
    pub reason: String,
    pub since: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Outbox {
    pub notifications: Vec<Notification>,
}

/// The id of a notification: what it is about, hashed (the same event of the same version and
/// step has the same id in every build).
pub fn notification_id(event: &str, page: &str, version: &str, step: Option<&str>) -> String {
    sha256_hex(format!("{event}\n{page}\n{version}\n{}", step.unwrap_or("")).as_bytes())[..24]
        .to_string()
}

pub fn outbox(site: &Site, eval: &Evaluation) -> Outbox {
    let mut notifications = Vec::new();
    for p in &eval.pages {
        let (Some(review), Some(policy)) = (p.review(), site.policies.get(&p.page.space)) else {
            continue;
        };
        page_notifications(p, review, policy, site, &mut notifications);
    }
    notifications.sort_by(|a, b| {
        (&a.page, &a.since, a.event, &a.id).cmp(&(&b.page, &b.since, b.event, &b.id))
    });
    Outbox { notifications }
}

fn page_notifications(
    p: &PageEvaluation,
    review: &PageReview<Live>,
    policy: &Policy,
    site: &Site,
    out: &mut Vec<Notification>,
) {
    let keyring = &site.keyring;
    let page = &p.page.id;
    let mut rungs = Vec::new();
    let to = |ids: &mut dyn Iterator<Item = &String>| -> Vec<Recipient> {
        let set: BTreeSet<&String> = ids.collect();
        set.into_iter()
            .map(|id| Recipient {
                reviewer: id.clone(),
                email: keyring.reviewers.get(id).and_then(|r| r.email.clone()),
            })
            .collect()
    };
    let mut push = |event: &'static str,
                    version: &str,
                    step: Option<&str>,
                    to: Vec<Recipient>,
                    reason: String,
                    since: &Instant| {
        if to.is_empty() {
            return;
        }
        out.push(Notification {
            id: notification_id(event, page, version, step),
            event,
            page: page.clone(),
            version: version.to_string(),
            step: step.map(String::from),
            to,
            reason,
            since: time::format_utc(since),
        });
    };

    if let Some(r) = &review.in_review {
        let v = r.version.as_str();
        push(
            "review_requested",
            v,
            Some(&r.step),
            to(&mut r.waiting_on.iter()),
            format!(
                "'{}' waits on your decision in step {} of {} ({})",
                page,
                r.step_number,
                r.step_count,
                r.open_steps.join(" + ")
            ),
            &r.stage_since,
        );
        let stage = policy.step(&r.step).map_or(0, |(_, s)| s.stage);
        // The stage before the current one passed when this one began; unless this review
        // resumed there (after a rejection), which is no news of this review.
        if stage > 0 && r.stage_since > r.submitted_at {
            for i in policy.stage_steps(stage - 1) {
                let passed = &policy.steps[i].name;
                push(
                    "step_passed",
                    v,
                    Some(passed),
                    to(&mut std::iter::once(&r.submitter).chain(r.waiting_on.iter())),
                    format!(
                        "step '{passed}' of '{page}' passed; it now waits in step {} of {} ({})",
                        r.step_number,
                        r.step_count,
                        r.open_steps.join(" + ")
                    ),
                    &r.stage_since,
                );
            }
        }
        if let Some(e) = policy.escalate_after_days.as_ref().filter(|e| e.ladder) {
            // Each rung reached is its own notice to its own people, sent once: its id names
            // the rung. Earlier rungs stay in the outbox, so a sender that first runs late
            // still tells everyone, and the ledger never sees them as withdrawn.
            for rung in &r.rungs {
                let n = escalation::notified(policy, r, rung, site.admins().as_deref());
                let to = to(&mut n.who.iter());
                if to.is_empty() {
                    continue;
                }
                rungs.push(Notification {
                    id: notification_id(
                        "escalation",
                        page,
                        v,
                        Some(&format!("{}\nrung {}", r.step, rung.number)),
                    ),
                    event: "escalation",
                    page: page.clone(),
                    version: v.to_string(),
                    step: Some(r.step.clone()),
                    to,
                    reason: format!(
                        "step '{}' of '{page}' has waited more than {} days on {} (rung {} of {}: {})",
                        r.step,
                        rung.after_days,
                        r.waiting_on.join(", "),
                        rung.number,
                        e.after_days.len(),
                        n.whom
                    ),
                    since: time::format_utc(&rung.due),
                });
            }
        } else if let Some(rung) = r.rungs.first() {
            // The single number: one escalation, to the approvers of the stage after this
            // one and the managers, with the id and words it had before the ladder.
            let n = escalation::notified(policy, r, rung, None);
            push(
                "escalation",
                v,
                Some(&r.step),
                to(&mut n.who.iter()),
                format!(
                    "step '{}' of '{page}' has waited more than {} days on {}",
                    r.step,
                    rung.after_days,
                    r.waiting_on.join(", ")
                ),
                &rung.due,
            );
        }
        if let (Some(due), Some(days)) = (r.stale_at, policy.stale_after_days) {
            push(
                "stale",
                v,
                None,
                to(&mut policy.managers.reviewers.iter()),
                format!(
                    "'{page}' has been pending for more than {days} days (submitted by {})",
                    r.submitter
                ),
                &due,
            );
        }
    }

    if let Some(current) = review.versions.get(&p.page.version) {
        let v = current.version.as_str();
        let submitter = std::iter::once(&current.submitter);
        match (&current.outcome, review.current_state) {
            (Outcome::Rejected { step, .. }, ReviewState::Rejected | ReviewState::Discarded) => {
                let last_reject = current
                    .history
                    .iter()
                    .rev()
                    .map(|&i| &p.records[i].record)
                    .find(|r| r.kind == Kind::Reject);
                let (who, comment, at) = last_reject.map_or(("", "", current.submitted_at), |r| {
                    (
                        r.reviewer.as_str(),
                        r.comment.as_deref().unwrap_or(""),
                        r.signed_at,
                    )
                });
                let what = if review.current_state == ReviewState::Discarded {
                    "discarded"
                } else {
                    "rejected"
                };
                push(
                    "rejected",
                    v,
                    Some(step),
                    to(&mut submitter.clone()),
                    format!("'{page}' was {what} by {who} in step '{step}': {comment}"),
                    &at,
                );
            }
            (Outcome::Approved { approved_at }, _) => push(
                "approved",
                v,
                None,
                to(&mut submitter
                    .clone()
                    .chain(policy.publishers.reviewers.iter())
                    .chain(policy.managers.reviewers.iter())),
                format!("'{page}' is approved and waits for a publish record"),
                approved_at,
            ),
            (Outcome::Published { approved_at, .. }, ReviewState::Scheduled) => push(
                "approved",
                v,
                None,
                to(&mut submitter.clone()),
                format!("'{page}' is approved and scheduled"),
                approved_at,
            ),
            _ => {}
        }
    }
    if let Some(Live {
        version: live, url, ..
    }) = review.live.live()
    {
        if let Some(r) = review.versions.get(&live.version) {
            push(
                "published",
                live.version.as_str(),
                None,
                to(&mut std::iter::once(&r.submitter)),
                format!("'{page}' is live at {url}"),
                &live.published_at,
            );
        }
        if let Some(due) = live.review_due_at {
            let days = policy.approval_expires_days.unwrap_or_default();
            push(
                "review_due",
                live.version.as_str(),
                None,
                to(&mut policy.managers.reviewers.iter().chain(review.versions.get(&live.version).map(|r| &r.submitter))),
                format!("the live version of '{page}' was approved more than {days} days ago: review it again"),
                &due,
            );
        }
    }
    out.extend(rungs);
}
