//! One named scenario per rule of SPEC §5. Each scenario is a story: a policy, the records
//! reviewers signed, the page's current bytes and the build's `now`; and what a reader of the
//! status report must see.

use super::*;
use crate::time::parse_signed_at;
use crate::trust::keyring::{Keyring, Reviewer};
use crate::trust::record::Kind;

fn keyring() -> Keyring {
    let mut k = Keyring::default();
    for (id, groups) in [
        ("walt", &["writers"][..]),
        ("wendy", &["writers"]),
        ("alice", &["engineering"]),
        ("bob", &["engineering"]),
        ("erin", &["engineering"]),
        ("dave", &["legal"]),
        ("mia", &["marketing"]),
        ("lena", &["leads"]),
        ("carol", &["managers"]),
    ] {
        k.reviewers.insert(
            id.into(),
            Reviewer {
                id: id.into(),
                name: id.into(),
                email: None,
                groups: groups.iter().map(|g| g.to_string()).collect(),
            },
        );
    }
    k
}

const BASE: &str = "contributors: [group:writers]\nexempt: [group:leads]\nmanagers: [carol]\npublishers: [group:leads]\n";
const TWO_STEPS: &str = "steps:\n  - {name: technical, approvers: [group:engineering], min_approvals: 2}\n  - {name: legal, approvers: [group:legal], min_approvals: 1}\n";

fn policy(extra: &str, steps: &str) -> Policy {
    Policy::parse(
        &format!("{BASE}{extra}{steps}"),
        "kb",
        "approvals/policies/kb.yaml",
        &keyring(),
    )
    .unwrap()
}

fn v(label: &str) -> Version {
    Version::of_bytes(label.as_bytes())
}

/// Day `d` of November 2026 at `h` o'clock.
fn t(d: u32, h: u32) -> Instant {
    parse_signed_at(&format!("2026-11-{d:02}T{h:02}:00:00Z")).unwrap()
}

#[derive(Clone)]
struct R(Record);

fn rec(kind: Kind, ver: &str, who: &str, step: Option<&str>, at: Instant) -> R {
    R(Record {
        kind,
        space: "kb".into(),
        content: "kb/install".into(),
        version: v(ver),
        step: step.map(String::from),
        reviewer: who.into(),
        key: format!("{who}-key"),
        signed_at: at,
        role: None,
        comment: None,
        comment_salt: None,
        comment_digest: None,
        discard: None,
        publish: None,
        override_: None,
        assign: None,
    })
}
fn submit(ver: &str, who: &str, at: Instant) -> R {
    rec(Kind::Submit, ver, who, None, at)
}
fn approve(ver: &str, who: &str, step: &str, at: Instant) -> R {
    rec(Kind::Approve, ver, who, Some(step), at)
}
fn reject(ver: &str, who: &str, step: &str, at: Instant) -> R {
    let mut r = rec(Kind::Reject, ver, who, Some(step), at);
    r.0.comment = Some("needs work".into());
    r
}
fn publish(ver: &str, who: &str, at: Instant) -> R {
    rec(Kind::Publish, ver, who, None, at)
}
fn unpublish(ver: &str, who: &str, at: Instant) -> R {
    rec(Kind::Unpublish, ver, who, None, at)
}
fn retract(ver: &str, who: &str, at: Instant) -> R {
    rec(Kind::Retract, ver, who, None, at)
}
impl R {
    fn with_publish(mut self) -> R {
        self.0.publish = Some(true);
        self
    }
    fn with_override(mut self) -> R {
        self.0.override_ = Some(true);
        self
    }
    fn with_discard(mut self) -> R {
        self.0.discard = Some(true);
        self
    }
    fn with_key(mut self, key: &str) -> R {
        self.0.key = key.into();
        self
    }
    fn without_comment(mut self) -> R {
        self.0.comment = None;
        self
    }
    fn with_comment(mut self, text: &str) -> R {
        self.0.comment = Some(text.into());
        self
    }
    /// `assign: {step: [who...]}` on a submit.
    fn assigning(mut self, step: &str, who: &[&str]) -> R {
        self.0
            .assign
            .get_or_insert_with(Default::default)
            .insert(step.into(), who.iter().map(|w| w.to_string()).collect());
        self
    }
}
/// A manager's `assign` record: `step` of `ver` is reviewed by `who` from now on.
fn assign(ver: &str, manager: &str, step: &str, who: &[&str], at: Instant) -> R {
    rec(Kind::Assign, ver, manager, Some(step), at).assigning(step, who)
}

struct Scenario {
    name: &'static str,
    policy: Policy,
    records: Vec<R>,
    current: &'static str,
    now: Instant,
    meta: Vec<(&'static str, VersionMeta)>,
    /// Versions whose bytes can't be read (store missing or corrupt).
    unavailable: Vec<&'static str>,
    audience: &'static str,
}

impl Scenario {
    fn new(name: &'static str, policy: Policy, current: &'static str, records: Vec<R>) -> Scenario {
        Scenario {
            name,
            policy,
            records,
            current,
            now: t(20, 12),
            meta: Vec::new(),
            unavailable: Vec::new(),
            audience: "public",
        }
    }
    fn at(mut self, now: Instant) -> Scenario {
        self.now = now;
        self
    }
    fn meta(mut self, ver: &'static str, meta: VersionMeta) -> Scenario {
        self.meta.push((ver, meta));
        self
    }
    fn unavailable(mut self, ver: &'static str) -> Scenario {
        self.unavailable.push(ver);
        self
    }
    fn audience(mut self, a: &'static str) -> Scenario {
        self.audience = a;
        self
    }
    fn run(&self) -> PageReview {
        let records: Vec<VerifiedRecord> = self
            .records
            .iter()
            .enumerate()
            .map(|(i, r)| VerifiedRecord {
                file: format!("approvals/records/{i:03}.yaml"),
                record: r.0.clone().into(),
            })
            .collect();
        let metas: BTreeMap<Version, VersionMeta> =
            self.meta.iter().map(|(l, m)| (v(l), m.clone())).collect();
        let unavailable: Vec<Version> = self.unavailable.iter().map(|l| v(l)).collect();
        let lookup = |ver: &Version| {
            (!unavailable.contains(ver)).then(|| metas.get(ver).cloned().unwrap_or_default())
        };
        let current = v(self.current);
        let audiences = vec![self.audience.to_string()];
        evaluate(&PageInput {
            current: &current,
            records: &records,
            policy: &self.policy,
            now: self.now,
            audiences: &audiences,
            meta: &lookup,
        })
    }
}

/// What a scenario must produce. `None` fields are not checked.
struct Expect {
    status: Status,
    state: ReviewState,
    live: Option<&'static str>,
    step: Option<&'static str>,
    waiting_on: Option<&'static [&'static str]>,
    findings: &'static [FindingKind],
}

