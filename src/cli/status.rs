//! `imprimatur status` and `imprimatur verify`: the site judged, without building, with the
//! progress of its reading and verifying on standard error (`progress`).

use std::io::Write;
use std::path::Path;

use super::progress::Reporter;
use super::{load_site_watched, print, Format, EXIT_FINDINGS, EXIT_OK};
use crate::error::Result;
use crate::progress::Progress;
use crate::report::{StatusReport, Style};
use crate::site::Site;
use crate::time::Instant;

/// What `status` and `verify` both report: the site judged at `now` for `audience` (as
/// `build --audience` would; `None`: the config's audiences), with the findings a build
/// would add (broken links, output drift), without building; with `since` (a git
/// revision), also what git says was deleted or changed under `approvals/` since then.
fn judge(
    site_root: &Path,
    now: Instant,
    audience: Option<&str>,
    since: Option<&str>,
    progress: &dyn Progress,
) -> Result<(Site, StatusReport)> {
    let site = load_site_watched(site_root, progress)?;
    let eval = site.evaluate_watched(now, &site.config.audiences_for(audience), progress);
    let mut extra = crate::publish::build::check_without_building(&site, &eval, audience)?;
    if let Some(rev) = since {
        extra.extend(crate::site::since::removed_since(&site.config, rev)?);
    }
    let report = StatusReport::from_evaluation(&eval, &extra).with_governance(&site.governance);
    Ok((site, report))
}

/// What `status` shows: every page, or only `pages` (paths or ids), as the build for
/// `audience` (`--audience`; `None`: the config's `audiences`) would see them.
pub struct StatusOptions<'a> {
    pub format: Format,
    pub pages: &'a [String],
    pub audience: Option<&'a str>,
    /// `--quiet`: no progress on standard error.
    pub quiet: bool,
}

/// `imprimatur status`: judge every page, write `reports/status.json` (the whole site), print
/// the table or the report — of the pages asked for alone, in every format.
pub fn status(
    site_root: &Path,
    now: Instant,
    opts: &StatusOptions,
    out: &mut dyn Write,
) -> Result<i32> {
    let progress = Reporter::for_stderr(opts.quiet);
    let (site, mut report) = judge(site_root, now, opts.audience, None, &progress)?;
    let only: Vec<String> = opts
        .pages
        .iter()
        .map(|p| crate::site::content::page_id_from_arg(p))
        .collect();
    for id in &only {
        if site.page(id).is_none() {
            return Err(site.unknown_page(id));
        }
    }
    crate::fs::write_file(
        &site.config.reports_dir.join("status.json"),
        report.to_json().as_bytes(),
    )?;
    if !only.is_empty() {
        report.only(&only);
    }
    match opts.format {
        Format::Json => print(out, &report.to_json())?,
        Format::Text => {
            let mut text = match opts.audience {
                Some(a) => format!("as the build for audience '{a}' sees it:\n"),
                None => String::new(),
            };
            text.push_str(&report.to_text(&only, &Style::detect()));
            print(out, &text)?
        }
    }
    Ok(EXIT_OK)
}

/// `imprimatur verify`: keyring, policies and every record, without rendering. Exit 3 on
/// any defect finding. With `since` (a git revision), also every record or stored blob
/// deleted or changed since then (`site::since`).
pub fn verify(
    site_root: &Path,
    now: Instant,
    since: Option<&str>,
    format: Format,
    quiet: bool,
    out: &mut dyn Write,
) -> Result<i32> {
    let progress = Reporter::for_stderr(quiet);
    let (site, report) = judge(site_root, now, None, since, &progress)?;
    match format {
        Format::Json => print(out, &report.to_json())?,
        Format::Text => {
            let style = Style::detect();
            let defects = report.findings.iter().filter(|f| f.is_defect()).count();
            let reminders = report.findings.len() - defects;
            let mut text = format!(
                "verified {} record file(s) against {} reviewer(s) and {} policy(ies): {} invalid record(s), {} defect(s), {} reminder(s)\n",
                site.records.len(),
                site.keyring.reviewers.len(),
                site.policies.len(),
                report.invalid_records.len(),
                defects,
                reminders
            );
            text.push_str(&site.governance.summary());
            text.push('\n');
            for f in &report.findings {
                text.push_str(&crate::report::format_finding(f, &style));
            }
            print(out, &text)?;
        }
    }
    Ok(if report.has_defects() {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

/// `imprimatur status --mine --key FILE` (or `--agent`): the writer's own pages — those the key's reviewer
/// signed a submit for (any version, counted or not), or that name them in the current
/// draft's front matter as `author` (an id or a list of ids). Writes the whole site's
/// `reports/status.json`, as `status` does; prints only those pages and their findings.
pub fn status_mine(
    site_root: &Path,
    now: Instant,
    format: Format,
    key: &crate::trust::signer::KeySource,
    quiet: bool,
    out: &mut dyn Write,
) -> Result<i32> {
    let progress = Reporter::for_stderr(quiet);
    let site = load_site_watched(site_root, &progress)?;
    let who = crate::trust::signer::reviewer_of(key, &site.keyring)?;
    let eval = site.evaluate_watched(now, &site.config.audiences, &progress);
    let extra = crate::publish::build::check_without_building(&site, &eval, None)?;
    let mut report = StatusReport::from_evaluation(&eval, &extra).with_governance(&site.governance);
    crate::fs::write_file(
        &site.config.reports_dir.join("status.json"),
        report.to_json().as_bytes(),
    )?;
    let mine: Vec<String> = eval
        .pages
        .iter()
        .filter(|p| {
            let submitted = p.records.iter().any(|r| {
                r.record.kind == crate::trust::record::Kind::Submit && r.record.reviewer == who
            });
            let authored = p.front().is_ok_and(|f| match f.extra.get("author") {
                Some(serde_json::Value::String(a)) => *a == who,
                Some(serde_json::Value::Array(list)) => list.iter().any(|a| a == who.as_str()),
                _ => false,
            });
            submitted || authored
        })
        .map(|p| p.page.id.clone())
        .collect();
    report.only(&mine);
    match format {
        Format::Json => print(out, &report.to_json())?,
        Format::Text if mine.is_empty() => print(
            out,
            &format!("no pages of '{who}': none submitted by them, none naming them as author\n"),
        )?,
        Format::Text => print(out, &report.to_text(&mine, &Style::detect()))?,
    }
    Ok(EXIT_OK)
}
