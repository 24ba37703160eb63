//! Who may do what (SPEC §5), written once. The review engine asks `Policy::authorize` about
//! every record it replays, and the signing commands replay the record they are about to sign
//! through that same engine, so a refusal at the command line and an `invalid_record` in the
//! build can never disagree.

use crate::trust::policy::Policy;
use crate::trust::record::Assignment;

/// What a signed record claims the right to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act<'a> {
    /// Put a version into review (contributors, exempt contributors, managers), with the
    /// reviewers it assigns to steps, if any.
    Submit { assign: Option<&'a Assignment> },
    /// Approve or reject in a step, with the approve's optional `override` and `publish`.
    Decide {
        step: &'a str,
        reject: bool,
        comment: Option<&'a str>,
        override_: bool,
        publish: bool,
        /// Who submitted the version being decided on, if anyone did.
        submitter: Option<&'a str>,
        /// The reviewers assigned to this step of the version, if it has an assignment:
        /// then only they (and managers) may act in it.
        assigned: Option<&'a [String]>,
    },
    /// Re-assign a step of the version in review (managers).
    Assign {
        step: &'a str,
        assignees: &'a [String],
        submitter: &'a str,
    },
    /// A `publish` record: publish an approved version, or re-publish an earlier one.
    Publish,
    /// An `unpublish` record: take the page offline.
    Unpublish,
    /// Cancel the version in review.
    Retract { submitter: &'a str },
}

/// Why a record does not count: the authority its signer lacks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("'{who}' may not submit in space '{space}' (not a contributor, exempt contributor or manager in {file})")]
    NotContributor {
        who: String,
        space: String,
        file: String,
    },
    #[error("step '{step}' is not a step of {file} (steps: {steps})")]
    UnknownStep {
        step: String,
        file: String,
        steps: String,
    },
    #[error("'{who}' may not act in step '{step}' (not an approver of it or a manager in {file})")]
    NotApprover {
        who: String,
        step: String,
        file: String,
    },
    #[error("override: '{who}' is not a manager of space '{space}'")]
    NotManager { who: String, space: String },
    #[error("'{who}' may not {what}: not a publisher or manager of space '{space}'")]
    NotPublisher {
        who: String,
        space: String,
        what: &'static str,
    },
    #[error("'{who}' submitted this version and may not review it (allow_self_approval is false in {file})")]
    SelfApproval { who: String, file: String },
    #[error(
        "a rejection needs a comment (--comment) in space '{space}' (reject_comment_required)"
    )]
    CommentRequired { space: String },
    #[error("only the submitter ('{submitter}') or a manager may retract; '{who}' is neither")]
    NotSubmitter { who: String, submitter: String },
    #[error(
        "an approval needs a comment (--comment) in space '{space}' (approve_comment_required)"
    )]
    ApproveCommentRequired { space: String },
    #[error("'{who}' is not assigned to step '{step}' of this version (assigned: {assigned}); only they and the managers may act in it")]
    NotAssigned {
        who: String,
        step: String,
        assigned: String,
    },
    #[error("assign: '{who}' may not be assigned to step '{step}': {why} ({file})")]
    IneligibleAssignee {
        who: String,
        step: String,
        why: String,
        file: String,
    },
    #[error("assign: step '{step}' needs {need}: {why} ({file})")]
    IncompleteAssignment {
        step: String,
        need: String,
        why: String,
        file: String,
    },
    #[error("assign: only a manager of space '{space}' may re-assign a step; '{who}' is not one")]
    NotManagerToAssign { who: String, space: String },
}

