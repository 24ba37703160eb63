//! A reviewer's diff: the Markdown of the live version against the version in review, by
//! paragraph (blocks between blank lines), with the words that changed inside a changed
//! paragraph marked. Unchanged paragraphs are kept for context but folded, so a one-word edit
//! in a long page is one highlighted paragraph, not a dump of every line.

use crate::escape::html as escape;
use similar::{capture_diff_slices, Algorithm, ChangeTag, DiffTag, TextDiff};

/// One block of the diff, in the order of the new text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Same(String),
    Added(String),
    Removed(String),
    /// A paragraph edited in place: its words, each kept, inserted or deleted.
    Changed(Vec<(ChangeTag, String)>),
}

/// Paragraphs: blocks of non-blank lines, trimmed, in order.
fn paragraphs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        } else {
            if !current.is_empty() {
                current.push('\n');
            }
            current.push_str(line.trim_end());
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The paragraph diff of `old` → `new`. A replaced run of paragraphs pairs them one to one
/// (word diff each), and lists what is left over as removed or added.
pub fn diff(old: &str, new: &str) -> Vec<Block> {
    let (old, new) = (paragraphs(old), paragraphs(new));
    let mut blocks = Vec::new();
    for op in capture_diff_slices(Algorithm::Patience, &old, &new) {
        let (tag, o, n) = op.as_tag_tuple();
        match tag {
            DiffTag::Equal => blocks.extend(new[n].iter().cloned().map(Block::Same)),
            DiffTag::Delete => blocks.extend(old[o].iter().cloned().map(Block::Removed)),
            DiffTag::Insert => blocks.extend(new[n].iter().cloned().map(Block::Added)),
            DiffTag::Replace => {
                let (o, n) = (&old[o], &new[n]);
                let paired = o.len().min(n.len());
                for i in 0..paired {
                    blocks.push(words(&o[i], &n[i]));
                }
                blocks.extend(o[paired..].iter().cloned().map(Block::Removed));
                blocks.extend(n[paired..].iter().cloned().map(Block::Added));
            }
        }
    }
    blocks
}

fn words(old: &str, new: &str) -> Block {
    let diff = TextDiff::from_words(old, new);
    let mut parts: Vec<(ChangeTag, String)> = Vec::new();
    for change in diff.iter_all_changes() {
        let (tag, text) = (change.tag(), change.value());
        match parts.last_mut() {
            Some((last, acc)) if *last == tag => acc.push_str(text),
            _ => parts.push((tag, text.to_string())),
        }
    }
    Block::Changed(parts)
}

/// Whether anything differs.
pub fn has_changes(blocks: &[Block]) -> bool {
    blocks.iter().any(|b| !matches!(b, Block::Same(_)))
}

/// The diff as HTML: `<ins>`/`<del>` inside `<div class="diff__block diff__block--…">`;
/// runs of unchanged paragraphs longer than three fold into a `<details>`.
pub fn to_html(blocks: &[Block]) -> String {
    let mut html = String::new();
    let mut i = 0;
    while i < blocks.len() {
        if let Block::Same(_) = blocks[i] {
            let start = i;
            while i < blocks.len() && matches!(blocks[i], Block::Same(_)) {
                i += 1;
            }
            let same: Vec<&str> = blocks[start..i]
                .iter()
                .map(|b| match b {
                    Block::Same(t) => t.as_str(),
                    _ => unreachable!("only unchanged blocks in this run"),
                })
                .collect();
            if same.len() > 3 {
                html.push_str(&format!(
                    "<details class=\"diff__fold\"><summary>{} unchanged paragraphs</summary>",
                    same.len()
                ));
                for t in &same {
                    block(&mut html, "same", &escape(t));
                }
                html.push_str("</details>\n");
            } else {
                for t in &same {
                    block(&mut html, "same", &escape(t));
                }
            }
            continue;
        }
        match &blocks[i] {
            Block::Added(t) => block(&mut html, "added", &format!("<ins>{}</ins>", escape(t))),
            Block::Removed(t) => block(&mut html, "removed", &format!("<del>{}</del>", escape(t))),
            Block::Changed(parts) => {
                let mut inner = String::new();
                for (tag, text) in parts {
                    match tag {
                        ChangeTag::Equal => inner.push_str(&escape(text)),
                        ChangeTag::Insert => {
                            inner.push_str(&format!("<ins>{}</ins>", escape(text)))
                        }
                        ChangeTag::Delete => {
                            inner.push_str(&format!("<del>{}</del>", escape(text)))
                        }
                    }
                }
                block(&mut html, "changed", &inner);
            }
            Block::Same(_) => unreachable!("handled above"),
        }
        i += 1;
    }
    html
}

fn block(html: &mut String, class: &str, inner: &str) {
    html.push_str(&format!(
        "<div class=\"diff__block diff__block--{class}\">{inner}</div>\n"
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_are_compared_and_a_changed_one_shows_its_words() {
        let old = "# Install\n\nRun the installer.\n\nThen reboot the machine.\n";
        let new = "# Install\n\nRun the signed installer.\n\nThen reboot the machine.\n\nDone.\n";
        let blocks = diff(old, new);
        assert_eq!(blocks[0], Block::Same("# Install".into()));
        let Block::Changed(parts) = &blocks[1] else {
            panic!("{blocks:?}")
        };
        assert!(
            parts.contains(&(ChangeTag::Insert, "signed ".into())),
            "{parts:?}"
        );
        assert_eq!(blocks[2], Block::Same("Then reboot the machine.".into()));
        assert_eq!(blocks[3], Block::Added("Done.".into()));
        assert!(has_changes(&blocks));
        assert!(!has_changes(&diff(old, old)));
    }

    #[test]
    fn removed_paragraphs_and_markup_are_shown_escaped() {
        let blocks = diff("Keep.\n\n<script>x</script>\n", "Keep.\n");
        assert_eq!(blocks[1], Block::Removed("<script>x</script>".into()));
        let html = to_html(&blocks);
        assert!(
            html.contains("<del>&lt;script&gt;x&lt;/script&gt;</del>"),
            "{html}"
        );
        assert!(!html.contains("<script>"));
    }

    #[test]
    fn long_unchanged_runs_fold() {
        let old = "a\n\nb\n\nc\n\nd\n\ne\n";
        let new = "a\n\nb\n\nc\n\nd\n\nE\n";
        let html = to_html(&diff(old, new));
        assert!(html.contains("4 unchanged paragraphs"), "{html}");
        assert!(html.contains("<del>e</del><ins>E</ins>"), "{html}");
    }
}
