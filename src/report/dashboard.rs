//! The human reports: `reports/index.html`, a dashboard a space manager reads at a glance
//! (counts by status per space, the pages behind every count, each linked to its review page,
//! the review queue with ages and who it waits on, outdated pages, findings), and
//! `reports/summary.md`, the same in Markdown for CI logs.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::report::inbox::ReviewLink;
use crate::report::outdated::OutdatedReport;
use crate::report::StatusReport;
use crate::site::{Evaluation, PageEvaluation};
use crate::time;
use crate::trust::record::Kind;
use crate::trust::review::{FindingKind, Liveness, Offline, Outcome, ReviewState, Status};

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

/// The statuses whose pages the dashboard lists, each behind its count, in the order they
/// need someone: the review queue first, what is live last.
const LISTED: [Status; 9] = [
    Status::Pending,
    Status::Rejected,
    Status::Approved,
    Status::Scheduled,
    Status::Outdated,
    Status::Expired,
    Status::Draft,
    Status::Unpublished,
    Status::Published,
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
    /// The page's review page, when the site set a `review_url`.
    review: Option<String>,
    step: String,
    step_number: usize,
    step_count: usize,
    waiting_on: Vec<String>,
    submitter: String,
    pending_since: String,
    age_days: i64,
    escalated: bool,
}

/// The pages of one status, behind its count.
#[derive(Serialize)]
struct StatusGroup<'a> {
    status: Status,
    count: usize,
    /// Where the group's rows go in the page: a marker, replaced by the rows rendered a
    /// chunk at a time (`dashboard-rows.html`).
    rows: String,
    /// Its `count` pages, whose rows are made a chunk at a time too: a row of every page
    /// held at once was ~95 MB of a 100,000-page build.
    #[serde(skip)]
    pages: Vec<&'a PageEvaluation>,
}

/// What a page's row is made with besides the page.
struct RowContext<'a> {
    escalated: std::collections::BTreeSet<&'a str>,
    space_titles: &'a BTreeMap<String, String>,
}

/// Pages whose rows are rendered from one template context.
const ROWS_AT_A_TIME: usize = 512;

/// One page behind a count: what holds it, or when it goes live, and its review page.
#[derive(Serialize)]
struct PageRow {
    id: String,
    title: String,
    space: String,
    /// The page's review page, when the site set a `review_url`.
    review: Option<String>,
    state: ReviewState,
    /// The version in review: its step, who it waits on, since when, by whom.
    in_review: Option<InReviewRow>,
    rejection: Option<RejectionRow>,
    /// When an approved, scheduled version goes live (`publish_at`).
    publish_at: Option<String>,
    /// What is live, and since when.
    live_url: Option<String>,
    live_since: Option<String>,
    approved_at: Option<String>,
    /// Approval expired (`review_due`), page expired, or taken down: when, and by whom.
    expired_at: Option<String>,
    taken_down: Option<String>,
}

#[derive(Serialize)]
struct InReviewRow {
    step: String,
    step_number: usize,
    step_count: usize,
    waiting_on: Vec<String>,
    submitter: String,
    since: String,
    escalated: bool,
    /// The version in review is not the current draft (the draft changed after the submit).
    earlier_version: bool,
}

#[derive(Serialize)]
struct RejectionRow {
    step: String,
    by: String,
    at: String,
    comment: Option<String>,
    discarded: bool,
}

#[derive(Serialize)]
struct OutdatedRow {
    id: String,
    title: String,
    /// The page's review page, when the site set a `review_url`.
    review: Option<String>,
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
pub struct Dashboard<'a> {
    title: String,
    now: String,
    page_count: usize,
    defect_count: usize,
    reminder_count: usize,
    notification_count: usize,
    statuses: Vec<Status>,
    totals: Vec<Count>,
    groups: Vec<StatusGroup<'a>>,
    /// `None`: the dashboard says how to open a review (`imprimatur serve`) instead.
    review_url: Option<String>,
    spaces: Vec<SpaceRow>,
    queue: Vec<QueueRow>,
    outdated: Vec<OutdatedRow>,
    findings: Vec<FindingRow>,
    #[serde(skip)]
    row_context: RowContext<'a>,
}

