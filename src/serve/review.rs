//! The reviewer's pages of `imprimatur serve`: `/_review/` (what waits on whom, oldest first,
//! `?reviewer=ID` for one person's queue) and `/_review/<page id>` (the version in review
//! rendered beside the live one, a paragraph diff, the record history as `imprimatur log`
//! shows it, who it waits on, and the exact commands to approve or reject that version).
//! Served only by `serve`, on loopback by default; never written into `output/`.

use std::fmt::Write as _;

use crate::escape::html as escape;
use crate::publish::markdown::{self, LinkResolution, MarkdownOptions};
use crate::report::inbox;
use crate::report::StatusReport;
use crate::serve::diff;
use crate::site::{Evaluation, Site};
use crate::time;
use crate::trust::version::Version;

const STYLE: &str = r#"
:root { color-scheme: light dark; --bg:#fff; --fg:#1d2330; --muted:#5b6475; --line:#d9dee8; --card:#f6f8fb;
  --ins:#dff5e3; --ins-ink:#14532d; --del:#fde2e1; --del-ink:#7f1d1d; --chg:#fff6d6; --accent:#2451c7; }
@media (prefers-color-scheme: dark) { :root { --bg:#12151c; --fg:#e6e9ef; --muted:#9aa3b5; --line:#2c3342;
  --card:#1a1f2a; --ins:#113b22; --ins-ink:#bff0cc; --del:#4a1717; --del-ink:#ffd0cd; --chg:#3a3212; --accent:#8fb0ff; } }
* { box-sizing: border-box; }
body { margin:0; font:16px/1.55 system-ui,-apple-system,"Segoe UI",sans-serif; background:var(--bg); color:var(--fg); }
header.top { background:#7a1212; color:#fff; padding:.6rem 1rem; border-bottom:4px solid #f2c744; }
header.top a { color:#fff; }
main { max-width:78rem; margin:0 auto; padding:1rem; }
a { color:var(--accent); }
h1 { font-size:1.6rem; margin:.5rem 0; } h2 { font-size:1.2rem; margin-top:2rem; }
table { border-collapse:collapse; width:100%; } th,td { text-align:left; padding:.4rem .5rem; border-bottom:1px solid var(--line); vertical-align:top; }
.muted { color:var(--muted); } code { font-size:.9em; overflow-wrap:anywhere; }
.facts { display:grid; grid-template-columns:max-content 1fr; gap:.2rem 1rem; margin:0; } .facts dt { color:var(--muted); }
.cmd { background:var(--card); border:1px solid var(--line); border-radius:6px; padding:.6rem; overflow-x:auto; white-space:pre; }
.side { display:grid; grid-template-columns:1fr 1fr; gap:1rem; } @media (max-width:48rem) { .side { grid-template-columns:1fr; } }
.pane { border:1px solid var(--line); border-radius:8px; padding:0 1rem; background:var(--card); min-width:0; overflow-wrap:anywhere; }
.pane h3 { margin:.8rem 0 .2rem; font-size:.95rem; color:var(--muted); }
.diff__block { padding:.35rem .6rem; margin:.25rem 0; border-radius:4px; white-space:pre-wrap; overflow-wrap:anywhere; font-family:ui-monospace,monospace; font-size:.9rem; }
.diff__block--added { background:var(--ins); } .diff__block--removed { background:var(--del); } .diff__block--changed { background:var(--chg); }
ins { background:var(--ins); color:var(--ins-ink); text-decoration:none; } del { background:var(--del); color:var(--del-ink); }
.diff__fold summary { cursor:pointer; color:var(--muted); }
.counted-false { color:var(--muted); }
"#;

/// A whole page of the review area.
fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"robots\" content=\"noindex\">\n<title>{} · imprimatur review</title>\n<style>{STYLE}</style>\n<script src=\"/_imprimatur/reload.js\" defer></script>\n</head>\n<body>\n<header class=\"top\"><strong>Review</strong> — not a published page. <a href=\"/_review/\">Queue</a> · <a href=\"/_drafts/\">Drafts</a> · <a href=\"/\">Published site</a></header>\n<main>\n{body}</main>\n</body>\n</html>\n",
        escape(title)
    )
}

/// `/_review/`: every page in review, oldest first; only `reviewer`'s when given.
pub fn queue(
    site: &Site,
    eval: &Evaluation,
    report: &StatusReport,
    reviewer: Option<&str>,
) -> String {
    let items = inbox::in_review(site, eval, report, reviewer);
    let mut body = String::new();
    let heading = match reviewer {
        Some(r) => format!("Waiting on {}", escape(r)),
        None => "Everything in review".to_string(),
    };
    let _ = write!(
        body,
        "<h1>{heading}</h1>\n<p class=\"muted\">{} page(s), oldest first. Judged at {}. Filter: <code>?reviewer=ID</code>.</p>\n",
        items.len(),
        time::format_human(&eval.now)
    );
    if items.is_empty() {
        body.push_str("<p>Nothing waits for review.</p>\n");
        return page(&heading, &body);
    }
    body.push_str("<table>\n<thead><tr><th>Page</th><th>Step</th><th>Waiting on</th><th>Submitted by</th><th>Waiting since</th></tr></thead>\n<tbody>\n");
    for item in &items {
        let _ = writeln!(
            body,
            "<tr><td><a href=\"{href}\">{title}</a><br><code class=\"muted\">{id}</code></td><td>{step}</td><td>{waiting}</td><td>{by}</td><td>{since} <span class=\"muted\">({age})</span></td></tr>",
            href = escape(&inbox::review_link("/_review/", &item.page)),
            id = escape(&item.page),
            title = escape(item.title.as_deref().unwrap_or(&item.page)),
            step = escape(&item.step),
            waiting = escape(&item.waiting_on.join(", ")),
            by = escape(&item.submitted_by),
            since = escape(&item.waiting_since),
            age = escape(&item.age),
        );
    }
    body.push_str("</tbody>\n</table>\n");
    page(&heading, &body)
}

fn render_markdown(bytes: &[u8]) -> String {
    match crate::site::content::parse_page(bytes) {
        Ok((_, body)) => {
            // Relative links resolve to nothing here: a review page shows text, not a site.
            match markdown::render(body, &MarkdownOptions::default(), &|_| {
                LinkResolution::Unpublished
            }) {
                Ok(rendered) => rendered.html,
                Err(over) => format!(
                    "<p><strong>This version can't be rendered:</strong> {}</p>",
                    escape(&over.to_string())
                ),
            }
        }
        Err(why) => format!(
            "<p><strong>This version does not parse:</strong> {}</p>",
            escape(&why)
        ),
    }
}

fn body_of(bytes: &[u8]) -> String {
    match crate::site::content::parse_page(bytes) {
        Ok((front, body)) => format!("# {}\n\n{body}", front.title),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// `/_review/<id>`, or `None` when there is no such page.
pub fn page_review(
    site: &Site,
    eval: &Evaluation,
    report: &StatusReport,
    id: &str,
    decider: Option<&crate::serve::decide::Decider>,
) -> Option<String> {
    let p = eval.page(id)?;
    let status = report.pages.iter().find(|s| s.id == id)?;
    let review = p.review();
    let in_review = review.and_then(|r| r.in_review.as_ref());
    let live = p.live();
    let title = status.title.clone().unwrap_or_else(|| id.to_string());

    // The version a reviewer is asked about: the one in review, else the current draft.
    let (shown, shown_label): (Version, &str) = match in_review {
        Some(r) => (r.version.clone(), "Version in review"),
        None => (p.page.version.clone(), "Current version (not in review)"),
    };
    let shown_bytes: Option<Vec<u8>> = if shown == p.page.version {
        p.page.files().ok().map(|f| f.markdown.clone())
    } else {
        site.store.get_version(&shown).ok().map(|f| f.markdown)
    };
    let live_bytes = live.and_then(|l| Some(l.content.load().ok()?.files.markdown.clone()));

    let mut body = String::new();
    let _ = writeln!(body, "<p><a href=\"/_review/\">← Review queue</a></p>");
    let _ = writeln!(body, "<h1>{}</h1>", escape(&title));
    body.push_str("<dl class=\"facts\">\n");
    let mut fact = |k: &str, v: String| {
        let _ = writeln!(body, "<dt>{k}</dt><dd>{v}</dd>");
    };
    fact(
        "Page",
        format!("<code>{}</code> ({})", escape(id), escape(&p.page.source)),
    );
    fact("Status", escape(status.status.as_str()));
    fact(
        "Current version",
        format!(
            "<code>{}</code> — {}",
            escape(status.current_version.as_str()),
            escape(status.current_state.as_str())
        ),
    );
    if let Some(r) = in_review {
        fact(
            "In review",
            format!("<code>{}</code>", escape(r.version.as_str())),
        );
        fact(
            "Step",
            format!(
                "{} ({} of {}); open: {}",
                escape(&r.step),
                r.step_number,
                r.step_count,
                escape(&r.open_steps.join(", "))
            ),
        );
        fact("Waiting on", escape(&r.waiting_on.join(", ")));
        fact(
            "Submitted",
            format!(
                "by {} at {}",
                escape(&r.submitter),
                time::format_human(&r.submitted_at)
            ),
        );
    }
    fact(
        "Published",
        match live {
            Some(l) => format!(
                "<code>{}</code> at <a href=\"/{url}\">/{url}</a>",
                escape(l.version.version.as_str()),
                url = escape(&l.url)
            ),
            None => "nothing".into(),
        },
    );
    body.push_str("</dl>\n");

    body.push_str(&crate::serve::decide::panel(decider, site, p));

    body.push_str("<h2>Changes against the published version</h2>\n");
    match (&live_bytes, &shown_bytes) {
        (Some(old), Some(new)) => {
            let blocks = diff::diff(&body_of(old), &body_of(new));
            if diff::has_changes(&blocks) {
                body.push_str(&diff::to_html(&blocks));
            } else {
                body.push_str("<p>No change: this is the published text.</p>\n");
            }
        }
        (None, Some(_)) => body.push_str("<p>Nothing of this page is published yet: all of it is new.</p>\n"),
        (_, None) => body.push_str("<p><strong>The version in review can't be read from the store</strong> (missing or corrupt); see <code>imprimatur verify</code>.</p>\n"),
    }

    body.push_str("<h2>Side by side</h2>\n<div class=\"side\">\n");
    let _ = writeln!(
        body,
        "<section class=\"pane\"><h3>{shown_label} <code>{}</code></h3>\n{}</section>",
        escape(shown.short()),
        shown_bytes
            .as_deref()
            .map_or_else(|| "<p>unavailable</p>".to_string(), render_markdown)
    );
    let _ = writeln!(
        body,
        "<section class=\"pane\"><h3>Published{}</h3>\n{}</section>",
        live.map_or(String::new(), |l| format!(
            " <code>{}</code>",
            escape(l.version.version.short())
        )),
        live_bytes
            .as_deref()
            .map_or_else(|| "<p>Nothing published.</p>".to_string(), render_markdown)
    );
    body.push_str("</div>\n");

    body.push_str("<h2>Record history</h2>\n");
    match crate::report::log::page_log(site, eval.now, id, &Default::default()) {
        Ok(log) if !log.entries.is_empty() => {
            body.push_str("<table>\n<thead><tr><th>When</th><th>What</th><th>Who</th><th>Version</th><th>Counted</th></tr></thead>\n<tbody>\n");
            for e in &log.entries {
                let _ = writeln!(
                    body,
                    "<tr class=\"counted-{}\"><td>{}</td><td>{}{}{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                    e.counted,
                    escape(&e.signed_at),
                    escape(&e.kind),
                    e.step.as_deref().map_or(String::new(), |s| format!(" ({})", escape(s))),
                    e.comment.as_deref().map_or(String::new(), |c| format!("<br><q>{}</q>", escape(c))),
                    escape(&e.reviewer),
                    escape(e.version.get(..19).unwrap_or(&e.version)),
                    escape(&e.note),
                );
            }
            body.push_str("</tbody>\n</table>\n");
        }
        Ok(_) => body.push_str("<p>No records yet.</p>\n"),
        Err(e) => {
            let _ = writeln!(body, "<p>{}</p>", escape(&e.to_string()));
        }
    }
    Some(page(&title, &body))
}
