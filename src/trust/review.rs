//! The review engine (SPEC §5, §6): replays one page's verified records against its space's
//! policy at the build's `now`, and decides each version's outcome, who the page waits on and
//! what is live: one `Liveness` value, from which the page's status is derived. It is pure —
//! no files, no clock, no printing; what it must know of a version's bytes (schedule,
//! audience, expiry) it asks through `PageInput::meta` — so every rule is pinned down by
//! table-driven tests below.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;
use serde::Serialize;

use crate::time::Instant;
use crate::trust::authority::{Act, Refusal};
use crate::trust::policy::{OnExpiry, Policy};
use crate::trust::record::{Kind, Record};
use crate::trust::version::Version;

/// A record that passed every check of SPEC §4 (signature, key validity, time, ids).
#[derive(Debug, Clone)]
pub struct VerifiedRecord {
    /// Path relative to the site root: the tie-breaker of the replay order.
    pub file: String,
    /// Shared with the record file as read: a build judges 30,000 of them.
    pub record: std::sync::Arc<Record>,
}

/// What the engine needs to know of a version's bytes to decide whether it may be live.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionMeta {
    pub publish_at: Option<Instant>,
    pub expires_at: Option<Instant>,
    /// `None`: the space policy's audience.
    pub audience: Option<Vec<String>>,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    strum::IntoStaticStr,
    strum::Display,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "snake_case")]
pub enum Status {
    Draft,
    Pending,
    Rejected,
    Scheduled,
    Approved,
    Published,
    Outdated,
    Expired,
    Unpublished,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A version's own review state (SPEC §6).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    strum::IntoStaticStr,
    strum::Display,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "snake_case")]
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

impl ReviewState {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

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
    /// The page's bytes changed while the version was in review, in a space with
    /// `edit_cancels_review` (docs/workflow.md): its review ended.
    Cancelled,
    Approved {
        approved_at: Instant,
    },
    Published {
        approved_at: Instant,
        /// When it was last published (a rollback re-publishes an older version).
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
    /// During a re-certification (a new review of an approved version whose approval
    /// expired), the approval it had: it stands until the new review passes, and is restored
    /// if that review is rejected, retracted or replaced.
    standing: Option<Outcome>,
    passed: BTreeSet<usize>,
    stage: usize,
    stage_since: Instant,
    /// Each step's tally: every reviewer's latest counted decision, and when they signed it.
    decisions: BTreeMap<usize, BTreeMap<String, (Decision, Instant)>>,
    /// Assigned reviewers by step index (docs/workflow.md): only they and the managers act
    /// in that step, and every one of them must approve.
    pub assigned: BTreeMap<usize, Vec<String>>,
}

impl VersionReview {
    /// When the version was approved and, if it was, last published — counting the approval
    /// that stands while a re-certification is under way.
    pub fn approval(&self) -> Option<(Instant, Option<Instant>)> {
        let of = |o: &Outcome| match *o {
            Outcome::Approved { approved_at } => Some((approved_at, None)),
            Outcome::Published {
                approved_at,
                published_at,
            } => Some((approved_at, Some(published_at))),
            _ => None,
        };
        of(&self.outcome).or_else(|| self.standing.as_ref().and_then(of))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
}

/// A reviewer's decision that counts in an open step of the version in review: the signing
/// commands refuse to sign the same decision again (it would change nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountedDecision {
    pub step: String,
    pub reviewer: String,
    pub decision: Decision,
    pub signed_at: Instant,
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
    /// The decisions that count in the open steps, by step and reviewer.
    pub decided: Vec<CountedDecision>,
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

impl LiveVersion {
    pub fn approval_expired(&self) -> bool {
        self.review_due_at.is_some()
    }
}

impl AsRef<LiveVersion> for LiveVersion {
    fn as_ref(&self) -> &LiveVersion {
        self
    }
}

/// Why nothing of a page that was published is live. The engine decides the first three; the
/// site adds the ones only the whole site can see (URLs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Offline {
    /// An `unpublish` record took the page down, and nothing was published after it.
    TakenDown { at: Instant, by: String },
    /// The newest published version's `expires_at` passed, or its approval expired with
    /// `on_expiry: unpublish`. An older version does not come back.
    Expired {
        version: Version,
        at: Instant,
        approval: bool,
    },
    /// The newest published version's bytes can't be read or checked (store missing or
    /// corrupt, a page that no longer parses). Fail closed: an older version does not come back.
    Unavailable { version: Version },
    /// Another page keeps this page's URL (`url_conflict`).
    UrlConflict { url: String, owner: String },
    /// The page's URL can't be written (`invalid_page`): a reserved name or a bad character.
    BadUrl { url: String, why: String },
}

impl Offline {
    /// Offline because something is broken, not because someone signed it so.
    pub fn is_defect(&self) -> bool {
        !matches!(self, Offline::TakenDown { .. } | Offline::Expired { .. })
    }
}

/// What is live of a page: the one value its status, its output and its reports come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Liveness<L = LiveVersion> {
    Live(L),
    /// Something was published, and none of it is live now, for this reason.
    Offline(Offline),
    /// Nothing was ever published (for this build's audience, or its time has not come).
    Never,
}

