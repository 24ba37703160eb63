//! The human reports: `reports/index.html`, a dashboard a space manager reads at a glance
//! (counts by status per space, the review queue with ages and who it waits on, outdated
//! pages, findings), and `reports/summary.md`, the same in Markdown for CI logs.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::report::outdated::OutdatedReport;
use crate::report::StatusReport;
use crate::review::{FindingKind, Status};
use crate::site::Evaluation;
use crate::time;

const STATUSES: [Status; 8] = [
    Status::Published,
    Status::Outdated,
    Status::Pending,
    Status::Approved,
    Status::Scheduled,
    Status::Rejected,
    Status::Expired,
    Status::Draft,
];

#[derive(Serialize)]
struct Count {
    status: Status,
    count: usize,
}

#[derive(Serialize)]
struct SpaceRow {
    id: String,
    title: String,
    counts: Vec<usize>,
    total: usize,
}

#[derive(Serialize)]
struct QueueRow {
    id: String,
    title: String,
    step: String,
    step_number: usize,
    step_count: usize,
    waiting_on: Vec<String>,
    submitter: String,
    pending_since: String,
    age_days: i64,
    escalated: bool,
}

#[derive(Serialize)]
struct OutdatedRow {
    id: String,
    title: String,
    live_since: String,
    state: String,
}

#[derive(Serialize)]
struct FindingRow {
    kind: &'static str,
    page: Option<String>,
    file: Option<String>,
    detail: String,
    defect: bool,
}

#[derive(Serialize)]
pub struct Dashboard {
    title: String,
    now: String,
    page_count: usize,
    defect_count: usize,
    reminder_count: usize,
    notification_count: usize,
    statuses: Vec<Status>,
    totals: Vec<Count>,
    spaces: Vec<SpaceRow>,
    queue: Vec<QueueRow>,
    outdated: Vec<OutdatedRow>,
    findings: Vec<FindingRow>,
}

impl Dashboard {
    pub fn new(
        title: &str,
        eval: &Evaluation,
        status: &StatusReport,
        outdated: &OutdatedReport,
        space_titles: &BTreeMap<String, String>,
        notification_count: usize,
    ) -> Dashboard {
        let mut per_space: BTreeMap<&str, BTreeMap<Status, usize>> = BTreeMap::new();
        for p in &status.pages {
            *per_space
                .entry(&p.space)
                .or_default()
                .entry(p.status)
                .or_default() += 1;
        }
        let totals = STATUSES
            .iter()
            .map(|s| Count {
                status: *s,
                count: status.pages.iter().filter(|p| p.status == *s).count(),
            })
            .filter(|c| c.count > 0)
            .collect();
        let spaces = per_space
            .iter()
            .map(|(id, counts)| SpaceRow {
                id: id.to_string(),
                title: space_titles
                    .get(*id)
                    .cloned()
                    .unwrap_or_else(|| id.to_string()),
                counts: STATUSES
                    .iter()
                    .map(|s| counts.get(s).copied().unwrap_or(0))
                    .collect(),
                total: counts.values().sum(),
            })
            .collect();
        let escalated: std::collections::BTreeSet<&str> = status
            .findings
            .iter()
            .filter(|f| f.kind == FindingKind::Escalation)
            .filter_map(|f| f.page.as_deref())
            .collect();
        let mut queue: Vec<QueueRow> = eval
            .pages
            .iter()
            .filter_map(|p| {
                let r = p.review()?.in_review.as_ref()?;
                Some(QueueRow {
                    id: p.page.id.clone(),
                    title: p
                        .front
                        .as_ref()
                        .map(|f| f.title.clone())
                        .unwrap_or_else(|_| p.page.id.clone()),
                    step: r.step.clone(),
                    step_number: r.step_number,
                    step_count: r.step_count,
                    waiting_on: r.waiting_on.clone(),
                    submitter: r.submitter.clone(),
                    pending_since: time::format_human(&r.submitted_at),
                    age_days: (eval.now - r.submitted_at).num_days(),
                    escalated: escalated.contains(p.page.id.as_str()),
                })
            })
            .collect();
        queue.sort_by(|a, b| b.age_days.cmp(&a.age_days).then_with(|| a.id.cmp(&b.id)));
        let outdated = outdated
            .pages
            .iter()
            .map(|o| OutdatedRow {
                id: o.id.clone(),
                title: o.title.clone().unwrap_or_else(|| o.id.clone()),
                live_since: o.live_since.clone(),
                state: o.current_state.to_string(),
            })
            .collect();
        let findings: Vec<FindingRow> = status
            .findings
            .iter()
            .map(|f| FindingRow {
                kind: f.kind.as_str(),
                page: f.page.clone(),
                file: f.file.clone(),
                detail: f.detail.clone(),
                defect: f.is_defect(),
            })
            .collect();
        Dashboard {
            title: title.to_string(),
            now: status.now.clone(),
            page_count: status.pages.len(),
            defect_count: findings.iter().filter(|f| f.defect).count(),
            reminder_count: findings.iter().filter(|f| !f.defect).count(),
            notification_count,
            statuses: STATUSES.to_vec(),
            totals,
            spaces,
            queue,
            outdated,
            findings,
        }
    }

