//! Space policies (`approvals/policies/<space>.yaml`, SPEC §5): who may submit, approve,
//! publish and retract, and the sequence of review steps. A policy that could never be
//! satisfied, or that names someone the keyring doesn't know, is refused at load: a typo
//! must never quietly weaken a gate.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::trust::keyring::Keyring;
use crate::yaml;

/// `alice`, `group:legal` or `anyone` (every reviewer in the keyring).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Principal {
    Reviewer(String),
    Group(String),
    Anyone,
}

impl Principal {
    fn parse(text: &str) -> Principal {
        if text == "anyone" {
            Principal::Anyone
        } else if let Some(g) = text.strip_prefix("group:") {
            Principal::Group(g.to_string())
        } else {
            Principal::Reviewer(text.to_string())
        }
    }
}

/// A list of principals, resolved against the keyring once, at load.
#[derive(Debug, Clone, Default)]
pub struct Members {
    pub principals: Vec<Principal>,
    pub reviewers: BTreeSet<String>,
}

impl Members {
    pub fn contains(&self, reviewer: &str) -> bool {
        self.reviewers.contains(reviewer)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    title: Option<String>,
    publish_to: Option<String>,
    #[serde(default = "default_audience")]
    audience: Vec<String>,
    #[serde(default)]
    contributors: Vec<String>,
    #[serde(default)]
    exempt: Vec<String>,
    #[serde(default)]
    managers: Vec<String>,
    #[serde(default)]
    publishers: Vec<String>,
    #[serde(default = "yes")]
    auto_publish: bool,
    #[serde(default)]
    allow_self_approval: bool,
    #[serde(default = "yes")]
    reject_comment_required: bool,
    #[serde(default)]
    approve_comment_required: bool,
    #[serde(default)]
    edit_cancels_review: bool,
    #[serde(default = "yes")]
    resume_after_reject: bool,
    approval_expires_days: Option<u32>,
    #[serde(default)]
    on_expiry: OnExpiry,
    escalate_after_days: Option<RawEscalation>,
    stale_after_days: Option<u32>,
    steps: Vec<RawStep>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    name: String,
    approvers: Vec<String>,
    min_approvals: u32,
    #[serde(default)]
    required: Vec<String>,
    #[serde(default = "one")]
    rejections_to_fail: u32,
    #[serde(default)]
    parallel: bool,
}

/// `escalate_after_days` as written: one number, or a ladder of them.
enum RawEscalation {
    Once(u64),
    Ladder(Vec<u64>),
}

impl<'de> Deserialize<'de> for RawEscalation {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = RawEscalation;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number of days (7) or a list of them ([7, 14, 30])")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<Self::Value, E> {
                Ok(RawEscalation::Once(v))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut days = Vec::new();
                while let Some(d) = seq.next_element::<u64>()? {
                    days.push(d);
                }
                Ok(RawEscalation::Ladder(days))
            }
        }
        d.deserialize_any(Visit)
    }
}

/// When a waiting step escalates (SPEC §5): after each of `after_days`, counted from the
/// start of the stage, the next rung's people hear of it. A single number (`ladder: false`)
/// is today's one escalation, reported and routed exactly as before the ladder existed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    /// Strictly increasing, each at least 1 and at most [`MAX_DAYS`].
    pub after_days: Vec<u32>,
    /// Written as a list (`[7, 14, 30]`), not a single number.
    pub ladder: bool,
}

impl Escalation {
    fn parse(raw: RawEscalation) -> std::result::Result<Escalation, String> {
        let (days, ladder) = match raw {
            RawEscalation::Once(d) => (vec![d], false),
            RawEscalation::Ladder(days) => (days, true),
        };
        if days.is_empty() {
            return Err("an empty list: give at least one number of days, e.g. [7, 14, 30]".into());
        }
        let mut after_days = Vec::with_capacity(days.len());
        for (i, &d) in days.iter().enumerate() {
            let at = if ladder {
                format!("rung {} of [{}]: ", i + 1, list(&days))
            } else {
                String::new()
            };
            if d == 0 {
                return Err(format!("{at}must be at least 1 day"));
            }
            if d > u64::from(MAX_DAYS) {
                return Err(format!(
                    "{at}{d} days is more than {MAX_DAYS} (a hundred years)"
                ));
            }
            if let Some(&before) = after_days.last() {
                if u64::from(before) >= d {
                    return Err(format!(
                        "{at}{d} days does not come after {before}: the rungs must be strictly increasing, e.g. [7, 14, 30]"
                    ));
                }
            }
            after_days.push(d as u32);
        }
        Ok(Escalation { after_days, ladder })
    }

