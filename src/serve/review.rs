//! The reviewer's pages of `imprimatur serve`: `/_review/` (what waits on whom, oldest first,
//! filtered by `?reviewer=ID`, `?space=` and `?step=`) and `/_review/<page id>` (the version in
//! review rendered beside the live one with the changed blocks marked, the Markdown diff one
//! click away, the record history as `imprimatur log` shows it, who it waits on, and the exact
//! commands to approve or reject that version, each with a copy button). Times read as people
//! say them ("3 days ago", against the judged `now`) with the exact time on hover. Both pages
//! fit a 390 px phone. Served only by `serve`, on loopback by default; never written into
//! `output/`.

use std::fmt::Write as _;

use crate::escape::html as escape;
use crate::report::inbox;
use crate::report::StatusReport;
use crate::serve::{diff, side};
use crate::site::{Evaluation, Site};
use crate::time::{self, Instant};
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
.cmd { background:var(--card); border:1px solid var(--line); border-radius:6px; padding:.6rem; white-space:pre-wrap; overflow-wrap:anywhere; }
.cmd__line { display:flex; gap:.5rem; align-items:flex-start; } .cmd__line + .cmd__line { margin-top:.5rem; padding-top:.5rem; border-top:1px dashed var(--line); }
.cmd__line > span { flex:1; min-width:0; user-select:all; }
button.copy { font:inherit; font-size:.8rem; padding:.1rem .5rem; border:1px solid var(--line); border-radius:4px; background:var(--bg); color:var(--fg); cursor:pointer; flex:none; }
.hash { user-select:all; }
.filters { display:flex; flex-wrap:wrap; gap:.5rem 1rem; align-items:end; margin:1rem 0; padding:.6rem; border:1px solid var(--line); border-radius:8px; background:var(--card); }
.filters label { display:flex; flex-direction:column; flex:1 1 10rem; min-width:0; font-size:.85rem; color:var(--muted); } .filters select { font:inherit; width:100%; min-width:0; }
.filters button { font:inherit; } .chips { margin:.5rem 0; }
time[title] { text-decoration:underline dotted; cursor:help; }
.facts dd { margin:0; min-width:0; }
@media (max-width:40rem) { .stack thead { display:none; } .stack tr { display:block; border-bottom:1px solid var(--line); padding:.4rem 0; }
  .stack td { display:block; border:0; padding:.1rem 0; } .stack td[data-label]::before { content:attr(data-label) ": "; color:var(--muted); }
  .facts { grid-template-columns:1fr; } .facts dt { margin-top:.4rem; } }
