//! Markdown → safe HTML for help-center pages.
//! Headings get stable, unique ids (and a table of contents) so pages can be deep-linked,
//! and every relative link is resolved by the caller so a published page never links to,
//! or even names, a page that is not published.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use pulldown_cmark::{CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};

use crate::site::budget::{self, OverBudget};

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

/// URL schemes a rendered link may keep without the sanitizer looking at the page.
const SAFE_SCHEMES: &[&str] = &["http", "https", "mailto", "tel", "ftp", "ftps"];

/// True when pulldown-cmark's own output for these events is safe as it is: no raw HTML,
/// no link or image with a scheme outside `SAFE_SCHEMES`, no heading attribute but id/class.
fn is_inherently_safe(events: &[Event<'_>]) -> bool {
    events.iter().all(|event| match event {
        Event::Html(_) | Event::InlineHtml(_) => false,
        Event::Start(Tag::Link { dest_url, .. }) | Event::Start(Tag::Image { dest_url, .. }) => {
            let cleaned: String = dest_url
                .trim_start_matches(|c: char| c == ' ' || c.is_ascii_control())
                .chars()
                .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
                .collect();
            if names_markdown_source(&cleaned) {
                return false;
            }
            if !has_scheme(&cleaned) {
                return true;
            }
            let scheme = cleaned.split(':').next().unwrap_or("").to_ascii_lowercase();
            SAFE_SCHEMES.contains(&scheme.as_str())
        }
        Event::Start(Tag::Heading { attrs, .. }) => attrs.is_empty(),
        _ => true,
    })
}

/// Heading-id slug: lowercase, letters and ASCII digits kept, everything else collapsed
/// into single dashes. Never empty, so every heading stays addressable.
pub fn slugify(text: &str) -> String {
    let mut slug = String::with_capacity(text.len());
    // Starting "in a gap" drops leading separators without a trim pass.
    let mut pending_dash = false;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c.is_alphabetic() {
            if pending_dash && !slug.is_empty() {
                slug.push('-');
            }
            pending_dash = false;
            slug.extend(c.to_lowercase());
        } else {
            pending_dash = true;
        }
    }
    if slug.is_empty() {
        slug.push_str("section");
    }
    slug
}

fn parser_options() -> Options {
    crate::site::budget::parser_options()
}

/// Gives every heading a unique id and collects h2–h4 into the toc.
///
/// Explicit `{#id}`s are reserved up front so an author's chosen anchor is never taken by
/// an earlier auto-generated slug; footnote labels are reserved too because pulldown-cmark
/// uses them verbatim as element ids.
fn assign_heading_ids(mut events: Vec<Event<'_>>) -> (Vec<Event<'_>>, Vec<TocEntry>) {
    let mut reserved: HashSet<String> = HashSet::new();
    for event in &events {
        match event {
            Event::Start(Tag::Heading { id: Some(id), .. }) if !id.is_empty() => {
                reserved.insert(id.to_string());
            }
            Event::Start(Tag::FootnoteDefinition(label)) => {
                reserved.insert(label.to_string());
            }
            _ => {}
        }
    }

    let mut ids = HeadingIds {
        used: HashSet::new(),
        reserved,
        next_suffix: HashMap::new(),
    };
    let mut toc = Vec::new();
    let mut i = 0;
    while i < events.len() {
        let Event::Start(Tag::Heading { level, .. }) = &events[i] else {
            i += 1;
            continue;
        };
        let level = *level as u8;
        let end = events[i + 1..]
            .iter()
            .position(|e| matches!(e, Event::End(TagEnd::Heading(_))))
            .map_or(events.len(), |offset| i + 1 + offset);
        let title = collapse_whitespace(&inline_text(&events[i + 1..end]));

        if let Event::Start(Tag::Heading { id, attrs, .. }) = &mut events[i] {
            let custom = id.as_deref().filter(|c| !c.is_empty()).map(str::to_owned);
            let chosen = match custom {
                Some(c) if !ids.used.contains(&c) => c,
                Some(c) => ids.unique(c),
                None => ids.unique(slugify(&title)),
            };
            ids.used.insert(chosen.clone());
            *id = Some(CowStr::from(chosen.clone()));
            // An `{id=…}` attribute would emit a second id attribute and defeat uniqueness.
            attrs.retain(|(name, _)| !name.eq_ignore_ascii_case("id"));

            if (2..=4).contains(&level) {
                toc.push(TocEntry {
                    level,
                    id: chosen,
                    title,
                });
            }
        }
        i = end + 1;
    }
    (events, toc)
}

