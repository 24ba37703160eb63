//! The replay at the heart of the review engine: one page's verified records applied in
//! order, each counted or not (with the reason), moving each version through its policy's
//! stages — submit, approvals and rejections per step, overrides, retractions, publications
//! and takedowns. `evaluate` (in the parent) runs it and reads the result.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    overdue, CancelledReview, Decision, FindingKind, Outcome, Publication, RecordNote,
    VerifiedRecord, VersionReview, Versions,
};
use crate::time::Instant;
use crate::trust::authority::{Act, Refusal};
use crate::trust::policy::Policy;
use crate::trust::record::{Kind, Record};
use crate::trust::version::Version;

/// Where review resumes after a rejection (`resume_after_reject`).
pub(super) struct Resume {
    passed: BTreeSet<usize>,
    stage: usize,
    /// The approvals of the passed steps: they count for the resubmitted version, so they
    /// belong in its history. (Not the rejected version's submit or rejection: a rejection
    /// comment may quote text that was never published.)
    history: Vec<usize>,
}

pub(super) struct Replay<'a> {
    pub(super) policy: &'a Policy,
    pub(super) records: &'a [VerifiedRecord],
    pub(super) active: Option<Version>,
    pub(super) resume: Option<Resume>,
    pub(super) versions: Versions,
    pub(super) notes: Vec<RecordNote>,
    pub(super) publications: Vec<Publication>,
}

