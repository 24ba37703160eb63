//! The review engine (SPEC §5, §6): replays one page's verified records against its space's
//! policy at the build's `now`, and decides each version's outcome, the page's status, who it
//! waits on and which version (if any) is live. It is pure — no files, no clock, no printing —
//! so every rule is pinned down by table-driven tests below.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;
use serde::Serialize;

use crate::policy::{OnExpiry, Policy};
use crate::record::{Kind, Record};
use crate::time::Instant;
use crate::version::Version;

/// A record that passed every check of SPEC §4 (signature, key validity, time, ids).
#[derive(Debug, Clone)]
pub struct VerifiedRecord {
    /// Path relative to the site root: the tie-breaker of the replay order.
    pub file: String,
    pub record: Record,
}

/// What the engine needs to know of a version's bytes to decide whether it may be live.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionMeta {
    pub publish_at: Option<Instant>,
    pub expires_at: Option<Instant>,
    /// `None`: the space policy's audience.
    pub audience: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Draft,
    Pending,
    Rejected,
    Scheduled,
    Approved,
    Published,
    Outdated,
    Expired,
}

/// A version's own review state (SPEC §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReviewState {
    Draft,
    Pending,
    Rejected,
    Discarded,
    Retracted,
    Approved,
    Scheduled,
    Published,
}

macro_rules! as_str_impl {
    ($t:ty { $($v:ident => $s:literal),* }) => {
        impl $t {
            pub fn as_str(self) -> &'static str { match self { $(Self::$v => $s),* } }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }
    };
}
as_str_impl!(Status { Draft => "draft", Pending => "pending", Rejected => "rejected", Scheduled => "scheduled",
    Approved => "approved", Published => "published", Outdated => "outdated", Expired => "expired" });
as_str_impl!(ReviewState { Draft => "draft", Pending => "pending", Rejected => "rejected", Discarded => "discarded",
    Retracted => "retracted", Approved => "approved", Scheduled => "scheduled", Published => "published" });

/// Where a version's review ended up after the replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pending,
    /// Another version of the page was submitted while this one was in review.
    Replaced,
    Rejected {
        step: String,
        discard: bool,
    },
    Retracted,
    Approved {
        approved_at: Instant,
    },
    Published {
        approved_at: Instant,
        published_at: Instant,
    },
}

/// One version's review: its outcome, and the records that counted for it, in order.
#[derive(Debug, Clone)]
pub struct VersionReview {
    pub version: Version,
    pub submitter: String,
    pub submitted_at: Instant,
    pub outcome: Outcome,
    /// Indices into the (sorted) records of every record that counted for this version.
    pub history: Vec<usize>,
    passed: BTreeSet<usize>,
    stage: usize,
    stage_since: Instant,
    decisions: BTreeMap<usize, BTreeMap<String, Decision>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Approve,
    Reject,
}

/// The version in review and where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InReview {
    pub version: Version,
    pub submitter: String,
    pub submitted_at: Instant,
    /// The first step of the current stage that has not passed.
    pub step: String,
    /// 1-based position of `step` among all steps, and the number of steps.
    pub step_number: usize,
    pub step_count: usize,
    /// Every unpassed step of the current stage.
    pub open_steps: Vec<String>,
    pub waiting_on: Vec<String>,
    /// When the current stage began (the submit, or the completion of the stage before).
    pub stage_since: Instant,
    /// When the stage became overdue (`escalate_after_days`), if it is by `now`.
    pub escalated_at: Option<Instant>,
    /// When the version became stale (`stale_after_days`), if it is by `now`.
    pub stale_at: Option<Instant>,
}

/// The version chosen to be live, and when it went (or goes) live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveVersion {
    pub version: Version,
    pub approved_at: Instant,
    pub published_at: Instant,
    /// When the approval expired (`approval_expires_days`), if it has by `now`; with
    /// `on_expiry: flag` the version stays live.
    pub review_due_at: Option<Instant>,
    /// Indices into the sorted records: the counted records of this version.
    pub history: Vec<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    InvalidRecord,
    OutOfTurn,
    BrokenLink,
    StoreMissing,
    StoreCorrupt,
    OutputDrift,
    OrphanRecord,
    NoPolicy,
    Stale,
    Escalation,
    ReviewDue,
    InvalidPage,
}

