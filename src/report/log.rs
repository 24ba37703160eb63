//! The audit trail (`imprimatur log`): every record — of one page, or of the whole site — in
//! replay order, whether it counted and why, including records that failed verification or
//! are about no page, so a reviewer can see why their signature changed nothing and an
//! auditor can see everything that was signed. Filters narrow it; text, JSON and CSV show it.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::site::Site;
use crate::time::{self, Instant};
use crate::trust::record::{Kind, Record};
use crate::trust::review::FindingKind;

#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    pub file: String,
    /// The page the record is about (empty when the file does not parse).
    pub page: String,
    pub space: String,
    pub signed_at: String,
    pub kind: String,
    pub reviewer: String,
    pub key: String,
    pub version: String,
    pub step: Option<String>,
    pub role: Option<String>,
    pub comment: Option<String>,
    /// Assigned reviewers, by step (`submit` and `assign` records).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assign: Option<crate::trust::record::Assignment>,
    pub counted: bool,
    /// What it did, or why it did not count.
    pub note: String,
    /// `invalid_record` / `out_of_turn` / `orphan_record` when not counting is a finding.
    pub finding: Option<String>,
    /// When it was signed, for filtering (not printed: `signed_at` is).
    #[serde(skip)]
    at: Option<Instant>,
}

impl LogEntry {
    fn of(r: &Record, file: &str, counted: bool, note: String, finding: Option<String>) -> Self {
        LogEntry {
            file: file.to_string(),
            page: r.content.clone(),
            space: r.space.clone(),
            signed_at: time::format_utc(&r.signed_at),
            kind: r.kind.to_string(),
            reviewer: r.reviewer.clone(),
            key: r.key.clone(),
            version: r.version.to_string(),
            step: r.step.clone(),
            role: r.role.clone(),
            comment: r.comment.clone(),
            assign: r.assign.clone(),
            counted,
            note,
            finding,
            at: Some(r.signed_at),
        }
    }

    /// A record file that does not parse: nothing of it is known but its path and why.
    fn unparsed(file: &str, why: &str) -> Self {
        LogEntry {
            file: file.to_string(),
            page: String::new(),
            space: String::new(),
            signed_at: String::new(),
            kind: String::new(),
            reviewer: String::new(),
            key: String::new(),
            version: String::new(),
            step: None,
            role: None,
            comment: None,
            assign: None,
            counted: false,
            note: why.to_string(),
            finding: Some(FindingKind::InvalidRecord.to_string()),
            at: None,
        }
    }
}

/// Which records to show. Every set field must match; a record file that does not parse
/// matches only when no field is set.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    pub space: Option<String>,
    pub reviewer: Option<String>,
    pub since: Option<Instant>,
    pub until: Option<Instant>,
    pub kind: Option<Kind>,
}