    /// The days as written (`7, 14, 30`).
    pub fn days_text(&self) -> String {
        list(&self.after_days)
    }

    /// The first rung: when the step first counts as escalated.
    pub fn first(&self) -> u32 {
        self.after_days[0]
    }
}

fn list<T: std::fmt::Display>(days: &[T]) -> String {
    days.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The longest a policy's day counts may be: a hundred years. Longer is a typo, and times
/// that far out overflow date arithmetic.
pub const MAX_DAYS: u32 = 36_500;

fn default_audience() -> Vec<String> {
    vec!["public".into()]
}
fn yes() -> bool {
    true
}
fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnExpiry {
    /// Stays live and is reported (`review_due`).
    #[default]
    Flag,
    /// Goes offline.
    Unpublish,
}

#[derive(Debug, Clone)]
pub struct Step {
    pub name: String,
    /// Steps with the same stage run at once (`parallel: true` joins the stage before).
    pub stage: usize,
    pub approvers: Members,
    pub min_approvals: u32,
    pub required: Vec<String>,
    pub rejections_to_fail: u32,
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub space: String,
    pub file: String,
    pub title: String,
    pub publish_to: String,
    pub audience: Vec<String>,
    pub contributors: Members,
    pub exempt: Members,
    pub managers: Members,
    pub publishers: Members,
    pub auto_publish: bool,
    pub allow_self_approval: bool,
    pub reject_comment_required: bool,
    /// An approval needs a comment (docs/workflow.md).
    pub approve_comment_required: bool,
    /// A review ends (`cancelled`) when the page's bytes no longer match the version in
    /// review (docs/workflow.md).
    pub edit_cancels_review: bool,
    pub resume_after_reject: bool,
    pub approval_expires_days: Option<u32>,
    pub on_expiry: OnExpiry,
    pub escalate_after_days: Option<Escalation>,
    pub stale_after_days: Option<u32>,
    pub steps: Vec<Step>,
    pub stage_count: usize,
}

impl Policy {
    pub fn step(&self, name: &str) -> Option<(usize, &Step)> {
        self.steps.iter().enumerate().find(|(_, s)| s.name == name)
    }

    /// Indices of the steps of one stage.
    pub fn stage_steps(&self, stage: usize) -> impl Iterator<Item = usize> + '_ {
        self.steps
            .iter()
            .enumerate()
            .filter(move |(_, s)| s.stage == stage)
            .map(|(i, _)| i)
    }

    pub fn load(path: &Path, space: &str, keyring: &Keyring) -> Result<Policy> {
        let text = yaml::read_file(path, &yaml::ADMIN).map_err(|e| Error::io(path, e))?;
        Policy::parse(&text, space, &display_name(path), keyring)
    }

    pub fn parse(text: &str, space: &str, file: &str, keyring: &Keyring) -> Result<Policy> {
        let err = |field: &str, msg: String| Error::config(file, field, msg);
        let raw: RawPolicy =
            yaml::from_str(text, &yaml::ADMIN).map_err(|e| err(&e.field, e.message))?;
        let members = |field: &str, list: &[String]| -> Result<Members> {
            resolve(list, keyring, file, field)
        };
        if raw.steps.is_empty() {
            return Err(err("steps", "a policy needs at least one step".into()));
        }
        let managers = members("managers", &raw.managers)?;
        let mut steps = Vec::new();
        let mut names = BTreeSet::new();
        let mut stage = 0usize;
        for (i, s) in raw.steps.iter().enumerate() {
            let at = format!("steps[{i}] ({})", s.name);
            if s.name.is_empty() {
                return Err(err(&format!("steps[{i}].name"), "must not be empty".into()));
            }
            if !names.insert(s.name.clone()) {
                return Err(err(
                    &format!("{at}.name"),
                    format!("step name '{}' appears twice", s.name),
                ));
            }
            if i == 0 && s.parallel {
                return Err(err(
                    &format!("{at}.parallel"),
                    "the first step has no step before it to run beside".into(),
                ));
            }
            if i > 0 && !s.parallel {
                stage += 1;
            }
            let approvers = members(&format!("{at}.approvers"), &s.approvers)?;
            if s.min_approvals < 1 {
                return Err(err(
                    &format!("{at}.min_approvals"),
                    "must be at least 1".into(),
                ));
            }
            if s.rejections_to_fail < 1 {
                return Err(err(
                    &format!("{at}.rejections_to_fail"),
                    "must be at least 1".into(),
                ));
            }
            let eligible: BTreeSet<&String> = approvers
                .reviewers
                .iter()
                .chain(managers.reviewers.iter())
                .collect();
            if s.min_approvals as usize > eligible.len() {
                return Err(err(
                    &format!("{at}.min_approvals"),
                    format!(
                        "{} approvals can never be reached: only {} reviewer(s) may act in this step",
                        s.min_approvals,
                        eligible.len()
                    ),
                ));
            }
            for r in &s.required {
                if !keyring.reviewers.contains_key(r) {
                    return Err(err(
                        &format!("{at}.required"),
                        format!("unknown reviewer '{r}'"),
                    ));
                }
                if !eligible.contains(r) {
                    return Err(err(
                        &format!("{at}.required"),
                        format!("'{r}' is required but may not act in this step (not an approver or manager)"),
                    ));
                }
            }
            steps.push(Step {
                name: s.name.clone(),
                stage,
                approvers,
                min_approvals: s.min_approvals,
                required: s.required.clone(),
                rejections_to_fail: s.rejections_to_fail,
            });
        }
        if let Some(days) = raw.stale_after_days {
            if ![7, 14, 30, 60].contains(&days) {
                return Err(err(
                    "stale_after_days",
                    format!("{days} is not one of 7, 14, 30 or 60"),
                ));
            }
        }
        let field = "approval_expires_days";
        match raw.approval_expires_days {
            Some(0) => return Err(err(field, "must be at least 1 day".into())),
            Some(days) if days > MAX_DAYS => {
                return Err(err(
                    field,
                    format!("{days} days is more than {MAX_DAYS} (a hundred years)"),
                ))
            }
            _ => {}
        }
        let escalate_after_days = raw
            .escalate_after_days
            .map(Escalation::parse)
            .transpose()
            .map_err(|m| err("escalate_after_days", m))?;
        let publish_to = raw.publish_to.unwrap_or_else(|| space.to_string());
        if !crate::trust::version::is_safe_relative_path(&publish_to) || publish_to == "static" {
            return Err(err(
                "publish_to",
                format!(
                    "'{publish_to}' must be a relative path inside output/ (no '..', not 'static')"
                ),
            ));
        }
        if raw.audience.is_empty() {
            return Err(err("audience", "must name at least one audience".into()));
        }
        Ok(Policy {
            space: space.to_string(),
            file: file.to_string(),
            title: raw.title.unwrap_or_else(|| space.to_string()),
            publish_to,
            audience: raw.audience,
            contributors: members("contributors", &raw.contributors)?,
            exempt: members("exempt", &raw.exempt)?,
            publishers: members("publishers", &raw.publishers)?,
            managers,
            auto_publish: raw.auto_publish,
            allow_self_approval: raw.allow_self_approval,
            reject_comment_required: raw.reject_comment_required,
            approve_comment_required: raw.approve_comment_required,
            edit_cancels_review: raw.edit_cancels_review,
            resume_after_reject: raw.resume_after_reject,
            approval_expires_days: raw.approval_expires_days,
            on_expiry: raw.on_expiry,
            escalate_after_days,
            stale_after_days: raw.stale_after_days,
            stage_count: stage + 1,
            steps,
        })
    }
}

