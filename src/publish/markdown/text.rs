//! Text of events: the plain text of a heading, an image's alt text, whitespace collapsed.

use pulldown_cmark::{Event, Tag, TagEnd};

/// Consumes events up to and including the end tag matching an already-consumed start tag,
/// returning the ones in between.
pub(super) fn take_until_matching_end<'a>(
    iter: &mut impl Iterator<Item = Event<'a>>,
) -> Vec<Event<'a>> {
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
pub(super) fn alt_text(events: &[Event<'_>]) -> String {
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
pub(super) fn inline_text(events: &[Event<'_>]) -> String {
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

/// Between two cells of a table, in the text a search snippet shows: a space alone would run
/// the cells together ("Ubuntu, Debian apt.example.com /etc/agent.yaml").
pub const CELL_SEPARATOR: &str = " · ";

pub(super) fn plain_text(events: &[Event<'_>]) -> String {
    let mut text = String::new();
    // In a table: whether a cell had text, and whether a cell began since (an empty cell adds
    // no separator of its own).
    let (mut cell_written, mut cell_begun) = (false, false);
    for event in events {
        match event {
            Event::Text(t) | Event::Code(t) => {
                if cell_begun && cell_written {
                    text.push_str(CELL_SEPARATOR);
                }
                cell_written |= cell_begun;
                cell_begun = false;
                text.push_str(t);
            }
            // Block boundaries and breaks separate words that are adjacent in the event stream.
            Event::SoftBreak | Event::HardBreak | Event::Rule => text.push(' '),
            Event::Start(Tag::TableCell) => {
                cell_begun = true;
                text.push(' ');
            }
            Event::End(TagEnd::Table) => {
                (cell_written, cell_begun) = (false, false);
                text.push(' ');
            }
            Event::Start(tag) if !is_inline(&tag.to_end()) => text.push(' '),
            Event::End(tag) if !is_inline(tag) => text.push(' '),
            _ => {}
        }
    }
    collapse_whitespace(&text)
}

pub(super) fn is_inline(tag: &TagEnd) -> bool {
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

pub(super) fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
