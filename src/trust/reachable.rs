//! Can anyone complete each step of a policy today? A step whose approvers have all lost
//! their keys (revoked, compromised, expired) waits forever, and nothing else would say so:
//! this is the rule behind the `step_unreachable` finding, written once for `build`, `status`
//! and `verify`. It reads who may act from the policy (`Members`, as `Policy::authorize`
//! does) and who can sign from the keyring, at the build's time.

use crate::time::Instant;
use crate::trust::keyring::Keyring;
use crate::trust::policy::Policy;

/// A step of a policy that nobody able to sign at `now` can complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreachable {
    pub step: String,
    /// Why, naming each reviewer who may act in the step but can't sign, and their keys' state.
    pub why: String,
}

/// Why `reviewer` can't sign at `now`, or `None` when one of their keys can: each key's
/// reason (revoked, compromised, expired, not valid yet), or that they have none.
pub fn cannot_sign(keyring: &Keyring, reviewer: &str, now: &Instant) -> Option<String> {
    let mut reasons = Vec::new();
    for key in keyring.keys.values().filter(|k| k.reviewer == reviewer) {
        match key.unusable_at(now) {
            None => return None,
            Some(why) => reasons.push(why),
        }
    }
    Some(if reasons.is_empty() {
        "no key in the keyring".to_string()
    } else {
        reasons.join(", ")
    })
}