.side { display:grid; grid-template-columns:1fr 1fr; gap:1rem; } @media (max-width:48rem) { .side { grid-template-columns:1fr; } }
.pane { border:1px solid var(--line); border-radius:8px; padding:0 1rem; background:var(--card); min-width:0; overflow-wrap:break-word; }
.pane table { display:block; overflow-x:auto; max-width:100%; } .pane th, .pane td { overflow-wrap:normal; } .pane pre { overflow-x:auto; max-width:100%; } .pane img { max-width:100%; }
.blk { border-left:4px solid var(--accent); padding:.1rem .6rem; margin:.5rem 0; border-radius:0 4px 4px 0; }
.blk--added { border-left-color:#2f9e55; background:var(--ins); } .blk--removed { border-left-color:#c93c37; background:var(--del); } .blk--changed { border-left-color:#c99a1a; background:var(--chg); }
.blk__mark { display:inline-block; font-size:.75rem; font-weight:700; text-transform:uppercase; letter-spacing:.04em; margin-top:.3rem; }
.legend { font-size:.9rem; }
.pane h3 { margin:.8rem 0 .2rem; font-size:.95rem; color:var(--muted); }
.diff__block { padding:.35rem .6rem; margin:.25rem 0; border-radius:4px; white-space:pre-wrap; overflow-wrap:anywhere; font-family:ui-monospace,monospace; font-size:.9rem; }
.diff__block--added { background:var(--ins); } .diff__block--removed { background:var(--del); } .diff__block--changed { background:var(--chg); }
ins { background:var(--ins); color:var(--ins-ink); text-decoration:none; } del { background:var(--del); color:var(--del-ink); }
.diff__fold summary, .markdown-diff > summary { cursor:pointer; color:var(--muted); }
.markdown-diff > summary { color:var(--accent); font-weight:600; margin:1rem 0; }
.counted-false { color:var(--muted); }
form.decide { display:flex; flex-wrap:wrap; gap:.5rem .75rem; align-items:flex-end; border:1px solid var(--line); border-radius:8px; padding:.6rem .8rem; margin:.5rem 0; background:var(--card); }
form.decide label { display:flex; flex-direction:column; gap:.15rem; font-size:.85rem; color:var(--muted); }
form.decide label:has(input[type=checkbox]) { flex-direction:row; align-items:center; gap:.35rem; color:var(--fg); font-size:.95rem; }
form.decide input:not([type]) { font:inherit; padding:.35rem .5rem; border:1px solid var(--line); border-radius:6px; background:var(--bg); color:var(--fg); min-width:12rem; }
form.decide button[type=submit] { font:inherit; font-weight:600; padding:.45rem .9rem; border-radius:6px; border:1px solid var(--accent); background:var(--accent); color:var(--bg); cursor:pointer; }
form.decide-reject button[type=submit], form.decide-retract button[type=submit], form.decide-unpublish button[type=submit] { background:transparent; color:var(--del-ink); border-color:var(--del-ink); }
@media (max-width:30rem) { form.decide label:not(:has(input[type=checkbox])) { width:100%; } form.decide input:not([type]) { min-width:0; width:100%; } }
"#;

/// A whole page of the review area.
pub(crate) fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"robots\" content=\"noindex\">\n<title>{} · imprimatur review</title>\n<style>{STYLE}</style>\n<script src=\"/_imprimatur/reload.js\" defer></script>\n</head>\n<body>\n<header class=\"top\"><strong>Review</strong> — not a published page. <a href=\"/_review/\">Queue</a> · <a href=\"/_drafts/\">Drafts</a> · <a href=\"/\">Published site</a></header>\n<main>\n{body}</main>\n<script>{COPY_JS}</script>\n</body>\n</html>\n",
        escape(title)
    )
}

/// The copy buttons: every `data-copy` button copies its text, and each line of a
/// `<pre class="cmd">` gets one of its own (approve and reject are two commands, never one
/// paste). Without a clipboard (a page not served from a secure origin) the text is selected
/// for Ctrl-C instead. Without script the text is still there to select.
const COPY_JS: &str = r#"(function () {
  function select(node) { if (!node) return; var r = document.createRange(); r.selectNodeContents(node); var s = getSelection(); s.removeAllRanges(); s.addRange(r); }
  function say(button, word) { button.textContent = word; setTimeout(function () { button.textContent = "Copy"; }, 1500); }
  function copy(button) {
    var text = button.getAttribute("data-copy");
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { say(button, "Copied"); },
        function () { select(button.previousElementSibling); say(button, "Press Ctrl-C"); });
    } else { select(button.previousElementSibling); say(button, "Press Ctrl-C"); }
  }
  document.querySelectorAll("pre.cmd").forEach(function (pre) {
    var lines = pre.textContent.split("\n").filter(function (l) { return l.trim() !== ""; });
    pre.textContent = "";
    lines.forEach(function (line) {
      var row = document.createElement("span"), text = document.createElement("span"), b = document.createElement("button");
      row.className = "cmd__line"; text.textContent = line;
      b.type = "button"; b.className = "copy"; b.textContent = "Copy"; b.setAttribute("data-copy", line);
      row.appendChild(text); row.appendChild(b); pre.appendChild(row);
    });
  });
  document.addEventListener("click", function (e) { var b = e.target.closest("button[data-copy]"); if (b) copy(b); });
})();"#;

/// `<time>` for people: how long before the judged `now` (so a fixed `--now` renders the
/// same bytes), with the exact instant on hover and in `datetime`.
pub(crate) fn when(at: &Instant, now: &Instant) -> String {
    format!(
        "<time datetime=\"{}\" title=\"{}\">{}</time>",
        time::format_utc(at),
        time::format_human(at),
        time::relative(at, now)
    )
}

