//! Who hears of a waiting step, rung by rung (`escalate_after_days: [7, 14, 30]`, SPEC §5):
//! first the step's other approvers, then the space's managers, then the site's admins. The
//! rule is written once here and both the reports (a finding) and the outbox (notifications)
//! use it. Hearing of a step never lets anyone act in it: who may act is `trust::authority`.

use std::collections::BTreeSet;

use crate::trust::policy::Policy;
use crate::trust::review::{InReview, Rung};

/// The people a rung notifies, and how a report names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notified {
    /// Reviewer (or admin) ids, sorted, without repeats.
    pub who: Vec<String>,
    /// "the step's other approvers", "the space's managers", …
    pub whom: &'static str,
}

pub const OTHER_APPROVERS: &str = "the step's other approvers";
pub const MANAGERS: &str = "the space's managers";
pub const ADMINS: &str = "the site's admins";
pub const MANAGERS_UNGOVERNED: &str =
    "the space's managers (the site has no trust root, so no admins)";
/// The single-number form: today's one escalation, routed as before the ladder.
pub const NEXT_STAGE_AND_MANAGERS: &str = "the next stage's approvers and the managers";

/// Who `rung` of the waiting review `r` notifies. `admins` is the trusted root's admins, or
/// `None` on a site without a root (then the top rungs go to the managers again).
pub fn notified(policy: &Policy, r: &InReview, rung: &Rung, admins: Option<&[String]>) -> Notified {
    let ladder = policy
        .escalate_after_days
        .as_ref()
        .is_some_and(|e| e.ladder);
    let (who, whom): (BTreeSet<&String>, _) = if !ladder {
        let stage = policy.step(&r.step).map_or(0, |(_, s)| s.stage);
        let next = policy
            .stage_steps(stage + 1)
            .flat_map(|i| policy.steps[i].approvers.reviewers.iter());
        (
            next.chain(policy.managers.reviewers.iter()).collect(),
            NEXT_STAGE_AND_MANAGERS,
        )
    } else {
        match (rung.number, admins) {
            (1, _) => (other_approvers(policy, r), OTHER_APPROVERS),
            (2, _) => (policy.managers.reviewers.iter().collect(), MANAGERS),
            (_, Some(admins)) => (admins.iter().collect(), ADMINS),
            (_, None) => (
                policy.managers.reviewers.iter().collect(),
                MANAGERS_UNGOVERNED,
            ),
        }
    };
    Notified {
        who: who.into_iter().cloned().collect(),
        whom,
    }
}

