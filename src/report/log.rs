//! The audit trail of one page (`imprimatur log PAGE`): every record about it, in replay
//! order, whether it counted and why — including records that failed verification, so a
//! reviewer can see why their signature changed nothing.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::site::Site;
use crate::time::{self, Instant};

#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    pub file: String,
    pub signed_at: String,
    pub kind: String,
    pub reviewer: String,
    pub key: String,
    pub version: String,
    pub step: Option<String>,
    pub role: Option<String>,
    pub comment: Option<String>,
    pub counted: bool,
    /// What it did, or why it did not count.
    pub note: String,
    /// `invalid_record` / `out_of_turn` when not counting is a finding.
    pub finding: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PageLog {
    pub page: String,
    pub status: String,
    pub current_version: String,
    pub entries: Vec<LogEntry>,
}

pub fn page_log(site: &Site, now: Instant, page_arg: &str) -> Result<PageLog> {
    let id = crate::site::content::page_id_from_arg(page_arg);
    // Only this page is judged: its log does not depend on any other page.
    let p = site
        .evaluate_one(&id, now, None)
        .ok_or_else(|| Error::Refused(format!("no page '{id}' in content/")))?;
    let mut entries = Vec::new();
    let entry = |r: &crate::trust::record::Record,
                 file: &str,
                 counted: bool,
                 note: String,
                 finding: Option<String>| LogEntry {
        file: file.to_string(),
        signed_at: time::format_utc(&r.signed_at),
        kind: r.kind.to_string(),
        reviewer: r.reviewer.clone(),
        key: r.key.clone(),
        version: r.version.to_string(),
        step: r.step.clone(),
        role: r.role.clone(),
        comment: r.comment.clone(),
        counted,
        note,
        finding,
    };
    if let Some(review) = p.review() {
        for note in &review.notes {
            let r = &p.records[note.index];
            entries.push(entry(
                &r.record,
                &r.file,
                note.counted,
                note.note.clone(),
                note.finding.map(|f| f.to_string()),
            ));
        }
    } else {
        for r in &p.records {
            entries.push(entry(
                &r.record,
                &r.file,
                false,
                format!("space '{}' has no policy", p.page.space),
                None,
            ));
        }
    }
    // Records about this page that failed verification (`evaluate_one` left them out).
    for f in &site.records {
        let Ok(parsed) = &f.parsed else { continue };
        if parsed.record.content != id {
            continue;
        }
        if let Err(reason) = crate::trust::record::check(parsed, &site.keyring, &now) {
            entries.push(entry(
                &parsed.record,
                &f.file,
                false,
                reason,
                Some("invalid_record".into()),
            ));
        }
    }
    entries.sort_by(|a, b| {
        a.signed_at
            .cmp(&b.signed_at)
            .then_with(|| a.file.cmp(&b.file))
    });
    Ok(PageLog {
        page: id,
        status: p.status().to_string(),
        current_version: p.page.version.to_string(),
        entries,
    })
}

impl PageLog {
    pub fn to_text(&self, style: &crate::report::Style) -> String {
        let mut out = format!(
            "{} ({}), current version {}\n",
            self.page,
            style.status(&self.status),
            self.current_version
        );
        if self.entries.is_empty() {
            out.push_str("  no records\n");
        }
        for e in &self.entries {
            let mark = if e.counted {
                style.green("counted")
            } else {
                style.red("ignored")
            };
            let step = e
                .step
                .as_ref()
                .map(|s| format!(" step {s}"))
                .unwrap_or_default();
            let short = e.version.get(7..19).unwrap_or(&e.version);
            out.push_str(&format!(
                "{}  {:<7} {} ({}){step} v{short}  [{mark}] {}\n",
                e.signed_at, e.kind, e.reviewer, e.key, e.note
            ));
            if let Some(c) = &e.comment {
                out.push_str(&format!(
                    "    comment: {}\n",
                    c.replace('\n', "\n             ")
                ));
            }
            out.push_str(&format!("    {}\n", e.file));
        }
        out
    }
}