impl<L> Liveness<L> {
    pub fn live(&self) -> Option<&L> {
        match self {
            Liveness::Live(l) => Some(l),
            _ => None,
        }
    }
    #[cfg(test)]
    pub fn offline(&self) -> Option<&Offline> {
        match self {
            Liveness::Offline(o) => Some(o),
            _ => None,
        }
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    strum::IntoStaticStr,
    strum::Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
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
    UrlConflict,
    WentOffline,
    /// A record an earlier build counted (or that `verify --since REV` finds at REV) is
    /// gone from `approvals/records/`, or changed: it still counts, and the gate fails until
    /// its file is back.
    RecordRemoved,
    /// A blob of `approvals/store/` that `verify --since REV` finds deleted or changed since
    /// REV: the store only ever grows.
    StoreChanged,
    /// An edit ended a review (`edit_cancels_review`): a notice, not a defect.
    ReviewCancelled,
    /// A page's proof withholds a record that signs a comment the site keeps hidden (SPEC
    /// §4a): a notice — the page is published, but `audit` can't prove it until re-signed.
    ProofIncomplete,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

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

/// A review that ended because the page was edited (`edit_cancels_review`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelledReview {
    pub version: Version,
    pub submitter: String,
    pub submitted_at: Instant,
    /// The step it was waiting in when the edit ended it.
    pub step: String,
}

/// Every version of a page that was ever submitted, by version: a list sorted by version,
/// exactly as long as it must be. Most pages have one or two versions, and a build holds
/// 100,000 pages: a tree's node has room for eleven entries however few it holds (~900 bytes
/// a page), and each review is boxed so that the list's entries stay small.
#[derive(Debug, Clone, Default)]
pub struct Versions(Vec<(Version, Box<VersionReview>)>);

impl Versions {
    fn find(&self, version: &Version) -> Result<usize, usize> {
        self.0.binary_search_by(|(v, _)| v.cmp(version))
    }

    pub fn get(&self, version: &Version) -> Option<&VersionReview> {
        self.find(version).ok().map(|i| &*self.0[i].1)
    }

    pub fn get_mut(&mut self, version: &Version) -> Option<&mut VersionReview> {
        self.find(version).ok().map(|i| &mut *self.0[i].1)
    }

    /// Puts `review` in for `version`, in place of the one there was (the list grows by
    /// exactly one entry otherwise).
    pub fn insert(&mut self, version: Version, review: Box<VersionReview>) {
        match self.find(&version) {
            Ok(i) => self.0[i].1 = review,
            Err(i) => {
                self.0.reserve_exact(1);
                self.0.insert(i, (version, review));
            }
        }
    }