impl Policy {
    /// May `who` do `act` in this space? The one answer both the build and the signing
    /// commands use.
    pub fn authorize(&self, who: &str, act: &Act) -> Result<(), Refusal> {
        let who_s = || who.to_string();
        let space = || self.space.clone();
        match *act {
            Act::Submit { assign } => {
                if !(self.contributors.contains(who)
                    || self.exempt.contains(who)
                    || self.managers.contains(who))
                {
                    return Err(Refusal::NotContributor {
                        who: who_s(),
                        space: space(),
                        file: self.file.clone(),
                    });
                }
                for (step, assignees) in assign.into_iter().flatten() {
                    self.check_assignment(step, assignees, who)?;
                }
                Ok(())
            }
            Act::Assign {
                step,
                assignees,
                submitter,
            } => {
                if !self.managers.contains(who) {
                    return Err(Refusal::NotManagerToAssign {
                        who: who_s(),
                        space: space(),
                    });
                }
                self.check_assignment(step, assignees, submitter)
            }
            Act::Decide {
                step,
                reject,
                comment,
                override_,
                publish,
                submitter,
                assigned,
            } => {
                let index = self.known_step(step)?;
                if !(self.steps[index].approvers.contains(who) || self.managers.contains(who)) {
                    return Err(Refusal::NotApprover {
                        who: who_s(),
                        step: step.to_string(),
                        file: self.file.clone(),
                    });
                }
                if let Some(assigned) = assigned {
                    if !assigned.iter().any(|a| a == who) && !self.managers.contains(who) {
                        return Err(Refusal::NotAssigned {
                            who: who_s(),
                            step: step.to_string(),
                            assigned: assigned.join(", "),
                        });
                    }
                }
                if !reject
                    && self.approve_comment_required
                    && comment.unwrap_or("").trim().is_empty()
                {
                    return Err(Refusal::ApproveCommentRequired { space: space() });
                }
                if override_ && !self.managers.contains(who) {
                    return Err(Refusal::NotManager {
                        who: who_s(),
                        space: space(),
                    });
                }
                if publish && !self.may_publish(who) {
                    return Err(Refusal::NotPublisher {
                        who: who_s(),
                        space: space(),
                        what: "approve and publish (--publish)",
                    });
                }
                if reject && self.reject_comment_required && comment.unwrap_or("").trim().is_empty()
                {
                    return Err(Refusal::CommentRequired { space: space() });
                }
                if submitter == Some(who) && !self.allow_self_approval {
                    return Err(Refusal::SelfApproval {
                        who: who_s(),
                        file: self.file.clone(),
                    });
                }
                Ok(())
            }
            Act::Publish | Act::Unpublish => {
                if self.may_publish(who) {
                    Ok(())
                } else {
                    Err(Refusal::NotPublisher {
                        who: who_s(),
                        space: space(),
                        what: if *act == Act::Publish {
                            "publish"
                        } else {
                            "unpublish"
                        },
                    })
                }
            }
            Act::Retract { submitter } => {
                if submitter == who || self.managers.contains(who) {
                    Ok(())
                } else {
                    Err(Refusal::NotSubmitter {
                        who: who_s(),
                        submitter: submitter.to_string(),
                    })
                }
            }
        }
    }

