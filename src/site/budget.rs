//! The rendering budget of one page: how much work its Markdown may ask of the renderer, so
//! that a build's cost stays linear in the bytes it is given. Checked when a version's bytes
//! are read (a page over it is an `invalid_page`, offline, and the rest builds) and again as
//! the page renders (`serve`'s drafts, and every other path to the renderer).
//!
//! Each limit is cheap to check before the work it bounds: table cells from the source lines,
//! before pulldown-cmark completes every short line into a full row; nesting depth before the
//! sanitizer's HTML parser, whose cost grows with it; links before they are resolved; output
//! bytes from the events, before any HTML is written; highlighted code, whose classed spans
//! multiply its bytes, by a bounded share of the page's code at a bounded factor.

use pulldown_cmark::{Event, Tag};

/// The most table cells one page may hold: a table of 20 columns × 2,500 rows. A help-center
/// page rarely has a thousand.
pub(crate) const MAX_TABLE_CELLS: usize = 50_000;
/// The deepest elements may nest, Markdown and raw HTML together. Browsers stop nesting at
/// 512 too (Blink and WebKit flatten anything deeper), so nothing deeper would display.
pub(crate) const MAX_NESTING: usize = 512;
/// The most links and images one page may hold.
pub(crate) const MAX_LINKS: usize = 10_000;
/// The most HTML one page may render to (estimated from its events as an upper bound: every
/// text byte as six, for escaping, each tag as 64, and highlighted code as below).
pub(crate) const MAX_HTML_BYTES: usize = 32 << 20;
/// The most code of one page that is highlighted: the first blocks (with a language) up to
/// this many bytes in all; a block that would go over it stays plain, as do those after it.
/// Highlighting costs far more time per byte than the rest of rendering, so this bounds it.
pub(crate) const MAX_HIGHLIGHTED_BYTES: usize = 128 << 10;
/// The most HTML a highlighted block may make of each byte of its code, besides
/// [`HIGHLIGHT_BLOCK_BYTES`]: a block whose spans would take more stays plain. One
/// `<span class="hl-…">` per token and scope, each naming every atom of its scope: the
/// example's API guide takes 10 (bash) to 37 (a short JSON body). The estimate counts the
/// highlighted share of a page's code at this.
pub(crate) const MAX_HIGHLIGHT_INFLATION: usize = 64;
/// What a highlighted block may take besides [`MAX_HIGHLIGHT_INFLATION`] per byte (the spans
/// that open and close around its first and last token); counted for each labelled block.
pub(crate) const HIGHLIGHT_BLOCK_BYTES: usize = 1024;

/// A page over one of the limits, naming it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverBudget {
    #[error("a table of {columns} columns × {rows} rows is over the limit of {MAX_TABLE_CELLS} table cells on a page (split it)")]
    TableCells { columns: usize, rows: usize },
    #[error("its elements nest {depth} deep, over the limit of {MAX_NESTING} (close the elements it opens)")]
    Nesting { depth: usize },
    #[error("it holds over {MAX_LINKS} links and images, the limit for one page (split it)")]
    Links,
    #[error("its HTML would be over the limit of {} MiB for one page (split it)", MAX_HTML_BYTES >> 20)]
    HtmlBytes,
}

/// The Markdown extensions pages are written with: here, so that the budget is checked on
/// exactly the events the renderer will see.
pub(crate) fn parser_options() -> pulldown_cmark::Options {
    use pulldown_cmark::Options;
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
}

/// Checks a page's Markdown body against every limit, without rendering it.
pub fn check(markdown: &str) -> Result<(), OverBudget> {
    check_tables(markdown)?;
    let mut counter = Counter::default();
    for event in pulldown_cmark::Parser::new_ext(markdown, parser_options()) {
        counter.count(&event)?;
    }
    Ok(())
}

/// Refuses a page whose GFM tables hold more than [`MAX_TABLE_CELLS`], counted from the
/// source: each delimiter row's columns × the lines up to the next blank line. That is at
/// least what pulldown-cmark makes of them (it completes each line of a table into a full
/// row), and is known before it allocates any.
pub(crate) fn check_tables(markdown: &str) -> Result<(), OverBudget> {
    let mut cells = 0usize;
    let mut lines = markdown.lines();
    while let Some(line) = lines.next() {
        let Some(columns) = delimiter_row_columns(line) else {
            continue;
        };
        let mut rows = 1; // the header
        loop {
            cells = cells.saturating_add(columns);
            if cells > MAX_TABLE_CELLS {
                return Err(OverBudget::TableCells { columns, rows });
            }
            match lines.next() {
                Some(l) if !l.trim().is_empty() => rows += 1,
                _ => break,
            }
        }
    }
    Ok(())
}

