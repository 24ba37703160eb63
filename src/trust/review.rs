//! The review engine (SPEC §5, §6): replays one page's verified records against its space's
//! policy at the build's `now`, and decides each version's outcome, who the page waits on and
//! what is live: one `Liveness` value, from which the page's status is derived. It is pure —
//! no files, no clock, no printing; what it must know of a version's bytes (schedule,
//! audience, expiry) it asks through `PageInput::meta` — so every rule is pinned down by
//! table-driven tests below.

mod replay;

use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;
use serde::Serialize;

use crate::time::Instant;
use crate::trust::policy::{OnExpiry, Policy};
use crate::trust::record::Record;
use crate::trust::version::Version;

use self::replay::Replay;

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
    /// Every reviewer some open step still needs (SPEC §9), sorted.
    pub waiting_on: Vec<String>,
    /// The same, step by step, in the order of `open_steps`: who each open step waits on.
    pub waiting_by_step: Vec<(String, Vec<String>)>,
    /// The decisions that count in the open steps, by step and reviewer.
    pub decided: Vec<CountedDecision>,
    /// When the current stage began (the submit, or the completion of the stage before).
    pub stage_since: Instant,
    /// When the stage became overdue (`escalate_after_days`), if it is by `now`.
    pub escalated_at: Option<Instant>,
    /// Every rung of `escalate_after_days` reached by `now`, lowest first (empty when none).
    pub rungs: Vec<Rung>,
    /// Whole days the current stage has waited by `now`.
    pub waited_days: i64,
    /// When the version became stale (`stale_after_days`), if it is by `now`.
    pub stale_at: Option<Instant>,
}

/// One rung of the escalation ladder that a waiting stage has reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rung {
    /// 1-based.
    pub number: usize,
    /// The rung's `escalate_after_days` entry.
    pub after_days: u32,
    /// `stage_since + after_days`: when the rung was reached.
    pub due: Instant,
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
    /// A URL the previous build served (a page's, or an alias's) that this build serves
    /// nothing at, while its page is still published: a broken customer link. Fails
    /// `--strict`; an `aliases:` entry in the page's front matter keeps the URL working.
    UrlRemoved,
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
    /// A step of a space's policy that nobody able to sign today can complete (every
    /// approver's keys revoked, compromised or expired, no manager to override it): the
    /// space's pages wait forever until a reviewer is added or restored (`trust::reachable`).
    StepUnreachable,
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

/// The rungs of the escalation ladder reached by `now`: the one clock of escalation is the
/// start of the stage, as for `escalated_at`.
fn rungs(since: Instant, policy: &Policy, now: &Instant) -> Vec<Rung> {
    let Some(e) = &policy.escalate_after_days else {
        return Vec::new();
    };
    e.after_days
        .iter()
        .enumerate()
        .map_while(|(i, &d)| {
            overdue(since, Some(d), now).map(|due| Rung {
                number: i + 1,
                after_days: d,
                due,
            })
        })
        .collect()
}

impl InReview {
    /// The open step `reviewer` is asked to act in: the first that waits on them.
    pub fn step_waiting_on(&self, reviewer: &str) -> Option<&str> {
        self.waiting_by_step
            .iter()
            .find(|(_, who)| who.iter().any(|w| w == reviewer))
            .map(|(step, _)| step.as_str())
    }
}

fn describe_in_review(r: &VersionReview, policy: &Policy, now: &Instant) -> InReview {
    let open: Vec<usize> = policy
        .stage_steps(r.stage)
        .filter(|i| !r.passed.contains(i))
        .collect();
    let first = open.first().copied().unwrap_or(0);
    let mut waiting_by_step = Vec::with_capacity(open.len());
    let mut counted = Vec::new();
    for &i in &open {
        let step = &policy.steps[i];
        let mut waiting = BTreeSet::new();
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
        waiting_by_step.push((step.name.clone(), waiting.into_iter().collect::<Vec<_>>()));
    }
    let waiting: BTreeSet<&String> = waiting_by_step.iter().flat_map(|(_, w)| w).collect();
    InReview {
        version: r.version.clone(),
        submitter: r.submitter.clone(),
        submitted_at: r.submitted_at,
        step: policy.steps[first].name.clone(),
        step_number: first + 1,
        step_count: policy.steps.len(),
        open_steps: open.iter().map(|&i| policy.steps[i].name.clone()).collect(),
        waiting_on: waiting.into_iter().cloned().collect(),
        waiting_by_step,
        decided: counted,
        stage_since: r.stage_since,
        escalated_at: overdue(
            r.stage_since,
            policy.escalate_after_days.as_ref().map(|e| e.first()),
            now,
        ),
        rungs: rungs(r.stage_since, policy, now),
        waited_days: (*now - r.stage_since).num_days().max(0),
        stale_at: overdue(r.submitted_at, policy.stale_after_days, now),
    }
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

#[cfg(test)]
mod tests;