const fn expect(status: Status, state: ReviewState, live: Option<&'static str>) -> Expect {
    Expect {
        status,
        state,
        live,
        step: None,
        waiting_on: None,
        findings: &[],
    }
}
impl Expect {
    const fn step(mut self, step: &'static str, waiting_on: &'static [&'static str]) -> Expect {
        self.step = Some(step);
        self.waiting_on = Some(waiting_on);
        self
    }
    const fn findings(mut self, f: &'static [FindingKind]) -> Expect {
        self.findings = f;
        self
    }
}

fn check(s: Scenario, e: Expect) {
    let out = s.run();
    let name = s.name;
    let notes: Vec<String> = out
        .notes
        .iter()
        .map(|n| format!("#{} {}: {}", n.index, n.counted, n.note))
        .collect();
    assert_eq!(out.status(), e.status, "{name}: status; notes: {notes:#?}");
    assert_eq!(
        out.current_state, e.state,
        "{name}: current state; notes: {notes:#?}"
    );
    assert_eq!(
        out.live.live().map(|l| l.version.clone()),
        e.live.map(v),
        "{name}: live version; notes: {notes:#?}"
    );
    if let Some(step) = e.step {
        let r = out
            .in_review
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: nothing in review"));
        assert_eq!(r.step, step, "{name}: step");
        let position = s.policy.steps.iter().position(|x| x.name == step).unwrap();
        assert_eq!(r.step_number, position + 1, "{name}: step number");
        assert_eq!(r.step_count, s.policy.steps.len(), "{name}: step count");
        assert_eq!(r.waiting_on, e.waiting_on.unwrap(), "{name}: waiting_on");
    }
    let mut noted: Vec<usize> = out.notes.iter().map(|n| n.index).collect();
    noted.sort_unstable();
    assert_eq!(
        noted,
        (0..s.records.len()).collect::<Vec<_>>(),
        "{name}: every record gets exactly one note; notes: {notes:#?}"
    );
    let findings: Vec<FindingKind> = out.notes.iter().filter_map(|n| n.finding).collect();
    assert_eq!(findings, e.findings, "{name}: findings; notes: {notes:#?}");
}

use FindingKind::{InvalidRecord, OutOfTurn};
use ReviewState as S;
use Status as St;

#[test]
fn thresholds_and_distinct_reviewers() {
    let p = || policy("", TWO_STEPS);
    // TWO_STEPS, but technical fails only on a second rejection.
    let patient = || {
        policy(
            "",
            &TWO_STEPS.replace(
                "min_approvals: 2}",
                "min_approvals: 2, rejections_to_fail: 2}",
            ),
        )
    };
    let cases = [
        (
            Scenario::new(
                "threshold met in both steps: published",
                p(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "alice", "technical", t(1, 10)),
                    approve("v1", "bob", "technical", t(1, 11)),
                    approve("v1", "dave", "legal", t(2, 9)),
                ],
            ),
            expect(St::Published, S::Published, Some("v1")),
        ),
        (
            Scenario::new(
                "one approval of two: pending at technical",
                p(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "alice", "technical", t(1, 10)),
                ],
            ),
            expect(St::Pending, S::Pending, None).step("technical", &["bob", "erin"]),
        ),
        (
            Scenario::new(
                "one reviewer approving twice counts once",
                p(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "alice", "technical", t(1, 10)),
                    approve("v1", "alice", "technical", t(1, 11)),
                ],
            ),
            expect(St::Pending, S::Pending, None).step("technical", &["bob", "erin"]),
        ),
        (
            Scenario::new(
                "one reviewer with two keys counts once",
                p(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "alice", "technical", t(1, 10)),
                    approve("v1", "alice", "technical", t(1, 11)).with_key("alice-laptop"),
                ],
            ),
            expect(St::Pending, S::Pending, None).step("technical", &["bob", "erin"]),
        ),
        (
            // Two rejections fail the step, so one reviewer's reject leaves it open and her
            // changed mind is what decides: were her first decision kept, alice and bob
            // would make the two approvals and the review would move on to legal.
            Scenario::new(
                "a later decision replaces a reviewer's earlier one: approve, then reject",
                patient(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "alice", "technical", t(1, 10)),
                    reject("v1", "alice", "technical", t(1, 11)),
                    approve("v1", "bob", "technical", t(1, 12)),
                ],
            ),
            expect(St::Pending, S::Pending, None).step("technical", &["erin"]),
        ),
        (
            Scenario::new(
                "a later decision replaces a reviewer's earlier one: reject, then approve",
                patient(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    reject("v1", "alice", "technical", t(1, 10)),
                    approve("v1", "alice", "technical", t(1, 11)),
                    approve("v1", "bob", "technical", t(1, 12)),
                ],
            ),
            expect(St::Pending, S::Pending, None).step("legal", &["dave"]),
        ),
        (
            Scenario::new(
                "the step passed: a later reject changes nothing",
                p(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "alice", "technical", t(1, 10)),
                    approve("v1", "bob", "technical", t(1, 11)),
                    reject("v1", "erin", "technical", t(1, 12)),
                ],
            ),
            expect(St::Pending, S::Pending, None).step("legal", &["dave"]),
        ),
    ];
    for (s, e) in cases {
        check(s, e);
    }
}

#[test]
fn required_reviewers_and_rejection_thresholds() {
    let required = || {
        policy(
            "",
            "steps:\n  - {name: technical, approvers: [group:engineering], min_approvals: 1, required: [alice], rejections_to_fail: 2}\n",
        )
    };
    let cases = [
        (
            Scenario::new(
                "required reviewer missing: not passed, waiting on her",
                required(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "bob", "technical", t(1, 10)),
                    approve("v1", "erin", "technical", t(1, 11)),
                ],
            ),
            expect(St::Pending, S::Pending, None).step("technical", &["alice"]),
        ),
        (
            Scenario::new(
                "required reviewer approves: published",
                required(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "alice", "technical", t(1, 10)),
                ],
            ),
            expect(St::Published, S::Published, Some("v1")),
        ),
        (
            Scenario::new(
                "one rejection of two needed: still pending",
                required(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    reject("v1", "bob", "technical", t(1, 10)),
                ],
            ),
            expect(St::Pending, S::Pending, None).step("technical", &["alice"]),
        ),
        (
            Scenario::new(
                "rejections_to_fail reached: rejected",
                required(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    reject("v1", "bob", "technical", t(1, 10)),
                    reject("v1", "erin", "technical", t(1, 11)),
                    approve("v1", "alice", "technical", t(1, 12)),
                ],
            ),
            expect(St::Rejected, S::Rejected, None),
        ),
        (
            Scenario::new(
                "a rejection without the comment the policy needs does not count",
                required(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    reject("v1", "bob", "technical", t(1, 10)).without_comment(),
                    reject("v1", "erin", "technical", t(1, 11)),
                ],
            ),
            expect(St::Pending, S::Pending, None)
                .step("technical", &["alice"])
                .findings(&[InvalidRecord]),
        ),
    ];
    for (s, e) in cases {
        check(s, e);
    }
}

/// SPEC §9: `waiting_on` names the required reviewers who have not approved and, while they
/// and the approvals given can't yet make `min_approvals`, every approver who has not decided.
#[test]
fn waiting_on_asks_everyone_a_step_still_needs() {
    // Two approvals, one of them alice's.
    let two_with_alice = || {
        policy(
            "",
            "steps:\n  - {name: technical, approvers: [group:engineering], min_approvals: 2, required: [alice], rejections_to_fail: 2}\n",
        )
    };
    let self_approving = || {
        policy(
            "allow_self_approval: true\n",
            "steps:\n  - {name: technical, approvers: [group:engineering, group:writers], min_approvals: 2, required: [alice], rejections_to_fail: 2}\n",
        )
    };
    let cases = [
        (
            Scenario::new(
                "nobody decided: the required reviewer and every other approver are asked",
                two_with_alice(),
                "v1",
                vec![submit("v1", "walt", t(1, 9))],
            ),
            expect(St::Pending, S::Pending, None).step("technical", &["alice", "bob", "erin"]),
        ),
        (
            Scenario::new(
                "another approved: two approvals are certain, only the required one is asked",
                two_with_alice(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "bob", "technical", t(1, 10)),
                ],
            ),
            expect(St::Pending, S::Pending, None).step("technical", &["alice"]),
        ),
        (
            Scenario::new(
                "a manager's approval makes two certain too: only the required one is asked",
                two_with_alice(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "carol", "technical", t(1, 10)),
                ],
            ),
            expect(St::Pending, S::Pending, None).step("technical", &["alice"]),
        ),
        (
            Scenario::new(
                "the required one approved: the undecided others are asked for the second",
                two_with_alice(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "alice", "technical", t(1, 10)),
                ],
            ),
            expect(St::Pending, S::Pending, None).step("technical", &["bob", "erin"]),
        ),
        (
            Scenario::new(
                "a rejection is a decision: the rejecter is not asked again, the rest are",
                two_with_alice(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    reject("v1", "bob", "technical", t(1, 10)),
                ],
            ),
            expect(St::Pending, S::Pending, None).step("technical", &["alice", "erin"]),
        ),
        (
            Scenario::new(
                "the required one rejected: she must still approve, and the others are asked",
                two_with_alice(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    reject("v1", "alice", "technical", t(1, 10)),
                ],
            ),
            expect(St::Pending, S::Pending, None).step("technical", &["alice", "bob", "erin"]),
        ),
        (
            Scenario::new(
                "the submitter is asked only where the policy lets them approve",
                self_approving(),
                "v1",
                vec![submit("v1", "walt", t(1, 9))],
            ),
            expect(St::Pending, S::Pending, None)
                .step("technical", &["alice", "bob", "erin", "walt", "wendy"]),
        ),
        (
            Scenario::new(
                "without self-approval the submitter is never asked",
                policy(
                    "",
                    "steps:\n  - {name: technical, approvers: [group:engineering, group:writers], min_approvals: 2, required: [alice]}\n",
                ),
                "v1",
                vec![submit("v1", "walt", t(1, 9))],
            ),
            expect(St::Pending, S::Pending, None)
                .step("technical", &["alice", "bob", "erin", "wendy"]),
        ),
    ];
    for (s, e) in cases {
        check(s, e);
    }
}