/// The heading ids of one page: those taken, those reserved, and for each base the next
/// suffix to try. Suffixes below it are known to be taken (ids are only ever added), so a
/// page repeating one heading 20,000 times takes 20,000 steps, not 200 million.
struct HeadingIds {
    used: HashSet<String>,
    reserved: HashSet<String>,
    next_suffix: HashMap<String, usize>,
}

impl HeadingIds {
    /// `base` if it is free, else `base-N` with the smallest free N.
    fn unique(&mut self, base: String) -> String {
        let free = |ids: &Self, candidate: &str| {
            !ids.used.contains(candidate) && !ids.reserved.contains(candidate)
        };
        if free(self, &base) {
            return base;
        }
        let mut n = self.next_suffix.get(&base).copied().unwrap_or(1);
        let chosen = loop {
            let candidate = format!("{base}-{n}");
            n += 1;
            if free(self, &candidate) {
                break candidate;
            }
        };
        self.next_suffix.insert(base, n);
        chosen
    }
}

/// Applies the caller's decisions to link and image destinations.
///
/// Unpublished links lose their `<a>` entirely (not just the href) and unpublished images
/// collapse to their alt text, so the destination and title never reach the HTML.
fn resolve_links<'a>(
    events: Vec<Event<'a>>,
    resolve: &dyn Fn(&str) -> LinkResolution,
) -> (Vec<Event<'a>>, Vec<String>) {
    let mut out = Vec::with_capacity(events.len());
    let mut unpublished: Vec<String> = Vec::new();
    // A set beside the list, so each link is one lookup: 80,000 links to unpublished pages
    // once took 7.4 s here, each compared with all the earlier ones.
    let mut seen: HashSet<String> = HashSet::new();
    let mut note_unpublished = |dest: &str| {
        if seen.insert(dest.to_owned()) {
            unpublished.push(dest.to_owned());
        }
    };
    // One entry per open link: whether its start tag was dropped, so the end tag can be too.
    let mut link_dropped: Vec<bool> = Vec::new();

    let mut iter = events.into_iter();
    while let Some(event) = iter.next() {
        match event {
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                let decision = decide(link_type, &dest_url, resolve);
                match decision {
                    LinkResolution::Unpublished => {
                        note_unpublished(&dest_url);
                        link_dropped.push(true);
                    }
                    other => {
                        link_dropped.push(false);
                        out.push(Event::Start(Tag::Link {
                            link_type,
                            dest_url: apply(other, dest_url),
                            title,
                            id,
                        }));
                    }
                }
            }
            Event::End(TagEnd::Link) => {
                if !link_dropped.pop().unwrap_or(false) {
                    out.push(Event::End(TagEnd::Link));
                }
            }
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                // Everything up to the matching end is alt text; the HTML writer renders it
                // as plain text, so nested links in it never become anchors and need no
                // resolving.
                let alt = take_until_matching_end(&mut iter);
                match decide(link_type, &dest_url, resolve) {
                    LinkResolution::Unpublished => {
                        note_unpublished(&dest_url);
                        let alt_text = alt_text(&alt);
                        if !alt_text.is_empty() {
                            out.push(Event::Text(CowStr::from(alt_text)));
                        }
                    }
                    other => {
                        out.push(Event::Start(Tag::Image {
                            link_type,
                            dest_url: apply(other, dest_url),
                            title,
                            id,
                        }));
                        out.extend(alt);
                        out.push(Event::End(TagEnd::Image));
                    }
                }
            }
            other => out.push(other),
        }
    }
    (out, unpublished)
}

fn decide(
    link_type: LinkType,
    dest: &str,
    resolve: &dyn Fn(&str) -> LinkResolution,
) -> LinkResolution {
    // Email autolinks carry a bare address; the HTML writer adds `mailto:` itself.
    if link_type == LinkType::Email || !is_relative(dest) {
        LinkResolution::Keep
    } else {
        resolve(dest)
    }
}

