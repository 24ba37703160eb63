//! `imprimatur inbox [--key FILE | --agent | --reviewer ID]`: what waits on me, oldest first.

use std::io::Write;
use std::path::Path;

use super::{load_site, print, Format, EXIT_OK};
use crate::error::{Error, Result};
use crate::report::inbox;
use crate::report::StatusReport;
use crate::time::Instant;
use crate::trust::signer::{reviewer_of, KeySource};

/// Whose inbox: a reviewer id, or the reviewer whose key this is (a file, or the ssh-agent's).
pub enum Who<'a> {
    Reviewer(&'a str),
    Key(KeySource),
}

pub fn inbox(
    site_root: &Path,
    now: Instant,
    who: Who,
    format: Format,
    out: &mut dyn Write,
) -> Result<i32> {
    let site = load_site(site_root)?;
    let reviewer = match who {
        Who::Reviewer(id) => {
            if !site.keyring.reviewers.contains_key(id) {
                return Err(Error::Refused(format!(
                    "no reviewer '{id}' in approvals/keyring.yaml"
                )));
            }
            id.to_string()
        }
        Who::Key(source) => reviewer_of(&source, &site.keyring)?,
    };
    let eval = site.evaluate(now, &site.config.audiences);
    let report = StatusReport::from_evaluation(&eval, &[]);
    let items = inbox::in_review(&site, &eval, &report, Some(&reviewer));
    match format {
        Format::Json => {
            let mut json = serde_json::to_string_pretty(&serde_json::json!({
                "reviewer": reviewer,
                "now": crate::time::format_utc(&now),
                "pages": items,
            }))
            .expect("an inbox serializes");
            json.push('\n');
            print(out, &json)?;
        }
        Format::Text => print(out, &inbox::to_text(&reviewer, &items))?,
    }
    Ok(EXIT_OK)
}
