//! Reports (SPEC §9): `status.json` and its text table here; the outdated list, the
//! notification outbox and the human dashboard in submodules. Reports live in `reports/`,
//! never in `output/`: they name pages that are not published.

pub(crate) mod build;
pub(crate) mod dashboard;
pub(crate) mod history;
pub(crate) mod inbox;
pub(crate) mod log;
pub(crate) mod notifications;
pub(crate) mod outdated;

use rayon::prelude::*;
use serde::Serialize;

use std::path::Path;

use crate::error::{Error, Result};
use crate::site::{Evaluation, Finding, Site};
use crate::time;
use crate::trust::review::Status;
use crate::trust::version::Version;

/// `desync.json`: every defect finding — what is wrong or out of sync, not who is late.
#[derive(Debug, Clone, Serialize)]
pub struct DesyncReport<'a> {
    pub now: &'a str,
    pub findings: Vec<&'a Finding>,
}

/// The reports of a build (SPEC §8), each by its file name under `reports/`: made side by
/// side (each walks every page), to be put in place with [`write_reports`] once the site
/// they describe is in place. Each is written beside its place as soon as it is made, so
/// that no report is held in memory while the site is rendered (at 100,000 pages they are
/// hundreds of megabytes); a build that fails leaves none behind.
pub fn make_build_reports(
    site: &Site,
    eval: &Evaluation,
    status: &StatusReport,
) -> Result<Reports> {
    let dir = &site.config.reports_dir;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    sweep_staged(dir);
    // JSON goes straight into its file, never whole into memory (tens of megabytes each).
    let stage =
        |name: &'static str, text: String| stage_in(dir, name, &|w| w.write_all(text.as_bytes()));
    let ((status_json, desync), (outdated, notifications, board, summary)) = rayon::join(
        || {
            rayon::join(
                || stage_json(dir, "status.json", status),
                || {
                    let desync = DesyncReport {
                        now: &status.now,
                        findings: status.findings.iter().filter(|f| f.is_defect()).collect(),
                    };
                    stage_json(dir, "desync.json", &desync)
                },
            )
        },
        || {
            let (outdated, outbox) = rayon::join(
                || outdated::outdated(eval),
                || notifications::outbox(site, eval),
            );
            let titles = site
                .policies
                .iter()
                .map(|(k, p)| (k.clone(), p.title.clone()))
                .collect();
            let board = dashboard::Dashboard::new(
                &site.config.title,
                eval,
                status,
                &outdated,
                &titles,
                outbox.notifications.len(),
                site.config.review_url.as_deref(),
            );
            let ((a, b), (c, d)) = rayon::join(
                || {
                    rayon::join(
                        || stage_json(dir, "outdated.json", &outdated),
                        || stage_json(dir, "notifications.json", &outbox),
                    )
                },
                || {
                    rayon::join(
                        || stage_in(dir, "index.html", &|w| board.write_html(w)),
                        || stage("summary.md", board.to_markdown()),
                    )
                },
            );
            (a, b, c, d)
        },
    );
    Ok(Reports(vec![
        status_json?,
        desync?,
        outdated?,
        notifications?,
        board?,
        summary?,
    ]))
}

/// What staged reports are named by until they are put in place.
const STAGED: &str = ".imprimatur-report-";