fn apply<'a>(decision: LinkResolution, dest: CowStr<'a>) -> CowStr<'a> {
    match decision {
        LinkResolution::Rewrite(url) => CowStr::from(url),
        LinkResolution::Keep | LinkResolution::Unpublished => dest,
    }
}

/// Classifies the way a browser would: leading spaces/control characters are ignored and
/// tabs/newlines inside the URL are removed before the scheme is parsed, and `\` acts like
/// `/`. An empty destination points at the current page, like an anchor.
fn is_relative(dest: &str) -> bool {
    let cleaned: String = dest
        .trim_start_matches(|c: char| c == ' ' || c.is_ascii_control())
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    if cleaned.is_empty() || cleaned.starts_with(['#', '/', '\\']) {
        return false;
    }
    !has_scheme(&cleaned)
}

/// `^[a-zA-Z][a-zA-Z0-9+.-]*:`
fn has_scheme(url: &str) -> bool {
    let mut chars = url.chars();
    if !chars.next().is_some_and(|c| c.is_ascii_alphabetic()) {
        return false;
    }
    for c in chars {
        match c {
            ':' => return true,
            c if c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-') => {}
            _ => return false,
        }
    }
    false
}

/// Consumes events up to and including the end tag matching an already-consumed start tag,
/// returning the ones in between.
fn take_until_matching_end<'a>(iter: &mut impl Iterator<Item = Event<'a>>) -> Vec<Event<'a>> {
    let mut inner = Vec::new();
    let mut depth = 0usize;
    for event in iter.by_ref() {
        match &event {
            Event::Start(_) => depth += 1,
            Event::End(_) if depth == 0 => break,
            Event::End(_) => depth -= 1,
            _ => {}
        }
        inner.push(event);
    }
    inner
}