/// The columns of a GFM table delimiter row (`| --- | :-: |`), or `None` for any other line.
/// Leading blockquote markers and indentation are skipped, so tables inside them count too.
fn delimiter_row_columns(line: &str) -> Option<usize> {
    let row = line.trim_start_matches([' ', '\t', '>']).trim_end();
    let plain = !row.is_empty()
        && row.contains('-')
        && row
            .bytes()
            .all(|b| matches!(b, b'|' | b'-' | b':' | b' ' | b'\t'));
    if !plain {
        return None;
    }
    let inner = row.strip_prefix('|').unwrap_or(row);
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    let columns = inner.split('|').count();
    // One column without a pipe is a setext heading underline or a thematic break.
    (columns > 1 || row.contains('|')).then_some(columns)
}

/// Counts one page's events against the limits, as they stream from the parser.
#[derive(Default)]
pub(crate) struct Counter {
    cells: usize,
    columns: usize,
    rows: usize,
    links: usize,
    depth: usize,
    html_depth: usize,
    html_bytes: usize,
    /// Inside a fenced code block with a language (one the highlighter may colour).
    in_labelled_code: bool,
    /// The bytes of such blocks so far, the highlighter's share of them counted at
    /// [`MAX_HIGHLIGHT_INFLATION`].
    labelled_code: usize,
}

/// Elements the HTML parser never nests: void elements, and those whose end tag is optional
/// (a new `<li>` or `<p>` closes the open one), so an unclosed one is not a level deeper.
const NOT_NESTING: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr", "param", "keygen", "p", "li", "dt", "dd", "rt", "rp", "optgroup", "option", "colgroup",
    "caption", "thead", "tbody", "tfoot", "tr", "td", "th", "html", "head", "body",
];

impl Counter {
    pub(crate) fn count(&mut self, event: &Event<'_>) -> Result<(), OverBudget> {
        let text_bytes = match event {
            Event::Start(tag) => {
                self.depth += 1;
                match tag {
                    Tag::Link {
                        dest_url, title, ..
                    }
                    | Tag::Image {
                        dest_url, title, ..
                    } => {
                        self.links += 1;
                        if self.links > MAX_LINKS {
                            return Err(OverBudget::Links);
                        }
                        dest_url.len() + title.len()
                    }
                    Tag::Table(alignments) => {
                        self.columns = alignments.len();
                        self.rows = 0;
                        0
                    }
                    Tag::TableHead | Tag::TableRow => {
                        self.rows += 1;
                        0
                    }
                    Tag::TableCell => {
                        self.cells += 1;
                        if self.cells > MAX_TABLE_CELLS {
                            return Err(OverBudget::TableCells {
                                columns: self.columns,
                                rows: self.rows,
                            });
                        }
                        0
                    }
                    Tag::CodeBlock(pulldown_cmark::CodeBlockKind::Fenced(lang)) => {
                        self.in_labelled_code = !lang.trim().is_empty();
                        if self.in_labelled_code {
                            self.html_bytes = self.html_bytes.saturating_add(HIGHLIGHT_BLOCK_BYTES);
                        }
                        lang.len()
                    }
                    Tag::Heading {
                        id, classes, attrs, ..
                    } => {
                        id.as_ref().map_or(0, |i| i.len())
                            + classes.iter().map(|c| c.len()).sum::<usize>()
                            + attrs
                                .iter()
                                .map(|(k, v)| k.len() + v.as_ref().map_or(0, |v| v.len()))
                                .sum::<usize>()
                    }
                    Tag::FootnoteDefinition(label) => 2 * label.len(),
                    _ => 0,
                }
            }
            Event::End(end) => {
                self.depth = self.depth.saturating_sub(1);
                if matches!(end, pulldown_cmark::TagEnd::CodeBlock) {
                    self.in_labelled_code = false;
                }
                0
            }
            Event::Html(html) | Event::InlineHtml(html) => {
                self.raw_html(html)?;
                html.len()
            }
            Event::Text(t) if self.in_labelled_code => {
                // What may be highlighted counts at the highlighter's bound, the rest as text.
                let highlighted = MAX_HIGHLIGHTED_BYTES
                    .saturating_sub(self.labelled_code)
                    .min(t.len());
                self.labelled_code = self.labelled_code.saturating_add(t.len());
                self.html_bytes = self
                    .html_bytes
                    .saturating_add(highlighted.saturating_mul(MAX_HIGHLIGHT_INFLATION));
                t.len() - highlighted
            }
            Event::Text(t) | Event::Code(t) | Event::InlineMath(t) | Event::DisplayMath(t) => {
                t.len()
            }
            Event::FootnoteReference(label) => 2 * label.len(),
            _ => 0,
        };
        let depth = self.depth + self.html_depth;
        if depth > MAX_NESTING {
            return Err(OverBudget::Nesting { depth });
        }
        self.html_bytes = self
            .html_bytes
            .saturating_add(64)
            .saturating_add(text_bytes.saturating_mul(6));
        if self.html_bytes > MAX_HTML_BYTES {
            return Err(OverBudget::HtmlBytes);
        }
        Ok(())
    }

