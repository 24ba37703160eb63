//! Markdown → safe HTML for help-center pages.
//! Headings get stable, unique ids (and a table of contents) so pages can be deep-linked,
//! and every relative link is resolved by the caller so a published page never links to,
//! or even names, a page that is not published.

use crate::site::budget::{self, OverBudget};
use pulldown_cmark::{Event, Options, Parser};

mod headings;
pub(crate) mod highlight;
use headings::assign_heading_ids;
pub use headings::slugify;
use highlight::highlight_code_blocks;
mod links;
use links::resolve_links;
mod sanitize;
use sanitize::{is_inherently_safe, sanitizer};
mod text;
use text::plain_text;
#[cfg(test)]
mod tests;

#[derive(Debug, Clone, Default)]
pub struct MarkdownOptions {
    /// Trusted sources may embed raw HTML; everything else is sanitized.
    pub raw_html_allowed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TocEntry {
    pub level: u8,
    pub id: String,
    pub title: String,
}

/// What the caller decides for one relative link or image destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkResolution {
    Keep,
    Rewrite(String),
    Unpublished,
}

#[derive(Debug, Clone, Default)]
pub struct Rendered {
    pub html: String,
    pub toc: Vec<TocEntry>,
    /// plain text of the page (no markup), whitespace-collapsed, for a search index
    pub text: String,
    /// destinations for which `resolve` answered Unpublished, in document order, deduplicated
    pub unpublished_links: Vec<String>,
}

/// Renders a page body (front matter already stripped).
///
/// `resolve` is consulted for every relative link/image destination, exactly as written
/// (including any `#fragment` or `?query`); anchors, root-relative paths and URLs with a
/// scheme are left alone.
///
/// A page over its rendering budget ([`budget`]) is refused before the costly steps.
pub fn render(
    markdown: &str,
    options: &MarkdownOptions,
    resolve: &dyn Fn(&str) -> LinkResolution,
) -> Result<Rendered, OverBudget> {
    let events = budgeted_events(markdown)?;
    let (events, toc) = assign_heading_ids(events);
    let (events, unpublished_links) = resolve_links(events, resolve);
    let text = plain_text(&events);
    // pulldown-cmark escapes text and attribute values itself; what it passes through
    // unescaped is raw HTML, and what a browser may run is a link with a script scheme or a
    // heading attribute. A page with none of those needs no HTML re-parse (the costly part of
    // a build); any other page goes through ammonia.
    let needs_sanitizer = !options.raw_html_allowed && !is_inherently_safe(&events);
    // After the safety check: the spans are made from escaped code text, not by the author.
    let events = highlight_code_blocks(events);

    let mut html = String::with_capacity(markdown.len() + markdown.len() / 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    if needs_sanitizer {
        html = sanitizer().clean(&html).to_string();
    }

    Ok(Rendered {
        html,
        toc,
        text,
        unpublished_links,
    })
}

/// The page's events, counted against its budget as they are parsed: tables are counted
/// from the source first, before the parser completes every line of one into a full row.
fn budgeted_events(markdown: &str) -> Result<Vec<Event<'_>>, OverBudget> {
    budget::check_tables(markdown)?;
    let mut counter = budget::Counter::default();
    Parser::new_ext(markdown, parser_options())
        .map(|event| counter.count(&event).map(|()| event))
        .collect()
}

/// The destinations of links and images that `resolve` answers `Unpublished` for, without
/// rendering any HTML: what `verify` and `status` need to report broken links.
pub fn unpublished_links(
    markdown: &str,
    resolve: &dyn Fn(&str) -> LinkResolution,
) -> Result<Vec<String>, OverBudget> {
    Ok(resolve_links(budgeted_events(markdown)?, resolve).1)
}

fn parser_options() -> Options {
    crate::site::budget::parser_options()
}