/// Exactly what pulldown-cmark would have put in the `alt` attribute (inline HTML included,
/// as literal text), so an unpublished image reads the same as its alt would have.
fn alt_text(events: &[Event<'_>]) -> String {
    let mut text = String::new();
    for event in events {
        match event {
            Event::Text(t) | Event::Code(t) | Event::InlineHtml(t) => text.push_str(t),
            Event::SoftBreak | Event::HardBreak => text.push(' '),
            _ => {}
        }
    }
    text
}

/// Visible text of a heading, matching what the HTML shows; raw HTML is markup, not text.
fn inline_text(events: &[Event<'_>]) -> String {
    let mut text = String::new();
    for event in events {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(t),
            Event::SoftBreak | Event::HardBreak => text.push(' '),
            _ => {}
        }
    }
    text
}

fn plain_text(events: &[Event<'_>]) -> String {
    let mut text = String::new();
    for event in events {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(t),
            // Block boundaries and breaks separate words that are adjacent in the event stream.
            Event::SoftBreak | Event::HardBreak | Event::Rule => text.push(' '),
            Event::Start(tag) if !is_inline(&tag.to_end()) => text.push(' '),
            Event::End(tag) if !is_inline(tag) => text.push(' '),
            _ => {}
        }
    }
    collapse_whitespace(&text)
}

fn is_inline(tag: &TagEnd) -> bool {
    matches!(
        tag,
        TagEnd::Emphasis
            | TagEnd::Strong
            | TagEnd::Strikethrough
            | TagEnd::Superscript
            | TagEnd::Subscript
            | TagEnd::Link
            | TagEnd::Image
    )
}

fn names_markdown_source(url: &str) -> bool {
    let path = url.split(['#', '?']).next().unwrap_or("").trim();
    let has_scheme = path.split_once(':').is_some_and(|(scheme, _)| {
        scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
    });
    !has_scheme && !path.starts_with("//") && path.to_ascii_lowercase().ends_with(".md")
}

fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Allow-list for untrusted pages: ammonia's defaults plus exactly the markup pulldown-cmark
/// emits for the enabled extensions. Built once; the configuration is static.
fn sanitizer() -> &'static ammonia::Builder<'static> {
    static SANITIZER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    SANITIZER.get_or_init(|| {
        let mut builder = ammonia::Builder::default();
        builder
            .add_tags(["input"])
            .add_tag_attribute_values("input", "type", ["checkbox"])
            .add_tag_attribute_values("input", "disabled", [""])
            .add_tag_attribute_values("input", "checked", [""])
            .add_tag_attributes("code", ["class"])
            .add_tag_attributes("div", ["id"])
            .add_tag_attribute_values("div", "class", ["footnote-definition"])
            .add_tag_attribute_values(
                "sup",
                "class",
                ["footnote-reference", "footnote-definition-label"],
            )
            .url_relative(ammonia::UrlRelative::PassThrough)
            // Links are plain same-tab links; a rel we did not ask for would only add noise.
            .link_rel(None)
            .attribute_filter(|element, attribute, value| match (element, attribute) {
                // Only the `language-…` class pulldown-cmark writes, so page CSS can't be
                // hijacked through raw `<code class>`.
                ("code", "class") => (value.starts_with("language-")
                    && !value.contains(char::is_whitespace))
                .then(|| value.into()),
                // Raw HTML links never pass through `resolve`; one that still names a `.md`
                // source would expose a page path that may not be published. Our own links
                // are already rewritten to page URLs, which never end in `.md`.
                (_, "href" | "src") if names_markdown_source(value) => None,
                _ => Some(value.into()),
            });
        for heading in ["h1", "h2", "h3", "h4", "h5", "h6"] {
            // `class` comes from `{.class}` heading attributes.
            builder.add_tag_attributes(heading, ["id", "class"]);
        }
        for cell in ["th", "td"] {
            builder.add_tag_attribute_values(
                cell,
                "style",
                [
                    "text-align: left",
                    "text-align: center",
                    "text-align: right",
                ],
            );
        }
        builder
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    fn keep_all(_: &str) -> LinkResolution {
        LinkResolution::Keep
    }

    fn sanitized(markdown: &str) -> Rendered {
        render(markdown, &MarkdownOptions::default(), &keep_all).unwrap()
    }

    /// A small site: one page is unpublished, one gets rewritten.
    fn site(dest: &str) -> LinkResolution {
        match dest {
            "secret.md" | "drafts/secret.png" | "secret.md#part" => LinkResolution::Unpublished,
            "../install.md#step-2" => LinkResolution::Rewrite("../../kb/install/#step-2".into()),
            "install.md" => LinkResolution::Rewrite("../install/".into()),
            "shot.png" => LinkResolution::Rewrite("../assets/shot.png".into()),
            _ => LinkResolution::Keep,
        }
    }

    #[test]
    fn extensions_and_headings_render_exactly() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "table with alignment",
                "| a | b | c | d |\n|:--|:-:|--:|---|\n| 1 | 2 | 3 | 4 |\n",
                "<table><thead><tr><th style=\"text-align: left\">a</th>\
                 <th style=\"text-align: center\">b</th>\
                 <th style=\"text-align: right\">c</th><th>d</th></tr></thead><tbody>\n\
                 <tr><td style=\"text-align: left\">1</td>\
                 <td style=\"text-align: center\">2</td>\
                 <td style=\"text-align: right\">3</td><td>4</td></tr>\n\
                 </tbody></table>\n",
            ),
            (
                "footnote",
                "Text[^n].\n\n[^n]: Note.\n",
                "<p>Text<sup class=\"footnote-reference\"><a href=\"#n\">1</a></sup>.</p>\n\
                 <div class=\"footnote-definition\" id=\"n\">\
                 <sup class=\"footnote-definition-label\">1</sup>\n<p>Note.</p>\n</div>\n",
            ),
            ("strikethrough", "~~old~~ new", "<p><del>old</del> new</p>\n"),
            (
                "task list",
                "- [x] done\n- [ ] todo\n",
                "<ul>\n\
                 <li><input disabled=\"\" type=\"checkbox\" checked=\"\"/>\ndone</li>\n\
                 <li><input disabled=\"\" type=\"checkbox\"/>\ntodo</li>\n\
                 </ul>\n",
            ),
            (
                "code block language class",
                "```rust\nfn main() {}\n```\n",
                "<pre><code class=\"language-rust\">fn main() {}\n</code></pre>\n",
            ),
            (
                "heading slug",
                "## Getting Started: *Fast*!\n",
                "<h2 id=\"getting-started-fast\">Getting Started: <em>Fast</em>!</h2>\n",
            ),
            (
                "duplicate headings get suffixes",
                "## Intro\n## Intro\n## Intro\n",
                "<h2 id=\"intro\">Intro</h2>\n<h2 id=\"intro-1\">Intro</h2>\n\
                 <h2 id=\"intro-2\">Intro</h2>\n",
            ),
            (
                "custom id, and a later slug avoids it",
                "## Setup {#intro}\n## Intro\n",
                "<h2 id=\"intro\">Setup</h2>\n<h2 id=\"intro-1\">Intro</h2>\n",
            ),
            (
                "custom id declared later still wins",
                "## Intro\n## Other {#intro}\n",
                "<h2 id=\"intro-1\">Intro</h2>\n<h2 id=\"intro\">Other</h2>\n",
            ),
            (
                "duplicate custom ids are made unique",
                "## A {#x}\n## B {#x}\n",
                "<h2 id=\"x\">A</h2>\n<h2 id=\"x-1\">B</h2>\n",
            ),
            (
                "unicode heading",
                "## Über Größe 2\n",
                "<h2 id=\"über-größe-2\">Über Größe 2</h2>\n",
            ),
            (
                "heading without slug characters",
                "## !!!\n",
                "<h2 id=\"section\">!!!</h2>\n",
            ),
            (
                "heading id attribute cannot duplicate the id",
                "## T {id=evil .note}\n",
                "<h2 id=\"t\" class=\"note\">T</h2>\n",
            ),
            (
                "heading slug avoids footnote ids",
                "## N\n\nA[^n]\n\n[^n]: B\n",
                "<h2 id=\"n-1\">N</h2>\n<p>A<sup class=\"footnote-reference\"><a href=\"#n\">1</a></sup></p>\n\
                 <div class=\"footnote-definition\" id=\"n\">\
                 <sup class=\"footnote-definition-label\">1</sup>\n<p>B</p>\n</div>\n",
            ),
        ];
        for (name, markdown, expected) in cases {
            assert_eq!(sanitized(markdown).html, *expected, "case: {name}");
        }
    }

    #[test]
    fn repeated_headings_get_the_smallest_free_suffix_in_one_pass() {
        // The ids the original quadratic search gave: the smallest free suffix, every time.
        fn by_search(bases: &[&str]) -> Vec<String> {
            let mut used = HashSet::new();
            bases
                .iter()
                .map(|base| {
                    let id = std::iter::once(base.to_string())
                        .chain((1..).map(|n| format!("{base}-{n}")))
                        .find(|c| !used.contains(c))
                        .unwrap();
                    used.insert(id.clone());
                    id
                })
                .collect()
        }
        let headings = [
            "Same", "Same 1", "Same", "Same 2", "Same", "Same 1", "Same", "Same-1-1", "Same 1",
            "Other", "Same",
        ];
        let markdown: String = headings.iter().map(|h| format!("## {h}\n")).collect();
        let toc = sanitized(&markdown).toc;
        let slugs: Vec<String> = headings.iter().map(|h| slugify(h)).collect();
        let slugs: Vec<&str> = slugs.iter().map(String::as_str).collect();
        let ids: Vec<String> = toc.into_iter().map(|t| t.id).collect();
        assert_eq!(ids, by_search(&slugs));

        let many = "## Same\n\n## Same 1\n\n".repeat(10_000);
        let ids: Vec<String> = sanitized(&many).toc.into_iter().map(|t| t.id).collect();
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 20_000);
        assert_eq!(ids[19_998], "same-10000");
        assert_eq!(ids[19_999], "same-1-9999");
    }

    #[test]
    fn toc_lists_h2_to_h4_in_order() {
        let markdown = "# Page\n## Install\n### On `Linux`\n#### Details {#deep}\n##### Too deep\n## Install\n";
        let toc = sanitized(markdown).toc;
        let expected = vec![
            TocEntry {
                level: 2,
                id: "install".into(),
                title: "Install".into(),
            },
            TocEntry {
                level: 3,
                id: "on-linux".into(),
                title: "On Linux".into(),
            },
            TocEntry {
                level: 4,
                id: "deep".into(),
                title: "Details".into(),
            },
            TocEntry {
                level: 2,
                id: "install-1".into(),
                title: "Install".into(),
            },
        ];
        assert_eq!(toc, expected);
    }

    #[test]
    fn slugify_cases() {
        let cases = [
            ("Hello, World!", "hello-world"),
            ("  --Leading and trailing--  ", "leading-and-trailing"),
            ("Über Größe", "über-größe"),
            ("日本語 ガイド", "日本語-ガイド"),
            ("v1.2_beta", "v1-2-beta"),
            ("CamelCase", "camelcase"),
            ("!!!", "section"),
            ("", "section"),
        ];
        for (input, expected) in cases {
            assert_eq!(slugify(input), expected, "input: {input:?}");
        }
    }

    #[test]
    fn links_are_kept_rewritten_or_unlinked() {
        let cases: &[(&str, &str, &str, &[&str])] = &[
            (
                "inline keep",
                "[Guide](guide.pdf \"The guide\")",
                "<p><a href=\"guide.pdf\" title=\"The guide\">Guide</a></p>\n",
                &[],
            ),
            (
                "inline rewrite keeps fragment handling to the caller",
                "[Step 2](../install.md#step-2)",
                "<p><a href=\"../../kb/install/#step-2\">Step 2</a></p>\n",
                &[],
            ),
            (
                "inline unpublished drops the anchor and title",
                "See [the *plan*](secret.md \"Plan\") now.",
                "<p>See the <em>plan</em> now.</p>\n",
                &["secret.md"],
            ),
            (
                "reference rewrite",
                "[Install][i]\n\n[i]: install.md \"How to\"\n",
                "<p><a href=\"../install/\" title=\"How to\">Install</a></p>\n",
                &[],
            ),
            (
                "reference unpublished",
                "[Plan][p] and [again][p]\n\n[p]: secret.md\n",
                "<p>Plan and again</p>\n",
                &["secret.md"],
            ),
            (
                "image rewrite",
                "![Screen](shot.png \"Shot\")",
                "<p><img src=\"../assets/shot.png\" alt=\"Screen\" title=\"Shot\" /></p>\n",
                &[],
            ),
            (
                "image unpublished becomes escaped alt text",
                "![a <b> & *c*](drafts/secret.png \"T\")",
                "<p>a &lt;b&gt; &amp; c</p>\n",
                &["drafts/secret.png"],
            ),
            (
                "unpublished image without alt leaves nothing",
                "x ![](drafts/secret.png) y",
                "<p>x  y</p>\n",
                &["drafts/secret.png"],
            ),
            (
                "image inside unpublished link survives",
                "[![Screen](shot.png)](secret.md)",
                "<p><img src=\"../assets/shot.png\" alt=\"Screen\" /></p>\n",
                &["secret.md"],
            ),
            (
                "unpublished list is ordered and deduplicated",
                "[a](secret.md#part) [b](secret.md) [c](secret.md#part)",
                "<p>a b c</p>\n",
                &["secret.md#part", "secret.md"],
            ),
            (
                "absolute and anchor links untouched",
                "[a](#top) [b](/root.md) [c](https://x.test/secret.md) [d](//cdn.test/x) <https://auto.test/p> <me@x.test>",
                "<p><a href=\"#top\">a</a> <a>b</a> \
                 <a href=\"https://x.test/secret.md\">c</a> <a href=\"//cdn.test/x\">d</a> \
                 <a href=\"https://auto.test/p\">https://auto.test/p</a> \
                 <a href=\"mailto:me@x.test\">me@x.test</a></p>\n",
                &[],
            ),
        ];
        for (name, markdown, expected, unpublished) in cases {
            let rendered = render(markdown, &MarkdownOptions::default(), &site).unwrap();
            assert_eq!(rendered.html, *expected, "case: {name}");
            assert_eq!(rendered.unpublished_links, *unpublished, "case: {name}");
            for dest in *unpublished {
                assert!(!rendered.html.contains(dest), "case {name} leaks {dest}");
                assert!(!rendered.text.contains(dest), "case {name} leaks {dest}");
            }
        }
    }

    #[test]
    fn unpublished_destination_never_reaches_html_even_unsanitized() {
        let raw = MarkdownOptions {
            raw_html_allowed: true,
        };
        let markdown =
            "[Roadmap](roadmap-2031.md \"roadmap-2031.md\") ![Chart](roadmap-2031.md)\n\n\
                        [ref]\n\n[ref]: roadmap-2031.md\n";
        let hide = |_: &str| LinkResolution::Unpublished;
        for options in [MarkdownOptions::default(), raw] {
            let rendered = render(markdown, &options, &hide).unwrap();
            assert!(!rendered.html.contains("roadmap-2031"), "{}", rendered.html);
            assert_eq!(rendered.html, "<p>Roadmap Chart</p>\n<p>ref</p>\n");
            assert_eq!(rendered.unpublished_links, ["roadmap-2031.md"]);
        }
    }

    #[test]
    fn resolve_sees_only_relative_destinations() {
        let cases: &[(&str, &[&str])] = &[
            ("[a](page.md)", &["page.md"]),
            ("[a](../dir/page.md?x=1#frag)", &["../dir/page.md?x=1#frag"]),
            ("![i](img/a.png)", &["img/a.png"]),
            ("[a][r]\n\n[r]: ref.md\n", &["ref.md"]),
            ("[a](#anchor)", &[]),
            ("[a](/abs/page.md)", &[]),
            ("[a](\\\\evil.test/x)", &[]),
            ("[a](//cdn.test/x.js)", &[]),
            ("[a](http://x.test) [b](HTTPS://x.test)", &[]),
            ("[a](mailto:me@x.test) [b](data:text/plain,hi)", &[]),
            ("[a](custom+v1.2-x:thing)", &[]),
            ("[a](java&#9;script:alert(1))", &[]),
            ("<https://auto.test/p> <me@x.test>", &[]),
            ("[a]()", &[]),
            // Nested in alt text: rendered as plain text, never as a link.
            ("![alt [in](inner.md)](outer.png)", &["outer.png"]),
        ];
        for (markdown, expected) in cases {
            let calls = RefCell::new(Vec::<String>::new());
            let record = |dest: &str| {
                calls.borrow_mut().push(dest.to_owned());
                LinkResolution::Keep
            };
            render(markdown, &MarkdownOptions::default(), &record).unwrap();
            assert_eq!(calls.into_inner(), *expected, "markdown: {markdown:?}");
        }
    }

    #[test]
    fn dangerous_html_is_removed_unless_raw_html_is_allowed() {
        // (markdown, sanitized html, raw html)
        let cases: &[(&str, &str, &str)] = &[
            (
                "<script>alert(1)</script>\n\nok",
                "\n<p>ok</p>\n",
                "<script>alert(1)</script>\n<p>ok</p>\n",
            ),
            (
                "x <img src=x onerror=alert(1)> y",
                "<p>x <img src=\"x\"> y</p>\n",
                "<p>x <img src=x onerror=alert(1)> y</p>\n",
            ),
            (
                "[x](javascript:alert(1))",
                "<p><a>x</a></p>\n",
                "<p><a href=\"javascript:alert(1)\">x</a></p>\n",
            ),
            (
                "<iframe src=\"https://evil.test\"></iframe>\n\n<style>p{}</style>\n\nok",
                "\n\n<p>ok</p>\n",
                "<iframe src=\"https://evil.test\"></iframe>\n<style>p{}</style>\n<p>ok</p>\n",
            ),
            (
                "<p style=\"position:fixed\" class=\"x\" onclick=\"e()\">hi</p>",
                "<p>hi</p>",
                "<p style=\"position:fixed\" class=\"x\" onclick=\"e()\">hi</p>",
            ),
            (
                "<code class=\"admin-only\">c</code> <code class=\"language-sh\">d</code>",
                "<p><code>c</code> <code class=\"language-sh\">d</code></p>\n",
                "<p><code class=\"admin-only\">c</code> <code class=\"language-sh\">d</code></p>\n",
            ),
            (
                "<table><tr><td style=\"text-align: left; color: red\">x</td>\
                 <td style=\"text-align: right\">y</td></tr></table>",
                "<table><tbody><tr><td>x</td><td style=\"text-align: right\">y</td></tr></tbody></table>",
                "<table><tr><td style=\"text-align: left; color: red\">x</td>\
                 <td style=\"text-align: right\">y</td></tr></table>",
            ),
        ];
        let raw = MarkdownOptions {
            raw_html_allowed: true,
        };
        for (markdown, expected_sanitized, expected_raw) in cases {
            assert_eq!(
                sanitized(markdown).html,
                *expected_sanitized,
                "sanitized: {markdown:?}"
            );
            assert_eq!(
                render(markdown, &raw, &keep_all).unwrap().html,
                *expected_raw,
                "raw: {markdown:?}"
            );
        }
    }

    #[test]
    fn text_is_plain_and_collapsed() {
        let cases: &[(&str, &str)] = &[
            (
                "# Title\n\nSome *emphasis*   and `code`.\n\n- one\n- two\n",
                "Title Some emphasis and code. one two",
            ),
            ("| h1 | h2 |\n|---|---|\n| a | b |\n", "h1 h2 a b"),
            ("```\nlet x =\n    1;\n```\n", "let x = 1;"),
            ("a <span>html</span> b\n\n<div>block</div>\n", "a html b"),
            ("- [x] done\n", "done"),
            // Tight lists have no paragraph events: only the nested block's own tags
            // separate the words.
            ("- a\n  - b\n", "a b"),
            ("- # h\n  b\n", "h b"),
            (
                "Read [the plan](secret.md \"tip\") ![chart](drafts/secret.png)",
                "Read the plan chart",
            ),
            ("Fn[^1]\n\n[^1]: Note.\n", "Fn Note."),
            ("", ""),
        ];
        for (markdown, expected) in cases {
            let rendered = render(markdown, &MarkdownOptions::default(), &site).unwrap();
            assert_eq!(rendered.text, *expected, "markdown: {markdown:?}");
        }
    }

    #[test]
    fn output_is_deterministic() {
        let markdown =
            "## A\n## A\n\n| x |\n|:-:|\n| y |\n\n[^b]: c\n\nT[^b] [l](install.md) [s](secret.md)";
        let first = render(markdown, &MarkdownOptions::default(), &site).unwrap();
        for _ in 0..5 {
            let again = render(markdown, &MarkdownOptions::default(), &site).unwrap();
            assert_eq!(again.html, first.html);
            assert_eq!(again.toc, first.toc);
            assert_eq!(again.text, first.text);
        }
    }

    #[test]
    fn raw_html_links_to_markdown_sources_are_dropped_when_sanitizing() {
        let r = sanitized("<a href=\"../secret-plans.md#x\">plans</a> <img src=\"drafts/x.md\"> <a href=\"https://e.example/a.md\">ok?</a>\n");
        assert!(!r.html.contains("secret-plans"), "{}", r.html);
        assert!(!r.html.contains("drafts/x.md"), "{}", r.html);
        assert!(r.html.contains("plans</a>"), "{}", r.html);
        assert!(r.html.contains("https://e.example/a.md"), "{}", r.html);
    }

    #[test]
    fn pages_without_raw_html_skip_the_sanitizer_only_when_nothing_could_run() {
        for (markdown, forbidden) in [
            ("[x](javascript:alert(1))", "javascript"),
            ("[x](JaVaScRiPt:alert(1))", "alert"),
            // pulldown-cmark percent-encodes the tab: a relative URL, not a script.
            ("[x](<java\tscript:alert(1)>)", "href=\"javascript"),
            ("![x](data:text/html;base64,PHNjcmlwdD4=)", "data:"),
            ("# Title {onclick=alert(1)}", "onclick"),
            ("[x](vbscript:msgbox)", "vbscript"),
        ] {
            let html = sanitized(markdown).html;
            assert!(
                !html.to_ascii_lowercase().contains(forbidden),
                "{markdown}: {html}"
            );
        }
        // The common case: plain Markdown renders exactly as pulldown-cmark writes it.
        let html = sanitized(
            "# T {#t .c}\n\n[a](https://e.example) [m](mailto:x@e.example) ![i](img/a.png)\n",
        )
        .html;
        assert_eq!(
            html,
            "<h1 id=\"t\" class=\"c\">T</h1>\n<p><a href=\"https://e.example\">a</a> <a href=\"mailto:x@e.example\">m</a> <img src=\"img/a.png\" alt=\"i\" /></p>\n"
        );
    }

    #[test]
    fn unpublished_links_are_found_without_rendering() {
        let found = unpublished_links("[a](gone.md) [b](here.md) ![c](gone.png)", &|d: &str| {
            if d.starts_with("gone") {
                LinkResolution::Unpublished
            } else {
                LinkResolution::Keep
            }
        })
        .unwrap();
        assert_eq!(found, vec!["gone.md", "gone.png"]);
    }
}