/// Writes what `fill` writes into a new file in `dir`, to be renamed to `name` by
/// [`write_reports`].
fn stage_in(
    dir: &Path,
    name: &'static str,
    fill: &dyn Fn(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<(&'static str, tempfile::NamedTempFile)> {
    let file = tempfile::Builder::new()
        .prefix(STAGED)
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    let path = dir.join(name);
    let mut out = std::io::BufWriter::with_capacity(1 << 16, file);
    fill(&mut out).map_err(|e| Error::io(&path, e))?;
    let file = out
        .into_inner()
        .map_err(|e| Error::io(&path, e.into_error()))?;
    Ok((name, file))
}

/// [`stage_in`] of `value` as pretty JSON and a newline, serialized straight into the file.
fn stage_json<T: Serialize>(
    dir: &Path,
    name: &'static str,
    value: &T,
) -> Result<(&'static str, tempfile::NamedTempFile)> {
    stage_in(dir, name, &|w| {
        serde_json::to_writer_pretty(&mut *w, value)?;
        w.write_all(b"\n")
    })
}

/// Deletes reports a killed build staged and never put in place (only builds stage reports,
/// and one build at a time holds the build lock).
fn sweep_staged(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let staged = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(STAGED));
        if staged && entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// A build's reports, made and written beside their places, not yet in place.
pub struct Reports(Vec<(&'static str, tempfile::NamedTempFile)>);

/// Puts each report in place in the site's reports folder (a rename: atomic), side by side.
pub fn write_reports(site: &Site, reports: Reports) -> Result<()> {
    let dir = &site.config.reports_dir;
    reports.0.into_par_iter().try_for_each(|(name, file)| {
        let path = dir.join(name);
        // rename(2) replaces whatever is at `path`, a symbolic link included, without
        // following it.
        file.persist(&path)
            .map(drop)
            .map_err(|e| Error::io(&path, e.error))
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub now: String,
    pub pages: Vec<PageStatus>,
    pub invalid_records: Vec<InvalidRecord>,
    pub findings: Vec<Finding>,
    /// Who vouches for the keyring, policies, config and themes (docs/trust-root.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub governance: Option<crate::trust::governance::Report>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PageStatus {
    pub id: String,
    pub space: String,
    pub status: Status,
    pub title: Option<String>,
    pub current_version: Version,
    pub current_state: crate::trust::review::ReviewState,
    pub published_version: Option<Version>,
    pub step: Option<String>,
    pub waiting_on: Vec<String>,
    pub pending_since: Option<String>,
    pub url: Option<String>,
    /// The version in review when it is not the current draft (the draft changed after submit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review_version: Option<Version>,
    /// `step N of M` of the version in review.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_number: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_count: Option<usize>,
    /// The version whose review an edit cancelled (`edit_cancels_review`), if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancelled_review: Option<Version>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InvalidRecord {
    pub file: String,
    pub reason: String,
}

impl StatusReport {
    pub fn from_evaluation(eval: &Evaluation, extra_findings: &[Finding]) -> StatusReport {
        let pages = eval
            .pages
            .iter()
            .map(|p| {
                let review = p.review();
                let in_review = review.and_then(|r| r.in_review.as_ref());
                let live = p.live();
                PageStatus {
                    id: p.page.id.clone(),
                    space: p.page.space.clone(),
                    status: p.status(),
                    title: p.front().ok().map(|f| f.title.clone()),
                    current_version: p.page.version.clone(),
                    current_state: review.map_or(crate::trust::review::ReviewState::Draft, |r| {
                        r.current_state
                    }),
                    published_version: live.map(|l| l.version.version.clone()),
                    step: in_review.map(|r| r.step.clone()),
                    waiting_on: in_review.map(|r| r.waiting_on.clone()).unwrap_or_default(),
                    pending_since: in_review.map(|r| time::format_utc(&r.submitted_at)),
                    url: live.map(|l| l.url.clone()),
                    review_version: in_review
                        .filter(|r| r.version != p.page.version)
                        .map(|r| r.version.clone()),
                    step_number: in_review.map(|r| r.step_number),
                    step_count: in_review.map(|r| r.step_count),
                    cancelled_review: review
                        .and_then(|r| r.cancelled.as_ref())
                        .map(|c| c.version.clone()),
                }
            })
            .collect();
        let mut findings: Vec<Finding> = eval
            .findings
            .iter()
            .chain(extra_findings)
            .cloned()
            .collect();
        findings.sort();
        StatusReport {
            now: time::format_utc(&eval.now),
            pages,
            invalid_records: eval
                .invalid_records
                .iter()
                .map(|(file, reason)| InvalidRecord {
                    file: file.clone(),
                    reason: reason.clone(),
                })
                .collect(),
            findings,
            governance: None,
        }
    }

    /// The report with the site's governance state in it.
    pub fn with_governance(mut self, governance: &crate::trust::governance::Governance) -> Self {
        self.governance = governance.report();
        self
    }

    /// `--strict` fails on this too: a signed governance whose root nobody pinned.
    pub fn trust_root_unpinned(&self) -> bool {
        self.governance.as_ref().is_some_and(|g| !g.pinned)
    }

    /// The report of the pages `ids` alone: their rows, the findings about them, and the
    /// invalid records those findings name (`status PAGE...`, `status --mine`).
    pub fn only(&mut self, ids: &[String]) {
        self.pages.retain(|p| ids.contains(&p.id));
        self.findings
            .retain(|f| f.page.as_ref().is_some_and(|p| ids.contains(p)));
        let findings = &self.findings;
        self.invalid_records
            .retain(|r| findings.iter().any(|f| f.file.as_ref() == Some(&r.file)));
    }

    pub fn has_defects(&self) -> bool {
        self.findings.iter().any(Finding::is_defect)
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("reports serialize");
        s.push('\n');
        s
    }

    /// An aligned table, one page a row, then the findings. `only` limits the rows.
    pub fn to_text(&self, only: &[String], style: &Style) -> String {
        let rows: Vec<[String; 6]> = self
            .pages
            .iter()
            .filter(|p| only.is_empty() || only.contains(&p.id))
            .map(|p| {
                let step = match (&p.step, p.step_number, p.step_count) {
                    (Some(s), Some(n), Some(m)) => format!("{s} ({n}/{m})"),
                    _ => "-".into(),
                };
                [
                    p.id.clone(),
                    p.status.to_string(),
                    p.current_state.to_string(),
                    step,
                    if p.waiting_on.is_empty() {
                        "-".into()
                    } else {
                        p.waiting_on.join(", ")
                    },
                    p.url.clone().unwrap_or_else(|| "-".into()),
                ]
            })
            .collect();
        let header = ["PAGE", "STATUS", "STATE", "STEP", "WAITING ON", "LIVE AT"].map(String::from);
        let mut out = table(&header, &rows, |col, cell| {
            if col == 1 {
                style.status(cell)
            } else {
                cell.to_string()
            }
        });
        let findings: Vec<&Finding> = self
            .findings
            .iter()
            .filter(|f| only.is_empty() || f.page.as_ref().is_some_and(|p| only.contains(p)))
            .collect();
        if !findings.is_empty() {
            out.push_str(&format!("\n{} finding(s):\n", findings.len()));
            for f in findings {
                out.push_str(&format_finding(f, style));
            }
        }
        out
    }
}

/// `3 published, 1 outdated, 2 pending; 1 finding(s)`.
pub fn status_counts(report: &StatusReport) -> String {
    let mut counts: std::collections::BTreeMap<Status, usize> = std::collections::BTreeMap::new();
    for p in &report.pages {
        *counts.entry(p.status).or_default() += 1;
    }
    let parts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    let parts = if parts.is_empty() {
        "no pages".to_string()
    } else {
        parts.join(", ")
    };
    format!("{parts}; {} finding(s)\n", report.findings.len())
}

pub fn format_finding(f: &Finding, style: &Style) -> String {
    let kind = if f.is_defect() {
        style.red(f.kind.as_str())
    } else {
        style.yellow(f.kind.as_str())
    };
    let mut line = format!("  {kind}");
    if let Some(p) = &f.page {
        line.push_str(&format!(" {p}"));
    }
    if let Some(file) = &f.file {
        line.push_str(&format!(" ({file})"));
    }
    line.push_str(&format!(": {}\n", f.detail));
    line
}

/// Left-aligned columns separated by two spaces; `paint` may colour a cell (the padding is
/// computed on the plain text so colours don't break alignment).
pub fn table(
    header: &[String],
    rows: &[[String; 6]],
    paint: impl Fn(usize, &str) -> String,
) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String], painted: bool| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let shown = if painted {
                paint(i, cell)
            } else {
                cell.clone()
            };
            text.push_str(&shown);
            if i + 1 < cells.len() {
                text.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(header, false);
    for row in rows {
        line(row, true);
    }
    out
}

/// Colours for terminals only: off when stdout is not a terminal or `NO_COLOR` is set.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    pub color: bool,
}

impl Style {
    pub fn detect() -> Style {
        use std::io::IsTerminal;
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style {
            color: !no_color && std::io::stdout().is_terminal(),
        }
    }
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    pub fn red(&self, t: &str) -> String {
        self.paint("31", t)
    }
    pub fn yellow(&self, t: &str) -> String {
        self.paint("33", t)
    }
    pub fn green(&self, t: &str) -> String {
        self.paint("32", t)
    }
    pub fn status(&self, status: &str) -> String {
        match status {
            "published" => self.green(status),
            "outdated" | "pending" | "scheduled" | "approved" => self.yellow(status),
            "rejected" | "expired" => self.red(status),
            _ => status.to_string(),
        }
    }
}