impl LogFilter {
    fn keeps(&self, e: &LogEntry) -> bool {
        let is = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        is(&self.space, &e.space)
            && is(&self.reviewer, &e.reviewer)
            && self.kind.is_none_or(|k| k.as_str() == e.kind)
            && self.since.is_none_or(|s| e.at.is_some_and(|at| at >= s))
            && self.until.is_none_or(|u| e.at.is_some_and(|at| at <= u))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PageLog {
    pub page: String,
    pub status: String,
    pub current_version: String,
    pub entries: Vec<LogEntry>,
}

/// Every record of the site.
#[derive(Debug, Clone, Serialize)]
pub struct SiteLog {
    pub now: String,
    pub entries: Vec<LogEntry>,
}

fn sort(entries: &mut [LogEntry]) {
    entries.sort_by(|a, b| {
        a.signed_at
            .cmp(&b.signed_at)
            .then_with(|| a.file.cmp(&b.file))
    });
}

pub fn page_log(site: &Site, now: Instant, page_arg: &str, filter: &LogFilter) -> Result<PageLog> {
    let id = crate::site::content::page_id_from_arg(page_arg);
    // Only this page is judged: its log does not depend on any other page.
    let p = site
        .evaluate_one(&id, now, None)
        .ok_or_else(|| Error::Refused(format!("no page '{id}' in content/")))?;
    let mut entries = Vec::new();
    if let Some(review) = p.review() {
        for note in &review.notes {
            let r = &p.records[note.index];
            entries.push(LogEntry::of(
                &r.record,
                &r.file,
                note.counted,
                note.note.clone(),
                note.finding.map(|f| f.to_string()),
            ));
        }
    } else {
        for r in &p.records {
            entries.push(no_policy(&r.record, &r.file));
        }
    }
    // Records about this page that failed verification (`evaluate_one` left them out).
    for f in &site.records {
        let Ok(parsed) = &f.parsed else { continue };
        if parsed.record.content != id {
            continue;
        }
        if let Err(reason) = crate::trust::record::check(parsed, &site.keyring, &now) {
            entries.push(LogEntry::of(
                &parsed.record,
                &f.file,
                false,
                reason,
                Some(FindingKind::InvalidRecord.to_string()),
            ));
        }
    }
    entries.retain(|e| filter.keeps(e));
    sort(&mut entries);
    Ok(PageLog {
        page: id,
        status: p.status().to_string(),
        current_version: p.page.version.to_string(),
        entries,
    })
}

fn no_policy(r: &Record, file: &str) -> LogEntry {
    LogEntry::of(
        r,
        file,
        false,
        format!("space '{}' has no policy", r.space),
        None,
    )
}

/// The whole site's trail: every record file under `approvals/records/`, each once — judged
/// with its page, or said to be invalid, unparsable, or about a page not in `content/`.
pub fn site_log(site: &Site, now: Instant, filter: &LogFilter) -> SiteLog {
    let eval = site.evaluate(now, &site.config.audiences);
    let mut entries = Vec::new();
    let mut seen = BTreeSet::new();
    for p in &eval.pages {
        match p.review() {
            Some(review) => {
                for note in &review.notes {
                    let r = &p.records[note.index];
                    seen.insert(r.file.clone());
                    entries.push(LogEntry::of(
                        &r.record,
                        &r.file,
                        note.counted,
                        note.note.clone(),
                        note.finding.map(|f| f.to_string()),
                    ));
                }
            }
            None => {
                for r in &p.records {
                    seen.insert(r.file.clone());
                    entries.push(no_policy(&r.record, &r.file));
                }
            }
        }
    }
    for f in site.records.iter().filter(|f| !seen.contains(&f.file)) {
        let entry = match &f.parsed {
            Err(why) => LogEntry::unparsed(&f.file, why),
            Ok(parsed) => match crate::trust::record::check(parsed, &site.keyring, &now) {
                Err(reason) => LogEntry::of(
                    &parsed.record,
                    &f.file,
                    false,
                    reason,
                    Some(FindingKind::InvalidRecord.to_string()),
                ),
                Ok(()) => LogEntry::of(
                    &parsed.record,
                    &f.file,
                    false,
                    "about a page that is not in content/".into(),
                    Some(FindingKind::OrphanRecord.to_string()),
                ),
            },
        };
        entries.push(entry);
    }
    entries.retain(|e| filter.keeps(e));
    sort(&mut entries);
    SiteLog {
        now: time::format_utc(&now),
        entries,
    }
}

/// The columns of `log --format csv`, in order.
const CSV_HEADER: [&str; 15] = [
    "signed_at",
    "page",
    "space",
    "kind",
    "reviewer",
    "key",
    "version",
    "step",
    "role",
    "comment",
    "assign",
    "counted",
    "note",
    "finding",
    "file",
];

/// RFC 4180 CSV, one record a row; fields with commas, quotes or line breaks are quoted.
pub fn to_csv(entries: &[LogEntry]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let row = |e: &LogEntry| -> [String; 15] {
        let assign = e.assign.as_ref().map_or_else(String::new, |a| {
            a.iter()
                .map(|(step, who)| format!("{step}={}", who.join(",")))
                .collect::<Vec<_>>()
                .join(" ")
        });
        [
            e.signed_at.clone(),
            e.page.clone(),
            e.space.clone(),
            e.kind.clone(),
            e.reviewer.clone(),
            e.key.clone(),
            e.version.clone(),
            e.step.clone().unwrap_or_default(),
            e.role.clone().unwrap_or_default(),
            e.comment.clone().unwrap_or_default(),
            assign,
            e.counted.to_string(),
            e.note.clone(),
            e.finding.clone().unwrap_or_default(),
            e.file.clone(),
        ]
    };
    w.write_record(CSV_HEADER).expect("writing to memory");
    for e in entries {
        w.write_record(row(e)).expect("writing to memory");
    }
    String::from_utf8(w.into_inner().expect("writing to memory")).expect("UTF-8 fields")
}

/// One entry as text; `with_page` for the site-wide trail.
fn entry_text(e: &LogEntry, with_page: bool, style: &crate::report::Style) -> String {
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
    let page = if with_page {
        format!("{}  ", if e.page.is_empty() { "-" } else { &e.page })
    } else {
        String::new()
    };
    let mut out = if e.kind.is_empty() {
        format!("{:<20}  {page}[{mark}] {}\n", "-", e.note)
    } else {
        format!(
            "{}  {page}{:<7} {} ({}){step} v{short}  [{mark}] {}\n",
            e.signed_at, e.kind, e.reviewer, e.key, e.note
        )
    };
    if let Some(assign) = &e.assign {
        for (step, who) in assign {
            out.push_str(&format!("    assign: {step} = {}\n", who.join(", ")));
        }
    }
    if let Some(c) = &e.comment {
        out.push_str(&format!(
            "    comment: {}\n",
            c.replace('\n', "\n             ")
        ));
    }
    out.push_str(&format!("    {}\n", e.file));
    out
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
            out.push_str(&entry_text(e, false, style));
        }
        out
    }
}

impl SiteLog {
    pub fn to_text(&self, style: &crate::report::Style) -> String {
        let counted = self.entries.iter().filter(|e| e.counted).count();
        let mut out = format!(
            "{} record(s), {counted} counted, {} not\n",
            self.entries.len(),
            self.entries.len() - counted
        );
        for e in &self.entries {
            out.push_str(&entry_text(e, true, style));
        }
        out
    }
}
