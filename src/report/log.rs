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

#[derive(Debug, Clone, Default, Serialize)]
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
    /// Signed with a passkey (SPEC §3a): shown beside the key. Absent for other keys.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub passkey: bool,
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
            passkey: false,
            at: Some(r.signed_at),
        }
    }

    /// A record file that does not parse: nothing of it is known but its path and why.
    fn unparsed(file: &str, why: &str) -> Self {
        LogEntry {
            file: file.to_string(),
            note: why.to_string(),
            finding: Some(FindingKind::InvalidRecord.to_string()),
            ..LogEntry::default()
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

/// Marks the entries whose key is a passkey in the keyring, so the trail shows how each
/// record was signed.
fn mark_passkeys(entries: &mut [LogEntry], site: &Site) {
    for e in entries {
        e.passkey =
            site.keyring.keys.get(&e.key).is_some_and(|k| {
                matches!(k.public_key, crate::trust::keyring::PublicKey::WebAuthn(_))
            });
    }
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
    mark_passkeys(&mut entries, site);
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
    mark_passkeys(&mut entries, site);
    sort(&mut entries);
    SiteLog {
        now: time::format_utc(&now),
        entries,
    }
}

/// One row of `log --format csv`: the columns in order, named by the header. `None` is an
/// empty field, `counted` is `true` or `false`.
#[derive(Default, Serialize)]
struct CsvRow<'a> {
    signed_at: &'a str,
    page: &'a str,
    space: &'a str,
    kind: &'a str,
    reviewer: &'a str,
    key: &'a str,
    version: &'a str,
    step: Option<&'a str>,
    role: Option<&'a str>,
    comment: Option<&'a str>,
    /// `STEP=ID,ID STEP=ID`.
    assign: String,
    counted: bool,
    note: &'a str,
    finding: Option<&'a str>,
    file: &'a str,
}

impl<'a> From<&'a LogEntry> for CsvRow<'a> {
    fn from(e: &'a LogEntry) -> Self {
        let assign = e.assign.as_ref().map_or_else(String::new, |a| {
            a.iter()
                .map(|(step, who)| format!("{step}={}", who.join(",")))
                .collect::<Vec<_>>()
                .join(" ")
        });
        CsvRow {
            signed_at: &e.signed_at,
            page: &e.page,
            space: &e.space,
            kind: &e.kind,
            reviewer: &e.reviewer,
            key: &e.key,
            version: &e.version,
            step: e.step.as_deref(),
            role: e.role.as_deref(),
            comment: e.comment.as_deref(),
            assign,
            counted: e.counted,
            note: &e.note,
            finding: e.finding.as_deref(),
            file: &e.file,
        }
    }
}

/// RFC 4180 CSV, one record a row; fields with commas, quotes or line breaks are quoted. The
/// header is written even when no record is shown.
pub fn to_csv(entries: &[LogEntry]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    for e in entries {
        w.serialize(CsvRow::from(e)).expect("writing to memory");
    }
    if entries.is_empty() {
        // csv writes the header with the first row: write an empty row, keep the header.
        w.serialize(CsvRow::default()).expect("writing to memory");
    }
    let mut bytes = w.into_inner().expect("writing to memory");
    if entries.is_empty() {
        let header_end = bytes.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
        bytes.truncate(header_end);
    }
    String::from_utf8(bytes).expect("UTF-8 fields")
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
        let passkey = if e.passkey { ", passkey" } else { "" };
        format!(
            "{}  {page}{:<7} {} ({}{passkey}){step} v{short}  [{mark}] {}\n",
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-listed CSV writer `CsvRow` replaced, kept as the oracle for its bytes.
    fn csv_as_before(entries: &[LogEntry]) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
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
        ])
        .unwrap();
        for e in entries {
            let assign = e.assign.as_ref().map_or_else(String::new, |a| {
                a.iter()
                    .map(|(step, who)| format!("{step}={}", who.join(",")))
                    .collect::<Vec<_>>()
                    .join(" ")
            });
            w.write_record([
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
            ])
            .unwrap();
        }
        String::from_utf8(w.into_inner().unwrap()).unwrap()
    }

    #[test]
    fn csv_rows_are_the_bytes_the_hand_listed_columns_wrote() {
        let counted = LogEntry {
            file: "approvals/records/kb/a/1.yaml".into(),
            page: "kb/a".into(),
            space: "kb".into(),
            signed_at: "2026-11-20T10:00:00Z".into(),
            kind: "approve".into(),
            reviewer: "raj".into(),
            key: "raj-1".into(),
            version: "sha256:abc".into(),
            step: Some("tech".into()),
            role: None,
            comment: Some("fine, \"mostly\"\nsecond line".into()),
            assign: Some(
                [
                    (
                        "tech".to_string(),
                        vec!["raj".to_string(), "eli".to_string()],
                    ),
                    ("legal".to_string(), vec!["ana".to_string()]),
                ]
                .into_iter()
                .collect(),
            ),
            counted: true,
            note: "counted".into(),
            finding: None,
            passkey: false,
            at: None,
        };
        let unparsed = LogEntry::unparsed("approvals/records/x.yaml", "not YAML: line 1");
        for entries in [vec![], vec![counted.clone()], vec![counted, unparsed]] {
            assert_eq!(to_csv(&entries), csv_as_before(&entries));
        }
        assert_eq!(
            to_csv(&[]),
            "signed_at,page,space,kind,reviewer,key,version,step,role,comment,assign,counted,note,finding,file\n"
        );
    }
}
