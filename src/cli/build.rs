//! `imprimatur build`, with its progress on standard error (`progress`): a bar per long phase
//! on a terminal, one line per phase elsewhere.

use std::io::Write;
use std::path::Path;

use super::progress::Reporter;
use super::{check_notifications, print, Format, EXIT_FINDINGS, EXIT_OK};
use crate::error::Result;
use crate::report::Style;
use crate::time::Instant;

pub struct BuildOptions {
    pub audience: Option<String>,
    /// `--drafts --output DIR`: the drafts view, for a deploy preview, into `DIR`.
    pub drafts: Option<std::path::PathBuf>,
    pub strict: bool,
    pub format: Format,
    /// `--quiet`: no progress on standard error.
    pub quiet: bool,
}

/// `imprimatur build`: publish, write reports, print a summary (or status.json).
pub fn build(
    site_root: &Path,
    now: Instant,
    opts: &BuildOptions,
    out: &mut dyn Write,
) -> Result<i32> {
    check_notifications(site_root)?;
    let bar = Reporter::for_stderr(opts.quiet);
    if let Some(dir) = &opts.drafts {
        let summary = crate::publish::build::build_drafts(
            site_root,
            now,
            dir,
            &bar,
            &crate::report::build::BuildReports,
        )?;
        print(
            out,
            &format!(
                "wrote a drafts preview of {} page(s) to {} ({} files): every page at its current version, marked not approved and noindex; not for publishing\n",
                summary.pages,
                summary.output_dir.display(),
                summary.files
            ),
        )?;
        return Ok(EXIT_OK);
    }
    let request = crate::publish::build::BuildRequest {
        site_root,
        now,
        audience: opts.audience.as_deref(),
        progress: &bar,
    };
    let summary = crate::publish::build::build(&request, &crate::report::build::BuildReports)?;
    let report = &summary.report;
    match opts.format {
        Format::Json => print(out, &report.to_json())?,
        Format::Text => {
            let style = Style::detect();
            let mut text = format!(
                "published {} page(s) in {} space(s) to {}/ ({} files, {}); reports in {}/\n",
                summary.pages_published,
                summary.spaces_published,
                summary.output_dir,
                summary.files_written,
                if summary.output_replaced {
                    format!("{} rewritten", summary.files_rewritten)
                } else {
                    "unchanged".to_string()
                },
                summary.reports_dir
            );
            text.push_str(&crate::report::status_counts(report));
            if let Some(g) = &report.governance {
                text.push_str(&format!(
                    "governance: version {} signed by {} (root version {})\n",
                    g.version,
                    g.signers.join(", "),
                    g.root_version
                ));
                if !g.pinned {
                    text.push_str("WARNING: trust root not pinned: the root chain was taken from the repository itself; pass --trust-root sha256:... or set IMPRIMATUR_TRUST_ROOT (--strict fails on this)\n");
                }
            }
            for f in &report.findings {
                text.push_str(&crate::report::format_finding(f, &style));
            }
            print(out, &text)?;
        }
    }
    Ok(
        if opts.strict && (report.has_defects() || report.trust_root_unpinned()) {
            EXIT_FINDINGS
        } else {
            EXIT_OK
        },
    )
}