/// A hash or a command, selectable as a whole, with a copy button.
pub(crate) fn copyable(text: &str) -> String {
    format!(
        "<code class=\"hash\">{t}</code> <button type=\"button\" class=\"copy\" data-copy=\"{t}\">Copy</button>",
        t = escape(text)
    )
}

/// The queue's filters, read from its query string: `reviewer=` (whose queue), `space=` and
/// `step=`, the first non-empty value of each, decoded. Filtering is reading: a GET changes
/// nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct QueueFilter {
    pub reviewer: Option<String>,
    pub space: Option<String>,
    pub step: Option<String>,
}

impl QueueFilter {
    pub(crate) fn from_query(query: &str) -> QueueFilter {
        let mut filter = QueueFilter::default();
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match name.as_ref() {
                "reviewer" => &mut filter.reviewer,
                "space" => &mut filter.space,
                "step" => &mut filter.step,
                _ => continue,
            };
            if slot.is_none() && !value.is_empty() {
                *slot = Some(value.into_owned());
            }
        }
        filter
    }

    /// The part of a cache key the filter adds: every field, quoted, so no two filters share
    /// one.
    pub(crate) fn key(&self) -> String {
        format!("{:?}", (&self.reviewer, &self.space, &self.step))
    }

    /// `/_review/?…` with this filter and `reviewer` in place of its own.
    fn with_reviewer(&self, reviewer: Option<&str>) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("reviewer", reviewer),
            ("space", self.space.as_deref()),
            ("step", self.step.as_deref()),
        ] {
            if let Some(value) = value {
                query.append_pair(name, value);
            }
        }
        let query = query.finish();
        if query.is_empty() {
            "/_review/".to_string()
        } else {
            format!("/_review/?{query}")
        }
    }
}

/// A `<select>` of the filter form: "any" and each choice, the current one selected.
fn select(name: &str, label: &str, any: &str, choices: &[&str], current: Option<&str>) -> String {
    let mut html =
        format!("<label>{label}<select name=\"{name}\"><option value=\"\">{any}</option>");
    for choice in choices {
        let selected = if current == Some(*choice) {
            " selected"
        } else {
            ""
        };
        let _ = write!(html, "<option{selected}>{}</option>", escape(choice));
    }
    html.push_str("</select></label>");
    html
}