#[test]
fn stages_turns_and_authority() {
    let p = || policy("", TWO_STEPS);
    let parallel = || {
        policy(
            "",
            "steps:\n  - {name: technical, approvers: [group:engineering], min_approvals: 1}\n  - {name: legal, approvers: [group:legal], min_approvals: 1}\n  - {name: brand, approvers: [group:marketing], min_approvals: 1, parallel: true}\n",
        )
    };
    let cases = [
        (
            Scenario::new(
                "legal approving before technical passed is out of turn",
                p(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "dave", "legal", t(1, 10)),
                    approve("v1", "alice", "technical", t(1, 11)),
                    approve("v1", "bob", "technical", t(1, 12)),
                ],
            ),
            expect(St::Pending, S::Pending, None)
                .step("legal", &["dave"])
                .findings(&[OutOfTurn]),
        ),
        (
            Scenario::new(
                "an approval signed before the submit is out of turn",
                p(),
                "v1",
                vec![
                    approve("v1", "alice", "technical", t(1, 8)),
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "bob", "technical", t(1, 10)),
                ],
            ),
            expect(St::Pending, S::Pending, None)
                .step("technical", &["alice", "erin"])
                .findings(&[OutOfTurn]),
        ),
        (
            Scenario::new(
                "a reviewer outside the step cannot move it",
                p(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "dave", "technical", t(1, 10)),
                    approve("v1", "mia", "technical", t(1, 11)),
                    approve("v1", "alice", "technical", t(1, 12)),
                ],
            ),
            expect(St::Pending, S::Pending, None)
                .step("technical", &["bob", "erin"])
                .findings(&[InvalidRecord, InvalidRecord]),
        ),
        (
            Scenario::new(
                "an approval naming no step of the policy is invalid",
                p(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "alice", "security", t(1, 10)),
                ],
            ),
            expect(St::Pending, S::Pending, None).findings(&[InvalidRecord]),
        ),
        (
            Scenario::new(
                "a submit by a non-contributor does not count",
                p(),
                "v1",
                vec![
                    submit("v1", "mia", t(1, 9)),
                    approve("v1", "alice", "technical", t(1, 10)),
                ],
            ),
            expect(St::Draft, S::Draft, None).findings(&[InvalidRecord, OutOfTurn]),
        ),
        (
            Scenario::new(
                "managers may act in every step",
                p(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "alice", "technical", t(1, 10)),
                    approve("v1", "carol", "technical", t(1, 11)),
                    approve("v1", "carol", "legal", t(1, 12)),
                ],
            ),
            expect(St::Published, S::Published, Some("v1")),
        ),
        (
            Scenario::new(
                "parallel steps: both open at once, waiting on both groups",
                parallel(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "alice", "technical", t(1, 10)),
                ],
            ),
            expect(St::Pending, S::Pending, None).step("legal", &["dave", "mia"]),
        ),
        (
            Scenario::new(
                "parallel steps: brand passes first, legal still open",
                parallel(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "alice", "technical", t(1, 10)),
                    approve("v1", "mia", "brand", t(1, 11)),
                ],
            ),
            expect(St::Pending, S::Pending, None).step("legal", &["dave"]),
        ),
        (
            Scenario::new(
                "parallel steps: the stage completes when both pass",
                parallel(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "alice", "technical", t(1, 10)),
                    approve("v1", "mia", "brand", t(1, 11)),
                    approve("v1", "dave", "legal", t(1, 12)),
                ],
            ),
            expect(St::Published, S::Published, Some("v1")),
        ),
        (
            Scenario::new(
                "parallel steps: brand before technical passed is out of turn",
                parallel(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "mia", "brand", t(1, 10)),
                    approve("v1", "alice", "technical", t(1, 11)),
                ],
            ),
            expect(St::Pending, S::Pending, None)
                .step("legal", &["dave", "mia"])
                .findings(&[OutOfTurn]),
        ),
    ];
    for (s, e) in cases {
        check(s, e);
    }
}

#[test]
fn self_approval_exemption_override_and_publishing() {
    let one_step = "steps:\n  - {name: technical, approvers: [group:engineering, group:writers], min_approvals: 1}\n";
    let cases = [
        (
            Scenario::new(
                "self-approval refused",
                policy("", one_step),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "walt", "technical", t(1, 10)),
                ],
            ),
            expect(St::Pending, S::Pending, None)
                .step("technical", &["alice", "bob", "erin", "wendy"])
                .findings(&[InvalidRecord]),
        ),
        (
            Scenario::new(
                "self-approval allowed by policy",
                policy("allow_self_approval: true\n", one_step),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "walt", "technical", t(1, 10)),
                ],
            ),
            expect(St::Published, S::Published, Some("v1")),
        ),
        (
            Scenario::new(
                "exempt submitter: approved and published on submit",
                policy("", TWO_STEPS),
                "v1",
                vec![submit("v1", "lena", t(1, 9))],
            ),
            expect(St::Published, S::Published, Some("v1")),
        ),
        (
            Scenario::new(
                "manager override approves all remaining steps",
                policy("", TWO_STEPS),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "carol", "technical", t(1, 10)).with_override(),
                ],
            ),
            expect(St::Published, S::Published, Some("v1")),
        ),
        (
            Scenario::new(
                "an override naming a later step still approves at once",
                policy("", TWO_STEPS),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "carol", "legal", t(1, 10)).with_override(),
                ],
            ),
            expect(St::Published, S::Published, Some("v1")),
        ),
        (
            Scenario::new(
                "override by a non-manager counts for nothing",
                policy("", TWO_STEPS),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "alice", "technical", t(1, 10)).with_override(),
                ],
            ),
            expect(St::Pending, S::Pending, None)
                .step("technical", &["alice", "bob", "erin"])
                .findings(&[InvalidRecord]),
        ),
        (
            Scenario::new(
                "auto_publish false: approved, waiting for a publish record",
                policy("auto_publish: false\n", TWO_STEPS),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "alice", "technical", t(1, 10)),
                    approve("v1", "bob", "technical", t(1, 11)),
                    approve("v1", "dave", "legal", t(1, 12)),
                ],
            ),
            expect(St::Approved, S::Approved, None),
        ),
        (
            Scenario::new(
                "auto_publish false: a publish record by a publisher publishes",
                policy("auto_publish: false\n", TWO_STEPS),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "alice", "technical", t(1, 10)),
                    approve("v1", "bob", "technical", t(1, 11)),
                    approve("v1", "dave", "legal", t(1, 12)),
                    publish("v1", "lena", t(1, 13)),
                ],
            ),
            expect(St::Published, S::Published, Some("v1")),
        ),
        (
            Scenario::new(
                "a publish record before approval is out of turn and skips nothing",
                policy("auto_publish: false\n", TWO_STEPS),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    publish("v1", "lena", t(1, 10)),
                    approve("v1", "alice", "technical", t(1, 11)),
                    approve("v1", "bob", "technical", t(1, 12)),
                    approve("v1", "dave", "legal", t(1, 13)),
                ],
            ),
            expect(St::Approved, S::Approved, None).findings(&[OutOfTurn]),
        ),
        (
            Scenario::new(
                "a publish record by a non-publisher is invalid",
                policy("auto_publish: false\n", TWO_STEPS),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "alice", "technical", t(1, 10)),
                    approve("v1", "bob", "technical", t(1, 11)),
                    approve("v1", "dave", "legal", t(1, 12)),
                    publish("v1", "alice", t(1, 13)),
                ],
            ),
            expect(St::Approved, S::Approved, None).findings(&[InvalidRecord]),
        ),
        (
            Scenario::new(
                "publish: true on the completing approve publishes in one action",
                policy("auto_publish: false\n", TWO_STEPS),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "alice", "technical", t(1, 10)),
                    approve("v1", "bob", "technical", t(1, 11)),
                    approve("v1", "carol", "legal", t(1, 12)).with_publish(),
                ],
            ),
            expect(St::Published, S::Published, Some("v1")),
        ),
        (
            Scenario::new(
                "publish: true never skips a threshold",
                policy("auto_publish: false\n", TWO_STEPS),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "carol", "technical", t(1, 10)).with_publish(),
                ],
            ),
            expect(St::Pending, S::Pending, None).step("technical", &["alice", "bob", "erin"]),
        ),
    ];
    for (s, e) in cases {
        check(s, e);
    }
}