impl<'a> Dashboard<'a> {
    pub fn new(
        title: &str,
        eval: &'a Evaluation,
        status: &'a StatusReport,
        outdated: &OutdatedReport,
        space_titles: &'a BTreeMap<String, String>,
        notification_count: usize,
        review_url: Option<&str>,
    ) -> Dashboard<'a> {
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
                    review: ReviewLink::of(review_url, &p.page.id)
                        .url()
                        .map(str::to_string),
                    title: p
                        .front()
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
                review: ReviewLink::of(review_url, &o.id).url().map(str::to_string),
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
        let groups = LISTED
            .iter()
            .map(|&status| {
                let pages: Vec<&PageEvaluation> =
                    eval.pages.iter().filter(|p| p.status() == status).collect();
                StatusGroup {
                    status,
                    count: pages.len(),
                    rows: format!("<!--imprimatur-dashboard-rows:{status}-->"),
                    pages,
                }
            })
            .filter(|g| !g.pages.is_empty())
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
            groups,
            review_url: review_url.map(str::to_string),
            spaces,
            queue,
            outdated,
            findings,
            row_context: RowContext {
                escalated,
                space_titles,
            },
        }
    }

    /// The dashboard's HTML into `out`: the page around the rows from one context, then
    /// each group's rows from a context of a few hundred pages at a time, so that no
    /// context of every page is ever made (at 100,000 pages it was 150 MB).
    pub fn write_html(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        self.write_html_by(out, ROWS_AT_A_TIME)
    }

    fn write_html_by(
        &self,
        out: &mut dyn std::io::Write,
        rows_at_a_time: usize,
    ) -> std::io::Result<()> {
        let RowContext {
            escalated,
            space_titles,
        } = &self.row_context;
        self.write_html_with(out, rows_at_a_time, &|g, range| {
            self.groups[g].pages[range]
                .iter()
                .map(|p| page_row(p, escalated, space_titles, self.review_url.as_deref()))
                .collect()
        })
    }

    /// [`Dashboard::write_html_by`] with the rows of group `g`'s pages in `range` made by
    /// `rows`.
    fn write_html_with(
        &self,
        out: &mut dyn std::io::Write,
        rows_at_a_time: usize,
        rows_of: &dyn Fn(usize, std::ops::Range<usize>) -> Vec<PageRow>,
    ) -> std::io::Result<()> {
        let context = tera::Context::from_serialize(self).expect("the dashboard serializes");
        let page = tera::Tera::one_off(include_str!("dashboard.html"), &context, true)
            .expect("the built-in dashboard template renders");
        let mut rows = tera::Tera::default();
        rows.add_raw_template("rows.html", include_str!("dashboard-rows.html"))
            .expect("the built-in rows template parses");
        let mut rest = page.as_str();
        for (n, g) in self.groups.iter().enumerate() {
            let Some((before, after)) = rest.split_once(&g.rows) else {
                continue;
            };
            out.write_all(before.as_bytes())?;
            for start in (0..g.count).step_by(rows_at_a_time.max(1)) {
                let chunk = rows_of(n, start..g.count.min(start.saturating_add(rows_at_a_time)));
                let mut context = tera::Context::new();
                context.insert("g", &serde_json::json!({ "status": g.status }));
                context.insert("pages", &chunk);
                let html = rows
                    .render("rows.html", &context)
                    .expect("the built-in rows template renders");
                out.write_all(html.as_bytes())?;
            }
            rest = after;
        }
        out.write_all(rest.as_bytes())
    }

    /// The summary in Markdown. Page ids, file names, titles and finding details come from
    /// pages and records that anyone may write, so every one of them goes through `text` or
    /// `code` (and `cell` inside a table): none can end a table row, start a heading, or
    /// become a link or HTML where GitHub or a CI log renders the summary.
    pub fn to_markdown(&self) -> String {
        let mut md = format!(
            "# Review summary — {}\n\nAs of {}: {} pages",
            text(&self.title),
            self.now,
            self.page_count
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
            md.push_str(&format!("| {} ({}) |", text(&s.title), cell(&code(&s.id))));
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
                    "| {} | {} ({}/{}){} | {} | {} by {} | {} d |\n",
                    cell(&code(&q.id)),
                    text(&q.step),
                    q.step_number,
                    q.step_count,
                    if q.escalated { " **escalated**" } else { "" },
                    text(&q.waiting_on.join(", ")),
                    q.pending_since,
                    text(&q.submitter),
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
                "- {}: live since {}; its draft is {}\n",
                code(&o.id),
                o.live_since,
                o.state
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
                .map(|p| format!(" {}", code(p)))
                .unwrap_or_default();
            let file = f
                .file
                .as_ref()
                .map(|p| format!(" ({})", code(p)))
                .unwrap_or_default();
            md.push_str(&format!(
                "- **{}**{page}{file}: {}\n",
                f.kind,
                text(&f.detail)
            ));
        }
        md
    }
}

