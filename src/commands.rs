//! What each subcommand does, in terms of the library (SPEC §8). `main.rs` parses arguments
//! into these calls and turns their result into an exit code; every function here returns the
//! code it wants (0, or 3 for findings) or an `Error` (1, or 2 for usage).

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};
use crate::report::{StatusReport, Style};
use crate::site::Site;
use crate::time::{self, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

pub const EXIT_OK: i32 = 0;
pub const EXIT_FINDINGS: i32 = 3;

pub fn resolve_now(flag: Option<&str>) -> Result<Instant> {
    time::resolve_now(flag).map_err(Error::Usage)
}

fn print(out: &mut dyn Write, text: &str) -> Result<()> {
    out.write_all(text.as_bytes())
        .map_err(|e| Error::io("<stdout>", e))
}

/// What `status` and `verify` both report: the site judged at `now`, with the findings a
/// build would add (broken links, output drift), without building.
fn judge(site_root: &Path, now: Instant) -> Result<(Site, StatusReport)> {
    let site = Site::load(site_root)?;
    let eval = site.evaluate(now, &site.config.audiences);
    let extra = crate::build::check_without_building(&site, &eval);
    let report = StatusReport::from_evaluation(&eval, &extra);
    Ok((site, report))
}

/// `imprimatur status`: judge every page, write `reports/status.json`, print the table.
pub fn status(
    site_root: &Path,
    now: Instant,
    format: Format,
    pages: &[String],
    out: &mut dyn Write,
) -> Result<i32> {
    let (site, report) = judge(site_root, now)?;
    let json = report.to_json();
    crate::atomic::write_file(
        &site.config.reports_dir.join("status.json"),
        json.as_bytes(),
    )?;
    let only: Vec<String> = pages
        .iter()
        .map(|p| crate::content::page_id_from_arg(p))
        .collect();
    for id in &only {
        if site.page(id).is_none() {
            return Err(Error::Refused(format!("no page '{id}' in content/")));
        }
    }
    match format {
        Format::Json => print(out, &json)?,
        Format::Text => print(out, &report.to_text(&only, &Style::detect()))?,
    }
    Ok(EXIT_OK)
}

/// `imprimatur verify`: keyring, policies and every record, without rendering. Exit 3 on
/// any defect finding.
pub fn verify(site_root: &Path, now: Instant, format: Format, out: &mut dyn Write) -> Result<i32> {
    let (site, report) = judge(site_root, now)?;
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

/// `imprimatur keygen`: a new secret key file; the last line printed is the public key.
pub fn keygen(path: &Path, out: &mut dyn Write) -> Result<i32> {
    let public = crate::keyfile::generate(path)?;
    print(
        out,
        &format!(
            "wrote {} (keep it secret; mode 0600)\nadd this public key to approvals/keyring.yaml:\n{public}\n",
            path.display()
        ),
    )?;
    Ok(EXIT_OK)
}

/// The signing commands: print the new record's path.
pub fn sign(req: &crate::signing::SignRequest, out: &mut dyn Write) -> Result<i32> {
    let path = crate::signing::sign(req)?;
    print(out, &format!("{path}\n"))?;
    Ok(EXIT_OK)
}

/// `imprimatur log PAGE`.
pub fn log(
    site_root: &Path,
    now: Instant,
    format: Format,
    page: &str,
    out: &mut dyn Write,
) -> Result<i32> {
    let site = Site::load(site_root)?;
    let log = crate::audit::page_log(&site, now, page)?;
    match format {
        Format::Json => {
            let mut json = serde_json::to_string_pretty(&log).expect("logs serialize");
            json.push('\n');
            print(out, &json)?
        }
        Format::Text => print(out, &log.to_text(&Style::detect()))?,
    }
    Ok(EXIT_OK)
}

pub struct BuildOptions {
    pub audience: Option<String>,
    pub strict: bool,
    pub format: Format,
}

/// `imprimatur build`: publish, write reports, print a summary (or status.json).
pub fn build(
    site_root: &Path,
    now: Instant,
    opts: &BuildOptions,
    out: &mut dyn Write,
) -> Result<i32> {
    let progress =
        opts.format == Format::Text && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let request = crate::build::BuildRequest {
        site_root,
        now,
        audience: opts.audience.as_deref(),
        progress,
    };
    let summary = crate::build::build(&request)?;
    let report = &summary.report;
    match opts.format {
        Format::Json => print(out, &report.to_json())?,
        Format::Text => {
            let style = Style::detect();
            let mut text = format!(
                "published {} page(s) in {} space(s) to {}/ ({} files); reports in {}/\n",
                summary.pages_published,
                summary.spaces_published,
                summary.output_dir,
                summary.files_written,
                summary.reports_dir
            );
            text.push_str(&crate::report::status_counts(report));
            for f in &report.findings {
                text.push_str(&crate::report::format_finding(f, &style));
            }
            print(out, &text)?;
        }
    }
    Ok(if opts.strict && report.has_defects() {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

/// `imprimatur init DIR`.
pub fn init(dir: &Path, now: Instant, out: &mut dyn Write) -> Result<i32> {
    let records = crate::init::init(dir, now)?;
    let d = dir.display();
    print(
        out,
        &format!(
            "created a site in {d}: 2 pages, a policy, a keyring, and your key in {d}/keys/me.pem (git-ignored)\n\
             signed: {}\n\
             next:\n  cd {d}\n  imprimatur build           # publishes the welcome page into output/\n  \
             imprimatur status          # writing-a-page is a draft\n  \
             imprimatur submit content/docs/writing-a-page.md --key keys/me.pem\n",
            records.join(", ")
        ),
    )?;
    Ok(EXIT_OK)
}