    /// The reviews, by version.
    pub fn values(&self) -> impl Iterator<Item = &VersionReview> {
        self.0.iter().map(|(_, r)| &**r)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut VersionReview> {
        self.0.iter_mut().map(|(_, r)| &mut **r)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::ops::Index<&Version> for Versions {
    type Output = VersionReview;

    fn index(&self, version: &Version) -> &VersionReview {
        self.get(version).expect("a version of the review")
    }
}

#[derive(Debug, Clone)]
pub struct PageReview<L = LiveVersion> {
    /// The page's current version (its bytes in `content/`).
    pub current: Version,
    pub current_state: ReviewState,
    pub in_review: Option<InReview>,
    /// The review an edit of the page ended, if one did (`edit_cancels_review`).
    pub cancelled: Option<CancelledReview>,
    pub live: Liveness<L>,
    /// Every version that was ever submitted (counted), by version.
    pub versions: Versions,
    /// The records in replay order, as the engine saw them.
    pub order: Vec<usize>,
    pub notes: Vec<RecordNote>,
    /// Every publication and takedown, in replay order: when each version went live.
    pub publications: Vec<Publication>,
}

impl<L: AsRef<LiveVersion>> PageReview<L> {
    /// The page's status (SPEC §6), derived from what is live and the current version's state.
    pub fn status(&self) -> Status {
        if let Liveness::Live(l) = &self.live {
            let l = l.as_ref();
            return if l.approval_expired() {
                Status::Expired
            } else if l.version == self.current {
                Status::Published
            } else {
                Status::Outdated
            };
        }
        match self.current_state {
            ReviewState::Pending => Status::Pending,
            ReviewState::Rejected | ReviewState::Discarded => Status::Rejected,
            ReviewState::Approved => Status::Approved,
            ReviewState::Scheduled => Status::Scheduled,
            ReviewState::Draft | ReviewState::Retracted | ReviewState::Published => {
                match &self.live {
                    Liveness::Offline(Offline::Expired { .. }) => Status::Expired,
                    Liveness::Offline(Offline::TakenDown { .. }) => Status::Unpublished,
                    // Approved and published, but not live: meant for another audience, or
                    // kept offline by a defect (reported as a finding).
                    _ if self.current_state == ReviewState::Published => Status::Approved,
                    _ => Status::Draft,
                }
            }
        }
    }
}

impl<L> PageReview<L> {
    /// The same review with what is live decided further (by the site, which sees URLs).
    pub fn map_live<M>(self, f: impl FnOnce(Liveness<L>) -> Liveness<M>) -> PageReview<M> {
        PageReview {
            current: self.current,
            current_state: self.current_state,
            in_review: self.in_review,
            cancelled: self.cancelled,
            live: f(self.live),
            versions: self.versions,
            order: self.order,
            notes: self.notes,
            publications: self.publications,
        }
    }
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
        versions: Versions::default(),
        notes: Vec::new(),
        publications: Vec::new(),
    };
    for &i in &order {
        replay.apply(i);
    }
    let policy = input.policy;
    let now = input.now;
    let cancelled = replay.cancel_if_edited(input.current);
    let live = choose_live(&replay, input);
    let Replay {
        versions,
        active,
        notes,
        publications,
        ..
    } = replay;

    let in_review = active
        .and_then(|v| versions.get(&v))
        .map(|r| describe_in_review(r, policy, &now));
    // The replay's working state is not part of the review: a build holds 100,000 of them.
    let mut versions = versions;
    for review in versions.values_mut() {
        review.decisions = BTreeMap::new();
        review.passed = BTreeSet::new();
    }
    let current_review = versions.get(input.current);
    let current_state = match current_review.map(|r| &r.outcome) {
        None | Some(Outcome::Replaced | Outcome::Cancelled) => ReviewState::Draft,
        Some(Outcome::Pending) => ReviewState::Pending,
        Some(Outcome::Rejected { discard: true, .. }) => ReviewState::Discarded,
        Some(Outcome::Rejected { .. }) => ReviewState::Rejected,
        Some(Outcome::Retracted) => ReviewState::Retracted,
        Some(Outcome::Approved { .. }) => ReviewState::Approved,
        Some(Outcome::Published { .. }) => {
            let scheduled = (input.meta)(input.current)
                .and_then(|m| m.publish_at)
                .is_some_and(|p| p > now);
            if scheduled {
                ReviewState::Scheduled
            } else {
                ReviewState::Published
            }
        }
    };
    PageReview {
        current: input.current.clone(),
        current_state,
        in_review,
        cancelled,
        live,
        versions,
        order,
        notes,
        publications,
    }
}

/// What is live (SPEC §5, "The published version"): the newest publication whose time has
/// come and whose audience is this build's, unless a takedown came after it. When that
/// version has expired or its bytes can't be read, the page is offline: an older version
/// never comes back by itself.
fn choose_live(replay: &Replay, input: &PageInput) -> Liveness {
    let (policy, now) = (input.policy, input.now);
    let mut seen = BTreeSet::new();
    for publication in replay.publications.iter().rev() {
        let version = match publication {
            Publication::TakeDown { at, by } => {
                return Liveness::Offline(Offline::TakenDown {
                    at: *at,
                    by: by.clone(),
                })
            }
            Publication::Publish { version, .. } => version,
        };
        if !seen.insert(version) {
            continue;
        }
        let review = &replay.versions[version];
        let Some((approved_at, Some(published_at))) = review.approval() else {
            continue;
        };
        let Some(meta) = (input.meta)(version) else {
            return Liveness::Offline(Offline::Unavailable {
                version: version.clone(),
            });
        };
        let audiences = meta.audience.as_ref().unwrap_or(&policy.audience);
        let for_this_build = audiences.iter().any(|a| input.audiences.contains(a));
        if !for_this_build || meta.publish_at.is_some_and(|p| p > now) {
            // Not for this build, or scheduled: an older publication may stand meanwhile.
            continue;
        }
        let review_due_at = overdue(approved_at, policy.approval_expires_days, &now);
        if let Some(at) = meta.expires_at.filter(|e| *e <= now) {
            return Liveness::Offline(Offline::Expired {
                version: version.clone(),
                at,
                approval: false,
            });
        }
        if let (Some(at), OnExpiry::Unpublish) = (review_due_at, policy.on_expiry) {
            return Liveness::Offline(Offline::Expired {
                version: version.clone(),
                at,
                approval: true,
            });
        }
        let went_live = meta
            .publish_at
            .map_or(published_at, |p| p.max(published_at));
        return Liveness::Live(LiveVersion {
            version: version.clone(),
            approved_at,
            published_at: went_live,
            review_due_at,
            history: review.history.clone(),
        });
    }
    Liveness::Never
}

/// `since + days`, if that instant has come by `now`: the one rule behind approval expiry,
/// escalation and staleness. Day counts are bounded when the policy loads; an instant past
/// the calendar's end is never due.
fn overdue(since: Instant, days: Option<u32>, now: &Instant) -> Option<Instant> {
    days.and_then(|d| since.checked_add_signed(Duration::days(i64::from(d))))
        .filter(|due| due <= now)
}

fn describe_in_review(r: &VersionReview, policy: &Policy, now: &Instant) -> InReview {
    let open: Vec<usize> = policy
        .stage_steps(r.stage)
        .filter(|i| !r.passed.contains(i))
        .collect();
    let first = open.first().copied().unwrap_or(0);
    let mut waiting = BTreeSet::new();
    let mut counted = Vec::new();
    for &i in &open {
        let step = &policy.steps[i];
        let decided = r.decisions.get(&i);
        counted.extend(decided.into_iter().flatten().map(|(who, &(decision, at))| {
            CountedDecision {
                step: step.name.clone(),
                reviewer: who.clone(),
                decision,
                signed_at: at,
            }
        }));
        let approved = |who: &str| {
            decided.and_then(|d| d.get(who)).map(|(d, _)| *d) == Some(Decision::Approve)
        };
        let missing: Vec<&String> = step.required.iter().filter(|w| !approved(w)).collect();
        if let Some(assigned) = r.assigned.get(&i) {
            // Every assignee must approve: the step waits on exactly those who have not.
            waiting.extend(assigned.iter().filter(|w| !approved(w)).cloned());
        } else {
            // SPEC §9: the required reviewers who have not approved; and, while they and the
            // approvals already given can't yet reach `min_approvals`, every undecided approver
            // too — else a step of `min_approvals: 2` with one required reviewer would ask
            // only her, and nobody would hear of the second approval it needs.
            let approvals = decided.map_or(0, |d| {
                d.values().filter(|(d, _)| *d == Decision::Approve).count()
            });
            let certain = approvals.saturating_add(missing.len());
            waiting.extend(missing.into_iter().cloned());
            if certain < step.min_approvals as usize {
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
        decided: counted,
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

/// One event of the page's publication timeline, in replay order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Publication {
    /// A version was published: approved with auto-publish, by `publish: true`, by a publish
    /// record, by an exempt submit, or re-published (rollback).
    Publish { version: Version, at: Instant },
    /// An `unpublish` record.
    TakeDown { at: Instant, by: String },
}

struct Replay<'a> {
    policy: &'a Policy,
    records: &'a [VerifiedRecord],
    active: Option<Version>,
    resume: Option<Resume>,
    versions: Versions,
    notes: Vec<RecordNote>,
    publications: Vec<Publication>,
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

    fn apply(&mut self, i: usize) {
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
    fn cancel_if_edited(&mut self, current: &Version) -> Option<CancelledReview> {
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

#[cfg(test)]
mod tests;