#[test]
fn rejection_resume_discard_and_retract() {
    let resume = || policy("resume_after_reject: true\n", TWO_STEPS);
    let restart = || policy("resume_after_reject: false\n", TWO_STEPS);
    let through_technical = |ver: &'static str| {
        vec![
            submit(ver, "walt", t(1, 9)),
            approve(ver, "alice", "technical", t(1, 10)),
            approve(ver, "bob", "technical", t(1, 11)),
        ]
    };
    let cases = [
        (
            Scenario::new("rejected with a comment: rejected", resume(), "v1", {
                let mut r = through_technical("v1");
                r.push(reject("v1", "dave", "legal", t(1, 12)));
                r
            }),
            expect(St::Rejected, S::Rejected, None),
        ),
        (
            Scenario::new(
                "resubmission after a rejection resumes at the rejecting stage",
                resume(),
                "v2",
                {
                    let mut r = through_technical("v1");
                    r.push(reject("v1", "dave", "legal", t(1, 12)));
                    r.push(submit("v2", "walt", t(2, 9)));
                    r
                },
            ),
            expect(St::Pending, S::Pending, None).step("legal", &["dave"]),
        ),
        (
            Scenario::new(
                "without resume_after_reject a resubmission starts over",
                restart(),
                "v2",
                {
                    let mut r = through_technical("v1");
                    r.push(reject("v1", "dave", "legal", t(1, 12)));
                    r.push(submit("v2", "walt", t(2, 9)));
                    r
                },
            ),
            expect(St::Pending, S::Pending, None).step("technical", &["alice", "bob", "erin"]),
        ),
        (
            Scenario::new("a discard is not resumed", resume(), "v2", {
                let mut r = through_technical("v1");
                r.push(reject("v1", "dave", "legal", t(1, 12)).with_discard());
                r.push(submit("v2", "walt", t(2, 9)));
                r
            }),
            expect(St::Pending, S::Pending, None).step("technical", &["alice", "bob", "erin"]),
        ),
        (
            Scenario::new("a discarded version shows as discarded", resume(), "v1", {
                let mut r = through_technical("v1");
                r.push(reject("v1", "dave", "legal", t(1, 12)).with_discard());
                r
            }),
            expect(St::Rejected, S::Discarded, None),
        ),
        (
            Scenario::new(
                "retract by the submitter cancels the review",
                resume(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "alice", "technical", t(1, 10)),
                    retract("v1", "walt", t(1, 11)),
                    approve("v1", "bob", "technical", t(1, 12)),
                ],
            ),
            expect(St::Draft, S::Retracted, None),
        ),
        (
            Scenario::new(
                "retract by someone else does not count",
                resume(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    retract("v1", "alice", t(1, 10)),
                ],
            ),
            expect(St::Pending, S::Pending, None).findings(&[InvalidRecord]),
        ),
        (
            Scenario::new(
                "a retracted version is not resumed by the next submit",
                resume(),
                "v2",
                {
                    let mut r = through_technical("v1");
                    r.push(reject("v1", "dave", "legal", t(1, 12)));
                    r.push(submit("v2", "walt", t(2, 9)));
                    r.push(retract("v2", "carol", t(2, 10)));
                    r.push(submit("v3", "walt", t(2, 11)));
                    r
                },
            )
            .at(t(20, 12)),
            expect(St::Draft, S::Retracted, None),
        ),
    ];
    for (s, e) in cases {
        check(s, e);
    }
}

#[test]
fn live_versions_scheduling_audience_and_expiry() {
    let one_step =
        "steps:\n  - {name: technical, approvers: [group:engineering], min_approvals: 1}\n";
    let approved = |ver: &'static str, day: u32| {
        vec![
            submit(ver, "walt", t(day, 9)),
            approve(ver, "alice", "technical", t(day, 10)),
        ]
    };
    let cases = [
        (
            Scenario::new(
                "an older version stays live while a newer one is pending",
                policy("", one_step),
                "v2",
                {
                    let mut r = approved("v1", 1);
                    r.push(submit("v2", "walt", t(2, 9)));
                    r
                },
            ),
            expect(St::Outdated, S::Pending, Some("v1"))
                .step("technical", &["alice", "bob", "erin"]),
        ),
        (
            Scenario::new(
                "an older version stays live while a newer one is rejected",
                policy("", one_step),
                "v2",
                {
                    let mut r = approved("v1", 1);
                    r.push(submit("v2", "walt", t(2, 9)));
                    r.push(reject("v2", "bob", "technical", t(2, 10)));
                    r
                },
            ),
            expect(St::Outdated, S::Rejected, Some("v1")),
        ),
        (
            Scenario::new(
                "edited after approval and never resubmitted: outdated draft",
                policy("", one_step),
                "v2",
                approved("v1", 1),
            ),
            expect(St::Outdated, S::Draft, Some("v1")),
        ),
        (
            Scenario::new(
                "the newest approved version replaces the older one",
                policy("", one_step),
                "v2",
                {
                    let mut r = approved("v1", 1);
                    r.extend(approved("v2", 2));
                    r
                },
            ),
            expect(St::Published, S::Published, Some("v2")),
        ),
        (
            Scenario::new(
                "scheduled: approved but publish_at is tomorrow",
                policy("", one_step),
                "v1",
                approved("v1", 1),
            )
            .meta(
                "v1",
                VersionMeta {
                    publish_at: Some(t(21, 9)),
                    ..Default::default()
                },
            ),
            expect(St::Scheduled, S::Scheduled, None),
        ),
        (
            Scenario::new(
                "scheduled: live once publish_at has come",
                policy("", one_step),
                "v1",
                approved("v1", 1),
            )
            .meta(
                "v1",
                VersionMeta {
                    publish_at: Some(t(21, 9)),
                    ..Default::default()
                },
            )
            .at(t(21, 9)),
            expect(St::Published, S::Published, Some("v1")),
        ),
        (
            Scenario::new(
                "an older version stays live while a newer one is scheduled",
                policy("", one_step),
                "v2",
                {
                    let mut r = approved("v1", 1);
                    r.extend(approved("v2", 2));
                    r
                },
            )
            .meta(
                "v2",
                VersionMeta {
                    publish_at: Some(t(25, 0)),
                    ..Default::default()
                },
            ),
            expect(St::Outdated, S::Scheduled, Some("v1")),
        ),
        (
            Scenario::new(
                "expires_at passed: offline and expired",
                policy("", one_step),
                "v1",
                approved("v1", 1),
            )
            .meta(
                "v1",
                VersionMeta {
                    expires_at: Some(t(10, 0)),
                    ..Default::default()
                },
            ),
            expect(St::Expired, S::Published, None),
        ),
        (
            Scenario::new(
                "a page for another audience is not live in this build",
                policy("", one_step),
                "v1",
                approved("v1", 1),
            )
            .meta(
                "v1",
                VersionMeta {
                    audience: Some(vec!["internal".into()]),
                    ..Default::default()
                },
            ),
            expect(St::Approved, S::Published, None),
        ),
        (
            Scenario::new(
                "…and is live in a build for its audience",
                policy("", one_step),
                "v1",
                approved("v1", 1),
            )
            .meta(
                "v1",
                VersionMeta {
                    audience: Some(vec!["internal".into()]),
                    ..Default::default()
                },
            )
            .audience("internal"),
            expect(St::Published, S::Published, Some("v1")),
        ),
        (
            Scenario::new(
                "approval expiry with on_expiry flag stays live, flagged",
                policy("approval_expires_days: 10\non_expiry: flag\n", one_step),
                "v1",
                approved("v1", 1),
            ),
            expect(St::Expired, S::Published, Some("v1")),
        ),
        (
            Scenario::new(
                "approval expiry with on_expiry unpublish goes offline",
                policy(
                    "approval_expires_days: 10\non_expiry: unpublish\n",
                    one_step,
                ),
                "v1",
                approved("v1", 1),
            ),
            expect(St::Expired, S::Published, None),
        ),
        (
            Scenario::new(
                "approval not yet expired",
                policy(
                    "approval_expires_days: 30\non_expiry: unpublish\n",
                    one_step,
                ),
                "v1",
                approved("v1", 1),
            ),
            expect(St::Published, S::Published, Some("v1")),
        ),
    ];
    for (s, e) in cases {
        check(s, e);
    }
}

#[test]
fn a_replaced_version_stops_counting_and_records_for_it_change_nothing() {
    let s = Scenario::new(
        "v2 replaces v1 in review",
        policy("", TWO_STEPS),
        "v2",
        vec![
            submit("v1", "walt", t(1, 9)),
            approve("v1", "alice", "technical", t(1, 10)),
            submit("v2", "walt", t(1, 11)),
            approve("v1", "bob", "technical", t(1, 12)),
            approve("v2", "bob", "technical", t(1, 13)),
        ],
    );
    let out = s.run();
    assert_eq!(out.status(), Status::Pending);
    let r = out.in_review.unwrap();
    assert_eq!(r.version, v("v2"));
    assert_eq!(
        r.waiting_on,
        vec!["alice", "erin"],
        "alice's approval of v1 does not carry over"
    );
    assert_eq!(out.versions[&v("v1")].outcome, Outcome::Replaced);
    assert!(!out.notes.iter().find(|n| n.index == 3).unwrap().counted);
}

#[test]
fn the_live_version_history_lists_its_counted_records_in_order() {
    let s = Scenario::new(
        "history",
        policy("", TWO_STEPS),
        "v1",
        vec![
            approve("v1", "dave", "legal", t(1, 9)),
            submit("v1", "walt", t(1, 8)),
            approve("v1", "alice", "technical", t(1, 10)),
            approve("v1", "bob", "technical", t(1, 11)),
            approve("v1", "dave", "legal", t(1, 12)),
        ],
    );
    let out = s.run();
    let live = out.live.live().unwrap().clone();
    assert_eq!(live.history, vec![1, 2, 3, 4]);
    assert_eq!(live.approved_at, t(1, 12));
    assert_eq!(out.order, vec![1, 0, 2, 3, 4]);
}