/// A page behind a count, with what the dashboard says about it. Read from the page's review:
/// never decided again here.
fn page_row(
    p: &PageEvaluation,
    escalated: &std::collections::BTreeSet<&str>,
    space_titles: &BTreeMap<String, String>,
    review_url: Option<&str>,
) -> PageRow {
    let review = p.review();
    let state = review.map_or(ReviewState::Draft, |r| r.current_state);
    let in_review = review
        .and_then(|r| r.in_review.as_ref())
        .map(|r| InReviewRow {
            step: r.step.clone(),
            step_number: r.step_number,
            step_count: r.step_count,
            waiting_on: r.waiting_on.clone(),
            submitter: r.submitter.clone(),
            since: time::format_human(&r.submitted_at),
            escalated: escalated.contains(p.page.id.as_str()),
            earlier_version: r.version != p.page.version,
        });
    let current = review.and_then(|r| r.versions.get(&p.page.version));
    let rejection = current.and_then(|v| {
        let Outcome::Rejected { step, discard } = &v.outcome else {
            return None;
        };
        let record = v
            .history
            .iter()
            .rev()
            .map(|&i| &p.records[i].record)
            .find(|r| r.kind == Kind::Reject)?;
        Some(RejectionRow {
            step: step.clone(),
            by: record.reviewer.clone(),
            at: time::format_human(&record.signed_at),
            comment: record.comment.clone(),
            discarded: *discard,
        })
    });
    let publish_at = (state == ReviewState::Scheduled)
        .then(|| p.front().ok().and_then(|f| f.publish_at))
        .flatten()
        .map(|at| time::format_human(&at));
    let approved_at = current
        .and_then(|v| v.approval())
        .map(|(at, _)| time::format_human(&at));
    let live = p.live();
    let (expired_at, taken_down) = match review.map(|r| &r.live) {
        Some(Liveness::Live(l)) => (
            l.version.review_due_at.map(|at| time::format_human(&at)),
            None,
        ),
        Some(Liveness::Offline(Offline::Expired { at, .. })) => {
            (Some(time::format_human(at)), None)
        }
        Some(Liveness::Offline(Offline::TakenDown { at, by })) => {
            (None, Some(format!("{} by {by}", time::format_human(at))))
        }
        _ => (None, None),
    };
    PageRow {
        id: p.page.id.clone(),
        title: p
            .front()
            .map(|f| f.title.clone())
            .unwrap_or_else(|_| p.page.id.clone()),
        space: space_titles
            .get(&p.page.space)
            .cloned()
            .unwrap_or_else(|| p.page.space.clone()),
        review: ReviewLink::of(review_url, &p.page.id)
            .url()
            .map(str::to_string),
        state,
        in_review,
        rejection,
        publish_at,
        live_url: live.map(|l| l.url.clone()),
        live_since: live.map(|l| time::format_human(&l.version.published_at)),
        approved_at,
        expired_at,
        taken_down,
    }
}

/// Characters Markdown or HTML could read as syntax in running text. CommonMark lets any of
/// them be escaped with a backslash; the rest of ASCII punctuation stays readable in a CI log.
const MARKDOWN_SYNTAX: &[char] = &[
    '\\', '`', '*', '_', '[', ']', '<', '>', '&', '|', '#', '~', '!',
];