    /// Follows the open and close tags of raw HTML: an upper bound of how deep the HTML
    /// parser will nest it (a tag it would ignore still counts).
    fn raw_html(&mut self, html: &str) -> Result<(), OverBudget> {
        let bytes = html.as_bytes();
        let mut i = 0;
        while let Some(offset) = bytes[i..].iter().position(|&b| b == b'<') {
            i += offset + 1;
            let closing = bytes.get(i) == Some(&b'/');
            if closing {
                i += 1;
            }
            let name_len = bytes[i..]
                .iter()
                .position(|b| !b.is_ascii_alphanumeric())
                .unwrap_or(bytes.len() - i);
            if name_len == 0 {
                continue; // a comment, a doctype, or a `<` in text
            }
            let name = &html[i..i + name_len];
            i += name_len;
            if NOT_NESTING.iter().any(|n| n.eq_ignore_ascii_case(name)) {
                continue;
            }
            let end = bytes[i..].iter().position(|&b| b == b'>').map(|e| i + e);
            let self_closing = end.is_some_and(|e| e > 0 && bytes[e - 1] == b'/');
            if closing {
                self.html_depth = self.html_depth.saturating_sub(1);
            } else if !self_closing {
                self.html_depth += 1;
                let depth = self.depth + self.html_depth;
                if depth > MAX_NESTING {
                    return Err(OverBudget::Nesting { depth });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_pages_are_well_within_the_budget() {
        let table = format!(
            "| a | b | c |\n|---|:-:|--:|\n{}\n",
            "| 1 | 2 | 3 |\n".repeat(500)
        );
        let nested = format!("{}x{}", "<div>".repeat(100), "</div>".repeat(100));
        let links = "[a](b.md) ".repeat(2_000);
        let lists = "<ul><li>one<li>two</ul>\n<p>a<p>b<br><img src=x>\n".repeat(1_000);
        for page in [table, nested, links, lists] {
            assert_eq!(check(&page), Ok(()));
        }
    }

    #[test]
    fn each_limit_is_named_when_a_page_goes_over_it() {
        let wide = format!(
            "{}|\n{}|\n{}",
            "|h".repeat(362),
            "|-".repeat(362),
            "a\n".repeat(200)
        );
        assert_eq!(
            check(&wide),
            Err(OverBudget::TableCells {
                columns: 362,
                rows: 139
            })
        );
        let deep = "<ul><li>".repeat(600);
        assert!(matches!(
            check(&deep),
            Err(OverBudget::Nesting { depth: 513 })
        ));
        let quotes = format!("{}x", "> ".repeat(600));
        assert!(matches!(check(&quotes), Err(OverBudget::Nesting { .. })));
        let links = "[a](b.md) ".repeat(MAX_LINKS + 1);
        assert_eq!(check(&links), Err(OverBudget::Links));
        let message = OverBudget::TableCells {
            columns: 362,
            rows: 139,
        }
        .to_string();
        assert!(message.contains("362 columns × 139 rows"), "{message}");
        assert!(message.contains("limit of 50000 table cells"), "{message}");
    }
}