impl Replay<'_> {
    fn note(&mut self, index: usize, counted: bool, finding: Option<FindingKind>, note: String) {
        self.notes.push(RecordNote {
            index,
            counted,
            note,
            finding,
        });
    }
    fn counted(&mut self, index: usize, note: String) {
        self.note(index, true, None, note);
    }
    fn invalid(&mut self, index: usize, why: String) {
        self.note(index, false, Some(FindingKind::InvalidRecord), why);
    }
    fn refused(&mut self, index: usize, why: Refusal) {
        self.invalid(index, why.to_string());
    }
    fn out_of_turn(&mut self, index: usize, why: String) {
        self.note(index, false, Some(FindingKind::OutOfTurn), why);
    }
    fn ignored(&mut self, index: usize, why: String) {
        self.note(index, false, None, why);
    }

    pub(super) fn apply(&mut self, i: usize) {
        let r = &self.records[i].record;
        match r.kind {
            Kind::Submit => self.submit(i, r),
            Kind::Approve | Kind::Reject => self.decide(i, r),
            Kind::Publish => self.publish(i, r),
            Kind::Unpublish => self.unpublish(i, r),
            Kind::Retract => self.retract(i, r),
            Kind::Assign => self.assign(i, r),
        }
    }

    /// `edit_cancels_review`: a review still open when the page's bytes are another version
    /// ends here, as `Cancelled` (a re-certification keeps the approval it had).
    pub(super) fn cancel_if_edited(&mut self, current: &Version) -> Option<CancelledReview> {
        let active = self.active.clone()?;
        if !self.policy.edit_cancels_review || active == *current {
            return None;
        }
        let review = &self.versions[&active];
        let step = self
            .policy
            .stage_steps(review.stage)
            .find(|s| !review.passed.contains(s))
            .map(|s| self.policy.steps[s].name.clone())
            .unwrap_or_default();
        let cancelled = CancelledReview {
            version: active,
            submitter: review.submitter.clone(),
            submitted_at: review.submitted_at,
            step,
        };
        self.end_active(Outcome::Cancelled);
        self.resume = None;
        Some(cancelled)
    }

    /// Is `version` the newest publication, with no takedown after it?
    fn is_newest_publication(&self, version: &Version) -> bool {
        matches!(self.publications.last(), Some(Publication::Publish { version: v, .. }) if v == version)
    }

    fn submit(&mut self, i: usize, r: &Record) {
        let p = self.policy;
        let act = Act::Submit {
            assign: r.assign.as_ref(),
        };
        if let Err(why) = p.authorize(&r.reviewer, &act) {
            return self.refused(i, why);
        }
        if self.active.as_ref() == Some(&r.version) {
            return self.ignored(i, "this version is already in review".into());
        }
        // A submit of an approved version changes nothing, unless its approval has expired:
        // then it starts a re-certification of the same bytes.
        let mut standing = None;
        if let Some(prev) = self.versions.get(&r.version) {
            if let Some((approved_at, _)) = prev.approval() {
                if overdue(approved_at, p.approval_expires_days, &r.signed_at).is_none() {
                    return self.ignored(i, "this version is already approved".into());
                }
                standing = Some(prev.outcome.clone());
            }
        }
        self.end_active(Outcome::Replaced);
        let recertifying = standing.is_some();
        // A re-certification reviews from the first step: it is a new review of old bytes.
        let resume = self
            .resume
            .take()
            .filter(|_| p.resume_after_reject && !recertifying);
        let (passed, stage, mut history) = resume.map_or((BTreeSet::new(), 0, Vec::new()), |r| {
            (r.passed, r.stage, r.history)
        });
        if let Some(prev) = self.versions.get(&r.version).filter(|_| recertifying) {
            history = prev.history.clone();
        }
        history.push(i);
        let review = VersionReview {
            version: r.version.clone(),
            submitter: r.reviewer.clone(),
            submitted_at: r.signed_at,
            outcome: Outcome::Pending,
            history,
            standing,
            passed,
            stage,
            stage_since: r.signed_at,
            decisions: BTreeMap::new(),
            // `authorize` checked every step name and assignee.
            assigned: r
                .assign
                .iter()
                .flatten()
                .filter_map(|(step, who)| Some((p.step(step)?.0, who.clone())))
                .collect(),
        };
        let exempt = p.exempt.contains(&r.reviewer);
        if !exempt {
            let mut note = if recertifying {
                format!(
                    "submitted for re-certification by '{}' (the approval expired)",
                    r.reviewer
                )
            } else {
                format!("submitted for review by '{}'", r.reviewer)
            };
            self.active = Some(r.version.clone());
            // A review resumes past its start only with steps passed before the rejection.
            if !review.passed.is_empty() {
                let names: Vec<&str> = p
                    .stage_steps(review.stage)
                    .map(|s| p.steps[s].name.as_str())
                    .collect();
                note += &format!("; resumes at {}", names.join(" + "));
            }
            for (step, who) in &review.assigned {
                note += &format!("; {} assigned to {}", p.steps[*step].name, who.join(", "));
            }
            self.counted(i, note);
        }
        self.versions.insert(r.version.clone(), Box::new(review));
        if exempt {
            let note = self.complete(&r.version, r.signed_at, true);
            self.counted(
                i,
                format!("submitted by exempt contributor '{}': {note}", r.reviewer),
            );
        }
    }

    /// Ends the review of the version in review, if any: it gets `outcome`, or, when it was a
    /// re-certification, the approval it had.
    fn end_active(&mut self, outcome: Outcome) {
        if let Some(prev) = self.active.take() {
            if let Some(prev) = self.versions.get_mut(&prev) {
                prev.outcome = prev.standing.take().unwrap_or(outcome);
            }
        }
    }

    /// The version in review passed: it is approved (and maybe published), and review ends.
    fn complete(&mut self, version: &Version, at: Instant, publish_flag: bool) -> &'static str {
        let review = self
            .versions
            .get_mut(version)
            .expect("the version in review");
        let (note, published) = approve_version(review, self.policy, at, publish_flag);
        if published {
            self.publications.push(Publication::Publish {
                version: version.clone(),
                at,
            });
        }
        self.active = None;
        self.resume = None;
        note
    }

    fn decide(&mut self, i: usize, r: &Record) {
        let p = self.policy;
        let step_name = r.step.as_deref().unwrap_or_default();
        let reject = r.kind == Kind::Reject;
        let submitter = self.versions.get(&r.version).map(|v| v.submitter.clone());
        let assigned = self
            .versions
            .get(&r.version)
            .zip(p.step(step_name))
            .and_then(|(v, (s, _))| v.assigned.get(&s).cloned());
        let act = Act::Decide {
            step: step_name,
            reject,
            comment: r.comment_for_policy(),
            override_: r.overrides(),
            publish: r.publishes(),
            submitter: submitter.as_deref(),
            assigned: assigned.as_deref(),
        };
        if let Err(why) = p.authorize(&r.reviewer, &act) {
            return self.refused(i, why);
        }
        let Some((step_index, step)) = p.step(step_name) else {
            unreachable!("authorize refuses unknown steps")
        };
        let Some(review) = self.versions.get(&r.version) else {
            return self.out_of_turn(i, "signed before any counted submit of this version".into());
        };
        if self.active.as_ref() != Some(&r.version) {
            let why = match &review.outcome {
                Outcome::Approved { .. } | Outcome::Published { .. } => {
                    "the version is already approved; changes nothing"
                }
                Outcome::Rejected { .. } => "the version was already rejected; changes nothing",
                Outcome::Retracted => "the version was retracted; changes nothing",
                Outcome::Cancelled => "the version's review was cancelled; changes nothing",
                Outcome::Replaced => {
                    "another version of the page was submitted since; changes nothing"
                }
                Outcome::Pending => "the version is not in review",
            };
            return self.ignored(i, why.into());
        }
        let review = self.versions.get_mut(&r.version).expect("checked above");
        // A manager's override approves whatever steps remain, whichever step it names.
        if r.overrides() && !reject {
            review.history.push(i);
            let note = self.complete(&r.version, r.signed_at, r.publishes());
            return self.counted(i, format!("manager override: {note}"));
        }
        if step.stage > review.stage {
            let waiting: Vec<&str> = p
                .stage_steps(review.stage)
                .filter(|s| !review.passed.contains(s))
                .map(|s| p.steps[s].name.as_str())
                .collect();
            return self.out_of_turn(
                i,
                format!(
                    "step '{step_name}' acts only after {} passed; signed before that",
                    waiting.join(" and ")
                ),
            );
        }
        // Every step of an earlier stage has passed.
        if review.passed.contains(&step_index) {
            return self.ignored(
                i,
                format!("step '{step_name}' had already passed; changes nothing"),
            );
        }
        review.history.push(i);
        let at = r.signed_at;
        let decision = if reject {
            Decision::Reject
        } else {
            Decision::Approve
        };
        let tally = review.decisions.entry(step_index).or_default();
        // A reviewer counts once: their latest decision replaces an earlier one.
        tally.insert(r.reviewer.clone(), (decision, at));
        let approvals = tally
            .values()
            .filter(|(d, _)| *d == Decision::Approve)
            .count() as u32;
        let rejections = tally
            .values()
            .filter(|(d, _)| *d == Decision::Reject)
            .count() as u32;
        let passes = step_passes(step, tally, review.assigned.get(&step_index));
        let verb = if reject { "rejected" } else { "approved" };
        if rejections >= step.rejections_to_fail {
            let recertifying = review.standing.is_some();
            let records = self.records;
            let carried = review
                .history
                .iter()
                .copied()
                .filter(|&h| {
                    let rec = &records[h].record;
                    rec.kind == Kind::Approve
                        && rec
                            .step
                            .as_deref()
                            .and_then(|n| p.step(n))
                            .is_some_and(|(s, _)| review.passed.contains(&s))
                })
                .collect();
            let resume = Resume {
                passed: review.passed.clone(),
                stage: step.stage,
                history: carried,
            };
            self.resume = (!r.discards() && !recertifying).then_some(resume);
            self.end_active(Outcome::Rejected {
                step: step.name.clone(),
                discard: r.discards(),
            });
            let what = match (recertifying, r.discards()) {
                (true, _) => "the re-certification ends and the version keeps its old approval",
                (false, true) => "the version is discarded",
                (false, false) => "the version is rejected",
            };
            return self.counted(i, format!("{verb} in step '{step_name}': {what}"));
        }
        if passes {
            let note = self.pass_step(&r.version, step_index, at, r.publishes());
            return self.counted(i, format!("{verb} in step '{step_name}': {note}"));
        }
        let progress = match review.assigned.get(&step_index) {
            Some(assigned) => format!(
                "{} of {} assigned approvals",
                assigned
                    .iter()
                    .filter(|w| tally.get(*w).map(|(d, _)| *d) == Some(Decision::Approve))
                    .count(),
                assigned.len()
            ),
            None => format!("{approvals} of {} approvals", step.min_approvals),
        };
        self.counted(i, format!("{verb} in step '{step_name}' ({progress})"));
    }

    /// A step of the version in review passed: its stage may be done, and with the last
    /// stage the version is approved. Returns what happened.
    fn pass_step(&mut self, version: &Version, step: usize, at: Instant, publish: bool) -> String {
        let p = self.policy;
        let review = self
            .versions
            .get_mut(version)
            .expect("the version in review");
        review.passed.insert(step);
        let stage_done = p
            .stage_steps(review.stage)
            .all(|s| review.passed.contains(&s));
        if stage_done {
            // No later stage can have passed already: a resumed review starts at the
            // stage that rejected, with only that stage's and earlier steps passed.
            review.stage += 1;
            review.stage_since = at;
            if review.stage == p.stage_count {
                return self.complete(version, at, publish).into();
            }
        }
        "the step passed".into()
    }

    /// A manager names new reviewers for a step of the version in review that has not
    /// passed. Decisions already made stay; if every new assignee has approved, the step passes.
    fn assign(&mut self, i: usize, r: &Record) {
        let p = self.policy;
        let step_name = r.step.as_deref().unwrap_or_default();
        let assignees: Vec<String> = r
            .assign
            .as_ref()
            .and_then(|a| a.get(step_name))
            .cloned()
            .unwrap_or_default();
        let Some(review) = self.versions.get(&r.version) else {
            return self.out_of_turn(i, "signed before any counted submit of this version".into());
        };
        let act = Act::Assign {
            step: step_name,
            assignees: &assignees,
            submitter: &review.submitter,
        };
        if let Err(why) = p.authorize(&r.reviewer, &act) {
            return self.refused(i, why);
        }
        if self.active.as_ref() != Some(&r.version) {
            return self.out_of_turn(
                i,
                "the version is not in review, so there is no step to assign".into(),
            );
        }
        let Some((step_index, step)) = p.step(step_name) else {
            unreachable!("authorize refuses unknown steps")
        };
        let review = self.versions.get_mut(&r.version).expect("checked above");
        if review.passed.contains(&step_index) {
            return self.out_of_turn(
                i,
                format!("step '{step_name}' had already passed; there is nothing to assign"),
            );
        }
        review.history.push(i);
        review.assigned.insert(step_index, assignees.clone());
        let mut note = format!(
            "step '{step_name}' assigned to {} by '{}'",
            assignees.join(", "),
            r.reviewer
        );
        let tally = review.decisions.entry(step_index).or_default();
        let rejections = tally
            .values()
            .filter(|(d, _)| *d == Decision::Reject)
            .count() as u32;
        if step.stage == review.stage
            && rejections < step.rejections_to_fail
            && step_passes(step, tally, Some(&assignees))
        {
            note += &format!(
                "; every assignee had approved: {}",
                self.pass_step(&r.version, step_index, r.signed_at, false)
            );
        }
        self.counted(i, note);
    }

    fn publish(&mut self, i: usize, r: &Record) {
        if let Err(why) = self.policy.authorize(&r.reviewer, &Act::Publish) {
            return self.refused(i, why);
        }
        let newest = self.is_newest_publication(&r.version);
        let Some(review) = self.versions.get_mut(&r.version) else {
            return self.out_of_turn(
                i,
                "the version is not approved (yet); a publish record can't skip review".into(),
            );
        };
        let Some((approved_at, published)) = review.approval() else {
            return self.out_of_turn(
                i,
                "the version is not approved (yet); a publish record can't skip review".into(),
            );
        };
        if newest {
            return self.ignored(i, "the version is already the newest published".into());
        }
        let published_now = Outcome::Published {
            approved_at,
            published_at: r.signed_at,
        };
        match &mut review.standing {
            Some(standing) => *standing = published_now,
            None => review.outcome = published_now,
        }
        review.history.push(i);
        self.publications.push(Publication::Publish {
            version: r.version.clone(),
            at: r.signed_at,
        });
        let note = if published.is_some() {
            format!("re-published by '{}' (rollback)", r.reviewer)
        } else {
            format!("published by '{}'", r.reviewer)
        };
        self.counted(i, note);
    }

    fn unpublish(&mut self, i: usize, r: &Record) {
        if let Err(why) = self.policy.authorize(&r.reviewer, &Act::Unpublish) {
            return self.refused(i, why);
        }
        if !matches!(self.publications.last(), Some(Publication::Publish { .. })) {
            return self.ignored(
                i,
                "nothing is published since the last takedown; changes nothing".into(),
            );
        }
        self.publications.push(Publication::TakeDown {
            at: r.signed_at,
            by: r.reviewer.clone(),
        });
        self.counted(
            i,
            format!(
                "taken offline by '{}' until a version is published again",
                r.reviewer
            ),
        );
    }

    fn retract(&mut self, i: usize, r: &Record) {
        let Some(submitter) = self.versions.get(&r.version).map(|v| v.submitter.clone()) else {
            return self.out_of_turn(i, "signed before any counted submit of this version".into());
        };
        let act = Act::Retract {
            submitter: &submitter,
        };
        if let Err(why) = self.policy.authorize(&r.reviewer, &act) {
            return self.refused(i, why);
        }
        if self.active.as_ref() != Some(&r.version) {
            return self.out_of_turn(
                i,
                "the version is not in review, so there is nothing to retract".into(),
            );
        }
        self.versions
            .get_mut(&r.version)
            .expect("checked above")
            .history
            .push(i);
        self.end_active(Outcome::Retracted);
        self.resume = None;
        self.counted(i, format!("retracted by '{}'", r.reviewer));
    }
}