fn resolve(list: &[String], keyring: &Keyring, file: &str, field: &str) -> Result<Members> {
    let mut m = Members::default();
    for text in list {
        let p = Principal::parse(text);
        match &p {
            Principal::Anyone => m.reviewers.extend(keyring.reviewers.keys().cloned()),
            Principal::Group(g) => {
                if !keyring.group_exists(g) {
                    return Err(Error::config(
                        file,
                        field,
                        format!("unknown group '{g}' (no reviewer in the keyring has it)"),
                    ));
                }
                m.reviewers.extend(
                    keyring
                        .reviewers
                        .values()
                        .filter(|r| r.groups.contains(g))
                        .map(|r| r.id.clone()),
                );
            }
            Principal::Reviewer(id) => {
                if !keyring.reviewers.contains_key(id) {
                    return Err(Error::config(
                        file,
                        field,
                        format!("unknown reviewer '{id}'"),
                    ));
                }
                m.reviewers.insert(id.clone());
            }
        }
        m.principals.push(p);
    }
    Ok(m)
}

/// `approvals/policies/<file name>`, as messages name a policy file.
fn display_name(path: &Path) -> String {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    format!("approvals/policies/{name}")
}

/// Loads every `approvals/policies/*.yaml` (or `.yml`), keyed by space. Two files for one
/// space are refused: which of them governs would depend on the order files are read in.
pub fn load_all(dir: &Path, keyring: &Keyring) -> Result<BTreeMap<String, Policy>> {
    let mut policies = BTreeMap::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(policies),
        Err(e) => return Err(Error::io(dir, e)),
    };
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    paths.sort();
    for path in paths {
        let space = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        if space.starts_with('.') || space.starts_with('_') {
            continue;
        }
        if let Some(other) = policies.get(&space) {
            return Err(Error::config(
                display_name(&path),
                "space",
                format!(
                    "space '{space}' already has a policy in {}: keep one of the two files",
                    other.file
                ),
            ));
        }
        let policy = Policy::load(&path, &space, keyring)?;
        policies.insert(space, policy);
    }
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for p in policies.values() {
        for (prefix, other) in &seen {
            let overlaps = p.publish_to == *prefix
                || p.publish_to.starts_with(&format!("{prefix}/"))
                || prefix.starts_with(&format!("{}/", p.publish_to));
            if overlaps {
                return Err(Error::config(
                    &p.file,
                    "publish_to",
                    format!(
                        "'{}' overlaps the publish_to of space '{other}'",
                        p.publish_to
                    ),
                ));
            }
        }
        seen.insert(&p.publish_to, &p.space);
    }
    Ok(policies)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyring() -> Keyring {
        let mut k = Keyring::default();
        for (id, groups) in [
            ("alice", vec!["eng"]),
            ("bob", vec!["eng"]),
            ("carol", vec!["leads"]),
            ("dave", vec!["legal"]),
        ] {
            k.reviewers.insert(
                id.into(),
                crate::trust::keyring::Reviewer {
                    id: id.into(),
                    name: id.into(),
                    email: None,
                    groups: groups.into_iter().map(String::from).collect(),
                },
            );
        }
        k
    }

    const GOOD: &str = "managers: [carol]\ncontributors: [anyone]\nsteps:\n  - {name: technical, approvers: [group:eng], min_approvals: 2, required: [alice]}\n  - {name: legal, approvers: [dave], min_approvals: 1}\n  - {name: brand, approvers: [carol], min_approvals: 1, parallel: true}\n";

    #[test]
    fn stages_group_parallel_steps() {
        let p = Policy::parse(GOOD, "kb", "approvals/policies/kb.yaml", &keyring()).unwrap();
        assert_eq!(
            p.steps.iter().map(|s| s.stage).collect::<Vec<_>>(),
            vec![0, 1, 1]
        );
        assert_eq!(p.stage_count, 2);
        let decide = |step| crate::trust::authority::Act::Decide {
            step,
            reject: false,
            comment: None,
            override_: false,
            publish: false,
            submitter: None,
            assigned: None,
        };
        assert!(
            p.authorize("carol", &decide("technical")).is_ok(),
            "managers act in every step"
        );
        assert!(p.authorize("alice", &decide("legal")).is_err());
        assert_eq!(p.contributors.reviewers.len(), 4);
        assert_eq!(p.publish_to, "kb");
    }

    #[test]
    fn defaults_are_the_ones_spec_gives() {
        let p = Policy::parse(
            "contributors: [alice]\nsteps:\n  - {name: t, approvers: [alice], min_approvals: 1}\n",
            "kb",
            "approvals/policies/kb.yaml",
            &keyring(),
        )
        .unwrap();
        assert!(p.auto_publish);
        assert!(!p.allow_self_approval);
        assert!(p.reject_comment_required);
        assert!(p.resume_after_reject);
        assert_eq!(p.on_expiry, OnExpiry::Flag);
        assert!(p.exempt.reviewers.is_empty() && p.managers.reviewers.is_empty());
        assert!(p.publishers.reviewers.is_empty());
        assert_eq!(p.audience, vec!["public"]);
        assert_eq!(p.publish_to, "kb");
        assert_eq!(p.steps[0].rejections_to_fail, 1);
    }

    #[test]
    fn two_policy_files_for_one_space_are_refused_naming_both() {
        let dir = tempfile::tempdir().unwrap();
        let policy =
            "contributors: [alice]\nsteps:\n  - {name: t, approvers: [alice], min_approvals: 1}\n";
        std::fs::write(dir.path().join("kb.yaml"), policy).unwrap();
        std::fs::write(dir.path().join("docs.yml"), policy).unwrap();
        assert_eq!(load_all(dir.path(), &keyring()).unwrap().len(), 2);
        std::fs::write(dir.path().join("kb.yml"), policy).unwrap();
        let err = load_all(dir.path(), &keyring()).unwrap_err().to_string();
        assert!(err.contains("approvals/policies/kb.yaml"), "{err}");
        assert!(err.contains("approvals/policies/kb.yml"), "{err}");
    }

    #[test]
    fn unsatisfiable_or_unknown_policies_are_refused_naming_the_field() {
        let cases = [
            ("steps: []\n", "steps"),
            ("steps:\n  - {name: t, approvers: [alice], min_approvals: 0}\n", "steps[0] (t).min_approvals"),
            ("steps:\n  - {name: t, approvers: [alice], min_approvals: 2}\n", "can never be reached"),
            ("steps:\n  - {name: t, approvers: [alice, bob], min_approvals: 1}\n  - {name: t, approvers: [bob], min_approvals: 1}\n", "appears twice"),
            ("steps:\n  - {name: t, approvers: [mallory], min_approvals: 1}\n", "unknown reviewer 'mallory'"),
            ("steps:\n  - {name: t, approvers: [group:sales], min_approvals: 1}\n", "unknown group 'sales'"),
            ("steps:\n  - {name: t, approvers: [alice], min_approvals: 1, rejections_to_fail: 0}\n", "rejections_to_fail"),
            ("steps:\n  - {name: t, approvers: [alice], min_approvals: 1, required: [dave]}\n", "may not act"),
            ("stale_after_days: 10\nsteps:\n  - {name: t, approvers: [alice], min_approvals: 1}\n", "stale_after_days"),
            ("steps:\n  - {name: t, approvers: [alice], min_approval: 1}\n", "min_approval"),
            ("publish_to: ../x\nsteps:\n  - {name: t, approvers: [alice], min_approvals: 1}\n", "publish_to"),
            ("approval_expires_days: 36501\nsteps:\n  - {name: t, approvers: [alice], min_approvals: 1}\n", "approval_expires_days: 36501 days is more than 36500"),
            ("escalate_after_days: 4000000000\nsteps:\n  - {name: t, approvers: [alice], min_approvals: 1}\n", "escalate_after_days"),
            ("escalate_after_days: 99999999999999999999\nsteps:\n  - {name: t, approvers: [alice], min_approvals: 1}\n", "escalate_after_days"),
            ("approval_expires_days: -1\nsteps:\n  - {name: t, approvers: [alice], min_approvals: 1}\n", "approval_expires_days"),
            ("stale_after_days: 36501\nsteps:\n  - {name: t, approvers: [alice], min_approvals: 1}\n", "stale_after_days"),
        ];
        for (yaml, needle) in cases {
            let err = Policy::parse(yaml, "kb", "approvals/policies/kb.yaml", &keyring())
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("approvals/policies/kb.yaml: "), "{err}");
            assert!(err.contains(needle), "{needle}: {err}");
        }
    }
}