#[test]
fn a_resumed_version_keeps_the_approvals_that_count_for_it_in_its_history() {
    let s = Scenario::new(
        "resume history",
        policy("resume_after_reject: true\n", TWO_STEPS),
        "v2",
        vec![
            submit("v1", "walt", t(1, 9)),
            approve("v1", "alice", "technical", t(1, 10)),
            approve("v1", "bob", "technical", t(1, 11)),
            reject("v1", "dave", "legal", t(1, 12)),
            submit("v2", "walt", t(2, 9)),
            approve("v2", "dave", "legal", t(2, 10)),
        ],
    );
    let out = s.run();
    assert_eq!(out.status(), Status::Published);
    assert_eq!(
        out.live.live().unwrap().clone().history,
        vec![1, 2, 4, 5],
        "the approvals that carried over, then v2's own records"
    );
}

const ONE_STEP: &str =
    "steps:\n  - {name: technical, approvers: [group:engineering], min_approvals: 1}\n";

/// `ver` submitted by walt and approved by alice on day `day`.
fn approved(ver: &'static str, day: u32) -> Vec<R> {
    vec![
        submit(ver, "walt", t(day, 9)),
        approve(ver, "alice", "technical", t(day, 10)),
    ]
}

fn concat(parts: Vec<Vec<R>>) -> Vec<R> {
    parts.into_iter().flatten().collect()
}

#[test]
fn rollback_and_takedown_are_signed_acts() {
    let p = || policy("", ONE_STEP);
    let cases = [
        (
            Scenario::new(
                "a publish record of an earlier approved version makes it live again (rollback)",
                p(),
                "v2",
                concat(vec![
                    approved("v1", 1),
                    approved("v2", 2),
                    vec![publish("v1", "lena", t(3, 9))],
                ]),
            ),
            expect(St::Outdated, S::Published, Some("v1")),
        ),
        (
            Scenario::new(
                "a rollback by someone who is not a publisher does not count",
                p(),
                "v2",
                concat(vec![
                    approved("v1", 1),
                    approved("v2", 2),
                    vec![publish("v1", "bob", t(3, 9))],
                ]),
            ),
            expect(St::Published, S::Published, Some("v2")).findings(&[InvalidRecord]),
        ),
        (
            Scenario::new(
                "re-publishing the version that is already newest changes nothing",
                p(),
                "v1",
                concat(vec![
                    approved("v1", 1),
                    vec![publish("v1", "lena", t(3, 9))],
                ]),
            ),
            expect(St::Published, S::Published, Some("v1")),
        ),
        (
            Scenario::new(
                "a publish record can't publish a version nobody approved",
                p(),
                "v2",
                concat(vec![
                    approved("v1", 1),
                    vec![
                        submit("v2", "walt", t(2, 9)),
                        publish("v2", "carol", t(2, 10)),
                    ],
                ]),
            ),
            expect(St::Outdated, S::Pending, Some("v1"))
                .step("technical", &["alice", "bob", "erin"])
                .findings(&[OutOfTurn]),
        ),
        (
            Scenario::new(
                "an unpublish record takes the page offline",
                p(),
                "v1",
                concat(vec![
                    approved("v1", 1),
                    vec![unpublish("v1", "lena", t(3, 9))],
                ]),
            ),
            expect(St::Unpublished, S::Published, None),
        ),
        (
            Scenario::new(
                "an unpublish by someone who is not a publisher or manager does not count",
                p(),
                "v1",
                concat(vec![
                    approved("v1", 1),
                    vec![unpublish("v1", "walt", t(3, 9))],
                ]),
            ),
            expect(St::Published, S::Published, Some("v1")).findings(&[InvalidRecord]),
        ),
        (
            Scenario::new(
                "after a takedown an older version does not come back by itself",
                p(),
                "v2",
                concat(vec![
                    approved("v1", 1),
                    approved("v2", 2),
                    vec![unpublish("v2", "carol", t(3, 9))],
                ]),
            ),
            expect(St::Unpublished, S::Published, None),
        ),
        (
            Scenario::new(
                "a version published after the takedown is live",
                p(),
                "v2",
                concat(vec![
                    approved("v1", 1),
                    vec![unpublish("v1", "carol", t(2, 8))],
                    approved("v2", 2),
                ]),
            ),
            expect(St::Published, S::Published, Some("v2")),
        ),
        (
            Scenario::new(
                "a rollback after a takedown re-publishes the older version",
                p(),
                "v2",
                concat(vec![
                    approved("v1", 1),
                    approved("v2", 2),
                    vec![
                        unpublish("v2", "carol", t(3, 9)),
                        publish("v1", "carol", t(4, 9)),
                    ],
                ]),
            ),
            expect(St::Outdated, S::Published, Some("v1")),
        ),
        (
            Scenario::new(
                "an unpublish with nothing published changes nothing",
                p(),
                "v1",
                vec![unpublish("v1", "carol", t(1, 9))],
            ),
            expect(St::Draft, S::Draft, None),
        ),
        (
            Scenario::new(
                "a version scheduled after a takedown keeps the page offline until its time",
                p(),
                "v2",
                concat(vec![
                    approved("v1", 1),
                    vec![unpublish("v1", "carol", t(2, 8))],
                    approved("v2", 2),
                ]),
            )
            .meta(
                "v2",
                VersionMeta {
                    publish_at: Some(t(25, 0)),
                    ..Default::default()
                },
            ),
            expect(St::Scheduled, S::Scheduled, None),
        ),
        (
            Scenario::new(
                "a takedown leaves a newer version in review pending",
                p(),
                "v2",
                concat(vec![
                    approved("v1", 1),
                    vec![
                        unpublish("v1", "carol", t(2, 8)),
                        submit("v2", "walt", t(2, 9)),
                    ],
                ]),
            ),
            expect(St::Pending, S::Pending, None).step("technical", &["alice", "bob", "erin"]),
        ),
    ];
    for (s, e) in cases {
        check(s, e);
    }
}

#[test]
fn the_newest_publication_fails_closed() {
    let p = || policy("", ONE_STEP);
    let two = || concat(vec![approved("v1", 1), approved("v2", 2)]);
    let cases = [
        (
            Scenario::new(
                "the newest published version can't be read: offline, the older one does not come back",
                p(),
                "v3",
                two(),
            )
            .unavailable("v2"),
            expect(St::Draft, S::Draft, None),
        ),
        (
            Scenario::new(
                "an older version that can't be read does not matter while the newest is live",
                p(),
                "v2",
                two(),
            )
            .unavailable("v1"),
            expect(St::Published, S::Published, Some("v2")),
        ),
        (
            Scenario::new(
                "expires_at of the newest passed: offline, the older one does not come back",
                p(),
                "v2",
                two(),
            )
            .meta(
                "v2",
                VersionMeta {
                    expires_at: Some(t(15, 0)),
                    ..Default::default()
                },
            ),
            expect(St::Expired, S::Published, None),
        ),
        (
            Scenario::new(
                "approval of the newest expired with on_expiry unpublish: offline, no fallback",
                policy("approval_expires_days: 10\non_expiry: unpublish\n", ONE_STEP),
                "v2",
                concat(vec![approved("v1", 9), approved("v2", 2)]),
            ),
            expect(St::Expired, S::Published, None),
        ),
    ];
    for (s, e) in cases {
        check(s, e);
    }
    // What is offline says why, so reports and `went_offline` can tell a defect from a
    // signed or scheduled end.
    let out = Scenario::new("", p(), "v3", two()).unavailable("v2").run();
    assert_eq!(
        out.live,
        Liveness::Offline(Offline::Unavailable { version: v("v2") })
    );
    assert!(out.live.offline().unwrap().is_defect());
    let out = Scenario::new(
        "",
        p(),
        "v1",
        concat(vec![
            approved("v1", 1),
            vec![unpublish("v1", "lena", t(3, 9))],
        ]),
    )
    .run();
    assert!(!out.live.offline().unwrap().is_defect());
}