    pub fn to_html(&self) -> String {
        let context = tera::Context::from_serialize(self).expect("the dashboard serializes");
        tera::Tera::one_off(include_str!("dashboard.html"), &context, true)
            .expect("the built-in dashboard template renders")
    }

    pub fn to_markdown(&self) -> String {
        let mut md = format!(
            "# Review summary — {}\n\nAs of {}: {} pages",
            self.title, self.now, self.page_count
        );
        for c in &self.totals {
            md.push_str(&format!(", {} {}", c.count, c.status));
        }
        md.push_str(&format!(
            ". {} defect(s), {} reminder(s).\n\n",
            self.defect_count, self.reminder_count
        ));
        md.push_str("| Space |");
        for s in &self.statuses {
            md.push_str(&format!(" {s} |"));
        }
        md.push_str(" total |\n|---|");
        md.push_str(&"---:|".repeat(self.statuses.len() + 1));
        md.push('\n');
        for s in &self.spaces {
            md.push_str(&format!("| {} (`{}`) |", cell(&s.title), s.id));
            for n in &s.counts {
                md.push_str(&format!(" {n} |"));
            }
            md.push_str(&format!(" {} |\n", s.total));
        }
        md.push_str(&format!("\n## Review queue ({})\n\n", self.queue.len()));
        if self.queue.is_empty() {
            md.push_str("Nothing is waiting for review.\n");
        } else {
            md.push_str("| Page | Step | Waiting on | Submitted | Age |\n|---|---|---|---|---:|\n");
            for q in &self.queue {
                md.push_str(&format!(
                    "| `{}` | {} ({}/{}){} | {} | {} by {} | {} d |\n",
                    q.id,
                    cell(&q.step),
                    q.step_number,
                    q.step_count,
                    if q.escalated { " **escalated**" } else { "" },
                    q.waiting_on.join(", "),
                    q.pending_since,
                    q.submitter,
                    q.age_days
                ));
            }
        }
        md.push_str(&format!(
            "\n## Outdated live pages ({})\n\n",
            self.outdated.len()
        ));
        for o in &self.outdated {
            md.push_str(&format!(
                "- `{}`: live since {}; its draft is {}\n",
                o.id, o.live_since, o.state
            ));
        }
        md.push_str(&format!("\n## Findings ({})\n\n", self.findings.len()));
        if self.findings.is_empty() {
            md.push_str("No findings.\n");
        }
        for f in &self.findings {
            let page = f
                .page
                .as_ref()
                .map(|p| format!(" `{p}`"))
                .unwrap_or_default();
            let file = f
                .file
                .as_ref()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default();
            md.push_str(&format!(
                "- **{}**{page}{file}: {}\n",
                f.kind,
                f.detail.replace('\n', " ")
            ));
        }
        md
    }
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