    fn known_step(&self, step: &str) -> Result<usize, Refusal> {
        self.step(step)
            .map(|(index, _)| index)
            .ok_or_else(|| Refusal::UnknownStep {
                step: step.to_string(),
                file: self.file.clone(),
                steps: self
                    .steps
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// Who may be assigned to a step: each assignee an eligible approver of it (an approver
    /// or a manager, not the submitter unless `allow_self_approval`), every `required`
    /// reviewer among them, and at least `min_approvals` of them — an assignment narrows who
    /// reviews, it never lowers the bar the policy sets.
    fn check_assignment(
        &self,
        step: &str,
        assignees: &[String],
        submitter: &str,
    ) -> Result<(), Refusal> {
        let index = self.known_step(step)?;
        let s = &self.steps[index];
        let file = || self.file.clone();
        for who in assignees {
            let why = if !(s.approvers.contains(who) || self.managers.contains(who)) {
                Some("not an approver of the step or a manager")
            } else if who == submitter && !self.allow_self_approval {
                Some("they submitted the version (allow_self_approval is false)")
            } else {
                None
            };
            if let Some(why) = why {
                return Err(Refusal::IneligibleAssignee {
                    who: who.clone(),
                    step: step.to_string(),
                    why: why.into(),
                    file: file(),
                });
            }
        }
        if let Some(missing) = s.required.iter().find(|r| !assignees.contains(r)) {
            return Err(Refusal::IncompleteAssignment {
                step: step.to_string(),
                need: format!("its required reviewer '{missing}'"),
                why: "an assignment must include every required reviewer".into(),
                file: file(),
            });
        }
        if (assignees.len() as u32) < s.min_approvals {
            return Err(Refusal::IncompleteAssignment {
                step: step.to_string(),
                need: format!("at least {} reviewer(s)", s.min_approvals),
                why: format!(
                    "min_approvals is {}, {} assigned",
                    s.min_approvals,
                    assignees.len()
                ),
                file: file(),
            });
        }
        Ok(())
    }

    /// Publishers and managers sign `publish` and `unpublish` records.
    fn may_publish(&self, who: &str) -> bool {
        self.publishers.contains(who) || self.managers.contains(who)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::keyring::{Keyring, Reviewer};

    fn policy() -> Policy {
        let mut k = Keyring::default();
        for (id, groups) in [
            ("wanda", "writers"),
            ("lena", "leads"),
            ("alice", "eng"),
            ("dave", "legal"),
            ("carol", "managers"),
            ("pat", "publishing"),
        ] {
            k.reviewers.insert(
                id.into(),
                Reviewer {
                    id: id.into(),
                    name: id.into(),
                    email: None,
                    groups: [groups.to_string()].into(),
                },
            );
        }
        let yaml = "contributors: [group:writers]\nexempt: [group:leads]\nmanagers: [carol]\npublishers: [pat]\nreject_comment_required: true\nsteps:\n  - {name: technical, approvers: [group:eng], min_approvals: 1}\n  - {name: legal, approvers: [group:legal], min_approvals: 1}\n";
        Policy::parse(yaml, "kb", "approvals/policies/kb.yaml", &k).unwrap()
    }

    fn decide(step: &str) -> Act<'_> {
        Act::Decide {
            step,
            reject: false,
            comment: None,
            override_: false,
            publish: false,
            submitter: Some("wanda"),
            assigned: None,
        }
    }

    /// Who may do what, one row a rule: `Ok` or the start of the refusal's words.
    #[test]
    fn who_may_do_what() {
        let p = policy();
        let with = |act: Act<'static>, f: &dyn Fn(&mut Act<'static>)| {
            let mut act = act;
            f(&mut act);
            act
        };
        let reject_without_comment = with(decide("technical"), &|a| {
            if let Act::Decide { reject, .. } = a {
                *reject = true;
            }
        });
        let override_ = with(decide("technical"), &|a| {
            if let Act::Decide { override_, .. } = a {
                *override_ = true;
            }
        });
        let publish_flag = with(decide("technical"), &|a| {
            if let Act::Decide { publish, .. } = a {
                *publish = true;
            }
        });
        let own = with(decide("technical"), &|a| {
            if let Act::Decide { submitter, .. } = a {
                *submitter = Some("alice");
            }
        });
        let rows: Vec<(&str, Act, Result<(), &str>)> = vec![
            ("wanda", Act::Submit { assign: None }, Ok(())),
            ("lena", Act::Submit { assign: None }, Ok(())),
            ("carol", Act::Submit { assign: None }, Ok(())),
            (
                "alice",
                Act::Submit { assign: None },
                Err("'alice' may not submit"),
            ),
            ("alice", decide("technical"), Ok(())),
            ("carol", decide("legal"), Ok(())),
            (
                "dave",
                decide("technical"),
                Err("'dave' may not act in step 'technical'"),
            ),
            (
                "alice",
                decide("security"),
                Err("step 'security' is not a step"),
            ),
            (
                "alice",
                reject_without_comment,
                Err("a rejection needs a comment"),
            ),
            (
                "alice",
                override_,
                Err("override: 'alice' is not a manager"),
            ),
            ("carol", override_, Ok(())),
            (
                "alice",
                publish_flag,
                Err("'alice' may not approve and publish"),
            ),
            ("pat", publish_flag, Err("'pat' may not act in step")),
            ("alice", own, Err("'alice' submitted this version")),
            ("pat", Act::Publish, Ok(())),
            ("carol", Act::Publish, Ok(())),
            ("wanda", Act::Publish, Err("'wanda' may not publish:")),
            ("pat", Act::Unpublish, Ok(())),
            ("wanda", Act::Unpublish, Err("'wanda' may not unpublish:")),
            ("wanda", Act::Retract { submitter: "wanda" }, Ok(())),
            ("carol", Act::Retract { submitter: "wanda" }, Ok(())),
            (
                "alice",
                Act::Retract { submitter: "wanda" },
                Err("only the submitter ('wanda') or a manager may retract"),
            ),
        ];
        for (who, act, expected) in rows {
            let got = p.authorize(who, &act).map_err(|e| e.to_string());
            match (expected, &got) {
                (Ok(()), Ok(())) => {}
                (Err(start), Err(message)) if message.starts_with(start) => {}
                _ => panic!("{who} {act:?}: expected {expected:?}, got {got:?}"),
            }
        }
    }
}