as_str_impl!(FindingKind { InvalidRecord => "invalid_record", OutOfTurn => "out_of_turn", BrokenLink => "broken_link",
    StoreMissing => "store_missing", StoreCorrupt => "store_corrupt", OutputDrift => "output_drift",
    OrphanRecord => "orphan_record", NoPolicy => "no_policy", Stale => "stale", Escalation => "escalation",
    ReviewDue => "review_due", InvalidPage => "invalid_page" });

/// Whether each record counted, and if not, why: the audit trail of `imprimatur log`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordNote {
    pub index: usize,
    pub counted: bool,
    /// Why it did not count, or what it did.
    pub note: String,
    /// Set when not counting is a finding (`invalid_record`, `out_of_turn`).
    pub finding: Option<FindingKind>,
}

#[derive(Debug, Clone)]
pub struct PageReview {
    pub status: Status,
    pub current_state: ReviewState,
    pub in_review: Option<InReview>,
    pub live: Option<LiveVersion>,
    /// Every version that was ever submitted (counted), by version.
    pub versions: BTreeMap<Version, VersionReview>,
    /// The records in replay order, as the engine saw them.
    pub order: Vec<usize>,
    pub notes: Vec<RecordNote>,
    /// Approved versions that could have been live but whose bytes could not be read.
    pub unavailable: Vec<Version>,
}

pub struct PageInput<'a> {
    pub current: &'a Version,
    /// Verified records about this page, in any order.
    pub records: &'a [VerifiedRecord],
    pub policy: &'a Policy,
    pub now: Instant,
    /// The audiences this build publishes; a version is live if it is meant for any of them.
    pub audiences: &'a [String],
    /// The schedule and audience of a version's bytes; `None` when they can't be read.
    pub meta: &'a dyn Fn(&Version) -> Option<VersionMeta>,
}