#[test]
fn an_expired_approval_is_renewed_by_re_certifying_the_same_bytes() {
    let p = || {
        policy(
            "approval_expires_days: 10\non_expiry: unpublish\n",
            ONE_STEP,
        )
    };
    let cases = [
        (
            Scenario::new(
                "a submit of the approved version before it expires changes nothing",
                p(),
                "v1",
                concat(vec![approved("v1", 1), vec![submit("v1", "walt", t(5, 9))]]),
            )
            .at(t(6, 0)),
            expect(St::Published, S::Published, Some("v1")),
        ),
        (
            Scenario::new(
                "a submit after the approval expired starts a re-certification",
                p(),
                "v1",
                concat(vec![
                    approved("v1", 1),
                    vec![submit("v1", "walt", t(12, 9))],
                ]),
            ),
            // Offline (on_expiry: unpublish) and in review again: pending.
            expect(St::Pending, S::Pending, None).step("technical", &["alice", "bob", "erin"]),
        ),
        (
            Scenario::new(
                "the re-certification passes: the approval is renewed and the page is live",
                p(),
                "v1",
                concat(vec![
                    approved("v1", 1),
                    vec![
                        submit("v1", "walt", t(12, 9)),
                        approve("v1", "bob", "technical", t(13, 9)),
                    ],
                ]),
            ),
            expect(St::Published, S::Published, Some("v1")),
        ),
        (
            Scenario::new(
                "a rejected re-certification leaves the version as it was: expired",
                p(),
                "v1",
                concat(vec![
                    approved("v1", 1),
                    vec![
                        submit("v1", "walt", t(12, 9)),
                        reject("v1", "bob", "technical", t(13, 9)),
                    ],
                ]),
            ),
            expect(St::Expired, S::Published, None),
        ),
        (
            Scenario::new(
                "a retracted re-certification leaves the version as it was: expired",
                p(),
                "v1",
                concat(vec![
                    approved("v1", 1),
                    vec![
                        submit("v1", "walt", t(12, 9)),
                        retract("v1", "walt", t(13, 9)),
                    ],
                ]),
            ),
            expect(St::Expired, S::Published, None),
        ),
        (
            Scenario::new(
                "with on_expiry flag the page stays live, flagged, while it is re-certified",
                policy("approval_expires_days: 10\non_expiry: flag\n", ONE_STEP),
                "v1",
                concat(vec![
                    approved("v1", 1),
                    vec![submit("v1", "walt", t(12, 9))],
                ]),
            ),
            expect(St::Expired, S::Pending, Some("v1"))
                .step("technical", &["alice", "bob", "erin"]),
        ),
    ];
    for (s, e) in cases {
        check(s, e);
    }
    let renewed = Scenario::new(
        "",
        p(),
        "v1",
        concat(vec![
            approved("v1", 1),
            vec![
                submit("v1", "walt", t(12, 9)),
                approve("v1", "bob", "technical", t(13, 9)),
            ],
        ]),
    )
    .run();
    let live = renewed.live.live().unwrap();
    assert_eq!(live.approved_at, t(13, 9), "the approval time is renewed");
    assert_eq!(
        live.published_at,
        t(1, 10),
        "it went live when it first did"
    );
}

#[test]
fn a_reviewer_s_latest_decision_replaces_their_earlier_one() {
    let two_of_three = "steps:\n  - {name: technical, approvers: [group:engineering], min_approvals: 2, rejections_to_fail: 2}\n";
    let cases = [
        (
            Scenario::new(
                "approve, then reject: the rejection is what counts",
                policy("", two_of_three),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "alice", "technical", t(1, 10)),
                    reject("v1", "alice", "technical", t(1, 11)),
                    approve("v1", "bob", "technical", t(1, 12)),
                ],
            ),
            // alice's approval was replaced: one approval (bob), one rejection (alice).
            expect(St::Pending, S::Pending, None).step("technical", &["erin"]),
        ),
        (
            Scenario::new(
                "reject, then approve: the approval is what counts",
                policy("", two_of_three),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    reject("v1", "alice", "technical", t(1, 10)),
                    approve("v1", "alice", "technical", t(1, 11)),
                    approve("v1", "bob", "technical", t(1, 12)),
                ],
            ),
            expect(St::Published, S::Published, Some("v1")),
        ),
        (
            Scenario::new(
                "two rejections by one reviewer count once",
                policy("", two_of_three),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    reject("v1", "alice", "technical", t(1, 10)),
                    reject("v1", "alice", "technical", t(1, 11)),
                ],
            ),
            expect(St::Pending, S::Pending, None).step("technical", &["bob", "erin"]),
        ),
    ];
    for (s, e) in cases {
        check(s, e);
    }
}

#[test]
fn a_passed_step_of_a_parallel_stage_ignores_later_records() {
    let parallel = policy(
        "",
        "steps:\n  - {name: legal, approvers: [group:legal], min_approvals: 1}\n  - {name: brand, approvers: [group:marketing, carol], min_approvals: 1, parallel: true}\n",
    );
    let out = Scenario::new(
        "brand passed; a later brand rejection changes nothing while legal is open",
        parallel,
        "v1",
        vec![
            submit("v1", "walt", t(1, 9)),
            approve("v1", "mia", "brand", t(1, 10)),
            reject("v1", "carol", "brand", t(1, 11)),
        ],
    )
    .run();
    assert_eq!(out.status(), Status::Pending);
    let r = out.in_review.as_ref().unwrap();
    assert_eq!(r.open_steps, vec!["legal".to_string()]);
    let note = out.notes.iter().find(|n| n.index == 2).unwrap();
    assert!(!note.counted, "{note:?}");
    assert!(note.note.contains("already passed"), "{note:?}");
}

#[test]
fn expiry_boundaries_are_exact() {
    let p = |extra: &str| policy(extra, ONE_STEP);
    let expiring = |at: Instant| VersionMeta {
        expires_at: Some(at),
        ..Default::default()
    };
    let cases = [
        (
            Scenario::new(
                "expires_at one second after now: live",
                p(""),
                "v1",
                approved("v1", 1),
            )
            .meta("v1", expiring(t(20, 12) + Duration::seconds(1))),
            expect(St::Published, S::Published, Some("v1")),
        ),
        (
            Scenario::new(
                "expires_at exactly now: offline",
                p(""),
                "v1",
                approved("v1", 1),
            )
            .meta("v1", expiring(t(20, 12))),
            expect(St::Expired, S::Published, None),
        ),
        (
            Scenario::new(
                "approved 10 days minus a second ago: not expired",
                p("approval_expires_days: 10\non_expiry: unpublish\n"),
                "v1",
                approved("v1", 1),
            )
            .at(t(11, 10) - Duration::seconds(1)),
            expect(St::Published, S::Published, Some("v1")),
        ),
        (
            Scenario::new(
                "approved exactly 10 days ago: expired",
                p("approval_expires_days: 10\non_expiry: unpublish\n"),
                "v1",
                approved("v1", 1),
            )
            .at(t(11, 10)),
            expect(St::Expired, S::Published, None),
        ),
        (
            Scenario::new(
                "approved exactly 10 days ago with on_expiry flag: live and expired",
                p("approval_expires_days: 10\non_expiry: flag\n"),
                "v1",
                approved("v1", 1),
            )
            .at(t(11, 10)),
            expect(St::Expired, S::Published, Some("v1")),
        ),
        (
            Scenario::new(
                "publish_at exactly now: live",
                p(""),
                "v1",
                approved("v1", 1),
            )
            .meta(
                "v1",
                VersionMeta {
                    publish_at: Some(t(20, 12)),
                    ..Default::default()
                },
            ),
            expect(St::Published, S::Published, Some("v1")),
        ),
    ];
    for (s, e) in cases {
        check(s, e);
    }
}

#[test]
fn re_publishing_the_newest_publication_does_not_count_but_after_a_takedown_it_does() {
    let p = || policy("", ONE_STEP);
    let out = Scenario::new(
        "",
        p(),
        "v1",
        concat(vec![
            approved("v1", 1),
            vec![publish("v1", "lena", t(3, 9))],
        ]),
    )
    .run();
    let note = out.notes.iter().find(|n| n.index == 2).unwrap();
    assert!(!note.counted, "{note:?}");
    assert!(note.note.contains("already the newest"), "{note:?}");

    let out = Scenario::new(
        "",
        p(),
        "v1",
        concat(vec![
            approved("v1", 1),
            vec![
                unpublish("v1", "lena", t(3, 9)),
                publish("v1", "lena", t(4, 9)),
            ],
        ]),
    )
    .run();
    let note = out.notes.iter().find(|n| n.index == 3).unwrap();
    assert!(note.counted, "{note:?}");
    assert_eq!(out.status(), Status::Published);
    assert_eq!(out.live.live().unwrap().published_at, t(4, 9));
}

#[test]
fn a_resumed_review_carries_only_approvals_of_passed_steps_and_says_where_it_resumes() {
    let s = Scenario::new(
        "approval in the rejecting step is not carried",
        policy(
            "resume_after_reject: true\n",
            "steps:\n  - {name: technical, approvers: [group:engineering], min_approvals: 2}\n  - {name: legal, approvers: [group:legal], min_approvals: 2}\n",
        ),
        "v2",
        vec![
            submit("v1", "walt", t(1, 9)),
            approve("v1", "alice", "technical", t(1, 10)),
            approve("v1", "bob", "technical", t(1, 11)),
            approve("v1", "carol", "legal", t(1, 12)),
            reject("v1", "dave", "legal", t(1, 13)),
            submit("v2", "walt", t(2, 9)),
        ],
    );
    let out = s.run();
    assert_eq!(out.status(), Status::Pending);
    assert_eq!(
        out.versions[&v("v2")].history,
        vec![1, 2, 5],
        "technical's approvals carry over; carol's approval in the rejecting legal step does not"
    );
    let resumed = out.notes.iter().find(|n| n.index == 5).unwrap();
    assert!(resumed.note.ends_with("; resumes at legal"), "{resumed:?}");
    let fresh = out.notes.iter().find(|n| n.index == 0).unwrap();
    assert!(!fresh.note.contains("resumes"), "{fresh:?}");
}