/// `/_review/`: every page in review, oldest first, narrowed by `filter`.
pub fn queue(
    site: &Site,
    eval: &Evaluation,
    report: &StatusReport,
    filter: &QueueFilter,
) -> String {
    let reviewer = filter.reviewer.as_deref();
    let everything = inbox::in_review(site, eval, report, None);
    let items: Vec<inbox::InboxItem> = inbox::in_review(site, eval, report, reviewer)
        .into_iter()
        .filter(|i| filter.space.as_ref().is_none_or(|s| &i.space == s))
        .filter(|i| filter.step.as_ref().is_none_or(|s| &i.step == s))
        .collect();
    let mut heading = match reviewer {
        Some(r) => format!("Waiting on {}", escape(r)),
        None => "Everything in review".to_string(),
    };
    if let Some(space) = &filter.space {
        let _ = write!(heading, " in {}", escape(space));
    }
    if let Some(step) = &filter.step {
        let _ = write!(heading, " at step {}", escape(step));
    }
    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>{heading}</h1>\n<p class=\"muted\">{} page(s), oldest first. Judged at {}.</p>\n",
        items.len(),
        time::format_human(&eval.now)
    );

    // "Mine": the server knows no one, so each reviewer something waits on is one click away.
    let mut waiting: std::collections::BTreeMap<&str, usize> = Default::default();
    for item in &everything {
        for who in &item.waiting_on {
            *waiting.entry(who.as_str()).or_default() += 1;
        }
    }
    if !waiting.is_empty() {
        body.push_str("<p class=\"chips\">Waiting on: ");
        for (who, n) in &waiting {
            let _ = write!(
                body,
                "<a href=\"{}\">{}</a> ({n}) · ",
                escape(&filter.with_reviewer(Some(who))),
                escape(who)
            );
        }
        let _ = writeln!(
            body,
            "<a href=\"{}\">everyone</a></p>",
            escape(&filter.with_reviewer(None))
        );
    }
    let reviewers: Vec<&str> = site.keyring.reviewers.keys().map(String::as_str).collect();
    let spaces: Vec<&str> = site.policies.keys().map(String::as_str).collect();
    let steps: std::collections::BTreeSet<&str> = site
        .policies
        .values()
        .flat_map(|p| p.steps.iter().map(|s| s.name.as_str()))
        .collect();
    let steps: Vec<&str> = steps.into_iter().collect();
    let _ = writeln!(
        body,
        "<form class=\"filters\" method=\"get\" action=\"/_review/\">{}{}{}<button type=\"submit\">Filter</button> <a href=\"/_review/\">Clear</a></form>",
        select("reviewer", "Waiting on", "anyone", &reviewers, reviewer),
        select("space", "Space", "every space", &spaces, filter.space.as_deref()),
        select("step", "Step", "every step", &steps, filter.step.as_deref()),
    );

    if items.is_empty() {
        body.push_str("<p>Nothing waits for review here.</p>\n");
        return page(&heading, &body);
    }
    body.push_str("<table class=\"stack\">\n<thead><tr><th>Page</th><th>Step</th><th>Waiting on</th><th>Submitted by</th><th>Waiting since</th></tr></thead>\n<tbody>\n");
    for item in &items {
        let since = time::parse_rfc3339(&item.waiting_since)
            .map_or_else(|| escape(&item.waiting_since), |at| when(&at, &eval.now));
        let _ = writeln!(
            body,
            "<tr><td><a href=\"{href}\">{title}</a><br><code class=\"muted\">{id}</code></td><td data-label=\"Step\">{step}</td><td data-label=\"Waiting on\">{waiting}</td><td data-label=\"Submitted by\">{by}</td><td data-label=\"Waiting since\">{since}</td></tr>",
            href = escape(&inbox::review_link("/_review/", &item.page)),
            id = escape(&item.page),
            title = escape(item.title.as_deref().unwrap_or(&item.page)),
            step = escape(&item.step),
            waiting = escape(&item.waiting_on.join(", ")),
            by = escape(&item.submitted_by),
        );
    }
    body.push_str("</tbody>\n</table>\n");
    page(&heading, &body)
}