impl Policy {
    /// The steps nobody able to sign at `now` can complete: a `required` reviewer who can't
    /// sign, or fewer distinct approvers who can sign than `min_approvals`. A manager who can
    /// sign makes every step reachable: managers may act in every step, and an override
    /// approves whatever steps remain, so the space is not stuck — that is the escape hatch
    /// the policy chose. Who submits a version is not known here, so a submitter who may not
    /// approve their own version is still counted as an approver.
    pub fn unreachable_steps(&self, keyring: &Keyring, now: &Instant) -> Vec<Unreachable> {
        if self
            .managers
            .reviewers
            .iter()
            .any(|m| cannot_sign(keyring, m, now).is_none())
        {
            return Vec::new();
        }
        let no_manager = if self.managers.reviewers.is_empty() {
            "the space has no manager to override it"
        } else {
            "no manager of the space can sign to override it"
        };
        let mut out = Vec::new();
        for step in &self.steps {
            let mut able = 0usize;
            let mut unable = Vec::new();
            for r in &step.approvers.reviewers {
                match cannot_sign(keyring, r, now) {
                    None => able += 1,
                    Some(why) => unable.push(format!("{r}: {why}")),
                }
            }
            let missing_required: Vec<&str> = step
                .required
                .iter()
                .filter(|r| cannot_sign(keyring, r, now).is_some())
                .map(String::as_str)
                .collect();
            let short = able < step.min_approvals as usize;
            if !short && missing_required.is_empty() {
                continue;
            }
            let mut why = Vec::new();
            if short {
                why.push(format!(
                    "it needs {} approval(s) from distinct reviewers and {able} of its approvers can sign",
                    step.min_approvals
                ));
            }
            if !missing_required.is_empty() {
                why.push(format!(
                    "required reviewer(s) {} can't sign",
                    missing_required.join(", ")
                ));
            }
            let unable = if unable.is_empty() {
                String::new()
            } else {
                format!(" ({})", unable.join("; "))
            };
            out.push(Unreachable {
                step: step.name.clone(),
                why: format!("{}{unable}; {no_manager}", why.join(", and ")),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    const NOW: &str = "2026-12-07T12:00:00Z";

    /// The people (reviewer, group, their key's extra lines), and the policy's extra lines.
    type Cast<'a> = Vec<(&'a str, &'a str, Option<&'a str>)>;
    /// What the row is about, the cast, the policy's extra lines, its one step, and why the
    /// step is unreachable (`None`: it is reachable).
    type Row<'a> = (&'a str, Cast<'a>, &'a str, &'a str, Option<&'a str>);

    fn public(seed: u8) -> String {
        let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
        base64::engine::general_purpose::STANDARD.encode(key.verifying_key().as_bytes())
    }

    /// A keyring of (reviewer, group, extra lines of their one key; `None`: no key at all).
    fn keyring(people: &[(&str, &str, Option<&str>)]) -> Keyring {
        // Wendy writes; she may not review.
        let mut text = format!(
            "reviewers:\n  - id: wendy\n    name: Wendy\n    groups: [writers]\n    keys:\n      - id: wendy-key\n        public_key: {}\n",
            public(100)
        );
        for (i, (id, group, key)) in people.iter().enumerate() {
            text.push_str(&format!(
                "  - id: {id}\n    name: {id}\n    groups: [{group}]\n"
            ));
            if let Some(extra) = key {
                text.push_str(&format!(
                    "    keys:\n      - id: {id}-key\n        public_key: {}\n",
                    public(i as u8 + 1)
                ));
                for line in extra.lines() {
                    text.push_str(&format!("        {line}\n"));
                }
            }
        }
        Keyring::parse(&text).unwrap()
    }

    fn policy(keyring: &Keyring, extra: &str, step: &str) -> Policy {
        let yaml = format!("contributors: [group:writers]\n{extra}steps:\n  - {step}\n");
        Policy::parse(&yaml, "guides", "approvals/policies/guides.yaml", keyring).unwrap()
    }

    #[test]
    fn a_step_is_unreachable_when_nobody_who_may_act_in_it_can_sign_today() {
        let now = crate::time::parse_rfc3339(NOW).unwrap();
        let one = "{name: technical, approvers: [group:eng], min_approvals: 1}";
        let two = "{name: technical, approvers: [group:eng], min_approvals: 2}";
        let raj_required =
            "{name: technical, approvers: [group:eng], min_approvals: 1, required: [raj]}";
        let revoked = Some("revoked_at: 2026-12-01T00:00:00Z");
        let revoked_later = Some("revoked_at: 2027-01-01T00:00:00Z");
        let compromised = Some("compromised: true");
        let expired = Some("not_after: 2026-12-07T12:00:00Z");
        let not_yet = Some("not_before: 2026-12-08T00:00:00Z");
        let fine = Some("");
        // (what the row is about, the people, the policy's extra lines, its step, the reason
        // the step is unreachable or None)
        let table: &[Row] = &[
            ("the only engineer can sign", vec![("raj", "eng", fine)], "", one, None),
            (
                "the only engineer's key is revoked",
                vec![("raj", "eng", revoked)],
                "",
                one,
                Some("it needs 1 approval(s) from distinct reviewers and 0 of its approvers can sign (raj: key 'raj-key' was revoked at 2026-12-01T00:00:00Z); the space has no manager to override it"),
            ),
            ("revoked from a later time on", vec![("raj", "eng", revoked_later)], "", one, None),
            (
                "compromised",
                vec![("raj", "eng", compromised)],
                "",
                one,
                Some("it needs 1 approval(s) from distinct reviewers and 0 of its approvers can sign (raj: key 'raj-key' is marked compromised); the space has no manager to override it"),
            ),
            (
                "expired at the build's time",
                vec![("raj", "eng", expired)],
                "",
                one,
                Some("it needs 1 approval(s) from distinct reviewers and 0 of its approvers can sign (raj: key 'raj-key' expired at 2026-12-07T12:00:00Z); the space has no manager to override it"),
            ),
            (
                "not valid yet",
                vec![("raj", "eng", not_yet)],
                "",
                one,
                Some("it needs 1 approval(s) from distinct reviewers and 0 of its approvers can sign (raj: key 'raj-key' is not valid before 2026-12-08T00:00:00Z); the space has no manager to override it"),
            ),
            (
                "no key at all",
                vec![("raj", "eng", None)],
                "",
                one,
                Some("it needs 1 approval(s) from distinct reviewers and 0 of its approvers can sign (raj: no key in the keyring); the space has no manager to override it"),
            ),
            (
                "two needed, one of two engineers can sign",
                vec![("raj", "eng", fine), ("eli", "eng", revoked)],
                "",
                two,
                Some("it needs 2 approval(s) from distinct reviewers and 1 of its approvers can sign (eli: key 'eli-key' was revoked at 2026-12-01T00:00:00Z); the space has no manager to override it"),
            ),
            (
                "two needed, both engineers can sign",
                vec![("raj", "eng", fine), ("eli", "eng", fine)],
                "",
                two,
                None,
            ),
            (
                "a required reviewer can't sign though another engineer can",
                vec![("raj", "eng", revoked), ("eli", "eng", fine)],
                "",
                raj_required,
                Some("required reviewer(s) raj can't sign (raj: key 'raj-key' was revoked at 2026-12-01T00:00:00Z); the space has no manager to override it"),
            ),
            (
                "a manager who can sign may override",
                vec![("raj", "eng", revoked), ("mia", "leads", fine)],
                "managers: [mia]\n",
                one,
                None,
            ),
            (
                "a manager who can't sign overrides nothing",
                vec![("raj", "eng", revoked), ("mia", "leads", compromised)],
                "managers: [mia]\n",
                one,
                Some("it needs 1 approval(s) from distinct reviewers and 0 of its approvers can sign (raj: key 'raj-key' was revoked at 2026-12-01T00:00:00Z); no manager of the space can sign to override it"),
            ),
        ];
        for (about, people, extra, step, want) in table {
            let k = keyring(people);
            let got = policy(&k, extra, step).unreachable_steps(&k, &now);
            let want: Vec<Unreachable> = want
                .iter()
                .map(|why| Unreachable {
                    step: "technical".into(),
                    why: why.to_string(),
                })
                .collect();
            assert_eq!(got, want, "{about}");
        }
    }

    #[test]
    fn a_reviewer_with_one_good_key_of_two_can_sign() {
        let now = crate::time::parse_rfc3339(NOW).unwrap();
        let text = format!(
            "reviewers:\n  - id: raj\n    name: Raj\n    keys:\n      - id: raj-old\n        public_key: {}\n        revoked_at: 2026-01-01T00:00:00Z\n      - id: raj-new\n        public_key: {}\n",
            public(1),
            public(2)
        );
        let k = Keyring::parse(&text).unwrap();
        assert_eq!(cannot_sign(&k, "raj", &now), None);
    }
}