#[test]
fn an_out_of_turn_decision_names_the_steps_it_had_to_wait_for() {
    let parallel = policy(
        "",
        "steps:\n  - {name: technical, approvers: [group:engineering], min_approvals: 1}\n  - {name: legal, approvers: [group:legal], min_approvals: 1}\n  - {name: brand, approvers: [group:marketing], min_approvals: 1, parallel: true}\n  - {name: final, approvers: [carol], min_approvals: 1}\n",
    );
    let out = Scenario::new(
        "",
        parallel,
        "v1",
        vec![
            submit("v1", "walt", t(1, 9)),
            approve("v1", "alice", "technical", t(1, 10)),
            approve("v1", "mia", "brand", t(1, 11)),
            approve("v1", "carol", "final", t(1, 12)),
        ],
    )
    .run();
    let note = out.notes.iter().find(|n| n.index == 3).unwrap();
    assert_eq!(note.finding, Some(FindingKind::OutOfTurn));
    assert_eq!(
        note.note, "step 'final' acts only after legal passed; signed before that",
        "brand has passed, so only legal is named"
    );
}

#[test]
fn assigned_reviewers_are_the_only_ones_and_all_of_them_must_approve() {
    let p = || policy("", TWO_STEPS);
    let cases = [
        (
            Scenario::new(
                "an assigned subset reviews: an approver who is not assigned can't act",
                p(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)).assigning("technical", &["alice", "bob"]),
                    approve("v1", "erin", "technical", t(1, 10)),
                    approve("v1", "alice", "technical", t(1, 11)),
                ],
            ),
            expect(St::Pending, S::Pending, None)
                .step("technical", &["bob"])
                .findings(&[InvalidRecord]),
        ),
        (
            Scenario::new(
                "three assigned where two approvals would do: all three must approve",
                p(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)).assigning("technical", &["alice", "bob", "erin"]),
                    approve("v1", "alice", "technical", t(1, 10)),
                    approve("v1", "bob", "technical", t(1, 11)),
                ],
            ),
            expect(St::Pending, S::Pending, None).step("technical", &["erin"]),
        ),
        (
            Scenario::new(
                "every assignee approved: the step passes and the next step waits as usual",
                p(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)).assigning("technical", &["alice", "bob", "erin"]),
                    approve("v1", "alice", "technical", t(1, 10)),
                    approve("v1", "bob", "technical", t(1, 11)),
                    approve("v1", "erin", "technical", t(1, 12)),
                ],
            ),
            expect(St::Pending, S::Pending, None).step("legal", &["dave"]),
        ),
        (
            Scenario::new(
                "a manager's approval counts as a decision but the step still waits on the assignees",
                p(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)).assigning("technical", &["alice", "bob"]),
                    approve("v1", "carol", "technical", t(1, 10)),
                    approve("v1", "alice", "technical", t(1, 11)),
                ],
            ),
            expect(St::Pending, S::Pending, None).step("technical", &["bob"]),
        ),
        (
            Scenario::new(
                "a manager re-assigns the open step: who decided stays decided, the new assignee completes it",
                p(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)).assigning("technical", &["alice", "bob"]),
                    approve("v1", "alice", "technical", t(1, 10)),
                    assign("v1", "carol", "technical", &["alice", "erin"], t(1, 11)),
                    approve("v1", "bob", "technical", t(1, 12)),
                    approve("v1", "erin", "technical", t(1, 13)),
                    approve("v1", "dave", "legal", t(1, 14)),
                ],
            ),
            expect(St::Published, S::Published, Some("v1")).findings(&[InvalidRecord]),
        ),
        (
            Scenario::new(
                "re-assigning to reviewers who all approved already passes the step at once",
                p(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)).assigning("technical", &["alice", "bob", "erin"]),
                    approve("v1", "alice", "technical", t(1, 10)),
                    approve("v1", "erin", "technical", t(1, 11)),
                    assign("v1", "carol", "technical", &["alice", "erin"], t(1, 12)),
                ],
            ),
            expect(St::Pending, S::Pending, None).step("legal", &["dave"]),
        ),
        (
            Scenario::new(
                "a later step can be assigned before its turn; its stage then waits on the assignee",
                p(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "alice", "technical", t(1, 10)),
                    assign("v1", "carol", "legal", &["carol"], t(1, 10)),
                    approve("v1", "bob", "technical", t(1, 11)),
                    approve("v1", "dave", "legal", t(1, 12)),
                ],
            ),
            expect(St::Pending, S::Pending, None)
                .step("legal", &["carol"])
                .findings(&[InvalidRecord]),
        ),
        (
            Scenario::new(
                "an ineligible assignee: the submit does not count, nor what follows it",
                p(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)).assigning("technical", &["alice", "dave"]),
                    approve("v1", "alice", "technical", t(1, 10)),
                ],
            ),
            expect(St::Draft, S::Draft, None).findings(&[InvalidRecord, OutOfTurn]),
        ),
        (
            Scenario::new(
                "fewer assignees than min_approvals: the submit does not count",
                p(),
                "v1",
                vec![submit("v1", "walt", t(1, 9)).assigning("technical", &["alice"])],
            ),
            expect(St::Draft, S::Draft, None).findings(&[InvalidRecord]),
        ),
        (
            Scenario::new(
                "an assignment naming no step of the policy: the submit does not count",
                p(),
                "v1",
                vec![submit("v1", "walt", t(1, 9)).assigning("security", &["alice", "bob"])],
            ),
            expect(St::Draft, S::Draft, None).findings(&[InvalidRecord]),
        ),
        (
            Scenario::new(
                "only a manager may re-assign",
                p(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)).assigning("technical", &["alice", "bob"]),
                    assign("v1", "alice", "technical", &["alice", "erin"], t(1, 10)),
                    approve("v1", "erin", "technical", t(1, 11)),
                ],
            ),
            expect(St::Pending, S::Pending, None)
                .step("technical", &["alice", "bob"])
                .findings(&[InvalidRecord, InvalidRecord]),
        ),
        (
            Scenario::new(
                "re-assigning an ineligible reviewer does not count",
                p(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)).assigning("technical", &["alice", "bob"]),
                    assign("v1", "carol", "technical", &["alice", "mia"], t(1, 10)),
                ],
            ),
            expect(St::Pending, S::Pending, None)
                .step("technical", &["alice", "bob"])
                .findings(&[InvalidRecord]),
        ),
        (
            Scenario::new(
                "a step that passed can't be re-assigned",
                p(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "alice", "technical", t(1, 10)),
                    approve("v1", "bob", "technical", t(1, 11)),
                    assign("v1", "carol", "technical", &["alice", "erin"], t(1, 12)),
                ],
            ),
            expect(St::Pending, S::Pending, None)
                .step("legal", &["dave"])
                .findings(&[OutOfTurn]),
        ),
        (
            Scenario::new(
                "an assign for a version not in review is out of turn",
                p(),
                "v1",
                vec![assign("v1", "carol", "technical", &["alice", "bob"], t(1, 9))],
            ),
            expect(St::Draft, S::Draft, None).findings(&[OutOfTurn]),
        ),
        (
            Scenario::new(
                "an assigned reviewer's rejection fails the step",
                p(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)).assigning("technical", &["alice", "bob"]),
                    approve("v1", "alice", "technical", t(1, 10)),
                    reject("v1", "bob", "technical", t(1, 11)),
                ],
            ),
            expect(St::Rejected, S::Rejected, None),
        ),
    ];
    for (s, e) in cases {
        check(s, e);
    }
}

#[test]
fn an_assignment_must_hold_the_required_reviewers_and_not_the_submitter() {
    let required = || {
        policy(
            "allow_self_approval: false\n",
            "steps:\n  - {name: technical, approvers: [group:engineering, group:writers], min_approvals: 1, required: [alice]}\n",
        )
    };
    let cases = [
        (
            Scenario::new(
                "an assignment leaving out a required reviewer does not count",
                required(),
                "v1",
                vec![submit("v1", "walt", t(1, 9)).assigning("technical", &["bob"])],
            ),
            expect(St::Draft, S::Draft, None).findings(&[InvalidRecord]),
        ),
        (
            Scenario::new(
                "the submitter can't be assigned to review their own version",
                required(),
                "v1",
                vec![submit("v1", "walt", t(1, 9)).assigning("technical", &["alice", "walt"])],
            ),
            expect(St::Draft, S::Draft, None).findings(&[InvalidRecord]),
        ),
        (
            Scenario::new(
                "a writer may be assigned when they are an approver and not the submitter",
                required(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)).assigning("technical", &["alice", "wendy"]),
                    approve("v1", "alice", "technical", t(1, 10)),
                ],
            ),
            expect(St::Pending, S::Pending, None).step("technical", &["wendy"]),
        ),
    ];
    for (s, e) in cases {
        check(s, e);
    }
}