/// Replays and decides one page. See the module doc.
pub fn evaluate(input: &PageInput) -> PageReview {
    let mut order: Vec<usize> = (0..input.records.len()).collect();
    order.sort_by(|&a, &b| {
        let (ra, rb) = (&input.records[a], &input.records[b]);
        ra.record
            .signed_at
            .cmp(&rb.record.signed_at)
            .then_with(|| ra.file.cmp(&rb.file))
    });
    let mut replay = Replay {
        policy: input.policy,
        records: input.records,
        active: None,
        resume: None,
        versions: BTreeMap::new(),
        notes: Vec::new(),
    };
    for &i in &order {
        replay.apply(i);
    }
    let Replay {
        versions,
        active,
        notes,
        ..
    } = replay;
    let policy = input.policy;
    let now = input.now;

    let in_review = active
        .and_then(|v| versions.get(&v))
        .map(|r| describe_in_review(r, policy, &now));

    // The live version: the newest approved (and published) one whose time has come, whose
    // expiry hasn't, and that is meant for this build's audience.
    let mut published: Vec<&VersionReview> = versions
        .values()
        .filter(|r| matches!(r.outcome, Outcome::Published { .. }))
        .collect();
    published.sort_by_key(|r| match r.outcome {
        Outcome::Published {
            approved_at,
            published_at,
        } => std::cmp::Reverse((approved_at, published_at)),
        _ => unreachable!("filtered to published"),
    });
    let mut live = None;
    let mut unavailable = Vec::new();
    for r in published {
        let Outcome::Published {
            approved_at,
            published_at,
        } = r.outcome
        else {
            continue;
        };
        let Some(meta) = (input.meta)(&r.version) else {
            unavailable.push(r.version.clone());
            continue;
        };
        let review_due_at = overdue(approved_at, policy.approval_expires_days, &now);
        if !is_live(&meta, policy, input.audiences, &now)
            || (review_due_at.is_some() && policy.on_expiry == OnExpiry::Unpublish)
        {
            continue;
        }
        let went_live = meta
            .publish_at
            .map_or(published_at, |p| p.max(published_at));
        live = Some(LiveVersion {
            version: r.version.clone(),
            approved_at,
            published_at: went_live,
            review_due_at,
            history: r.history.clone(),
        });
        break;
    }

    let current_review = versions.get(input.current);
    let current_meta = || (input.meta)(input.current).unwrap_or_default();
    let current_state = match current_review.map(|r| &r.outcome) {
        None | Some(Outcome::Replaced) => ReviewState::Draft,
        Some(Outcome::Pending) => ReviewState::Pending,
        Some(Outcome::Rejected { discard: true, .. }) => ReviewState::Discarded,
        Some(Outcome::Rejected { .. }) => ReviewState::Rejected,
        Some(Outcome::Retracted) => ReviewState::Retracted,
        Some(Outcome::Approved { .. }) => ReviewState::Approved,
        Some(Outcome::Published { .. }) => {
            if current_meta().publish_at.is_some_and(|p| p > now) {
                ReviewState::Scheduled
            } else {
                ReviewState::Published
            }
        }
    };
    let status = match &live {
        Some(l) if l.approval_expired() => Status::Expired,
        Some(l) if &l.version == input.current => Status::Published,
        Some(_) => Status::Outdated,
        None => match current_state {
            ReviewState::Draft | ReviewState::Retracted => Status::Draft,
            ReviewState::Pending => Status::Pending,
            ReviewState::Rejected | ReviewState::Discarded => Status::Rejected,
            ReviewState::Approved => Status::Approved,
            ReviewState::Scheduled => Status::Scheduled,
            ReviewState::Published => {
                let meta = current_meta();
                let approved_at = match current_review.map(|r| &r.outcome) {
                    Some(Outcome::Published { approved_at, .. }) => Some(*approved_at),
                    _ => None,
                };
                let expired = meta.expires_at.is_some_and(|e| e <= now)
                    || approved_at
                        .is_some_and(|a| overdue(a, policy.approval_expires_days, &now).is_some());
                if expired {
                    Status::Expired
                } else {
                    // Approved and published, but not for this build's audience.
                    Status::Approved
                }
            }
        },
    };
    PageReview {
        status,
        current_state,
        in_review,
        live,
        versions,
        order,
        notes,
        unavailable,
    }
}

fn is_live(meta: &VersionMeta, policy: &Policy, build_audiences: &[String], now: &Instant) -> bool {
    let audiences = meta.audience.as_ref().unwrap_or(&policy.audience);
    meta.publish_at.is_none_or(|p| p <= *now)
        && meta.expires_at.is_none_or(|e| e > *now)
        && audiences.iter().any(|a| build_audiences.contains(a))
}

impl LiveVersion {
    pub fn approval_expired(&self) -> bool {
        self.review_due_at.is_some()
    }
}

/// `since + days`, if that instant has come by `now`: the one rule behind approval expiry,
/// escalation and staleness.
fn overdue(since: Instant, days: Option<u32>, now: &Instant) -> Option<Instant> {
    days.map(|d| since + Duration::days(i64::from(d)))
        .filter(|due| due <= now)
}

