//! The reports a build makes and writes, handed to it from above: publishing is a floor
//! below reports, so `publish::build` names only its trait [`Reporting`], and this floor
//! fills it in with the status report and the report files of SPEC §8.

use std::collections::BTreeMap;

use super::{make_build_reports, write_reports, Reports, StatusReport};
use crate::error::Result;
use crate::publish::build::Reporting;
use crate::publish::render::DraftBanner;
use crate::site::{Evaluation, Finding, Site};

/// The reports of `imprimatur build`: `status.json` and the rest under `reports/`.
pub struct BuildReports;

impl Reporting for BuildReports {
    type Status = StatusReport;
    type Made = Reports;

    fn make(
        &self,
        site: &Site,
        eval: &Evaluation,
        extra_findings: &[Finding],
    ) -> (StatusReport, Result<Reports>) {
        let report =
            StatusReport::from_evaluation(eval, extra_findings).with_governance(&site.governance);
        let made = make_build_reports(site, eval, &report);
        (report, made)
    }

    fn write(&self, site: &Site, made: Reports) -> Result<()> {
        write_reports(site, made)
    }

    fn draft_banners(&self, eval: &Evaluation) -> BTreeMap<String, DraftBanner> {
        draft_banners(&StatusReport::from_evaluation(eval, &[]))
    }
}

/// The banner over each page of the drafts view, by page id, from `report` (its
/// `review_url` is the renderer's to fill in).
pub fn draft_banners(report: &StatusReport) -> BTreeMap<String, DraftBanner> {
    report
        .pages
        .iter()
        .map(|s| {
            let banner = DraftBanner {
                status: s.status.as_str().to_string(),
                state: s.current_state.as_str().to_string(),
                step: s.step.clone(),
                step_number: s.step_number,
                step_count: s.step_count,
                waiting_on: s.waiting_on.clone(),
                published_version: s.published_version.as_ref().map(|v| v.to_string()),
                review_url: None,
                in_review: s.step.is_some(),
                // Only a version nobody submitted: a rejected or approved one has its review.
                submit_command: (s.step.is_none()
                    && s.current_state == crate::trust::review::ReviewState::Draft)
                    .then(|| crate::publish::render::submit_command(&s.id)),
            };
            (s.id.clone(), banner)
        })
        .collect()
}