/// The approvers of the open steps who have not acted in them and are not already asked
/// (`waiting_on`), leaving out the submitter where they may not approve their own version.
fn other_approvers<'a>(policy: &'a Policy, r: &InReview) -> BTreeSet<&'a String> {
    let acted: BTreeSet<(&str, &str)> = r
        .decided
        .iter()
        .map(|d| (d.step.as_str(), d.reviewer.as_str()))
        .collect();
    r.open_steps
        .iter()
        .filter_map(|name| policy.step(name))
        .flat_map(|(_, step)| {
            step.approvers
                .reviewers
                .iter()
                .filter(|w| !acted.contains(&(step.name.as_str(), w.as_str())))
        })
        .filter(|w| !r.waiting_on.contains(w))
        .filter(|w| policy.allow_self_approval || **w != r.submitter)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::keyring::Keyring;
    use crate::trust::review::{CountedDecision, Decision};
    use crate::trust::version::Version;

    fn keyring() -> Keyring {
        let mut k = Keyring::default();
        for (id, group) in [
            ("wanda", "writers"),
            ("alice", "engineering"),
            ("bob", "engineering"),
            ("erin", "engineering"),
            ("dave", "legal"),
            ("carol", "managers"),
        ] {
            k.reviewers.insert(
                id.into(),
                crate::trust::keyring::Reviewer {
                    id: id.into(),
                    name: id.into(),
                    email: None,
                    groups: [group.to_string()].into(),
                },
            );
        }
        k
    }

    fn policy(escalate: &str) -> Policy {
        Policy::parse(
            &format!(
                "contributors: [group:writers]\nmanagers: [carol]\nescalate_after_days: {escalate}\nsteps:\n  - {{name: technical, approvers: [group:engineering], min_approvals: 1, required: [alice]}}\n  - {{name: legal, approvers: [dave], min_approvals: 1}}\n"
            ),
            "kb",
            "approvals/policies/kb.yaml",
            &keyring(),
        )
        .unwrap()
    }

    /// Waiting in `technical` on alice (required); `decided` have acted there.
    fn waiting(decided: &[&str]) -> InReview {
        let at = crate::time::parse_rfc3339("2026-11-01T09:00:00Z").unwrap();
        InReview {
            version: Version::of_bytes(b"v"),
            submitter: "wanda".into(),
            submitted_at: at,
            step: "technical".into(),
            step_number: 1,
            step_count: 2,
            open_steps: vec!["technical".into()],
            waiting_on: vec!["alice".into()],
            waiting_by_step: vec![("technical".into(), vec!["alice".into()])],
            decided: decided
                .iter()
                .map(|who| CountedDecision {
                    step: "technical".into(),
                    reviewer: who.to_string(),
                    decision: Decision::Approve,
                    signed_at: at,
                })
                .collect(),
            stage_since: at,
            escalated_at: None,
            rungs: Vec::new(),
            waited_days: 0,
            stale_at: None,
        }
    }

    fn rung(number: usize) -> Rung {
        Rung {
            number,
            after_days: 7 * number as u32,
            due: crate::time::parse_rfc3339("2026-11-08T09:00:00Z").unwrap(),
        }
    }

    #[test]
    fn each_rung_notifies_the_next_people_and_never_the_ones_already_asked() {
        let admins = vec!["ada".to_string(), "bo".to_string()];
        // (ladder, who acted, rung, admins, who hears, how the report names them)
        type Case<'a> = (
            &'a str,
            &'a [&'a str],
            usize,
            Option<&'a [String]>,
            &'a [&'a str],
            &'a str,
        );
        let cases: &[Case] = &[
            // rung 1: the step's approvers who have not acted, minus alice (already asked)
            (
                "[7, 14, 30]",
                &[],
                1,
                Some(&admins),
                &["bob", "erin"],
                OTHER_APPROVERS,
            ),
            (
                "[7, 14, 30]",
                &["bob"],
                1,
                Some(&admins),
                &["erin"],
                OTHER_APPROVERS,
            ),
            (
                "[7, 14, 30]",
                &["bob", "erin"],
                1,
                None,
                &[],
                OTHER_APPROVERS,
            ),
            // rung 2: the managers
            ("[7, 14, 30]", &[], 2, Some(&admins), &["carol"], MANAGERS),
            // rung 3 and beyond: the admins; without a root, the managers again
            ("[7, 14, 30]", &[], 3, Some(&admins), &["ada", "bo"], ADMINS),
            (
                "[7, 14, 30, 60]",
                &[],
                4,
                Some(&admins),
                &["ada", "bo"],
                ADMINS,
            ),
            ("[7, 14, 30]", &[], 3, None, &["carol"], MANAGERS_UNGOVERNED),
            // one number: as before the ladder, the next stage's approvers and the managers
            (
                "7",
                &[],
                1,
                Some(&admins),
                &["carol", "dave"],
                NEXT_STAGE_AND_MANAGERS,
            ),
            (
                "[7]",
                &[],
                1,
                Some(&admins),
                &["bob", "erin"],
                OTHER_APPROVERS,
            ),
        ];
        for &(escalate, decided, number, admins, who, whom) in cases {
            let got = notified(&policy(escalate), &waiting(decided), &rung(number), admins);
            assert_eq!(
                (got.who.as_slice(), got.whom),
                (
                    who.iter()
                        .map(|w| w.to_string())
                        .collect::<Vec<_>>()
                        .as_slice(),
                    whom
                ),
                "{escalate} rung {number} after {decided:?}"
            );
        }
    }

    #[test]
    fn the_ladder_is_strictly_increasing_positive_days_and_errors_name_the_file_and_field() {
        let cases = [
            ("[]", "empty list"),
            ("[0, 7]", "rung 1 of [0, 7]: must be at least 1 day"),
            ("[7, 7]", "rung 2 of [7, 7]: 7 days does not come after 7"),
            ("[14, 7]", "strictly increasing"),
            (
                "[7, 36501]",
                "rung 2 of [7, 36501]: 36501 days is more than 36500",
            ),
            ("[7, x]", "escalate_after_days"),
            ("seven", "escalate_after_days"),
            ("0", "must be at least 1 day"),
        ];
        for (escalate, needle) in cases {
            let err = Policy::parse(
                &format!("escalate_after_days: {escalate}\nsteps:\n  - {{name: t, approvers: [alice], min_approvals: 1}}\n"),
                "kb",
                "approvals/policies/kb.yaml",
                &keyring(),
            )
            .unwrap_err()
            .to_string();
            assert!(
                err.starts_with("approvals/policies/kb.yaml: escalate_after_days"),
                "{escalate}: {err}"
            );
            assert!(err.contains(needle), "{escalate}: {needle}: {err}");
        }
        let ok = |text: &str| policy(text).escalate_after_days.unwrap();
        assert_eq!(ok("[7, 14, 30]").after_days, [7, 14, 30]);
        assert!(ok("[7, 14, 30]").ladder);
        assert_eq!(ok("7").after_days, [7]);
        assert!(!ok("7").ladder);
    }
}
