//! Who may do what (SPEC §5), written once. The review engine asks `Policy::authorize` about
//! every record it replays, and the signing commands replay the record they are about to sign
//! through that same engine, so a refusal at the command line and an `invalid_record` in the
//! build can never disagree.

use crate::policy::Policy;

/// What a signed record claims the right to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act<'a> {
    /// Put a version into review (contributors, exempt contributors, managers).
    Submit,
    /// Approve or reject in a step, with the approve's optional `override` and `publish`.
    Decide {
        step: &'a str,
        reject: bool,
        comment: Option<&'a str>,
        override_: bool,
        publish: bool,
        /// Who submitted the version being decided on, if anyone did.
        submitter: Option<&'a str>,
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
}

impl Policy {
    /// May `who` do `act` in this space? The one answer both the build and the signing
    /// commands use.
    pub fn authorize(&self, who: &str, act: &Act) -> Result<(), Refusal> {
        let who_s = || who.to_string();
        let space = || self.space.clone();
        match *act {
            Act::Submit => {
                if self.contributors.contains(who)
                    || self.exempt.contains(who)
                    || self.managers.contains(who)
                {
                    Ok(())
                } else {
                    Err(Refusal::NotContributor {
                        who: who_s(),
                        space: space(),
                        file: self.file.clone(),
                    })
                }
            }
            Act::Decide {
                step,
                reject,
                comment,
                override_,
                publish,
                submitter,
            } => {
                let Some((index, _)) = self.step(step) else {
                    return Err(Refusal::UnknownStep {
                        step: step.to_string(),
                        file: self.file.clone(),
                        steps: self
                            .steps
                            .iter()
                            .map(|s| s.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    });
                };
                if !(self.steps[index].approvers.contains(who) || self.managers.contains(who)) {
                    return Err(Refusal::NotApprover {
                        who: who_s(),
                        step: step.to_string(),
                        file: self.file.clone(),
                    });
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

    /// Publishers and managers sign `publish` and `unpublish` records.
    fn may_publish(&self, who: &str) -> bool {
        self.publishers.contains(who) || self.managers.contains(who)
    }
}
