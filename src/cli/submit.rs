//! `imprimatur submit --changed`, and the `--assign` values of `submit` and `assign`: a writer
//! submits every page of theirs that was never submitted in one go, each through the same
//! signing path (and so the same `authorize`) as a single `submit`.

use std::io::Write;
use std::path::Path;

use super::{load_site, print, EXIT_OK};
use crate::error::{Error, Result};
use crate::time::Instant;
use crate::trust::authority::Act;
use crate::trust::record::Assignment;
use crate::trust::review::ReviewState;
use crate::trust::signer::{KeySource, Signer};
use crate::workflow::sign::{self, Action, SignRequest};

/// `raj,eli` → `[eli, raj]`: reviewer ids, sorted; an empty or repeated id is a usage error.
pub fn parse_reviewer_list(text: &str) -> Result<Vec<String>> {
    let mut ids: Vec<String> = text.split(',').map(|s| s.trim().to_string()).collect();
    if ids.iter().any(String::is_empty) {
        return Err(Error::Usage(format!(
            "'{text}': reviewer ids separated by commas, none empty (raj,eli)"
        )));
    }
    ids.sort();
    if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
        return Err(Error::Usage(format!("'{text}' names '{}' twice", w[0])));
    }
    Ok(ids)
}

/// `--assign technical=raj,eli` (repeatable) → `{technical: [eli, raj]}`; `None` when none.
pub fn parse_assign(values: &[String]) -> Result<Option<Assignment>> {
    let mut assign = Assignment::new();
    for value in values {
        let Some((step, ids)) = value.split_once('=') else {
            return Err(Error::Usage(format!(
                "--assign: '{value}' is not STEP=ID,ID (technical=raj,eli)"
            )));
        };
        let step = step.trim();
        if step.is_empty() {
            return Err(Error::Usage(format!("--assign: '{value}' names no step")));
        }
        if assign
            .insert(step.to_string(), parse_reviewer_list(ids)?)
            .is_some()
        {
            return Err(Error::Usage(format!(
                "--assign: step '{step}' is assigned twice; name all its reviewers in one --assign"
            )));
        }
    }
    Ok((!assign.is_empty()).then_some(assign))
}

/// `imprimatur submit --changed`: every page whose current version was never submitted
/// (state `draft`), in the spaces where the key's reviewer may submit. Prints one line a
/// page: what was submitted (with the record) and what was skipped, and why.
pub fn submit_changed(
    site_root: &Path,
    key: &KeySource,
    comment: Option<String>,
    now: Instant,
    out: &mut dyn Write,
) -> Result<i32> {
    let site = load_site(site_root)?;
    let signer = Signer::open(key, &site.keyring)?;
    let key_source = key;
    let key = site
        .keyring
        .key_for_public(&signer.public_key())
        .ok_or_else(|| {
            Error::Refused(format!(
                "{}: this key is not in approvals/keyring.yaml",
                signer.name()
            ))
        })?;
    if let Some(why) = key.unusable_at(&now) {
        return Err(Error::Refused(format!("{}: {why}", signer.name())));
    }
    let who = key.reviewer.clone();
    let eval = site.evaluate(now, &site.config.audiences);
    let mut text = String::new();
    let (mut submitted, mut skipped) = (0, 0);
    let mut skip = |text: &mut String, what: &str, why: String| {
        skipped += 1;
        text.push_str(&format!("skipped   {what}: {why}\n"));
    };
    let mut refused_spaces = std::collections::BTreeSet::new();
    for p in &eval.pages {
        let id = &p.page.id;
        let Some(policy) = site.policies.get(&p.page.space) else {
            if refused_spaces.insert(p.page.space.clone()) {
                skip(
                    &mut text,
                    &format!("space {}", p.page.space),
                    "it has no policy".into(),
                );
            }
            continue;
        };
        if let Err(why) = policy.authorize(&who, &Act::Submit { assign: None }) {
            if refused_spaces.insert(p.page.space.clone()) {
                skip(
                    &mut text,
                    &format!("space {}", p.page.space),
                    why.to_string(),
                );
            }
            continue;
        }
        let state = p.review().map_or(ReviewState::Draft, |r| r.current_state);
        let why = match state {
            ReviewState::Draft => None,
            ReviewState::Pending => Some("its current version is in review".to_string()),
            ReviewState::Approved | ReviewState::Scheduled | ReviewState::Published => {
                Some(format!("its current version is already {state}"))
            }
            ReviewState::Rejected | ReviewState::Discarded | ReviewState::Retracted => Some(
                format!("its current version was {state}; edit it, or submit it by name"),
            ),
        };
        if let Some(why) = why {
            skip(&mut text, id, why);
            continue;
        }
        let req = SignRequest {
            site_root,
            action: Action::Submit {
                comment: comment.clone(),
                assign: None,
            },
            page: id,
            key: key_source,
            version: None,
            now,
            force: false,
        };
        match sign::sign_in(&site, &signer, &req) {
            Ok(path) => {
                submitted += 1;
                text.push_str(&format!(
                    "submitted {id} ({}): {path}\n",
                    p.page.version.short()
                ));
            }
            Err(Error::Refused(why)) => skip(&mut text, id, why),
            Err(e) => {
                print(out, &text)?;
                return Err(e);
            }
        }
    }
    for invalid in &site.invalid_pages {
        skip(
            &mut text,
            &invalid.id,
            format!("invalid page: {}", invalid.why),
        );
    }
    text.push_str(&format!("{submitted} submitted, {skipped} skipped\n"));
    print(out, &text)?;
    Ok(EXIT_OK)
}