#[test]
fn approval_comments_where_the_policy_asks_for_them() {
    let p = || policy("approve_comment_required: true\n", TWO_STEPS);
    let cases = [
        (
            Scenario::new(
                "an approval without a comment does not count",
                p(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "alice", "technical", t(1, 10)),
                    approve("v1", "bob", "technical", t(1, 11)).with_comment("Ran every command"),
                ],
            ),
            expect(St::Pending, S::Pending, None)
                .step("technical", &["alice", "erin"])
                .findings(&[InvalidRecord]),
        ),
        (
            Scenario::new(
                "a blank comment is no comment",
                p(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "alice", "technical", t(1, 10)).with_comment("  \n"),
                ],
            ),
            expect(St::Pending, S::Pending, None)
                .step("technical", &["alice", "bob", "erin"])
                .findings(&[InvalidRecord]),
        ),
        (
            Scenario::new(
                "approvals with comments approve; a manager's override needs one too",
                p(),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "carol", "technical", t(1, 10)).with_override(),
                    approve("v1", "alice", "technical", t(1, 11)).with_comment("ok"),
                    approve("v1", "bob", "technical", t(1, 12)).with_comment("ok"),
                    approve("v1", "dave", "legal", t(1, 13)).with_comment("ok"),
                ],
            ),
            expect(St::Published, S::Published, Some("v1")).findings(&[InvalidRecord]),
        ),
        (
            Scenario::new(
                "without the setting an approval needs no comment",
                policy("", TWO_STEPS),
                "v1",
                vec![
                    submit("v1", "walt", t(1, 9)),
                    approve("v1", "alice", "technical", t(1, 10)),
                ],
            ),
            expect(St::Pending, S::Pending, None).step("technical", &["bob", "erin"]),
        ),
    ];
    for (s, e) in cases {
        check(s, e);
    }
}

/// `ver` submitted and approved through both of `TWO_STEPS` on day `day`.
fn approved_in_two_steps(ver: &'static str, day: u32) -> Vec<R> {
    vec![
        submit(ver, "walt", t(day, 9)),
        approve(ver, "alice", "technical", t(day, 10)),
        approve(ver, "bob", "technical", t(day, 11)),
        approve(ver, "dave", "legal", t(day, 12)),
    ]
}

#[test]
fn an_edit_cancels_the_review_where_the_space_wants_it() {
    let cancels = || policy("edit_cancels_review: true\n", TWO_STEPS);
    let in_review = vec![
        submit("v1", "walt", t(1, 9)),
        approve("v1", "alice", "technical", t(1, 10)),
    ];
    let cases = [
        (
            Scenario::new(
                "edited during review: the review is cancelled, the edit is a draft",
                cancels(),
                "v2",
                in_review.clone(),
            ),
            expect(St::Draft, S::Draft, None),
            Some("v1"),
        ),
        (
            Scenario::new(
                "without edit_cancels_review the review of the old bytes goes on",
                policy("", TWO_STEPS),
                "v2",
                in_review.clone(),
            ),
            expect(St::Draft, S::Draft, None).step("technical", &["bob", "erin"]),
            None,
        ),
        (
            Scenario::new(
                "the bytes in review are still the page's: nothing is cancelled",
                cancels(),
                "v1",
                in_review.clone(),
            ),
            expect(St::Pending, S::Pending, None).step("technical", &["bob", "erin"]),
            None,
        ),
        (
            Scenario::new(
                "a live version stays live while the edit cancels the review of the next",
                cancels(),
                "v2",
                concat(vec![
                    approved_in_two_steps("v0", 1),
                    vec![
                        submit("v1", "walt", t(5, 9)),
                        approve("v1", "alice", "technical", t(5, 10)),
                    ],
                ]),
            ),
            expect(St::Outdated, S::Draft, Some("v0")),
            Some("v1"),
        ),
        (
            Scenario::new(
                "the edit is submitted: a new review, nothing cancelled",
                cancels(),
                "v2",
                concat(vec![in_review.clone(), vec![submit("v2", "walt", t(2, 9))]]),
            ),
            expect(St::Pending, S::Pending, None).step("technical", &["alice", "bob", "erin"]),
            None,
        ),
        (
            Scenario::new(
                "a version approved before the edit is not cancelled: it is live, the page outdated",
                cancels(),
                "v2",
                approved_in_two_steps("v1", 1),
            ),
            expect(St::Outdated, S::Draft, Some("v1")),
            None,
        ),
    ];
    for (s, e, cancelled) in cases {
        let out = s.run();
        let name = s.name;
        assert_eq!(
            out.cancelled.as_ref().map(|c| c.version.clone()),
            cancelled.map(v),
            "{name}: cancelled review"
        );
        if let Some(c) = &out.cancelled {
            assert!(out.in_review.is_none(), "{name}: still in review");
            assert_eq!(
                out.versions[&c.version].outcome,
                Outcome::Cancelled,
                "{name}"
            );
            assert_eq!(c.step, "technical", "{name}: the step it waited in");
        }
        check(s, e);
    }
}

#[test]
fn a_reviewer_in_two_open_steps_is_asked_in_the_one_still_waiting_on_them() {
    // carol approves in both parallel steps; once she approved in legal, only brand asks her.
    let parallel = policy(
        "",
        "steps:\n  - {name: legal, approvers: [group:legal, carol], min_approvals: 2}\n  - {name: brand, approvers: [group:marketing, carol], min_approvals: 1, parallel: true}\n",
    );
    let before = Scenario::new(
        "carol undecided: the first open step asks her",
        parallel.clone(),
        "v1",
        vec![submit("v1", "walt", t(1, 9))],
    )
    .run();
    let r = before.in_review.as_ref().unwrap();
    assert_eq!(r.step_waiting_on("carol"), Some("legal"));
    let after = Scenario::new(
        "carol approved in legal: brand still asks her, legal no longer does",
        parallel,
        "v1",
        vec![
            submit("v1", "walt", t(1, 9)),
            approve("v1", "carol", "legal", t(1, 10)),
        ],
    )
    .run();
    let r = after.in_review.as_ref().unwrap();
    assert_eq!(r.step_waiting_on("carol"), Some("brand"));
    assert_eq!(
        r.step_waiting_on("walt"),
        None,
        "the submitter is not asked"
    );
    let legal = &r.waiting_by_step[0];
    assert_eq!(legal.0, "legal");
    assert!(!legal.1.iter().any(|w| w == "carol"), "{legal:?}");
}

#[test]
fn a_waiting_stage_climbs_the_ladder_on_the_clock_of_the_stage() {
    // Submitted on the 1st at 9:00; the engineers approve on the 3rd at 9:00, so legal has
    // waited since then: the ladder counts from the start of the stage, like `escalated_at`.
    let records = vec![
        submit("v1", "walt", t(1, 9)),
        approve("v1", "alice", "technical", t(3, 9)),
        approve("v1", "bob", "technical", t(3, 9)),
    ];
    // (ladder, now, rungs reached as (number, days), days waited)
    type Case = (&'static str, Instant, &'static [(usize, u32)], i64);
    let cases: &[Case] = &[
        ("[7, 14, 30]", t(10, 8), &[], 6),
        ("[7, 14, 30]", t(10, 9), &[(1, 7)], 7),
        ("[7, 14, 30]", t(17, 9), &[(1, 7), (2, 14)], 14),
        (
            "[2, 4, 6, 8]",
            t(11, 9),
            &[(1, 2), (2, 4), (3, 6), (4, 8)],
            8,
        ),
        ("7", t(12, 0), &[(1, 7)], 8),
        ("7", t(10, 8), &[], 6),
    ];
    for &(ladder, now, want, waited) in cases {
        let s = Scenario::new(
            "ladder",
            policy(&format!("escalate_after_days: {ladder}\n"), TWO_STEPS),
            "v1",
            records.clone(),
        )
        .at(now);
        let review = s.run();
        let r = review.in_review.as_ref().expect("in review");
        assert_eq!(r.step, "legal");
        let got: Vec<(usize, u32)> = r.rungs.iter().map(|g| (g.number, g.after_days)).collect();
        assert_eq!(got, want, "{ladder} at {now}");
        assert_eq!(r.waited_days, waited, "{ladder} at {now}");
        assert_eq!(
            r.escalated_at,
            r.rungs.first().map(|g| g.due),
            "{ladder} at {now}: escalated_at is the first rung"
        );
        for g in &r.rungs {
            assert_eq!(
                g.due,
                t(3, 9) + chrono::Duration::days(i64::from(g.after_days))
            );
        }
    }
}