fn body_of(bytes: &[u8]) -> String {
    match crate::site::content::parse_page(bytes) {
        Ok((front, body)) => format!("# {}\n\n{body}", front.title),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// A version's top-level blocks (its title first), or why they can't be shown: what is wrong
/// and the detail.
fn blocks_of(bytes: &[u8]) -> Result<Vec<String>, (&'static str, String)> {
    let (front, body) = crate::site::content::parse_page(bytes)
        .map_err(|why| ("This version does not parse", why))?;
    side::blocks(&front.title, body)
        .map_err(|over| ("This version can't be rendered", over.to_string()))
}

/// The two panes, published version first: each as readers will see it, with the blocks that
/// differ marked on both sides.
fn side_by_side(
    body: &mut String,
    live: Option<(&str, &[u8])>,
    shown: (&str, &str, Option<&[u8]>),
) {
    let (shown_label, shown_short, shown_bytes) = shown;
    let old = live.map(|(_, b)| blocks_of(b));
    let new = shown_bytes.map(blocks_of);
    let empty = Vec::new();
    let old_blocks = match &old {
        Some(Ok(b)) => b,
        _ => &empty,
    };
    let new_blocks = match &new {
        Some(Ok(b)) => b,
        _ => &empty,
    };
    let (old_marks, new_marks) = if live.is_some() {
        side::compare(old_blocks, new_blocks)
    } else {
        // Nothing published: all of it is new, and marking every block says nothing more.
        (Vec::new(), vec![side::Mark::Same; new_blocks.len()])
    };
    let legend = if live.is_some() {
        format!(
            "{} block(s) differ. Marked on both sides: <strong>+ Added</strong>, <strong>− Removed</strong>, <strong>± Changed</strong>.",
            side::changed_count(&old_marks, &new_marks)
        )
    } else {
        "Nothing of this page is published yet: all of it is new.".to_string()
    };
    let _ = writeln!(
        body,
        "<h2>The change, as readers will see it</h2>\n<p class=\"legend muted\">{legend}</p>\n<div class=\"side\">"
    );
    let pane = |label: String,
                blocks: &Option<Result<Vec<String>, (&'static str, String)>>,
                marks: &[side::Mark],
                none: &str| {
        let inner = match blocks {
            None => format!("<p>{none}</p>"),
            Some(Err((what, why))) => {
                format!("<p><strong>{what}:</strong> {}</p>", escape(why))
            }
            Some(Ok(b)) => side::to_html(b, marks),
        };
        format!("<section class=\"pane\"><h3>{label}</h3>\n{inner}</section>\n")
    };
    body.push_str(&pane(
        match live {
            Some((short, _)) => format!("Published <code>{}</code>", escape(short)),
            None => "Published".to_string(),
        },
        &old,
        &old_marks,
        "Nothing published.",
    ));
    body.push_str(&pane(
        format!("{shown_label} <code>{}</code>", escape(shown_short)),
        &new,
        &new_marks,
        "Unavailable: the version can't be read from the store.",
    ));
    body.push_str("</div>\n");
}

/// `/_review/<id>`, or `None` when there is no such page.
pub fn page_review(
    site: &Site,
    eval: &Evaluation,
    report: &StatusReport,
    id: &str,
    signing: crate::serve::decide::Signing,
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
            "{} — {}",
            copyable(status.current_version.as_str()),
            escape(status.current_state.as_str())
        ),
    );
    if let Some(r) = in_review {
        fact("In review", copyable(r.version.as_str()));
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
                "by {} {}",
                escape(&r.submitter),
                when(&r.submitted_at, &eval.now)
            ),
        );
    }
    fact(
        "Published",
        match live {
            Some(l) => format!(
                "<code>{}</code> at <a href=\"/{url}\">/{url}</a>",
                escape(l.version.version.short()),
                url = escape(&l.url)
            ),
            None => "nothing".into(),
        },
    );
    body.push_str("</dl>\n");

    body.push_str(&crate::serve::decide::panel(signing, site, p));

    side_by_side(
        &mut body,
        live.zip(live_bytes.as_deref())
            .map(|(l, bytes)| (l.version.version.short(), bytes)),
        (shown_label, shown.short(), shown_bytes.as_deref()),
    );

    // The Markdown itself, one click away: what changed in the source, word by word.
    match (&live_bytes, &shown_bytes) {
        (Some(old), Some(new)) => {
            let blocks = diff::diff(&body_of(old), &body_of(new));
            if diff::has_changes(&blocks) {
                let changed = blocks
                    .iter()
                    .filter(|b| !matches!(b, diff::Block::Same(_)))
                    .count();
                let _ = writeln!(
                    body,
                    "<details class=\"markdown-diff\"><summary>Markdown diff against the published version ({changed} paragraph(s))</summary>\n{}</details>",
                    diff::to_html(&blocks)
                );
            } else {
                body.push_str("<p>No change: this is the published text.</p>\n");
            }
        }
        (None, Some(_)) => body.push_str("<p>Nothing of this page is published yet: all of it is new.</p>\n"),
        (_, None) => body.push_str("<p><strong>The version in review can't be read from the store</strong> (missing or corrupt); see <code>imprimatur verify</code>.</p>\n"),
    }

    body.push_str("<h2>Record history</h2>\n");
    match crate::report::log::page_log(site, eval.now, id, &Default::default()) {
        Ok(log) if !log.entries.is_empty() => {
            body.push_str("<table class=\"stack\">\n<thead><tr><th>When</th><th>What</th><th>Who</th><th>Version</th><th>Counted</th></tr></thead>\n<tbody>\n");
            for e in &log.entries {
                let _ = writeln!(
                    body,
                    "<tr class=\"counted-{}\"><td>{}</td><td>{}{}{}</td><td data-label=\"Who\">{}</td><td data-label=\"Version\"><code>{}</code></td><td data-label=\"Counted\">{}</td></tr>",
                    e.counted,
                    time::parse_rfc3339(&e.signed_at)
                        .map_or_else(|| escape(&e.signed_at), |at| when(&at, &eval.now)),
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