/// Does a step pass with these decisions? With an assignment, every assignee must have
/// approved (an assignment holds the required reviewers and at least `min_approvals`);
/// otherwise `min_approvals` approvals and every `required` reviewer.
fn step_passes(
    step: &crate::trust::policy::Step,
    tally: &BTreeMap<String, (Decision, Instant)>,
    assigned: Option<&Vec<String>>,
) -> bool {
    let approved = |w: &String| tally.get(w).map(|(d, _)| *d) == Some(Decision::Approve);
    match assigned {
        Some(assigned) => assigned.iter().all(approved),
        None => {
            let approvals = tally
                .values()
                .filter(|(d, _)| *d == Decision::Approve)
                .count() as u32;
            approvals >= step.min_approvals && step.required.iter().all(approved)
        }
    }
}

/// The version passed its last stage (or was overridden, or submitted by an exempt
/// contributor). A re-certification renews the approval time and keeps the publication.
/// Returns what happened, and whether the version was published by it.
fn approve_version(
    review: &mut VersionReview,
    p: &Policy,
    at: Instant,
    publish_flag: bool,
) -> (&'static str, bool) {
    let published_before = match review.standing.take() {
        Some(Outcome::Published { published_at, .. }) => Some(published_at),
        _ => None,
    };
    if let Some(published_at) = published_before {
        review.outcome = Outcome::Published {
            approved_at: at,
            published_at,
        };
        return (
            "the version is re-certified: its approval is renewed",
            false,
        );
    }
    if p.auto_publish || publish_flag {
        review.outcome = Outcome::Published {
            approved_at: at,
            published_at: at,
        };
        ("the version is approved and published", true)
    } else {
        review.outcome = Outcome::Approved { approved_at: at };
        (
            "the version is approved and waits for a publish record",
            false,
        )
    }
}
