//! The review page's side by side: the published version and the version in review, each
//! rendered as readers will see it, with the blocks that differ marked in both. A page is cut
//! into its top-level Markdown blocks (a paragraph, a list, a table, a code block), the two
//! lists of blocks are compared, and each block is rendered on its own, so a changed block can
//! be wrapped and labelled without touching the renderer.

use std::fmt::Write as _;

use pulldown_cmark::{Event, Parser};
use similar::{capture_diff_slices, Algorithm, DiffTag};

use crate::escape::html as escape;
use crate::publish::markdown::{self, LinkResolution, MarkdownOptions};
use crate::site::budget::OverBudget;

/// How a block of one version compares with the other version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    Same,
    /// In the version in review only.
    Added,
    /// In the published version only.
    Removed,
    /// Edited: the block at the same place in the other version differs.
    Changed,
}

impl Mark {
    fn label(self) -> Option<(&'static str, &'static str)> {
        match self {
            Mark::Same => None,
            Mark::Added => Some(("added", "+ Added")),
            Mark::Removed => Some(("removed", "− Removed")),
            Mark::Changed => Some(("changed", "± Changed")),
        }
    }
}

/// The page's top-level blocks as Markdown source, in order, with the title first (as the
/// `# title` heading readers see above the body). A page over its rendering budget is refused
/// whole, before it is cut: its blocks alone might each pass, and any writer can submit one.
pub(crate) fn blocks(title: &str, body: &str) -> Result<Vec<String>, OverBudget> {
    markdown::render(body, &MarkdownOptions::default(), &|_| {
        LinkResolution::Unpublished
    })?;
    let mut out = vec![format!("# {title}")];
    let mut depth = 0usize;
    let mut start = None;
    for (event, range) in
        Parser::new_ext(body, crate::site::budget::parser_options()).into_offset_iter()
    {
        match event {
            Event::Start(_) => {
                if depth == 0 {
                    start = Some(range.start);
                }
                depth += 1;
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    let from = start.take().unwrap_or(range.start);
                    out.push(body[from..range.end].trim_end().to_string());
                }
            }
            // A rule, or anything else that stands alone at the top.
            _ if depth == 0 => out.push(body[range].trim_end().to_string()),
            _ => {}
        }
    }
    Ok(out)
}

/// Each version's blocks with their marks: (published, in review).
pub(crate) fn compare(old: &[String], new: &[String]) -> (Vec<Mark>, Vec<Mark>) {
    let mut old_marks = vec![Mark::Same; old.len()];
    let mut new_marks = vec![Mark::Same; new.len()];
    for op in capture_diff_slices(Algorithm::Patience, old, new) {
        let (tag, o, n) = op.as_tag_tuple();
        let (fill_old, fill_new) = match tag {
            DiffTag::Equal => continue,
            DiffTag::Delete => (Mark::Removed, Mark::Added),
            DiffTag::Insert => (Mark::Removed, Mark::Added),
            DiffTag::Replace => (Mark::Changed, Mark::Changed),
        };
        // A replaced run pairs its blocks one to one; what is left over was removed or added.
        let paired = if tag == DiffTag::Replace {
            o.len().min(n.len())
        } else {
            0
        };
        for (k, i) in o.enumerate() {
            old_marks[i] = if k < paired { fill_old } else { Mark::Removed };
        }
        for (k, i) in n.enumerate() {
            new_marks[i] = if k < paired { fill_new } else { Mark::Added };
        }
    }
    (old_marks, new_marks)
}

/// How many blocks of the version in review differ from the published one.
pub(crate) fn changed_count(old_marks: &[Mark], new_marks: &[Mark]) -> usize {
    new_marks.iter().filter(|m| **m != Mark::Same).count()
        + old_marks.iter().filter(|m| **m == Mark::Removed).count()
}

/// One version as readers see it, its marked blocks wrapped in
/// `<div class="blk blk--added|removed|changed">` with a visible label (not colour alone).
pub(crate) fn to_html(blocks: &[String], marks: &[Mark]) -> String {
    let mut html = String::new();
    for (source, mark) in blocks.iter().zip(marks) {
        let rendered = render(source);
        match mark.label() {
            None => html.push_str(&rendered),
            Some((class, label)) => {
                let _ = write!(
                    html,
                    "<div class=\"blk blk--{class}\"><span class=\"blk__mark\">{label}</span>\n{rendered}</div>\n"
                );
            }
        }
    }
    html
}

fn render(source: &str) -> String {
    // Relative links resolve to nothing here: a review page shows text, not a site.
    match markdown::render(source, &MarkdownOptions::default(), &|_| {
        LinkResolution::Unpublished
    }) {
        Ok(rendered) => rendered.html,
        Err(over) => format!(
            "<p><strong>This block can't be rendered:</strong> {}</p>\n",
            escape(&over.to_string())
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_cut_into_its_top_level_blocks_with_the_title_first() {
        let body = "Intro.\n\n- one\n\n- two\n\n```\na\n\nb\n```\n\n---\n\n| a | b |\n|---|---|\n| 1 | 2 |\n";
        let b = blocks("Install", body).unwrap();
        assert_eq!(b[0], "# Install");
        assert_eq!(b[1], "Intro.");
        assert_eq!(b[2], "- one\n\n- two", "a loose list is one block");
        assert_eq!(
            b[3], "```\na\n\nb\n```",
            "a code block with a blank line is one"
        );
        assert_eq!(b[4], "---");
        assert!(b[5].starts_with("| a | b |"), "{b:?}");
        assert_eq!(b.len(), 6);
    }

    #[test]
    fn changed_added_and_removed_blocks_are_marked_on_their_side_with_a_label() {
        let old = blocks("T", "Keep.\n\nRun the installer.\n\nGone.\n").unwrap();
        let new = blocks(
            "T",
            "Keep.\n\nRun the signed installer.\n\nNew <script>x()</script> step.\n\nMore.\n",
        )
        .unwrap();
        let (o, n) = compare(&old, &new);
        assert_eq!(o, [Mark::Same, Mark::Same, Mark::Changed, Mark::Changed]);
        assert_eq!(
            n,
            [
                Mark::Same,
                Mark::Same,
                Mark::Changed,
                Mark::Changed,
                Mark::Added
            ]
        );
        assert_eq!(changed_count(&o, &n), 3);
        let html = to_html(&new, &n);
        assert!(html.contains("<div class=\"blk blk--changed\"><span class=\"blk__mark\">± Changed</span>\n<p>Run the signed installer.</p>"), "{html}");
        assert!(
            html.contains("blk--added\"><span class=\"blk__mark\">+ Added</span>\n<p>More.</p>"),
            "{html}"
        );
        assert!(!html.contains("<script>"), "raw HTML is sanitized: {html}");
        let (o, n) = compare(&old, &blocks("T", "Keep.\n").unwrap());
        assert_eq!(o, [Mark::Same, Mark::Same, Mark::Removed, Mark::Removed]);
        assert_eq!(n, [Mark::Same, Mark::Same]);
        assert!(to_html(&old, &o).contains("− Removed"));
    }
}