fn describe_in_review(r: &VersionReview, policy: &Policy, now: &Instant) -> InReview {
    let open: Vec<usize> = policy
        .stage_steps(r.stage)
        .filter(|i| !r.passed.contains(i))
        .collect();
    let first = open.first().copied().unwrap_or(0);
    let mut waiting = BTreeSet::new();
    for &i in &open {
        let step = &policy.steps[i];
        let decided = r.decisions.get(&i);
        let approved = |who: &str| decided.and_then(|d| d.get(who)) == Some(&Decision::Approve);
        let missing: Vec<&String> = step.required.iter().filter(|w| !approved(w)).collect();
        if !missing.is_empty() {
            waiting.extend(missing.into_iter().cloned());
        } else {
            waiting.extend(
                step.approvers
                    .reviewers
                    .iter()
                    .filter(|w| policy.allow_self_approval || **w != r.submitter)
                    .filter(|w| decided.is_none_or(|d| !d.contains_key(*w)))
                    .cloned(),
            );
        }
    }
    InReview {
        version: r.version.clone(),
        submitter: r.submitter.clone(),
        submitted_at: r.submitted_at,
        step: policy.steps[first].name.clone(),
        step_number: first + 1,
        step_count: policy.steps.len(),
        open_steps: open.iter().map(|&i| policy.steps[i].name.clone()).collect(),
        waiting_on: waiting.into_iter().collect(),
        stage_since: r.stage_since,
        escalated_at: overdue(r.stage_since, policy.escalate_after_days, now),
        stale_at: overdue(r.submitted_at, policy.stale_after_days, now),
    }
}

/// Where review resumes after a rejection (`resume_after_reject`).
struct Resume {
    passed: BTreeSet<usize>,
    stage: usize,
    /// The approvals of the passed steps: they count for the resubmitted version, so they
    /// belong in its history. (Not the rejected version's submit or rejection: a rejection
    /// comment may quote text that was never published.)
    history: Vec<usize>,
}