/// Line breaks and other control characters: they would end a table row or a list item.
fn breaks_a_line(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

/// Untrusted text as plain Markdown text: syntax characters escaped, one line.
fn text(untrusted: &str) -> String {
    let mut out = String::with_capacity(untrusted.len());
    for c in untrusted.chars() {
        if breaks_a_line(c) {
            out.push(' ');
        } else {
            if MARKDOWN_SYNTAX.contains(&c) {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

/// Untrusted text as a code span: fenced with one more backtick than the longest run of
/// them inside, so a backtick in a file name can't close the span early; one line.
fn code(untrusted: &str) -> String {
    let one_line: String = untrusted
        .chars()
        .map(|c| if breaks_a_line(c) { ' ' } else { c })
        .collect();
    if one_line.trim().is_empty() {
        return text(&one_line);
    }
    let mut longest = 0;
    let mut run = 0;
    for c in one_line.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    // A span that starts or ends with a backtick needs a space inside its fence, which
    // CommonMark strips again.
    let pad = if one_line.starts_with('`') || one_line.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{one_line}{pad}{fence}")
}

/// Markdown (already one line) inside a table cell: a `|` would start the next cell. GFM
/// reads `\|` as a pipe even inside a code span.
fn cell(markdown: &str) -> String {
    markdown.replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(i: usize) -> PageRow {
        PageRow {
            id: format!("kb/page-{i:04}"),
            title: format!("Page {i} <script>x</script>"),
            space: "kb".into(),
            review: Some(format!("/_review/kb/page-{i:04}/")),
            state: ReviewState::Approved,
            in_review: None,
            rejection: None,
            publish_at: None,
            live_url: Some(format!("kb/page-{i:04}/")),
            live_since: Some("2026-11-01".into()),
            approved_at: None,
            expired_at: None,
            taken_down: None,
        }
    }

    #[test]
    fn rows_rendered_a_chunk_at_a_time_are_the_rows_of_one_context() {
        // Rows of pages 0..3, then 3..1203 (no page is needed to make a row here).
        let group = |status: Status, count: usize| StatusGroup {
            status,
            count,
            rows: format!("<!--imprimatur-dashboard-rows:{status}-->"),
            pages: Vec::new(),
        };
        let titles = BTreeMap::new();
        let board = Dashboard {
            title: "Help <center>".into(),
            now: "2026-11-21T12:00:00Z".into(),
            page_count: 1203,
            defect_count: 0,
            reminder_count: 0,
            notification_count: 0,
            statuses: STATUSES.to_vec(),
            totals: Vec::new(),
            groups: vec![group(Status::Outdated, 3), group(Status::Published, 1200)],
            review_url: Some("/_review/".into()),
            spaces: Vec::new(),
            queue: Vec::new(),
            outdated: Vec::new(),
            findings: Vec::new(),
            row_context: RowContext {
                escalated: Default::default(),
                space_titles: &titles,
            },
        };
        let first = [0, 3];
        let html = |by: usize| {
            let mut out = Vec::new();
            board
                .write_html_with(&mut out, by, &|g, range| {
                    range.map(|i| row(first[g] + i)).collect()
                })
                .unwrap();
            String::from_utf8(out).unwrap()
        };
        let whole = html(usize::MAX);
        assert_eq!(html(ROWS_AT_A_TIME), whole);
        assert_eq!(html(7), whole);
        assert_eq!(whole.matches("<tr><td><a class=\"title\"").count(), 1203);
        assert!(
            !whole.contains("imprimatur-dashboard-rows"),
            "no marker is left"
        );
        assert!(!whole.contains("<script>x"), "titles are escaped");
        assert!(whole.contains("Page 1202 &lt;script&gt;"));
        assert!(whole.contains("Outdated") || whole.contains("outdated"));
        // The rows sit inside their group's table, in order.
        let outdated = whole.find("kb/page-0002").unwrap();
        let published = whole.find("id=\"status-published\"").unwrap();
        assert!(outdated < published && published < whole.find("kb/page-0003").unwrap());
    }

    #[test]
    fn untrusted_text_is_escaped_and_kept_on_one_line() {
        assert_eq!(text("kb/install, alice"), "kb/install, alice");
        assert_eq!(
            text("<b>|[x](javascript:y)\n# h `c` *e* a_b & ~s~ !"),
            "\\<b\\>\\|\\[x\\](javascript:y) \\# h \\`c\\` \\*e\\* a\\_b \\& \\~s\\~ \\!"
        );
        assert_eq!(text("back\\slash\r\u{2028}"), "back\\\\slash  ");
    }

    #[test]
    fn code_spans_outlast_the_backticks_inside_them() {
        assert_eq!(code("kb/install"), "`kb/install`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("``x"), "``` ``x ```");
        assert_eq!(code("a\nb"), "`a b`");
        assert_eq!(cell(&code("x|y")), "`x\\|y`");
        assert_eq!(code(""), "");
    }
}