struct Replay<'a> {
    policy: &'a Policy,
    records: &'a [VerifiedRecord],
    active: Option<Version>,
    resume: Option<Resume>,
    versions: BTreeMap<Version, VersionReview>,
    notes: Vec<RecordNote>,
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
    fn invalid(&mut self, index: usize, why: String) {
        self.note(index, false, Some(FindingKind::InvalidRecord), why);
    }
    fn out_of_turn(&mut self, index: usize, why: String) {
        self.note(index, false, Some(FindingKind::OutOfTurn), why);
    }
    fn ignored(&mut self, index: usize, why: String) {
        self.note(index, false, None, why);
    }

    fn apply(&mut self, i: usize) {
        let r = &self.records[i].record;
        match r.kind {
            Kind::Submit => self.submit(i, r),
            Kind::Approve | Kind::Reject => self.decide(i, r),
            Kind::Publish => self.publish(i, r),
            Kind::Retract => self.retract(i, r),
            Kind::Unpublish => self.invalid(i, "unpublish records are not supported yet".into()),
        }
    }

    fn submit(&mut self, i: usize, r: &Record) {
        let p = self.policy;
        if !p.may_submit(&r.reviewer) {
            return self.invalid(
                i,
                format!("'{}' may not submit in space '{}' (not a contributor, exempt contributor or manager)", r.reviewer, p.space),
            );
        }
        if self.active.as_ref() == Some(&r.version) {
            return self.ignored(i, "this version is already in review".into());
        }
        if let Some(prev) = self.versions.get(&r.version) {
            if matches!(
                prev.outcome,
                Outcome::Approved { .. } | Outcome::Published { .. }
            ) {
                return self.ignored(i, "this version is already approved".into());
            }
        }
        if let Some(prev) = self.active.take() {
            if let Some(prev) = self.versions.get_mut(&prev) {
                prev.outcome = Outcome::Replaced;
            }
        }
        let resume = self.resume.take().filter(|_| p.resume_after_reject);
        let (passed, stage, mut history) = resume.map_or((BTreeSet::new(), 0, Vec::new()), |r| {
            (r.passed, r.stage, r.history)
        });
        history.push(i);
        let mut review = VersionReview {
            version: r.version.clone(),
            submitter: r.reviewer.clone(),
            submitted_at: r.signed_at,
            outcome: Outcome::Pending,
            history,
            passed,
            stage,
            stage_since: r.signed_at,
            decisions: BTreeMap::new(),
        };
        if p.exempt.contains(&r.reviewer) {
            review.outcome = Outcome::Published {
                approved_at: r.signed_at,
                published_at: r.signed_at,
            };
            self.note(
                i,
                true,
                None,
                format!(
                    "submitted by exempt contributor '{}': approved and published",
                    r.reviewer
                ),
            );
        } else {
            self.note(
                i,
                true,
                None,
                format!("submitted for review by '{}'", r.reviewer),
            );
            self.active = Some(r.version.clone());
            let resumed_at =
                (review.stage > 0 || !review.passed.is_empty()).then_some(review.stage);
            if let Some(stage) = resumed_at {
                let names: Vec<&str> = p
                    .stage_steps(stage)
                    .map(|s| p.steps[s].name.as_str())
                    .collect();
                self.notes.last_mut().expect("just noted").note +=
                    &format!("; resumes at {}", names.join(" + "));
            }
        }
        self.versions.insert(r.version.clone(), review);
    }

    fn decide(&mut self, i: usize, r: &Record) {
        let p = self.policy;
        let step_name = r.step.as_deref().unwrap_or_default();
        let Some((step_index, step)) = p.step(step_name) else {
            return self.invalid(i, format!("step '{step_name}' is not a step of {}", p.file));
        };
        if !p.may_act_in(step_index, &r.reviewer) {
            return self.invalid(
                i,
                format!(
                    "'{}' may not act in step '{step_name}' (not an approver of it or a manager)",
                    r.reviewer
                ),
            );
        }
        if r.overrides() && !p.managers.contains(&r.reviewer) {
            return self.invalid(
                i,
                format!(
                    "override: '{}' is not a manager of space '{}'",
                    r.reviewer, p.space
                ),
            );
        }
        if r.publishes() && !p.may_publish(&r.reviewer) {
            return self.invalid(
                i,
                format!(
                    "publish: '{}' is not a publisher or manager of space '{}'",
                    r.reviewer, p.space
                ),
            );
        }
        if r.kind == Kind::Reject
            && p.reject_comment_required
            && r.comment.as_deref().unwrap_or("").trim().is_empty()
        {
            return self.invalid(
                i,
                format!("a rejection needs a comment in space '{}'", p.space),
            );
        }
        let Some(review) = self.versions.get(&r.version) else {
            return self.out_of_turn(i, "signed before any counted submit of this version".into());
        };
        if review.submitter == r.reviewer && !p.allow_self_approval {
            return self.invalid(i, format!("'{}' submitted this version and may not review it (allow_self_approval is false)", r.reviewer));
        }
        if self.active.as_ref() != Some(&r.version) {
            let why = match &review.outcome {
                Outcome::Approved { .. } | Outcome::Published { .. } => {
                    "the version is already approved; changes nothing"
                }
                Outcome::Rejected { .. } => "the version was already rejected; changes nothing",
                Outcome::Retracted => "the version was retracted; changes nothing",
                Outcome::Replaced => {
                    "another version of the page was submitted since; changes nothing"
                }
                Outcome::Pending => "the version is not in review",
            };
            return self.ignored(i, why.into());
        }
        let review = self.versions.get_mut(&r.version).expect("checked above");
        // A manager's override approves whatever steps remain, whichever step it names.
        if r.overrides() && r.kind == Kind::Approve {
            review.history.push(i);
            let note = approve_version(review, p, r.signed_at, r.publishes());
            self.active = None;
            self.resume = None;
            return self.note(i, true, None, format!("manager override: {note}"));
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
        if step.stage < review.stage || review.passed.contains(&step_index) {
            return self.ignored(
                i,
                format!("step '{step_name}' had already passed; changes nothing"),
            );
        }
        review.history.push(i);
        let at = r.signed_at;
        let decision = if r.kind == Kind::Approve {
            Decision::Approve
        } else {
            Decision::Reject
        };
        let tally = review.decisions.entry(step_index).or_default();
        tally.insert(r.reviewer.clone(), decision);
        let approvals = tally.values().filter(|d| **d == Decision::Approve).count() as u32;
        let rejections = tally.values().filter(|d| **d == Decision::Reject).count() as u32;
        let required_ok = step
            .required
            .iter()
            .all(|w| tally.get(w) == Some(&Decision::Approve));
        let verb = if decision == Decision::Approve {
            "approved"
        } else {
            "rejected"
        };
        if rejections >= step.rejections_to_fail {
            review.outcome = Outcome::Rejected {
                step: step.name.clone(),
                discard: r.discards(),
            };
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
            self.resume = (!r.discards()).then(|| Resume {
                passed: review.passed.clone(),
                stage: step.stage,
                history: carried,
            });
            self.active = None;
            let what = if r.discards() {
                "discarded"
            } else {
                "rejected"
            };
            return self.note(
                i,
                true,
                None,
                format!("{verb} in step '{step_name}': the version is {what}"),
            );
        }
        if approvals >= step.min_approvals && required_ok {
            review.passed.insert(step_index);
            let stage_done = p
                .stage_steps(review.stage)
                .all(|s| review.passed.contains(&s));
            if stage_done {
                review.stage += 1;
                review.stage_since = at;
                while review.stage < p.stage_count
                    && p.stage_steps(review.stage)
                        .all(|s| review.passed.contains(&s))
                {
                    review.stage += 1;
                }
                if review.stage >= p.stage_count {
                    let note = approve_version(review, p, at, r.publishes());
                    self.active = None;
                    self.resume = None;
                    return self.note(
                        i,
                        true,
                        None,
                        format!("{verb} in step '{step_name}': {note}"),
                    );
                }
            }
            return self.note(
                i,
                true,
                None,
                format!("{verb} in step '{step_name}': the step passed"),
            );
        }
        self.note(
            i,
            true,
            None,
            format!(
                "{verb} in step '{step_name}' ({approvals} of {} approvals)",
                step.min_approvals
            ),
        );
    }

    fn publish(&mut self, i: usize, r: &Record) {
        let p = self.policy;
        if !p.may_publish(&r.reviewer) {
            return self.invalid(
                i,
                format!(
                    "'{}' is not a publisher or manager of space '{}'",
                    r.reviewer, p.space
                ),
            );
        }
        match self.versions.get_mut(&r.version) {
            Some(review) => match review.outcome {
                Outcome::Approved { approved_at } => {
                    review.outcome = Outcome::Published {
                        approved_at,
                        published_at: r.signed_at,
                    };
                    review.history.push(i);
                    self.note(i, true, None, format!("published by '{}'", r.reviewer));
                }
                Outcome::Published { .. } => {
                    self.ignored(i, "the version is already published".into())
                }
                _ => self.out_of_turn(
                    i,
                    "the version is not approved (yet); a publish record can't skip review".into(),
                ),
            },
            None => self.out_of_turn(
                i,
                "the version is not approved (yet); a publish record can't skip review".into(),
            ),
        }
    }

    fn retract(&mut self, i: usize, r: &Record) {
        let p = self.policy;
        let Some(submitter) = self.versions.get(&r.version).map(|v| v.submitter.clone()) else {
            return self.out_of_turn(i, "signed before any counted submit of this version".into());
        };
        if submitter != r.reviewer && !p.managers.contains(&r.reviewer) {
            return self.invalid(
                i,
                format!(
                    "only the submitter ('{submitter}') or a manager may retract; '{}' is neither",
                    r.reviewer
                ),
            );
        }
        if self.active.as_ref() != Some(&r.version) {
            return self.out_of_turn(
                i,
                "the version is not in review, so there is nothing to retract".into(),
            );
        }
        let review = self.versions.get_mut(&r.version).expect("checked above");
        review.outcome = Outcome::Retracted;
        review.history.push(i);
        self.active = None;
        self.resume = None;
        self.note(i, true, None, format!("retracted by '{}'", r.reviewer));
    }
}

fn approve_version(
    review: &mut VersionReview,
    p: &Policy,
    at: Instant,
    publish_flag: bool,
) -> &'static str {
    if p.auto_publish || publish_flag {
        review.outcome = Outcome::Published {
            approved_at: at,
            published_at: at,
        };
        "the version is approved and published"
    } else {
        review.outcome = Outcome::Approved { approved_at: at };
        "the version is approved and waits for a publish record"
    }
}

#[cfg(test)]
mod tests;
